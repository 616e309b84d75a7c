//! `cloud502 audit` and `cloud502 trace` as a library.
//!
//! An audit reads `audit.toml` ([`config`]), runs its subjects across providers concurrently under
//! a global limit, a deadline per subject and a request budget per provider ([`run`]), and rolls
//! the reports up into one [`AuditReport`] whose exit code a scheduler can act on. The job outputs
//! around it live here too: the Prometheus textfile written atomically ([`write_atomic`]) and the
//! Slack-compatible webhook that fires only when the findings change ([`webhook`]). A trace
//! ([`trace`]) probes one URL and inspects, in order, the layers the file declares in front of its
//! host.
//!
//! ```
//! use cloud502_audit::config::{Registered, parse};
//! use std::path::Path;
//!
//! // The providers this file may name: here the probe alone (`cloud502::PROVIDERS` has them all,
//! // and a list of your own can add providers of your own).
//! const PROVIDERS: &[Registered] = &[Registered::of::<cloud502_probe::ProbeArgs>()];
//! let file = parse(
//!     "[[subject]]\nname = \"front\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:1/\"\n",
//!     "audit.toml",
//!     Path::new("."),
//!     PROVIDERS,
//! )
//! .unwrap();
//! let subjects = cloud502_audit::select(&file, None, &[]).unwrap();
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let audit = runtime.block_on(cloud502_audit::run(&file, &subjects, &Default::default()));
//! // Nothing listens on port 1: the subject's top finding says so, and the roll-up fails the job.
//! assert_eq!(audit.subjects[0].report.findings[0].code.as_str(), "connection-refused");
//! assert_eq!(audit.rollup.exit_code, 1);
//! ```

pub mod config;
mod fsx;
mod run;
pub mod trace;
pub mod webhook;

pub use cloud502_model::AuditReport;
pub use config::{AuditFile, ConfigError};
pub use fsx::write_atomic;
pub use run::{AuditOptions, AuditProgress, Silent, parse_shard, run, select};

pub(crate) use cloud502_diagnose::now_rfc3339;
