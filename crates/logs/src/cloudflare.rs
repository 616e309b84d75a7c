//! Cloudflare Logpush `http_requests` logs (KB 3.2, 3.3): a zero-copy JSON record parser and the
//! classifier into [`LogClass`], shared with the Cloudflare provider's GraphQL analytics rows
//! ([`cloudflare_class`]).
//!
//! One JSON object per line (Logpush's default `ndjson` output), keyed by the dataset's field
//! names (`EdgeResponseStatus`, `OriginResponseStatus`, `OriginIP`, `EdgeColoCode`, `RayID`, ...;
//! exactly as Cloudflare spells them). A job logs only the fields it was configured with, so any
//! field may be missing; unknown fields are ignored. A line is a record when it is a JSON object
//! with an `EdgeResponseStatus` or a `RayID`; a present `EdgeResponseStatus` must be a
//! three-digit status and a present `OriginResponseStatus` a number (0 when the edge answered
//! without the origin). Numbers may be JSON numbers or strings; missing keys and `null` read as
//! `-`. String values are given as their raw text between the quotes (escapes are not decoded;
//! the fields the classifier reads never hold any).
//!
//! `EdgeStartTimestamp` is written in the job's `timestamp_format`: `rfc3339`
//! (`2026-11-20T10:00:01Z`, with or without a fraction), `unixnano` (the default:
//! `1795168801123456789`) or `unix` (`1795168801`). A number is read by its magnitude, so
//! milliseconds and microseconds are read too.
//!
//! Workers: a request a Worker makes while handling a visitor's request is logged too, with
//! `WorkerSubrequest` true and the visitor request's `ParentRayID`. It is classified (it carries
//! what the origin did) but not counted; the parent, which issued `WorkerSubrequestCount`
//! subrequests and has no origin response of its own, is counted but not classified. So each
//! visitor request counts once, and a Worker's origin 502s are not read as edge-made.
//!
//! CSV: a job with `output_options.output_type` `csv` writes each record as its `field_names`
//! values joined by `field_delimiter` (`,` by default; `\t` for TSV), strings quoted, numbers
//! bare, and no header unless the job's `batch_prefix` is one (Cloudflare's "Log Output
//! Options" page: `"batch_prefix": "ClientIP,EdgeStartTimestamp,RayID\n"`). A header line of
//! Logpush field names ([`CsvLayout::from_header`]; one per batch, so it may recur) tells
//! which column holds which field; without one, the job's `field_names` are given with
//! `--logpush-fields` ([`CsvLayout::from_names`]). Each row then reads exactly as the same
//! record in NDJSON. Quoted values keep their doubled quotes (`""`) undecoded, as JSON values
//! keep their escapes: the fields read never hold any.

use crate::alb::{AlbTimes, DASH, raw, status, unset};
use crate::groups::Failure;
use crate::scan::{Classifier, Counts, Out};
use crate::ts::Ts;
use cloud502_model::LogClass;
use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

/// One Logpush `http_requests` record, borrowed from the line. Absent fields are `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudflareRecord<'a> {
    /// `EdgeStartTimestamp`: RFC 3339 text, or unix seconds or nanoseconds.
    pub edge_start_timestamp: &'a [u8],
    /// `EdgeResponseStatus`: the status the client got from the edge.
    pub edge_response_status: &'a [u8],
    /// `OriginResponseStatus`: the origin's status; `0` when the edge answered without one.
    pub origin_response_status: &'a [u8],
    /// `OriginIP`: the origin address the edge connected to; empty when none.
    pub origin_ip: &'a [u8],
    /// `EdgeColoCode`: the IATA code of the data centre that served the request (`SJC`).
    pub edge_colo_code: &'a [u8],
    /// `ClientRequestHost`.
    pub client_request_host: &'a [u8],
    /// `ClientRequestMethod`.
    pub client_request_method: &'a [u8],
    /// `ClientRequestPath`.
    pub client_request_path: &'a [u8],
    /// `RayID`: the request's ray (the `CF-RAY` header without the colo).
    pub ray_id: &'a [u8],
    /// `OriginResponseDurationMs`: time to the origin's response header, in milliseconds.
    pub origin_response_duration_ms: &'a [u8],
    /// `OriginTCPHandshakeDurationMs`.
    pub origin_tcp_handshake_duration_ms: &'a [u8],
    /// `OriginTLSHandshakeDurationMs`.
    pub origin_tls_handshake_duration_ms: &'a [u8],
    /// `OriginSSLProtocol` (`TLSv1.3`, `none`).
    pub origin_ssl_protocol: &'a [u8],
    /// `CacheCacheStatus` (`hit`, `miss`, `dynamic`, ...).
    pub cache_cache_status: &'a [u8],
    /// `WorkerSubrequest`: a request a Worker made while handling a visitor's request (its
    /// `ParentRayID`), not one a visitor made.
    pub worker_subrequest: bool,
    /// `WorkerSubrequestCount`: subrequests a Worker issued while handling this request.
    pub worker_subrequests: u16,
    /// `EdgeResponseStatus`, parsed.
    edge_status: Option<u16>,
    /// `OriginResponseStatus`, parsed.
    origin_status: Option<u16>,
    /// `EdgeStartTimestamp`, parsed.
    ts: Option<Ts>,
    /// A CSV header line, not a record: read, not counted.
    header: bool,
}

impl<'a> CloudflareRecord<'a> {
    /// `EdgeResponseStatus`, when the job logs it.
    pub fn edge_status(&self) -> Option<u16> {
        self.edge_status
    }

    /// `OriginResponseStatus` (0: no origin response), when the job logs it.
    pub fn origin_status(&self) -> Option<u16> {
        self.origin_status
    }

    /// `OriginIP`, when the request reached an origin address.
    pub fn origin_ip(&self) -> Option<&'a [u8]> {
        (!unset(self.origin_ip)).then_some(self.origin_ip)
    }

    /// `EdgeColoCode`, when logged.
    pub fn colo(&self) -> Option<&'a [u8]> {
        (!unset(self.edge_colo_code)).then_some(self.edge_colo_code)
    }

    /// `EdgeStartTimestamp` (whole seconds, UTC).
    pub fn timestamp(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.ts?.secs).ok()
    }

    /// `EdgeStartTimestamp`, parsed (for the summary loop).
    #[inline]
    pub(crate) fn ts(&self) -> Option<Ts> {
        self.ts
    }
}

/// A record's fields, as raw JSON text borrowed from the line.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, rename = "EdgeStartTimestamp")]
    edge_start_timestamp: Option<&'a RawValue>,
    #[serde(borrow, rename = "EdgeResponseStatus")]
    edge_response_status: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginResponseStatus")]
    origin_response_status: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginIP")]
    origin_ip: Option<&'a RawValue>,
    #[serde(borrow, rename = "EdgeColoCode")]
    edge_colo_code: Option<&'a RawValue>,
    #[serde(borrow, rename = "ClientRequestHost")]
    client_request_host: Option<&'a RawValue>,
    #[serde(borrow, rename = "ClientRequestMethod")]
    client_request_method: Option<&'a RawValue>,
    #[serde(borrow, rename = "ClientRequestPath")]
    client_request_path: Option<&'a RawValue>,
    #[serde(borrow, rename = "RayID")]
    ray_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginResponseDurationMs")]
    origin_response_duration_ms: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginTCPHandshakeDurationMs")]
    origin_tcp_handshake_duration_ms: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginTLSHandshakeDurationMs")]
    origin_tls_handshake_duration_ms: Option<&'a RawValue>,
    #[serde(borrow, rename = "OriginSSLProtocol")]
    origin_ssl_protocol: Option<&'a RawValue>,
    #[serde(borrow, rename = "CacheCacheStatus")]
    cache_cache_status: Option<&'a RawValue>,
    #[serde(borrow, rename = "WorkerSubrequest")]
    worker_subrequest: Option<&'a RawValue>,
    #[serde(borrow, rename = "WorkerSubrequestCount")]
    worker_subrequest_count: Option<&'a RawValue>,
}

/// Parse one Logpush `http_requests` line. `None` when the line is not a JSON object with an
/// `EdgeResponseStatus` or a `RayID`, or its statuses are not numbers.
pub fn parse_cloudflare_line(line: &[u8]) -> Option<CloudflareRecord<'_>> {
    parse_with(line, &mut AlbTimes::default())
}

/// [`parse_cloudflare_line`] with a time cache kept across lines.
#[inline]
fn parse_with<'a>(line: &'a [u8], times: &mut AlbTimes) -> Option<CloudflareRecord<'a>> {
    let start = line.iter().position(|c| !c.is_ascii_whitespace())?;
    // a struct would also be read from an array, positionally
    if line[start] != b'{' {
        return None;
    }
    let r: Record<'a> = serde_json::from_slice(&line[start..]).ok()?;
    build(
        [
            raw(r.edge_start_timestamp),
            raw(r.edge_response_status),
            raw(r.origin_response_status),
            raw(r.origin_ip),
            raw(r.edge_colo_code),
            raw(r.client_request_host),
            raw(r.client_request_method),
            raw(r.client_request_path),
            raw(r.ray_id),
            raw(r.origin_response_duration_ms),
            raw(r.origin_tcp_handshake_duration_ms),
            raw(r.origin_tls_handshake_duration_ms),
            raw(r.origin_ssl_protocol),
            raw(r.cache_cache_status),
            raw(r.worker_subrequest),
            raw(r.worker_subrequest_count),
        ],
        times,
    )
}

/// The fields read, in the order [`build`] takes their raw values (JSON or CSV alike).
const FIELDS: [&str; 16] = [
    "EdgeStartTimestamp",
    "EdgeResponseStatus",
    "OriginResponseStatus",
    "OriginIP",
    "EdgeColoCode",
    "ClientRequestHost",
    "ClientRequestMethod",
    "ClientRequestPath",
    "RayID",
    "OriginResponseDurationMs",
    "OriginTCPHandshakeDurationMs",
    "OriginTLSHandshakeDurationMs",
    "OriginSSLProtocol",
    "CacheCacheStatus",
    "WorkerSubrequest",
    "WorkerSubrequestCount",
];

/// A record from the raw values of [`FIELDS`] (`-` for absent): `None` without an
/// `EdgeResponseStatus` or a `RayID`, or when the statuses are not numbers.
#[inline]
fn build<'a>(v: [&'a [u8]; 16], times: &mut AlbTimes) -> Option<CloudflareRecord<'a>> {
    let [
        edge_start_timestamp,
        edge_response_status,
        origin_response_status,
        origin_ip,
        edge_colo_code,
        client_request_host,
        client_request_method,
        client_request_path,
        ray_id,
        origin_response_duration_ms,
        origin_tcp_handshake_duration_ms,
        origin_tls_handshake_duration_ms,
        origin_ssl_protocol,
        cache_cache_status,
        worker_subrequest,
        worker_subrequest_count,
    ] = v;
    if edge_response_status == DASH && ray_id == DASH {
        return None;
    }
    let edge_status = match edge_response_status {
        DASH => None,
        s => Some(status(s)?),
    };
    let origin_status = match origin_response_status {
        DASH => None,
        s => Some(number(s)?),
    };
    Some(CloudflareRecord {
        edge_start_timestamp,
        edge_response_status,
        origin_response_status,
        origin_ip,
        edge_colo_code,
        client_request_host,
        client_request_method,
        client_request_path,
        ray_id,
        origin_response_duration_ms,
        origin_tcp_handshake_duration_ms,
        origin_tls_handshake_duration_ms,
        origin_ssl_protocol,
        cache_cache_status,
        worker_subrequest: worker_subrequest == b"true",
        worker_subrequests: number(worker_subrequest_count).unwrap_or(0),
        edge_status,
        origin_status,
        ts: timestamp(edge_start_timestamp, times),
        header: false,
    })
}

/// Which column of a CSV Logpush file holds each field read, and the field delimiter: from the
/// file's header line or from the job's `field_names` (`--logpush-fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLayout {
    /// `output_options.field_delimiter`: `,` (the default) or a tab.
    delimiter: u8,
    /// Columns per row.
    width: usize,
    /// The column of each of [`FIELDS`], [`NO_COLUMN`] when the job does not log it (a sentinel,
    /// not an `Option`, keeps [`crate::Dialect`] small).
    cols: [u16; 16],
}

/// A field the job does not log.
const NO_COLUMN: u16 = u16::MAX;

/// Is this a Logpush field name (`EdgeResponseStatus`, `RequestHeaders`, ...)?
fn field_name(n: &[u8]) -> bool {
    n.first().is_some_and(u8::is_ascii_alphabetic)
        && n.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

impl CsvLayout {
    /// The layout of a job that logs `names`, in that order (its `output_options.field_names`),
    /// joined by `delimiter`. Every name must look like a Logpush field name, and
    /// `EdgeResponseStatus` or `RayID` must be among them (as a JSON record must hold one).
    pub fn from_names<S: AsRef<str>>(names: &[S], delimiter: u8) -> Result<CsvLayout, String> {
        if names.len() >= usize::from(NO_COLUMN) {
            return Err(format!("{} fields are more than Logpush logs", names.len()));
        }
        let mut cols = [NO_COLUMN; 16];
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref().trim();
            if !field_name(name.as_bytes()) {
                return Err(format!("`{name}` is not a Logpush field name"));
            }
            if let Some(f) = FIELDS.iter().position(|f| *f == name) {
                if cols[f] != NO_COLUMN {
                    return Err(format!("the field `{name}` is named twice"));
                }
                // below NO_COLUMN, checked above
                cols[f] = i as u16;
            }
        }
        if cols[1] == NO_COLUMN && cols[8] == NO_COLUMN {
            return Err("the fields name neither EdgeResponseStatus nor RayID: \
                        cloud502 reads a record by its EdgeResponseStatus"
                .to_owned());
        }
        Ok(CsvLayout {
            delimiter,
            width: names.len(),
            cols,
        })
    }

    /// The layout a header line describes (a job's `batch_prefix` naming its fields), or `None`
    /// when the line is not one: the field names, unquoted, joined by `,` or a tab, naming
    /// `EdgeResponseStatus` or `RayID`.
    pub fn from_header(line: &[u8]) -> Option<CsvLayout> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // a record's first value is quoted or a number; a header starts with a name
        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let delimiter = if line.contains(&b'\t') { b'\t' } else { b',' };
        let mut names = Vec::new();
        for n in line.split(|&c| c == delimiter) {
            if !field_name(n) {
                return None;
            }
            names.push(std::str::from_utf8(n).ok()?);
        }
        CsvLayout::from_names(&names, delimiter).ok()
    }

    /// One CSV row as a record: `None` when it does not have the layout's columns, a quote is
    /// not closed, or it is no record (as for a JSON line).
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<CloudflareRecord<'a>> {
        self.parse_with(line, &mut AlbTimes::default())
    }

    #[inline]
    fn parse_with<'a>(&self, line: &'a [u8], times: &mut AlbTimes) -> Option<CloudflareRecord<'a>> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut at = [DASH; 16];
        let mut n = 0;
        for_each_value(line, self.delimiter, |i, v| {
            n = i + 1;
            if let Some(f) = self.cols.iter().position(|&c| usize::from(c) == i) {
                at[f] = v;
            }
        })?;
        if n != self.width {
            return None;
        }
        build(at, times)
    }
}

/// Split a CSV row (RFC 4180 quoting) and hand each value to `f` with its column: a quoted value
/// without its quotes (doubled quotes left as they are), an unquoted `null` or empty value as
/// `-`. `None` when a quote is not closed or is followed by anything but the delimiter.
fn for_each_value<'a>(
    line: &'a [u8],
    delimiter: u8,
    mut f: impl FnMut(usize, &'a [u8]),
) -> Option<()> {
    let mut i = 0;
    let mut col = 0;
    loop {
        let value;
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            loop {
                match line.get(j) {
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                    None => return None,
                }
            }
            value = &line[start..j];
            i = j + 1;
            if i < line.len() && line[i] != delimiter {
                return None;
            }
        } else {
            let end = line[i..]
                .iter()
                .position(|&c| c == delimiter)
                .map_or(line.len(), |p| i + p);
            value = match &line[i..end] {
                b"" | b"null" => DASH,
                v => v,
            };
            i = end;
        }
        f(col, value);
        col += 1;
        if i >= line.len() {
            return Some(());
        }
        // past the delimiter
        i += 1;
        if i == line.len() {
            // a trailing delimiter: one more, empty value
            f(col, DASH);
            return Some(());
        }
    }
}

impl CloudflareRecord<'_> {
    /// A header line's stand-in: read, neither dated, counted nor classified.
    fn header() -> Self {
        CloudflareRecord {
            edge_start_timestamp: DASH,
            edge_response_status: DASH,
            origin_response_status: DASH,
            origin_ip: DASH,
            edge_colo_code: DASH,
            client_request_host: DASH,
            client_request_method: DASH,
            client_request_path: DASH,
            ray_id: DASH,
            origin_response_duration_ms: DASH,
            origin_tcp_handshake_duration_ms: DASH,
            origin_tls_handshake_duration_ms: DASH,
            origin_ssl_protocol: DASH,
            cache_cache_status: DASH,
            worker_subrequest: false,
            worker_subrequests: 0,
            edge_status: None,
            origin_status: None,
            ts: None,
            header: true,
        }
    }
}

/// Is the line a Logpush `http_requests` record (for detection)?
pub(crate) fn is_record(line: &[u8]) -> bool {
    parse_cloudflare_line(line).is_some()
}

/// A status of one to three digits (`OriginResponseStatus` is `0` for none).
#[inline]
fn number(v: &[u8]) -> Option<u16> {
    if v.is_empty() || v.len() > 3 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0, |n, &c| n * 10 + u16::from(c - b'0')))
}

/// `EdgeStartTimestamp` in any `timestamp_format`: digits are a unix time whose unit is told by
/// its magnitude (seconds below 1e11, i.e. before the year 5138; then milliseconds, microseconds,
/// nanoseconds), anything else RFC 3339.
#[inline]
fn timestamp(v: &[u8], times: &mut AlbTimes) -> Option<Ts> {
    if v == DASH || v.is_empty() {
        return None;
    }
    if !v[0].is_ascii_digit() || v.get(4) == Some(&b'-') {
        return times.get(v);
    }
    // `unix` is an integer; a seconds fraction is dropped if some exporter adds one
    let int = match v.iter().position(|&c| c == b'.') {
        Some(dot) if dot + 1 < v.len() && v[dot + 1..].iter().all(u8::is_ascii_digit) => &v[..dot],
        Some(_) => return None,
        None => v,
    };
    if int.len() > 19 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = int.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    let secs = match n {
        0..100_000_000_000 => n,
        100_000_000_000..100_000_000_000_000 => n / 1_000,
        100_000_000_000_000..100_000_000_000_000_000 => n / 1_000_000,
        _ => n / 1_000_000_000,
    };
    Some(Ts {
        secs: i64::try_from(secs).ok()?,
        offset: 0,
    })
}

/// The class of a Logpush record (KB 3.3), or `None` when it records no failure: by
/// [`cloudflare_class`] when the job logs `OriginResponseStatus`. Without it, who made the error
/// is unknown: a 52x or 530 is still the edge's ([`LogClass::EdgeError`]), a 502 is
/// [`LogClass::Status502`], and 504, 499 and other 5xx map to the access-log classes.
pub fn classify_cloudflare(r: &CloudflareRecord<'_>) -> Option<LogClass> {
    use LogClass::*;
    let edge = r.edge_status?;
    if let Some(origin) = r.origin_status {
        return cloudflare_class(edge, origin);
    }
    Some(match edge {
        520..=530 => EdgeError,
        502 => Status502,
        504 => Status504,
        499 => Status499,
        500..=599 => Status5xx,
        _ => return None,
    })
}

/// The class of a request from its edge and origin statuses (KB 3.1, 3.3), for Logpush records
/// and for GraphQL analytics rows (`edgeResponseStatus`, `originResponseStatus`) alike.
///
/// - any 52x, and 530: [`LogClass::EdgeError`], whatever the origin status (the edge made the
///   page: refused, timed out, TLS to the origin failed, ...);
/// - another 5xx with origin status 0: [`LogClass::EdgeError`] (no origin response: the edge
///   made it);
/// - 502 with origin 502: [`LogClass::Status502FromUpstream`] (the origin made it);
/// - 504 with origin 504: [`LogClass::Status504`];
/// - another 5xx with an origin status: [`LogClass::Status5xx`];
/// - 499 (the client closed the connection): [`LogClass::Status499`];
/// - anything else: `None`.
pub fn cloudflare_class(edge_status: u16, origin_status: u16) -> Option<LogClass> {
    use LogClass::*;
    Some(match (edge_status, origin_status) {
        (520..=530, _) | (500..=599, 0) => EdgeError,
        (502, 502) => Status502FromUpstream,
        (504, 504) => Status504,
        (500..=599, _) => Status5xx,
        (499, _) => Status499,
        _ => return None,
    })
}

/// Logpush `http_requests` records for the summary loop: counted by `EdgeResponseStatus`;
/// failures grouped by (class, edge status, `OriginIP`, `EdgeColoCode`), with the origin as
/// upstream (when there is one) and `colo <CODE>` as detail, so that a burst in one data centre
/// stands apart (KB 3.4 #3). A record without `EdgeResponseStatus` is read and dated but neither
/// counted nor classified.
#[derive(Debug, Default)]
pub(crate) struct CloudflareClassifier {
    times: AlbTimes,
    /// The columns of CSV rows: from `--logpush-fields` or the head's header line, then from
    /// each header line read (a header starts every batch).
    csv: Option<CsvLayout>,
    /// The group key `OriginIP EdgeColoCode`, reused across records.
    key: Vec<u8>,
    /// The detail `colo CODE`, reused across records.
    detail: Vec<u8>,
}

impl CloudflareClassifier {
    /// A classifier that reads CSV rows in this layout (until a header line says otherwise).
    pub(crate) fn csv(layout: CsvLayout) -> Self {
        CloudflareClassifier {
            csv: Some(layout),
            ..CloudflareClassifier::default()
        }
    }
}

impl Classifier for CloudflareClassifier {
    type Record<'l> = CloudflareRecord<'l>;

    const COUNTS: Counts = Counts::Status;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<CloudflareRecord<'l>> {
        if line.first() == Some(&b'{') {
            return parse_with(line, &mut self.times);
        }
        if let Some(layout) = CsvLayout::from_header(line) {
            self.csv = Some(layout);
            return Some(CloudflareRecord::header());
        }
        match &self.csv {
            Some(layout) => layout.parse_with(line, &mut self.times),
            None => parse_with(line, &mut self.times),
        }
    }

    #[inline]
    fn ignored(&self, r: &CloudflareRecord<'_>) -> bool {
        r.header
    }

    #[inline]
    fn time(&self, r: &CloudflareRecord<'_>) -> Option<Ts> {
        r.ts()
    }

    #[inline]
    fn status(&self, r: &CloudflareRecord<'_>) -> Option<u16> {
        // A Worker's subrequest is not a visitor's request: its parent is counted (KB 9.3).
        if r.worker_subrequest {
            return None;
        }
        r.edge_status()
    }

    #[inline(always)]
    fn fold<'l>(&mut self, r: &CloudflareRecord<'l>, out: Out<'_, 'l>) {
        // A request a Worker handled with subrequests and no origin response of its own: the
        // subrequest records carry what the origin did. Folding the parent too would count one
        // failure twice and read its OriginResponseStatus 0 as an edge-made error (KB 9.3).
        if !r.worker_subrequest && r.worker_subrequests > 0 && r.origin_status() == Some(0) {
            return;
        }
        // `None` too for a record without an edge status
        let Some(class) = classify_cloudflare(r) else {
            return;
        };
        let (origin, colo) = (r.origin_ip(), r.colo());
        self.key.clear();
        self.key.extend_from_slice(origin.unwrap_or_default());
        self.key.push(b' ');
        self.key.extend_from_slice(colo.unwrap_or_default());
        self.detail.clear();
        if let Some(c) = colo {
            self.detail.extend_from_slice(b"colo ");
            self.detail.extend_from_slice(c);
        }
        let f = Failure {
            class,
            status: r.edge_status(),
            upstream: origin,
            key: Some(self.key.as_slice()),
            level: None,
            reused: None,
            ts: r.ts(),
        };
        let detail = self.detail.as_slice();
        out.failure(&f, || colo.map(|_| detail));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use LogClass::*;
    use time::macros::datetime;

    /// A record as Logpush writes it, with the given timestamp (JSON text), statuses, origin
    /// and colo.
    fn rec(ts: &str, edge: &str, origin: &str, ip: &str, colo: &str) -> String {
        format!(
            r#"{{"CacheCacheStatus":"dynamic","ClientIP":"198.51.100.7","ClientRequestHost":"shop.example.com","ClientRequestMethod":"GET","ClientRequestPath":"/api/cart","ClientRequestURI":"/api/cart?id=3","EdgeColoCode":{colo},"EdgeEndTimestamp":{ts},"EdgeResponseBytes":1532,"EdgeResponseStatus":{edge},"EdgeStartTimestamp":{ts},"OriginIP":{ip},"OriginResponseDurationMs":412,"OriginResponseStatus":{origin},"OriginSSLProtocol":"TLSv1.3","OriginTCPHandshakeDurationMs":12,"OriginTLSHandshakeDurationMs":25,"RayID":"8e4f1c2a3b5d6e7f","RequestHeaders":{{"x-forwarded-proto":"https"}},"SecurityRuleIDs":["a","b"],"WorkerSubrequest":false}}"#
        )
    }

    fn plain(edge: &str, origin: &str) -> String {
        rec(
            r#""2026-11-20T10:00:01Z""#,
            edge,
            origin,
            r#""203.0.113.10""#,
            r#""SJC""#,
        )
    }

    /// Every field the parser reads is a field of Cloudflare's `http_requests` dataset, spelled
    /// as Cloudflare's field reference spells it (fixture with provenance).
    #[test]
    fn the_fields_read_are_cloudflares_documented_fields() {
        let documented: Vec<&str> = include_str!(
            "../../../providers/cloudflare/tests/fixtures/official/logpush-http-requests-fields.txt"
        )
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
        // The fields a record is built from, and the one the Worker-subrequest dedupe reads.
        for &field in FIELDS.iter().chain(&["ParentRayID"]) {
            assert!(
                documented.contains(&field),
                "{field} is not a documented field"
            );
            // And the parser really reads it by that name.
            assert!(
                field == "ParentRayID"
                    || include_str!("cloudflare.rs").contains(&format!("rename = \"{field}\"")),
                "{field} is not read"
            );
        }
    }

    #[test]
    fn full_record() {
        let l = plain("502", "502");
        let r = parse_cloudflare_line(l.as_bytes()).unwrap();
        assert_eq!(r.edge_status(), Some(502));
        assert_eq!(r.origin_status(), Some(502));
        assert_eq!(r.edge_response_status, b"502");
        assert_eq!(r.origin_ip(), Some(&b"203.0.113.10"[..]));
        assert_eq!(r.colo(), Some(&b"SJC"[..]));
        assert_eq!(r.client_request_host, b"shop.example.com");
        assert_eq!(r.client_request_method, b"GET");
        assert_eq!(r.client_request_path, b"/api/cart");
        assert_eq!(r.ray_id, b"8e4f1c2a3b5d6e7f");
        assert_eq!(r.origin_response_duration_ms, b"412");
        assert_eq!(r.origin_tcp_handshake_duration_ms, b"12");
        assert_eq!(r.origin_tls_handshake_duration_ms, b"25");
        assert_eq!(r.origin_ssl_protocol, b"TLSv1.3");
        assert_eq!(r.cache_cache_status, b"dynamic");
        assert_eq!(r.edge_start_timestamp, b"2026-11-20T10:00:01Z");
        assert_eq!(r.timestamp(), Some(datetime!(2026-11-20 10:00:01 UTC)));
        assert_eq!(classify_cloudflare(&r), Some(Status502FromUpstream));
        assert!(is_record(l.as_bytes()));
    }

    #[test]
    fn every_timestamp_format() {
        let want = datetime!(2026-11-20 10:00:01 UTC);
        let secs = want.unix_timestamp();
        for ts in [
            // rfc3339, and the fractional forms
            r#""2026-11-20T10:00:01Z""#.to_string(),
            r#""2026-11-20T10:00:01.123Z""#.to_string(),
            r#""2026-11-20T10:00:01.123456789Z""#.to_string(),
            r#""2026-11-20T11:00:01+01:00""#.to_string(),
            // unixnano (Logpush's default), unix
            format!("{secs}123456789"),
            format!("{secs}"),
            // the same as strings, and milliseconds / microseconds by magnitude
            format!("\"{secs}000000000\""),
            format!("\"{secs}\""),
            format!("{secs}123"),
            format!("{secs}123456"),
            format!("{secs}.25"),
        ] {
            let l = rec(&ts, "200", "200", r#""203.0.113.10""#, r#""SJC""#);
            let r = parse_cloudflare_line(l.as_bytes()).unwrap_or_else(|| panic!("{l}"));
            assert_eq!(r.timestamp(), Some(want), "{ts}");
            assert_eq!(r.ts().unwrap().secs, secs, "{ts}");
        }
        // a bad or missing time keeps the record, undated
        for ts in [
            r#""2026-13-20T10:00:01Z""#,
            r#""yesterday""#,
            r#""""#,
            "null",
            "-5",
            r#""1795168801.""#,
            r#""17951688011234567890123""#,
            "true",
        ] {
            let l = rec(ts, "502", "0", r#""""#, r#""SJC""#);
            let r = parse_cloudflare_line(l.as_bytes()).unwrap_or_else(|| panic!("{l}"));
            assert_eq!(r.timestamp(), None, "{ts}");
            assert_eq!(classify_cloudflare(&r), Some(EdgeError));
        }
    }

    #[test]
    fn class_table() {
        let cases = [
            // any 52x and 530: the edge, whatever the origin said
            (520, 0, Some(EdgeError)),
            (521, 0, Some(EdgeError)),
            (522, 0, Some(EdgeError)),
            (523, 0, Some(EdgeError)),
            (524, 200, Some(EdgeError)),
            (525, 0, Some(EdgeError)),
            (526, 0, Some(EdgeError)),
            (527, 0, Some(EdgeError)),
            (529, 0, Some(EdgeError)),
            (530, 0, Some(EdgeError)),
            (520, 502, Some(EdgeError)),
            (530, 530, Some(EdgeError)),
            // other 5xx with no origin response: the edge made it
            (502, 0, Some(EdgeError)),
            (504, 0, Some(EdgeError)),
            (500, 0, Some(EdgeError)),
            (503, 0, Some(EdgeError)),
            (531, 0, Some(EdgeError)),
            // origin-made
            (502, 502, Some(Status502FromUpstream)),
            (504, 504, Some(Status504)),
            (502, 503, Some(Status5xx)),
            (502, 200, Some(Status5xx)),
            (504, 502, Some(Status5xx)),
            (500, 500, Some(Status5xx)),
            (503, 503, Some(Status5xx)),
            (599, 404, Some(Status5xx)),
            (531, 200, Some(Status5xx)),
            // the client gave up
            (499, 0, Some(Status499)),
            (499, 200, Some(Status499)),
            // not failures
            (200, 200, None),
            (200, 0, None),
            (304, 0, None),
            (404, 404, None),
            (403, 0, None),
            (0, 0, None),
            (600, 0, None),
        ];
        for (edge, origin, want) in cases {
            assert_eq!(cloudflare_class(edge, origin), want, "{edge} {origin}");
            // a record classifies the same
            let l = plain(&edge.to_string(), &origin.to_string());
            if let Some(r) = parse_cloudflare_line(l.as_bytes()) {
                assert_eq!(classify_cloudflare(&r), want, "{l}");
            } else {
                assert!(!(100..=999).contains(&edge), "{l}");
            }
        }
    }

    #[test]
    fn missing_fields() {
        // a ray alone is a record, neither counted nor classified
        let r = parse_cloudflare_line(br#"{"RayID":"8e4f1c2a3b5d6e7f"}"#).unwrap();
        assert_eq!((r.edge_status(), r.origin_status()), (None, None));
        assert_eq!((r.origin_ip(), r.colo(), r.timestamp()), (None, None, None));
        assert_eq!(r.client_request_host, DASH);
        assert_eq!(classify_cloudflare(&r), None);
        // a status alone is enough; without the origin status, only 52x/530 are the edge's
        let class = |l: &str| classify_cloudflare(&parse_cloudflare_line(l.as_bytes()).unwrap());
        assert_eq!(class(r#"{"EdgeResponseStatus":522}"#), Some(EdgeError));
        assert_eq!(class(r#"{"EdgeResponseStatus":530}"#), Some(EdgeError));
        assert_eq!(class(r#"{"EdgeResponseStatus":502}"#), Some(Status502));
        assert_eq!(class(r#"{"EdgeResponseStatus":504}"#), Some(Status504));
        assert_eq!(class(r#"{"EdgeResponseStatus":503}"#), Some(Status5xx));
        assert_eq!(class(r#"{"EdgeResponseStatus":499}"#), Some(Status499));
        assert_eq!(class(r#"{"EdgeResponseStatus":200}"#), None);
        // null reads as missing; strings as numbers; an empty OriginIP is no origin
        let l = r#"{"EdgeResponseStatus":"502","OriginResponseStatus":null,"OriginIP":"","EdgeColoCode":null}"#;
        let r = parse_cloudflare_line(l.as_bytes()).unwrap();
        assert_eq!((r.edge_status(), r.origin_status()), (Some(502), None));
        assert_eq!((r.origin_ip(), r.colo()), (None, None));
        let l = r#"{"EdgeResponseStatus":502,"OriginResponseStatus":"0"}"#;
        assert_eq!(class(l), Some(EdgeError));
        // unknown fields of any shape are ignored
        let l = r#"{"EdgeResponseStatus":521,"OriginResponseStatus":0,"Cookies":{"a":"b"},"WAFFlags":"0","ContentScanObjResults":[],"Parent":{"x":[1,{"y":null}]}}"#;
        assert_eq!(class(l), Some(EdgeError));
    }

    #[test]
    fn malformed_lines_are_none() {
        let good = plain("502", "0");
        let combined = "127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"";
        let appgw = r#"{"time":"2026-11-20T10:00:01Z","category":"ApplicationGatewayAccessLog","properties":{"httpStatus":502,"serverRouted":"10.0.1.4:443"}}"#;
        let alb =
            r#"{"time":"2026-11-20T10:15:02Z","elb_status_code":502,"target_status_code":"-"}"#;
        for l in [
            "",
            " ",
            "{",
            "}",
            "{}",
            "[502]",
            r#"[502,0,"203.0.113.10"]"#,
            "502",
            "\"x\"",
            "not json at all",
            combined,
            appgw,
            alb,
            r#"{"EdgeResponseStatus":null,"RayID":null}"#,
            r#"{"EdgeResponseStatus":"5xx"}"#,
            r#"{"EdgeResponseStatus":5020}"#,
            r#"{"EdgeResponseStatus":52}"#,
            r#"{"EdgeResponseStatus":502.0}"#,
            r#"{"EdgeResponseStatus":502,"OriginResponseStatus":"none"}"#,
            r#"{"EdgeResponseStatus":502,"OriginResponseStatus":-1}"#,
            r#"{"EdgeResponseStatus":502,"OriginResponseStatus":5020}"#,
            r#"{"EdgeResponseStatus":502} trailing"#,
            r#"{"EdgeResponseStatus":502,}"#,
            r#"{"EdgeResponseStatus":502"#,
            r#"{"EdgeResponseStatus":502,"EdgeResponseStatus":200}"#,
        ] {
            assert!(parse_cloudflare_line(l.as_bytes()).is_none(), "{l}");
            assert!(!is_record(l.as_bytes()), "{l}");
        }
        assert!(parse_cloudflare_line(b"\x00\x01\x02\xff\xfe").is_none());
        // leading whitespace and a trailing CR are fine
        assert!(parse_cloudflare_line(format!(" \t{good}\r").as_bytes()).is_some());
        // every prefix of a good line either parses or not, without panicking
        for n in 0..good.len() {
            let _ = parse_cloudflare_line(&good.as_bytes()[..n]).map(|r| classify_cloudflare(&r));
        }
        // a deeply nested unknown value is skipped without recursing, not a stack overflow
        let deep = format!(
            "{{\"RayID\":\"x\",\"Parent\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse_cloudflare_line(deep.as_bytes()).is_some());
        let unbalanced = format!("{{\"RayID\":\"x\",\"Parent\":{}}}", "[".repeat(100_000));
        assert!(parse_cloudflare_line(unbalanced.as_bytes()).is_none());
    }

    /// The CSV example of Cloudflare's "Log Output Options" page (cloudflare/cloudflare-docs
    /// `src/content/docs/logs/logpush/logpush-job/log-output-options.mdx`, commit
    /// 0be487de54d9287d8b4c7563afbc0ff761b8ae3d, "csv with header"), verbatim.
    const DOCS_CSV: &str = "ClientIP,EdgeStartTimestamp,RayID
\"89.163.242.206\",1506702504433000200,\"3a6050bcbe121a87\"
\"89.163.242.207\",1506702504433000300,\"3a6050bcbe121a88\"
\"89.163.242.208\",1506702504433000400,\"3a6050bcbe121a89\"
";

    #[test]
    fn the_documented_csv_example_reads_by_its_header() {
        let mut lines = DOCS_CSV.lines();
        let layout = CsvLayout::from_header(lines.next().unwrap().as_bytes()).unwrap();
        let rays: Vec<&[u8]> = lines
            .map(|l| {
                let r = layout.parse(l.as_bytes()).unwrap();
                assert_eq!(r.timestamp(), Some(datetime!(2017-09-29 16:28:24 UTC)));
                assert_eq!(r.edge_status(), None);
                r.ray_id
            })
            .collect();
        assert_eq!(
            rays,
            [
                &b"3a6050bcbe121a87"[..],
                b"3a6050bcbe121a88",
                b"3a6050bcbe121a89"
            ]
        );
    }

    /// A row reads as the same record in JSON, whatever the column order, delimiter and quoting.
    #[test]
    fn a_csv_row_is_the_same_record_as_its_json_line() {
        let json = plain("502", "502");
        let want = parse_cloudflare_line(json.as_bytes()).unwrap();
        let names = "EdgeResponseStatus,ClientIP,OriginResponseStatus,RayID,EdgeStartTimestamp,OriginIP,EdgeColoCode,ClientRequestHost,ClientRequestMethod,ClientRequestPath,OriginResponseDurationMs,OriginTCPHandshakeDurationMs,OriginTLSHandshakeDurationMs,OriginSSLProtocol,CacheCacheStatus,WorkerSubrequest,ClientRequestUserAgent";
        let values = [
            "502",
            "\"198.51.100.7\"",
            "502",
            "\"8e4f1c2a3b5d6e7f\"",
            "\"2026-11-20T10:00:01Z\"",
            "\"203.0.113.10\"",
            "\"SJC\"",
            "\"shop.example.com\"",
            "\"GET\"",
            "\"/api/cart\"",
            "412",
            "12",
            "25",
            "\"TLSv1.3\"",
            "\"dynamic\"",
            "false",
            // commas, tabs and doubled quotes inside a quoted value stay in it
            "\"Mozilla/5.0 (X11; Linux x86_64),\t\"\"quoted\"\"\"",
        ];
        for delimiter in [",", "\t"] {
            let header = names.replace(',', delimiter);
            let layout = CsvLayout::from_header(header.as_bytes()).unwrap();
            let names: Vec<&str> = names.split(',').collect();
            assert_eq!(
                CsvLayout::from_names(&names, delimiter.as_bytes()[0]).unwrap(),
                layout
            );
            let row = format!("{}\r", values.join(delimiter));
            let got = layout
                .parse(row.as_bytes())
                .unwrap_or_else(|| panic!("{row}"));
            assert_eq!(got, want, "{row}");
            assert_eq!(classify_cloudflare(&got), Some(Status502FromUpstream));
        }
    }

    #[test]
    fn csv_values_split_by_rfc_4180() {
        let split = |l: &str| {
            let mut v = Vec::new();
            for_each_value(l.as_bytes(), b',', |i, x| {
                v.push((i, String::from_utf8_lossy(x).into_owned()))
            })
            .map(|()| v.into_iter().map(|(_, x)| x).collect::<Vec<_>>())
        };
        assert_eq!(split("a,b,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(split("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(
            split("\"say \"\"hi\"\"\",1").unwrap(),
            ["say \"\"hi\"\"", "1"]
        );
        assert_eq!(split(",null,").unwrap(), ["-", "-", "-"]);
        assert_eq!(split("\"\"").unwrap(), [""]);
        assert_eq!(split("").unwrap(), ["-"]);
        // an unclosed quote, or text after a closing one, is no row
        assert_eq!(split("\"a,b"), None);
        assert_eq!(split("\"a\"b,c"), None);
        // a row of other width is no record of the layout
        let layout =
            CsvLayout::from_names(&["EdgeResponseStatus", "OriginResponseStatus"], b',').unwrap();
        assert!(layout.parse(b"502,0").is_some());
        assert!(layout.parse(b"502,0,1").is_none());
        assert!(layout.parse(b"502").is_none());
        assert!(layout.parse(b"\"5xx\",0").is_none());
        assert!(layout.parse(b"502,\"none\"").is_none());
        // null and empty read as missing, as in JSON
        let r = layout.parse(b"502,null").unwrap();
        assert_eq!((r.edge_status(), r.origin_status()), (Some(502), None));
        assert_eq!(classify_cloudflare(&r), Some(Status502));
        // every prefix of a row parses or not, without panicking
        let row = "502,\"a \"\"b\"\"\"";
        for n in 0..row.len() {
            let _ = layout.parse(&row.as_bytes()[..n]);
        }
    }

    #[test]
    fn field_lists_that_cannot_be_read_are_refused_in_one_line() {
        let e = CsvLayout::from_names(&["ClientIP", "EdgeStartTimestamp"], b',').unwrap_err();
        assert!(e.contains("EdgeResponseStatus"), "{e}");
        let e = CsvLayout::from_names(&["RayID", "Edge Response"], b',').unwrap_err();
        assert!(e.contains("`Edge Response`"), "{e}");
        let e = CsvLayout::from_names(&["RayID", "RayID"], b',').unwrap_err();
        assert!(e.contains("twice"), "{e}");
        for l in [
            "",
            "502,0",
            "\"RayID\",x",
            "RayID,",
            "Ray ID,EdgeResponseStatus",
            "{\"RayID\":1}",
        ] {
            assert_eq!(CsvLayout::from_header(l.as_bytes()), None, "{l}");
        }
    }

    /// A Worker's subrequest and its parent in CSV count once, as in NDJSON.
    #[test]
    fn csv_worker_subrequests_are_folded_like_json() {
        let mut c = CloudflareClassifier::default();
        let header = b"RayID,ParentRayID,EdgeResponseStatus,OriginResponseStatus,WorkerSubrequest,WorkerSubrequestCount";
        let h = c.parse(header).unwrap();
        assert!(c.ignored(&h));
        assert_eq!((c.status(&h), c.time(&h)), (None, None));
        let parent = c.parse(b"\"aaaa\",\"\",502,0,false,1").unwrap();
        let sub = c.parse(b"\"bbbb\",\"aaaa\",502,502,true,0").unwrap();
        assert!(!c.ignored(&parent) && !c.ignored(&sub));
        assert_eq!((c.status(&parent), c.status(&sub)), (Some(502), None));
        assert!(parent.worker_subrequests == 1 && sub.worker_subrequest);
        assert_eq!(classify_cloudflare(&sub), Some(Status502FromUpstream));
        // JSON lines among them still read
        assert!(c.parse(plain("200", "200").as_bytes()).is_some());
        // without a header or layout, a row is not read
        assert!(
            CloudflareClassifier::default()
                .parse(b"\"aaaa\",502")
                .is_none()
        );
    }
}
