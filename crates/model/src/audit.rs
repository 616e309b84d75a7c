//! The audit report: one [`Report`] per subject of `cloud502 audit`, and the roll-up that decides
//! the job's exit code.

use crate::{FailOn, FindingCode, ProviderKind, Report, Severity, ToolInfo, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which part of the subjects this run covered (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards split the subjects.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One subject of the audit and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubjectRun {
    /// The subject's `name` in the audit file: unique, stable across runs.
    pub name: String,
    /// The provider that inspected it.
    pub provider: ProviderKind,
    /// The report. A subject that could not be inspected at all has one too: no findings, a gap
    /// saying why, verdict `unknown`.
    pub report: Report,
    /// Wall-clock time of this subject, waiting for a slot excluded, milliseconds.
    pub duration_ms: f64,
}

/// How many findings of one code and severity a provider's subjects have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FindingCount {
    /// The provider.
    pub provider: ProviderKind,
    /// The finding code.
    pub code: FindingCode,
    /// The severity (after overrides).
    pub severity: Severity,
    /// How many.
    pub count: usize,
}

/// API requests sent to one provider during the run, and its budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequestCount {
    /// The provider.
    pub provider: ProviderKind,
    /// Requests sent (attempts, retries included).
    pub sent: u64,
    /// The budget from the audit file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u64>,
}

/// The roll-up over every subject: what a scheduler alerts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rollup {
    /// The process exit code: 0 ok, 1 a subject has findings at or above its `fail_on`, 3 some
    /// subject or source could not be read, 4 no subject could be inspected. 1 wins over 3.
    pub exit_code: u8,
    /// The threshold given on the command line or in `[defaults]` (a subject may set its own).
    pub fail_on: FailOn,
    /// Subjects run.
    pub subjects: usize,
    /// Subjects per verdict.
    pub healthy: usize,
    /// Subjects with warnings or unread sources.
    pub degraded: usize,
    /// Subjects with a critical finding.
    pub failing: usize,
    /// Subjects that could not be inspected at all.
    pub unknown: usize,
    /// Findings at or above each subject's `fail_on`, over all subjects.
    pub failing_findings: usize,
    /// Whether some subject or source could not be read.
    pub partial: bool,
    /// Gaps over all subjects.
    pub collection_errors: usize,
    /// Findings by provider, code and severity.
    pub findings: Vec<FindingCount>,
    /// API requests per provider.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestCount>,
}

impl Rollup {
    /// The count of subjects with `verdict`.
    pub fn with_verdict(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::Healthy => self.healthy,
            Verdict::Degraded => self.degraded,
            Verdict::Failing => self.failing,
            Verdict::Unknown => self.unknown,
        }
    }
}

/// The report of `cloud502 audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditReport {
    /// Version of this format (the same number as [`Report`]'s).
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// When the run started, RFC 3339 UTC.
    pub generated_at: String,
    /// The audit file, as given.
    pub config: String,
    /// The shard this run covered, when `--shard` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The roll-up.
    pub rollup: Rollup,
    /// Every subject, in the audit file's order.
    pub subjects: Vec<SubjectRun>,
    /// The whole run, milliseconds.
    pub duration_ms: f64,
}
