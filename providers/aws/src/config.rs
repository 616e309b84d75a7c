//! `cloud502 aws` options, validated all at once before any call is made.

use crate::arn::{Named, ResourceKind, S3Location};
use crate::error::{AwsError, Result};
use std::time::Duration;

/// What to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One target group (`--tg ARN|NAME`).
    TargetGroup(String),
    /// Every target group behind a load balancer's listeners (`--lb ARN|NAME`).
    LoadBalancer(String),
}

/// Options of `cloud502 aws`, as the user gave them.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// The target group or load balancer.
    pub selector: Selector,
    /// The region (default: the ARN's region, then the SDK's chain: AWS_REGION, profile).
    pub region: Option<String>,
    /// The named profile (default: the SDK's chain: AWS_PROFILE, `default`).
    pub profile: Option<String>,
    /// An endpoint for every service (moto, LocalStack, a VPC endpoint). `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// A CloudWatch Logs group holding ALB access-log records.
    pub log_group: Option<String>,
    /// Where the ALB writes its access logs (default: the load balancer's `access_logs.s3.*`).
    pub access_logs: Option<String>,
    /// Look back this far for metrics and logs.
    pub since: Duration,
    /// Read CloudWatch metrics.
    pub metrics: bool,
    /// Check security groups (needs the `ec2` feature).
    pub security_groups: bool,
    /// Bound on each API call, retries included.
    pub call_timeout: Duration,
    /// At most this many access-log objects are read from S3 (newest first).
    pub max_log_objects: usize,
    /// At most this many bytes of access logs are read from S3, before decompression.
    pub max_log_bytes: u64,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            selector: Selector::TargetGroup(String::new()),
            region: None,
            profile: None,
            endpoint_url: None,
            log_group: None,
            access_logs: None,
            since: Duration::from_secs(3600),
            metrics: true,
            security_groups: cfg!(feature = "ec2"),
            call_timeout: Duration::from_secs(10),
            max_log_objects: 200,
            max_log_bytes: 256 << 20,
        }
    }
}

/// Options after validation.
#[derive(Debug, Clone)]
pub(crate) struct Validated {
    pub target: Named,
    pub kind: ResourceKind,
    pub access_logs: Option<S3Location>,
}

impl AwsOptions {
    /// A target group by ARN or name, with defaults for the rest.
    pub fn target_group(tg: impl Into<String>) -> Self {
        AwsOptions {
            selector: Selector::TargetGroup(tg.into()),
            ..AwsOptions::default()
        }
    }

    /// Check the options; every problem is reported at once.
    pub(crate) fn validate(&self) -> Result<Validated> {
        let mut problems = Vec::new();
        let (raw, kind) = match &self.selector {
            Selector::TargetGroup(s) => (s, ResourceKind::TargetGroup),
            Selector::LoadBalancer(s) => (s, ResourceKind::LoadBalancer),
        };
        let flag = match kind {
            ResourceKind::TargetGroup => "--tg",
            ResourceKind::LoadBalancer => "--lb",
        };
        let target = match Named::parse(raw, kind) {
            Ok(Named::Arn(a)) if matches!(a.lb_type.as_deref(), Some("net" | "gwy")) => {
                let kind = if a.lb_type.as_deref() == Some("net") {
                    "Network Load Balancer"
                } else {
                    "Gateway Load Balancer"
                };
                return Err(crate::scope::out_of_scope(
                    "load balancer",
                    &a.name,
                    &format!("it is a {kind}"),
                ));
            }
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(format!("{flag}: {e}"));
                None
            }
        };
        let access_logs = match self.access_logs.as_deref().map(S3Location::parse) {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                problems.push(format!("--access-logs: {e}"));
                None
            }
        };
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "--endpoint-url `{url}` must start with http:// or https://"
                ));
            }
        }
        if let (Some(region), Some(arn_region)) =
            (&self.region, target.as_ref().and_then(Named::region))
        {
            if region != arn_region {
                problems.push(format!(
                    "--region {region} differs from the ARN's region {arn_region}"
                ));
            }
        }
        if let Some(g) = &self.log_group {
            if g.is_empty() || g.len() > 512 {
                problems.push("--log-group must be 1 to 512 characters".to_owned());
            }
        }
        if self.call_timeout.is_zero() {
            problems.push("--timeout must be greater than zero".to_owned());
        }
        if self.since.is_zero() {
            problems.push("--since must be greater than zero".to_owned());
        }
        // Library callers bypass the CLI's parsers: bound the durations here too, so that no
        // window (`now - since`) or deadline computed from them can overflow.
        use cloud502_collect::limits;
        if let Err(e) = limits::check_duration("--timeout", self.call_timeout, limits::MAX_TIMEOUT)
        {
            problems.push(e);
        }
        if let Err(e) = limits::check_duration("--since", self.since, limits::MAX_SINCE) {
            problems.push(e);
        }
        if self.security_groups && !cfg!(feature = "ec2") {
            problems.push(
                "security-group checks need cloud502-aws built with the `ec2` feature".to_owned(),
            );
        }
        match (target, problems.is_empty()) {
            (Some(target), true) => Ok(Validated {
                target,
                kind,
                access_logs,
            }),
            _ => Err(AwsError::Options {
                problems,
                hint: "see `cloud502 aws --help`".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() {
        let opts = AwsOptions {
            selector: Selector::TargetGroup("arn:aws:elasticloadbalancing:x".into()),
            access_logs: Some("http://bucket".into()),
            endpoint_url: Some("localhost:5000".into()),
            call_timeout: Duration::ZERO,
            ..AwsOptions::default()
        };
        let e = opts.validate().unwrap_err().to_string();
        for needle in [
            "--tg: malformed ARN",
            "--access-logs",
            "--endpoint-url",
            "--timeout",
        ] {
            assert!(e.contains(needle), "{needle} missing from {e}");
        }
        let opts = AwsOptions {
            since: Duration::MAX,
            call_timeout: Duration::from_secs(u64::MAX),
            ..AwsOptions::target_group("web")
        };
        let e = opts.validate().unwrap_err().to_string();
        assert!(
            e.contains("--timeout 18446744073709551615s is above the limit of 1h"),
            "{e}"
        );
        assert!(e.contains("--since"), "{e}");
    }

    #[test]
    fn a_network_or_gateway_load_balancer_arn_is_out_of_scope() {
        for (arn, kind) in [
            (
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/net/my-nlb/50dc6c495c0c9188",
                "Network",
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/gwy/my-gwlb/50dc6c495c0c9188",
                "Gateway",
            ),
        ] {
            let opts = AwsOptions {
                selector: Selector::LoadBalancer(arn.into()),
                ..AwsOptions::target_group("web")
            };
            let e = opts.validate().unwrap_err().to_string();
            assert!(e.contains("never answer HTTP 502"), "{e}");
            assert!(e.contains(kind), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn region_must_agree_with_the_arn() {
        let opts = AwsOptions {
            region: Some("eu-west-1".into()),
            ..AwsOptions::target_group(
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/73e2d6bc24d8a067",
            )
        };
        assert!(opts.validate().unwrap_err().to_string().contains("differs"));
    }

    #[test]
    fn a_name_and_an_s3_location_validate() {
        let opts = AwsOptions {
            access_logs: Some("s3://my-logs/alb".into()),
            ..AwsOptions::target_group("web")
        };
        let v = opts.validate().unwrap();
        assert_eq!(v.target, Named::Name("web".into()));
        assert_eq!(v.access_logs.unwrap().prefix, "alb");
    }
}
