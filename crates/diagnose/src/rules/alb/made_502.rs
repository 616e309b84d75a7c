//! Who made an ALB 502 and how (KB 1.5, 1.9): the access-log signature (`target_status_code`, the
//! processing times, `error_reason`) together with the CloudWatch split between
//! `HTTPCode_ELB_502_Count` and `HTTPCode_Target_5XX_Count`, `TargetConnectionErrorCount` and
//! `TargetTLSNegotiationErrorCount`.
//!
//! The check gathers one fact type per finding (`ConnectFailed`, `FromTarget`, `LambdaFailed`, ...);
//! each words its own finding below them, the Lambda error reasons as a table.

use crate::remediation::{check_backend, review_config, update_tls};
use crate::rules::Rule;
use crate::rules::alb::shared::{
    LbShare, Lines, finding, is_alb, lb_share, lines, lines_where, metric, metric_positive,
};
use cloud502_model::LogGroup;
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, LogClass, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "alb_502",
    codes: &[
        FindingCode::AlbTargetConnectFailed,
        FindingCode::AlbTargetTlsFailed,
        FindingCode::AlbTargetReturned502,
        FindingCode::AlbLambdaResponseTooLarge,
        FindingCode::AlbLambdaTimeout,
        FindingCode::AlbLambdaUnhandled,
        FindingCode::AlbLambdaInvalidResponse,
        FindingCode::AlbLambdaError,
        FindingCode::AlbActionFailed,
        FindingCode::AlbMade502,
    ],
    check,
};

fn https_pools(ev: &Evidence) -> Vec<String> {
    ev.config
        .pools
        .iter()
        .filter(|p| p.setting("protocol").is_some_and(|s| s.value == "HTTPS"))
        .map(|p| p.name.clone())
        .collect()
}

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) {
        return;
    }
    let before = out.len();
    let (tls, connect) = connect_and_tls(ev);
    out.extend(tls.map(Finding::from));
    out.extend(connect.map(Finding::from));
    out.extend(lambda(ev).into_iter().map(Finding::from));
    out.extend(actions(ev).map(Finding::from));
    // Access-log lines of 502s the ALB made say how (the other ALB rules read them).
    let alb_lines = lines(
        ev,
        &[
            LogClass::Status502NoConnect,
            LogClass::Status502NoHeader,
            LogClass::Status502,
        ],
    );
    let explained = out.len() > before || alb_lines.count > 0;
    out.extend(from_target(ev, alb_lines.count).map(Finding::from));
    // The ALB made 502s, and nothing above says how: the metrics alone.
    if !explained {
        if let Some((count, evidence)) = metric_positive(ev, "HTTPCode_ELB_502_Count") {
            out.push(Finding::from(MetricsOnly {
                count,
                share: lb_share(ev),
                logs_read: ev
                    .logs
                    .iter()
                    .any(|l| l.dialect == crate::rules::alb::shared::DIALECT),
                evidence,
            }));
        }
    }
}

fn connect_and_tls(ev: &Evidence) -> (Option<TlsFailed>, Option<ConnectFailed>) {
    let no_connect = lines(ev, &[LogClass::Status502NoConnect]);
    let conn_errors = metric_positive(ev, "TargetConnectionErrorCount");
    let tls_errors = metric_positive(ev, "TargetTLSNegotiationErrorCount");
    let failing_checks: Vec<String> = ev
        .targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.reason.as_deref() == Some("Target.FailedHealthChecks"))
        .map(|(i, _)| crate::describe::target_id(i))
        .collect();
    let tls = tls_errors.as_ref().map(|(n, ids)| {
        let mut evidence = ids.clone();
        evidence.extend(no_connect.items.iter().cloned());
        TlsFailed {
            count: *n,
            https: https_pools(ev),
            evidence,
        }
    });
    if no_connect.count == 0 && conn_errors.is_none() {
        return (tls, None);
    }
    if tls_errors.is_some() && conn_errors.is_none() {
        return (tls, None);
    }
    let mut evidence = no_connect.items.clone();
    if let Some((_, ids)) = &conn_errors {
        evidence.extend(ids.iter().cloned());
    }
    evidence.extend(failing_checks.iter().cloned());
    let connect = ConnectFailed {
        no_connect,
        conn_errors: conn_errors.map(|(n, _)| n),
        failing_checks: !failing_checks.is_empty(),
        sg_fail: ev
            .checks
            .iter()
            .any(|c| c.id.starts_with("sg.") && c.status == cloud502_model::CheckStatus::Fail),
        evidence,
    };
    (tls, Some(connect))
}

fn from_target(ev: &Evidence, alb_made: u64) -> Option<FromTarget> {
    let lines = lines(ev, &[LogClass::Status502FromUpstream]);
    let target_5xx = metric_positive(ev, "HTTPCode_Target_5XX_Count");
    if lines.count == 0 && target_5xx.is_none() {
        return None;
    }
    let mut evidence = lines.items.clone();
    if let Some((_, ids)) = &target_5xx {
        evidence.extend(ids.iter().cloned());
    }
    Some(FromTarget {
        lines,
        target_5xx: target_5xx.map(|(n, _)| n),
        alb_made,
        elb_502: metric(ev, "HTTPCode_ELB_502_Count").map_or(0.0, |(v, _)| v),
        share: lb_share(ev),
        evidence,
    })
}

fn lambda(ev: &Evidence) -> Vec<LambdaFailed> {
    let all = lines(ev, &[LogClass::LambdaError]);
    all.details
        .into_iter()
        .map(|(reason, count)| {
            let only = lines_where(ev, |g: &LogGroup| {
                g.class == LogClass::LambdaError && g.detail.as_deref() == Some(reason.as_str())
            });
            LambdaFailed {
                text: lambda_text(&reason),
                reason,
                count,
                lines: only,
            }
        })
        .collect()
}

fn actions(ev: &Evidence) -> Option<ActionFailed> {
    let lines = lines(
        ev,
        &[
            LogClass::AuthError,
            LogClass::WafError,
            LogClass::RoutingError,
        ],
    );
    (lines.count > 0).then_some(ActionFailed { lines })
}

// ---- facts ----

/// HTTPCode_ELB_502_Count with nothing else that says how the ALB made them.
struct MetricsOnly {
    count: f64,
    /// The metric is the load balancer's: which target groups it covers.
    share: LbShare,
    /// Whether any ALB access log was read.
    logs_read: bool,
    evidence: Vec<String>,
}

/// TargetTLSNegotiationErrorCount above 0.
struct TlsFailed {
    count: f64,
    /// The HTTPS target groups.
    https: Vec<String>,
    evidence: Vec<String>,
}

/// Access-log lines without a target status, or TargetConnectionErrorCount above 0.
struct ConnectFailed {
    /// The `502 -` lines.
    no_connect: Lines,
    /// TargetConnectionErrorCount, when above 0.
    conn_errors: Option<f64>,
    /// Some target fails health checks with Target.FailedHealthChecks.
    failing_checks: bool,
    /// A security-group check failed.
    sg_fail: bool,
    evidence: Vec<String>,
}

/// Targets answered 502 (or 5xx) themselves.
struct FromTarget {
    /// The lines with target_status_code 502.
    lines: Lines,
    /// HTTPCode_Target_5XX_Count, when above 0.
    target_5xx: Option<f64>,
    /// Access-log 502s the ALB made itself, and HTTPCode_ELB_502_Count.
    alb_made: u64,
    elb_502: f64,
    /// Which target groups `elb_502` covers.
    share: LbShare,
    evidence: Vec<String>,
}

/// Requests a Lambda target failed, for one error_reason.
struct LambdaFailed {
    reason: String,
    count: u64,
    text: &'static LambdaText,
    /// The lines with this error_reason.
    lines: Lines,
}

/// Requests that failed in the ALB's own action (authenticate, WAF, weighted routing).
struct ActionFailed {
    lines: Lines,
}

// ---- text ----

impl From<MetricsOnly> for Finding {
    fn from(f: MetricsOnly) -> Finding {
        let n = f.count;
        finding(
            FindingCode::AlbMade502,
            Severity::Critical,
            Confidence::Medium,
            Layer::AwsAlb,
            match &f.share {
                LbShare::Alone => format!("the ALB itself made {n:.0} 502(s) in the window"),
                _ => {
                    format!("the ALB made {n:.0} 502(s) across all its target groups in the window")
                }
            },
            format!(
                "HTTPCode_ELB_502_Count is {n:.0}: the load balancer generated these 502s because \
                 a target failed. {}{}",
                match &f.share {
                    LbShare::Alone => String::new(),
                    LbShare::Shared(others) => format!(
                        "AWS reports this metric per load balancer, not per target group: it \
                         counts the requests of {} too, and does not say which group's targets \
                         failed. ",
                        others.join(", ")
                    ),
                    LbShare::Unknown => "AWS reports this metric per load balancer, not per \
                                         target group, so it does not say which group's targets \
                                         failed. "
                        .to_owned(),
                },
                if f.logs_read {
                    "The access-log lines read for the inspected target group(s) do not show \
                     the failing requests."
                } else {
                    "Without access logs the failure cannot be told apart: pass --log-group or \
                     --access-logs (or enable access logs) for the per-request signature."
                }
            ),
            f.evidence,
            "HTTPCode_ELB_502_Count is 0 over the window.",
            vec![check_backend(
                "Read the access logs for the 502s: target_status_code and the processing times say how the target failed",
                None,
            )],
        )
    }
}

impl From<TlsFailed> for Finding {
    fn from(f: TlsFailed) -> Finding {
        let n = f.count;
        finding(
            FindingCode::AlbTargetTlsFailed,
            Severity::Critical,
            Confidence::High,
            Layer::AwsAlb,
            format!("{n:.0} TLS handshake(s) from the ALB to its targets failed"),
            format!(
                "TargetTLSNegotiationErrorCount is {n:.0}{}: the ALB could not complete TLS with \
                 an HTTPS target (handshake error or 10 s timeout), and answered 502 with \
                 target_status_code `-`. Look at the target's TLS listener: plain HTTP on the \
                 port, no protocol or cipher in common, or a listener that does not answer.",
                if f.https.is_empty() {
                    String::new()
                } else {
                    format!(" (HTTPS target groups: {})", f.https.join(", "))
                }
            ),
            f.evidence,
            "TargetTLSNegotiationErrorCount is 0, or the target group protocol is HTTP.",
            vec![
                update_tls(
                    "Fix the target's TLS listener: serve TLS 1.2+ with a common cipher on the target port",
                    Some("openssl s_client -connect <target-ip>:<port> </dev/null"),
                ),
                review_config(
                    "Or set the target group protocol to HTTP if the targets serve plain HTTP",
                    None,
                ),
            ],
        )
    }
}

impl ConnectFailed {
    /// Failed requests: the larger of the lines and the metric.
    fn count(&self) -> u64 {
        self.no_connect
            .count
            .max(self.conn_errors.map_or(0, |n| n as u64))
    }

    fn confidence(&self) -> Confidence {
        if (self.no_connect.count > 0 && self.conn_errors.is_some()) || self.failing_checks {
            Confidence::High
        } else {
            Confidence::Medium
        }
    }

    fn title(&self) -> String {
        format!(
            "the ALB could not connect to its targets ({} failed request(s){})",
            self.count(),
            if self.no_connect.targets.is_empty() {
                String::new()
            } else {
                format!(": {}", self.no_connect.target_list())
            }
        )
    }

    fn explanation(&self) -> String {
        format!(
            "{}{}The ALB answered 502 without reaching a target: target_status_code `-` and all \
             three processing times -1 mean it could not dispatch. A reset on connect means \
             nothing listens on the target port, the port is wrong, or the process is down; an \
             ICMP unreachable means a security group or NACL drops it.{}{}",
            if self.no_connect.count > 0 {
                format!(
                    "{} access-log line(s) show the signature. ",
                    self.no_connect.count
                )
            } else {
                String::new()
            },
            match self.conn_errors {
                Some(n) => format!("TargetConnectionErrorCount is {n:.0}. "),
                None => String::new(),
            },
            if self.failing_checks {
                " Health checks fail with Target.FailedHealthChecks as well."
            } else {
                ""
            },
            if self.sg_fail {
                " A security-group check failed: see alb-security-group-blocks."
            } else {
                ""
            }
        )
    }
}

impl From<ConnectFailed> for Finding {
    fn from(f: ConnectFailed) -> Finding {
        finding(
            FindingCode::AlbTargetConnectFailed,
            Severity::Critical,
            f.confidence(),
            Layer::AwsAlb,
            f.title(),
            f.explanation(),
            f.evidence,
            "The 502 lines carry a target_status_code, or TargetConnectionErrorCount is 0 and the \
             targets accept connections on the target port.",
            vec![
                check_backend(
                    "Start the service on the targets and check it listens on the target group's port",
                    Some("ss -ltnp | grep <port>   # on the target"),
                ),
                review_config(
                    "Check the target group / container port mapping and the health-check port; allow the load balancer's subnets to the target port in the target's security group and NACL (ephemeral 1024-65535 both ways)",
                    None,
                ),
            ],
        )
    }
}

impl FromTarget {
    fn severity_confidence(&self) -> (Severity, Confidence) {
        let n = self.lines.count;
        if n > 0 && n >= self.alb_made {
            (Severity::Critical, Confidence::High)
        } else if n > 0 {
            // fewer than the 502s the ALB made itself: a second cause, not the main one
            (Severity::Critical, Confidence::Medium)
        } else {
            // 5xx from targets, not necessarily 502
            (Severity::Warning, Confidence::Medium)
        }
    }

    fn title(&self) -> String {
        if self.lines.count > 0 {
            format!(
                "the targets themselves returned {} 502(s): the ALB relayed them",
                self.lines.count
            )
        } else {
            format!(
                "targets returned {:.0} 5xx response(s) (HTTPCode_Target_5XX_Count)",
                self.target_5xx.unwrap_or(0.0)
            )
        }
    }

    fn explanation(&self) -> String {
        format!(
            "{}The ALB passes a target's own status through: elb_status_code 502 with \
             target_status_code 502 means the target made the 502. Often the target is itself a \
             proxy (nginx on the instance) whose upstream failed: diagnose that layer next.{}",
            if self.lines.count > 0 {
                format!(
                    "{} access-log line(s) have target_status_code 502 ({}). ",
                    self.lines.count,
                    self.lines.target_list()
                )
            } else {
                String::new()
            },
            if self.elb_502 > 0.0 {
                format!(
                    " Besides, {} {:.0} 502(s) of its own.",
                    self.share.scope_words(),
                    self.elb_502
                )
            } else {
                String::new()
            }
        )
    }
}

impl From<FromTarget> for Finding {
    fn from(f: FromTarget) -> Finding {
        let (severity, confidence) = f.severity_confidence();
        let first_target = f
            .lines
            .targets
            .first()
            .map_or("<target-ip>:<port>", |(t, _)| t.as_str());
        let mut finding = finding(
            FindingCode::AlbTargetReturned502,
            severity,
            confidence,
            Layer::Application,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The 502 lines have target_status_code `-` (the ALB made them), or \
             HTTPCode_Target_5XX_Count is 0.",
            vec![check_backend(
                "Diagnose the target: its proxy's error log, or the application's logs at the times of the 502s",
                Some(&format!("cloud502 probe http://{first_target}/")),
            )],
        );
        // with no flag, cloud502 nginx reads every log the target's config names
        finding.next_command = Some("cloud502 nginx   # on the target".to_owned());
        finding
    }
}

/// What a Lambda error_reason means, as data.
struct LambdaText {
    /// Whether the error_reason is this one.
    reason: fn(&str) -> bool,
    code: FindingCode,
    title: &'static str,
    explanation: &'static str,
    step: &'static str,
}

/// The words of a Lambda error_reason: the first entry of `LAMBDA_TEXTS` that matches.
fn lambda_text(reason: &str) -> &'static LambdaText {
    let last = &LAMBDA_TEXTS[LAMBDA_TEXTS.len() - 1];
    LAMBDA_TEXTS
        .iter()
        .find(|t| (t.reason)(reason))
        .unwrap_or(last)
}

/// The `LambdaUnhandled*` family shares one entry; the last takes any other reason.
const LAMBDA_TEXTS: &[LambdaText] = &[
    LambdaText {
        reason: |r| r == "LambdaResponseTooLarge",
        code: FindingCode::AlbLambdaResponseTooLarge,
        title: "the Lambda target's response is over 1 MB",
        explanation: "The ALB accepts at most 1 MB of Lambda response and answers 502 beyond it.",
        step: "Shrink the response: paginate, compress, or return a redirect to S3 for large bodies",
    },
    LambdaText {
        reason: |r| r == "LambdaInvalidResponse",
        code: FindingCode::AlbLambdaInvalidResponse,
        title: "the Lambda target returned a response the ALB cannot use",
        explanation: "The response must be JSON with statusCode, statusDescription, headers (or \
                      multiValueHeaders, matching the target group's \
                      lambda.multi_value_headers.enabled) and isBase64Encoded; anything else is \
                      a 502.",
        step: "Return the documented response shape from the function",
    },
    LambdaText {
        reason: |r| r.starts_with("LambdaUnhandled"),
        code: FindingCode::AlbLambdaUnhandled,
        title: "the Lambda function raised an error it did not handle",
        explanation: "The function raised an exception instead of returning a response, and the \
                      ALB answered 502. This is the function's code or its dependencies failing, \
                      not its timeout: its own log has the stack trace.",
        step: "Fix the error in the function's log group /aws/lambda/<function>, and catch errors so that it returns a 5xx response",
    },
    LambdaText {
        reason: |_| true,
        code: FindingCode::AlbLambdaError,
        title: "invoking the Lambda target failed",
        explanation: "The ALB could not invoke the function, or the function's answer or request \
                      broke a limit (permissions, throttling, ENI, KMS, request size, connection \
                      timeout); the error_reason names which. LambdaConnectionTimeout ends in \
                      504 and LambdaRequestTooLarge in 413 rather than 502.",
        step: "Fix what the error_reason names: the function's resource policy for \
               elasticloadbalancing.amazonaws.com, concurrency, VPC subnets or KMS key",
    },
];

impl From<LambdaFailed> for Finding {
    fn from(f: LambdaFailed) -> Finding {
        // The status per reason is only partly documented (KB 1.4): take it from the lines.
        let made_502 = f.lines.statuses.contains(&502);
        let statuses = f
            .lines
            .statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("/");
        finding(
            f.text.code,
            if made_502 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Confidence::High,
            Layer::Application,
            format!(
                "{} ({} request(s), status {statuses}, error_reason {})",
                f.text.title, f.count, f.reason
            ),
            f.text.explanation.to_owned(),
            f.lines.items,
            "No access-log line carries this error_reason in the window.",
            vec![check_backend(f.text.step, None)],
        )
    }
}

impl From<ActionFailed> for Finding {
    fn from(f: ActionFailed) -> Finding {
        let reasons: Vec<String> = f
            .lines
            .details
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        finding(
            FindingCode::AlbActionFailed,
            Severity::Warning,
            Confidence::High,
            Layer::AwsAlb,
            format!(
                "{} request(s) failed in an ALB action: {}",
                f.lines.count,
                reasons.join(", ")
            ),
            "The error_reason field is set only for authenticate actions, WAF calls, weighted \
             target groups and Lambda targets: these requests failed in the load balancer's own \
             action, not at a target."
                .to_owned(),
            f.lines.items,
            "No access-log line carries an Auth*, WAF* or weighted-routing error_reason.",
            vec![review_config(
                "Check the listener rule's authenticate action (IdP endpoints, client secret), the WAF web ACL, or the target group cookie of weighted routing",
                None,
            )],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::alb::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::HealthState;

    fn healthy() -> Evidence {
        alb(&[target("i-1", HealthState::Healthy, None)])
    }

    fn with_logs(groups: &[(LogClass, Option<&str>, u64, Option<&str>)]) -> Evidence {
        let mut ev = healthy();
        ev.logs.push(alb_log(groups));
        crate::describe::describe(&mut ev);
        ev
    }

    #[test]
    fn no_connect_lines_are_a_connect_failure() {
        let ev = with_logs(&[(
            LogClass::Status502NoConnect,
            Some("10.0.1.12:8080"),
            9,
            None,
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetConnectFailed);
        assert!(f[0].title.contains("10.0.1.12:8080 (9)"), "{}", f[0].title);
        assert_eq!(f[0].confidence, Confidence::Medium);
        assert!(f[0].evidence.iter().any(|e| e.starts_with("log.0.group.")));
    }

    #[test]
    fn the_connection_error_metric_alone_is_enough_and_raises_confidence_with_logs() {
        let mut ev = healthy();
        ev.metrics
            .push(metric_of("TargetConnectionErrorCount", 3.0));
        crate::describe::describe(&mut ev);
        assert_eq!(
            run_rule(check, &ev)[0].code,
            FindingCode::AlbTargetConnectFailed
        );
        ev.logs
            .push(alb_log(&[(LogClass::Status502NoConnect, None, 3, None)]));
        crate::describe::describe(&mut ev);
        assert_eq!(run_rule(check, &ev)[0].confidence, Confidence::High);
    }

    #[test]
    fn tls_negotiation_errors_are_a_tls_failure_not_a_connect_failure() {
        let mut ev = healthy();
        ev.metrics
            .push(metric_of("TargetTLSNegotiationErrorCount", 7.0));
        ev.logs
            .push(alb_log(&[(LogClass::Status502NoConnect, None, 7, None)]));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::AlbTargetTlsFailed);
    }

    #[test]
    fn target_made_502s_point_one_layer_down() {
        let ev = with_logs(&[(
            LogClass::Status502FromUpstream,
            Some("10.0.1.14:8080"),
            5,
            None,
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetReturned502);
        assert_eq!(f[0].layer, Some(Layer::Application));
        assert!(
            f[0].next_command
                .as_deref()
                .unwrap()
                .contains("cloud502 nginx")
        );
        // the metric alone: a warning, since 5xx is not only 502
        let mut ev = healthy();
        ev.metrics.push(metric_of("HTTPCode_Target_5XX_Count", 2.0));
        crate::describe::describe(&mut ev);
        assert_eq!(run_rule(check, &ev)[0].severity, Severity::Warning);
    }

    #[test]
    fn each_lambda_error_reason_maps_to_its_cause() {
        for (reason, code) in [
            (
                "LambdaResponseTooLarge",
                FindingCode::AlbLambdaResponseTooLarge,
            ),
            (
                "LambdaInvalidResponse",
                FindingCode::AlbLambdaInvalidResponse,
            ),
            ("LambdaUnhandled", FindingCode::AlbLambdaUnhandled),
            ("LambdaConnectionTimeout", FindingCode::AlbLambdaError),
            ("LambdaAccessDenied", FindingCode::AlbLambdaError),
        ] {
            let ev = with_logs(&[(LogClass::LambdaError, None, 2, Some(reason))]);
            let f = run_rule(check, &ev);
            assert_eq!(f[0].code, code, "{reason}");
            assert!(f[0].title.contains(reason));
        }
        // An unhandled exception is the function's code, not its timeout (KB 9.2).
        for reason in ["LambdaUnhandled", "LambdaUnhandledException"] {
            let ev = with_logs(&[(LogClass::LambdaError, None, 2, Some(reason))]);
            let f = run_rule(check, &ev);
            assert_eq!(f[0].code, FindingCode::AlbLambdaUnhandled);
            let words = format!("{} {:?}", f[0].title, f[0].remediation).to_lowercase();
            assert!(!words.contains("raise the function timeout"), "{words}");
            assert!(!f[0].title.contains("timed out"), "{}", f[0].title);
        }
        // a Lambda error that did not end in 502 is a warning
        let mut ev = healthy();
        let mut log = alb_log(&[(
            LogClass::LambdaError,
            None,
            1,
            Some("LambdaRequestTooLarge"),
        )]);
        log.groups[0].status = Some(413);
        ev.logs.push(log);
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].title.contains("status 413"), "{}", f[0].title);
    }

    #[test]
    fn target_5xx_does_not_hide_the_albs_own_502s() {
        let mut ev = healthy();
        ev.metrics.push(metric_of("HTTPCode_Target_5XX_Count", 2.0));
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 9.0));
        crate::describe::describe(&mut ev);
        let codes: Vec<_> = run_rule(check, &ev).iter().map(|f| f.code).collect();
        assert!(codes.contains(&FindingCode::AlbMade502), "{codes:?}");
        assert!(
            codes.contains(&FindingCode::AlbTargetReturned502),
            "{codes:?}"
        );
    }

    #[test]
    fn auth_and_waf_errors_are_action_failures() {
        let ev = with_logs(&[
            (LogClass::AuthError, None, 2, Some("AuthInvalidIdToken")),
            (LogClass::WafError, None, 1, Some("WAFConnectionTimeout")),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbActionFailed);
        assert!(f[0].title.contains("AuthInvalidIdToken (2)"));
    }

    #[test]
    fn elb_502s_without_a_signature_say_the_alb_made_them() {
        let mut ev = healthy();
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 40.0));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbMade502);
        assert!(f[0].explanation.contains("--log-group"));
        // a zero metric is no finding
        let mut ev = healthy();
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 0.0));
        assert!(run_rule(check, &ev).is_empty());
    }
}
