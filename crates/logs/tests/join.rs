//! The error.log / access-log join on peer and time (issue 19): which error lines are attempts
//! nginx retried. The lines are of the shapes nginx 1.22 writes (the e2e test
//! `nginx_log_formats::error_log_attempts_nginx_retried_are_joined_to_their_requests` has a real
//! nginx write them); times and peers are set by hand for each case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    AccessFormat, FormatChoice, LogClass, LogSummary, Options, join_error_and_access,
    summarize_path,
};
use std::path::PathBuf;

const FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ua="$upstream_addr" us="$upstream_status" uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" rid=$request_id"#;

fn refused(time: &str, peer: &str, n: u32) -> String {
    format!(
        "2026/12/08 {time} [error] 7#7: *{n} connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /r{n} HTTP/1.0\", upstream: \"http://{peer}/r{n}\", host: \"127.0.0.1\"\n"
    )
}

fn access(time: &str, status: u16, ua: &str, us: &str, urt: &str) -> String {
    format!(
        "127.0.0.1 - - [08/Dec/2026:{time} +0000] \"GET /r HTTP/1.0\" {status} 2 \"-\" \"-\" ua=\"{ua}\" us=\"{us}\" uct=\"-\" uht=\"-\" urt=\"{urt}\" rid=0123456789abcdef0123456789abcdef\n"
    )
}

fn joined(error: &str, access_log: &str) -> (LogSummary, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (e, a) = (dir.path().join("error.log"), dir.path().join("access.log"));
    std::fs::write(&e, error).unwrap();
    std::fs::write(&a, access_log).unwrap();
    let format = AccessFormat::parse("upstream", FORMAT).unwrap();
    let opts = Options::default();
    let read = |p: &PathBuf, c| {
        summarize_path(
            p,
            "log",
            c,
            std::slice::from_ref(&format),
            &opts,
            &mut |_| {},
        )
        .unwrap()
    };
    let mut logs = vec![
        read(&e, FormatChoice::NginxError),
        read(&a, FormatChoice::NginxAccess),
    ];
    let moved = join_error_and_access(&mut logs, &[e, a], &[format], &opts);
    (logs.swap_remove(0), moved)
}

fn count(s: &LogSummary, class: LogClass, peer: &str) -> u64 {
    s.groups_of(class)
        .filter(|g| g.upstream.as_deref() == Some(peer))
        .map(|g| g.count)
        .sum()
}

#[test]
fn a_retried_attempt_takes_the_error_line_at_its_peer_and_time() {
    let error = refused("12:00:05", "10.0.0.1:80", 1) + &refused("12:00:05", "10.0.0.1:80", 2);
    // one request retried on 10.0.0.2 and answered 200; one whose every server failed
    let access_log = access(
        "12:00:05",
        200,
        "10.0.0.1:80, 10.0.0.2:80",
        "502, 200",
        "0.000, 0.004",
    ) + &access(
        "12:00:05",
        502,
        "10.0.0.1:80, 10.0.0.3:80",
        "502, 502",
        "0.000, 0.000",
    );
    let (s, moved) = joined(&error, &access_log);
    assert_eq!(moved, 1);
    assert_eq!(count(&s, LogClass::ConnectRefused, "10.0.0.1:80"), 1);
    assert_eq!(count(&s, LogClass::UpstreamRetried, "10.0.0.1:80"), 1);
    let g = s.groups_of(LogClass::UpstreamRetried).next().unwrap();
    assert_eq!(g.status, Some(200));
    // the class counts follow
    let of = |k: &str| s.counts.iter().find(|c| c.key == k).map_or(0, |c| c.count);
    assert_eq!((of("connect-refused"), of("upstream-retried")), (1, 1));
}

#[test]
fn an_error_line_outside_the_attempts_time_or_at_another_peer_stays() {
    // the retried request ended at 12:00:05 after 1 s on the second server: its failed attempt
    // was at 12:00:03 at the earliest, so a line at 12:00:00 is another request's
    let access_log = access(
        "12:00:05",
        200,
        "10.0.0.1:80, 10.0.0.2:80",
        "502, 200",
        "0.000, 1.000",
    );
    let (s, moved) = joined(&refused("12:00:00", "10.0.0.1:80", 1), &access_log);
    assert_eq!(moved, 0);
    assert_eq!(count(&s, LogClass::ConnectRefused, "10.0.0.1:80"), 1);
    let (_, moved) = joined(&refused("12:00:04", "10.0.0.1:80", 1), &access_log);
    assert_eq!(moved, 1);
    let (s, moved) = joined(&refused("12:00:05", "10.0.0.9:80", 1), &access_log);
    assert_eq!(moved, 0);
    assert_eq!(count(&s, LogClass::ConnectRefused, "10.0.0.9:80"), 1);
    // one attempt takes one line: a second line at the same peer and second stays
    let two = refused("12:00:05", "10.0.0.1:80", 1) + &refused("12:00:05", "10.0.0.1:80", 2);
    let (s, moved) = joined(&two, &access_log);
    assert_eq!(moved, 1);
    assert_eq!(count(&s, LogClass::ConnectRefused, "10.0.0.1:80"), 1);
}
