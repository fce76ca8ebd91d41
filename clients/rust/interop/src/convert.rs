//! Results as JSON (proto field names, enums by name, Struct/Value as plain JSON) and their comparison.

use llmspell_sessions_client::pb::{Artifact, ArtifactType, Checkpoint, Event, Session, SessionState};
use prost_types::Timestamp;
use serde_json::{json, Value as Json};

fn time(t: &Option<Timestamp>) -> Json {
    t.as_ref().map_or(Json::Null, |t| Json::String(t.to_string()))
}

fn session_state(value: i32) -> &'static str {
    SessionState::try_from(value).map_or("SESSION_STATE_UNSPECIFIED", |s| s.as_str_name())
}

fn artifact_type(value: i32) -> &'static str {
    ArtifactType::try_from(value).map_or("ARTIFACT_TYPE_UNSPECIFIED", |t| t.as_str_name())
}

/// A session as proto3 JSON with snake_case names (numbers as numbers).
pub fn session(s: &Session) -> Json {
    json!({
        "session_id": s.session_id, "name": s.name, "description": s.description, "tags": s.tags,
        "metadata": s.metadata_json(), "state": session_state(s.state),
        "parent_session_id": s.parent_session_id, "created_by": s.created_by,
        "create_time": time(&s.create_time), "update_time": time(&s.update_time),
        "end_time": time(&s.end_time), "expire_time": time(&s.expire_time),
        "artifact_count": s.artifact_count, "artifact_bytes": s.artifact_bytes,
        "last_event_seq": s.last_event_seq, "etag": s.etag, "failure_reason": s.failure_reason,
    })
}

/// An artifact as proto3 JSON with snake_case names.
pub fn artifact(a: &Artifact) -> Json {
    json!({
        "artifact_id": a.artifact_id, "session_id": a.session_id, "name": a.name, "version": a.version,
        "type": artifact_type(a.r#type), "custom_type": a.custom_type, "description": a.description,
        "tags": a.tags, "mime_type": a.mime_type, "metadata": a.metadata_json(), "size": a.size,
        "content_digest": a.content_digest, "stored_size": a.stored_size, "compressed": a.compressed,
        "chunk_count": a.chunk_count, "new_bytes": a.new_bytes, "parent_artifact_id": a.parent_artifact_id,
        "previous_digest": a.previous_digest, "create_time": time(&a.create_time), "created_by": a.created_by,
    })
}

/// A checkpoint as proto3 JSON with snake_case names.
pub fn checkpoint(c: &Checkpoint) -> Json {
    json!({
        "checkpoint_id": c.checkpoint_id, "session_id": c.session_id, "seq": c.seq, "label": c.label,
        "create_time": time(&c.create_time),
    })
}

/// A list of events as `{seqs, types}`.
pub fn events(events: &[Event]) -> Json {
    json!({
        "seqs": events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        "types": events.iter().map(|e| e.r#type.as_str()).collect::<Vec<_>>(),
    })
}

/// Whether `value` is a proto3 default: null, 0, "", false, [] or {}.
fn is_default(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(_) => number(value) == Some(0.0),
        Json::String(s) => s.is_empty(),
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
    }
}

/// Whether `actual` equals `expected`: numbers numerically (a numeric string counts as its number),
/// objects key for key, arrays item for item; a null or absent field equals a default value.
pub fn same(expected: &Json, actual: &Json) -> bool {
    if expected.is_null() || actual.is_null() {
        return is_default(expected) && is_default(actual);
    }
    match (expected, actual) {
        (Json::Number(_), _) | (_, Json::Number(_)) => match (number(expected), number(actual)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        (Json::Object(e), Json::Object(a)) => {
            let null = Json::Null;
            let keys = e.keys().chain(a.keys());
            keys.into_iter().all(|k| same(e.get(k).unwrap_or(&null), a.get(k).unwrap_or(&null)))
        }
        (Json::Array(e), Json::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(v, w)| same(v, w)),
        _ => expected == actual,
    }
}

fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically_and_objects_exactly() {
        assert!(same(&json!({"n": 1, "l": [1, "a"]}), &json!({"n": 1.0, "l": [1.0, "a"]})));
        assert!(same(&json!(5242880), &json!("5242880")));
        assert!(same(&json!({"count": 4}), &json!({"count": 4, "missing": null, "zero": 0})));
        assert!(!same(&json!({"count": 4}), &json!({"count": 4, "extra": 1})));
        assert!(same(&json!(0), &Json::Null) && same(&json!([]), &Json::Null) && !same(&json!(1), &Json::Null));
        assert!(!same(&json!("1"), &json!(true)));
    }

    #[test]
    fn enums_are_rendered_by_name() {
        let s = Session { state: SessionState::Archived as i32, ..Default::default() };
        assert_eq!(session(&s)["state"], "SESSION_STATE_ARCHIVED");
        let a = Artifact { r#type: 99, ..Default::default() };
        assert_eq!(artifact(&a)["type"], "ARTIFACT_TYPE_UNSPECIFIED");
    }
}
