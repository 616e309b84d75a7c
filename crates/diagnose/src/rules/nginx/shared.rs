//! What the nginx rules share: reading log groups, backend probes and config for one upstream.
//! Not a rule itself.

use crate::describe::{log_group_id, pool_id, route_id};
use crate::rules::{BACKEND_PROBE_PREFIX, dedup};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, LogClass, LogSample, Pool, Probe,
    Remediation, Route, Setting, Severity, SourceLocation,
};

/// Whether a log dialect is one of nginx's.
pub(crate) fn is_nginx_log(dialect: &str) -> bool {
    dialect.starts_with("nginx-")
}

/// Log lines of some classes, for one upstream or all.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Lines in error logs.
    pub error_lines: u64,
    /// Lines in access logs.
    pub access_lines: u64,
    /// Access-log lines on a reused upstream connection.
    pub reused: u64,
    /// Upstreams named, most lines first.
    pub upstreams: Vec<(String, u64)>,
    /// Item ids of the groups.
    pub items: Vec<String>,
    /// The first line of the largest group: source and sample.
    pub sample: Option<(String, LogSample)>,
    /// The first detail seen (errno text, SSL error, header).
    pub detail: Option<String>,
    /// Classes seen.
    pub classes: Vec<LogClass>,
}

impl Seen {
    /// Requests these lines stand for: error-log lines when there are any (the access log counts
    /// the same requests again), else access-log lines.
    pub fn count(&self) -> u64 {
        if self.error_lines > 0 {
            self.error_lines
        } else {
            self.access_lines
        }
    }

    pub fn is_empty(&self) -> bool {
        self.error_lines == 0 && self.access_lines == 0
    }

    /// "1 upstream" or the list.
    pub fn upstream_list(&self) -> String {
        let names: Vec<&str> = self.upstreams.iter().map(|(u, _)| u.as_str()).collect();
        if names.is_empty() {
            "the upstream".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// `error.log:17: <line>` for the explanation.
    pub fn quote(&self) -> String {
        match &self.sample {
            Some((source, s)) => format!("{}:{}: {}", source, s.line, s.text),
            None => String::new(),
        }
    }
}

/// Gather nginx log groups of these classes, optionally only those naming `upstream`.
pub(crate) fn seen(ev: &Evidence, classes: &[LogClass], upstream: Option<&str>) -> Seen {
    seen_where(ev, classes, |u| upstream.is_none() || u == upstream)
}

/// Gather nginx log groups of these classes whose upstream passes `keep`.
pub(crate) fn seen_where(
    ev: &Evidence,
    classes: &[LogClass],
    keep: impl Fn(Option<&str>) -> bool,
) -> Seen {
    let mut seen = Seen::default();
    let mut best = 0;
    for log in ev.logs.iter().filter(|l| is_nginx_log(&l.dialect)) {
        let access = log.dialect == "nginx-access";
        for (i, g) in log.groups.iter().enumerate() {
            if !classes.contains(&g.class) || !keep(g.upstream.as_deref()) {
                continue;
            }
            if access {
                seen.access_lines += g.count;
                seen.reused += g.reused.unwrap_or(0);
            } else {
                seen.error_lines += g.count;
            }
            if !seen.classes.contains(&g.class) {
                seen.classes.push(g.class);
            }
            if let Some(u) = &g.upstream {
                match seen.upstreams.iter_mut().find(|(name, _)| name == u) {
                    Some((_, n)) => *n += g.count,
                    None => seen.upstreams.push((u.clone(), g.count)),
                }
            }
            seen.items.push(log_group_id(log, i));
            // Error-log samples say more than access-log ones.
            let weight = g.count + if access { 0 } else { u64::MAX / 2 };
            if weight > best {
                best = weight;
                seen.sample = Some((log.source.clone(), g.sample.clone()));
                if g.detail.is_some() {
                    seen.detail = g.detail.clone();
                }
            }
            if seen.detail.is_none() {
                seen.detail = g.detail.clone();
            }
        }
    }
    seen.upstreams.sort_by_key(|u| std::cmp::Reverse(u.1));
    seen
}

/// Upstreams some error log names: their failures are explained there, so access-log signatures
/// for them add nothing.
pub(crate) fn explained_upstreams(ev: &Evidence) -> Vec<&str> {
    ev.logs
        .iter()
        .filter(|l| l.dialect == "nginx-error")
        .flat_map(|l| l.groups.iter().filter_map(|g| g.upstream.as_deref()))
        .collect()
}

/// The pool's `keepalive` when it keeps idle connections (not `keepalive 0`).
pub(crate) fn pool_keepalive(pool: &Pool) -> Option<&Setting> {
    pool.setting("keepalive").filter(|k| k.value.trim() != "0")
}

/// Whether the route sends HTTP/1.1 and whether it clears the Connection header (explicitly, or
/// by the defaults from 1.29.7 on, KB 0.4): both are needed for nginx to reuse a connection.
pub(crate) fn reuse_headers(ev: &Evidence, route: &Route) -> (bool, Option<bool>) {
    let http11 = route
        .setting("proxy_http_version")
        .is_some_and(|v| v.value.trim() == "1.1");
    let cleared = match route.setting("proxy_set_header Connection") {
        Some(c) => header_value(ev, c.value.trim()).map(|v| v.trim().is_empty()),
        None => Some(modern_defaults(ev)),
    };
    (http11, cleared)
}

/// What a header set to `value` carries on an ordinary request: the text itself, or, for a lone
/// variable a `map` on a request header defines, what the map yields without that header (the
/// provider records it as the setting `map $var`). `None` when that cannot be told.
fn header_value<'a>(ev: &'a Evidence, value: &'a str) -> Option<&'a str> {
    if !value.contains('$') {
        return Some(value);
    }
    let var = value.strip_prefix("${").and_then(|v| v.strip_suffix('}'));
    let var = var
        .map(|v| format!("${v}"))
        .unwrap_or_else(|| value.to_owned());
    let lone = var[1..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !lone {
        return None;
    }
    ev.config
        .setting(&format!("map {var}"))
        .map(|s| s.value.as_str())
}

/// Whether nginx really reuses connections to this route's pool: `keepalive` in the pool, HTTP/1.1
/// and a cleared Connection header (known to be cleared: a header nobody can resolve does not
/// count).
pub(crate) fn keepalive_effective(ev: &Evidence, route: &Route) -> bool {
    let on = route
        .pool
        .as_deref()
        .and_then(|p| ev.config.pool(p))
        .and_then(pool_keepalive)
        .is_some();
    on && reuse_headers(ev, route) == (true, Some(true))
}

/// nginx 1.29.7 made HTTP/1.1 and a cleared Connection header the upstream defaults (KB 0.4).
fn modern_defaults(ev: &Evidence) -> bool {
    let Some(version) = ev.config.version.as_deref() else {
        return false;
    };
    let v: Vec<u32> = version
        .trim_start_matches("nginx/")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    v.as_slice() >= [1, 29, 7].as_slice()
}

/// Probes nginx's provider made of its upstreams. The Cloudflare provider's origin checks share
/// the `upstream.` prefix; the Cloudflare rules judge those (an origin refusing port 80 is a 521
/// or an SSL-mode mismatch there, not an nginx upstream).
pub(crate) fn backend_probes(ev: &Evidence) -> impl Iterator<Item = &Probe> {
    let cloudflare = ev.subject.kind == cloud502_model::ProviderKind::Cloudflare;
    ev.probes
        .iter()
        .filter(move |p| !cloudflare && p.id.starts_with(BACKEND_PROBE_PREFIX))
}

pub use crate::describe::nginx_peer as peer;

/// The peer a backend probe connected to.
pub(crate) fn probe_peer(probe: &Probe) -> String {
    if probe.url.starts_with("unix:") || probe.url.contains("://unix:") {
        return peer(&probe.url);
    }
    // The URL drops a scheme's default port; nginx's `upstream:` always has one.
    if probe.host.contains(':') {
        format!("[{}]:{}", probe.host, probe.port)
    } else {
        format!("{}:{}", probe.host, probe.port)
    }
}

/// The routes that forward to `upstream` (a peer or a pool name), directly or through a pool.
pub(crate) fn routes_to<'a>(ev: &'a Evidence, upstream: &str) -> Vec<&'a Route> {
    let pools: Vec<&str> = ev
        .config
        .pools
        .iter()
        .filter(|p| p.name == upstream || p.members.iter().any(|m| peer(&m.address) == upstream))
        .map(|p| p.name.as_str())
        .collect();
    ev.config
        .routes
        .iter()
        .filter(|r| {
            let target = peer(&r.target);
            target == upstream
                || r.pool.as_deref().is_some_and(|p| pools.contains(&p))
                || pools.contains(&target.as_str())
        })
        .collect()
}

/// Config locations for an upstream: the `server` lines naming it and the passes that reach it.
pub(crate) fn upstream_locations(ev: &Evidence, upstream: &str) -> Vec<SourceLocation> {
    let mut out = Vec::new();
    for pool in &ev.config.pools {
        if pool.name == upstream {
            out.extend(pool.location.clone());
        }
        for m in &pool.members {
            if peer(&m.address) == upstream {
                out.extend(m.location.clone());
            }
        }
    }
    for r in routes_to(ev, upstream) {
        out.extend(r.location.clone());
    }
    dedup(out)
}

/// Item ids of the config entries about an upstream.
pub(crate) fn upstream_items(ev: &Evidence, upstream: &str) -> Vec<String> {
    let mut out: Vec<String> = ev
        .config
        .pools
        .iter()
        .filter(|p| p.name == upstream || p.members.iter().any(|m| peer(&m.address) == upstream))
        .map(pool_id)
        .collect();
    out.extend(routes_to(ev, upstream).into_iter().map(route_id));
    out.retain(|id| ev.item(id).is_some());
    out
}

/// A finding about nginx.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    code: FindingCode,
    severity: Severity,
    confidence: Confidence,
    title: String,
    explanation: String,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
    disproved_by: &str,
    remediation: Vec<Remediation>,
) -> Finding {
    Finding {
        code,
        severity,
        confidence,
        layer: Some(Layer::Nginx),
        title,
        explanation,
        evidence: dedup(evidence),
        locations: dedup(locations),
        disproved_by: disproved_by.to_owned(),
        remediation,
        next_command: None,
    }
}

pub use cloud502_collect::describe::nginx_seconds as seconds;

/// Parse an nginx size (`4k`, `16K`, `1m`, `8192`) into bytes.
pub fn bytes(value: &str) -> Option<u64> {
    let v = value.trim();
    let (digits, factor) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1024),
        'm' | 'M' => (&v[..v.len() - 1], 1024 * 1024),
        'g' | 'G' => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        _ => (v, 1),
    };
    digits.parse::<u64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_reduced_as_nginx_logs_them() {
        assert_eq!(peer("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(peer("http://unix:/run/a.sock:/x"), "unix:/run/a.sock");
        assert_eq!(peer("unix:/run/php.sock"), "unix:/run/php.sock");
        assert_eq!(peer("backend"), "backend");
        assert_eq!(peer("https://backend"), "backend");
        assert_eq!(peer("127.0.0.1:9000"), "127.0.0.1:9000");
    }

    #[test]
    fn nginx_times_and_sizes_parse() {
        assert_eq!(seconds("60s"), Some(60.0));
        assert_eq!(seconds("1m30s"), Some(90.0));
        assert_eq!(seconds("500ms"), Some(0.5));
        assert_eq!(seconds("75"), Some(75.0));
        assert_eq!(seconds("x"), None);
        assert_eq!(bytes("4k"), Some(4096));
        assert_eq!(bytes("1M"), Some(1 << 20));
        assert_eq!(bytes("8192"), Some(8192));
        assert_eq!(bytes(""), None);
    }
}
