#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp) with clang into build-fuzz/
# and runs each for FUZZ_SECONDS (default 60). Called by .ci/run.
#
#   fuzz/run.sh                 build + run every target
#   fuzz/run.sh fuzz_dotenv     build + run the named target(s) only
#   FUZZ_SECONDS=10 fuzz/run.sh short runs while developing
#   FUZZ_BUILD_ONLY=1 fuzz/run.sh
#   KEYPOOL_WERROR=ON fuzz/run.sh   warnings are errors (CI sets it)
#
# Seeds come from fuzz/corpus/<target>/ (committed, read-only here); new
# inputs go to build-fuzz/corpus/<target>/ and crashes to
# build-fuzz/artifacts/<target>/. Any crash, leak, sanitizer report,
# timeout or violated invariant fails the script. Turn a crash into a
# regression: copy it into fuzz/corpus/<target>/regress_<what> and add a
# test to tests/hardening/.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX_FUZZ="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-2}"
OUT=build-fuzz
if [ -z "$CXX_FUZZ" ]; then
  echo "fuzz/run.sh: clang++ not found (libFuzzer needs clang; apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

mkdir -p "$OUT"
# The fuzzers use the data layer only: the headers and Boost.JSON.
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -Wall -Wextra -Wpedantic -Iinclude)
case "${KEYPOOL_WERROR:-OFF}" in ON|on|1|TRUE|true|YES|yes) flags+=(-Werror) ;; esac

echo "== building ${#targets[@]} fuzz targets with $CXX_FUZZ (jobs: $JOBS) =="
build_start=$SECONDS
pids=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
  ( "$CXX_FUZZ" "${flags[@]}" "fuzz/$t.cpp" -lboost_json -o "$OUT/$t" ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "built in $((SECONDS - build_start)) s"
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# One libFuzzer process per core (FUZZ_JOBS): each target still gets its
# FUZZ_SECONDS of wall time on a core of its own.
run_one() {
  local t=$1 seeds="fuzz/corpus/$1"
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
  [ -d "$seeds" ] || seeds=""
  "$OUT/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
    "$OUT/corpus/$t" ${seeds:+"$seeds"} >"$OUT/$t.log" 2>&1
}
echo
echo "== running ${#targets[@]} targets, ${SECONDS_EACH} s each, $JOBS at a time =="
run_start=$SECONDS
declare -A pid_of
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.5; done
  run_one "$t" &
  pid_of[$t]=$!
done
failed=()
for t in "${targets[@]}"; do
  echo
  if wait "${pid_of[$t]}"; then
    echo "== $t: passed =="
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$OUT/$t.log" || true
  else
    echo "!! $t FAILED; last lines of $OUT/$t.log:"
    grep -v "^#[0-9]" "$OUT/$t.log" | tail -40
    failed+=("$t")
  fi
done
echo "ran in $((SECONDS - run_start)) s"

echo
if [ ${#failed[@]} -ne 0 ]; then
  echo "== fuzzing FAILED: ${failed[*]} (inputs in $OUT/artifacts/) =="
  exit 1
fi
echo "== fuzzing passed: ${targets[*]} =="
