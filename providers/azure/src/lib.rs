//! cloud502's Azure Application Gateway provider: for one gateway it reads the configuration
//! (SKU, state, pools, HTTP settings, probes, listeners, rules, custom error pages), runs the
//! backend-health long-running operation and classifies each server's probe message (KB 2.2),
//! queries access logs in Log Analytics (`AGWAccessLogs` and the legacy `AzureDiagnostics`), and
//! checks the gateway subnet's NSG and route table for the platform's management traffic.
//!
//! Tokens come from azure_identity 1.x; ARM and Log Analytics calls go over reqwest with our own
//! retry (`Retry-After`) and long-running-operation poller. Every call is read-only and bounded.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloud502_azure::{AzureOptions, AzureProvider};
//! let mut options = AzureOptions::new("rg-web", "agw-prod");
//! options.subscription = Some("00000000-0000-0000-0000-000000000000".into());
//! let provider = AzureProvider::new(options)?;
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
pub mod auth;
mod collect;
pub mod config;
pub mod convert;
mod error;
pub mod resources;

pub use api::{Api, ApiError, CallLog};
pub use args::AzureArgs;
pub use auth::{AuthEnv, AuthMode, Credential};
pub use collect::actions;
pub use config::{AzureOptions, Validated};
pub use error::{AzureError, Result};

use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, ProviderKind, Subject};

/// `cloud502 azure` as a provider.
#[derive(Debug, Clone)]
pub struct AzureProvider {
    options: AzureOptions,
    validated: Validated,
    credential: Option<Credential>,
    env: AuthEnv,
    calls: CallLog,
}

impl AzureProvider {
    /// A provider for validated options; the credential is chosen (per `options.auth`) when the
    /// collection starts.
    pub fn new(options: AzureOptions) -> Result<Self> {
        let validated = options.validate()?;
        Ok(AzureProvider {
            options,
            validated,
            credential: None,
            env: AuthEnv::from_process(),
            calls: CallLog::default(),
        })
    }

    /// A provider using this credential (tests: a static token; platforms: their own).
    pub fn with_credential(options: AzureOptions, credential: Credential) -> Result<Self> {
        let mut p = Self::new(options)?;
        p.credential = Some(credential);
        Ok(p)
    }

    /// Choose the credential from this environment instead of the process's.
    pub fn with_env(mut self, env: AuthEnv) -> Self {
        self.env = env;
        self
    }

    /// The RBAC actions called so far, with counts.
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    async fn credential(&self) -> Result<(Credential, auth::Token)> {
        let scope = &self.validated.arm_scope;
        let timeout = self.options.timeout;
        match &self.credential {
            Some(c) => {
                let token = c
                    .token(scope, timeout)
                    .await
                    .map_err(|e| AzureError::Credentials {
                        message: format!("no token from {}: {e}", c.kind),
                        hint: "check the credential given to AzureProvider::with_credential"
                            .to_owned(),
                    })?;
                Ok((c.clone(), token))
            }
            None => Credential::choose(self.options.auth, &self.env, scope, timeout).await,
        }
    }
}

#[async_trait]
impl Provider for AzureProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::AzureAppgw
    }

    fn subject(&self) -> Subject {
        collect::subject(&self.options)
    }

    async fn collect(&self, cx: &CollectCx) -> Result<Evidence, ProviderError> {
        cx.progress.message("getting an Azure token");
        let (credential, token) = self.credential().await?;
        cx.progress
            .message(&format!("Azure credential: {}", credential.why));
        let endpoints = [&self.validated.arm_endpoint, &self.validated.logs_endpoint];
        let mut api =
            Api::new(self.options.timeout, self.calls.clone(), &endpoints).map_err(|message| {
                AzureError::Unavailable {
                    message,
                    hint: "check the system's TLS roots".to_owned(),
                }
            })?;
        api.set_budget(cx.budget.clone());
        let collector = collect::Collector {
            opts: &self.options,
            v: &self.validated,
            api: &api,
            credential: &credential,
            token: &token,
            cx,
        };
        Ok(collector.collect().await?)
    }
}
