//! The shared report model of cloud502: what every provider collects and every renderer prints.
//!
//! The model is plain data (serde + JSON Schema, no I/O, no async). Providers fill an [`Evidence`];
//! the engine's rules turn it into [`Finding`]s; the engine wraps both into a [`Report`].

mod audit;
mod codes;
mod config;
mod custom;
mod evidence;
mod finding;
mod layer;
mod logclass;
mod metric;
mod probe;
mod report;
pub mod secret;
mod target;
mod timeline;
mod trace;

pub use audit::{AuditReport, FindingCount, RequestCount, Rollup, Shard, SubjectRun};
pub use codes::{CODE_PATTERN, CustomCode, FindingCode};
pub use config::{
    CheckStatus, ConfigSnapshot, ForwardKind, HostCheck, Pool, PoolMember, Route, Setting,
    SourceLocation,
};
pub use custom::{MAX_NAMES, NameError};
pub use evidence::{
    Evidence, EvidenceItem, Gap, GapKind, LogCount, LogGroup, LogSample, LogSkips, LogSummary,
};
pub use finding::{Confidence, Finding, Remediation, Risk, Severity, TimeRange};
pub use layer::{Layer, ProviderKind};
pub use logclass::LogClass;
pub use metric::Metric;
pub use probe::{
    CloudflarePage, Fingerprint, Header, HttpResponse, Phase, Probe, ProbeError, ProbeErrorKind,
    ProbeScheme, ProbeTimings, Signal, TlsFacts,
};
pub use report::{FailOn, Report, Subject, Summary, Timings, ToolInfo, Verdict};
pub use target::{HealthState, Target};
pub use timeline::{MAX_BUCKETS, Timeline, ladder_width, parse_rfc3339};
pub use trace::{Hop, HopRole, TraceReport, TraceVerdict};

/// The version of the JSON report format. Bump it whenever the JSON Schema changes; the schema
/// snapshot test fails when the schema changes while this number stays the same.
pub const SCHEMA_VERSION: u32 = 8;

/// The JSON Schema of [`Report`], as `cloud502 schema` prints it.
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or(serde_json::Value::Null)
}

/// The JSON Schema of [`Report`], pretty-printed.
pub fn report_schema_pretty() -> String {
    serde_json::to_string_pretty(&sorted(report_schema())).unwrap_or_default()
}

/// The value with every object's keys in order, so text printed from a `serde_json::Value` does
/// not depend on whether some crate in the build turned on serde_json's `preserve_order` (the AWS
/// SDK's test utilities do, in workspace test builds).
pub fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
