//! Tests of the wrapper against an in-process tonic server implementing the generated service traits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{stream, TryStreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::BoxStream;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::error::status_with_info;
use crate::pb::artifact_service_server::{ArtifactService, ArtifactServiceServer};
use crate::pb::replay_service_server::{ReplayService, ReplayServiceServer};
use crate::pb::session_service_server::{SessionService, SessionServiceServer};
use crate::pb::{self, download_artifact_response, upload_artifact_request, Artifact, Event, Session};
use crate::{Client, ErrorInfo, StateUpdate, ERROR_DOMAIN};

const TOTAL_SESSIONS: usize = 7;

/// Serves `TOTAL_SESSIONS` sessions in pages, requires a bearer token, and keeps state in memory.
#[derive(Default)]
struct Sessions {
    state: Mutex<HashMap<String, prost_types::Value>>,
}

fn require_token<T>(request: &Request<T>) -> Result<(), Status> {
    match request.metadata().get("authorization") {
        Some(value) if value == "Bearer s3cret" => Ok(()),
        _ => Err(Status::unauthenticated("no token")),
    }
}

#[tonic::async_trait]
impl SessionService for Sessions {
    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        require_token(&request)?;
        let request = request.into_inner();
        let start: usize = request.page_token.parse().unwrap_or(0);
        let end = (start + request.page_size as usize).min(TOTAL_SESSIONS);
        let sessions = (start..end).map(|i| Session { session_id: format!("s{i}"), ..Default::default() }).collect();
        let next_page_token = if end < TOTAL_SESSIONS { end.to_string() } else { String::new() };
        Ok(Response::new(pb::ListSessionsResponse { sessions, next_page_token, total_size: TOTAL_SESSIONS as i64 }))
    }

    async fn get_session(&self, request: Request<pb::GetSessionRequest>) -> Result<Response<Session>, Status> {
        let id = request.into_inner().session_id;
        let metadata = HashMap::from([("session_id".to_owned(), id)]);
        let info = ErrorInfo { reason: "SESSION_NOT_FOUND".into(), domain: ERROR_DOMAIN.into(), metadata };
        Err(status_with_info(Code::NotFound, "session not found", vec![info]))
    }

    async fn set_session_state(
        &self,
        request: Request<pb::SetSessionStateRequest>,
    ) -> Result<Response<Session>, Status> {
        let request = request.into_inner();
        let mut state = self.state.lock().unwrap();
        state.extend(request.entries);
        request.delete_keys.iter().for_each(|k| drop(state.remove(k)));
        Ok(Response::new(Session { session_id: request.session_id, ..Default::default() }))
    }

    async fn get_session_state(
        &self,
        _: Request<pb::GetSessionStateRequest>,
    ) -> Result<Response<pb::GetSessionStateResponse>, Status> {
        Ok(Response::new(pb::GetSessionStateResponse { entries: self.state.lock().unwrap().clone() }))
    }
}

/// Records the messages of every upload and serves `content` for every download.
#[derive(Default)]
struct Artifacts {
    uploads: Mutex<Vec<pb::UploadArtifactRequest>>,
    content: Vec<u8>,
}

#[tonic::async_trait]
impl ArtifactService for Artifacts {
    async fn upload_artifact(
        &self,
        request: Request<Streaming<pb::UploadArtifactRequest>>,
    ) -> Result<Response<Artifact>, Status> {
        let messages: Vec<_> = request.into_inner().try_collect().await?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0;
        for message in &messages {
            if let Some(upload_artifact_request::Kind::Data(data)) = &message.kind {
                hasher.update(data);
                size += data.len() as i64;
            }
        }
        self.uploads.lock().unwrap().extend(messages);
        Ok(Response::new(Artifact {
            size,
            content_digest: hasher.finalize().to_hex().to_string(),
            ..Default::default()
        }))
    }

    async fn download_artifact(
        &self,
        request: Request<pb::DownloadArtifactRequest>,
    ) -> Result<Response<BoxStream<pb::DownloadArtifactResponse>>, Status> {
        let corrupt = request.into_inner().artifact_id == "corrupt";
        let digest = blake3::hash(if corrupt { b"other" } else { &self.content }).to_hex().to_string();
        let artifact = Artifact { size: self.content.len() as i64, content_digest: digest, ..Default::default() };
        let mut messages = vec![download_artifact_response::Kind::Artifact(artifact)];
        messages.extend(self.content.chunks(1000).map(|c| download_artifact_response::Kind::Data(c.to_vec())));
        let messages = messages.into_iter().map(|kind| Ok(pb::DownloadArtifactResponse { kind: Some(kind) }));
        Ok(Response::new(Box::pin(stream::iter(messages))))
    }
}

/// Streams three history events from `after_seq`.
struct Replay;

#[tonic::async_trait]
impl ReplayService for Replay {
    async fn subscribe_events(
        &self,
        request: Request<pb::SubscribeEventsRequest>,
    ) -> Result<Response<BoxStream<Event>>, Status> {
        let request = request.into_inner();
        let events = (1..=3).map(move |i| {
            Ok(Event { session_id: request.session_id.clone(), seq: request.after_seq + i, ..Default::default() })
        });
        Ok(Response::new(Box::pin(stream::iter(events.collect::<Vec<_>>()))))
    }
}

async fn serve(artifacts: Arc<Artifacts>) -> Client {
    serve_at(artifacts).await.0
}

async fn serve_at(artifacts: Arc<Artifacts>) -> (Client, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(SessionServiceServer::new(Sessions::default()))
        .add_service(ArtifactServiceServer::from_arc(artifacts))
        .add_service(ReplayServiceServer::new(Replay));
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    (Client::connect(address.to_string()).token("s3cret").await.unwrap(), address.to_string())
}

async fn client() -> Client {
    serve(Arc::new(Artifacts::default())).await
}

#[tokio::test]
async fn list_all_sessions_walks_every_page_in_order() {
    let client = client().await;
    let request = pb::ListSessionsRequest { page_size: 3, ..Default::default() };
    let ids: Vec<String> = client.list_all_sessions(request).map_ok(|s| s.session_id).try_collect().await.unwrap();
    assert_eq!(ids, (0..TOTAL_SESSIONS).map(|i| format!("s{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn list_all_sessions_starts_at_the_given_page_token() {
    let client = client().await;
    let request = pb::ListSessionsRequest { page_size: 4, page_token: "5".into(), ..Default::default() };
    let sessions: Vec<Session> = client.list_all_sessions(request).try_collect().await.unwrap();
    assert_eq!(sessions.len(), 2);
}

#[tokio::test]
async fn the_token_is_sent_as_a_bearer_header_and_its_absence_is_unauthenticated() {
    let (_, address) = serve_at(Arc::new(Artifacts::default())).await;
    let anonymous = Client::connect(address).await.unwrap();
    let err = anonymous.list_sessions(pb::ListSessionsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn server_errors_keep_code_reason_and_metadata_over_the_wire() {
    let client = client().await;
    let err = client.get_session("nope").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.reason(), Some("SESSION_NOT_FOUND"));
    assert_eq!(err.metadata()["session_id"], "nope");
}

#[tokio::test]
async fn unimplemented_calls_report_unimplemented() {
    let err = client().await.save_session("s").await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.reason(), None);
}

#[tokio::test]
async fn state_goes_over_the_wire_as_json() {
    let client = client().await;
    let value = json!({"steps": ["a", "b"], "done": false, "cost": 0.25});
    let update = StateUpdate::new().set("plan", value.clone()).set("gone", json!(null)).delete("gone");
    client.set_session_state("s", update).await.unwrap();
    let state = client.get_session_state("s", &[]).await.unwrap();
    assert_eq!(serde_json::Value::Object(state), json!({"plan": value}));
}

#[tokio::test]
async fn uploads_send_the_header_first_then_one_mib_messages() {
    let artifacts = Arc::new(Artifacts::default());
    let client = serve(artifacts.clone()).await;
    let content: Vec<u8> = (0..(2 * 1024 * 1024 + 10)).map(|i| (i % 251) as u8).collect();
    let header = pb::UploadHeader { session_id: "s".into(), name: "blob".into(), ..Default::default() };
    let artifact = client.upload_artifact(header, std::io::Cursor::new(content.clone())).await.unwrap();
    assert_eq!(artifact.size, content.len() as i64);
    assert_eq!(artifact.content_digest, blake3::hash(&content).to_hex().as_str());
    let uploads = artifacts.uploads.lock().unwrap();
    assert!(matches!(&uploads[0].kind, Some(upload_artifact_request::Kind::Header(h)) if h.name == "blob"));
    let sizes: Vec<usize> = uploads[1..]
        .iter()
        .map(|m| match &m.kind {
            Some(upload_artifact_request::Kind::Data(d)) => d.len(),
            _ => panic!("a second header"),
        })
        .collect();
    assert_eq!(sizes, vec![1024 * 1024, 1024 * 1024, 10]);
}

/// A reader that yields some bytes and then fails.
struct FailingReader(bool);

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        self.0 = true;
        buf.put_slice(b"partial");
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_reader_cancels_the_upload_instead_of_committing_it() {
    let artifacts = Arc::new(Artifacts::default());
    let client = serve(artifacts.clone()).await;
    let err = client.upload_artifact(pb::UploadHeader::default(), FailingReader(false)).await.unwrap_err();
    assert!(matches!(err, crate::Error::Io(_)), "{err}");
    assert!(artifacts.uploads.lock().unwrap().is_empty(), "the server must not see a finished upload");
}

#[tokio::test]
async fn downloads_write_the_data_and_check_the_digest() {
    let content: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let client = serve(Arc::new(Artifacts { content: content.clone(), ..Default::default() })).await;
    let mut received = Vec::new();
    let artifact = client.download_artifact("a", &mut received).await.unwrap();
    assert_eq!((received, artifact.size), (content.clone(), 5000));
    let err = client.download_artifact("corrupt", &mut Vec::new()).await.unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
}

#[tokio::test]
async fn subscribe_events_streams_events_after_the_given_seq() {
    let client = client().await;
    let seqs: Vec<i64> = client.subscribe_events("s", 4, &[]).map_ok(|e| e.seq).try_collect().await.unwrap();
    assert_eq!(seqs, vec![5, 6, 7]);
}

#[test]
fn new_events_take_a_json_object_or_null_payload() {
    let event = pb::NewEvent::json("agent.step", json!({"i": 1})).unwrap();
    assert_eq!(event.r#type, "agent.step");
    assert!(pb::NewEvent::json("agent.step", json!(null)).unwrap().payload.is_none());
    assert!(pb::NewEvent::json("agent.step", json!(3)).is_err());
}

#[tokio::test]
async fn a_verified_file_download_replaces_the_target_only_when_the_digest_matches() {
    let content: Vec<u8> = (0..5000u32).map(|i| (i * 13) as u8).collect();
    let client = serve(Arc::new(Artifacts { content: content.clone(), ..Default::default() })).await;
    let dir = std::env::temp_dir().join(format!("llmspell-rust-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.bin");
    std::fs::write(&target, b"previous content").unwrap();

    let err = client.download_file("corrupt", &target).await.unwrap_err();
    assert!(matches!(err, crate::Error::Integrity(_)), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"previous content", "a mismatch leaves the target untouched");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("out.bin")], "the temporary file is removed");

    client.download_file("a", &target).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), content);
    std::fs::remove_dir_all(&dir).unwrap();
}
