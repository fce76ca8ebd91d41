//! The interop driver: runs `tests/interop/scenarios.json` against a live server.
//!
//! ```text
//! interop --target HOST:PORT [--target-auth HOST:PORT] --scenarios tests/interop/scenarios.json \
//!         --lang rust --out RESULTS.json [--verify SHARED.json ...]
//! ```
//!
//! Prints `ok NAME` / `FAIL NAME: why` / `skip NAME: why` per scenario and, last,
//! `interop: N passed, M failed`; exits 1 if any scenario failed, 2 on a usage or setup error.
//! One connection per server serves every call; a step's token goes as call metadata.

mod content;
mod convert;
mod ops;
mod ops_v2;
mod reflect;
mod scenario;
mod transfer;

use std::collections::BTreeMap;
use std::process::ExitCode;

use llmspell_sessions_client::{Client, DEFAULT_ADDRESS};
use serde_json::{json, Value as Json};

use scenario::{Outcome, Runner, Shared};

/// The command line.
#[derive(Debug)]
struct Args {
    target: String,
    target_auth: Option<String>,
    scenarios: String,
    lang: String,
    out: Option<String>,
    verify: Vec<String>,
}

const USAGE: &str = "usage: interop --target HOST:PORT [--target-auth HOST:PORT] --scenarios FILE [--lang LANG] \
                     [--out FILE] [--verify FILE ...]";

const FLAGS: [&str; 6] = ["--target", "--target-auth", "--scenarios", "--lang", "--out", "--verify"];

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        target: std::env::var("LLMSPELL_SESSION_ADDRESS").unwrap_or_else(|_| DEFAULT_ADDRESS.into()),
        target_auth: None,
        scenarios: "tests/interop/scenarios.json".into(),
        lang: "rust".into(),
        out: None,
        verify: Vec::new(),
    };
    while let Some(flag) = argv.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Err(USAGE.into());
        }
        if !FLAGS.contains(&name.as_str()) {
            return Err(format!("unknown flag {name}\n{USAGE}"));
        }
        let value = inline.or_else(|| argv.next()).filter(|v| !v.starts_with("--"));
        let value = value.ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
        match name.as_str() {
            "--target" => args.target = value,
            "--target-auth" => args.target_auth = Some(value),
            "--scenarios" => args.scenarios = value,
            "--lang" => args.lang = value,
            "--out" => args.out = Some(value),
            "--verify" => args.verify.push(value),
            _ => unreachable!("checked against FLAGS"),
        }
    }
    Ok(args)
}

/// Counts scenario outcomes, prints one line each and keeps them for `--out`.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
    results: BTreeMap<String, Json>,
}

impl Report {
    fn record_scenario(&mut self, name: &str, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.record(name, Ok(())),
            Outcome::Failed(why) => self.record(name, Err(why)),
            Outcome::Skipped(why) => {
                println!("skip {name}: {why}");
                self.results.insert(name.into(), json!("skipped"));
            }
        }
    }

    fn record(&mut self, name: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                self.passed += 1;
                println!("ok {name}");
                self.results.insert(name.into(), json!("ok"));
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {why}");
                self.results.insert(name.into(), json!(why));
            }
        }
    }
}

fn read_json(path: &str) -> Result<Json, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// Downloads every artifact another driver shared and checks its size and digest; returns its lang.
async fn verify_file(client: &Client, path: &str) -> (String, Result<(), String>) {
    let doc = match read_json(path) {
        Ok(doc) => doc,
        Err(why) => return (path.into(), Err(why)),
    };
    let lang = doc["lang"].as_str().unwrap_or(path).to_owned();
    let listed = doc["shared"].as_array().cloned().unwrap_or_default();
    let shared: Vec<Shared> = match listed.iter().map(Shared::from_json).collect() {
        Ok(shared) => shared,
        Err(why) => return (lang, Err(format!("{path}: {why}"))),
    };
    for artifact in shared {
        if let Err(why) = verify_one(client, &artifact).await {
            return (lang, Err(format!("artifact {}: {why}", artifact.artifact_id)));
        }
    }
    (lang, Ok(()))
}

async fn verify_one(client: &Client, artifact: &Shared) -> Result<(), String> {
    let mut bytes = Vec::new();
    client.download_artifact_range(&artifact.artifact_id, 0, 0, &mut bytes).await.map_err(|e| e.to_string())?;
    let digest = content::digest(&bytes);
    if bytes.len() as i64 != artifact.size || digest != artifact.content_digest {
        return Err(format!(
            "got {} bytes {digest}, shared {} bytes {}",
            bytes.len(),
            artifact.size,
            artifact.content_digest
        ));
    }
    Ok(())
}

async fn run(args: Args) -> Result<Report, String> {
    let file = read_json(&args.scenarios)?;
    let scenarios = file["scenarios"].as_array().ok_or("the scenario file has no \"scenarios\" list")?.clone();
    let tokens = file["tokens"].as_object().cloned().unwrap_or_default();
    let client = connect(&args.target).await?;
    let auth = match &args.target_auth {
        Some(target) => Some(connect(target).await?),
        None => None,
    };
    let mut report = Report::default();
    for path in &args.verify {
        let (lang, outcome) = verify_file(&client, path).await;
        report.record(&format!("verify:{lang}"), outcome);
    }
    let mut runner = Runner::new(client, auth, tokens, args.lang.clone());
    for scenario in &scenarios {
        let name = scenario["name"].as_str().unwrap_or("unnamed");
        report.record_scenario(name, runner.run_scenario(scenario).await);
    }
    if let Some(out) = &args.out {
        let shared: Vec<Json> = runner.shared.iter().map(Shared::to_json).collect();
        let doc = json!({"lang": args.lang, "shared": shared, "results": report.results});
        let text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
        if let Err(e) = std::fs::write(out, text + "\n") {
            eprintln!("interop: {out}: {e}");
            report.failed += 1;
        }
    }
    Ok(report)
}

/// One connection to `target`, with `LLMSPELL_SESSION_TOKEN` as its default token when set.
async fn connect(target: &str) -> Result<Client, String> {
    let mut builder = Client::connect(target.to_owned());
    match std::env::var("LLMSPELL_SESSION_TOKEN") {
        Ok(token) if !token.is_empty() => builder = builder.token(token),
        _ => {}
    }
    builder.await.map_err(|e| format!("connect {target}: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(report) => {
            println!("interop: {} passed, {} failed", report.passed, report.failed);
            ExitCode::from(u8::from(report.failed > 0))
        }
        Err(why) => {
            eprintln!("interop: {why}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        parse_args(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_take_separate_or_inline_values_and_verify_repeats() {
        let args =
            parse("--target h:1 --target-auth h:2 --lang=rust --out o.json --verify a.json --verify=b.json").unwrap();
        assert_eq!((args.target.as_str(), args.out.as_deref()), ("h:1", Some("o.json")));
        assert_eq!(args.target_auth.as_deref(), Some("h:2"));
        assert_eq!(args.verify, vec!["a.json", "b.json"]);
    }

    #[test]
    fn unknown_flags_and_missing_values_are_usage_errors() {
        assert!(parse("--bogus x").unwrap_err().starts_with("unknown flag --bogus"));
        assert!(parse("--target").unwrap_err().starts_with("--target needs a value"));
        assert!(parse("--target --lang rust").unwrap_err().starts_with("--target needs a value"));
    }
}
