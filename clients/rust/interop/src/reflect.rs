//! Any generated message as proto3 JSON (proto field names, enums by name, defaults included),
//! through a descriptor pool compiled from the crate's protos.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::Value as Json;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
        let files = ["session.proto", "artifact.proto", "replay.proto"].map(|f| format!("llmspell/sessions/v1/{f}"));
        let mut compiler = protox::Compiler::new([root]).expect("the proto directory");
        compiler.include_imports(true);
        compiler.open_files(files).expect("the protos compile");
        compiler.descriptor_pool()
    })
}

/// `message` (of type `llmspell.sessions.v1.<name>`) as proto3 JSON.
pub fn to_json<M: prost::Message>(message: &M, name: &str) -> Json {
    let full = format!("llmspell.sessions.v1.{name}");
    let descriptor = pool().get_message_by_name(&full).unwrap_or_else(|| panic!("no message {full}"));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).expect("a valid message");
    let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
    dynamic.serialize_with_options(serde_json::value::Serializer, &options).expect("JSON")
}

/// A message of type `llmspell.sessions.v1.<name>` from proto3 JSON (proto or JSON field names,
/// enums by name).
pub fn from_json<M: prost::Message + Default>(value: &serde_json::Map<String, Json>, name: &str) -> Result<M, String> {
    use prost::Message as _;
    let full = format!("llmspell.sessions.v1.{name}");
    let descriptor = pool().get_message_by_name(&full).ok_or_else(|| format!("no message {full}"))?;
    let dynamic = DynamicMessage::deserialize(descriptor, Json::Object(value.clone()))
        .map_err(|e| format!("{name} from JSON: {e}"))?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_sessions_client::pb;

    #[test]
    fn messages_render_with_proto_names_enum_names_and_defaults() {
        let mut session = pb::Session { session_id: "s".into(), last_event_seq: 7, ..Default::default() };
        session.grants.insert("carol".into(), pb::SessionAccess::Read as i32);
        let json = to_json(&session, "Session");
        assert_eq!(json["session_id"], "s");
        assert_eq!(json["last_event_seq"], "7");
        assert_eq!(json["grants"]["carol"], "SESSION_ACCESS_READ");
        assert_eq!(json["state"], "SESSION_STATE_UNSPECIFIED");
        assert_eq!(json["tags"], serde_json::json!([]));
    }
}
