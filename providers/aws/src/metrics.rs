//! CloudWatch metrics of the load balancer and its target groups over the window (KB 1.5): one
//! GetMetricData call for all of them. A metric with no datapoints is zero, not unknown.

use crate::api::{Clients, classify};
use crate::config::AwsOptions;
use crate::resources::{Lb, Tg};
use aws_sdk_cloudwatch::types::{Dimension, Metric as CwMetric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;
use cloud502_model::{Gap, Metric};
use std::time::{Duration, SystemTime};

/// Load-balancer metrics: (name, statistic).
pub const LB_METRICS: &[(&str, &str)] = &[
    ("HTTPCode_ELB_502_Count", "Sum"),
    ("HTTPCode_ELB_503_Count", "Sum"),
    ("HTTPCode_ELB_504_Count", "Sum"),
];

/// Target-group metrics (dimensions TargetGroup and LoadBalancer): (name, statistic). RequestCount
/// is read here only, so it is not counted twice.
pub const TG_METRICS: &[(&str, &str)] = &[
    ("HTTPCode_Target_5XX_Count", "Sum"),
    ("TargetConnectionErrorCount", "Sum"),
    ("TargetTLSNegotiationErrorCount", "Sum"),
    ("HealthyHostCount", "Minimum"),
    ("UnHealthyHostCount", "Maximum"),
    ("RequestCount", "Sum"),
];

/// The period of each datapoint: one minute for windows up to a day, coarser beyond so one call
/// stays under GetMetricData's datapoint limit.
pub fn period(window: Duration) -> u32 {
    let secs = window.as_secs().max(60);
    let p = secs.div_ceil(1440).max(60);
    (p.div_ceil(60) * 60) as u32
}

struct Query {
    id: String,
    name: &'static str,
    stat: &'static str,
    scope: String,
    dims: Vec<(&'static str, String)>,
}

fn queries(lbs: &[Lb], tgs: &[Tg]) -> Vec<Query> {
    let mut out = Vec::new();
    for lb in lbs {
        let Some(lb_dim) = lb.arn.as_ref().map(|a| a.dimension()) else {
            continue;
        };
        for (name, stat) in LB_METRICS {
            out.push(Query {
                id: format!("m{}", out.len()),
                name,
                stat,
                scope: lb_dim.clone(),
                dims: vec![("LoadBalancer", lb_dim.clone())],
            });
        }
        for tg in tgs {
            let Some(tg_dim) = tg.arn.as_ref().map(|a| a.dimension()) else {
                continue;
            };
            let lb_arn = lb.lb.load_balancer_arn().unwrap_or_default();
            if !tg.tg.load_balancer_arns().iter().any(|a| a == lb_arn) {
                continue;
            }
            for (name, stat) in TG_METRICS {
                out.push(Query {
                    id: format!("m{}", out.len()),
                    name,
                    stat,
                    scope: tg_dim.clone(),
                    dims: vec![
                        ("TargetGroup", tg_dim.clone()),
                        ("LoadBalancer", lb_dim.clone()),
                    ],
                });
            }
        }
    }
    out
}

/// Combine datapoints with the statistic the query used.
pub fn combine(stat: &str, values: &[f64]) -> f64 {
    match stat {
        "Minimum" => values.iter().copied().reduce(f64::min).unwrap_or(0.0),
        "Maximum" => values.iter().copied().reduce(f64::max).unwrap_or(0.0),
        _ => values.iter().fold(0.0, |a, b| a + b),
    }
}

/// Read the metrics; a failure is one gap.
pub(crate) async fn read(
    clients: &Clients,
    opts: &AwsOptions,
    lbs: &[Lb],
    tgs: &[Tg],
) -> (Vec<Metric>, Vec<Gap>) {
    if !opts.metrics {
        return (Vec::new(), Vec::new());
    }
    let qs = queries(lbs, tgs);
    if qs.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let period = period(opts.since);
    let end = SystemTime::now();
    let start = end - opts.since;
    let mut req = clients
        .cloudwatch
        .get_metric_data()
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end));
    for q in &qs {
        let mut metric = CwMetric::builder()
            .namespace("AWS/ApplicationELB")
            .metric_name(q.name);
        for (k, v) in &q.dims {
            metric = metric.dimensions(Dimension::builder().name(*k).value(v).build());
        }
        req = req.metric_data_queries(
            MetricDataQuery::builder()
                .id(&q.id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric.build())
                        .period(period as i32)
                        .stat(q.stat)
                        .build(),
                )
                .return_data(true)
                .build(),
        );
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); qs.len()];
    let mut token: Option<String> = None;
    // Pages are few (one result per query, 100 800 datapoints a page); cap them anyway.
    for _ in 0..10 {
        let out = match req.clone().set_next_token(token.clone()).send().await {
            Ok(o) => o,
            Err(e) => {
                let f = classify("cloudwatch:GetMetricData", &e);
                return (Vec::new(), vec![f.gap("aws:GetMetricData")]);
            }
        };
        for r in out.metric_data_results() {
            if let Some(i) = qs.iter().position(|q| Some(q.id.as_str()) == r.id()) {
                values[i].extend_from_slice(r.values());
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let metrics = qs
        .iter()
        .zip(values)
        .map(|(q, v)| Metric {
            timeline: None,
            name: q.name.to_owned(),
            scope: q.scope.clone(),
            statistic: q.stat.to_owned(),
            value: combine(q.stat, &v),
            datapoints: v.len() as u64,
            period_seconds: period,
        })
        .collect();
    (metrics, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_keep_one_call_under_the_limit() {
        assert_eq!(period(Duration::from_secs(600)), 60);
        assert_eq!(period(Duration::from_secs(86_400)), 60);
        assert_eq!(period(Duration::from_secs(7 * 86_400)), 420);
        assert!(7 * 86_400 / u64::from(period(Duration::from_secs(7 * 86_400))) <= 1440);
    }

    #[test]
    fn statistics_combine_and_no_datapoint_is_zero() {
        assert_eq!(combine("Sum", &[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(combine("Maximum", &[1.0, 3.0, 2.0]), 3.0);
        assert_eq!(combine("Minimum", &[1.0, 3.0, 0.5]), 0.5);
        assert_eq!(combine("Sum", &[]), 0.0);
        assert_eq!(combine("Minimum", &[]), 0.0);
    }
}
