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
tp=$(free_port); start trail "$tp"; tpid=${pids[-1]}
np=$(free_port); start noop "$np" BULWARK_AUDIT_DISABLE_FOR_BENCHMARK=true; npid=${pids[-1]}
go build -o "$tmp/auditbench" ./bench/auditbench
# CPU seconds (user + system) a process has used: robust to other jobs on a
# shared machine, unlike throughput.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
t0=$(cpu "$tpid"); n0=$(cpu "$npid")
"$tmp/auditbench" -trail "http://127.0.0.1:$tp" -trail-credentials "$tmp/trail/credentials" \
	-noop "http://127.0.0.1:$np" -noop-credentials "$tmp/noop/credentials" "$@" | tee "$tmp/out"
t1=$(cpu "$tpid"); n1=$(cpu "$npid")
read -r nreq treq < <(sed -n 's/^requests: noop=\([0-9]*\) trail=\([0-9]*\)$/\1 \2/p' "$tmp/out")
awk -v t0="$t0" -v t1="$t1" -v n0="$n0" -v n1="$n1" -v tr="$treq" -v nr="$nreq" 'BEGIN {
	t = t1 - t0; n = n1 - n0
	printf "server CPU per request: no-op %.0f us, trail %.0f us (x%.2f)\n", 1e6*n/nr, 1e6*t/tr, (t/tr)/(n/nr) }'
