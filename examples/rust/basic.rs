//! Sessions end to end: create, state, events, checkpoint, fork, lifecycle, errors.
//!
//! Run: `LLMSPELL_SESSION_ADDRESS=127.0.0.1:50051 cargo run --example basic`
//! (from clients/rust). Exits non-zero on any failure.

use futures_util::TryStreamExt;
use llmspell_sessions_client::pb::{self, NewEvent};
use llmspell_sessions_client::{json, Client, Code, Error, HistoryPoint, StateUpdate};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let client = Client::from_env().await?;

    let session = client
        .create_session(pb::CreateSessionRequest {
            name: "rust-example".into(),
            tags: vec!["example".into()],
            metadata: Some(json::to_struct(&json!({"agent": "researcher"}))?),
            ..Default::default()
        })
        .await?;
    let id = session.session_id.as_str();
    println!("created {id} ({:?})", session.state());

    client
        .set_session_state(
            id,
            StateUpdate::new().set("plan", json!({"steps": ["search", "summarise"]})),
        )
        .await?;
    println!(
        "state: {}",
        serde_json::Value::Object(client.get_session_state(id, &[]).await?)
    );

    let events = vec![NewEvent::json("agent.step", json!({"tool": "search"}))?];
    let appended = client.append_events(id, events, None).await?;
    println!("appended seq {}", appended[0].seq);

    // A subscription replays history after the given seq, then delivers live events as they come.
    let mut live = Box::pin(client.subscribe_events(id, appended[0].seq, &["agent."]));
    let next = tokio::spawn(async move { live.try_next().await });
    client
        .append_events(id, vec![NewEvent::json("agent.done", json!({}))?], None)
        .await?;
    let done = next.await.map_err(|e| Error::Protocol(e.to_string()))??;
    println!(
        "subscription delivered {:?}",
        done.map(|e| (e.seq, e.r#type))
    );

    let checkpoint = client.create_checkpoint(id, "after-search").await?;
    client
        .set_session_state(id, StateUpdate::new().set("plan", json!({"steps": []})))
        .await?;
    let fork = client
        .fork_session(
            id,
            HistoryPoint::Checkpoint(checkpoint.checkpoint_id),
            "rust-example-fork",
        )
        .await?;
    println!("forked {} from seq {}", fork.session_id, checkpoint.seq);

    let request = pb::ListEventsRequest {
        session_id: id.into(),
        ..Default::default()
    };
    let types: Vec<String> = client
        .list_all_events(request)
        .map_ok(|e| e.r#type)
        .try_collect()
        .await?;
    println!("events: {}", types.join(", "));

    client.suspend_session(id, None).await?;
    match client.archive_session(id, None).await {
        Err(err) if err.code() == Code::FailedPrecondition => {
            println!("archive refused: {:?}", err.reason())
        }
        other => panic!("archiving a suspended session must fail, got {other:?}"),
    }
    client.complete_session(id, None).await?;
    let archived = client.archive_session(id, None).await?;
    println!("{id} is {:?}", archived.state());

    let request = pb::ListSessionsRequest {
        tags: vec!["example".into()],
        ..Default::default()
    };
    let listed: Vec<pb::Session> = client.list_all_sessions(request).try_collect().await?;
    println!("{} active example session(s)", listed.len());
    // Examples leave nothing behind.
    client.delete_session(&fork.session_id, None).await?;
    client.delete_session(id, None).await?;
    Ok(())
}
