//! cloud502's Cloudflare provider: for one zone and host it reads, over API v4, the zone, the
//! SSL/TLS encryption mode, the Proxy Read Timeout, the host's DNS records, its load balancer with
//! the pools' health and failure reasons, the zone's standalone health checks, and GraphQL
//! analytics split by edge and origin status (who made the 5xx, KB 0.3, 3.3); then it checks the
//! origin addresses directly on the HTTP and HTTPS ports with the host's Host header and SNI, and
//! reads the origin certificate against the SSL mode (KB 3.4).
//!
//! Read-only: every API call is a GET except the GraphQL query (a read-only POST); the number of
//! requests per run is capped, and a 429 stops the run's calls without sleeping (Cloudflare blocks
//! the user for 5 minutes after one). The token is read from CLOUDFLARE_API_TOKEN or CF_API_TOKEN
//! and sent only in the `Authorization` header.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloud502_cloudflare::{CloudflareOptions, CloudflareProvider};
//! let mut options = CloudflareOptions::new("example.com");
//! options.host = Some("www.example.com".into());
//! let provider = CloudflareProvider::new(options)?;
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
mod collect;
pub mod config;
pub mod convert;
mod error;
pub mod host_rules;
pub mod origin;
pub mod resources;

pub use api::{Api, ApiError, CallLog};
pub use args::CloudflareArgs;
pub use collect::{ANALYTICS_QUERY, permissions, subject};
pub use config::{CloudflareOptions, Token, Validated, ZoneRef};
pub use error::{CloudflareError, Result};

use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, ProviderKind, Subject};

/// `cloud502 cloudflare` as a provider.
#[derive(Debug, Clone)]
pub struct CloudflareProvider {
    options: CloudflareOptions,
    validated: Validated,
    calls: CallLog,
}

impl CloudflareProvider {
    /// A provider for validated options. The token (`options.token`, else the environment) is
    /// looked up when the collection starts.
    pub fn new(options: CloudflareOptions) -> Result<Self> {
        let validated = options.validate()?;
        Ok(CloudflareProvider {
            options,
            validated,
            calls: CallLog::default(),
        })
    }

    /// The token permissions used so far, with call counts.
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    /// The host to check origins for without a token: `--origin` given, checks on, and the host
    /// known (`--host`, else a zone given by name).
    fn origin_only_host(&self) -> Option<String> {
        if self.validated.origins.is_empty() || !self.options.origin_checks {
            return None;
        }
        match (&self.validated.host, &self.validated.zone) {
            (Some(h), _) => Some(h.clone()),
            (None, config::ZoneRef::Name(z)) => Some(z.clone()),
            (None, config::ZoneRef::Id(_)) => None,
        }
    }

    /// The origin checks alone, when no token is set: nothing is sent to the API.
    async fn origins_only(&self, cx: &CollectCx, host: &str) -> Result<Evidence> {
        // A client that is never used to send: the checks only record their cuts on it.
        let unused = Token::new("no-token").ok_or_else(|| CloudflareError::Unavailable {
            message: "cannot build the API client".to_owned(),
            hint: "report this".to_owned(),
        })?;
        let api = self.api(unused)?;
        let collector = collect::Collector {
            opts: &self.options,
            v: &self.validated,
            api: &api,
            cx,
            token_var: "",
        };
        Ok(collector.origins_only(host).await)
    }

    /// The API client of a run.
    fn api(&self, token: Token) -> Result<Api> {
        Api::new(
            &self.validated.api_base,
            token,
            self.options.timeout,
            self.options.max_requests,
            self.calls.clone(),
        )
        .map_err(|message| CloudflareError::Unavailable {
            message,
            hint: "check the system's TLS roots".to_owned(),
        })
    }

    fn token(&self) -> Result<(Token, &'static str)> {
        if let Some(t) = &self.options.token {
            return Ok((t.clone(), "the token given"));
        }
        Token::from_env().ok_or_else(|| CloudflareError::Credentials {
            message: "no Cloudflare API token: CLOUDFLARE_API_TOKEN and CF_API_TOKEN are unset \
                      or empty"
                .to_owned(),
            hint: "create an API token with the read permissions in docs/providers/cloudflare.md \
                   and export it as CLOUDFLARE_API_TOKEN"
                .to_owned(),
        })
    }
}

#[async_trait]
impl Provider for CloudflareProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Cloudflare
    }

    fn subject(&self) -> Subject {
        collect::subject(&self.validated)
    }

    async fn collect(&self, cx: &CollectCx) -> std::result::Result<Evidence, ProviderError> {
        let (token, token_var) = match self.token() {
            Ok(t) => t,
            // The origin checks need no token: with --origin and a host known, run them and say
            // what the API would have added.
            Err(e) => match self.origin_only_host() {
                Some(host) => return Ok(self.origins_only(cx, &host).await?),
                None => return Err(e.into()),
            },
        };
        let mut api = self.api(token)?;
        api.set_budget(cx.budget.clone());
        let collector = collect::Collector {
            opts: &self.options,
            v: &self.validated,
            api: &api,
            cx,
            token_var,
        };
        let mut ev = collector.collect().await?;
        ev.add_item(
            "cloudflare.credential",
            "cloudflare:api",
            format!("API token from {token_var}"),
        );
        ev.add_item(
            "cloudflare.requests",
            "cloudflare:api",
            format!(
                "{} API requests sent (budget {})",
                api.requests_sent(),
                self.options.max_requests
            ),
        );
        Ok(ev)
    }
}
