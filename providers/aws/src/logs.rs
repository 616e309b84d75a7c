//! ALB access logs from CloudWatch Logs (`--log-group`, filtered for 502) and from S3 (the load
//! balancer's `access_logs.s3.*` attributes, or `--access-logs`), summarized by cloud502-logs'
//! ALB dialect (KB 1.3).

use crate::api::{Clients, classify, one_line};
use crate::arn::S3Location;
use crate::config::{AwsOptions, Validated};
use crate::resources::Lb;
use cloud502_collect::CollectCx;
use cloud502_logs::{Dialect, Options};
use cloud502_model::{Gap, GapKind, LogSummary};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most this many CloudWatch Logs events are read.
pub const MAX_EVENTS: usize = 20_000;
/// At most this many pages of events.
const MAX_PAGES: usize = 50;

fn log_options(opts: &AwsOptions) -> Options {
    Options {
        since: time::OffsetDateTime::from(SystemTime::now() - opts.since).into(),
        ..Options::default()
    }
}

/// The target groups whose access-log lines belong to the subject: with `--tg`, that group's
/// ARNs; with `--lb` (every group is a subject), `None`, and every line is kept.
pub(crate) type Scope<'a> = Option<&'a [String]>;

/// Keep the lines of the subject's target groups (KB 9.2: a line names its group in
/// `target_group_arn`, and another group's lines are another subject's evidence). A line that does
/// not parse is kept, so the summary counts it as unparsed rather than hiding it. Returns the kept
/// text and how many lines were left out.
pub fn keep_target_groups(text: &[u8], arns: &[String]) -> (Vec<u8>, u64) {
    let mut kept = Vec::with_capacity(text.len());
    let mut left_out = 0;
    for line in text.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let mine = match cloud502_logs::parse_alb_line(line) {
            Some(l) => arns.iter().any(|a| a.as_bytes() == l.target_group_arn),
            None => true,
        };
        if mine {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        } else {
            left_out += 1;
        }
    }
    (kept, left_out)
}

/// Summarize the lines of the subject's target groups; the source names what was left out. With
/// `--lb` (no scope) the lines are split by the target group they name, one summary each whose
/// source names the group, so one group's 502s are never summed with another's targets.
fn summarize_scoped(
    bytes: &[u8],
    source: &str,
    opts: &AwsOptions,
    scope: Scope<'_>,
) -> Result<Vec<LogSummary>, Gap> {
    let Some(arns) = scope else {
        let mut out = Vec::new();
        for (group, lines) in split_by_target_group(bytes) {
            let source = match group {
                Some(arn) => {
                    let name = crate::arn::ElbArn::parse(&arn).map_or(arn.clone(), |a| a.name);
                    format!("{source}; target group {name}")
                }
                None => format!("{source}; lines with no target group"),
            };
            out.push(summarize(&lines, &source, opts)?);
        }
        return Ok(out);
    };
    let (kept, left_out) = keep_target_groups(bytes, arns);
    let source = if left_out > 0 {
        format!("{source}; {left_out} line(s) of other target groups left out")
    } else {
        source.to_owned()
    };
    Ok(vec![summarize(&kept, &source, opts)?])
}

/// Lines by the `target_group_arn` they name, in ARN order; lines that name none (`-`: the load
/// balancer answered itself) or do not parse go under `None`, last.
pub fn split_by_target_group(text: &[u8]) -> Vec<(Option<String>, Vec<u8>)> {
    let mut by: std::collections::BTreeMap<Option<String>, Vec<u8>> = Default::default();
    for line in text.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let group = cloud502_logs::parse_alb_line(line)
            .map(|l| l.target_group_arn)
            .filter(|a| a.starts_with(b"arn:"))
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let buf = by.entry(group).or_default();
        buf.extend_from_slice(line);
        buf.push(b'\n');
    }
    let mut out: Vec<(Option<String>, Vec<u8>)> = by.into_iter().collect();
    // BTreeMap puts None first: the lines of no group go last.
    let none_first = usize::from(out.first().is_some_and(|(g, _)| g.is_none()));
    out.rotate_left(none_first);
    out
}

fn summarize(bytes: &[u8], source: &str, opts: &AwsOptions) -> Result<LogSummary, Gap> {
    cloud502_logs::summarize(
        bytes,
        source,
        "log",
        &Dialect::AlbAccess,
        &log_options(opts),
        &mut |_| {},
    )
    .map_err(|e| cloud502_logs::gap(source, &e))
}

/// `--log-group`: events matching `"502"` over the window. The quoted term is a plain term match
/// in CloudWatch's filter syntax, which suits both the space-delimited line and JSON records.
pub(crate) async fn cloudwatch(
    clients: &Clients,
    opts: &AwsOptions,
    scope: Scope<'_>,
    cx: &CollectCx,
) -> (Vec<LogSummary>, Vec<Gap>) {
    let Some(group) = &opts.log_group else {
        return (Vec::new(), Vec::new());
    };
    cx.progress
        .message(&format!("reading CloudWatch Logs {group}"));
    let now = SystemTime::now();
    let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
    let mut buf = Vec::new();
    let mut events = 0usize;
    let mut token: Option<String> = None;
    let mut gaps = Vec::new();
    for _ in 0..MAX_PAGES {
        let out = clients
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(ms(now - opts.since))
            .end_time(ms(now))
            .filter_pattern("\"502\"")
            .set_next_token(token.clone())
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                let f = classify("logs:FilterLogEvents", &e);
                let mut gap = f.gap("aws:FilterLogEvents");
                if f.kind == GapKind::NotFound {
                    gap.hint = Some(format!(
                        "check --log-group `{group}` and the region ({})",
                        clients.region
                    ));
                }
                gaps.push(gap);
                if buf.is_empty() {
                    return (Vec::new(), gaps);
                }
                // The failure is the gap; no second one for the pages it left unread.
                token = None;
                break;
            }
        };
        for e in out.events() {
            if let Some(m) = e.message() {
                buf.extend_from_slice(m.trim_end().as_bytes());
                buf.push(b'\n');
                events += 1;
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        if events >= MAX_EVENTS {
            gaps.push(Gap {
                scope: "aws:FilterLogEvents".into(),
                kind: GapKind::Truncated,
                message: format!("stopped after {events} events; later 502s were not read"),
                hint: Some("narrow --since".into()),
            });
            token = None;
            break;
        }
    }
    if token.is_some() {
        // The page cap ran out with pages left: the events read are a prefix, not the window.
        gaps.push(Gap {
            scope: "aws:FilterLogEvents".into(),
            kind: GapKind::Truncated,
            message: format!(
                "stopped after {MAX_PAGES} pages ({events} events); later 502s were not read"
            ),
            hint: Some("narrow --since".into()),
        });
    }
    let source = format!("cloudwatch-logs:{group}");
    match summarize_scoped(&buf, &source, opts, scope) {
        Ok(s) => (s, gaps),
        Err(g) => {
            gaps.push(g);
            (Vec::new(), gaps)
        }
    }
}

/// Where the access logs are: `--access-logs`, else the load balancer's attributes.
fn location(v: &Validated, lbs: &[Lb]) -> Option<S3Location> {
    if let Some(l) = &v.access_logs {
        return Some(l.clone());
    }
    let lb = lbs.first()?;
    if lb.attribute("access_logs.s3.enabled") != Some("true") {
        return None;
    }
    let bucket = lb
        .attribute("access_logs.s3.bucket")
        .filter(|b| !b.is_empty())?;
    Some(S3Location {
        bucket: bucket.to_owned(),
        prefix: lb
            .attribute("access_logs.s3.prefix")
            .unwrap_or_default()
            .trim_matches('/')
            .to_owned(),
    })
}

/// The day folders a window spans, newest first: `yyyy/mm/dd`.
pub fn days(now: SystemTime, window: Duration) -> Vec<String> {
    let end = time::OffsetDateTime::from(now);
    let start = time::OffsetDateTime::from(now - window);
    let mut out = Vec::new();
    let mut d = end.date();
    while d >= start.date() && out.len() < 400 {
        out.push(format!(
            "{:04}/{:02}/{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        ));
        match d.previous_day() {
            Some(p) => d = p,
            None => break,
        }
    }
    out
}

/// The key's end time (`..._20261121T1405Z_...`), as a timestamp, if it has one.
pub fn key_end_time(key: &str) -> Option<time::OffsetDateTime> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        let b = part.as_bytes();
        if b.len() == 14 && b[8] == b'T' && b[13] == b'Z' {
            let fmt = time::macros::format_description!("[year][month][day]T[hour][minute]Z");
            time::PrimitiveDateTime::parse(part, &fmt)
                .ok()
                .map(|p| p.assume_utc())
        } else {
            None
        }
    })
}

/// What an object under `AWSLogs/ACCOUNT/elasticloadbalancing/REGION/yyyy/mm/dd/` is. One prefix
/// holds access logs (`ACCOUNT_elasticloadbalancing_REGION_app.NAME.ID_END_IP_RANDOM.log.gz`),
/// connection logs (`conn_log_` + the same) and health-check logs (`health_check_log_` + the
/// same) (KB 1.1, 9.2; the `conn_log_` underscore as captured in grafana/lambda-promtail#23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Access,
    Connection,
    HealthCheck,
}

/// The kind of a log object of this load balancer, by its documented name; `None` for anything
/// else (another load balancer's logs, `ELBAccessLogTestFile`, a digest).
pub fn log_kind(key: &str, lb: &crate::arn::ElbArn) -> Option<LogKind> {
    let name = key.rsplit('/').next()?;
    if !name.ends_with(".log.gz") {
        return None;
    }
    let (kind, rest) = if let Some(r) = name.strip_prefix("conn_log_") {
        (LogKind::Connection, r)
    } else if let Some(r) = name.strip_prefix("health_check_log_") {
        (LogKind::HealthCheck, r)
    } else {
        (LogKind::Access, name)
    };
    let head = format!(
        "{}_elasticloadbalancing_{}_{}_",
        lb.account,
        lb.region,
        lb.dimension().replace('/', ".")
    );
    rest.starts_with(&head).then_some(kind)
}

/// S3 access logs, and the health-check logs beside them: ELB writes those under the same prefix,
/// and they say why each check of a target failed (`TimedOut`, `ConnectionReset`,
/// `ResponseCodeMismatch`, `TargetError`, ...), the best evidence for the unhealthy-target
/// findings. They are read newest first within their own caps and become one check per target.
pub(crate) async fn s3(
    clients: &Clients,
    opts: &AwsOptions,
    v: &Validated,
    lbs: &[Lb],
    scope: Scope<'_>,
    cx: &CollectCx,
) -> (Vec<LogSummary>, Vec<Gap>, Vec<cloud502_model::HostCheck>) {
    let mut health_checks = (Vec::new(), String::new());
    let (summary, mut gaps) = s3_access(clients, opts, v, lbs, scope, cx, &mut health_checks).await;
    let (keys, _) = health_checks;
    let checks = match location(v, lbs) {
        Some(l) if !keys.is_empty() => {
            let (checks, hc_gaps) = health_check_logs(clients, opts, &l, keys, scope).await;
            gaps.extend(hc_gaps);
            checks
        }
        _ => Vec::new(),
    };
    (summary, gaps, checks)
}

/// Health-check log objects read at most (newest first), and bytes of them.
const HC_MAX_OBJECTS: usize = 24;
const HC_MAX_BYTES: u64 = 32 << 20;

/// What the health-check logs say about one target.
#[derive(Default)]
struct TargetChecks {
    group: String,
    total: u64,
    failed: u64,
    reasons: std::collections::BTreeMap<String, u64>,
    first: String,
    last: String,
    last_failure: String,
}

/// The objects `keys` of the log bucket, fetched concurrently: each one's bytes, or a gap that
/// names it (access logs and health-check logs are read the same way).
async fn get_objects(
    clients: &Clients,
    loc: &S3Location,
    keys: &[String],
) -> Vec<Result<(String, bytes::Bytes), Gap>> {
    futures_util::future::join_all(keys.iter().map(|k| async move {
        let out = clients
            .s3
            .get_object()
            .bucket(&loc.bucket)
            .key(k)
            .send()
            .await
            .map_err(|e| classify("s3:GetObject", &e).gap("aws:GetObject"))?;
        let bytes = out.body.collect().await.map_err(|e| Gap {
            scope: "aws:GetObject".into(),
            kind: GapKind::Unreachable,
            message: format!("reading {k} failed: {}", one_line(&e.to_string())),
            hint: None,
        })?;
        Ok((k.clone(), bytes.into_bytes()))
    }))
    .await
}

/// Read the newest health-check log objects and sum them up per target of the subject's groups
/// (`scope`; every group with `--lb`): a failing check per target with its reason codes, one
/// passing check for the targets that passed every time.
async fn health_check_logs(
    clients: &Clients,
    opts: &AwsOptions,
    loc: &S3Location,
    mut keys: Vec<(String, i64, i64)>,
    scope: Scope<'_>,
) -> (Vec<cloud502_model::HostCheck>, Vec<Gap>) {
    use cloud502_model::{CheckStatus, HostCheck};
    let mut gaps = Vec::new();
    keys.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
    let total = keys.len();
    let mut budget = HC_MAX_BYTES.min(opts.max_log_bytes);
    let mut chosen = Vec::new();
    for (k, size, _) in keys {
        if chosen.len() >= HC_MAX_OBJECTS.min(opts.max_log_objects) || (size as u64) > budget {
            break;
        }
        budget -= size as u64;
        chosen.push(k);
    }
    if chosen.len() < total {
        gaps.push(Gap {
            scope: format!("aws:s3 {loc}"),
            kind: GapKind::Truncated,
            message: format!(
                "read the newest {} of {total} health-check log objects",
                chosen.len()
            ),
            hint: Some("narrow --since to read all of them".into()),
        });
    }
    let names: Option<Vec<String>> = scope.map(|arns| {
        arns.iter()
            .filter_map(|a| crate::arn::ElbArn::parse(a).ok().map(|a| a.name))
            .collect()
    });
    let bodies = get_objects(clients, loc, &chosen).await;
    let mut by_target: std::collections::BTreeMap<String, TargetChecks> = Default::default();
    let mut lines = 0u64;
    let mut unparsed = 0u64;
    for b in bodies {
        let (key, bytes) = match b {
            Ok(kb) => kb,
            Err(g) => {
                gaps.push(g);
                continue;
            }
        };
        let mut plain = Vec::new();
        if let Err(e) = flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut plain) {
            gaps.push(Gap {
                scope: format!("s3://{}/{key}", loc.bucket),
                kind: GapKind::InvalidInput,
                message: format!("not a gzip health-check log: {e}"),
                hint: None,
            });
            continue;
        }
        for line in plain.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            let Some(e) = cloud502_logs::parse_alb_health_check_line(line) else {
                unparsed += 1;
                continue;
            };
            let group = String::from_utf8_lossy(e.target_group).into_owned();
            if names.as_ref().is_some_and(|n| !n.contains(&group)) {
                continue;
            }
            let target = String::from_utf8_lossy(e.target).into_owned();
            let time = String::from_utf8_lossy(e.time).into_owned();
            let t = by_target.entry(target).or_default();
            t.group = group;
            t.total += 1;
            if t.first.is_empty() || time < t.first {
                t.first = time.clone();
            }
            if time > t.last {
                t.last = time.clone();
            }
            if !e.passed {
                t.failed += 1;
                let reason = match (e.reason, e.status_code) {
                    (r, b"-") => String::from_utf8_lossy(r).into_owned(),
                    (r, c) => format!(
                        "{} (status {})",
                        String::from_utf8_lossy(r),
                        String::from_utf8_lossy(c)
                    ),
                };
                *t.reasons.entry(reason).or_default() += 1;
                if time > t.last_failure {
                    t.last_failure = time;
                }
            }
        }
    }
    if unparsed > 0 {
        gaps.push(Gap {
            scope: format!("aws:s3 {loc}"),
            kind: GapKind::InvalidInput,
            message: format!(
                "{unparsed} of {lines} health-check log line(s) are not in the documented entry format"
            ),
            hint: None,
        });
    }
    let mut checks = Vec::new();
    let mut passing = Vec::new();
    for (target, t) in &by_target {
        if t.failed == 0 {
            passing.push(format!("{target} ({})", t.group));
            continue;
        }
        let reasons: Vec<String> = t.reasons.iter().map(|(r, n)| format!("{r} x{n}")).collect();
        checks.push(HostCheck {
            id: format!("logs.health-check.{target}"),
            name: format!(
                "health checks of {target} ({}) in the health-check logs",
                t.group
            ),
            status: CheckStatus::Fail,
            detail: format!(
                "{} of {} health checks failed between {} and {}: {}; last failure at {}",
                t.failed,
                t.total,
                t.first,
                t.last,
                reasons.join(", "),
                t.last_failure
            ),
        });
    }
    if !passing.is_empty() {
        checks.push(HostCheck {
            id: "logs.health-check.passing".into(),
            name: "targets that passed every check in the health-check logs".into(),
            status: CheckStatus::Pass,
            detail: passing.join(", "),
        });
    }
    if checks.is_empty() {
        checks.push(HostCheck {
            id: "logs.health-check".into(),
            name: "ALB health-check logs".into(),
            status: CheckStatus::Skipped,
            detail: format!(
                "{} health-check log object(s) under {loc} read; none of their {lines} line(s) is about this target group",
                chosen.len()
            ),
        });
    }
    (checks, gaps)
}

/// S3 access logs: list the day folders of the window, keep the objects of this load balancer
/// whose end time is in the window, read the newest first within the caps.
async fn s3_access(
    clients: &Clients,
    opts: &AwsOptions,
    v: &Validated,
    lbs: &[Lb],
    scope: Scope<'_>,
    cx: &CollectCx,
    health_checks: &mut (Vec<(String, i64, i64)>, String),
) -> (Vec<LogSummary>, Vec<Gap>) {
    let Some(loc) = location(v, lbs) else {
        return (Vec::new(), Vec::new());
    };
    let mut gaps = Vec::new();
    let Some(arn) = lbs.first().and_then(|l| l.arn.clone()) else {
        return (Vec::new(), gaps);
    };
    cx.progress
        .message(&format!("listing access logs in {loc}"));
    let base = if loc.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", loc.prefix)
    };
    let now = SystemTime::now();
    let since = time::OffsetDateTime::from(now - opts.since);
    // (key, size, time): the time orders them, newest first.
    let mut keys: Vec<(String, i64, i64)> = Vec::new();
    for day in days(now, opts.since) {
        let prefix = format!(
            "{base}AWSLogs/{}/elasticloadbalancing/{}/{day}/",
            arn.account, arn.region
        );
        let mut token: Option<String> = None;
        for _ in 0..20 {
            let out = clients
                .s3
                .list_objects_v2()
                .bucket(&loc.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(o) => o,
                Err(e) => {
                    let f = classify("s3:ListObjectsV2", &e);
                    let mut gap = f.gap(&format!("aws:ListObjectsV2 {loc}"));
                    if f.kind == GapKind::Permission {
                        gap.hint = Some(format!(
                            "grant s3:ListBucket on arn:aws:s3:::{} to the caller",
                            loc.bucket
                        ));
                    }
                    gaps.push(gap);
                    return (Vec::new(), gaps);
                }
            };
            for o in out.contents() {
                let Some(key) = o.key() else { continue };
                let kind = log_kind(key, &arn);
                let end = key_end_time(key);
                // An object ends at its end time and covers the five minutes before it.
                if end.is_some_and(|t| t + time::Duration::minutes(5) < since) {
                    continue;
                }
                let when = end
                    .map(|t| t.unix_timestamp())
                    .or_else(|| o.last_modified().map(|m| m.secs()));
                let entry = (key.to_owned(), o.size().unwrap_or(0), when.unwrap_or(0));
                match kind {
                    Some(LogKind::HealthCheck) => {
                        health_checks.0.push(entry);
                        health_checks.1 = loc.to_string();
                    }
                    Some(LogKind::Access) => keys.push(entry),
                    _ => {}
                }
            }
            token = out.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    if keys.is_empty() {
        gaps.push(Gap {
            scope: format!("aws:s3 {loc}"),
            kind: GapKind::NotFound,
            message: format!(
                "no access-log objects for {} in the window under {loc}",
                arn.dimension()
            ),
            hint: Some(
                "access logs arrive every 5 minutes, best effort: widen --since, or check access_logs.s3.* on the load balancer"
                    .into(),
            ),
        });
        return (Vec::new(), gaps);
    }
    // Newest first by time: key strings sort by node IP and random suffix within a day.
    keys.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
    let total = keys.len();
    let mut budget = opts.max_log_bytes;
    let mut chosen = Vec::new();
    for (k, size, _) in keys {
        if chosen.len() >= opts.max_log_objects || (size as u64) > budget {
            break;
        }
        budget -= size as u64;
        chosen.push(k);
    }
    if chosen.len() < total {
        gaps.push(Gap {
            scope: format!("aws:s3 {loc}"),
            kind: GapKind::Truncated,
            message: format!(
                "read the newest {} of {total} access-log objects (caps: {} objects, {} MiB)",
                chosen.len(),
                opts.max_log_objects,
                opts.max_log_bytes >> 20
            ),
            hint: Some(format!(
                "narrow --since, or raise --max-log-objects (now {}) to read all of them",
                opts.max_log_objects
            )),
        });
    }
    cx.progress
        .message(&format!("reading {} access-log objects", chosen.len()));
    let bodies = get_objects(clients, &loc, &chosen).await;
    let mut text = Vec::new();
    let mut read = 0;
    for b in bodies {
        match b {
            Ok((key, bytes)) => {
                let mut d = flate2::read::MultiGzDecoder::new(&bytes[..]);
                let mut plain = Vec::new();
                match d.read_to_end(&mut plain) {
                    Ok(_) => {
                        text.extend_from_slice(&plain);
                        if !text.ends_with(b"\n") {
                            text.push(b'\n');
                        }
                        read += 1;
                    }
                    Err(e) => gaps.push(Gap {
                        scope: format!("s3://{}/{key}", loc.bucket),
                        kind: GapKind::InvalidInput,
                        message: format!("not a gzip access log: {e}"),
                        hint: None,
                    }),
                }
            }
            Err(g) => gaps.push(g),
        }
    }
    if read == 0 {
        return (Vec::new(), gaps);
    }
    let source = format!("{loc} ({read} objects)");
    match summarize_scoped(&text, &source, opts, scope) {
        Ok(s) => (s, gaps),
        Err(g) => {
            gaps.push(g);
            (Vec::new(), gaps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_folders_cover_the_window_newest_first() {
        let now = UNIX_EPOCH + Duration::from_secs(1_763_683_200 + 3600); // 2025-11-21T01:00Z
        assert_eq!(
            days(now, Duration::from_secs(2 * 3600)),
            vec!["2025/11/21".to_owned(), "2025/11/20".to_owned()]
        );
        assert_eq!(
            days(now, Duration::from_secs(600)),
            vec!["2025/11/21".to_owned()]
        );
    }

    #[test]
    fn only_access_log_objects_of_this_load_balancer_are_access_logs() {
        let lb = crate::arn::ElbArn::parse(
            "arn:aws:elasticloadbalancing:eu-central-1:347414000000:loadbalancer/app/web/5ede558f4b0e97a9",
        )
        .unwrap();
        let dir = "AWSLogs/347414000000/elasticloadbalancing/eu-central-1/2024/02/07/";
        let tail = "347414000000_elasticloadbalancing_eu-central-1_app.web.5ede558f4b0e97a9_20240207T0955Z_10.43.1.2_b38hdhc6.log.gz";
        assert_eq!(
            log_kind(&format!("{dir}{tail}"), &lb),
            Some(LogKind::Access)
        );
        // As captured in grafana/lambda-promtail#23 (account and IP masked there).
        assert_eq!(
            log_kind(&format!("{dir}conn_log_{tail}"), &lb),
            Some(LogKind::Connection)
        );
        assert_eq!(
            log_kind(&format!("{dir}health_check_log_{tail}"), &lb),
            Some(LogKind::HealthCheck)
        );
        let other = tail.replace("app.web.", "app.api.");
        assert_eq!(log_kind(&format!("{dir}{other}"), &lb), None);
        assert_eq!(log_kind(&format!("{dir}ELBAccessLogTestFile"), &lb), None);
    }

    /// AWS's documented Lambda-failure entry (load-balancer-access-logs, "Example log entries").
    const DOC_LAMBDA: &str = "http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337364-23a8c76965a2ef7629b185e3\" \"-\" \"-\" 0 2018-11-30T22:22:48.364000Z \"forward\" \"-\" \"LambdaInvalidResponse\" \"-\" \"-\" \"-\" \"-\"";

    #[test]
    fn only_the_subject_groups_lines_are_kept() {
        let mine = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";
        let other_line = DOC_LAMBDA.replace("targetgroup/my-targets/", "targetgroup/svc-b/");
        // A line with fields appended after classification_reason still names its group.
        let longer = format!("{DOC_LAMBDA} TID_1234 \"-\" \"-\" \"-\"");
        let text = format!("{DOC_LAMBDA}\n{other_line}\nnot an alb line\n{longer}\n");
        let (kept, left_out) = keep_target_groups(text.as_bytes(), &[mine.to_owned()]);
        let kept = String::from_utf8(kept).unwrap();
        assert_eq!(left_out, 1);
        assert_eq!(kept.lines().count(), 3, "{kept}");
        assert!(!kept.contains("svc-b"));
        let (_, all_out) = keep_target_groups(DOC_LAMBDA.as_bytes(), &["x".to_owned()]);
        assert_eq!(all_out, 1);
    }

    #[test]
    fn key_end_times_parse() {
        let k = "p/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/11/21/123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20251121T0105Z_10.0.0.5_abc.log.gz";
        let t = key_end_time(k).unwrap();
        assert_eq!((t.hour(), t.minute()), (1, 5));
        assert!(key_end_time("x/y.log.gz").is_none());
    }
}
