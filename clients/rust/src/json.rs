//! Conversions between `serde_json` values and the protobuf `Struct`/`Value` well-known types.
//!
//! Protobuf numbers are doubles: integers beyond ±2^53 lose precision, and numbers that are whole
//! come back as JSON integers (`4`, not `4.0`). NaN and infinities, which JSON cannot hold, come back
//! as `null`.

use prost_types::value::Kind;
use serde_json::{Map, Number, Value as Json};

use crate::Error;

/// The largest integer a double holds exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Converts a JSON value to a protobuf `Value`.
pub fn to_value(json: &Json) -> prost_types::Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(prost_types::ListValue { values: items.iter().map(to_value).collect() }),
        Json::Object(map) => Kind::StructValue(map_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// Converts a protobuf `Value` to JSON; an unset value is `null`.
pub fn from_value(value: &prost_types::Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => Json::Object(from_struct(s)),
    }
}

/// Converts a JSON object to a protobuf `Struct`; any other JSON value is an [`Error::InvalidArgument`].
pub fn to_struct(json: &Json) -> Result<prost_types::Struct, Error> {
    match json {
        Json::Object(map) => Ok(map_to_struct(map)),
        other => Err(Error::InvalidArgument(format!("expected a JSON object, got {other}"))),
    }
}

/// Converts a JSON map to a protobuf `Struct`.
pub fn map_to_struct(map: &Map<String, Json>) -> prost_types::Struct {
    prost_types::Struct { fields: map_to_fields(map) }
}

/// Converts a protobuf `Struct` to a JSON map.
pub fn from_struct(s: &prost_types::Struct) -> Map<String, Json> {
    fields_to_map(&s.fields)
}

/// Converts a JSON map to a `map<string, google.protobuf.Value>` field (state entries).
pub fn map_to_fields<M: FromIterator<(String, prost_types::Value)>>(map: &Map<String, Json>) -> M {
    map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()
}

/// Converts a `map<string, google.protobuf.Value>` field (state entries, a `Struct`'s fields) to a JSON map.
pub fn fields_to_map<'a>(fields: impl IntoIterator<Item = (&'a String, &'a prost_types::Value)>) -> Map<String, Json> {
    fields.into_iter().map(|(k, v)| (k.clone(), from_value(v))).collect()
}

fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() <= MAX_EXACT {
        return Json::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Json::Null, Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn nested_json_survives_a_round_trip() {
        let original = json!({
            "plan": {"steps": ["search", "summarise"], "done": false, "cost": 0.25},
            "count": 3, "nothing": null, "text": "héllo ✓", "neg": -7, "empty": {}, "list": []
        });
        let s = to_struct(&original).unwrap();
        assert_eq!(Json::Object(from_struct(&s)), original);
    }

    #[test]
    fn whole_numbers_come_back_as_integers() {
        assert_eq!(from_value(&to_value(&json!(4))), json!(4));
        assert_eq!(from_value(&to_value(&json!(4.0))).to_string(), "4");
        assert_eq!(from_value(&to_value(&json!(0.5))), json!(0.5));
    }

    #[test]
    fn numbers_beyond_two_to_the_53_stay_floats() {
        let big = 2f64.powi(60);
        assert_eq!(from_value(&to_value(&json!(big))), json!(big));
    }

    #[test]
    fn non_finite_numbers_and_unset_values_become_null() {
        let nan = prost_types::Value { kind: Some(Kind::NumberValue(f64::NAN)) };
        assert_eq!(from_value(&nan), Json::Null);
        assert_eq!(from_value(&prost_types::Value { kind: None }), Json::Null);
    }

    #[test]
    fn to_struct_rejects_non_objects() {
        let err = to_struct(&json!([1, 2])).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn state_maps_convert_both_ways() {
        let map = json!({"a": 1, "b": [true, null]}).as_object().unwrap().clone();
        let fields: HashMap<String, prost_types::Value> = map_to_fields(&map);
        assert_eq!(fields_to_map(&fields), map);
    }
}
