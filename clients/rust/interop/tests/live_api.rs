//! Live: the wrappers added for the whole API, per-call options, RetryInfo and cancellation.

mod common;

use std::time::Duration;

use common::{skipped, Server};
use futures_util::{StreamExt, TryStreamExt};
use llmspell_sessions_client::pb::{self, NewEvent, ReplayMode, ReplayStatus};
use llmspell_sessions_client::{json, CancelToken, Client, Code, HistoryPoint, StateUpdate};
use serde_json::json;

async fn session(client: &Client) -> String {
    let request = pb::CreateSessionRequest { name: "api".into(), ..Default::default() };
    client.create_session(request).await.unwrap().session_id
}

fn values(pairs: serde_json::Value) -> std::collections::HashMap<String, prost_types::Value> {
    let object = pairs.as_object().unwrap();
    object.iter().map(|(k, v)| (k.clone(), json::to_value(v))).collect()
}

#[tokio::test]
async fn apply_read_snapshot_compare_and_storage_calls_work_against_the_server() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;

    let applied = client
        .apply_changes(pb::ApplyChangesRequest {
            session_id: id.clone(),
            entries: values(json!({"plan": "a", "n": 1})),
            create_entries: values(json!({"fresh": true})),
            events: vec![NewEvent::json("agent.step", json!({"i": 1})).unwrap()],
            ..Default::default()
        })
        .await
        .unwrap();
    let types: Vec<&str> = applied.events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["state.changed", "agent.step"]);
    // Create-only entries leave existing keys alone.
    let create_only = pb::ApplyChangesRequest {
        session_id: id.clone(),
        create_entries: values(json!({"n": 99})),
        ..Default::default()
    };
    let applied = client.apply_changes(create_only).await.unwrap();
    let after_apply = applied.session.unwrap().last_event_seq;

    let read = client
        .read_session(pb::ReadSessionRequest {
            session_id: id.clone(),
            state_keys: vec!["n".into(), "fresh".into(), "missing".into()],
            last_events: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(json::fields_to_map(&read.state), *json!({"n": 1, "fresh": true}).as_object().unwrap());
    assert_eq!(read.events.len(), 1);
    assert_eq!(read.events[0].r#type, "agent.step");

    client.set_session_state(&id, StateUpdate::new().set("plan", json!("b")).delete("fresh")).await.unwrap();
    let header = pb::UploadHeader { session_id: id.clone(), name: "notes.txt".into(), ..Default::default() };
    let stored = client.store_artifact(header, b"hello".to_vec()).await.unwrap();

    let snapshot = client.get_snapshot(&id, HistoryPoint::Seq(after_apply)).await.unwrap();
    assert_eq!(snapshot.seq, after_apply);
    assert_eq!(json::fields_to_map(&snapshot.state)["plan"], json!("a"));
    assert!(snapshot.artifacts.is_empty());

    let last = client.get_session(&id).await.unwrap().last_event_seq;
    let diff = client.compare_snapshots(&id, HistoryPoint::Seq(after_apply), HistoryPoint::Seq(last)).await.unwrap();
    assert_eq!(diff.state_removed.keys().collect::<Vec<_>>(), ["fresh"]);
    assert!(diff.state_changed.contains_key("plan"));
    assert_eq!(diff.artifacts_added.len(), 1);
    assert_eq!(diff.events_between, last - after_apply);

    let by_name = client.get_artifact_by_name(&id, "notes.txt", 0).await.unwrap();
    assert_eq!(by_name.artifact_id, stored.artifact_id);
    let mut bytes = Vec::new();
    let downloaded = client.download_artifact_by_name(&id, "notes.txt", 1, &mut bytes).await.unwrap();
    assert_eq!((downloaded.artifact_id.as_str(), bytes.as_slice()), (stored.artifact_id.as_str(), &b"hello"[..]));
    let missing = client.get_artifact_by_name(&id, "notes.txt", 7).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let caps = client.get_capabilities().await.unwrap();
    assert_eq!(caps.digest_function, "blake3");
    assert_eq!(caps.chunking.unwrap().algorithm, "fastcdc-2020");
    let stats = client.get_storage_stats(&id).await.unwrap();
    assert_eq!((stats.artifact_count, stats.logical_bytes), (1, 5));

    let missing =
        client.find_missing_chunks(vec![blake3::hash(b"hello").to_hex().to_string(), "0".repeat(64)]).await.unwrap();
    assert_eq!(missing, vec!["0".repeat(64)], "the stored content's chunk is known");
}

#[tokio::test]
async fn chunks_uploaded_one_by_one_commit_into_an_artifact() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;
    let parts: Vec<Vec<u8>> = vec![vec![1u8; 1000], vec![2u8; 500]];
    let digests: Vec<String> = parts.iter().map(|p| blake3::hash(p).to_hex().to_string()).collect();
    let messages: Vec<pb::UploadChunksRequest> = parts
        .iter()
        .zip(&digests)
        .map(|(p, d)| pb::UploadChunksRequest { digest: d.clone(), data: p.clone() })
        .collect();
    let stored = client.upload_chunks(futures_util::stream::iter(messages)).await.unwrap();
    assert_eq!((stored.stored_chunks, stored.stored_bytes), (2, 1500));
    let whole: Vec<u8> = parts.concat();
    let refs =
        parts.iter().zip(&digests).map(|(p, d)| pb::ChunkRef { digest: d.clone(), size: p.len() as i64 }).collect();
    let header = pb::UploadHeader { session_id: id, name: "joined".into(), ..Default::default() };
    let artifact = client.commit_artifact(header.clone(), refs, blake3::hash(&whole).to_hex().as_str()).await.unwrap();
    assert_eq!(artifact.size, 1500);
    let unknown = vec![pb::ChunkRef { digest: "1".repeat(64), size: 10 }];
    let err = client.commit_artifact(header, unknown, &"2".repeat(64)).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (Code::FailedPrecondition, Some("MISSING_CHUNKS")));
}

#[tokio::test]
async fn the_correlation_id_reaches_the_events_a_call_appends() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;
    let tagged = client.with_correlation_id("rust-corr-42").unwrap();
    let events =
        tagged.append_events(&id, vec![NewEvent::json("agent.step", json!(null)).unwrap()], None).await.unwrap();
    assert_eq!(events[0].correlation_id, "rust-corr-42");
    let plain =
        client.append_events(&id, vec![NewEvent::json("agent.step", json!(null)).unwrap()], None).await.unwrap();
    assert_ne!(plain[0].correlation_id, "rust-corr-42");
    assert!(client.with_correlation_id("bad\nid").is_err());
}

#[tokio::test]
async fn a_rate_limited_call_exposes_its_retry_delay() {
    if skipped() {
        return;
    }
    let server = Server::start_env(&[], &[("LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION", "6")]);
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;
    let mut limited = None;
    for i in 0..30 {
        if let Err(err) = client.set_session_state(&id, StateUpdate::new().set("i", json!(i))).await {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("the per-session rate limit must trip");
    assert_eq!((err.code(), err.reason()), (Code::ResourceExhausted, Some("RATE_LIMITED")));
    let delay = err.retry_delay().expect("a RetryInfo delay");
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(10), "{delay:?}");
}

#[tokio::test]
async fn deadlines_and_cancellation_end_calls_with_their_codes() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;

    // A subscription never ends by itself: the deadline ends it.
    let started = std::time::Instant::now();
    let result: Result<Vec<_>, _> =
        client.with_timeout(Duration::from_millis(400)).subscribe_events(&id, 0, &[]).try_collect().await;
    assert_eq!(result.unwrap_err().code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Cancelling a live subscription after its history ends it with CANCELLED.
    let token = CancelToken::new();
    let mut events = Box::pin(client.with_cancel(&token).subscribe_events(&id, 0, &[]));
    assert_eq!(events.next().await.unwrap().unwrap().r#type, "session.created");
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.cancel();
    });
    assert_eq!(events.next().await.unwrap().unwrap_err().code(), Code::Cancelled);

    // A unary call on a cancelled token fails at once, before anything is sent.
    let err = client.with_cancel(&token).get_session(&id).await.unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
    assert_eq!(client.get_session(&id).await.unwrap().session_id, id);
}

#[tokio::test]
async fn a_step_replay_follows_its_controls_and_a_fast_one_stops_at_breakpoints() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;
    let news = (0..3).map(|i| NewEvent::json("agent.step", json!({"i": i})).unwrap()).collect();
    let appended = client.append_events(&id, news, None).await.unwrap();

    let start = pb::ReplayStart {
        session_id: id.clone(),
        mode: ReplayMode::Step as i32,
        types: vec!["agent.".into()],
        ..Default::default()
    };
    let mut replay = client.replay_session(start);
    let mut seen = Vec::new();
    for _ in 0..3 {
        replay.step().unwrap();
        let frame = tokio::time::timeout(Duration::from_secs(10), replay.next_frame()).await.unwrap().unwrap().unwrap();
        seen.push((frame.index, frame.total, frame.event.unwrap().seq));
    }
    // The server may end the replay with the last event; a step sent after that has nowhere to go.
    let _ = replay.step();
    let last = tokio::time::timeout(Duration::from_secs(10), replay.next_frame()).await.unwrap().unwrap().unwrap();
    assert_eq!(last.status(), ReplayStatus::Completed);
    assert!(replay.next_frame().await.unwrap().is_none(), "the replay ends after COMPLETED");
    let seqs: Vec<i64> = appended.iter().map(|e| e.seq).collect();
    assert_eq!(seen, vec![(1, 3, seqs[0]), (2, 3, seqs[1]), (3, 3, seqs[2])]);

    let start = pb::ReplayStart {
        session_id: id.clone(),
        mode: ReplayMode::Fast as i32,
        breakpoints: Some(pb::ReplayBreakpoints { seqs: vec![seqs[1]], event_types: vec![] }),
        ..Default::default()
    };
    let mut replay = client.replay_session(start);
    let mut statuses = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), replay.next_frame()).await.unwrap().unwrap() {
        statuses.push(frame.status());
        match frame.status() {
            ReplayStatus::AtBreakpoint => {
                assert_eq!(frame.event.as_ref().map(|e| e.seq), Some(seqs[1]));
                replay.stop().unwrap();
            }
            ReplayStatus::Stopped | ReplayStatus::Completed => break,
            _ => {}
        }
    }
    assert!(statuses.contains(&ReplayStatus::AtBreakpoint), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&ReplayStatus::Stopped), "{statuses:?}");
}

#[tokio::test]
async fn an_exported_session_imports_back_and_the_store_backs_up() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let id = session(&client).await;
    client.set_session_state(&id, StateUpdate::new().set("k", json!("v"))).await.unwrap();
    let mut archive = Vec::new();
    let size = client.export_sessions(vec![id.clone()], &mut archive).await.unwrap();
    assert!(size > 0 && size as usize == archive.len());

    client.delete_session(&id, None).await.unwrap();
    let imported = client.import_sessions(std::io::Cursor::new(archive.clone())).await.unwrap();
    assert_eq!(imported.imported_session_ids, vec![id.clone()]);
    assert_eq!(client.get_session_state(&id, &["k"]).await.unwrap()["k"], json!("v"));
    let again = client.import_sessions(std::io::Cursor::new(archive)).await.unwrap();
    assert_eq!(again.skipped_session_ids, vec![id]);

    let parts: Vec<pb::BackupStorePart> = client.backup_store(vec![]).try_collect().await.unwrap();
    assert!(
        parts.iter().any(|p| matches!(p.kind, Some(pb::backup_store_part::Kind::File(_)))),
        "{} parts",
        parts.len()
    );
}

#[tokio::test]
async fn a_bulk_action_previews_then_pages_then_skips_with_the_reason() {
    if skipped() {
        return;
    }
    let server = Server::start();
    let client = Client::connect(server.address.clone()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let request =
            pb::CreateSessionRequest { name: format!("bulk {i}"), tags: vec!["rs-bulk".into()], ..Default::default() };
        ids.push(client.create_session(request).await.unwrap().session_id);
    }
    let filter = Some(pb::ListSessionsRequest { tags: vec!["rs-bulk".into()], ..Default::default() });
    let bulk =
        |action: pb::BulkAction, dry_run: bool, page_size: i32, page_token: String| pb::BulkSessionActionRequest {
            filter: filter.clone(),
            action: action as i32,
            dry_run,
            page_size,
            page_token,
            ..Default::default()
        };
    let dry = client.bulk_session_action(bulk(pb::BulkAction::Delete, true, 0, String::new())).await.unwrap();
    assert_eq!((dry.changed_session_ids.clone(), dry.total_size), (ids.clone(), 3));
    assert_eq!(client.get_session(&ids[0]).await.unwrap().state, pb::SessionState::Active as i32);
    let (mut completed, mut token) = (Vec::new(), String::new());
    loop {
        let page = client.bulk_session_action(bulk(pb::BulkAction::Complete, false, 2, token)).await.unwrap();
        assert!(page.changed_session_ids.len() <= 2, "{page:?}");
        completed.extend(page.changed_session_ids);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(completed, ids);
    let again = client.bulk_session_action(bulk(pb::BulkAction::Complete, false, 0, String::new())).await.unwrap();
    let reasons: Vec<&str> = again.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons, ["INVALID_STATE_TRANSITION"; 3]);
    let err = client.bulk_session_action(bulk(pb::BulkAction::Unspecified, false, 0, String::new())).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let deleted = client.bulk_session_action(bulk(pb::BulkAction::Delete, false, 0, String::new())).await.unwrap();
    assert_eq!(deleted.changed_session_ids, ids);
}
