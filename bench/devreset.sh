#!/usr/bin/env bash
# Times dev mode's reset with 1,000 users (3,000 rows) present:
# builds bulwark, starts `bulwark server --dev`, runs bench/devreset.
#   bench/devreset.sh [-n 1000] [-rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/bulwark" ./cmd/bulwark
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tmp/bulwark" server --dev --listen "127.0.0.1:$port" --log-level warn 2>/dev/null &
pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
go run ./bench/devreset -endpoint "http://127.0.0.1:$port" "$@"
