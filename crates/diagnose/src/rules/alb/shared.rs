//! What the ALB rules share: access-log classes, metrics, target health and target-group settings
//! of an `aws-alb` evidence. Not a rule itself.

use crate::describe::{log_group_id, metric_id, pool_id, target_id};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, LogClass, LogGroup, Pool,
    ProviderKind, Remediation, Severity, Target,
};

/// The dialect name of ALB access logs.
pub(crate) const DIALECT: &str = "alb-access";

/// Whether this evidence is about an ALB: collected by the AWS provider, or ALB logs read offline.
pub(crate) fn is_alb(ev: &Evidence) -> bool {
    ev.subject.kind == ProviderKind::AwsAlb || ev.logs.iter().any(|l| l.dialect == DIALECT)
}

/// Log lines of some classes in access logs (ALB, AppGW), with the items that show them.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub count: u64,
    pub items: Vec<String>,
    pub targets: Vec<(String, u64)>,
    pub details: Vec<(String, u64)>,
    pub statuses: Vec<u16>,
    pub sample: Option<String>,
}

impl Lines {
    /// The groups of these logs that `keep` keeps: counts, cited items, targets and details by
    /// requests, and the largest group's first line.
    pub fn collect<'a>(
        logs: impl Iterator<Item = &'a cloud502_model::LogSummary>,
        keep: impl Fn(&LogGroup) -> bool,
    ) -> Lines {
        let mut out = Lines::default();
        let mut best = 0;
        for log in logs {
            for (i, g) in log.groups.iter().enumerate() {
                if !keep(g) {
                    continue;
                }
                out.count += g.count;
                if let Some(st) = g.status {
                    if !out.statuses.contains(&st) {
                        out.statuses.push(st);
                    }
                }
                out.items.push(log_group_id(log, i));
                if let Some(t) = &g.upstream {
                    match out.targets.iter_mut().find(|(x, _)| x == t) {
                        Some((_, n)) => *n += g.count,
                        None => out.targets.push((t.clone(), g.count)),
                    }
                }
                if let Some(d) = &g.detail {
                    match out.details.iter_mut().find(|(x, _)| x == d) {
                        Some((_, n)) => *n += g.count,
                        None => out.details.push((d.clone(), g.count)),
                    }
                }
                if g.count > best {
                    best = g.count;
                    out.sample = Some(format!(
                        "{}:{}: {}",
                        log.source, g.sample.line, g.sample.text
                    ));
                }
            }
        }
        out.targets.sort_by_key(|t| std::cmp::Reverse(t.1));
        out.details.sort_by_key(|d| std::cmp::Reverse(d.1));
        out
    }

    pub fn target_list(&self) -> String {
        if self.targets.is_empty() {
            "-".to_owned()
        } else {
            self.targets
                .iter()
                .map(|(t, n)| format!("{t} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

pub(crate) fn lines(ev: &Evidence, classes: &[LogClass]) -> Lines {
    lines_where(ev, |g| classes.contains(&g.class))
}

/// The ALB logs to count: CloudWatch Logs events and S3 objects usually hold the same requests, so
/// when a complete source (S3, a saved file) was read, the CloudWatch events are not counted again.
fn counted_logs(ev: &Evidence) -> impl Iterator<Item = &cloud502_model::LogSummary> {
    let complete = ev
        .logs
        .iter()
        .any(|l| l.dialect == DIALECT && !l.source.starts_with(CLOUDWATCH_SOURCE));
    ev.logs.iter().filter(move |l| {
        l.dialect == DIALECT && !(complete && l.source.starts_with(CLOUDWATCH_SOURCE))
    })
}

/// How the provider names CloudWatch Logs sources.
pub(crate) const CLOUDWATCH_SOURCE: &str = "cloudwatch-logs:";

pub(crate) fn lines_where(ev: &Evidence, keep: impl Fn(&LogGroup) -> bool) -> Lines {
    Lines::collect(counted_logs(ev), keep)
}

/// Every line of the ALB access logs read, from sources that hold every request (S3 logs, saved
/// files); CloudWatch Logs events are read filtered for 502, so they say nothing of the total.
pub(crate) fn total_lines(ev: &Evidence) -> u64 {
    ev.logs
        .iter()
        .filter(|l| l.dialect == DIALECT && !l.source.starts_with(CLOUDWATCH_SOURCE))
        .map(|l| l.lines - l.skipped.outside_window)
        .sum()
}

/// A metric summed over its scopes, with the ids of its items; `None` when it was not read.
pub(crate) fn metric(ev: &Evidence, name: &str) -> Option<(f64, Vec<String>)> {
    let ms: Vec<_> = ev.metrics.iter().filter(|m| m.name == name).collect();
    if ms.is_empty() {
        return None;
    }
    let value = match ms[0].statistic.as_str() {
        "Sum" => ms.iter().map(|m| m.value).sum(),
        "Minimum" => ms.iter().map(|m| m.value).fold(f64::INFINITY, f64::min),
        _ => ms.iter().map(|m| m.value).fold(0.0, f64::max),
    };
    Some((value, ms.iter().map(|m| metric_id(m)).collect()))
}

/// A metric's value when positive, with its items.
pub(crate) fn metric_positive(ev: &Evidence, name: &str) -> Option<(f64, Vec<String>)> {
    metric(ev, name).filter(|(v, _)| *v > 0.0)
}

/// The targets of a target group, with their item ids.
pub(crate) fn group_targets<'a>(ev: &'a Evidence, group: &str) -> Vec<(String, &'a Target)> {
    ev.targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.group.as_deref() == Some(group))
        .map(|(i, t)| (target_id(i), t))
        .collect()
}

/// Whether target health was read (no gap for it).
pub(crate) fn health_read(ev: &Evidence) -> bool {
    !ev.gaps
        .iter()
        .any(|g| g.scope == "aws:DescribeTargetHealth")
}

/// A target group's setting value.
pub(crate) fn pool_setting<'a>(pool: &'a Pool, name: &str) -> Option<&'a str> {
    pool.setting(name).map(|s| s.value.as_str())
}

/// The pool's item id, if described.
pub(crate) fn pool_item(ev: &Evidence, pool: &Pool) -> Vec<String> {
    let id = pool_id(pool);
    if ev.item(&id).is_some() {
        vec![id]
    } else {
        Vec::new()
    }
}

/// The load balancer's idle timeout in seconds (default 60 when not read, KB 1.6), and whether it
/// was read.
pub(crate) fn idle_timeout(ev: &Evidence) -> (u32, bool) {
    match ev.config.setting("idle_timeout.timeout_seconds") {
        Some(s) => (s.value.parse().unwrap_or(60), !s.default),
        None => (60, false),
    }
}

/// Count targets by state.
pub(crate) fn count_state(targets: &[(String, &Target)], state: HealthState) -> usize {
    targets.iter().filter(|(_, t)| t.health == state).count()
}

/// Whether a log group is a 502 served to the client.
pub(crate) fn is_502(g: &LogGroup) -> bool {
    g.client_status() == Some(502)
}

/// Which target groups a load balancer's own metrics (`HTTPCode_ELB_502_Count`, reported per
/// load balancer only, KB 9.2) count besides the ones inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LbShare {
    /// The load balancer forwards to the inspected target groups only.
    Alone,
    /// It forwards to these other target groups too.
    Shared(Vec<String>),
    /// Not known (its listeners were not read, or the evidence is offline logs).
    Unknown,
}

/// What the load balancer's own metrics cover, from the provider's
/// `load_balancer.other_target_groups` setting.
pub(crate) fn lb_share(ev: &Evidence) -> LbShare {
    match ev.config.setting("load_balancer.other_target_groups") {
        None => LbShare::Unknown,
        Some(s) if s.value.is_empty() => LbShare::Alone,
        Some(s) => LbShare::Shared(s.value.split(',').map(str::to_owned).collect()),
    }
}

impl LbShare {
    /// How `HTTPCode_ELB_502_Count` is worded: the load balancer's figure, over which groups.
    pub fn scope_words(&self) -> String {
        match self {
            LbShare::Alone => "the ALB made".to_owned(),
            LbShare::Shared(others) => format!(
                "across all its target groups (also {}), the ALB made",
                others.join(", ")
            ),
            LbShare::Unknown => "across all its target groups, the ALB made".to_owned(),
        }
    }
}

/// The 502 evidence of an ALB's inspected target groups: access-log lines with status 502 (the
/// provider keeps only the inspected groups' lines), and `HTTPCode_ELB_502_Count` when the load
/// balancer serves no other group, since that metric is per load balancer (KB 9.2).
/// (`HTTPCode_Target_5XX_Count` counts 500s and 503s too, so it is not 502 evidence.)
pub(crate) fn any_502(ev: &Evidence) -> (u64, Vec<String>) {
    let l = lines_where(ev, is_502);
    let mut items = l.items;
    let mut count = l.count;
    if lb_share(ev) == LbShare::Alone {
        if let Some((v, ids)) = metric_positive(ev, "HTTPCode_ELB_502_Count") {
            count = count.max(v as u64);
            items.extend(ids);
        }
    }
    (count, items)
}

/// The 502s the targets of one target group failed to serve: with logs, 502 lines other than the
/// keep-alive race signature (naming one of its members when there are several target groups);
/// without logs, `HTTPCode_ELB_502_Count` of a load balancer known to serve this group alone.
pub(crate) fn pool_502(ev: &Evidence, pool: &Pool, logs_read: bool) -> (u64, Vec<String>) {
    let single = ev.config.pools.len() <= 1;
    if !logs_read {
        return if single && lb_share(ev) == LbShare::Alone {
            metric_positive(ev, "HTTPCode_ELB_502_Count")
                .map(|(v, ids)| (v as u64, ids))
                .unwrap_or_default()
        } else {
            (0, Vec::new())
        };
    }
    let members: Vec<String> = group_targets(ev, &pool.name)
        .iter()
        .filter_map(|(_, t)| Some(format!("{}:{}", t.address.as_ref()?, t.port?)))
        .collect();
    let l = lines_where(ev, |g| {
        is_502(g)
            && g.class != LogClass::Status502NoHeader
            && (single || g.upstream.as_ref().is_some_and(|u| members.contains(u)))
    });
    (l.count, l.items)
}

/// A finding about the ALB layer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    code: FindingCode,
    severity: Severity,
    confidence: Confidence,
    layer: Layer,
    title: String,
    explanation: String,
    evidence: Vec<String>,
    disproved_by: &str,
    remediation: Vec<Remediation>,
) -> Finding {
    Finding {
        code,
        severity,
        confidence,
        layer: Some(layer),
        title,
        explanation,
        evidence: crate::rules::dedup(evidence),
        locations: Vec::new(),
        disproved_by: disproved_by.to_owned(),
        remediation,
        next_command: None,
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! ALB evidence for rule tests.
    use cloud502_model::*;

    fn s(name: &str, value: &str) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            location: None,
            default: false,
        }
    }

    pub fn target(id: &str, health: HealthState, reason: Option<&str>) -> Target {
        Target {
            id: id.into(),
            address: None,
            port: Some(8080),
            group: Some("web".into()),
            health,
            reason: reason.map(str::to_owned),
            detail: None,
        }
    }

    pub fn metric_of(name: &str, value: f64) -> Metric {
        Metric {
            timeline: None,
            name: name.into(),
            scope: "app/my-alb/50dc6c495c0c9188".into(),
            statistic: if name.contains("Healthy") {
                "Maximum"
            } else {
                "Sum"
            }
            .into(),
            value,
            datapoints: 5,
            period_seconds: 60,
        }
    }

    /// ALB access-log summary with groups (class, target, count, error_reason).
    pub fn alb_log(groups: &[(LogClass, Option<&str>, u64, Option<&str>)]) -> LogSummary {
        let total: u64 = groups.iter().map(|g| g.2).sum();
        LogSummary {
            id: "log.0".into(),
            source: "s3://logs/alb (3 objects)".into(),
            dialect: "alb-access".into(),
            lines: total * 10,
            matched: total,
            bytes: 1000,
            skipped: LogSkips::default(),
            first_seen: None,
            last_seen: None,
            counts: vec![],
            groups: groups
                .iter()
                .enumerate()
                .map(|(i, (class, upstream, count, detail))| LogGroup {
                    timeline: None,
                    class: *class,
                    upstream: upstream.map(str::to_owned),
                    status: class.client_status(),
                    level: None,
                    detail: detail.map(str::to_owned),
                    count: *count,
                    reused: None,
                    first_seen: None,
                    last_seen: None,
                    sample: LogSample {
                        line: i as u64 + 1,
                        text: format!("http 2026-11-20T10:00:00Z app/my-alb/50dc {class}"),
                    },
                })
                .collect(),
            samples: vec![],
        }
    }

    /// An ALB evidence: target group `web` (HTTP 8080, default health check) with these targets,
    /// behind `my-alb` (idle timeout 60 s); `describe` has run.
    pub fn alb(targets: &[Target]) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::AwsAlb,
            id: "web".into(),
        });
        ev.config.settings = vec![
            s("load_balancer", "my-alb"),
            s("idle_timeout.timeout_seconds", "60"),
            s("load_balancer.other_target_groups", ""),
        ];
        ev.config.pools.push(Pool {
            name: "web".into(),
            location: None,
            members: targets
                .iter()
                .map(|t| PoolMember {
                    address: format!("{}:8080", t.id),
                    location: None,
                    settings: vec![],
                })
                .collect(),
            settings: vec![
                s("protocol", "HTTP"),
                s("port", "8080"),
                s("target_type", "instance"),
                s("health_check.protocol", "HTTP"),
                s("health_check.port", "traffic-port"),
                s("health_check.path", "/"),
                s("health_check.matcher", "200"),
                s("health_check.timeout_seconds", "5"),
                s("health_check.interval_seconds", "30"),
                s("deregistration_delay.timeout_seconds", "300"),
            ],
        });
        ev.targets = targets.to_vec();
        crate::describe::describe(&mut ev);
        ev
    }
}
