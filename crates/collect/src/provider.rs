//! The Provider trait every adapter implements, and the context a collection runs in.

use crate::Result;
use async_trait::async_trait;
use cloud502_model::{Evidence, ProviderKind, Subject};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A cap on API requests shared with other collections (`cloud502 audit`'s per-provider
    /// budget); `None` leaves only the provider's own limits.
    pub budget: Option<Arc<RequestBudget>>,
}

/// A cap on API requests, shared by every collection that holds it: `cloud502 audit` gives one
/// per provider to all of that provider's subjects. Each attempt (retries included) takes one
/// request; a request that finds the budget spent is not sent, and becomes a gap.
#[derive(Debug)]
pub struct RequestBudget {
    max: u64,
    used: AtomicU64,
}

impl RequestBudget {
    /// A budget of `max` requests.
    pub fn new(max: u64) -> Arc<RequestBudget> {
        Arc::new(RequestBudget {
            max,
            used: AtomicU64::new(0),
        })
    }

    /// Take one request; `false` when the budget is spent (nothing is taken then).
    pub fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < self.max).then_some(used + 1)
            })
            .is_ok()
    }

    /// Requests taken so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The one-line reason a request was not sent.
    pub fn spent_message(&self) -> String {
        format!(
            "not sent: the audit's budget of {} API requests for this provider is spent",
            self.max
        )
    }
}

impl Default for CollectCx {
    fn default() -> Self {
        CollectCx {
            deadline: Duration::from_secs(30),
            progress: Arc::new(NoProgress),
            budget: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_gives_exactly_max_requests_across_threads() {
        let budget = RequestBudget::new(50);
        let taken: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..40).filter(|_| budget.take()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(taken, 50);
        assert_eq!(budget.used(), 50);
        assert!(!budget.take());
        assert!(budget.spent_message().contains("50 API requests"));
    }
}
