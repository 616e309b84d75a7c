//! What the Application Gateway rules share: backend health per (pool, HTTP settings), the route
//! settings of the probe and the HTTP settings, the gateway's SKU, and the access-log classes of an
//! `azure-appgw` evidence (KB 2.1-2.5). Not a rule itself.

use crate::describe::{pool_id, route_id, target_id};
use crate::rules::alb::shared::Lines;
use cloud502_model::{
    CheckStatus, Evidence, HealthState, HostCheck, LogGroup, ProviderKind, Remediation, Route,
    Target,
};

pub(crate) use crate::rules::alb::shared::finding;

/// The dialect name of Application Gateway access logs.
pub(crate) const DIALECT: &str = "appgw-access";

/// Gaps of the backend-health long-running operation have a scope starting with this.
pub(crate) const HEALTH_GAP: &str = "azure:backendhealth";

/// The provider's check that the gateway subnet's NSG admits GatewayManager on 65200-65535.
pub(crate) const CHECK_GATEWAY_MANAGER: &str = "nsg.gateway-manager";

/// The provider's check that the gateway subnet's route table keeps 0.0.0.0/0 on the Internet.
pub(crate) const CHECK_DEFAULT_ROUTE: &str = "route-table.default-route";

/// The `reason`s the provider gives a certificate or TLS message (KB 2.2, 9.1).
pub(crate) const CERT_REASONS: &[&str] = &[
    "cert-name-mismatch",
    "cert-expired",
    "cert-chain",
    "cert-untrusted",
    "cert-trusted-root-unreadable",
    "tls-handshake",
    "cert-verify-failed",
];

/// The provider's checks of the gateway subnet's NSG beyond GatewayManager (KB 9.1): a user
/// deny-all above AllowAzureLoadBalancerInBound, an outbound deny to the Internet (v2).
pub(crate) const CHECK_LOAD_BALANCER: &str = "nsg.azure-load-balancer";
pub(crate) const CHECK_INTERNET_OUTBOUND: &str = "nsg.internet-outbound";

/// The provider's checks of a NIC-based backend's NSGs (`nsg.backend.<nsg>`).
pub(crate) const BACKEND_NSG_PREFIX: &str = "nsg.backend.";

/// Whether this evidence was collected from an Application Gateway (config, health, checks).
pub(crate) fn is_appgw(ev: &Evidence) -> bool {
    ev.subject.kind == ProviderKind::AzureAppgw
}

/// Whether Application Gateway access logs were read, by `cloud502 azure` or `cloud502 logs`.
pub(crate) fn has_logs(ev: &Evidence) -> bool {
    ev.logs.iter().any(|l| l.dialect == DIALECT)
}

/// Whether backend health was read: an AppGW evidence without a backend-health gap. The Reader
/// role lacks `backendhealth/action` (KB 2.1), and then there are no targets at all, which says
/// nothing about the pools.
pub(crate) fn health_read(ev: &Evidence) -> bool {
    is_appgw(ev) && !ev.gaps.iter().any(|g| g.scope.starts_with(HEALTH_GAP))
}

/// Whether the gateway is a v2 SKU (`Standard_v2`, `WAF_v2`, `Basic`); `None` when the SKU was
/// not read. v1 and v2 differ in what a backend timeout turns into (KB 2.5 #8) and in the
/// GatewayManager port range (KB 2.2).
pub(crate) fn is_v2(ev: &Evidence) -> Option<bool> {
    let tier = ev.config.setting("sku.tier").map(|s| s.value.as_str());
    let name = ev
        .config
        .setting("sku.name")
        .map(|s| s.value.as_str())
        .or(ev.config.version.as_deref());
    if tier.is_none() && name.is_none() {
        return None;
    }
    Some(
        tier.is_some_and(|t| t.ends_with("_v2") || t == "Basic")
            || name.is_some_and(|n| n.ends_with("_v2") || n == "Basic"),
    )
}

/// The resource group and gateway name of the subject (`RG/GATEWAY`), or placeholders.
pub(crate) fn gateway(ev: &Evidence) -> (String, String) {
    if is_appgw(ev) {
        if let Some((rg, gw)) = ev.subject.id.split_once('/') {
            if !rg.is_empty() && !gw.is_empty() {
                return (rg.to_owned(), gw.to_owned());
            }
        }
    }
    // Saved access logs name their gateway: `resourceId` is
    // /SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/APPLICATIONGATEWAYS/GW.
    if let Some(id) = crate::rules::sample_field(ev, "resourceId") {
        let part = |key: &str| {
            let upper = id.to_ascii_uppercase();
            let at = upper.find(key)? + key.len();
            id[at..].split('/').next().filter(|s| !s.is_empty())
        };
        if let (Some(rg), Some(gw)) = (part("/RESOURCEGROUPS/"), part("/APPLICATIONGATEWAYS/")) {
            return (rg.to_owned(), gw.to_owned());
        }
    }
    ("<resource-group>".to_owned(), "<gateway-name>".to_owned())
}

/// `-g RG -n GW` for `az network application-gateway` commands.
pub(crate) fn az_args(ev: &Evidence) -> String {
    let (rg, gw) = gateway(ev);
    format!("-g {rg} -n {gw}")
}

/// The command that shows backend health with the probe log.
pub(crate) fn health_command(ev: &Evidence) -> String {
    format!(
        "az network application-gateway show-backend-health {} --query \"backendAddressPools[].backendHttpSettingsCollection[].servers[].{{address:address,health:health,log:healthProbeLog}}\" -o table",
        az_args(ev)
    )
}

/// A small change of gateway settings (a probe, a timeout, a host name): 5-10 min and low risk,
/// the "Low" of KB 2.5's Risk column (the time of "Adjust timeout settings").
pub(crate) fn low_risk_change(what: &str, command: Option<&str>) -> Remediation {
    crate::remediation::adjust_timeouts(what, command)
}

/// The backend pool and HTTP settings a target was probed with: its id is
/// `POOL/SETTINGS/ADDRESS` (the backend-health response nests servers that way, KB 2.1).
pub(crate) fn target_unit(t: &Target) -> (String, String) {
    let mut parts = t.id.splitn(3, '/');
    let pool = parts.next().unwrap_or_default();
    let settings = parts.next().unwrap_or_default();
    let pool = t.group.clone().unwrap_or_else(|| pool.to_owned());
    (pool, settings.to_owned())
}

/// The servers of one backend pool as probed with one HTTP settings.
#[derive(Debug)]
pub(crate) struct Unit<'a> {
    pub pool: String,
    pub settings: String,
    /// The servers with their item ids.
    pub targets: Vec<(String, &'a Target)>,
}

impl<'a> Unit<'a> {
    /// `pool web (HTTP settings web-settings)`.
    pub fn label(&self) -> String {
        if self.settings.is_empty() {
            format!("pool {}", self.pool)
        } else {
            format!("pool {} (HTTP settings {})", self.pool, self.settings)
        }
    }

    pub fn count(&self, state: HealthState) -> usize {
        self.targets
            .iter()
            .filter(|(_, t)| t.health == state)
            .count()
    }

    /// Whether no server of the unit is healthy, so its requests have no live backend.
    pub fn none_healthy(&self) -> bool {
        self.count(HealthState::Healthy) == 0
    }

    /// The servers that are Unhealthy or Unknown with a reason the filter accepts.
    pub fn failing(&self, keep: impl Fn(&str) -> bool) -> Vec<(String, &'a Target)> {
        self.targets
            .iter()
            .filter(|(_, t)| matches!(t.health, HealthState::Unhealthy | HealthState::Unknown))
            .filter(|(_, t)| t.reason.as_deref().is_some_and(&keep))
            .map(|(id, t)| (id.clone(), *t))
            .collect()
    }

    /// The `address:port` of each server, the way access logs name them (`ServerRouted`).
    pub fn endpoints(&self) -> Vec<String> {
        self.targets.iter().map(|(_, t)| t.endpoint()).collect()
    }
}

/// Backend health grouped by (pool, HTTP settings), in the order first seen.
pub(crate) fn units(ev: &Evidence) -> Vec<Unit<'_>> {
    let mut out: Vec<Unit<'_>> = Vec::new();
    for (i, t) in ev.targets.iter().enumerate() {
        let (pool, settings) = target_unit(t);
        match out
            .iter_mut()
            .find(|u| u.pool == pool && u.settings == settings)
        {
            Some(u) => u.targets.push((target_id(i), t)),
            None => out.push(Unit {
                pool,
                settings,
                targets: vec![(target_id(i), t)],
            }),
        }
    }
    out
}

/// A route setting's value.
pub(crate) fn value<'a>(route: &'a Route, name: &str) -> Option<&'a str> {
    route.setting(name).map(|s| s.value.as_str())
}

/// A route setting's value, or `?`.
pub(crate) fn value_or<'a>(route: &'a Route, name: &str) -> &'a str {
    value(route, name).unwrap_or("?")
}

/// The routes that send traffic to this pool with this HTTP settings.
pub(crate) fn unit_routes<'a>(ev: &'a Evidence, pool: &str, settings: &str) -> Vec<&'a Route> {
    ev.config
        .routes
        .iter()
        .filter(|r| r.pool.as_deref() == Some(pool))
        .filter(|r| settings.is_empty() || settings_of(r) == Some(settings))
        .collect()
}

/// The settings a route forwards with: its backend HTTP settings, or a layer-4 (TCP/TLS proxy)
/// route's backend settings (`backendSettingsCollection`).
pub(crate) fn settings_of(route: &Route) -> Option<&str> {
    value(route, "backendHttpSettings").or_else(|| value(route, "backendSettings"))
}

/// The item ids of these routes that `describe` stated.
pub(crate) fn route_items(ev: &Evidence, routes: &[&Route]) -> Vec<String> {
    routes
        .iter()
        .map(|r| route_id(r))
        .filter(|id| ev.item(id).is_some())
        .collect()
}

/// The items of gateway-wide settings (`config.setting.operationalState`, ...), when the provider
/// stated them; `describe` states routes and pools but not gateway-wide settings.
pub(crate) fn setting_items(ev: &Evidence, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{SETTING_ITEM_PREFIX}{n}"))
        .filter(|id| ev.item(id).is_some())
        .collect()
}

/// Item ids of gateway-wide settings start with this.
pub(crate) const SETTING_ITEM_PREFIX: &str = "config.setting.";

/// The pool's item id, if described.
pub(crate) fn pool_item(ev: &Evidence, pool: &str) -> Vec<String> {
    ev.config
        .pool(pool)
        .map(pool_id)
        .filter(|id| ev.item(id).is_some())
        .into_iter()
        .collect()
}

/// The item ids of a unit's targets, its pool and its routes.
pub(crate) fn unit_items(
    ev: &Evidence,
    unit: &Unit<'_>,
    targets: &[(String, &Target)],
) -> Vec<String> {
    let mut items: Vec<String> = targets.iter().map(|(id, _)| id.clone()).collect();
    items.extend(pool_item(ev, &unit.pool));
    items.extend(route_items(
        ev,
        &unit_routes(ev, &unit.pool, &unit.settings),
    ));
    items
}

/// Whether a route's HTTP settings use the default probe (no custom probe is attached).
pub(crate) fn uses_default_probe(route: &Route) -> bool {
    route.setting("probe").is_none_or(|s| s.default)
}

/// The probe as an engineer would run it: `GET http://127.0.0.1:8080/ (Host 127.0.0.1), match
/// 200-399, timeout 30 s`.
pub(crate) fn probe_text(route: &Route) -> String {
    // A layer-4 (TCP/TLS proxy) route: its probe has no host, path or status match.
    if let Some(settings) = value(route, "backendSettings") {
        return format!(
            "{} of layer-4 settings {settings} ({} to port {}, timeout {} s)",
            if uses_default_probe(route) {
                "the default probe".to_owned()
            } else {
                format!("custom probe {}", value_or(route, "probe"))
            },
            value(route, "protocol").unwrap_or("Tcp"),
            value_or(route, "port"),
            value_or(route, "timeout"),
        );
    }
    let name = if uses_default_probe(route) {
        "the default probe".to_owned()
    } else {
        format!("custom probe {}", value_or(route, "probe"))
    };
    let scheme = value(route, "probe.protocol")
        .or(value(route, "protocol"))
        .unwrap_or("http")
        .to_ascii_lowercase();
    let host = value_or(route, "probe.host");
    let port = value(route, "probe.port")
        .or(value(route, "port"))
        .unwrap_or("?");
    let path = value(route, "probe.path").unwrap_or("/");
    let body = value(route, "probe.match.body")
        .map(|b| format!(", body must contain \"{b}\""))
        .unwrap_or_default();
    format!(
        "{name}: GET {scheme}://{host}:{port}{path} (Host {host}), healthy on {}{body}, timeout {} s, every {} s, unhealthy after {} failure(s)",
        value(route, "probe.match.statusCodes").unwrap_or("200-399"),
        value_or(route, "probe.timeout"),
        value_or(route, "probe.interval"),
        value_or(route, "probe.unhealthyThreshold"),
    )
}

/// What a `reason` means, in a few words (KB 2.2).
pub(crate) fn reason_label(reason: Option<&str>) -> &'static str {
    match reason {
        Some("probe-timeout") => "the probe timed out",
        Some("dns-failure") => "the backend FQDN did not resolve",
        Some("connect-failure") => "the gateway could not connect",
        Some("status-mismatch") => "the probe got a status outside its match",
        Some("body-mismatch") => "the probe response body did not match",
        Some("cert-name-mismatch") => {
            "the certificate's name does not match the probe or HTTP settings host name"
        }
        Some("cert-expired") => "the certificate is outside its validity dates",
        Some("cert-chain") => "the certificate chain is incomplete or out of order",
        Some("cert-untrusted") => {
            "the certificate is not signed by a well-known CA or does not match the trusted root"
        }
        Some("cert-verify-failed") => "the certificate could not be verified",
        Some("cert-trusted-root-unreadable") => {
            "the trusted root certificate uploaded to the gateway could not be read"
        }
        Some("tls-handshake") => "the TLS connection to the backend failed",
        Some("health-unknown") => "health could not be retrieved",
        Some("unknown-error") => "the gateway gave no cause",
        Some("no-results") => "no probe result was visible",
        Some(_) => "another probe failure",
        None => "no reason given",
    }
}

/// Targets grouped by reason: `2 x the gateway could not connect (10.0.1.4:8080, 10.0.1.5:8080):
/// "Application Gateway could not connect ..."`, quoting the first healthProbeLog of each reason.
pub(crate) fn by_reason(targets: &[(String, &Target)]) -> String {
    let mut reasons: Vec<Option<&str>> = Vec::new();
    for (_, t) in targets {
        if !reasons.contains(&t.reason.as_deref()) {
            reasons.push(t.reason.as_deref());
        }
    }
    reasons
        .iter()
        .map(|r| {
            let of: Vec<&Target> = targets
                .iter()
                .filter(|(_, t)| t.reason.as_deref() == *r)
                .map(|(_, t)| *t)
                .collect();
            let names: Vec<String> = of.iter().map(|t| t.endpoint()).collect();
            // Each distinct healthProbeLog, verbatim (a few at most): status mismatches differ
            // by the status received.
            let details: Vec<String> = crate::rules::dedup(
                of.iter()
                    .filter_map(|t| t.detail.as_deref().filter(|d| !d.is_empty()))
                    .map(|d| format!("\"{d}\""))
                    .collect(),
            );
            let quote = if details.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    details.into_iter().take(3).collect::<Vec<_>>().join(" / ")
                )
            };
            format!(
                "{} x {} [{}] ({}){quote}",
                of.len(),
                reason_label(*r),
                r.unwrap_or("-"),
                names.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The addresses of these targets, joined.
pub(crate) fn endpoints(targets: &[(String, &Target)]) -> String {
    targets
        .iter()
        .map(|(_, t)| t.endpoint())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The provider's checks of the gateway subnet's management path (GatewayManager,
/// AzureLoadBalancer, Internet outbound, the default route) that failed.
pub(crate) fn failed_network_checks(ev: &Evidence) -> Vec<&HostCheck> {
    ev.checks
        .iter()
        .filter(|c| {
            [
                CHECK_GATEWAY_MANAGER,
                CHECK_DEFAULT_ROUTE,
                CHECK_LOAD_BALANCER,
                CHECK_INTERNET_OUTBOUND,
            ]
            .contains(&c.id.as_str())
        })
        .filter(|c| c.status == CheckStatus::Fail)
        .collect()
}

/// The provider's checks of backends' NSGs that failed: they drop the gateway subnet.
pub(crate) fn failed_backend_nsgs(ev: &Evidence) -> Vec<&HostCheck> {
    ev.checks
        .iter()
        .filter(|c| c.id.starts_with(BACKEND_NSG_PREFIX) && c.status == CheckStatus::Fail)
        .collect()
}

/// The status a probe message says the backend answered: `Expected:200-399 Received:401`
/// (current), `Received invalid status code: 502 in ...` (captured), `Probe status code
/// mismatch: Received 404` (the article's table).
pub(crate) fn status_received(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    ["received:", "received invalid status code:", "received "]
        .iter()
        .find_map(|key| {
            let at = lower.find(key)? + key.len();
            let code: String = message[at..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (code.len() == 3).then_some(code)
        })
}

/// Whether an address is an IP literal (not an FQDN).
pub(crate) fn is_ip(address: &str) -> bool {
    address.parse::<std::net::IpAddr>().is_ok()
}

/// Access-log lines the filter keeps, over every AppGW access log read.
pub(crate) fn lines_where(ev: &Evidence, keep: impl Fn(&LogGroup) -> bool) -> Lines {
    Lines::collect(ev.logs.iter().filter(|l| l.dialect == DIALECT), keep)
}

/// Access-log lines of these classes.
pub(crate) fn lines(ev: &Evidence, classes: &[cloud502_model::LogClass]) -> Lines {
    lines_where(ev, |g| classes.contains(&g.class))
}

pub(crate) use crate::rules::alb::shared::is_502;

/// Whether a log group is a 5xx served to the client.
pub(crate) fn is_5xx(g: &LogGroup) -> bool {
    let status = g.client_status();
    status.is_some_and(|s| (500..600).contains(&s))
        || (status.is_none() && g.class == cloud502_model::LogClass::Status5xx)
}

/// The routes that `ServerRouted` (`ip:port`) points at: the unit of a server with that address
/// and port, or else the routes to a pool with a member of that address and that port.
pub(crate) fn routes_of_upstream<'a>(ev: &'a Evidence, upstream: &str) -> Vec<&'a Route> {
    for unit in units(ev) {
        if unit.endpoints().iter().any(|e| e == upstream) {
            return unit_routes(ev, &unit.pool, &unit.settings);
        }
    }
    let (host, port) = match upstream.rsplit_once(':') {
        Some((h, p)) => (h.trim_matches(['[', ']']), Some(p)),
        None => (upstream, None),
    };
    ev.config
        .routes
        .iter()
        .filter(|r| {
            r.pool
                .as_deref()
                .and_then(|p| ev.config.pool(p))
                .is_some_and(|p| p.members.iter().any(|m| m.address == host))
                && port.is_none_or(|p| value(r, "port") == Some(p))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Application Gateway evidence for rule tests.
    use cloud502_model::*;

    pub const CONNECT: &str = "Application Gateway could not connect to the backend. Check that the backend responds on the port used for the probe. Also check whether any NSG/UDR/Firewall is blocking access to the Ip and port of this backend.";
    pub const DNS: &str = "Application Gateway could not create a probe for this backend. This usually happens when the FQDN of the backend has not been entered correctly.";
    pub const TIMEOUT: &str = "Time taken by the backend to respond to application gateway's health probe is more than the timeout threshold in the probe setting.";
    pub const UNKNOWN: &str = "The backend health status could not be retrieved. This happens when an NSG/UDR/Firewall on the application gateway subnet is blocking traffic on ports 65503-65534 in case of v1 SKU, and ports 65200-65535 in case of the v2 SKU or if the FQDN configured in the backend pool could not be resolved to an IP address.";
    pub const EXPIRED: &str = "Backend certificate is invalid. Current date is not within the \"Valid from\" and \"Valid to\" date range on the certificate.";
    pub const CN: &str = "The Common Name of the leaf certificate presented by the backend server does not match the Probe or Backend Setting hostname of the application gateway.";

    /// `Status code of the backend's HTTP response did not match the probe setting. ...`
    pub fn mismatch(received: u16) -> String {
        format!(
            "Status code of the backend's HTTP response did not match the probe setting. Expected:200-399 Received:{received}."
        )
    }

    pub fn s(name: &str, value: &str) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            location: None,
            default: false,
        }
    }

    fn d(name: &str, value: &str) -> Setting {
        Setting {
            default: true,
            ..s(name, value)
        }
    }

    /// A server of pool `web` probed with HTTP settings `web-settings` on port 8080.
    pub fn server(
        address: &str,
        health: HealthState,
        reason: Option<&str>,
        detail: &str,
    ) -> Target {
        Target {
            id: format!("web/web-settings/{address}"),
            address: Some(address.into()),
            port: Some(8080),
            group: Some("web".into()),
            health,
            reason: reason.map(str::to_owned),
            detail: Some(detail.into()),
        }
    }

    pub fn healthy(address: &str) -> Target {
        server(
            address,
            HealthState::Healthy,
            None,
            "Success. Received 200 status code",
        )
    }

    /// The route settings of `rule-web` → pool `web` via `web-settings` (HTTP 8080,
    /// requestTimeout 20 s, the default probe).
    pub fn route_settings() -> Vec<Setting> {
        vec![
            s("rule", "rule-web"),
            s("listener", "listener-https"),
            s("backendHttpSettings", "web-settings"),
            s("port", "8080"),
            s("protocol", "Http"),
            s("requestTimeout", "20"),
            s("pickHostNameFromBackendAddress", "false"),
            d("probe", "default"),
            d("probe.protocol", "Http"),
            d("probe.host", "127.0.0.1"),
            d("probe.path", "/"),
            d("probe.interval", "30"),
            d("probe.timeout", "30"),
            d("probe.unhealthyThreshold", "3"),
            d("probe.pickHostNameFromBackendHttpSettings", "false"),
            d("probe.match.statusCodes", "200-399"),
        ]
    }

    /// An AppGW evidence for `rg-web/gw-web` (Standard_v2, running): pool `web` with these
    /// servers as members (or 10.0.1.4 and 10.0.1.5 when none), route `route.0` for
    /// `www.example.com` to it, and these servers as backend health; `describe` has run.
    pub fn appgw(servers: &[Target]) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::AzureAppgw,
            id: "rg-web/gw-web".into(),
        });
        ev.config.version = Some("Standard_v2".into());
        ev.config.sources = vec!["azure:applicationGateways/gw-web".into()];
        ev.config.settings = vec![
            s("sku.name", "Standard_v2"),
            s("sku.tier", "Standard_v2"),
            s("sku.capacity", "2"),
            s("operationalState", "Running"),
            s("provisioningState", "Succeeded"),
        ];
        let members: Vec<String> = if servers.is_empty() {
            vec!["10.0.1.4".into(), "10.0.1.5".into()]
        } else {
            let mut m: Vec<String> = Vec::new();
            for t in servers {
                let a = t.address.clone().unwrap_or_default();
                if !m.contains(&a) {
                    m.push(a);
                }
            }
            m
        };
        ev.config.pools.push(Pool {
            name: "web".into(),
            location: None,
            members: members
                .into_iter()
                .map(|address| PoolMember {
                    address,
                    location: None,
                    settings: vec![],
                })
                .collect(),
            settings: vec![],
        });
        ev.config.routes.push(Route {
            id: "route.0".into(),
            server_names: vec!["www.example.com".into()],
            listen: vec!["443 https".into()],
            path: None,
            kind: ForwardKind::Proxy,
            target: "web via web-settings".into(),
            scheme: Some("http".into()),
            pool: Some("web".into()),
            dynamic: false,
            location: None,
            settings: route_settings(),
        });
        ev.targets = servers.to_vec();
        crate::describe::describe(&mut ev);
        ev
    }

    /// Re-state the items after changing the evidence.
    pub fn redescribe(ev: &mut Evidence) {
        ev.items.clear();
        crate::describe::describe(ev);
    }

    /// Backend health could not be read: no servers, and a gap.
    pub fn without_health(mut ev: Evidence) -> Evidence {
        ev.targets.clear();
        ev.gaps.push(Gap {
            scope: "azure:backendhealth".into(),
            kind: GapKind::Permission,
            message: "the Reader role cannot read backend health: grant Microsoft.Network/applicationGateways/backendhealth/action".into(),
            hint: None,
        });
        redescribe(&mut ev);
        ev
    }

    /// Attach custom probe `health` to route.0, replacing the default probe's settings.
    pub fn custom_probe(ev: &mut Evidence, host: &str, path: &str, timeout: &str) {
        let r = &mut ev.config.routes[0];
        r.settings.retain(|s| !s.name.starts_with("probe"));
        r.settings.extend([
            s("probe", "health"),
            s("probe.protocol", "Http"),
            s("probe.host", host),
            s("probe.path", path),
            s("probe.interval", "30"),
            s("probe.timeout", timeout),
            s("probe.unhealthyThreshold", "3"),
            s("probe.pickHostNameFromBackendHttpSettings", "false"),
            s("probe.match.statusCodes", "200-399"),
        ]);
        redescribe(ev);
    }

    pub fn host_check(ev: &mut Evidence, id: &str, status: CheckStatus, detail: &str) {
        ev.checks.push(HostCheck {
            id: id.into(),
            name: if id == "nsg.gateway-manager" {
                "GatewayManager inbound on 65200-65535".into()
            } else {
                "default route of the gateway subnet".into()
            },
            status,
            detail: detail.into(),
        });
        redescribe(ev);
    }

    /// A log group as the AppGW access-log dialect makes it.
    pub fn group(class: LogClass, upstream: Option<&str>, count: u64, status: u16) -> LogGroup {
        let detail = match class {
            LogClass::NoLiveUpstreams => Some("ERRORINFO_UPSTREAM_NO_LIVE"),
            LogClass::PrematureClose => Some("ERRORINFO_UPSTREAM_CLOSED_CONNECTION"),
            LogClass::ReadTimeout => Some("ERRORINFO_UPSTREAM_TIMED_OUT"),
            _ => None,
        };
        LogGroup {
            timeline: None,
            class,
            upstream: upstream.map(str::to_owned),
            status: Some(status),
            level: None,
            detail: detail.map(str::to_owned),
            count,
            reused: None,
            first_seen: None,
            last_seen: None,
            sample: LogSample {
                line: 1,
                text: format!(
                    "HttpStatus={status} ServerRouted={} ErrorInfo={}",
                    upstream.unwrap_or(""),
                    detail.unwrap_or("")
                ),
            },
        }
    }

    /// An AGWAccessLogs summary with these groups.
    pub fn appgw_log(groups: Vec<LogGroup>) -> LogSummary {
        let total: u64 = groups.iter().map(|g| g.count).sum();
        LogSummary {
            id: "log.0".into(),
            source: "loganalytics:ws-1:AGWAccessLogs".into(),
            dialect: "appgw-access".into(),
            lines: total,
            matched: total,
            bytes: 0,
            skipped: LogSkips::default(),
            first_seen: None,
            last_seen: None,
            counts: vec![],
            groups,
            samples: vec![],
        }
    }

    /// Add an access log to the evidence.
    pub fn with_log(ev: &mut Evidence, groups: Vec<LogGroup>) {
        ev.logs.push(appgw_log(groups));
        redescribe(ev);
    }

    /// `cloud502 logs` on a saved AppGW access log: no config, no health.
    pub fn logs_only(groups: Vec<LogGroup>) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Logs,
            id: "agw-access.json".into(),
        });
        let mut log = appgw_log(groups);
        log.source = "agw-access.json".into();
        ev.logs.push(log);
        crate::describe::describe(&mut ev);
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn sku_decides_v1_or_v2() {
        let mut ev = appgw(&[]);
        assert_eq!(is_v2(&ev), Some(true));
        ev.config.settings = vec![s("sku.name", "Standard_Medium"), s("sku.tier", "Standard")];
        ev.config.version = Some("Standard_Medium".into());
        assert_eq!(is_v2(&ev), Some(false));
        ev.config.settings = vec![s("sku.tier", "Basic")];
        assert_eq!(is_v2(&ev), Some(true));
        ev.config.settings.clear();
        ev.config.version = None;
        assert_eq!(is_v2(&ev), None);
    }

    #[test]
    fn units_split_the_target_id_and_find_their_routes() {
        let ev = appgw(&[healthy("10.0.1.4"), healthy("10.0.1.5")]);
        let u = units(&ev);
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].pool.as_str(), u[0].settings.as_str()),
            ("web", "web-settings")
        );
        assert_eq!(u[0].targets[1].0, "target.1");
        let routes = unit_routes(&ev, "web", "web-settings");
        assert_eq!(route_items(&ev, &routes), vec!["config.route.0"]);
        assert!(unit_routes(&ev, "web", "other").is_empty());
        assert_eq!(routes_of_upstream(&ev, "10.0.1.5:8080").len(), 1);
        assert!(routes_of_upstream(&ev, "10.0.1.5:9999").is_empty());
        assert_eq!(gateway(&ev), ("rg-web".to_owned(), "gw-web".to_owned()));
        assert!(probe_text(routes[0]).contains("GET http://127.0.0.1:8080/ (Host 127.0.0.1)"));
    }

    #[test]
    fn diagnose_ranks_the_dead_pool_then_its_cause_and_nothing_else_fires() {
        use cloud502_model::{FindingCode, LogClass, Severity};
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
                Some("connect-failure"),
                CONNECT,
            ),
        ]);
        with_log(
            &mut ev,
            vec![group(LogClass::NoLiveUpstreams, None, 25, 502)],
        );
        let f = crate::rules::diagnose(&ev);
        let codes: Vec<FindingCode> = f.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                FindingCode::AppgwAllBackendsUnhealthy,
                FindingCode::AppgwBackendUnreachable,
                FindingCode::AppgwDefaultProbeHost,
            ]
        );
        assert_eq!(f[2].severity, Severity::Warning);
        // every cited id is an item of the evidence
        for finding in &f {
            for id in &finding.evidence {
                assert!(ev.item(id).is_some(), "{}: {id}", finding.code);
            }
        }
    }

    #[test]
    fn the_status_received_is_read_from_every_wording() {
        assert_eq!(status_received(&mismatch(401)).as_deref(), Some("401"));
        assert_eq!(
            status_received(
                "Received invalid status code: 502 in the backend server's HTTP response."
            )
            .as_deref(),
            Some("502")
        );
        assert_eq!(
            status_received("Probe status code mismatch: Received 404").as_deref(),
            Some("404")
        );
        assert_eq!(
            status_received("Probe status code mismatch. Expected vs Received."),
            None
        );
    }

    #[test]
    fn health_is_read_only_without_a_backend_health_gap() {
        let ev = appgw(&[healthy("10.0.1.4")]);
        assert!(health_read(&ev));
        assert!(!health_read(&without_health(ev)));
    }
}
