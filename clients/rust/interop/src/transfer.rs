//! Upload and download ops with their driver options: resumption at `write_offset`, interrupted
//! uploads, cancelled and digest-checked downloads, and the chunked dedup upload path.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use llmspell_sessions_client::pb::UploadHeader;
use llmspell_sessions_client::{CancelToken, Client, UPLOAD_MESSAGE_SIZE};
use serde_json::{json, Value as Json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::content;
use crate::convert;
use crate::ops::{Args, Failure};
use crate::reflect::to_json;

/// `upload_artifact`: `content[write_offset:]` in 1 MiB messages, or with `interrupt_after_messages`
/// a stream cancelled after that many messages, answered by the upload's status.
pub async fn upload(
    client: &Client,
    header: UploadHeader,
    args: &Args<'_>,
    content: Arc<Vec<u8>>,
) -> Result<Json, Failure> {
    let offset = (header.write_offset.max(0) as usize).min(content.len());
    let Some(messages) = args.int("interrupt_after_messages")? else {
        let reader = Slice { content, at: offset, end: usize::MAX, given: Arc::default() };
        return Ok(convert::artifact(&client.upload_artifact(header, reader).await?));
    };
    let upload_id = header.upload_id.clone();
    let given = Arc::new(AtomicUsize::new(0));
    let limit = offset + messages as usize * UPLOAD_MESSAGE_SIZE;
    let reader = Slice { content, at: offset, end: limit, given: given.clone() };
    let token = CancelToken::new();
    let cancellable = client.with_cancel(&token);
    let call = cancellable.upload_artifact(header, reader);
    let canceller = async {
        while given.load(Ordering::SeqCst) < messages as usize * UPLOAD_MESSAGE_SIZE {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel();
    };
    let (outcome, ()) = tokio::join!(call, canceller);
    if let Ok(artifact) = outcome {
        return Err(Failure::Step(format!("the interrupted upload committed {}", artifact.artifact_id)));
    }
    settled_status(client, &upload_id).await
}

/// QueryUploadStatus every 200 ms until two answers agree on `committed_size` (at most 10 s).
async fn settled_status(client: &Client, upload_id: &str) -> Result<Json, Failure> {
    let started = Instant::now();
    let mut last = client.query_upload_status(upload_id).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let next = client.query_upload_status(upload_id).await?;
        let settled = next.committed_size == last.committed_size;
        last = next;
        if settled || started.elapsed() > Duration::from_secs(10) {
            return Ok(status_json(&last));
        }
    }
}

pub fn status_json(status: &llmspell_sessions_client::pb::QueryUploadStatusResponse) -> Json {
    json!({"committed_size": status.committed_size, "complete": status.complete, "artifact_id": status.artifact_id})
}

/// `download_artifact`: whole (verified, against `expected_digest` when given), a range, or
/// cancelled after `cancel_after_bytes`.
pub async fn download(client: &Client, args: &Args<'_>) -> Result<Json, Failure> {
    let id = args.str("artifact_id");
    let (offset, limit) = (args.int("offset")?.unwrap_or(0), args.int("limit")?.unwrap_or(0));
    let token = CancelToken::new();
    let cancel_after = args.int("cancel_after_bytes")?;
    let client = if cancel_after.is_some() { client.with_cancel(&token) } else { client.clone() };
    let mut sink = Sink { bytes: Vec::new(), cancel_after: cancel_after.map(|n| n as usize), token };
    if offset != 0 || limit != 0 {
        client.download_artifact_range(id, offset, limit, &mut sink).await?;
    } else if let Some(expected) = args.opt_str("expected_digest") {
        client.download_artifact_expecting(id, &mut sink, expected).await?;
    } else {
        client.download_artifact(id, &mut sink).await?;
    }
    Ok(json!({"size": sink.bytes.len(), "content_digest": content::digest(&sink.bytes)}))
}

/// `upload_chunked`: the client's deduplicated upload of the content (written to a temporary file).
pub async fn upload_chunked(client: &Client, header: UploadHeader, content: Arc<Vec<u8>>) -> Result<Json, Failure> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("llmspell-rust-interop-{}-{n}.bin", std::process::id()));
    tokio::fs::write(&path, content.as_slice()).await.map_err(|e| Failure::Step(format!("temp file: {e}")))?;
    let outcome = client.upload_deduplicated(header, &path).await;
    let _ = tokio::fs::remove_file(&path).await;
    let upload = outcome?;
    let mut result = to_json(&upload.artifact, "Artifact");
    result["bytes_sent"] = json!(upload.sent_bytes);
    result["chunks_sent"] = json!(upload.sent_chunks);
    Ok(result)
}

/// Reads `content[at..end]`, counting what it gave; past `end` it never answers (an upload that
/// stalls until it is cancelled).
struct Slice {
    content: Arc<Vec<u8>>,
    at: usize,
    end: usize,
    given: Arc<AtomicUsize>,
}

impl AsyncRead for Slice {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let stop = self.end.min(self.content.len());
        if self.at >= stop {
            return if self.end == usize::MAX || self.at >= self.content.len() {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            };
        }
        let take = buf.remaining().min(stop - self.at);
        let at = self.at;
        buf.put_slice(&self.content[at..at + take]);
        self.at += take;
        self.given.fetch_add(take, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }
}

/// Collects downloaded bytes; cancels `token` once it holds `cancel_after` bytes.
struct Sink {
    bytes: Vec<u8>,
    cancel_after: Option<usize>,
    token: CancelToken,
}

impl AsyncWrite for Sink {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.bytes.extend_from_slice(buf);
        if self.cancel_after.is_some_and(|n| self.bytes.len() >= n) {
            self.token.cancel();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
