#!/usr/bin/env bash
# The client as a user gets it: copy the module's files as `git archive` would ship them (files git
# tracks or would track: nothing ignored, gen/ included), build a throwaway consumer module outside
# the repository against that copy, and run the basic and artifacts examples against a live server
# started here. Also checks that the consumer can stay on the module's go directive (go 1.23).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ROOT:-$(cd "$here/../.." && pwd)}
export ROOT
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The module as published: tracked (or to-be-tracked, not ignored) files only.
mkdir -p "$tmp/module"
(cd "$here" && git ls-files -z --cached --others --exclude-standard -- . | while IFS= read -r -d '' f; do
  [[ -f "$f" ]] && cp --parents "$f" "$tmp/module/"; done)
test -f "$tmp/module/gen/llmspell/sessions/v1/session.pb.go" || { echo "consumer-test: gen/ is not shipped" >&2; exit 1; }

# 2. A consumer module outside the repository.
mkdir -p "$tmp/consumer/basic" "$tmp/consumer/artifacts"
cp "$ROOT/examples/go/basic/main.go" "$tmp/consumer/basic/"
cp "$ROOT/examples/go/artifacts/main.go" "$tmp/consumer/artifacts/"
cat > "$tmp/consumer/go.mod" <<MOD
module example.com/consumer

go 1.23

require github.com/llmspell/llmspell-sessions/clients/go v0.1.0

replace github.com/llmspell/llmspell-sessions/clients/go => $tmp/module
MOD
cd "$tmp/consumer"
go mod tidy
if ! grep -qx 'go 1.23\(\.0\)\?' go.mod; then
  echo "consumer-test: a dependency raised the consumer's go directive:" >&2; grep '^go ' go.mod >&2; exit 1
fi
go build -o bin/ ./basic ./artifacts

# 3. Both examples against a live server.
"$here/scripts/with-server.sh" bash -c 'for ex in basic artifacts; do
  echo "== consumer $ex against $LLMSPELL_SESSION_ADDRESS"; "bin/$ex" || exit 1; done'
echo "consumer-test: ok (module go directive $(sed -n 's/^go //p' "$tmp/module/go.mod"))"
