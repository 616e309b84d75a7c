//! cloud502's judging stage: judging only. The rule registry, [`diagnose`], the report and the exit code.
//!
//! Data flows one way: a provider collects [`Evidence`], [`diagnose`] turns it into ranked
//! findings (pure: no I/O, no clock), and [`run`] wraps both into a [`Report`] whose verdict and
//! exit code are computed once, in [`outcome`].

pub mod outcome;
pub mod remediation;
pub mod rules;
mod run;

// What collectors need lives in cloud502-collect; the old paths stay valid.
pub use cloud502_collect::{
    CollectCx, NoProgress, Progress, Provider, ProviderError, RequestBudget, Result, StartError,
};
pub use cloud502_collect::{describe, http, limits, remote};

pub use cloud502_model::{Evidence, Finding, FindingCode, Report};
pub use rules::{CustomRule, FAMILIES, Rule, diagnose, diagnose_with, rules};
pub use run::{RunOptions, build_report, mask_secrets, now_rfc3339, run};
