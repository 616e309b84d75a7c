//! The AWS clients cloud502 uses, how they are configured (timeouts, retries, endpoint), the record
//! of every API call made, and how an SDK error becomes a gap.

use crate::error::AwsError;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cloud502_collect::RequestBudget;
use cloud502_model::{Gap, GapKind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attempts per call (the first try plus retries) under the SDK's standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;

/// The IAM action behind an SDK operation (`elasticloadbalancing:DescribeTargetHealth`).
pub fn iam_action(prefix: &str, operation: &str) -> String {
    match (prefix, operation) {
        ("s3", "ListObjectsV2") => "s3:ListBucket".to_owned(),
        _ => format!("{prefix}:{operation}"),
    }
}

/// Every API call the provider made, as IAM actions with counts. Shared by the clients'
/// interceptors; the IAM policy test and `make bench` read it.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    budget: Arc<Mutex<Option<Arc<RequestBudget>>>>,
}

/// The error an attempt fails with when the shared request budget is spent: it is not sent.
#[derive(Debug)]
pub struct BudgetSpent(pub String);

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BudgetSpent {}

impl CallLog {
    /// The actions called so far and how often (attempts, retries included).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The number of calls made so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Share a request budget (`cloud502 audit`'s per-provider budget) with the clients recording
    /// here: an attempt that finds it spent is not sent.
    pub fn set_budget(&self, budget: Option<Arc<RequestBudget>>) {
        if let Ok(mut b) = self.budget.lock() {
            *b = budget;
        }
    }

    fn interceptor(&self, prefix: &'static str) -> Recorder {
        Recorder {
            prefix,
            log: self.clone(),
        }
    }
}

#[derive(Debug)]
struct Recorder {
    prefix: &'static str,
    log: CallLog,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "cloud502-call-log"
    }

    fn read_before_attempt(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let budget = self.log.budget.lock().ok().and_then(|b| b.clone());
        if let Some(budget) = budget
            && !budget.take()
        {
            return Err(Box::new(BudgetSpent(budget.spent_message())));
        }
        if let Some(meta) = cfg.load::<Metadata>() {
            let action = iam_action(self.prefix, meta.name());
            if let Ok(mut calls) = self.log.calls.lock() {
                *calls.entry(action).or_default() += 1;
            }
        }
        Ok(())
    }
}

/// The service clients of one run.
#[derive(Debug, Clone)]
pub struct Clients {
    /// Elastic Load Balancing v2.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// CloudWatch (metrics).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// S3 (access logs).
    pub s3: aws_sdk_s3::Client,
    /// EC2 (security groups, instances, subnets).
    #[cfg(feature = "ec2")]
    pub ec2: aws_sdk_ec2::Client,
    /// The calls made through these clients.
    pub calls: CallLog,
    /// Facts read once and shared by every collection through these clients (an audit's
    /// per-load-balancer and per-VPC reads).
    pub facts: crate::facts::Facts,
    /// The region the clients talk to.
    pub region: String,
}

/// Where the clients point and how patient they are.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The region (else the SDK's chain).
    pub region: Option<String>,
    /// The profile (else the SDK's chain).
    pub profile: Option<String>,
    /// An endpoint override for every service.
    pub endpoint_url: Option<String>,
    /// The bound on each call, retries included.
    pub call_timeout: Duration,
}

/// Connect within 5 s, each attempt within half the call timeout (so a retry fits), the whole
/// call with its retries within the call timeout: the SDK sets none of these by default.
fn timeouts(call_timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(call_timeout.min(Duration::from_secs(5)))
        .operation_attempt_timeout(call_timeout / 2)
        .operation_timeout(call_timeout)
        .build()
}

/// The SDK's credential chain, in the order the default chain tries it (named in errors).
pub const CHAIN: &str = "environment (AWS_ACCESS_KEY_ID), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), \
the shared config and credentials files (profile, SSO, credential_process), ECS container \
credentials, EC2 instance metadata (IMDS)";

impl Clients {
    /// Load the SDK configuration through aws-config's default chain (env, profiles, SSO, web
    /// identity, IMDS), resolve credentials once (so a missing or broken chain is one clear
    /// error), and build the clients with operation and attempt timeouts and standard retries.
    pub async fn load(opts: &ClientOptions, calls: CallLog) -> Result<Clients, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts(opts.call_timeout))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(region) = &opts.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let conf = loader.load().await;
        let region = conf.region().map(|r| r.to_string()).ok_or_else(|| AwsError::Options {
            problems: vec!["no AWS region: the target is a name, and neither --region, AWS_REGION nor the profile sets one".to_owned()],
            hint: "pass --region, or give the target group as an ARN".to_owned(),
        })?;
        // A region typo otherwise ends in a DNS failure on every call. With an endpoint override
        // (LocalStack, moto, a VPC endpoint) the region is only a signing name: leave it be.
        if conf.endpoint_url().is_none() {
            if let Err(problem) = crate::region::check(&region) {
                return Err(AwsError::Options {
                    problems: vec![problem],
                    hint: "check --region, AWS_REGION, the profile's region or the ARN; `aws ec2 \
                           describe-regions` lists them (a region newer than this build: pass \
                           --endpoint-url https://elasticloadbalancing.REGION.amazonaws.com)"
                        .to_owned(),
                });
            }
        }
        check_credentials(&conf, opts).await?;
        Ok(Clients::from_conf(&conf, region, calls))
    }

    /// Clients with static credentials against one endpoint (an internal platform that holds its
    /// own keys, a VPC endpoint, or a local emulator); no credential chain is consulted.
    pub async fn with_static_credentials(
        endpoint_url: &str,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
        call_timeout: Duration,
    ) -> Clients {
        cloud502_model::secret::register(secret_access_key);
        let creds = aws_credential_types::Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "cloud502-static",
        );
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts(call_timeout))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .region(aws_config::Region::new(region.to_owned()))
            .endpoint_url(endpoint_url)
            .credentials_provider(creds)
            .load()
            .await;
        Clients::from_conf(&conf, region.to_owned(), CallLog::default())
    }

    /// Clients from an SDK config as it is (tests build one with static credentials); their
    /// calls are recorded in `calls`.
    pub fn from_conf(conf: &aws_types::SdkConfig, region: String, calls: CallLog) -> Clients {
        let elbv2 = aws_sdk_elasticloadbalancingv2::config::Builder::from(conf)
            .interceptor(calls.interceptor("elasticloadbalancing"))
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(conf)
            .interceptor(calls.interceptor("cloudwatch"))
            .build();
        let logs = aws_sdk_cloudwatchlogs::config::Builder::from(conf)
            .interceptor(calls.interceptor("logs"))
            .build();
        // Path-style addressing when an endpoint is overridden: a local S3 (moto) has no
        // per-bucket host names.
        let s3 = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(conf.endpoint_url().is_some())
            .interceptor(calls.interceptor("s3"))
            .build();
        #[cfg(feature = "ec2")]
        let ec2 = aws_sdk_ec2::config::Builder::from(conf)
            .interceptor(calls.interceptor("ec2"))
            .build();
        Clients {
            elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(elbv2),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs),
            s3: aws_sdk_s3::Client::from_conf(s3),
            #[cfg(feature = "ec2")]
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            calls,
            facts: crate::facts::Facts::default(),
            region,
        }
    }
}

async fn check_credentials(
    conf: &aws_types::SdkConfig,
    opts: &ClientOptions,
) -> Result<(), AwsError> {
    let hint = "run `aws configure` or `aws sso login`, set AWS_PROFILE to a profile that has \
credentials, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        .to_owned();
    let Some(provider) = conf.credentials_provider() else {
        return Err(AwsError::Credentials {
            message: format!("no AWS credentials provider is configured (tried {CHAIN})"),
            hint,
        });
    };
    let resolved = tokio::time::timeout(opts.call_timeout, provider.provide_credentials()).await;
    match resolved {
        Ok(Ok(creds)) => {
            // Credentials from a profile, SSO or instance metadata never pass through the
            // environment: register them so an error or log that quotes them is masked.
            cloud502_model::secret::register(creds.secret_access_key());
            if let Some(token) = creds.session_token() {
                cloud502_model::secret::register(token);
            }
            Ok(())
        }
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => Err(AwsError::Credentials {
            message: format!("no AWS credentials found (tried {CHAIN})"),
            hint,
        }),
        Ok(Err(e)) => Err(AwsError::Credentials {
            // The chain's own messages: `DisplayErrorContext` ends in a `Debug` dump of the
            // whole error (headers, body, extensions), which is no message for a person.
            message: format!(
                "AWS credentials could not be loaded: {}",
                cloud502_collect::remote::error_chain(&e)
            ),
            hint,
        }),
        Err(_) => Err(AwsError::Credentials {
            message: format!(
                "resolving AWS credentials took longer than {} s (tried {CHAIN})",
                opts.call_timeout.as_secs()
            ),
            hint: "set AWS_EC2_METADATA_DISABLED=true off EC2, or pass --profile".to_owned(),
        }),
    }
}

/// Squash an error chain onto one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Error codes of expired credentials.
const EXPIRED_CODES: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];
/// Error codes of credentials the service rejected.
const REJECTED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "InvalidAccessKeyId",
];

/// How a failed call is classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The gap kind.
    pub kind: GapKind,
    /// The AWS error code, if the service answered.
    pub code: Option<String>,
    /// One line: what failed.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Failure {
    /// This failure as a gap of `scope` (`aws:DescribeTargetHealth`).
    pub fn gap(&self, scope: &str) -> Gap {
        Gap {
            scope: scope.to_owned(),
            kind: self.kind,
            message: self.message.clone(),
            hint: self.hint.clone(),
        }
    }

    /// Whether the credentials themselves are the problem (expired or rejected).
    pub fn is_credentials(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| EXPIRED_CODES.contains(&c) || REJECTED_CODES.contains(&c))
    }

    /// This failure as the error of a run that could read nothing.
    pub fn into_error(self) -> AwsError {
        // An empty hint is dropped where the error is printed (StartError's conversion).
        let hint = self.hint.clone().unwrap_or_default();
        match self.kind {
            GapKind::Permission => AwsError::Credentials {
                message: self.message,
                hint,
            },
            GapKind::NotFound => AwsError::NotFound {
                message: self.message,
                hint,
            },
            _ => AwsError::Unavailable {
                message: self.message,
                hint,
            },
        }
    }
}

/// The budget error somewhere in an SDK error's source chain.
fn budget_spent(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut e: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cur) = e {
        if let Some(b) = cur.downcast_ref::<BudgetSpent>() {
            return Some(b.0.clone());
        }
        e = cur.source();
    }
    None
}

/// Classify an SDK error of the call `action` (an IAM action, `elasticloadbalancing:DescribeTargetHealth`).
pub fn classify<E>(action: &str, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let op = action.split_once(':').map_or(action, |(_, op)| op);
    if let Some(spent) = budget_spent(err) {
        return Failure {
            kind: GapKind::Other,
            code: None,
            message: format!("{op} {spent}"),
            hint: Some("raise the audit's [budget] aws in audit.toml".to_owned()),
        };
    }
    match err {
        SdkError::TimeoutError(_) => Failure {
            kind: GapKind::Timeout,
            code: None,
            message: format!("{op} did not answer within the call timeout"),
            hint: Some("raise --timeout, or check the endpoint and network path".to_owned()),
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => Failure {
            kind: GapKind::Timeout,
            code: None,
            message: format!("{op} timed out connecting to the endpoint"),
            hint: Some("check the endpoint, proxy settings and network path".to_owned()),
        },
        SdkError::DispatchFailure(d) => Failure {
            kind: if d.is_io() {
                GapKind::Unreachable
            } else {
                GapKind::Other
            },
            code: None,
            message: format!(
                "{op} could not reach the endpoint: {}",
                cloud502_collect::remote::innermost_cause(err)
            ),
            hint: Some(
                "check --endpoint-url / AWS_ENDPOINT_URL, the region and the network".to_owned(),
            ),
        },
        _ => {
            let code = err.code().map(str::to_owned);
            let text = err
                .message()
                .map(one_line)
                .unwrap_or_else(|| cloud502_collect::remote::error_chain(err));
            let (kind, hint) = match code.as_deref() {
                Some(
                    "AccessDenied"
                    | "AccessDeniedException"
                    | "UnauthorizedOperation"
                    | "UnauthorizedAccess"
                    | "AllAccessDisabled",
                ) => (
                    GapKind::Permission,
                    Some(format!(
                        "grant {action} to the caller (docs/providers/aws.md has the whole read-only policy)"
                    )),
                ),
                Some(c) if EXPIRED_CODES.contains(&c) => (
                    GapKind::Permission,
                    Some(
                        "the credentials have expired: run `aws sso login` or refresh them"
                            .to_owned(),
                    ),
                ),
                Some(c) if REJECTED_CODES.contains(&c) => (
                    GapKind::Permission,
                    Some(
                        "the credentials were rejected: check the access key, profile and account"
                            .to_owned(),
                    ),
                ),
                Some(
                    "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
                    | "SlowDown"
                    | "RequestThrottled"
                    | "RequestThrottledException"
                    | "PriorRequestNotComplete",
                ) => (
                    GapKind::Throttled,
                    Some(format!(
                        "the API throttled {op} after {MAX_ATTEMPTS} attempts: run again in a minute"
                    )),
                ),
                Some(c)
                    if c.ends_with("NotFound")
                        || c.ends_with("NotFoundException")
                        || c.starts_with("NoSuch")
                        || c.starts_with("InvalidGroup.NotFound") =>
                {
                    (GapKind::NotFound, None)
                }
                _ => (GapKind::Other, None),
            };
            let message = match &code {
                Some(c) => format!("{op} failed: {c}: {text}"),
                None => format!("{op} failed: {text}"),
            };
            Failure {
                kind,
                code,
                message,
                hint,
            }
        }
    }
}
