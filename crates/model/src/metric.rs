//! Gateway metrics over the diagnosis window (CloudWatch `AWS/ApplicationELB`, Azure Monitor, ...).

use crate::Timeline;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One metric aggregated over the window. A metric with no datapoints is reported with `value` 0
/// and `datapoints` 0: CloudWatch publishes ELB metrics only while requests flow, so a missing
/// datapoint means zero (KB 1.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metric {
    /// The provider's metric name (`HTTPCode_ELB_502_Count`).
    pub name: String,
    /// What it was measured on (`targetgroup/web/0123456789abcdef`, `app/my-alb/50dc6c495c0c9188`).
    pub scope: String,
    /// How the datapoints were combined: `Sum`, `Maximum` or `Minimum`.
    pub statistic: String,
    /// The combined value over the window (0 when there were no datapoints).
    pub value: f64,
    /// How many datapoints the window held.
    pub datapoints: u64,
    /// The period of each datapoint, in seconds.
    pub period_seconds: u32,
    /// The datapoints per time bucket over the window (rounded to whole counts), when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

impl Metric {
    /// The value of the metric named `name` (any scope), if it was read.
    pub fn find<'a>(metrics: &'a [Metric], name: &str) -> Option<&'a Metric> {
        metrics.iter().find(|m| m.name == name)
    }
}
