//! TLS facts and certificate findings against TLS servers on loopback with generated
//! certificates: valid (test CA), expired, wrong host, untrusted; and a plain-HTTP port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::certs::TestCa;
use cloud502_e2e::server::{Behaviour, Server, response, start, start_tls};
use cloud502_e2e::{Run, codes, probe, top_code};
use serde_json::Value;

const HOST: &str = "app.test";

fn ok_response() -> Behaviour {
    Behaviour::Respond(response("200 OK", &[("Server", "nginx")], "ok"))
}

/// `https://app.test:PORT/` with `--resolve` to loopback: exercises Host and SNI.
fn target(port: u16) -> (String, String) {
    (
        format!("https://{HOST}:{port}/"),
        format!("{HOST}:{port}:127.0.0.1"),
    )
}

/// Serve a leaf for `leaf_host` (valid from/to, days from now) signed by a fresh test CA, and
/// probe `https://app.test:PORT/` trusting that CA.
fn probe_trusted(
    leaf_host: &str,
    not_before_days: i64,
    not_after_days: i64,
    extra: &[&str],
) -> (Server, Run, Value) {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_pem(dir.path());
    let server = start_tls(
        ok_response(),
        ca.leaf(leaf_host, not_before_days, not_after_days),
    );
    let (url, resolve) = target(server.port);
    let mut args = vec![
        "--resolve",
        resolve.as_str(),
        "--cacert",
        ca_pem.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (run, report) = probe(&url, &args);
    (server, run, report)
}

#[test]
fn a_valid_certificate_from_the_test_ca_verifies() {
    let (server, run, report) = probe_trusted(HOST, -1, 90, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let p = &report["probes"][0];
    assert_eq!(p["resolve_override"], true);
    assert_eq!(p["connected"], format!("127.0.0.1:{}", server.port));
    let tls = &p["tls"];
    assert_eq!(tls["verified"], true);
    assert_eq!(tls["hostname_match"], true);
    assert_eq!(tls["protocol"], "TLSv1.3");
    assert_eq!(tls["sni"], HOST);
    assert_eq!(tls["sans"], serde_json::json!([HOST]));
    assert_eq!(tls["issuer"], "CN=cloud502 Test CA");
    assert!((88..=90).contains(&tls["days_remaining"].as_i64().unwrap()));
    assert!(p["timings"]["tls_ms"].as_f64().is_some());
    assert_eq!(p["http"]["status"], 200);
}

#[test]
fn an_expired_certificate_is_named_and_stops_the_request() {
    let (_, run, report) = probe_trusted(HOST, -60, -2, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "tls-cert-expired");
    let tls = &report["probes"][0]["tls"];
    assert_eq!(tls["expired"], true);
    assert_eq!(tls["verified"], false);
    assert!(tls["days_remaining"].as_i64().unwrap() <= -1);
    // Verification failed without --insecure: no request was sent.
    assert!(report["probes"][0]["http"].is_null());
    assert_eq!(report["probes"][0]["error"]["kind"], "tls-certificate");
}

#[test]
fn a_certificate_for_another_host_is_a_hostname_mismatch() {
    let (_, run, report) = probe_trusted("other.test", -1, 90, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "tls-cert-hostname-mismatch");
    let finding = &report["findings"][0];
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("other.test")
    );
    assert_eq!(report["probes"][0]["tls"]["hostname_match"], false);
}

#[test]
fn a_certificate_from_an_unknown_ca_is_untrusted() {
    let ca = TestCa::new();
    let server = start_tls(ok_response(), ca.leaf(HOST, -1, 90));
    let (url, resolve) = target(server.port);
    let (run, report) = probe(&url, &["--resolve", &resolve]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "tls-cert-untrusted");
}

#[test]
fn insecure_goes_on_and_ranks_the_502_above_the_certificate() {
    let ca = TestCa::new();
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let server = start_tls(
        Behaviour::Respond(response("502 Bad Gateway", &[("Server", "nginx")], page)),
        ca.leaf(HOST, -30, -1),
    );
    let (url, resolve) = target(server.port);
    let (run, report) = probe(&url, &["--resolve", &resolve, "--insecure"]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&report), ["nginx-502", "tls-cert-expired"]);
}

#[test]
fn a_certificate_near_expiry_is_a_warning_that_fail_on_can_ignore() {
    let (_, run, report) = probe_trusted(HOST, -80, 5, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "tls-cert-expiring-soon");
    assert_eq!(report["findings"][0]["severity"], "warning");
    assert_eq!(report["verdict"], "degraded");
    let (_, run, report) = probe_trusted(HOST, -80, 5, &["--fail-on", "critical"]);
    assert_eq!(run.code, 0);
    assert_eq!(report["summary"]["failing_findings"], 0);
}

#[test]
fn https_to_a_plain_http_port_is_a_handshake_failure() {
    // What nginx sends when a ClientHello arrives on a plain port.
    let server = start(Behaviour::Greet(response(
        "400 Bad Request",
        &[("Server", "nginx")],
        "",
    )));
    let (run, report) = probe(&format!("https://127.0.0.1:{}/", server.port), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(top_code(&report), "tls-handshake-failed");
    assert_eq!(report["probes"][0]["error"]["phase"], "tls");
    assert_eq!(report["probes"][0]["error"]["kind"], "tls-handshake");
}

#[test]
fn a_tls_port_that_never_answers_the_hello_is_a_handshake_timeout() {
    let server = start(Behaviour::Silent);
    let (run, report) = probe(
        &format!("https://127.0.0.1:{}/", server.port),
        &["--timeout", "1s"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(codes(&report), ["tls-handshake-failed"]);
}

/// A CA certificate (basicConstraints CA:TRUE) for `app.test`, self-signed, served as the
/// server's own certificate, and its PEM for `--cacert`.
fn ca_as_leaf(dir: &std::path::Path) -> (cloud502_e2e::certs::Leaf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "cloud502 CA served as leaf");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = dir.join("ca-leaf.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let leaf = cloud502_e2e::certs::Leaf {
        chain: vec![cert.der().to_vec()],
        key: key.serialize_der(),
    };
    (leaf, pem)
}

#[test]
fn a_ca_certificate_served_as_the_leaf_is_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, pem) = ca_as_leaf(dir.path());
    let server = start_tls(ok_response(), leaf);
    let (url, resolve) = target(server.port);
    let words = "the server presented a CA certificate as its own certificate";
    for format in ["json", "table", "markdown", "sarif", "junit", "jsonl"] {
        let run = cloud502_e2e::cloud502(&[
            "probe",
            &url,
            "--resolve",
            &resolve,
            "--cacert",
            pem.to_str().unwrap(),
            "-o",
            format,
            "-vv",
        ]);
        assert_eq!(run.code, 1, "{format}: {}\n{}", run.stdout, run.stderr);
        for text in [&run.stdout, &run.stderr] {
            for dump in [
                "CaUsedAsEndEntity",
                "OtherError",
                "Other(",
                "InvalidCertificate",
            ] {
                assert!(!text.contains(dump), "{format}: a Debug dump: {text}");
            }
        }
        if format == "json" {
            let report = run.json();
            let p = &report["probes"][0];
            assert_eq!(p["tls"]["verify_error"], words);
            assert_eq!(
                p["error"]["message"],
                format!("TLS handshake failed: {words}")
            );
            assert_eq!(top_code(&report), "tls-cert-untrusted");
            let title = report["findings"][0]["title"].as_str().unwrap();
            assert!(
                title.ends_with(&format!("was rejected: {words}")),
                "not an unknown issuer: {title}"
            );
            let explanation = report["findings"][0]["explanation"].as_str().unwrap();
            assert!(explanation.contains(words), "{explanation}");
        } else if !matches!(format, "jsonl" | "sarif") {
            // SARIF carries only findings located in files.
            assert!(run.stdout.contains(words), "{format}: {}", run.stdout);
        }
    }
}
