//! ArtifactService calls: streaming upload and download, unary store, get, list, delete.

use std::path::Path;

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
    /// the call is cancelled, so the server never commits a truncated artifact.
    pub async fn upload_artifact<R>(&self, header: UploadHeader, reader: R) -> Result<Artifact, Error>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (failed_tx, failed_rx) = oneshot::channel();
        let mut artifacts = self.artifacts.clone();
        let call = artifacts.upload_artifact(upload_messages(header, reader, failed_tx));
        tokio::select! {
            response = call => Ok(response?.into_inner()),
            Ok(error) = failed_rx => Err(Error::Io(error)),
        }
    }

    /// Uploads the file at `path` (see [`Client::upload_artifact`]).
    pub async fn upload_file(&self, header: UploadHeader, path: impl AsRef<Path>) -> Result<Artifact, Error> {
        let file = tokio::fs::File::open(path).await?;
        self.upload_artifact(header, file).await
    }

    /// Stores small content in one unary call.
    pub async fn store_artifact(&self, header: UploadHeader, content: impl Into<Vec<u8>>) -> Result<Artifact, Error> {
        let request = pb::StoreArtifactRequest { header: Some(header), content: content.into() };
        Ok(self.artifacts.clone().store_artifact(request).await?.into_inner())
    }

    /// Writes the artifact's whole content to `writer` and returns its metadata.
    ///
    /// The bytes received are checked against the artifact's size and BLAKE3 digest; a mismatch is
    /// an [`Error::Integrity`] (the bytes have been written all the same).
    pub async fn download_artifact<W>(&self, artifact_id: &str, writer: &mut W) -> Result<Artifact, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut hasher = blake3::Hasher::new();
        let (artifact, size) = self.download(artifact_id, 0, 0, writer, Some(&mut hasher)).await?;
        let digest = hasher.finalize().to_hex();
        if size != artifact.size || digest.as_str() != artifact.content_digest {
            return Err(Error::Integrity(format!(
                "received {size} bytes with digest {digest}, expected {} bytes with digest {}",
                artifact.size, artifact.content_digest
            )));
        }
        Ok(artifact)
    }

    /// Writes `limit` bytes of the content from `offset` (`limit` 0 = to the end) to `writer`.
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

    /// Downloads the artifact's whole content into a file at `path` (created or truncated).
    pub async fn download_file(&self, artifact_id: &str, path: impl AsRef<Path>) -> Result<Artifact, Error> {
        let mut file = tokio::fs::File::create(path).await?;
        let artifact = self.download_artifact(artifact_id, &mut file).await?;
        file.sync_all().await?;
        Ok(artifact)
    }

    /// Fetches an artifact's metadata by id.
    pub async fn get_artifact(&self, artifact_id: &str) -> Result<Artifact, Error> {
        let request = pb::GetArtifactRequest { artifact_id: artifact_id.into(), ..Default::default() };
        Ok(self.artifacts.clone().get_artifact(request).await?.into_inner())
    }

    /// Fetches one page of a session's artifacts.
    pub async fn list_artifacts(&self, request: pb::ListArtifactsRequest) -> Result<pb::ListArtifactsResponse, Error> {
        Ok(self.artifacts.clone().list_artifacts(request).await?.into_inner())
    }

    /// Deletes one artifact version.
    pub async fn delete_artifact(&self, artifact_id: &str) -> Result<(), Error> {
        let request = pb::DeleteArtifactRequest { artifact_id: artifact_id.into() };
        self.artifacts.clone().delete_artifact(request).await?;
        Ok(())
    }

    async fn download<W>(
        &self,
        artifact_id: &str,
        offset: i64,
        limit: i64,
        writer: &mut W,
        mut hasher: Option<&mut blake3::Hasher>,
    ) -> Result<(Artifact, i64), Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let request = pb::DownloadArtifactRequest { artifact_id: artifact_id.into(), offset, limit };
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

/// The header message, then the content in 1 MiB data messages. A read error is handed to `failed`
/// and the stream then stays open, so that the call is cancelled rather than committed.
fn upload_messages<R>(
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
