//! AWS Application Load Balancer access logs (KB 1.3, 1.4, 1.9): a zero-copy line parser and the
//! classifier into [`LogClass`].
//!
//! Two forms are read:
//! - the S3 form: space-delimited fields in the documented order, some in double quotes (a quoted
//!   field ends at the first `"` followed by a space or the end of the line; quotes inside are not
//!   escaped). At least the first 12 fields (up to `sent_bytes`) must be there; later ones may be
//!   missing (older lines) and unknown trailing fields are ignored.
//! - one JSON object per line (CloudWatch Logs / Firehose deliveries; the exact shape is
//!   unverified, KB 6) whose keys are the field names (`client:port` or `client_port`,
//!   `target:port` or `target_port`, ...). Numbers may be JSON numbers or strings; missing keys and
//!   `null` read as `-`. String values are given as their raw text between the quotes (escapes are
//!   not decoded; the fields the classifier reads never hold any). The record needs an
//!   `elb_status_code`.

use crate::groups::Failure;
use crate::scan::{Classifier, Counts, Out};
use crate::ts::{self, Ts};
use cloud502_model::LogClass;
use memchr::memchr;
use serde::Deserialize;
use serde_json::value::RawValue;
use time::{OffsetDateTime, UtcOffset};

/// An absent field.
pub(crate) const DASH: &[u8] = b"-";
/// Fields the parser reads; later ones are ignored.
const FIELDS: usize = 29;
/// Fields a line must have (up to `sent_bytes`).
const MIN_FIELDS: usize = 12;

/// One ALB access log line, borrowed from the line. Quoted fields are given without their quotes;
/// absent fields are `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbLine<'a> {
    /// `type`: `http`, `https`, `h2`, `grpcs`, `ws` or `wss`.
    pub kind: &'a [u8],
    /// `time`: when the response was sent, ISO 8601 (`2026-11-20T10:15:02.123456Z`).
    pub time: &'a [u8],
    /// `elb`: `app/name/id`.
    pub elb: &'a [u8],
    /// `client:port`.
    pub client: &'a [u8],
    /// `target:port`: `-` when the request was not dispatched (also Lambda and WAF-blocked).
    pub target: &'a [u8],
    /// `request_processing_time` in seconds; `-1` when the ALB could not dispatch.
    pub request_processing_time: &'a [u8],
    /// `target_processing_time`; `-1` when not dispatched, or the target closed the connection
    /// or did not answer before the idle timeout.
    pub target_processing_time: &'a [u8],
    /// `response_processing_time`; `-1` likewise.
    pub response_processing_time: &'a [u8],
    /// `elb_status_code`: the status the client got.
    pub elb_status_code: u16,
    /// `target_status_code`: `-` unless the target answered.
    pub target_status_code: &'a [u8],
    /// `received_bytes`.
    pub received_bytes: &'a [u8],
    /// `sent_bytes`.
    pub sent_bytes: &'a [u8],
    /// `request`: `METHOD proto://host:port/uri HTTP/x`.
    pub request: &'a [u8],
    /// `user_agent`.
    pub user_agent: &'a [u8],
    /// `ssl_cipher`.
    pub ssl_cipher: &'a [u8],
    /// `ssl_protocol`.
    pub ssl_protocol: &'a [u8],
    /// `target_group_arn`.
    pub target_group_arn: &'a [u8],
    /// `trace_id`.
    pub trace_id: &'a [u8],
    /// `domain_name` (SNI).
    pub domain_name: &'a [u8],
    /// `chosen_cert_arn`.
    pub chosen_cert_arn: &'a [u8],
    /// `matched_rule_priority`: 0 for the default action, -1 on a rule error.
    pub matched_rule_priority: &'a [u8],
    /// `request_creation_time`.
    pub request_creation_time: &'a [u8],
    /// `actions_executed`: `forward`, `authenticate`, `waf`, ...
    pub actions_executed: &'a [u8],
    /// `redirect_url`.
    pub redirect_url: &'a [u8],
    /// `error_reason` (KB 1.4): `LambdaInvalidResponse`, `AuthInvalidCookie`, ...
    pub error_reason: &'a [u8],
    /// `target:port_list`.
    pub target_port_list: &'a [u8],
    /// `target_status_code_list`.
    pub target_status_code_list: &'a [u8],
    /// `classification` (desync mitigation).
    pub classification: &'a [u8],
    /// `classification_reason`.
    pub classification_reason: &'a [u8],
    /// `time`, parsed.
    ts: Option<Ts>,
}

/// `-` or nothing.
#[inline]
pub(crate) fn unset(v: &[u8]) -> bool {
    v.is_empty() || v == DASH
}

/// Seconds as ALB writes them (`0.001`, `-1`), or `None` for `-` and anything else.
#[inline]
pub(crate) fn secs(v: &[u8]) -> Option<f64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

impl<'a> AlbLine<'a> {
    /// `elb_status_code`.
    pub fn elb_status(&self) -> u16 {
        self.elb_status_code
    }

    /// `target_status_code`, when the target answered.
    pub fn target_status(&self) -> Option<u16> {
        status(self.target_status_code)
    }

    /// `target:port`, when the request was dispatched to one.
    pub fn target(&self) -> Option<&'a [u8]> {
        (!unset(self.target)).then_some(self.target)
    }

    /// `error_reason`, when there is one.
    pub fn error_reason(&self) -> Option<&'a [u8]> {
        (!unset(self.error_reason)).then_some(self.error_reason)
    }

    /// `time` (whole seconds, in the offset the log wrote, UTC for ALB).
    pub fn timestamp(&self) -> Option<OffsetDateTime> {
        let t = self.ts?;
        let offset = UtcOffset::from_whole_seconds(t.offset).ok()?;
        Some(
            OffsetDateTime::from_unix_timestamp(t.secs)
                .ok()?
                .to_offset(offset),
        )
    }

    /// `request_processing_time` in seconds (`-1.0` when the ALB could not dispatch).
    pub fn request_processing_time(&self) -> Option<f64> {
        secs(self.request_processing_time)
    }

    /// `target_processing_time` in seconds (`-1.0` when no answer came from the target).
    pub fn target_processing_time(&self) -> Option<f64> {
        secs(self.target_processing_time)
    }

    /// `response_processing_time` in seconds.
    pub fn response_processing_time(&self) -> Option<f64> {
        secs(self.response_processing_time)
    }

    /// `time`, parsed (for the summary loop).
    #[inline]
    pub(crate) fn ts(&self) -> Option<Ts> {
        self.ts
    }

    /// A line from its fields in log order (`-` past the end) and its parsed time.
    fn from_fields(f: &[&'a [u8]; FIELDS], elb_status_code: u16, ts: Option<Ts>) -> Self {
        AlbLine {
            kind: f[0],
            time: f[1],
            elb: f[2],
            client: f[3],
            target: f[4],
            request_processing_time: f[5],
            target_processing_time: f[6],
            response_processing_time: f[7],
            elb_status_code,
            target_status_code: f[9],
            received_bytes: f[10],
            sent_bytes: f[11],
            request: f[12],
            user_agent: f[13],
            ssl_cipher: f[14],
            ssl_protocol: f[15],
            target_group_arn: f[16],
            trace_id: f[17],
            domain_name: f[18],
            chosen_cert_arn: f[19],
            matched_rule_priority: f[20],
            request_creation_time: f[21],
            actions_executed: f[22],
            redirect_url: f[23],
            error_reason: f[24],
            target_port_list: f[25],
            target_status_code_list: f[26],
            classification: f[27],
            classification_reason: f[28],
            ts,
        }
    }
}

/// The last whole second parsed (ALB and AppGW ISO 8601 times): ALB times carry microseconds, so lines rarely share the whole
/// text, but mostly share the second.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlbTimes {
    second: [u8; 19],
    ts: Option<Ts>,
}

impl AlbTimes {
    #[inline]
    pub(crate) fn get(&mut self, raw: &[u8]) -> Option<Ts> {
        let (second, _) = raw.split_first_chunk::<19>()?;
        // the cache holds only UTC times, so a `Z` tail after the same second is the same time
        if let Some(t) = self.ts {
            if *second == self.second && ts::frac_end(raw).map(|e| &raw[e..]) == Some(b"Z") {
                return Some(t);
            }
        }
        let t = ts::parse_iso8601_frac(raw)?;
        if t.offset == 0 {
            self.second = *second;
            self.ts = Some(t);
        }
        Some(t)
    }
}

/// Parse one ALB access log line, in the S3 (space-delimited) or the JSON form. `None` when the
/// line is not one.
pub fn parse_alb_line(line: &[u8]) -> Option<AlbLine<'_>> {
    parse_with(line, &mut AlbTimes::default())
}

/// [`parse_alb_line`] with a time cache kept across lines.
#[inline]
fn parse_with<'a>(line: &'a [u8], times: &mut AlbTimes) -> Option<AlbLine<'a>> {
    match line.first()? {
        b'{' => parse_json(line, times),
        b' ' | b'\t' => {
            let start = line.iter().position(|c| !c.is_ascii_whitespace())?;
            (line[start] == b'{')
                .then(|| parse_json(&line[start..], times))
                .flatten()
        }
        _ => parse_text(line, times),
    }
}

/// The field at `pos` and where the next one starts (`None` at the end of the line). `None` for a
/// quoted field with no closing quote.
#[inline]
fn next_field(line: &[u8], pos: usize) -> Option<(&[u8], Option<usize>)> {
    let rest = &line[pos..];
    if rest.first() == Some(&b'"') {
        // the closing quote is the next one that is followed by a space or the end
        let mut from = 1;
        loop {
            let i = from + memchr(b'"', &rest[from..])?;
            match rest.get(i + 1) {
                None => return Some((&rest[1..i], None)),
                Some(b' ') => return Some((&rest[1..i], Some(pos + i + 2))),
                Some(_) => from = i + 1,
            }
        }
    }
    Some(match memchr(b' ', rest) {
        Some(i) => (&rest[..i], Some(pos + i + 1)),
        None => (rest, None),
    })
}

/// `http`, `https`, `h2`, `grpcs`, `ws`, `wss` (and any like them AWS may add).
#[inline]
fn is_kind(v: &[u8]) -> bool {
    (1..=8).contains(&v.len())
        && v.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A processing time: `-1`, `0.001`, or `-`.
#[inline]
fn is_secs(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    if digits.is_empty() {
        return v == DASH;
    }
    let (int, frac) = match memchr(b'.', digits) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

/// A byte count, or `-`.
#[inline]
fn is_count(v: &[u8]) -> bool {
    v == DASH || (!v.is_empty() && v.iter().all(u8::is_ascii_digit))
}

/// A three-digit status.
#[inline]
pub(crate) fn status(v: &[u8]) -> Option<u16> {
    let [a, b, c] = *v else {
        return None;
    };
    let (a, b, c) = (
        a.wrapping_sub(b'0'),
        b.wrapping_sub(b'0'),
        c.wrapping_sub(b'0'),
    );
    if a > 9 || b > 9 || c > 9 {
        return None;
    }
    Some(u16::from(a) * 100 + u16::from(b) * 10 + u16::from(c))
}

fn parse_text<'a>(line: &'a [u8], times: &mut AlbTimes) -> Option<AlbLine<'a>> {
    let mut f = [DASH; FIELDS];
    let mut n = 0;
    let mut pos = Some(0);
    while n < FIELDS {
        let Some(p) = pos else { break };
        let (v, next) = next_field(line, p)?;
        f[n] = v;
        n += 1;
        pos = next;
    }
    if n < MIN_FIELDS
        || !is_kind(f[0])
        || f[2].is_empty()
        || f[3].is_empty()
        || f[4].is_empty()
        || !is_secs(f[5])
        || !is_secs(f[6])
        || !is_secs(f[7])
        || f[9].is_empty()
        || !is_count(f[10])
        || !is_count(f[11])
    {
        return None;
    }
    let elb_status = status(f[8])?;
    let ts = times.get(f[1])?;
    Some(AlbLine::from_fields(&f, elb_status, Some(ts)))
}

/// A JSON record's fields, as raw JSON text borrowed from the line.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    time: Option<&'a RawValue>,
    #[serde(borrow)]
    elb: Option<&'a RawValue>,
    #[serde(borrow, rename = "client:port", alias = "client_port")]
    client: Option<&'a RawValue>,
    #[serde(borrow, rename = "target:port", alias = "target_port")]
    target: Option<&'a RawValue>,
    #[serde(borrow)]
    request_processing_time: Option<&'a RawValue>,
    #[serde(borrow)]
    target_processing_time: Option<&'a RawValue>,
    #[serde(borrow)]
    response_processing_time: Option<&'a RawValue>,
    #[serde(borrow)]
    elb_status_code: Option<&'a RawValue>,
    #[serde(borrow)]
    target_status_code: Option<&'a RawValue>,
    #[serde(borrow)]
    received_bytes: Option<&'a RawValue>,
    #[serde(borrow)]
    sent_bytes: Option<&'a RawValue>,
    #[serde(borrow)]
    request: Option<&'a RawValue>,
    #[serde(borrow)]
    user_agent: Option<&'a RawValue>,
    #[serde(borrow)]
    ssl_cipher: Option<&'a RawValue>,
    #[serde(borrow)]
    ssl_protocol: Option<&'a RawValue>,
    #[serde(borrow)]
    target_group_arn: Option<&'a RawValue>,
    #[serde(borrow)]
    trace_id: Option<&'a RawValue>,
    #[serde(borrow)]
    domain_name: Option<&'a RawValue>,
    #[serde(borrow)]
    chosen_cert_arn: Option<&'a RawValue>,
    #[serde(borrow)]
    matched_rule_priority: Option<&'a RawValue>,
    #[serde(borrow)]
    request_creation_time: Option<&'a RawValue>,
    #[serde(borrow)]
    actions_executed: Option<&'a RawValue>,
    #[serde(borrow)]
    redirect_url: Option<&'a RawValue>,
    #[serde(borrow)]
    error_reason: Option<&'a RawValue>,
    #[serde(borrow, rename = "target:port_list", alias = "target_port_list")]
    target_port_list: Option<&'a RawValue>,
    #[serde(borrow)]
    target_status_code_list: Option<&'a RawValue>,
    #[serde(borrow)]
    classification: Option<&'a RawValue>,
    #[serde(borrow)]
    classification_reason: Option<&'a RawValue>,
}

/// A JSON value as field text: a string without its quotes, a number as written, `null` or a
/// missing key as `-`.
#[inline]
pub(crate) fn raw(v: Option<&RawValue>) -> &[u8] {
    let Some(v) = v else { return DASH };
    match v.get().as_bytes() {
        [b'"', inner @ .., b'"'] => inner,
        b"null" => DASH,
        other => other,
    }
}

fn parse_json<'a>(line: &'a [u8], times: &mut AlbTimes) -> Option<AlbLine<'a>> {
    let r: Record<'a> = serde_json::from_slice(line).ok()?;
    let elb_status = status(raw(r.elb_status_code))?;
    let time = raw(r.time);
    let ts = times.get(time);
    let f = [
        raw(r.kind),
        time,
        raw(r.elb),
        raw(r.client),
        raw(r.target),
        raw(r.request_processing_time),
        raw(r.target_processing_time),
        raw(r.response_processing_time),
        raw(r.elb_status_code),
        raw(r.target_status_code),
        raw(r.received_bytes),
        raw(r.sent_bytes),
        raw(r.request),
        raw(r.user_agent),
        raw(r.ssl_cipher),
        raw(r.ssl_protocol),
        raw(r.target_group_arn),
        raw(r.trace_id),
        raw(r.domain_name),
        raw(r.chosen_cert_arn),
        raw(r.matched_rule_priority),
        raw(r.request_creation_time),
        raw(r.actions_executed),
        raw(r.redirect_url),
        raw(r.error_reason),
        raw(r.target_port_list),
        raw(r.target_status_code_list),
        raw(r.classification),
        raw(r.classification_reason),
    ];
    Some(AlbLine::from_fields(&f, elb_status, ts))
}

/// The class of an ALB line (KB 1.4, 1.9), or `None` when it records no failure: a status below
/// 500 other than 460, and no known `error_reason`.
///
/// A known `error_reason` decides first: `Lambda*` is [`LogClass::LambdaError`], `Auth*`
/// [`LogClass::AuthError`], `WAF*` [`LogClass::WafError`], `AWSALBTGCookieInvalid` and
/// `WeightedTargetGroupsUnhandledException` [`LogClass::RoutingError`]. Then the status: a 502 with
/// a target status came from the target; one without was made by the ALB, which could not
/// dispatch (`request_processing_time` -1) or got no answer (`target_processing_time` -1: the
/// target closed the connection); 504 and 460 (client closed) map to the access-log classes.
pub fn classify_alb(l: &AlbLine<'_>) -> Option<LogClass> {
    use LogClass::*;
    if let Some(r) = l.error_reason() {
        if r.starts_with(b"Lambda") {
            return Some(LambdaError);
        }
        if r.starts_with(b"Auth") {
            return Some(AuthError);
        }
        if r.starts_with(b"WAF") {
            return Some(WafError);
        }
        if r == b"AWSALBTGCookieInvalid" || r == b"WeightedTargetGroupsUnhandledException" {
            return Some(RoutingError);
        }
    }
    Some(match l.elb_status_code {
        502 => {
            let request = l.request_processing_time();
            if l.target_status().is_some() {
                Status502FromUpstream
            } else if request == Some(-1.0) {
                Status502NoConnect
            } else if request.is_some_and(|r| r >= 0.0) && l.target_processing_time() == Some(-1.0)
            {
                Status502NoHeader
            } else {
                Status502
            }
        }
        504 => Status504,
        460 => Status499,
        500..=599 => Status5xx,
        _ => return None,
    })
}

/// ALB access lines for the summary loop: counted by `elb_status_code`; failures grouped by
/// (class, `target:port`, status), with the `error_reason` as detail.
#[derive(Debug, Default)]
pub(crate) struct AlbClassifier {
    times: AlbTimes,
}

impl Classifier for AlbClassifier {
    type Record<'l> = AlbLine<'l>;

    const COUNTS: Counts = Counts::Status;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<AlbLine<'l>> {
        parse_with(line, &mut self.times)
    }

    #[inline]
    fn time(&self, l: &AlbLine<'_>) -> Option<Ts> {
        l.ts()
    }

    #[inline]
    fn status(&self, l: &AlbLine<'_>) -> Option<u16> {
        Some(l.elb_status_code)
    }

    #[inline(always)]
    fn fold<'l>(&mut self, l: &AlbLine<'l>, out: Out<'_, 'l>) {
        let Some(class) = classify_alb(l) else {
            return;
        };
        // the `error_reason` classes have no target: their lines are told apart by the reason
        let by_reason = matches!(
            class,
            LogClass::LambdaError
                | LogClass::AuthError
                | LogClass::WafError
                | LogClass::RoutingError
        );
        let f = Failure {
            class,
            status: Some(l.elb_status_code),
            upstream: l.target(),
            key: by_reason.then(|| l.error_reason()).flatten(),
            level: None,
            reused: None,
            ts: l.ts(),
        };
        out.failure(&f, || l.error_reason());
    }
}

/// One ALB health-check log entry (the `health_check_log_` objects ELB writes beside the access
/// logs), borrowed from the line. The fields, space-delimited in this order, are the ones the
/// Application Load Balancer guide documents ("Health check logs", Health check log entries):
/// `type time latency target_addr target_group_id status status_code reason_code elb ip_address`.
/// Its own examples stop after `reason_code`, so the last two may be missing; fields added later go
/// at the end and are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbHealthCheck<'a> {
    /// `http`, `https`, `h2`, `grpc` or `lambda`.
    pub kind: &'a [u8],
    /// When the check started, ISO 8601.
    pub time: &'a [u8],
    /// Seconds the check took.
    pub latency: &'a [u8],
    /// `IP:port` of the target (a Lambda function's ARN).
    pub target: &'a [u8],
    /// The target group's name (the guide calls the field `target_group_id`).
    pub target_group: &'a [u8],
    /// `PASS` or `FAIL`.
    pub passed: bool,
    /// The status the target answered the check with (`-` when none).
    pub status_code: &'a [u8],
    /// Why the check failed (`TimedOut`, `ConnectionReset`, `ResponseCodeMismatch`,
    /// `ResponseStringMismatch`, `InternalError`, `TargetError`, `GRPCStatusHeaderEmpty`,
    /// `GRPCUnexpectedStatus`); `-` on a pass.
    pub reason: &'a [u8],
}

/// Parse one health-check log entry; `None` for anything else (the status field must be `PASS` or
/// `FAIL`, and the first eight fields must be there).
pub fn parse_alb_health_check_line(line: &[u8]) -> Option<AlbHealthCheck<'_>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut f = line.split(|b| *b == b' ').filter(|x| !x.is_empty());
    let kind = f.next()?;
    let time = f.next()?;
    let latency = f.next()?;
    let target = f.next()?;
    let target_group = f.next()?;
    let passed = match f.next()? {
        b"PASS" => true,
        b"FAIL" => false,
        _ => return None,
    };
    let status_code = f.next()?;
    let reason = f.next()?;
    // A time, not a word: an access-log line with PASS in its sixth field is not one of these.
    if !time.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(AlbHealthCheck {
        kind,
        time,
        latency,
        target,
        target_group,
        passed,
        status_code,
        reason,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The two example entries of the Application Load Balancer guide's "Health check logs" page
    /// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-health-check-logs.html,
    /// "Example log entries"), verbatim; then the failed one with the two trailing fields the
    /// page's syntax table lists (elb, ip_address; values from its file-name example) and a field
    /// added after them.
    const HC_PASS: &str =
        "http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 HCLogsTestIPs PASS 200 -";
    const HC_FAIL: &str = "http 2025-10-31T12:44:58.901409Z 1.121980746 172.31.31.9:80 HCLogsTestIPs FAIL 502 TargetError";

    #[test]
    fn documented_health_check_entries_parse() {
        let p = parse_alb_health_check_line(HC_PASS.as_bytes()).unwrap();
        assert!(p.passed);
        assert_eq!(p.target, b"172.31.20.97:80");
        assert_eq!(p.target_group, b"HCLogsTestIPs");
        assert_eq!(p.status_code, b"200");
        assert_eq!(p.reason, b"-");
        let f = parse_alb_health_check_line(HC_FAIL.as_bytes()).unwrap();
        assert!(!f.passed);
        assert_eq!(f.reason, b"TargetError");
        assert_eq!(f.status_code, b"502");
        assert_eq!(f.latency, b"1.121980746");
        let long = format!("{HC_FAIL} app/my-loadbalancer/1234567890abcdef 172.160.001.192 new");
        assert_eq!(parse_alb_health_check_line(long.as_bytes()), Some(f));
        // Not health-check entries: too short, another status word, an access-log line.
        assert!(
            parse_alb_health_check_line(b"http 2025-10-31T12:44:59Z 0.01 1.2.3.4:80 g PASS 200")
                .is_none()
        );
        assert!(
            parse_alb_health_check_line(
                b"http 2025-10-31T12:44:59Z 0.01 1.2.3.4:80 g FAILED 200 -"
            )
            .is_none()
        );
        assert!(parse_alb_health_check_line(b"http now 0.01 1.2.3.4:80 g PASS 200 -").is_none());
    }
    use LogClass::*;
    use time::macros::datetime;

    /// The documented Lambda-failure example (KB 1.3).
    const LAMBDA: &str = "http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337364-23a8c76965a2ef7629b185e3\" \"-\" \"-\" 0 2018-11-30T22:22:48.364000Z \"forward\" \"-\" \"LambdaInvalidResponse\" \"-\" \"-\" \"-\" \"-\"";

    /// A full 29-field line with the given target, times, statuses and error_reason.
    fn line(target: &str, times: &str, elb: &str, tgt: &str, reason: &str) -> String {
        format!(
            "https 2026-11-20T10:15:02.123456Z app/web/50dc6c495c0c9188 203.0.113.7:51234 {target} {times} {elb} {tgt} 210 {sent} \"GET https://shop.example.com:443/cart HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64)\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-6560e6a6-0123456789abcdef01234567\" \"shop.example.com\" \"arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012\" 1 2026-11-20T10:15:02.101000Z \"forward\" \"-\" \"{reason}\" \"{target}\" \"{tgt}\" \"-\" \"-\"",
            sent = if elb == "200" { "5120" } else { "272" },
        )
    }

    fn class_of(l: &str) -> Option<LogClass> {
        let p = parse_alb_line(l.as_bytes()).unwrap_or_else(|| panic!("unparsed: {l}"));
        classify_alb(&p)
    }

    #[test]
    fn documented_lambda_example() {
        let l = parse_alb_line(LAMBDA.as_bytes()).unwrap();
        assert_eq!(l.kind, b"http");
        assert_eq!(l.elb, b"app/my-loadbalancer/50dc6c495c0c9188");
        assert_eq!(l.client, b"192.168.131.39:2817");
        assert_eq!(l.target(), None);
        assert_eq!(l.elb_status(), 502);
        assert_eq!(l.target_status(), None);
        assert_eq!(l.request_processing_time(), Some(0.0));
        assert_eq!(l.target_processing_time(), Some(0.001));
        assert_eq!(l.received_bytes, b"34");
        assert_eq!(l.sent_bytes, b"366");
        assert_eq!(l.request, b"GET http://www.example.com:80/ HTTP/1.1");
        assert_eq!(l.user_agent, b"curl/7.46.0");
        assert_eq!(l.trace_id, b"Root=1-58337364-23a8c76965a2ef7629b185e3");
        assert_eq!(l.matched_rule_priority, b"0");
        assert_eq!(l.actions_executed, b"forward");
        assert_eq!(l.error_reason(), Some(&b"LambdaInvalidResponse"[..]));
        assert_eq!(l.classification_reason, b"-");
        assert_eq!(
            l.timestamp(),
            Some(datetime!(2018-11-30 22:23:00 UTC)),
            "whole seconds"
        );
        assert_eq!(classify_alb(&l), Some(LambdaError));
    }

    #[test]
    fn every_class() {
        let cases = [
            // the ALB could not connect or dispatch: all three -1, no target
            (
                line("-", "-1 -1 -1", "502", "-", "-"),
                Some(Status502NoConnect),
            ),
            // ... or with the target it tried
            (
                line("10.0.1.12:8080", "-1 -1 -1", "502", "-", "-"),
                Some(Status502NoConnect),
            ),
            // keep-alive race / malformed answer: dispatched, no answer
            (
                line("10.0.1.13:8080", "0.000 -1 -1", "502", "-", "-"),
                Some(Status502NoHeader),
            ),
            // the target itself answered 502, or another status the ALB turned into 502
            (
                line("10.0.1.14:8080", "0.000 0.004 0.000", "502", "502", "-"),
                Some(Status502FromUpstream),
            ),
            (
                line("10.0.1.14:8080", "0.000 0.004 0.000", "502", "200", "-"),
                Some(Status502FromUpstream),
            ),
            // no target status and timings that fit no signature
            (
                line("10.0.1.14:8080", "0.000 0.004 0.000", "502", "-", "-"),
                Some(Status502),
            ),
            (
                line("10.0.1.14:8080", "- - -", "502", "-", "-"),
                Some(Status502),
            ),
            (
                line("10.0.1.14:8080", "0.000 -1 -1", "504", "-", "-"),
                Some(Status504),
            ),
            (
                line("10.0.1.14:8080", "0.000 -1 -1", "460", "-", "-"),
                Some(Status499),
            ),
            (line("-", "-1 -1 -1", "503", "-", "-"), Some(Status5xx)),
            (
                line("10.0.1.14:8080", "0.000 0.010 0.000", "500", "500", "-"),
                Some(Status5xx),
            ),
            (
                line("10.0.1.14:8080", "0.000 0.010 0.000", "200", "200", "-"),
                None,
            ),
            (
                line("10.0.1.14:8080", "0.000 0.010 0.000", "404", "404", "-"),
                None,
            ),
            // error_reason wins over the status
            (
                line(
                    "-",
                    "0.000 0.001 0.000",
                    "502",
                    "-",
                    "LambdaResponseTooLarge",
                ),
                Some(LambdaError),
            ),
            (
                line("-", "-1 -1 -1", "504", "-", "LambdaConnectionTimeout"),
                Some(LambdaError),
            ),
            (
                line("-", "0.000 -1 -1", "500", "-", "AuthTokenEpRequestTimeout"),
                Some(AuthError),
            ),
            (
                line("-", "0.000 -1 -1", "500", "-", "WAFConnectionTimeout"),
                Some(WafError),
            ),
            (
                line("-", "0.000 -1 -1", "500", "-", "AWSALBTGCookieInvalid"),
                Some(RoutingError),
            ),
            (
                line(
                    "-",
                    "0.000 -1 -1",
                    "500",
                    "-",
                    "WeightedTargetGroupsUnhandledException",
                ),
                Some(RoutingError),
            ),
            // an unknown error_reason falls back to the status
            (
                line("-", "-1 -1 -1", "502", "-", "SomethingNew"),
                Some(Status502NoConnect),
            ),
            (
                line(
                    "10.0.1.14:8080",
                    "0.000 0.010 0.000",
                    "200",
                    "200",
                    "SomethingNew",
                ),
                None,
            ),
        ];
        for (l, want) in cases {
            assert_eq!(class_of(&l), want, "{l}");
        }
    }

    #[test]
    fn accessors() {
        let l = line("10.0.1.14:8080", "0.001 0.250 0.000", "502", "502", "-");
        let p = parse_alb_line(l.as_bytes()).unwrap();
        assert_eq!(p.target(), Some(&b"10.0.1.14:8080"[..]));
        assert_eq!(p.target_status(), Some(502));
        assert_eq!(p.error_reason(), None);
        assert_eq!(p.response_processing_time(), Some(0.0));
        assert_eq!(p.target_processing_time(), Some(0.25));
        assert_eq!(p.user_agent, b"Mozilla/5.0 (X11; Linux x86_64)");
        assert_eq!(p.domain_name, b"shop.example.com");
        assert_eq!(p.target_port_list, b"10.0.1.14:8080");
        assert_eq!(p.target_status_code_list, b"502");
        assert_eq!(p.ssl_protocol, b"TLSv1.2");
        assert_eq!(p.timestamp(), Some(datetime!(2026-11-20 10:15:02 UTC)));
        assert_eq!(
            p.ts().unwrap().secs,
            datetime!(2026-11-20 10:15:02 UTC).unix_timestamp()
        );
    }

    #[test]
    fn extra_trailing_fields_are_ignored() {
        let base = line("10.0.1.13:8080", "0.000 -1 -1", "502", "-", "-");
        let more = format!(
            "{base} TID_0123456789abcdef \"-\" \"-\" \"-\" future-field \"with spaces\" \"unbalanced"
        );
        let p = parse_alb_line(more.as_bytes()).unwrap();
        assert_eq!(p.classification_reason, b"-");
        assert_eq!(classify_alb(&p), Some(Status502NoHeader));
        assert_eq!(p, parse_alb_line(base.as_bytes()).unwrap());
    }

    #[test]
    fn fewer_fields() {
        // only the first 12 fields (an old or cut line)
        let l = "http 2026-11-20T10:15:02Z app/web/50dc6c495c0c9188 203.0.113.7:51234 10.0.1.12:8080 -1 -1 -1 502 - 210 272";
        let p = parse_alb_line(l.as_bytes()).unwrap();
        assert_eq!(p.sent_bytes, b"272");
        assert_eq!(p.request, b"-");
        assert_eq!(p.error_reason(), None);
        assert_eq!(classify_alb(&p), Some(Status502NoConnect));
        // up to the target group (an early 2016 layout)
        let l = "h2 2016-08-10T00:10:33.145057Z app/web/5 10.0.0.1:2817 10.0.0.2:80 0.000 0.002 0.000 200 200 34 366 \"GET https://x:443/ HTTP/2.0\" \"curl/7.46.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/t/7";
        let p = parse_alb_line(l.as_bytes()).unwrap();
        assert_eq!(p.kind, b"h2");
        assert!(
            p.target_group_arn
                .starts_with(b"arn:aws:elasticloadbalancing:")
        );
        assert_eq!(p.trace_id, b"-");
        assert_eq!(classify_alb(&p), None);
        // 11 fields are not enough
        let l = "http 2026-11-20T10:15:02Z app/web/5 203.0.113.7:51234 - -1 -1 -1 502 - 210";
        assert!(parse_alb_line(l.as_bytes()).is_none());
    }

    #[test]
    fn quotes_inside_quoted_fields() {
        let l = line("10.0.1.14:8080", "0.000 0.004 0.000", "502", "502", "-")
            .replace("Mozilla/5.0 (X11; Linux x86_64)", "say \"hi\"there");
        let p = parse_alb_line(l.as_bytes()).unwrap();
        assert_eq!(p.user_agent, b"say \"hi\"there");
        assert_eq!(p.ssl_cipher, b"ECDHE-RSA-AES128-GCM-SHA256");
        assert_eq!(classify_alb(&p), Some(Status502FromUpstream));
    }

    #[test]
    fn json_records() {
        let j = r#"{"type":"https","time":"2026-11-20T10:15:02.123456Z","elb":"app/web/50dc6c495c0c9188","client:port":"203.0.113.7:51234","target:port":"10.0.1.13:8080","request_processing_time":0.0,"target_processing_time":-1,"response_processing_time":"-1","elb_status_code":502,"target_status_code":"-","received_bytes":210,"sent_bytes":272,"request":"GET https://shop.example.com:443/cart HTTP/1.1","user_agent":"say \"hi\"","target_group_arn":"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067","error_reason":"-","new_field":{"x":[1,2]}}"#;
        let p = parse_alb_line(j.as_bytes()).unwrap();
        assert_eq!(p.kind, b"https");
        assert_eq!(p.elb_status(), 502);
        assert_eq!(p.target(), Some(&b"10.0.1.13:8080"[..]));
        assert_eq!(p.target_status(), None);
        assert_eq!(p.request_processing_time(), Some(0.0));
        assert_eq!(p.target_processing_time(), Some(-1.0));
        assert_eq!(p.response_processing_time(), Some(-1.0));
        assert_eq!(p.received_bytes, b"210");
        assert_eq!(p.user_agent, br#"say \"hi\""#, "raw, not unescaped");
        assert_eq!(p.trace_id, b"-", "missing key");
        assert_eq!(p.timestamp(), Some(datetime!(2026-11-20 10:15:02 UTC)));
        assert_eq!(classify_alb(&p), Some(Status502NoHeader));

        // underscore keys, string numbers, null, Lambda
        let j = r#" {"time":"2026-11-20T10:15:03Z","client_port":"203.0.113.7:1","target_port":null,"request_processing_time":"0.000","target_processing_time":"0.001","response_processing_time":"0.000","elb_status_code":"502","target_status_code":null,"error_reason":"LambdaInvalidResponse"}"#;
        let p = parse_alb_line(j.as_bytes()).unwrap();
        assert_eq!(p.client, b"203.0.113.7:1");
        assert_eq!(p.target(), None);
        assert_eq!(p.kind, b"-");
        assert_eq!(classify_alb(&p), Some(LambdaError));
        assert_eq!(p.error_reason(), Some(&b"LambdaInvalidResponse"[..]));

        let j =
            r#"{"elb_status_code":504,"target:port":"10.0.1.14:8080","target_status_code":"-"}"#;
        let p = parse_alb_line(j.as_bytes()).unwrap();
        assert_eq!(p.timestamp(), None);
        assert_eq!(classify_alb(&p), Some(Status504));

        // JSON that is not an ALB record
        for j in [
            r#"{"status":502,"time":"2026-11-20T10:15:03Z"}"#,
            r#"{"elb_status_code":"5xx"}"#,
            r#"{"elb_status_code":5020}"#,
            r#"{"elb_status_code":502"#,
            r#"[502]"#,
            "{}",
        ] {
            assert!(parse_alb_line(j.as_bytes()).is_none(), "{j}");
        }
    }

    #[test]
    fn malformed_lines_are_none() {
        let good = line("10.0.1.13:8080", "0.000 -1 -1", "502", "-", "-");
        // the request's quote never closes
        let at = good.find("\"GET").unwrap() + 1;
        let unbalanced = format!("{}{}", &good[..at], good[at..].replace('"', ""));
        let cut_quote =
            "http 2026-11-20T10:15:02Z app/web/5 1.2.3.4:5 - -1 -1 -1 502 - 1 2 \"GET / HTTP/1.1";
        let five = "http 2026-11-20T10:15:02Z app/web/5 1.2.3.4:5 -";
        let bad_time = good.replace("2026-11-20T10:15:02.123456Z", "2026-13-20T10:15:02.123456Z");
        let bad_status = good.replace(" 502 - 210", " 5x2 - 210");
        let bad_secs = good.replace("0.000 -1 -1", "0.000 fast -1");
        let combined = "127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"";
        let error = "2026/05/01 12:00:00 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream";
        let mut binary = good.clone().into_bytes();
        binary[3] = 0;
        binary[60] = 0xff;
        for l in [
            &b""[..],
            b" ",
            b"   {",
            b"{",
            b"\"",
            b"\x00\x01\x02\xff\xfe",
            &binary,
            unbalanced.as_bytes(),
            cut_quote.as_bytes(),
            five.as_bytes(),
            bad_time.as_bytes(),
            bad_status.as_bytes(),
            bad_secs.as_bytes(),
            combined.as_bytes(),
            error.as_bytes(),
        ] {
            assert!(
                parse_alb_line(l).is_none(),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
        // every prefix of a good line either parses or not, without panicking
        for n in 0..good.len() {
            let _ = parse_alb_line(&good.as_bytes()[..n]).map(|p| classify_alb(&p));
        }
    }

    #[test]
    fn time_cache_keeps_lines_apart() {
        let mut t = AlbTimes::default();
        let a = t.get(b"2026-11-20T10:15:02.1Z").unwrap();
        let b = t.get(b"2026-11-20T10:15:02.9Z").unwrap();
        assert_eq!(a, b);
        // same second, another offset: not taken from the cache
        let c = t.get(b"2026-11-20T10:15:02+01:00").unwrap();
        assert_eq!(c.secs, a.secs - 3600);
        assert_eq!(t.get(b"2026-11-20T10:15:02.5Z").unwrap(), a);
        // same second, a broken tail
        assert!(t.get(b"2026-11-20T10:15:02.5").is_none());
        assert!(t.get(b"2026-11-20T10:15:02Zjunk").is_none());
        assert_eq!(t.get(b"2026-11-20T10:15:03Z").unwrap().secs, a.secs + 1);
    }
}
