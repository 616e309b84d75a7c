//! Why the gateway cannot talk to a backend, read from each server's `healthProbeLog` (KB 2.2):
//! no TCP connection (KB 2.5 #3), an FQDN that does not resolve (#4), a TLS certificate the
//! gateway rejects (#7). Probe settings that do not fit the backend are `appgw_probe`'s.
//!
//! The check gathers facts per unit (`Unreachable`, `DnsFailed`, `CertRejected`); each words its own
//! finding below them.

use crate::remediation::{check_backend, review_config, update_tls};
use crate::rules::Rule;
use crate::rules::appgw::shared::{
    CERT_REASONS, CHECK_GATEWAY_MANAGER, Unit, by_reason, endpoints, failed_backend_nsgs,
    failed_network_checks, finding, gateway, health_read, is_ip, unit_items, unit_routes, units,
    value,
};
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HealthState, Layer, Remediation,
    Route, Severity, Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_backends",
    codes: &[
        FindingCode::AppgwBackendUnreachable,
        FindingCode::AppgwBackendDnsFailed,
        FindingCode::AppgwBackendCertificate,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !health_read(ev) {
        return;
    }
    for unit in units(ev) {
        out.extend(unreachable(ev, &unit).map(Finding::from));
        out.extend(dns(ev, &unit).map(Finding::from));
        out.extend(certificate(ev, &unit).map(Finding::from));
    }
}

fn port(unit: &Unit<'_>) -> String {
    unit.targets
        .iter()
        .find_map(|(_, t)| t.port)
        .map_or_else(|| "<port>".to_owned(), |p| p.to_string())
}

fn unreachable<'a>(ev: &Evidence, unit: &Unit<'a>) -> Option<Unreachable<'a>> {
    let bad = unit.failing(|r| r == "connect-failure");
    if bad.is_empty() {
        return None;
    }
    let nsgs = failed_backend_nsgs(ev);
    let mut evidence = unit_items(ev, unit, &bad);
    evidence.extend(nsgs.iter().map(|c| c.id.clone()));
    Some(Unreachable {
        unit: UnitFacts::of(unit),
        port: port(unit),
        nsgs: nsgs.iter().map(|c| c.detail.clone()).collect(),
        evidence,
        bad,
    })
}

fn dns<'a>(ev: &Evidence, unit: &Unit<'a>) -> Option<DnsFailed<'a>> {
    let named = unit.failing(|r| r == "dns-failure");
    // "could not be retrieved" is also written when the backend's FQDN does not resolve (KB 2.2
    // Unknown): count FQDN servers only while the GatewayManager path is not known to be blocked.
    let network_blocked = !failed_network_checks(ev).is_empty();
    let unknown: Vec<(String, &Target)> = if network_blocked {
        Vec::new()
    } else {
        unit.failing(|r| r == "health-unknown")
            .into_iter()
            .filter(|(_, t)| t.health == HealthState::Unknown)
            .filter(|(_, t)| t.address.as_deref().is_some_and(|a| !is_ip(a)))
            .filter(|(_, t)| t.detail.as_deref().is_some_and(|d| d.contains("FQDN")))
            .collect()
    };
    if named.is_empty() && unknown.is_empty() {
        return None;
    }
    let named_any = !named.is_empty();
    let unknown_count = unknown.len();
    let mut bad = named;
    bad.extend(unknown);
    Some(DnsFailed {
        unit: UnitFacts::of(unit),
        named: named_any,
        unknown: unknown_count,
        nsg_pass: ev
            .checks
            .iter()
            .any(|c| c.id == CHECK_GATEWAY_MANAGER && c.status == CheckStatus::Pass),
        gateway: gateway(ev),
        evidence: unit_items(ev, unit, &bad),
        bad,
    })
}

fn certificate<'a>(ev: &'a Evidence, unit: &Unit<'a>) -> Option<CertRejected<'a>> {
    let bad = unit.failing(|r| CERT_REASONS.contains(&r));
    if bad.is_empty() {
        return None;
    }
    let mut problems: Vec<&str> = Vec::new();
    for (_, t) in &bad {
        if let Some(r) = t.reason.as_deref() {
            if !problems.contains(&r) {
                problems.push(r);
            }
        }
    }
    let routes = unit_routes(ev, &unit.pool, &unit.settings);
    Some(CertRejected {
        unit: UnitFacts::of(unit),
        problems,
        host: routes
            .first()
            .and_then(|r| {
                value(r, "hostName")
                    .or(value(r, "probe.host"))
                    .filter(|h| !h.starts_with('('))
            })
            .unwrap_or("<host-name>"),
        address: bad[0]
            .1
            .address
            .clone()
            .unwrap_or_else(|| "<backend-ip>".into()),
        port: port(unit),
        settings: unit.settings.clone(),
        route: routes.first().copied(),
        gateway: gateway(ev),
        evidence: unit_items(ev, unit, &bad),
        bad,
    })
}

// ---- facts ----

/// What every finding here says of its (pool, HTTP settings).
struct UnitFacts {
    /// `pool P (HTTP settings S)`.
    label: String,
    /// No server of the unit is healthy.
    none_healthy: bool,
}

impl UnitFacts {
    fn of(unit: &Unit<'_>) -> UnitFacts {
        UnitFacts {
            label: unit.label(),
            none_healthy: unit.none_healthy(),
        }
    }
}

/// Servers the gateway cannot open a TCP connection to.
struct Unreachable<'a> {
    unit: UnitFacts,
    /// The unit's backend port, or `<port>`.
    port: String,
    /// What the backend NSG checks that failed say (they drop the gateway subnet).
    nsgs: Vec<String>,
    bad: Vec<(String, &'a Target)>,
    evidence: Vec<String>,
}

/// Servers whose FQDN the gateway cannot resolve.
struct DnsFailed<'a> {
    unit: UnitFacts,
    /// Some server says so in words (`dns-failure`).
    named: bool,
    /// Servers Unknown with the "could not be retrieved" message and an FQDN.
    unknown: usize,
    /// The gateway subnet's NSG admits GatewayManager.
    nsg_pass: bool,
    gateway: (String, String),
    bad: Vec<(String, &'a Target)>,
    evidence: Vec<String>,
}

/// Servers whose TLS certificate the gateway rejects.
struct CertRejected<'a> {
    unit: UnitFacts,
    /// The certificate reasons seen, each once.
    problems: Vec<&'a str>,
    /// The host name the gateway sends, the first failing server's address and the port.
    host: &'a str,
    address: String,
    port: String,
    /// The unit's HTTP settings.
    settings: String,
    /// The first route to the unit: its HTTP settings' certificate checks.
    route: Option<&'a Route>,
    gateway: (String, String),
    bad: Vec<(String, &'a Target)>,
    evidence: Vec<String>,
}

// ---- text ----

impl UnitFacts {
    /// Critical when the unit has no healthy server left, else a warning: the others carry the
    /// load.
    fn severity(&self) -> Severity {
        if self.none_healthy {
            Severity::Critical
        } else {
            Severity::Warning
        }
    }
}

impl From<Unreachable<'_>> for Finding {
    fn from(f: Unreachable<'_>) -> Finding {
        let port = &f.port;
        finding(
            FindingCode::AppgwBackendUnreachable,
            f.unit.severity(),
            Confidence::High,
            Layer::AzureAppgw,
            format!(
                "the gateway cannot connect to {} backend(s) of {} on port {port}",
                f.bad.len(),
                f.unit.label
            ),
            format!(
                "{}. The gateway's TCP connection to the backend failed: nothing listens on port \
                 {port} (the service is down, or listens on another port or only on localhost), \
                 or an NSG on the backend's subnet or NIC, a UDR that sends the traffic through a \
                 firewall or NVA, or a host firewall drops it.{}",
                by_reason(&f.bad),
                if f.nsgs.is_empty() {
                    String::new()
                } else {
                    format!(" Read here: {}.", f.nsgs.join("; "))
                }
            ),
            f.evidence.clone(),
            "From a VM in the gateway's subnet (or its VNet), a TCP connection to the backend on \
             this port succeeds, and backend health turns Up.",
            vec![
                check_backend(
                    &format!(
                        "On the backend, check that the service runs and listens on port {port} on all interfaces"
                    ),
                    Some(&format!("ss -ltnp | grep ':{port} '   # on the backend")),
                ),
                check_backend(
                    "From a VM in the gateway's VNet, try the connection the gateway makes",
                    Some(&format!(
                        "nc -vz -w 5 {} {port}",
                        f.bad[0].1.address.as_deref().unwrap_or("<backend-ip>")
                    )),
                ),
                review_config(
                    &format!(
                        "Allow the gateway subnet to port {port} in the backend's NSGs (subnet and NIC), and check the gateway and backend subnets' route tables and any firewall in the path"
                    ),
                    Some(
                        "az network nic list-effective-nsg -g <backend-rg> -n <backend-nic> -o table",
                    ),
                ),
            ],
        )
    }
}

impl DnsFailed<'_> {
    fn confidence(&self) -> Confidence {
        if self.named {
            Confidence::High
        } else if self.nsg_pass {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    }

    /// The names that do not resolve.
    fn names(&self) -> Vec<String> {
        self.bad
            .iter()
            .filter_map(|(_, t)| t.address.clone())
            .collect()
    }

    fn explanation(&self) -> String {
        let mut explanation = format!(
            "{}. The gateway resolves backend FQDNs with the DNS servers of its VNet: a typo in \
             the FQDN, a name only a private DNS zone knows while that zone is not linked to the \
             gateway's VNet, or a custom DNS server that cannot resolve it or cannot be reached \
             leaves the gateway without an address.",
            by_reason(&self.bad)
        );
        if self.unknown > 0 {
            explanation.push_str(&format!(
                " {} server(s) are Unknown with the \"could not be retrieved\" message, which \
                 also covers an FQDN that does not resolve; {}",
                self.unknown,
                if self.nsg_pass {
                    "the gateway subnet's NSG admits GatewayManager, which makes DNS the likelier reading."
                } else {
                    "a blocked GatewayManager path is the other reading (appgw-gateway-manager-blocked)."
                }
            ));
        }
        explanation
    }
}

impl From<DnsFailed<'_>> for Finding {
    fn from(f: DnsFailed<'_>) -> Finding {
        let names = f.names();
        let (rg, gw) = &f.gateway;
        finding(
            FindingCode::AppgwBackendDnsFailed,
            f.unit.severity(),
            f.confidence(),
            Layer::AzureAppgw,
            format!(
                "the gateway cannot resolve the FQDN of {} backend(s) of {}: {}",
                f.bad.len(),
                f.unit.label,
                names.join(", ")
            ),
            f.explanation(),
            f.evidence.clone(),
            "The FQDN resolves from a VM in the gateway's VNet (same DNS servers), and backend \
             health turns Up after the gateway is updated.",
            vec![
                check_backend(
                    "Resolve the name from a VM in the gateway's VNet, which uses the same DNS servers",
                    Some(&format!(
                        "nslookup {}",
                        names.first().map_or("<backend-fqdn>", String::as_str)
                    )),
                ),
                review_config(
                    "Fix the FQDN in the pool, or the VNet's DNS: link the private DNS zone to the gateway's VNet, or make the custom DNS server resolve (or forward) the name",
                    Some(
                        "az network vnet show -g <vnet-rg> -n <vnet> --query dhcpOptions.dnsServers",
                    ),
                ),
                review_config(
                    "After fixing DNS, update the gateway once: a PUT makes it resolve the backends again (it caches the last result)",
                    Some(&format!(
                        "az network application-gateway update -g {rg} -n {gw}"
                    )),
                ),
            ],
        )
    }
}

impl CertRejected<'_> {
    /// The step that fixes one certificate problem.
    fn fix(&self, problem: &str) -> Remediation {
        let (rg, gw) = &self.gateway;
        match problem {
            "cert-name-mismatch" => review_config(
                "Make the names agree: set the HTTP settings' hostName (and the probe's host, or pickHostNameFromBackendHttpSettings) to a name the certificate covers, or reissue the certificate for the name the gateway sends",
                Some(&format!(
                    "az network application-gateway http-settings update -g {rg} --gateway-name {gw} -n {} --host-name <name-on-the-certificate>",
                    if self.settings.is_empty() {
                        "<http-settings>"
                    } else {
                        &self.settings
                    }
                )),
            ),
            "cert-expired" => update_tls(
                "Renew the backend's certificate and install it on the backend (check the server's clock too)",
                None,
            ),
            "cert-chain" => update_tls(
                "Serve the full chain from the backend, leaf first, then the intermediates",
                None,
            ),
            "cert-trusted-root-unreadable" => review_config(
                "Upload the backend's root certificate again as a trusted root of the HTTP settings: the one there is corrupt or holds no certificate (a Base-64 .cer of the root, not the leaf)",
                Some(&format!(
                    "az network application-gateway root-cert create -g {rg} --gateway-name {gw} -n backend-root --cert-file root.cer"
                )),
            ),
            "tls-handshake" => update_tls(
                "Check the backend's TLS: a protocol version and cipher the gateway offers, a certificate it trusts, and the SNI it sends",
                None,
            ),
            "cert-untrusted" => review_config(
                "For a private CA or self-signed certificate, upload its root (.cer) as a trusted root certificate of the HTTP settings; for a public CA, serve the intermediates",
                Some(&format!(
                    "az network application-gateway root-cert create -g {rg} --gateway-name {gw} -n backend-root --cert-file root.cer"
                )),
            ),
            _ => update_tls(
                "Check the certificate with OpenSSL: the error code in the message names the problem",
                None,
            ),
        }
    }

    fn remediation(&self) -> Vec<Remediation> {
        let openssl = format!(
            "openssl s_client -connect {}:{} -servername {} -showcerts </dev/null | openssl x509 -noout -subject -issuer -dates -ext subjectAltName",
            self.address, self.port, self.host
        );
        let mut steps = vec![check_backend(
            "Look at what the backend presents for the name the gateway sends (SNI)",
            Some(&openssl),
        )];
        steps.extend(self.problems.iter().map(|p| self.fix(p)));
        steps
    }

    /// What the HTTP settings already say about the checks that fail: the trusted roots
    /// uploaded, and a check turned off (then the message comes from another check).
    fn settings_note(&self) -> String {
        let Some(r) = self.route else {
            return String::new();
        };
        let mut notes = Vec::new();
        if let Some(roots) = value(r, "trustedRootCertificates") {
            notes.push(format!(
                "the HTTP settings trust the uploaded root(s) {roots}"
            ));
        } else if self.problems.contains(&"cert-untrusted") {
            notes.push("the HTTP settings have no trusted root certificate uploaded".to_owned());
        }
        if let Some(certs) = value(r, "authenticationCertificates") {
            notes.push(format!(
                "the HTTP settings hold authentication certificate(s) {certs} (v1: the backend's                  certificate must be one of them)"
            ));
        }
        for (name, what) in [
            ("validateSNI", "the certificate's name is"),
            ("validateCertChainAndExpiry", "its chain and dates are"),
        ] {
            if r.setting(name).is_some_and(|s| s.value == "false") {
                notes.push(format!("{name} is false, so {what} not checked"));
            }
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!(" Here {}.", notes.join("; "))
        }
    }
}

impl From<CertRejected<'_>> for Finding {
    fn from(f: CertRejected<'_>) -> Finding {
        finding(
            FindingCode::AppgwBackendCertificate,
            f.unit.severity(),
            Confidence::High,
            Layer::AzureAppgw,
            format!(
                "the gateway rejects the TLS certificate of {} backend(s) of {}: {}",
                f.bad.len(),
                f.unit.label,
                f.problems
                    .iter()
                    .map(|p| crate::rules::appgw::shared::reason_label(Some(p)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "{}. With HTTPS to the backend, the gateway checks the certificate the backend \
                 presents: its name against the HTTP settings' or probe's host name (v2), its \
                 dates, its chain, and its root against a well-known CA or the trusted root \
                 certificates uploaded to the HTTP settings. Requests fail the same way: \
                 \"Upstream SSL certificate does not match\". Servers: {}.{}",
                by_reason(&f.bad),
                endpoints(&f.bad),
                f.settings_note()
            ),
            f.evidence.clone(),
            "`openssl s_client` against the backend shows a current certificate, with the full \
             chain and a name matching the host name the gateway sends, from a CA the gateway \
             trusts.",
            f.remediation(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    #[test]
    fn connect_failures_name_the_servers_and_the_port() {
        let ev = appgw(&[
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
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::AppgwBackendUnreachable);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(
            f[0].title.contains("2 backend(s) of pool web"),
            "{}",
            f[0].title
        );
        assert!(f[0].title.contains("port 8080"));
        assert!(
            f[0].explanation
                .contains("\"Application Gateway could not connect")
        );
        assert_eq!(
            f[0].evidence,
            vec!["target.0", "target.1", "config.pool.web", "config.route.0"]
        );
        assert!(!f[0].disproved_by.is_empty());
    }

    #[test]
    fn a_failing_server_beside_a_healthy_one_is_a_warning() {
        let ev = appgw(&[
            healthy("10.0.1.4"),
            server(
                "10.0.1.5",
                HealthState::Unhealthy,
                Some("connect-failure"),
                CONNECT,
            ),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].evidence[0], "target.1");
    }

    #[test]
    fn dns_failures_and_unknown_fqdns() {
        let ev = appgw(&[server(
            "api.internal.example",
            HealthState::Unhealthy,
            Some("dns-failure"),
            DNS,
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AppgwBackendDnsFailed);
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(
            f[0].title.contains("api.internal.example"),
            "{}",
            f[0].title
        );
        assert!(f[0].remediation.iter().any(|r| r.step.contains("PUT")));
        // Unknown on an FQDN: DNS is one reading, likelier when the NSG admits GatewayManager
        let mut ev = appgw(&[server(
            "api.internal.example",
            HealthState::Unknown,
            Some("health-unknown"),
            UNKNOWN,
        )]);
        assert_eq!(run_rule(check, &ev)[0].confidence, Confidence::Low);
        check_of(&mut ev, CheckStatus::Pass);
        assert_eq!(run_rule(check, &ev)[0].confidence, Confidence::Medium);
        // ... and none when the NSG is known to block it
        ev.checks[0].status = CheckStatus::Fail;
        assert!(run_rule(check, &ev).is_empty());
        // an IP address cannot fail to resolve
        let ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unknown,
            Some("health-unknown"),
            UNKNOWN,
        )]);
        assert!(run_rule(check, &ev).is_empty());
    }

    fn check_of(ev: &mut Evidence, status: CheckStatus) {
        host_check(
            ev,
            "nsg.gateway-manager",
            status,
            "nsg-agw rule 100 AllowGatewayManager",
        );
    }

    #[test]
    fn certificate_problems_say_which() {
        let ev = appgw(&[
            server(
                "10.0.1.4",
                HealthState::Unhealthy,
                Some("cert-expired"),
                EXPIRED,
            ),
            server(
                "10.0.1.5",
                HealthState::Unhealthy,
                Some("cert-name-mismatch"),
                CN,
            ),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::AppgwBackendCertificate);
        assert!(f[0].title.contains("validity dates"), "{}", f[0].title);
        assert!(f[0].title.contains("does not match"), "{}", f[0].title);
        assert!(f[0].explanation.contains("Valid from"));
        assert!(f[0].remediation.iter().any(|r| {
            r.command
                .as_deref()
                .is_some_and(|c| c.contains("--host-name"))
        }));
    }

    #[test]
    fn tls_failures_count_as_certificate_problems_and_the_settings_are_said() {
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("tls-handshake"),
            "HTTPS probe connection error. Check if backend server certificate is whitelisted. Check for backend certificate validity.",
        )]);
        ev.config.routes[0].settings.push(s("validateSNI", "false"));
        redescribe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AppgwBackendCertificate);
        assert!(
            f[0].title
                .contains("the TLS connection to the backend failed"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].explanation
                .contains("validateSNI is false, so the certificate's name is not checked"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn a_failing_backend_nsg_check_is_cited_by_the_connect_failure() {
        let mut ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("connect-failure"),
            CONNECT,
        )]);
        host_check(
            &mut ev,
            "nsg.backend.nsg-app",
            CheckStatus::Fail,
            "NSG nsg-app on NIC vm1-nic drops the gateway subnet on 8080 (rule deny-agw, priority 200)",
        );
        let f = run_rule(check, &ev);
        assert!(
            f[0].evidence.contains(&"nsg.backend.nsg-app".to_owned()),
            "{:?}",
            f[0].evidence
        );
        assert!(f[0].explanation.contains("Read here: NSG nsg-app"));
    }

    #[test]
    fn healthy_servers_or_unread_health_are_no_finding() {
        let ev = appgw(&[healthy("10.0.1.4")]);
        assert!(run_rule(check, &ev).is_empty());
        let ev = without_health(appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("connect-failure"),
            CONNECT,
        )]));
        assert!(run_rule(check, &ev).is_empty());
        // other reasons belong to other rules
        let ev = appgw(&[server(
            "10.0.1.4",
            HealthState::Unhealthy,
            Some("status-mismatch"),
            &mismatch(404),
        )]);
        assert!(run_rule(check, &ev).is_empty());
    }
}
