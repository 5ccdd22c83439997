#!/usr/bin/env bash
# An operator's session against an API key on the same route (GET /v1/me),
# in one run (farm-bench pairs the two commands A B A B …): each command is
# one curl process sending REQUESTS requests over one keep-alive connection.
# Also times one argon2id login (the password step) at the chosen cost.
#   bench/session-vs-key.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-500}"
[[ -x build/release/src/consentry ]] || scripts/build release
source bench/lib.sh
bench_start_gateway admin CONSENTRY_LOG_LEVEL=warn CONSENTRY_LIMITS_KEY_PER_SECOND=0 CONSENTRY_LIMITS_TENANT_PER_SECOND=0 \
  CONSENTRY_LIMITS_ADDRESS_PER_MINUTE=0
base="http://127.0.0.1:$port"
invite="$("$bin" operator create --data-dir "$work/data" --tenant bench --login bench@example.org --role admin --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["invitation_token"])')"
curl -sf -H 'Content-Type: application/json' -d "{\"token\":\"$invite\",\"password\":\"violet otter lamp\"}" \
  "$base/v1/invitations/accept" >/dev/null
login() {
  curl -sf -c "$work/cookies" -H 'Content-Type: application/json' \
    -d '{"login":"bench@example.org","password":"violet otter lamp"}' "$base/v1/auth/login"
}
secret="$(login | python3 -c 'import json,sys,re; u=json.load(sys.stdin)["enrollment"]["otpauth_uri"]; print(re.search("secret=([A-Z2-7]+)",u).group(1))')"
code() {
  python3 - "$secret" <<'PY'
import base64, hmac, hashlib, struct, sys, time
s = sys.argv[1]; key = base64.b32decode(s + "=" * (-len(s) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15; print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}
curl -sf -b "$work/cookies" -c "$work/cookies" -H 'Content-Type: application/json' -d "{\"code\":\"$(code)\"}" \
  "$base/v1/auth/mfa" >/dev/null
cookie="$(awk '$6 == "cs_session" {print "cs_session=" $7}' "$work/cookies")"
urls=()
for _ in $(seq "$requests"); do urls+=("$base/v1/me"); done
printf '%s\n' "${urls[@]}" | sed 's/^/url = /' > "$work/urls"
echo "# $requests × GET /v1/me over one connection: A = session cookie, B = API key"
farm-bench -n 9 --pin 1 --vs "curl -sf -K $work/urls -H 'Authorization: Bearer $token'" \
  -- curl -sf -K "$work/urls" -H "Cookie: $cookie"
echo "# the password step of a login (argon2id, 64 MiB, 3 passes), one request each"
farm-bench -n 9 --pin 1 -- curl -sf -o /dev/null -H 'Content-Type: application/json' \
  -d '{"login":"bench@example.org","password":"violet otter lamp"}' "$base/v1/auth/login"
