//! cloud502's nginx provider: reads the config (files following includes, or a `nginx -T` dump),
//! the error and access logs it names, probes each upstream, and with `--local` runs the host
//! checks of the troubleshooting guide's script: `nginx -t` (kept from changing the machine),
//! worker_connections vs the open-files limit, the systemd unit, listening upstream ports, OOM
//! kills, memory/disk/load pressure, listen backlogs, the application server's own timeout and
//! running out of connections (`host.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloud502_nginx::{NginxOptions, NginxProvider};
//! let options = NginxOptions {
//!     config: Some("/etc/nginx/nginx.conf".into()),
//!     ..NginxOptions::default()
//! };
//! let provider = NginxProvider::new(options)?;
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
pub mod conf;
pub mod config;
mod error;
mod host;
mod isolate;
mod parse;

pub use api::{Host, LocalHost};
pub use args::NginxArgs;
pub use config::{ConfigSource, NginxOptions};
pub use error::{NginxError, Result};

use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, ProviderKind, Subject};
use std::sync::Arc;

/// `cloud502 nginx` as a provider.
#[derive(Debug, Clone)]
pub struct NginxProvider {
    options: NginxOptions,
    source: ConfigSource,
    host: Arc<dyn Host>,
}

impl NginxProvider {
    /// A provider for validated options, reading the real machine.
    pub fn new(options: NginxOptions) -> Result<Self> {
        Self::with_host(options, Arc::new(LocalHost))
    }

    /// A provider reading host facts through `host` (tests).
    pub fn with_host(options: NginxOptions, host: Arc<dyn Host>) -> Result<Self> {
        let source = options.validate()?;
        Ok(NginxProvider {
            options,
            source,
            host,
        })
    }
}

#[async_trait]
impl Provider for NginxProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Nginx
    }

    fn subject(&self) -> Subject {
        collect::subject(&self.source)
    }

    async fn collect(&self, cx: &CollectCx) -> Result<Evidence, ProviderError> {
        let collector = collect::Collector {
            opts: &self.options,
            source: &self.source,
            host: self.host.clone(),
        };
        Ok(collector.collect(cx).await?)
    }
}
