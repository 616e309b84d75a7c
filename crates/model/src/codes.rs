//! The closed list of finding codes. A code is stable: it is never renamed, only added.
//!
//! Each code has a documentation page at `docs/findings/<code>.md`, compiled in so that
//! `cloud502 explain <code>` works from a lone binary. A missing page is a compile error here
//! and a named failure in the `every_code_has_a_docs_page` test.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! finding_codes {
    ($( $(#[$meta:meta])* $variant:ident = $code:literal : $summary:literal, )+) => {
        /// A stable kebab-case identifier of a kind of finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum FindingCode {
            $( $(#[$meta])* #[serde(rename = $code)] $variant, )+
        }

        impl FindingCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [FindingCode] = &[ $( FindingCode::$variant, )+ ];

            /// The kebab-case code.
            pub fn as_str(self) -> &'static str {
                match self { $( FindingCode::$variant => $code, )+ }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( FindingCode::$variant => $summary, )+ }
            }

            /// The code's documentation page (Markdown), from `docs/findings/<code>.md`.
            pub fn docs(self) -> &'static str {
                match self {
                    $( FindingCode::$variant => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/../../docs/findings/", $code, ".md"
                    )), )+
                }
            }
        }
    };
}

finding_codes! {
    /// nginx made the 502 itself: its upstream failed.
    Nginx502 = "nginx-502": "nginx generated the 502 because its upstream failed",
    /// The ALB made the 502: its target failed.
    Alb502 = "alb-502": "AWS ALB generated the 502 because a target failed",
    /// Azure Application Gateway made the 502: its backend failed.
    Appgw502 = "appgw-502": "Azure Application Gateway generated the 502 because a backend failed",
    /// Cloudflare's edge made the 502 (plain page, no origin response).
    CloudflareEdge502 = "cloudflare-edge-502": "Cloudflare's edge generated the 502",
    /// Cloudflare relayed a 502 that its origin returned (branded page).
    CloudflareOrigin502 = "cloudflare-origin-502": "Cloudflare relayed a 502 returned by the origin",
    /// A proxy relayed a 502 that a layer below it made.
    Relayed502 = "relayed-502": "the answering proxy relayed a 502 made by the layer below it",
    /// A 502 came back and nothing identified who made it.
    UnknownLayer502 = "unknown-layer-502": "a 502 came from a layer that could not be identified",
    /// A gateway timed out waiting for its upstream (504, not 502).
    GatewayTimeout504 = "gateway-timeout-504": "a gateway returned 504: its upstream did not answer in time",
    /// Cloudflare 520.
    Cloudflare520 = "cloudflare-520-unknown-response": "Cloudflare 520: the origin returned an empty, unknown or unexpected response",
    /// Cloudflare 521.
    Cloudflare521 = "cloudflare-521-origin-refused": "Cloudflare 521: the origin refused Cloudflare's connection",
    /// Cloudflare 522.
    Cloudflare522 = "cloudflare-522-origin-timeout": "Cloudflare 522: the connection to the origin timed out",
    /// Cloudflare 523.
    Cloudflare523 = "cloudflare-523-origin-unreachable": "Cloudflare 523: the origin is unreachable",
    /// Cloudflare 524.
    Cloudflare524 = "cloudflare-524-origin-slow": "Cloudflare 524: the origin accepted the connection but sent no response in time",
    /// Cloudflare 525.
    Cloudflare525 = "cloudflare-525-origin-tls-handshake": "Cloudflare 525: the TLS handshake with the origin failed",
    /// Cloudflare 526.
    Cloudflare526 = "cloudflare-526-origin-invalid-cert": "Cloudflare 526: the origin's certificate is invalid (Full strict mode)",
    /// Cloudflare 530.
    Cloudflare530 = "cloudflare-530-origin-unresolvable": "Cloudflare 530: Cloudflare could not resolve or reach the origin (see the 1xxx code)",
    /// The server certificate has expired.
    TlsCertExpired = "tls-cert-expired": "the server's TLS certificate has expired",
    /// The server certificate is not valid yet.
    TlsCertNotYetValid = "tls-cert-not-yet-valid": "the server's TLS certificate is not valid yet",
    /// The certificate does not cover the host name.
    TlsCertHostnameMismatch = "tls-cert-hostname-mismatch": "the server's TLS certificate does not cover the host name",
    /// The certificate chain does not lead to a trusted root.
    TlsCertUntrusted = "tls-cert-untrusted": "the server's TLS certificate is not signed by a trusted authority",
    /// The certificate expires soon.
    TlsCertExpiringSoon = "tls-cert-expiring-soon": "the server's TLS certificate expires within 14 days",
    /// The TLS handshake failed for a reason other than the certificate.
    TlsHandshakeFailed = "tls-handshake-failed": "the TLS handshake failed",
    /// The host name did not resolve.
    DnsResolutionFailed = "dns-resolution-failed": "the host name did not resolve",
    /// Nothing listens on the port (RST).
    ConnectionRefused = "connection-refused": "the connection was refused: nothing listens on that port",
    /// No answer to the connection attempt.
    ConnectTimeout = "connect-timeout": "the TCP connection attempt timed out",
    /// Connected, but no response header arrived in time.
    ResponseTimeout = "response-timeout": "the server accepted the request but sent no response in time",
    /// The server closed or reset the connection without answering.
    ConnectionClosed = "connection-closed": "the server closed or reset the connection without a response",
    /// The server answered with something that is not valid HTTP.
    MalformedResponse = "malformed-response": "the server's response is not valid HTTP",
    /// The network path to the host is broken (no route, network unreachable).
    NetworkUnreachable = "network-unreachable": "the host is unreachable: no route or network down",
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown finding code `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = BTreeSet::new();
        for code in FindingCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !s.starts_with('-')
                    && !s.ends_with('-')
                    && !s.contains("--"),
                "{s} is not kebab-case"
            );
            assert_eq!(s.parse::<FindingCode>(), Ok(*code));
            // serde and as_str agree, so JSON and `explain` use the same spelling.
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
    }

    #[test]
    fn every_code_has_a_docs_page() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/findings");
        for code in FindingCode::ALL {
            let path = dir.join(format!("{code}.md"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("missing docs page {}: {e}", path.display()));
            assert!(
                text.starts_with(&format!("# {code}\n")),
                "{} must start with the heading `# {code}`",
                path.display()
            );
            for section in [
                "## What it means",
                "## Evidence",
                "## What would disprove it",
                "## Remediation",
            ] {
                assert!(
                    text.contains(section),
                    "{} lacks the section `{section}`",
                    path.display()
                );
            }
        }
        // No orphan pages: every page names a code that exists.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(stem) = name.strip_suffix(".md") {
                if stem != "README" {
                    assert!(
                        stem.parse::<FindingCode>().is_ok(),
                        "orphan docs page {name}"
                    );
                }
            }
        }
    }
}
