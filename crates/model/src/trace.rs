//! The trace report: one URL probed, then each layer its host's chain declares, edge first, and
//! the layer that made the 502.

use crate::{FindingCode, Layer, ProviderKind, Report, ToolInfo};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a layer did with the failing request, as its own evidence tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HopRole {
    /// Its evidence shows it generating the error (its upstream refused, timed out, ...).
    Made,
    /// Its evidence shows it passing on an error the next layer returned.
    Relayed,
    /// Nothing at warning or above.
    Clean,
    /// It could not be inspected.
    NotInspected,
}

impl HopRole {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HopRole::Made => "made",
            HopRole::Relayed => "relayed",
            HopRole::Clean => "clean",
            HopRole::NotInspected => "not-inspected",
        }
    }
}

/// One layer of the chain and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hop {
    /// The subject's name in the audit file.
    pub name: String,
    /// The provider that inspected it.
    pub provider: ProviderKind,
    /// The layer it is.
    pub layer: Layer,
    /// What it did with the request.
    pub role: HopRole,
    /// The finding that decided the role (the hop's top finding at warning or above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<FindingCode>,
    /// Its report.
    pub report: Report,
}

/// The answer of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceVerdict {
    /// The layer that made the 502 (`application` when the last proxy relayed it, `unknown`
    /// when no evidence says).
    pub layer: Layer,
    /// The hop that made it, by name (none for the application behind the last hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<String>,
    /// The finding that says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<FindingCode>,
    /// One line: which layer, and why.
    pub answer: String,
    /// Whether the probe's view of who answered agrees (none when the probe saw no 502 or could
    /// not tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_agrees: Option<bool>,
}

/// The report of `cloud502 trace`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceReport {
    /// Version of this format (the same number as [`Report`]'s).
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// When the run started, RFC 3339 UTC.
    pub generated_at: String,
    /// The URL probed.
    pub url: String,
    /// Its host, which chose the chain.
    pub host: String,
    /// The HTTP status the probe got, if it got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The probe of the URL.
    pub probe: Report,
    /// The layers, edge first.
    pub hops: Vec<Hop>,
    /// The answer.
    pub verdict: TraceVerdict,
    /// The process exit code, rolled up over the probe and the hops like an audit's.
    pub exit_code: u8,
    /// The whole run, milliseconds.
    pub duration_ms: f64,
}
