#!/usr/bin/env bash
# Measures what the audit trail costs: builds bulwark, starts two servers on
# fresh SQLite stores, one with the durable hash-chained trail and one with
# the benchmark-only no-op sink (BULWARK_AUDIT_DISABLE_FOR_BENCHMARK, see
# bench/api.sh --noop-audit), and runs bench/auditbench against both,
# alternating.
#   bench/audit.sh [-c 8] [-d 5s] [-rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/bulwark" ./cmd/bulwark
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # name port [env...]
	local name=$1 port=$2; shift 2
	env "$@" "$tmp/bulwark" server --listen "127.0.0.1:$port" --data-dir "$tmp/$name" --log-level warn &
	pids+=($!)
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "server $name not ready" >&2
	exit 1
}
tp=$(free_port); start trail "$tp"
np=$(free_port); start noop "$np" BULWARK_AUDIT_DISABLE_FOR_BENCHMARK=true
go run ./bench/auditbench -trail "http://127.0.0.1:$tp" -trail-credentials "$tmp/trail/credentials" \
	-noop "http://127.0.0.1:$np" -noop-credentials "$tmp/noop/credentials" "$@"
