//! State collected logs, config and host checks as evidence items, under ids the rules cite.
//!
//! Providers call [`describe`] once after collecting; rules find the ids again with [`log_group_id`],
//! [`route_id`], [`pool_id`] and a check's own id. Keeping both sides here means a rule and a provider
//! cannot disagree about an id.

use cloud502_model::{Evidence, LogSummary, Metric, Pool, ProviderKind, Route, Target};

/// Id prefix of probes a provider makes of its own backends (nginx upstreams, Cloudflare origins).
/// Those are judged by the provider's rules, which know what the gateway itself checks: nginx does
/// not verify an upstream certificate unless `proxy_ssl_verify on`, so a generic "untrusted
/// certificate" finding about it would mislead.
pub const BACKEND_PROBE_PREFIX: &str = "upstream.";

/// Ids of the security-group checks start with this.
pub const CHECK_SG_PREFIX: &str = "sg.";

/// Host check ids the nginx provider writes: `nginx -t`.
pub const CHECK_CONFIG_TEST: &str = "host.nginx-t";
/// worker_connections vs the open-files limit.
pub const CHECK_NOFILE: &str = "host.worker-connections";
/// The systemd unit.
pub const CHECK_SYSTEMD: &str = "host.systemd";
/// The kernel's OOM kills (nginx `--local`).
pub const CHECK_OOM: &str = "host.oom";
/// Available memory and memory pressure.
pub const CHECK_MEMORY: &str = "host.memory";
/// Load against the CPUs.
pub const CHECK_LOAD: &str = "host.load";
/// Free space under a directory nginx writes to: `host.disk.<dir>`.
pub const CHECK_DISK_PREFIX: &str = "host.disk.";
/// The upstreams' listen backlogs.
pub const CHECK_BACKLOG: &str = "host.backlog";
/// An upstream application server's own timeout: `host.app-timeout.<peer>`.
pub const CHECK_APP_TIMEOUT_PREFIX: &str = "host.app-timeout.";
/// "worker_connections are not enough" / "Too many open files" lines in error.log.
pub const CHECK_CONNECTIONS: &str = "host.connections";

/// The peer a target, URL or log field names, as nginx writes it in `upstream:`:
/// `http://127.0.0.1:8080/x` -> `127.0.0.1:8080`; `http://unix:/run/a.sock:/` -> `unix:/run/a.sock`;
/// `unix:/run/a.sock` stays; `backend` stays. The nginx provider names its probes with it and
/// the nginx rules match log lines with it.
pub fn nginx_peer(target: &str) -> String {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    if let Some(path) = rest.strip_prefix("unix:") {
        let path = path.split_once(':').map_or(path, |(p, _)| p);
        return format!("unix:{path}");
    }
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// The item id of a log group.
pub fn log_group_id(log: &LogSummary, index: usize) -> String {
    format!("{}.group.{index}", log.id)
}

/// The item id of a route.
pub fn route_id(route: &Route) -> String {
    format!("config.{}", route.id)
}

/// The item id of a pool.
pub fn pool_id(pool: &Pool) -> String {
    format!("config.pool.{}", pool.name)
}

/// The item id of a target (by its index in [`Evidence::targets`]).
pub fn target_id(index: usize) -> String {
    format!("target.{index}")
}

/// The item id of a metric.
pub fn metric_id(metric: &Metric) -> String {
    format!("metric.{}.{}", metric.name, metric.scope)
}

/// A target as one line: `i-0abc:8080 in web: unhealthy (Target.Timeout: Request timed out)`.
pub fn target_fact(t: &Target) -> String {
    let group = t
        .group
        .as_deref()
        .map(|g| format!(" in {g}"))
        .unwrap_or_default();
    let endpoint = match (&t.address, t.port) {
        (Some(a), Some(p)) if *a != t.id => format!("{} ({a}:{p})", t.id),
        (_, Some(p)) => format!("{}:{p}", t.id),
        _ => t.id.clone(),
    };
    let reason = match (&t.reason, &t.detail) {
        (Some(r), Some(d)) if !d.is_empty() => format!(" ({r}: {d})"),
        (Some(r), _) => format!(" ({r})"),
        (None, Some(d)) if !d.is_empty() => format!(" ({d})"),
        _ => String::new(),
    };
    format!("{endpoint}{group}: {}{reason}", t.health.as_str())
}

/// Add one item per log group, route, pool, host check, target and metric.
pub fn describe(ev: &mut Evidence) {
    let nginx = ev.subject.kind == ProviderKind::Nginx;
    let mut items = Vec::new();
    for (i, t) in ev.targets.iter().enumerate() {
        items.push((target_id(i), "target-health".to_owned(), target_fact(t)));
    }
    for m in &ev.metrics {
        let value = if m.value.fract() == 0.0 {
            format!("{:.0}", m.value)
        } else {
            format!("{:.2}", m.value)
        };
        items.push((
            metric_id(m),
            "metrics".to_owned(),
            format!(
                "{} ({}) {} over the window: {value} ({} datapoints of {} s{})",
                m.name,
                m.scope,
                m.statistic,
                m.datapoints,
                m.period_seconds,
                if m.datapoints == 0 {
                    "; none means zero"
                } else {
                    ""
                }
            ),
        ));
    }
    for log in &ev.logs {
        let skipped = log.skipped;
        let mut fact = format!(
            "{} ({}): {} lines, {} matched",
            log.source, log.dialect, log.lines, log.matched
        );
        if skipped.total() > 0 || skipped.too_long > 0 {
            fact.push_str(&format!(
                "; skipped {} invalid UTF-8, {} binary, {} unparsed, {} outside --since; {} over the line cap",
                skipped.invalid_utf8,
                skipped.binary,
                skipped.unparsed,
                skipped.outside_window,
                skipped.too_long
            ));
        }
        items.push((log.id.clone(), log.source.clone(), fact));
        for (i, g) in log.groups.iter().enumerate() {
            let upstream = g
                .upstream
                .as_deref()
                .map(|u| format!(" upstream {u}"))
                .unwrap_or_default();
            let when = match (&g.first_seen, &g.last_seen) {
                (Some(a), Some(b)) if a != b => format!(" from {a} to {b}"),
                (Some(a), _) => format!(" at {a}"),
                _ => String::new(),
            };
            items.push((
                log_group_id(log, i),
                log.source.clone(),
                format!(
                    "{} x {}{upstream}{when}; first at line {}: {}",
                    g.count, g.class, g.sample.line, g.sample.text
                ),
            ));
        }
    }
    for route in &ev.config.routes {
        let at = route
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let fact = if nginx {
            format!(
                "{}: {}_pass {}{at}",
                route.label(),
                route.kind.as_str(),
                route.target
            )
        } else {
            let hosts = if route.server_names.is_empty() {
                "any host".to_owned()
            } else {
                route.server_names.join(", ")
            };
            format!(
                "{} {hosts} {} forwards to {}",
                route.listen.join(", "),
                route.path.as_deref().unwrap_or("/*"),
                route.target
            )
        };
        items.push((route_id(route), "config".to_owned(), fact));
    }
    for pool in &ev.config.pools {
        let at = pool
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let members: Vec<String> = pool
            .members
            .iter()
            .map(|m| {
                let params: Vec<String> = m
                    .settings
                    .iter()
                    .map(|s| format!("{}={}", s.name, s.value))
                    .collect();
                format!("{} [{}]", m.address, params.join(" "))
            })
            .collect();
        let settings: Vec<String> = pool
            .settings
            .iter()
            .map(|s| {
                if nginx {
                    format!("{} {}", s.name, s.value)
                } else {
                    format!("{}={}", s.name, s.value)
                }
            })
            .collect();
        items.push((
            pool_id(pool),
            "config".to_owned(),
            format!(
                "{} {}{at}: {}{}",
                if nginx { "upstream" } else { "pool" },
                pool.name,
                members.join(", "),
                if settings.is_empty() {
                    String::new()
                } else {
                    format!("; {}", settings.join("; "))
                }
            ),
        ));
    }
    for check in &ev.checks {
        items.push((
            check.id.clone(),
            "host".to_owned(),
            format!(
                "{}: {} ({})",
                check.name,
                check.status.as_str(),
                check.detail
            ),
        ));
    }
    for (id, source, fact) in items {
        ev.add_item(id, source, fact);
    }
}
/// nginx's time syntax (`60s`, `1m30s`, `500ms`, `75`; units ms s m h d w M y) in seconds: the
/// nginx provider compares timeouts with it and the nginx rules judge them with it.
pub fn nginx_seconds(value: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = value.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "" | "s" => 1.0,
            "ms" => 0.001,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 604800.0,
            "M" => 2_592_000.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}
