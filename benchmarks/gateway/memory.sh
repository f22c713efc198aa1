#!/usr/bin/env bash
# Memory of `keypool serve` under steady load: the mock fleet behind it, wrk
# (post.lua) at CONCURRENCY for DURATION seconds, the gateway's resident set
# sampled every INTERVAL seconds. Flat memory means the samples after warm-up
# stay within a small band; the script prints them and the growth from the
# first sample after warm-up to the last.
#
#   KEYPOOL=build-release/tools/keypool/keypool benchmarks/gateway/memory.sh
#   DURATION=600 INTERVAL=30 CONCURRENCY=16 STREAM=0|1
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KEYPOOL=${KEYPOOL:-$ROOT/build-release/tools/keypool/keypool}
DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-30}
CONCURRENCY=${CONCURRENCY:-16}
OUT=${OUT:-$ROOT/build-release/bench-gateway-memory}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
die() { echo "memory.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is missing (Debian: apt-get install wrk)"
[ -x "$KEYPOOL" ] || die "no keypool binary at $KEYPOOL (set KEYPOOL)"

# Waits for "listening on http://ADDR:PORT" in $1 and prints PORT.
port_of() {
  for _ in $(seq 1 100); do
    local p
    p=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  die "nothing listening (see $1)"
}

"$KEYPOOL" mock --config "$HERE/mock.json" --port 0 --write-env "$OUT/mock.env" >"$OUT/mock.log" 2>&1 &
PIDS+=($!)
# The .env is whole once the mock says so (a non-empty file may still be
# partly written, and a gateway started on it would answer every request
# with an error).
for _ in $(seq 1 100); do grep -q "wrote the fleet's fake keys" "$OUT/mock.log" && break; sleep 0.1; done
grep -q "wrote the fleet's fake keys" "$OUT/mock.log" || die "the mock wrote no .env (see $OUT/mock.log)"
"$KEYPOOL" serve --env "$OUT/mock.env" --ignore-environment --listen 127.0.0.1:0 --stats-every 0 --state none \
  >"$OUT/serve.log" 2>/dev/null &
SERVE=$!
PIDS+=($SERVE)
PORT=$(port_of "$OUT/serve.log")

export BENCH_HEADER_NAME="" BENCH_HEADER_VALUE="" BENCH_AUTH=""
if [ "${STREAM:-0}" = 1 ]; then
  export BENCH_BODY='{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
else
  export BENCH_BODY='{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
fi
wrk -t1 -c"$CONCURRENCY" -d"${DURATION}s" --timeout 10s -s "$HERE/post.lua" \
  "http://127.0.0.1:$PORT/v1/chat/completions" >"$OUT/wrk.txt" 2>&1 &
WRK=$!
PIDS+=($WRK)

echo "seconds	rss_kb" | tee "$OUT/rss.tsv"
start=$SECONDS
while kill -0 "$WRK" 2>/dev/null; do
  sleep "$INTERVAL"
  kill -0 "$SERVE" 2>/dev/null || die "keypool serve exited (see $OUT/serve.log)"
  printf '%s\t%s\n' "$((SECONDS - start))" "$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVE/status")" | tee -a "$OUT/rss.tsv"
done
grep '^RESULT' "$OUT/wrk.txt" || die "wrk printed no result (see $OUT/wrk.txt)"
# Memory of a gateway that answered errors measures nothing.
grep -q '^RESULT.* non2xx=0 ' "$OUT/wrk.txt" || die "answers that were not 2xx (see $OUT/wrk.txt)"
awk 'NR == 3 { first = $2 } NR > 1 { last = $2; if ($2 > max) max = $2 }
     END { printf "after warm-up: first %d kB, last %d kB, peak %d kB, growth %+d kB\n", first, last, max, last - first }' \
  "$OUT/rss.tsv"
