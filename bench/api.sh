#!/usr/bin/env bash
# Measures signed API throughput (GetCallerIdentity, an IAM read, AssumeRole,
# Secrets Manager GetSecretValue, ...) against the same server's /healthz in
# one run: builds bulwark, starts it on a fresh SQLite store in a temporary
# directory, runs bench/apibench, stops the server.
#   bench/api.sh [--noop-audit] [-c 8] [-d 10s]
# --noop-audit starts the server with the benchmark-only no-op audit sink
# (BULWARK_AUDIT_DISABLE_FOR_BENCHMARK=true, refused off loopback): the
# baseline that bench/audit.sh compares the audit trail with.
set -euo pipefail
cd "$(dirname "$0")/.."
serverenv=()
if [[ "${1:-}" == "--noop-audit" ]]; then
	serverenv=(BULWARK_AUDIT_DISABLE_FOR_BENCHMARK=true)
	shift
fi
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/bulwark" ./cmd/bulwark
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env "${serverenv[@]}" "$tmp/bulwark" server --listen "127.0.0.1:$port" --data-dir "$tmp/data" --log-level warn &
pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
go run ./bench/apibench -endpoint "http://127.0.0.1:$port" -credentials "$tmp/data/credentials" "$@"
