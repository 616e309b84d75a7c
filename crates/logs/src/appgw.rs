//! Azure Application Gateway v2 access logs (KB 2.3, 2.5): a zero-copy JSON record parser and the
//! classifier into [`LogClass`].
//!
//! One JSON object per line, in either of two shapes:
//! - diagnostic-setting records (Storage account / Event Hub export, category
//!   `ApplicationGatewayAccessLog`): `time`, `category`, `operationName`, and the request in a
//!   `properties` object (`httpStatus`, `serverRouted`, `serverStatus`, `error_info`, `clientIP`,
//!   ...); `listenerName`, `ruleName`, `backendPoolName` and `backendSettingName` may be at the top
//!   level or inside `properties`;
//! - flat resource-specific rows (`AGWAccessLogs` exported from Log Analytics): `TimeGenerated`,
//!   `HttpStatus`, `ServerRouted`, `ServerStatus`, `ErrorInfo`, ... at the top level.
//!
//! Keys are matched without regard to case (`clientIP`, `ClientIp`; `error_info` and `ErrorInfo`
//! are the same field); the first non-`null` value of a key wins, top level before `properties`.
//! Numbers may be JSON numbers or strings; missing keys and `null` read as `-`. String values are
//! given as their raw text between the quotes (escapes are not decoded; the fields the classifier
//! reads never hold any). A record needs a three-digit `httpStatus`.

use crate::alb::{AlbTimes, DASH, raw, secs, status, unset};
use crate::groups::Failure;
use crate::scan::{Classifier, Counts, Out};
use crate::ts::Ts;
use cloud502_model::LogClass;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use time::{OffsetDateTime, UtcOffset};

/// `error_info` when no live backend was left to send the request to (KB 2.3, 2.5 #2).
pub const ERRORINFO_UPSTREAM_NO_LIVE: &[u8] = b"ERRORINFO_UPSTREAM_NO_LIVE";
/// `error_info` when the backend closed the connection (KB 2.5 #9).
pub const ERRORINFO_UPSTREAM_CLOSED_CONNECTION: &[u8] = b"ERRORINFO_UPSTREAM_CLOSED_CONNECTION";
/// `error_info` when the backend did not answer within the request timeout (KB 2.5 #8).
pub const ERRORINFO_UPSTREAM_TIMED_OUT: &[u8] = b"ERRORINFO_UPSTREAM_TIMED_OUT";
/// `error_info` of a request that did not fail (seen in captures; read as no `error_info`).
const ERRORINFO_NO_ERROR: &[u8] = b"ERRORINFO_NO_ERROR";

/// One AppGW access log record, borrowed from the line. Absent fields are `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppgwRecord<'a> {
    /// `time` or `TimeGenerated`: ISO 8601 (`2026-11-20T10:00:01.123Z`).
    pub time: &'a [u8],
    /// `httpStatus` / `HttpStatus`: the status the client got.
    pub http_status: u16,
    /// `serverStatus`: the backend's status; `-` or empty when the backend did not answer.
    pub server_status: &'a [u8],
    /// `serverRouted`: the backend `ip:port` the request went to; `-` when none.
    pub server_routed: &'a [u8],
    /// `error_info` / `ErrorInfo`: `ERRORINFO_UPSTREAM_NO_LIVE`, ... (KB 2.3).
    pub error_info: &'a [u8],
    /// `clientIP` / `ClientIp`: `127.0.0.1` for the gateway's own requests.
    pub client_ip: &'a [u8],
    /// `clientPort`.
    pub client_port: &'a [u8],
    /// `httpMethod`.
    pub http_method: &'a [u8],
    /// `requestUri`.
    pub request_uri: &'a [u8],
    /// `host`.
    pub host: &'a [u8],
    /// `originalHost`.
    pub original_host: &'a [u8],
    /// `userAgent`.
    pub user_agent: &'a [u8],
    /// `listenerName`.
    pub listener_name: &'a [u8],
    /// `ruleName`.
    pub rule_name: &'a [u8],
    /// `backendPoolName`.
    pub backend_pool_name: &'a [u8],
    /// `backendSettingName`.
    pub backend_setting_name: &'a [u8],
    /// `instanceId`.
    pub instance_id: &'a [u8],
    /// `timeTaken` in seconds.
    pub time_taken: &'a [u8],
    /// `serverResponseLatency` in seconds; `-` when the backend did not answer.
    pub server_response_latency: &'a [u8],
    /// `transactionId`.
    pub transaction_id: &'a [u8],
    /// `category` (`ApplicationGatewayAccessLog` in diagnostic-setting records).
    pub category: &'a [u8],
    /// `operationName` (`ApplicationGatewayAccess`).
    pub operation_name: &'a [u8],
    /// `Type` (`AGWAccessLogs` in Log Analytics rows).
    pub table: &'a [u8],
    /// `time`, parsed.
    ts: Option<Ts>,
    /// Was there a `serverRouted` key (even `null`)?
    routed_key: bool,
}

impl<'a> AppgwRecord<'a> {
    /// `httpStatus`.
    pub fn http_status(&self) -> u16 {
        self.http_status
    }

    /// `serverStatus`, when the backend answered with a status.
    pub fn server_status(&self) -> Option<u16> {
        status(self.server_status)
    }

    /// `serverRouted`, when the request was routed to a backend.
    pub fn server_routed(&self) -> Option<&'a [u8]> {
        (!unset(self.server_routed)).then_some(self.server_routed)
    }

    /// `error_info`, when there is one (not `-`, empty, or `ERRORINFO_NO_ERROR`).
    pub fn error_info(&self) -> Option<&'a [u8]> {
        let e = self.error_info;
        (!unset(e) && !e.eq_ignore_ascii_case(ERRORINFO_NO_ERROR)).then_some(e)
    }

    /// Is this one of the gateway's own requests (`clientIP` 127.0.0.1)? Those are ignored (KB 2.3).
    pub fn is_internal(&self) -> bool {
        self.client_ip == b"127.0.0.1"
    }

    /// `timeTaken` in seconds.
    pub fn time_taken(&self) -> Option<f64> {
        secs(self.time_taken)
    }

    /// `time` (whole seconds, in the offset the log wrote, UTC for AppGW).
    pub fn timestamp(&self) -> Option<OffsetDateTime> {
        let t = self.ts?;
        let offset = UtcOffset::from_whole_seconds(t.offset).ok()?;
        Some(
            OffsetDateTime::from_unix_timestamp(t.secs)
                .ok()?
                .to_offset(offset),
        )
    }

    /// Does the record say it is an AppGW access log record: `category`
    /// `ApplicationGatewayAccessLog`, `operationName` `ApplicationGatewayAccess`, `Type`
    /// `AGWAccessLogs`, or a `serverRouted` key next to the status (detection).
    pub(crate) fn marked(&self) -> bool {
        self.category
            .eq_ignore_ascii_case(b"ApplicationGatewayAccessLog")
            || self
                .operation_name
                .eq_ignore_ascii_case(b"ApplicationGatewayAccess")
            || self.table.eq_ignore_ascii_case(b"AGWAccessLogs")
            || self.routed_key
    }

    /// `time`, parsed (for the summary loop).
    #[inline]
    pub(crate) fn ts(&self) -> Option<Ts> {
        self.ts
    }
}

/// The fields read from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Time,
    HttpStatus,
    ServerStatus,
    ServerRouted,
    ErrorInfo,
    ClientIp,
    ClientPort,
    HttpMethod,
    RequestUri,
    Host,
    OriginalHost,
    UserAgent,
    ListenerName,
    RuleName,
    BackendPoolName,
    BackendSettingName,
    InstanceId,
    TimeTaken,
    ServerResponseLatency,
    TransactionId,
    Category,
    OperationName,
    Type,
}

/// How many [`F`]s there are.
const N: usize = F::Type as usize + 1;

/// Key names (matched without regard to case) and their fields.
const NAMES: &[(&str, F)] = &[
    ("time", F::Time),
    ("TimeGenerated", F::Time),
    ("httpStatus", F::HttpStatus),
    ("serverStatus", F::ServerStatus),
    ("serverRouted", F::ServerRouted),
    ("error_info", F::ErrorInfo),
    ("ErrorInfo", F::ErrorInfo),
    ("clientIP", F::ClientIp),
    ("clientPort", F::ClientPort),
    ("httpMethod", F::HttpMethod),
    ("requestUri", F::RequestUri),
    ("host", F::Host),
    ("originalHost", F::OriginalHost),
    ("userAgent", F::UserAgent),
    ("listenerName", F::ListenerName),
    ("ruleName", F::RuleName),
    ("backendPoolName", F::BackendPoolName),
    ("backendSettingName", F::BackendSettingName),
    ("instanceId", F::InstanceId),
    ("timeTaken", F::TimeTaken),
    ("serverResponseLatency", F::ServerResponseLatency),
    ("transactionId", F::TransactionId),
    ("category", F::Category),
    ("operationName", F::OperationName),
    ("Type", F::Type),
];

/// A key of a record.
enum Key {
    Field(F),
    Properties,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
                if k.eq_ignore_ascii_case("properties") {
                    return Ok(Key::Properties);
                }
                Ok(NAMES
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(k))
                    .map_or(Key::Other, |(_, f)| Key::Field(*f)))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A record's fields as raw JSON text borrowed from the line.
#[derive(Default)]
struct Fields<'a>([Option<&'a RawValue>; N]);

impl<'a> Fields<'a> {
    fn get(&self, f: F) -> Option<&'a RawValue> {
        self.0[f as usize]
    }
}

/// Fills [`Fields`] from a map: the record itself (`nested` false, must be an object) or its
/// `properties` (anything; only an object is read).
struct Fill<'r, 'a> {
    out: &'r mut Fields<'a>,
    nested: bool,
}

impl<'de> DeserializeSeed<'de> for Fill<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.nested {
            d.deserialize_any(self)
        } else {
            d.deserialize_map(self)
        }
    }
}

impl<'de> Visitor<'de> for Fill<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Application Gateway access log record")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(k) = map.next_key::<Key>()? {
            match k {
                Key::Field(f) => {
                    let v: &'de RawValue = map.next_value()?;
                    let slot = &mut self.out.0[f as usize];
                    if slot.is_none_or(|old| old.get() == "null") {
                        *slot = Some(v);
                    }
                }
                Key::Properties if !self.nested => map.next_value_seed(Fill {
                    out: &mut *self.out,
                    nested: true,
                })?,
                Key::Properties | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    // `properties` that is not an object is ignored

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Parse one AppGW access log line (either shape). `None` when the line is not a JSON object with
/// a three-digit `httpStatus`.
pub fn parse_appgw_line(line: &[u8]) -> Option<AppgwRecord<'_>> {
    parse_with(line, &mut AlbTimes::default())
}

/// Is the line an AppGW access log record that says so (for detection)?
pub(crate) fn is_marked_record(line: &[u8]) -> bool {
    parse_with(line, &mut AlbTimes::default()).is_some_and(|r| r.marked())
}

/// [`parse_appgw_line`] with a time cache kept across lines.
#[inline]
fn parse_with<'a>(line: &'a [u8], times: &mut AlbTimes) -> Option<AppgwRecord<'a>> {
    let start = line.iter().position(|c| !c.is_ascii_whitespace())?;
    if line[start] != b'{' {
        return None;
    }
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_slice(&line[start..]);
    Fill {
        out: &mut fields,
        nested: false,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    let v = |f: F| raw(fields.get(f));
    let http_status = status(v(F::HttpStatus))?;
    let time = v(F::Time);
    let ts = if time == DASH { None } else { times.get(time) };
    Some(AppgwRecord {
        time,
        http_status,
        server_status: v(F::ServerStatus),
        server_routed: v(F::ServerRouted),
        error_info: v(F::ErrorInfo),
        client_ip: v(F::ClientIp),
        client_port: v(F::ClientPort),
        http_method: v(F::HttpMethod),
        request_uri: v(F::RequestUri),
        host: v(F::Host),
        original_host: v(F::OriginalHost),
        user_agent: v(F::UserAgent),
        listener_name: v(F::ListenerName),
        rule_name: v(F::RuleName),
        backend_pool_name: v(F::BackendPoolName),
        backend_setting_name: v(F::BackendSettingName),
        instance_id: v(F::InstanceId),
        time_taken: v(F::TimeTaken),
        server_response_latency: v(F::ServerResponseLatency),
        transaction_id: v(F::TransactionId),
        category: v(F::Category),
        operation_name: v(F::OperationName),
        table: v(F::Type),
        ts,
        routed_key: fields.get(F::ServerRouted).is_some(),
    })
}

/// The class a known `error_info` decides, if any.
fn error_class(e: &[u8]) -> Option<LogClass> {
    if e.eq_ignore_ascii_case(ERRORINFO_UPSTREAM_NO_LIVE) {
        Some(LogClass::NoLiveUpstreams)
    } else if e.eq_ignore_ascii_case(ERRORINFO_UPSTREAM_CLOSED_CONNECTION) {
        Some(LogClass::PrematureClose)
    } else if e.eq_ignore_ascii_case(ERRORINFO_UPSTREAM_TIMED_OUT) {
        Some(LogClass::ReadTimeout)
    } else {
        None
    }
}

/// Was the record's class decided by its `error_info` (rather than by its status)?
fn classed_by_error_info(r: &AppgwRecord<'_>) -> bool {
    r.error_info().and_then(error_class).is_some()
}

/// The class of an AppGW record (KB 2.3, 2.5), or `None` when it records no failure or is one of
/// the gateway's own requests (`clientIP` 127.0.0.1).
///
/// A known `error_info` decides first: `ERRORINFO_UPSTREAM_NO_LIVE` is
/// [`LogClass::NoLiveUpstreams`], `ERRORINFO_UPSTREAM_CLOSED_CONNECTION`
/// [`LogClass::PrematureClose`], `ERRORINFO_UPSTREAM_TIMED_OUT` [`LogClass::ReadTimeout`] (504 on
/// v2, which retries a timed-out request on another member; 502 on v1). Then the status: a 502
/// with `serverStatus` 502 came from the backend ([`LogClass::Status502FromUpstream`], KB 2.5 #11),
/// any other 502 is [`LogClass::Status502`]; 504, 499 and other 5xx map to the access-log classes.
pub fn classify_appgw(r: &AppgwRecord<'_>) -> Option<LogClass> {
    if r.is_internal() {
        return None;
    }
    appgw_class(r.http_status, r.server_status(), r.error_info())
}

/// The class of a request from its columns alone (`HttpStatus`, `ServerStatus`, `ErrorInfo`), as
/// [`classify_appgw`] does for a record: for rows a Log Analytics query has already grouped.
pub fn appgw_class(
    http_status: u16,
    server_status: Option<u16>,
    error_info: Option<&[u8]>,
) -> Option<LogClass> {
    use LogClass::*;
    if let Some(c) = error_info.and_then(error_class) {
        return Some(c);
    }
    Some(match http_status {
        502 if server_status == Some(502) => Status502FromUpstream,
        502 => Status502,
        504 => Status504,
        499 => Status499,
        500..=599 => Status5xx,
        _ => return None,
    })
}

/// AppGW access records for the summary loop: counted by `httpStatus`; failures grouped by
/// (class, `serverRouted`, status), with the `error_info` as detail. A record classified by its
/// status whose `error_info` is not one of the known three is also keyed by that `error_info`, so
/// that different reasons stay apart. The gateway's own requests (`clientIP` 127.0.0.1) are read
/// and ignored: they are not counted, dated, nor classified.
#[derive(Debug, Default)]
pub(crate) struct AppgwClassifier {
    times: AlbTimes,
    /// The group key `serverRouted error_info`, reused across records.
    key: Vec<u8>,
}

impl Classifier for AppgwClassifier {
    type Record<'l> = AppgwRecord<'l>;

    const COUNTS: Counts = Counts::Status;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<AppgwRecord<'l>> {
        parse_with(line, &mut self.times)
    }

    #[inline]
    fn ignored(&self, r: &AppgwRecord<'_>) -> bool {
        r.is_internal()
    }

    #[inline]
    fn time(&self, r: &AppgwRecord<'_>) -> Option<Ts> {
        r.ts()
    }

    #[inline]
    fn status(&self, r: &AppgwRecord<'_>) -> Option<u16> {
        Some(r.http_status)
    }

    #[inline(always)]
    fn fold<'l>(&mut self, r: &AppgwRecord<'l>, out: Out<'_, 'l>) {
        let Some(class) = classify_appgw(r) else {
            return;
        };
        let upstream = r.server_routed();
        let error_info = r.error_info();
        let keyed = match error_info {
            Some(e) if !classed_by_error_info(r) => {
                self.key.clear();
                self.key.extend_from_slice(upstream.unwrap_or(b"-"));
                self.key.push(b' ');
                self.key.extend_from_slice(e);
                true
            }
            _ => false,
        };
        let f = Failure {
            class,
            status: Some(r.http_status),
            upstream,
            key: keyed.then_some(self.key.as_slice()),
            level: None,
            reused: None,
            ts: r.ts(),
        };
        out.failure(&f, || error_info);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use LogClass::*;
    use time::macros::datetime;

    /// The diagnostic-setting record of the brief, with the given status, serverStatus,
    /// serverRouted and error_info (JSON text, quoted or not).
    fn diag(http: &str, server_status: &str, routed: &str, err: &str) -> String {
        format!(
            r#"{{"time":"2026-11-20T10:00:01.123Z","resourceId":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/APPLICATIONGATEWAYS/GW1","operationName":"ApplicationGatewayAccess","category":"ApplicationGatewayAccessLog","listenerName":"listener-https","ruleName":"rule-api","backendPoolName":"pool-a","backendSettingName":"settings-a","properties":{{"instanceId":"appgw_1","clientIP":"203.0.113.9","clientPort":51234,"httpMethod":"GET","requestUri":"/api/x","userAgent":"curl/8","httpStatus":{http},"httpVersion":"HTTP/1.1","receivedBytes":100,"sentBytes":300,"clientResponseTime":0,"timeTaken":0.012,"sslEnabled":"on","host":"www.example.com","originalHost":"www.example.com","serverRouted":{routed},"serverStatus":{server_status},"serverResponseLatency":"-","error_info":{err},"transactionId":"a1b2c3"}}}}"#
        )
    }

    /// A flat `AGWAccessLogs` row.
    fn flat(http: &str, server_status: &str, routed: &str, err: &str) -> String {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T10:00:01.1234567Z","HttpStatus":{http},"ServerStatus":{server_status},"ServerRouted":{routed},"ErrorInfo":{err},"BackendPoolName":"pool-a","BackendSettingName":"s","ListenerName":"l","RuleName":"r","TimeTaken":0.2,"Host":"www.example.com","RequestUri":"/","ClientIp":"203.0.113.9","Type":"AGWAccessLogs"}}"#
        )
    }

    fn class_of(l: &str) -> Option<LogClass> {
        let p = parse_appgw_line(l.as_bytes()).unwrap_or_else(|| panic!("unparsed: {l}"));
        classify_appgw(&p)
    }

    #[test]
    fn diagnostic_setting_record() {
        let l = diag(
            "502",
            r#""-""#,
            r#""10.0.1.4:443""#,
            r#""ERRORINFO_UPSTREAM_CLOSED_CONNECTION""#,
        );
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert_eq!(r.http_status(), 502);
        assert_eq!(r.server_status(), None);
        assert_eq!(r.server_routed(), Some(&b"10.0.1.4:443"[..]));
        assert_eq!(r.error_info(), Some(ERRORINFO_UPSTREAM_CLOSED_CONNECTION));
        assert_eq!(r.client_ip, b"203.0.113.9");
        assert_eq!(r.client_port, b"51234");
        assert_eq!(r.http_method, b"GET");
        assert_eq!(r.request_uri, b"/api/x");
        assert_eq!(r.user_agent, b"curl/8");
        assert_eq!(r.host, b"www.example.com");
        assert_eq!(r.original_host, b"www.example.com");
        assert_eq!(r.instance_id, b"appgw_1");
        assert_eq!(r.transaction_id, b"a1b2c3");
        assert_eq!(r.server_response_latency, b"-");
        assert_eq!(r.time_taken(), Some(0.012));
        // top-level names
        assert_eq!(r.listener_name, b"listener-https");
        assert_eq!(r.rule_name, b"rule-api");
        assert_eq!(r.backend_pool_name, b"pool-a");
        assert_eq!(r.backend_setting_name, b"settings-a");
        assert_eq!(r.category, b"ApplicationGatewayAccessLog");
        assert_eq!(r.operation_name, b"ApplicationGatewayAccess");
        assert_eq!(r.table, b"-");
        assert!(!r.is_internal());
        assert!(r.marked());
        assert_eq!(r.timestamp(), Some(datetime!(2026-11-20 10:00:01 UTC)));
        assert_eq!(
            r.ts().unwrap().secs,
            datetime!(2026-11-20 10:00:01 UTC).unix_timestamp()
        );
        assert_eq!(classify_appgw(&r), Some(PrematureClose));
        assert!(classed_by_error_info(&r));
    }

    #[test]
    fn names_inside_properties_and_string_numbers() {
        let l = r#"{"time":"2026-11-20T10:00:02Z","category":"ApplicationGatewayAccessLog","properties":{"listenerName":"l2","ruleName":"r2","backendPoolName":"pool-b","backendSettingName":"s2","clientIP":"198.51.100.1","httpStatus":"502","serverStatus":"502","serverRouted":"10.0.1.5:80","error_info":"","timeTaken":"0.250"}}"#;
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert_eq!(r.listener_name, b"l2");
        assert_eq!(r.rule_name, b"r2");
        assert_eq!(r.backend_pool_name, b"pool-b");
        assert_eq!(r.backend_setting_name, b"s2");
        assert_eq!(r.http_status(), 502);
        assert_eq!(r.server_status(), Some(502));
        assert_eq!(r.error_info(), None);
        assert_eq!(r.time_taken(), Some(0.25));
        assert_eq!(classify_appgw(&r), Some(Status502FromUpstream));
        assert!(!classed_by_error_info(&r));
        let no_error = l.replace(r#""error_info":"""#, r#""error_info":"ERRORINFO_NO_ERROR""#);
        let r = parse_appgw_line(no_error.as_bytes()).unwrap();
        assert_eq!(r.error_info, b"ERRORINFO_NO_ERROR");
        assert_eq!(r.error_info(), None);
    }

    #[test]
    fn flat_resource_specific_rows() {
        let l = flat("502", r#""502""#, r#""10.0.1.5:80""#, r#""""#);
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert_eq!(r.server_status(), Some(502));
        assert_eq!(r.server_routed(), Some(&b"10.0.1.5:80"[..]));
        assert_eq!(r.error_info(), None);
        assert_eq!(r.backend_pool_name, b"pool-a");
        assert_eq!(r.backend_setting_name, b"s");
        assert_eq!(r.listener_name, b"l");
        assert_eq!(r.rule_name, b"r");
        assert_eq!(r.request_uri, b"/");
        assert_eq!(r.client_ip, b"203.0.113.9");
        assert_eq!(r.table, b"AGWAccessLogs");
        assert_eq!(r.time_taken(), Some(0.2));
        assert_eq!(
            r.timestamp(),
            Some(datetime!(2026-11-20 10:00:01 UTC)),
            "seven-digit fraction"
        );
        assert_eq!(classify_appgw(&r), Some(Status502FromUpstream));

        // camelCase of the same columns, and odd casing
        let l = r#"{"timeGenerated":"2026-11-20T10:00:03Z","httpStatus":504,"serverStatus":null,"SERVERROUTED":"10.0.1.4:443","errorInfo":"ERRORINFO_UPSTREAM_TIMED_OUT","clientIp":"203.0.113.9"}"#;
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert_eq!(r.http_status(), 504);
        assert_eq!(r.server_status, b"-");
        assert_eq!(r.server_routed(), Some(&b"10.0.1.4:443"[..]));
        assert_eq!(r.error_info(), Some(ERRORINFO_UPSTREAM_TIMED_OUT));
        assert_eq!(r.timestamp(), Some(datetime!(2026-11-20 10:00:03 UTC)));
        assert_eq!(classify_appgw(&r), Some(ReadTimeout));
    }

    #[test]
    fn every_mapping() {
        let routed = r#""10.0.1.4:443""#;
        let none = r#""-""#;
        let cases = [
            // error_info decides
            (
                diag("502", none, none, r#""ERRORINFO_UPSTREAM_NO_LIVE""#),
                Some(NoLiveUpstreams),
            ),
            (
                flat("502", r#""""#, r#""""#, r#""ERRORINFO_UPSTREAM_NO_LIVE""#),
                Some(NoLiveUpstreams),
            ),
            (
                diag(
                    "502",
                    none,
                    routed,
                    r#""ERRORINFO_UPSTREAM_CLOSED_CONNECTION""#,
                ),
                Some(PrematureClose),
            ),
            // a timeout is 504 on v2 and 502 on v1: read-timeout either way
            (
                diag("504", none, routed, r#""ERRORINFO_UPSTREAM_TIMED_OUT""#),
                Some(ReadTimeout),
            ),
            (
                diag("502", none, routed, r#""ERRORINFO_UPSTREAM_TIMED_OUT""#),
                Some(ReadTimeout),
            ),
            // other error_info values fall back to the status
            (
                diag("502", none, routed, r#""ERRORINFO_NO_HEALTHY_BACKEND""#),
                Some(Status502),
            ),
            (
                diag("500", none, routed, r#""ERRORINFO_SOMETHING_NEW""#),
                Some(Status5xx),
            ),
            (
                diag("400", none, none, r#""ERRORINFO_INVALID_METHOD""#),
                None,
            ),
            (
                diag("499", none, routed, r#""ERRORINFO_CLIENT_CLOSED_REQUEST""#),
                Some(Status499),
            ),
            // then the status, and serverStatus for a 502
            (
                diag("502", "502", routed, r#""-""#),
                Some(Status502FromUpstream),
            ),
            (
                diag("502", "502", routed, r#""ERRORINFO_NO_ERROR""#),
                Some(Status502FromUpstream),
            ),
            (
                diag("502", r#""502""#, routed, "null"),
                Some(Status502FromUpstream),
            ),
            (diag("502", none, routed, r#""-""#), Some(Status502)),
            (diag("502", r#""""#, routed, r#""""#), Some(Status502)),
            (diag("502", "null", routed, r#""""#), Some(Status502)),
            (diag("502", r#""200""#, routed, r#""""#), Some(Status502)),
            (diag("504", none, routed, r#""""#), Some(Status504)),
            (diag("499", none, routed, r#""""#), Some(Status499)),
            (diag("503", none, none, r#""""#), Some(Status5xx)),
            (flat("500", "500", routed, r#""""#), Some(Status5xx)),
            (diag("200", "200", routed, r#""""#), None),
            (flat("404", r#""404""#, routed, r#""""#), None),
        ];
        for (l, want) in cases {
            assert_eq!(class_of(&l), want, "{l}");
        }
    }

    #[test]
    fn internal_requests_are_not_classified() {
        let l = diag("502", "502", r#""10.0.1.5:80""#, r#""""#).replace("203.0.113.9", "127.0.0.1");
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert!(r.is_internal());
        assert_eq!(classify_appgw(&r), None);
        let l = flat("502", "502", r#""10.0.1.5:80""#, r#""""#).replace("203.0.113.9", "127.0.0.1");
        assert_eq!(class_of(&l), None);
    }

    #[test]
    fn first_non_null_value_wins() {
        let l = r#"{"HttpStatus":null,"properties":{"httpStatus":502,"serverRouted":"10.0.1.4:443","httpStatus":200},"ServerRouted":"10.9.9.9:1"}"#;
        let r = parse_appgw_line(l.as_bytes()).unwrap();
        assert_eq!(r.http_status(), 502);
        assert_eq!(r.server_routed(), Some(&b"10.0.1.4:443"[..]));
        assert_eq!(r.time, b"-");
        assert_eq!(r.timestamp(), None);
        assert_eq!(classify_appgw(&r), Some(Status502));
    }

    #[test]
    fn properties_that_are_not_an_object() {
        for props in [
            r#""{\"httpStatus\":502}""#,
            "[1,{\"a\":2}]",
            "null",
            "true",
            "-1.5",
        ] {
            let l = format!(r#"{{"HttpStatus":502,"properties":{props},"ServerRouted":"-"}}"#);
            let r = parse_appgw_line(l.as_bytes()).unwrap_or_else(|| panic!("{l}"));
            assert_eq!(classify_appgw(&r), Some(Status502), "{l}");
        }
        // a nested `properties` inside `properties` is not read
        let l = r#"{"properties":{"properties":{"httpStatus":502}}}"#;
        assert!(parse_appgw_line(l.as_bytes()).is_none());
    }

    #[test]
    fn detection_markers() {
        let marked = |l: &str| is_marked_record(l.as_bytes());
        assert!(marked(&diag("200", "200", r#""10.0.1.4:443""#, r#""""#)));
        assert!(marked(&flat("200", "200", r#""10.0.1.4:443""#, r#""""#)));
        assert!(marked(r#"{"httpstatus":200,"serverrouted":"-"}"#));
        assert!(marked(r#"{"HttpStatus":200,"ServerRouted":null}"#));
        assert!(marked(
            r#"{"category":"ApplicationGatewayAccessLog","properties":{"httpStatus":200}}"#
        ));
        assert!(marked(
            r#"{"operationName":"ApplicationGatewayAccess","properties":{"httpStatus":200}}"#
        ));
        // a status alone is not enough, and other categories are not access logs
        assert!(!marked(r#"{"HttpStatus":502}"#));
        assert!(!marked(
            r#"{"category":"ApplicationGatewayFirewallLog","properties":{"httpStatus":403}}"#
        ));
        // ALB JSON records are not AppGW records
        assert!(!marked(
            r#"{"time":"2026-11-20T10:15:02Z","elb_status_code":502,"target_status_code":"-"}"#
        ));
        // a marked record without a status is not a record
        assert!(!marked(
            r#"{"category":"ApplicationGatewayAccessLog","properties":{}}"#
        ));
    }

    #[test]
    fn malformed_lines_are_none() {
        let good = diag(
            "502",
            r#""-""#,
            r#""10.0.1.4:443""#,
            r#""ERRORINFO_UPSTREAM_CLOSED_CONNECTION""#,
        );
        let combined = "127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"";
        for l in [
            "",
            " ",
            "{",
            "   {",
            "}",
            "[502]",
            "502",
            "\"x\"",
            "{}",
            "not json at all",
            combined,
            r#"{"HttpStatus":"5xx"}"#,
            r#"{"HttpStatus":5020}"#,
            r#"{"HttpStatus":0}"#,
            r#"{"HttpStatus":502.0}"#,
            r#"{"HttpStatus":502} trailing"#,
            r#"{"HttpStatus":502,}"#,
            r#"{"HttpStatus":502"#,
        ] {
            assert!(parse_appgw_line(l.as_bytes()).is_none(), "{l}");
        }
        assert!(parse_appgw_line(b"\x00\x01\x02\xff\xfe").is_none());
        // a bad time is kept as an undated record
        let bad_time = good.replace("2026-11-20T10", "2026-13-20T10");
        let r = parse_appgw_line(bad_time.as_bytes()).unwrap();
        assert_eq!(r.timestamp(), None);
        // leading whitespace and a trailing CR are fine
        assert!(parse_appgw_line(format!(" \t{good}\r").as_bytes()).is_some());
        // every prefix of a good line either parses or not, without panicking
        for n in 0..good.len() {
            let _ = parse_appgw_line(&good.as_bytes()[..n]).map(|r| classify_appgw(&r));
        }
        // deep nesting is refused, not a stack overflow
        let deep = format!(
            "{{\"properties\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_appgw_line(deep.as_bytes()).is_none());
    }
}
