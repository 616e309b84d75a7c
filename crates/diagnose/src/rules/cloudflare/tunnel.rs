//! Cloudflare Tunnel (KB 9.3): a host whose proxied record is a CNAME to `<uuid>.cfargotunnel.com`
//! is reached through `cloudflared`, which connects out to Cloudflare and forwards each request to
//! a service it names. A 502 that Cloudflare records with an origin status of 502 there is
//! cloudflared failing to reach that service ("Unable to reach the origin service", KB 3.3),
//! and its log carries the request's Ray ID. The tunnel name itself is never checked from here:
//! it only routes inside Cloudflare.
//!
//! The provider names the tunnel in setting `tunnel` and item `cloudflare.tunnel.N`; this rule
//! reports its 502s in place of `cloudflare-origin-502`, which `layer_502` leaves to it.

use crate::remediation::check_backend;
use crate::rules::Rule;
use crate::rules::cloudflare::shared::{self as cloudflare, Requests, existing};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, LogClass, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_tunnel",
    codes: &[FindingCode::CloudflareTunnel502],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let Some(id) = cloudflare::tunnel(ev) else {
        return;
    };
    let requests = cloudflare::requests(ev, |g| g.class == LogClass::Status502FromUpstream);
    if requests.count == 0 {
        return;
    }
    let mut evidence = existing(
        ev,
        (0..4)
            .map(|i| format!("cloudflare.tunnel.{i}"))
            .chain(["cloudflare.analytics".to_owned()]),
    );
    evidence.extend(requests.items.iter().cloned());
    out.push(Finding::from(TunnelFailing {
        id: id.to_owned(),
        host: cloudflare::host(ev),
        evidence: crate::rules::dedup(evidence),
        requests,
    }));
}

// ---- facts ----

/// 502s Cloudflare recorded as the origin's, where the origin is cloudflared.
struct TunnelFailing {
    /// The tunnel's id (the UUID of `<uuid>.cfargotunnel.com`).
    id: String,
    host: String,
    requests: Requests,
    evidence: Vec<String>,
}

// ---- text ----

impl From<TunnelFailing> for Finding {
    fn from(f: TunnelFailing) -> Finding {
        let count = f.requests.count;
        Finding {
            code: FindingCode::CloudflareTunnel502,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: Some(Layer::Cloudflare),
            title: format!(
                "Cloudflare Tunnel {}: cloudflared could not reach the service behind it ({count} \
                 502(s))",
                f.id
            ),
            explanation: format!(
                "{} is served through Cloudflare Tunnel {} ({}.cfargotunnel.com). Cloudflare's \
                 request records show {count} request(s) with edge status 502 and origin status \
                 502{}: the \"origin\" Cloudflare talks to is cloudflared, which answers 502 when \
                 it cannot reach the service its ingress rule names (\"Unable to reach the origin \
                 service\"). Its log names the service and carries each request's Ray ID. The \
                 tunnel name is not checked from here: it routes only inside Cloudflare.",
                f.host,
                f.id,
                f.id,
                f.requests.window()
            ),
            locations: Vec::new(),
            disproved_by: "cloudflared's log shows no \"Unable to reach the origin service\" at \
                           those times, and the service its ingress rule names answers on the \
                           cloudflared host."
                .to_owned(),
            remediation: vec![
                check_backend(
                    "Read cloudflared's log on the connector host for the Ray IDs of the failing \
                     requests: it names the service it could not reach and why",
                    Some(&format!("cloudflared tunnel info {}", f.id)),
                ),
                check_backend(
                    "From the cloudflared host, check the service its ingress rule for this host \
                     names (address, port, scheme, and noTLSVerify / originServerName for https)",
                    None,
                ),
            ],
            next_command: Some(format!("cloudflared tunnel info {}", f.id)),
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use cloud502_model::Setting;

    #[test]
    fn origin_502s_behind_a_tunnel_blame_cloudflared_not_the_origin() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[(
                LogClass::Status502FromUpstream,
                502,
                Some(ORIGIN),
                "AMS",
                40,
                "2025-06-01T10:00:00Z",
                "2025-06-01T10:10:00Z",
            )],
        );
        ev.config.settings.push(Setting {
            name: "tunnel".into(),
            value: "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415".into(),
            location: None,
            default: false,
        });
        let findings = crate::rules::diagnose(&ev);
        assert_cited_exist(&ev, &findings);
        let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes.first(),
            Some(&FindingCode::CloudflareTunnel502),
            "{codes:?}"
        );
        assert!(
            !codes.contains(&FindingCode::CloudflareOrigin502),
            "{codes:?}"
        );
        assert!(
            findings[0].title.contains("f70ff985"),
            "{}",
            findings[0].title
        );
    }
}
