//! The scenario operations: JSON args → one client call → JSON result.

use futures_util::TryStreamExt;
use llmspell_sessions_client::pb::{self, ArtifactType, NewEvent};
use llmspell_sessions_client::{json as pbjson, Client, Error, HistoryPoint, StateUpdate};
use serde_json::{json, Map, Value as Json};

use std::sync::Arc;

use crate::convert;
use crate::transfer;

/// Why a step could not be run or did not get the result it wanted.
pub enum Failure {
    /// The call failed.
    Call(Error),
    /// The step itself is malformed.
    Step(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Call(error)
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Failure::Step(why)
    }
}

/// The request arguments of one step, after substitution.
pub struct Args<'a>(pub &'a Map<String, Json>);

impl Args<'_> {
    pub fn str(&self, key: &str) -> &str {
        self.0.get(key).and_then(Json::as_str).unwrap_or_default()
    }

    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Json::as_str).filter(|s| !s.is_empty())
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        match self.0.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) => n.as_i64().map(Some).ok_or_else(|| format!("{key}: not an integer")),
            Some(Json::String(s)) => s.parse().map(Some).map_err(|_| format!("{key}: not an integer")),
            Some(other) => Err(format!("{key}: not an integer: {other}")),
        }
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        let items = self.0.get(key).and_then(Json::as_array).cloned().unwrap_or_default();
        items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
    }

    pub fn object(&self, key: &str) -> Map<String, Json> {
        self.0.get(key).and_then(Json::as_object).cloned().unwrap_or_default()
    }

    fn metadata(&self) -> Option<prost_types::Struct> {
        self.0.get("metadata").and_then(Json::as_object).map(pbjson::map_to_struct)
    }
}

/// Runs `op` with `args`; `content` is the generated content of an upload.
pub async fn run(client: &Client, op: &str, args: Args<'_>, content: Option<Arc<Vec<u8>>>) -> Result<Json, Failure> {
    let id = args.str("session_id");
    let etag = args.opt_str("etag");
    Ok(match op {
        "create_session" => convert::session(&client.create_session(create_request(&args)).await?),
        "get_session" => convert::session(&client.get_session(id).await?),
        "update_session" => update_session(client, &args).await?,
        "suspend_session" => convert::session(&client.suspend_session(id, etag).await?),
        "resume_session" => convert::session(&client.resume_session(id, etag).await?),
        "complete_session" => convert::session(&client.complete_session(id, etag).await?),
        "fail_session" => convert::session(&client.fail_session(id, args.str("reason"), etag).await?),
        "archive_session" => convert::session(&client.archive_session(id, etag).await?),
        "set_session_state" => {
            let update = StateUpdate {
                entries: args.object("entries"),
                delete_keys: args.strings("delete_keys"),
                etag: etag.unwrap_or_default().into(),
            };
            convert::session(&client.set_session_state(id, update).await?)
        }
        "get_session_state" => {
            let keys = args.strings("keys");
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            json!({"entries": client.get_session_state(id, &keys).await?})
        }
        "upload_artifact" => {
            let content = content.ok_or_else(|| "upload_artifact needs content".to_string())?;
            transfer::upload(client, upload_header(&args)?, &args, content).await?
        }
        "download_artifact" => transfer::download(client, &args).await?,
        "append_events" => {
            let events = new_events(&args)?;
            convert::events(&client.append_events(id, events, args.int("expected_last_seq")?).await?)
        }
        "list_events" => {
            let request = pb::ListEventsRequest {
                session_id: id.into(),
                after_seq: args.int("after_seq")?.unwrap_or(0),
                types: args.strings("types"),
                page_size: args.int("page_size")?.unwrap_or(0) as i32,
                page_token: args.str("page_token").into(),
            };
            let events: Vec<pb::Event> = client.list_all_events(request).try_collect().await?;
            convert::events(&events)
        }
        "create_checkpoint" => convert::checkpoint(&client.create_checkpoint(id, args.str("label")).await?),
        "fork_session" => {
            let at = match (args.opt_str("checkpoint_id"), args.int("at_seq")?) {
                (Some(checkpoint), _) => HistoryPoint::Checkpoint(checkpoint.into()),
                (None, Some(seq)) => HistoryPoint::Seq(seq),
                (None, None) => return Err(Failure::Step("fork_session needs at_seq or checkpoint_id".into())),
            };
            convert::session(&client.fork_session(id, at, args.str("name")).await?)
        }
        other => return crate::ops_v2::run(client, other, args, content).await,
    })
}

fn create_request(args: &Args<'_>) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        name: args.str("name").into(),
        description: args.str("description").into(),
        tags: args.strings("tags"),
        metadata: args.metadata(),
        parent_session_id: args.str("parent_session_id").into(),
        request_id: args.str("request_id").into(),
    }
}

/// Every updatable field named in the args goes into the session and the update mask.
async fn update_session(client: &Client, args: &Args<'_>) -> Result<Json, Failure> {
    let paths: Vec<&str> =
        ["name", "description", "tags", "metadata"].into_iter().filter(|p| args.0.contains_key(*p)).collect();
    let session = pb::Session {
        session_id: args.str("session_id").into(),
        name: args.str("name").into(),
        description: args.str("description").into(),
        tags: args.strings("tags"),
        metadata: args.metadata(),
        etag: args.str("etag").into(),
        ..Default::default()
    };
    Ok(convert::session(&client.update_session(session, &paths).await?))
}

pub fn upload_header(args: &Args<'_>) -> Result<pb::UploadHeader, String> {
    let r#type = match args.opt_str("type") {
        None => ArtifactType::Unspecified,
        Some(name) => ArtifactType::from_str_name(name).ok_or_else(|| format!("unknown artifact type {name}"))?,
    };
    Ok(pb::UploadHeader {
        session_id: args.str("session_id").into(),
        name: args.str("name").into(),
        r#type: r#type as i32,
        custom_type: args.str("custom_type").into(),
        description: args.str("description").into(),
        tags: args.strings("tags"),
        mime_type: args.str("mime_type").into(),
        metadata: args.metadata(),
        parent_artifact_id: args.str("parent_artifact_id").into(),
        expected_size: args.int("expected_size")?.unwrap_or(0),
        expected_digest: args.str("expected_digest").into(),
        upload_id: args.str("upload_id").into(),
        write_offset: args.int("write_offset")?.unwrap_or(0),
        request_id: args.str("request_id").into(),
    })
}

pub fn new_events(args: &Args<'_>) -> Result<Vec<NewEvent>, Failure> {
    let events = args.0.get("events").and_then(Json::as_array).cloned().unwrap_or_default();
    events
        .iter()
        .map(|e| {
            let mut event = NewEvent::json(e["type"].as_str().unwrap_or_default(), e["payload"].clone())?;
            event.correlation_id = e["correlation_id"].as_str().unwrap_or_default().into();
            event.causation_id = e["causation_id"].as_str().unwrap_or_default().into();
            Ok(event)
        })
        .collect()
}
