#!/bin/sh
# ctest example.redis_fleet: runs the example against a throwaway
# redis-server (free 127.0.0.1 port, temp dir, persistence off) and stops it
# afterwards. Exits 77 (ctest: skipped) when redis-server is not installed;
# KEYPOOL_REDIS_SERVER names another binary, as for tests/redis.
#
#   sh run_with_redis_server.sh path/to/example_redis_fleet
set -u
example=${1:?usage: run_with_redis_server.sh path/to/example_redis_fleet}

server=${KEYPOOL_REDIS_SERVER:-}
if [ -z "$server" ]; then
  server=$(PATH="$PATH:/usr/sbin:/sbin" command -v redis-server) || server=
fi
if [ -z "$server" ] || [ ! -x "$server" ]; then
  echo "redis-server not found (install Debian's redis-server package, or set KEYPOOL_REDIS_SERVER): example.redis_fleet skipped"
  exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/keypool_example_redis_XXXXXX") || exit 1
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A random high port; another one if it was taken (the server exits at once).
attempt=0
while :; do
  attempt=$((attempt + 1))
  port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000 ))
  : >"$dir/redis.log"
  "$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no --protected-mode yes &
  pid=$!
  i=0
  while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null &&
        ! grep -q "Ready to accept connections" "$dir/redis.log"; do
    sleep 0.05
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    break
  fi
  wait "$pid" 2>/dev/null
  pid=
  if [ $attempt -ge 5 ]; then
    echo "redis-server did not start; its log:"
    cat "$dir/redis.log"
    exit 1
  fi
done

REDIS_URL="redis://127.0.0.1:$port" "$example"
