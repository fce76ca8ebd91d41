//! Every RPC of the three services has a wrapper method on `Client`, named in snake_case.

use std::path::Path;

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_rpc_in_the_protos_has_a_client_method() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let protos = crate_dir.join("proto/llmspell/sessions/v1");
    let mut rpcs = Vec::new();
    for file in ["session.proto", "artifact.proto", "replay.proto"] {
        let text = std::fs::read_to_string(protos.join(file)).unwrap();
        for line in text.lines().map(str::trim).filter(|l| l.starts_with("rpc ")) {
            rpcs.push(line[4..].split('(').next().unwrap().trim().to_owned());
        }
    }
    assert_eq!(rpcs.len(), 44, "{rpcs:?}");
    let mut source = String::new();
    for entry in std::fs::read_dir(crate_dir.join("src")).unwrap() {
        source += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    let missing: Vec<&String> = rpcs
        .iter()
        .filter(|rpc| {
            let name = snake(rpc);
            !source.contains(&format!("pub async fn {name}("))
                && !source.contains(&format!("pub fn {name}("))
                && !source.contains(&format!("pub async fn {name}<"))
                && !source.contains(&format!("pub fn {name}<"))
        })
        .collect();
    assert!(missing.is_empty(), "RPCs without a Client method: {missing:?}");
}
