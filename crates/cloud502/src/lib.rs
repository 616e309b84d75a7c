//! cloud502 as a library: tell which layer is returning HTTP 502, and why, from inside an
//! internal platform.
//!
//! This facade re-exports the public API: the report [`model`], the [`engine`] (Provider trait,
//! rules, `run`), the [`render`]ers, and one module per provider, each behind a feature
//! (`probe` is on by default).
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

pub use cloud502_engine as engine;
#[cfg(feature = "nginx")]
pub use cloud502_logs as logs;
pub use cloud502_model as model;
#[cfg(feature = "nginx")]
pub use cloud502_nginx as nginx;
#[cfg(feature = "probe")]
pub use cloud502_probe as probe;
pub use cloud502_render as render;

pub use cloud502_engine::{CollectCx, Provider, RunOptions, diagnose, run};
pub use cloud502_model::{Finding, FindingCode, Report, Verdict};
