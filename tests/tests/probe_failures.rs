//! Bad input and broken servers never panic: each gives a finding or a one-line error with the
//! right exit code, bounded by --timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::server::{Behaviour, response, start, unresponsive_port};
use cloud502_e2e::{closed_port, cloud502, probe, top_code};
use std::time::Duration;

fn assert_one_line_error(run: &cloud502_e2e::Run, needle: &str) {
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{}",
        lines[0]
    );
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn a_closed_port_is_connection_refused() {
    let (run, report) = probe(&format!("http://127.0.0.1:{}/", closed_port()), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "connection-refused");
    assert_eq!(report["probes"][0]["error"]["kind"], "refused");
}

#[test]
fn tcp_checks_a_port_only() {
    let open = start(Behaviour::Silent);
    let (run, report) = probe(&format!("tcp://127.0.0.1:{}", open.port), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(report["verdict"], "healthy");
    assert!(report["probes"][0]["http"].is_null());
    assert!(
        report["probes"][0]["timings"]["connect_ms"]
            .as_f64()
            .is_some()
    );

    let (run, report) = probe(&format!("tcp://127.0.0.1:{}", closed_port()), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "connection-refused");
}

#[test]
fn a_server_that_never_answers_is_bounded_by_timeout() {
    let server = start(Behaviour::Silent);
    let (run, report) = probe(&server.url(), &["--timeout", "1s"]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "response-timeout");
    assert_eq!(report["probes"][0]["error"]["phase"], "response-header");
    assert!(
        run.elapsed < Duration::from_secs(8),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn a_port_that_drops_syns_is_a_connect_timeout() {
    let (port, _held) = unresponsive_port();
    let (run, report) = probe(&format!("http://127.0.0.1:{port}/"), &["--timeout", "1s"]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "connect-timeout");
    assert!(
        run.elapsed < Duration::from_secs(8),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn an_unresolvable_host_is_a_dns_finding() {
    let (run, report) = probe("http://nonexistent.invalid/", &["--timeout", "5s"]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "dns-resolution-failed");
}

#[test]
fn a_server_that_closes_without_answering_is_connection_closed() {
    let server = start(Behaviour::Close);
    let (run, report) = probe(&server.url(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "connection-closed");
}

#[test]
fn oversized_headers_are_a_malformed_response() {
    let huge = "a".repeat(200 * 1024);
    let server = start(Behaviour::Respond(response(
        "200 OK",
        &[("X-Huge", &huge)],
        "",
    )));
    let (run, report) = probe(&server.url(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "malformed-response");
    assert!(
        report["probes"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("KiB")
    );
}

#[test]
fn binary_garbage_is_a_malformed_response() {
    let server = start(Behaviour::Respond(
        b"\x00\x01\x02\xffSSH-2.0\r\n\r\n".to_vec(),
    ));
    let (run, report) = probe(&server.url(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "malformed-response");
}

#[test]
fn a_body_that_never_ends_is_cut_and_reported() {
    let server = start(Behaviour::EndlessBody);
    let (run, report) = probe(&server.url(), &["--timeout", "20s"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let http = &report["probes"][0]["http"];
    assert_eq!(http["status"], 200);
    assert_eq!(http["body_complete"], false);
    assert!(http["body_bytes"].as_u64().unwrap() > 0);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn malformed_urls_and_options_are_one_line_usage_errors() {
    assert_one_line_error(&cloud502(&["probe", "example.com"]), "add a scheme");
    assert_one_line_error(
        &cloud502(&["probe", "ftp://example.com/"]),
        "unsupported scheme `ftp`",
    );
    assert_one_line_error(&cloud502(&["probe", "http://exa mple.com/"]), "invalid URL");
    assert_one_line_error(&cloud502(&["probe", "tcp://example.com"]), "has no port");
    assert_one_line_error(
        &cloud502(&["probe", "http://x/", "--resolve", "x:80", "-H", "broken"]),
        "invalid --resolve `x:80`",
    );
    assert_one_line_error(
        &cloud502(&["probe", "https://x/", "--cacert", "/nonexistent/ca.pem"]),
        "cannot read --cacert /nonexistent/ca.pem",
    );
    assert_one_line_error(
        &cloud502(&["probe", "http://x/", "--severity", "no-such-code=info"]),
        "unknown finding code `no-such-code`",
    );
    // Bad flag values are clap's usage errors: exit 2 too.
    let run = cloud502(&["probe", "http://x/", "--timeout", "soon"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--timeout"), "{}", run.stderr);
}

#[test]
fn a_binary_file_as_cacert_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.pem");
    std::fs::write(&path, [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    let server = start(Behaviour::Silent);
    let run = cloud502(&[
        "probe",
        &format!("https://127.0.0.1:{}/", server.port),
        "--cacert",
        path.to_str().unwrap(),
    ]);
    assert_one_line_error(&run, "holds no PEM certificate");
}

#[test]
fn severity_overrides_change_the_exit_code() {
    let (run, report) = probe(
        &format!("http://127.0.0.1:{}/", closed_port()),
        &["--severity", "connection-refused=info"],
    );
    assert_eq!(report["findings"][0]["severity"], "info");
    assert_eq!(run.code, 0);
    assert_eq!(report["verdict"], "healthy");
}

#[test]
fn a_cut_short_or_unreadable_cacert_is_one_line_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pem");
    std::fs::write(&cut, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let server = start(Behaviour::Silent);
    let url = format!("https://127.0.0.1:{}/", server.port);
    let run = cloud502(&["probe", &url, "--cacert", cut.to_str().unwrap()]);
    assert_one_line_error(&run, "a PEM section has no END line");
    // pki-types' own text prints the end marker as a list of byte values.
    assert!(!run.stderr.contains("[45, 45"), "{}", run.stderr);

    // A FIFO would block the read forever: refused before anything opens it.
    let fifo = dir.path().join("ca.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let run = cloud502(&["probe", &url, "--cacert", fifo.to_str().unwrap()]);
        assert_one_line_error(&run, "is not a regular file");
        assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    }
}
