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
    // Nothing could be inspected: the gap is the run's error.
    let error: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(error.len(), 1, "{}", run.stderr);

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

/// A `log_format` that cannot be used, read through `--nginx-config`, is named by the file and
/// line of its directive, in an included file too.
#[test]
fn an_unusable_log_format_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let main = dir.path().join("nginx.conf");
    let inc = dir.path().join("conf.d/formats.conf");
    std::fs::write(
        &main,
        format!(
            "events {{}}\nhttp {{\n    include {};\n    log_format nostatus '$remote_addr [$time_local]';\n}}\n",
            dir.path().join("conf.d/*.conf").display()
        ),
    )
    .unwrap();
    std::fs::write(
        &inc,
        "# formats\nlog_format ok '$status';\nlog_format dangling '$status $';\n",
    )
    .unwrap();
    let log = incident("access.log");
    let run = cloud502(&[
        "logs",
        log.to_str().unwrap(),
        "--nginx-config",
        main.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let at_main = format!("{}:4: cannot use log_format nostatus", main.display());
    let at_inc = format!("{}:3: cannot use log_format dangling", inc.display());
    assert!(run.stderr.contains(&at_main), "{}", run.stderr);
    assert!(run.stderr.contains(&at_inc), "{}", run.stderr);
    assert!(!run.stderr.contains("log_format ok:"), "{}", run.stderr);
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

/// The same Logpush records as a CSV job writes them (Cloudflare's "Log Output Options" page,
/// cloudflare/cloudflare-docs `src/content/docs/logs/logpush/logpush-job/log-output-options.mdx`
/// at 0be487de54d9287d8b4c7563afbc0ff761b8ae3d: `field_names` order, strings quoted, numbers
/// bare, a `batch_prefix` header): with the header, the binary gives the NDJSON file's answer;
/// without it, a gap (exit 3) that names `--logpush-fields`, and with that flag the same answer.
#[test]
fn saved_cloudflare_logpush_csv_gives_the_ndjson_answer() {
    const FIELDS: [&str; 15] = [
        "EdgeStartTimestamp",
        "ClientIP",
        "ClientRequestHost",
        "ClientRequestMethod",
        "ClientRequestPath",
        "ClientRequestUserAgent",
        "EdgeColoCode",
        "EdgeResponseStatus",
        "OriginResponseStatus",
        "OriginIP",
        "OriginResponseDurationMs",
        "OriginSSLProtocol",
        "CacheCacheStatus",
        "RayID",
        "WorkerSubrequest",
    ];
    let ndjson = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/logs/tests/fixtures/cloudflare-http-requests.log");
    let rows: Vec<String> = std::fs::read_to_string(&ndjson)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| {
            FIELDS
                .iter()
                .map(|f| match r.get(*f) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    }
                    Some(v) => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let with_header = dir.path().join("20261120T100000Z_20261120T100500Z_job.csv");
    std::fs::write(
        &with_header,
        format!("{}\n{}\n", FIELDS.join(","), rows.join("\n")),
    )
    .unwrap();
    let bare = dir
        .path()
        .join("20261120T100000Z_20261120T100500Z_bare.csv");
    std::fs::write(&bare, rows.join("\n") + "\n").unwrap();
    // the same rows tab-separated (the fixture's commas outside quotes are the delimiters)
    let tsv = dir
        .path()
        .join("20261120T100000Z_20261120T100500Z_bare.tsv");
    let tabbed: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut out = String::new();
            let mut quoted = false;
            for c in r.chars() {
                match c {
                    '"' => {
                        quoted = !quoted;
                        out.push(c);
                    }
                    ',' if !quoted => out.push('\t'),
                    _ => out.push(c),
                }
            }
            out
        })
        .collect();
    std::fs::write(&tsv, tabbed.join("\n") + "\n").unwrap();

    // What must match: exit code, counts, groups (without samples), finding codes and their
    // severity and confidence, the answer.
    let answer = |args: &[&str]| {
        let mut all = vec!["logs", "-o", "json"];
        all.extend_from_slice(args);
        let run = cloud502(&all);
        let r = run.json();
        let log = &r["logs"][0];
        let mut groups = log["groups"].clone();
        for g in groups.as_array_mut().unwrap() {
            g.as_object_mut().unwrap().remove("sample");
        }
        let findings: Vec<(String, String, String)> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                    f["confidence"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (
            run.code,
            log["dialect"].clone(),
            log["matched"].clone(),
            log["counts"].clone(),
            groups,
            findings,
            r["summary"]["answer"].clone(),
        )
    };
    let want = answer(&[ndjson.to_str().unwrap()]);
    assert_eq!(want.0, 1);
    assert_eq!(want.2, 17);
    let codes: Vec<&str> = want.5.iter().map(|f| f.0.as_str()).collect();
    for code in [
        "cloudflare-origin-502",
        "cloudflare-521-origin-refused",
        "cloudflare-522-origin-timeout",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let fields = FIELDS.join(",");
    for args in [
        vec![with_header.to_str().unwrap()],
        vec![
            with_header.to_str().unwrap(),
            "--format",
            "cloudflare-http-requests",
        ],
        vec![bare.to_str().unwrap(), "--logpush-fields", fields.as_str()],
        vec![
            tsv.to_str().unwrap(),
            "--logpush-fields",
            fields.as_str(),
            "--logpush-tsv",
        ],
    ] {
        assert_eq!(answer(&args), want, "{args:?}");
    }

    // Without a header and without the flag: not healthy, a gap naming the flag.
    let run = cloud502(&[
        "logs",
        bare.to_str().unwrap(),
        "--format",
        "cloudflare-http-requests",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let r = run.json();
    assert_eq!(r["logs"][0]["skipped"]["unparsed"], 29);
    assert!(
        r["errors"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--logpush-fields"),
        "{r:#}"
    );
    // Detection cannot tell a header-less file by itself: "cannot tell", naming the flag.
    let run = cloud502(&["logs", bare.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 4, "{}", run.stdout);
    let r = run.json();
    assert!(
        r["errors"][0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("--logpush-fields"),
        "{r:#}"
    );
    // A field list that cannot be read is refused in one line, exit 2.
    let run = cloud502(&[
        "logs",
        bare.to_str().unwrap(),
        "--logpush-fields",
        "ClientIP,EdgeStartTimestamp",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--logpush-fields: "), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

/// Run `cloud502 ARGS`, killing it (and failing) if it is still running after `limit`: a read
/// that blocks must fail the test, not hang it.
fn bounded(args: &[&str], limit: std::time::Duration) -> cloud502_e2e::Run {
    use std::process::{Command, Stdio};
    let started = std::time::Instant::now();
    let mut child = Command::new(cloud502_e2e::bin())
        .args(args)
        .env_remove("CLOUD502_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cloud502 {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    cloud502_e2e::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Lines as nginx writes them in its `combined` format (`log_format combined '$remote_addr -
/// $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
/// "$http_user_agent"'`, nginx docs, ngx_http_log_module). The 502 lines are quoted from a public
/// write-up of a Dockerised nginx in front of a stopped webhook service (Shuffle, 2023); the 200
/// and 503 lines are written by hand in the same shape.
const COMBINED_5XX: &str = concat!(
    "172.29.132.144 - - [05/Jul/2023:08:31:06 +0000] \"POST /api/v1/hooks/webhook_d7e6ae11-319e-48f8-92ba-9732547a5d19 HTTP/1.1\" 502 157 \"-\" \"python-requests/2.25.1\"\n",
    "172.29.132.144 - - [05/Jul/2023:08:31:06 +0000] \"POST /api/v1/hooks/webhook_d7e6ae11-319e-48f8-92ba-9732547a5d19 HTTP/1.1\" 502 157 \"-\" \"python-requests/2.25.1\"\n",
    "172.29.132.144 - - [05/Jul/2023:08:31:07 +0000] \"POST /api/v1/hooks/webhook_d7e6ae11-319e-48f8-92ba-9732547a5d19 HTTP/1.1\" 502 157 \"-\" \"python-requests/2.25.1\"\n",
    "172.29.132.144 - - [05/Jul/2023:08:31:08 +0000] \"GET /api/v1/health HTTP/1.1\" 200 2 \"-\" \"python-requests/2.25.1\"\n",
    "172.29.132.144 - - [05/Jul/2023:08:31:09 +0000] \"GET /api/v1/apps HTTP/1.1\" 503 197 \"-\" \"python-requests/2.25.1\"\n",
);

#[cfg(unix)]
#[test]
fn pipes_devices_and_links_to_a_process_output_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.log");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // the official nginx Docker image: access.log -> /dev/stdout, error.log -> /dev/stderr
    let stdout_link = dir.path().join("error.log");
    std::os::unix::fs::symlink("/dev/stdout", &stdout_link).unwrap();
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            fifo.to_str().unwrap(),
            "is a named pipe (FIFO)",
            &["--format", "nginx-access"],
        ),
        (
            stdout_link.to_str().unwrap(),
            "is a link to /dev/stdout",
            &[],
        ),
        (
            "/dev/zero",
            "is a character device",
            &["--format", "nginx-error"],
        ),
        ("/dev/zero", "is a character device", &[]),
    ];
    for (path, what, extra) in cases {
        let mut args = vec!["logs", path, "-o", "json"];
        args.extend_from_slice(extra);
        let run = bounded(&args, LIMIT);
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{path} {what}")),
            "{path}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.matches("hint:").count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let run = bounded(&["logs", stdout_link.to_str().unwrap()], LIMIT);
    assert!(run.stderr.contains("docker logs"), "{}", run.stderr);
}

#[test]
fn a_directory_stands_for_the_log_files_in_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(incident("error.log"), dir.path().join("error.log")).unwrap();
    std::fs::write(dir.path().join("access.log"), COMBINED_5XX).unwrap();
    let run = bounded(&["logs", dir.path().to_str().unwrap(), "-o", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let dialects: Vec<&str> = report["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["dialect"].as_str().unwrap())
        .collect();
    assert_eq!(dialects, ["nginx-access", "nginx-error"]);
    assert!(codes(&report).contains(&"nginx-unix-socket-failed"));

    // `aws s3 sync` of an ALB log prefix: the files sit seven levels down, and are read
    let synced = tempfile::tempdir().unwrap();
    let day = synced
        .path()
        .join("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/05/01");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/logs/tests/fixtures/alb-incident.log"),
        day.join("123456789012_elasticloadbalancing_us-east-1_app.my-alb.1234567890abcdef_20260501T1000Z_10.0.0.1_abc.log"),
    )
    .unwrap();
    let run = bounded(
        &["logs", synced.path().to_str().unwrap(), "-o", "json"],
        LIMIT,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["logs"][0]["dialect"], "alb-access", "{report:#}");
    assert!(codes(&report).contains(&"alb-target-connect-failed"));

    // nothing to read in it: one line, exit 2
    let empty = tempfile::tempdir().unwrap();
    let run = bounded(&["logs", empty.path().to_str().unwrap()], LIMIT);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);
}

#[test]
fn a_log_read_but_not_understood_is_a_gap_with_the_flag_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let access = dir.path().join("access.log");
    std::fs::write(&access, COMBINED_5XX).unwrap();
    // an access log read as an error log: nothing parses
    let run = cloud502(&[
        "logs",
        access.to_str().unwrap(),
        "--format",
        "nginx-error",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = run.json();
    let gap = &report["errors"][0];
    assert_eq!(gap["kind"], "invalid-input");
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .contains("none of its 5 line(s)"),
        "{gap}"
    );
    assert_eq!(
        gap["hint"],
        "its lines read as nginx-access: pass `--format nginx-access`"
    );
    // the hint leads to a run that reads every line and reports the 5xx, not HEALTHY
    let run = cloud502(&[
        "logs",
        access.to_str().unwrap(),
        "--format",
        "nginx-access",
        "-o",
        "json",
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert_ne!(run.code, 3, "{}", run.stdout);
    let report = run.json();
    assert!(report["errors"].as_array().is_none_or(|e| e.is_empty()));
    assert_eq!(report["logs"][0]["skipped"]["unparsed"], 0);

    // an error log read as an access log
    let run = cloud502(&[
        "logs",
        incident("error.log").to_str().unwrap(),
        "--format",
        "nginx-access",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        run.json()["errors"][0]["hint"],
        "its lines read as nginx-error: pass `--format nginx-error`"
    );

    // an empty file
    let empty = dir.path().join("error.log");
    std::fs::write(&empty, "").unwrap();
    let run = cloud502(&["logs", empty.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("is empty"), "{}", run.stderr);

    // a log half of whose lines are in another format: partly understood is still a gap
    let mixed = dir.path().join("mixed-access.log");
    let mut text = COMBINED_5XX.to_owned();
    text.push_str("garbage line one\ngarbage line two\ngarbage line three\n");
    std::fs::write(&mixed, text).unwrap();
    let run = cloud502(&[
        "logs",
        mixed.to_str().unwrap(),
        "-o",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3 of its 8 line(s)"),
        "{}",
        run.stdout
    );
}

/// A Cloudflare Logpush job with CSV output whose first line is not a header cloud502 can read
/// (a field name with a space: values written by hand) is named, with the flag that reads it.
#[test]
fn a_csv_logpush_file_and_an_alb_connection_log_are_named_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("20260501T100000Z_http_requests.csv");
    std::fs::write(
        &csv,
        "ClientIP,Client Request Host,EdgeResponseStatus,OriginResponseStatus,RayID\n\
         \"198.51.100.7\",\"shop.example.com\",502,502,\"8d3a1f2b3c4d5e6f\"\n",
    )
    .unwrap();
    let run = cloud502(&["logs", csv.to_str().unwrap(), "-o", "json"]);
    assert!(matches!(run.code, 3 | 4), "{}", run.stderr);
    let report = run.json();
    let hint = report["errors"][0]["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("CSV Logpush") && hint.contains("--logpush-fields"),
        "{report:#}"
    );
    let run = cloud502(&[
        "logs",
        csv.to_str().unwrap(),
        "--format",
        "cloudflare-http-requests",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.json()["errors"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--logpush-fields")
    );

    // ALB connection log entry, as in AWS's "Connection logs for your Application Load
    // Balancer" page (fields: time client_ip client_port listener_port tls_protocol tls_cipher
    // tls_handshake_latency leaf_client_cert_subject leaf_client_cert_validity
    // leaf_client_cert_serial_number tls_verify_status conn_trace_id); values written by hand.
    let conn = dir.path().join("123456789012_elasticloadbalancing_us-east-1_app.my-alb.1234567890abcdef_20260501T1000Z_conn_log.log");
    std::fs::write(
        &conn,
        "2026-05-01T10:00:00.123456Z 203.0.113.5 50001 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 - - - Success TID_1234abcd\n",
    )
    .unwrap();
    for extra in [&[][..], &["--format", "alb-access"][..]] {
        let mut args = vec!["logs", conn.to_str().unwrap(), "-o", "json"];
        args.extend_from_slice(extra);
        let run = cloud502(&args);
        assert!(matches!(run.code, 3 | 4), "{}", run.stderr);
        let report = run.json();
        let hint = report["errors"][0]["hint"].as_str().unwrap_or_default();
        assert!(hint.contains("ALB connection log"), "{report:#}");
    }
}

/// Apache httpd error logs are named as Apache's, with the lines that mean 502s, rather than
/// "cannot tell the format". Real lines from public issue threads, each with its source.
#[test]
fn apache_error_logs_are_named_not_cannot_tell() {
    let cases: [(&str, String); 4] = [
        // https://github.com/ether/etherpad/issues/4125 (Apache 2.4, AH01102 + AH00898)
        (
            "etherpad",
            "[Wed Jun 17 13:08:52.089713 2020] [proxy_http:error] [pid 12181:tid 140023206749952] (20014)Internal error (specific information not available): [client x.x.x.x:39416] AH01102: error reading status line from remote server 127.0.0.1:9001\n\
             [Wed Jun 17 13:08:52.089762 2020] [proxy:error] [pid 12181:tid 140023206749952] [client x.x.x.x:39416] AH00898: Error reading from remote server returned by /api/1.1/createAuthorIfNotExistsFor\n"
                .to_owned(),
        ),
        // https://github.com/allianceauth/allianceauth/issues/1036 (the backend's timeout)
        (
            "allianceauth",
            "[Tue Apr 24 14:35:07.971403 2018] [proxy_http:error] [pid 6395] (70007)The timeout specified has expired: [client 181.29.23.88:59894] AH01102: error reading status line from remote server 127.0.0.1:8000\n\
             [Tue Apr 24 14:35:07.971602 2018] [proxy:error] [pid 6395] [client 181.29.23.88:59894] AH00898: Error reading from remote server returned by /\n"
                .to_owned(),
        ),
        // https://github.com/nextcloud/all-in-one/issues/175: access and error lines pasted
        // together, an access line first
        (
            "nextcloud aio",
            "172.17.0.2:8000 127.0.0.1 - - [28/Jan/2022:14:13:33 +0000] \"POST /api/docker/start HTTP/1.1\" 201 356 \"https://192.168.178.98:8080/containers\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/97.0.4692.99 Safari/537.36\"\n\
             [Fri Jan 28 14:18:33.838658 2022] [proxy_http:error] [pid 119] (70007)The timeout specified has expired: [client 10.6.0.2:52924] AH01102: error reading status line from remote server localhost:8000, referer: https://192.168.178.98:8080/containers\n\
             [Fri Jan 28 14:18:33.838760 2022] [proxy:error] [pid 119] [client 10.6.0.2:52924] AH00898: Error reading from remote server returned by /api/docker/start, referer: https://192.168.178.98:8080/containers\n"
                .to_owned(),
        ),
        // Apache 2.2 has no AH codes: the message is from https://github.com/Unitech/pm2/issues/602
        // ("(20014) Internal error: proxy: error reading status line from remote server
        // localhost", Apache/2.2.3); the line's head ([time] [error] [client ...]) is 2.2's
        // error-log layout, written here by hand around it
        (
            "apache 2.2",
            "[Wed Jul 30 10:12:01 2014] [error] [client 203.0.113.9] (20014)Internal error: proxy: error reading status line from remote server localhost\n\
             [Wed Jul 30 10:12:01 2014] [error] [client 203.0.113.9] proxy: Error reading from remote server returned by /\n"
                .to_owned(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in cases {
        let path = dir.path().join("error.log");
        std::fs::write(&path, &text).unwrap();
        let run = cloud502(&["logs", path.to_str().unwrap(), "-o", "json"]);
        // not understood is a gap, never healthy
        assert!(matches!(run.code, 3 | 4), "{name}: {}", run.stderr);
        let report = run.json();
        assert_ne!(report["verdict"], "healthy", "{name}");
        let hint = report["errors"][0]["hint"].as_str().unwrap_or_default();
        assert!(hint.contains("Apache, not nginx"), "{name}: {report:#}");
        assert!(hint.contains("AH01102"), "{name}: {hint}");
        assert!(
            hint.contains("proxy: error reading status line"),
            "{name}: {hint}"
        );
        // the same behind `docker logs -t`
        let stamped: String = text
            .lines()
            .map(|l| format!("2026-05-01T12:00:00.123456789Z {l}\n"))
            .collect();
        std::fs::write(&path, stamped).unwrap();
        let report = cloud502(&["logs", path.to_str().unwrap(), "-o", "json"]).json();
        let hint = report["errors"][0]["hint"].as_str().unwrap_or_default();
        assert!(
            hint.contains("Apache, not nginx"),
            "{name} (docker): {report:#}"
        );
    }
}

#[test]
fn combined_5xx_lines_are_a_finding_that_says_what_the_format_cannot_tell() {
    let dir = tempfile::tempdir().unwrap();
    let access = dir.path().join("access.log");
    std::fs::write(&access, COMBINED_5XX).unwrap();
    let run = cloud502(&["logs", access.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    assert_ne!(report["verdict"], "healthy");
    let f = &report["findings"][0];
    assert_eq!(f["code"], "logged-5xx");
    assert_eq!(f["layer"], "nginx");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("4 request(s) with a 5xx (502 x 3, 503 x 1)"),
        "{title}"
    );
    let text = f["explanation"].as_str().unwrap();
    for var in [
        "$upstream_status",
        "$upstream_connect_time",
        "$upstream_header_time",
        "$upstream_addr",
    ] {
        assert!(text.contains(var), "{var} missing: {text}");
    }
    // the next command reads what this run read, and the error.log besides
    let next = f["next_command"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "cloud502 logs {} /var/log/nginx/error.log",
            access.display()
        )
    );

    // with the error.log of the same minutes, the refused connections are named and the 502s
    // are no longer unexplained... but the 503 still is
    let error = dir.path().join("error.log");
    std::fs::write(
        &error,
        // quoted from the same public write-up as the 502 lines above
        "2023/07/05 08:31:06 [error] 14#14: *11 connect() failed (111: Connection refused) while connecting to upstream, client: 172.29.132.144, server: localhost, request: \"POST /api/v1/hooks/webhook_d7e6ae11-319e-48f8-92ba-9732547a5d19 HTTP/1.1\", upstream: \"http://172.19.0.4:5001/api/v1/hooks/webhook_d7e6ae11-319e-48f8-92ba-9732547a5d19\", host: \"172.29.132.142:3443\"\n",
    )
    .unwrap();
    let run = cloud502(&[
        "logs",
        access.to_str().unwrap(),
        error.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let report = run.json();
    assert_eq!(top_code(&report), "nginx-upstream-refused");
    assert!(codes(&report).contains(&"logged-5xx"));
}

/// ALB's own 504 (`target_status_code` `-` after the idle timeout) in the bundled ALB fixture has no
/// dedicated rule: it must still be a finding, not silence.
#[test]
fn an_alb_5xx_no_rule_explains_is_still_a_finding() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/logs/tests/fixtures/alb-incident.log");
    let report = cloud502(&["logs", path.to_str().unwrap(), "-o", "json"]).json();
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "logged-5xx")
        .expect("the 504 is reported");
    assert_eq!(f["layer"], "aws-alb");
    assert!(f["title"].as_str().unwrap().contains("504 x 1"), "{f:#}");
    assert!(
        f["explanation"]
            .as_str()
            .unwrap()
            .contains("target_status_code")
    );
}

/// Lines in the shape real nginx writes with the incident's `log_format` (see FORMAT and
/// examples/incident), written by hand: one upstream that both closes some connections early
/// (error.log) and answers other requests with its own 502 ($upstream_status 502 with a header).
#[test]
fn an_upstreams_own_502s_are_not_hidden_by_its_error_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let error = dir.path().join("error.log");
    std::fs::write(
        &error,
        "2026/11/21 13:48:01 [error] 31#31: *120 upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: _, request: \"GET /api/cart HTTP/1.1\", upstream: \"http://127.0.0.1:46017/api/cart\", host: \"localhost\"\n",
    )
    .unwrap();
    let access = dir.path().join("access.log");
    let mut text = String::from(
        "127.0.0.1 - - [21/Nov/2026:13:48:01 +0000] \"GET /api/cart HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\" ua=\"127.0.0.1:46017\" us=\"502\" uct=\"0.000\" uht=\"-\" urt=\"0.002\" rid=1\n",
    );
    for i in 2..6 {
        text.push_str(&format!(
            "127.0.0.1 - - [21/Nov/2026:13:48:0{i} +0000] \"GET /api/orders HTTP/1.1\" 502 166 \"-\" \"curl/8.5.0\" ua=\"127.0.0.1:46017\" us=\"502\" uct=\"0.000\" uht=\"0.004\" urt=\"0.004\" rid={i}\n"
        ));
    }
    std::fs::write(&access, text).unwrap();
    let run = cloud502(&[
        "logs",
        error.to_str().unwrap(),
        access.to_str().unwrap(),
        "--log-format",
        FORMAT,
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let found = codes(&report);
    assert!(found.contains(&"nginx-upstream-closed"), "{found:?}");
    assert!(found.contains(&"nginx-upstream-returned-502"), "{found:?}");
    assert!(
        !found.contains(&"logged-5xx"),
        "every 502 is explained: {found:?}"
    );
}

/// `docker logs -t nginx 2>&1 | cloud502 logs -`: a stream of both logs behind timestamps, on
/// standard input, read as an error log and an access log (issue 19).
#[test]
fn a_docker_logs_stream_on_stdin_reads_as_both_logs() {
    let err = "2026/05/01 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 172.17.0.1, server: localhost, request: \"GET / HTTP/1.1\", upstream: \"http://172.17.0.3:8080/\", host: \"localhost:8080\"";
    let acc = "172.17.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\" \"-\"";
    let mut stream = String::new();
    for i in 0..3 {
        stream.push_str(&format!("2026-05-01T12:00:0{i}.123456789Z {err}\n"));
        stream.push_str(&format!("2026-05-01T12:00:0{i}.223456789Z {acc}\n"));
    }
    let run = cloud502_e2e::cloud502_stdin(&["logs", "-", "-o", "json"], stream.as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["logs"][0]["dialect"], "nginx-error");
    assert_eq!(report["logs"][0]["source"], "-");
    assert_eq!(report["logs"][0]["skipped"]["unparsed"], 0);
    assert_eq!(report["logs"][0]["groups"][0]["count"], 3);
    assert_eq!(report["logs"][1]["dialect"], "nginx-access");
    assert_eq!(report["logs"][1]["skipped"]["unparsed"], 0);
    assert_eq!(report["logs"][1]["counts"][0]["key"], "502");
    assert_eq!(top_code(&report), "nginx-upstream-refused");
}
