//! `cloud502 logs` on saved files: the bundled incident, gzip, custom formats, --since, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::{cloud502, codes, top_code};
use std::io::Write;
use std::path::PathBuf;

fn incident(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/incident")
        .join(file)
}

const FORMAT: &str = r#"upstream=$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ua="$upstream_addr" us="$upstream_status" uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" rid=$request_id"#;

#[test]
fn the_incident_logs_classify_offline_with_detected_dialects() {
    let (err, acc) = (incident("error.log"), incident("access.log"));
    let run = cloud502(&[
        "logs",
        err.to_str().unwrap(),
        acc.to_str().unwrap(),
        "--log-format",
        FORMAT,
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["subject"]["kind"], "logs");
    assert_eq!(report["logs"][0]["dialect"], "nginx-error");
    assert_eq!(report["logs"][1]["dialect"], "nginx-access");
    assert_eq!(top_code(&report), "nginx-unix-socket-failed");
    let group = &report["logs"][0]["groups"][0];
    assert_eq!(group["class"], "connect-no-socket");
    assert_eq!(group["level"], "crit");
    assert_eq!(group["count"], 28);
    // The access log's 502s are split by upstream timing signature.
    let classes: Vec<&str> = report["logs"][1]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"status-502-no-connect"), "{classes:?}");
}

#[test]
fn gzip_input_gives_the_same_summary_as_plain() {
    let text = std::fs::read(incident("error.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("error.log.1.gz");
    let status = std::process::Command::new("gzip")
        .arg("-c")
        .arg(incident("error.log"))
        .stdout(std::fs::File::create(&gz).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let plain = cloud502(&[
        "logs",
        incident("error.log").to_str().unwrap(),
        "-o",
        "json",
    ])
    .json();
    let zipped = cloud502(&["logs", gz.to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(plain["logs"][0]["groups"], zipped["logs"][0]["groups"]);
    assert_eq!(zipped["logs"][0]["bytes"], text.len() as u64);
}

#[test]
fn since_windows_by_the_logs_own_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let line = |t: &str| {
        format!(
            "{t} [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.9:8080/\", host: \"a\"\n"
        )
    };
    let mut f = std::fs::File::create(&log).unwrap();
    for t in [
        "2026/05/01 10:00:00",
        "2026/05/01 11:00:00",
        "2026/05/01 12:30:00",
    ] {
        f.write_all(line(t).as_bytes()).unwrap();
    }
    drop(f);
    let p = log.to_str().unwrap();
    let all = cloud502(&["logs", p, "-o", "json"]).json();
    assert_eq!(all["logs"][0]["matched"], 3);
    let recent = cloud502(&[
        "logs",
        p,
        "--since",
        "2026-05-01 11:30:00",
        "--log-offset",
        "UTC",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(recent["logs"][0]["matched"], 1);
    assert_eq!(recent["logs"][0]["skipped"]["outside_window"], 2);
    // The log's offset shifts the window: at +02:00, 11:30 local is 09:30 UTC.
    let shifted = cloud502(&[
        "logs",
        p,
        "--since",
        "2026-05-01T09:30:00Z",
        "--log-offset",
        "+02:00",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(shifted["logs"][0]["matched"], 1, "{:#}", shifted["logs"]);
}

#[test]
fn binary_and_unknown_files_are_gaps_with_one_line_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("core.log");
    std::fs::write(
        &bin,
        (0..65536u32)
            .map(|i| (i * 7 % 256) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let run = cloud502(&["logs", bin.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 4, "{}\n{}", run.stderr, run.stdout);
    let report = run.json();
    assert_eq!(report["errors"][0]["kind"], "invalid-input");
    let warning: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warning.len(), 1, "{}", run.stderr);

    // One good file and one binary file: partial, still reported.
    let run = cloud502(&[
        "logs",
        incident("error.log").to_str().unwrap(),
        bin.to_str().unwrap(),
        "-o",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(codes(&run.json()).contains(&"nginx-unix-socket-failed"));
}

#[test]
fn missing_files_and_bad_formats_are_usage_errors() {
    let run = cloud502(&["logs", "/nonexistent/error.log"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/error.log"),
        "{}",
        run.stderr
    );
    let run = cloud502(&[
        "logs",
        incident("access.log").to_str().unwrap(),
        "--log-format",
        "nameonly",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("NAME=FORMAT"), "{}", run.stderr);
}

#[test]
fn a_huge_line_does_not_stop_classification() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let mut f = std::fs::File::create(&log).unwrap();
    f.write_all(b"2026/05/01 10:00:00 [error] 7#7: *1 ")
        .unwrap();
    f.write_all(&vec![b'a'; 32 * 1024 * 1024]).unwrap();
    f.write_all(b"\n2026/05/01 10:00:01 [error] 7#7: *2 upstream sent too big header while reading response header from upstream, client: 10.0.0.1, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.9:8080/\", host: \"a\"\n").unwrap();
    drop(f);
    let run = cloud502(&[
        "logs",
        log.to_str().unwrap(),
        "--format",
        "nginx-error",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["logs"][0]["skipped"]["too_long"], 1);
    assert_eq!(top_code(&report), "nginx-header-too-big");
    assert_eq!(report["logs"][0]["groups"][0]["sample"]["line"], 2);
}

#[test]
fn saved_alb_access_logs_are_detected_and_each_502_attributed() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/logs/tests/fixtures/alb-incident.log");
    let run = cloud502(&["logs", path.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["logs"][0]["dialect"], "alb-access");
    let found = codes(&report);
    for code in [
        "alb-target-connect-failed",
        "alb-keepalive-race",
        "alb-target-returned-502",
        "alb-lambda-invalid-response",
    ] {
        assert!(found.contains(&code), "{code} missing from {found:?}");
    }
    let connect = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "alb-target-connect-failed")
        .unwrap();
    assert!(
        connect["title"]
            .as_str()
            .unwrap()
            .contains("10.0.1.12:8080 (3)")
    );
    // --format alb-access is accepted too
    let run = cloud502(&[
        "logs",
        "--format",
        "alb-access",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn saved_appgw_access_logs_are_detected_and_each_failure_attributed() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/logs/tests/fixtures/appgw-incident.log");
    for extra in [&[][..], &["--format", "appgw-access"][..]] {
        let mut args = vec!["logs", path.to_str().unwrap(), "-o", "json"];
        args.extend_from_slice(extra);
        let run = cloud502(&args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        assert_eq!(report["logs"][0]["dialect"], "appgw-access");
        let found = codes(&report);
        for code in [
            "appgw-backend-closed-connection",
            "appgw-backend-returned-502",
            "appgw-request-timeout",
            "appgw-all-backends-unhealthy",
        ] {
            assert!(found.contains(&code), "{code} missing from {found:?}");
        }
        // The closed connections name the backend the gateway routed them to.
        let closed = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "appgw-backend-closed-connection")
            .unwrap();
        assert!(format!("{closed}").contains("10.0.1.4:443"), "{closed:#}");
    }
}

#[test]
fn saved_cloudflare_logpush_logs_are_detected_and_split_by_who_made_each_5xx() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/logs/tests/fixtures/cloudflare-http-requests.log");
    for extra in [&[][..], &["--format", "cloudflare-http-requests"][..]] {
        let mut args = vec!["logs", path.to_str().unwrap(), "-o", "json"];
        args.extend_from_slice(extra);
        let run = cloud502(&args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        let log = &report["logs"][0];
        assert_eq!(log["dialect"], "cloudflare-http-requests");
        assert_eq!(log["lines"], 30);
        assert_eq!(log["matched"], 17);
        assert_eq!(log["skipped"]["unparsed"], 1, "the record cut short");
        let counts: Vec<(&str, u64)> = log["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["key"].as_str().unwrap(), c["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            counts,
            [
                ("200", 10),
                ("502", 7),
                ("522", 5),
                ("521", 4),
                ("304", 1),
                ("404", 1),
                ("499", 1)
            ]
        );
        // One group per (class, edge status, origin, colo): the origin's 502s apart from the
        // edge's, and each data centre apart.
        let groups: Vec<(&str, u64, Option<&str>, &str, u64)> = log["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["class"].as_str().unwrap(),
                    g["status"].as_u64().unwrap(),
                    g["upstream"].as_str(),
                    g["detail"].as_str().unwrap(),
                    g["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let origin = Some("203.0.113.10");
        assert_eq!(
            groups,
            [
                ("status-502-from-upstream", 502, origin, "colo SJC", 4),
                ("edge-error", 521, None, "colo SJC", 4),
                ("edge-error", 522, origin, "colo LAX", 4),
                ("status-502-from-upstream", 502, origin, "colo LAX", 2),
                ("status-499", 499, None, "colo SJC", 1),
                ("edge-error", 502, None, "colo LAX", 1),
                ("edge-error", 522, origin, "colo SJC", 1),
            ]
        );
        // The rules reading this dialect were written alongside it: the origin's own 502s lead,
        // and the edge's refusals and timeouts are named by their codes.
        assert_eq!(top_code(&report), "cloudflare-origin-502");
        let found = codes(&report);
        for code in [
            "cloudflare-521-origin-refused",
            "cloudflare-522-origin-timeout",
        ] {
            assert!(found.contains(&code), "{code} missing from {found:?}");
        }
    }
}
