# Shared by the HTTP benchmarks: a fresh data directory with one tenant, a
# gateway serving it pinned to CPU 0, and a channel. Source it from the
# repository root after `set -euo pipefail`.
#
#   bench_start_gateway SCOPES [NAME=VALUE ...]
#       sets work (removed on exit, the gateway killed), token (an API key
#       with SCOPES), pid and port; extra arguments are environment entries
#       for the gateway (logs go to "$work/consentry.log").
#   bench_add_channel   sets channel: phone_number_id 100000000000002, app
#                       secret "bench-secret".
#   ticks               the gateway's CPU time so far, in clock ticks (user
#                       + system, from /proc).

bench_start_gateway() {
  local scopes="$1"
  shift
  bin=build/release/src/consentry
  work="$(mktemp -d)"
  trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
  export CONSENTRY_MASTER_KEY="$(openssl rand -hex 32)"
  "$bin" tenant create --data-dir "$work/data" --name bench --json >/dev/null
  token="$("$bin" apikey create --data-dir "$work/data" --tenant bench --name bench --scope "$scopes" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
  env "$@" CONSENTRY_LOG_FILE="$work/consentry.log" \
    taskset -c 0 "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 --ready-file "$work/ready" >/dev/null &
  pid=$!
  for _ in $(seq 100); do [[ -s "$work/ready" ]] && break; sleep 0.05; done
  port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/ready")"
}

bench_add_channel() {
  channel="$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"phone_number_id":"100000000000002","waba_id":"100000000000001","access_token":"t","app_secret":"bench-secret","verify_token":"v"}' \
    "http://127.0.0.1:$port/v1/channels" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
}

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
