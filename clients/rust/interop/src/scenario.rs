//! Runs scenarios step by step: substitution, the call, and the checks of `expect`,
//! `expect_not` and `expect_error`.

use std::collections::HashMap;

use llmspell_sessions_client::{code_name, Client};
use serde_json::{json, Map, Value as Json};

use crate::content::{self, Spec};
use crate::convert::same;
use crate::ops::{self, Args, Failure};

/// An artifact uploaded by a `"share": true` step, for other drivers to verify.
#[derive(Clone, Debug)]
pub struct Shared {
    pub artifact_id: String,
    pub content_digest: String,
    pub size: i64,
}

impl Shared {
    /// Reads `{"artifact_id", "content_digest", "size"}` (an artifact result has these too).
    pub fn from_json(value: &Json) -> Result<Shared, String> {
        let text =
            |key: &str| value[key].as_str().map(str::to_owned).ok_or_else(|| format!("shared artifact without {key}"));
        let size = value["size"].as_i64().ok_or("shared artifact without size")?;
        Ok(Shared { artifact_id: text("artifact_id")?, content_digest: text("content_digest")?, size })
    }

    /// `{"artifact_id", "content_digest", "size"}`.
    pub fn to_json(&self) -> Json {
        json!({"artifact_id": self.artifact_id, "content_digest": self.content_digest, "size": self.size})
    }
}

/// Runs scenarios against one client and collects the shared artifacts.
pub struct Runner {
    client: Client,
    lang: String,
    pub shared: Vec<Shared>,
}

/// What one scenario remembers between its steps.
#[derive(Default)]
struct Scope {
    /// Results by their `save` name.
    saved: HashMap<String, Json>,
    /// The content uploaded by the step saved under each name.
    contents: HashMap<String, Spec>,
    /// `$content_digest` and `$range_digest` of the current step.
    digests: HashMap<&'static str, String>,
}

impl Runner {
    pub fn new(client: Client, lang: String) -> Self {
        Runner { client, lang, shared: Vec::new() }
    }

    /// Runs every step of `scenario` in order, stopping at the first failure.
    pub async fn run_scenario(&mut self, scenario: &Json) -> Result<(), String> {
        let mut scope = Scope::default();
        let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
        for (index, step) in steps.iter().enumerate() {
            let op = step["op"].as_str().unwrap_or("?");
            self.run_step(step, &mut scope).await.map_err(|why| format!("step {} ({op}): {why}", index + 1))?;
        }
        Ok(())
    }

    async fn run_step(&mut self, step: &Json, scope: &mut Scope) -> Result<(), String> {
        let op = step["op"].as_str().ok_or("no op")?;
        scope.digests.clear();
        let raw_args = step["args"].as_object().cloned().unwrap_or_default();
        let mut args = self.substitute_map(&raw_args, scope)?;
        let spec = args.remove("content").map(|c| Spec::parse(&c)).transpose()?;
        let content = spec.map(|s| s.generate());
        if let Some(bytes) = &content {
            scope.digests.insert("content_digest", content::digest(bytes));
        }
        if let Some(digest) = range_digest(&raw_args, &args, scope)? {
            scope.digests.insert("range_digest", digest);
        }
        let outcome = ops::run(&self.client, op, Args(&args), content).await;
        let result = match (outcome, step.get("expect_error")) {
            (Err(Failure::Step(why)), _) => return Err(why),
            (Err(Failure::Call(error)), Some(expected)) => return check_error(&error, expected),
            (Ok(_), Some(expected)) => return Err(format!("expected error {expected}, the call succeeded")),
            (Err(Failure::Call(error)), None) => return Err(error.to_string()),
            (Ok(result), None) => result,
        };
        self.check(step, &result, scope)?;
        if let Some(name) = step["save"].as_str() {
            scope.saved.insert(name.into(), result.clone());
            spec.map(|s| scope.contents.insert(name.into(), s));
        }
        if step["share"] == true {
            self.shared.push(Shared::from_json(&result)?);
        }
        Ok(())
    }

    fn check(&self, step: &Json, result: &Json, scope: &Scope) -> Result<(), String> {
        let empty = Map::new();
        for (key, expected) in step["expect"].as_object().unwrap_or(&empty) {
            let expected = self.substitute(expected, scope)?;
            if !same(&expected, &result[key]) {
                return Err(format!("{key}: expected {expected}, got {}", result[key]));
            }
        }
        for (key, unwanted) in step["expect_not"].as_object().unwrap_or(&empty) {
            let unwanted = self.substitute(unwanted, scope)?;
            if same(&unwanted, &result[key]) {
                return Err(format!("{key}: expected anything but {unwanted}"));
            }
        }
        Ok(())
    }

    fn substitute_map(&self, map: &Map<String, Json>, scope: &Scope) -> Result<Map<String, Json>, String> {
        map.iter().map(|(k, v)| Ok((k.clone(), self.substitute(v, scope)?))).collect()
    }

    /// Replaces `$lang`, `$name.field`, `$content_digest` and `$range_digest` in every string of `value`.
    /// A string that is a single `$name.field` reference takes the field's JSON value as it is.
    fn substitute(&self, value: &Json, scope: &Scope) -> Result<Json, String> {
        Ok(match value {
            Json::String(s) => {
                match whole_reference(s).and_then(|(name, field)| scope.saved.get(name).map(|r| &r[field])) {
                    Some(found) => found.clone(),
                    None => Json::String(self.interpolate(s, scope)?),
                }
            }
            Json::Array(items) => {
                Json::Array(items.iter().map(|v| self.substitute(v, scope)).collect::<Result<_, _>>()?)
            }
            Json::Object(map) => Json::Object(self.substitute_map(map, scope)?),
            other => other.clone(),
        })
    }

    fn interpolate(&self, s: &str, scope: &Scope) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find('$') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let name_len = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
            let name = &after[..name_len];
            let mut consumed = name_len;
            let text = match name {
                "lang" => self.lang.clone(),
                "content_digest" | "range_digest" => {
                    scope.digests.get(name).cloned().ok_or_else(|| format!("${name} is not known in this step"))?
                }
                _ => {
                    let field_part =
                        after[name_len..].strip_prefix('.').ok_or_else(|| format!("bad reference in {s:?}"))?;
                    let field_len = field_part.find(|c: char| !is_ident(c)).unwrap_or(field_part.len());
                    consumed += 1 + field_len;
                    let saved = scope.saved.get(name).ok_or_else(|| format!("${name} was not saved"))?;
                    match &saved[&field_part[..field_len]] {
                        Json::String(v) => v.clone(),
                        Json::Null => return Err(format!("${name}.{} is not set", &field_part[..field_len])),
                        other => other.to_string(),
                    }
                }
            };
            out.push_str(&text);
            rest = &after[consumed..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `("a", "artifact_id")` for the string `"$a.artifact_id"`.
fn whole_reference(s: &str) -> Option<(&str, &str)> {
    let (name, field) = s.strip_prefix('$')?.split_once('.')?;
    (name.chars().all(is_ident) && field.chars().all(is_ident) && !name.is_empty()).then_some((name, field))
}

/// The digest of `content[offset:offset+limit]` of the content uploaded by the step whose saved
/// result the raw `artifact_id` refers to, when it refers to one.
fn range_digest(raw: &Map<String, Json>, args: &Map<String, Json>, scope: &Scope) -> Result<Option<String>, String> {
    let Some((name, _)) = raw.get("artifact_id").and_then(Json::as_str).and_then(whole_reference) else {
        return Ok(None);
    };
    let Some(spec) = scope.contents.get(name) else { return Ok(None) };
    let content = spec.generate();
    let offset = args.get("offset").and_then(Json::as_u64).unwrap_or(0) as usize;
    let limit = args.get("limit").and_then(Json::as_u64).unwrap_or(0) as usize;
    let start = offset.min(content.len());
    let end = if limit == 0 { content.len() } else { (start + limit).min(content.len()) };
    Ok(Some(content::digest(&content[start..end])))
}

fn check_error(error: &llmspell_sessions_client::Error, expected: &Json) -> Result<(), String> {
    let code = code_name(error.code());
    let want_code = expected["code"].as_str().unwrap_or_default();
    let want_reason = expected["reason"].as_str();
    if code != want_code || (want_reason.is_some() && error.reason() != want_reason) {
        let (want, got) = (want_reason.unwrap_or("*"), error.reason().unwrap_or("-"));
        return Err(format!("expected {want_code}/{want}, got {code}/{got}: {}", error.message()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_references_are_recognised() {
        assert_eq!(whole_reference("$a.artifact_id"), Some(("a", "artifact_id")));
        assert_eq!(whole_reference("x-$a.b"), None);
        assert_eq!(whole_reference("$lang"), None);
    }
}
