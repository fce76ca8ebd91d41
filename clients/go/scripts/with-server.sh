#!/usr/bin/env bash
# with-server.sh CMD...: runs CMD with LLMSPELL_SESSION_ADDRESS set to a live server started here
# (the repository's .venv/bin/llmspell-sessions on 127.0.0.1:0 over a temp dir), then stops it.
# When $SCENARIOS names a scenario file with a tokens table, a second server is started as the
# interop suite's "auth" server (those tokens, 6 mutations a minute per session) and its address
# is LLMSPELL_SESSION_AUTH_ADDRESS (tests/interop/README.md, "Servers").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ROOT:-$(cd "$here/../.." && pwd)}
server_bin="$ROOT/.venv/bin/llmspell-sessions"
if [[ ! -x "$server_bin" ]]; then
  echo "with-server: $server_bin is missing: run 'make install' at the repository root" >&2
  exit 1
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME [serve args...]: starts a server, waits for its "serving on" line and sets $addr.
start() {
  local name=$1; shift
  "$server_bin" serve --address 127.0.0.1:0 --path "$tmp/$name" "$@" > /dev/null 2> "$tmp/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    addr=$(sed -n 's/.*serving on \([^ ]*\).*/\1/p' "$tmp/$name.log" | head -1)
    if [[ -n "$addr" ]]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "with-server: the $name server did not start:" >&2; cat "$tmp/$name.log" >&2
  return 1
}

# The auth server's config: one [[auth.tokens]] per entry of the scenario file's tokens table.
auth_config() {
  "$ROOT/.venv/bin/python" - "$1" <<'PY'
import hashlib, json, sys
tokens = json.load(open(sys.argv[1])).get("tokens", {})
lines = ["max_sessions = 10000", ""]
for t in tokens.values():
    lines += ["[[auth.tokens]]", f'sha256 = "{hashlib.sha256(t["token"].encode()).hexdigest()}"',
              f'subject = "{t["subject"]}"', f'tenant = "{t["tenant"]}"', f'role = "{t["role"]}"', ""]
print("\n".join(lines) if tokens else "")
PY
}

addr=
LLMSPELL_SESSION_MAX_SESSIONS=10000 start main
export LLMSPELL_SESSION_ADDRESS=$addr
export LLMSPELL_SESSION_AUTH_ADDRESS=
if [[ -n "${SCENARIOS:-}" && -f "$SCENARIOS" ]] && auth_config "$SCENARIOS" > "$tmp/auth.toml" && [[ -s "$tmp/auth.toml" ]] \
   && grep -q auth.tokens "$tmp/auth.toml"; then
  LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION=6 start auth --config "$tmp/auth.toml"
  LLMSPELL_SESSION_AUTH_ADDRESS=$addr
fi
"$@"
