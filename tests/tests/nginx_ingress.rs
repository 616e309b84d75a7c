//! A real nginx set up the way ingress-nginx sets itself up: keep-alive through a `map` on
//! `$http_upgrade`, a variable `proxy_pass` that names an `upstream {}` block, and the
//! `upstreaminfo` access format with a retried upstream failure (issue 19).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::server::{Behaviour, get, response, start};
use cloud502_e2e::{closed_port, cloud502, codes};
use serde_json::Value;

fn diagnose(nginx: &Nginx) -> (i32, Value) {
    let config = nginx.config();
    let run = cloud502(&["nginx", "--config", config.to_str().unwrap(), "-o", "json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "{}\n{}",
        run.stderr,
        run.stdout
    );
    (run.code, run.json())
}

/// ingress-nginx's template: `map $http_upgrade $connection_upgrade` with `'' ''` when upstream
/// keep-alive is on, and `proxy_set_header Connection $connection_upgrade` in every location.
fn ingress_keepalive(empty_for_plain_requests: bool) -> (Nginx, cloud502_e2e::server::Server) {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let plain = if empty_for_plain_requests {
        "''"
    } else {
        "close"
    };
    let nginx = Nginx::start_with(
        &format!(
            "map $http_upgrade $connection_upgrade {{ default upgrade; '' {plain}; }}\n  \
             upstream upstream_balancer {{ server 127.0.0.1:{}; keepalive 32; }}",
            app.port
        ),
        "location / {\n      proxy_http_version 1.1;\n      \
         proxy_set_header Upgrade $http_upgrade;\n      \
         proxy_set_header Connection $connection_upgrade;\n      \
         proxy_pass http://upstream_balancer;\n    }",
    );
    (nginx, app)
}

#[test]
fn ingress_keepalive_through_a_map_is_not_a_false_warning() {
    let (nginx, _app) = ingress_keepalive(true);
    assert_eq!(get(&nginx.url("/a")), 200);
    let (exit, report) = diagnose(&nginx);
    let found = codes(&report);
    assert!(
        !found.contains(&"nginx-keepalive-without-http11"),
        "{:#}",
        report["findings"]
    );
    assert_eq!(exit, 0, "{:#}", report["findings"]);
    // the map was read: what it yields for an ordinary request is recorded
    let map = report["config"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "map $connection_upgrade")
        .cloned()
        .unwrap_or_default();
    assert_eq!(map["value"], "", "{:#}", report["config"]["settings"]);
}

#[test]
fn a_map_that_closes_plain_requests_still_warns() {
    let (nginx, _app) = ingress_keepalive(false);
    assert_eq!(get(&nginx.url("/a")), 200);
    let (_, report) = diagnose(&nginx);
    assert!(
        codes(&report).contains(&"nginx-keepalive-without-http11"),
        "{:#}",
        report["findings"]
    );
}

#[test]
fn a_variable_pass_naming_an_upstream_block_needs_no_resolver() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let nginx = Nginx::start_with(
        &format!("upstream app_pool {{ server 127.0.0.1:{}; }}", app.port),
        "location / {\n      set $pool app_pool;\n      proxy_pass http://$pool;\n    }",
    );
    // a real nginx serves it without a resolver: the variable names the upstream block
    assert_eq!(get(&nginx.url("/a")), 200, "{}", nginx.error_log());
    let (exit, report) = diagnose(&nginx);
    assert!(
        !codes(&report).contains(&"nginx-dynamic-pass-without-resolver"),
        "{:#}",
        report["findings"]
    );
    assert_eq!(exit, 0, "{:#}", report["findings"]);
}

#[test]
fn upstreaminfo_written_by_nginx_is_detected_and_retries_are_not_client_502s() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let down = closed_port();
    // ingress-nginx's own variables, defined so that a plain nginx can write its format
    let nginx = Nginx::start_with(
        &format!(
            "map $host $proxy_upstream_name {{ default default-app-80; }}\n  \
             map $host $proxy_alternative_upstream_name {{ default ''; }}\n  \
             map $host $req_id {{ default $request_id; }}\n  \
             log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';\n  \
             upstream app {{ server 127.0.0.1:{down}; server 127.0.0.1:{}; }}",
            app.port
        ),
        "access_log logs/ingress.log upstreaminfo;\n    location / { proxy_pass http://app; }",
    );
    let statuses: Vec<u16> = (0..4).map(|i| get(&nginx.url(&format!("/r{i}")))).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let log = nginx.path("logs/ingress.log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("502, 200"), "{text}");
    let run = cloud502(&["logs", log.to_str().unwrap(), "-o", "json"]);
    let report = run.json();
    let summary = &report["logs"][0];
    assert_eq!(summary["dialect"], "nginx-access", "{summary:#}");
    assert_eq!(summary["skipped"]["unparsed"], 0, "{summary:#}");
    let groups = summary["groups"].as_array().unwrap();
    let retried: Vec<&Value> = groups
        .iter()
        .filter(|g| g["class"] == "upstream-retried")
        .collect();
    assert_eq!(retried.len(), 1, "{groups:#?}");
    assert_eq!(retried[0]["upstream"], format!("127.0.0.1:{down}"));
    assert_eq!(retried[0]["status"], 200);
    // no request is a client-visible 502, so no 502 cause is found
    assert!(groups.iter().all(|g| g["status"] != 502), "{groups:#?}");
    // ... but the failing server is named, as a warning about the application behind nginx
    assert_eq!(
        codes(&report),
        vec!["nginx-retried-failures"],
        "{:#}",
        report["findings"]
    );
    assert_eq!(report["findings"][0]["severity"], "warning");
    assert_eq!(report["findings"][0]["layer"], "application");
    // with nginx's error.log too, its refused lines are the same retried attempts: still no
    // client-visible 502 cause
    let errors = nginx.path("logs/error.log");
    assert!(
        std::fs::read_to_string(&errors)
            .unwrap()
            .contains("Connection refused"),
        "{}",
        nginx.error_log()
    );
    let run = cloud502(&[
        "logs",
        errors.to_str().unwrap(),
        log.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let report = run.json();
    assert_eq!(
        codes(&report),
        vec!["nginx-retried-failures"],
        "{:#}",
        report["findings"]
    );
}

/// The official image's layout: error.log and access.log are the container's one output stream.
/// A real nginx writes both into one file, `docker logs -t` puts a time before each line, and the
/// stream arrives on standard input: each line is read in its own dialect.
#[test]
fn a_docker_style_stream_written_by_nginx_reads_as_both_logs() {
    let down = closed_port();
    let nginx = Nginx::start(&format!(
        "error_log logs/stream.log;\n    access_log logs/stream.log;\n    \
         location / {{ proxy_pass http://127.0.0.1:{down}; }}"
    ));
    for i in 0..3 {
        assert_eq!(get(&nginx.url(&format!("/r{i}"))), 502);
    }
    let text = std::fs::read_to_string(nginx.path("logs/stream.log")).unwrap();
    assert!(
        text.contains("[error]") && text.contains("\" 502 "),
        "{text}"
    );
    let stream: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| format!("2026-05-01T12:00:{:02}.123456789Z {l}\n", i % 60))
        .collect();
    let run = cloud502_e2e::cloud502_stdin(&["logs", "-", "-o", "json"], stream.as_bytes());
    let report: Value = run.json();
    assert_eq!(run.code, 1, "{report:#}");
    let logs = report["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 2, "{report:#}");
    assert_eq!(logs[0]["dialect"], "nginx-error");
    assert_eq!(logs[1]["dialect"], "nginx-access");
    assert_eq!(logs[0]["skipped"]["unparsed"], 0, "{:#}", logs[0]);
    assert_eq!(logs[1]["skipped"]["unparsed"], 0, "{:#}", logs[1]);
    assert_eq!(logs[0]["groups"][0]["class"], "connect-refused");
    assert_eq!(logs[0]["groups"][0]["count"], 3);
    assert_eq!(logs[1]["counts"][0]["key"], "502");
    assert_eq!(codes(&report)[0], "nginx-upstream-refused");
}
