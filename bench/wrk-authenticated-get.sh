#!/usr/bin/env bash
# Requests/s of an authenticated GET (/v1/me: bearer key check against the
# SQLite store, JSON answer, access log line, metrics) on ONE server core.
#
# Method: the gateway runs with one worker (http.threads=1) and one socket
# thread (the one CPU it may use), pinned to CPU 0 with taskset; wrk runs pinned to CPU 1 (2 connections per thread is not enough
# to saturate, so 32 keep-alive connections). Logs go to a file, as in
# production. Loopback only; bounded to DURATION seconds.
#   bench/wrk-authenticated-get.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
scripts/install-deps --bench
bin=build/release/src/consentry
[[ -x "$bin" ]] || scripts/build release
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" tenant create --data-dir "$work/data" --name bench --json >/dev/null
token="$("$bin" apikey create --data-dir "$work/data" --tenant bench --name wrk --scope admin --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
env CONSENTRY_HTTP_THREADS=1 ${WRK_EXTRA_ENV:-} CONSENTRY_LOG_FILE="$work/consentry.log" \
  taskset -c 0 "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 --ready-file "$work/ready" >/dev/null &
pid=$!
for _ in $(seq 100); do [[ -s "$work/ready" ]] && break; sleep 0.05; done
port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/ready")"
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency \
  -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/me"
