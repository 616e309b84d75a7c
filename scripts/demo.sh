#!/usr/bin/env bash
# The demo, in two parts:
# 1. live: a real nginx on loopback in front of a dead upstream, then `cloud502 probe` on it.
#    cloud502 should name nginx as the layer that made the 502 and point at its error.log.
# 2. offline: the bundled incident in examples/incident/ (a `nginx -T` dump, error.log and
#    access.log captured from a real run), diagnosed with `cloud502 nginx`, and written as an
#    HTML report to target/demo/incident.html (or $DEMO_HTML).
set -euo pipefail

BIN=${1:-target/debug/cloud502}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX_BIN=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PREFIX=$(mktemp -d)
NGINX_PID=""
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    rm -rf "$PREFIX"
}
trap cleanup EXIT

PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/tmp"
sed -e "s#@PREFIX@#$PREFIX#g" -e "s#@PORT@#$PORT#g" -e "s#@UPSTREAM_PORT@#$UPSTREAM_PORT#g" \
    "$ROOT/examples/demo/nginx.conf" > "$PREFIX/conf/nginx.conf"

"$NGINX_BIN" -p "$PREFIX" -e "$PREFIX/logs/error.log" -c "$PREFIX/conf/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.05
done

URL="http://127.0.0.1:$PORT/checkout"
echo "demo: nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*: //') on 127.0.0.1:$PORT, upstream 127.0.0.1:$UPSTREAM_PORT is down" >&2
echo "demo: \$ cloud502 probe $URL" >&2
echo >&2

set +e
"$BIN" probe "$URL" -o table
CODE=$?
LAYER=$("$BIN" probe "$URL" -o json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["probes"][0]["fingerprint"]["answered_by"], r["findings"][0]["code"])')
set -e

echo >&2
echo "demo: nginx's own error.log says:" >&2
grep -m1 'connect() failed' "$PREFIX/logs/error.log" | sed 's/^/  /' >&2 || true
if [ "$CODE" -eq 1 ] && [ "$LAYER" = "nginx nginx-502" ]; then
    echo "demo: ok: cloud502 named nginx as the layer that made the 502 (exit code 1: findings)" >&2
else
    echo "demo: FAILED: expected exit 1 and 'nginx nginx-502', got exit $CODE and '$LAYER'" >&2
    exit 1
fi

INCIDENT="$ROOT/examples/incident"
echo >&2
echo "demo: part 2, offline: the bundled incident (nginx -T dump, error.log, access.log)" >&2
echo "demo: \$ cloud502 nginx --dump examples/incident/nginx-T.txt --error-log examples/incident/error.log --access-log examples/incident/access.log --no-probe" >&2
echo >&2
set +e
"$BIN" nginx --dump "$INCIDENT/nginx-T.txt" --error-log "$INCIDENT/error.log" \
    --access-log "$INCIDENT/access.log" --no-probe -o table
CODE=$?
TOP=$("$BIN" nginx --dump "$INCIDENT/nginx-T.txt" --error-log "$INCIDENT/error.log" \
    --access-log "$INCIDENT/access.log" --no-probe -o json -q | python3 -c 'import json,sys; print(json.load(sys.stdin)["findings"][0]["code"])')
set -e
echo >&2
if [ "$CODE" -eq 1 ] && [ "$TOP" = "nginx-unix-socket-failed" ]; then
    echo "demo: ok: the incident's main cause is php-fpm's missing socket, then the API pool marked down (exit code 1)" >&2
else
    echo "demo: FAILED: expected exit 1 and nginx-unix-socket-failed, got exit $CODE and '$TOP'" >&2
    exit 1
fi

# The same diagnosis as one self-contained HTML page (open it in any browser; it fetches nothing).
HTML_OUT=${DEMO_HTML:-$ROOT/target/demo/incident.html}
mkdir -p "$(dirname "$HTML_OUT")"
set +e
"$BIN" nginx --dump "$INCIDENT/nginx-T.txt" --error-log "$INCIDENT/error.log" \
    --access-log "$INCIDENT/access.log" --no-probe -o html -q > "$HTML_OUT"
HTML_CODE=$?
set -e
if [ "$HTML_CODE" -eq 1 ] && grep -q 'data-failing="true"' "$HTML_OUT"; then
    echo "demo: wrote the HTML report to $HTML_OUT ($(wc -c < "$HTML_OUT") bytes)" >&2
else
    echo "demo: FAILED: the HTML report (exit $HTML_CODE) at $HTML_OUT has no failing hop" >&2
    exit 1
fi
