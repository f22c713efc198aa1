#!/usr/bin/env bash
# The upload page in headless Chromium: `keypool serve` (port 0: it prints
# the port it bound) in front of `keypool mock`, driven by upload_page.js
# (playwright-core from package-lock.json, installed by `make test`); then
# the serve console must have printed the 📊 table. Usage: run.sh
# PATH/TO/keypool (exit 77: skipped, node or chromium absent).
set -uo pipefail
KEYPOOL=$1
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || { echo "skipped: node is missing (apt-get install nodejs npm)"; exit 77; }
[ -x "$CHROMIUM" ] || { echo "skipped: $CHROMIUM is missing (apt-get install chromium)"; exit 77; }
[ -f "$HERE/node_modules/playwright-core/package.json" ] ||
  { echo "FAIL: $HERE/node_modules is missing: run 'make deps-test' (npm ci --prefix tests/browser)"; exit 1; }
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for _ in $(seq 50); do alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done; [ $alive = 0 ] && break; sleep 0.1; done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

"$KEYPOOL" mock --write-env "$DIR/.env" >"$DIR/mock.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$DIR/.env" ] && break; sleep 0.1; done
[ -s "$DIR/.env" ] || fail "the mock fleet wrote no .env"

# start_serve NAME ENV_FILE: serve on an ephemeral port; sets URL from what it prints.
start_serve() {
  "$KEYPOOL" serve --env "$2" --ignore-environment --state none --listen 127.0.0.1:0 --stats-every 1 \
    >"$DIR/$1.log" 2>"$DIR/$1-access.log" &
  SERVE=$!
  PIDS+=($SERVE)
  URL=
  for _ in $(seq 100); do
    URL=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$DIR/$1.log" | sed 's/listening on //')
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  fail "serve ($1) printed no address"
}

start_serve serve "$DIR/.env"
CHROMIUM=$CHROMIUM node "$HERE/upload_page.js" "$URL" || fail "the page test failed"

# With a gateway key in the .env: the page asks for it, then works.
{ cat "$DIR/.env"; echo "KEYPOOL_GATEWAY_KEY_1=gateway-FAKE-key-for-the-page"; } >"$DIR/keyed.env"
start_serve keyed "$DIR/keyed.env"
CHROMIUM=$CHROMIUM node "$HERE/upload_page.js" "$URL" gateway-FAKE-key-for-the-page ||
  fail "the page test with a gateway key failed"
for _ in $(seq 50); do grep -q 'API KEY STATISTICS' "$DIR/serve.log" && break; sleep 0.1; done
grep -q 'API KEY STATISTICS' "$DIR/serve.log" || fail "the serve console printed no 📊 table after the describe"
grep -q '"route":"/v1/describe","status":200' "$DIR/serve-access.log" || fail "no access-log line for the describe"
# SIGTERM with the browser's kept-alive connection gone idle: serve exits 0
# with its final table (it once waited forever for a drain that never ran).
kill -TERM $SERVE
for _ in $(seq 100); do kill -0 $SERVE 2>/dev/null || break; sleep 0.1; done
kill -0 $SERVE 2>/dev/null && fail "serve did not exit within 10 s of SIGTERM"
wait $SERVE || fail "serve exited $? after SIGTERM"
grep -q 'requests answered' "$DIR/keyed.log" || fail "no final statistics after SIGTERM"
echo "1 passed, 0 failed"
