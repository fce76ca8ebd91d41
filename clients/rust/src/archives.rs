//! Store-level SessionService calls: portable archives (export, import) and the operators' backup.

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::call::{cancelled, cancelled_error};
use crate::pb;
use crate::{Client, Error, UPLOAD_MESSAGE_SIZE};

impl Client {
    /// Writes one archive file holding `session_ids` (state, events, checkpoints, artifacts and
    /// their chunks) to `writer`; returns its size in bytes.
    pub async fn export_sessions<W>(&self, session_ids: Vec<String>, writer: &mut W) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let request = self.request(pb::ExportSessionsRequest { session_ids });
        let mut sessions = self.sessions.clone();
        self.options
            .guard(async move {
                let mut parts = sessions.export_sessions(request).await?.into_inner();
                let mut size = 0u64;
                while let Some(part) = parts.message().await? {
                    writer.write_all(&part.data).await?;
                    size += part.data.len() as u64;
                }
                writer.flush().await?;
                Ok(size)
            })
            .await
    }

    /// Imports an archive file read from `reader` into the caller's tenant. A read error cancels the
    /// call, so nothing of a truncated archive is imported.
    pub async fn import_sessions<R>(&self, mut reader: R) -> Result<pb::ImportSessionsResponse, Error>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (failed_tx, failed_rx) = oneshot::channel();
        let mut failed_tx = Some(failed_tx);
        let parts = async_stream::stream! {
            loop {
                let mut data = Vec::with_capacity(UPLOAD_MESSAGE_SIZE);
                match (&mut reader).take(UPLOAD_MESSAGE_SIZE as u64).read_to_end(&mut data).await {
                    Ok(0) => break,
                    Ok(_) => yield pb::ArchivePart { data },
                    Err(error) => {
                        if let Some(failed) = failed_tx.take() {
                            let _ = failed.send(error);
                        }
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        let request = self.request(parts);
        let mut sessions = self.sessions.clone();
        self.options
            .guard(async move {
                tokio::select! {
                    response = sessions.import_sessions(request) => Ok(response?.into_inner()),
                    Ok(error) = failed_rx => Err(Error::Io(error)),
                }
            })
            .await
    }

    /// Operators only: a point-in-time copy of the whole store, as a stream of file headers, file
    /// data and files reused from the backup described by `known_files`.
    pub fn backup_store(
        &self,
        known_files: Vec<pb::BackupFile>,
    ) -> impl Stream<Item = Result<pb::BackupStorePart, Error>> + Send + 'static {
        let mut sessions = self.sessions.clone();
        let request = self.request(pb::BackupStoreRequest { known_files });
        let cancel = self.options.cancel.clone();
        async_stream::try_stream! {
            let mut parts = tokio::select! {
                biased;
                () = cancelled(cancel.as_ref()) => Err(cancelled_error()),
                response = sessions.backup_store(request) => response.map_err(Error::from),
            }?.into_inner();
            loop {
                let part = tokio::select! {
                    biased;
                    () = cancelled(cancel.as_ref()) => Err(cancelled_error()),
                    part = parts.message() => part.map_err(Error::from),
                }?;
                match part {
                    Some(part) => yield part,
                    None => break,
                }
            }
        }
    }
}
