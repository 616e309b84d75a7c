//! cloud502's AWS Application Load Balancer provider: for a target group (or every target group
//! behind a load balancer) it reads target health with reason codes, target-group and load-balancer
//! attributes, the listener rules that forward to it, CloudWatch metrics, access logs from
//! CloudWatch Logs and S3, and the security groups between the load balancer and its targets.
//! Every call is read-only, bounded by an operation timeout and retried in the SDK's standard mode.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloud502_aws::{AwsOptions, AwsProvider};
//! let provider = AwsProvider::new(AwsOptions::target_group(
//!     "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
//! ))?;
//! let report = cloud502_diagnose::run(
//!     &provider,
//!     &cloud502_diagnose::CollectCx::default(),
//!     &cloud502_diagnose::RunOptions::default(),
//! )
//! .await?;
//! println!("{:?}", report.summary.answer);
//! # Ok(()) }
//! ```

pub mod api;
mod args;
pub mod arn;
mod collect;
pub mod config;
mod error;
mod facts;
mod logs;
mod metrics;
mod reads;
pub mod region;
mod resources;
mod scope;
pub mod sg;

pub use api::{CallLog, ClientOptions, Clients};
pub use args::AwsArgs;
pub use collect::DEFAULT_IDLE_TIMEOUT;
pub use config::{AwsOptions, Selector};
pub use error::{AwsError, Result};
pub use facts::{Facts, FleetMember};
pub use logs::{days, key_end_time};
pub use metrics::{LB_METRICS, TG_METRICS};

use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, ProviderKind, Subject};

/// `cloud502 aws` as a provider.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    options: AwsOptions,
    validated: config::Validated,
    clients: Option<Clients>,
    calls: CallLog,
}

impl AwsProvider {
    /// A provider for validated options; clients are built from aws-config's default chain when
    /// the collection starts.
    pub fn new(options: AwsOptions) -> Result<Self> {
        let validated = options.validate()?;
        Ok(AwsProvider {
            options,
            validated,
            clients: None,
            calls: CallLog::default(),
        })
    }

    /// A provider using the given clients (tests: mocked or pointed at a local endpoint).
    pub fn with_clients(options: AwsOptions, clients: Clients) -> Result<Self> {
        Ok(Self::new(options)?.using(clients))
    }

    /// This provider, collecting through `clients` (shared by several providers: `cloud502 audit`
    /// gives every target group behind the same region, profile and endpoint one set).
    pub fn using(mut self, clients: Clients) -> Self {
        self.calls = clients.calls.clone();
        self.clients = Some(clients);
        self
    }

    /// The API calls made so far, as IAM actions with counts.
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    /// This provider as a member of an audit's fleet (a target group given by ARN): an audit
    /// announces its members to the clients they share ([`Facts::expect`]), which then read them
    /// together.
    pub fn fleet_member(&self) -> Option<FleetMember> {
        match (&self.options.selector, &self.validated.target) {
            (Selector::TargetGroup(_), arn::Named::Arn(a)) => Some(FleetMember {
                tg_arn: a.arn.clone(),
                since: self.options.since,
                metrics: self.options.metrics,
            }),
            _ => None,
        }
    }

    /// Where this provider's clients point: the options' region, else the ARN's; profile; endpoint;
    /// call timeout. Runs that share these can share one [`Clients`] (`cloud502 audit` does).
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            region: self
                .options
                .region
                .clone()
                .or_else(|| self.validated.target.region().map(str::to_owned)),
            profile: self.options.profile.clone(),
            endpoint_url: self.options.endpoint_url.clone(),
            call_timeout: self.options.call_timeout,
        }
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::AwsAlb
    }

    fn subject(&self) -> Subject {
        collect::subject(&self.options)
    }

    async fn collect(&self, cx: &CollectCx) -> Result<Evidence, ProviderError> {
        let clients = match &self.clients {
            Some(c) => c.clone(),
            None => {
                cx.progress.message("loading AWS credentials");
                Clients::load(&self.client_options(), self.calls.clone()).await?
            }
        };
        if cx.budget.is_some() {
            clients.calls.set_budget(cx.budget.clone());
        }
        let collector = collect::Collector {
            opts: &self.options,
            v: &self.validated,
            clients: &clients,
            cx,
        };
        Ok(collector.collect().await?)
    }
}
