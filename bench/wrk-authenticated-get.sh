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
[[ -x build/release/src/consentry ]] || scripts/build release
source bench/lib.sh
# WRK_EXTRA_ENV: more NAME=VALUE entries for the gateway, space-separated.
# shellcheck disable=SC2086
bench_start_gateway admin CONSENTRY_HTTP_THREADS=1 ${WRK_EXTRA_ENV:-}
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency \
  -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/me"
