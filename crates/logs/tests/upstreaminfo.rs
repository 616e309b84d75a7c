//! ingress-nginx's `upstreaminfo` access format, built in and detected, and `$upstream_status`
//! lists: a failure nginx retried where the client got 200 is counted apart from client 502s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{FormatChoice, LogClass, LogSummary, Options, summarize_path};

fn read(text: &str) -> LogSummary {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, text).unwrap();
    summarize_path(
        &path,
        "log.0",
        FormatChoice::Auto,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

/// A real line of the pre-0.26 format (`[$the_real_ip]`, no alternative upstream), from
/// https://github.com/kubernetes/ingress-nginx/issues/4168.
const REAL_0_2X: &str = r#"10.0.2.136 - [10.0.2.136] - - [07/Jun/2019:14:32:28 +0000] "GET /my-account HTTP/1.1" 502 158 "-" "Mozilla/5.0 (pc-x86_64-linux-gnu) Siege/4.0.4" 756 0.000 [default-xxx-api-bouncer-80] 0.0.0.1:80 0 0.000 502 309ee66adf5d3c874a4c30c95b2a60ac"#;

/// The current format (ingress-nginx config.go `logFormatUpstream`), one line per case.
fn current(status: u16, addr: &str, len: &str, time: &str, us: &str) -> String {
    format!(
        "203.0.113.9 - - [01/May/2026:12:00:00 +0000] \"GET /api HTTP/1.1\" {status} 12 \"-\" \"curl/8.5.0\" 80 0.012 [default-api-80] [] {addr} {len} {time} {us} 5b3c4d9e0f1a2b3c4d5e6f708192a3b4\n"
    )
}

#[test]
fn each_upstreaminfo_version_is_detected() {
    let s = read(&format!("{REAL_0_2X}\n{REAL_0_2X}\n"));
    assert_eq!(s.dialect, "nginx-access");
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(s.groups[0].upstream.as_deref(), Some("0.0.0.1:80"));
    let s = read(&current(200, "10.0.0.1:80", "12", "0.010", "200").repeat(3));
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(s.counts[0].key, "200");
    let v025 = "10.0.2.136 - [10.0.2.136] - - [07/Jun/2019:14:32:28 +0000] \"GET / HTTP/1.1\" 502 158 \"-\" \"ua\" 756 0.000 [default-a-80] [] 10.0.0.1:80 0 0.000 502 abc\n";
    let s = read(&v025.repeat(2));
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(s.groups[0].upstream.as_deref(), Some("10.0.0.1:80"));
}

#[test]
fn a_retried_failure_the_client_did_not_see_is_counted_apart() {
    let mut log = String::new();
    // nginx tried 10.0.0.1 (refused: 502), then 10.0.0.2 answered 200
    log.push_str(&current(
        200,
        "10.0.0.1:80, 10.0.0.2:80",
        "0, 12",
        "0.000, 0.010",
        "502, 200",
    ));
    log.push_str(&current(
        200,
        "10.0.0.1:80, 10.0.0.2:80",
        "0, 12",
        "0.001, 0.009",
        "502, 200",
    ));
    // every attempt failed: the client saw the 502
    log.push_str(&current(
        502,
        "10.0.0.1:80, 10.0.0.2:80",
        "0, 0",
        "0.000, 0.000",
        "502, 502",
    ));
    // an internal redirect after a 504
    log.push_str(&current(
        200,
        "10.0.0.3:80 : 10.0.0.2:80",
        "0 : 5",
        "1.000 : 0.002",
        "504 : 200",
    ));
    // an ordinary 200 and a user agent with commas
    log.push_str(&current(200, "10.0.0.2:80", "12", "0.010", "200"));
    let s = read(&log);
    assert_eq!(s.skipped.unparsed, 0, "{:?}", s.samples);
    let retried: Vec<_> = s
        .groups
        .iter()
        .filter(|g| g.class == LogClass::UpstreamRetried)
        .collect();
    assert_eq!(retried.len(), 2, "{:?}", s.groups);
    assert_eq!(retried[0].upstream.as_deref(), Some("10.0.0.1:80"));
    assert_eq!(retried[0].count, 2);
    assert_eq!(retried[0].status, Some(200));
    assert_eq!(retried[0].detail.as_deref(), Some("upstream_status 502"));
    assert_eq!(retried[1].upstream.as_deref(), Some("10.0.0.3:80"));
    assert_eq!(retried[1].detail.as_deref(), Some("upstream_status 504"));
    // the one 502 the client saw is the only client-visible failure, under the last peer
    let client: Vec<_> = s
        .groups
        .iter()
        .filter(|g| g.client_status() == Some(502))
        .collect();
    assert_eq!(client.len(), 1, "{:?}", s.groups);
    assert_eq!(client[0].count, 1);
    assert_eq!(client[0].upstream.as_deref(), Some("10.0.0.2:80"));
    let status = |k: &str| s.counts.iter().find(|c| c.key == k).map(|c| c.count);
    assert_eq!(status("200"), Some(4));
    assert_eq!(status("502"), Some(1));
}
