//! Real error.log lines from public issue threads and posts, each with its source: the class each
//! line gets, the upstream it is grouped by, and no 502 class for lines that are not an HTTP
//! upstream failure (stream{} proxying, lua and other modules' own messages, file errors).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use LogClass::*;
use cloud502_logs::{LogClass, classify_error, parse_error_line};

/// What a line must be read as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// This class, grouped under this upstream (checked through the summary).
    Class(LogClass, Option<&'static str>),
    /// No class whose client status is 502 or 504: not an HTTP upstream failure. It may still be
    /// kept as `upstream-other` (a stream{} failure) or not counted at all.
    NotHttpFailure,
}

/// (source, line, want). Lines are verbatim but for line wraps the threads added.
const CORPUS: &[(&str, &str, Want)] = &[
    // ingress-nginx's "no endpoints" placeholder: the Service had no ready pods.
    (
        "https://github.com/kubernetes/ingress-nginx/issues/4168",
        r#"2019/06/07 14:32:28 [crit] 330#330: *1941 connect() to 0.0.0.1:80 failed (22: Invalid argument) while connecting to upstream, client: 10.0.2.136, server: api.xxx.com, request: "GET /my-account HTTP/1.1", upstream: "http://0.0.0.1:80/my-account", host: "api.xxx.com""#,
        Want::Class(ConnectFailed, Some("0.0.0.1:80")),
    ),
    // ... and the lua balancer line before it: not a DNS failure of a garbage name.
    (
        "https://github.com/kubernetes/ingress-nginx/issues/4168",
        r#"2019/06/07 14:32:28 [error] 330#330: *1941 [lua] balancer.lua:240: balance(): error while setting current upstream peer xxx-api.engine.svc.cluster.local:80: no host allowed while connecting to upstream, client: 10.0.2.136, server: api.xxx.com, request: "GET /my-account HTTP/1.1", host: "api.xxx.com""#,
        Want::NotHttpFailure,
    ),
    // gRPC EINVAL: a failed connect, not a refusal.
    (
        "https://github.com/kubernetes/ingress-nginx/issues/6273",
        r#"2020/10/04 09:32:30 [crit] 235#235: *1641 connect() to 10.42.207.51:50051 failed (22: Invalid argument) while connecting to upstream, client: 172.17.17.17, server: service.test.com, request: "POST /helloworld.Greeter/SayHello HTTP/2.0", upstream: "grpc://10.42.207.51:50051", host: "service.test.com:443""#,
        Want::Class(ConnectFailed, Some("10.42.207.51:50051")),
    ),
    // musl's wording of EADDRNOTAVAIL, to the IPv6 loopback a container lacks.
    (
        "https://github.com/sourcegraph/sourcegraph-public-snapshot/issues/1890",
        r#"2019/01/14 23:55:50 [crit] 88#88: *1 connect() to [::1]:8080 failed (99: Address not available) while connecting to upstream, client: 172.17.0.1, server: , request: "GET /sign-in?returnTo=%2F HTTP/1.1", upstream: "http://[::1]:8080/sign-in?returnTo=%2F", host: "localhost:7080""#,
        Want::Class(ConnectNoPorts, Some("[::1]:8080")),
    ),
    // glibc's wording, to an IPv4 upstream: port exhaustion.
    (
        "https://github.com/engintron/engintron/issues/938",
        r#"2018/09/29 23:34:57 [crit] 4793#4793: *210641 connect() to Xx.XX.XX.XXX:80 failed (99: Cannot assign requested address) while connecting to upstream, client: Xx.XX.XX.XXX, server: localhost, request: "GET /?sitemap84.xml HTTP/1.1", upstream: "http://Xx.XX.XX.XXX:80/?sitemap84.xml", host: "domain.com""#,
        Want::Class(ConnectNoPorts, Some("Xx.XX.XX.XXX:80")),
    ),
    // A lua timer's own socket to Kafka: no proxied request.
    (
        "https://github.com/apache/apisix/issues/1345",
        r#"2020/03/27 01:30:32 [crit] 20819#20819: *21 connect() to [::1]:9092 failed (99: Cannot assign requested address), context: ngx.timer, client: 127.0.0.1, server: 0.0.0.0:1984"#,
        Want::NotHttpFailure,
    ),
    (
        "https://github.com/apache/apisix/issues/1345",
        r#"2020/03/27 01:30:32 [error] 20819#20819: *21 [lua] kafka-logger.lua:96: failed to send data to Kafka topiccannot assign requested address, context: ngx.timer, client: 127.0.0.1, server: 0.0.0.0:1984"#,
        Want::NotHttpFailure,
    ),
    // A lua HTTP client's own lookup: not nginx's upstream DNS.
    (
        "https://github.com/ledgetech/lua-resty-http/issues/280",
        r#"2022/09/29 12:33:28 [error] 9726#9726: *1 [lua] main.lua:28: request failed: example.com could not be resolved (110: Operation timed out), "#,
        Want::NotHttpFailure,
    ),
    (
        "https://github.com/kubernetes/ingress-nginx/issues/4713",
        r#"2019/10/25 08:24:21 [error] 65#65: *175576 stream [lua] tcp_udp_balancer.lua:104: could not parse backends data: Expected value but found invalid token at character 1, context: ngx.timer"#,
        Want::NotHttpFailure,
    ),
    // Windows: WSAECONNREFUSED.
    (
        "https://github.com/causefx/Organizr/issues/1972",
        r#"2024/03/25 15:26:14 [error] 1948#13972: *1 connect() failed (10061: No connection could be made because the target machine actively refused it) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "localhost""#,
        Want::Class(ConnectRefused, Some("127.0.0.1:9000")),
    ),
    (
        "https://github.com/xianyunleo/EServer/issues/138",
        r#"2024/11/03 00:37:38 [error] 10916#8776: *19 connect() failed (10061: No connection could be made because the target machine actively refused it) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:9010", host: "localhost""#,
        Want::Class(ConnectRefused, Some("127.0.0.1:9010")),
    ),
    (
        "https://github.com/causefx/Organizr/issues/1972",
        r#"2024/03/25 15:26:16 [error] 1948#13972: *1 CreateFile() "C:/nginx/www/organizr/html/favicon.ico" failed (2: The system cannot find the file specified), client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost", referrer: "http://localhost/""#,
        Want::NotHttpFailure,
    ),
    // stream{} (TCP) proxying: no HTTP status, so not a 502.
    (
        "https://www.lijiaocn.com (ingress-nginx 0.25 tcp-services post, 2019-09-17)",
        r#"2019/09/17 03:46:20 [error] 2454#2454: *3584946 connect() failed (111: Connection refused) while connecting to upstream, client: 10.10.122.117, server: 0.0.0.0:55556, upstream: "10.12.39.132:5555", bytes from/to client:0/0, bytes from/to upstream:0/0"#,
        Want::NotHttpFailure,
    ),
    (
        "https://www.lijiaocn.com (ingress-nginx 0.25 tcp-services post, 2019-09-17)",
        r#"2019/09/17 14:32:07 [error] 25923#0: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: 127.0.0.1:12345, upstream: "127.0.0.1:8080", bytes from/to client:0/0, bytes from/to upstream:0/0"#,
        Want::NotHttpFailure,
    ),
    // An HTTP server on a FastCGI port answers "HTTP/1.1" ('H' is 72).
    (
        "https://github.com/multiOTP/multiotp/issues/224",
        r#"2025/05/28 00:30:27 [error] 9176#6936: *78 upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "127.0.0.1:8112", referrer: "http://127.0.0.1:8112/""#,
        Want::Class(InvalidHeader, Some("127.0.0.1:9000")),
    ),
    (
        "https://github.com/FreshRSS/FreshRSS/issues/2582",
        r#"2019/10/28 20:12:11 [error] 16623#16623: *277 upstream sent unsupported FastCGI protocol version: 83 while reading response header from upstream, client: x.x.x.x, server: _, request: "GET /p/api/greader.php/check/compatibility HTTP/2.0", upstream: "fastcgi://unix:/run/synoscgi.sock:", host: "my_server:my_port", referrer: "https://my_server:my_port/p/api/""#,
        Want::Class(InvalidHeader, Some("unix:/run/synoscgi.sock")),
    ),
    // gRPC: the upstream reset the stream before a header.
    (
        "https://github.com/grpc/grpc-web/issues/187",
        r#"2018/05/15 14:04:51 [error] 8544#13040: *1 upstream rejected request with error 2 while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "POST /message.Completion/ListenCompletion HTTP/1.1", upstream: "grpc://172.27.124.18:50051", host: "localhost:8090", referrer: "http://localhost:8090/index.html""#,
        Want::Class(PrematureClose, Some("172.27.124.18:50051")),
    ),
    // Refused on the IPv6 loopback: a refusal (the app listens on IPv4 only).
    (
        "https://github.com/graphite-project/docker-graphite-statsd/issues/87",
        r#"2019/02/08 15:00:39 [error] 45#45: *62 connect() failed (111: Connection refused) while connecting to upstream, client: 10.154.yy.xx, server: , request: "POST /render HTTP/1.1", upstream: "http://[::1]:8080/render", host: "xxx.yy.zz""#,
        Want::Class(ConnectRefused, Some("[::1]:8080")),
    ),
    (
        "https://github.com/engintron/engintron/issues/1198",
        r#"2020/06/01 08:53:59 [error] 32197#32197: *6552 connect() to [2606:4700:3030::681c:31a]:8080 failed (101: Network is unreachable) while connecting to upstream, client: 96.75.63.10, server: localhost, request: "GET /wp/wp-content/uploads/2015/03/itunes_image.jpg HTTP/1.1", upstream: "http://[2606:4700:3030::681c:31a]:8080/wp/wp-content/uploads/2015/03/itunes_image.jpg", host: "www.yuppiejunk.com""#,
        Want::Class(ConnectUnreachable, Some("[2606:4700:3030::681c:31a]:8080")),
    ),
    (
        "https://github.com/kubernetes/ingress-nginx/issues/759",
        "2017/05/23 21:52:25 [error] 317#317: *288785 connect() failed (113: No route to host) while connecting to upstream, client: 127.0.0.1, server: aaa.bbb.com, request: \"GET /favicon.ico HTTP/2.0\", upstream: \"http://10.2.3.30:3000/favicon.ico\", host: \"aaa.bbb.com\", referrer: \"https://aaa.bbb.com/\u{201c}",
        Want::Class(ConnectUnreachable, Some("10.2.3.30:3000")),
    ),
    (
        "https://github.com/engintron/engintron/issues/1333",
        "2021/06/18 14:49:02 [emerg] 1379408#1379408: bind() to [::]:80 failed (98: Address already in use)",
        Want::NotHttpFailure,
    ),
    (
        "https://github.com/chobits/ngx_http_proxy_connect_module/issues/214",
        r#"2022/02/21 15:38:00 [error] 1860#1860: *4 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: open.work.weixin.qq.com, request: "GET / HTTP/1.1", upstream: "https://127.189.1.129:443/", host: "open.work.weixin.qq.com""#,
        Want::Class(ConnectRefused, Some("127.189.1.129:443")),
    ),
];

#[test]
fn each_real_line_gets_its_class_and_no_false_positive() {
    let mut wrong = Vec::new();
    for (source, line, want) in CORPUS {
        let Some(parsed) = parse_error_line(line.as_bytes()) else {
            wrong.push(format!("{source}: not parsed: {line}"));
            continue;
        };
        let got = classify_error(&parsed);
        let ok = match want {
            Want::Class(c, _) => got == Some(*c),
            Want::NotHttpFailure => got
                .and_then(|c| c.client_status())
                .is_none_or(|s| !matches!(s, 502 | 504)),
        };
        if !ok {
            wrong.push(format!("{source}: want {want:?}, got {got:?}: {line}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_real_failure_is_grouped_under_its_upstream() {
    use cloud502_logs::{Dialect, Options, summarize};
    for (source, line, want) in CORPUS {
        let Want::Class(class, Some(upstream)) = want else {
            continue;
        };
        let text = format!("{line}\n");
        let s = summarize(
            text.as_bytes(),
            "corpus",
            "log.0",
            &Dialect::NginxError,
            &Options::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.groups.len(), 1, "{source}");
        assert_eq!(s.groups[0].class, *class, "{source}");
        assert_eq!(s.groups[0].upstream.as_deref(), Some(*upstream), "{source}");
    }
}
