//! The zone's SSL/TLS mode does not match what the origin serves (KB 3.4 #10; 3.1 for 521/525).
//!
//! The mode decides how Cloudflare reaches the origin: Flexible (and Off) over HTTP on port 80,
//! Full and Full (strict) over HTTPS on port 443. The direct origin checks of `cloud502
//! cloudflare` try both ports, so a mismatch shows as one port failing while the other serves:
//! - Flexible, port 80 refused (or silent) while HTTPS serves: visitors get 521 (522);
//! - Flexible, port 80 answers 301/302/307/308 to `https://` the same host: a redirect loop
//!   (`ERR_TOO_MANY_REDIRECTS`), since Cloudflare asks over HTTP again for every hop;
//! - Full or Full (strict), port 443 refused (or silent) or its TLS handshake fails while HTTP
//!   serves: visitors get 521 (522) or 525.
//!
//! Mode `off` is left alone: Cloudflare serves visitors over HTTP only, and a failing port 80 is
//! the plain 521 of `cloudflare_52x`.
//!
//! Design (no duplicate 52x): the mismatch is decided once in `cloudflare::mismatches`. This
//! rule reports it, and cites the analytics count of the 52x it makes (one finding per kind of
//! mismatch, with the count in the title); `cloudflare_52x` then neither predicts that 52x from
//! the mismatched origin's checks nor reports the analytics count of it, unless another origin's
//! checks also predict that status (`cloudflare::claimed_statuses`).
//!
//! Remediation aligns the mode with the origin (medium risk, KB 3.4 #10) or fixes the origin's
//! HTTPS (high risk, a certificate change). Lowering the mode is a temporary last resort: KB 3.4
//! #9 rates downgrading High risk.
//!
//! The check gathers a `ModeMismatch` per kind; its text (title, explanation, disproof, steps) is
//! a method each, one arm per kind.

use crate::remediation::{check_backend, review_config, update_tls};
use crate::rules::Rule;
use crate::rules::cloudflare::shared::{
    self as cloudflare, Mismatch, MismatchKind, Requests, SslMode, claimed_statuses, edge_errors,
    existing, mismatches, origin_probe_command, probe_items,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, ProbeScheme, Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_ssl_mode",
    codes: &[FindingCode::CloudflareSslModeMismatch],
    check,
};

const KINDS: &[MismatchKind] = &[
    MismatchKind::FlexibleWithoutHttp,
    MismatchKind::RedirectLoop,
    MismatchKind::FullWithoutHttps,
];

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let all = mismatches(ev);
    if all.is_empty() {
        return;
    }
    let claimed = claimed_statuses(ev);
    for kind in KINDS {
        let of: Vec<&Mismatch<'_>> = all.iter().filter(|m| m.kind == *kind).collect();
        if let Some(first) = of.first() {
            out.push(Finding::from(gather(ev, *kind, first.mode, of, &claimed)));
        }
    }
}

fn gather<'a>(
    ev: &Evidence,
    kind: MismatchKind,
    mode: SslMode,
    of: Vec<&'a Mismatch<'a>>,
    claimed: &[u16],
) -> ModeMismatch<'a> {
    // The 52x the mismatch makes, with the analytics count when this finding owns it.
    let statuses: Vec<u16> = crate::rules::dedup(of.iter().filter_map(|m| m.status).collect());
    let mut analytics = Requests::default();
    for s in statuses.iter().filter(|s| claimed.contains(s)) {
        let r = edge_errors(ev, *s);
        analytics.count += r.count;
        analytics.items.extend(r.items);
    }
    let mut evidence = existing(ev, ["cloudflare.ssl".to_owned()]);
    for m in &of {
        evidence.extend(probe_items(ev, m.failed));
        if let Some(w) = m.working {
            evidence.extend(probe_items(ev, w));
        }
    }
    evidence.extend(analytics.items);
    ModeMismatch {
        kind,
        mode,
        of,
        host: cloudflare::host(ev),
        statuses,
        counted: analytics.count,
        source: cloudflare::ssl_source(ev).map(str::to_owned),
        evidence: crate::rules::dedup(evidence),
    }
}

// ---- facts ----

/// One kind of mismatch between the zone's SSL mode and the origins' listeners.
struct ModeMismatch<'a> {
    kind: MismatchKind,
    mode: SslMode,
    /// The origins with this mismatch.
    of: Vec<&'a Mismatch<'a>>,
    host: String,
    /// The 52x statuses the mismatch makes.
    statuses: Vec<u16>,
    /// Requests the analytics show with those statuses, when this finding owns them.
    counted: u64,
    /// The Configuration Rule or Page Rule that set the mode for the host, when one did.
    source: Option<String>,
    evidence: Vec<String>,
}

// ---- text ----

/// `curl -X PATCH .../settings/ssl` to this value.
fn set_mode_command(value: &str) -> String {
    format!(
        "curl -X PATCH \"https://api.cloudflare.com/client/v4/zones/<zone-id>/settings/ssl\" \
         -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" -H \"Content-Type: application/json\" \
         --data '{{\"value\":\"{value}\"}}'"
    )
}

fn scheme(s: ProbeScheme) -> &'static str {
    match s {
        ProbeScheme::Http => "http",
        ProbeScheme::Https => "https",
        ProbeScheme::Tcp => "tcp",
    }
}

impl ModeMismatch<'_> {
    /// The first origin's address, or `<origin-ip>`.
    /// The port the first origin was checked on with `scheme`.
    fn port(&self, scheme: ProbeScheme) -> Option<u16> {
        let m = self.of.first()?;
        std::iter::once(m.failed)
            .chain(m.working)
            .find(|p| p.scheme == scheme)
            .map(|p| p.port)
    }

    fn first(&self) -> &str {
        self.of
            .first()
            .map_or("<origin-ip>", |m| m.address.as_str())
    }

    /// `521/522`.
    fn status_text(&self) -> String {
        self.statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// ` (N request(s))`, or empty.
    fn counted(&self) -> String {
        if self.counted > 0 {
            format!(" ({} request(s))", self.counted)
        } else {
            String::new()
        }
    }

    /// What the analytics show, a sentence, or empty.
    fn seen(&self) -> String {
        if self.counted > 0 {
            format!(
                " Cloudflare's request records (analytics or Logpush) show {} request(s) answered \
                 {} by the edge in the window; they are counted here, not as a separate 52x \
                 finding.",
                self.counted,
                self.status_text()
            )
        } else {
            String::new()
        }
    }

    /// What each origin's checks got, joined.
    fn details(&self) -> String {
        let failed_text = |m: &Mismatch<'_>| {
            m.failed
                .error
                .as_ref()
                .map(|e| format!("{} failed: {}", e.phase.as_str(), e.message))
                .unwrap_or_else(|| "failed".to_owned())
        };
        self.of
            .iter()
            .map(|m| match self.kind {
                MismatchKind::RedirectLoop => format!(
                    "{}: http answers {} to {}",
                    m.address,
                    m.failed.http.as_ref().map_or(0, |h| h.status),
                    m.location.as_deref().unwrap_or("https://")
                ),
                _ => format!(
                    "{}: {} {}; {} answers {}",
                    m.address,
                    scheme(m.failed.scheme),
                    failed_text(m),
                    m.working.map_or("-", |w| scheme(w.scheme)),
                    m.working
                        .and_then(|w| w.http.as_ref())
                        .map_or(0, |h| h.status)
                ),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn confidence(&self) -> Confidence {
        if self.of.iter().all(|m| m.status == Some(522)) {
            Confidence::Medium
        } else {
            Confidence::High
        }
    }

    /// The port the mode uses, as checked (80 / 443, `--http-port` / `--https-port`, or an
    /// Origin Rule's port), and the other port checked.
    fn ports(&self) -> (u16, u16) {
        let first = self.of.first();
        let (default_failed, default_working) = match self.kind {
            MismatchKind::FullWithoutHttps => (443, 80),
            _ => (80, 443),
        };
        (
            first.map_or(default_failed, |m| m.failed.port),
            first
                .and_then(|m| m.working)
                .map_or(default_working, |w| w.port),
        )
    }

    fn title(&self) -> String {
        let (status, counted) = (self.status_text(), self.counted());
        let (port, _) = self.ports();
        match self.kind {
            MismatchKind::FlexibleWithoutHttp => format!(
                "SSL mode Flexible, but the origin does not serve HTTP on port {port} (only \
                 HTTPS): visitors get {status}{counted}"
            ),
            MismatchKind::RedirectLoop => format!(
                "SSL mode Flexible, and the origin redirects HTTP to https://{}/: a redirect loop \
                 (ERR_TOO_MANY_REDIRECTS)",
                self.host
            ),
            MismatchKind::FullWithoutHttps => format!(
                "SSL mode {}, but the origin does not serve HTTPS on port {port} (only HTTP): \
                 visitors get {status}{counted}",
                self.mode.label()
            ),
        }
    }

    fn explanation(&self) -> String {
        let (details, seen) = (self.details(), self.seen());
        let (port, other) = self.ports();
        match self.kind {
            MismatchKind::FlexibleWithoutHttp => format!(
                "In Flexible mode Cloudflare connects to the origin over plain HTTP on port \
                 {port}, but the origin ({details}) does not serve there while it answers over \
                 HTTPS on {other}.{seen} The mode and the origin's listeners disagree."
            ),
            MismatchKind::RedirectLoop => format!(
                "In Flexible mode Cloudflare asks the origin over HTTP, the origin redirects to \
                 HTTPS ({details}), the browser asks Cloudflare over HTTPS, and Cloudflare asks \
                 the origin over HTTP again: the redirect never ends and browsers stop with \
                 ERR_TOO_MANY_REDIRECTS."
            ),
            MismatchKind::FullWithoutHttps => format!(
                "In {} mode Cloudflare connects to the origin over HTTPS on port {port}, but the \
                 origin ({details}) does not complete a TLS connection there while it answers \
                 plain HTTP on {other}.{seen} The mode and the origin's listeners disagree.",
                self.mode.label()
            ),
        }
    }

    fn disproved_by(&self) -> &'static str {
        match self.kind {
            MismatchKind::FlexibleWithoutHttp => {
                "The origin answers HTTP on port 80 from Cloudflare's address ranges (a firewall \
                 may treat this machine differently), or an Origin Rule sends this host to \
                 another port."
            }
            MismatchKind::RedirectLoop => {
                "The redirect depends on a header Cloudflare sends (X-Forwarded-Proto: https) and \
                 is not issued for Cloudflare's requests, or an Origin Rule or Configuration Rule \
                 sets another SSL mode for this host."
            }
            MismatchKind::FullWithoutHttps => {
                "The origin completes a TLS handshake on 443 with the host's name as SNI, from \
                 Cloudflare's address ranges, or an Origin Rule sends this host to another port."
            }
        }
    }

    fn remediation(&self) -> Vec<Remediation> {
        let (host, first) = (&self.host, self.first());
        match self.kind {
            MismatchKind::FlexibleWithoutHttp => vec![
                check_backend(
                    "Check both ports of the origin with the host's name",
                    Some(&format!(
                        "{}; {}",
                        origin_probe_command(
                            host,
                            ProbeScheme::Http,
                            first,
                            self.port(ProbeScheme::Http)
                        ),
                        origin_probe_command(
                            host,
                            ProbeScheme::Https,
                            first,
                            self.port(ProbeScheme::Https)
                        )
                    )),
                ),
                review_config(
                    "The origin already serves HTTPS: align the mode with it, Full (strict) if \
                     its certificate is valid for the host (else Full until it is replaced)",
                    Some(&set_mode_command("strict")),
                ),
                review_config(
                    "Or, to keep Flexible, make the origin listen on port 80 and allow \
                     Cloudflare's IP ranges there",
                    Some("ss -ltnp | grep -E ':(80|443) '"),
                ),
            ],
            MismatchKind::RedirectLoop => vec![
                check_backend(
                    "See the redirect the origin sends over HTTP",
                    Some(&format!(
                        "curl -sI --resolve {host}:80:{first} http://{host}/ | grep -i '^location'"
                    )),
                ),
                review_config(
                    "The origin serves HTTPS: set the mode to Full (strict) (Full if its \
                     certificate is not valid for the host yet)",
                    Some(&set_mode_command("strict")),
                ),
                review_config(
                    "Or keep Flexible: remove the origin's HTTP-to-HTTPS redirect and turn on \
                     Cloudflare's Always Use HTTPS instead",
                    Some(
                        "curl -X PATCH \"https://api.cloudflare.com/client/v4/zones/<zone-id>/settings/always_use_https\" \
                         -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" -H \"Content-Type: application/json\" \
                         --data '{\"value\":\"on\"}'",
                    ),
                ),
            ],
            MismatchKind::FullWithoutHttps => vec![
                check_backend(
                    "Test the origin's TLS listener with SNI",
                    Some(&format!(
                        "openssl s_client -connect {first}:443 -servername {host} </dev/null"
                    )),
                ),
                update_tls(
                    "Serve HTTPS on 443 at the origin with a certificate for the host (a \
                     Cloudflare Origin CA certificate works with Full (strict)) and SNI",
                    None,
                ),
                update_tls(
                    "Only as a temporary last resort: set the mode to Flexible; traffic from \
                     Cloudflare to the origin is then unencrypted, and an origin redirect to \
                     HTTPS would loop. Lowering the mode is high risk",
                    Some(&set_mode_command("flexible")),
                ),
            ],
        }
    }

    fn next_command(&self) -> String {
        let scheme = match self.kind {
            MismatchKind::FullWithoutHttps => ProbeScheme::Https,
            _ => ProbeScheme::Http,
        };
        origin_probe_command(&self.host, scheme, self.first(), self.port(scheme))
    }
}

impl From<ModeMismatch<'_>> for Finding {
    fn from(f: ModeMismatch<'_>) -> Finding {
        let addresses: Vec<&str> = f.of.iter().map(|m| m.address.as_str()).collect();
        Finding {
            code: FindingCode::CloudflareSslModeMismatch,
            severity: Severity::Critical,
            confidence: f.confidence(),
            layer: Some(Layer::Cloudflare),
            title: f.title(),
            explanation: format!(
                "{}{} Origin(s): {}.",
                f.explanation(),
                f.source
                    .as_deref()
                    .map(|s| format!(
                        " The mode is set for {} by {s}, which outranks the zone's setting.",
                        f.host
                    ))
                    .unwrap_or_default(),
                addresses.join(", ")
            ),
            locations: Vec::new(),
            disproved_by: f.disproved_by().to_owned(),
            remediation: match &f.source {
                // A rule sets the mode: the zone's setting is not what to change.
                Some(source) => f
                    .remediation()
                    .into_iter()
                    .map(|mut r| {
                        if r.command
                            .as_deref()
                            .is_some_and(|c| c.contains("/settings/ssl"))
                        {
                            r.step = format!(
                                "{} (the mode comes from {source}: change that rule, not the \
                                 zone's SSL/TLS setting)",
                                r.step
                            );
                            r.command = None;
                        }
                        r
                    })
                    .collect(),
                None => f.remediation(),
            },
            next_command: Some(f.next_command()),
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::{Header, LogClass, Phase, ProbeErrorKind as K, ProbeScheme as S, Risk};

    const T0: &str = "2025-06-01T10:00:00Z";
    const T1: &str = "2025-06-01T10:40:00Z";

    fn checked(mode: &str) -> Evidence {
        let mut ev = cf_zone(mode);
        origin_check(&mut ev, S::Http, ORIGIN);
        origin_check(&mut ev, S::Https, ORIGIN);
        ev
    }

    fn redirect(ev: &mut Evidence, status: u16, location: &str) {
        let h = ev.probes[0].http.as_mut().unwrap();
        h.status = status;
        h.headers.push(Header {
            name: "location".into(),
            value: location.into(),
        });
    }

    #[test]
    fn flexible_without_port_80_is_a_mismatch_that_owns_the_521_count() {
        let mut ev = checked("flexible");
        fail(
            &mut ev,
            0,
            Phase::Connect,
            K::Refused,
            "Connection refused (os error 111)",
        );
        describe_checks(&mut ev);
        analytics(
            &mut ev,
            &[(LogClass::EdgeError, 521, Some(ORIGIN), "FRA", 30, T0, T1)],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::CloudflareSslModeMismatch);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert_eq!(f[0].layer, Some(Layer::Cloudflare));
        assert!(f[0].title.contains("Flexible"), "{}", f[0].title);
        assert!(
            f[0].title.contains("visitors get 521 (30 request(s))"),
            "{}",
            f[0].title
        );
        for id in [
            "cloudflare.ssl",
            "upstream.0.error",
            "upstream.0.origin",
            "upstream.1.status",
            "cloudflare.analytics",
            "cloudflare.analytics.group.0",
        ] {
            assert!(
                f[0].evidence.contains(&id.to_owned()),
                "{id}: {:?}",
                f[0].evidence
            );
        }
        assert_cited_exist(&ev, &f);
        // Aligning the mode is a medium-risk configuration change (KB 3.4 #10).
        let align = f[0]
            .remediation
            .iter()
            .find(|r| r.step.contains("align the mode"))
            .unwrap();
        assert_eq!(align.risk, Risk::Medium);
        assert!(
            align
                .command
                .as_deref()
                .unwrap()
                .contains("\"value\":\"strict\"")
        );
        assert_eq!(
            f[0].next_command.as_deref(),
            Some(
                "cloud502 probe http://www.example.com/ --resolve www.example.com:80:203.0.113.10"
            )
        );
    }

    #[test]
    fn flexible_with_port_80_silent_is_a_522_mismatch_with_medium_confidence() {
        let mut ev = checked("flexible");
        fail(&mut ev, 0, Phase::Connect, K::Timeout, "connect timed out");
        describe_checks(&mut ev);
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("visitors get 522"), "{}", f[0].title);
        assert!(!f[0].title.contains("request(s)"));
        assert_eq!(f[0].confidence, Confidence::Medium);
    }

    #[test]
    fn flexible_with_an_https_redirect_is_a_redirect_loop() {
        for status in [301, 302, 307, 308] {
            let mut ev = checked("flexible");
            redirect(&mut ev, status, "https://www.example.com/");
            describe_checks(&mut ev);
            let f = run_rule(super::check, &ev);
            assert_eq!(f.len(), 1, "{status}");
            assert!(f[0].title.contains("redirect loop"), "{}", f[0].title);
            assert!(f[0].title.contains("ERR_TOO_MANY_REDIRECTS"));
            assert!(f[0].explanation.contains(&format!(
                "http answers {status} to https://www.example.com/"
            )));
            assert!(f[0].evidence.contains(&"upstream.0.status".to_owned()));
            assert_cited_exist(&ev, &f);
        }
        // A redirect to another host, or under Full, is not this loop.
        let mut ev = checked("flexible");
        redirect(&mut ev, 301, "https://shop.example.org/");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
        let mut ev = checked("full");
        redirect(&mut ev, 301, "https://www.example.com/");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn full_or_strict_without_https_is_a_mismatch() {
        for (mode, label, phase, kind, status) in [
            ("full", "SSL mode Full,", Phase::Connect, K::Refused, "521"),
            (
                "strict",
                "SSL mode Full (strict),",
                Phase::Tls,
                K::TlsHandshake,
                "525",
            ),
        ] {
            let mut ev = checked(mode);
            fail(&mut ev, 1, phase, kind, "boom");
            describe_checks(&mut ev);
            let f = run_rule(super::check, &ev);
            assert_eq!(f.len(), 1, "{mode}");
            assert!(f[0].title.starts_with(label), "{}", f[0].title);
            assert!(
                f[0].title.contains(&format!("visitors get {status}")),
                "{}",
                f[0].title
            );
            assert!(f[0].evidence.contains(&"upstream.1.error".to_owned()));
            assert!(f[0].evidence.contains(&"upstream.0.status".to_owned()));
            assert_cited_exist(&ev, &f);
            // Lowering the mode is the high-risk, temporary last resort (KB 3.4 #9).
            let last = f[0].remediation.last().unwrap();
            assert!(last.step.contains("temporary"));
            assert_eq!(last.risk, Risk::High);
        }
    }

    #[test]
    fn no_mismatch_when_both_ports_fail_or_the_mode_is_off() {
        let mut ev = checked("flexible");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "refused");
        fail(&mut ev, 1, Phase::Connect, K::Refused, "refused");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
        let mut ev = checked("off");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "refused");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
        let mut ev = checked("strict");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
    }
}
