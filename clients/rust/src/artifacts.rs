//! ArtifactService calls: streaming upload and verified download, unary store, get, list, delete,
//! capabilities and storage stats. Deduplicated and resumable uploads are in `dedup.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::pb::{self, download_artifact_response, upload_artifact_request, Artifact, UploadHeader};
use crate::{Client, Error};

/// The size of each data message of an upload: 1 MiB.
pub const UPLOAD_MESSAGE_SIZE: usize = 1024 * 1024;

impl Client {
    /// Uploads everything `reader` yields as a new artifact (or a new version of `header.name`).
    ///
    /// The header goes first, then the content in [`UPLOAD_MESSAGE_SIZE`] messages. If reading fails,
    /// the call is cancelled, so the server never commits a truncated artifact (with an
    /// `upload_id`, what it received can be resumed: see [`Client::resume_upload`]).
    pub async fn upload_artifact<R>(&self, header: UploadHeader, reader: R) -> Result<Artifact, Error>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (failed_tx, failed_rx) = oneshot::channel();
        let mut artifacts = self.artifacts.clone();
        let request = self.request(upload_messages(header, reader, failed_tx));
        self.options
            .guard(async move {
                tokio::select! {
                    response = artifacts.upload_artifact(request) => Ok(response?.into_inner()),
                    Ok(error) = failed_rx => Err(Error::Io(error)),
                }
            })
            .await
    }

    /// Stores small content in one unary call.
    pub async fn store_artifact(&self, header: UploadHeader, content: impl Into<Vec<u8>>) -> Result<Artifact, Error> {
        let request = pb::StoreArtifactRequest { header: Some(header), content: content.into() };
        self.unary(self.artifacts.clone().store_artifact(self.request(request))).await
    }

    /// Writes the artifact's whole content to `writer` and returns its metadata.
    ///
    /// The bytes are hashed (BLAKE3) as they arrive and checked against the artifact's size and
    /// digest at the end; a mismatch is an [`Error::Integrity`]. The bytes have been written to
    /// `writer` all the same: use [`Client::download_file`] for a target that only ever holds
    /// verified content.
    pub async fn download_artifact<W>(&self, artifact_id: &str, writer: &mut W) -> Result<Artifact, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.download_checked(artifact_id, writer, None).await
    }

    /// Like [`Client::download_artifact`], but the bytes must hash to `expected_digest` (BLAKE3
    /// hex) — a digest the caller recorded itself — rather than to the digest the server reports.
    pub async fn download_artifact_expecting<W>(
        &self,
        artifact_id: &str,
        writer: &mut W,
        expected_digest: &str,
    ) -> Result<Artifact, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.download_checked(artifact_id, writer, Some(expected_digest)).await
    }

    async fn download_checked<W>(
        &self,
        artifact_id: &str,
        writer: &mut W,
        expected_digest: Option<&str>,
    ) -> Result<Artifact, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut hasher = blake3::Hasher::new();
        let (artifact, size) = self.download(artifact_id, 0, 0, writer, Some(&mut hasher)).await?;
        let digest = hasher.finalize().to_hex();
        let expected = expected_digest.unwrap_or(&artifact.content_digest);
        if size != artifact.size || digest.as_str() != expected {
            return Err(Error::Integrity(format!(
                "artifact {}: received {size} bytes with digest {digest}, expected {} bytes with digest {expected}",
                artifact.artifact_id, artifact.size
            )));
        }
        Ok(artifact)
    }

    /// Writes `limit` bytes of the content from `offset` (`limit` 0 = to the end) to `writer`.
    ///
    /// A range has no digest of its own to check; only whole downloads are verified.
    pub async fn download_artifact_range<W>(
        &self,
        artifact_id: &str,
        offset: i64,
        limit: i64,
        writer: &mut W,
    ) -> Result<Artifact, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        Ok(self.download(artifact_id, offset, limit, writer, None).await?.0)
    }

    /// Downloads the artifact's whole content into a file at `path`, verified.
    ///
    /// The bytes go to a temporary file in the same directory, which replaces `path` (atomically,
    /// by rename) only once its size and BLAKE3 digest match the artifact. On any failure (an
    /// [`Error::Integrity`] mismatch, a broken stream, cancellation) the temporary file is removed
    /// and `path` is left as it was.
    pub async fn download_file(&self, artifact_id: &str, path: impl AsRef<Path>) -> Result<Artifact, Error> {
        let path = path.as_ref();
        let partial = partial_path(path)?;
        let result = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let artifact = self.download_artifact(artifact_id, &mut file).await?;
            file.sync_all().await?;
            Ok::<_, Error>(artifact)
        }
        .await;
        match result {
            Ok(artifact) => match tokio::fs::rename(&partial, path).await {
                Ok(()) => Ok(artifact),
                Err(error) => {
                    let _ = tokio::fs::remove_file(&partial).await;
                    Err(error.into())
                }
            },
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(error)
            }
        }
    }

    /// Fetches an artifact's metadata by id.
    pub async fn get_artifact(&self, artifact_id: &str) -> Result<Artifact, Error> {
        let request = pb::GetArtifactRequest { artifact_id: artifact_id.into(), ..Default::default() };
        self.unary(self.artifacts.clone().get_artifact(self.request(request))).await
    }

    /// Fetches an artifact's metadata by session and name; `version` 0 means the latest.
    pub async fn get_artifact_by_name(&self, session_id: &str, name: &str, version: i32) -> Result<Artifact, Error> {
        let request = pb::GetArtifactRequest {
            artifact_id: String::new(),
            session_id: session_id.into(),
            name: name.into(),
            version,
        };
        self.unary(self.artifacts.clone().get_artifact(self.request(request))).await
    }

    /// Fetches one page of a session's artifacts.
    pub async fn list_artifacts(&self, request: pb::ListArtifactsRequest) -> Result<pb::ListArtifactsResponse, Error> {
        self.unary(self.artifacts.clone().list_artifacts(self.request(request))).await
    }

    /// Deletes one artifact version.
    pub async fn delete_artifact(&self, artifact_id: &str) -> Result<(), Error> {
        let request = pb::DeleteArtifactRequest { artifact_id: artifact_id.into() };
        self.unary(self.artifacts.clone().delete_artifact(self.request(request))).await?;
        Ok(())
    }

    /// What the server supports: digest function, compression, size limits, chunking parameters.
    pub async fn get_capabilities(&self) -> Result<pb::GetCapabilitiesResponse, Error> {
        let request = pb::GetCapabilitiesRequest {};
        self.unary(self.artifacts.clone().get_capabilities(self.request(request))).await
    }

    /// Storage use of one session, or of the caller's whole tenant when `session_id` is empty.
    pub async fn get_storage_stats(&self, session_id: &str) -> Result<pb::GetStorageStatsResponse, Error> {
        let request = pb::GetStorageStatsRequest { session_id: session_id.into() };
        self.unary(self.artifacts.clone().get_storage_stats(self.request(request))).await
    }

    async fn download<W>(
        &self,
        artifact_id: &str,
        offset: i64,
        limit: i64,
        writer: &mut W,
        hasher: Option<&mut blake3::Hasher>,
    ) -> Result<(Artifact, i64), Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let request =
            pb::DownloadArtifactRequest { artifact_id: artifact_id.into(), offset, limit, ..Default::default() };
        self.options.guard(self.download_stream(self.request(request), writer, hasher)).await
    }

    async fn download_stream<W>(
        &self,
        request: tonic::Request<pb::DownloadArtifactRequest>,
        writer: &mut W,
        mut hasher: Option<&mut blake3::Hasher>,
    ) -> Result<(Artifact, i64), Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut stream = self.artifacts.clone().download_artifact(request).await?.into_inner();
        let artifact = match stream.message().await?.and_then(|m| m.kind) {
            Some(download_artifact_response::Kind::Artifact(artifact)) => artifact,
            _ => return Err(Error::Protocol("a download must start with the artifact's metadata".into())),
        };
        let mut size = 0i64;
        while let Some(message) = stream.message().await? {
            let Some(download_artifact_response::Kind::Data(data)) = message.kind else {
                return Err(Error::Protocol("metadata repeated in a download".into()));
            };
            if let Some(hasher) = hasher.as_deref_mut() {
                hasher.update(&data);
            }
            writer.write_all(&data).await?;
            size += data.len() as i64;
        }
        writer.flush().await?;
        Ok((artifact, size))
    }
}

/// A temporary file name next to `path`: `.NAME.PID.N.part`, unique within this process.
fn partial_path(path: &Path) -> Result<PathBuf, Error> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name =
        path.file_name().ok_or_else(|| Error::InvalidArgument(format!("{} does not name a file", path.display())))?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let partial = format!(".{}.{}.{n}.part", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(partial))
}

/// The header message, then the content in 1 MiB data messages. A read error is handed to `failed`
/// and the stream then stays open, so that the call is cancelled rather than committed.
pub(crate) fn upload_messages<R>(
    header: UploadHeader,
    mut reader: R,
    failed: oneshot::Sender<std::io::Error>,
) -> impl Stream<Item = pb::UploadArtifactRequest> + Send + 'static
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let message = |kind| pb::UploadArtifactRequest { kind: Some(kind) };
    let mut failed = Some(failed);
    async_stream::stream! {
        yield message(upload_artifact_request::Kind::Header(header));
        loop {
            let mut data = Vec::with_capacity(UPLOAD_MESSAGE_SIZE);
            match (&mut reader).take(UPLOAD_MESSAGE_SIZE as u64).read_to_end(&mut data).await {
                Ok(0) => break,
                Ok(_) => yield message(upload_artifact_request::Kind::Data(data)),
                Err(error) => {
                    if let Some(failed) = failed.take() {
                        let _ = failed.send(error);
                    }
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_files_sit_next_to_the_target_with_unique_names() {
        let a = partial_path(Path::new("/data/out/report.bin")).unwrap();
        let b = partial_path(Path::new("/data/out/report.bin")).unwrap();
        assert_eq!(a.parent(), Some(Path::new("/data/out")));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with(".report.bin."));
        assert_ne!(a, b);
        assert!(partial_path(Path::new("/")).is_err());
    }
}
