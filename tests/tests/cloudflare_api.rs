//! `cloud502 cloudflare` end to end: the real binary against a local server that speaks API v4's
//! documented shapes (tests/src/cfapi.rs), with real origin servers on loopback (plain HTTP, HTTPS
//! with a test-CA certificate, self-signed, expired, wrong host, refusing, never answering).
//! Origins live on 127.0.0.1, so every run that checks them passes `--allow-private`, and the
//! origin servers' ports through `--http-port` / `--https-port`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::certs::TestCa;
use cloud502_e2e::cfapi::{self, AnalyticsRow, CfServer, DnsRecord, Scenario};
use cloud502_e2e::server::origins;
use cloud502_e2e::{Run, closed_port, cloud502_env, cloud502_env_without, codes, top_code};
use serde_json::Value;
use std::time::Duration;

const HOST: &str = "www.example.com";

/// A zone in `ssl` mode whose www record points at loopback, with these analytics rows.
fn zone(ssl: &str, analytics: Vec<AnalyticsRow>) -> Scenario {
    Scenario {
        ssl: ssl.into(),
        dns: vec![DnsRecord::new(HOST, "A", "127.0.0.1", true)],
        analytics,
        total_requests: 5000,
        ..Scenario::default()
    }
}

/// The direct checks with Cloudflare's own records of the window not read: the check from here
/// is then the only evidence. (With analytics counting requests and none of the 52x a check
/// predicts, Cloudflare's records outrank the check: see the precedence tests below.)
const CHECKS_ONLY: &[&str] = &["--no-analytics"];

fn run(api: &CfServer, extra: &[&str]) -> Run {
    let base = api.base();
    let mut args = vec![
        "cloudflare",
        "--zone",
        "example.com",
        "--host",
        HOST,
        "--api-base",
        &base,
        "--timeout",
        "5s",
        "--origin-timeout",
        "2s",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    cloud502_env(&args, &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)])
}

/// Run against loopback origins: `http` and `https` servers (or ports).
fn run_origins(api: &CfServer, http: u16, https: u16, extra: &[&str]) -> Run {
    let (h, s) = (http.to_string(), https.to_string());
    let mut args = vec!["--allow-private", "--http-port", &h, "--https-port", &s];
    args.extend_from_slice(extra);
    run(api, &args)
}

fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == code))
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(report)))
}

/// Every evidence id a finding cites exists in the report.
fn cites_existing(report: &Value, f: &Value) {
    let ids: Vec<&str> = report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    for e in f["evidence"].as_array().unwrap() {
        let id = e.as_str().unwrap();
        assert!(ids.contains(&id), "{} cites missing {id}", f["code"]);
    }
    assert!(!f["evidence"].as_array().unwrap().is_empty(), "{f}");
}

fn no_secret(run: &Run) {
    assert!(!run.stdout.contains(cfapi::TOKEN), "token in stdout");
    assert!(!run.stderr.contains(cfapi::TOKEN), "token in stderr");
}

#[test]
fn strict_zone_with_an_expired_origin_certificate_and_unhealthy_pool() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let http = origins::http_ok();
    let https = origins::https_expired(&ca, "lb.example.com");
    let api = cfapi::start(cfapi::incident());
    let base = api.base();
    let (h, s) = (http.port.to_string(), https.port.to_string());
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "example.com",
            "--host",
            "lb.example.com",
            "--api-base",
            &base,
            "--origin",
            "127.0.0.1",
            "--allow-private",
            "--http-port",
            &h,
            "--https-port",
            &s,
            "--ca-file",
            ca_pem.to_str().unwrap(),
            "--since",
            "2h",
            "-o",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
    );
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    no_secret(&out);
    assert!(
        out.stderr
            .contains("note: API token from CLOUDFLARE_API_TOKEN"),
        "{}",
        out.stderr
    );
    assert_eq!(report["subject"]["kind"], "cloudflare");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");

    // Full (strict) and an expired certificate: 526, cited from the origin check and the 3
    // edge 526s in the analytics.
    let f526 = finding(&report, "cloudflare-526-origin-invalid-cert");
    assert_eq!(f526["severity"], "critical");
    let cited: Vec<&str> = f526["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cited.iter().any(|c| c.starts_with("upstream.")),
        "{cited:?}"
    );
    assert!(cited.contains(&"cloudflare.analytics"), "{cited:?}");
    cites_existing(&report, f526);

    // Pool web: 203.0.113.11 unhealthy, "TLS untrusted certificate error"; the LB's other pool
    // (dr) has no health, so the LB is not entirely down: a warning.
    let pool = finding(&report, "cloudflare-pool-unhealthy");
    assert!(pool["title"].as_str().unwrap().contains("web"), "{pool}");
    let targets = report["targets"].as_array().unwrap();
    let bad = targets
        .iter()
        .find(|t| t["address"] == "203.0.113.11")
        .unwrap();
    assert_eq!(bad["health"], "unhealthy");
    assert_eq!(bad["reason"], "TLS untrusted certificate error");
    finding(&report, "cloudflare-healthcheck-unhealthy");

    // The analytics split: 7 origin-made 502s, 40 edge-made 502s in one colo and one minute.
    let origin = finding(&report, "cloudflare-origin-502");
    assert!(origin["title"].as_str().unwrap().contains('7'), "{origin}");
    let edge = finding(&report, "cloudflare-edge-502");
    assert!(edge["title"].as_str().unwrap().contains("40"), "{edge}");
    let logs = &report["logs"][0];
    assert_eq!(logs["dialect"], "cloudflare-http-requests");
    assert_eq!(logs["lines"], 1000);

    // The direct checks: both ports, Host and SNI lb.example.com, the certificate read although
    // expired.
    let probes = report["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    let tls = probes.iter().find(|p| p["scheme"] == "https").unwrap();
    assert_eq!(tls["host"], "lb.example.com");
    assert_eq!(tls["tls"]["expired"], true);
    assert_eq!(tls["tls"]["sni"], "lb.example.com");

    // Read-only, authorized, within budget, GraphQL asked for this host and zone.
    let reqs = api.requests();
    assert!(reqs.iter().all(|r| r.authorized));
    assert!(
        reqs.iter()
            .all(|r| r.method == "GET" || (r.method == "POST" && r.path().ends_with("/graphql")))
    );
    assert!(
        reqs.iter()
            .all(|r| !r.path_and_query.contains(cfapi::TOKEN))
    );
    // 15 for the zone, pools, health and analytics, 4 for the per-host rules and Workers routes,
    // 1 per monitor.
    assert!(reqs.len() <= 20, "{} requests", reqs.len());
    let gql = api.graphql_requests();
    assert_eq!(gql.len(), 1);
    let vars = &gql[0]["variables"];
    assert_eq!(vars["zoneTag"], cfapi::ZONE_ID);
    assert_eq!(vars["filter"]["clientRequestHTTPHost"], "lb.example.com");
    assert_eq!(vars["errors"]["edgeResponseStatus_geq"], 500);
    // Pool health read for the LB's pools only.
    assert!(reqs.iter().any(|r| r.path().ends_with("/health")));
    let sent = report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "cloudflare.requests")
        .unwrap();
    assert!(
        sent["fact"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} API requests sent", reqs.len())),
        "{sent}"
    );
}

#[test]
fn flexible_mode_in_front_of_an_https_only_origin_is_a_mismatch() {
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let api = cfapi::start(zone(
        "flexible",
        vec![AnalyticsRow::new(521, 0, "SJC", "2026-11-21T10:05:00Z", 30)],
    ));
    let out = run_origins(&api, closed_port(), https.port, &[]);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(top_code(&report), "cloudflare-ssl-mode-mismatch");
    let f = &report["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert!(f["title"].as_str().unwrap().contains("30"), "{f}");
    cites_existing(&report, f);
    // The mismatch explains the 521s: they are not reported twice.
    assert!(!codes(&report).contains(&"cloudflare-521-origin-refused"));
}

#[test]
fn flexible_mode_with_an_origin_that_redirects_to_https_is_a_loop() {
    let http = origins::http_redirect_to_https(HOST);
    let api = cfapi::start(zone("flexible", Vec::new()));
    let out = run_origins(&api, http.port, closed_port(), &[]);
    let report = out.json();
    assert_eq!(top_code(&report), "cloudflare-ssl-mode-mismatch");
    let title = report["findings"][0]["title"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(title.contains("redirect"), "{title}");
    // Redirects are not followed: one GET per port.
    let http_probe = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scheme"] == "http")
        .unwrap();
    assert_eq!(http_probe["http"]["status"], 301);
}

#[test]
fn full_mode_with_nothing_on_443_is_a_mismatch() {
    let http = origins::http_ok();
    let api = cfapi::start(zone("full", Vec::new()));
    let out = run_origins(&api, http.port, closed_port(), CHECKS_ONLY);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(top_code(&report), "cloudflare-ssl-mode-mismatch");
    assert!(
        report["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("521"),
        "{:#}",
        report["findings"][0]
    );
}

#[test]
fn self_signed_origin_breaks_strict_but_not_full() {
    let http = origins::http_ok();
    let https = origins::https_self_signed(HOST);
    let api = cfapi::start(zone("strict", Vec::new()));
    let out = run_origins(&api, http.port, https.port, CHECKS_ONLY);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(top_code(&report), "cloudflare-526-origin-invalid-cert");
    assert_eq!(report["findings"][0]["severity"], "critical");

    let api = cfapi::start(zone("full", Vec::new()));
    let out = run_origins(&api, http.port, https.port, CHECKS_ONLY);
    let report = out.json();
    // Full accepts it: only an info finding (Full (strict) would 526), so exit 0.
    assert_eq!(out.code, 0, "{}\n{:?}", out.stderr, codes(&report));
    assert_eq!(
        finding(&report, "cloudflare-526-origin-invalid-cert")["severity"],
        "info"
    );
}

#[test]
fn wrong_hostname_certificate_breaks_strict() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path());
    let http = origins::http_ok();
    let https = origins::https_wrong_host(&ca, "other.example.net");
    let api = cfapi::start(zone("strict", Vec::new()));
    let out = run_origins(
        &api,
        http.port,
        https.port,
        &["--ca-file", pem.to_str().unwrap(), "--no-analytics"],
    );
    let report = out.json();
    assert_eq!(top_code(&report), "cloudflare-526-origin-invalid-cert");
    let tls = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scheme"] == "https")
        .unwrap();
    assert_eq!(tls["tls"]["hostname_match"], false);
}

#[test]
fn healthy_strict_origin_with_a_trusted_certificate_is_clean() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path());
    let http = origins::http_ok();
    let https = origins::https_valid(&ca, HOST);
    let api = cfapi::start(zone("strict", Vec::new()));
    let out = run_origins(
        &api,
        http.port,
        https.port,
        &["--ca-file", pem.to_str().unwrap()],
    );
    let report = out.json();
    assert_eq!(out.code, 0, "{}\n{:#}", out.stderr, report["findings"]);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{:#}",
        report["findings"]
    );
    let tls = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scheme"] == "https")
        .unwrap();
    assert_eq!(tls["tls"]["verified"], true);
}

#[test]
fn origin_refusing_connections_is_a_521() {
    let api = cfapi::start(zone("full", Vec::new()));
    let https = closed_port();
    let out = run_origins(&api, closed_port(), https, CHECKS_ONLY);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(top_code(&report), "cloudflare-521-origin-refused");
    // The next command checks the port this run checked (--https-port), not 443.
    let next = report["findings"][0]["next_command"].as_str().unwrap();
    assert!(
        next.contains(&format!("{HOST}:{https}:127.0.0.1")),
        "{next}"
    );
    cites_existing(&report, &report["findings"][0]);
}

#[test]
fn origin_that_never_answers_is_a_524() {
    let http = origins::silent();
    let https = origins::silent();
    let api = cfapi::start(zone("flexible", Vec::new()));
    let out = run_origins(&api, http.port, https.port, CHECKS_ONLY);
    let report = out.json();
    assert_eq!(
        top_code(&report),
        "cloudflare-524-origin-slow",
        "{:?}",
        codes(&report)
    );
    // Bounded by --origin-timeout 2s, not by the origin.
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
}

#[test]
fn origin_that_drops_syns_is_a_522() {
    let (port, _guard) = cloud502_e2e::server::unresponsive_port();
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let api = cfapi::start(zone("flexible", Vec::new()));
    let out = run_origins(&api, port, https.port, CHECKS_ONLY);
    let report = out.json();
    let c = codes(&report);
    // Flexible needs port 80: with https answering it reads as a mismatch; either way the
    // timeout is named.
    assert!(
        c.contains(&"cloudflare-522-origin-timeout") || c.contains(&"cloudflare-ssl-mode-mismatch"),
        "{c:?}"
    );
    let text = report["findings"].to_string();
    assert!(text.contains("522"), "{text}");
}

#[test]
fn an_origin_name_that_does_not_resolve_is_a_530() {
    let api = cfapi::start(zone("full", Vec::new()));
    let out = run(&api, &["--origin", "origin.invalid", "--no-analytics"]);
    let report = out.json();
    assert_eq!(
        top_code(&report),
        "cloudflare-530-origin-unresolvable",
        "{:?}",
        codes(&report)
    );
}

#[test]
fn analytics_tell_an_origin_502_from_edge_52x() {
    let api = cfapi::start(zone(
        "full",
        vec![
            AnalyticsRow::new(502, 502, "AMS", "2026-11-21T10:00:00Z", 120),
            AnalyticsRow::new(502, 502, "FRA", "2026-11-21T10:20:00Z", 80),
            AnalyticsRow::new(523, 0, "SJC", "2026-11-21T10:03:00Z", 4),
            AnalyticsRow::new(520, 0, "SJC", "2026-11-21T10:04:00Z", 2),
        ],
    ));
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(top_code(&report), "cloudflare-origin-502");
    assert!(
        report["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("200")
    );
    let c = codes(&report);
    assert!(c.contains(&"cloudflare-523-origin-unreachable"), "{c:?}");
    assert!(c.contains(&"cloudflare-520-unknown-response"), "{c:?}");
    assert!(!c.contains(&"cloudflare-edge-502"), "{c:?}");
    assert!(report["probes"].as_array().unwrap().is_empty());
}

#[test]
fn edge_502s_spread_over_colos_point_at_the_origin_response() {
    let api = cfapi::start(zone(
        "full",
        vec![
            AnalyticsRow::new(502, 0, "SJC", "2026-11-21T10:00:00Z", 50),
            AnalyticsRow::new(502, 0, "AMS", "2026-11-21T10:30:00Z", 50),
        ],
    ));
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    let f = finding(&report, "cloudflare-edge-502");
    assert_eq!(f["severity"], "critical");
    let text = f.to_string().to_lowercase();
    assert!(
        text.contains("compression") || text.contains("content-length"),
        "{text}"
    );

    // The same 100 in one colo within a minute: a transient edge shift.
    let api = cfapi::start(zone(
        "full",
        vec![AnalyticsRow::new(
            502,
            0,
            "SJC",
            "2026-11-21T10:00:00Z",
            100,
        )],
    ));
    let report = run(&api, &["--no-origin-check"]).json();
    let f = finding(&report, "cloudflare-edge-502");
    assert!(f["title"].as_str().unwrap().contains("transient"), "{f}");
}

#[test]
fn a_dns_only_record_means_cloudflare_is_not_in_the_path() {
    let mut s = zone("full", Vec::new());
    s.dns = vec![DnsRecord::new(HOST, "A", "127.0.0.1", false)];
    let api = cfapi::start(s);
    let report = run(&api, &["--no-origin-check"]).json();
    assert_eq!(
        top_code(&report),
        "cloudflare-not-proxied",
        "{:?}",
        codes(&report)
    );
}

#[test]
fn private_origins_are_not_checked_without_allow_private() {
    let http = origins::http_ok();
    let api = cfapi::start(zone("flexible", Vec::new()));
    let p = http.port.to_string();
    let out = run(&api, &["--http-port", &p]);
    let report = out.json();
    assert!(report["probes"].as_array().unwrap().is_empty());
    assert!(
        out.stderr.contains("not checked") && out.stderr.contains("--allow-private"),
        "{}",
        out.stderr
    );
}

#[test]
fn pages_are_followed() {
    pages_are_read(false);
}

#[test]
fn pages_are_followed_when_the_list_omits_total_pages() {
    // Some lists answer result_info without total_pages or total_count (KB 9.3).
    pages_are_read(true);
}

/// Three DNS records served one a page are all read.
fn pages_are_read(bare_result_info: bool) {
    let mut s = zone("full", Vec::new());
    s.bare_result_info = bare_result_info;
    s.dns = vec![
        DnsRecord::new(HOST, "A", "203.0.113.1", true),
        DnsRecord::new(HOST, "A", "203.0.113.2", true),
        DnsRecord::new(HOST, "AAAA", "2001:db8::1", true),
    ];
    s.per_page = Some(1);
    let api = cfapi::start(s);
    let report = run(&api, &["--no-origin-check"]).json();
    let dns_calls: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/dns_records"))
        .collect();
    // Without a total, an empty fourth page ends the list.
    assert_eq!(dns_calls.len(), if bare_result_info { 4 } else { 3 });
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);
    let routes = report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"].as_str().unwrap().starts_with("cloudflare.dns."))
        .count();
    assert_eq!(routes, 3);
}

#[test]
fn a_list_cut_at_the_page_limit_is_a_gap_not_silence() {
    let mut s = zone("full", Vec::new());
    s.dns = (1..=25)
        .map(|i| DnsRecord::new(HOST, "A", &format!("203.0.113.{i}"), true))
        .collect();
    s.per_page = Some(1);
    let api = cfapi::start(s);
    let run = run(&api, &["--no-origin-check"]);
    assert_eq!(
        run.code, 3,
        "a cut list makes the report partial: {}",
        run.stderr
    );
    let report = run.json();
    let gap = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "truncated")
        .unwrap_or_else(|| panic!("no truncated gap: {}", report["errors"]));
    let message = gap["message"].as_str().unwrap();
    assert!(
        message.contains("cut at 20 pages") && message.contains("20 of 25 records"),
        "{message}"
    );
    assert!(run.stderr.contains("cut at 20 pages"), "{}", run.stderr);
}

#[test]
fn analytics_at_the_group_limit_are_newest_first_and_a_gap() {
    // 5000 groups, one per minute: the query's limit. The server answers them as given.
    let rows: Vec<AnalyticsRow> = (0..5000u32)
        .map(|i| {
            let t = 1_795_000_000 - i64::from(i) * 60;
            let minute = time::OffsetDateTime::from_unix_timestamp(t)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            AnalyticsRow::new(502, 502, "AMS", &minute, 1)
        })
        .collect();
    let api = cfapi::start(zone("full", rows));
    let run = run(&api, &["--no-origin-check"]);
    let report = run.json();
    let query = api.graphql_requests()[0]["query"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(query.contains("datetimeMinute_DESC"), "{query}");
    let gap = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "truncated")
        .unwrap_or_else(|| panic!("no truncated gap: {}", report["errors"]));
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .contains("5000-group limit")
    );
    assert!(gap["hint"].as_str().unwrap().contains("--since"));
    assert_eq!(report["summary"]["partial"], true);
}

#[test]
fn pools_past_the_health_read_cap_are_a_gap_not_healthy() {
    let pools: Vec<cfapi::Pool> = (1..=12)
        .map(|i| {
            cfapi::Pool::new(
                &format!("pool-{i}"),
                vec![cfapi::Origin::new("o", &format!("198.51.100.{i}"))],
            )
        })
        .collect();
    let ids: Vec<&str> = pools.iter().map(|p| p.id.as_str()).collect();
    let lb = cfapi::LoadBalancer::new(HOST, &ids);
    let s = Scenario {
        load_balancers: vec![lb],
        pools: pools.clone(),
        ..zone("full", Vec::new())
    };
    let api = cfapi::start(s);
    let run = run(&api, &["--no-origin-check"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    let gap = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "truncated" && g["scope"] == "cloudflare:pools")
        .unwrap_or_else(|| panic!("no pools gap: {}", report["errors"]));
    let message = gap["message"].as_str().unwrap();
    assert!(
        message.contains("10 of the load balancer's 12 pools") && message.contains("pool-12"),
        "{message}"
    );
    let health_calls = api
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/health"))
        .count();
    assert_eq!(health_calls, 10);
}

#[test]
fn missing_permissions_become_gaps_and_the_rest_is_read() {
    let mut s = zone(
        "full",
        vec![AnalyticsRow::new(
            502,
            502,
            "AMS",
            "2026-11-21T10:00:00Z",
            9,
        )],
    );
    s.forbid = vec!["load_balancers", "graphql"];
    let api = cfapi::start(s);
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    assert_eq!(out.code, 3, "{}\n{:#}", out.stderr, report["findings"]);
    let gaps = report["errors"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:#?}");
    assert!(gaps.iter().all(|g| g["kind"] == "permission"));
    let hints: Vec<&str> = gaps.iter().filter_map(|g| g["hint"].as_str()).collect();
    assert!(
        hints.iter().any(|h| h.contains("Load Balancers / Read")),
        "{hints:?}"
    );
    assert!(
        hints.iter().any(|h| h.contains("Analytics / Read")),
        "{hints:?}"
    );
    assert!(
        out.stderr.contains("warning: cloudflare:analytics"),
        "{}",
        out.stderr
    );
    // SSL mode and DNS were still read.
    assert!(
        report["evidence"]
            .to_string()
            .contains("SSL/TLS encryption mode: full")
    );
}

#[test]
fn skipped_sources_are_not_gaps() {
    let mut s = zone("full", Vec::new());
    s.forbid = vec!["load_balancers", "graphql", "healthchecks"];
    let api = cfapi::start(s);
    let out = run(
        &api,
        &[
            "--no-origin-check",
            "--no-load-balancers",
            "--no-analytics",
            "--no-health-checks",
        ],
    );
    let report = out.json();
    assert_eq!(
        report["errors"].as_array().unwrap().len(),
        0,
        "{:#}",
        report["errors"]
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        api.requests()
            .iter()
            .all(|r| !r.path().contains("load_balancers")
                && !r.path().contains("graphql")
                && !r.path().contains("healthchecks"))
    );
}

#[test]
fn a_429_on_the_zone_stops_the_run_with_the_retry_time() {
    let mut s = zone("full", Vec::new());
    s.throttle = Some(300);
    let api = cfapi::start(s);
    let out = run(&api, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("retry after 300 s"), "{}", out.stderr);
    assert!(out.stderr.contains("5 minutes"), "{}", out.stderr);
    // Never retried, never slept on.
    assert_eq!(api.requests().len(), 1);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

#[test]
fn the_request_budget_caps_the_run() {
    let api = cfapi::start(zone("full", Vec::new()));
    let out = run(&api, &["--no-origin-check", "--max-requests", "3"]);
    let report = out.json();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(api.requests().len() <= 3, "{}", api.requests().len());
    let gaps = report["errors"].to_string();
    assert!(gaps.contains("budget of 3 API requests"), "{gaps}");
    assert!(gaps.contains("--max-requests"), "{gaps}");
}

#[test]
fn a_rejected_token_is_exit_4_without_echoing_it() {
    let api = cfapi::start(zone("full", Vec::new()));
    let base = api.base();
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "example.com",
            "--api-base",
            &base,
            "-o",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", "wrong-token-4f9a")],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Cloudflare rejected the API token from CLOUDFLARE_API_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("9109"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-token-4f9a") && !out.stdout.contains("wrong-token-4f9a"));
}

#[test]
fn the_fallback_variable_is_read_and_no_token_means_no_request() {
    let api = cfapi::start(zone("full", Vec::new()));
    let base = api.base();
    let args = [
        "cloudflare",
        "--zone",
        "example.com",
        "--host",
        HOST,
        "--api-base",
        &base,
        "--no-origin-check",
        "-o",
        "json",
    ];
    let out = cloud502_env_without(&args, &[], &["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("no Cloudflare API token"),
        "{}",
        out.stderr
    );
    assert!(api.requests().is_empty());
    let out = cloud502_env_without(
        &args,
        &[("CF_API_TOKEN", cfapi::TOKEN)],
        &["CLOUDFLARE_API_TOKEN"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("from CF_API_TOKEN"), "{}", out.stderr);
}

#[test]
fn unknown_zones_are_exit_2() {
    let api = cfapi::start(zone("full", Vec::new()));
    let base = api.base();
    for zone in ["example.org", "0123456789abcdef0123456789abcdef"] {
        let out = cloud502_env(
            &[
                "cloudflare",
                "--zone",
                zone,
                "--api-base",
                &base,
                "-o",
                "json",
            ],
            &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
        );
        assert_eq!(out.code, 2, "{zone}: {}", out.stderr);
        assert!(out.stderr.contains("not found"), "{}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn bad_options_are_named_before_any_call() {
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "example.com",
            "--host",
            "www.example.org",
            "--api-base",
            "http://api.example.net/client/v4",
            "--origin",
            "10.0.0.1:80",
        ],
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    for needle in ["is not in zone", "plain http off loopback", "--origin"] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
}

#[test]
fn a_hung_api_ends_within_the_timeout() {
    let mut s = zone("full", Vec::new());
    s.hang = true;
    let api = cfapi::start(s);
    let out = run(&api, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("no answer within 5 s"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn the_documented_permissions_are_those_the_calls_use() {
    use cloud502_cloudflare::{CloudflareOptions, CloudflareProvider, Token};
    let api = cfapi::start(cfapi::incident());
    let mut options = CloudflareOptions::new("example.com");
    options.host = Some("lb.example.com".into());
    options.api_base = Some(api.base());
    options.token = Token::new(cfapi::TOKEN);
    options.origin_checks = false;
    let provider = CloudflareProvider::new(options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(cloud502_diagnose::run(
            &provider,
            &cloud502_diagnose::CollectCx::default(),
            &cloud502_diagnose::RunOptions::default(),
        ))
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let used: Vec<String> = provider.calls().snapshot().into_keys().collect();
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/providers/cloudflare.md"),
    )
    .unwrap();
    let block = doc
        .split("```json")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let documented: Vec<String> = serde_json::from_str(block).unwrap();
    assert_eq!(used, documented);
}

// ---- Cloudflare's own records outrank checks from this machine (KB 9.3) ----

/// No critical finding and no high-confidence 52x contradicts the analytics of the same window:
/// a `cloudflare-5NN-...` finding at critical or high needs edge-made NNNs in `rows`.
fn no_finding_contradicts_the_analytics(report: &Value, rows: &[AnalyticsRow]) {
    for f in report["findings"].as_array().unwrap() {
        let code = f["code"].as_str().unwrap();
        let Some(status) = code
            .strip_prefix("cloudflare-")
            .and_then(|c| c.get(..3))
            .and_then(|c| c.parse::<u16>().ok())
        else {
            continue;
        };
        if f["severity"] == "critical" || f["confidence"] == "high" {
            assert!(
                rows.iter()
                    .any(|r| r.edge_status == status && r.origin_status == 0 && r.count > 0),
                "{code} at {}/{} while the analytics of the window show no {status}: {f:#}",
                f["severity"],
                f["confidence"]
            );
        }
    }
}

#[test]
fn an_origin_allow_listed_to_cloudflare_is_a_check_from_here_not_a_521() {
    // The origin refuses everyone but Cloudflare's ranges: the check from here is refused on
    // both ports, while Cloudflare's analytics show 200 502s from the origin and no 521.
    let rows = vec![
        AnalyticsRow::new(502, 502, "AMS", "2026-11-21T10:00:00Z", 120),
        AnalyticsRow::new(502, 502, "FRA", "2026-11-21T10:20:00Z", 80),
    ];
    let api = cfapi::start(zone("full", rows.clone()));
    let out = run_origins(&api, closed_port(), closed_port(), &[]);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        top_code(&report),
        "cloudflare-origin-502",
        "{:?}",
        codes(&report)
    );
    no_finding_contradicts_the_analytics(&report, &rows);
    assert!(!codes(&report).contains(&"cloudflare-521-origin-refused"));
    // Not Enterprise: the API schema's default Proxy Read Timeout applies.
    assert!(
        report["evidence"].to_string().contains("the default 100 s"),
        "{:#}",
        report["evidence"]
    );
    let f = finding(&report, "cloudflare-origin-check-from-here");
    assert_eq!(f["severity"], "info", "{f:#}");
    assert_eq!(f["confidence"], "low", "{f:#}");
    let title = f["title"].as_str().unwrap();
    assert!(title.contains("From this machine"), "{title}");
    let explanation = f["explanation"].as_str().unwrap();
    assert!(explanation.contains("no 521"), "{explanation}");
    assert!(
        explanation.contains("Cloudflare's IP ranges"),
        "{explanation}"
    );
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "cloudflare.analytics"),
        "{f:#}"
    );
    cites_existing(&report, f);
}

#[test]
fn a_healthy_pool_origin_on_its_own_port_outranks_a_refused_check() {
    // The pool's monitor reaches 127.0.0.1 (on the origin's own port and Host header); the check
    // from here, on the default ports, is refused. No analytics: the pool health decides.
    let mut web = cfapi::Pool::new("web", vec![cfapi::Origin::new("web-1", "127.0.0.1")]);
    web.healthy = Some(true);
    let lb = cfapi::LoadBalancer::new(HOST, &[&web.id]);
    let scenario = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(HOST, "A", "127.0.0.1", true)],
        pool_health: vec![cfapi::PoolHealth {
            pool_id: web.id.clone(),
            regions: vec![cfapi::RegionHealth {
                region: "Amsterdam, NL".into(),
                healthy: true,
                origins: vec![cfapi::OriginHealth::healthy("127.0.0.1")],
            }],
        }],
        load_balancers: vec![lb],
        pools: vec![web],
        ..Scenario::default()
    };
    let api = cfapi::start(scenario);
    let out = run_origins(&api, closed_port(), closed_port(), &["--no-analytics"]);
    let report = out.json();
    no_finding_contradicts_the_analytics(&report, &[]);
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-521-origin-refused"), "{c:?}");
    let f = finding(&report, "cloudflare-origin-check-from-here");
    assert_eq!(f["confidence"], "low", "{f:#}");
    let explanation = f["explanation"].as_str().unwrap();
    assert!(explanation.contains("pool web"), "{explanation}");
    assert!(explanation.contains("port"), "{explanation}");
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "cloudflare.pool.web"),
        "{f:#}"
    );
    cites_existing(&report, f);
    // Nothing critical: Cloudflare reaches the origin.
    assert_eq!(out.code, 0, "{}\n{c:?}", out.stderr);
}

#[test]
fn analytics_that_show_the_521_keep_the_check_as_corroboration() {
    // The same refused check, but Cloudflare's records show the 521s: both agree, critical.
    let rows = vec![AnalyticsRow::new(521, 0, "AMS", "2026-11-21T10:00:00Z", 50)];
    let api = cfapi::start(zone("full", rows.clone()));
    let out = run_origins(&api, closed_port(), closed_port(), &[]);
    let report = out.json();
    assert_eq!(top_code(&report), "cloudflare-521-origin-refused");
    let f = &report["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["confidence"], "high");
    assert!(!codes(&report).contains(&"cloudflare-origin-check-from-here"));
    no_finding_contradicts_the_analytics(&report, &rows);
}

// ---- Cloudflare Tunnel and DNS shapes ----

const TUNNEL_ID: &str = "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415";

#[test]
fn a_tunnel_is_recognised_and_its_502s_blame_cloudflared() {
    let rows = vec![AnalyticsRow::new(
        502,
        502,
        "AMS",
        "2026-11-21T10:00:00Z",
        60,
    )];
    let scenario = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(
            HOST,
            "CNAME",
            &format!("{TUNNEL_ID}.cfargotunnel.com"),
            true,
        )],
        analytics: rows.clone(),
        total_requests: 5000,
        ..Scenario::default()
    };
    let api = cfapi::start(scenario);
    let out = run(&api, &[]);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        top_code(&report),
        "cloudflare-tunnel-502",
        "{:?}",
        codes(&report)
    );
    let f = &report["findings"][0];
    assert_eq!(f["confidence"], "high");
    assert!(f["title"].as_str().unwrap().contains(TUNNEL_ID), "{f:#}");
    assert!(
        f["explanation"].as_str().unwrap().contains("Ray ID"),
        "{f:#}"
    );
    cites_existing(&report, f);
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-origin-502"), "{c:?}");
    assert!(!c.contains(&"cloudflare-530-origin-unresolvable"), "{c:?}");
    // The tunnel name is not checked from here.
    assert!(
        report["probes"].as_array().unwrap().is_empty(),
        "{:#}",
        report["probes"]
    );
    no_finding_contradicts_the_analytics(&report, &rows);
}

#[test]
fn a_proxied_wildcard_record_covers_the_host() {
    let rows = vec![AnalyticsRow::new(521, 0, "AMS", "2026-11-21T10:00:00Z", 50)];
    let scenario = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new("*.example.com", "A", "127.0.0.1", true)],
        analytics: rows.clone(),
        total_requests: 5000,
        ..Scenario::default()
    };
    let api = cfapi::start(scenario);
    let out = run_origins(&api, closed_port(), closed_port(), &[]);
    let report = out.json();
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-not-proxied"), "{c:?}");
    assert_eq!(top_code(&report), "cloudflare-521-origin-refused", "{c:?}");
    assert!(
        report["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("50")
    );
    let text = report["evidence"].to_string();
    assert!(text.contains("wildcard"), "{text}");
    // The wildcard's address was checked.
    assert!(!report["probes"].as_array().unwrap().is_empty());
    no_finding_contradicts_the_analytics(&report, &rows);
}

#[test]
fn a_cname_to_another_host_of_the_zone_is_followed_in_the_zone() {
    // Public DNS would answer origin.example.com with Cloudflare's edge; the zone says 127.0.0.1.
    let http = origins::http_ok();
    let scenario = Scenario {
        ssl: "flexible".into(),
        dns: vec![
            DnsRecord::new(HOST, "CNAME", "origin.example.com", true),
            DnsRecord::new("origin.example.com", "A", "127.0.0.1", true),
        ],
        ..Scenario::default()
    };
    let api = cfapi::start(scenario);
    let out = run_origins(&api, http.port, closed_port(), &["--no-analytics"]);
    let report = out.json();
    let probes = report["probes"].as_array().unwrap();
    assert!(!probes.is_empty(), "{}", out.stderr);
    for p in probes {
        assert_eq!(p["resolved"][0], "127.0.0.1", "{p:#}");
    }
    let text = report["evidence"].to_string();
    assert!(text.contains("in the zone"), "{text}");
    assert_eq!(out.code, 0, "{:?}", codes(&report));
}

// ---- Cloudflare's own error answers, served verbatim (fixtures/official/PROVENANCE.md) ----

/// A run whose zone lookup gets one of Cloudflare's own answers: exit 4, its code named, the
/// token never echoed. Returns stderr.
fn zone_answer(answer: cfapi::Canned, code: &str) -> String {
    let mut sc = zone("full", Vec::new());
    sc.canned = vec![answer];
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains(code), "{}", out.stderr);
    no_secret(&out);
    out.stderr
}

#[test]
fn a_malformed_token_is_an_auth_error_with_the_fix_not_unreachable() {
    let stderr = zone_answer(
        cloud502_e2e::cf_official!("/zones", 400, "zones-400-6003-malformed-token.json"),
        "6003",
    );
    assert!(stderr.contains("could not read the API token"), "{stderr}");
    assert!(stderr.contains("Bearer"), "{stderr}");
    assert!(!stderr.contains("network access"), "{stderr}");
}

#[test]
fn a_token_not_allowed_from_this_address_gets_its_own_hint() {
    let stderr = zone_answer(
        cloud502_e2e::cf_official!("/zones", 403, "zones-403-9109-ip-not-allowed.json"),
        "9109",
    );
    assert!(stderr.contains("Client IP Address Filtering"), "{stderr}");
    assert!(!stderr.contains("must be active and have"), "{stderr}");
}

#[test]
fn a_graphql_429_does_not_stop_the_rest_calls() {
    let mut sc = cfapi::incident();
    sc.canned = vec![cloud502_e2e::cf_official!(
        "/graphql",
        429,
        "graphql-429-budget-depleted.json"
    )];
    let api = cfapi::start(sc);
    let base = api.base();
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "example.com",
            "--host",
            "lb.example.com",
            "--api-base",
            &base,
            "--no-origin-check",
            "-o",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
    );
    let report = out.json();
    let gaps = report["errors"].as_array().unwrap();
    let text = report["errors"].to_string();
    assert!(!text.contains("earlier call was rate limited"), "{text}");
    let g = gaps
        .iter()
        .find(|g| g["scope"] == "cloudflare:analytics")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(g["kind"], "throttled", "{g:#}");
    assert!(
        g["hint"].as_str().unwrap().contains("GraphQL's own quota"),
        "{g:#}"
    );
    assert_eq!(gaps.len(), 1, "{text}");
    // Every REST read of the run was sent and answered: pools and their health included.
    let paths: Vec<String> = api
        .requests()
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("/health")), "{paths:?}");
    assert!(
        codes(&report).contains(&"cloudflare-pool-unhealthy"),
        "{:?}",
        codes(&report)
    );
}

#[test]
fn a_graphql_error_answered_with_400_keeps_its_hint() {
    let mut sc = zone("full", Vec::new());
    sc.canned = vec![cloud502_e2e::cf_official!(
        "/graphql",
        400,
        "graphql-400-older-than.json"
    )];
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check", "--since", "60d"]);
    let report = out.json();
    let text = report["errors"].to_string();
    assert!(text.contains("cannot request data older than"), "{text}");
    assert!(text.contains("shorten --since"), "{text}");
    assert_eq!(out.code, 3, "{}", out.stderr);
}

// ---- Scope ----

#[test]
fn health_checks_of_other_hosts_are_not_the_hosts() {
    let mut sc = zone("full", Vec::new());
    sc.healthchecks = vec![
        cfapi::Healthcheck::new("www-https", "127.0.0.1", "HTTPS", 443, "healthy", ""),
        cfapi::Healthcheck::new(
            "api-https",
            "198.51.100.7",
            "HTTPS",
            443,
            "unhealthy",
            "TCP connection failed",
        ),
    ];
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-healthcheck-unhealthy"), "{c:?}");
    assert_eq!(out.code, 0, "{}\n{c:?}", out.stderr);
    let text = report["evidence"].to_string();
    assert!(text.contains("api-https (198.51.100.7)"), "{text}");
    assert!(text.contains("not counted for www.example.com"), "{text}");
    // The host's own check is still read.
    assert!(text.contains("health check www-https"), "{text}");
}

#[test]
fn a_disabled_pool_is_not_probed() {
    let web = cfapi::Pool::new("web", vec![cfapi::Origin::new("web-1", "127.0.0.1")]);
    let mut spare = cfapi::Pool::new("spare", vec![cfapi::Origin::new("spare-1", "0.0.0.0")]);
    spare.enabled = false;
    let lb = cfapi::LoadBalancer::new(HOST, &[&web.id, &spare.id]);
    let http = origins::http_ok();
    let scenario = Scenario {
        ssl: "flexible".into(),
        load_balancers: vec![lb],
        pools: vec![web, spare],
        ..Scenario::default()
    };
    let api = cfapi::start(scenario);
    let out = run_origins(&api, http.port, closed_port(), &["--no-analytics"]);
    let report = out.json();
    for p in report["probes"].as_array().unwrap() {
        assert_ne!(p["resolved"][0], "0.0.0.0", "{p:#}");
    }
    let checked = report["evidence"].to_string();
    assert!(!checked.contains("from pool spare"), "{checked}");
    assert!(
        !codes(&report)
            .iter()
            .any(|c| c.starts_with("cloudflare-52")),
        "{:?}",
        codes(&report)
    );
}

#[test]
fn origin_checks_run_without_a_token_and_say_what_the_api_would_add() {
    let api = cfapi::start(zone("full", Vec::new()));
    let base = api.base();
    let http = origins::http_ok();
    let (h, s) = (http.port.to_string(), closed_port().to_string());
    let args = [
        "cloudflare",
        "--zone",
        "example.com",
        "--host",
        HOST,
        "--api-base",
        &base,
        "--origin",
        "127.0.0.1",
        "--allow-private",
        "--http-port",
        &h,
        "--https-port",
        &s,
        "-o",
        "json",
    ];
    let out = cloud502_env_without(&args, &[], &["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"]);
    let report = out.json();
    // Nothing was sent to the API; the origin was checked on both ports.
    assert!(api.requests().is_empty(), "{:?}", api.requests());
    assert_eq!(
        report["probes"].as_array().unwrap().len(),
        2,
        "{}",
        out.stderr
    );
    let gaps = report["errors"].to_string();
    assert!(gaps.contains("no Cloudflare API token"), "{gaps}");
    assert!(gaps.contains("analytics split"), "{gaps}");
    // Port 80 answers, 443 refuses: with the SSL mode unread the checks disagree, so no 52x is
    // claimed; the run is partial (exit 3), not a failure to start (exit 4).
    assert_eq!(out.code, 3, "{}\n{:?}", out.stderr, codes(&report));
}

#[test]
fn an_origin_that_requires_cloudflares_client_certificate_is_a_check_from_here() {
    // Authenticated Origin Pulls: the origin asks for a client certificate that Cloudflare
    // presents and this machine does not. Analytics: 300 origin-made 502s, no 520 or 525.
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let https = origins::https_client_auth(&ca, HOST);
    let rows = vec![AnalyticsRow::new(
        502,
        502,
        "AMS",
        "2026-11-21T10:00:00Z",
        300,
    )];
    let api = cfapi::start(zone("strict", rows.clone()));
    let out = run_origins(
        &api,
        closed_port(),
        https.port,
        &["--ca-file", ca_pem.to_str().unwrap()],
    );
    let report = out.json();
    no_finding_contradicts_the_analytics(&report, &rows);
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-520-unknown-response"), "{c:?}");
    assert!(!c.contains(&"cloudflare-525-origin-tls-handshake"), "{c:?}");
    let f = finding(&report, "cloudflare-origin-check-from-here");
    assert_eq!(f["confidence"], "low", "{f:#}");
    let explanation = f["explanation"].as_str().unwrap();
    assert!(explanation.contains("client certificate"), "{explanation}");
    assert!(
        explanation.contains("Authenticated Origin Pulls"),
        "{explanation}"
    );
    cites_existing(&report, f);
}

// ---- Per-host settings: Configuration, Page and Origin Rules (KB 9.3) ----

/// A ruleset rule as the Rulesets API lists it (the shape of cloudflare-docs
/// rules/origin-rules/create-api.mdx; the values written for these tests).
fn rule(action: &str, expression: &str, description: &str, parameters: Value) -> Value {
    serde_json::json!({
        "id": cfapi::hex_id(description),
        "version": "1",
        "action": action,
        "action_parameters": parameters,
        "expression": expression,
        "description": description,
        "last_updated": cfapi::STAMP,
        "ref": cfapi::hex_id(description),
        "enabled": true
    })
}

/// The item with this id.
fn item<'a>(report: &'a Value, id: &str) -> &'a str {
    report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .and_then(|i| i["fact"].as_str().or_else(|| i["text"].as_str()))
        .unwrap_or_else(|| panic!("no item {id} in {:#}", report["evidence"]))
}

#[test]
fn a_configuration_rule_sets_the_hosts_ssl_mode() {
    // The zone is Full, but a Configuration Rule sets Flexible for this host: Cloudflare asks the
    // origin over plain HTTP, which it does not serve. Analytics show the 521s.
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let rows = vec![AnalyticsRow::new(521, 0, "SJC", "2026-11-21T10:05:00Z", 30)];
    let mut sc = zone("full", rows.clone());
    sc.config_rules = vec![
        rule(
            "set_config",
            "http.host eq \"api.example.com\"",
            "api strict",
            serde_json::json!({"ssl": "strict"}),
        ),
        rule(
            "set_config",
            &format!("(http.host eq \"{HOST}\")"),
            "www flexible",
            serde_json::json!({"ssl": "flexible", "bic": true}),
        ),
    ];
    let api = cfapi::start(sc);
    let out = run_origins(&api, closed_port(), https.port, &[]);
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let f = finding(&report, "cloudflare-ssl-mode-mismatch");
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(f["confidence"], "high", "{f:#}");
    assert!(f["title"].as_str().unwrap().contains("Flexible"), "{f:#}");
    no_finding_contradicts_the_analytics(&report, &rows);
    cites_existing(&report, f);
    let ssl = item(&report, "cloudflare.ssl");
    assert!(
        ssl.contains("Configuration Rule \"www flexible\"") && ssl.contains("full"),
        "{ssl}"
    );
    assert!(api.requests().iter().any(|r| {
        r.path()
            .ends_with("/rulesets/phases/http_config_settings/entrypoint")
    }));
}

#[test]
fn a_page_rule_sets_the_ssl_mode_when_no_configuration_rule_does() {
    // cloudflare-go's Page Rule shape (page_rules_test.go), its target pointed at this host.
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let rows = vec![AnalyticsRow::new(521, 0, "SJC", "2026-11-21T10:05:00Z", 12)];
    let mut sc = zone("strict", rows.clone());
    sc.page_rules = vec![
        serde_json::json!({
            "id": "15dae2fc158942f2adb1dd2a3d4273bc",
            "targets": [{"target": "url", "constraint": {"operator": "matches", "value": "*example.com/*"}}],
            "actions": [{"id": "always_online", "value": "on"}, {"id": "ssl", "value": "flexible"}],
            "priority": 1,
            "status": "active",
            "created_on": cfapi::STAMP,
            "modified_on": cfapi::STAMP
        }),
        serde_json::json!({
            "id": "25dae2fc158942f2adb1dd2a3d4273bc",
            "targets": [{"target": "url", "constraint": {"operator": "matches", "value": "api.example.com/*"}}],
            "actions": [{"id": "ssl", "value": "off"}],
            "priority": 2,
            "status": "active",
            "created_on": cfapi::STAMP,
            "modified_on": cfapi::STAMP
        }),
    ];
    let api = cfapi::start(sc);
    let out = run_origins(&api, closed_port(), https.port, &[]);
    let report = out.json();
    let f = finding(&report, "cloudflare-ssl-mode-mismatch");
    assert_eq!(f["confidence"], "high", "{f:#}");
    no_finding_contradicts_the_analytics(&report, &rows);
    assert!(
        item(&report, "cloudflare.ssl").contains("Page Rule \"*example.com/*\""),
        "{:#}",
        report["evidence"]
    );
}

#[test]
fn cloudflare_gos_page_rule_for_another_url_leaves_the_zone_mode() {
    // Served verbatim: its target (`example.<zone id>`) is not this host, and its envelope has
    // `"errors": null`.
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let mut sc = zone("strict", Vec::new());
    sc.canned = vec![cloud502_e2e::cf_official!(
        "/pagerules",
        200,
        "pagerules-list.json"
    )];
    let api = cfapi::start(sc);
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let out = run_origins(
        &api,
        closed_port(),
        https.port,
        &["--ca-file", ca_pem.to_str().unwrap()],
    );
    let report = out.json();
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        report["errors"]
    );
    assert!(
        item(&report, "cloudflare.ssl").contains("full (strict)"),
        "{:#}",
        report["evidence"]
    );
    assert!(!codes(&report).contains(&"cloudflare-ssl-mode-mismatch"));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn an_origin_rule_sends_the_check_to_its_port_host_header_and_sni() {
    // Cloudflare reaches the origin on the Origin Rule's port with its Host header; the default
    // ports are closed. The check from here does the same and finds the origin serving, so the
    // origin's own 502s in the analytics are the answer, not a 521.
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let rows = vec![AnalyticsRow::new(
        502,
        502,
        "AMS",
        "2026-11-21T10:05:00Z",
        20,
    )];
    let mut sc = zone("full", rows.clone());
    sc.origin_rules = vec![rule(
        "route",
        &format!("http.host in {{\"{HOST}\" \"example.com\"}}"),
        "backend port",
        serde_json::json!({
            "host_header": "backend.internal.example.net",
            "sni": {"value": HOST},
            "origin": {"port": https.port}
        }),
    )];
    let api = cfapi::start(sc);
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let out = run_origins(
        &api,
        closed_port(),
        closed_port(),
        &["--ca-file", ca_pem.to_str().unwrap()],
    );
    let report = out.json();
    no_finding_contradicts_the_analytics(&report, &rows);
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-521-origin-refused"), "{c:?}");
    assert!(!c.contains(&"cloudflare-ssl-mode-mismatch"), "{c:?}");
    let f = finding(&report, "cloudflare-origin-502");
    assert_eq!(f["confidence"], "high", "{f:#}");
    let rule_item = item(&report, "cloudflare.origin_rule");
    assert!(
        rule_item.contains("Origin Rule \"backend port\"")
            && rule_item.contains(&format!("port {}", https.port)),
        "{rule_item}"
    );
    // The HTTPS check went to the rule's port, with its Host header and SNI.
    let probe = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scheme"] == "https")
        .unwrap();
    assert_eq!(probe["port"], https.port, "{probe:#}");
    assert_eq!(probe["http"]["status"], 200, "{probe:#}");
    assert_eq!(probe["tls"]["sni"], HOST, "{probe:#}");
    let facts = report["evidence"].to_string();
    assert!(
        facts.contains("Host backend.internal.example.net and SNI www.example.com")
            && facts.contains("as the Origin Rule sets"),
        "{facts}"
    );
}

#[test]
fn an_origin_rule_that_cannot_be_evaluated_is_a_gap_not_a_guess() {
    // Cloudflare's own example, verbatim: port 9000 for `starts_with(http.request.uri.path,
    // "/team/calendar/")`. Whether it applies to a request depends on the path: the checks stay
    // on the host's ports, and a gap says which rule was not weighed.
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let mut sc = zone("full", Vec::new());
    sc.canned = vec![cloud502_e2e::cf_official!(
        "/rulesets/phases/http_request_origin/entrypoint",
        200,
        "rulesets-origin-port-9000.json"
    )];
    let api = cfapi::start(sc);
    let out = run_origins(&api, closed_port(), https.port, &[]);
    let report = out.json();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let gap = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["scope"] == "cloudflare:rules")
        .unwrap_or_else(|| panic!("{:#}", report["errors"]));
    let message = gap["message"].as_str().unwrap();
    assert!(
        message.contains("cannot tell whether a rule applies")
            && message.contains("\"Origin rule for the team calendar application\"")
            && message.contains("port 9000"),
        "{message}"
    );
    let probe = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scheme"] == "https")
        .unwrap();
    assert_eq!(probe["port"], https.port);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "critical"),
        "{:?}",
        codes(&report)
    );
}

#[test]
fn a_permission_error_on_the_rules_is_a_gap_naming_the_permission() {
    let mut sc = zone("full", Vec::new());
    sc.forbid = vec!["/rulesets/", "/pagerules", "/workers/routes"];
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let errors = report["errors"].to_string();
    for permission in [
        "Zone / Config Rules / Read",
        "Zone / Origin / Read",
        "Zone / Page Rules / Read",
        "Zone / Workers Routes / Read",
    ] {
        assert!(errors.contains(permission), "{permission}: {errors}");
    }
    // The zone-wide mode is still what the report judges with.
    assert!(item(&report, "cloudflare.ssl").contains("full"));
}

// ---- Workers routes in front of the host ----

#[test]
fn a_worker_route_in_front_of_the_host_takes_its_502s() {
    // cloudflare-go's Workers routes list, verbatim: `app1.example.com/*` runs `test_script_1`.
    let host = "app1.example.com";
    let rows = vec![
        AnalyticsRow::new(502, 502, "AMS", "2026-11-21T10:05:00Z", 40),
        AnalyticsRow::new(502, 0, "AMS", "2026-11-21T10:06:00Z", 5),
    ];
    let sc = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(host, "A", "127.0.0.1", true)],
        analytics: rows.clone(),
        total_requests: 5000,
        canned: vec![cloud502_e2e::cf_official!(
            "/workers/routes",
            200,
            "workers-routes-list.json"
        )],
        ..Scenario::default()
    };
    let api = cfapi::start(sc);
    let base = api.base();
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "example.com",
            "--host",
            host,
            "--api-base",
            &base,
            "--no-origin-check",
            "-o",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
    );
    let report = out.json();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let f = &report["findings"][0];
    assert_eq!(f["code"], "cloudflare-worker-502", "{:?}", codes(&report));
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["confidence"], "medium");
    assert!(
        f["title"].as_str().unwrap().contains("test_script_1"),
        "{f:#}"
    );
    assert!(
        f["next_command"]
            .as_str()
            .unwrap()
            .starts_with("wrangler tail test_script_1"),
        "{f:#}"
    );
    let c = codes(&report);
    assert!(!c.contains(&"cloudflare-origin-502"), "{c:?}");
    assert!(!c.contains(&"cloudflare-edge-502"), "{c:?}");
    no_finding_contradicts_the_analytics(&report, &rows);
    cites_existing(&report, f);
    // The other routes (app2, app3) are not this host's.
    let evidence = report["evidence"].to_string();
    assert!(!evidence.contains("test_script_2"), "{evidence}");
}

// ---- Load-balancer monitors ----

#[test]
fn a_response_code_mismatch_is_traced_to_the_monitor() {
    // The monitor is Cloudflare's documented example, verbatim (HTTPS GET /health on port 8080,
    // Host example.com, expects 2xx and "alive"); pool health reports "Response code mismatch
    // error" with the 404 the monitor got.
    let mut web = cfapi::Pool::new(
        "web",
        vec![
            cfapi::Origin::new("web-1", "203.0.113.10"),
            cfapi::Origin::new("web-2", "203.0.113.11"),
        ],
    );
    web.monitor = Some("f1aba936b94213e5b8dca0c0dbf1f9cc".into());
    let lb = cfapi::LoadBalancer::new(HOST, &[&web.id]);
    let mut bad = cfapi::OriginHealth::unhealthy("203.0.113.10", "Response code mismatch error");
    bad.response_code = Some(404);
    let sc = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(HOST, "A", "203.0.113.10", true)],
        pool_health: vec![cfapi::PoolHealth {
            pool_id: web.id.clone(),
            regions: vec![cfapi::RegionHealth {
                region: "Amsterdam, NL".into(),
                healthy: false,
                origins: vec![bad.clone(), {
                    let mut b = bad;
                    b.address = "203.0.113.11".into();
                    b
                }],
            }],
        }],
        load_balancers: vec![lb],
        pools: vec![web],
        canned: vec![cloud502_e2e::cf_official!(
            "/load_balancers/monitors/",
            200,
            "monitor-login-page.json"
        )],
        ..Scenario::default()
    };
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check", "--no-analytics"]);
    let report = out.json();
    let f = finding(&report, "cloudflare-pool-unhealthy");
    assert_eq!(f["confidence"], "high", "{f:#}");
    let explanation = f["explanation"].as_str().unwrap();
    for part in [
        "Response code mismatch error",
        "GET /health",
        "port 8080",
        "Host example.com",
        "expects 2xx",
    ] {
        assert!(explanation.contains(part), "{part}: {explanation}");
    }
    cites_existing(&report, f);
    assert!(
        api.requests().iter().any(|r| r
            .path()
            .ends_with("/load_balancers/monitors/f1aba936b94213e5b8dca0c0dbf1f9cc")),
        "the monitor was read"
    );
    no_finding_contradicts_the_analytics(&report, &[]);
}

#[test]
fn an_empty_pop_health_counts_no_origin_healthy() {
    // Pool health answers `pop_health: {}` (no monitor results): the origins are unknown, not
    // healthy, and the analytics' origin 502s are the answer.
    let web = cfapi::Pool::new("web", vec![cfapi::Origin::new("web-1", "203.0.113.10")]);
    let lb = cfapi::LoadBalancer::new(HOST, &[&web.id]);
    let rows = vec![AnalyticsRow::new(
        502,
        502,
        "AMS",
        "2026-11-21T10:05:00Z",
        9,
    )];
    let sc = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(HOST, "A", "203.0.113.10", true)],
        load_balancers: vec![lb],
        pools: vec![web],
        analytics: rows.clone(),
        total_requests: 900,
        ..Scenario::default()
    };
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check"]);
    let report = out.json();
    let pool = item(&report, "cloudflare.pool.web");
    assert!(pool.contains("health not reported"), "{pool}");
    assert!(
        !pool.contains("healthy;") && !pool.contains("1 of 1"),
        "{pool}"
    );
    let f = finding(&report, "cloudflare-origin-502");
    assert_eq!(f["confidence"], "high", "{f:#}");
    no_finding_contradicts_the_analytics(&report, &rows);
}

#[test]
fn a_null_in_optional_string_fields_keeps_the_rest_of_the_list() {
    // Health checks with `null` in optional fields (as real answers carry, KB 9.3; this list is
    // written for the test in the documented health-check shape): both are read.
    let mut sc = zone("full", Vec::new());
    sc.canned = vec![cfapi::Canned {
        path: "/healthchecks",
        status: 200,
        body: r#"{"success":true,"errors":[],"messages":[],"result":[
{"id":"a1","name":"www-https","description":null,"address":"127.0.0.1","type":"HTTPS","status":"unhealthy","failure_reason":"TCP connection failed","suspended":false,"http_config":{"method":"GET","path":"/","port":443,"expected_codes":null,"header":null,"expected_body":null},"tcp_config":null},
{"id":"b2","name":null,"description":null,"address":"www.example.com","type":"HTTP","status":"healthy","failure_reason":null,"suspended":null,"http_config":null,"tcp_config":null}
],"result_info":{"page":1,"per_page":25,"count":2,"total_count":2,"total_pages":1}}"#,
    }];
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check", "--no-analytics"]);
    let report = out.json();
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        report["errors"]
    );
    let f = finding(&report, "cloudflare-healthcheck-unhealthy");
    assert_eq!(f["confidence"], "high", "{f:#}");
    assert!(f["title"].as_str().unwrap().contains("www-https"), "{f:#}");
    // The second check, with a null name, is read too.
    assert_eq!(
        report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["group"] == "healthchecks")
            .count(),
        2,
        "{:#}",
        report["targets"]
    );
}

#[test]
fn the_checked_ports_are_in_the_answer_and_the_next_command() {
    let api = cfapi::start(zone("full", Vec::new()));
    let (http, https) = (closed_port(), closed_port());
    let out = run_origins(&api, http, https, CHECKS_ONLY);
    let report = out.json();
    assert_eq!(top_code(&report), "cloudflare-521-origin-refused");
    let f = &report["findings"][0];
    assert_eq!(f["confidence"], "high", "{f:#}");
    let next = f["next_command"].as_str().unwrap();
    assert!(next.contains(&format!(":{https}")), "{next}");
    let answer = report["summary"].to_string();
    assert!(answer.contains(&https.to_string()), "{answer}");
    assert!(
        report["evidence"]
            .to_string()
            .contains(&format!("on port {https}")),
        "{:#}",
        report["evidence"]
    );
}

#[test]
fn the_default_proxy_read_timeout_is_100_s() {
    let api = cfapi::start(zone("full", Vec::new()));
    let out = run(&api, &["--no-origin-check", "--no-analytics"]);
    let report = out.json();
    let prt = item(&report, "cloudflare.proxy_read_timeout");
    assert!(prt.contains("the default 100 s"), "{prt}");
    assert!(!report.to_string().contains("120 s"));
}

// ---- Zone state and input ----

#[test]
fn a_pending_zone_is_not_in_the_path() {
    // The zone was added but its nameservers were never changed: Cloudflare answers nothing for
    // the host, so a 502 there is not Cloudflare's.
    let mut sc = zone("full", Vec::new());
    sc.zone.status = "pending".into();
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check", "--no-analytics"]);
    let report = out.json();
    let f = &report["findings"][0];
    assert_eq!(f["code"], "cloudflare-not-proxied", "{:?}", codes(&report));
    assert_eq!(f["confidence"], "high", "{f:#}");
    assert!(
        f["explanation"].as_str().unwrap().contains("pending"),
        "{f:#}"
    );
    no_finding_contradicts_the_analytics(&report, &[]);
}

#[test]
fn a_unicode_host_is_read_in_its_punycode_form() {
    // Cloudflare stores internationalized names in their punycode form: the zone lookup and the
    // DNS lookup ask for it, and the run reads the host's records.
    let mut sc = zone("full", Vec::new());
    sc.zone.name = "xn--bcher-kva.example".into();
    sc.dns = vec![DnsRecord::new(
        "www.xn--bcher-kva.example",
        "A",
        "203.0.113.10",
        false,
    )];
    let api = cfapi::start(sc);
    let base = api.base();
    let out = cloud502_env(
        &[
            "cloudflare",
            "--zone",
            "bücher.example",
            "--host",
            "www.bücher.example",
            "--api-base",
            &base,
            "--no-origin-check",
            "--no-analytics",
            "-o",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
    );
    let report = out.json();
    assert_ne!(out.code, 2, "{}", out.stderr);
    let f = &report["findings"][0];
    assert_eq!(f["code"], "cloudflare-not-proxied", "{:?}", codes(&report));
    assert_eq!(f["confidence"], "high", "{f:#}");
    let reqs = api.requests();
    assert!(
        reqs.iter()
            .any(|r| r.query("name").as_deref() == Some("xn--bcher-kva.example")),
        "{:?}",
        reqs.iter().map(|r| &r.path_and_query).collect::<Vec<_>>()
    );
    assert!(
        reqs.iter()
            .any(|r| r.query("name").as_deref() == Some("www.xn--bcher-kva.example"))
    );
}

#[test]
fn a_logpush_file_with_worker_subrequests_counts_each_request_once() {
    // Each visitor request (WorkerSubrequestCount 1, OriginResponseStatus 0) has a subrequest
    // record (WorkerSubrequest true, its ParentRayID) that reached the origin, which answered
    // 502 (field names: Cloudflare's Logpush http_requests reference; values written here).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261120T100000Z_http_requests.log");
    let mut lines = String::new();
    for i in 0..20 {
        let ray = format!("8e4f1c2a3b5d{i:04x}");
        lines.push_str(&format!(
            "{{\"EdgeStartTimestamp\":\"2026-11-20T10:00:{i:02}Z\",\"EdgeResponseStatus\":502,\"OriginResponseStatus\":0,\"EdgeColoCode\":\"SJC\",\"ClientRequestHost\":\"{HOST}\",\"RayID\":\"{ray}\",\"WorkerSubrequest\":false,\"WorkerSubrequestCount\":1}}\n\
             {{\"EdgeStartTimestamp\":\"2026-11-20T10:00:{i:02}Z\",\"EdgeResponseStatus\":502,\"OriginResponseStatus\":502,\"OriginIP\":\"203.0.113.10\",\"EdgeColoCode\":\"SJC\",\"ClientRequestHost\":\"{HOST}\",\"RayID\":\"9a{ray}\",\"ParentRayID\":\"{ray}\",\"WorkerSubrequest\":true,\"WorkerSubrequestCount\":0}}\n"
        ));
    }
    std::fs::write(&path, lines).unwrap();
    let out = cloud502_e2e::cloud502(&["logs", path.to_str().unwrap(), "-o", "json"]);
    let report = out.json();
    let c = codes(&report);
    // No false "the edge made 20 502s", and 20 requests, not 40.
    assert!(!c.contains(&"cloudflare-edge-502"), "{c:?}");
    let f = finding(&report, "cloudflare-origin-502");
    assert_eq!(f["confidence"], "high", "{f:#}");
    assert!(f["title"].as_str().unwrap().contains("20"), "{f:#}");
    assert!(!f["title"].as_str().unwrap().contains("40"), "{f:#}");
}

#[test]
fn an_origin_rules_dns_target_is_where_the_check_goes() {
    // The host's own record points elsewhere; an Origin Rule sends it to backend.example.com, a
    // record of the zone, read through the API (public DNS would answer with Cloudflare's edge).
    let ca = TestCa::new();
    let https = origins::https_valid(&ca, HOST);
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let rows = vec![AnalyticsRow::new(
        502,
        502,
        "AMS",
        "2026-11-21T10:05:00Z",
        6,
    )];
    let mut sc = zone("strict", rows.clone());
    sc.dns = vec![
        DnsRecord::new(HOST, "A", "192.0.2.99", true),
        DnsRecord::new("backend.example.com", "A", "127.0.0.1", false),
    ];
    sc.origin_rules = vec![rule(
        "route",
        "true",
        "to backend",
        serde_json::json!({"origin": {"host": "backend.example.com"}}),
    )];
    let api = cfapi::start(sc);
    let out = run_origins(
        &api,
        closed_port(),
        https.port,
        &["--ca-file", ca_pem.to_str().unwrap()],
    );
    let report = out.json();
    no_finding_contradicts_the_analytics(&report, &rows);
    let f = finding(&report, "cloudflare-origin-502");
    assert_eq!(f["confidence"], "high", "{f:#}");
    let probes = report["probes"].as_array().unwrap();
    assert!(
        probes
            .iter()
            .all(|p| p["resolved"].to_string().contains("127.0.0.1")),
        "{probes:#?}"
    );
    assert!(
        report["evidence"]
            .to_string()
            .contains("DNS target backend.example.com"),
        "{:#}",
        report["evidence"]
    );
    assert!(
        !report.to_string().contains("192.0.2.99:"),
        "the host's own record is not checked"
    );
}

#[test]
fn a_pool_whose_health_reports_nothing_is_not_counted_healthy() {
    // Pool web has an unhealthy origin; pool dr's health lists nothing (pop_health {}). The
    // finding must not say the other pools are healthy.
    let mut web = cfapi::Pool::new(
        "web",
        vec![
            cfapi::Origin::new("web-1", "203.0.113.10"),
            cfapi::Origin::new("web-2", "203.0.113.11"),
        ],
    );
    web.minimum_origins = 1;
    let dr = cfapi::Pool::new("dr", vec![cfapi::Origin::new("dr-1", "198.51.100.20")]);
    let lb = cfapi::LoadBalancer::new(HOST, &[&web.id, &dr.id]);
    let sc = Scenario {
        ssl: "full".into(),
        dns: vec![DnsRecord::new(HOST, "A", "203.0.113.10", true)],
        pool_health: vec![cfapi::PoolHealth {
            pool_id: web.id.clone(),
            regions: vec![cfapi::RegionHealth {
                region: "Amsterdam, NL".into(),
                healthy: true,
                origins: vec![
                    cfapi::OriginHealth::healthy("203.0.113.10"),
                    cfapi::OriginHealth::unhealthy("203.0.113.11", "TCP connection failed"),
                ],
            }],
        }],
        load_balancers: vec![lb],
        pools: vec![web, dr],
        ..Scenario::default()
    };
    let api = cfapi::start(sc);
    let out = run(&api, &["--no-origin-check", "--no-analytics"]);
    let report = out.json();
    let f = finding(&report, "cloudflare-pool-unhealthy");
    assert_eq!(f["confidence"], "high", "{f:#}");
    let explanation = f["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("the health of 1 is unknown")
            && !explanation.contains("Other pools of the load balancer are healthy"),
        "{explanation}"
    );
    no_finding_contradicts_the_analytics(&report, &[]);
}
