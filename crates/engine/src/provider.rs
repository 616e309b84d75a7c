//! The Provider trait every adapter implements, and the context a collection runs in.

use crate::Result;
use async_trait::async_trait;
use cloud502_model::{Evidence, ProviderKind, Subject};
use std::sync::Arc;
use std::time::Duration;

/// Where a provider reports progress. The CLI prints it on stderr; libraries may ignore it.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// One short progress message (`probing 127.0.0.1:443`).
    fn message(&self, message: &str);

    /// Progress through a large input (`reading error.log`): `done` of `total` bytes. Called
    /// often; implementations should be cheap. The default ignores it.
    fn bytes(&self, what: &str, done: u64, total: Option<u64>) {
        let _ = (what, done, total);
    }

    /// The large input named by [`Progress::bytes`] is finished.
    fn bytes_done(&self, what: &str) {
        let _ = what;
    }
}

/// A progress sink that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn message(&self, _message: &str) {}
}

/// The context of one collection.
#[derive(Debug, Clone)]
pub struct CollectCx {
    /// The whole collection must finish within this; every network call is bounded by it.
    pub deadline: Duration,
    /// Progress sink.
    pub progress: Arc<dyn Progress>,
}

impl Default for CollectCx {
    fn default() -> Self {
        CollectCx {
            deadline: Duration::from_secs(30),
            progress: Arc::new(NoProgress),
        }
    }
}

/// A source of evidence: one per platform (AWS ALB, Azure Application Gateway, Cloudflare, nginx)
/// plus the direct probe.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// The subject this provider was configured for.
    fn subject(&self) -> Subject;

    /// Pull health, config, logs and probes for the subject. A partial failure is recorded as a
    /// [`cloud502_model::Gap`] in the evidence; `Err` only when nothing could be read.
    async fn collect(&self, cx: &CollectCx) -> Result<Evidence>;
}
