#!/usr/bin/env bash
# The floor under every HTTP figure on this machine: requests/s and server CPU
# per request of the cheapest exchanges the gateway serves, on ONE server core.
#   - GET /healthz: parse a request, write a fixed 40-byte JSON answer;
#   - POST of a forged 1 KB webhook: read the body, check the signature in
#     constant time, answer 401 (nothing parsed or stored).
# Whatever a route does on top of these costs more than them, so no route can
# go faster than this on the same machine.
#
# Method: as bench/whatsapp-bench.sh (gateway pinned to CPU 0, default
# threads; wrk pinned to CPU 1, 64 keep-alive connections). Loopback only;
# bounded in time. Prints, per phase, wrk's rate and p99 and the server's CPU
# microseconds per request (from /proc, user + system).
#   bench/http-floor.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
connections="${2:-64}"
scripts/install-deps --bench
[[ -x build/release/src/consentry ]] || scripts/build release
source bench/lib.sh
bench_start_gateway admin CONSENTRY_LOG_LEVEL=warn
bench_add_channel
# A forged signature: the gateway must read and hash the whole body to refuse it.
python3 - >"$work/forged.lua" <<'PY'
body = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"x":"' + 'a' * 1000 + '"}}]}]}'
print('wrk.method = "POST"')
print('wrk.body = %r' % body)
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["X-Hub-Signature-256"] = "sha256=' + '0' * 64 + '"')
PY
hz="$(getconf CLK_TCK)"
# Runs wrk with the given arguments and prints one JSON line for the phase.
phase() {
  local name="$1" before after out
  shift
  before="$(ticks)"
  out="$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$@")"
  after="$(ticks)"
  python3 -c 'import json,re,sys
out = sys.argv[2]
rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out)
p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
n = rate * int(sys.argv[6])
cpu_us = (int(sys.argv[4]) - int(sys.argv[3])) / int(sys.argv[5]) * 1e6 / n if n else None
print(json.dumps({"phase": sys.argv[1], "requests_per_s": round(rate), "p99_ms": round(p99_ms, 2),
                  "server_cpu_us_per_request": round(cpu_us, 1) if cpu_us else None}))' \
    "$name" "$out" "$before" "$after" "$hz" "$duration"
}
phase healthz "http://127.0.0.1:$port/healthz"
phase forged_webhook_401 -s "$work/forged.lua" "http://127.0.0.1:$port/webhooks/whatsapp/$channel"
