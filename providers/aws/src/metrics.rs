//! CloudWatch metrics of the load balancer and its target groups over the window (KB 1.5): one
//! GetMetricData call for all of them (in an audit, one per 500 queries of many groups). A metric
//! with no datapoints is zero, not unknown.

use crate::api::{Clients, classify};
use crate::arn::ElbArn;
use crate::config::AwsOptions;
use crate::facts::{MetricBatch, MetricKey, QUERIES_PER_CALL};
use aws_sdk_cloudwatch::types::{Dimension, Metric as CwMetric, MetricDataQuery, MetricStat};
use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
use aws_smithy_types::DateTime;
use cloud502_model::{Gap, Metric, Timeline};
use futures_util::future::join_all;
use std::collections::HashMap;
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
    name: &'static str,
    stat: &'static str,
    scope: String,
    dims: Vec<(&'static str, String)>,
}

impl Query {
    fn key(&self) -> MetricKey {
        let dims: Vec<String> = self.dims.iter().map(|(k, v)| format!("{k}={v}")).collect();
        (self.name.to_owned(), self.stat.to_owned(), dims.join(","))
    }
}

/// The queries of these load balancers (by ARN) and of the target groups on them.
fn queries(lb_arns: &[String], tgs: &[TargetGroup]) -> Vec<Query> {
    let mut out = Vec::new();
    for lb_arn in lb_arns {
        let Some(lb_dim) = ElbArn::parse(lb_arn).ok().map(|a| a.dimension()) else {
            continue;
        };
        for (name, stat) in LB_METRICS {
            out.push(Query {
                name,
                stat,
                scope: lb_dim.clone(),
                dims: vec![("LoadBalancer", lb_dim.clone())],
            });
        }
        for tg in tgs {
            let Some(tg_dim) = tg
                .target_group_arn()
                .and_then(|a| ElbArn::parse(a).ok())
                .map(|a| a.dimension())
            else {
                continue;
            };
            if !tg.load_balancer_arns().iter().any(|a| a == lb_arn) {
                continue;
            }
            for (name, stat) in TG_METRICS {
                out.push(Query {
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

/// Read the metrics of these load balancers and target groups; a failure is one gap. In an audit
/// that announced its target groups, the metrics of all of them are read together (up to 500
/// queries a call) and each collection takes its own from that batch.
pub(crate) async fn read(
    clients: &Clients,
    opts: &AwsOptions,
    lb_arns: &[String],
    tgs: &[TargetGroup],
) -> (Vec<Metric>, Vec<Gap>) {
    if !opts.metrics {
        return (Vec::new(), Vec::new());
    }
    let qs = queries(lb_arns, tgs);
    if qs.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let batch = match tgs.first().and_then(|t| t.target_group_arn()) {
        Some(arn) if tgs.len() == 1 => {
            let since = opts.since;
            clients
                .facts
                .metric_batch(arn, since, |all_tgs, all_lbs| async move {
                    let lb_arns: Vec<String> = all_lbs
                        .iter()
                        .filter_map(|l| l.load_balancer_arn().map(str::to_owned))
                        .collect();
                    fetch(clients, &queries(&lb_arns, &all_tgs), since).await
                })
                .await
        }
        _ => None,
    };
    let (values, period) = match batch {
        Some(Ok((values, period))) if qs.iter().all(|q| values.contains_key(&q.key())) => {
            (values, period)
        }
        Some(Err(g)) => return (Vec::new(), vec![g]),
        _ => match fetch(clients, &qs, opts.since).await {
            Ok(v) => v,
            Err(g) => return (Vec::new(), vec![g]),
        },
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let metrics = qs
        .iter()
        .map(|q| {
            let points = values.get(&q.key()).cloned().unwrap_or_default();
            let v: Vec<f64> = points.iter().map(|p| p.1).collect();
            // Counts per bucket over the window, for sums only (a maximum does not add up).
            let timeline = (q.stat == "Sum").then(|| {
                Timeline::from_points(
                    now - opts.since.as_secs() as i64,
                    now,
                    u64::from(period),
                    points.iter().map(|(t, x)| (*t, x.max(0.0).round() as u64)),
                )
            });
            Metric {
                name: q.name.to_owned(),
                scope: q.scope.clone(),
                statistic: q.stat.to_owned(),
                value: combine(q.stat, &v),
                datapoints: v.len() as u64,
                period_seconds: period,
                timeline,
            }
        })
        .collect();
    (metrics, Vec::new())
}

/// GetMetricData for these queries over the window ending now: chunks of 500 queries, two calls
/// at a time (a fleet's thousands of queries are a handful of calls, and a burst of them all at
/// once only queues at the service), each paged.
async fn fetch(clients: &Clients, qs: &[Query], since: Duration) -> MetricBatch {
    let period = period(since);
    let end = SystemTime::now();
    let start = end - since;
    let all_chunks: Vec<&[Query]> = qs.chunks(QUERIES_PER_CALL).collect();
    let mut chunks = Vec::new();
    for pair in all_chunks.chunks(2) {
        chunks.extend(
            join_all(
                pair.iter()
                    .map(|c| fetch_chunk(clients, c, start, end, period)),
            )
            .await,
        );
    }
    // A chunk that failed leaves its queries out: a collection missing some of its own reads
    // them itself; when every chunk failed, that failure is the answer.
    let mut all = HashMap::new();
    let mut failure = None;
    for c in chunks {
        match c {
            Ok(v) => all.extend(v),
            Err(g) => failure = Some(g),
        }
    }
    match failure {
        Some(g) if all.is_empty() => Err(g),
        _ => Ok((all, period)),
    }
}

/// One GetMetricData call (paged) for at most 500 queries.
async fn fetch_chunk(
    clients: &Clients,
    chunk: &[Query],
    start: SystemTime,
    end: SystemTime,
    period: u32,
) -> Result<Vec<(MetricKey, Vec<(i64, f64)>)>, Gap> {
    let mut req = clients
        .cloudwatch
        .get_metric_data()
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end));
    for (i, q) in chunk.iter().enumerate() {
        let mut metric = CwMetric::builder()
            .namespace("AWS/ApplicationELB")
            .metric_name(q.name);
        for (k, v) in &q.dims {
            metric = metric.dimensions(Dimension::builder().name(*k).value(v).build());
        }
        req = req.metric_data_queries(
            MetricDataQuery::builder()
                .id(format!("m{i}"))
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
    let mut values: Vec<Vec<(i64, f64)>> = vec![Vec::new(); chunk.len()];
    let mut token: Option<String> = None;
    // 500 queries of at most 1440 datapoints are 720 000 datapoints, 8 pages of 100 800.
    for _ in 0..10 {
        let out = req
            .clone()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify("cloudwatch:GetMetricData", &e).gap("aws:GetMetricData"))?;
        for r in out.metric_data_results() {
            let i = r
                .id()
                .and_then(|id| id.strip_prefix('m'))
                .and_then(|n| n.parse::<usize>().ok());
            if let Some(v) = i.and_then(|i| values.get_mut(i)) {
                let at = r.timestamps().iter().map(|t| t.secs());
                v.extend(at.zip(r.values().iter().copied()));
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(chunk.iter().map(Query::key).zip(values).collect())
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
