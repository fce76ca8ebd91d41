//! Generates the prost messages and tonic client/server code into OUT_DIR from the crate's own
//! `proto/`, a copy of the repository's `protos/` shipped in the package (`make test` checks they match).
//!
//! `protox` (a pure-Rust protobuf compiler) parses the `.proto` files, so no `protoc` is needed.

use std::path::PathBuf;

const PROTOS: [&str; 4] = ["common.proto", "session.proto", "artifact.proto", "replay.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let dir = root.join("llmspell/sessions/v1");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| dir.join(p)).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let fds = protox::compile(&files, [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        // The server traits are used by the in-process test server; they cost nothing at run time.
        .build_server(true)
        .build_transport(false)
        // Unimplemented methods answer UNIMPLEMENTED, so test servers implement only what they test.
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
