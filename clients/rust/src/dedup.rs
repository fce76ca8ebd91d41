//! Deduplicated uploads (FindMissingChunks → UploadChunks → CommitArtifact) and resumable ones
//! (`upload_id` + QueryUploadStatus), with the chunk-level calls they are made of.

use std::collections::HashSet;
use std::io::SeekFrom;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::oneshot;

use crate::chunking::Chunker;
use crate::pb::{self, Artifact, ChunkRef, UploadHeader};
use crate::{Client, Code, Error};

/// Files at least this large go through [`Client::upload_deduplicated`] in [`Client::upload_file`]:
/// below it, one plain stream costs less than the extra round trips.
pub const DEDUP_MIN_SIZE: u64 = 4 * 1024 * 1024;

/// How many digests one FindMissingChunks call asks about.
const FIND_BATCH: usize = 4096;

/// The outcome of [`Client::upload_deduplicated`]: the artifact and what actually went over the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct DedupUpload {
    /// The committed artifact.
    pub artifact: Artifact,
    /// How many chunks the content was cut into.
    pub chunks: usize,
    /// How many of them the server lacked and were sent.
    pub sent_chunks: usize,
    /// The bytes of the chunks sent (the rest were already on the server).
    pub sent_bytes: u64,
}

/// One chunk of a file: where it is and what it hashes to.
#[derive(Clone, Debug)]
struct PlannedChunk {
    digest: String,
    offset: u64,
    size: u64,
}

impl Client {
    /// Uploads the file at `path`. Files of [`DEDUP_MIN_SIZE`] or more are deduplicated (only the
    /// chunks the server lacks are sent) unless the header carries an `upload_id`, which asks for a
    /// resumable stream; smaller files and servers that chunk differently get one plain stream.
    pub async fn upload_file(&self, mut header: UploadHeader, path: impl AsRef<Path>) -> Result<Artifact, Error> {
        let path = path.as_ref();
        let size = tokio::fs::metadata(path).await?.len();
        if size >= DEDUP_MIN_SIZE && header.upload_id.is_empty() {
            match self.upload_deduplicated(header.clone(), path).await {
                Err(Error::Protocol(_)) => {} // the server chunks differently: stream it whole
                other => return other.map(|upload| upload.artifact),
            }
        }
        header.expected_size = size as i64;
        let mut file = tokio::fs::File::open(path).await?;
        if header.write_offset > 0 {
            file.seek(SeekFrom::Start(header.write_offset as u64)).await?;
        }
        self.upload_artifact(header, file).await
    }

    /// Uploads the file at `path` by content-defined chunks: cuts it exactly as the server would
    /// (FastCDC with the parameters of [`Client::get_capabilities`]), hashes each chunk with BLAKE3,
    /// asks which chunks the server lacks, sends only those and commits the artifact from the chunk
    /// list. Re-uploading an edited file sends little more than the edited chunks.
    pub async fn upload_deduplicated(
        &self,
        mut header: UploadHeader,
        path: impl AsRef<Path>,
    ) -> Result<DedupUpload, Error> {
        let path = path.as_ref();
        let chunker = Chunker::from_capabilities(&self.get_capabilities().await?)?;
        let (plan, content_digest, size) = plan_chunks(&chunker, path).await?;
        let mut unique = HashSet::new();
        let digests: Vec<String> = plan.iter().filter(|c| unique.insert(&c.digest)).map(|c| c.digest.clone()).collect();
        let mut missing = HashSet::new();
        for batch in digests.chunks(FIND_BATCH) {
            missing.extend(self.find_missing_chunks(batch.to_vec()).await?);
        }
        let mut sent = HashSet::new();
        let wanted: Vec<PlannedChunk> =
            plan.iter().filter(|c| missing.contains(&c.digest) && sent.insert(&c.digest)).cloned().collect();
        let sent_bytes = wanted.iter().map(|c| c.size).sum();
        if !wanted.is_empty() {
            let (failed_tx, failed_rx) = oneshot::channel();
            let upload = self.upload_chunks(chunk_messages(path.to_owned(), wanted.clone(), failed_tx));
            tokio::select! {
                stored = upload => { stored?; }
                Ok(error) = failed_rx => return Err(Error::Io(error)),
            }
        }
        header.expected_size = size as i64;
        let refs = plan.iter().map(|c| ChunkRef { digest: c.digest.clone(), size: c.size as i64 }).collect();
        let artifact = self.commit_artifact(header, refs, &content_digest).await?;
        Ok(DedupUpload { artifact, chunks: plan.len(), sent_chunks: wanted.len(), sent_bytes })
    }

    /// Continues an interrupted upload of the file at `path` under `header.upload_id`: asks the
    /// server how much it kept (QueryUploadStatus) and streams the rest from there. An upload the
    /// server does not know (never started, or expired) starts from the beginning; one that already
    /// completed returns its artifact.
    pub async fn resume_upload(&self, mut header: UploadHeader, path: impl AsRef<Path>) -> Result<Artifact, Error> {
        if header.upload_id.is_empty() {
            return Err(Error::InvalidArgument("resume_upload needs header.upload_id".into()));
        }
        header.write_offset = match self.query_upload_status(&header.upload_id).await {
            Ok(status) if status.complete => return self.get_artifact(&status.artifact_id).await,
            Ok(status) => status.committed_size,
            Err(error) if error.code() == Code::NotFound => 0,
            Err(error) => return Err(error),
        };
        self.upload_file(header, path).await
    }

    /// How much of the upload `upload_id` the server holds, and whether it completed.
    pub async fn query_upload_status(&self, upload_id: &str) -> Result<pb::QueryUploadStatusResponse, Error> {
        let request = pb::QueryUploadStatusRequest { upload_id: upload_id.into() };
        self.unary(self.artifacts.clone().query_upload_status(self.request(request))).await
    }

    /// The digests among `digests` (BLAKE3 hex of uncompressed chunks) the server does not hold.
    pub async fn find_missing_chunks(&self, digests: Vec<String>) -> Result<Vec<String>, Error> {
        let request = pb::FindMissingChunksRequest { digests };
        Ok(self.unary(self.artifacts.clone().find_missing_chunks(self.request(request))).await?.missing_digests)
    }

    /// Stores chunks (each with its BLAKE3 digest, which the server checks) from a stream.
    pub async fn upload_chunks<S>(&self, chunks: S) -> Result<pb::UploadChunksResponse, Error>
    where
        S: futures_core::Stream<Item = pb::UploadChunksRequest> + Send + 'static,
    {
        self.unary(self.artifacts.clone().upload_chunks(self.request(chunks))).await
    }

    /// Builds an artifact from chunks the server holds; `content_digest` is the whole content's BLAKE3.
    pub async fn commit_artifact(
        &self,
        header: UploadHeader,
        chunks: Vec<ChunkRef>,
        content_digest: &str,
    ) -> Result<Artifact, Error> {
        let request = pb::CommitArtifactRequest { header: Some(header), chunks, content_digest: content_digest.into() };
        self.unary(self.artifacts.clone().commit_artifact(self.request(request))).await
    }
}

/// Cuts and hashes the file in one streaming pass: its chunks, the whole content's digest and size.
async fn plan_chunks(chunker: &Chunker, path: &Path) -> Result<(Vec<PlannedChunk>, String, u64), Error> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut whole = blake3::Hasher::new();
    let (mut plan, mut buffer, mut offset) = (Vec::new(), Vec::new(), 0u64);
    let read_size = chunker.max_size().max(1 << 20);
    loop {
        let read = (&mut file).take(read_size as u64).read_to_end(&mut buffer).await?;
        let last = read == 0;
        let mut start = 0;
        for end in chunker.cuts(&buffer, last) {
            let data = &buffer[start..end];
            whole.update(data);
            let digest = blake3::hash(data).to_hex().to_string();
            plan.push(PlannedChunk { digest, offset, size: data.len() as u64 });
            offset += data.len() as u64;
            start = end;
        }
        buffer.drain(..start);
        if last {
            return Ok((plan, whole.finalize().to_hex().to_string(), offset));
        }
    }
}

/// One UploadChunks message per wanted chunk, read from the file as the stream is consumed. A read
/// error goes to `failed` and the stream stays open, so that the call is cancelled, not finished.
fn chunk_messages(
    path: std::path::PathBuf,
    wanted: Vec<PlannedChunk>,
    failed: oneshot::Sender<std::io::Error>,
) -> impl futures_core::Stream<Item = pb::UploadChunksRequest> + Send + 'static {
    async_stream::stream! {
        match tokio::fs::File::open(&path).await {
            Ok(mut file) => {
                let mut failed = Some(failed);
                for chunk in wanted {
                    match read_chunk(&mut file, &chunk).await {
                        Ok(data) => yield pb::UploadChunksRequest { digest: chunk.digest, data },
                        Err(error) => {
                            if let Some(failed) = failed.take() {
                                let _ = failed.send(error);
                            }
                            std::future::pending::<()>().await;
                        }
                    }
                }
            }
            Err(error) => {
                let _ = failed.send(error);
                std::future::pending::<()>().await;
            }
        }
    }
}

async fn read_chunk(file: &mut tokio::fs::File, chunk: &PlannedChunk) -> std::io::Result<Vec<u8>> {
    let mut data = vec![0; chunk.size as usize];
    file.seek(SeekFrom::Start(chunk.offset)).await?;
    file.read_exact(&mut data).await?;
    Ok(data)
}
