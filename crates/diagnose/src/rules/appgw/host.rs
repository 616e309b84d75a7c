//! The Host a health probe asks for against the Host real requests carry to the same backend
//! (KB 9.1 configuration items, KB 2.5 #5/#6): backend settings `hostName` /
//! `pickHostNameFromBackendAddress`, the probe's `host` / `pickHostNameFromBackendHttpSettings`,
//! and a rewrite rule set that sets the request's Host header (probes do not go through
//! rewrites). A multi-site backend (App Service, an ingress, name-based virtual hosts) answers
//! a host it does not serve with 400/404/421, so the probe fails while the site works, or the
//! other way round. Used by `probe.rs`; not a rule itself.

use crate::rules::appgw::shared::{
    Unit, by_reason, finding, gateway, is_ip, low_risk_change, probe_text, status_received,
    unit_items, value, value_or,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, Remediation, Route, Severity, Target,
};

/// Where the Host of real requests to a backend comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrafficHost {
    /// A rewrite rule set sets it (`rewrite.host`): the value as written, and the set's name.
    Rewritten(String, String),
    /// The backend settings' `hostName` override.
    Settings(String),
    /// `pickHostNameFromBackendAddress`: each server's own address.
    BackendAddress,
    /// The client's Host, passed through: the listener's host names.
    Client(Vec<String>),
}

impl TrafficHost {
    /// The Host real requests carry to the backend behind `route`, or `None` when it cannot be
    /// told (a basic listener that takes any host, with nothing overriding it).
    pub(crate) fn of(route: &Route) -> Option<TrafficHost> {
        if let Some(h) = value(route, "rewrite.host").filter(|h| !h.trim().is_empty()) {
            return Some(TrafficHost::Rewritten(
                h.to_owned(),
                value_or(route, "rewriteRuleSet").to_owned(),
            ));
        }
        if let Some(h) = value(route, "hostName").filter(|h| !h.trim().is_empty()) {
            return Some(TrafficHost::Settings(h.to_owned()));
        }
        if value(route, "pickHostNameFromBackendAddress") == Some("true") {
            return Some(TrafficHost::BackendAddress);
        }
        (!route.server_names.is_empty()).then(|| TrafficHost::Client(route.server_names.clone()))
    }

    /// Whether a probe asking for `probe` reaches the same site as these requests to `server`.
    fn matches(&self, probe: &str, server: &str) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let probe = if probe == "(backend address)" {
            server
        } else {
            probe
        };
        match self {
            // A value built from server variables (`{var_host}`) cannot be compared.
            TrafficHost::Rewritten(h, _) => h.contains('{') || same(h, probe),
            TrafficHost::Settings(h) => same(h, probe),
            TrafficHost::BackendAddress => same(server, probe),
            TrafficHost::Client(names) => {
                names.iter().any(|n| same(n, probe) || wildcard(n, probe))
            }
        }
    }

    /// `Host www.contoso.com (set by rewrite rule set rs1)`.
    fn describe(&self, servers: &[(String, &Target)]) -> String {
        match self {
            TrafficHost::Rewritten(h, set) => {
                format!("Host {h} (set by rewrite rule set {set}, which probes do not go through)")
            }
            TrafficHost::Settings(h) => format!("Host {h} (the backend settings' hostName)"),
            TrafficHost::BackendAddress => format!(
                "Host {} (pickHostNameFromBackendAddress: each server's own address)",
                servers
                    .iter()
                    .filter_map(|(_, t)| t.address.as_deref())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TrafficHost::Client(names) => format!(
                "Host {} (the listener's host names, passed through)",
                names.join(", ")
            ),
        }
    }

    /// The host to put on the probe, when there is one name to put.
    fn one(&self) -> Option<&str> {
        match self {
            TrafficHost::Rewritten(h, _) if !h.contains('{') => Some(h),
            TrafficHost::Settings(h) => Some(h),
            TrafficHost::Client(names) => {
                names.iter().find(|n| !n.contains('*')).map(String::as_str)
            }
            _ => None,
        }
    }
}

/// `*.contoso.com` covers `www.contoso.com`.
fn wildcard(pattern: &str, host: &str) -> bool {
    pattern.strip_prefix("*.").is_some_and(|suffix| {
        host.to_ascii_lowercase()
            .ends_with(&format!(".{}", suffix.to_ascii_lowercase()))
    })
}

/// The facts of a probe asking another Host than real requests, with servers failing on it.
pub(crate) struct HostMismatch<'a> {
    unit: String,
    none_healthy: bool,
    route: &'a Route,
    probe_host: String,
    traffic: TrafficHost,
    bad: Vec<(String, &'a Target)>,
    gateway: (String, String),
    evidence: Vec<String>,
}

/// Servers of the unit failing the probe with a 4xx (or an unstated) status while the probe
/// asks for another Host than real requests: the likely cause of the failure. A 5xx is the
/// backend failing whatever the host, so it is left to the probe findings. The default probe
/// with Host 127.0.0.1 is `appgw-default-probe-failing`'s / `-host`'s.
pub(crate) fn mismatch<'a>(
    ev: &Evidence,
    unit: &Unit<'a>,
    route: Option<&'a Route>,
) -> Option<HostMismatch<'a>> {
    let route = route?;
    let probe_host = value(route, "probe.host")?;
    if probe_host == "127.0.0.1" || probe_host == "(none)" {
        return None;
    }
    let traffic = TrafficHost::of(route)?;
    let bad: Vec<(String, &Target)> = unit
        .failing(|r| r == "status-mismatch")
        .into_iter()
        .filter(|(_, t)| {
            t.detail
                .as_deref()
                .and_then(status_received)
                .is_none_or(|c| c.starts_with('4'))
        })
        .filter(|(_, t)| !traffic.matches(probe_host, t.address.as_deref().unwrap_or_default()))
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(HostMismatch {
        unit: unit.label(),
        none_healthy: unit.none_healthy(),
        route,
        probe_host: probe_host.to_owned(),
        traffic,
        gateway: gateway(ev),
        evidence: unit_items(ev, unit, &bad),
        bad,
    })
}

impl HostMismatch<'_> {
    /// The item ids of the servers this finding explains.
    pub(crate) fn servers(&self) -> Vec<String> {
        self.bad.iter().map(|(id, _)| id.clone()).collect()
    }

    fn probe_host_text(&self) -> String {
        if self.probe_host == "(backend address)" {
            let ips = self
                .bad
                .iter()
                .filter_map(|(_, t)| t.address.as_deref())
                .any(is_ip);
            format!(
                "each server's own address{}",
                if ips {
                    " (IP addresses here, which a multi-site backend does not serve as a site)"
                } else {
                    ""
                }
            )
        } else {
            self.probe_host.clone()
        }
    }
}

impl From<HostMismatch<'_>> for Finding {
    fn from(f: HostMismatch<'_>) -> Finding {
        let (rg, gw) = &f.gateway;
        let route = f.route;
        let fix_host = f.traffic.one().unwrap_or("<site-host-name>").to_owned();
        let probe = value(route, "probe")
            .filter(|_| route.setting("probe").is_some_and(|s| !s.default))
            .map(str::to_owned);
        let mut remediation: Vec<Remediation> = vec![crate::remediation::check_backend(
            "Ask the backend for both hosts by hand from the gateway's VNet and compare",
            Some(&format!(
                "curl -s -o /dev/null -w '%{{http_code}}\\n' -H 'Host: {}' {}://{}:{}{} ; curl -s -o /dev/null -w '%{{http_code}}\\n' -H 'Host: {fix_host}' {}://{}:{}{}",
                if f.probe_host.starts_with('(') {
                    f.bad[0].1.address.as_deref().unwrap_or("<backend>")
                } else {
                    &f.probe_host
                },
                value(route, "probe.protocol")
                    .unwrap_or("http")
                    .to_ascii_lowercase(),
                f.bad[0].1.address.as_deref().unwrap_or("<backend-ip>"),
                value(route, "probe.port")
                    .or(value(route, "port"))
                    .unwrap_or("<port>"),
                value(route, "probe.path").unwrap_or("/"),
                value(route, "probe.protocol")
                    .unwrap_or("http")
                    .to_ascii_lowercase(),
                f.bad[0].1.address.as_deref().unwrap_or("<backend-ip>"),
                value(route, "probe.port")
                    .or(value(route, "port"))
                    .unwrap_or("<port>"),
                value(route, "probe.path").unwrap_or("/"),
            )),
        )];
        remediation.push(low_risk_change(
            "Make the probe ask for the host real requests use: set the probe's host, or let it pick the host name from the backend settings when they override it",
            Some(&match probe {
                Some(p) => format!(
                    "az network application-gateway probe update -g {rg} --gateway-name {gw} -n {p} --host {fix_host} --host-name-from-http-settings false"
                ),
                None => format!(
                    "az network application-gateway probe create -g {rg} --gateway-name {gw} -n health --protocol {} --host {fix_host} --path / && az network application-gateway http-settings update -g {rg} --gateway-name {gw} -n {} --probe health",
                    value(route, "protocol").unwrap_or("Http"),
                    value_or(route, "backendHttpSettings")
                ),
            }),
        ));
        finding(
            FindingCode::AppgwProbeHostMismatch,
            if f.none_healthy {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Confidence::Medium,
            Layer::AzureAppgw,
            format!(
                "the health probe of {} asks for Host {} while real requests carry another host, and {} backend(s) answer it with a status outside the match",
                f.unit,
                f.probe_host_text(),
                f.bad.len()
            ),
            format!(
                "{}. The probe asks for Host {} ({}), but requests reach these servers with {}. A \
                 backend that serves several sites by name (App Service, an ingress, virtual \
                 hosts) answers a host it does not know with 400, 404 or 421, so the probe marks \
                 it down while the site itself may work{}. Probe: {}.",
                by_reason(&f.bad),
                f.probe_host_text(),
                if value(route, "probe.pickHostNameFromBackendHttpSettings") == Some("true") {
                    "picked from the backend settings"
                } else {
                    "the probe's own host"
                },
                f.traffic.describe(&f.bad),
                if f.none_healthy {
                    "; with no healthy server the gateway answers every request of this pool with 502"
                } else {
                    ""
                },
                probe_text(route)
            ),
            f.evidence.clone(),
            "The backend answers the probe's host and path with the same status as the real host, \
             or the probe already asks for the host real requests carry.",
            remediation,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::s;

    fn route(settings: &[(&str, &str)], names: &[&str]) -> Route {
        Route {
            id: "route.0".into(),
            server_names: names.iter().map(|n| (*n).to_owned()).collect(),
            listen: vec![],
            path: None,
            kind: cloud502_model::ForwardKind::Proxy,
            target: "p via s".into(),
            scheme: None,
            pool: Some("p".into()),
            dynamic: false,
            location: None,
            settings: settings.iter().map(|(k, v)| s(k, v)).collect(),
        }
    }

    #[test]
    fn the_traffic_host_comes_from_the_rewrite_then_the_settings_then_the_address_then_the_listener()
     {
        let r = route(
            &[
                ("rewrite.host", "a.example"),
                ("rewriteRuleSet", "rs"),
                ("hostName", "b.example"),
            ],
            &["c.example"],
        );
        assert_eq!(
            TrafficHost::of(&r),
            Some(TrafficHost::Rewritten("a.example".into(), "rs".into()))
        );
        let r = route(&[("hostName", "b.example")], &["c.example"]);
        assert_eq!(
            TrafficHost::of(&r),
            Some(TrafficHost::Settings("b.example".into()))
        );
        let r = route(
            &[("pickHostNameFromBackendAddress", "true")],
            &["c.example"],
        );
        assert_eq!(TrafficHost::of(&r), Some(TrafficHost::BackendAddress));
        let r = route(
            &[("pickHostNameFromBackendAddress", "false")],
            &["c.example"],
        );
        assert_eq!(
            TrafficHost::of(&r),
            Some(TrafficHost::Client(vec!["c.example".into()]))
        );
        // A basic listener with nothing overriding: any host, nothing to compare.
        assert_eq!(TrafficHost::of(&route(&[], &[])), None);
    }

    #[test]
    fn hosts_compare_without_case_with_wildcards_and_server_variables() {
        let client = TrafficHost::Client(vec!["*.contoso.com".into()]);
        assert!(client.matches("www.CONTOSO.com", "10.0.0.4"));
        assert!(!client.matches("contoso.net", "10.0.0.4"));
        assert!(TrafficHost::BackendAddress.matches("(backend address)", "app.azurewebsites.net"));
        assert!(
            !TrafficHost::Settings("app.contoso.com".into())
                .matches("(backend address)", "10.0.0.4")
        );
        assert!(TrafficHost::Rewritten("{var_host}".into(), "rs".into()).matches("x", "y"));
    }
}
