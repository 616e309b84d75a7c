//! Each built-in access-log format, and JSON (`escape=json`) formats, written by a real nginx in
//! front of a working, a refusing and a closing upstream and a retried pair, then read by
//! `cloud502 logs` with no format named: detected, every line read, and each 502 classified as far
//! as the format can tell (issue 19).
//!
//! The formats are the published ones, each with its source; ingress-nginx's own variables
//! (`$proxy_upstream_name`, `$req_id`, `$the_real_ip`, ...) are defined with `map` so that a plain
//! nginx can write its formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::server::{Behaviour, get, response, start};
use cloud502_e2e::{closed_port, cloud502};
use serde_json::Value;

/// What a format logs, so what can be told from it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tells {
    /// Status only (`combined`): every 502 is a plain 502.
    Status,
    /// `$upstream_connect_time` and `$upstream_header_time` but no `$upstream_addr`: never
    /// connected and no header are told apart, the upstream is not named.
    TimingsNoAddr,
    /// `$upstream_addr` and `$upstream_status` (and a response time): the upstream is named and
    /// retried failures are seen, but not why a 502 happened.
    AddrAndStatus,
    /// `$upstream_addr` and a response time only: the upstream is named.
    Addr,
    /// A response time only.
    ResponseTime,
    /// Everything: named, told apart, retries seen.
    All,
}

struct Case {
    /// The `log_format` directive's name and body, as nginx reads it.
    directive: &'static str,
    name: &'static str,
    /// `map`s defining the variables the format uses that a plain nginx lacks.
    maps: &'static str,
    tells: Tells,
}

const INGRESS_MAPS: &str = "map $host $proxy_upstream_name { default default-app-80; }\n  \
     map $host $proxy_alternative_upstream_name { default ''; }\n  \
     map $host $req_id { default $request_id; }\n  \
     map $host $the_real_ip { default $remote_addr; }\n  ";

fn cases() -> Vec<Case> {
    vec![
        // nginx's predefined format
        Case {
            directive: "",
            name: "combined",
            maps: "",
            tells: Tells::Status,
        },
        // kubernetes/ingress-nginx internal/ingress/controller/config/config.go logFormatUpstream
        // (commit 003f04ca4563acb5d4c262ca391dca0ea05bf711)
        Case {
            directive: "log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';",
            name: "upstreaminfo",
            maps: INGRESS_MAPS,
            tells: Tells::AddrAndStatus,
        },
        // the same before 0.26.0 (a real line: kubernetes/ingress-nginx#4168)
        Case {
            directive: "log_format upstreaminfo '$remote_addr - [$the_real_ip] - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';",
            name: "upstreaminfo",
            maps: INGRESS_MAPS,
            tells: Tells::AddrAndStatus,
        },
        Case {
            directive: "log_format upstreaminfo '$remote_addr - [$the_real_ip] - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';",
            name: "upstreaminfo",
            maps: INGRESS_MAPS,
            tells: Tells::AddrAndStatus,
        },
        // https://www.nginx.com/blog/using-nginx-logging-for-application-performance-monitoring/
        Case {
            directive: "log_format upstream_time '$remote_addr - $remote_user [$time_local] '\n    '\"$request\" $status $body_bytes_sent '\n    '\"$http_referer\" \"$http_user_agent\" '\n    'rt=$request_time uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"';",
            name: "upstream_time",
            maps: "",
            tells: Tells::TimingsNoAddr,
        },
        // the copies that lost the space before `rt=` (code search: an nginx.conf defining both
        // `upstream_time` and `upstreamlog`)
        Case {
            directive: "log_format upstream_time '$remote_addr - $remote_user [$time_local] '\n    '\"$request\" $status $body_bytes_sent '\n    '\"$http_referer\" \"$http_user_agent\"'\n    'rt=$request_time uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"';",
            name: "upstream_time",
            maps: "",
            tells: Tells::TimingsNoAddr,
        },
        // nginxinc/nginx-amplify-doc amplify-guide.md, "Additional NGINX Metrics"
        Case {
            directive: "log_format  main_ext '$remote_addr - $remote_user [$time_local] \"$request\" '\n    ' $status $body_bytes_sent \"$http_referer\" '\n    '\"$http_user_agent\" \"$http_x_forwarded_for\" '\n    'rt=$request_time ua=\"$upstream_addr\" '\n    'us=\"$upstream_status\" ut=\"$upstream_response_time\" '\n    'ul=\"$upstream_response_length\" '\n    'cs=$upstream_cache_status' ;",
            name: "main_ext",
            maps: "",
            tells: Tells::AddrAndStatus,
        },
        // its common variant with the host and server name (public nginx.conf files)
        Case {
            directive: "log_format  main_ext '$remote_addr - $remote_user [$time_local] \"$request\" '\n    '$status $body_bytes_sent \"$http_referer\" '\n    '\"$http_user_agent\" \"$http_x_forwarded_for\" '\n    '\"$host\" sn=\"$server_name\" '\n    'rt=$request_time '\n    'ua=\"$upstream_addr\" us=\"$upstream_status\" '\n    'ut=\"$upstream_response_time\" ul=\"$upstream_response_length\" '\n    'cs=$upstream_cache_status' ;",
            name: "main_ext",
            maps: "",
            tells: Tells::AddrAndStatus,
        },
        // JSON: QQ1134614268/LinuxServer nginx/nginx.logformat.json.conf (escape=json, a bare
        // upstream time through a map)
        Case {
            directive: "map $upstream_response_time $upstream_response_timer {\n    default $upstream_response_time;\n    \"\"        0;\n  }\n  log_format json escape=json '{\"@timestamp\":\"$time_iso8601\",'\n    '\"@version\":\"1\",'\n    '\"server_addr\":\"$server_addr\",'\n    '\"remote_addr\":\"$remote_addr\",'\n    '\"host\":\"$host\",'\n    '\"uri\":\"$uri\",'\n    '\"body_bytes_sent\":$body_bytes_sent,'\n    '\"bytes_sent\":$body_bytes_sent,'\n    '\"upstream_response_time\":$upstream_response_timer,'\n    '\"request\":\"$request\",'\n    '\"request_length\":$request_length,'\n    '\"request_time\":$request_time,'\n    '\"status\":\"$status\",'\n    '\"http_referer\":\"$http_referer\",'\n    '\"http_x_forwarded_for\":\"$http_x_forwarded_for\",'\n    '\"http_user_agent\":\"$http_user_agent\"'\n    '}';",
            name: "json",
            maps: "",
            tells: Tells::ResponseTime,
        },
        // JSON without escape=json, its own key names, status last: nanfeng/note nginx/README.md
        // (commit f2349147a2161408b1172bfb4d72f03bfce0a7fb)
        Case {
            directive: "log_format log_json '{\"@timestamp\":\"$time_iso8601\",'\n    '\"host\":\"$server_addr\",'\n    '\"clientip\":\"$remote_addr\",'\n    '\"size\":$body_bytes_sent,'\n    '\"responsetime\":$request_time,'\n    '\"upstreamtime\":\"$upstream_response_time\",'\n    '\"upstreamhost\":\"$upstream_addr\",'\n    '\"http_host\":\"$host\",'\n    '\"url\":\"$uri\",'\n    '\"xff\":\"$http_x_forwarded_for\",'\n    '\"referer\":\"$http_referer\",'\n    '\"agent\":\"$http_user_agent\",'\n    '\"status\":\"$status\"}';",
            name: "log_json",
            maps: "",
            tells: Tells::Addr,
        },
        // JSON with every upstream variable under nginx's own names. Written for this test (the
        // key names are the variables'; the shape is the escape=json formats' above), with a
        // space after each colon and the status as a bare number, as graylog-style formats do.
        Case {
            directive: "log_format upstream_json escape=json '{\"time_local\": \"$time_local\", '\n    '\"remote_addr\": \"$remote_addr\", \"request\": \"$request\", \"status\": $status, '\n    '\"request_time\": $request_time, \"upstream_addr\": \"$upstream_addr\", '\n    '\"upstream_status\": \"$upstream_status\", \"upstream_connect_time\": \"$upstream_connect_time\", '\n    '\"upstream_header_time\": \"$upstream_header_time\", '\n    '\"upstream_response_time\": \"$upstream_response_time\", \"request_id\": \"$request_id\", '\n    '\"http_user_agent\": \"$http_user_agent\"}';",
            name: "upstream_json",
            maps: "",
            tells: Tells::All,
        },
    ]
}

/// Start nginx with the case's format, send 3 good requests, 2 to a refusing upstream, 2 to one
/// that closes without answering, and 2 to a pair whose first server refuses; returns the log.
fn write_with_real_nginx(case: &Case) -> (Nginx, String, u16) {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let closer = start(Behaviour::Close);
    let down = closed_port();
    let nginx = Nginx::start_with(
        &format!(
            "{}{}\n  upstream pair {{ server 127.0.0.1:{down} max_fails=0; server 127.0.0.1:{}; }}",
            case.maps, case.directive, app.port
        ),
        &format!(
            "access_log logs/formats.log {};\n    \
             location /ok {{ proxy_pass http://127.0.0.1:{}; }}\n    \
             location /refused {{ proxy_pass http://127.0.0.1:{down}; }}\n    \
             location /closed {{ proxy_pass http://127.0.0.1:{}; }}\n    \
             location /retried {{ proxy_pass http://pair; }}",
            case.name, app.port, closer.port
        ),
    );
    let mut got = Vec::new();
    for path in [
        "/ok", "/ok", "/ok", "/refused", "/refused", "/closed", "/closed", "/retried", "/retried",
    ] {
        got.push(get(&nginx.url(path)));
    }
    assert_eq!(got, [200, 200, 200, 502, 502, 502, 502, 200, 200]);
    let log = nginx.path("logs/formats.log");
    // nginx writes the line after the response: wait for all nine
    let started = std::time::Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 9 || started.elapsed().as_secs() > 10 {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (nginx, text, down)
}

fn groups<'r>(summary: &'r Value, class: &str) -> Vec<&'r Value> {
    summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["class"] == class)
        .collect()
}

fn count(gs: &[&Value]) -> u64 {
    gs.iter().map(|g| g["count"].as_u64().unwrap()).sum()
}

#[test]
fn each_built_in_and_json_format_written_by_nginx_is_detected_and_read() {
    for case in cases() {
        let label = format!("{} ({:?})", case.name, case.tells);
        let (nginx, text, down) = write_with_real_nginx(&case);
        let log = nginx.path("logs/formats.log");
        let run = cloud502(&["logs", log.to_str().unwrap(), "-o", "json"]);
        assert_eq!(run.code, 1, "{label}: {}\n{text}", run.stderr);
        let report = run.json();
        let s = &report["logs"][0];
        assert_eq!(s["dialect"], "nginx-access", "{label}");
        assert_eq!(s["lines"], 9, "{label}: {s:#}");
        assert_eq!(s["skipped"]["unparsed"], 0, "{label}: {s:#}\n{text}");
        let counts: Vec<(String, u64)> = s["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_owned(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(
            counts.contains(&("502".to_owned(), 4)),
            "{label}: {counts:?}"
        );
        assert!(
            counts.contains(&("200".to_owned(), 5)),
            "{label}: {counts:?}"
        );
        // the log's own times are read
        assert!(s["first_seen"].is_string(), "{label}: {s:#}");
        let no_connect = groups(s, "status-502-no-connect");
        let no_header = groups(s, "status-502-no-header");
        let plain = groups(s, "status-502");
        let retried = groups(s, "upstream-retried");
        let refused_addr = format!("127.0.0.1:{down}");
        match case.tells {
            Tells::Status | Tells::ResponseTime => {
                assert_eq!(count(&plain), 4, "{label}: {s:#}");
                assert!(plain.iter().all(|g| g["upstream"].is_null()), "{label}");
            }
            Tells::Addr | Tells::AddrAndStatus => {
                assert_eq!(count(&plain), 4, "{label}: {s:#}");
                let named: Vec<&str> = plain
                    .iter()
                    .map(|g| g["upstream"].as_str().unwrap())
                    .collect();
                assert!(named.contains(&refused_addr.as_str()), "{label}: {named:?}");
                assert_eq!(named.len(), 2, "{label}: {named:?}");
            }
            Tells::TimingsNoAddr => {
                assert_eq!(count(&no_connect), 2, "{label}: {s:#}");
                assert_eq!(count(&no_header), 2, "{label}: {s:#}");
                assert!(no_connect[0]["upstream"].is_null(), "{label}");
            }
            Tells::All => {
                assert_eq!(count(&no_connect), 2, "{label}: {s:#}");
                assert_eq!(no_connect[0]["upstream"], refused_addr.as_str(), "{label}");
                assert_eq!(count(&no_header), 2, "{label}: {s:#}");
            }
        }
        // a failure nginx retried is seen where the format logs $upstream_status lists
        if matches!(case.tells, Tells::AddrAndStatus | Tells::All) {
            assert!(text.contains("502, 200"), "{label}: {text}");
            assert!(!retried.is_empty(), "{label}: {s:#}");
            assert_eq!(retried[0]["upstream"], refused_addr.as_str(), "{label}");
            assert_eq!(retried[0]["status"], 200, "{label}");
        } else {
            assert!(retried.is_empty(), "{label}: {s:#}");
        }
    }
}

/// A format with connect times but no `$upstream_addr` (the NGINX blog's `upstream_time`): the
/// never-connected 502s are not blamed on an upstream group whose servers are all marked down;
/// the report says the format cannot tell which upstream, nor why.
#[test]
fn connect_times_without_upstream_addr_say_what_the_format_cannot_tell() {
    let case = cases()
        .into_iter()
        .find(|c| c.tells == Tells::TimingsNoAddr)
        .unwrap();
    let (nginx, _, _) = write_with_real_nginx(&case);
    let log = nginx.path("logs/formats.log");
    let run = cloud502(&["logs", log.to_str().unwrap(), "-o", "json"]);
    let report = run.json();
    let findings = report["findings"].as_array().unwrap();
    let titles: Vec<&str> = findings
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.iter().all(|t| !t.contains("marked down")),
        "{titles:#?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("cannot say which one")),
        "{titles:#?}"
    );
    // the text output says it too (its explanation may list "marked down" among the causes the
    // error log would tell apart, but never as the cause)
    let run = cloud502(&[
        "logs",
        log.to_str().unwrap(),
        "-o",
        "table",
        "--color",
        "never",
    ]);
    assert!(!run.stdout.contains("is marked down"), "{}", run.stdout);
    assert!(
        run.stdout.contains("cannot say which one"),
        "{}",
        run.stdout
    );
}

/// error.log and access.log of the same nginx, given together: the refused attempts nginx retried
/// on another server (the client got 200) are joined to their access-log requests by peer and time
/// and counted as retried; the refused attempts of requests whose every server failed stay
/// client-visible 502s (issue 19).
#[test]
fn error_log_attempts_nginx_retried_are_joined_to_their_requests() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let (down, down2) = (closed_port(), closed_port());
    assert_ne!(down, down2);
    let nginx = Nginx::start_with(
        &format!(
            "upstream pair {{ server 127.0.0.1:{down} max_fails=0; server 127.0.0.1:{}; }}\n  \
             upstream dead {{ server 127.0.0.1:{down} max_fails=0; server 127.0.0.1:{down2} max_fails=0; }}",
            app.port
        ),
        "location /pair { proxy_pass http://pair; }\n    location /dead { proxy_pass http://dead; }",
    );
    let mut got = Vec::new();
    for path in ["/pair", "/pair", "/pair", "/pair", "/dead", "/dead"] {
        got.push(get(&nginx.url(path)));
    }
    assert_eq!(got, [200, 200, 200, 200, 502, 502]);
    let access = nginx.path("logs/access.log");
    let error = nginx.path("logs/error.log");
    let started = std::time::Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&access).unwrap_or_default();
        if text.lines().count() >= 6 || started.elapsed().as_secs() > 10 {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let retried = text.matches("us=\"502, 200\"").count() as u64;
    assert!(retried >= 1, "{text}");
    let down_addr = format!("127.0.0.1:{down}");
    let errors = nginx.error_log();
    let refused_at_down = errors
        .lines()
        .filter(|l| l.contains("Connection refused") && l.contains(&down_addr))
        .count() as u64;
    // every retried attempt and each /dead request's first attempt left a line
    assert_eq!(refused_at_down, retried + 2, "{errors}");
    let run = cloud502(&[
        "logs",
        error.to_str().unwrap(),
        access.to_str().unwrap(),
        "--log-format",
        &format!(
            "upstream={}",
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" urt=\"$upstream_response_time\" rid=$request_id"
        ),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let e = &report["logs"][0];
    assert_eq!(e["dialect"], "nginx-error");
    let refused: Vec<&Value> = groups(e, "connect-refused")
        .into_iter()
        .filter(|g| g["upstream"] == down_addr.as_str())
        .collect();
    // only the /dead requests' attempts at `down` reached a client as a 502
    assert_eq!(count(&refused), 2, "{e:#}");
    let joined = groups(e, "upstream-retried");
    assert_eq!(count(&joined), retried, "{e:#}");
    assert_eq!(joined[0]["upstream"], down_addr.as_str());
    assert_eq!(joined[0]["status"], 200);
    // the class counts agree with the groups
    let counts = e["counts"].as_array().unwrap();
    let of = |k: &str| {
        counts
            .iter()
            .find(|c| c["key"] == k)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    assert_eq!(of("upstream-retried"), retried, "{counts:?}");
    assert_eq!(of("connect-refused"), 4, "{counts:?}");
    // the refused cause counts the client-visible attempts only; the retried ones are named apart
    let findings = report["findings"].as_array().unwrap();
    let codes: Vec<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"nginx-upstream-refused"), "{codes:?}");
    assert!(codes.contains(&"nginx-retried-failures"), "{codes:?}");

    // `cloud502 nginx` reads the logs its config names and joins them the same way
    let config = nginx.config();
    let run = cloud502(&["nginx", "--config", config.to_str().unwrap(), "-o", "json"]);
    assert!(matches!(run.code, 0 | 1), "{}", run.stderr);
    let report = run.json();
    let e = report["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["dialect"] == "nginx-error")
        .unwrap();
    let refused: Vec<&Value> = groups(e, "connect-refused")
        .into_iter()
        .filter(|g| g["upstream"] == down_addr.as_str())
        .collect();
    assert_eq!(count(&refused), 2, "{e:#}");
    assert_eq!(count(&groups(e, "upstream-retried")), retried, "{e:#}");
}
