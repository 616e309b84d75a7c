//! Backend pools and their health (KB 2.1, 2.2, 2.5 #1, #2): a pool with no member, every server
//! of a pool failing its probe (no live upstream: the gateway answers 502 with
//! `ERRORINFO_UPSTREAM_NO_LIVE`), and some servers failing. The per-reason causes are the other
//! AppGW rules' findings; this one says how much of the pool is down.
//!
//! The check gathers facts (`EmptyPool`, `UnitDown` read as `AllDown` or `SomeDown`, `NoLiveLogged`);
//! each words its own finding below them.

use crate::remediation::{check_backend, review_config, scale_backend};
use crate::rules::Rule;
use crate::rules::alb::shared::Lines;
use crate::rules::appgw::shared::{
    Unit, az_args, by_reason, finding, gateway, has_logs, health_command, health_read, is_appgw,
    pool_item, route_items, unit_items, unit_routes, units, value,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, LogClass, Route, Severity,
    Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_pools",
    codes: &[
        FindingCode::AppgwEmptyBackendPool,
        FindingCode::AppgwAllBackendsUnhealthy,
        FindingCode::AppgwBackendsUnhealthy,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let start = out.len();
    if is_appgw(ev) {
        out.extend(empty_pools(ev).into_iter().map(Finding::from));
        if health_read(ev) {
            unhealthy(ev, out);
        }
    }
    let no_live_explained = out[start..].iter().any(|f| {
        matches!(
            f.code,
            FindingCode::AppgwEmptyBackendPool | FindingCode::AppgwAllBackendsUnhealthy
        )
    });
    if has_logs(ev) && !no_live_explained {
        out.extend(no_live_from_logs(ev).map(Finding::from));
    }
}

/// Pools a route forwards to and that have no member (KB 2.5 #1). A pool nothing routes to is
/// left alone; when no route was read at all, an empty pool is still worth a warning.
fn empty_pools(ev: &Evidence) -> Vec<EmptyPool<'_>> {
    let no_live = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    let mut found = Vec::new();
    for pool in ev.config.pools.iter().filter(|p| p.members.is_empty()) {
        let routes: Vec<&Route> = ev
            .config
            .routes
            .iter()
            .filter(|r| r.pool.as_deref() == Some(pool.name.as_str()))
            .collect();
        if routes.is_empty() && !ev.config.routes.is_empty() {
            continue;
        }
        let mut evidence = pool_item(ev, &pool.name);
        evidence.extend(route_items(ev, &routes));
        evidence.extend(no_live.items.iter().cloned());
        found.push(EmptyPool {
            pool: &pool.name,
            servers: ev
                .targets
                .iter()
                .filter(|t| t.group.as_deref() == Some(pool.name.as_str()))
                .count(),
            routes,
            health_read: health_read(ev),
            no_live: no_live.count,
            gateway: gateway(ev),
            show_state: format!(
                "az network application-gateway show {} --query provisioningState",
                az_args(ev)
            ),
            evidence,
        });
    }
    found
}

/// Every server of a (pool, HTTP settings) failing (KB 2.5 #2), or some of them.
fn unhealthy(ev: &Evidence, out: &mut Vec<Finding>) {
    let no_live = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    let all_units = units(ev);
    let several = all_units.len() > 1;
    for unit in &all_units {
        let unhealthy = unit.count(HealthState::Unhealthy);
        let healthy = unit.count(HealthState::Healthy);
        let draining = unit.count(HealthState::Draining);
        // Every server draining (or failing) leaves no server for new requests either.
        if unhealthy == 0 && !(healthy == 0 && draining > 0) {
            continue;
        }
        let failing = unit.failing(|_| true);
        let failing_all: Vec<_> = unit
            .targets
            .iter()
            .filter(|(_, t)| {
                matches!(
                    t.health,
                    HealthState::Unhealthy | HealthState::Unknown | HealthState::Draining
                )
            })
            .map(|(id, t)| (id.clone(), *t))
            .collect();
        // Servers without a reason still count; `failing` is only for the per-reason text.
        let listed = if failing.len() == failing_all.len() {
            failing
        } else {
            failing_all
        };
        let mut down = UnitDown {
            evidence: unit_items(ev, unit, &listed),
            unit: unit.label(),
            route: unit_routes(ev, &unit.pool, &unit.settings).first().copied(),
            servers: unit.targets.len(),
            unhealthy,
            healthy,
            unknown: unit.count(HealthState::Unknown),
            draining,
            listed,
            no_live: no_live.count,
            several,
            has_logs: has_logs(ev),
            health_command: health_command(ev),
            distribution: distribution(ev, unit, &all_units),
        };
        if healthy == 0 {
            down.evidence.extend(no_live.items.iter().cloned());
            out.push(Finding::from(AllDown(down)));
        } else {
            out.push(Finding::from(SomeDown(down)));
        }
    }
}

/// `ERRORINFO_UPSTREAM_NO_LIVE` in the access logs with no health to say why: from
/// `cloud502 logs`, with health unreadable, or with health that has recovered since.
fn no_live_from_logs(ev: &Evidence) -> Option<NoLiveLogged> {
    let lines = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    (lines.count > 0).then(|| NoLiveLogged {
        lines,
        health_read: health_read(ev),
        without_healthy: if health_read(ev) {
            units(ev)
                .iter()
                .filter(|u| u.none_healthy())
                .map(|u| u.label())
                .collect()
        } else {
            Vec::new()
        },
        gateway: gateway(ev),
    })
}

// ---- facts ----

/// A pool with no member.
struct EmptyPool<'a> {
    pool: &'a str,
    /// The routes that forward to it (none read at all, when empty).
    routes: Vec<&'a Route>,
    /// Servers backend health still lists for it, and whether health was read.
    servers: usize,
    health_read: bool,
    /// Requests logged with ERRORINFO_UPSTREAM_NO_LIVE.
    no_live: u64,
    /// (resource group, gateway name).
    gateway: (String, String),
    /// The command that shows the gateway's provisioning state.
    show_state: String,
    evidence: Vec<String>,
}

/// A (pool, HTTP settings) with unhealthy servers.
struct UnitDown<'a> {
    /// `pool P (HTTP settings S)`.
    unit: String,
    /// The first route to the unit: its probe.
    route: Option<&'a Route>,
    servers: usize,
    unhealthy: usize,
    healthy: usize,
    unknown: usize,
    /// Servers being removed: they finish what they have and take nothing new.
    draining: usize,
    /// The failing servers, with their item ids.
    listed: Vec<(String, &'a Target)>,
    /// Requests logged with ERRORINFO_UPSTREAM_NO_LIVE, and whether the gateway has several units.
    no_live: u64,
    several: bool,
    has_logs: bool,
    health_command: String,
    /// What the routes' load distribution policies send this unit (empty without one).
    distribution: String,
    evidence: Vec<String>,
}

/// The load distribution policies that send traffic to this unit (KB 9.1 configuration items):
/// each route's `loadDistributionPolicy` setting (`ldp1: weight 40 of 100`), with the policy's
/// other pools that have a healthy server. `weightPerServer` is documented as 1-100, so a
/// weight of 0 (outside that range) is said as read, not as "no traffic".
fn distribution(ev: &Evidence, unit: &Unit<'_>, all: &[Unit<'_>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for route in unit_routes(ev, &unit.pool, &unit.settings) {
        let (Some(policy), Some(rule)) =
            (value(route, "loadDistributionPolicy"), value(route, "rule"))
        else {
            continue;
        };
        let name = policy.split(':').next().unwrap_or(policy).trim();
        // The policy's other pools on the same rule, and whether any of their servers is healthy.
        let others: Vec<String> = ev
            .config
            .routes
            .iter()
            .filter(|r| value(r, "rule") == Some(rule) && r.pool != route.pool)
            .filter(|r| {
                value(r, "loadDistributionPolicy")
                    .is_some_and(|p| p.split(':').next().unwrap_or(p).trim() == name)
            })
            .filter_map(|r| {
                let pool = r.pool.as_deref()?;
                let healthy = all
                    .iter()
                    .filter(|u| u.pool == pool)
                    .any(|u| u.count(HealthState::Healthy) > 0);
                Some(format!(
                    "{pool} ({})",
                    if healthy {
                        "has healthy servers"
                    } else {
                        "no healthy server"
                    }
                ))
            })
            .collect();
        let text = format!(
            "rule {rule} sends this pool its share by load distribution policy {policy}{}",
            if others.is_empty() {
                String::new()
            } else {
                format!("; the policy's other pool(s): {}", others.join(", "))
            }
        );
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(
        " Load distribution: {}. The policy keeps giving this pool its weighted share; Microsoft \
         does not document that the gateway moves the share of a pool with no healthy server to \
         the others, so expect about that share of the rule's requests to fail while the pool is \
         down, and change the weights (or fix the pool) to stop it.",
        parts.join("; ")
    )
}

/// No server of the unit is healthy: no live upstream.
struct AllDown<'a>(UnitDown<'a>);

/// Some servers of the unit are unhealthy, others carry the load.
struct SomeDown<'a>(UnitDown<'a>);

/// ERRORINFO_UPSTREAM_NO_LIVE in the access logs, with no unhealthy pool to explain it.
struct NoLiveLogged {
    lines: Lines,
    health_read: bool,
    /// Units backend health read with no healthy server (Unknown only: the Unhealthy ones
    /// have their own finding).
    without_healthy: Vec<String>,
    gateway: (String, String),
}

// ---- text ----

impl EmptyPool<'_> {
    /// ` (N request(s) logged ERRORINFO_UPSTREAM_NO_LIVE)`, or empty.
    fn logged(&self) -> String {
        if self.no_live > 0 {
            format!(
                " ({} request(s) logged ERRORINFO_UPSTREAM_NO_LIVE)",
                self.no_live
            )
        } else {
            String::new()
        }
    }

    /// `rule R (hosts /path)` for each route to the pool.
    fn routed(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|r| {
                let hosts = if r.server_names.is_empty() {
                    "any host".to_owned()
                } else {
                    r.server_names.join(", ")
                };
                format!(
                    "rule {} ({hosts}{})",
                    value(r, "rule").unwrap_or(&r.id),
                    r.path
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    fn health_note(&self) -> String {
        match (self.health_read, self.servers) {
            (true, 0) => " Backend health lists no server for it either.".to_owned(),
            (true, n) => format!(
                " Backend health still lists {n} server(s) for it: the configuration may have \
                 changed between the two reads."
            ),
            (false, _) => " Backend health could not be read to confirm it.".to_owned(),
        }
    }

    fn title(&self) -> String {
        format!(
            "backend pool {} has no member: {}{}",
            self.pool,
            if self.routes.is_empty() {
                "a route that uses it gets 502".to_owned()
            } else {
                format!("the {} route(s) to it get 502", self.routes.len())
            },
            self.logged()
        )
    }

    fn explanation(&self) -> String {
        let hosts = self.routed();
        format!(
            "Pool {} of {} has no backend address and no NIC IP configuration, so the gateway has \
             nothing to send its requests to and answers 502.{}{}{}",
            self.pool,
            self.gateway.1,
            if hosts.is_empty() {
                " No routing rule was read.".to_owned()
            } else {
                format!(" Routed to it: {}.", hosts.join("; "))
            },
            self.health_note(),
            if self.no_live > 0 {
                format!(
                    " The access log shows {} request(s) with ERRORINFO_UPSTREAM_NO_LIVE (no \
                     reachable backend).",
                    self.no_live
                )
            } else {
                String::new()
            }
        )
    }
}

impl From<EmptyPool<'_>> for Finding {
    fn from(f: EmptyPool<'_>) -> Finding {
        let (rg, gw) = &f.gateway;
        finding(
            FindingCode::AppgwEmptyBackendPool,
            if f.routes.is_empty() {
                Severity::Warning
            } else {
                Severity::Critical
            },
            if f.routes.is_empty() || (f.health_read && f.servers > 0) {
                Confidence::Medium
            } else {
                Confidence::High
            },
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The pool has backend addresses or NIC IP configurations now (it was filled after the \
             read, e.g. by AGIC or a scale set), or no routing rule sends traffic to it.",
            vec![
                scale_backend(
                    "Add the backends (IP addresses, FQDNs, or the VMs' / scale set's NICs) to the pool; if a controller fills it (AGIC, a scale set, a pipeline), find why it left the pool empty",
                    Some(&format!(
                        "az network application-gateway address-pool update -g {rg} --gateway-name {gw} -n {} --servers <ip-or-fqdn> [<ip-or-fqdn> ...]",
                        f.pool
                    )),
                ),
                check_backend(
                    "Check that the update finished (provisioningState Succeeded) and the new servers are healthy",
                    Some(&f.show_state),
                ),
            ],
        )
    }
}

impl UnitDown<'_> {
    /// ` Probe: ...`, or empty when no route was read; with what the probe's `minServers` and
    /// the settings' connection draining change in how health reads.
    fn probe(&self) -> String {
        let Some(r) = self.route else {
            return String::new();
        };
        let mut text = format!(" Probe: {}.", crate::rules::appgw::shared::probe_text(r));
        if let Some(n) = value(r, "probe.minServers") {
            text.push_str(&format!(
                " Its minServers {n} keeps that many servers marked healthy whatever the probe \
                 says, so health can read better than the backends are."
            ));
        }
        if self.draining > 0
            && let Some(d) = value(r, "connectionDraining")
        {
            text.push_str(&format!(" Connection draining of the HTTP settings: {d}."));
        }
        text.push_str(&self.distribution);
        text
    }
}

impl From<AllDown<'_>> for Finding {
    fn from(AllDown(f): AllDown<'_>) -> Finding {
        let unknown_note = if f.unknown > 0 {
            format!(
                " {} server(s) are Unknown: the gateway could not probe them (see \
                 appgw-gateway-manager-blocked).",
                f.unknown
            )
        } else {
            String::new()
        };
        let draining_note = if f.draining > 0 {
            format!(
                " {} server(s) are Draining: being removed from the pool (connection draining), \
                 they finish the requests they have and take no new one.",
                f.draining
            )
        } else {
            String::new()
        };
        let logs_note = if f.no_live > 0 {
            format!(
                " The access log shows {} request(s) with ERRORINFO_UPSTREAM_NO_LIVE{}.",
                f.no_live,
                if f.several { " across the gateway" } else { "" }
            )
        } else if f.has_logs {
            " The access logs read show no ERRORINFO_UPSTREAM_NO_LIVE request: the pool may get \
             no traffic, or the logs cover another window."
                .to_owned()
        } else {
            String::new()
        };
        finding(
            FindingCode::AppgwAllBackendsUnhealthy,
            Severity::Critical,
            Confidence::High,
            Layer::AzureAppgw,
            format!(
                "{} backend of {} {}: no live upstream, so its requests get 502{}",
                if f.unhealthy == 0 { "no" } else { "every" },
                f.unit,
                if f.unhealthy == 0 {
                    "takes new requests (every one is draining or failing)"
                } else {
                    "fails its health probe"
                },
                if f.no_live > 0 {
                    format!(
                        " ({} request(s) logged ERRORINFO_UPSTREAM_NO_LIVE)",
                        f.no_live
                    )
                } else {
                    String::new()
                }
            ),
            format!(
                "No server of {} is healthy: {}. Unlike an ALB, Application Gateway does not fail \
                 open: with no healthy member it has no live upstream and answers 502 itself \
                 (ERRORINFO_UPSTREAM_NO_LIVE).{unknown_note}{draining_note}{logs_note}{} The \
                 healthProbeLog of each server names the fix.",
                f.unit,
                by_reason(&f.listed),
                f.probe()
            ),
            f.evidence.clone(),
            "Backend health shows a server of the pool Up (Healthy) for this HTTP settings, or \
             the probe succeeds against the servers when run by hand.",
            vec![
                check_backend(
                    "Read each server's healthProbeLog: it names the cause (connect, DNS, status or body mismatch, timeout, certificate)",
                    Some(&f.health_command),
                ),
                review_config(
                    "Fix what it names (see the cause findings): start the service or open its port, fix DNS, serve the probe path with 200-399, fix the certificate or the host name",
                    None,
                ),
            ],
        )
    }
}

impl From<SomeDown<'_>> for Finding {
    fn from(SomeDown(f): SomeDown<'_>) -> Finding {
        finding(
            FindingCode::AppgwBackendsUnhealthy,
            Severity::Warning,
            Confidence::High,
            Layer::AzureAppgw,
            format!(
                "{} of {} backend(s) of {} fail their health probe",
                f.unhealthy, f.servers, f.unit
            ),
            format!(
                "{}. The gateway stops sending to them and {} healthy server(s) carry the load; \
                 requests already on a server when it turned unhealthy can fail, and the rest \
                 have less headroom.{}",
                by_reason(&f.listed),
                f.healthy,
                f.probe()
            ),
            f.evidence.clone(),
            "Backend health shows these servers Up again.",
            vec![
                check_backend(
                    "Read the failing servers' healthProbeLog and their own logs",
                    Some(&f.health_command),
                ),
                scale_backend("If they fail under load, add capacity to the pool", None),
            ],
        )
    }
}

impl From<NoLiveLogged> for Finding {
    fn from(f: NoLiveLogged) -> Finding {
        let (rg, gw) = &f.gateway;
        let servers = if f.lines.targets.is_empty() {
            String::new()
        } else {
            format!(" (ServerRouted: {})", f.lines.target_list())
        };
        let mut finding = finding(
            FindingCode::AppgwAllBackendsUnhealthy,
            Severity::Critical,
            if f.health_read {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            Layer::AzureAppgw,
            format!(
                "{} request(s) got 502 with ERRORINFO_UPSTREAM_NO_LIVE: the gateway had no live backend",
                f.lines.count
            ),
            format!(
                "The access log records ERRORINFO_UPSTREAM_NO_LIVE for {} request(s){servers}: \
                 the gateway found no reachable backend in the pool and answered 502 itself. \
                 Every member was failing its probe, or the pool was empty. {}",
                f.lines.count,
                match (f.health_read, f.without_healthy.is_empty()) {
                    (true, true) => "Backend health read now shows a healthy server for every \
                                     pool: the backends failed during the window and recovered, \
                                     so look at what happened then (deploys, restarts, scale-in)."
                        .to_owned(),
                    // Not "recovered": these have no healthy server now, only Unknown ones.
                    (true, false) => format!(
                        "Backend health read now shows no healthy server in {} either, as \
                         Unknown: the gateway could not probe them (see \
                         appgw-gateway-manager-blocked), so they may be down now.",
                        f.without_healthy.join(", ")
                    ),
                    (false, _) => "Backend health was not read here, so which of the two, and \
                                   why, is open: read it."
                        .to_owned(),
                }
            ),
            f.lines.items.clone(),
            "Backend health at the time of the requests shows a healthy server in the pool, or \
             the 502s carry another ErrorInfo.",
            vec![check_backend(
                "Read backend health and each server's healthProbeLog",
                Some(&format!(
                    "az network application-gateway show-backend-health -g {rg} -n {gw}"
                )),
            )],
        );
        if !f.health_read && !rg.starts_with('<') {
            finding.next_command = Some(format!("cloud502 azure -g {rg} --gw {gw}"));
        }
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_pool_whose_every_server_drains_has_no_live_upstream() {
        let draining = |a: &str| server(a, HealthState::Draining, None, "");
        let ev = appgw(&[draining("10.0.1.4"), draining("10.0.1.5")]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwAllBackendsUnhealthy]);
        assert!(
            f[0].title.starts_with("no backend of pool web"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("2 server(s) are Draining"));
        // One healthy server beside a draining one carries the pool: nothing to say.
        let ev = appgw(&[healthy("10.0.1.4"), draining("10.0.1.5")]);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn no_live_logged_with_only_unknown_servers_is_not_called_recovered() {
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unknown,
            Some("health-unknown"),
            UNKNOWN,
        )]);
        with_log(
            &mut ev,
            vec![group(LogClass::NoLiveUpstreams, None, 5, 502)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwAllBackendsUnhealthy]);
        assert!(
            !f[0].explanation.contains("recovered"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].explanation.contains("as Unknown"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn healthy_servers_are_no_finding() {
        let ev = appgw(&[healthy("10.0.1.4"), healthy("10.0.1.5")]);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn an_empty_routed_pool_is_critical_and_cites_pool_and_route() {
        let mut ev = appgw(&[]);
        ev.config.pools[0].members.clear();
        redescribe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwEmptyBackendPool]);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert!(
            f[0].title.contains("pool web has no member"),
            "{}",
            f[0].title
        );
        assert_eq!(f[0].evidence, vec!["config.pool.web", "config.route.0"]);
        assert!(f[0].explanation.contains("lists no server"));
        // with NO_LIVE lines, the count is in the title and the lines are cited
        with_log(
            &mut ev,
            vec![group(LogClass::NoLiveUpstreams, None, 12, 502)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].title.contains("12 request(s)"), "{}", f[0].title);
        assert!(f[0].evidence.contains(&"log.0.group.0".to_owned()));
    }

    #[test]
    fn an_unreferenced_empty_pool_is_skipped() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        ev.config.pools.push(cloud502_model::Pool {
            name: "spare".into(),
            location: None,
            members: vec![],
            settings: vec![],
        });
        redescribe(&mut ev);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn health_unread_claims_no_empty_or_unhealthy_pool_from_missing_servers() {
        let ev = without_health(appgw(&[healthy("10.0.1.4"), healthy("10.0.1.5")]));
        assert!(ev.targets.is_empty());
        assert!(run_rule(check, &ev).is_empty());
        // an empty pool still shows in the configuration, without health to confirm it
        let mut ev = ev;
        ev.config.pools[0].members.clear();
        redescribe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwEmptyBackendPool]);
        assert!(f[0].explanation.contains("could not be read"));
    }

    #[test]
    fn all_servers_down_is_no_live_upstream_with_the_reasons() {
        let mut ev = appgw(&[
            server(
                "10.0.1.4",
                HealthState::Unhealthy,
                Some("connect-failure"),
                CONNECT,
            ),
            server(
                "10.0.1.5",
                HealthState::Unhealthy,
                Some("status-mismatch"),
                &mismatch(403),
            ),
        ]);
        with_log(
            &mut ev,
            vec![group(LogClass::NoLiveUpstreams, None, 40, 502)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwAllBackendsUnhealthy]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].layer, Some(Layer::AzureAppgw));
        assert!(
            f[0].title.contains("every backend of pool web"),
            "{}",
            f[0].title
        );
        assert!(f[0].title.contains("40 request(s)"), "{}", f[0].title);
        assert!(f[0].explanation.contains("could not connect"));
        assert!(f[0].explanation.contains("Received:403"));
        assert!(f[0].explanation.contains("does not fail open"));
        for id in [
            "target.0",
            "target.1",
            "config.pool.web",
            "config.route.0",
            "log.0.group.0",
        ] {
            assert!(
                f[0].evidence.contains(&id.to_owned()),
                "{id}: {:?}",
                f[0].evidence
            );
        }
    }

    #[test]
    fn some_servers_down_is_a_warning() {
        let ev = appgw(&[
            healthy("10.0.1.4"),
            server(
                "10.0.1.5",
                HealthState::Unhealthy,
                Some("probe-timeout"),
                TIMEOUT,
            ),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwBackendsUnhealthy]);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].title.starts_with("1 of 2 backend(s)"),
            "{}",
            f[0].title
        );
        assert_eq!(f[0].evidence[0], "target.1");
    }

    #[test]
    fn only_unknown_servers_are_left_to_the_network_rule() {
        let ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unknown,
            Some("health-unknown"),
            UNKNOWN,
        )]);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn no_live_lines_alone_from_cloud502_logs_point_to_backend_health() {
        let ev = logs_only(vec![group(LogClass::NoLiveUpstreams, None, 7, 502)]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwAllBackendsUnhealthy]);
        assert_eq!(f[0].confidence, Confidence::Medium);
        assert!(f[0].title.starts_with("7 request(s)"), "{}", f[0].title);
        // no placeholder: with no gateway named anywhere there is no next command...
        assert_eq!(f[0].next_command, None);
        // ...and a saved record's resourceId names it
        let mut ev = ev;
        ev.logs[0].groups[0].sample.text = r#"{"resourceId":"/SUBSCRIPTIONS/1F3C/RESOURCEGROUPS/SHOP-PROD/PROVIDERS/MICROSOFT.NETWORK/APPLICATIONGATEWAYS/GW-SHOP","operationName":"ApplicationGatewayAccess"}"#.into();
        let f = run_rule(check, &ev);
        assert_eq!(
            f[0].next_command.as_deref(),
            Some("cloud502 azure -g SHOP-PROD --gw GW-SHOP")
        );
        // with healthy servers read now: the backends recovered, low confidence
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        with_log(
            &mut ev,
            vec![group(LogClass::NoLiveUpstreams, None, 7, 502)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(f[0].confidence, Confidence::Low);
        assert!(f[0].explanation.contains("recovered"));
    }
}
