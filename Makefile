# keypool — one-command workflows on a fresh Debian 12.
#
#   make demo        install deps, build and run examples/demo
#   make test        install deps, build everything, run all tests (ctest)
#   make release     Release (-O3) build of the benchmarks, examples and tools;
#                    run the examples (CI does, with KEYPOOL_WERROR=ON)
#   make bench       Release build, run the benchmarks
#   make bench-smoke run each benchmark briefly, Release build (only checks they run)
#   make bench-chart Release pool benchmark -> docs/benchmarks-pool.png (idle machine!)
#   make bench-gateway keypool serve vs the Portkey gateway (npm) over one mock:
#                    added latency, req/s, CPU, RSS (benchmarks/gateway/run.sh)
#   make tsan        ThreadSanitizer build of the TSAN_FOLDERS tests, run them
#   make asan        AddressSanitizer + UBSan build, run all tests
#   make soak        the soak test at full length (60 s)
#   make meson-test  the same tests through Meson
#   make format      clang-format every C++ file in place (.clang-format)
#   make format-check fail if any C++ file is not formatted (CI runs it)
#   make clean       remove all build directories
#
# Variables: JOBS (default 2), BENCH_FILTER (regex, default all),
#            KEYPOOL_WERROR (ON: warnings are errors in every build here,
#            CMake, Meson and fuzz/run.sh; default OFF, CI sets ON),
#            TSAN_CXX (default clang++ when present, else g++),
#            SOAK_SECONDS (soak length under `make tsan`/`asan`, default 5),
#            TSAN_FOLDERS / ASAN_FOLDERS (test folders the sanitizer builds run),
#            CMAKE_ARGS (extra cmake options for the first `configure`, e.g.
#            -DKEYPOOL_SOAK_SECONDS=60 for the soak under ctest),
#            MESON_BUILDTYPE (default debugoptimized; CI uses plain = -O0,
#            about half the compile time of the Beast-heavy http tests),
#            MESON_OPTIONS (e.g. -Dbenchmarks=disabled, as CI does),
#            PYTHON (for bench-chart; default /usr/bin/python3, which sees
#            the Debian python3-matplotlib).

SHELL := /bin/bash
.DEFAULT_GOAL := build

JOBS         ?= 2
BUILD_DIR    ?= build
# The Release build the benchmarks run from (CI points it at its one build).
RELEASE_DIR  ?= build-release
BENCH_FILTER ?= .
MESON_BUILDTYPE ?= debugoptimized
SOAK_SECONDS ?= 5
# Test folders `make asan` builds and runs (all of them by default).
ASAN_FOLDERS ?= core stress soak config hardening integration http redis sqlite
# Test folders `make tsan` builds and runs (the concurrent core by default).
TSAN_FOLDERS ?= core stress soak sqlite
# Sanitizer builds: -O1 (the sanitizers' recommended level; half the compile
# time of -O2 on Beast-heavy TUs) with line tables for the reports' stacks.
SANITIZER_FLAGS := '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG'
CMAKE_ARGS ?=
MESON_OPTIONS ?=
KEYPOOL_WERROR ?= OFF
WERROR_ARG := -DKEYPOOL_WERROR=$(KEYPOOL_WERROR)
MESON_WERROR := $(if $(filter ON on 1 TRUE true YES yes,$(KEYPOOL_WERROR)),true,false)
CMAKE_QUIET  := --log-level=WARNING -Wno-dev

TSAN_CXX ?= $(shell command -v clang++ >/dev/null 2>&1 && echo clang++ || echo g++)

DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libboost1.81-dev libboost-json1.81-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libssl-dev openssl meson clang libhiredis-dev libsqlite3-dev
# Only the tests need a Redis server (they skip without one); not for `make demo`.
# chromium and nodejs: the upload page's browser test (tests/browser), whose
# playwright-core comes from npm (tests/browser/package-lock.json).
TEST_PACKAGES := redis-server clang-format chromium nodejs
# Only `make bench-chart` needs matplotlib. python3-munkres satisfies
# python3-fonttools' "python3-scipy | python3-munkres": scipy would pull
# python3-pythran -> libboost-dev (1.74), which conflicts with libboost1.81-dev.
CHART_PACKAGES := python3-matplotlib python3-munkres
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Run a test folder's binary only if that folder has sources (else no target).
have_tests = $(wildcard tests/$(1)/*.cpp)

.PHONY: all deps deps-test deps-chart install-packages configure configure-release build test demo \
        release bench bench-build \
        bench-smoke bench-chart bench-gateway tsan asan soak meson-test format format-check clean help

all: build

help:
	@awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' Makefile

# Install missing Debian packages, idempotently and without prompts.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"

deps-test:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES) $(TEST_PACKAGES)"
	@$(MAKE) --no-print-directory deps-test-npm

# The npm packages of the SDK and browser tests (tests/clients, tests/browser):
# node and npm (Debian's, unless a node with npm is there already:
# NodeSource's nodejs bundles npm and conflicts with Debian's npm), then the
# pinned packages, only where node_modules is missing or older than
# package-lock.json.
.PHONY: deps-test-npm
deps-test-npm:
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory install-packages PACKAGES="nodejs npm"
	@for d in tests/clients tests/browser; do \
	  if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules ]; then \
	    echo "deps: npm ci in $$d"; \
	    npm ci --prefix $$d --no-audit --no-fund --ignore-scripts --loglevel=error </dev/null || exit 1; \
	    touch $$d/node_modules; \
	  fi; \
	done

deps-chart:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(CHART_PACKAGES)"

install-packages:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "deps: not a Debian system; install these yourself: $(PACKAGES)"; \
	  exit 0; \
	fi; \
	missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing </dev/null; \
	fi

# -g1 (line tables: enough for backtraces) instead of -g: full debug info
# costs 30 % of the compile time of a Beast-heavy test TU (102 s -> 72 s).
configure: deps
	@test -f $(BUILD_DIR)/build.ninja || \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG' $(WERROR_ARG) $(CMAKE_ARGS) $(CMAKE_QUIET)

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: deps-test build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure --no-label-summary -j$(JOBS)

demo: configure
	@if [ ! -f examples/demo/main.cpp ]; then \
	  echo "make demo: examples/demo/main.cpp does not exist yet (no demo to run)." >&2; \
	  exit 1; \
	fi
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target example_demo
	@./$(BUILD_DIR)/examples/demo/example_demo

bench: bench-build
	@./$(RELEASE_DIR)/benchmarks/keypool_bench --benchmark_filter='$(BENCH_FILTER)'

# build-release: what a user's first `cmake -DCMAKE_BUILD_TYPE=Release` builds
# (-O3), without the tests: benchmarks, examples and tools. The examples are
# its ctest entries.
configure-release: deps
	@test -f $(RELEASE_DIR)/build.ninja || \
	  cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	    -DKEYPOOL_BUILD_TESTS=OFF -DKEYPOOL_HEADER_CHECK=OFF $(WERROR_ARG) $(CMAKE_QUIET)

release: deps-test configure-release
	@cmake --build $(RELEASE_DIR) -j$(JOBS)
	@ctest --test-dir $(RELEASE_DIR) --output-on-failure --no-label-summary -j$(JOBS) -L examples

bench-build: configure-release
	@cmake --build $(RELEASE_DIR) -j$(JOBS) --target keypool_bench

# The chart in docs/benchmarks.md: medians of 3 (as the table there), kept as
# docs/benchmarks-pool.json so the PNG can be redrawn without re-running.
# Run it on an idle machine: other builds skew the numbers.
bench-chart: deps-chart bench-build
	@./$(RELEASE_DIR)/benchmarks/keypool_bench --benchmark_filter='$(BENCH_FILTER)' \
	  --benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out=$(RELEASE_DIR)/pool_bench.json --benchmark_out_format=json
	@cp $(RELEASE_DIR)/pool_bench.json docs/benchmarks-pool.json
	@$(PYTHON) benchmarks/chart.py docs/benchmarks-pool.json docs/benchmarks-pool.png \
	  --title "keypool_bench (benchmarks/pool_bench.cpp): key pool pick + report"

# The gateway benchmark: the Release `keypool` (mock fleet and serve), wrk,
# and the peers from npm (benchmarks/gateway/package-lock.json) into
# benchmarks/gateway/node_modules, installed once. Run it on an idle machine.
bench-gateway: configure-release
	@$(MAKE) --no-print-directory install-packages PACKAGES="wrk curl"
	@command -v npm >/dev/null || { echo "bench-gateway: npm is missing (Node.js 18 or newer with npm)"; exit 1; }
	@cmake --build $(RELEASE_DIR) -j$(JOBS) --target keypool_cli
	@test -f benchmarks/gateway/node_modules/@portkey-ai/gateway/build/start-server.js || \
	  npm ci --prefix benchmarks/gateway --no-audit --no-fund
	@KEYPOOL=$(CURDIR)/$(RELEASE_DIR)/tools/keypool/keypool OUT=$(CURDIR)/$(RELEASE_DIR)/bench-gateway \
	  benchmarks/gateway/run.sh

# Reuses the Release build (`make release`, or RELEASE_DIR): only proves
# every benchmark runs.
bench-smoke: bench-build
	@out=$$(./$(RELEASE_DIR)/benchmarks/keypool_bench --benchmark_min_time=0.01 \
	  --benchmark_filter='$(BENCH_FILTER)' 2>&1) || { echo "$$out"; exit 1; }; \
	echo "bench-smoke: OK ($$(grep -c '^[A-Za-z_].* ns ' <<<"$$out") benchmarks ran)"

tsan: deps-test
	@test -f build-tsan/build.ninja || \
	  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_CXX_COMPILER=$(TSAN_CXX) -DKEYPOOL_SANITIZE=thread $(SANITIZER_FLAGS) \
	    -DKEYPOOL_BUILD_BENCHMARKS=OFF -DKEYPOOL_BUILD_EXAMPLES=OFF -DKEYPOOL_BUILD_TOOLS=OFF \
	    -DKEYPOOL_HEADER_CHECK=OFF $(WERROR_ARG) $(CMAKE_QUIET)
	@folders="$(foreach f,$(TSAN_FOLDERS),$(if $(call have_tests,$(f)),$(f)))"; \
	if [ -z "$${folders// }" ]; then echo "tsan: no tests in $(TSAN_FOLDERS)"; exit 0; fi; \
	targets=""; for f in $$folders; do targets="$$targets keypool_$${f}_tests"; done; \
	cmake --build build-tsan -j$(JOBS) --target $$targets || exit 1; \
	for f in $$folders; do \
	  echo "tsan: keypool_$${f}_tests"; \
	  KEYPOOL_SOAK_SECONDS=$(SOAK_SECONDS) \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
	    ./build-tsan/tests/$$f/keypool_$${f}_tests --gtest_brief=1 || exit 1; \
	done

# The full-length soak (env KEYPOOL_SOAK_SECONDS, default 60; ctest uses 5).
soak: build
	@KEYPOOL_SOAK_SECONDS=$${KEYPOOL_SOAK_SECONDS:-60} \
	  ./$(BUILD_DIR)/tests/soak/keypool_soak_tests --gtest_brief=1

asan: deps-test
	@test -f build-asan/build.ninja || \
	  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    '-DKEYPOOL_SANITIZE=address;undefined' $(SANITIZER_FLAGS) \
	    -DKEYPOOL_BUILD_BENCHMARKS=OFF -DKEYPOOL_BUILD_EXAMPLES=OFF -DKEYPOOL_BUILD_TOOLS=OFF \
	    -DKEYPOOL_HEADER_CHECK=OFF $(WERROR_ARG) $(CMAKE_QUIET)
	@targets=""; labels=""; for f in $(ASAN_FOLDERS); do \
	  if [ -n "$$(ls tests/$$f/*.cpp 2>/dev/null)" ]; then \
	    targets="$$targets keypool_$${f}_tests"; labels="$$labels|^$$f\$$"; fi; done; \
	cmake --build build-asan -j$(JOBS) --target $$targets || exit 1; \
	ASAN_OPTIONS="detect_leaks=1 $$ASAN_OPTIONS" \
	  UBSAN_OPTIONS="print_stacktrace=1 $$UBSAN_OPTIONS" \
	  KEYPOOL_SOAK_SECONDS=$(SOAK_SECONDS) \
	  ctest --test-dir build-asan --output-on-failure --no-label-summary -j$(JOBS) \
	    -L "$${labels#|}"

# Meson cannot glob: re-running setup picks up new test/bench/example files.
meson-test: deps-test
	@if [ -f build-meson/build.ninja ]; then set -- --reconfigure; else set --; fi; \
	out=$$(meson setup "$$@" -Dbuildtype=$(MESON_BUILDTYPE) -Dwerror=$(MESON_WERROR) $(MESON_OPTIONS) build-meson 2>&1) || { echo "$$out"; exit 1; }
	@meson compile -C build-meson -j $(JOBS)
	@meson test -C build-meson --print-errorlogs --num-processes $(JOBS)

# The tracked C++ sources, so build trees and scratch files are never touched.
FORMAT_FILES = $(shell git ls-files '*.hpp' '*.cpp' '*.h' 2>/dev/null)
CLANG_FORMAT ?= $(shell command -v clang-format-14 || command -v clang-format || echo clang-format)

format: deps-test
	@$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check: deps-test
	@$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES) && \
	  echo "format-check: $(words $(FORMAT_FILES)) files formatted as .clang-format says"

clean:
	@rm -rf $(BUILD_DIR) $(RELEASE_DIR) build-tsan build-asan build-meson
