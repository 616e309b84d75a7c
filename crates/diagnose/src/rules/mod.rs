//! The rule registry: one rule per file, run in this order by [`diagnose`].
//!
//! Rules read only the model and do no I/O. Registry order breaks ties in ranking, so rules that
//! answer "who made the 502" come before rules about the connection and the certificate.

use cloud502_model::{Evidence, Finding, FindingCode, Probe};

pub(crate) mod alb;
pub(crate) mod appgw;
pub(crate) mod cloudflare;
pub(crate) mod generic;
pub(crate) mod nginx;

/// One rule: a pure function from evidence to findings.
#[derive(Debug)]
pub struct Rule {
    /// The rule's name (its file name before rules were grouped by family; stable, used only in
    /// debug messages).
    pub name: &'static str,
    /// Every code the rule can emit.
    pub codes: &'static [FindingCode],
    /// The check itself.
    pub check: fn(&Evidence, &mut Vec<Finding>),
}

/// Every family's rules, in ranking-tie order: who made the 502 first, then Cloudflare (the
/// outermost layer), the other probed statuses, each provider's family, and the connection and
/// TLS failures last. A new provider's family is its `mod` line above and one line here.
pub static FAMILIES: &[&[Rule]] = &[
    generic::WHO_MADE_IT,
    cloudflare::RULES,
    generic::STATUS,
    nginx::RULES,
    alb::RULES,
    appgw::RULES,
    generic::LAST,
];

/// Every rule, in ranking-tie order.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// A rule of your own, added at run time through [`crate::RunOptions::rules`] (or
/// [`diagnose_with`]): the seam for an internal platform's provider and its codes (see
/// docs/extending.md). Like the built-in rules it reads only the evidence and does no I/O.
pub trait CustomRule: Send + Sync + std::fmt::Debug {
    /// A short stable name, used only in debug messages.
    fn name(&self) -> &str;
    /// Every code the rule can emit (built-in ones, or ones made with
    /// [`FindingCode::register`]).
    fn codes(&self) -> Vec<FindingCode>;
    /// The check itself: push a finding per cause seen in `evidence`.
    fn check(&self, evidence: &Evidence, out: &mut Vec<Finding>);
}

/// Run every rule and rank the findings: the first is the most likely answer to "why 502?".
pub fn diagnose(evidence: &Evidence) -> Vec<Finding> {
    diagnose_with(evidence, &[])
}

/// [`diagnose`] with rules of your own, run after the built-in ones and ranked with them. Their
/// findings cite evidence ids like any other; counted 5xx log lines they cite are not reported
/// again as unexplained (`logged-5xx`).
pub fn diagnose_with(
    evidence: &Evidence,
    custom: &[std::sync::Arc<dyn CustomRule>],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in custom {
        let start = findings.len();
        rule.check(evidence, &mut findings);
        let declared = rule.codes();
        debug_assert!(
            findings[start..].iter().all(|f| declared.contains(&f.code)),
            "custom rule {} emitted a code it does not declare",
            rule.name()
        );
    }
    // Built-in rules first in ranking ties: move the custom findings behind them below.
    let own = std::mem::take(&mut findings);
    for rule in rules() {
        let start = findings.len();
        (rule.check)(evidence, &mut findings);
        debug_assert!(
            findings[start..]
                .iter()
                .all(|f| rule.codes.contains(&f.code)),
            "rule {} emitted a code it does not declare",
            rule.name
        );
    }
    findings.extend(own);
    // Counted 5xx lines that no rule explained are findings too; this needs the others' output.
    let mut more = Vec::new();
    generic::logged_5xx::uncovered(evidence, &findings, &mut more);
    findings.extend(more);
    rank_by_requests(&mut findings, evidence);
    findings
}

/// Rank findings by severity, then confidence; the sort is stable, so the order before (requests
/// affected, then registry order) breaks ties.
pub(crate) fn rank(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.cmp(&a.confidence))
    });
}

/// [`rank`], with the cause affecting more requests first within the same severity and
/// confidence: one Lambda error line must not outrank many connect failures. Registry order
/// breaks the remaining ties.
pub(crate) fn rank_by_requests(findings: &mut [Finding], evidence: &Evidence) {
    findings.sort_by_cached_key(|f| std::cmp::Reverse(requests(f, evidence)));
    rank(findings);
}

/// Requests a finding's cited log groups stand for: error-log lines when it cites any (an access
/// log counts the same requests again), else access-log lines. 0 for findings on config or probes.
pub(crate) fn requests(finding: &Finding, evidence: &Evidence) -> u64 {
    let (mut errors, mut access) = (0u64, 0u64);
    for log in &evidence.logs {
        for (i, g) in log.groups.iter().enumerate() {
            let id = crate::describe::log_group_id(log, i);
            if finding.evidence.contains(&id) {
                if log.dialect == "nginx-error" {
                    errors += g.count;
                } else {
                    access += g.count;
                }
            }
        }
    }
    if errors > 0 { errors } else { access }
}

pub use crate::describe::BACKEND_PROBE_PREFIX;

/// Probes of the front door (the URL the user named), which the generic probe rules judge.
pub(crate) fn front_probes(evidence: &Evidence) -> impl Iterator<Item = &Probe> {
    evidence
        .probes
        .iter()
        .filter(|p| !p.id.starts_with(BACKEND_PROBE_PREFIX))
}

pub use alb::network::CHECK_SG_PREFIX;
pub use nginx::host::{CHECK_CONFIG_TEST, CHECK_NOFILE, CHECK_SYSTEMD};
pub use nginx::shared::{bytes as nginx_bytes, peer as nginx_peer, seconds as nginx_seconds};

/// The items in their first-seen order, without repeats.
pub(crate) fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The ids of a probe's evidence items of the given kinds (`status`, `header`, `body`, ...):
/// `{probe}.{kind}` itself and everything below it.
pub(crate) fn cite(evidence: &Evidence, probe: &Probe, kinds: &[&str]) -> Vec<String> {
    evidence
        .items
        .iter()
        .filter(|item| {
            item.id
                .strip_prefix(probe.id.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|rest| {
                    kinds.iter().any(|k| {
                        rest == *k || rest.strip_prefix(k).is_some_and(|r| r.starts_with('.'))
                    })
                })
        })
        .map(|item| item.id.clone())
        .collect()
}

/// `cloud502 cloudflare --zone Z --host H`: reads the zone's DNS records for the host's origins and
/// checks each directly, so it needs no origin address from the user.
pub(crate) fn cloudflare_command(host: &str) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        // no zone to guess from an address: its reverse name is the first clue
        return format!(
            "dig +short -x {bare}   # the host name, then cloud502 cloudflare --zone ZONE --host NAME"
        );
    }
    format!(
        "cloud502 cloudflare --zone {} --host {host}",
        zone_guess(host)
    )
}

/// A string field's value in the first JSON log sample that has it (`"key":"value"`): what a
/// saved log tells about its source (an AppGW `resourceId`, a Logpush `ClientRequestHost`).
pub(crate) fn sample_field(evidence: &Evidence, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":\"");
    evidence
        .logs
        .iter()
        .flat_map(|l| {
            l.groups
                .iter()
                .map(|g| g.sample.text.as_str())
                .chain(l.samples.iter().map(String::as_str))
        })
        .find_map(|text| {
            let rest = &text[text.find(&needle)? + needle.len()..];
            let value = &rest[..rest.find('"')?];
            (!value.is_empty()).then(|| value.to_owned())
        })
}

/// An ALB's name and region from its DNS name (`[internal-]NAME-ID.REGION.elb.amazonaws.com`).
pub(crate) fn alb_from_host(host: &str) -> Option<(String, String)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let rest = host.strip_suffix(".elb.amazonaws.com")?;
    let (first, region) = rest.split_once('.')?;
    let first = first.strip_prefix("internal-").unwrap_or(first);
    let (name, _id) = first.rsplit_once('-')?;
    (!name.is_empty() && !region.is_empty() && !region.contains('.'))
        .then(|| (name.to_owned(), region.to_owned()))
}

/// The Cloudflare zone a host most likely belongs to (its last two labels): a heuristic for the
/// next command, which the user can correct.
pub(crate) fn zone_guess(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return "<zone>".to_owned();
    }
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    if labels.len() <= 2 {
        host.to_owned()
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Build probe evidence for rule tests.
    use cloud502_model::*;

    pub fn subject(url: &str) -> Subject {
        Subject {
            kind: ProviderKind::Probe,
            id: url.to_owned(),
        }
    }

    pub fn probe(url: &str) -> Probe {
        let parsed_host = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        Probe {
            id: "probe.0".into(),
            url: url.into(),
            scheme: if url.starts_with("https") {
                ProbeScheme::Https
            } else {
                ProbeScheme::Http
            },
            host: parsed_host.into(),
            port: if url.starts_with("https") { 443 } else { 80 },
            resolved: vec!["192.0.2.10".into()],
            connected: Some("192.0.2.10:80".into()),
            resolve_override: false,
            timings: ProbeTimings {
                total_ms: 1.0,
                ..Default::default()
            },
            http: None,
            tls: None,
            fingerprint: None,
            error: None,
        }
    }

    pub fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            reason: None,
            version: "HTTP/1.1".into(),
            headers: vec![],
            body_excerpt: body.into(),
            body_bytes: body.len() as u64,
            body_complete: true,
        }
    }

    pub fn fingerprint(answered_by: Layer, error_page_by: Option<Layer>) -> Fingerprint {
        Fingerprint {
            answered_by,
            error_page_by,
            cloudflare_page: None,
            cf_error_type: None,
            signals: vec![],
        }
    }

    /// Run one rule's check on `ev`.
    pub fn run_rule(check: fn(&Evidence, &mut Vec<Finding>), ev: &Evidence) -> Vec<Finding> {
        let mut out = Vec::new();
        check(ev, &mut out);
        out
    }

    pub fn setting(name: &str, value: &str) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            location: Some(SourceLocation {
                file: "/etc/nginx/nginx.conf".into(),
                line: 10,
            }),
            default: false,
        }
    }

    /// nginx evidence with one upstream `app` of these members and pool settings, and one route
    /// `location /` to it with these settings; `describe` has run.
    pub fn nginx(members: &[&str], pool: Vec<Setting>, route: Vec<Setting>) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Nginx,
            id: "/etc/nginx/nginx.conf".into(),
        });
        ev.config.pools.push(Pool {
            name: "app".into(),
            location: Some(SourceLocation {
                file: "/etc/nginx/nginx.conf".into(),
                line: 3,
            }),
            members: members
                .iter()
                .map(|m| PoolMember {
                    address: (*m).into(),
                    location: None,
                    settings: vec![setting("max_fails", "1"), setting("fail_timeout", "10s")],
                })
                .collect(),
            settings: pool,
        });
        ev.config.routes.push(Route {
            id: "route.0".into(),
            server_names: vec!["example.com".into()],
            listen: vec!["80".into()],
            path: Some("/".into()),
            kind: ForwardKind::Proxy,
            target: "http://app".into(),
            scheme: Some("http".into()),
            pool: Some("app".into()),
            dynamic: false,
            location: Some(SourceLocation {
                file: "/etc/nginx/nginx.conf".into(),
                line: 20,
            }),
            settings: route,
        });
        crate::describe::describe(&mut ev);
        ev
    }

    /// An nginx-error log with these (class, upstream, count) groups.
    pub fn error_log(groups: &[(LogClass, &str, u64)]) -> LogSummary {
        LogSummary {
            id: "log.0".into(),
            source: "/var/log/nginx/error.log".into(),
            dialect: "nginx-error".into(),
            lines: 100,
            matched: groups.iter().map(|g| g.2).sum(),
            bytes: 0,
            skipped: LogSkips::default(),
            first_seen: None,
            last_seen: None,
            counts: Vec::new(),
            groups: groups
                .iter()
                .map(|(class, upstream, count)| LogGroup {
                    timeline: None,
                    class: *class,
                    upstream: Some((*upstream).into()),
                    status: class.client_status(),
                    level: Some("error".into()),
                    detail: None,
                    count: *count,
                    reused: None,
                    first_seen: None,
                    last_seen: None,
                    sample: LogSample {
                        line: 1,
                        text: format!("... {class} ..."),
                    },
                })
                .collect(),
            samples: Vec::new(),
        }
    }

    pub fn evidence(probe: Probe) -> Evidence {
        let mut ev = Evidence::new(subject(&probe.url));
        ev.add_item("probe.0.status", "probe", "HTTP status");
        ev.add_item("probe.0.header.server", "probe", "Server header");
        ev.add_item("probe.0.body", "probe", "body");
        ev.add_item("probe.0.error", "probe", "error");
        ev.add_item("probe.0.tls.cert", "probe", "cert");
        ev.probes.push(probe);
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn cite_matches_whole_segments() {
        let mut ev = evidence(probe("http://example.com/"));
        ev.add_item("probe.0.statusx", "probe", "not a status");
        ev.add_item("probe.1.status", "probe", "another probe");
        let ids = cite(&ev, &ev.probes[0], &["status", "header"]);
        assert_eq!(ids, vec!["probe.0.status", "probe.0.header.server"]);
    }

    #[test]
    fn the_families_keep_the_ranking_tie_order() {
        let names: Vec<&str> = rules().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "layer_502",
                "cloudflare_not_proxied",
                "cloudflare_ssl_mode",
                "cloudflare_52x",
                "cloudflare_pools",
                "cloudflare_tunnel",
                "cloudflare_worker",
                "gateway_timeout",
                "http_status",
                "nginx_upstream",
                "nginx_resolver",
                "nginx_host",
                "nginx_pool",
                "nginx_keepalive",
                "alb_502",
                "alb_keepalive",
                "alb_network",
                "alb_targets",
                "alb_health_check",
                "appgw_gateway",
                "appgw_pools",
                "appgw_logs",
                "appgw_network",
                "appgw_backends",
                "appgw_probe",
                "connection_failure",
                "tls_handshake",
                "tls_certificate",
                "logged_5xx",
            ]
        );
    }

    #[test]
    fn every_code_is_emitted_by_exactly_one_rule() {
        for code in FindingCode::ALL {
            let owners: Vec<_> = rules()
                .filter(|r| r.codes.contains(code))
                .map(|r| r.name)
                .collect();
            assert_eq!(owners.len(), 1, "{code} is declared by {owners:?}");
        }
    }

    #[test]
    fn within_a_tie_the_cause_behind_more_requests_ranks_first() {
        let mut ev = Evidence::new(subject("logs"));
        ev.logs.push(error_log(&[
            (cloud502_model::LogClass::UpstreamOther, "10.0.0.1:80", 1),
            (cloud502_model::LogClass::ConnectRefused, "10.0.0.2:80", 40),
        ]));
        crate::describe::describe(&mut ev);
        let finding = |code, group: &str, severity, confidence| Finding {
            code,
            severity,
            confidence,
            layer: None,
            title: String::new(),
            explanation: String::new(),
            evidence: vec![format!("log.0.group.{group}")],
            locations: Vec::new(),
            disproved_by: String::new(),
            remediation: Vec::new(),
            next_command: None,
        };
        use cloud502_model::{Confidence as C, Severity as S};
        let mut found = vec![
            finding(
                FindingCode::AlbLambdaInvalidResponse,
                "0",
                S::Critical,
                C::High,
            ),
            finding(FindingCode::NginxUpstreamRefused, "1", S::Critical, C::High),
            finding(FindingCode::NginxHeaderTooBig, "0", S::Critical, C::High),
            finding(FindingCode::NginxKeepaliveRace, "1", S::Warning, C::High),
        ];
        rank_by_requests(&mut found, &ev);
        let order: Vec<_> = found.iter().map(|f| f.code).collect();
        assert_eq!(
            order,
            [
                FindingCode::NginxUpstreamRefused,
                FindingCode::AlbLambdaInvalidResponse,
                FindingCode::NginxHeaderTooBig,
                FindingCode::NginxKeepaliveRace,
            ],
            "more requests first within a tie, registry order after; severity still first"
        );
        assert_eq!(requests(&found[0], &ev), 40);
    }

    #[test]
    fn next_command_values_come_from_what_was_read() {
        assert_eq!(
            alb_from_host("internal-shop-prod-1234567890.eu-west-1.elb.amazonaws.com"),
            Some(("shop-prod".to_owned(), "eu-west-1".to_owned()))
        );
        assert_eq!(
            alb_from_host("web-42.us-east-1.elb.amazonaws.com."),
            Some(("web".to_owned(), "us-east-1".to_owned()))
        );
        assert_eq!(alb_from_host("shop.example.com"), None);
        let mut ev = Evidence::new(subject("logs"));
        let mut log = error_log(&[(cloud502_model::LogClass::Status5xx, "x", 1)]);
        log.groups[0].sample.text =
            r#"{"ClientRequestHost":"shop.example.com","EdgeResponseStatus":502}"#.into();
        ev.logs.push(log);
        assert_eq!(
            sample_field(&ev, "ClientRequestHost").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(sample_field(&ev, "resourceId"), None);
        assert_eq!(
            cloudflare_command("www.shop.example.com"),
            "cloud502 cloudflare --zone example.com --host www.shop.example.com"
        );
    }

    /// Internal citations a user cannot look up, in one line of source: `KB 4.7`, a `(KB` that a
    /// string continues on the next line, `[N-src]`, `[A12]`.
    fn cites(line: &str) -> bool {
        let b = line.as_bytes();
        let kb = line.match_indices("KB").any(|(i, _)| {
            let rest = line[i + 2..].trim_start();
            (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                && (rest.starts_with(|c: char| c.is_ascii_digit())
                    || rest.starts_with("section")
                    || rest == "\\")
        });
        let bracket = line.match_indices('[').any(|(i, _)| {
            let inner = line[i + 1..].split(']').next().unwrap_or("");
            inner.len() >= 2
                && inner.len() <= 6
                && inner.starts_with(|c: char| c.is_ascii_uppercase())
                && (inner[1..].bytes().all(|c| c.is_ascii_digit())
                    || inner.ends_with("-src")
                    || inner.ends_with("-doc"))
        });
        kb || bracket
    }

    /// What a rule writes reaches users (titles, explanations, remediation, next commands):
    /// no line of a rule's code outside comments and tests may cite an internal section.
    #[test]
    fn rule_text_cites_no_internal_section() {
        assert!(cites("\"refused (KB 4.7 #1). {lines}\""));
        assert!(cites("    (KB \\"));
        assert!(cites("see [N-src] and [A12]"));
        assert!(!cites("\"4 KB buffer\" [x] [Ab] [ERROR]"));
        // Every rule file, in the family folders too.
        let mut files = Vec::new();
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
                let path = entry.map(|e| e.path()).unwrap_or_default();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 30, "only {} rule files found", files.len());
        let mut bad = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let t = line.trim_start();
                if !t.starts_with("//") && cites(line.split(" // ").next().unwrap_or(line)) {
                    bad.push(format!("{}:{}: {}", path.display(), n + 1, t));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "internal citations in user-facing text:\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn zone_guess_takes_the_last_two_labels() {
        assert_eq!(zone_guess("www.shop.example.com"), "example.com");
        assert_eq!(zone_guess("example.com"), "example.com");
        assert_eq!(zone_guess("127.0.0.1"), "<zone>");
    }
}
