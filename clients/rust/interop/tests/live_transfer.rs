//! Live: deduplicated and resumable uploads, verified file downloads, cancelled downloads.

mod common;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{skipped, temp_dir, xorshift, Server};
use llmspell_sessions_client::pb::{self, UploadHeader};
use llmspell_sessions_client::{CancelToken, Client, Code, Error};

async fn session(client: &Client, name: &str) -> String {
    let request = pb::CreateSessionRequest { name: name.into(), ..Default::default() };
    client.create_session(request).await.unwrap().session_id
}

fn header(session_id: &str, name: &str) -> UploadHeader {
    UploadHeader { session_id: session_id.into(), name: name.into(), ..Default::default() }
}

#[tokio::test]
async fn re_uploading_a_one_percent_edited_32_mib_file_sends_at_most_five_percent() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client, "dedup").await;
    let dir = temp_dir("dedup");
    let path = dir.join("big.bin");
    let mut content = xorshift(7, 32 * 1024 * 1024);
    std::fs::write(&path, &content).unwrap();

    let first = client.upload_deduplicated(header(&id, "big.bin"), &path).await.unwrap();
    assert_eq!(first.artifact.size, content.len() as i64);
    assert_eq!(first.artifact.content_digest, blake3::hash(&content).to_hex().as_str());
    assert!(first.chunks > 100, "32 MiB in ~64 KiB chunks, got {}", first.chunks);
    assert_eq!(first.sent_bytes, content.len() as u64, "a new file is sent whole");

    // 1% of the bytes changed, in one contiguous region in the middle.
    let edit = content.len() / 100;
    let at = content.len() / 2;
    content[at..at + edit].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(&path, &content).unwrap();
    let second = client.upload_deduplicated(header(&id, "big.bin"), &path).await.unwrap();
    assert_eq!(second.artifact.version, 2);
    assert_eq!(second.artifact.content_digest, blake3::hash(&content).to_hex().as_str());
    let budget = content.len() as u64 / 20;
    assert!(second.sent_bytes <= budget, "sent {} bytes, budget {budget}", second.sent_bytes);
    assert!(second.sent_bytes >= edit as u64, "the edited chunks must be sent");

    // upload_file takes the same path for large files; the same content sends nothing new.
    let third = client.upload_file(header(&id, "big.bin"), &path).await.unwrap();
    assert_eq!((third.version, third.new_bytes), (3, 0));

    let out = dir.join("copy.bin");
    client.download_file(&second.artifact.artifact_id, &out).await.unwrap();
    assert!(std::fs::read(&out).unwrap() == content, "the download equals the edited file");
    let _ = std::fs::remove_dir_all(dir);
}

/// Yields `limit` bytes of `data`, then waits until the test releases it and fails: an upload
/// interrupted part way, at a moment the test chooses (once the server holds some of it).
struct Interrupted {
    data: Vec<u8>,
    at: usize,
    limit: usize,
    release: Release,
}

/// Set once the interrupted reader may fail; wakes the task waiting in it.
#[derive(Clone, Default)]
struct Release(Arc<Mutex<(bool, Option<Waker>)>>);

impl Release {
    fn now(&self) {
        let mut state = self.0.lock().unwrap();
        state.0 = true;
        if let Some(waker) = state.1.take() {
            waker.wake();
        }
    }
}

impl tokio::io::AsyncRead for Interrupted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at >= self.limit {
            let mut state = self.release.0.lock().unwrap();
            if !state.0 {
                state.1 = Some(cx.waker().clone());
                return Poll::Pending;
            }
            return Poll::Ready(Err(std::io::Error::other("connection lost")));
        }
        let end = (self.at + buf.remaining()).min(self.limit);
        buf.put_slice(&self.data[self.at..end]);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_what_the_server_kept() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client, "resume").await;
    let dir = temp_dir("resume");
    let path = dir.join("data.bin");
    let content = xorshift(11, 12 * 1024 * 1024 + 123);
    std::fs::write(&path, &content).unwrap();
    let mut resumable = header(&id, "data.bin");
    resumable.upload_id = format!("rust-resume-{}", std::process::id());

    // 9 MiB go out, and the stream stays open until the server reports that it holds some of them
    // (it makes progress durable a batch of ~4 MiB of complete chunks at a time); then it breaks.
    let release = Release::default();
    let reader = Interrupted { data: content.clone(), at: 0, limit: 9 * 1024 * 1024, release: release.clone() };
    let watch = async {
        for _ in 0..200 {
            if let Ok(status) = client.query_upload_status(&resumable.upload_id).await {
                if status.committed_size > 0 {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        release.now();
    };
    let (result, ()) = tokio::join!(client.upload_artifact(resumable.clone(), reader), watch);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    // Asked after the break, the server answers once it has kept every complete chunk it read.
    let status = client.query_upload_status(&resumable.upload_id).await.unwrap();
    assert!(!status.complete);
    let kept = status.committed_size;
    assert!(kept > 0 && kept <= 9 * 1024 * 1024, "the server kept {kept} bytes");

    let artifact = client.resume_upload(resumable.clone(), &path).await.unwrap();
    assert_eq!(artifact.size, content.len() as i64);
    assert_eq!(artifact.content_digest, blake3::hash(&content).to_hex().as_str());
    let status = client.query_upload_status(&resumable.upload_id).await.unwrap();
    assert!(status.complete);
    assert_eq!(status.artifact_id, artifact.artifact_id);
    // Resuming a completed upload returns its artifact instead of storing another version.
    let again = client.resume_upload(resumable, &path).await.unwrap();
    assert_eq!(again.artifact_id, artifact.artifact_id);
    let _ = std::fs::remove_dir_all(dir);
}

/// A writer that cancels `token` once it has been given `after` bytes.
struct CancellingWriter {
    token: CancelToken,
    seen: usize,
    after: usize,
}

impl tokio::io::AsyncWrite for CancellingWriter {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.seen += buf.len();
        if self.seen >= self.after {
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

#[tokio::test]
async fn a_cancelled_download_ends_with_cancelled_and_leaves_the_target_alone() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client, "cancel").await;
    let content = xorshift(3, 8 * 1024 * 1024);
    let artifact = client.upload_artifact(header(&id, "big"), std::io::Cursor::new(content)).await.unwrap();

    let token = CancelToken::new();
    let mut writer = CancellingWriter { token: token.clone(), seen: 0, after: 1 };
    let err = client.with_cancel(&token).download_artifact(&artifact.artifact_id, &mut writer).await.unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    assert!(writer.seen < content_len(&artifact), "the stream stopped early");

    let dir = temp_dir("cancel");
    let target = dir.join("kept.bin");
    std::fs::write(&target, b"old").unwrap();
    let err = client.with_cancel(&token).download_file(&artifact.artifact_id, &target).await.unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left behind");
    // The same client without the token still works.
    client.download_file(&artifact.artifact_id, &target).await.unwrap();
    assert_eq!(std::fs::metadata(&target).unwrap().len(), 8 * 1024 * 1024);
    let _ = std::fs::remove_dir_all(dir);
}

fn content_len(artifact: &pb::Artifact) -> usize {
    artifact.size as usize
}
