#!/usr/bin/env python3
"""Generate realistic nginx error.log and access.log files for `make bench`.

usage: gen_logs.py OUT_DIR TOTAL_MIB
       gen_logs.py --quiet-error OUT_FILE TOTAL_MIB

The first form: about a quarter of the bytes go to error.log (a mix of every upstream failure class
plus ordinary notices), the rest to access.log in the `upstream` log_format below (mostly 200s,
with 502, 504 and 499 lines carrying real upstream timing signatures).

The second form (issue 19's case): one error.log of TOTAL_MIB MiB as a busy server with
`error_log ... info` writes it: mostly info/notice lines about clients (keep-alive closes, clients
that went away, buffered responses, some of which say "upstream" without being a failure) with
about 3% upstream failures at [error]/[warn], a few times out of order by a second as workers
write them.

Deterministic: the same seed gives the same files. The message texts are nginx's own (format
strings in nginx/nginx src/http/ngx_http_request.c at f909a7dc331621a8638ea46056e437b8be1496da,
src/http/ngx_http_upstream.c at b66c18d2d50c53b063cd14a2c3e4c8ff8b1b22a5 and
src/event/ngx_event_pipe.c at fc03bdde05ef82c3e215a0a0d41a1e88419996df); the mix of lines and the
addresses are ours.
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


# Ordinary lines of an `info` error log: (level, message, fields) where fields is the tail nginx
# appends for a request's connection ("" for lines not tied to one).
QUIET = [
    ("info", "client %(ip)s closed keepalive connection", ""),
    ("info", "client closed connection while waiting for request", ", client: %(ip)s, server: 0.0.0.0:443"),
    ("info", "client timed out (110: Connection timed out) while waiting for request", ", client: %(ip)s, server: 0.0.0.0:80"),
    ("info", "client prematurely closed connection while sending response to client",
     ', client: %(ip)s, server: shop.example.com, request: "GET %(path)s HTTP/1.1", host: "shop.example.com"'),
    ("info", "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading response header from upstream",
     ', client: %(ip)s, server: shop.example.com, request: "GET %(path)s HTTP/1.1", upstream: "http://%(up)s%(path)s", host: "shop.example.com"'),
    ("warn", "an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/%(n)d/00/00000%(n)05d while reading upstream",
     ', client: %(ip)s, server: shop.example.com, request: "GET /images/banner.png HTTP/1.1", upstream: "http://%(up)s/images/banner.png", host: "shop.example.com"'),
    ("info", "SSL_read() failed (SSL: error:0A000126:SSL routines::unexpected eof while reading) while waiting for request",
     ", client: %(ip)s, server: 0.0.0.0:443"),
]
QUIET_WEIGHTS = [40, 25, 10, 8, 3, 2, 12]
NOTICE = ["signal process started", "signal 17 (SIGCHLD) received from %(pid)d", "worker process %(pid)d exited with code 0",
          "start worker process %(pid)d", "gracefully shutting down", "exiting", "exit"]


def quiet_error_lines(rng, n, start):
    """n lines of the quiet error log, numbered from start (about 40 lines a second)."""
    out = []
    for k in range(n):
        i = start + k
        sec = i // 40
        if sec > 0 and rng.random() < 0.01:
            sec -= 1  # another worker's line, written a moment late
        sec %= 86400 * 28
        ts = "2026/05/%02d %02d:%02d:%02d" % (1 + sec // 86400, sec // 3600 % 24, sec // 60 % 60, sec % 60)
        pid = 30 + i % 4
        r = rng.random()
        if r < 0.03:
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
                % (ts, level, pid, pid, 1000 + i, msg, i % 250, rng.choice(PATHS), upstream)
            )
        elif r < 0.035:
            out.append("%s [notice] 1#1: %s" % (ts, rng.choice(NOTICE) % {"pid": pid}))
        else:
            level, msg, tail = rng.choices(QUIET, QUIET_WEIGHTS)[0]
            v = {"ip": "198.51.100.%d" % (i % 250), "path": rng.choice(PATHS), "up": rng.choice(UPSTREAMS[:8]), "n": i % 10}
            out.append("%s [%s] %d#%d: *%d %s%s" % (ts, level, pid, pid, 1000 + i, msg % v, tail % v))
    return out


def quiet_error(path, mib):
    rng = random.Random(19)
    target = mib * 1024 * 1024
    written = lines = 0
    with open(path, "w") as f:
        while written < target:
            block = "\n".join(quiet_error_lines(rng, 20000, lines)) + "\n"
            lines += 20000
            f.write(block)
            written += len(block)
    print("generated %.0f MiB quiet error.log (%d lines) in %s" % (written / 2**20, lines, path))


def fill(path, target, make, rng):
    written = 0
    with open(path, "w") as f:
        while written < target:
            block = "\n".join(make(rng, 20000)) + "\n"
            f.write(block)
            written += len(block)
    return written


def main():
    if sys.argv[1] == "--quiet-error":
        os.makedirs(os.path.dirname(sys.argv[2]) or ".", exist_ok=True)
        quiet_error(sys.argv[2], int(sys.argv[3]))
        return
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
