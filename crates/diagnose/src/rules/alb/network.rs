//! Security groups between the ALB and its targets (KB 1.9 #2): the provider's `sg.*` checks.
//!
//! The check gathers a `Blocked` fact; its text is beside it.

use crate::remediation::review_config;
use crate::rules::Rule;
use crate::rules::alb::shared::{finding, is_alb, lines, metric_positive};
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HostCheck, Layer, LogClass, Severity,
};

pub use crate::describe::CHECK_SG_PREFIX;

pub(crate) const RULE: Rule = Rule {
    name: "alb_network",
    codes: &[FindingCode::AlbSecurityGroupBlocks],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) {
        return;
    }
    let failed: Vec<&HostCheck> = ev
        .checks
        .iter()
        .filter(|c| c.id.starts_with(CHECK_SG_PREFIX) && c.status == CheckStatus::Fail)
        .collect();
    if failed.is_empty() {
        return;
    }
    let no_connect = lines(ev, &[LogClass::Status502NoConnect]);
    let conn = metric_positive(ev, "TargetConnectionErrorCount");
    let unhealthy = ev.targets.iter().any(|t| {
        matches!(
            t.reason.as_deref(),
            Some("Target.Timeout" | "Target.FailedHealthChecks")
        )
    });
    let seen = no_connect.count > 0 || conn.is_some() || unhealthy;
    let mut evidence: Vec<String> = failed.iter().map(|c| c.id.clone()).collect();
    evidence.extend(no_connect.items);
    if let Some((_, ids)) = conn {
        evidence.extend(ids);
    }
    out.push(Finding::from(Blocked {
        failed,
        seen,
        evidence,
    }));
}

// ---- facts ----

/// Security-group checks that fail between the ALB and its targets.
struct Blocked<'a> {
    failed: Vec<&'a HostCheck>,
    /// Connection failures to the targets are seen too (logs, metric, health reasons).
    seen: bool,
    evidence: Vec<String>,
}

// ---- text ----

impl From<Blocked<'_>> for Finding {
    fn from(f: Blocked<'_>) -> Finding {
        finding(
            FindingCode::AlbSecurityGroupBlocks,
            if f.seen {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Confidence::High,
            Layer::AwsAlb,
            format!(
                "a security group blocks the ALB from its targets: {}",
                f.failed
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "{}. The load balancer cannot reach the target port, so health checks time out \
                 and requests fail on connect.{}",
                f.failed
                    .iter()
                    .map(|c| c.detail.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                if f.seen {
                    " Connection failures to the targets are seen as well."
                } else {
                    ""
                }
            ),
            f.evidence,
            "Another security group attached to the same load balancer or target allows the port \
             (groups are allow-lists: any one rule suffices), or the group changed since it was \
             read.",
            vec![review_config(
                "Allow TCP on the target port from the load balancer's security group in the targets' group, and to the targets in the load balancer's egress; check the subnets' NACLs for ephemeral ports 1024-65535 both ways",
                Some(
                    "aws ec2 authorize-security-group-ingress --group-id <target-sg> --protocol tcp --port <port> --source-group <alb-sg>",
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
    use cloud502_model::{HealthState, HostCheck};

    #[test]
    fn a_failed_check_is_critical_when_connections_fail() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        ev.checks.push(HostCheck {
            id: "sg.target-ingress.i-1.8080".into(),
            name: "ingress of i-1 on port 8080".into(),
            status: CheckStatus::Fail,
            detail: "no ingress rule of sg-t allows TCP 8080 from sg-lb".into(),
        });
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbSecurityGroupBlocks);
        assert_eq!(f[0].severity, Severity::Warning);
        ev.metrics
            .push(metric_of("TargetConnectionErrorCount", 4.0));
        crate::describe::describe(&mut ev);
        assert_eq!(run_rule(check, &ev)[0].severity, Severity::Critical);
        ev.checks[0].status = CheckStatus::Pass;
        assert!(run_rule(check, &ev).is_empty());
    }
}
