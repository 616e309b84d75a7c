//! Health checks that pass while real traffic fails: every target healthy, yet 502s are served.
//! The check probes something that works (a static `/`, another port, a lenient matcher) while
//! the requests that fail take another path.
//!
//! The check gathers a `Blind` fact (with each `Weakness` of the check); its text is beside it.

use crate::remediation::review_config;
use crate::rules::Rule;
use crate::rules::alb::shared::{
    count_state, finding, group_targets, health_read, is_alb, pool_502, pool_item, pool_setting,
};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, HealthState, Layer, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "alb_health_check",
    codes: &[FindingCode::AlbHealthCheckBlind],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) || !health_read(ev) {
        return;
    }
    let logs_read = ev
        .logs
        .iter()
        .any(|l| l.dialect == crate::rules::alb::shared::DIALECT);
    for pool in &ev.config.pools {
        // A keep-alive race (target_processing_time -1 after a request was sent) is the ALB's
        // connection handling, not a request the targets fail: leave those out.
        let (count, items) = pool_502(ev, pool, logs_read);
        if count == 0 {
            continue;
        }
        let targets = group_targets(ev, &pool.name);
        let healthy = count_state(&targets, HealthState::Healthy);
        if healthy == 0 || count_state(&targets, HealthState::Unhealthy) > 0 {
            continue;
        }
        let path = pool_setting(pool, "health_check.path").unwrap_or("/");
        let port = pool_setting(pool, "health_check.port").unwrap_or("traffic-port");
        let matcher = pool_setting(pool, "health_check.matcher").unwrap_or("200");
        let traffic_port = pool_setting(pool, "port");
        let mut weak = Vec::new();
        if path == "/" {
            weak.push(Weakness::RootPath);
        }
        if port != "traffic-port" && Some(port) != traffic_port {
            weak.push(Weakness::OtherPort(traffic_port.unwrap_or("?")));
        }
        if matcher.contains('-')
            || matcher.contains(',')
            || matcher.starts_with('3')
            || matcher.starts_with('4')
        {
            weak.push(Weakness::LenientMatcher);
        }
        let mut evidence = pool_item(ev, pool);
        evidence.extend(targets.iter().map(|(id, _)| id.clone()));
        evidence.extend(items.iter().cloned());
        out.push(Finding::from(Blind {
            group: &pool.name,
            healthy,
            count,
            path,
            port,
            matcher,
            weak,
            logs_read,
            evidence,
        }));
    }
}

// ---- facts ----

/// Every target of a group passes its health check while the group serves 502s.
struct Blind<'a> {
    group: &'a str,
    healthy: usize,
    /// The 502s the group served.
    count: u64,
    /// The health check's path, port and matcher.
    path: &'a str,
    port: &'a str,
    matcher: &'a str,
    /// Why the check may miss what fails.
    weak: Vec<Weakness<'a>>,
    logs_read: bool,
    evidence: Vec<String>,
}

/// A way a health check can pass while requests fail.
enum Weakness<'a> {
    /// It asks for `/`.
    RootPath,
    /// It checks another port than the traffic port (named here).
    OtherPort(&'a str),
    /// Its matcher accepts more than success.
    LenientMatcher,
}

// ---- text ----

impl Blind<'_> {
    fn weakness(&self, w: &Weakness<'_>) -> String {
        match w {
            Weakness::RootPath => "the path is `/`, which often serves a static page without touching the application's dependencies".to_owned(),
            Weakness::OtherPort(traffic) => {
                format!("it checks port {}, not the traffic port {traffic}", self.port)
            }
            Weakness::LenientMatcher => {
                format!("the matcher {} accepts more than success", self.matcher)
            }
        }
    }
}

impl From<Blind<'_>> for Finding {
    fn from(f: Blind<'_>) -> Finding {
        let weak: Vec<String> = f.weak.iter().map(|w| f.weakness(w)).collect();
        finding(
            FindingCode::AlbHealthCheckBlind,
            Severity::Warning,
            if weak.is_empty() || !f.logs_read {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            Layer::AwsAlb,
            format!(
                "all {} target(s) of {} pass their health check ({} on {}) while {} 502(s) were served",
                f.healthy, f.group, f.path, f.port, f.count
            ),
            format!(
                "The health check says the targets are fine, but requests fail: it does not \
                 exercise what fails{}. The ALB keeps routing to targets that break real requests.",
                if weak.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", weak.join("; "))
                }
            ),
            f.evidence,
            "The 502s come from the ALB's own connection handling (keep-alive race) or from \
             another target group, not from requests the targets fail.",
            vec![review_config(
                "Point the health check at an endpoint that exercises the request path and its dependencies, on the traffic port, with matcher 200",
                Some(
                    "aws elbv2 modify-target-group --target-group-arn <ARN> --health-check-path /healthz --matcher HttpCode=200",
                ),
            )],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::alb::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    #[test]
    fn healthy_targets_and_502s_flag_the_health_check() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        assert!(run_rule(check, &ev).is_empty());
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 30.0));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbHealthCheckBlind);
        assert!(f[0].explanation.contains("path is `/`"));
    }

    #[test]
    fn unhealthy_targets_are_not_a_blind_check() {
        let mut ev = alb(&[
            target("i-1", HealthState::Healthy, None),
            target("i-2", HealthState::Unhealthy, Some("Target.Timeout")),
        ]);
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 30.0));
        assert!(run_rule(check, &ev).is_empty());
    }
}
