//! A real llmspell-sessions server for the live tests: `<repo>/.venv/bin/llmspell-sessions serve`
//! on 127.0.0.1:0 over a temporary directory, stopped and removed when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A running server process and its data directory.
pub struct Server {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`, as the server logged it.
    pub address: String,
}

/// The repository root, found from this crate's directory (clients/rust/interop).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().expect("the repository root")
}

/// A fresh empty directory under the system temp dir, unique per process and call.
pub fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("llmspell-rust-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// Whether live tests are switched off (`LLMSPELL_SKIP_LIVE=1`).
pub fn skipped() -> bool {
    std::env::var("LLMSPELL_SKIP_LIVE").is_ok_and(|v| v == "1")
}

impl Server {
    /// Starts a plaintext server.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server with extra `serve` arguments (TLS files, a config file, ...).
    pub fn start_with(extra: &[&str]) -> Server {
        Server::start_env(extra, &[])
    }

    /// Starts a server with extra `serve` arguments and environment variables.
    pub fn start_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        let binary = repo_root().join(".venv/bin/llmspell-sessions");
        assert!(
            binary.exists(),
            "{} is missing: run `make install` at the repository root (or set LLMSPELL_SKIP_LIVE=1)",
            binary.display()
        );
        let dir = temp_dir("server");
        let mut child = Command::new(&binary)
            .args(["serve", "--address", "127.0.0.1:0", "--path"])
            .arg(dir.join("data"))
            .args(extra)
            .env_remove("LLMSPELL_SESSION_CONFIG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stderr for the server's whole life so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => Server { child, dir, address },
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not log `serving on HOST:PORT` within 60 s");
            }
        }
    }

    /// The data directory's parent, for files the test wants next to the server.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes a CA and a server certificate for `localhost` / 127.0.0.1 signed by it into `dir` with
/// the `openssl` command line: returns (ca.pem, server.pem, server.key).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the openssl command line is needed by the TLS test");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    run(&["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test-ca", "-days", "1", "-out", "ca.pem"]);
    run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"]);
    run(&["req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr"]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// `size` bytes of xorshift32 output from `seed` (the interop generator).
pub fn xorshift(seed: u32, size: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(size + 4);
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// SHA-256 hex through the openssl command line (the tests carry no SHA-2 crate).
pub fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the openssl command line");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}
