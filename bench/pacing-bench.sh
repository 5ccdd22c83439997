#!/usr/bin/env bash
# Pacing: does the dispatcher hold a number to its configured throughput
# without a single 130429? Starts `serve --demo` (gateway + sandbox, whose
# limit is the same 80/s), has N distinct customers write (each first
# contact also gets the demo tenant's information notice), queues a reply to
# each, and
# samples the sandbox's accepted and throttled counters once a second.
#   bench/pacing-bench.sh [MESSAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
messages="${1:-2000}"
bin=build/release/src/consentry
load=build/release/bench/consentry_whatsapp_load
[[ -x "$bin" && -x "$load" ]] || scripts/build release
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
CONSENTRY_LOG_LEVEL=warn "$bin" serve --demo --data-dir "$work/data" --listen 127.0.0.1:0 --sandbox-listen 127.0.0.1:0 \
  --ready-file "$work/ready" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do [[ -s "$work/ready" ]] && break; sleep 0.05; done
port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/ready")"
key="$(grep -o 'csk_[A-Za-z0-9_-]*' "$work/out")"
sandbox="$(grep -o 'Sandbox: *http://[0-9.:]*' "$work/out" | grep -o 'http://.*')"
python3 - "$port" "$key" "$sandbox" "$messages" <<'PY'
import json, sys, time, urllib.error, urllib.request
port, key, sandbox, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def writes(i):
    # Each recipient writes first: a free-form reply inside the 24-hour
    # window needs no consent (a template would need one per recipient).
    body = json.dumps({"from": "49176%08d" % (30000000 + i), "type": "text", "text": {"body": "hi"}}).encode()
    urllib.request.urlopen(urllib.request.Request(sandbox + "/_sandbox/inbound", body,
                                                  {"Content-Type": "application/json"})).read()
def post(i):
    body = json.dumps({"to": "+49176%08d" % (30000000 + i), "type": "text",
                       "text": {"body": "Your order has shipped."}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", body,
                                 {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    for attempt in range(100):
        try:
            urllib.request.urlopen(req).read()
            return
        except urllib.error.HTTPError as e:
            if e.code != 422 or attempt == 99: raise  # template_required: the inbound is not in yet
            time.sleep(0.05)
def stats():
    return json.load(urllib.request.urlopen(sandbox + "/_sandbox/stats"))
for i in range(n): writes(i)
for i in range(n): post(i)
samples = []
start = time.time()
while True:
    s = stats(); samples.append((time.time(), s["accepted"], s["throttled"]))
    if s["accepted"] >= n or time.time() - start > n / 40 + 30: break
    time.sleep(1)
# The steady part: between 10% and 90% of the messages accepted.
lo = next(x for x in samples if x[1] >= n * 0.1); hi = next((x for x in samples if x[1] >= n * 0.9), samples[-1])
rate = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0
print(json.dumps({"messages": n, "configured_per_s": 80, "measured_per_s": round(rate, 1),
                  "deviation_pct": round(100 * (rate - 80) / 80, 2), "throttled_130429": samples[-1][2],
                  "accepted": samples[-1][1]}))
PY
