//! JSON accessors on the generated messages that carry a `google.protobuf.Struct`.

use serde_json::{Map, Value as Json};

use crate::json::from_struct;
use crate::pb::{Artifact, Event, Session};

fn struct_json(s: &Option<prost_types::Struct>) -> Map<String, Json> {
    s.as_ref().map(from_struct).unwrap_or_default()
}

impl Session {
    /// The session's metadata as a JSON map (empty when unset).
    pub fn metadata_json(&self) -> Map<String, Json> {
        struct_json(&self.metadata)
    }
}

impl Artifact {
    /// The artifact's metadata as a JSON map (empty when unset).
    pub fn metadata_json(&self) -> Map<String, Json> {
        struct_json(&self.metadata)
    }
}

impl Event {
    /// The event's payload as a JSON map (empty when unset).
    pub fn payload_json(&self) -> Map<String, Json> {
        struct_json(&self.payload)
    }
}
