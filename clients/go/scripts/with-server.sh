#!/usr/bin/env bash
# with-server.sh CMD...: runs CMD with LLMSPELL_SESSION_ADDRESS set to a live server started here
# (the repository's .venv/bin/llmspell-sessions on 127.0.0.1:0 over a temp dir), then stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ROOT:-$(cd "$here/../.." && pwd)}
server_bin="$ROOT/.venv/bin/llmspell-sessions"
if [[ ! -x "$server_bin" ]]; then
  echo "with-server: $server_bin is missing: run 'make install' at the repository root" >&2
  exit 1
fi
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
"$server_bin" serve --address 127.0.0.1:0 --path "$tmp/data" 2> "$tmp/server.log" &
server_pid=$!
addr=
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*serving on \([^ ]*\).*/\1/p' "$tmp/server.log" | head -1)
  [[ -n "$addr" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "with-server: server exited:" >&2; cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$addr" ]] || { echo "with-server: server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
LLMSPELL_SESSION_ADDRESS=$addr "$@"
