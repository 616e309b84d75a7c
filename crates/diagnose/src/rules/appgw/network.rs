//! The gateway subnet's NSG and route table (KB 2.2 "Unknown", 2.5 #10): Azure's control plane
//! reaches the gateway instances through the GatewayManager service tag on 65200-65535 (v2;
//! 65503-65534 on v1), and v2 needs 0.0.0.0/0 to the Internet. When either is blocked, backend
//! health comes back Unknown with "could not be retrieved", and the gateway cannot be managed.
//!
//! The check gathers a `ManagementBlocked` fact; its text is beside it.

use crate::remediation::{check_backend, review_config};
use crate::rules::Rule;
use crate::rules::appgw::shared::{
    CHECK_DEFAULT_ROUTE, CHECK_GATEWAY_MANAGER, by_reason, failed_network_checks, finding,
    health_command, health_read, is_appgw, is_ip, is_v2, unit_items, units,
};
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HealthState, HostCheck, Layer,
    Remediation, Severity, Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_network",
    codes: &[FindingCode::AppgwGatewayManagerBlocked],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_appgw(ev) {
        return;
    }
    let failed = failed_network_checks(ev);
    let read = health_read(ev);
    let mut unknown: Vec<(String, &Target)> = Vec::new();
    let mut evidence: Vec<String> = failed.iter().map(|c| c.id.clone()).collect();
    let mut pool_down = false;
    if read {
        for unit in units(ev) {
            let u: Vec<_> = unit
                .failing(|r| r == "health-unknown")
                .into_iter()
                .filter(|(_, t)| t.health == HealthState::Unknown)
                .collect();
            if u.is_empty() {
                continue;
            }
            pool_down |= unit.none_healthy();
            evidence.extend(unit_items(ev, &unit, &u));
            unknown.extend(u);
        }
    }
    if failed.is_empty() && unknown.is_empty() {
        return;
    }
    let nsg_pass = ev
        .checks
        .iter()
        .find(|c| c.id == CHECK_GATEWAY_MANAGER && c.status == CheckStatus::Pass);
    let nsg_read = ev
        .checks
        .iter()
        .any(|c| c.id == CHECK_GATEWAY_MANAGER && c.status != CheckStatus::Skipped);
    if failed.is_empty() {
        if let Some(c) = nsg_pass {
            evidence.push(c.id.clone());
        }
    }
    // A 0.0.0.0/0 learned over BGP (ExpressRoute, VPN) overrides the subnet's routes and is in no
    // route table a GET returns; Azure shows it only in a NIC's effective routes, and the
    // gateway's instances expose no NIC (KB 9.1). Propagation is on unless the route table
    // turns it off, and always on without a route table.
    let bgp_unseen = is_v2(ev) == Some(true)
        && ev.checks.iter().any(|c| c.id == CHECK_GATEWAY_MANAGER)
        && ev
            .checks
            .iter()
            .find(|c| c.id == CHECK_DEFAULT_ROUTE)
            .is_none_or(|c| c.detail.contains("BGP route propagation is on"));
    out.push(Finding::from(ManagementBlocked {
        bgp_unseen,
        failed,
        unknown,
        health_read: read,
        pool_down,
        nsg_pass: nsg_pass.is_some(),
        nsg_read,
        v1: is_v2(ev) == Some(false),
        health_command: health_command(ev),
        evidence,
    }));
}

// ---- facts ----

/// The gateway subnet blocks Azure's management path, or health says Unknown as if it did.
struct ManagementBlocked<'a> {
    /// The NSG and route checks that failed.
    failed: Vec<&'a HostCheck>,
    /// Servers whose health could not be retrieved.
    unknown: Vec<(String, &'a Target)>,
    health_read: bool,
    /// A unit with Unknown servers has no healthy one.
    pool_down: bool,
    /// The GatewayManager NSG check passed; it was read at all.
    nsg_pass: bool,
    nsg_read: bool,
    /// The gateway is v1 (its management ports differ).
    v1: bool,
    /// v2 with BGP route propagation on the gateway subnet: a default route advertised over
    /// ExpressRoute or VPN would break the management path and cannot be read.
    bgp_unseen: bool,
    health_command: String,
    evidence: Vec<String>,
}

// ---- text ----

impl ManagementBlocked<'_> {
    fn severity_confidence(&self) -> (Severity, Confidence) {
        match (self.failed.is_empty(), self.unknown.is_empty()) {
            (false, false) => (Severity::Critical, Confidence::High),
            (false, true) if !self.health_read => (Severity::Critical, Confidence::Medium),
            (false, true) => (Severity::Warning, Confidence::Medium),
            (true, _) => (
                if self.pool_down {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                if self.nsg_pass {
                    Confidence::Low
                } else {
                    Confidence::Medium
                },
            ),
        }
    }

    /// The GatewayManager port range.
    fn ports(&self) -> &'static str {
        if self.v1 {
            "65503-65534 (v1)"
        } else {
            "65200-65535"
        }
    }

    /// The Unknown servers named by FQDN.
    fn fqdns(&self) -> Vec<&str> {
        self.unknown
            .iter()
            .filter_map(|(_, t)| t.address.as_deref())
            .filter(|a| !is_ip(a))
            .collect()
    }

    fn title(&self) -> String {
        if self.failed.is_empty() {
            // A passed NSG check is not "may block GatewayManager".
            let cause = if self.nsg_pass {
                format!(
                    " though the gateway subnet's NSG admits GatewayManager on {}: a route or a firewall blocks the management path",
                    self.ports()
                )
            } else {
                format!(
                    ": the gateway subnet may block GatewayManager on {}",
                    self.ports()
                )
            };
            format!(
                "backend health is Unknown for {} server(s){cause}{}",
                self.unknown.len(),
                if self.fqdns().is_empty() {
                    ""
                } else {
                    ", or the backend FQDN does not resolve"
                }
            )
        } else {
            format!(
                "the gateway subnet blocks Azure's management traffic ({}){}",
                self.failed
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                if self.unknown.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": backend health is Unknown for {} server(s)",
                        self.unknown.len()
                    )
                }
            )
        }
    }

    fn explanation(&self) -> String {
        let mut explanation = String::new();
        if !self.failed.is_empty() {
            explanation.push_str(&format!(
                "{}. ",
                self.failed
                    .iter()
                    .map(|c| format!("{}: {}", c.name, c.detail))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        explanation.push_str(&format!(
            "Azure reaches the gateway's instances through the GatewayManager service tag on \
             ports {}, and a v2 gateway needs its 0.0.0.0/0 route to go to the Internet; when \
             the gateway subnet's NSG blocks the first or a UDR sends the second to a firewall or \
             NVA, backend health cannot be retrieved (Unknown) and configuration changes fail.",
            self.ports()
        ));
        if !self.unknown.is_empty() {
            explanation.push_str(&format!(" {}.", by_reason(&self.unknown)));
        } else if !self.health_read {
            explanation.push_str(" Backend health was not read, so its state is not known.");
        } else {
            explanation.push_str(
                " Backend health was read without Unknown servers, though: the rule may have \
                 been added since, or traffic is allowed by a rule the check does not model.",
            );
        }
        if self.failed.is_empty() {
            explanation.push_str(match (self.nsg_pass, self.nsg_read) {
                (true, _) => {
                    " The NSG check passed, so the block is more likely elsewhere: a firewall, a \
                     route table not read, or, for FQDN backends, DNS."
                }
                (false, false) => " The gateway subnet's NSG and route table were not checked.",
                (false, true) => "",
            });
            if self.bgp_unseen {
                explanation.push_str(
                    " BGP route propagation is on for the gateway subnet, so a 0.0.0.0/0 \
                     advertised over ExpressRoute or VPN overrides its routes and sends the \
                     management traffic on-premises. Such a route is in no route table cloud502 \
                     can read (Azure shows it only in a NIC's effective routes, and the gateway's \
                     instances expose none): check what the virtual network gateway learns.",
                );
            }
            let fqdns = self.fqdns();
            if !fqdns.is_empty() {
                explanation.push_str(&format!(
                    " The same message is written when a backend FQDN ({}) cannot be resolved \
                     (appgw-backend-dns-failed).",
                    fqdns.join(", ")
                ));
            }
        }
        explanation
    }

    fn remediation(&self) -> Vec<Remediation> {
        let ports = self.ports();
        let mut steps = vec![review_config(
            &format!(
                "Allow inbound TCP {ports} from the GatewayManager service tag (and AzureLoadBalancer) on the gateway subnet's NSG, above any deny rule"
            ),
            Some(&format!(
                "az network nsg rule create -g <nsg-rg> --nsg-name <gateway-subnet-nsg> -n AllowGatewayManager --priority 100 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes GatewayManager --destination-address-prefixes '*' --destination-port-ranges {}",
                ports.split(' ').next().unwrap_or(ports)
            )),
        )];
        if self.failed.iter().any(|c| c.id == CHECK_DEFAULT_ROUTE) || self.failed.is_empty() {
            steps.push(review_config(
                "Remove the 0.0.0.0/0 route of the gateway subnet's route table, or give it next hop Internet (v2 does not support forced tunnelling of its own traffic)",
                Some("az network route-table route list -g <rt-rg> --route-table-name <gateway-subnet-route-table> -o table"),
            ));
        }
        if self.bgp_unseen && self.failed.is_empty() {
            steps.push(check_backend(
                "Look for a default route learned over BGP: list the routes the VNet's ExpressRoute or VPN gateway learns, and if 0.0.0.0/0 is among them, add a 0.0.0.0/0 route with next hop Internet to the gateway subnet's route table (or turn off BGP route propagation there)",
                Some("az network vnet-gateway list-learned-routes -g <vnet-gateway-rg> -n <vnet-gateway> -o table"),
            ));
        }
        steps.push(check_backend(
            "Read backend health again: the servers leave Unknown once the path is open",
            Some(&self.health_command),
        ));
        steps
    }
}

impl From<ManagementBlocked<'_>> for Finding {
    fn from(f: ManagementBlocked<'_>) -> Finding {
        let (severity, confidence) = f.severity_confidence();
        finding(
            FindingCode::AppgwGatewayManagerBlocked,
            severity,
            confidence,
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The gateway subnet's effective NSG admits GatewayManager on the port range and its \
             effective routes send 0.0.0.0/0 to the Internet, while health stays Unknown (then \
             DNS or a firewall is the cause).",
            f.remediation(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    fn unknown_server(address: &str) -> Target {
        server(
            address,
            HealthState::Unknown,
            Some("health-unknown"),
            UNKNOWN,
        )
    }

    #[test]
    fn a_user_deny_all_over_azure_load_balancer_is_a_blocked_management_path() {
        let mut ev = appgw(&[unknown_server("10.0.1.4")]);
        host_check(
            &mut ev,
            "nsg.azure-load-balancer",
            CheckStatus::Fail,
            "NSG nsg-agw rule deny-all-in (priority 4000) denies inbound traffic from AzureLoadBalancer before any rule allows it",
        );
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AppgwGatewayManagerBlocked);
        assert!(
            f[0].explanation.contains("deny-all-in"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].evidence
                .contains(&"nsg.azure-load-balancer".to_owned())
        );
    }

    #[test]
    fn unknown_health_with_a_failing_nsg_check_is_critical() {
        let mut ev = appgw(&[unknown_server("10.0.1.4"), unknown_server("10.0.1.5")]);
        host_check(
            &mut ev,
            "nsg.gateway-manager",
            CheckStatus::Fail,
            "nsg-agw: rule 4096 DenyAllInbound denies GatewayManager on 65200-65535",
        );
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::AppgwGatewayManagerBlocked);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert!(
            f[0].title.contains("GatewayManager inbound on 65200-65535"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("DenyAllInbound"));
        assert_eq!(f[0].evidence[0], "nsg.gateway-manager");
        assert!(f[0].evidence.contains(&"target.1".to_owned()));
    }

    #[test]
    fn a_failing_check_alone_yields_the_finding() {
        let mut ev = without_health(appgw(&[]));
        host_check(
            &mut ev,
            "route-table.default-route",
            CheckStatus::Fail,
            "rt-agw sends 0.0.0.0/0 to VirtualAppliance 10.0.9.4",
        );
        let f = run_rule(check, &ev);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::Medium)
        );
        assert_eq!(f[0].evidence, vec!["route-table.default-route"]);
        assert!(
            f[0].remediation
                .iter()
                .any(|r| r.step.contains("0.0.0.0/0"))
        );
    }

    #[test]
    fn unknown_health_with_bgp_propagation_on_names_the_unreadable_default_route() {
        let mut ev = appgw(&[unknown_server("10.0.1.4")]);
        host_check(
            &mut ev,
            "nsg.gateway-manager",
            CheckStatus::Pass,
            "nsg-agw: rule 100 AllowGatewayManager",
        );
        host_check(
            &mut ev,
            "route-table.default-route",
            CheckStatus::Pass,
            "route table rt-agw has no 0.0.0.0/0 route; BGP route propagation is on, so a 0.0.0.0/0 advertised over ExpressRoute or VPN would override it and is not shown here",
        );
        let f = run_rule(check, &ev);
        assert!(
            f[0].explanation
                .contains("advertised over ExpressRoute or VPN overrides its routes"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].remediation.iter().any(|r| r
                .command
                .as_deref()
                .is_some_and(|c| c.contains("list-learned-routes"))),
            "{:#?}",
            f[0].remediation
        );
        // Propagation turned off on the route table: no BGP route can apply.
        let mut ev = appgw(&[unknown_server("10.0.1.4")]);
        host_check(&mut ev, "nsg.gateway-manager", CheckStatus::Pass, "allowed");
        host_check(
            &mut ev,
            "route-table.default-route",
            CheckStatus::Pass,
            "route table rt-agw has no 0.0.0.0/0 route",
        );
        let f = run_rule(check, &ev);
        assert!(!f[0].explanation.contains("BGP"), "{}", f[0].explanation);
    }

    #[test]
    fn unknown_health_with_a_passing_check_is_low_confidence_and_mentions_dns() {
        let mut ev = appgw(&[unknown_server("api.internal.example")]);
        host_check(
            &mut ev,
            "nsg.gateway-manager",
            CheckStatus::Pass,
            "nsg-agw: rule 100 AllowGatewayManager",
        );
        let f = run_rule(check, &ev);
        assert_eq!(f[0].confidence, Confidence::Low);
        assert!(
            f[0].title.contains("FQDN does not resolve"),
            "{}",
            f[0].title
        );
        // The check passed: the title does not say the NSG may block GatewayManager.
        assert!(
            f[0].title
                .contains("though the gateway subnet's NSG admits GatewayManager")
                && !f[0].title.contains("may block"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("api.internal.example"));
        assert!(f[0].evidence.contains(&"nsg.gateway-manager".to_owned()));
        // unchecked NSG: medium
        let ev = appgw(&[unknown_server("10.0.1.4")]);
        assert_eq!(run_rule(check, &ev)[0].confidence, Confidence::Medium);
    }

    #[test]
    fn v1_names_its_own_port_range() {
        let mut ev = appgw(&[unknown_server("10.0.1.4")]);
        ev.config.settings.retain(|s| !s.name.starts_with("sku."));
        ev.config.version = Some("Standard_Medium".into());
        let f = run_rule(check, &ev);
        assert!(f[0].title.contains("65503-65534"), "{}", f[0].title);
    }

    #[test]
    fn passing_checks_and_healthy_servers_are_no_finding() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        host_check(&mut ev, "nsg.gateway-manager", CheckStatus::Pass, "ok");
        assert!(run_rule(check, &ev).is_empty());
    }
}
