//! Origin health as Cloudflare's own monitors see it: load-balancer pools (KB 3.4 #11) and
//! standalone Health Checks (KB 3.2).
//!
//! - `cloudflare-pool-unhealthy`: one finding per pool with unhealthy origins (targets
//!   `<pool>/<origin>` in group `<pool>`) or with pool health `healthy: false`. Critical when every
//!   pool of the load balancer (its default pools and fallback pool, else every pool read) is
//!   unhealthy: Cloudflare has no healthy pool left to steer to. Warning otherwise.
//! - `cloudflare-healthcheck-unhealthy`: one finding per Health Check (`healthcheck/<name>`) whose
//!   status is unhealthy.
//!
//! Each `failure_reason` (KB 3.2, [C19]) is matched loosely, case-insensitively, to a remediation
//! step; an unknown reason gets the generic "probe it the monitor's way" step.
//!
//! The check gathers facts (`PoolDown`, `HealthCheckDown`) and each words its own finding; the
//! reasons' fixes are a table (`REASON_FIXES`).

use crate::describe::target_id;
use crate::remediation::{adjust_timeouts, check_backend, restart, review_config, update_tls};
use crate::rules::Rule;
use crate::rules::cloudflare::shared::{self as cloudflare, existing};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, Remediation, Route, Severity,
    Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_pools",
    codes: &[
        FindingCode::CloudflarePoolUnhealthy,
        FindingCode::CloudflareHealthcheckUnhealthy,
    ],
    check,
};

/// Health Check targets have ids starting with this.
const HEALTHCHECK_PREFIX: &str = "healthcheck/";

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !cloudflare::is_cloudflare(ev) {
        return;
    }
    pools(ev, out);
    healthchecks(ev, out);
}

fn is_healthcheck(t: &Target) -> bool {
    t.id.starts_with(HEALTHCHECK_PREFIX) || t.group.as_deref() == Some("healthchecks")
}

/// The load-balancer routes (`lb: true`).
fn lb_routes(ev: &Evidence) -> Vec<&Route> {
    ev.config
        .routes
        .iter()
        .filter(|r| r.setting("lb").is_some_and(|s| s.value == "true"))
        .collect()
}

/// The pools the load balancers use: default pools, then the fallback pool; every pool read
/// (config or targets) when no load balancer names any.
fn lb_pools(ev: &Evidence) -> Vec<String> {
    let mut names = Vec::new();
    for r in lb_routes(ev) {
        if let Some(d) = r.setting("default_pools") {
            names.extend(d.value.split_whitespace().map(str::to_owned));
        }
        if let Some(p) = &r.pool {
            names.push(p.clone());
        }
        if let Some(f) = r.setting("fallback_pool").filter(|f| !f.value.is_empty()) {
            names.push(f.value.clone());
        }
    }
    if names.is_empty() {
        names.extend(ev.config.pools.iter().map(|p| p.name.clone()));
        names.extend(
            ev.targets
                .iter()
                .filter(|t| !is_healthcheck(t))
                .filter_map(|t| t.group.clone()),
        );
    }
    crate::rules::dedup(names)
}

/// The origins of a pool, with their item ids.
fn members<'a>(ev: &'a Evidence, pool: &str) -> Vec<(usize, &'a Target)> {
    ev.targets
        .iter()
        .enumerate()
        .filter(|(_, t)| !is_healthcheck(t) && t.group.as_deref() == Some(pool))
        .collect()
}

/// Whether the pool is unhealthy: pool health says so, or fewer origins are healthy than
/// `minimum_origins` (1 by default) while some origin's health is known.
fn pool_unhealthy(ev: &Evidence, pool: &str) -> bool {
    let setting = ev
        .config
        .pool(pool)
        .and_then(|p| p.setting("healthy"))
        .map(|s| s.value.as_str());
    match setting {
        Some("false") => true,
        Some("true") => false,
        _ => {
            let m = members(ev, pool);
            let minimum: usize = ev
                .config
                .pool(pool)
                .and_then(|p| p.setting("minimum_origins"))
                .and_then(|s| s.value.parse().ok())
                .unwrap_or(1);
            let healthy = m
                .iter()
                .filter(|(_, t)| t.health == HealthState::Healthy)
                .count();
            m.iter().any(|(_, t)| t.health == HealthState::Unhealthy) && healthy < minimum
        }
    }
}

/// A failure reason's fix, matched loosely on the lowercased reason: the first that matches wins.
struct ReasonFix {
    matches: fn(&str) -> bool,
    step: fn(&str, Option<&str>) -> Remediation,
    /// What the reason means and the fix, after `"REASON": `.
    fix: &'static str,
    command: Option<&'static str>,
}

fn has(reason: &str, any: &[&str]) -> bool {
    any.iter().any(|s| reason.contains(s))
}

/// What each failure reason means and how to fix it (KB 3.2, [C19]; the reasons of Cloudflare's
/// "Common error codes" page, `tests/fixtures/cloudflare/lb-failure-reasons.txt`).
const REASON_FIXES: &[ReasonFix] = &[
    ReasonFix {
        // Before "dns": the name resolves, to an address Cloudflare will not check.
        matches: |r| has(r, &["dns internal"]),
        step: review_config,
        fix: "the origin's host name resolves to an internal address or to a host Cloudflare \
              proxies, so no check runs; give the pool the origin's own public address or a \
              DNS-only name",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["monitor config"]),
        step: review_config,
        fix: "the monitor's configuration is invalid, so no check runs against the origins; fix \
              its type, path, port, expected codes and Host header",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["dns", "unknown host"]),
        step: review_config,
        fix: "the origin's host name does not resolve; fix its DNS record or use the address in \
              the pool",
        command: None,
    },
    ReasonFix {
        matches: |r| {
            has(r, &["tls", "ssl", "certificate"])
                && has(r, &["untrusted", "name mismatch", "certificate"])
        },
        step: update_tls,
        fix: "the origin's certificate is not trusted or does not cover the monitor's Host; \
              install a certificate valid for the host (a Cloudflare Origin CA certificate \
              works) or set the monitor's Host header",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["tls", "ssl", "certificate"]),
        step: update_tls,
        fix: "the TLS handshake failed; serve TLS 1.2+ with SNI and a certificate on the \
              monitored port",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["no route", "unreachable", "tcp timeout"]),
        step: review_config,
        fix: "packets to the origin are dropped or not routed; check the address, routes and \
              firewall, and allow Cloudflare's IP ranges",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["tcp connection failed", "reset", "refused"]),
        step: restart,
        fix: "nothing accepts connections on the monitored port, or a firewall rejects \
              Cloudflare; start the service and allow Cloudflare's IP ranges",
        command: Some("sudo systemctl restart <service>"),
    },
    ReasonFix {
        matches: |r| has(r, &["http timeout", "timeout"]),
        step: adjust_timeouts,
        fix: "the origin answered the monitor too slowly; fix the slow path or raise the \
              monitor's timeout",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["response code mismatch", "body mismatch", "mismatch"]),
        step: adjust_timeouts,
        fix: "the monitor's path answers another status or body than it expects; serve the path \
              with the expected code and body, or fix the monitor's path, Host header and \
              expected codes",
        command: None,
    },
    ReasonFix {
        matches: |r| has(r, &["invalid response"]),
        step: check_backend,
        fix: "the origin's answer is not valid HTTP; read the origin's error log for crashes",
        command: None,
    },
];

/// The step a failure reason calls for; an unknown reason gets "probe it the monitor's way".
fn reason_step(reason: &str) -> Remediation {
    let lower = reason.to_ascii_lowercase();
    match REASON_FIXES.iter().find(|f| (f.matches)(&lower)) {
        Some(f) => (f.step)(&format!("\"{reason}\": {}", f.fix), f.command),
        None => check_backend(
            &format!("\"{reason}\": probe the origin the way the monitor does"),
            None,
        ),
    }
}

/// `3 x TCP connection failed (a, b, c); 1 x HTTP timeout occurred (d)`.
fn by_reason(targets: &[(usize, &Target)]) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for (_, t) in targets {
        let r = t.reason.clone().unwrap_or_else(|| "no reason given".into());
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    }
    reasons
        .iter()
        .map(|r| {
            let of: Vec<String> = targets
                .iter()
                .filter(|(_, t)| t.reason.as_deref().unwrap_or("no reason given") == r)
                .map(|(_, t)| {
                    let name = t.id.rsplit('/').next().unwrap_or(&t.id);
                    match (&t.address, &t.detail) {
                        (Some(a), Some(d)) => format!("{name} {a}: {d}"),
                        (Some(a), None) => format!("{name} {a}"),
                        (None, Some(d)) => format!("{name}: {d}"),
                        (None, None) => name.to_owned(),
                    }
                })
                .collect();
            format!("{} x {r} ({})", of.len(), of.join("; "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn reason_steps(targets: &[(usize, &Target)]) -> Vec<Remediation> {
    let reasons: Vec<&str> = crate::rules::dedup(
        targets
            .iter()
            .filter_map(|(_, t)| t.reason.as_deref())
            .filter(|r| !r.is_empty())
            .collect(),
    );
    reasons.into_iter().map(reason_step).collect()
}

fn pools(ev: &Evidence, out: &mut Vec<Finding>) {
    let route_pools = lb_pools(ev);
    if route_pools.is_empty() {
        return;
    }
    let down = route_pools.iter().filter(|p| pool_unhealthy(ev, p)).count();
    // Pools whose health was not read (past the cap, a failed read, an empty pop_health): not
    // healthy, not unhealthy; never counted as healthy.
    let unknown = route_pools
        .iter()
        .filter(|p| !pool_unhealthy(ev, p))
        .filter(|p| {
            let m = members(ev, p);
            ev.config
                .pool(p)
                .and_then(|c| c.setting("healthy"))
                .is_none()
                && m.iter().all(|(_, t)| t.health == HealthState::Unknown)
        })
        .count();
    let lbs = lb_routes(ev);
    let lb = lbs.first().map(|r| r.target.as_str());
    let lb_items: Vec<String> = ev
        .ids_with_prefix("cloudflare.lb.")
        .into_iter()
        .filter(|id| {
            lbs.is_empty()
                || lbs
                    .iter()
                    .any(|r| ev.item(id).is_some_and(|i| i.fact.contains(&r.target)))
        })
        .collect();
    let lb_items = if lb_items.is_empty() {
        ev.ids_with_prefix("cloudflare.lb.")
    } else {
        lb_items
    };
    for pool in &route_pools {
        let members = members(ev, pool);
        let bad: Vec<(usize, &Target)> = members
            .iter()
            .filter(|(_, t)| t.health == HealthState::Unhealthy)
            .copied()
            .collect();
        let unhealthy = pool_unhealthy(ev, pool);
        if bad.is_empty() && !unhealthy {
            continue;
        }
        let mut evidence = existing(
            ev,
            [
                format!("cloudflare.pool.{pool}"),
                format!("config.pool.{pool}"),
            ],
        );
        evidence.extend(existing(ev, bad.iter().map(|(i, _)| target_id(*i))));
        evidence.extend(lb_items.iter().cloned());
        let setting = |name| {
            ev.config
                .pool(pool)
                .and_then(|p| p.setting(name))
                .map(|s| s.value.as_str())
        };
        out.push(Finding::from(PoolDown {
            pool,
            healthy: members
                .iter()
                .filter(|(_, t)| t.health == HealthState::Healthy)
                .count(),
            members: members.len(),
            bad,
            unhealthy,
            lb,
            pools: &route_pools,
            down,
            unknown,
            pool_id: setting("id"),
            monitor: setting("monitor"),
            zone: cloudflare::zone(ev),
            host: cloudflare::host(ev),
            evidence: crate::rules::dedup(evidence),
        }));
    }
}

fn healthchecks(ev: &Evidence, out: &mut Vec<Finding>) {
    for (i, t) in ev.targets.iter().enumerate() {
        if !is_healthcheck(t) || t.health != HealthState::Unhealthy {
            continue;
        }
        let name = t.id.strip_prefix(HEALTHCHECK_PREFIX).unwrap_or(&t.id);
        let mut evidence = existing(ev, [format!("cloudflare.healthcheck.{name}"), target_id(i)]);
        if evidence.is_empty() {
            evidence = ev.ids_with_prefix("cloudflare.healthcheck.");
        }
        out.push(Finding::from(HealthCheckDown {
            name,
            target: t,
            host: cloudflare::host(ev),
            evidence: crate::rules::dedup(evidence),
        }));
    }
}

// ---- facts ----

/// A pool with unhealthy origins, or that pool health calls unhealthy.
struct PoolDown<'a> {
    pool: &'a str,
    /// Origins in the pool, and how many of them are healthy.
    members: usize,
    healthy: usize,
    /// The unhealthy origins, with their target index.
    bad: Vec<(usize, &'a Target)>,
    /// Whether the pool as a whole is unhealthy (else it is degraded).
    unhealthy: bool,
    /// The first load balancer's name, when one was read.
    lb: Option<&'a str>,
    /// The pools the load balancers use, and how many of them are unhealthy.
    pools: &'a [String],
    down: usize,
    /// Pools whose health is unknown (not read, or nothing reported).
    unknown: usize,
    pool_id: Option<&'a str>,
    monitor: Option<&'a str>,
    zone: String,
    host: String,
    evidence: Vec<String>,
}

/// A standalone Health Check that reports its origin unhealthy.
struct HealthCheckDown<'a> {
    name: &'a str,
    target: &'a Target,
    host: String,
    evidence: Vec<String>,
}

// ---- text ----

impl PoolDown<'_> {
    /// Every pool of the load balancer is down: Cloudflare has nowhere healthy to steer to.
    fn all_down(&self) -> bool {
        self.down == self.pools.len()
    }

    /// `: REASON` of the first unhealthy origin that gives one, or empty.
    fn first_reason(&self) -> String {
        self.bad
            .iter()
            .find_map(|(_, t)| t.reason.as_deref())
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    }

    fn title(&self) -> String {
        let (pool, bad, of, first) = (self.pool, self.bad.len(), self.members, self.first_reason());
        if self.all_down() {
            let scope = self.lb.map_or_else(
                || "every pool read".to_owned(),
                |lb| format!("every pool of load balancer {lb}"),
            );
            format!("{scope} is unhealthy; pool {pool}: {bad} of {of} origin(s) down{first}")
        } else {
            format!("pool {pool}: {bad} of {of} origin(s) unhealthy{first}")
        }
    }

    /// What the pool's state does to traffic.
    fn impact(&self) -> String {
        if self.all_down() {
            format!(
                "No pool of the load balancer ({}) is healthy, so Cloudflare has no healthy \
                 origin to steer to: it sends traffic to the fallback pool anyway, and visitors \
                 get 52x errors or the origins' own failures.",
                self.pools.join(", ")
            )
        } else if self.unknown > 0 {
            format!(
                "{} of the load balancer's {} pools are unhealthy; the health of {} is unknown \
                 (not read, or nothing reported) and not counted as healthy, so whether \
                 Cloudflare has a healthy pool to steer to is not known from here.",
                self.down,
                self.pools.len(),
                self.unknown
            )
        } else {
            format!(
                "Other pools of the load balancer are healthy ({} of {} pools unhealthy), so \
                 Cloudflare steers around {}; capacity is reduced.",
                self.down,
                self.pools.len(),
                if self.unhealthy {
                    format!("pool {}", self.pool)
                } else {
                    "the unhealthy origins".to_owned()
                }
            )
        }
    }

    fn explanation(&self) -> String {
        let reasons = if self.bad.is_empty() {
            "pool health says unhealthy, with no origin detail".to_owned()
        } else {
            by_reason(&self.bad)
        };
        // The monitor as read (`ID: HTTPS GET /health on port 8443 with Host ..., expects 200`):
        // a response-code or body mismatch is about what it expects.
        let monitor = self
            .monitor
            .and_then(|m| m.split_once(": "))
            .map(|(id, check)| format!(" The monitor ({id}) sends {check}."))
            .unwrap_or_default();
        format!(
            "Cloudflare's monitor finds pool {} {}: {} healthy origin(s), {} unhealthy. \
             {reasons}.{monitor} {} The failure reason names the fix.",
            self.pool,
            if self.unhealthy {
                "unhealthy"
            } else {
                "degraded"
            },
            self.healthy,
            self.bad.len(),
            self.impact()
        )
    }

    fn remediation(&self) -> Vec<Remediation> {
        let mut steps = vec![check_backend(
            "Read the pool's health: each origin's healthy flag and failure_reason, per region",
            Some(&format!(
                "curl -s https://api.cloudflare.com/client/v4/accounts/<account-id>/load_balancers/pools/{}/health -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\"",
                self.pool_id.unwrap_or("<pool-id>")
            )),
        )];
        steps.extend(reason_steps(&self.bad));
        steps.push(review_config(
            &format!(
                "Check the pool's monitor ({}): path, port, expected codes, Host header and \
                 timeout must match what the origins serve",
                self.monitor.unwrap_or("none set")
            ),
            None,
        ));
        steps
    }
}

impl From<PoolDown<'_>> for Finding {
    fn from(f: PoolDown<'_>) -> Finding {
        Finding {
            code: FindingCode::CloudflarePoolUnhealthy,
            severity: if f.all_down() {
                Severity::Critical
            } else {
                Severity::Warning
            },
            confidence: Confidence::High,
            layer: Some(Layer::Application),
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: "Pool health read again shows the origins healthy (the monitor \
                           recovered), or the monitor checks a path, port or Host header that \
                           real traffic does not use."
                .to_owned(),
            remediation: f.remediation(),
            next_command: Some(format!(
                "cloud502 cloudflare --zone {} --host {}",
                f.zone, f.host
            )),
            evidence: f.evidence,
        }
    }
}

impl HealthCheckDown<'_> {
    fn reason(&self) -> &str {
        self.target
            .reason
            .as_deref()
            .unwrap_or("no failure reason given")
    }

    fn remediation(&self) -> Vec<Remediation> {
        let t = self.target;
        let mut steps = vec![check_backend(
            "Probe the origin the way the Health Check does",
            Some(&cloudflare::origin_probe_command(
                &self.host,
                if t.port == Some(80) {
                    cloud502_model::ProbeScheme::Http
                } else {
                    cloud502_model::ProbeScheme::Https
                },
                t.address.as_deref().unwrap_or("<origin-ip>"),
                t.port,
            )),
        )];
        if let Some(r) = t.reason.as_deref().filter(|r| !r.is_empty()) {
            steps.push(reason_step(r));
        }
        steps.push(review_config(
            "If the origin is fine, correct the Health Check's path, port, expected codes or \
             Host header",
            None,
        ));
        steps
    }
}

impl From<HealthCheckDown<'_>> for Finding {
    fn from(f: HealthCheckDown<'_>) -> Finding {
        let (name, reason) = (f.name, f.reason());
        Finding {
            code: FindingCode::CloudflareHealthcheckUnhealthy,
            severity: Severity::Warning,
            confidence: Confidence::High,
            layer: Some(Layer::Application),
            title: format!(
                "Cloudflare Health Check {name} reports {} unhealthy: {reason}",
                f.target.endpoint()
            ),
            explanation: format!(
                "The standalone Health Check {name} ({}) fails from Cloudflare's network: \
                 {reason}. A Health Check does not steer traffic, but it tells why the origin \
                 fails for Cloudflare.",
                f.target.detail.as_deref().unwrap_or("no detail")
            ),
            locations: Vec::new(),
            disproved_by: "The Health Check reads healthy again, or it checks an address, port \
                           or path that real traffic does not use."
                .to_owned(),
            remediation: f.remediation(),
            next_command: None,
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_documented_failure_reason_has_its_own_fix() {
        // Cloudflare's own reason strings (provenance in the file).
        let reasons = include_str!("../../../tests/fixtures/cloudflare/lb-failure-reasons.txt");
        for reason in reasons
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('!') && !l.trim().is_empty())
            .filter(|l| *l != "Other Failure")
        {
            let step = super::reason_step(reason).step;
            assert!(
                !step.contains("probe the origin the way the monitor does"),
                "{reason}: {step}"
            );
        }
        assert!(
            super::reason_step("DNS Internal")
                .step
                .contains("internal address")
        );
        assert!(
            super::reason_step("Response code mismatch error")
                .step
                .contains("expected codes")
        );
    }

    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::{Pool, PoolMember, Risk};

    fn origin(
        pool: &str,
        name: &str,
        addr: &str,
        health: HealthState,
        reason: Option<&str>,
    ) -> Target {
        Target {
            id: format!("{pool}/{name}"),
            address: Some(addr.into()),
            port: None,
            group: Some(pool.into()),
            health,
            reason: reason.map(str::to_owned),
            detail: Some("response_code 0, rtt 0ms, from WNAM".into()),
        }
    }

    /// A load balancer `www.example.com` over pools `eu` (default) and `us` (fallback).
    fn lb(targets: Vec<Target>, healthy: &[(&str, Option<&str>)]) -> Evidence {
        let mut ev = cf_zone("full");
        let mut route = dns_route(1, "www.example.com", true);
        route.pool = Some("eu".into());
        route.settings = vec![
            s("proxied", "true"),
            s("default_pools", "eu"),
            s("fallback_pool", "us"),
            s("lb", "true"),
        ];
        ev.config.routes.push(route);
        for (name, h) in healthy {
            let mut settings = vec![
                s("id", &format!("{name}-id")),
                s("enabled", "true"),
                s("monitor", "mon-1"),
            ];
            if let Some(h) = h {
                settings.push(s("healthy", h));
            }
            ev.config.pools.push(Pool {
                name: (*name).into(),
                location: None,
                members: vec![PoolMember {
                    address: "198.51.100.1".into(),
                    location: None,
                    settings: vec![],
                }],
                settings,
            });
            ev.add_item(
                format!("cloudflare.pool.{name}"),
                "cloudflare:pools",
                format!("pool {name}"),
            );
        }
        ev.add_item(
            "cloudflare.lb.0",
            "cloudflare:load_balancers",
            "load balancer www.example.com proxied",
        );
        ev.targets = targets;
        ev
    }

    #[test]
    fn every_pool_unhealthy_is_critical_with_a_step_per_reason() {
        let ev = lb(
            vec![
                origin(
                    "eu",
                    "eu-1",
                    "198.51.100.1",
                    HealthState::Unhealthy,
                    Some("TCP connection failed"),
                ),
                origin(
                    "eu",
                    "eu-2",
                    "198.51.100.2",
                    HealthState::Unhealthy,
                    Some("TLS untrusted certificate error"),
                ),
                origin(
                    "us",
                    "us-1",
                    "198.51.100.3",
                    HealthState::Unhealthy,
                    Some("HTTP timeout occurred"),
                ),
            ],
            &[("eu", Some("false")), ("us", Some("false"))],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 2, "{f:#?}");
        for x in &f {
            assert_eq!(x.code, FindingCode::CloudflarePoolUnhealthy);
            assert_eq!(x.severity, Severity::Critical);
            assert!(
                x.title
                    .starts_with("every pool of load balancer www.example.com"),
                "{}",
                x.title
            );
            assert!(x.evidence.contains(&"cloudflare.lb.0".to_owned()));
        }
        assert!(
            f[0].title
                .contains("pool eu: 2 of 2 origin(s) down: TCP connection failed"),
            "{}",
            f[0].title
        );
        assert!(f[0].evidence.contains(&"cloudflare.pool.eu".to_owned()));
        assert!(
            f[0].explanation
                .contains("1 x TLS untrusted certificate error")
        );
        let steps: Vec<&str> = f[0].remediation.iter().map(|r| r.step.as_str()).collect();
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("\"TCP connection failed\": nothing accepts")),
            "{steps:?}"
        );
        let tls = f[0]
            .remediation
            .iter()
            .find(|r| r.step.starts_with("\"TLS untrusted"))
            .unwrap();
        assert_eq!(tls.risk, Risk::High);
        assert!(f[1].remediation.iter().any(|r| {
            r.step.starts_with(
                "\"HTTP timeout occurred\": the origin answered the monitor too slowly",
            )
        }));
        assert!(
            f[0].remediation[0]
                .command
                .as_deref()
                .unwrap()
                .contains("pools/eu-id/health")
        );
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn a_healthy_fallback_pool_makes_it_a_warning() {
        let ev = lb(
            vec![
                origin(
                    "eu",
                    "eu-1",
                    "198.51.100.1",
                    HealthState::Unhealthy,
                    Some("Response code mismatch error"),
                ),
                origin("us", "us-1", "198.51.100.3", HealthState::Healthy, None),
            ],
            &[("eu", None), ("us", None)],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].title
                .starts_with("pool eu: 1 of 1 origin(s) unhealthy: Response code mismatch error"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("1 of 2 pools unhealthy"));
        // some origins of a pool down, the pool still up: a warning as well
        let ev = lb(
            vec![
                origin(
                    "eu",
                    "eu-1",
                    "198.51.100.1",
                    HealthState::Unhealthy,
                    Some("TCP Timeout"),
                ),
                origin("eu", "eu-2", "198.51.100.2", HealthState::Healthy, None),
                origin(
                    "us",
                    "us-1",
                    "198.51.100.3",
                    HealthState::Unhealthy,
                    Some("DNS Unknown Host"),
                ),
            ],
            &[("eu", Some("true")), ("us", Some("false"))],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.severity == Severity::Warning));
    }

    #[test]
    fn pool_health_false_without_origin_detail_counts() {
        let ev = lb(vec![], &[("eu", Some("false")), ("us", Some("false"))]);
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].explanation.contains("no origin detail"));
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn healthy_pools_are_no_finding() {
        let ev = lb(
            vec![
                origin("eu", "eu-1", "198.51.100.1", HealthState::Healthy, None),
                origin("us", "us-1", "198.51.100.3", HealthState::Healthy, None),
            ],
            &[("eu", Some("true")), ("us", Some("true"))],
        );
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn failure_reasons_match_loosely() {
        for (reason, starts, risk) in [
            ("tcp CONNECTION failed", "nothing accepts", Risk::Medium),
            ("Connection Reset by Peer", "nothing accepts", Risk::Medium),
            (
                "HTTP timeout occurred",
                "the origin answered the monitor too slowly",
                Risk::Low,
            ),
            (
                "Response code mismatch error",
                "the monitor's path",
                Risk::Low,
            ),
            (
                "Response body mismatch error",
                "the monitor's path",
                Risk::Low,
            ),
            (
                "TLS untrusted certificate error",
                "the origin's certificate",
                Risk::High,
            ),
            (
                "TLS name mismatch error",
                "the origin's certificate",
                Risk::High,
            ),
            ("TLS protocol error", "the TLS handshake failed", Risk::High),
            (
                "TLS Handshake Failure",
                "the TLS handshake failed",
                Risk::High,
            ),
            (
                "No route to host error",
                "packets to the origin",
                Risk::Medium,
            ),
            ("Network Unreachable", "packets to the origin", Risk::Medium),
            ("TCP Timeout", "packets to the origin", Risk::Medium),
            ("DNS Unknown Host", "the origin's host name", Risk::Medium),
            (
                "HTTP Invalid Response",
                "the origin's answer is not valid HTTP",
                Risk::Low,
            ),
            ("something new", "probe the origin", Risk::Low),
        ] {
            let step = reason_step(reason);
            assert!(
                step.step.starts_with(&format!("\"{reason}\": {starts}")),
                "{reason}: {}",
                step.step
            );
            assert_eq!(step.risk, risk, "{reason}");
        }
    }

    #[test]
    fn an_unhealthy_health_check_is_a_warning_with_its_reason() {
        let mut ev = cf_zone("full");
        ev.targets = vec![
            Target {
                id: "healthcheck/origin-443".into(),
                address: Some(ORIGIN.into()),
                port: Some(443),
                group: Some("healthchecks".into()),
                health: HealthState::Unhealthy,
                reason: Some("TLS name mismatch error".into()),
                detail: Some("HTTPS GET / on port 443".into()),
            },
            Target {
                id: "healthcheck/paused".into(),
                address: Some(ORIGIN.into()),
                port: Some(80),
                group: Some("healthchecks".into()),
                health: HealthState::Unavailable,
                reason: None,
                detail: Some("HTTP GET / on port 80".into()),
            },
        ];
        ev.add_item(
            "cloudflare.healthcheck.origin-443",
            "cloudflare:healthchecks",
            "origin-443 unhealthy",
        );
        ev.add_item(
            "cloudflare.healthcheck.paused",
            "cloudflare:healthchecks",
            "paused suspended",
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::CloudflareHealthcheckUnhealthy);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Warning, Confidence::High)
        );
        assert_eq!(
            f[0].title,
            "Cloudflare Health Check origin-443 reports 203.0.113.10:443 unhealthy: TLS name mismatch error"
        );
        assert_eq!(f[0].evidence, vec!["cloudflare.healthcheck.origin-443"]);
        assert!(
            f[0].remediation
                .iter()
                .any(|r| r.step.starts_with("\"TLS name mismatch error\""))
        );
        // Health checks are not pools.
        assert!(
            f.iter()
                .all(|f| f.code != FindingCode::CloudflarePoolUnhealthy)
        );
    }
}
