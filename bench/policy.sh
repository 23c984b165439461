#!/usr/bin/env bash
# Compares Bulwark's policy engine with OPA and cedar-go in one run: the
# equality test, the differential test against @cloud-copilot/iam-simulate
# (skipped unless `npm ci` has been run in bench/policy/difftest), then the
# three benchmarks in one process with their ratios to Bulwark.
#   bench/policy.sh [-benchtime 2s] [-n 1000]
set -euo pipefail
cd "$(dirname "$0")/policy"
go test -count=1 -v -run 'TestEnginesAgree|TestBulwarkAllocs|TestDifferentialIAMSimulate' .
echo
go run ./cmd/compare "$@"
