//! Evidence: everything a provider collected for one subject, plus the gaps it could not fill.

use crate::{ConfigSnapshot, HostCheck, LogClass, Metric, Probe, Subject, Target, Timeline};
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
    /// Read only in part: a list or table cut at a page, group or size limit.
    Truncated,
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

/// Lines that were read but not classified, by why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LogSkips {
    /// Lines that are not valid UTF-8.
    pub invalid_utf8: u64,
    /// Lines with NUL or other control bytes: binary data, not a log.
    pub binary: u64,
    /// Lines longer than the line cap; only their head was looked at.
    pub too_long: u64,
    /// Lines that do not follow the dialect's format.
    pub unparsed: u64,
    /// Lines whose timestamp falls before `--since`.
    pub outside_window: u64,
}

impl LogSkips {
    /// All skipped lines.
    pub fn total(&self) -> u64 {
        self.invalid_utf8 + self.binary + self.unparsed + self.outside_window
    }
}

/// One log line kept verbatim as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogSample {
    /// 1-based line number in the source.
    pub line: u64,
    /// The line, capped at 1 KiB, with control bytes escaped.
    pub text: String,
}

/// Lines of one class for one upstream, aggregated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogGroup {
    /// What the lines say happened.
    pub class: LogClass,
    /// The upstream (peer address, socket path or pool name) the lines name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The status the client got, when the line says or the class implies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The log level (`error`, `crit`, `warn`, ...), for error logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// The detail that varies within the class (errno text, SSL error, offending header), first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How many lines.
    pub count: u64,
    /// Of those, how many used a reused upstream connection (`$upstream_connect_time` 0.000), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<u64>,
    /// The first line's timestamp, RFC 3339 (UTC when the log has no offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The last line's timestamp, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// The first line of the group, verbatim.
    pub sample: LogSample,
    /// The lines per time bucket over the log's window (per minute, coarser for long windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

impl LogGroup {
    /// The status the client got: the one the lines say, else the one the class implies.
    pub fn client_status(&self) -> Option<u16> {
        self.status.or(self.class.client_status())
    }
}

/// A summary of one log source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogSummary {
    /// Stable id within the report.
    pub id: String,
    /// The file, log group or query read.
    pub source: String,
    /// The log dialect (`nginx-error`, `nginx-access`, `alb-access`, `appgw-access`, `cloudflare-http-requests`, ...).
    pub dialect: String,
    /// Lines read.
    pub lines: u64,
    /// Lines that record a 502, a 504 or their cause.
    pub matched: u64,
    /// Bytes read (after decompression).
    #[serde(default)]
    pub bytes: u64,
    /// Lines not classified, by why.
    #[serde(default)]
    pub skipped: LogSkips,
    /// The earliest timestamp read, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest timestamp read, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Lines counted by key (the response status for access logs, the class for error logs), largest first.
    pub counts: Vec<LogCount>,
    /// Classified lines grouped by class and upstream, largest first.
    #[serde(default)]
    pub groups: Vec<LogGroup>,
    /// A few representative lines, verbatim.
    pub samples: Vec<String>,
}

impl LogSummary {
    /// Groups of this class.
    pub fn groups_of(&self, class: LogClass) -> impl Iterator<Item = &LogGroup> {
        self.groups.iter().filter(move |g| g.class == class)
    }

    /// Lines of this class.
    pub fn count_of(&self, class: LogClass) -> u64 {
        self.groups_of(class).map(|g| g.count).sum()
    }
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
    /// Configuration read (routes, pools, settings with file:line).
    #[serde(default, skip_serializing_if = "ConfigSnapshot::is_empty")]
    pub config: ConfigSnapshot,
    /// Checks run on the gateway's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HostCheck>,
    /// Gateway metrics over the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
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
            config: ConfigSnapshot::default(),
            checks: Vec::new(),
            metrics: Vec::new(),
            items: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// Whether anything at all was inspected (a probe that failed to connect still counts:
    /// the refusal is an observation).
    pub fn inspected(&self) -> bool {
        !self.targets.is_empty()
            || !self.probes.is_empty()
            || !self.logs.is_empty()
            || !self.config.is_empty()
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
