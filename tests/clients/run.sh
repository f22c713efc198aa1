#!/usr/bin/env bash
# Runs node test files of tests/clients against the keypool program.
# Usage: run.sh PATH/TO/keypool FILE.test.mjs... (exit 77: node is missing).
# The npm packages come from `npm ci` here (make deps-test runs it).
set -euo pipefail
command -v node >/dev/null || { echo "skipped: node is missing"; exit 77; }
KEYPOOL=$(realpath "$1")
shift
cd "$(dirname "$0")"
if [ ! -d node_modules/openai ] || [ ! -d node_modules/@anthropic-ai/sdk ]; then
  echo "FAIL: tests/clients/node_modules is missing: run 'npm ci' in tests/clients (make deps-test does)"
  exit 1
fi
export KEYPOOL
exec node --test --test-reporter=spec "$@"
