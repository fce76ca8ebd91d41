//! The ops added by version 2 of the scenarios: apply/read, snapshots, grants, upload status,
//! sleep, the chunked dedup upload and controlled replay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_sessions_client::pb::{self, ReplayMode, ReplayStatus, SessionAccess};
use llmspell_sessions_client::{json as pbjson, Client, HistoryPoint};
use serde_json::{json, Map, Value as Json};

use crate::ops::{new_events, upload_header, Args, Failure};
use crate::reflect::{from_json, to_json};
use crate::transfer;

/// Runs a version 2 op.
pub async fn run(client: &Client, op: &str, args: Args<'_>, content: Option<Arc<Vec<u8>>>) -> Result<Json, Failure> {
    let id = args.str("session_id");
    Ok(match op {
        "apply_changes" => apply_changes(client, &args).await?,
        "read_session" => read_session(client, &args).await?,
        "get_snapshot" => {
            let snapshot = client.get_snapshot(id, point(&args, "at_seq")?).await?;
            let mut result = to_json(&snapshot, "GetSnapshotResponse");
            result["artifact_names"] = sorted_names(&snapshot.artifacts);
            result
        }
        "compare_snapshots" => {
            let (from, to) = (snapshot_ref(&args.object("from"))?, snapshot_ref(&args.object("to"))?);
            let diff = client.compare_snapshots(id, from, to).await?;
            let mut result = to_json(&diff, "CompareSnapshotsResponse");
            result["added_names"] = sorted_names(&diff.artifacts_added);
            result["removed_names"] = sorted_names(&diff.artifacts_removed);
            result
        }
        "grant_session_access" => {
            let name = args.str("access");
            let access = SessionAccess::from_str_name(name).ok_or_else(|| format!("unknown access {name:?}"))?;
            to_json(&client.grant_session_access(id, args.str("subject"), access).await?, "Session")
        }
        "revoke_session_access" => to_json(&client.revoke_session_access(id, args.str("subject")).await?, "Session"),
        "bulk_session_action" => {
            let request: pb::BulkSessionActionRequest = from_json(args.0, "BulkSessionActionRequest")?;
            to_json(&client.bulk_session_action(request).await?, "BulkSessionActionResponse")
        }
        "query_upload_status" => transfer::status_json(&client.query_upload_status(args.str("upload_id")).await?),
        "sleep" => {
            tokio::time::sleep(Duration::from_millis(args.int("ms")?.unwrap_or(0).max(0) as u64)).await;
            json!({})
        }
        "upload_chunked" => {
            let content = content.ok_or_else(|| "upload_chunked needs content".to_string())?;
            transfer::upload_chunked(client, upload_header(&args)?, content).await?
        }
        "replay_session" => replay(client, &args).await?,
        other => return Err(Failure::Step(format!("unknown op {other:?}"))),
    })
}

fn values(map: Map<String, Json>) -> HashMap<String, prost_types::Value> {
    pbjson::map_to_fields(&map)
}

fn seqs_and_types(result: &mut Json, events: &[pb::Event]) {
    result["seqs"] = json!(events.iter().map(|e| e.seq).collect::<Vec<_>>());
    result["types"] = json!(events.iter().map(|e| e.r#type.as_str()).collect::<Vec<_>>());
}

fn sorted_names(artifacts: &[pb::Artifact]) -> Json {
    let mut names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    json!(names)
}

async fn apply_changes(client: &Client, args: &Args<'_>) -> Result<Json, Failure> {
    let request = pb::ApplyChangesRequest {
        session_id: args.str("session_id").into(),
        entries: values(args.object("entries")),
        delete_keys: args.strings("delete_keys"),
        create_entries: values(args.object("create_entries")),
        events: new_events(args)?,
        expected_last_seq: args.int("expected_last_seq")?,
        etag: args.str("etag").into(),
        request_id: args.str("request_id").into(),
    };
    let response = client.apply_changes(request).await?;
    let mut result = to_json(&response, "ApplyChangesResponse");
    seqs_and_types(&mut result, &response.events);
    Ok(result)
}

async fn read_session(client: &Client, args: &Args<'_>) -> Result<Json, Failure> {
    let request = pb::ReadSessionRequest {
        session_id: args.str("session_id").into(),
        state_keys: args.strings("state_keys"),
        state_prefix: args.str("state_prefix").into(),
        reverse: args.0.get("reverse").and_then(Json::as_bool).unwrap_or(false),
        start_after: args.str("start_after").into(),
        page_size: args.int("page_size")?.unwrap_or(0) as i32,
        page_token: args.str("page_token").into(),
        last_events: args.int("last_events")?.unwrap_or(0) as i32,
        event_types: args.strings("event_types"),
        artifact_names: args.strings("artifact_names"),
        related_session_ids: args.strings("related_session_ids"),
    };
    let response = client.read_session(request).await?;
    let mut result = to_json(&response, "ReadSessionResponse");
    result["keys"] = json!(response.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>());
    seqs_and_types(&mut result, &response.events);
    result["artifact_names"] = json!(response.artifacts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>());
    Ok(result)
}

/// `at_seq` (or the given seq key) or `checkpoint_id` of the args.
fn point(args: &Args<'_>, seq_key: &str) -> Result<HistoryPoint, String> {
    match (args.opt_str("checkpoint_id"), args.int(seq_key)?) {
        (Some(checkpoint), _) => Ok(HistoryPoint::Checkpoint(checkpoint.into())),
        (None, Some(seq)) => Ok(HistoryPoint::Seq(seq)),
        (None, None) => Err(format!("needs {seq_key} or checkpoint_id")),
    }
}

fn snapshot_ref(map: &Map<String, Json>) -> Result<HistoryPoint, String> {
    point(&Args(map), "seq")
}

/// `replay_session`: starts the replay, sends the control schedule as frames arrive, and reports
/// every frame until the final one.
async fn replay(client: &Client, args: &Args<'_>) -> Result<Json, Failure> {
    let start = replay_start(args)?;
    let schedule = args.0.get("controls").and_then(Json::as_array).cloned().unwrap_or_default();
    let mut replay = client.replay_session(start);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut frames, mut next) = (Vec::<pb::ReplayFrame>::new(), 0);
    loop {
        while let Some(entry) = schedule.get(next) {
            if (frames.len() as u64) < entry["after_frame"].as_u64().unwrap_or(0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(entry["delay_ms"].as_u64().unwrap_or(0))).await;
            for control in entry["send"].as_array().cloned().unwrap_or_default() {
                send_control(&replay, &control)?;
            }
            next += 1;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let frame = match tokio::time::timeout(remaining, replay.next_frame()).await {
            Err(_) => {
                return Err(Failure::Step(format!("replay: no final frame after 30 s ({} frames)", frames.len())))
            }
            Ok(frame) => frame?,
        };
        let Some(frame) = frame else { break };
        let last = matches!(frame.status(), ReplayStatus::Completed | ReplayStatus::Stopped);
        frames.push(frame);
        if last {
            break;
        }
    }
    Ok(json!({
        "seqs": frames.iter().map(|f| f.event.as_ref().map_or(0, |e| e.seq)).collect::<Vec<_>>(),
        "statuses": frames.iter().map(|f| f.status().as_str_name()).collect::<Vec<_>>(),
        "indexes": frames.iter().map(|f| f.index).collect::<Vec<_>>(),
        "total": frames.last().map_or(0, |f| f.total),
        "changed_keys": frames.iter().map(|f| f.changed_keys.clone()).collect::<Vec<_>>(),
    }))
}

fn replay_start(args: &Args<'_>) -> Result<pb::ReplayStart, String> {
    let from = match (args.opt_str("checkpoint_id"), args.int("from_seq")?) {
        (Some(checkpoint), _) => Some(pb::replay_start::From::CheckpointId(checkpoint.into())),
        (None, Some(seq)) => Some(pb::replay_start::From::FromSeq(seq)),
        (None, None) => None,
    };
    let mode = match args.opt_str("mode") {
        None => ReplayMode::Unspecified,
        Some(name) => ReplayMode::from_str_name(name).ok_or_else(|| format!("unknown replay mode {name}"))?,
    };
    let breakpoints = args.0.get("breakpoints").and_then(Json::as_object).map(|b| {
        let b = Args(b);
        let seqs = b.strings("seqs").iter().filter_map(|s| s.parse().ok()).collect();
        pb::ReplayBreakpoints { seqs, event_types: b.strings("event_types") }
    });
    Ok(pb::ReplayStart {
        session_id: args.str("session_id").into(),
        from,
        to_seq: args.int("to_seq")?.unwrap_or(0),
        mode: mode as i32,
        speed: args.0.get("speed").and_then(Json::as_f64).unwrap_or(0.0),
        breakpoints,
        types: args.strings("types"),
    })
}

fn send_control(replay: &llmspell_sessions_client::Replay, control: &Json) -> Result<(), Failure> {
    let sent = match control {
        Json::String(name) => match name.as_str() {
            "pause" => replay.pause(),
            "resume" => replay.resume(),
            "step" => replay.step(),
            "stop" => replay.stop(),
            other => return Err(Failure::Step(format!("unknown control {other:?}"))),
        },
        Json::Object(map) if map.contains_key("set_speed") => {
            replay.set_speed(map["set_speed"].as_f64().unwrap_or(1.0))
        }
        Json::Object(map) if map.contains_key("add_breakpoint") => {
            let point = &map["add_breakpoint"];
            match point["event_type"].as_str() {
                Some(event_type) => replay.add_breakpoint_on_type(event_type),
                None => {
                    let seq = match &point["seq"] {
                        Json::String(s) => s.parse().unwrap_or(0),
                        other => other.as_i64().unwrap_or(0),
                    };
                    replay.add_breakpoint_at_seq(seq)
                }
            }
        }
        other => return Err(Failure::Step(format!("unknown control {other}"))),
    };
    sent.map_err(Failure::Call)
}
