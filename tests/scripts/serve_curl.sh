#!/usr/bin/env bash
# `keypool serve` in front of `keypool mock`, driven with curl: a chat
# through the gateway names provider, model and key variable in its headers;
# the access log has one JSON line per request and no secret; SIGHUP reloads
# the keys; SIGTERM during a request lets it finish, prints the final table
# and exits 0. Usage: serve_curl.sh PATH/TO/keypool (exit 77: skipped).
set -uo pipefail
KEYPOOL=$1
command -v curl >/dev/null || { echo "skipped: curl is missing"; exit 77; }
DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
# The URL a `keypool serve` bound to an ephemeral port printed in LOG.
bound_url() {
  local url=
  for _ in $(seq 100); do
    url=$(grep -o "listening on $1://127\.0\.0\.1:[0-9]*" "$2" | sed 's/listening on //')
    [ -n "$url" ] && break
    sleep 0.1
  done
  echo "$url"
}

"$KEYPOOL" mock --write-env "$DIR/.env" >"$DIR/mock.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$DIR/.env" ] && break; sleep 0.1; done
[ -s "$DIR/.env" ] || fail "the mock fleet wrote no .env"

# --state none: a test never writes into the user's own state file.
"$KEYPOOL" serve --env "$DIR/.env" --ignore-environment --state none --listen 127.0.0.1:0 --stats-every 0 \
  >"$DIR/serve.log" 2>"$DIR/access.log" &
SERVE=$!
PIDS+=($SERVE)
BASE=$(bound_url http "$DIR/serve.log")
[ -n "$BASE" ] || fail "serve printed no http URL"

chat() { curl -s -D "$DIR/headers" -o "$DIR/body" -w '%{http_code}' "$BASE/v1/chat/completions" \
  -H 'Content-Type: application/json' \
  -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"; }

code=$(chat groq/llama-3.3-70b-versatile)
[ "$code" = 200 ] || fail "chat answered $code: $(cat "$DIR/body")"
grep -qi '^x-keypool-provider: groq' "$DIR/headers" || fail "no x-keypool-provider: groq header"
grep -qi '^x-keypool-key: GROQ_API_KEY_' "$DIR/headers" || fail "no x-keypool-key header"
grep -q '"choices"' "$DIR/body" || fail "the answer has no choices"
grep -q '"route":"/v1/chat/completions".*"status":200.*"provider":"groq"' "$DIR/access.log" ||
  fail "no access-log line for the chat"
grep -q '"key":"GROQ_API_KEY_' "$DIR/access.log" || fail "the access log does not name the key variable"
grep -q '"route":"/v1/chat/completions".*"input_tokens":[0-9]*,"output_tokens":[0-9]' "$DIR/access.log" ||
  fail "the access-log line has no token counts"

# An image through the upload endpoint: the answer names who served it.
printf '\211PNG\r\n\032\n\0\0\0\rIHDR-FAKE-pixels' >"$DIR/pixel.png"
code=$(curl -s -o "$DIR/body" -w '%{http_code}' -F image=@"$DIR/pixel.png" -F prompt='What is it?' \
  "$BASE/v1/describe")
[ "$code" = 200 ] || fail "describe answered $code: $(cat "$DIR/body")"
grep -q '"description":"[^"]*I see 1 image' "$DIR/body" || fail "no description: $(cat "$DIR/body")"
grep -q '"key":"[A-Z]*_API_KEY_[0-9]' "$DIR/body" || fail "the describe answer names no key variable"

# No secret of the .env in any output.
while IFS='=' read -r name value; do
  case $name in *_API_KEY*) ;; *) continue ;; esac
  for f in serve.log access.log headers body; do
    grep -qF -- "$value" "$DIR/$f" && fail "$name leaked into $f"
  done
done <"$DIR/.env"

# SIGHUP: the keys are reloaded, state kept.
kill -HUP $SERVE
for _ in $(seq 50); do grep -q 'keys reloaded' "$DIR/access.log" && break; sleep 0.1; done
grep -q 'keys reloaded (0 added, 0 removed)' "$DIR/access.log" || fail "SIGHUP did not reload the keys"

# SIGTERM with requests in flight (the mock answers after 10-60 ms): every
# one of them is answered, then serve prints the final table and exits 0.
CHATS=()
for i in $(seq 8); do
  chat auto >"$DIR/code.$i" &
  CHATS+=($!)
done
sleep 0.02
kill -TERM $SERVE
wait $SERVE
rc=$?
wait "${CHATS[@]}"
[ $rc = 0 ] || fail "serve exited $rc after SIGTERM"
for i in $(seq 8); do
  c=$(cat "$DIR/code.$i")
  # Refused before it was read (connection closed: 000) is not lost; cut off after acceptance would be.
  [ "$c" = 200 ] || [ "$c" = 000 ] || fail "request $i answered $c during the drain"
done
grep -q 'requests answered' "$DIR/serve.log" || fail "no final statistics after SIGTERM"
grep -q 'API KEY STATISTICS' "$DIR/serve.log" || fail "no final table after SIGTERM"
# TLS: a certificate made now; curl verifying it gets answers, plain HTTP
# to the TLS port fails without harm; a key that does not match is refused.
if command -v openssl >/dev/null; then
  for n in 1 2; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$DIR/key$n.pem" -out "$DIR/cert$n.pem" 2>/dev/null ||
      fail "openssl could not make a certificate"
  done
  "$KEYPOOL" serve --env "$DIR/.env" --ignore-environment --state none --listen 127.0.0.1:0 --stats-every 0 \
    --tls-cert "$DIR/cert1.pem" --tls-key "$DIR/key1.pem" >"$DIR/tls.log" 2>"$DIR/tls-access.log" &
  PIDS+=($!)
  URL=$(bound_url https "$DIR/tls.log")
  [ -n "$URL" ] || fail "serve with --tls-cert printed no https URL"
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DIR/cert1.pem" "$URL/healthz")" = 200 ] ||
    fail "curl --cacert to the TLS port failed"
  curl -s -m 5 -o /dev/null "http://${URL#https://}/healthz" && fail "plain HTTP to the TLS port answered"
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DIR/cert1.pem" "$URL/healthz")" = 200 ] ||
    fail "the TLS port stopped answering after a plain HTTP client"
  "$KEYPOOL" serve --env "$DIR/.env" --ignore-environment --state none --listen 127.0.0.1:0 \
    --tls-cert "$DIR/cert1.pem" --tls-key "$DIR/key2.pem" >"$DIR/mismatch.out" 2>&1 &&
    fail "serve started with a key that does not match its certificate"
  grep -q "key2.pem" "$DIR/mismatch.out" || fail "the mismatch error does not name the key file: $(cat "$DIR/mismatch.out")"
  grep -q "PRIVATE KEY" "$DIR/mismatch.out" && fail "the mismatch error quotes key material"
fi
echo "1 passed, 0 failed"
