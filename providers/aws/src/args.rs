//! `cloud502 aws`'s options, declared once: its flags and the audit file's keys for
//! `provider = "aws"`.

use crate::{AwsOptions, AwsProvider, Selector};
use cloud502_collect::options::{Common, parse_since, parse_timeout, problem};
use cloud502_collect::{Provider, ProviderArgs, ProviderError};
use cloud502_model::{Layer, ProviderKind};
use serde::Deserialize;
use std::time::Duration;

/// Diagnose an AWS Application Load Balancer target group (or every target group behind a
/// load balancer): target health and reason codes, attributes, listener rules, CloudWatch
/// metrics, access logs (CloudWatch Logs or S3) and security groups. Read-only.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["tg", "lb"])))]
#[serde(deny_unknown_fields)]
pub struct AwsArgs {
    /// The target group, as an ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)
    /// or a name in --region.
    #[arg(long, value_name = "ARN|NAME")]
    pub tg: Option<String>,

    /// A load balancer (ARN or name): inspect every target group its listeners forward to.
    #[arg(long, value_name = "ARN|NAME")]
    pub lb: Option<String>,

    /// The region [default: the ARN's region, else AWS_REGION or the profile's].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// The named profile of ~/.aws/config [default: AWS_PROFILE, else `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every call to this endpoint (a VPC endpoint, LocalStack, moto). AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// A CloudWatch Logs group holding the ALB's access-log records (plain lines or JSON);
    /// events matching "502" in the window are read.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,

    /// Where the ALB writes access logs [default: the load balancer's access_logs.s3.* attributes].
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub access_logs: Option<String>,

    /// How far back to read metrics and logs (e.g. 15m, 1h, 1d).
    // The audit file's `since` is a key of every subject: it comes in `Common`.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    #[serde(skip)]
    pub since: Option<Duration>,

    /// Do not read CloudWatch metrics.
    #[arg(long = "no-metrics", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub metrics: bool,

    /// Do not check security groups (no EC2 calls).
    #[arg(long = "no-security-groups", action = clap::ArgAction::SetFalse)]
    #[serde(default = "security_groups")]
    pub security_groups: bool,

    /// Bound on each API call, retries included (e.g. 10s, 30s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    #[serde(skip)]
    pub timeout: Option<Duration>,

    /// Read at most this many S3 access-log objects (the newest first).
    #[arg(long, value_name = "N", default_value = "200")]
    pub max_log_objects: Option<usize>,
}

/// The file's default: on when this build can make the EC2 calls.
fn security_groups() -> bool {
    AwsOptions::default().security_groups
}

impl ProviderArgs for AwsArgs {
    const NAME: &'static str = "aws";
    const KIND: ProviderKind = ProviderKind::AwsAlb;
    const LAYER: Layer = Layer::AwsAlb;
    const BUDGETED: bool = true;
    type Options = AwsOptions;

    fn into_options(self, common: &Common) -> Result<AwsOptions, ProviderError> {
        let selector = match (self.tg, self.lb) {
            (Some(tg), None) => Selector::TargetGroup(tg),
            (None, Some(lb)) => Selector::LoadBalancer(lb),
            (Some(_), Some(_)) => return Err(problem("set one of tg or lb, not both")),
            (None, None) => {
                return Err(problem(
                    "an aws subject needs tg (target group ARN or name) or lb (load balancer ARN or name)",
                ));
            }
        };
        let defaults = AwsOptions::default();
        Ok(AwsOptions {
            selector,
            region: self.region,
            profile: self.profile,
            endpoint_url: self.endpoint_url,
            log_group: self.log_group,
            access_logs: self.access_logs,
            since: self.since.or(common.since).unwrap_or(defaults.since),
            metrics: self.metrics,
            security_groups: self.security_groups,
            call_timeout: self
                .timeout
                .or(common.timeout)
                .unwrap_or(defaults.call_timeout),
            max_log_objects: self.max_log_objects.unwrap_or(defaults.max_log_objects),
            ..defaults
        })
    }

    fn provider(options: AwsOptions) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(AwsProvider::new(options)?))
    }

    fn deadline(options: &AwsOptions) -> Duration {
        // Calls run in about four waves (target group, then health/attributes/metrics/logs, then
        // security groups and S3), each call bounded by --timeout; this is the backstop.
        (options.call_timeout * 8).max(Duration::from_secs(60))
    }
}
