//! Health probes that do not fit the backend (KB 2.2, 2.5 #5, #6): the default probe
//! (`<protocol>://127.0.0.1:<port>/`, healthy on 200-399) refused by the backend, a custom probe
//! whose host, path, match or timeout is wrong, and the default probe asking for Host 127.0.0.1
//! while the listener serves named hosts, so health says little about what users get.
//!
//! The check gathers facts (`DefaultProbeFailing`, `ProbeMisconfigured`, `DefaultProbeHost`); each
//! words its own finding in the text part below them.

use crate::remediation::check_backend;
use crate::rules::Rule;
use crate::rules::appgw::shared::{
    Unit, by_reason, endpoints, finding, gateway, is_5xx, is_502, is_appgw, lines_where,
    low_risk_change, probe_text, route_items, status_received, unit_items, unit_routes, units,
    uses_default_probe, value, value_or,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, Remediation, Route, Severity,
    Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_probe",
    codes: &[
        FindingCode::AppgwDefaultProbeFailing,
        FindingCode::AppgwProbeMisconfigured,
        FindingCode::AppgwDefaultProbeHost,
        FindingCode::AppgwProbeHostMismatch,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_appgw(ev) {
        return;
    }
    // Settings whose default probe is already reported failing: the host finding would repeat it.
    let mut failing_default: Vec<String> = Vec::new();
    if crate::rules::appgw::shared::health_read(ev) {
        for unit in units(ev) {
            let routes = unit_routes(ev, &unit.pool, &unit.settings);
            // A probe asking another Host than real requests explains its 4xx status
            // mismatches: that finding replaces the status part of the two below.
            let host = crate::rules::appgw::host::mismatch(ev, &unit, routes.first().copied());
            let explained: Vec<String> = host.as_ref().map(|h| h.servers()).unwrap_or_default();
            out.extend(host.map(Finding::from));
            let default = routes.first().map(|r| uses_default_probe(r));
            if default == Some(true) && explained.is_empty() {
                if let Some(f) = default_failing(ev, &unit, routes[0]) {
                    failing_default.push(unit.settings.clone());
                    out.push(f.into());
                }
            }
            out.extend(
                misconfigured(ev, &unit, routes.first().copied(), &explained).map(Finding::from),
            );
        }
    }
    out.extend(default_host(ev, &failing_default).map(Finding::from));
}

/// The status codes the messages say the backends answered, each once (every wording,
/// `shared::status_received`).
fn received(targets: &[(String, &Target)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, t) in targets {
        if let Some(code) = t.detail.as_deref().and_then(status_received)
            && !out.contains(&code)
        {
            out.push(code);
        }
    }
    out
}

/// The default probe gets a status outside 200-399 (KB 2.5 #5).
fn default_failing<'a>(
    ev: &'a Evidence,
    unit: &Unit<'a>,
    route: &'a Route,
) -> Option<DefaultProbeFailing<'a>> {
    let bad = unit.failing(|r| r == "status-mismatch");
    if bad.is_empty() {
        return None;
    }
    let served: Vec<String> = unit_routes(ev, &unit.pool, &unit.settings)
        .iter()
        .flat_map(|r| r.server_names.iter().cloned())
        .collect();
    Some(DefaultProbeFailing {
        unit: unit.label(),
        none_healthy: unit.none_healthy(),
        route,
        codes: received(&bad),
        served: crate::rules::dedup(served),
        gateway: gateway(ev),
        evidence: unit_items(ev, unit, &bad),
        bad,
    })
}

/// A custom probe that fails on status, body or time, and the default probe timing out
/// (KB 2.5 #6). `route` is `None` when no route to the unit was read.
fn misconfigured<'a>(
    ev: &Evidence,
    unit: &Unit<'a>,
    route: Option<&'a Route>,
    explained: &[String],
) -> Option<ProbeMisconfigured<'a>> {
    let custom = route.is_some_and(|r| !uses_default_probe(r));
    let mut bad = unit.failing(|r| match r {
        "probe-timeout" | "body-mismatch" => true,
        // status-mismatch with the default probe is default_failing's; without a route the probe
        // is not known, so it is reported here with less confidence
        "status-mismatch" => custom || route.is_none(),
        _ => false,
    });
    // Servers the host finding explains.
    bad.retain(|(id, _)| !explained.contains(id));
    if bad.is_empty() {
        return None;
    }
    Some(ProbeMisconfigured {
        unit: unit.label(),
        none_healthy: unit.none_healthy(),
        route,
        custom,
        gateway: gateway(ev),
        evidence: unit_items(ev, unit, &bad),
        bad,
    })
}

/// Routes with named hosts whose HTTP settings use the default probe with Host 127.0.0.1: one
/// finding per HTTP settings.
fn default_host<'a>(
    ev: &'a Evidence,
    skip: &[String],
) -> impl Iterator<Item = DefaultProbeHost<'a>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut found = Vec::new();
    for route in &ev.config.routes {
        let Some(settings) = value(route, "backendHttpSettings") else {
            continue;
        };
        if seen.contains(&settings) || skip.iter().any(|s| s == settings) {
            continue;
        }
        let group: Vec<&Route> = ev
            .config
            .routes
            .iter()
            .filter(|r| value(r, "backendHttpSettings") == Some(settings))
            .filter(|r| uses_default_probe(r) && value(r, "probe.host") == Some("127.0.0.1"))
            .filter(|r| !r.server_names.is_empty())
            .collect();
        if group.is_empty() {
            continue;
        }
        seen.push(settings);
        let hosts = crate::rules::dedup(
            group
                .iter()
                .flat_map(|r| r.server_names.iter().cloned())
                .collect(),
        );
        let pools: Vec<&str> =
            crate::rules::dedup(group.iter().filter_map(|r| r.pool.as_deref()).collect());
        let targets: Vec<(String, &Target)> = ev
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                let (p, s) = crate::rules::appgw::shared::target_unit(t);
                s == settings && pools.contains(&p.as_str())
            })
            .map(|(i, t)| (crate::describe::target_id(i), t))
            .collect();
        let all_healthy = !targets.is_empty()
            && targets
                .iter()
                .all(|(_, t)| t.health == HealthState::Healthy);
        let bad_502 = lines_where(ev, is_502);
        let bad_5xx = lines_where(ev, is_5xx);
        let mut facts = DefaultProbeHost {
            settings,
            hosts,
            all_healthy,
            got_502: bad_502.count,
            got_5xx: bad_5xx.count,
            gateway: gateway(ev),
            evidence: route_items(ev, &group),
        };
        if all_healthy {
            facts
                .evidence
                .extend(targets.iter().map(|(id, _)| id.clone()));
        }
        if facts.warning() {
            facts.evidence.extend(if bad_502.count > 0 {
                bad_502.items
            } else {
                bad_5xx.items
            });
        }
        found.push(facts);
    }
    found.into_iter()
}

// ---- facts ----

/// The default probe gets a status outside 200-399 from some servers of a unit.
struct DefaultProbeFailing<'a> {
    /// `pool P (HTTP settings S)`, and whether none of its servers is healthy.
    unit: String,
    none_healthy: bool,
    /// The first route to the unit: its probe and HTTP settings.
    route: &'a Route,
    /// The failing servers, with their item ids.
    bad: Vec<(String, &'a Target)>,
    /// The statuses they answered (`Received:`), each once.
    codes: Vec<String>,
    /// The host names the unit's routes serve.
    served: Vec<String>,
    /// (resource group, gateway name).
    gateway: (String, String),
    evidence: Vec<String>,
}

/// A probe that fails on status, body or time for some servers of a unit.
struct ProbeMisconfigured<'a> {
    unit: String,
    none_healthy: bool,
    /// The first route to the unit, when one was read.
    route: Option<&'a Route>,
    /// The route has a custom probe.
    custom: bool,
    bad: Vec<(String, &'a Target)>,
    gateway: (String, String),
    evidence: Vec<String>,
}

/// HTTP settings whose default probe asks for Host 127.0.0.1 while the listeners serve names.
struct DefaultProbeHost<'a> {
    settings: &'a str,
    hosts: Vec<String>,
    /// Every server behind the settings is healthy.
    all_healthy: bool,
    /// Requests the access logs show with a 502, and with any 5xx.
    got_502: u64,
    got_5xx: u64,
    gateway: (String, String),
    evidence: Vec<String>,
}

// ---- text ----

fn severity(none_healthy: bool) -> Severity {
    if none_healthy {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// What a backend means by answering the default probe with this status.
fn status_meaning(code: &str) -> &'static str {
    match code {
        "401" => "401: the backend wants authentication on /",
        "403" => {
            "403: the backend refuses the probe (access restrictions, an IP allow-list, or a host check that rejects Host 127.0.0.1)"
        }
        "404" => {
            "404: nothing is served at / for Host 127.0.0.1 (a virtual host or ingress rule that only knows the real host name, or an application with no route for /)"
        }
        c if c.starts_with('5') => "5xx: the backend fails on /",
        _ => "a status outside the match",
    }
}

/// `curl` doing what the probe does, against the first failing server.
fn curl(route: &Route, t: &Target) -> String {
    let scheme = value(route, "probe.protocol")
        .unwrap_or("http")
        .to_ascii_lowercase();
    let host = value(route, "probe.host")
        .filter(|h| !h.starts_with('('))
        .unwrap_or("<host>");
    format!(
        "curl -s -o /dev/null -m {} -w '%{{http_code}} %{{time_total}}s\\n' -H 'Host: {host}' {scheme}://{}:{}{}",
        value(route, "probe.timeout").unwrap_or("30"),
        t.address.as_deref().unwrap_or("<backend-ip>"),
        t.port
            .map_or_else(|| "<port>".to_owned(), |p| p.to_string()),
        value(route, "probe.path").unwrap_or("/")
    )
}

impl DefaultProbeFailing<'_> {
    fn title(&self) -> String {
        let route = self.route;
        format!(
            "the default probe gets {} from {} backend(s) of {}: it asks GET {}://{}:{}/ and accepts only 200-399",
            if self.codes.is_empty() {
                "a status outside 200-399".to_owned()
            } else {
                format!("status {}", self.codes.join("/"))
            },
            self.bad.len(),
            self.unit,
            value(route, "probe.protocol")
                .unwrap_or("http")
                .to_ascii_lowercase(),
            value_or(route, "probe.host"),
            value_or(route, "port"),
        )
    }

    fn explanation(&self) -> String {
        let route = self.route;
        format!(
            "{}. No custom probe is attached to HTTP settings {}, so the gateway uses the default \
             probe: {}. {}.{}",
            by_reason(&self.bad),
            value_or(route, "backendHttpSettings"),
            probe_text(route),
            if self.codes.is_empty() {
                "The backend answers with a status outside 200-399".to_owned()
            } else {
                self.codes
                    .iter()
                    .map(|c| status_meaning(c))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            if self.served.is_empty() {
                String::new()
            } else {
                format!(
                    " Real traffic asks for Host {}, which the probe never does.",
                    self.served.join(", ")
                )
            }
        )
    }

    fn remediation(&self) -> Vec<Remediation> {
        let (route, (rg, gw)) = (self.route, &self.gateway);
        let site = self
            .served
            .first()
            .map_or("<site-host-name>", String::as_str);
        vec![
            check_backend(
                "Run the default probe by hand from the gateway's VNet",
                Some(&curl(route, self.bad[0].1)),
            ),
            low_risk_change(
                "Attach a custom probe that asks for the site's host name and a health path the backend answers with 200 without authentication",
                Some(&format!(
                    "az network application-gateway probe create -g {rg} --gateway-name {gw} -n health --protocol {} --host {site} --path /healthz --interval 30 --timeout 30 --threshold 3 && az network application-gateway http-settings update -g {rg} --gateway-name {gw} -n {} --probe health",
                    value(route, "protocol").unwrap_or("Http"),
                    value_or(route, "backendHttpSettings")
                )),
            ),
            low_risk_change(
                "Or make the backend answer 200-399 at / for Host 127.0.0.1 (a default virtual host, no authentication on /)",
                None,
            ),
        ]
    }
}

impl From<DefaultProbeFailing<'_>> for Finding {
    fn from(f: DefaultProbeFailing<'_>) -> Finding {
        finding(
            FindingCode::AppgwDefaultProbeFailing,
            severity(f.none_healthy),
            Confidence::High,
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The backend answers GET / with Host 127.0.0.1 (or the probe's host) with 200-399, or \
             a custom probe is attached to the HTTP settings.",
            f.remediation(),
        )
    }
}

impl ProbeMisconfigured<'_> {
    /// Why the probe fails, a clause per reason, each once.
    fn why(&self) -> Vec<String> {
        let mut why = Vec::new();
        for (_, t) in &self.bad {
            let code = t.detail.as_deref().and_then(status_received);
            let text = match (t.reason.as_deref(), self.route) {
                // A 5xx to the probe is the backend failing, whatever the probe asks.
                (Some("status-mismatch"), _)
                    if code.as_deref().is_some_and(|c| c.starts_with('5')) =>
                {
                    format!(
                        "the backend itself answers {} to the probe: it is failing, not the probe; its own logs (or the layer behind it) say why",
                        code.as_deref().unwrap_or("5xx")
                    )
                }
                (Some("probe-timeout"), Some(r)) => format!(
                    "the backend took longer than the probe timeout ({} s) to answer {}: a slow \
                     or overloaded health endpoint, or one that waits on a dependency",
                    value_or(r, "probe.timeout"),
                    value(r, "probe.path").unwrap_or("/")
                ),
                (Some("status-mismatch"), Some(r)) => format!(
                    "the status is outside the match {} for path {} on host {}: check that the \
                     path exists, that the host is one the backend serves \
                     (pickHostNameFromBackendHttpSettings is {}), and that the match covers what \
                     a healthy backend answers",
                    value(r, "probe.match.statusCodes").unwrap_or("200-399"),
                    value(r, "probe.path").unwrap_or("/"),
                    value_or(r, "probe.host"),
                    value_or(r, "probe.pickHostNameFromBackendHttpSettings")
                ),
                (Some("body-mismatch"), Some(r)) => format!(
                    "the body does not contain \"{}\"",
                    value(r, "probe.match.body").unwrap_or("?")
                ),
                (Some("probe-timeout"), None) => {
                    "the backend answered slower than the probe's timeout".to_owned()
                }
                (Some("status-mismatch"), None) => format!(
                    "the backend answered {} on the probe's path, outside its match",
                    code.as_deref().unwrap_or("a status")
                ),
                (Some("body-mismatch"), None) => {
                    "the answer did not contain the probe's match string".to_owned()
                }
                _ => "the probe failed".to_owned(),
            };
            if !why.contains(&text) {
                why.push(text);
            }
        }
        why
    }

    /// `custom probe P`, `the default probe` or `the health probe`.
    fn name(&self) -> String {
        match self.route {
            Some(r) if self.custom => format!("custom probe {}", value_or(r, "probe")),
            Some(_) => "the default probe".to_owned(),
            None => "the health probe".to_owned(),
        }
    }

    fn title(&self) -> String {
        format!(
            "{} fails on {} backend(s) of {}: {}",
            self.name(),
            self.bad.len(),
            self.unit,
            crate::rules::dedup(
                self.bad
                    .iter()
                    .map(|(_, t)| crate::rules::appgw::shared::reason_label(t.reason.as_deref()))
                    .collect()
            )
            .join("; ")
        )
    }

    fn explanation(&self) -> String {
        format!(
            "{}. {}: {}. Servers: {}.",
            by_reason(&self.bad),
            self.route.map_or_else(
                || "The probe settings were not read (no route to this pool was read)".to_owned(),
                probe_text
            ),
            self.why().join("; "),
            endpoints(&self.bad)
        )
    }

    fn remediation(&self) -> Vec<Remediation> {
        let (rg, gw) = &self.gateway;
        let probe_name = self
            .route
            .filter(|_| self.custom)
            .map_or("<probe>", |r| value_or(r, "probe"));
        let mut steps = Vec::new();
        if received(&self.bad).iter().any(|c| c.starts_with('5')) {
            steps.push(check_backend(
                "The backend answers the probe with a 5xx: look at the backend (its logs, its own upstream) before the probe",
                self.bad[0]
                    .1
                    .address
                    .as_deref()
                    .map(|a| format!("cloud502 probe http://{a}/"))
                    .as_deref(),
            ));
        }
        if let Some(r) = self.route {
            steps.push(check_backend(
                "Run the probe by hand from the gateway's VNet and compare with its settings",
                Some(&curl(r, self.bad[0].1)),
            ));
        }
        steps.push(low_risk_change(
            "Fix the probe: a host the backend serves, a path it answers quickly with a status in the match (and the body string, if set), a timeout above its worst healthy response time",
            Some(&if self.custom || self.route.is_none() {
                format!(
                    "az network application-gateway probe update -g {rg} --gateway-name {gw} -n {probe_name} --host <host> --path <path> --timeout <seconds> --match-status-codes 200-399"
                )
            } else {
                format!(
                    "az network application-gateway probe create -g {rg} --gateway-name {gw} -n health --protocol Http --host <host> --path /healthz --timeout 30 --threshold 3"
                )
            }),
        ));
        if self
            .bad
            .iter()
            .any(|(_, t)| t.reason.as_deref() == Some("probe-timeout"))
        {
            steps.push(check_backend(
                "If the health endpoint is slow only under load, look at the backend's CPU and dependencies first",
                None,
            ));
        }
        steps
    }
}

impl From<ProbeMisconfigured<'_>> for Finding {
    fn from(f: ProbeMisconfigured<'_>) -> Finding {
        finding(
            FindingCode::AppgwProbeMisconfigured,
            severity(f.none_healthy),
            if f.route.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            },
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The same request (host, path, timeout) made by hand from the gateway's VNet gets a \
             status in the match, the body string, within the timeout: then the backend fails \
             only for the gateway (see the other reasons).",
            f.remediation(),
        )
    }
}

impl DefaultProbeHost<'_> {
    /// Traffic fails while health passes: a 502, or a 5xx with every backend healthy.
    fn warning(&self) -> bool {
        self.got_502 > 0 || (self.all_healthy && self.got_5xx > 0)
    }

    /// What the access logs show meanwhile, a sentence, or empty.
    fn seen(&self) -> String {
        if self.got_502 > 0 {
            format!(
                " Meanwhile {} request(s) got 502{}.",
                self.got_502,
                if self.all_healthy {
                    " while every backend is healthy: health passes, traffic fails"
                } else {
                    ""
                }
            )
        } else if self.warning() {
            format!(
                " Every backend is healthy while {} request(s) got a 5xx: health passes, traffic fails.",
                self.got_5xx
            )
        } else {
            String::new()
        }
    }
}

impl From<DefaultProbeHost<'_>> for Finding {
    fn from(f: DefaultProbeHost<'_>) -> Finding {
        let (settings, hosts, (rg, gw)) = (f.settings, f.hosts.join(", "), &f.gateway);
        let warning = f.warning();
        finding(
            FindingCode::AppgwDefaultProbeHost,
            if warning {
                Severity::Warning
            } else {
                Severity::Info
            },
            if warning {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            Layer::AzureAppgw,
            format!(
                "health checks ask for Host 127.0.0.1 on /, real traffic asks for Host {hosts} (HTTP settings {settings}, default probe)"
            ),
            format!(
                "The listener(s) serve {hosts}, but HTTP settings {settings} set no hostName and \
                 no custom probe, so the default probe asks GET / with Host 127.0.0.1. A backend \
                 that routes by host name (a virtual host, an ingress, App Service) answers that \
                 request differently from real traffic: the probe can fail on healthy backends, \
                 or pass on a default site while the real site is broken.{}",
                f.seen()
            ),
            f.evidence.clone(),
            "The backend serves / the same for every Host, or the HTTP settings now have a \
             hostName or a custom probe.",
            vec![low_risk_change(
                "Attach a custom probe with the site's host name (or set pickHostNameFromBackendHttpSettings with a hostName on the settings) and a health path that exercises the application",
                Some(&format!(
                    "az network application-gateway probe create -g {rg} --gateway-name {gw} -n health --protocol Http --host {} --path /healthz && az network application-gateway http-settings update -g {rg} --gateway-name {gw} -n {settings} --probe health",
                    f.hosts[0]
                )),
            )],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::LogClass;

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|f| f.code).collect()
    }

    #[test]
    fn the_default_probe_refused_quotes_the_status() {
        let ev = appgw(&[
            server(
                "10.0.1.4",
                HealthState::Unhealthy,
                Some("status-mismatch"),
                &mismatch(401),
            ),
            server(
                "10.0.1.5",
                HealthState::Unhealthy,
                Some("status-mismatch"),
                &mismatch(404),
            ),
        ]);
        let f = run_rule(check, &ev);
        // the host finding is not repeated beside it
        assert_eq!(codes(&f), vec![FindingCode::AppgwDefaultProbeFailing]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(
            f[0].title.contains("gets status 401/404 from 2"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].explanation.contains("Received:401") && f[0].explanation.contains("Received:404")
        );
        assert!(
            f[0].title.contains("GET http://127.0.0.1:8080/"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("Host www.example.com"));
        assert_eq!(
            f[0].evidence,
            vec!["target.0", "target.1", "config.pool.web", "config.route.0"]
        );
        assert!(f[0].remediation.iter().any(|r| {
            r.command
                .as_deref()
                .is_some_and(|c| c.contains("probe create"))
        }));
    }

    #[test]
    fn a_custom_probe_status_mismatch_is_a_misconfigured_probe() {
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("status-mismatch"),
            &mismatch(404),
        )]);
        custom_probe(&mut ev, "www.example.com", "/health", "10");
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwProbeMisconfigured]);
        assert!(
            f[0].title.starts_with("custom probe health fails"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].explanation
                .contains("path /health on host www.example.com")
        );
        assert!(f[0].evidence.contains(&"config.route.0".to_owned()));
    }

    #[test]
    fn a_host_rewrite_the_probe_does_not_follow_explains_its_404s() {
        let mut ev = appgw(&[
            server(
                "10.0.1.4",
                HealthState::Unhealthy,
                Some("status-mismatch"),
                "Received invalid status code: 404 in the backend server's HTTP response.",
            ),
            healthy("10.0.1.5"),
        ]);
        custom_probe(&mut ev, "probe.example.com", "/health", "10");
        ev.config.routes[0].settings.extend([
            s("rewriteRuleSet", "rs-host"),
            s("rewrite.host", "app.example.com"),
        ]);
        redescribe(&mut ev);
        let f = run_rule(check, &ev);
        // The host finding, and no misconfigured-probe finding for the same server.
        assert_eq!(codes(&f), vec![FindingCode::AppgwProbeHostMismatch]);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].explanation.contains(
                "Host app.example.com (set by rewrite rule set rs-host, which probes do not go through)"
            ),
            "{}",
            f[0].explanation
        );
        assert!(f[0].evidence.contains(&"config.route.0".to_owned()));
        // A 5xx is the backend failing whatever the host: the probe finding, not this one.
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("status-mismatch"),
            &mismatch(503),
        )]);
        custom_probe(&mut ev, "probe.example.com", "/health", "10");
        ev.config.routes[0]
            .settings
            .push(s("rewrite.host", "app.example.com"));
        redescribe(&mut ev);
        assert_eq!(
            codes(&run_rule(check, &ev)),
            vec![FindingCode::AppgwProbeMisconfigured]
        );
        // The probe asking the host the requests carry: no host finding.
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("status-mismatch"),
            &mismatch(404),
        )]);
        custom_probe(&mut ev, "www.example.com", "/health", "10");
        assert_eq!(
            codes(&run_rule(check, &ev)),
            vec![FindingCode::AppgwProbeMisconfigured]
        );
    }

    #[test]
    fn a_default_probe_timeout_is_a_misconfigured_probe_and_cites_the_timeout() {
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
        let m = f
            .iter()
            .find(|f| f.code == FindingCode::AppgwProbeMisconfigured)
            .unwrap();
        assert_eq!(m.severity, Severity::Warning);
        assert!(
            m.title.starts_with("the default probe fails"),
            "{}",
            m.title
        );
        assert!(
            m.explanation.contains("probe timeout (30 s)"),
            "{}",
            m.explanation
        );
        assert_eq!(m.evidence[0], "target.1");
    }

    #[test]
    fn the_default_probe_host_is_info_until_traffic_fails() {
        let mut ev = appgw(&[healthy("10.0.1.4"), healthy("10.0.1.5")]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwDefaultProbeHost]);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].title
                .contains("Host 127.0.0.1 on /, real traffic asks for Host www.example.com"),
            "{}",
            f[0].title
        );
        // healthy backends and 5xx in the logs: health passes, traffic fails
        with_log(
            &mut ev,
            vec![group(LogClass::Status5xx, Some("10.0.1.4:8080"), 30, 500)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].explanation.contains("health passes, traffic fails"));
        assert!(f[0].evidence.contains(&"target.0".to_owned()));
        assert!(f[0].evidence.contains(&"log.0.group.0".to_owned()));
    }

    #[test]
    fn one_host_finding_per_http_settings_and_none_with_a_hostname() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        let mut api = ev.config.routes[0].clone();
        api.id = "route.1".into();
        api.path = Some("/api/*".into());
        api.server_names = vec!["api.example.com".into()];
        ev.config.routes.push(api);
        redescribe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].title.contains("www.example.com, api.example.com"));
        assert_eq!(f[0].evidence[..2], ["config.route.0", "config.route.1"]);
        // a probe asking for the real host
        for r in &mut ev.config.routes {
            for s in &mut r.settings {
                if s.name == "probe.host" {
                    s.value = "www.example.com".into();
                }
            }
        }
        assert!(run_rule(check, &ev).is_empty());
        // no named host on the listener
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        ev.config.routes[0].server_names.clear();
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn unread_health_still_tells_the_probe_host() {
        let ev = without_health(appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("status-mismatch"),
            &mismatch(404),
        )]));
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwDefaultProbeHost]);
        assert_eq!(f[0].severity, Severity::Info);
    }
}
