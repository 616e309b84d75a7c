//! Evidence: everything a provider collected for one subject, plus the gaps it could not fill.

use crate::{Probe, Subject, Target};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One fact a finding can point to by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceItem {
    /// Stable id within the report, e.g. `probe.0.header.server`.
    pub id: String,
    /// Where the fact came from (`probe`, `aws:DescribeTargetHealth`, `nginx:error.log`, ...).
    pub source: String,
    /// The fact, in one line, quoting the observed value.
    pub fact: String,
}

/// What kind of problem kept a source from being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// Credentials missing, expired or lacking a permission.
    Permission,
    /// The named resource does not exist.
    NotFound,
    /// The API or host could not be reached.
    Unreachable,
    /// The call did not finish within its timeout.
    Timeout,
    /// The API throttled the call.
    Throttled,
    /// The input (file, response) could not be parsed.
    InvalidInput,
    /// Not supported for this subject.
    Unsupported,
    /// Anything else.
    Other,
}

/// A source that could not be read: partial failure is data, not a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    /// What could not be read (`probe`, `aws:DescribeTargetHealth`, a file path, ...).
    pub scope: String,
    /// Kind of problem.
    pub kind: GapKind,
    /// What went wrong, in one line.
    pub message: String,
    /// How to fix it (the missing IAM action, the flag to pass, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A count of log lines by key (message class, status, reason code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogCount {
    /// The key counted.
    pub key: String,
    /// How many lines had it.
    pub count: u64,
}

/// A summary of one log source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogSummary {
    /// Stable id within the report.
    pub id: String,
    /// The file, log group or query read.
    pub source: String,
    /// The log dialect (`nginx-error`, `alb-access`, `appgw-access`, `cloudflare-http-requests`, ...).
    pub dialect: String,
    /// Lines read.
    pub lines: u64,
    /// Lines that record a 502 or its cause.
    pub matched: u64,
    /// Matched lines counted by class, largest first.
    pub counts: Vec<LogCount>,
    /// A few representative lines, verbatim.
    pub samples: Vec<String>,
}

/// Everything one provider collected for one subject. Rules read only this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// What was inspected.
    pub subject: Subject,
    /// Backend targets and their health.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Direct probes.
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// Log summaries.
    #[serde(default)]
    pub logs: Vec<LogSummary>,
    /// Individual facts that findings cite by id.
    #[serde(default)]
    pub items: Vec<EvidenceItem>,
    /// Sources that could not be read.
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

impl Evidence {
    /// Empty evidence for a subject.
    pub fn new(subject: Subject) -> Self {
        Evidence {
            subject,
            targets: Vec::new(),
            probes: Vec::new(),
            logs: Vec::new(),
            items: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// Whether anything at all was inspected (a probe that failed to connect still counts:
    /// the refusal is an observation).
    pub fn inspected(&self) -> bool {
        !self.targets.is_empty() || !self.probes.is_empty() || !self.logs.is_empty()
    }

    /// Record a fact and return its id.
    pub fn add_item(
        &mut self,
        id: impl Into<String>,
        source: impl Into<String>,
        fact: impl Into<String>,
    ) -> String {
        let id = id.into();
        self.items.push(EvidenceItem {
            id: id.clone(),
            source: source.into(),
            fact: fact.into(),
        });
        id
    }

    /// Ids of the items whose id starts with `prefix`, in order.
    pub fn ids_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.id.starts_with(prefix))
            .map(|i| i.id.clone())
            .collect()
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&EvidenceItem> {
        self.items.iter().find(|i| i.id == id)
    }
}
