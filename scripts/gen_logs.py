#!/usr/bin/env python3
"""Generate realistic nginx error.log and access.log files for `make bench`.

usage: gen_logs.py OUT_DIR TOTAL_MIB
       gen_logs.py --quiet-error OUT_FILE TOTAL_MIB
       gen_logs.py --ingress-conf OUT_FILE SERVERS

The first form: about a quarter of the bytes go to error.log (a mix of every upstream failure class
plus ordinary notices), the rest to access.log in the `upstream` log_format below (mostly 200s,
with 502, 504 and 499 lines carrying real upstream timing signatures).

The second form (issue 19's case): one error.log of TOTAL_MIB MiB as a busy server with
`error_log ... info` writes it: mostly info/notice lines about clients (keep-alive closes, clients
that went away, buffered responses, some of which say "upstream" without being a failure) with
about 3% upstream failures at [error]/[warn], a few times out of order by a second as workers
write them.

The third form is not a log: an nginx.conf as ingress-nginx generates it for SERVERS Ingress hosts
(one `server` block with one `location /` each, every route proxied to `upstream_balancer` with
keep-alive through the `$connection_upgrade` map), for the config-reading bench. Its text follows
what ingress-nginx wrote in public captures (kubernetes/ingress-nginx PR #10029, the generated
http{} block; issue #5515, a generated server block; rootfs/etc/nginx/template/nginx.tmpl), with
the Lua bodies and the list of settings shortened and the host names ours: a shape written by us
after those captures, not a verbatim copy.

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


INGRESS_HTTP = """# Configuration checksum: 13317249304218280187

# setup custom paths that do not require root access
pid /tmp/nginx/nginx.pid;

daemon off;

worker_processes 2;

worker_rlimit_nofile 1047552;

worker_shutdown_timeout 240s ;

events {
	multi_accept        on;
	worker_connections  16384;
	use                 epoll;
}

http {
	lua_package_path "/etc/nginx/lua/?.lua;;";

	lua_shared_dict balancer_ewma 10M;
	lua_shared_dict certificate_data 20M;
	lua_shared_dict configuration_data 20M;

	init_by_lua_block {
		collectgarbage("collect")
		local ok, res
		ok, res = pcall(require, "lua_ingress")
		if not ok then
			error("require failed: " .. tostring(res))
		else
			lua_ingress = res
			lua_ingress.set_config({})
		end
	}

	init_worker_by_lua_block {
		lua_ingress.init_worker()
		balancer.init_worker()
	}

	aio                 threads;
	aio_write           on;

	tcp_nopush          on;
	tcp_nodelay         on;

	log_subrequest      on;

	reset_timedout_connection on;

	keepalive_timeout  75s;
	keepalive_requests 1000;

	client_body_temp_path           /tmp/nginx/client-body;
	fastcgi_temp_path               /tmp/nginx/fastcgi-temp;
	proxy_temp_path                 /tmp/nginx/proxy-temp;

	client_header_buffer_size       1k;
	client_header_timeout           60s;
	large_client_header_buffers     4 8k;
	client_body_buffer_size         8k;
	client_body_timeout             60s;

	http2_max_concurrent_streams    128;

	types_hash_max_size             2048;
	server_names_hash_max_size      1024;
	server_names_hash_bucket_size   64;
	map_hash_bucket_size            64;

	proxy_headers_hash_max_size     512;
	proxy_headers_hash_bucket_size  64;

	variables_hash_bucket_size      256;
	variables_hash_max_size         2048;

	underscores_in_headers          off;
	ignore_invalid_headers          on;

	limit_req_status                503;
	limit_conn_status               503;

	include /etc/nginx/mime.types;
	default_type text/html;

	# Custom headers for response

	server_tokens off;

	more_clear_headers Server;

	# disable warnings
	uninitialized_variable_warn off;

	# Additional available variables:
	# $namespace
	# $ingress_name
	# $service_name
	# $service_port
	log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';

	map $request_uri $loggable {
		default 1;
	}

	access_log /var/log/nginx/access.log upstreaminfo  if=$loggable;

	error_log  /var/log/nginx/error.log notice;

	resolver 10.96.0.10 valid=30s;

	# See https://www.nginx.com/blog/websocket-nginx
	map $http_upgrade $connection_upgrade {
		default          upgrade;

		# See https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive
		''               '';

	}

	# Reverse proxies can detect if a client provides a X-Request-ID header, and pass it on to the backend server.
	# If no such header is provided, it can provide a random value.
	map $http_x_request_id $req_id {
		default   $http_x_request_id;

		""        $request_id;

	}

	# Create a variable that contains the literal $ character.
	# This works because the geo module will not resolve variables.
	geo $literal_dollar {
		default "$";
	}

	server_name_in_redirect off;
	port_in_redirect        off;

	ssl_protocols TLSv1.2 TLSv1.3;

	ssl_early_data off;

	# turn on session caching to drastically improve performance

	ssl_session_cache shared:SSL:10m;
	ssl_session_timeout 10m;

	# allow configuring ssl session tickets
	ssl_session_tickets off;

	# slightly reduce the time-to-first-byte
	ssl_buffer_size 4k;

	# allow configuring custom ssl ciphers
	ssl_ciphers 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384';
	ssl_prefer_server_ciphers on;

	ssl_ecdh_curve auto;

	# PEM sha: d26940c1b59ffca0c27a2075388ceb9e3f26548b
	ssl_certificate     /etc/ingress-controller/ssl/default-fake-certificate.pem;
	ssl_certificate_key /etc/ingress-controller/ssl/default-fake-certificate.pem;

	proxy_ssl_session_reuse on;

	upstream upstream_balancer {
		### Attention!!!
		#
		# We no longer create "upstream" section for every backend.
		# Backends are handled dynamically using Lua.
		###

		server 0.0.0.1; # placeholder

		balancer_by_lua_block {
			balancer.balance()
		}

		keepalive 320;
		keepalive_time 1h;
		keepalive_timeout  60s;
		keepalive_requests 10000;

	}

	# Cache for internal auth checks
	proxy_cache_path /tmp/nginx/nginx-cache-auth levels=1:2 keys_zone=auth_cache:10m max_size=128m inactive=30m use_temp_path=off;

	# Global filters

	## start server _
	server {
		server_name _ ;

		http2 on;

		listen 80 default_server reuseport backlog=4096 ;
		listen 443 default_server reuseport backlog=4096 ssl;

		set $proxy_upstream_name "-";

		ssl_reject_handshake off;

		ssl_certificate_by_lua_block {
			certificate.call()
		}

		location / {
			set $proxy_upstream_name "upstream-default-backend";
			proxy_set_header                        Upgrade           $http_upgrade;
			proxy_set_header                        Connection        $connection_upgrade;
			proxy_http_version                      1.1;
			proxy_pass http://upstream_balancer;
		}

		# health checks in cloud providers require the use of port 80
		location /healthz {
			access_log off;
			return 200;
		}
	}
	## end server _

%(servers)s
	# backend for when default-backend-service is not configured or it does not have endpoints
	server {
		listen 8181 default_server reuseport backlog=4096;

		set $proxy_upstream_name "internal";

		access_log off;

		location / {
			return 404;
		}
	}
}
"""

INGRESS_SERVER = """	## start server %(host)s
	server {
		server_name %(host)s ;

		http2 on;

		listen 80  ;
		listen 443  ssl;

		set $proxy_upstream_name "-";

		ssl_certificate_by_lua_block {
			certificate.call()
		}

%(locations)s
	}
	## end server %(host)s

"""

INGRESS_LOCATION = """		location %(path)s {

			set $namespace      "%(ns)s";
			set $ingress_name   "%(name)s";
			set $service_name   "%(name)s";
			set $service_port   "80";
			set $location_path  "%(path)s";
			set $global_rate_limit_exceeding n;

			rewrite_by_lua_block {
				lua_ingress.rewrite({
					force_ssl_redirect = false,
					ssl_redirect = true,
					force_no_ssl_redirect = false,
					preserve_trailing_slash = false,
					use_port_in_redirects = false,
					global_throttle = { namespace = "", limit = 0, window_size = 0, key = { }, ignored_cidrs = { } },
				})
				balancer.rewrite()
				plugins.run()
			}

			# be careful with `access_by_lua_block` and `satisfy any` directives as satisfy any
			# will always succeed when there's `access_by_lua_block` that does not have any lua code doing `ngx.exit(ngx.DECLINED)`
			# other authentication method such as basic auth or external auth useless - all requests will be allowed.
			#access_by_lua_block {
			#}

			header_filter_by_lua_block {
				lua_ingress.header()
				plugins.run()
			}

			body_filter_by_lua_block {
				plugins.run()
			}

			log_by_lua_block {
				balancer.log()

				monitor.call()

				plugins.run()
			}

			port_in_redirect off;

			set $balancer_ewma_score -1;
			set $proxy_upstream_name "%(ns)s-%(name)s-80";
			set $proxy_host          $proxy_upstream_name;
			set $pass_access_scheme  $scheme;

			set $pass_server_port    $server_port;

			set $best_http_host      $http_host;
			set $pass_port           $pass_server_port;

			set $proxy_alternative_upstream_name "";

			client_max_body_size                    1m;

			proxy_set_header Host                   $best_http_host;

			# Pass the extracted client certificate to the backend

			# Allow websocket connections
			proxy_set_header                        Upgrade           $http_upgrade;

			proxy_set_header                        Connection        $connection_upgrade;

			proxy_set_header X-Request-ID           $req_id;
			proxy_set_header X-Real-IP              $remote_addr;

			proxy_set_header X-Forwarded-For        $remote_addr;

			proxy_set_header X-Forwarded-Host       $best_http_host;
			proxy_set_header X-Forwarded-Port       $pass_port;
			proxy_set_header X-Forwarded-Proto      $pass_access_scheme;
			proxy_set_header X-Forwarded-Scheme     $pass_access_scheme;

			proxy_set_header X-Scheme               $pass_access_scheme;

			# Pass the original X-Forwarded-For
			proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;

			# mitigate HTTPoxy Vulnerability
			# https://www.nginx.com/blog/mitigating-the-httpoxy-vulnerability-with-nginx/
			proxy_set_header Proxy                  "";

			# Custom headers to proxied server

			proxy_connect_timeout                   5s;
			proxy_send_timeout                      60s;
			proxy_read_timeout                      60s;

			proxy_buffering                         off;
			proxy_buffer_size                       4k;
			proxy_buffers                           4 4k;

			proxy_max_temp_file_size                1024m;

			proxy_request_buffering                 on;
			proxy_http_version                      1.1;

			proxy_cookie_domain                     off;
			proxy_cookie_path                       off;

			# In case of errors try the next upstream server before returning an error
			proxy_next_upstream                     error timeout;
			proxy_next_upstream_timeout             0;
			proxy_next_upstream_tries               3;

			# Custom Response Headers

			proxy_pass http://upstream_balancer;

			proxy_redirect                          off;

		}

"""


def ingress_conf(path, servers):
    parts = []
    for i in range(servers):
        ns = "team-%02d" % (i % 40)
        name = "svc-%04d" % i
        v = {"host": "%s.%s.apps.example.com" % (name, ns), "ns": ns, "name": name}
        # every other Ingress has a second path (an API beside the site)
        paths = ["/api/", "/"] if i % 2 else ["/"]
        v["locations"] = "".join(INGRESS_LOCATION % dict(v, path=p) for p in paths)
        parts.append(INGRESS_SERVER % v)
    text = INGRESS_HTTP % {"servers": "".join(parts)}
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("generated an ingress-nginx style nginx.conf with %d servers (%.1f MB) in %s" % (servers, len(text) / 1e6, path))


def fill(path, target, make, rng):
    written = 0
    with open(path, "w") as f:
        while written < target:
            block = "\n".join(make(rng, 20000)) + "\n"
            f.write(block)
            written += len(block)
    return written


def main():
    if sys.argv[1] == "--ingress-conf":
        ingress_conf(sys.argv[2], int(sys.argv[3]))
        return
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
