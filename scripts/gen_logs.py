#!/usr/bin/env python3
"""Generate realistic nginx error.log and access.log files for `make bench`.

usage: gen_logs.py OUT_DIR TOTAL_MIB

About a quarter of the bytes go to error.log (a mix of every upstream failure class plus ordinary
notices), the rest to access.log in the `upstream` log_format below (mostly 200s, with 502, 504 and
499 lines carrying real upstream timing signatures). Deterministic: the same seed gives the same files.
"""
import os
import random
import sys

ACCESS_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" ua="$upstream_addr" us="$upstream_status" '
    'uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" '
    'rid=$request_id'
)

UPSTREAMS = ["10.0.1.%d:8080" % i for i in range(1, 9)] + ["unix:/run/php/php8.2-fpm.sock"]
PATHS = ["/", "/api/v1/orders", "/api/v1/users/42", "/checkout", "/static/app.js", "/login",
         "/search?q=shoes", "/health", "/api/v1/cart/items", "/images/banner.png"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "curl/8.5.0", "Go-http-client/1.1", "kube-probe/1.29"]
ERRORS = [
    ("error", "connect() failed (111: Connection refused) while connecting to upstream"),
    ("error", "upstream prematurely closed connection while reading response header from upstream"),
    ("error", "recv() failed (104: Connection reset by peer) while reading response header from upstream"),
    ("error", "upstream timed out (110: Connection timed out) while reading response header from upstream"),
    ("error", "upstream sent too big header while reading response header from upstream"),
    ("warn", "upstream server temporarily disabled while connecting to upstream"),
    ("error", "no live upstreams while connecting to upstream"),
    ("crit", "connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream"),
    ("error", "writev() failed (32: Broken pipe) while sending request to upstream"),
    ("error", 'upstream sent invalid header: "X-Bad\\x01..." while reading response header from upstream'),
]
NOTICES = [
    '[notice] 1#1: signal process started',
    '[error] 31#31: *9 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 198.51.100.7, server: shop.example.com, request: "GET /favicon.ico HTTP/1.1", host: "shop.example.com"',
    '[info] 31#31: *12 client closed connection while waiting for request, client: 198.51.100.7, server: 0.0.0.0:443',
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def error_lines(rng, n):
    out = []
    for i in range(n):
        sec = i % 86400
        ts = "2026/05/01 %02d:%02d:%02d" % (sec // 3600, sec // 60 % 60, sec % 60)
        if rng.random() < 0.15:
            out.append("%s %s" % (ts, rng.choice(NOTICES)))
            continue
        level, msg = rng.choice(ERRORS)
        up = rng.choice(UPSTREAMS)
        if "no live" in msg:
            upstream = "http://backend%s" % rng.choice(PATHS)
        elif up.startswith("unix:"):
            upstream = "fastcgi://%s:" % up
        else:
            upstream = "http://%s%s" % (up, rng.choice(PATHS))
        out.append(
            '%s [%s] %d#%d: *%d %s, client: 203.0.113.%d, server: shop.example.com, '
            'request: "GET %s HTTP/1.1", upstream: "%s", host: "shop.example.com"'
            % (ts, level, 30 + i % 4, 30 + i % 4, 1000 + i, msg, i % 250, rng.choice(PATHS), upstream)
        )
    return out


def access_lines(rng, n):
    out = []
    for i in range(n):
        sec = i % 86400
        ts = "01/May/2026:%02d:%02d:%02d +0000" % (sec // 3600, sec // 60 % 60, sec % 60)
        r = rng.random()
        up = rng.choice(UPSTREAMS[:8])
        if r < 0.94:
            status, uct, uht, urt = 200, "0.00%d" % rng.randint(0, 4), "0.0%02d" % rng.randint(1, 99), "0.0%02d" % rng.randint(1, 99)
        elif r < 0.96:
            status, uct, uht, urt = 502, "-", "-", "0.000"
        elif r < 0.975:
            status, uct, uht, urt = 502, "0.000", "-", "0.012"
        elif r < 0.98:
            status, uct, uht, urt = 502, "0.001", "0.210", "0.211"
        elif r < 0.99:
            status, uct, uht, urt = 504, "0.001", "-", "60.001"
        elif r < 0.995:
            status, uct, uht, urt = 499, "0.001", "-", "12.000"
        else:
            status, uct, uht, urt = 404, "0.001", "0.004", "0.004"
        out.append(
            '198.51.100.%d - - [%s] "GET %s HTTP/1.1" %d %d "https://shop.example.com/" "%s" '
            'ua="%s" us="%d" uct="%s" uht="%s" urt="%s" rid=%032x'
            % (i % 250, ts, rng.choice(PATHS), status, rng.randint(0, 50000), rng.choice(AGENTS),
               up, status, uct, uht, urt, rng.getrandbits(128))
        )
    return out


def fill(path, target, make, rng):
    written = 0
    with open(path, "w") as f:
        while written < target:
            block = "\n".join(make(rng, 20000)) + "\n"
            f.write(block)
            written += len(block)
    return written


def main():
    out_dir, total_mib = sys.argv[1], int(sys.argv[2])
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(502)
    total = total_mib * 1024 * 1024
    e = fill(os.path.join(out_dir, "error.log"), total // 4, error_lines, rng)
    a = fill(os.path.join(out_dir, "access.log"), total - total // 4, access_lines, rng)
    with open(os.path.join(out_dir, "access.format"), "w") as f:
        f.write(ACCESS_FORMAT)
    print("generated %.0f MiB error.log + %.0f MiB access.log in %s" % (e / 2**20, a / 2**20, out_dir))


if __name__ == "__main__":
    main()
