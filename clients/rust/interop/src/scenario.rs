//! Runs scenarios step by step: server and token choice, substitution, the call (repeated when
//! asked), and the checks of `expect`, `expect_not`, `expect_at_least`, `expect_at_most` and
//! `expect_error`.

use std::collections::HashMap;
use std::sync::Arc;

use llmspell_sessions_client::{code_name, Client, Error};
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
        let size = match &value["size"] {
            Json::String(s) => s.parse().ok(),
            other => other.as_i64(),
        };
        let size = size.ok_or("shared artifact without size")?;
        Ok(Shared { artifact_id: text("artifact_id")?, content_digest: text("content_digest")?, size })
    }

    /// `{"artifact_id", "content_digest", "size"}`.
    pub fn to_json(&self) -> Json {
        json!({"artifact_id": self.artifact_id, "content_digest": self.content_digest, "size": self.size})
    }
}

/// How a scenario ended.
pub enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs scenarios against the main server (and the auth server when given), collecting the shared artifacts.
pub struct Runner {
    main: Client,
    auth: Option<Client>,
    tokens: Map<String, Json>,
    lang: String,
    pub shared: Vec<Shared>,
}

/// What one scenario remembers between its steps.
struct Scope {
    /// Results by their `save` name.
    saved: HashMap<String, Json>,
    /// The generated content of every artifact uploaded in this scenario, by artifact id.
    contents: HashMap<String, Arc<Vec<u8>>>,
    /// `$content_digest`: the content of the last upload step.
    content_digest: Option<String>,
    /// `$range_digest` of the current download step.
    range_digest: Option<String>,
    /// `$uid` and `$random`, drawn once per scenario run.
    uid: String,
    random: u32,
}

impl Scope {
    fn new() -> Self {
        let seed = blake3::hash(format!("{:?}{}", std::time::SystemTime::now(), std::process::id()).as_bytes());
        let bytes = seed.as_bytes();
        let random = u32::from_le_bytes(bytes[8..12].try_into().unwrap()).max(1);
        Scope {
            saved: HashMap::new(),
            contents: HashMap::new(),
            content_digest: None,
            range_digest: None,
            uid: seed.to_hex()[..16].to_owned(),
            random,
        }
    }
}

impl Runner {
    pub fn new(main: Client, auth: Option<Client>, tokens: Map<String, Json>, lang: String) -> Self {
        Runner { main, auth, tokens, lang, shared: Vec::new() }
    }

    /// Runs every step of `scenario` in order, stopping at the first failure.
    pub async fn run_scenario(&mut self, scenario: &Json) -> Outcome {
        let server = match scenario["server"].as_str() {
            Some("auth") => match &self.auth {
                Some(auth) => auth.clone(),
                None => return Outcome::Skipped("no --target-auth".into()),
            },
            _ => self.main.clone(),
        };
        let mut scope = Scope::new();
        let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
        for (index, step) in steps.iter().enumerate() {
            let op = step["op"].as_str().unwrap_or("?");
            let token = step.get("token").or(scenario.get("token"));
            let outcome = match self.client_for(&server, token) {
                Ok(client) => self.run_step(&client, step, &mut scope).await,
                Err(why) => Err(why),
            };
            if let Err(why) = outcome {
                return Outcome::Failed(format!("step {} ({op}): {why}", index + 1));
            }
        }
        Outcome::Passed
    }

    /// The server's client with the named token (none for `""` or no name).
    fn client_for(&self, server: &Client, token: Option<&Json>) -> Result<Client, String> {
        let name = token.and_then(Json::as_str).unwrap_or_default();
        if name.is_empty() {
            return Ok(server.clone());
        }
        let entry = self.tokens.get(name).ok_or_else(|| format!("unknown token {name:?}"))?;
        let token = entry["token"].as_str().ok_or_else(|| format!("token {name:?} has no token string"))?;
        server.with_token(token).map_err(|e| e.to_string())
    }

    async fn run_step(&mut self, client: &Client, step: &Json, scope: &mut Scope) -> Result<(), String> {
        let op = step["op"].as_str().ok_or("no op")?;
        scope.range_digest = None;
        let raw_args = step["args"].as_object().cloned().unwrap_or_default();
        let mut args = self.substitute_map(&raw_args, scope)?;
        let content = args.remove("content").map(|c| Spec::parse(&c)).transpose()?.map(|s| Arc::new(s.generate()));
        if let Some(bytes) = &content {
            scope.content_digest = Some(content::digest(bytes));
        }
        if op == "download_artifact" {
            scope.range_digest = range_digest(&args, scope);
        }
        let times = step["repeat_until_error"].as_u64().unwrap_or(1).max(1);
        let mut attempts = 0;
        let mut outcome = Err(Failure::Step("not run".into()));
        while attempts < times {
            attempts += 1;
            outcome = ops::run(client, op, Args(&args), content.clone()).await;
            if outcome.is_err() {
                break;
            }
        }
        let result = match (outcome, step.get("expect_error")) {
            (Err(Failure::Step(why)), _) => return Err(why),
            (Err(Failure::Call(error)), Some(expected)) => {
                let result = error_result(&error, attempts);
                self.check_error(step, expected, &result, scope)?;
                return self.check_bounds(step, &result, scope);
            }
            (Ok(_), Some(expected)) => return Err(format!("expected error {expected}, the call succeeded")),
            (Err(Failure::Call(error)), None) => return Err(format!("{}: {error}", code_name(error.code()))),
            (Ok(result), None) => result,
        };
        self.check(step, &result, scope)?;
        self.check_bounds(step, &result, scope)?;
        if let (Some(bytes), Some(id)) = (&content, result["artifact_id"].as_str()) {
            scope.contents.insert(id.to_owned(), bytes.clone());
        }
        if let Some(name) = step["save"].as_str() {
            scope.saved.insert(name.into(), result.clone());
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
            let actual = lookup(result, key);
            if !same(&expected, &actual) {
                return Err(format!("{key}: expected {expected}, got {actual}"));
            }
        }
        for (key, unwanted) in step["expect_not"].as_object().unwrap_or(&empty) {
            let unwanted = self.substitute(unwanted, scope)?;
            if same(&unwanted, &lookup(result, key)) {
                return Err(format!("{key}: expected anything but {unwanted}"));
            }
        }
        Ok(())
    }

    /// `expect_at_least` / `expect_at_most`: numeric bounds on fields (paths) of the result.
    fn check_bounds(&self, step: &Json, result: &Json, scope: &Scope) -> Result<(), String> {
        let empty = Map::new();
        for (which, at_least) in [("expect_at_least", true), ("expect_at_most", false)] {
            for (key, bound) in step[which].as_object().unwrap_or(&empty) {
                let bound =
                    number(&self.substitute(bound, scope)?).ok_or_else(|| format!("{which}.{key}: not a number"))?;
                let actual = lookup(result, key);
                let value = number(&actual).ok_or_else(|| format!("{key}: expected a number, got {actual}"))?;
                if (at_least && value < bound) || (!at_least && value > bound) {
                    let relation = if at_least { ">=" } else { "<=" };
                    return Err(format!("{key}: expected {relation} {bound}, got {value}"));
                }
            }
        }
        Ok(())
    }

    fn check_error(&self, step: &Json, expected: &Json, result: &Json, scope: &Scope) -> Result<(), String> {
        let _ = step;
        let empty = Map::new();
        for (key, want) in expected.as_object().unwrap_or(&empty) {
            let want = self.substitute(want, scope)?;
            if !same(&want, &result[key]) {
                return Err(format!("expected error {expected}, got {result}"));
            }
        }
        Ok(())
    }

    fn substitute_map(&self, map: &Map<String, Json>, scope: &Scope) -> Result<Map<String, Json>, String> {
        map.iter().map(|(k, v)| Ok((k.clone(), self.substitute(v, scope)?))).collect()
    }

    /// Replaces `$lang`, `$uid`, `$random`, `$name.path`, `$content_digest` and `$range_digest` in
    /// every string of `value`. A string that is a single `$name.path` reference (or `$random`)
    /// takes the JSON value as it is.
    fn substitute(&self, value: &Json, scope: &Scope) -> Result<Json, String> {
        Ok(match value {
            Json::String(s) if s == "$random" => json!(scope.random),
            Json::String(s) => {
                match whole_reference(s).and_then(|(name, path)| Some(lookup(scope.saved.get(name)?, path))) {
                    Some(found) => found,
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
                "uid" => scope.uid.clone(),
                "random" => scope.random.to_string(),
                "content_digest" => scope.content_digest.clone().ok_or("$content_digest: no upload yet")?,
                "range_digest" => scope.range_digest.clone().ok_or("$range_digest: content not known")?,
                _ => {
                    let path_part =
                        after[name_len..].strip_prefix('.').ok_or_else(|| format!("bad reference in {s:?}"))?;
                    let path_len = path_part.find(|c: char| !is_ident(c) && c != '.').unwrap_or(path_part.len());
                    let path = path_part[..path_len].trim_end_matches('.');
                    consumed += 1 + path.len();
                    let saved = scope.saved.get(name).ok_or_else(|| format!("${name} was not saved"))?;
                    match lookup(saved, path) {
                        Json::String(v) => v,
                        Json::Null => return Err(format!("${name}.{path} is not set")),
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

/// `value` at `path` (`a.b.0.c`: object keys, decimal segments index lists); null when absent.
pub fn lookup(value: &Json, path: &str) -> Json {
    let mut current = value;
    for segment in path.split('.') {
        current = match current {
            Json::Array(items) => match segment.parse::<usize>() {
                Ok(i) => items.get(i).unwrap_or(&Json::Null),
                Err(_) => &Json::Null,
            },
            Json::Object(map) => map.get(segment).unwrap_or(&Json::Null),
            _ => &Json::Null,
        };
    }
    current.clone()
}

fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `("a", "artifact_id")` for the string `"$a.artifact_id"`; paths may have several segments.
fn whole_reference(s: &str) -> Option<(&str, &str)> {
    let (name, path) = s.strip_prefix('$')?.split_once('.')?;
    let path_ok = !path.is_empty() && path.split('.').all(|seg| !seg.is_empty() && seg.chars().all(is_ident));
    (!name.is_empty() && name.chars().all(is_ident) && path_ok).then_some((name, path))
}

/// BLAKE3 of `content[offset:offset+limit]` of the artifact a download reads, when this scenario
/// uploaded it.
fn range_digest(args: &Map<String, Json>, scope: &Scope) -> Option<String> {
    let content = scope.contents.get(args.get("artifact_id")?.as_str()?)?;
    let int = |key: &str| match args.get(key) {
        Some(Json::String(s)) => s.parse().unwrap_or(0),
        Some(v) => v.as_u64().unwrap_or(0) as usize,
        None => 0,
    };
    let (offset, limit) = (int("offset"), int("limit"));
    let start = offset.min(content.len());
    let end = if limit == 0 { content.len() } else { (start + limit).min(content.len()) };
    Some(content::digest(&content[start..end]))
}

/// `{code, reason, retry_delay_ms, attempts}` of a failed call.
fn error_result(error: &Error, attempts: u64) -> Json {
    json!({
        "code": code_name(error.code()),
        "reason": error.reason().unwrap_or_default(),
        "retry_delay_ms": error.retry_delay().map_or(0, |d| d.as_millis() as u64),
        "attempts": attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_references_are_recognised() {
        assert_eq!(whole_reference("$a.artifact_id"), Some(("a", "artifact_id")));
        assert_eq!(whole_reference("$r.artifacts.0.name"), Some(("r", "artifacts.0.name")));
        assert_eq!(whole_reference("x-$a.b"), None);
        assert_eq!(whole_reference("$lang"), None);
    }

    #[test]
    fn paths_walk_objects_and_lists() {
        let value = json!({"artifacts": [{"name": "a"}, {"name": "b"}], "n": 1});
        assert_eq!(lookup(&value, "artifacts.1.name"), json!("b"));
        assert_eq!(lookup(&value, "artifacts.7.name"), Json::Null);
        assert_eq!(lookup(&value, "n"), json!(1));
    }
}
