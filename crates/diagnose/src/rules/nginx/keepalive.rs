//! Upstream keep-alive set up so it cannot work or races the backend (KB 4.5, 4.7 #6): `keepalive`
//! without HTTP/1.1 and an empty Connection header, and a keepalive_timeout at or above the
//! backend's own idle timeout (read from its `Keep-Alive: timeout=N` header).

use crate::describe::{pool_id, route_id};
use crate::remediation::{adjust_timeouts, review_config};
use crate::rules::nginx::shared::{
    backend_probes, finding, peer, pool_keepalive, probe_peer, reuse_headers, seconds,
};
use crate::rules::{Rule, cite};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Pool, Route, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_keepalive",
    codes: &[
        FindingCode::NginxKeepaliveWithoutHttp11,
        FindingCode::NginxKeepaliveTimeoutTooLong,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    for route in &ev.config.routes {
        let Some(pool) = route.pool.as_deref().and_then(|p| ev.config.pool(p)) else {
            continue;
        };
        let Some(ka) = pool_keepalive(pool) else {
            continue;
        };
        if let Some(f) = without_http11(ev, route, pool, ka) {
            out.push(f);
        }
    }
    for pool in &ev.config.pools {
        if pool_keepalive(pool).is_some() {
            if let Some(f) = timeout_too_long(ev, pool) {
                out.push(f);
            }
        }
    }
}

fn without_http11(
    ev: &Evidence,
    route: &Route,
    pool: &Pool,
    ka: &cloud502_model::Setting,
) -> Option<Finding> {
    // keepalive is a proxy-module matter here; fastcgi needs fastcgi_keep_conn instead.
    if route.kind != cloud502_model::ForwardKind::Proxy {
        return None;
    }
    let (http11, cleared) = reuse_headers(ev, route);
    if http11 && cleared {
        return None;
    }
    let version = route.setting("proxy_http_version");
    let connection = route.setting("proxy_set_header Connection");
    let mut missing = Vec::new();
    if !http11 {
        missing.push(format!(
            "proxy_http_version is {}",
            version.map_or("1.0", |v| v.value.as_str())
        ));
    }
    if !cleared {
        missing.push(match connection {
            Some(c) => format!("Connection is set to \"{}\"", c.value),
            None => "the Connection header is not cleared (nginx sends \"close\")".to_owned(),
        });
    }
    let mut locations: Vec<_> = ka.location.iter().cloned().collect();
    locations.extend(route.location.clone());
    locations.extend(version.and_then(|v| v.location.clone()));
    Some(finding(
        FindingCode::NginxKeepaliveWithoutHttp11,
        Severity::Warning,
        Confidence::High,
        format!(
            "upstream {} sets keepalive, but {} does not reuse connections: {}",
            pool.name,
            route.label(),
            missing.join(" and ")
        ),
        format!(
            "`keepalive {}` in upstream {} keeps idle connections for reuse, but nginx only \
             reuses them for requests sent with HTTP/1.1 and without `Connection: close`. For {}: {}. Every request opens a new connection, which wastes ports and hides the keep-alive settings you think are in force.",
            ka.value,
            pool.name,
            route.label(),
            missing.join("; ")
        ),
        vec![route_id(route), pool_id(pool)]
            .into_iter()
            .filter(|id| ev.item(id).is_some())
            .collect(),
        locations,
        "The access log shows $upstream_connect_time 0.000 (reused connections) for this route.",
        vec![review_config(
            "Add `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";` to the \
             location (or server)",
            None,
        )],
    ))
}

fn timeout_too_long(ev: &Evidence, pool: &Pool) -> Option<Finding> {
    let nginx_timeout = pool.setting("keepalive_timeout");
    let nginx_secs = nginx_timeout
        .and_then(|s| seconds(&s.value))
        .unwrap_or(60.0);
    for probe in backend_probes(ev) {
        let peer_addr = probe_peer(probe);
        if !pool.members.iter().any(|m| peer(&m.address) == peer_addr) {
            continue;
        }
        let Some(backend_secs) = probe.http.as_ref().and_then(|h| {
            h.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("keep-alive"))
                .and_then(|h| {
                    h.value.split(',').find_map(|part| {
                        part.trim()
                            .strip_prefix("timeout=")
                            .and_then(|t| t.trim().parse::<f64>().ok())
                    })
                })
        }) else {
            continue;
        };
        if backend_secs > nginx_secs {
            continue;
        }
        let mut evidence = vec![pool_id(pool)];
        evidence.extend(cite(ev, probe, &["header", "target"]));
        evidence.retain(|id| ev.item(id).is_some());
        let mut locations: Vec<_> = nginx_timeout
            .and_then(|s| s.location.clone())
            .into_iter()
            .collect();
        locations.extend(pool.location.clone());
        return Some(finding(
            FindingCode::NginxKeepaliveTimeoutTooLong,
            Severity::Warning,
            Confidence::High,
            format!(
                "upstream {} keeps idle connections {nginx_secs}s but {peer_addr} closes them after {backend_secs}s",
                pool.name
            ),
            format!(
                "nginx may reuse an idle upstream connection for up to keepalive_timeout \
                 ({nginx_secs}s{}), but {peer_addr} announces `Keep-Alive: timeout={backend_secs}` \
                 and closes idle connections first. A request sent as it closes fails with \
                 \"upstream prematurely closed connection\" or a reset: an intermittent 502.",
                if nginx_timeout.is_none_or(|s| s.default) {
                    ", the default"
                } else {
                    ""
                }
            ),
            evidence,
            locations,
            "The backend's idle timeout is in fact longer (the header may not reflect its \
             configuration), or no intermittent premature-close 502s occur.",
            vec![adjust_timeouts(
                &format!(
                    "Set `keepalive_timeout {}s;` in upstream {} (below the backend's), or raise \
                     the backend's idle timeout above {nginx_secs}s",
                    (backend_secs - 1.0).max(1.0),
                    pool.name
                ),
                None,
            )],
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::{Header, Probe};

    #[test]
    fn keepalive_needs_http11_and_a_cleared_connection_header() {
        let ka = vec![setting("keepalive", "32")];
        let out = run_rule(check, &nginx(&["10.0.0.5:8080"], ka.clone(), Vec::new()));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, FindingCode::NginxKeepaliveWithoutHttp11);
        assert!(
            out[0].title.contains("proxy_http_version is 1.0"),
            "{}",
            out[0].title
        );
        assert!(!out[0].locations.is_empty());
        let good = vec![
            setting("proxy_http_version", "1.1"),
            setting("proxy_set_header Connection", ""),
        ];
        assert!(run_rule(check, &nginx(&["10.0.0.5:8080"], ka.clone(), good)).is_empty());
        // keepalive 0 turns reuse off: nothing to say.
        let off = vec![setting("keepalive", "0")];
        assert!(run_rule(check, &nginx(&["10.0.0.5:8080"], off, Vec::new())).is_empty());
        // From 1.29.7 the Connection header is cleared by default.
        let mut ev = nginx(
            &["10.0.0.5:8080"],
            ka,
            vec![setting("proxy_http_version", "1.1")],
        );
        assert_eq!(run_rule(check, &ev).len(), 1);
        ev.config.version = Some("nginx/1.29.7".into());
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn a_backend_idle_timeout_below_keepalive_timeout_is_flagged() {
        let good = vec![
            setting("proxy_http_version", "1.1"),
            setting("proxy_set_header Connection", ""),
        ];
        let mut ev = nginx(
            &["127.0.0.1:3000"],
            vec![
                setting("keepalive", "32"),
                setting("keepalive_timeout", "60s"),
            ],
            good,
        );
        let mut p: Probe = probe("http://127.0.0.1:3000/");
        p.id = "upstream.0".into();
        p.port = 3000;
        let mut http = response(200, "");
        http.headers.push(Header {
            name: "keep-alive".into(),
            value: "timeout=5".into(),
        });
        p.http = Some(http);
        ev.probes.push(p.clone());
        let out = run_rule(check, &ev);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].code, FindingCode::NginxKeepaliveTimeoutTooLong);
        assert!(
            out[0].title.contains("60s") && out[0].title.contains("5s"),
            "{}",
            out[0].title
        );
        // A backend that keeps connections longer than nginx is fine.
        if let Some(h) = ev.probes[0].http.as_mut() {
            h.headers[0].value = "timeout=75".into();
        }
        assert!(run_rule(check, &ev).is_empty());
    }
}
