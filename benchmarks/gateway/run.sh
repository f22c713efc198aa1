#!/usr/bin/env bash
# Added latency of AI gateways in front of one deterministic mock, by the
# method of AIGatewayBench: overhead = latency(client -> gateway -> mock)
# - latency(client -> mock), with a keep-alive load driver (wrk + post.lua)
# at each concurrency, arms alternating within one run so that they share
# the machine's state. `make bench-gateway` builds and installs what it needs
# and runs this script; figures go to docs/benchmarks.md.
#
# Arms: direct (the mock itself, the baseline), keypool (`keypool serve`),
# portkey (@portkey-ai/gateway from npm, `node build/start-server.js`).
# Scenarios: pass (one OpenAI-format provider with four keys; Portkey
# load-balances over them, retry on 429) and failover (two keys, the first
# allows one request a minute, so it answers 429 from the second request on;
# keypool remembers the limited key, Portkey falls back to the second
# target on every request) and stream (pass with "stream": true: the mock
# sends its whole event stream at once, so the added latency of the whole
# answer is the gateway's added time to first token plus its relay of the
# remaining events).
#
# Variables: KEYPOOL (the binary), PORTKEY_DIR (the npm package), DURATION
# (seconds per measurement, default 10), WARMUP (seconds, default 3),
# CONCURRENCY (default "1 4 16 64"), FAILOVER_CONCURRENCY (default 16),
# STREAM_CONCURRENCY (default "1 16"),
# ROUNDS (default 2), ARMS (default "direct keypool portkey"), SCENARIOS
# (default "pass failover stream"), OUT (results folder).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KEYPOOL=${KEYPOOL:-$ROOT/build-release/tools/keypool/keypool}
PORTKEY_DIR=${PORTKEY_DIR:-$HERE/node_modules/@portkey-ai/gateway}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY:-"1 4 16 64"}
FAILOVER_CONCURRENCY=${FAILOVER_CONCURRENCY:-16}
STREAM_CONCURRENCY=${STREAM_CONCURRENCY:-"1 16"}
ROUNDS=${ROUNDS:-2}
ARMS=${ARMS:-"direct keypool portkey"}
SCENARIOS=${SCENARIOS:-"pass failover stream"}
OUT=${OUT:-$ROOT/build-release/bench-gateway}

mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

die() { echo "bench-gateway: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is missing (Debian: apt-get install wrk)"
[ -x "$KEYPOOL" ] || die "no keypool binary at $KEYPOOL (set KEYPOOL)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Waits until something answers HTTP on 127.0.0.1:$1 (any status).
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  die "nothing answers on port $1 (see $OUT/*.log)"
}

# --- the mock fleet ----------------------------------------------------------
MOCK_PORT=$(free_port)
"$KEYPOOL" mock --config "$HERE/mock.json" --port "$MOCK_PORT" --write-env "$OUT/mock.env" >"$OUT/mock.log" 2>&1 &
PIDS+=($!)
wait_http "$MOCK_PORT"
MOCK="http://127.0.0.1:$MOCK_PORT"
secret() { sed -n "s/^$1=//p" "$OUT/mock.env"; }

# --- the gateways ------------------------------------------------------------
declare -A ARM_PID ARM_PORT
start_keypool() {
  local port
  port=$(free_port)
  "$KEYPOOL" serve --env "$OUT/mock.env" --ignore-environment --listen "127.0.0.1:$port" --stats-every 0 \
    >"$OUT/keypool.log" 2>"$OUT/keypool.access.log" &
  ARM_PID[keypool]=$!
  PIDS+=($!)
  ARM_PORT[keypool]=$port
  wait_http "$port"
}
start_portkey() {
  [ -f "$PORTKEY_DIR/build/start-server.js" ] || die "no Portkey gateway at $PORTKEY_DIR (npm install --prefix $HERE @portkey-ai/gateway@1.15.2)"
  local port
  port=$(free_port)
  node "$PORTKEY_DIR/build/start-server.js" "--port=$port" --headless >"$OUT/portkey.log" 2>&1 &
  ARM_PID[portkey]=$!
  PIDS+=($!)
  ARM_PORT[portkey]=$port
  wait_http "$port"
}
for arm in $ARMS; do
  case $arm in
    direct) ;;
    keypool) start_keypool ;;
    portkey) start_portkey ;;
    *) die "unknown arm $arm" ;;
  esac
done

# --- what each arm is sent ---------------------------------------------------
body() { # model [stream]
  printf '{"model":"%s",%s"messages":[{"role":"user","content":"Hello"}],"max_tokens":16}' "$1" \
    "$([ "${2:-}" = stream ] && echo '"stream":true,')"
}
portkey_target() { printf '{"provider":"openai","api_key":"%s","custom_host":"%s"}' "$1" "$2"; }
portkey_config() { # scenario
  local o="$MOCK/openai/v1" g="$MOCK/groq/openai/v1"
  if [ "$1" != failover ]; then
    printf '{"strategy":{"mode":"loadbalance"},"retry":{"attempts":2,"on_status_codes":[429]},"targets":[%s,%s,%s,%s]}' \
      "$(portkey_target "$(secret OPENAI_API_KEY_1)" "$o")" "$(portkey_target "$(secret OPENAI_API_KEY_2)" "$o")" \
      "$(portkey_target "$(secret OPENAI_API_KEY_3)" "$o")" "$(portkey_target "$(secret OPENAI_API_KEY_4)" "$o")"
  else
    printf '{"strategy":{"mode":"fallback","on_status_codes":[429]},"targets":[%s,%s]}' \
      "$(portkey_target "$(secret GROQ_API_KEY_1)" "$g")" "$(portkey_target "$(secret GROQ_API_KEY_2)" "$g")"
  fi
}
# Sets URL and the BENCH_* variables post.lua reads for (arm, scenario).
setup_request() {
  local arm=$1 scenario=$2 provider model
  if [ "$scenario" != failover ]; then provider=openai model=gpt-4o-mini; else provider=groq model=llama-3.3-70b-versatile; fi
  export BENCH_HEADER_NAME="" BENCH_HEADER_VALUE="" BENCH_AUTH=""
  case $arm in
    direct)
      if [ "$scenario" != failover ]; then URL="$MOCK/openai/v1/chat/completions" BENCH_AUTH="Bearer $(secret OPENAI_API_KEY_1)"
      else URL="$MOCK/groq/openai/v1/chat/completions" BENCH_AUTH="Bearer $(secret GROQ_API_KEY_2)"; fi
      export BENCH_BODY=$(body "$model" "$scenario") ;;
    keypool)
      URL="http://127.0.0.1:${ARM_PORT[keypool]}/v1/chat/completions"
      export BENCH_BODY=$(body "$provider/$model" "$scenario") ;;
    portkey)
      URL="http://127.0.0.1:${ARM_PORT[portkey]}/v1/chat/completions"
      BENCH_HEADER_NAME=x-portkey-config BENCH_HEADER_VALUE=$(portkey_config "$scenario")
      export BENCH_BODY=$(body "$model" "$scenario") ;;
  esac
}

# One wrk run; appends a row to $RESULTS.
measure() { # scenario arm concurrency round seconds
  local scenario=$1 arm=$2 c=$3 round=$4 seconds=$5 pid="" t0=0 t1=0 line
  setup_request "$arm" "$scenario"
  [ "$arm" != direct ] && pid=${ARM_PID[$arm]} && t0=$(cpu_ticks "$pid")
  line=$(wrk -t1 -c"$c" -d"${seconds}s" --timeout 10s -s "$HERE/post.lua" "$URL" | grep '^RESULT') ||
    die "wrk failed for $arm $scenario c=$c"
  [ -n "$pid" ] && t1=$(cpu_ticks "$pid")
  [ "$round" = warmup ] && return 0
  # shellcheck disable=SC2086
  printf '%s\t%s\t%s\t%s\t%s\tcpu_ticks=%s\n' "$scenario" "$arm" "$c" "$round" "${line#RESULT }" \
    "$([ -n "$pid" ] && echo $((t1 - t0)) || echo -)" >>"$RESULTS"
  echo "  $scenario $arm c=$c round $round: ${line#RESULT }"
}

: >"$RESULTS"
echo "bench-gateway: load at start: $(uptime)" | tee "$OUT/load.txt"
for scenario in $SCENARIOS; do
  for arm in $ARMS; do measure "$scenario" "$arm" 16 warmup "$WARMUP"; done
done
for round in $(seq 1 "$ROUNDS"); do
  for scenario in $SCENARIOS; do
    levels=$CONCURRENCY
    [ "$scenario" = failover ] && levels=$FAILOVER_CONCURRENCY
    [ "$scenario" = stream ] && levels=$STREAM_CONCURRENCY
    for c in $levels; do
      for arm in $ARMS; do measure "$scenario" "$arm" "$c" "$round" "$DURATION"; done
    done
  done
done
echo "bench-gateway: load at end: $(uptime)" | tee -a "$OUT/load.txt"
for arm in $ARMS; do
  [ "$arm" = direct ] || printf 'peak_rss_kb\t%s\t%s\n' "$arm" "$(peak_rss_kb "${ARM_PID[$arm]}")" >>"$RESULTS"
done
python3 "$HERE/table.py" "$RESULTS" | tee "$OUT/table.md"
