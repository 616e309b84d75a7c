//! cloud502's engine: the [`Provider`] trait, the rule registry, [`diagnose`] and the exit code.
//!
//! Data flows one way: a provider collects [`Evidence`], [`diagnose`] turns it into ranked
//! findings (pure: no I/O, no clock), and [`run`] wraps both into a [`Report`] whose verdict and
//! exit code are computed once, in [`outcome`].

pub mod describe;
mod error;
pub mod http;
pub mod limits;
pub mod outcome;
mod provider;
pub mod remediation;
pub mod remote;
pub mod rules;
mod run;
mod start_error;

pub use cloud502_model::{Evidence, Finding, FindingCode, Report};
pub use error::{ProviderError, Result};
pub use provider::{CollectCx, NoProgress, Progress, Provider, RequestBudget};
pub use rules::{RULES, Rule, diagnose};
pub use run::{RunOptions, build_report, mask_secrets, now_rfc3339, run};
pub use start_error::StartError;
