//! ARM resources into the shared model: the gateway into routes, pools and settings; backend
//! health into targets with a classified reason (KB 2.2); the subnet's NSG and route table into
//! checks; Log Analytics rows into a log summary (KB 2.3).

use crate::resources::{
    BackendHealth, Child, Gateway, HttpSettings, Nsg, Probe, QueryTable, RouteTable, SecurityRule,
    SubRef,
};
use cloud502_model::{
    CheckStatus, ConfigSnapshot, EvidenceItem, ForwardKind, Gap, GapKind, HealthState, HostCheck,
    LogClass, LogCount, LogGroup, LogSample, LogSummary, Pool, PoolMember, Route, Setting, Target,
    Timeline, parse_rfc3339,
};
use std::collections::BTreeMap;

fn setting(name: &str, value: impl Into<String>) -> Setting {
    Setting {
        name: name.to_owned(),
        value: value.into(),
        location: None,
        default: false,
    }
}

fn default_setting(name: &str, value: impl Into<String>) -> Setting {
    Setting {
        default: true,
        ..setting(name, value)
    }
}

/// Whether the SKU is v2 (`Standard_v2`, `WAF_v2`, `Basic`).
pub fn is_v2(gw: &Gateway) -> bool {
    let sku = &gw.properties.sku;
    [sku.tier.as_deref(), sku.name.as_deref()]
        .into_iter()
        .flatten()
        .any(|s| s.ends_with("_v2") || s.eq_ignore_ascii_case("Basic"))
}

/// The gateway as a config snapshot.
pub fn config(gw: &Gateway, source: &str) -> ConfigSnapshot {
    let p = &gw.properties;
    let mut settings = Vec::new();
    if let Some(n) = &p.sku.name {
        settings.push(setting("sku.name", n));
    }
    if let Some(t) = &p.sku.tier {
        settings.push(setting("sku.tier", t));
    }
    if let Some(c) = p.sku.capacity {
        settings.push(setting("sku.capacity", c.to_string()));
    }
    if let Some(s) = &p.operational_state {
        settings.push(setting("operationalState", s));
    }
    if let Some(s) = &p.provisioning_state {
        settings.push(setting("provisioningState", s));
    }
    if let Some(url) = error_page(&p.custom_error_configurations) {
        settings.push(setting("customError.HttpStatus502", url));
    }
    let pools = p
        .backend_address_pools
        .iter()
        .map(|pool| Pool {
            name: pool.name.clone(),
            location: None,
            members: pool
                .properties
                .backend_addresses
                .iter()
                .filter_map(|a| a.ip_address.clone().or_else(|| a.fqdn.clone()))
                .chain(
                    pool.properties
                        .backend_ip_configurations
                        .iter()
                        .map(nic_member),
                )
                .map(|address| PoolMember {
                    address,
                    location: None,
                    settings: Vec::new(),
                })
                .collect(),
            settings: Vec::new(),
        })
        .collect();
    ConfigSnapshot {
        sources: vec![source.to_owned()],
        version: p.sku.name.clone(),
        routes: routes(gw),
        pools,
        settings,
    }
}

/// `nic:<nic>/<ipconfig>` from `.../networkInterfaces/<nic>/ipConfigurations/<ipconfig>`.
fn nic_member(r: &SubRef) -> String {
    let parts: Vec<&str> = r.id.split('/').collect();
    let nic = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("networkInterfaces"));
    match nic.and_then(|i| Some((parts.get(i + 1)?, parts.get(i + 3)?))) {
        Some((nic, ipconfig)) => format!("nic:{nic}/{ipconfig}"),
        None => format!("nic:{}", r.name()),
    }
}

fn error_page(pages: &[crate::resources::CustomError]) -> Option<String> {
    pages
        .iter()
        .find(|c| c.status_code.as_deref() == Some("HttpStatus502"))
        .and_then(|c| c.custom_error_page_url.clone())
}

fn by_ref<'a, P>(items: &'a [Child<P>], r: Option<&SubRef>) -> Option<&'a Child<P>> {
    let r = r?;
    find(items, r)
}

/// One route per basic rule, and per path rule (plus the default) of a path-based rule; one
/// per pool of a load distribution policy; then the layer-4 rules'.
fn routes(gw: &Gateway) -> Vec<Route> {
    let p = &gw.properties;
    let mut out = Vec::new();
    let mut rules: Vec<_> = p.request_routing_rules.iter().collect();
    rules.sort_by_key(|r| (r.properties.priority.unwrap_or(u32::MAX), r.name.clone()));
    for rule in rules {
        let r = &rule.properties;
        let listener = by_ref(&p.http_listeners, r.http_listener.as_ref());
        let mut targets: Vec<Forward<'_>> = Vec::new();
        if let Some(map) = by_ref(&p.url_path_maps, r.url_path_map.as_ref()) {
            let m = &map.properties;
            for pr in &m.path_rules {
                let pp = &pr.properties;
                targets.push(Forward {
                    path: Some(pp.paths.join(", ")),
                    pool: pp.backend_address_pool.as_ref(),
                    settings: pp.backend_http_settings.as_ref(),
                    rewrite: pp.rewrite_rule_set.as_ref(),
                    distribution: pp.load_distribution_policy.as_ref(),
                });
            }
            targets.push(Forward {
                path: None,
                pool: m.default_backend_address_pool.as_ref(),
                settings: m.default_backend_http_settings.as_ref(),
                rewrite: m.default_rewrite_rule_set.as_ref(),
                distribution: m.default_load_distribution_policy.as_ref(),
            });
        } else if r.redirect_configuration.is_none() {
            targets.push(Forward {
                path: None,
                pool: r.backend_address_pool.as_ref(),
                settings: r.backend_http_settings.as_ref(),
                rewrite: r.rewrite_rule_set.as_ref(),
                distribution: r.load_distribution_policy.as_ref(),
            });
        }
        for (forward, pool, weight) in targets.iter().flat_map(|f| pools_of(gw, f)) {
            let (path, settings) = (forward.path.clone(), forward.settings);
            let http = by_ref(&p.backend_http_settings_collection, settings);
            let mut s = vec![setting("rule", &rule.name)];
            if let Some(w) = weight {
                s.push(setting("loadDistributionPolicy", w));
            }
            s.extend(rewrite_settings(gw, forward.rewrite));
            let mut server_names = Vec::new();
            let mut listen = Vec::new();
            if let Some(l) = listener {
                s.push(setting("listener", &l.name));
                server_names = l.properties.host_names.clone();
                if let Some(h) = &l.properties.host_name
                    && !server_names.contains(h)
                {
                    server_names.insert(0, h.clone());
                }
                listen.push(listen_on(
                    gw,
                    l.properties.frontend_port.as_ref(),
                    l.properties.protocol.as_deref(),
                ));
                if let Some(url) = error_page(&l.properties.custom_error_configurations) {
                    s.push(setting("customError.HttpStatus502", url));
                }
            }
            let settings_name = http
                .map(|h| h.name.clone())
                .unwrap_or_else(|| settings.map(|r| r.name().to_owned()).unwrap_or_default());
            let scheme = http
                .and_then(|h| h.properties.protocol.clone())
                .map(|p| p.to_ascii_lowercase());
            if let Some(h) = http {
                s.extend(http_settings(h, &p.probes));
            }
            out.push(Route {
                id: format!("route.{}", out.len()),
                server_names,
                listen,
                path,
                kind: ForwardKind::Proxy,
                target: format!("{} via {}", pool.name(), settings_name),
                scheme,
                pool: Some(pool.name().to_owned()),
                dynamic: false,
                location: None,
                settings: s,
            });
        }
    }
    let first = out.len();
    out.extend(l4_routes(gw, first));
    out
}

/// Where a rule (or a path rule, or a path map's default) forwards.
struct Forward<'a> {
    path: Option<String>,
    pool: Option<&'a SubRef>,
    settings: Option<&'a SubRef>,
    rewrite: Option<&'a SubRef>,
    distribution: Option<&'a SubRef>,
}

/// The pools a forward reaches: a load distribution policy's targets, each with its weight
/// (`ldp1: weight 40 of 100`), and the named pool when the policy does not list it.
fn pools_of<'a>(
    gw: &'a Gateway,
    f: &'a Forward<'a>,
) -> Vec<(&'a Forward<'a>, &'a SubRef, Option<String>)> {
    let mut out = Vec::new();
    if let Some(policy) = by_ref(&gw.properties.load_distribution_policies, f.distribution) {
        let targets = &policy.properties.load_distribution_targets;
        let total: u32 = targets
            .iter()
            .filter_map(|t| t.properties.weight_per_server)
            .sum();
        for t in targets {
            let Some(pool) = t.properties.backend_address_pool.as_ref() else {
                continue;
            };
            // A pool listed twice (the official example's targets share a name and id) is one
            // route.
            if out
                .iter()
                .any(|(_, p, _): &(_, &SubRef, _)| same(p.name(), pool.name()))
            {
                continue;
            }
            let weight = match t.properties.weight_per_server {
                Some(w) => format!("{}: weight {w} of {total}", policy.name),
                None => policy.name.clone(),
            };
            out.push((f, pool, Some(weight)));
        }
    }
    if let Some(pool) = f.pool
        && !out.iter().any(|(_, p, _)| same(p.name(), pool.name()))
    {
        out.push((f, pool, None));
    }
    out
}

/// `rewriteRuleSet` and, when one of its rules sets the request's Host header, `rewrite.host`:
/// a rewritten Host reaches the backend (and its certificate check) instead of the settings'.
fn rewrite_settings(gw: &Gateway, r: Option<&SubRef>) -> Vec<Setting> {
    let Some(set) = by_ref(&gw.properties.rewrite_rule_sets, r) else {
        return Vec::new();
    };
    let mut out = vec![setting("rewriteRuleSet", &set.name)];
    let host = set
        .properties
        .rewrite_rules
        .iter()
        .filter_map(|rule| rule.action_set.as_ref())
        .flat_map(|a| a.request_header_configurations.iter())
        .find(|h| {
            h.header_name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("Host"))
        });
    if let Some(h) = host {
        out.push(setting(
            "rewrite.host",
            h.header_value.clone().unwrap_or_default(),
        ));
    }
    out
}

/// One route per layer-4 (TCP/TLS proxy) routing rule: the listener's port and protocol, the
/// pool, and the backend settings' port, protocol, timeout and host name.
fn l4_routes(gw: &Gateway, first: usize) -> Vec<Route> {
    let p = &gw.properties;
    let mut rules: Vec<_> = p.routing_rules.iter().collect();
    rules.sort_by_key(|r| (r.properties.priority.unwrap_or(u32::MAX), r.name.clone()));
    let mut out = Vec::new();
    for rule in rules {
        let r = &rule.properties;
        let Some(pool) = r.backend_address_pool.as_ref() else {
            continue;
        };
        let mut s = vec![setting("rule", &rule.name)];
        let mut listen = Vec::new();
        if let Some(l) = by_ref(&p.listeners, r.listener.as_ref()) {
            s.push(setting("listener", &l.name));
            listen.push(listen_on(
                gw,
                l.properties.frontend_port.as_ref(),
                l.properties.protocol.as_deref(),
            ));
        }
        let settings = by_ref(&p.backend_settings_collection, r.backend_settings.as_ref());
        let settings_name = settings.map_or_else(
            || {
                r.backend_settings
                    .as_ref()
                    .map(|r| r.name().to_owned())
                    .unwrap_or_default()
            },
            |h| h.name.clone(),
        );
        let mut scheme = None;
        if let Some(h) = settings {
            let hp = &h.properties;
            s.push(setting("backendSettings", &h.name));
            if let Some(port) = hp.port {
                s.push(setting("port", port.to_string()));
            }
            if let Some(proto) = &hp.protocol {
                s.push(setting("protocol", proto));
                scheme = Some(proto.to_ascii_lowercase());
            }
            match hp.timeout {
                Some(t) => s.push(setting("timeout", t.to_string())),
                None => s.push(default_setting("timeout", "60")),
            }
            if let Some(host) = &hp.host_name {
                s.push(setting("hostName", host));
            }
            if !hp.trusted_root_certificates.is_empty() {
                s.push(setting(
                    "trustedRootCertificates",
                    names(&hp.trusted_root_certificates),
                ));
            }
            // The probe by name only: a TCP/TLS probe has no host, path or status match, and
            // the rules' default-probe findings (Host 127.0.0.1, status 200-399) are HTTP's.
            match by_ref(&p.probes, hp.probe.as_ref()) {
                Some(probe) => s.push(setting("probe", &probe.name)),
                None => s.push(default_setting("probe", "default (TCP connect)")),
            }
        }
        out.push(Route {
            id: format!("route.{}", first + out.len()),
            server_names: Vec::new(),
            listen,
            path: None,
            kind: ForwardKind::Proxy,
            target: format!("{} via {settings_name}", pool.name()),
            scheme,
            pool: Some(pool.name().to_owned()),
            dynamic: false,
            location: None,
            settings: s,
        });
    }
    out
}

/// `443 https`: a listener's frontend port and protocol.
fn listen_on(gw: &Gateway, port: Option<&SubRef>, protocol: Option<&str>) -> String {
    let port = by_ref(&gw.properties.frontend_ports, port)
        .and_then(|f| f.properties.port)
        .map_or_else(|| "?".to_owned(), |p| p.to_string());
    format!("{port} {}", protocol.unwrap_or("?").to_ascii_lowercase())
}

/// The references' names, joined.
fn names(refs: &[SubRef]) -> String {
    refs.iter().map(SubRef::name).collect::<Vec<_>>().join(",")
}

/// The HTTP settings and the probe in force for them (custom, or the default probe with its
/// documented values, KB 2.2 / 2.5 #5).
fn http_settings(h: &Child<HttpSettings>, probes: &[Child<Probe>]) -> Vec<Setting> {
    let hp = &h.properties;
    let mut s = vec![setting("backendHttpSettings", &h.name)];
    if let Some(port) = hp.port {
        s.push(setting("port", port.to_string()));
    }
    if let Some(proto) = &hp.protocol {
        s.push(setting("protocol", proto));
    }
    match hp.request_timeout {
        Some(t) => s.push(setting("requestTimeout", t.to_string())),
        None => s.push(default_setting("requestTimeout", "20")),
    }
    if let Some(host) = &hp.host_name {
        s.push(setting("hostName", host));
    }
    let pick = hp.pick_host_name_from_backend_address.unwrap_or(false);
    s.push(setting("pickHostNameFromBackendAddress", pick.to_string()));
    if let Some(path) = &hp.path {
        s.push(setting("path", path));
    }
    // What an HTTPS backend's certificate is checked against (KB 9.1 configuration items).
    if !hp.trusted_root_certificates.is_empty() {
        s.push(setting(
            "trustedRootCertificates",
            names(&hp.trusted_root_certificates),
        ));
    }
    if !hp.authentication_certificates.is_empty() {
        s.push(setting(
            "authenticationCertificates",
            names(&hp.authentication_certificates),
        ));
    }
    match hp.validate_sni {
        Some(v) => s.push(setting("validateSNI", v.to_string())),
        None => s.push(default_setting("validateSNI", "true")),
    }
    if let Some(sni) = hp.sni_name.as_deref().filter(|n| !n.is_empty()) {
        s.push(setting("sniName", sni));
    }
    match hp.validate_cert_chain_and_expiry {
        Some(v) => s.push(setting("validateCertChainAndExpiry", v.to_string())),
        None => s.push(default_setting("validateCertChainAndExpiry", "true")),
    }
    if let Some(d) = &hp.connection_draining
        && d.enabled == Some(true)
    {
        s.push(setting(
            "connectionDraining",
            match d.drain_timeout_in_sec {
                Some(t) => format!("enabled, {t} s"),
                None => "enabled".to_owned(),
            },
        ));
    }
    let protocol = hp.protocol.clone().unwrap_or_else(|| "Http".to_owned());
    match by_ref(probes, hp.probe.as_ref()) {
        Some(probe) => {
            let pp = &probe.properties;
            s.push(setting("probe", &probe.name));
            s.push(setting(
                "probe.protocol",
                pp.protocol.clone().unwrap_or(protocol),
            ));
            let pick_from_settings = pp
                .pick_host_name_from_backend_http_settings
                .unwrap_or(false);
            let host = match (&pp.host, pick_from_settings) {
                (Some(h), false) if !h.is_empty() => h.clone(),
                _ if pick_from_settings => hp
                    .host_name
                    .clone()
                    .unwrap_or_else(|| "(backend address)".to_owned()),
                _ => "(none)".to_owned(),
            };
            s.push(setting("probe.host", host));
            s.push(setting(
                "probe.path",
                pp.path.clone().unwrap_or_else(|| "/".to_owned()),
            ));
            for (name, v) in [
                ("probe.interval", pp.interval),
                ("probe.timeout", pp.timeout),
                ("probe.unhealthyThreshold", pp.unhealthy_threshold),
            ] {
                if let Some(v) = v {
                    s.push(setting(name, v.to_string()));
                }
            }
            s.push(setting(
                "probe.pickHostNameFromBackendHttpSettings",
                pick_from_settings.to_string(),
            ));
            if let Some(port) = pp.port {
                s.push(setting("probe.port", port.to_string()));
            }
            // minServers above 0 keeps that many servers "healthy" whatever the probe says.
            if let Some(n) = pp.min_servers.filter(|n| *n > 0) {
                s.push(setting("probe.minServers", n.to_string()));
            }
            let m = pp.matcher.clone().unwrap_or_default();
            if m.status_codes.is_empty() {
                s.push(default_setting("probe.match.statusCodes", "200-399"));
            } else {
                s.push(setting("probe.match.statusCodes", m.status_codes.join(",")));
            }
            if let Some(body) = m.body.filter(|b| !b.is_empty()) {
                s.push(setting("probe.match.body", body));
            }
        }
        None => {
            // The default probe: <protocol>://127.0.0.1:<port>/ unless the settings name a host.
            let host = match (&hp.host_name, pick) {
                (Some(h), _) => h.clone(),
                (None, true) => "(backend address)".to_owned(),
                (None, false) => "127.0.0.1".to_owned(),
            };
            s.push(default_setting("probe", "default"));
            s.push(default_setting("probe.protocol", protocol));
            s.push(default_setting("probe.host", host));
            s.push(default_setting("probe.path", "/"));
            s.push(default_setting("probe.interval", "30"));
            s.push(default_setting("probe.timeout", "30"));
            s.push(default_setting("probe.unhealthyThreshold", "3"));
            s.push(default_setting(
                "probe.pickHostNameFromBackendHttpSettings",
                pick.to_string(),
            ));
            s.push(default_setting("probe.match.statusCodes", "200-399"));
        }
    }
    s
}

/// What a server's `health` value means (KB 9.1): real gateways send `Healthy` / `Unhealthy` /
/// `Unknown`, the swagger has `Up` / `Down` / `Partial` / `Draining`; compared without case.
/// `None` for a value neither knows: the caller keeps it verbatim and reads it as unknown, never
/// as healthy.
pub fn health_state(value: &str) -> Option<HealthState> {
    Some(match value.trim().to_ascii_lowercase().as_str() {
        "healthy" | "up" => HealthState::Healthy,
        // Partial: some of the probes pass; the swagger gives no more, and it is not healthy.
        "unhealthy" | "down" | "partial" => HealthState::Unhealthy,
        "draining" => HealthState::Draining,
        "unknown" => HealthState::Unknown,
        _ => return None,
    })
}

/// `healthProbeErrorName` values and the reason each is (KB 9.1, INVENTORY.md section 3): the
/// two seen in bodies, then the vocabulary of Microsoft's support wiki as mirrored publicly.
const ERROR_NAMES: &[(&str, Option<&str>)] = &[
    ("SuccessWithStatusCode", None),
    (
        "HttpStatusCodeMismatchWithStatusCode",
        Some("status-mismatch"),
    ),
    ("Timeout", Some("probe-timeout")),
    ("HostNameNotResolved", Some("dns-failure")),
    ("AddressNotReachable", Some("connect-failure")),
    ("PortNotReachable", Some("connect-failure")),
    ("ServerNotReachable", Some("connect-failure")),
    ("HttpResponseBodyMismatch", Some("body-mismatch")),
    (
        "BackendServerCertificateNotWhitelisted",
        Some("cert-untrusted"),
    ),
    ("BackendCertInvalidCA", Some("cert-untrusted")),
    ("BackendCertInvalidCN", Some("cert-name-mismatch")),
    ("BackendSecureConnectionError", Some("tls-handshake")),
    ("GatewayNotReachable", Some("health-unknown")),
    ("CertVerificationFailed", Some("cert-verify-failed")),
    (
        "BackendServerCertificateNotTrustedByRootCertificates",
        Some("cert-untrusted"),
    ),
    (
        "TrustedCertsNotLoaded",
        Some("cert-trusted-root-unreadable"),
    ),
    (
        "BackendCertificateCNMismatchWithProbeHostName",
        Some("cert-name-mismatch"),
    ),
    ("BackendServerCertificateExpired", Some("cert-expired")),
    (
        "IncorrectBackendCertificateChainLeafCertificateIsNotTopmostCertificate",
        Some("cert-chain"),
    ),
    (
        "IncorrectBackendCertificateChainMissingLeafCertificate",
        Some("cert-chain"),
    ),
    (
        "IncompleteBackendCertificateChainOnlyLeafCertificateIsPresent",
        Some("cert-chain"),
    ),
    (
        "BackendServerCertificateNotTrustedByWellKnownCAs",
        Some("cert-untrusted"),
    ),
    ("Unknown", Some("unknown-error")),
    // v1's name for the status mismatch, and v2's well-known-CA names, as a second public
    // mirror of Microsoft's support guide pairs them with the customer-facing messages
    // (PROVENANCE.md, "error names"); unofficial too.
    ("HttpStatusCodeMismatch", Some("status-mismatch")),
    ("CertificateNotTrustedByWellKnownCA", Some("cert-untrusted")),
];

/// Name families matched on their start: the mirror shows
/// `BackendServerCertificateNotTrustedByWellKnownCAsDueToIncompleteOrIncorrectIn...` cut off.
const ERROR_NAME_PREFIXES: &[(&str, &str)] = &[
    (
        "BackendServerCertificateNotTrustedByWellKnownCAs",
        "cert-untrusted",
    ),
    ("HttpStatusCodeMismatch", "status-mismatch"),
    ("IncorrectBackendCertificateChain", "cert-chain"),
    ("IncompleteBackendCertificateChain", "cert-chain"),
];

/// The reason of an error name: exact (without case), then by family prefix. The probe
/// output's `ngx_http_upstream_check_err_` / `err_` prefix (the support guide's spelling) is
/// dropped first. `None` for a name cloud502 does not know; `Some(None)` for a success.
fn error_name_reason(name: &str) -> Option<Option<&'static str>> {
    let lower = name.to_ascii_lowercase();
    let bare = ["ngx_http_upstream_check_err_", "err_"]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| &name[p.len()..]))
        .unwrap_or(name);
    if let Some((_, reason)) = ERROR_NAMES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(bare))
    {
        return Some(*reason);
    }
    let bare = bare.to_ascii_lowercase();
    ERROR_NAME_PREFIXES
        .iter()
        .find(|(p, _)| bare.starts_with(&p.to_ascii_lowercase()))
        .map(|(_, r)| Some(*r))
}

/// Classify one server: on `healthProbeErrorName` first (machine-readable, KB 9.1), then on the
/// `healthProbeLog` wording. `None` for a success (`SuccessWithStatusCode`, "Success. Received
/// 200 status code") or when neither is given; `other` for a failure neither knows.
pub fn classify(error_name: Option<&str>, log: Option<&str>) -> Option<&'static str> {
    let name = error_name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name
        && let Some(reason) = error_name_reason(n)
    {
        // `Unknown` says nothing: a message may say more.
        if reason != Some("unknown-error") {
            return reason;
        }
    }
    match log.map(classify_probe_log) {
        Some(Some("other")) | None if name.is_some() => {
            // A name cloud502 does not know, and no message it knows: the name is the reason
            // class it has; "other" keeps the server failing without guessing.
            if name.is_some_and(|n| n.eq_ignore_ascii_case("Unknown")) {
                Some("unknown-error")
            } else {
                Some("other")
            }
        }
        Some(r) => r,
        None => None,
    }
}

/// Classify a `healthProbeLog` message (KB 2.2, 9.1) by its family, accepting the current
/// wording, the 2019 and 2020 ones, the internal reason-code texts and the captured ones (every
/// row of `tests/fixtures/official/probe-messages.json`). `None` for a success message or none
/// at all; `other` for a failure no family matches.
pub fn classify_probe_log(log: &str) -> Option<&'static str> {
    let l = log.trim().to_ascii_lowercase();
    let has = |s: &str| l.contains(s);
    if l.is_empty() || l.starts_with("success") {
        return None;
    }
    Some(if l.trim_end_matches('.') == "no results" {
        // What the portal shows without backendhealth/action: no probe ran.
        "no-results"
    } else if has("https probe connection error") || has("secure connection") {
        // Checked before the "whitelisted" of cert-untrusted, which this text also says.
        "tls-handshake"
    } else if has("could not find any certificate-related information") {
        "cert-trusted-root-unreadable"
    } else if has("could not be retrieved")
        || has("gateway not reachable")
        || (has("not reachable") && has("65503"))
    {
        "health-unknown"
    } else if has("time taken by the backend")
        || has("probe timeout")
        || has("timeout threshold")
        || has("timed out")
    {
        "probe-timeout"
    } else if has("could not create a probe")
        || has("cannot be resolved")
        || has("could not be resolved")
        || (has("fqdn") && has("not been entered correctly"))
    {
        "dns-failure"
    } else if has("could not connect to the backend")
        || has("cannot connect to")
        || has("could not connect to")
        || has("cannot be reached")
    {
        "connect-failure"
    } else if has("status code")
        && (has("did not match")
            || has("mismatch")
            || has("invalid status code")
            || has("different from expected"))
    {
        "status-mismatch"
    } else if has("body of the backend")
        || has("body mismatch")
        || (has("response body") && (has("did not match") || has("contain")))
    {
        "body-mismatch"
    } else if has("common name") || has("invalid cn") {
        "cert-name-mismatch"
    } else if has("valid from")
        || has("certificate expired")
        || has("certificate is expired")
        || has("has expired")
    {
        "cert-expired"
    } else if has("missing from the certificate chain")
        || has("not the topmost certificate")
        || has("incomplete certificate chain")
    {
        "cert-chain"
    } else if has("well-known certificate authority")
        || has("root certificate of the server certificate")
        || has("not signed by any root certificate")
        || has("whitelisted")
        || has("allowlisted")
        || has("invalid ca")
        || has("trusted root")
    {
        "cert-untrusted"
    } else if has("could not be verified")
        || has("ssl diagnostics")
        // v1: "Backend certificate has been marked invalid. Either the certificate is not
        // within its validity period, or it has been revoked ..., or there is a problem with
        // the certificate chain." (second mirror, probe-messages.json): one of three causes.
        || has("marked invalid")
    {
        "cert-verify-failed"
    } else if has("unknown error") {
        "unknown-error"
    } else {
        "other"
    })
}

/// Backend health read into the model: the targets, one item per server with what the gateway
/// sent verbatim (health value, error name, message), and gaps for what was not understood.
#[derive(Debug, Default)]
pub struct HealthRead {
    /// One per server, in the body's order.
    pub targets: Vec<Target>,
    /// `azure.server.N` (N the target's index): the server as sent.
    pub items: Vec<EvidenceItem>,
    /// Health values cloud502 does not know, pools the configuration does not have.
    pub gaps: Vec<Gap>,
}

/// The scope of gaps about single servers or pools of the backend-health answer. Not
/// `azure:backendhealth...`: the rules read a gap of that scope as "health was not read".
pub const HEALTH_ELEMENT_SCOPE: &str = "azure:health-servers";

/// Whether two ARM ids or names are the same: ARM compares them without case (the official
/// BackendHealth example writes `backendaddressPools`).
fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.eq_ignore_ascii_case(b)
}

/// The configuration's child that `r` names: by id, or by the id's last segment as a name.
fn find<'a, P>(items: &'a [Child<P>], r: &SubRef) -> Option<&'a Child<P>> {
    items
        .iter()
        .find(|c| same(&c.id, &r.id))
        .or_else(|| items.iter().find(|c| same(&c.name, r.name())))
}

/// Backend health into targets (KB 2.1, 9.1).
pub fn health(health: &BackendHealth, gw: &Gateway) -> HealthRead {
    let mut read = HealthRead::default();
    let p = &gw.properties;
    for (pi, pool) in health.backend_address_pools.iter().enumerate() {
        let configured = find(&p.backend_address_pools, &pool.backend_address_pool);
        // The configuration's spelling, so rules find the routes to it.
        let pool_name = match configured {
            Some(c) if !c.name.is_empty() => c.name.clone(),
            _ => Some(pool.backend_address_pool.name().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("unnamed-pool-{pi}")),
        };
        if configured.is_none() && !p.backend_address_pools.is_empty() {
            read.gaps.push(Gap {
                scope: HEALTH_ELEMENT_SCOPE.to_owned(),
                kind: GapKind::Other,
                message: format!(
                    "backend health lists pool {pool_name}, which the gateway's configuration does not have: its servers are reported without a route"
                ),
                hint: Some(
                    "the configuration may have changed between the two reads: run again".to_owned(),
                ),
            });
        }
        // Layer-4 settings: the swagger has no shape for them, so an L4 settings id is looked
        // up in both lists wherever it comes (see `PoolHealth::backend_settings_collection`).
        for sh in pool
            .backend_http_settings_collection
            .iter()
            .chain(pool.backend_settings_collection.iter())
        {
            let r = &sh.backend_http_settings;
            let l4 =
                r.id.to_ascii_lowercase()
                    .contains("/backendsettingscollection/");
            let http = (!l4)
                .then(|| find(&p.backend_http_settings_collection, r))
                .flatten();
            let tcp = find(&p.backend_settings_collection, r).filter(|_| l4 || http.is_none());
            let settings_name = match (http, tcp) {
                (Some(h), _) if !h.name.is_empty() => h.name.clone(),
                (None, Some(h)) if !h.name.is_empty() => h.name.clone(),
                _ => r.name().to_owned(),
            };
            let port = http
                .and_then(|h| h.properties.port)
                .or_else(|| tcp.and_then(|h| h.properties.port));
            for server in &sh.servers {
                let known = health_state(&server.health);
                let state = known.unwrap_or(HealthState::Unknown);
                let log = server
                    .health_probe_log
                    .clone()
                    .filter(|l| !l.trim().is_empty());
                let name = server
                    .health_probe_error_name
                    .as_deref()
                    .filter(|n| !n.trim().is_empty());
                let reason = match state {
                    HealthState::Healthy => None,
                    _ => classify(name, log.as_deref()).map(str::to_owned),
                };
                let address = if server.address.trim().is_empty() {
                    "(no address)".to_owned()
                } else {
                    server.address.clone()
                };
                let index = read.targets.len();
                if known.is_none() {
                    read.gaps.push(Gap {
                        scope: HEALTH_ELEMENT_SCOPE.to_owned(),
                        kind: GapKind::InvalidInput,
                        message: format!(
                            "server {address} of pool {pool_name} has health {:?}, a value cloud502 does not know: read as unknown",
                            one_line(&server.health)
                        ),
                        hint: Some(
                            "run `az network application-gateway show-backend-health` to see what the gateway means by it".to_owned(),
                        ),
                    });
                }
                read.items.push(EvidenceItem {
                    id: format!("azure.server.{index}"),
                    source: "azure:backendhealth".to_owned(),
                    fact: server_fact(&address, &pool_name, &settings_name, server),
                });
                read.targets.push(Target {
                    id: format!("{pool_name}/{settings_name}/{address}"),
                    address: Some(address),
                    port,
                    group: Some(pool_name.clone()),
                    health: state,
                    reason,
                    detail: log,
                });
            }
        }
    }
    read
}

/// `10.0.0.123 in pool P (HTTP settings S): health "Unhealthy", healthProbeErrorName
/// "HttpStatusCodeMismatchWithStatusCode", healthProbeLog "Received invalid status code: 502 ..."`.
fn server_fact(
    address: &str,
    pool: &str,
    settings: &str,
    s: &crate::resources::ServerHealth,
) -> String {
    let mut fact = format!(
        "{address} in pool {pool} (HTTP settings {settings}): health {:?}",
        one_line(&s.health)
    );
    if let Some(n) = s
        .health_probe_error_name
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        fact.push_str(&format!(", healthProbeErrorName {:?}", one_line(n)));
    }
    if let Some(l) = s.health_probe_log.as_deref().filter(|l| !l.is_empty()) {
        fact.push_str(&format!(", healthProbeLog {:?}", one_line(l)));
    }
    let chain = s
        .backend_certificate_chain_metadata
        .as_ref()
        .and_then(|m| m.get("certificateChainMetadata"))
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if chain > 0 {
        fact.push_str(&format!(
            ", {chain} certificate(s) in backendCertificateChainMetadata"
        ));
    }
    fact
}

use cloud502_collect::remote::one_line;

/// The rule's destination port ranges as written (`443`, `65200-65535`, `*`).
fn port_specs(rule: &SecurityRule) -> impl Iterator<Item = &str> {
    rule.destination_port_range
        .iter()
        .chain(rule.destination_port_ranges.iter())
        .map(|r| r.trim())
}

/// The rule's destination port ranges as `(low, high)`; `*` is every port. Unparsable specs are
/// left out.
fn port_ranges(rule: &SecurityRule) -> impl Iterator<Item = (u32, u32)> + '_ {
    port_specs(rule).filter_map(|r| {
        if r == "*" {
            return Some((0, 65535));
        }
        let (lo, hi) = r.split_once('-').unwrap_or((r, r));
        Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?))
    })
}

/// Whether the rule's ports cover all of `low..=high` (KB 2.5 #10).
fn covers_mgmt_ports(rule: &SecurityRule, low: u32, high: u32) -> bool {
    port_ranges(rule).any(|(lo, hi)| lo <= low && hi >= high)
}

/// Whether any part of `low..=high` is in the rule's ports (a deny of a part breaks health too).
fn touches_mgmt_ports(rule: &SecurityRule, low: u32, high: u32) -> bool {
    port_ranges(rule).any(|(lo, hi)| lo <= high && hi >= low)
}

/// Whether any of a rule's prefixes (one and several) passes `keep`, trimmed.
fn any_prefix(one: Option<&String>, several: &[String], keep: impl Fn(&str) -> bool) -> bool {
    one.into_iter()
        .chain(several.iter())
        .any(|s| keep(s.trim()))
}

/// `*`, `Any`, `0.0.0.0/0`: every address.
fn anywhere(s: &str) -> bool {
    s == "*" || s.eq_ignore_ascii_case("Any") || s == "0.0.0.0/0"
}

fn from_gateway_manager(rule: &SecurityRule) -> bool {
    any_prefix(
        rule.source_address_prefix.as_ref(),
        &rule.source_address_prefixes,
        |s| {
            anywhere(s)
                || s.eq_ignore_ascii_case("GatewayManager")
                || s.eq_ignore_ascii_case("Internet")
        },
    )
}

/// The management ports the gateway subnet must admit from GatewayManager: 65200-65535 on v2,
/// 65503-65534 on v1 (KB 2.2, 9.1).
pub fn management_ports(v2: bool) -> (u32, u32) {
    if v2 { (65200, 65535) } else { (65503, 65534) }
}

/// The name of the GatewayManager check, with the SKU's port range.
pub fn gateway_manager_check_name(v2: bool) -> String {
    let (low, high) = management_ports(v2);
    format!("GatewayManager inbound on {low}-{high}")
}

/// Whether the gateway subnet's NSG admits GatewayManager on 65200-65535 (KB 2.1, 2.5 #10):
/// inbound TCP rules by priority, the first that applies decides; Azure's default rules come last.
pub fn nsg_check(nsg: &Nsg, v2: bool) -> HostCheck {
    let (low, high) = management_ports(v2);
    let mut rules: Vec<&Child<SecurityRule>> = nsg
        .properties
        .security_rules
        .iter()
        .chain(nsg.properties.default_security_rules.iter())
        .filter(|r| r.properties.direction.eq_ignore_ascii_case("Inbound"))
        .filter(|r| {
            let p = r.properties.protocol.to_ascii_lowercase();
            p == "*" || p == "tcp" || p == "any"
        })
        .collect();
    rules.sort_by_key(|r| r.properties.priority);
    let name = gateway_manager_check_name(v2);
    for r in rules {
        let rp = &r.properties;
        if !from_gateway_manager(rp) {
            continue;
        }
        let allow = rp.access.eq_ignore_ascii_case("Allow");
        if allow && covers_mgmt_ports(rp, low, high) {
            return HostCheck {
                id: "nsg.gateway-manager".to_owned(),
                name,
                status: CheckStatus::Pass,
                detail: format!(
                    "NSG {} rule {} (priority {}) allows {} on {}",
                    nsg.name,
                    r.name,
                    rp.priority,
                    rp.source_address_prefix.as_deref().unwrap_or("the sources"),
                    ports(rp)
                ),
            };
        }
        if !allow && touches_mgmt_ports(rp, low, high) {
            return HostCheck {
                id: "nsg.gateway-manager".to_owned(),
                name,
                status: CheckStatus::Fail,
                detail: format!(
                    "NSG {} rule {} (priority {}) denies {} on {} before any rule allows GatewayManager",
                    nsg.name,
                    r.name,
                    rp.priority,
                    rp.source_address_prefix.as_deref().unwrap_or("the sources"),
                    ports(rp)
                ),
            };
        }
    }
    HostCheck {
        id: "nsg.gateway-manager".to_owned(),
        name,
        status: CheckStatus::Fail,
        detail: format!(
            "NSG {} has no inbound rule allowing GatewayManager on {low}-{high}; the default DenyAllInBound applies",
            nsg.name
        ),
    }
}

/// Whether the rule's prefixes (`source` or `destination`) cover this service tag: the tag itself,
/// or any address.
fn covers(prefix: Option<&String>, prefixes: &[String], tag: &str) -> bool {
    any_prefix(prefix, prefixes, |s| {
        anywhere(s) || s.eq_ignore_ascii_case(tag)
    })
}

/// The NSG's rules of one direction in the order Azure applies them (priority; user rules and
/// the defaults together), TCP or any protocol.
fn in_order<'a>(nsg: &'a Nsg, direction: &str) -> Vec<&'a Child<SecurityRule>> {
    let mut rules: Vec<&Child<SecurityRule>> = nsg
        .properties
        .security_rules
        .iter()
        .chain(nsg.properties.default_security_rules.iter())
        .filter(|r| r.properties.direction.eq_ignore_ascii_case(direction))
        .filter(|r| {
            let p = r.properties.protocol.to_ascii_lowercase();
            p == "*" || p == "tcp" || p == "any"
        })
        .collect();
    rules.sort_by_key(|r| r.properties.priority);
    rules
}

/// The first rule of `rules` that `applies`, as a pass (Allow) or fail (Deny) check; pass when
/// none does (Azure's defaults allow both paths this checks).
fn first_rule(
    nsg: &Nsg,
    rules: &[&Child<SecurityRule>],
    applies: impl Fn(&SecurityRule) -> bool,
    id: &str,
    name: &str,
    what: &str,
) -> HostCheck {
    let (status, detail) = match rules.iter().find(|r| applies(&r.properties)) {
        Some(r) if r.properties.access.eq_ignore_ascii_case("Allow") => (
            CheckStatus::Pass,
            format!(
                "NSG {} rule {} (priority {}) allows {what}",
                nsg.name, r.name, r.properties.priority
            ),
        ),
        Some(r) => (
            CheckStatus::Fail,
            format!(
                "NSG {} rule {} (priority {}) denies {what} before any rule allows it",
                nsg.name, r.name, r.properties.priority
            ),
        ),
        None => (
            CheckStatus::Pass,
            format!("NSG {} has no rule about {what}", nsg.name),
        ),
    };
    HostCheck {
        id: id.to_owned(),
        name: name.to_owned(),
        status,
        detail,
    }
}

/// The NSG rules Microsoft lists for the gateway subnet beyond GatewayManager (KB 9.1,
/// configuration-infrastructure.md): inbound from AzureLoadBalancer must not be overridden by
/// a user deny-all, and (v2) outbound to the Internet must be allowed.
pub fn nsg_more_checks(nsg: &Nsg, v2: bool) -> Vec<HostCheck> {
    let inbound = in_order(nsg, "Inbound");
    let mut checks = vec![first_rule(
        nsg,
        &inbound,
        |r| {
            covers(
                r.source_address_prefix.as_ref(),
                &r.source_address_prefixes,
                "AzureLoadBalancer",
            ) && if r.access.eq_ignore_ascii_case("Allow") {
                // An allow of a few ports does not keep a later deny-all off the rest.
                covers_mgmt_ports(r, 0, 65535)
            } else {
                port_ranges(r).next().is_some()
            }
        },
        "nsg.azure-load-balancer",
        "AzureLoadBalancer inbound",
        "inbound traffic from AzureLoadBalancer",
    )];
    if v2 {
        let outbound = in_order(nsg, "Outbound");
        checks.push(first_rule(
            nsg,
            &outbound,
            |r| {
                covers(
                    r.destination_address_prefix.as_ref(),
                    &r.destination_address_prefixes,
                    "Internet",
                ) && touches_mgmt_ports(r, 443, 443)
            },
            "nsg.internet-outbound",
            "Internet outbound",
            "outbound traffic to the Internet",
        ));
    }
    checks
}

/// An IPv4 prefix `a.b.c.d/n` as (address, length).
fn cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = s.trim().split_once('/').unwrap_or((s.trim(), "32"));
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(addr), len))
}

/// Whether `outer` holds all of `inner` (IPv4 prefixes).
fn contains(outer: &str, inner: &str) -> bool {
    let (Some((o, ol)), Some((i, il))) = (cidr(outer), cidr(inner)) else {
        return false;
    };
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
    ol <= il && (o & mask) == (i & mask)
}

/// Whether this IPv4 address is inside one of these prefixes (a pool member inside a subnet).
pub fn holds(prefixes: &[String], ip: &str) -> bool {
    prefixes.iter().any(|p| contains(p, ip))
}

/// Whether a rule's sources cover the gateway subnet (`*`, `VirtualNetwork`, or a prefix holding
/// one of its ranges).
fn from_gateway_subnet(rule: &SecurityRule, gateway_prefixes: &[String]) -> bool {
    any_prefix(
        rule.source_address_prefix.as_ref(),
        &rule.source_address_prefixes,
        |s| {
            anywhere(s)
                || s.eq_ignore_ascii_case("VirtualNetwork")
                || gateway_prefixes.iter().any(|g| contains(s, g))
        },
    )
}

/// Whether a backend's NSG (on its NIC or subnet) admits the gateway subnet on every backend
/// port: inbound rules by priority, the first whose source covers the gateway subnet and whose
/// ports hold the port decides (KB 2.5 #3). `where_` names what the NSG sits on.
pub fn backend_nsg_check(
    nsg: &Nsg,
    where_: &str,
    gateway_prefixes: &[String],
    ports: &[u16],
) -> HostCheck {
    let rules = in_order(nsg, "Inbound");
    let mut denied = Vec::new();
    let mut allowed = Vec::new();
    for port in ports {
        let p = u32::from(*port);
        let decides = rules.iter().find(|r| {
            from_gateway_subnet(&r.properties, gateway_prefixes)
                && covers_mgmt_ports(&r.properties, p, p)
        });
        match decides {
            Some(r) if r.properties.access.eq_ignore_ascii_case("Allow") => {
                allowed.push(format!("{port} (rule {})", r.name));
            }
            Some(r) => denied.push(format!(
                "{port} (rule {}, priority {})",
                r.name, r.properties.priority
            )),
            None => denied.push(format!("{port} (no rule allows it)")),
        }
    }
    let (status, detail) = if denied.is_empty() {
        (
            CheckStatus::Pass,
            format!(
                "NSG {} on {where_} admits the gateway subnet on {}",
                nsg.name,
                allowed.join(", ")
            ),
        )
    } else {
        (
            CheckStatus::Fail,
            format!(
                "NSG {} on {where_} drops the gateway subnet on {}",
                nsg.name,
                denied.join(", ")
            ),
        )
    };
    HostCheck {
        id: format!("nsg.backend.{}", nsg.name),
        name: format!("backend NSG {} admits the gateway", nsg.name),
        status,
        detail,
    }
}

fn ports(r: &SecurityRule) -> String {
    port_specs(r).collect::<Vec<_>>().join(",")
}

/// On v2, a 0.0.0.0/0 route must have next hop Internet (KB 2.5 #10, UDR).
pub fn route_check(table: &RouteTable) -> HostCheck {
    let default = table
        .properties
        .routes
        .iter()
        .find(|r| r.properties.address_prefix.trim() == "0.0.0.0/0");
    let (status, detail) = match default {
        Some(r) if !r.properties.next_hop_type.eq_ignore_ascii_case("Internet") => (
            CheckStatus::Fail,
            format!(
                "route table {} sends 0.0.0.0/0 to {}{} (route {}); v2 needs next hop Internet",
                table.name,
                r.properties.next_hop_type,
                r.properties
                    .next_hop_ip_address
                    .as_deref()
                    .map(|ip| format!(" {ip}"))
                    .unwrap_or_default(),
                r.name
            ),
        ),
        Some(r) => (
            CheckStatus::Pass,
            format!(
                "route table {} sends 0.0.0.0/0 to Internet (route {})",
                table.name, r.name
            ),
        ),
        None => (
            CheckStatus::Pass,
            format!("route table {} has no 0.0.0.0/0 route", table.name),
        ),
    };
    // A default route learned over BGP overrides the table and is not in it (KB 9.1): say so
    // where propagation is on, which this read cannot settle.
    let detail = if table.properties.disable_bgp_route_propagation != Some(true) {
        format!(
            "{detail}; BGP route propagation is on, so a 0.0.0.0/0 advertised over ExpressRoute or VPN would override it and is not shown here"
        )
    } else {
        detail
    };
    HostCheck {
        id: "route-table.default-route".to_owned(),
        name: "gateway subnet default route".to_owned(),
        status,
        detail,
    }
}

/// Map one access-log row onto a class (KB 2.3), as `cloud502 logs` does for a saved record.
pub fn classify_row(status: u16, server_status: &str, error_info: &str) -> Option<LogClass> {
    let error_info = error_info.trim();
    cloud502_logs::appgw_class(
        status,
        server_status.trim().parse().ok(),
        (!error_info.is_empty()).then_some(error_info.as_bytes()),
    )
}

fn cell_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cell_u64(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f as u64),
        _ => None,
    }
}

/// Summarize the rows of our access-log query (columns `HttpStatus`, `ErrorInfo`, `ServerStatus`,
/// `ServerRouted`, `BackendPoolName`, `Requests`, `FirstSeen`, `LastSeen`).
///
/// With a `Bin` column (the 5xx rows' time bucket) and the `window` queried, each group keeps
/// its counts per bucket; without either (an older answer) groups have no timeline.
pub fn log_summary(
    id: &str,
    source: &str,
    table: &QueryTable,
    window: Option<&Timeline>,
) -> LogSummary {
    let col = |name: &str| table.columns.iter().position(|c| c.name == name);
    let (status_i, err_i, server_i, routed_i, pool_i, n_i, first_i, last_i) = (
        col("HttpStatus"),
        col("ErrorInfo"),
        col("ServerStatus"),
        col("ServerRouted"),
        col("BackendPoolName"),
        col("Requests"),
        col("FirstSeen"),
        col("LastSeen"),
    );
    let bin_i = col("Bin");
    let window_start = window.and_then(Timeline::start_secs);
    let get = |row: &Vec<serde_json::Value>, i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let mut lines = 0u64;
    let mut matched = 0u64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut groups: Vec<LogGroup> = Vec::new();
    let mut unparsed = 0u64;
    let (mut first_all, mut last_all): (Option<String>, Option<String>) = (None, None);
    for (i, row) in table.rows.iter().enumerate() {
        let (Some(status), Some(n)) = (
            cell_u64(&get(row, status_i)).and_then(|s| u16::try_from(s).ok()),
            cell_u64(&get(row, n_i)),
        ) else {
            unparsed += 1;
            continue;
        };
        lines += n;
        *counts.entry(status.to_string()).or_default() += n;
        let first = Some(cell_str(&get(row, first_i))).filter(|s| !s.is_empty());
        let last = Some(cell_str(&get(row, last_i))).filter(|s| !s.is_empty());
        if let Some(f) = &first
            && first_all.as_ref().is_none_or(|a| f < a)
        {
            first_all = Some(f.clone());
        }
        if let Some(l) = &last
            && last_all.as_ref().is_none_or(|a| l > a)
        {
            last_all = Some(l.clone());
        }
        let error_info = cell_str(&get(row, err_i));
        let server_status = cell_str(&get(row, server_i));
        let Some(class) = classify_row(status, &server_status, &error_info) else {
            continue;
        };
        matched += n;
        let routed = cell_str(&get(row, routed_i));
        let upstream = Some(routed.clone())
            .filter(|r| !r.is_empty() && r != "-")
            .or_else(|| Some(cell_str(&get(row, pool_i))).filter(|p| !p.is_empty()));
        let detail = Some(error_info).filter(|e| !e.trim().is_empty());
        let text = format!(
            "HttpStatus={status} ServerStatus={} ServerRouted={} ErrorInfo={} BackendPoolName={} Requests={n}",
            dash(&server_status),
            dash(&routed),
            dash(detail.as_deref().unwrap_or("")),
            dash(&cell_str(&get(row, pool_i))),
        );
        let bin = bin_i
            .and_then(|i| parse_rfc3339(&cell_str(&get(row, Some(i)))))
            .zip(window.zip(window_start));
        let gi = match groups
            .iter()
            .position(|g| g.class == class && g.upstream == upstream && g.status == Some(status))
        {
            Some(gi) => {
                let g = &mut groups[gi];
                g.count += n;
                if first.is_some() && (g.first_seen.is_none() || first < g.first_seen) {
                    g.first_seen = first;
                }
                if last.is_some() && last > g.last_seen {
                    g.last_seen = last;
                }
                gi
            }
            None => {
                groups.push(LogGroup {
                    timeline: None,
                    class,
                    upstream,
                    status: Some(status),
                    level: None,
                    detail,
                    count: n,
                    reused: None,
                    first_seen: first,
                    last_seen: last,
                    sample: LogSample {
                        line: i as u64 + 1,
                        text,
                    },
                });
                groups.len() - 1
            }
        };
        if let Some((secs, (w, start))) = bin {
            groups[gi]
                .timeline
                .get_or_insert_with(|| Timeline {
                    counts: vec![0; w.counts.len()],
                    ..w.clone()
                })
                .add(start, secs, n);
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
    let mut counts: Vec<LogCount> = counts
        .into_iter()
        .map(|(key, count)| LogCount { key, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    let samples = groups
        .iter()
        .take(5)
        .map(|g| g.sample.text.clone())
        .collect();
    LogSummary {
        id: id.to_owned(),
        source: source.to_owned(),
        dialect: "appgw-access".to_owned(),
        lines,
        matched,
        bytes: 0,
        skipped: cloud502_model::LogSkips {
            unparsed,
            ..Default::default()
        },
        first_seen: first_all,
        last_seen: last_all,
        counts,
        groups,
        samples,
    }
}

fn dash(s: &str) -> &str {
    if s.trim().is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::resources::QueryColumn;

    #[test]
    fn every_documented_probe_message_is_classified() {
        // KB 2.2, current and older wordings.
        let cases = [
            (
                "Time taken by the backend to respond to application gateway's health probe is more than the timeout threshold in the probe setting.",
                "probe-timeout",
            ),
            (
                "Probe timeout. Increase timeout value and try again.",
                "probe-timeout",
            ),
            (
                "Application Gateway could not create a probe for this backend. This usually happens when the FQDN of the backend has not been entered correctly.",
                "dns-failure",
            ),
            (
                "Application Gateway could not connect to the backend. Check that the backend responds on the port used for the probe. Also check whether any NSG/UDR/Firewall is blocking access to the Ip and port of this backend.",
                "connect-failure",
            ),
            (
                "Status code of the backend's HTTP response did not match the probe setting. Expected:200-399 Received:401.",
                "status-mismatch",
            ),
            (
                "Body of the backend's HTTP response did not match the probe setting. Received response body doesn't contain healthy.",
                "body-mismatch",
            ),
            (
                "The Common Name of the leaf certificate presented by the backend server does not match the Probe or Backend Setting hostname of the application gateway.",
                "cert-name-mismatch",
            ),
            ("Invalid certificate - Invalid CN.", "cert-name-mismatch"),
            (
                "Backend certificate is invalid. Current date is not within the \"Valid from\" and \"Valid to\" date range on the certificate.",
                "cert-expired",
            ),
            (
                "Backend server certificate expired. Please upload a valid certificate.",
                "cert-expired",
            ),
            (
                "The Intermediate certificate is missing from the certificate chain presented by the backend server. Ensure the certificate chain is complete.",
                "cert-chain",
            ),
            (
                "The Leaf certificate is missing from the certificate chain presented by the backend server.",
                "cert-chain",
            ),
            (
                "The Leaf certificate is not the topmost certificate in the chain presented by the backend server.",
                "cert-chain",
            ),
            (
                "The backend Server certificate is not signed by a well-known Certificate Authority (CA).",
                "cert-untrusted",
            ),
            (
                "The root certificate of the server certificate used by the backend doesn't match the trusted root certificate added to the application gateway.",
                "cert-untrusted",
            ),
            (
                "Backend server certificate is not whitelisted with Application Gateway.",
                "cert-untrusted",
            ),
            ("Invalid certificate - Invalid CA.", "cert-untrusted"),
            (
                "The validity of the backend certificate could not be verified. To find out the reason, check OpenSSL diagnostics for the message associated with error code 20",
                "cert-verify-failed",
            ),
            (
                "The backend health status could not be retrieved. This happens when an NSG/UDR/Firewall on the application gateway subnet is blocking traffic on ports 65503-65534 in case of v1 SKU, and ports 65200-65535 in case of the v2 SKU or if the FQDN configured in the backend pool could not be resolved to an IP address.",
                "health-unknown",
            ),
            ("Something new", "other"),
        ];
        for (log, want) in cases {
            assert_eq!(classify_probe_log(log), Some(want), "{log}");
        }
        assert_eq!(
            classify_probe_log("Success. Received 200 status code"),
            None
        );
    }

    fn rule(name: &str, prio: u32, access: &str, src: &str, ports: &str) -> Child<SecurityRule> {
        Child {
            id: String::new(),
            name: name.into(),
            properties: SecurityRule {
                direction: "Inbound".into(),
                access: access.into(),
                priority: prio,
                protocol: "*".into(),
                source_address_prefix: Some(src.into()),
                source_address_prefixes: vec![],
                destination_port_range: Some(ports.into()),
                destination_port_ranges: vec![],
                destination_address_prefix: Some("*".into()),
                destination_address_prefixes: vec![],
            },
        }
    }

    fn nsg(rules: Vec<Child<SecurityRule>>) -> Nsg {
        Nsg {
            name: "nsg-agw".into(),
            properties: crate::resources::NsgProps {
                security_rules: rules,
                default_security_rules: vec![rule("DenyAllInBound", 65500, "Deny", "*", "*")],
            },
        }
    }

    #[test]
    fn nsg_gateway_manager_rule() {
        let ok = nsg(vec![rule(
            "allow-gm",
            100,
            "Allow",
            "GatewayManager",
            "65200-65535",
        )]);
        assert_eq!(nsg_check(&ok, true).status, CheckStatus::Pass);
        let denied = nsg(vec![
            rule("deny-high", 100, "Deny", "*", "65000-65535"),
            rule("allow-gm", 200, "Allow", "GatewayManager", "65200-65535"),
        ]);
        let c = nsg_check(&denied, true);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.contains("deny-high"), "{}", c.detail);
        // v1 needs 65503-65534 only.
        let v1 = nsg(vec![rule(
            "allow-gm",
            100,
            "Allow",
            "GatewayManager",
            "65503-65534",
        )]);
        assert_eq!(nsg_check(&v1, false).status, CheckStatus::Pass);
        assert_eq!(nsg_check(&v1, true).status, CheckStatus::Fail);
        let missing = nsg(vec![rule("allow-https", 100, "Allow", "Internet", "443")]);
        let c = nsg_check(&missing, true);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.contains("DenyAllInBound"), "{}", c.detail);
    }

    #[test]
    fn rows_become_groups() {
        let table = QueryTable {
            name: "PrimaryResult".into(),
            columns: [
                "HttpStatus",
                "ErrorInfo",
                "ServerStatus",
                "ServerRouted",
                "BackendPoolName",
                "Requests",
                "FirstSeen",
                "LastSeen",
            ]
            .iter()
            .map(|n| QueryColumn {
                name: (*n).into(),
                kind: "string".into(),
            })
            .collect(),
            rows: vec![
                serde_json::json!([
                    200,
                    "",
                    "",
                    "",
                    "",
                    90,
                    "2026-11-20T10:00:00Z",
                    "2026-11-20T10:59:00Z"
                ])
                .as_array()
                .unwrap()
                .clone(),
                serde_json::json!([
                    502,
                    "ERRORINFO_UPSTREAM_CLOSED_CONNECTION",
                    "-",
                    "10.0.1.4:443",
                    "pool-a",
                    6,
                    "2026-11-20T10:01:00Z",
                    "2026-11-20T10:30:00Z"
                ])
                .as_array()
                .unwrap()
                .clone(),
                serde_json::json!([
                    502,
                    "",
                    "502",
                    "10.0.1.5:80",
                    "pool-a",
                    3,
                    "2026-11-20T10:02:00Z",
                    "2026-11-20T10:03:00Z"
                ])
                .as_array()
                .unwrap()
                .clone(),
                serde_json::json!([
                    504,
                    "ERRORINFO_UPSTREAM_TIMED_OUT",
                    "-",
                    "10.0.1.5:80",
                    "pool-a",
                    1,
                    "2026-11-20T10:04:00Z",
                    "2026-11-20T10:04:00Z"
                ])
                .as_array()
                .unwrap()
                .clone(),
                serde_json::json!(["x", "", "", "", "", 1, "", ""])
                    .as_array()
                    .unwrap()
                    .clone(),
            ],
        };
        let s = log_summary("log.0", "loganalytics:w:AGWAccessLogs", &table, None);
        assert_eq!(s.lines, 100);
        assert_eq!(s.matched, 10);
        assert_eq!(s.skipped.unparsed, 1);
        assert_eq!(s.counts[0].key, "200");
        assert_eq!(s.groups[0].class, LogClass::PrematureClose);
        assert_eq!(s.groups[0].upstream.as_deref(), Some("10.0.1.4:443"));
        assert_eq!(
            s.groups[0].detail.as_deref(),
            Some("ERRORINFO_UPSTREAM_CLOSED_CONNECTION")
        );
        assert_eq!(s.groups[1].class, LogClass::Status502FromUpstream);
        assert_eq!(s.groups[2].class, LogClass::ReadTimeout);
        assert_eq!(s.groups[2].status, Some(504));
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
    }

    /// The query's 5xx rows split per `Bin` (a shape written here after the query's own
    /// `summarize ... by ..., Bin`, in the documented tables/columns/rows layout): rows of one
    /// cause in several bins are one group with their counts per bucket; the 200 row (a null
    /// `Bin`) has no timeline.
    #[test]
    fn binned_rows_fill_each_groups_timeline() {
        let columns = [
            "HttpStatus",
            "ErrorInfo",
            "ServerStatus",
            "ServerRouted",
            "BackendPoolName",
            "Requests",
            "FirstSeen",
            "LastSeen",
            "Bin",
        ];
        let row = |v: serde_json::Value| v.as_array().unwrap().clone();
        let table = QueryTable {
            name: "PrimaryResult".into(),
            columns: columns
                .iter()
                .map(|n| QueryColumn {
                    name: (*n).into(),
                    kind: "string".into(),
                })
                .collect(),
            rows: vec![
                row(serde_json::json!([
                    200,
                    "",
                    "",
                    "",
                    "",
                    90,
                    "2026-11-20T10:00:00Z",
                    "2026-11-20T10:09:00Z",
                    null
                ])),
                row(serde_json::json!([
                    502,
                    "ERRORINFO_UPSTREAM_CLOSED_CONNECTION",
                    "-",
                    "10.0.1.4:443",
                    "pool-a",
                    4,
                    "2026-11-20T10:02:05Z",
                    "2026-11-20T10:02:50Z",
                    "2026-11-20T10:02:00Z"
                ])),
                row(serde_json::json!([
                    502,
                    "ERRORINFO_UPSTREAM_CLOSED_CONNECTION",
                    "-",
                    "10.0.1.4:443",
                    "pool-a",
                    7,
                    "2026-11-20T10:03:01Z",
                    "2026-11-20T10:03:59Z",
                    "2026-11-20T10:03:00.0000000Z"
                ])),
                row(serde_json::json!([
                    502,
                    "",
                    "502",
                    "10.0.1.5:80",
                    "pool-a",
                    2,
                    "2026-11-20T10:05:00Z",
                    "2026-11-20T10:05:10Z",
                    "2026-11-20T10:05:00Z"
                ])),
            ],
        };
        let t0 = parse_rfc3339("2026-11-20T10:00:00Z").unwrap();
        let window = Timeline::empty(t0, t0 + 599, 60);
        let s = log_summary(
            "log.0",
            "loganalytics:w:AGWAccessLogs",
            &table,
            Some(&window),
        );
        assert_eq!(s.groups.len(), 2);
        let closed = &s.groups[0];
        assert_eq!(closed.count, 11);
        assert_eq!(closed.first_seen.as_deref(), Some("2026-11-20T10:02:05Z"));
        assert_eq!(closed.last_seen.as_deref(), Some("2026-11-20T10:03:59Z"));
        let t = closed.timeline.as_ref().unwrap();
        assert_eq!(t.start, "2026-11-20T10:00:00Z");
        assert_eq!(t.bucket_seconds, 60);
        assert_eq!(t.counts, vec![0, 0, 4, 7, 0, 0, 0, 0, 0, 0]);
        let t = s.groups[1].timeline.as_ref().unwrap();
        assert_eq!(t.counts, vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
        // An answer without the Bin column (an older query, the official fixture) has none.
        let mut old = table.clone();
        old.columns.pop();
        for r in &mut old.rows {
            r.pop();
        }
        let s = log_summary("log.0", "loganalytics:w:AGWAccessLogs", &old, Some(&window));
        assert!(s.groups.iter().all(|g| g.timeline.is_none()));
        assert_eq!(s.groups[0].count, 11);
    }
}
