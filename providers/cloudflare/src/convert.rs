//! How API v4 resources become the shared report model (the contract in
//! docs/providers/cloudflare.md, which the Cloudflare rules read).

use crate::resources::{
    AnalyticsRow, DnsRecord, Healthcheck, LoadBalancer, OriginHealth, Pool, Zone,
};
use cloud502_model::{
    ConfigSnapshot, ForwardKind, HealthState, LogCount, LogGroup, LogSample, LogSkips, LogSummary,
    Pool as ModelPool, PoolMember, Route, Setting, Target,
};
use std::collections::BTreeMap;

/// Cloudflare's Proxy Read Timeout when the zone cannot change it: the default of
/// `zones_proxy_read_timeout_value` in Cloudflare's API schema is 100 s (KB 9.3; some pages say
/// 120 s).
pub const DEFAULT_PROXY_READ_TIMEOUT: &str = "100";

/// DNS record types that carry traffic to an origin.
pub fn is_origin_record(r: &DnsRecord) -> bool {
    matches!(r.kind.as_str(), "A" | "AAAA" | "CNAME")
}

/// A name in lower case without its final dot.
pub fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A CNAME to another host of the same zone (`zone` the apex name).
pub fn in_zone_cname(r: &DnsRecord, zone: &str) -> bool {
    let (target, zone) = (bare(&r.content), bare(zone));
    r.kind == "CNAME"
        && target != bare(&r.name)
        && (target == zone || target.ends_with(&format!(".{zone}")))
}

/// The tunnel id of a CNAME to `<uuid>.cfargotunnel.com` (Cloudflare Tunnel's DNS route).
pub fn tunnel_id(r: &DnsRecord) -> Option<String> {
    let target = bare(&r.content);
    let id = target.strip_suffix(".cfargotunnel.com")?;
    (r.kind == "CNAME" && !id.is_empty() && !id.contains('.')).then(|| id.to_owned())
}

fn setting(name: &str, value: impl Into<String>) -> Setting {
    Setting {
        name: name.to_owned(),
        value: value.into(),
        location: None,
        default: false,
    }
}

/// What was read, for [`config`].
#[derive(Debug, Default)]
pub struct Read<'a> {
    /// The zone.
    pub zone: Option<&'a Zone>,
    /// The host diagnosed.
    pub host: &'a str,
    /// `settings/ssl` value.
    pub ssl: Option<String>,
    /// `settings/proxy_read_timeout` value (None: not readable, the default applies).
    pub proxy_read_timeout: Option<String>,
    /// DNS records named `host`.
    pub records: &'a [DnsRecord],
    /// The load balancer named `host`.
    pub lb: Option<&'a LoadBalancer>,
    /// Its pools.
    pub pools: &'a [Pool],
    /// API resources read.
    pub sources: Vec<String>,
}

/// The config snapshot: global settings, a route per DNS record and load balancer, the pools.
pub fn config(r: &Read<'_>) -> ConfigSnapshot {
    let mut settings = vec![setting("host", r.host)];
    if let Some(z) = r.zone {
        settings.push(setting("zone.status", z.status.clone()));
        settings.push(setting("zone.paused", z.paused.to_string()));
        if !z.plan.name.is_empty() {
            settings.push(setting("zone.plan", z.plan.name.clone()));
        }
    }
    if let Some(ssl) = &r.ssl {
        settings.push(setting("ssl", ssl.clone()));
    }
    settings.push(match &r.proxy_read_timeout {
        Some(v) => setting("proxy_read_timeout", v.clone()),
        None => Setting {
            default: true,
            ..setting("proxy_read_timeout", DEFAULT_PROXY_READ_TIMEOUT)
        },
    });
    let scheme = match r.ssl.as_deref() {
        Some("off" | "flexible") => "http",
        _ => "https",
    };
    let mut routes = Vec::new();
    for rec in r.records.iter().filter(|r| is_origin_record(r)) {
        routes.push(Route {
            id: format!("route.{}", routes.len()),
            server_names: vec![r.host.to_owned()],
            listen: Vec::new(),
            path: None,
            kind: ForwardKind::Proxy,
            target: rec.content.clone(),
            scheme: Some(scheme.to_owned()),
            pool: None,
            dynamic: false,
            location: None,
            settings: vec![
                setting("type", rec.kind.clone()),
                setting("proxied", rec.proxied.unwrap_or(false).to_string()),
            ],
        });
    }
    let pool_name = |id: &str| pool_name(r.pools, id);
    if let Some(lb) = r.lb {
        let defaults: Vec<String> = lb.default_pools.iter().map(|id| pool_name(id)).collect();
        let mut s = vec![
            setting("lb", "true"),
            setting("proxied", lb.proxied.unwrap_or(false).to_string()),
            setting("default_pools", defaults.join(" ")),
        ];
        if !lb.fallback_pool.is_empty() {
            s.push(setting("fallback_pool", pool_name(&lb.fallback_pool)));
        }
        if let Some(e) = lb.enabled {
            s.push(setting("enabled", e.to_string()));
        }
        routes.push(Route {
            id: format!("route.{}", routes.len()),
            server_names: vec![r.host.to_owned()],
            listen: Vec::new(),
            path: None,
            kind: ForwardKind::Proxy,
            target: lb.name.clone(),
            scheme: Some(scheme.to_owned()),
            pool: defaults.first().cloned(),
            dynamic: false,
            location: None,
            settings: s,
        });
    }
    let pools = r
        .pools
        .iter()
        .map(|p| {
            let mut s = vec![setting("id", p.id.clone())];
            if let Some(e) = p.enabled {
                s.push(setting("enabled", e.to_string()));
            }
            if let Some(h) = p.healthy {
                s.push(setting("healthy", h.to_string()));
            }
            if let Some(m) = p.minimum_origins {
                s.push(setting("minimum_origins", m.to_string()));
            }
            if let Some(m) = p.monitor.as_ref().filter(|m| !m.is_empty()) {
                s.push(setting("monitor", m.clone()));
            }
            ModelPool {
                name: p.name.clone(),
                location: None,
                members: p
                    .origins
                    .iter()
                    .map(|o| {
                        let mut s = vec![setting("name", o.name.clone())];
                        if let Some(e) = o.enabled {
                            s.push(setting("enabled", e.to_string()));
                        }
                        if let Some(w) = o.weight {
                            s.push(setting("weight", w.to_string()));
                        }
                        PoolMember {
                            address: o.address.clone(),
                            location: None,
                            settings: s,
                        }
                    })
                    .collect(),
                settings: s,
            }
        })
        .collect();
    ConfigSnapshot {
        sources: r.sources.clone(),
        version: None,
        routes,
        pools,
        settings,
    }
}

/// The name of the pool with this id, else the id.
pub fn pool_name(pools: &[Pool], id: &str) -> String {
    pools
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}

/// The pool's origins as targets, with their health across the regions that check them: an origin
/// is unhealthy when any region sees it so.
pub fn pool_targets(pool: &Pool, health: Option<&[OriginHealth]>) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for o in &pool.origins {
        let seen: Vec<&OriginHealth> = health
            .unwrap_or(&[])
            .iter()
            .filter(|h| h.address.eq_ignore_ascii_case(&o.address))
            .collect();
        out.push(origin_target(
            pool,
            &o.name,
            &o.address,
            &seen,
            health.is_some(),
        ));
    }
    // Health entries for addresses the pool lists by another name (a host name resolved to an IP).
    if let Some(health) = health {
        let mut extra: BTreeMap<&str, Vec<&OriginHealth>> = BTreeMap::new();
        for h in health {
            if !pool
                .origins
                .iter()
                .any(|o| o.address.eq_ignore_ascii_case(&h.address))
            {
                extra.entry(h.address.as_str()).or_default().push(h);
            }
        }
        for (addr, seen) in extra {
            out.push(origin_target(pool, addr, addr, &seen, true));
        }
    }
    out
}

fn origin_target(
    pool: &Pool,
    name: &str,
    address: &str,
    seen: &[&OriginHealth],
    health_read: bool,
) -> Target {
    let bad: Vec<&&OriginHealth> = seen.iter().filter(|h| h.healthy == Some(false)).collect();
    let health = if bad.is_empty() {
        if seen.iter().any(|h| h.healthy == Some(true)) {
            HealthState::Healthy
        } else {
            HealthState::Unknown
        }
    } else {
        HealthState::Unhealthy
    };
    let first = bad.first().copied().copied().or(seen.first().copied());
    let detail = first.map(|h| {
        let mut d = Vec::new();
        if let Some(c) = h.response_code {
            d.push(format!("response_code {c}"));
        }
        if let Some(r) = &h.rtt {
            d.push(format!("rtt {r}"));
        }
        if !bad.is_empty() {
            d.push(format!(
                "unhealthy from {} of {} regions ({})",
                bad.len(),
                seen.len(),
                bad.iter()
                    .map(|h| h.region.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            d.push(format!("healthy from {} regions", seen.len()));
        }
        d.join(", ")
    });
    Target {
        id: format!(
            "{}/{}",
            pool.name,
            if name.is_empty() { address } else { name }
        ),
        address: Some(address.to_owned()),
        port: None,
        group: Some(pool.name.clone()),
        health,
        reason: bad.first().and_then(|h| h.failure_reason.clone()),
        detail: detail.or_else(|| (!health_read).then(|| "pool health not read".to_owned())),
    }
}

/// A standalone health check as a target.
pub fn healthcheck_target(hc: &Healthcheck) -> Target {
    let health = match hc.status.as_str() {
        "healthy" => HealthState::Healthy,
        "unhealthy" => HealthState::Unhealthy,
        "suspended" => HealthState::Unavailable,
        _ if hc.suspended == Some(true) => HealthState::Unavailable,
        _ => HealthState::Unknown,
    };
    let port = hc
        .http_config
        .as_ref()
        .and_then(|c| c.port)
        .or(hc.tcp_config.as_ref().and_then(|c| c.port));
    let what = match &hc.http_config {
        Some(c) if hc.kind != "TCP" => format!(
            "{} {} {}",
            if hc.kind.is_empty() { "HTTP" } else { &hc.kind },
            if c.method.is_empty() {
                "GET"
            } else {
                &c.method
            },
            if c.path.is_empty() { "/" } else { &c.path }
        ),
        _ => "TCP connect".to_owned(),
    };
    Target {
        id: format!("healthcheck/{}", hc.name),
        address: Some(hc.address.clone()),
        port,
        group: Some("healthchecks".to_owned()),
        health,
        reason: Some(hc.failure_reason.trim().to_owned()).filter(|r| !r.is_empty()),
        detail: Some(match port {
            Some(p) => format!("{what} on port {p}"),
            None => what,
        }),
    }
}

/// GraphQL analytics rows as a `cloudflare-http-requests` summary (the same dialect and classes as
/// Logpush files in `cloud502 logs`): one group per (class, edge status, colo).
pub fn analytics(id: &str, source: &str, rows: &[AnalyticsRow], total: u64) -> LogSummary {
    #[derive(Default)]
    struct Acc {
        count: u64,
        first: String,
        last: String,
        origin: u16,
        /// (minute, requests), for the group's timeline.
        points: Vec<(i64, u64)>,
    }
    let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
    let mut groups: BTreeMap<(cloud502_model::LogClass, u16, String), Acc> = BTreeMap::new();
    let (mut first_all, mut last_all) = (String::new(), String::new());
    let mut matched = 0;
    let mut seen = 0;
    for row in rows {
        let d = &row.dimensions;
        seen += row.count;
        *counts.entry(d.edge_response_status).or_default() += row.count;
        let minute = d.datetime_minute.clone();
        if !minute.is_empty() {
            if first_all.is_empty() || minute < first_all {
                first_all = minute.clone();
            }
            if minute > last_all {
                last_all = minute.clone();
            }
        }
        let Some(class) =
            cloud502_logs::cloudflare_class(d.edge_response_status, d.origin_response_status)
        else {
            continue;
        };
        matched += row.count;
        let colo = if d.colo_code.is_empty() {
            "-".to_owned()
        } else {
            d.colo_code.clone()
        };
        let g = groups
            .entry((class, d.edge_response_status, colo))
            .or_default();
        g.count += row.count;
        g.origin = d.origin_response_status;
        if let Some(t) = cloud502_model::parse_rfc3339(&minute) {
            g.points.push((t, row.count));
        }
        if !minute.is_empty() {
            if g.first.is_empty() || minute < g.first {
                g.first = minute.clone();
            }
            if minute > g.last {
                g.last = minute;
            }
        }
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    // Every group's timeline spans the rows' window, per minute (coarser past four hours).
    let window =
        cloud502_model::parse_rfc3339(&first_all).zip(cloud502_model::parse_rfc3339(&last_all));
    let mut groups: Vec<LogGroup> = groups
        .into_iter()
        .map(|((class, status, colo), g)| LogGroup {
            timeline: window
                .map(|(f, l)| cloud502_model::Timeline::from_points(f, l, 60, g.points)),
            class,
            upstream: None,
            status: Some(status),
            level: None,
            detail: Some(format!("colo {colo}")),
            count: g.count,
            reused: None,
            first_seen: opt(&g.first),
            last_seen: opt(&g.last),
            sample: LogSample {
                line: 0,
                text: format!(
                    "edgeResponseStatus={status} originResponseStatus={} coloCode={colo} requests={} first={} last={}",
                    g.origin,
                    g.count,
                    dash(&g.first),
                    dash(&g.last)
                ),
            },
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.status.cmp(&b.status)));
    let samples = groups
        .iter()
        .take(5)
        .map(|g| g.sample.text.clone())
        .collect();
    let mut counts: Vec<LogCount> = counts
        .into_iter()
        .map(|(s, n)| LogCount {
            key: format!("{s:03}"),
            count: n,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    LogSummary {
        id: id.to_owned(),
        source: source.to_owned(),
        dialect: "cloudflare-http-requests".to_owned(),
        lines: total.max(seen),
        matched,
        bytes: 0,
        skipped: LogSkips::default(),
        first_seen: opt(&first_all),
        last_seen: opt(&last_all),
        counts,
        groups,
        samples,
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cloud502_model::LogClass;

    fn row(edge: u16, origin: u16, colo: &str, minute: &str, count: u64) -> AnalyticsRow {
        serde_json::from_value(serde_json::json!({
            "count": count,
            "dimensions": {"edgeResponseStatus": edge, "originResponseStatus": origin,
                           "coloCode": colo, "datetimeMinute": minute}
        }))
        .unwrap()
    }

    #[test]
    fn analytics_split_who_made_the_5xx() {
        let rows = [
            row(502, 502, "SJC", "2026-11-21T10:01:00Z", 7),
            row(502, 502, "SJC", "2026-11-21T10:03:00Z", 5),
            row(521, 0, "SJC", "2026-11-21T10:02:00Z", 30),
            row(521, 0, "AMS", "2026-11-21T10:04:00Z", 10),
            row(502, 0, "FRA", "2026-11-21T10:05:00Z", 2),
        ];
        let s = analytics("cloudflare.analytics", "graphql", &rows, 1000);
        assert_eq!(s.dialect, "cloudflare-http-requests");
        assert_eq!(s.lines, 1000);
        assert_eq!(s.matched, 54);
        assert_eq!(s.counts[0].key, "521");
        assert_eq!(s.counts[0].count, 40);
        let origin: Vec<_> = s.groups_of(LogClass::Status502FromUpstream).collect();
        assert_eq!(origin.len(), 1);
        assert_eq!(origin[0].count, 12);
        assert_eq!(
            origin[0].first_seen.as_deref(),
            Some("2026-11-21T10:01:00Z")
        );
        assert_eq!(origin[0].last_seen.as_deref(), Some("2026-11-21T10:03:00Z"));
        // Per minute over the rows' window (10:01 to 10:05): 7 at 10:01, 5 at 10:03.
        let t = origin[0].timeline.as_ref().unwrap();
        assert_eq!(
            (t.bucket_seconds, t.counts.clone()),
            (60, vec![7, 0, 5, 0, 0])
        );
        let edge: Vec<_> = s.groups_of(LogClass::EdgeError).collect();
        assert_eq!(edge.len(), 3);
        assert_eq!(edge[0].detail.as_deref(), Some("colo SJC"));
        assert_eq!(edge[0].status, Some(521));
        assert!(
            edge.iter()
                .any(|g| g.status == Some(502) && g.detail.as_deref() == Some("colo FRA"))
        );
    }

    #[test]
    fn health_check_states_map() {
        let hc: Healthcheck = serde_json::from_value(serde_json::json!({
            "name": "origin-check", "address": "203.0.113.10", "type": "HTTPS",
            "status": "unhealthy", "failure_reason": "TLS untrusted certificate error",
            "http_config": {"method": "GET", "path": "/health", "port": 443}
        }))
        .unwrap();
        let t = healthcheck_target(&hc);
        assert_eq!(t.id, "healthcheck/origin-check");
        assert_eq!(t.health, HealthState::Unhealthy);
        assert_eq!(t.reason.as_deref(), Some("TLS untrusted certificate error"));
        assert_eq!(t.detail.as_deref(), Some("HTTPS GET /health on port 443"));
    }

    #[test]
    fn pool_origin_unhealthy_from_one_region_is_unhealthy() {
        let pool: Pool = serde_json::from_value(serde_json::json!({
            "id": "p1", "name": "web-eu",
            "origins": [{"name": "o1", "address": "203.0.113.10"}, {"name": "o2", "address": "203.0.113.11"}]
        }))
        .unwrap();
        let h = crate::resources::pool_health(&serde_json::json!({"pop_health": {
            "WEU": {"healthy": false, "origins": [
                {"203.0.113.10": {"healthy": false, "failure_reason": "TCP connection failed", "response_code": 0, "rtt": "0ms"}},
                {"203.0.113.11": {"healthy": true, "failure_reason": "No failures", "response_code": 200, "rtt": "9ms"}}]},
            "ENAM": {"healthy": true, "origins": [
                {"203.0.113.10": {"healthy": true, "failure_reason": "No failures", "response_code": 200, "rtt": "80ms"}}]}
        }}));
        let t = pool_targets(&pool, Some(&h));
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].id, "web-eu/o1");
        assert_eq!(t[0].health, HealthState::Unhealthy);
        assert_eq!(t[0].reason.as_deref(), Some("TCP connection failed"));
        assert!(
            t[0].detail
                .as_deref()
                .unwrap()
                .contains("unhealthy from 1 of 2 regions (WEU)")
        );
        assert_eq!(t[1].health, HealthState::Healthy);
        let unread = pool_targets(&pool, None);
        assert_eq!(unread[0].health, HealthState::Unknown);
    }
}
