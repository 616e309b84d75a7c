//! The report: evidence, findings, verdict and exit code, as every renderer prints it.

use crate::{
    ConfigSnapshot, Finding, Gap, HostCheck, Layer, LogSummary, Metric, Probe, ProviderKind,
    Severity, Target,
};
use crate::{EvidenceItem, SCHEMA_VERSION};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What was inspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    /// The provider that inspected it.
    pub kind: ProviderKind,
    /// The selector as the user gave it (URL, target group ARN, gateway name, zone).
    pub id: String,
}

/// The overall state, computed once from the findings and gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing at warning or above, and every source was read.
    Healthy,
    /// Warnings, or some sources could not be read.
    Degraded,
    /// At least one critical finding.
    Failing,
    /// Nothing could be inspected.
    Unknown,
}

impl Verdict {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::Failing => "failing",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The severity threshold for exit code 1 (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Any finding fails.
    Info,
    /// Warnings and criticals fail (the default).
    #[default]
    Warning,
    /// Only criticals fail.
    Critical,
    /// Findings never fail the run (exit 0, 3 or 4 only).
    Never,
}

impl FailOn {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Info => "info",
            FailOn::Warning => "warning",
            FailOn::Critical => "critical",
            FailOn::Never => "never",
        }
    }

    /// Whether a finding of this severity is at or above the threshold.
    pub fn trips(self, severity: Severity) -> bool {
        match self {
            FailOn::Info => true,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Critical => severity >= Severity::Critical,
            FailOn::Never => false,
        }
    }
}

/// The facts that decide the exit code, stated in the JSON so scripts need not recompute them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// The process exit code: 0 ok, 1 findings at or above `fail_on`, 2 usage error, 3 partial, 4 nothing inspected.
    pub exit_code: u8,
    /// The threshold in force.
    pub fail_on: FailOn,
    /// How many findings are at or above `fail_on`.
    pub failing_findings: usize,
    /// Whether some sources could not be read (the report is partial). Stated even when exit code 1 wins.
    pub partial: bool,
    /// Whether anything at all could be inspected.
    pub inspected: bool,
    /// The layer the top finding blames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    /// The top finding's title: the short answer to "why 502?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// Wall-clock durations of the run, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Timings {
    /// Collecting evidence.
    pub collect_ms: f64,
    /// Running the rules.
    pub diagnose_ms: f64,
    /// The whole run.
    pub total_ms: f64,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    /// `cloud502`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The report. JSON output is this struct; `cloud502 schema` prints its JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Version of this format; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// When the run started, RFC 3339 UTC.
    pub generated_at: String,
    /// What was inspected.
    pub subject: Subject,
    /// The overall state.
    pub verdict: Verdict,
    /// Exit code and the facts behind it.
    pub summary: Summary,
    /// Backend targets and their health.
    pub targets: Vec<Target>,
    /// Direct probes.
    pub probes: Vec<Probe>,
    /// Log summaries.
    pub logs: Vec<LogSummary>,
    /// Configuration read (routes, pools, settings with file:line).
    #[serde(default, skip_serializing_if = "ConfigSnapshot::is_empty")]
    pub config: ConfigSnapshot,
    /// Checks run on the gateway's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HostCheck>,
    /// Gateway metrics over the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Ranked findings: the first is the most likely cause.
    pub findings: Vec<Finding>,
    /// Facts the findings cite.
    pub evidence: Vec<EvidenceItem>,
    /// Sources that could not be read, and why.
    pub errors: Vec<Gap>,
    /// Durations.
    pub timings: Timings,
}

impl Report {
    /// The schema version this build writes.
    pub const SCHEMA_VERSION: u32 = SCHEMA_VERSION;
}
