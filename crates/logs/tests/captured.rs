//! Logs as people capture them: `docker logs -t`, CRI files, `journalctl`, `docker compose logs`,
//! and a `docker logs` stream interleaving error.log (stderr) and access.log (stdout) lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{FormatChoice, LogClass, LogSummary, Options, summarize_path_all};

const ERR: &str = "2026/05/01 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 172.17.0.1, server: localhost, request: \"GET / HTTP/1.1\", upstream: \"http://172.17.0.3:8080/\", host: \"localhost:8080\"";
const ACC_502: &str = "172.17.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\" \"-\"";
const ACC_200: &str = "172.17.0.1 - - [01/May/2026:12:00:01 +0000] \"GET /ok HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\"";
const NOTICE: &str = "2026/05/01 11:59:00 [notice] 1#1: start worker process 29";

fn read(text: &str, choice: FormatChoice) -> Vec<LogSummary> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("captured.log");
    std::fs::write(&path, text).unwrap();
    summarize_path_all(
        &path,
        "log.0",
        choice,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

fn lines(prefix: impl Fn(usize, &str) -> String, body: &[&str]) -> String {
    body.iter()
        .enumerate()
        .map(|(i, l)| prefix(i, l) + "\n")
        .collect()
}

#[test]
fn prefixed_error_logs_read_as_error_logs() {
    let body = [NOTICE, ERR, ERR];
    for (name, text) in [
        (
            "docker logs -t",
            lines(
                |i, l| format!("2026-05-01T12:00:0{i}.123456789Z {l}"),
                &body,
            ),
        ),
        (
            "CRI",
            lines(
                |i, l| format!("2026-05-01T12:00:0{i}.123456789Z stderr F {l}"),
                &body,
            ),
        ),
        (
            "journalctl",
            lines(
                |_, l| format!("May 01 12:00:00 web1 nginx[812]: {l}"),
                &body,
            ),
        ),
        ("compose", lines(|_, l| format!("web-1  | {l}"), &body)),
    ] {
        let s = read(&text, FormatChoice::Auto);
        assert_eq!(s.len(), 1, "{name}");
        let s = &s[0];
        assert_eq!(s.dialect, "nginx-error", "{name}");
        assert_eq!(s.skipped.unparsed, 0, "{name}");
        assert_eq!(s.count_of(LogClass::ConnectRefused), 2, "{name}");
        // the nginx line, not its prefix, is what the sample shows and what dates the line
        assert!(
            s.groups[0]
                .sample
                .text
                .starts_with("2026/05/01 12:00:00 [error]"),
            "{name}"
        );
        assert_eq!(
            s.first_seen.as_deref(),
            Some("2026-05-01T11:59:00Z"),
            "{name}"
        );
        // an explicit --format reads the same
        let e = read(&text, FormatChoice::NginxError);
        assert_eq!(e[0].count_of(LogClass::ConnectRefused), 2, "{name}");
    }
}

#[test]
fn a_docker_stream_of_both_logs_is_read_line_by_line_in_each_dialect() {
    let body = [NOTICE, ACC_200, ERR, ACC_502, ACC_200, ERR, ACC_502];
    for (name, text) in [
        ("plain docker logs", lines(|_, l| l.to_string(), &body)),
        (
            "docker logs -t",
            lines(|i, l| format!("2026-05-01T12:00:0{i}.5Z {l}"), &body),
        ),
        (
            "CRI",
            lines(
                |_, l| {
                    let stream = if l.starts_with("2026/") {
                        "stderr"
                    } else {
                        "stdout"
                    };
                    format!("2026-05-01T12:00:00.1Z {stream} F {l}")
                },
                &body,
            ),
        ),
        (
            "ingress-nginx controller with klog lines",
            lines(|_, l| l.to_string(), &body)
                + "I0501 12:00:00.123456       7 controller.go:214] \"Backend successfully reloaded\"\n",
        ),
    ] {
        let s = read(&text, FormatChoice::Auto);
        assert_eq!(s.len(), 2, "{name}");
        let (e, a) = (&s[0], &s[1]);
        assert_eq!(
            (e.id.as_str(), e.dialect.as_str()),
            ("log.0", "nginx-error"),
            "{name}"
        );
        assert_eq!(
            (a.id.as_str(), a.dialect.as_str()),
            ("log.0.access", "nginx-access"),
            "{name}"
        );
        assert_eq!(e.count_of(LogClass::ConnectRefused), 2, "{name}");
        assert_eq!(e.skipped.unparsed, 0, "{name}");
        assert_eq!(a.skipped.unparsed, 0, "{name}");
        let status = |k: &str| a.counts.iter().find(|c| c.key == k).map(|c| c.count);
        assert_eq!(status("502"), Some(2), "{name}");
        assert_eq!(status("200"), Some(2), "{name}");
    }
}

#[test]
fn a_plain_error_log_with_one_odd_line_stays_one_error_log() {
    let text = format!("{ERR}\n{ERR}\nsome application traceback line\n");
    let s = read(&text, FormatChoice::Auto);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].dialect, "nginx-error");
}
