//! Live: the interop driver binary runs a sample of every version 2 op (tests/data) against a main
//! and an auth server set up as tests/interop/README.md describes.

mod common;

use std::process::Command;

use common::{sha256_hex, skipped, temp_dir, Server};
use serde_json::Value as Json;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/scenarios_v2_sample.json");

/// The auth server's config: the sample's tokens and a per-session rate limit of 6 a minute.
fn auth_config(dir: &std::path::Path, scenarios: &Json) -> std::path::PathBuf {
    let mut text = String::from("max_sessions = 10000\nrate_limit_per_session = 6\n\n");
    for token in scenarios["tokens"].as_object().unwrap().values() {
        text += &format!(
            "[[auth.tokens]]\nsha256 = \"{}\"\nsubject = \"{}\"\ntenant = \"{}\"\nrole = \"{}\"\n\n",
            sha256_hex(token["token"].as_str().unwrap()),
            token["subject"].as_str().unwrap(),
            token["tenant"].as_str().unwrap(),
            token["role"].as_str().unwrap()
        );
    }
    let path = dir.join("auth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_driver_passes_every_sample_scenario_and_reports_skips_without_an_auth_server() {
    if skipped() {
        return;
    }
    let scenarios: Json = serde_json::from_str(&std::fs::read_to_string(SAMPLE).unwrap()).unwrap();
    let dir = temp_dir("driver");
    let main = Server::start_env(&[], &[("LLMSPELL_SESSION_MAX_SESSIONS", "10000")]);
    let config = auth_config(&dir, &scenarios);
    let auth = Server::start_with(&["--config", config.to_str().unwrap()]);
    let out = dir.join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_interop"))
        .args(["--target", &main.address, "--target-auth", &auth.address, "--scenarios", SAMPLE, "--lang", "rust"])
        .arg("--out")
        .arg(&out)
        .env_remove("LLMSPELL_SESSION_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let results: Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for scenario in scenarios["scenarios"].as_array().unwrap() {
        let name = scenario["name"].as_str().unwrap();
        assert_eq!(results["results"][name], "ok", "{name}: {stdout}");
    }

    // Without --target-auth the auth scenarios are skipped, counted neither way.
    let run = Command::new(env!("CARGO_BIN_EXE_interop"))
        .args(["--target", &main.address, "--scenarios", SAMPLE, "--lang", "rust"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("skip grants: no --target-auth"), "{stdout}");
    assert!(stdout.trim_end().ends_with("interop: 7 passed, 0 failed"), "{stdout}");
    drop((main, auth));
    let _ = std::fs::remove_dir_all(dir);
}
