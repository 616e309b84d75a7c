//! Cloudflare is not in the path for the host (KB 3.2 DNS `proxied`, 3.3, 5): the zone is paused,
//! the zone has no A/AAAA/CNAME record or load balancer for the host, or every one of them is
//! DNS-only (grey cloud). Then no 52x or Cloudflare 502 can come from Cloudflare for this host; a
//! 502 comes from the origin's own layers, which `cloud502 probe https://<host>/` identifies.
//!
//! Severity: warning when the zone is paused or nothing routes the host (likely unintended, or the
//! wrong host or zone was given); info when the records are DNS-only, which is often deliberate.
//! "No record" is not claimed when the DNS records could not be read (a gap naming DNS).
//!
//! The check gathers a `NotProxied` fact (with `Why`); its text is beside it, one arm per reason.

use crate::remediation::{check_backend, review_config};
use crate::rules::Rule;
use crate::rules::cloudflare::shared::{self as cloudflare, existing};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, Route, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_not_proxied",
    codes: &[FindingCode::CloudflareNotProxied],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !cloudflare::is_cloudflare(ev) {
        return;
    }
    let Some(host) = cloudflare::setting(ev, "host").filter(|h| !h.is_empty()) else {
        return;
    };
    let routes: Vec<&Route> = ev
        .config
        .routes
        .iter()
        .filter(|r| {
            r.server_names.is_empty()
                || r.server_names
                    .iter()
                    .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(host))
        })
        .collect();
    let paused = cloudflare::setting(ev, "zone.paused") == Some("true");
    // Cloudflare proxies a zone's records only once the zone is active (its name servers are
    // Cloudflare's); a pending, initializing, moved or deactivated zone answers nothing.
    let inactive = cloudflare::setting(ev, "zone.status")
        .filter(|s| !s.is_empty() && *s != "active")
        .map(str::to_owned);
    let dns_gap = ev.gaps.iter().any(|g| {
        let s = g.scope.to_ascii_lowercase();
        s.contains("dns") || s.contains("load_balancers")
    });

    let (why, mut evidence) = if let Some(status) = inactive {
        (
            Why::NotActive(status),
            existing(ev, ["cloudflare.zone".to_owned()]),
        )
    } else if paused {
        (Why::Paused, existing(ev, ["cloudflare.zone".to_owned()]))
    } else if routes.is_empty() {
        if dns_gap {
            return;
        }
        (Why::NoRecord, existing(ev, ["cloudflare.zone".to_owned()]))
    } else if routes
        .iter()
        .all(|r| r.setting("proxied").is_some_and(|s| s.value == "false"))
    {
        let targets: Vec<String> = routes
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.setting("type").map_or(
                        if r.setting("lb").is_some() {
                            "load balancer"
                        } else {
                            "record"
                        },
                        |s| s.value.as_str()
                    ),
                    r.target
                )
            })
            .collect();
        let mut items = Vec::new();
        for prefix in ["cloudflare.dns.", "cloudflare.lb."] {
            let all = ev.ids_with_prefix(prefix);
            let matching: Vec<String> = all
                .iter()
                .filter(|id| {
                    routes.iter().any(|r| {
                        ev.item(id)
                            .is_some_and(|i| i.fact.contains(r.target.as_str()))
                    })
                })
                .cloned()
                .collect();
            items.extend(if matching.is_empty() { all } else { matching });
        }
        (Why::DnsOnly(targets), items)
    } else {
        return;
    };
    if evidence.is_empty() {
        evidence = existing(ev, ["cloudflare.zone".to_owned()]);
    }
    if evidence.is_empty() {
        // Nothing citable: the provider stated no item for what it read.
        return;
    }
    out.push(Finding::from(NotProxied {
        host,
        zone: cloudflare::zone(ev),
        why,
        evidence,
    }));
}

// ---- facts ----

/// Cloudflare is not in the path for the host.
struct NotProxied<'a> {
    host: &'a str,
    zone: String,
    why: Why,
    evidence: Vec<String>,
}

/// Why Cloudflare is not in the path.
enum Why {
    /// The zone is not active (`pending`, `initializing`, `moved`, `deactivated`).
    NotActive(String),
    /// The zone is paused.
    Paused,
    /// No record or load balancer names the host.
    NoRecord,
    /// Every record for the host is DNS-only: `TYPE target` each.
    DnsOnly(Vec<String>),
}

// ---- text ----

impl NotProxied<'_> {
    /// Warning when likely unintended (paused, no record); info when DNS-only, often deliberate.
    fn severity(&self) -> Severity {
        match self.why {
            Why::NotActive(_) | Why::Paused | Why::NoRecord => Severity::Warning,
            Why::DnsOnly(_) => Severity::Info,
        }
    }

    fn title(&self) -> String {
        let (host, zone) = (self.host, &self.zone);
        match &self.why {
            Why::NotActive(status) => format!(
                "zone {zone} is {status}, not active: Cloudflare is not in the path for {host}"
            ),
            Why::Paused => {
                format!("zone {zone} is paused: Cloudflare is not in the path for {host}")
            }
            Why::NoRecord => {
                format!("zone {zone} has no DNS record for {host}: Cloudflare is not in the path")
            }
            Why::DnsOnly(_) => {
                format!("{host} is DNS-only (grey cloud): Cloudflare is not in the path")
            }
        }
    }

    fn why(&self) -> String {
        let (host, zone) = (self.host, &self.zone);
        match &self.why {
            Why::NotActive(status) => format!(
                "The zone {zone} is {status}: Cloudflare proxies a zone's records only once the \
                 zone is active, that is once the domain's name servers at the registrar are the \
                 two Cloudflare assigned (a pending zone waits for that change), so {host} is not \
                 served through Cloudflare."
            ),
            Why::Paused => format!(
                "The zone {zone} is paused, so Cloudflare answers DNS for {host} with the origin's \
                 address and does not proxy it."
            ),
            Why::NoRecord => format!(
                "The zone {zone} has no A, AAAA or CNAME record and no load balancer named \
                 {host}, so Cloudflare does not answer for it (the name may be served by another \
                 zone or provider, or the host or zone given is wrong)."
            ),
            Why::DnsOnly(targets) => format!(
                "Every record for {host} in zone {zone} is DNS-only ({}): clients connect \
                 straight to that address, and Cloudflare only answers DNS.",
                targets.join(", ")
            ),
        }
    }
}

impl From<NotProxied<'_>> for Finding {
    fn from(f: NotProxied<'_>) -> Finding {
        let host = f.host;
        let probe_cmd = format!("cloud502 probe https://{host}/");
        Finding {
            code: FindingCode::CloudflareNotProxied,
            severity: f.severity(),
            confidence: Confidence::High,
            layer: Some(Layer::Application),
            title: f.title(),
            explanation: format!(
                "{} No 52x and no Cloudflare 502 can come from Cloudflare for this host: a 502 \
                 that users see was made by the origin's own layers (a load balancer, nginx or \
                 the application), which a direct probe of the host identifies.",
                f.why()
            ),
            locations: Vec::new(),
            disproved_by: format!(
                "{host} answers with Server: cloudflare and a CF-RAY header (Cloudflare is in the \
                 path: check that the right zone and host were given), or another record for the \
                 host is proxied."
            ),
            remediation: vec![
                check_backend(
                    "Probe the host itself to see which layer answers and who made the 502",
                    Some(&probe_cmd),
                ),
                review_config(
                    "If Cloudflare should be in the path: set the record to proxied (orange \
                     cloud), or unpause the zone",
                    None,
                ),
            ],
            next_command: Some(probe_cmd),
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::{Gap, GapKind};

    #[test]
    fn a_proxied_record_is_no_finding() {
        assert!(run_rule(super::check, &cf_zone("full")).is_empty());
    }

    #[test]
    fn a_dns_only_record_is_info_and_points_to_probing_the_host() {
        let mut ev = cf_zone("full");
        ev.config.routes[0] = dns_route(0, ORIGIN, false);
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::CloudflareNotProxied);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].title.contains("DNS-only"), "{}", f[0].title);
        assert!(f[0].explanation.contains("A 203.0.113.10"));
        assert_eq!(f[0].evidence, vec!["cloudflare.dns.0"]);
        assert_eq!(
            f[0].next_command.as_deref(),
            Some("cloud502 probe https://www.example.com/")
        );
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn a_proxied_load_balancer_over_a_dns_only_record_keeps_cloudflare_in_the_path() {
        let mut ev = cf_zone("full");
        ev.config.routes[0] = dns_route(0, ORIGIN, false);
        let mut lb = dns_route(1, "www.example.com", true);
        lb.settings = vec![s("proxied", "true"), s("lb", "true")];
        ev.config.routes.push(lb);
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn a_pending_zone_is_not_in_the_path() {
        let mut ev = cf_zone("full");
        ev.config.settings.retain(|s| s.name != "zone.status");
        ev.config.settings.push(s("zone.status", "pending"));
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].title.contains("is pending, not active"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].explanation.contains("name servers"),
            "{}",
            f[0].explanation
        );
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn a_paused_zone_or_no_record_is_a_warning() {
        let mut ev = cf_zone("full");
        ev.config.settings.retain(|s| s.name != "zone.paused");
        ev.config.settings.push(s("zone.paused", "true"));
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].title.contains("is paused"), "{}", f[0].title);
        assert_eq!(f[0].evidence, vec!["cloudflare.zone"]);

        let mut ev = cf_zone("full");
        ev.config.routes.clear();
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].title.contains("no DNS record for www.example.com"),
            "{}",
            f[0].title
        );
        assert_cited_exist(&ev, &f);
        // ... unless the records could not be read.
        ev.gaps.push(Gap {
            scope: "cloudflare:dns_records".into(),
            kind: GapKind::Permission,
            message: "403".into(),
            hint: None,
        });
        assert!(run_rule(super::check, &ev).is_empty());
    }
}
