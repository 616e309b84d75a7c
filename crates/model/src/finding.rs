//! A finding: one ranked answer to "why 502?", with its evidence and the fix to try.

use crate::{FindingCode, Layer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; not a cause of failure.
    Info,
    /// Degrades service or will soon.
    Warning,
    /// Requests are failing because of this.
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// How sure the rule is. Ordered: `Low < Medium < High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A heuristic; check it.
    Low,
    /// Likely, but another explanation fits part of the evidence.
    Medium,
    /// The evidence leaves little doubt.
    High,
}

impl Confidence {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The risk of a remediation step to live traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Read-only or easily reverted.
    Low,
    /// Touches serving components; plan a rollback.
    Medium,
    /// Can cause or widen an outage if done wrong.
    High,
}

impl Risk {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// How long a remediation step is expected to take, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeRange {
    /// Lower bound, minutes.
    pub min_minutes: u32,
    /// Upper bound, minutes.
    pub max_minutes: u32,
}

impl std::fmt::Display for TimeRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min_minutes == self.max_minutes {
            write!(f, "{} min", self.min_minutes)
        } else {
            write!(f, "{}-{} min", self.min_minutes, self.max_minutes)
        }
    }
}

/// One remediation step. Steps are ordered: do the first one first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Remediation {
    /// What to do, in one sentence.
    pub step: String,
    /// A command that performs or starts the step, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Expected time to carry the step out.
    pub expected_time: TimeRange,
    /// Risk to live traffic.
    pub risk: Risk,
}

/// A diagnosed cause, ranked among the report's findings (the first is the most likely answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable kebab-case code; `cloud502 explain <code>` prints its page.
    pub code: FindingCode,
    /// How bad it is (user-overridable).
    pub severity: Severity,
    /// How sure the rule is.
    pub confidence: Confidence,
    /// The layer this finding blames, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    /// One line, naming the layer.
    pub title: String,
    /// What the evidence shows, in plain words.
    pub explanation: String,
    /// Ids of the [`crate::EvidenceItem`]s this finding rests on.
    pub evidence: Vec<String>,
    /// The config lines it is about (for `-o sarif` and editors), when it is about config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<crate::SourceLocation>,
    /// What observation would show this finding is wrong.
    pub disproved_by: String,
    /// Ordered remediation steps.
    pub remediation: Vec<Remediation>,
    /// The exact next `cloud502` command to run, to look one layer further.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_command: Option<String>,
}
