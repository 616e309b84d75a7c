#!/usr/bin/env bash
# Re-capture the bundled incident in examples/incident/ from a real run: nginx (Debian's) on
# loopback in front of a small Python app with one healthy, one slow and one oversized-header
# endpoint, an upstream group with a dead second server, and a PHP location whose php-fpm socket
# is missing. Traffic is driven through nginx; then `nginx -T`, error.log and access.log are saved.
# Not run by the tests: the committed files are what `make demo` diagnoses offline.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX_BIN=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
PREFIX=/tmp/cloud502-incident
OUT="$ROOT/examples/incident"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rm -rf "$PREFIX"; mkdir -p "$PREFIX"/{conf/conf.d,logs,tmp,run}
PORT=$(free_port); APP=$(free_port); DEAD=$(free_port)

cat > "$PREFIX/app.py" <<PY
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/api/report"):
            time.sleep(3)
        body = b'{"ok":true}'
        self.send_response(200)
        if self.path.startswith("/api/profile"):
            self.send_header("Set-Cookie", "session=" + "x" * 12000)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", $APP), H).serve_forever()
PY
python3 "$PREFIX/app.py" & APP_PID=$!

cat > "$PREFIX/conf/nginx.conf" <<CONF
worker_processes 1;
error_log $PREFIX/logs/error.log;
pid $PREFIX/nginx.pid;
events { worker_connections 1024; }
http {
    log_format upstream '\$remote_addr - \$remote_user [\$time_local] "\$request" '
                        '\$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" '
                        'ua="\$upstream_addr" us="\$upstream_status" uct="\$upstream_connect_time" '
                        'uht="\$upstream_header_time" urt="\$upstream_response_time" rid=\$request_id';
    access_log $PREFIX/logs/access.log upstream;
    client_body_temp_path $PREFIX/tmp;
    proxy_temp_path $PREFIX/tmp;
    fastcgi_temp_path $PREFIX/tmp;
    uwsgi_temp_path $PREFIX/tmp;
    scgi_temp_path $PREFIX/tmp;
    include conf.d/*.conf;
}
CONF
cat > "$PREFIX/conf/conf.d/shop.conf" <<CONF
upstream shop_api {
    server 127.0.0.1:$APP;
    server 127.0.0.1:$DEAD;
    keepalive 16;
}

server {
    listen 127.0.0.1:$PORT;
    server_name shop.example.com;

    location /api/ {
        proxy_pass http://shop_api;
        proxy_read_timeout 1s;
    }

    location ~ \.php$ {
        include fastcgi_params;
        fastcgi_pass unix:$PREFIX/run/php-fpm.sock;
    }
}
CONF
cp /etc/nginx/fastcgi_params "$PREFIX/conf/" 2>/dev/null || touch "$PREFIX/conf/fastcgi_params"

"$NGINX_BIN" -p "$PREFIX" -e "$PREFIX/logs/error.log" -c "$PREFIX/conf/nginx.conf" -g 'daemon off;' & NGINX_PID=$!
trap 'kill $NGINX_PID $APP_PID 2>/dev/null || true' EXIT
sleep 1

hit() { curl -s -o /dev/null -H 'Host: shop.example.com' -A 'Mozilla/5.0 (incident-replay)' "http://127.0.0.1:$PORT$1" || true; }
for i in $(seq 1 6); do hit /api/orders; hit /api/cart; done
for i in $(seq 1 14); do hit /index.php; hit /checkout.php; done
for i in $(seq 1 4); do hit /api/profile; done
for i in $(seq 1 3); do hit /api/report; done
for i in $(seq 1 5); do hit /api/orders; done

"$NGINX_BIN" -T -p "$PREFIX" -e stderr -c "$PREFIX/conf/nginx.conf" > "$OUT/nginx-T.txt" 2>&1
cp "$PREFIX/logs/error.log" "$OUT/error.log"
cp "$PREFIX/logs/access.log" "$OUT/access.log"
echo "captured $(wc -l < "$OUT/error.log") error.log and $(wc -l < "$OUT/access.log") access.log lines in $OUT" >&2
