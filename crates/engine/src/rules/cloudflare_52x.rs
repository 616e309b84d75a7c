//! Cloudflare's own 52x and 530 status codes (KB 3.1, 3.4): each names a failure between
//! Cloudflare's edge and the origin.

use super::{Rule, cite, front_probes};
use crate::remediation::{adjust_timeouts, check_backend, review_config, update_tls};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, Probe, Severity};

pub(super) const RULE: Rule = Rule {
    name: "cloudflare_52x",
    codes: &[
        FindingCode::Cloudflare520,
        FindingCode::Cloudflare521,
        FindingCode::Cloudflare522,
        FindingCode::Cloudflare523,
        FindingCode::Cloudflare524,
        FindingCode::Cloudflare525,
        FindingCode::Cloudflare526,
        FindingCode::Cloudflare530,
    ],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let (Some(http), Some(fp)) = (&probe.http, &probe.fingerprint) else {
            continue;
        };
        // These codes are Cloudflare's own; without Cloudflare's headers a 52x is someone else's.
        if fp.answered_by != Layer::Cloudflare {
            continue;
        }
        if let Some(f) = finding(
            probe,
            http.status,
            cite(evidence, probe, &["status", "header", "body"]),
        ) {
            out.push(f);
        }
    }
}

fn finding(probe: &Probe, status: u16, evidence: Vec<String>) -> Option<Finding> {
    let direct = format!(
        "cloud502 probe {} --resolve {}:{}:<origin-ip>",
        probe.url, probe.host, probe.port
    );
    let tls_check = format!(
        "openssl s_client -connect <origin-ip>:443 -servername {} </dev/null",
        probe.host
    );
    let allow_cf = review_config(
        "Allow Cloudflare's IP ranges (https://www.cloudflare.com/ips/) through the origin's \
         firewall, security group or rate limiter",
        None,
    );
    let probe_origin = check_backend(
        "Probe the origin directly with the same Host header and SNI",
        Some(&direct),
    );
    let (code, title, what, disproved, remediation) = match status {
        520 => (
            FindingCode::Cloudflare520,
            "Cloudflare 520: the origin returned an empty, unknown or unexpected response",
            "the origin's response was empty or unreadable: a crashed or reset origin process, \
             Cloudflare's IPs blocked mid-connection, response headers over the size limit, or a \
             broken HTTP/2 at the origin",
            "The origin, probed directly, returns a complete, valid response.",
            vec![
                probe_origin,
                check_backend(
                    "Read the origin web server's error log for crashes or resets",
                    None,
                ),
                review_config(
                    "Keep response headers (cookies above all) well under Cloudflare's limit; \
                     turn off HTTP/2 to origin if the origin's HTTP/2 is broken",
                    None,
                ),
            ],
        ),
        521 => (
            FindingCode::Cloudflare521,
            "Cloudflare 521: the origin refused Cloudflare's connection",
            "the origin refused the TCP connection: the web server is down, it does not listen on \
             the port the SSL mode needs (80 for Flexible, 443 for Full/Strict), or a firewall \
             rejects Cloudflare's IPs",
            "The origin accepts a direct connection from Cloudflare's address ranges on the port \
             the zone's SSL mode uses.",
            vec![
                probe_origin,
                check_backend(
                    "Check that the web server runs and listens on 80/443 to match the SSL mode",
                    Some("ss -ltnp | grep -E ':(80|443) '"),
                ),
                allow_cf,
            ],
        ),
        522 => (
            FindingCode::Cloudflare522,
            "Cloudflare 522: the connection to the origin timed out",
            "Cloudflare got no SYN+ACK from the origin within 19 s (or no ACK within 90 s): \
             packets dropped by a firewall, an overloaded origin, or a DNS record pointing at the \
             wrong address",
            "The origin completes a TCP handshake quickly from outside, and the DNS record points \
             at it.",
            vec![
                probe_origin,
                allow_cf,
                review_config(
                    "Check that the proxied DNS record points at the right origin address",
                    None,
                ),
            ],
        ),
        523 => (
            FindingCode::Cloudflare523,
            "Cloudflare 523: the origin is unreachable",
            "Cloudflare found no route to the origin address (a routing problem, or a record \
             pointing at an address that is not routed, such as 172.0.0.0/8 swallowing \
             172.64.0.0/13)",
            "The origin address is routable from the internet and answers a direct probe.",
            vec![
                probe_origin,
                review_config("Fix the DNS record or the routing to the origin", None),
            ],
        ),
        524 => (
            FindingCode::Cloudflare524,
            "Cloudflare 524: the origin sent no response within Cloudflare's read timeout",
            "the origin accepted the connection but did not send a response header within the \
             Proxy Read Timeout (120 s by default): a slow request or a hung worker",
            "The same request answered directly by the origin finishes well within 120 s.",
            vec![
                probe_origin,
                adjust_timeouts(
                    "Move long work to background jobs; on Enterprise, raise proxy_read_timeout",
                    None,
                ),
            ],
        ),
        525 => (
            FindingCode::Cloudflare525,
            "Cloudflare 525: the TLS handshake with the origin failed",
            "the zone's SSL mode is Full or Full (strict) and the TLS handshake between Cloudflare \
             and the origin failed: no certificate on 443, port 443 closed, no SNI support or no \
             cipher in common",
            "openssl s_client to the origin with the zone's host name as SNI completes a \
             handshake.",
            vec![
                check_backend("Test the origin's TLS listener with SNI", Some(&tls_check)),
                update_tls(
                    "Install a certificate on the origin (a Cloudflare Origin CA certificate \
                     works) and enable SNI and modern ciphers; lowering the SSL mode is a last, \
                     temporary resort",
                    None,
                ),
            ],
        ),
        526 => (
            FindingCode::Cloudflare526,
            "Cloudflare 526: the origin's certificate is invalid (Full strict mode)",
            "the zone's SSL mode is Full (strict) and the origin's certificate is expired, \
             revoked, self-signed, or does not cover the host name",
            "The origin's certificate, fetched with the zone's host name as SNI, is valid, \
             unexpired and covers the name.",
            vec![
                check_backend("Read the origin's certificate", Some(&tls_check)),
                update_tls(
                    "Replace the origin certificate with one valid for the host name (a \
                     Cloudflare Origin CA certificate works)",
                    None,
                ),
            ],
        ),
        530 => (
            FindingCode::Cloudflare530,
            "Cloudflare 530: Cloudflare could not resolve or reach the origin",
            "Cloudflare returned 530 with a 1xxx error in the body (for example 1016: origin DNS \
             error): the origin's host name does not resolve, or a Tunnel is down",
            "The origin host name resolves publicly, and the 1xxx code in the body names \
             something else.",
            vec![
                check_backend(
                    "Read the 1xxx code in the error page and check the origin DNS record",
                    Some(&format!("curl -s {} | grep -o 'Error 1[0-9]*'", probe.url)),
                ),
                review_config(
                    "Fix the origin DNS record or restart the Cloudflare Tunnel",
                    None,
                ),
            ],
        ),
        _ => return None,
    };
    Some(Finding {
        code,
        severity: Severity::Critical,
        confidence: Confidence::High,
        layer: Some(Layer::Cloudflare),
        title: title.to_owned(),
        explanation: format!(
            "Cloudflare's edge answered {status} (with CF-RAY / Server: cloudflare): {what} \
             (KB 3.1)."
        ),
        evidence,
        locations: Vec::new(),
        disproved_by: disproved.to_owned(),
        remediation,
        next_command: Some(direct),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn each_52x_maps_to_its_code_only_behind_cloudflare() {
        let cases = [
            (520, FindingCode::Cloudflare520),
            (521, FindingCode::Cloudflare521),
            (522, FindingCode::Cloudflare522),
            (523, FindingCode::Cloudflare523),
            (524, FindingCode::Cloudflare524),
            (525, FindingCode::Cloudflare525),
            (526, FindingCode::Cloudflare526),
            (530, FindingCode::Cloudflare530),
        ];
        for (status, code) in cases {
            for (layer, expected) in [(Layer::Cloudflare, Some(code)), (Layer::Nginx, None)] {
                let mut p = probe("https://example.com/");
                p.http = Some(response(status, ""));
                p.fingerprint = Some(fingerprint(layer, None));
                let mut out = Vec::new();
                check(&evidence(p), &mut out);
                assert_eq!(
                    out.first().map(|f| f.code),
                    expected,
                    "{status} via {layer:?}"
                );
            }
        }
        let mut p = probe("https://example.com/");
        p.http = Some(response(502, ""));
        p.fingerprint = Some(fingerprint(Layer::Cloudflare, None));
        let mut out = Vec::new();
        check(&evidence(p), &mut out);
        assert!(out.is_empty(), "502 belongs to layer_502");
    }
}
