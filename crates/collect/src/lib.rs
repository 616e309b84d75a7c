//! What a collector needs and nothing else: the [`Provider`] trait and the [`CollectCx`] it runs
//! in (deadline, request budget, progress), how a provider declares its options once for the
//! command line and the audit file ([`options`]), provider errors and gaps, the shared HTTP plumbing of
//! the API clients ([`http`]), the bounds on input ([`limits`]), address classification and error
//! text for remote peers ([`remote`]), and the evidence descriptions rules cite ([`describe`]).
//!
//! Providers, `cloud502-logs` and `cloud502-probe` depend on this crate, not on the engine that
//! judges what they collect: data flows collect → diagnose (engine) → render → cli.

pub mod describe;
mod error;
pub mod http;
pub mod limits;
pub mod options;
mod provider;
pub mod remote;
mod start_error;

/// The attribute [`Provider`] implementations need (`#[async_trait]`), so a provider outside
/// this workspace uses the same version.
pub use async_trait::async_trait;
pub use error::{ProviderError, Result};
pub use options::{Common, Declaration, ProviderArgs};
pub use provider::{CollectCx, NoProgress, Progress, Provider, RequestBudget};
pub use start_error::StartError;
