//! Upstream keep-alive set up so it cannot work or races the backend (KB 4.5, 4.7 #6): `keepalive`
//! without HTTP/1.1 and an empty Connection header, and a keepalive_timeout at or above the
//! backend's own idle timeout (read from its `Keep-Alive: timeout=N` header).
//!
//! The check gathers facts (`NoReuse`, `TimeoutTooLong`); each words its own finding below them.

use crate::describe::{pool_id, route_id};
use crate::remediation::{adjust_timeouts, review_config};
use crate::rules::nginx::shared::{
    backend_probes, finding, peer, pool_keepalive, probe_peer, reuse_headers, seconds,
};
use crate::rules::{Rule, cite};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Pool, Route, Setting, Severity, SourceLocation,
};

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
        out.extend(without_http11(ev, route, pool, ka).map(Finding::from));
    }
    for pool in &ev.config.pools {
        if pool_keepalive(pool).is_some() {
            out.extend(timeout_too_long(ev, pool).map(Finding::from));
        }
    }
}

fn without_http11<'a>(
    ev: &Evidence,
    route: &'a Route,
    pool: &'a Pool,
    ka: &'a Setting,
) -> Option<NoReuse<'a>> {
    // keepalive is a proxy-module matter here; fastcgi needs fastcgi_keep_conn instead.
    if route.kind != cloud502_model::ForwardKind::Proxy {
        return None;
    }
    let (http11, cleared) = reuse_headers(ev, route);
    // a Connection header whose value cannot be told (a variable no readable `map` defines) is
    // not blamed: ingress-nginx's `$connection_upgrade` is empty for ordinary requests
    if http11 && cleared != Some(false) {
        return None;
    }
    let cleared = cleared != Some(false);
    let version = route.setting("proxy_http_version");
    let mut locations: Vec<_> = ka.location.iter().cloned().collect();
    locations.extend(route.location.clone());
    locations.extend(version.and_then(|v| v.location.clone()));
    Some(NoReuse {
        route,
        pool,
        keepalive: &ka.value,
        version: (!http11).then(|| version.map_or("1.0", |v| v.value.as_str())),
        connection: (!cleared).then(|| {
            route
                .setting("proxy_set_header Connection")
                .map(|c| c.value.as_str())
        }),
        evidence: vec![route_id(route), pool_id(pool)]
            .into_iter()
            .filter(|id| ev.item(id).is_some())
            .collect(),
        locations,
    })
}

fn timeout_too_long<'a>(ev: &Evidence, pool: &'a Pool) -> Option<TimeoutTooLong<'a>> {
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
        return Some(TimeoutTooLong {
            pool,
            nginx_secs,
            nginx_default: nginx_timeout.is_none_or(|s| s.default),
            peer: peer_addr,
            backend_secs,
            evidence,
            locations,
        });
    }
    None
}

// ---- facts ----

/// A route to a keepalive upstream that sends requests nginx cannot reuse connections for.
struct NoReuse<'a> {
    route: &'a Route,
    pool: &'a Pool,
    /// The upstream's `keepalive` value.
    keepalive: &'a str,
    /// proxy_http_version, when not 1.1.
    version: Option<&'a str>,
    /// The Connection header set, when not cleared (`None` inside: not set at all).
    connection: Option<Option<&'a str>>,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
}

/// An upstream whose keepalive_timeout is at or above a backend's announced idle timeout.
struct TimeoutTooLong<'a> {
    pool: &'a Pool,
    /// nginx's keepalive_timeout, seconds, and whether it is the default.
    nginx_secs: f64,
    nginx_default: bool,
    /// The backend and its `Keep-Alive: timeout=N`.
    peer: String,
    backend_secs: f64,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
}

// ---- text ----

impl NoReuse<'_> {
    /// What keeps nginx from reusing connections, a clause each.
    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if let Some(version) = self.version {
            missing.push(format!("proxy_http_version is {version}"));
        }
        if let Some(connection) = self.connection {
            missing.push(match connection {
                Some(c) => format!("Connection is set to \"{c}\""),
                None => "the Connection header is not cleared (nginx sends \"close\")".to_owned(),
            });
        }
        missing
    }
}

impl From<NoReuse<'_>> for Finding {
    fn from(f: NoReuse<'_>) -> Finding {
        let missing = f.missing();
        let (pool, route) = (&f.pool.name, f.route.label());
        finding(
            FindingCode::NginxKeepaliveWithoutHttp11,
            Severity::Warning,
            Confidence::High,
            format!(
                "upstream {pool} sets keepalive, but {route} does not reuse connections: {}",
                missing.join(" and ")
            ),
            format!(
                "`keepalive {}` in upstream {pool} keeps idle connections for reuse, but nginx \
                 only reuses them for requests sent with HTTP/1.1 and without `Connection: \
                 close`. For {route}: {}. Every request opens a new connection, which wastes \
                 ports and hides the keep-alive settings you think are in force.",
                f.keepalive,
                missing.join("; ")
            ),
            f.evidence,
            f.locations,
            "The access log shows $upstream_connect_time 0.000 (reused connections) for this \
             route.",
            vec![review_config(
                "Add `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";` to the \
                 location (or server)",
                None,
            )],
        )
    }
}

impl From<TimeoutTooLong<'_>> for Finding {
    fn from(f: TimeoutTooLong<'_>) -> Finding {
        let (pool, peer_addr) = (&f.pool.name, &f.peer);
        let (nginx_secs, backend_secs) = (f.nginx_secs, f.backend_secs);
        finding(
            FindingCode::NginxKeepaliveTimeoutTooLong,
            Severity::Warning,
            Confidence::High,
            format!(
                "upstream {pool} keeps idle connections {nginx_secs}s but {peer_addr} closes them after {backend_secs}s"
            ),
            format!(
                "nginx may reuse an idle upstream connection for up to keepalive_timeout \
                 ({nginx_secs}s{}), but {peer_addr} announces `Keep-Alive: \
                 timeout={backend_secs}` and closes idle connections first. A request sent as it \
                 closes fails with \"upstream prematurely closed connection\" or a reset: an \
                 intermittent 502.",
                if f.nginx_default { ", the default" } else { "" }
            ),
            f.evidence,
            f.locations,
            "The backend's idle timeout is in fact longer (the header may not reflect its \
             configuration), or no intermittent premature-close 502s occur.",
            vec![adjust_timeouts(
                &format!(
                    "Set `keepalive_timeout {}s;` in upstream {pool} (below the backend's), or \
                     raise the backend's idle timeout above {nginx_secs}s",
                    (backend_secs - 1.0).max(1.0)
                ),
                None,
            )],
        )
    }
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
