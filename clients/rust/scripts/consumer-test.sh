#!/usr/bin/env bash
# Installs the client as a user would: `cargo package` the library crate, unpack the .crate into a
# temporary directory outside the repository, build a fresh crate that depends on it by path, and
# run the basic and artifacts examples from there against a live server started here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)   # clients/rust
root=$(cd "$here/../.." && pwd)
server="$root/.venv/bin/llmspell-sessions"
target=${CARGO_TARGET_DIR:-$here/target}
cargo=${CARGO:-cargo}
if [[ ! -x $server && ${LLMSPELL_SKIP_LIVE:-} != 1 ]]; then
    echo "consumer-test: $server is missing; run 'make install' at the repository root" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/llmspell-rust-consumer.XXXXXX")
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cd "$here"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
listing=$("$cargo" package --locked --allow-dirty --list -p llmspell-sessions-client)
for wanted in build.rs proto/llmspell/sessions/v1/session.proto src/lib.rs; do
    grep -qx "$wanted" <<<"$listing" || { echo "consumer-test: the package lacks $wanted" >&2; exit 1; }
done
if grep -q '^interop/\|^scripts/\|^target/' <<<"$listing"; then
    echo "consumer-test: the package ships files that are not the library:" >&2
    grep '^interop/\|^scripts/\|^target/' <<<"$listing" >&2
    exit 1
fi
# --no-verify: building the unpacked crate below is the verification, done as a user would.
"$cargo" package --locked --allow-dirty --no-verify -p llmspell-sessions-client
tar -xzf "$target/package/llmspell-sessions-client-$version.crate" -C "$work"

mkdir -p "$work/consumer/src/bin"
cp "$root/examples/rust/basic.rs" "$root/examples/rust/artifacts.rs" "$work/consumer/src/bin/"
cat >"$work/consumer/Cargo.toml" <<EOF
[package]
name = "llmspell-sessions-consumer"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
llmspell-sessions-client = { path = "../llmspell-sessions-client-$version" }
futures-util = "0.3"
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt"] }

[workspace]
EOF
# Start from the workspace's lock so that the consumer resolves the versions CI already tested, and
# share its target directory so that unchanged dependencies are not compiled again.
cp "$here/Cargo.lock" "$work/consumer/Cargo.lock"
(cd "$work/consumer" && CARGO_TARGET_DIR="$target" "$cargo" build --bins)

if [[ ${LLMSPELL_SKIP_LIVE:-} == 1 ]]; then
    echo "consumer-test: built; not run (LLMSPELL_SKIP_LIVE=1)"
    exit 0
fi
mkdir "$work/data"
"$server" serve --address 127.0.0.1:0 --path "$work/data" 2>"$work/server.log" &
server_pid=$!
address=
for _ in $(seq 300); do
    address=$(sed -n 's/.*serving on \([^ ]*\).*/\1/p' "$work/server.log" | head -1)
    [[ -n $address ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $address ]]; then
    echo "consumer-test: the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
for example in basic artifacts; do
    echo "consumer-test: running $example against $address"
    LLMSPELL_SESSION_ADDRESS=$address "$target/debug/$example"
done
echo "consumer-test: ok (llmspell-sessions-client $version from its .crate)"
