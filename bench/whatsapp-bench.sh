#!/usr/bin/env bash
# Throughput of the WhatsApp path on ONE server core, with durable storage
# (synchronous=FULL, the default) and everything the pipeline does
# (signature, parsing, pseudonyms, sealing, dedupe, audit entries).
#
# Method: the gateway is pinned to CPU 0 (taskset) with its default threads:
# one socket thread (one per usable CPU) runs deliveries and sends, which
# wait on the group commit without holding a thread; 16 workers (THREADS=N
# sets them) run the other API requests. The load generator
# (bench/whatsapp_load.cc: signed ~1 KB-per-message webhooks with unique
# wamids, prepared before the clock starts) runs on CPU 1 over keep-alive
# connections. Loopback only; bounded in time.
#   [THREADS=N] bench/whatsapp-bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
load=build/release/bench/consentry_whatsapp_load
[[ -x build/release/src/consentry && -x "$load" ]] || scripts/build release
source bench/lib.sh
bench_start_gateway admin,messages:send ${THREADS:+CONSENTRY_HTTP_THREADS=$THREADS} CONSENTRY_LOG_LEVEL=warn
bench_add_channel
url="http://127.0.0.1:$port/webhooks/whatsapp/$channel"
# The server's CPU time (ticks, bench/lib.sh): this VM's throughput swings
# by a third from run to run, CPU time per message much less.
hz="$(getconf CLK_TCK)"
# Runs one phase and adds the server's CPU microseconds per message to its JSON line.
phase() {
  local before after line
  before="$(ticks)"
  line="$(taskset -c 1 "$load" "$@")"
  after="$(ticks)"
  python3 -c 'import json,sys
r = json.loads(sys.argv[1]); n = r["messages_per_s"] * r["seconds"]
r["server_cpu_us_per_message"] = round((int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6 / n, 1) if n else None
print(json.dumps(r))' "$line" "$before" "$after" "$hz"
}
echo "# signed single-message webhooks"
phase webhooks "$url" bench-secret 100000000000002 "$duration" "$connections" 1
echo "# signed 10-message webhooks"
phase webhooks "$url" bench-secret 100000000000002 "$duration" "$connections" 10
echo "# outbound replies accepted (POST /v1/messages; the dispatcher has no upstream here)"
phase send "http://127.0.0.1:$port/v1/messages" "$token" "$duration" "$connections"
