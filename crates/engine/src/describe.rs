//! State collected logs, config and host checks as evidence items, under ids the rules cite.
//!
//! Providers call [`describe`] once after collecting; rules find the ids again with [`log_group_id`],
//! [`route_id`], [`pool_id`] and a check's own id. Keeping both sides here means a rule and a provider
//! cannot disagree about an id.

use cloud502_model::{Evidence, LogSummary, Pool, Route};

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

/// Add one item per log group, route, pool and host check.
pub fn describe(ev: &mut Evidence) {
    let mut items = Vec::new();
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
        items.push((
            route_id(route),
            "config".to_owned(),
            format!(
                "{}: {}_pass {}{at}",
                route.label(),
                route.kind.as_str(),
                route.target
            ),
        ));
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
            .map(|s| format!("{} {}", s.name, s.value))
            .collect();
        items.push((
            pool_id(pool),
            "config".to_owned(),
            format!(
                "upstream {}{at}: {}{}",
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
