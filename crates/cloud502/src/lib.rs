//! cloud502 as a library: tell which layer is returning HTTP 502, and why, from inside an
//! internal platform.
//!
//! This facade re-exports the public API in data-flow order: [`collect`] (the `Provider` trait
//! and what a collector needs), the report [`model`], [`diagnose`] (rules, `run`), the
//! [`render`]ers, and one module per provider, each behind a feature (`probe` is on by default).
//! A provider, rule or finding code of your own plugs in without changing this crate: see
//! docs/extending.md and examples/custom-provider.
//!
//! ```
//! use cloud502::engine::{CollectCx, RunOptions, run};
//! use cloud502::model::{FindingCode, Verdict};
//! use cloud502::probe::{ProbeOptions, ProbeProvider, ProbeRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A port nothing listens on: bind one, note it, close it.
//! let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
//!
//! let request = ProbeRequest::new(&format!("http://127.0.0.1:{port}/"), ProbeOptions::default())?;
//! let provider = ProbeProvider::new(request);
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let report = runtime.block_on(run(&provider, &CollectCx::default(), &RunOptions::default()))?;
//!
//! assert_eq!(report.verdict, Verdict::Failing);
//! assert_eq!(report.findings[0].code, FindingCode::ConnectionRefused);
//! assert_eq!(report.summary.exit_code, 1);
//! # Ok(())
//! # }
//! ```

/// With the `audit` feature: `cloud502 audit` (many subjects from one audit.toml, rolled up) and
/// `cloud502 trace` (one URL through the layers its host's chain declares).
#[cfg(feature = "audit")]
pub use cloud502_audit as audit;
/// What a collector needs: the `Provider` trait, `CollectCx`, errors and gaps, shared HTTP plumbing.
pub use cloud502_collect as collect;
/// Judging: the rule registry, `diagnose`, ranking, verdicts, `run` and `build_report`.
pub use cloud502_diagnose as diagnose;
/// The old name of [`diagnose`] (the crate was `cloud502-engine`), kept so existing callers build.
pub use cloud502_diagnose as engine;
/// With the `logs` feature (on with `nginx`, `aws` and `cloudflare`): the log dialect readers.
#[cfg(feature = "logs")]
pub use cloud502_logs as logs;
pub use cloud502_model as model;
pub use cloud502_render as render;

pub use cloud502_diagnose::{
    CollectCx, CustomRule, Provider, RunOptions, diagnose, diagnose_with, run,
};
pub use cloud502_model::{Finding, FindingCode, ProviderKind, Report, Verdict};

// Every built-in provider, listed once: each line gives the provider's module here (`aws`, with
// its documentation), its subcommand (`ProviderCommand`, which the `cloud502` binary flattens
// into its commands) and its entry in `PROVIDERS` (what an audit file's `[[subject]]` may name).
// The flags, `--help` text, audit keys and conversion to options are the provider crate's own
// declaration (`collect::ProviderArgs`). Adding a provider is one line here; docs/extending.md
// lists the others.
macro_rules! providers {
    ($(
        $(#[doc = $doc:expr])*
        #[cfg($feature:meta)] $module:ident = $krate:ident, $variant:ident($args:ident),
    )*) => {
        $(
            $(#[doc = $doc])*
            #[cfg($feature)]
            pub use $krate as $module;
        )*

        /// A built-in provider's subcommand, its flags parsed into the provider's declaration.
        #[derive(Debug, clap::Subcommand)]
        pub enum ProviderCommand {
            $(
                #[cfg($feature)]
                $variant($module::$args),
            )*
        }

        impl ProviderCommand {
            /// The parsed declaration, ready to become its provider.
            pub fn into_declaration(self) -> Box<dyn collect::Declaration> {
                match self {
                    $(
                        #[cfg($feature)]
                        ProviderCommand::$variant(args) => Box::new(args),
                    )*
                }
            }
        }

        /// With the `audit` feature: every built-in provider an audit file may name (pass your
        /// own list to [`audit::config::parse`] to add providers of your own).
        #[cfg(feature = "audit")]
        pub const PROVIDERS: &[audit::config::Registered] = &[
            $(
                #[cfg($feature)]
                audit::config::Registered::of::<$module::$args>(),
            )*
        ];
    };
}

providers! {
    /// With the `probe` feature (on by default): the direct TCP/TLS/HTTP probe.
    #[cfg(feature = "probe")] probe = cloud502_probe, Probe(ProbeArgs),
    /// With the `nginx` feature: diagnose an nginx config and its error.log, offline.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloud502::engine::{CollectCx, RunOptions, run};
    /// use cloud502::model::FindingCode;
    /// use cloud502::nginx::{NginxOptions, NginxProvider};
    ///
    /// let dir = std::env::temp_dir().join(format!("cloud502-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(
    ///     dir.join("nginx.conf"),
    ///     "events {}\nhttp {\n  server {\n    listen 80;\n    location / { proxy_pass http://127.0.0.1:9; }\n  }\n}\n",
    /// )?;
    /// std::fs::write(
    ///     dir.join("error.log"),
    ///     "2026/05/01 12:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while \
    ///      connecting to upstream, client: 10.0.0.1, server: a, request: \"GET / HTTP/1.1\", \
    ///      upstream: \"http://127.0.0.1:9/\", host: \"a\"\n",
    /// )?;
    /// let provider = NginxProvider::new(NginxOptions {
    ///     config: Some(dir.join("nginx.conf")),
    ///     error_logs: vec![dir.join("error.log")],
    ///     probe: false,
    ///     ..NginxOptions::default()
    /// })?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let report = runtime.block_on(run(&provider, &CollectCx::default(), &RunOptions::default()))?;
    /// assert_eq!(report.findings[0].code, FindingCode::NginxUpstreamRefused);
    /// // The finding points at the proxy_pass line.
    /// assert_eq!(report.findings[0].locations[0].line, 5);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "nginx")] nginx = cloud502_nginx, Nginx(NginxArgs),
    /// With the `aws` feature: diagnose an AWS ALB target group.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloud502::aws::{AwsOptions, AwsProvider, Clients};
    /// use cloud502::engine::{CollectCx, RunOptions, run};
    /// use cloud502::model::GapKind;
    /// use std::time::Duration;
    ///
    /// // A malformed ARN is refused before any call, with the expected form.
    /// let bad = AwsProvider::new(AwsOptions::target_group("arn:aws:elasticloadbalancing:us-east-1:42:tg"));
    /// assert!(bad.unwrap_err().to_string().contains("targetgroup/NAME/ID"));
    ///
    /// // An endpoint that does not answer: the run ends with a gap naming it, not a hang or a panic.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let options = AwsOptions {
    ///     call_timeout: Duration::from_secs(2),
    ///     ..AwsOptions::target_group(
    ///         "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
    ///     )
    /// };
    /// let clients = runtime.block_on(Clients::with_static_credentials(
    ///     &format!("http://127.0.0.1:{port}"),
    ///     "us-east-1",
    ///     "AKIDEXAMPLE",
    ///     "example-secret",
    ///     Duration::from_secs(2),
    /// ));
    /// let provider = AwsProvider::with_clients(options, clients)?;
    /// let report = runtime.block_on(run(&provider, &CollectCx::default(), &RunOptions::default()))?;
    /// assert_eq!(report.errors[0].kind, GapKind::Unreachable);
    /// assert_eq!(report.summary.exit_code, 4);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(any(feature = "aws", feature = "aws-no-ec2"))] aws = cloud502_aws, Aws(AwsArgs),
    /// With the `azure` feature: diagnose an Azure Application Gateway.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloud502::azure::{AzureOptions, AzureProvider, Credential};
    /// use cloud502::engine::{CollectCx, RunOptions, run};
    /// use cloud502::model::GapKind;
    /// use std::time::Duration;
    ///
    /// // A subscription that is not a GUID is refused before any call.
    /// let mut options = AzureOptions::new("rg-web", "agw-prod");
    /// options.subscription = Some("my-subscription".into());
    /// let bad = AzureProvider::new(options.clone());
    /// assert!(bad.unwrap_err().to_string().contains("not a subscription id"));
    ///
    /// // An ARM endpoint that does not answer: the run ends with a gap naming it, not a hang.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// options.subscription = Some("00000000-0000-0000-0000-000000000000".into());
    /// options.arm_endpoint = Some(format!("http://127.0.0.1:{port}"));
    /// options.timeout = Duration::from_secs(2);
    /// let provider = AzureProvider::with_credential(options, Credential::from_token("token"))?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let report = runtime.block_on(run(&provider, &CollectCx::default(), &RunOptions::default()))?;
    /// assert_eq!(report.errors[0].kind, GapKind::Unreachable);
    /// assert_eq!(report.summary.exit_code, 4);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "azure")] azure = cloud502_azure, Azure(AzureArgs),
    /// With the `cloudflare` feature: diagnose a Cloudflare zone and its origin.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloud502::cloudflare::{CloudflareOptions, CloudflareProvider, Token};
    /// use cloud502::engine::{CollectCx, RunOptions, run};
    /// use cloud502::model::GapKind;
    /// use std::time::Duration;
    ///
    /// // A host outside the zone is refused before any call.
    /// let mut options = CloudflareOptions::new("example.com");
    /// options.host = Some("www.example.org".into());
    /// let bad = CloudflareProvider::new(options.clone());
    /// assert!(bad.unwrap_err().to_string().contains("is not in zone"));
    ///
    /// // An API that does not answer: the run ends with a gap naming it, not a hang.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// options.host = Some("www.example.com".into());
    /// options.api_base = Some(format!("http://127.0.0.1:{port}/client/v4"));
    /// options.timeout = Duration::from_secs(2);
    /// options.token = Token::new("test-token");
    /// let provider = CloudflareProvider::new(options)?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let report = runtime.block_on(run(&provider, &CollectCx::default(), &RunOptions::default()))?;
    /// assert_eq!(report.errors[0].kind, GapKind::Unreachable);
    /// assert_eq!(report.summary.exit_code, 4);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "cloudflare")] cloudflare = cloud502_cloudflare, Cloudflare(CloudflareArgs),
}

#[cfg(all(test, feature = "audit"))]
mod tests {
    #[test]
    fn every_provider_has_its_audit_keys_documented() {
        let docs = include_str!("../../../docs/audit.md");
        for provider in super::PROVIDERS {
            let row = format!("| `{}` |", provider.name);
            assert!(docs.contains(&row), "docs/audit.md has no {row} row");
        }
    }
}
