//! Backend pools and their health (KB 2.1, 2.2, 2.5 #1, #2): a pool with no member, every server
//! of a pool failing its probe (no live upstream: the gateway answers 502 with
//! `ERRORINFO_UPSTREAM_NO_LIVE`), and some servers failing. The per-reason causes are the other
//! AppGW rules' findings; this one says how much of the pool is down.

use crate::remediation::{check_backend, review_config, scale_backend};
use crate::rules::Rule;
use crate::rules::appgw::shared::{
    az_args, by_reason, finding, gateway, has_logs, health_command, health_read, is_appgw,
    pool_item, route_items, unit_items, unit_routes, units, value,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, LogClass, Severity,
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
        empty_pools(ev, out);
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
        no_live_from_logs(ev, out);
    }
}

/// Pools a route forwards to and that have no member (KB 2.5 #1). A pool nothing routes to is
/// left alone; when no route was read at all, an empty pool is still worth a warning.
fn empty_pools(ev: &Evidence, out: &mut Vec<Finding>) {
    let no_live = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    let (_, gw) = gateway(ev);
    for pool in ev.config.pools.iter().filter(|p| p.members.is_empty()) {
        let routes: Vec<_> = ev
            .config
            .routes
            .iter()
            .filter(|r| r.pool.as_deref() == Some(pool.name.as_str()))
            .collect();
        if routes.is_empty() && !ev.config.routes.is_empty() {
            continue;
        }
        let servers = ev
            .targets
            .iter()
            .filter(|t| t.group.as_deref() == Some(pool.name.as_str()))
            .count();
        let read = health_read(ev);
        let mut evidence = pool_item(ev, &pool.name);
        evidence.extend(route_items(ev, &routes));
        evidence.extend(no_live.items.iter().cloned());
        let hosts: Vec<String> = routes
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
            .collect();
        let health_note = match (read, servers) {
            (true, 0) => " Backend health lists no server for it either.".to_owned(),
            (true, n) => format!(
                " Backend health still lists {n} server(s) for it: the configuration may have \
                 changed between the two reads."
            ),
            (false, _) => " Backend health could not be read to confirm it.".to_owned(),
        };
        out.push(finding(
            FindingCode::AppgwEmptyBackendPool,
            if routes.is_empty() {
                Severity::Warning
            } else {
                Severity::Critical
            },
            if routes.is_empty() || (read && servers > 0) {
                Confidence::Medium
            } else {
                Confidence::High
            },
            Layer::AzureAppgw,
            format!(
                "backend pool {} has no member: {}{}",
                pool.name,
                if routes.is_empty() {
                    "a route that uses it gets 502".to_owned()
                } else {
                    format!("the {} route(s) to it get 502", routes.len())
                },
                if no_live.count > 0 {
                    format!(
                        " ({} request(s) logged ERRORINFO_UPSTREAM_NO_LIVE)",
                        no_live.count
                    )
                } else {
                    String::new()
                }
            ),
            format!(
                "Pool {} of {gw} has no backend address and no NIC IP configuration, so the \
                 gateway has nothing to send its requests to and answers 502.{}{}{}",
                pool.name,
                if hosts.is_empty() {
                    " No routing rule was read.".to_owned()
                } else {
                    format!(" Routed to it: {}.", hosts.join("; "))
                },
                health_note,
                if no_live.count > 0 {
                    format!(
                        " The access log shows {} request(s) with ERRORINFO_UPSTREAM_NO_LIVE (no \
                         reachable backend).",
                        no_live.count
                    )
                } else {
                    String::new()
                }
            ),
            evidence,
            "The pool has backend addresses or NIC IP configurations now (it was filled after the \
             read, e.g. by AGIC or a scale set), or no routing rule sends traffic to it.",
            vec![
                scale_backend(
                    "Add the backends (IP addresses, FQDNs, or the VMs' / scale set's NICs) to the pool; if a controller fills it (AGIC, a scale set, a pipeline), find why it left the pool empty",
                    Some(&format!(
                        "az network application-gateway address-pool update -g {} --gateway-name {gw} -n {} --servers <ip-or-fqdn> [<ip-or-fqdn> ...]",
                        gateway(ev).0,
                        pool.name
                    )),
                ),
                check_backend(
                    "Check that the update finished (provisioningState Succeeded) and the new servers are healthy",
                    Some(&format!(
                        "az network application-gateway show {} --query provisioningState",
                        az_args(ev)
                    )),
                ),
            ],
        ));
    }
}

/// Every server of a (pool, HTTP settings) failing (KB 2.5 #2), or some of them.
fn unhealthy(ev: &Evidence, out: &mut Vec<Finding>) {
    let no_live = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    let all_units = units(ev);
    let several = all_units.len() > 1;
    for unit in &all_units {
        let unhealthy = unit.count(HealthState::Unhealthy);
        if unhealthy == 0 {
            continue;
        }
        let healthy = unit.count(HealthState::Healthy);
        let unknown = unit.count(HealthState::Unknown);
        let failing = unit.failing(|_| true);
        let failing_all: Vec<_> = unit
            .targets
            .iter()
            .filter(|(_, t)| matches!(t.health, HealthState::Unhealthy | HealthState::Unknown))
            .map(|(id, t)| (id.clone(), *t))
            .collect();
        // Servers without a reason still count; `failing` is only for the per-reason text.
        let listed = if failing.len() == failing_all.len() {
            failing
        } else {
            failing_all
        };
        let routes = unit_routes(ev, &unit.pool, &unit.settings);
        let probe = routes
            .first()
            .map(|r| format!(" Probe: {}.", crate::rules::appgw::shared::probe_text(r)))
            .unwrap_or_default();
        let mut evidence = unit_items(ev, unit, &listed);
        if healthy == 0 {
            evidence.extend(no_live.items.iter().cloned());
            let unknown_note = if unknown > 0 {
                format!(
                    " {unknown} server(s) are Unknown: the gateway could not probe them (see \
                     appgw-gateway-manager-blocked)."
                )
            } else {
                String::new()
            };
            let logs_note = if no_live.count > 0 {
                format!(
                    " The access log shows {} request(s) with ERRORINFO_UPSTREAM_NO_LIVE{}.",
                    no_live.count,
                    if several { " across the gateway" } else { "" }
                )
            } else if has_logs(ev) {
                " The access logs read show no ERRORINFO_UPSTREAM_NO_LIVE request: the pool may \
                 get no traffic, or the logs cover another window."
                    .to_owned()
            } else {
                String::new()
            };
            out.push(finding(
                FindingCode::AppgwAllBackendsUnhealthy,
                Severity::Critical,
                Confidence::High,
                Layer::AzureAppgw,
                format!(
                    "every backend of {} fails its health probe: no live upstream, so its requests get 502{}",
                    unit.label(),
                    if no_live.count > 0 {
                        format!(
                            " ({} request(s) logged ERRORINFO_UPSTREAM_NO_LIVE)",
                            no_live.count
                        )
                    } else {
                        String::new()
                    }
                ),
                format!(
                    "No server of {} is healthy: {}. Unlike an ALB, Application Gateway does not \
                     fail open: with no healthy member it has no live upstream and answers 502 \
                     itself (ERRORINFO_UPSTREAM_NO_LIVE).{unknown_note}{logs_note}{probe} \
                     The healthProbeLog of each server names the fix.",
                    unit.label(),
                    by_reason(&listed)
                ),
                evidence,
                "Backend health shows a server of the pool Up (Healthy) for this HTTP settings, or \
                 the probe succeeds against the servers when run by hand.",
                vec![
                    check_backend(
                        "Read each server's healthProbeLog: it names the cause (connect, DNS, status or body mismatch, timeout, certificate)",
                        Some(&health_command(ev)),
                    ),
                    review_config(
                        "Fix what it names (see the cause findings): start the service or open its port, fix DNS, serve the probe path with 200-399, fix the certificate or the host name",
                        None,
                    ),
                ],
            ));
        } else {
            out.push(finding(
                FindingCode::AppgwBackendsUnhealthy,
                Severity::Warning,
                Confidence::High,
                Layer::AzureAppgw,
                format!(
                    "{unhealthy} of {} backend(s) of {} fail their health probe",
                    unit.targets.len(),
                    unit.label()
                ),
                format!(
                    "{}. The gateway stops sending to them and {healthy} healthy server(s) carry \
                     the load; requests already on a server when it turned unhealthy can fail, \
                     and the rest have less headroom.{probe}",
                    by_reason(&listed)
                ),
                evidence,
                "Backend health shows these servers Up again.",
                vec![
                    check_backend(
                        "Read the failing servers' healthProbeLog and their own logs",
                        Some(&health_command(ev)),
                    ),
                    scale_backend("If they fail under load, add capacity to the pool", None),
                ],
            ));
        }
    }
}

/// `ERRORINFO_UPSTREAM_NO_LIVE` in the access logs with no health to say why: from
/// `cloud502 logs`, with health unreadable, or with health that has recovered since.
fn no_live_from_logs(ev: &Evidence, out: &mut Vec<Finding>) {
    let no_live = crate::rules::appgw::shared::lines(ev, &[LogClass::NoLiveUpstreams]);
    if no_live.count == 0 {
        return;
    }
    let read = health_read(ev);
    let (rg, gw) = gateway(ev);
    let servers = if no_live.targets.is_empty() {
        String::new()
    } else {
        format!(" (ServerRouted: {})", no_live.target_list())
    };
    let mut f = finding(
        FindingCode::AppgwAllBackendsUnhealthy,
        Severity::Critical,
        if read {
            Confidence::Low
        } else {
            Confidence::Medium
        },
        Layer::AzureAppgw,
        format!(
            "{} request(s) got 502 with ERRORINFO_UPSTREAM_NO_LIVE: the gateway had no live backend",
            no_live.count
        ),
        format!(
            "The access log records ERRORINFO_UPSTREAM_NO_LIVE for {} request(s){servers}: the \
             gateway found no reachable backend in the pool and answered 502 itself. Every member was failing its probe, or the pool was empty. {}",
            no_live.count,
            if read {
                "Backend health read now shows a healthy server for every pool: the backends \
                 failed during the window and recovered, so look at what happened then (deploys, \
                 restarts, scale-in)."
            } else {
                "Backend health was not read here, so which of the two, and why, is open: read it."
            }
        ),
        no_live.items.clone(),
        "Backend health at the time of the requests shows a healthy server in the pool, or the \
         502s carry another ErrorInfo.",
        vec![check_backend(
            "Read backend health and each server's healthProbeLog",
            Some(&format!(
                "az network application-gateway show-backend-health -g {rg} -n {gw}"
            )),
        )],
    );
    if !read && !rg.starts_with('<') {
        f.next_command = Some(format!("cloud502 azure -g {rg} --gw {gw}"));
    }
    out.push(f);
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
