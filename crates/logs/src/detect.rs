//! Dialect detection: is a head of bytes an nginx error.log, an AWS ALB access log, an Azure
//! Application Gateway access log, a Cloudflare Logpush `http_requests` log, or an nginx access log
//! in which format?

use crate::alb::parse_alb_line;
use crate::appgw::is_marked_record;
use crate::cloudflare;
use crate::mixed::klog_line;
use crate::nginx_access::{AccessFormat, TimeCache, Walk};
use crate::nginx_error::parse_error_line;
use std::fmt;
use std::str::FromStr;

/// What the user asked for with
/// `--format auto|nginx-error|nginx-access|alb-access|appgw-access|cloudflare-http-requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Sniff the head of the log.
    #[default]
    Auto,
    /// An nginx error.log.
    NginxError,
    /// An nginx access log (in one of the given formats, else `combined`).
    NginxAccess,
    /// An AWS ALB access log (S3 lines or JSON records).
    AlbAccess,
    /// An Azure Application Gateway v2 access log (JSON records).
    AppgwAccess,
    /// A Cloudflare Logpush `http_requests` log (JSON records).
    CloudflareHttpRequests,
}

impl FormatChoice {
    /// The flag value: `auto`, `nginx-error`, `nginx-access`, `alb-access`, `appgw-access` or
    /// `cloudflare-http-requests`.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatChoice::Auto => "auto",
            FormatChoice::NginxError => "nginx-error",
            FormatChoice::NginxAccess => "nginx-access",
            FormatChoice::AlbAccess => "alb-access",
            FormatChoice::AppgwAccess => "appgw-access",
            FormatChoice::CloudflareHttpRequests => "cloudflare-http-requests",
        }
    }
}

impl fmt::Display for FormatChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FormatChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(FormatChoice::Auto),
            "nginx-error" => Ok(FormatChoice::NginxError),
            "nginx-access" => Ok(FormatChoice::NginxAccess),
            "alb-access" => Ok(FormatChoice::AlbAccess),
            "appgw-access" => Ok(FormatChoice::AppgwAccess),
            "cloudflare-http-requests" => Ok(FormatChoice::CloudflareHttpRequests),
            other => Err(format!(
                "unknown log format `{other}` (expected auto, nginx-error, nginx-access, alb-access, appgw-access or cloudflare-http-requests)"
            )),
        }
    }
}

/// A log dialect this crate can summarize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// nginx error.log.
    NginxError,
    /// nginx access log in the given `log_format`.
    NginxAccess(AccessFormat),
    /// AWS ALB access log (KB 1.3).
    AlbAccess,
    /// Azure Application Gateway v2 access log (KB 2.3).
    AppgwAccess,
    /// Cloudflare Logpush `http_requests` log (KB 3.2).
    CloudflareHttpRequests,
    /// Cloudflare Logpush `http_requests` log in CSV, its columns as a header line or the job's
    /// `field_names` (`--logpush-fields`) name them; JSON lines in it are still read.
    CloudflareCsv(cloudflare::CsvLayout),
}

impl Dialect {
    /// The dialect's name in [`cloud502_model::LogSummary::dialect`]: `nginx-error`,
    /// `nginx-access`, `alb-access`, `appgw-access` or `cloudflare-http-requests`.
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::NginxError => "nginx-error",
            Dialect::NginxAccess(_) => "nginx-access",
            Dialect::AlbAccess => "alb-access",
            Dialect::AppgwAccess => "appgw-access",
            Dialect::CloudflareHttpRequests | Dialect::CloudflareCsv(_) => {
                "cloudflare-http-requests"
            }
        }
    }
}

/// Lines looked at when sniffing.
const SAMPLE_LINES: usize = 200;

/// Up to [`SAMPLE_LINES`] complete, non-empty lines of a head.
pub(crate) fn sample_lines(head: &[u8]) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    // the last piece is cut short unless the head ends with a newline (then it is empty)
    if parts.len() > 1 {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(SAMPLE_LINES)
        .collect()
}

/// Sniff the first bytes of a log: which dialect? More than half of the sample lines must fit:
/// nginx error.log lines are tried first, then AWS ALB access lines (S3 or JSON form). Then Azure
/// Application Gateway access records: JSON objects with an `httpStatus` that say what they are
/// (`category` `ApplicationGatewayAccessLog`, `operationName` `ApplicationGatewayAccess`, `Type`
/// `AGWAccessLogs`, or a `serverRouted` key; keys in any case): it is enough that the first
/// sample line is one (or more than half are). Then Cloudflare Logpush `http_requests` records
/// (JSON objects with an `EdgeResponseStatus` or a `RayID`), likewise, or a CSV Logpush file
/// whose first line is a header of Logpush field names naming one of those. For nginx access logs, try the candidate formats in order (then `combined`) and pick the first that
/// parses most (more than half) of the sample lines; when none fits exactly, the first whose
/// fields fit with trailing extras (a format that extends `combined`, say) is taken.
pub fn detect(head: &[u8], access_formats: &[AccessFormat]) -> Option<Dialect> {
    let lines = sample_lines(head);
    if lines.is_empty() {
        return None;
    }
    let errors = lines
        .iter()
        .filter(|l| parse_error_line(l).is_some())
        .count();
    if errors * 2 > lines.len() {
        return Some(Dialect::NginxError);
    }
    let alb = lines.iter().filter(|l| parse_alb_line(l).is_some()).count();
    if alb * 2 > lines.len() {
        return Some(Dialect::AlbAccess);
    }
    if is_marked_record(lines[0])
        || lines.iter().filter(|l| is_marked_record(l)).count() * 2 > lines.len()
    {
        return Some(Dialect::AppgwAccess);
    }
    if cloudflare::is_record(lines[0])
        || lines.iter().filter(|l| cloudflare::is_record(l)).count() * 2 > lines.len()
    {
        return Some(Dialect::CloudflareHttpRequests);
    }
    if let Some(layout) = cloudflare::CsvLayout::from_header(lines[0]) {
        return Some(Dialect::CloudflareCsv(layout));
    }
    detect_lines(&lines, access_formats).map(Dialect::NginxAccess)
}

/// When the head interleaves nginx error.log lines with access-log lines (a `docker logs` stream:
/// error.log is the container's stderr, access.log its stdout), the access format its access lines
/// are in. Both kinds must be there, and together with ingress-nginx controller (`klog`) lines they
/// must be more than half of the sample.
pub(crate) fn detect_mixed(head: &[u8], access_formats: &[AccessFormat]) -> Option<AccessFormat> {
    let lines = sample_lines(head);
    let (errors, rest): (Vec<&[u8]>, Vec<&[u8]>) =
        lines.iter().partition(|l| parse_error_line(l).is_some());
    let rest: Vec<&[u8]> = rest.into_iter().filter(|l| !klog_line(l)).collect();
    let klog = lines.len() - errors.len() - rest.len();
    if errors.is_empty() || rest.is_empty() {
        return None;
    }
    let known = known_formats(&rest);
    for how in [Walk::Strict, Walk::Full] {
        for f in access_formats.iter().chain(&known).cloned() {
            let mut times = TimeCache::default();
            let access = rest
                .iter()
                .filter(|l| f.walk(l, how, &mut times).is_some())
                .count();
            if access > 0 && (errors.len() + klog + access) * 2 > lines.len() {
                return Some(f);
            }
        }
    }
    None
}

/// The formats tried after the user's: the built-in ones, a JSON format inferred from the first
/// sample line that is a JSON object with a status (an `escape=json` `log_format`), then
/// `combined`.
fn known_formats(lines: &[&[u8]]) -> Vec<AccessFormat> {
    let mut known = AccessFormat::builtin();
    if let Some(json) = lines
        .iter()
        .filter(|l| l.first() == Some(&b'{'))
        .find_map(|l| AccessFormat::infer_json(l))
    {
        known.push(json);
    }
    known.push(AccessFormat::combined());
    known
}

/// Which of the candidate access formats (then `combined`) fits the head.
pub(crate) fn detect_access(head: &[u8], access_formats: &[AccessFormat]) -> Option<AccessFormat> {
    detect_lines(&sample_lines(head), access_formats)
}

fn detect_lines(lines: &[&[u8]], access_formats: &[AccessFormat]) -> Option<AccessFormat> {
    if lines.is_empty() {
        return None;
    }
    let known = known_formats(lines);
    for how in [Walk::Strict, Walk::Full] {
        for f in access_formats.iter().chain(&known) {
            let mut times = TimeCache::default();
            let ok = lines
                .iter()
                .filter(|l| f.walk(l, how, &mut times).is_some())
                .count();
            if ok * 2 > lines.len() {
                return Some(f.clone());
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const ERR: &str = "2026/05/01 12:00:00 [error] 1234#1234: *56 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8080/\", host: \"example.com\"\n2026/05/01 12:00:01 [notice] 1#1: signal process started\n";
    const COMBINED: &str = "127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"curl/8.5.0\"\n127.0.0.1 - - [01/May/2026:12:00:01 +0000] \"GET /x HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"\n";

    #[test]
    fn error_log() {
        assert_eq!(detect(ERR.as_bytes(), &[]), Some(Dialect::NginxError));
        assert_eq!(Dialect::NginxError.name(), "nginx-error");
    }

    #[test]
    fn combined_access_log() {
        let d = detect(COMBINED.as_bytes(), &[]).unwrap();
        assert_eq!(d.name(), "nginx-access");
        match d {
            Dialect::NginxAccess(f) => assert_eq!(f.name(), "combined"),
            other => panic!("wrong dialect {other:?}"),
        }
    }

    #[test]
    fn candidates_in_order_then_combined() {
        let timed = AccessFormat::parse(
            "timed",
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" uct=$upstream_connect_time",
        )
        .unwrap();
        let other = AccessFormat::parse("other", "$time_iso8601 $status").unwrap();
        let head = "10.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 1 \"-\" \"ua\" uct=-\n".repeat(3);
        let pick = |fs: &[AccessFormat]| match detect(head.as_bytes(), fs) {
            Some(Dialect::NginxAccess(f)) => f.name().to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(pick(&[other.clone(), timed.clone()]), "timed");
        // without the right candidate, combined still fits leniently
        assert_eq!(pick(&[other]), "combined");
        // combined lines are not taken for the custom format
        match detect(COMBINED.as_bytes(), &[timed]) {
            Some(Dialect::NginxAccess(f)) => assert_eq!(f.name(), "combined"),
            other => panic!("{other:?}"),
        }
    }

    const ALB: &str = "\
http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337364-23a8c76965a2ef7629b185e3\" \"-\" \"-\" 0 2018-11-30T22:22:48.364000Z \"forward\" \"-\" \"LambdaInvalidResponse\" \"-\" \"-\" \"-\" \"-\"
https 2018-11-30T22:23:01.000001Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2818 10.0.0.1:80 0.000 0.002 0.000 200 200 34 366 \"GET https://www.example.com:443/ HTTP/1.1\" \"curl/7.46.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337364-23a8c76965a2ef7629b185e4\" \"www.example.com\" \"-\" 1 2018-11-30T22:23:01.000000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"
not an ALB line
";

    #[test]
    fn alb_access_log() {
        assert_eq!(detect(ALB.as_bytes(), &[]), Some(Dialect::AlbAccess));
        assert_eq!(Dialect::AlbAccess.name(), "alb-access");
        // JSON records
        let json = "{\"time\":\"2026-11-20T10:15:02Z\",\"elb_status_code\":502,\"target_status_code\":\"-\"}\n".repeat(3);
        assert_eq!(detect(json.as_bytes(), &[]), Some(Dialect::AlbAccess));
        // a custom nginx format is still tried after ALB
        let f = AccessFormat::parse("j", "{\"s\":$status}").unwrap();
        match detect(b"{\"s\":502}\n{\"s\":200}\n", &[f]) {
            Some(Dialect::NginxAccess(f)) => assert_eq!(f.name(), "j"),
            other => panic!("{other:?}"),
        }
        // one ALB line among nginx lines does not make it ALB
        let mixed = format!("{COMBINED}{COMBINED}{}", ALB.lines().next().unwrap());
        assert!(matches!(
            detect(format!("{mixed}\n").as_bytes(), &[]),
            Some(Dialect::NginxAccess(_))
        ));
        let mixed = format!("{ERR}{}\n", ALB.lines().next().unwrap());
        assert_eq!(detect(mixed.as_bytes(), &[]), Some(Dialect::NginxError));
    }

    #[test]
    fn appgw_access_log() {
        let diag = r#"{"time":"2026-11-20T10:00:01.123Z","resourceId":"/SUBSCRIPTIONS/X/APPLICATIONGATEWAYS/GW1","operationName":"ApplicationGatewayAccess","category":"ApplicationGatewayAccessLog","properties":{"clientIP":"203.0.113.9","httpStatus":502,"serverRouted":"10.0.1.4:443","serverStatus":"-","error_info":"ERRORINFO_UPSTREAM_CLOSED_CONNECTION"}}"#;
        let flat = r#"{"TimeGenerated":"2026-11-20T10:00:01.123Z","HttpStatus":502,"ServerStatus":"502","ServerRouted":"10.0.1.5:80","ErrorInfo":"","ClientIp":"203.0.113.9"}"#;
        assert_eq!(Dialect::AppgwAccess.name(), "appgw-access");
        for head in [
            format!("{diag}\n"),
            format!("{flat}\n"),
            format!("{diag}\n{flat}\n"),
            // camelCase, no category: the keys say it
            r#"{"timeGenerated":"2026-11-20T10:00:01Z","httpStatus":"200","serverRouted":"-"}"#
                .to_string()
                + "\n",
            // the first line decides even when later ones are junk
            format!("{diag}\njunk\njunk\njunk\n"),
            // or most lines, when the first is junk
            format!("junk\n{flat}\n{flat}\n"),
        ] {
            assert_eq!(
                detect(head.as_bytes(), &[]),
                Some(Dialect::AppgwAccess),
                "{head}"
            );
        }
        // ALB JSON records stay ALB, nginx lines stay nginx
        let alb_json =
            r#"{"time":"2026-11-20T10:15:02Z","elb_status_code":502,"target_status_code":"-"}"#;
        let alb_json = format!("{alb_json}\n").repeat(3);
        assert_eq!(detect(alb_json.as_bytes(), &[]), Some(Dialect::AlbAccess));
        assert_eq!(detect(ALB.as_bytes(), &[]), Some(Dialect::AlbAccess));
        assert_eq!(detect(ERR.as_bytes(), &[]), Some(Dialect::NginxError));
        assert!(matches!(
            detect(COMBINED.as_bytes(), &[]),
            Some(Dialect::NginxAccess(_))
        ));
        let mixed = format!("{ERR}{diag}\n");
        assert_eq!(detect(mixed.as_bytes(), &[]), Some(Dialect::NginxError));
        // a custom nginx JSON format is not taken for AppGW
        let f = AccessFormat::parse("j", r#"{"status":$status}"#).unwrap();
        match detect(b"{\"status\":502}\n{\"status\":200}\n", &[f]) {
            Some(Dialect::NginxAccess(f)) => assert_eq!(f.name(), "j"),
            other => panic!("{other:?}"),
        }
        // a status without a marker is not enough; nor is a firewall log
        assert_eq!(detect(b"{\"HttpStatus\":502}\n", &[]), None);
        let waf = r#"{"category":"ApplicationGatewayFirewallLog","properties":{"httpStatus":403}}"#;
        assert_eq!(detect(format!("{waf}\n").as_bytes(), &[]), None);
    }

    #[test]
    fn cloudflare_http_requests_log() {
        let cf = r#"{"ClientRequestHost":"shop.example.com","ClientRequestPath":"/","EdgeColoCode":"SJC","EdgeResponseStatus":522,"EdgeStartTimestamp":"2026-11-20T10:00:01Z","OriginIP":"203.0.113.10","OriginResponseStatus":0,"RayID":"8e4f1c2a3b5d6e7f"}"#;
        let nano = r#"{"EdgeResponseStatus":200,"EdgeStartTimestamp":1795168801123456789,"OriginResponseStatus":200}"#;
        assert_eq!(
            Dialect::CloudflareHttpRequests.name(),
            "cloudflare-http-requests"
        );
        for head in [
            format!("{cf}\n"),
            format!("{nano}\n{cf}\n"),
            // a job logging few fields: the ray alone says it
            "{\"RayID\":\"8e4f1c2a3b5d6e7f\",\"ClientIP\":\"198.51.100.7\"}\n".to_string(),
            // the first line decides even when later ones are junk, or most lines do
            format!("{cf}\njunk\njunk\njunk\n"),
            format!("junk\n{nano}\n{cf}\n"),
        ] {
            assert_eq!(
                detect(head.as_bytes(), &[]),
                Some(Dialect::CloudflareHttpRequests),
                "{head}"
            );
        }
        // the other JSON dialects stay theirs
        let alb_json =
            r#"{"time":"2026-11-20T10:15:02Z","elb_status_code":502,"target_status_code":"-"}"#;
        assert_eq!(
            detect(format!("{alb_json}\n").repeat(3).as_bytes(), &[]),
            Some(Dialect::AlbAccess)
        );
        let appgw = r#"{"HttpStatus":502,"ServerRouted":"10.0.1.5:80"}"#;
        assert_eq!(
            detect(format!("{appgw}\n").as_bytes(), &[]),
            Some(Dialect::AppgwAccess)
        );
        let mixed = format!("{ERR}{cf}\n");
        assert_eq!(detect(mixed.as_bytes(), &[]), Some(Dialect::NginxError));
        // a custom nginx JSON format without those keys is not taken for Cloudflare
        let f = AccessFormat::parse("j", r#"{"status":$status}"#).unwrap();
        assert!(matches!(
            detect(b"{\"status\":502}\n", &[f]),
            Some(Dialect::NginxAccess(_))
        ));
        // one Cloudflare line after junk is not enough
        assert_eq!(detect(format!("junk\njunk\n{cf}\n").as_bytes(), &[]), None);
    }

    /// CSV headers as Logpush writes them when the job's `batch_prefix` is one (Cloudflare's
    /// "Log Output Options" page: `ClientIP,EdgeStartTimestamp,RayID`, and the TSV variant).
    #[test]
    fn a_csv_logpush_header_is_cloudflare() {
        for (head, delimiter) in [
            (
                "ClientIP,EdgeStartTimestamp,RayID\n\"89.163.242.206\",1506702504433000200,\"3a6050bcbe121a87\"\n",
                b',',
            ),
            (
                "ClientIP\tEdgeStartTimestamp\tRayID\n\"89.163.242.206\"\t1506702504433000200\t\"3a6050bcbe121a87\"\n",
                b'\t',
            ),
            ("EdgeResponseStatus,OriginResponseStatus\r\n502,0\r\n", b','),
        ] {
            let want = cloudflare::CsvLayout::from_names(
                &head
                    .lines()
                    .next()
                    .unwrap()
                    .trim()
                    .split(delimiter as char)
                    .collect::<Vec<_>>(),
                delimiter,
            )
            .unwrap();
            assert_eq!(
                detect(head.as_bytes(), &[]),
                Some(Dialect::CloudflareCsv(want)),
                "{head}"
            );
            assert_eq!(
                Dialect::CloudflareCsv(
                    cloudflare::CsvLayout::from_names(&["RayID"], b',').unwrap()
                )
                .name(),
                "cloudflare-http-requests"
            );
        }
        // a CSV of other names, or without a ray or edge status, is not
        for head in [
            "ClientIP,EdgeStartTimestamp\n\"89.163.242.206\",1506702504433000200\n",
            "name,status\nx,502\n",
            "\"ClientIP\",\"RayID\"\n",
        ] {
            assert_eq!(detect(head.as_bytes(), &[]), None, "{head}");
        }
    }

    #[test]
    fn junk_is_not_detected() {
        assert_eq!(detect(b"", &[]), None);
        assert_eq!(detect(b"hello world\nthis is not a log\n", &[]), None);
        assert_eq!(detect(&[0u8, 1, 2, 3, 0xff, b'\n', 9, 9], &[]), None);
        // a half-cut last line is not sampled
        let cut = &ERR.as_bytes()[..ERR.len() - 20];
        assert_eq!(detect(cut, &[]), Some(Dialect::NginxError));
    }

    #[test]
    fn format_choice_round_trip() {
        for c in [
            FormatChoice::Auto,
            FormatChoice::NginxError,
            FormatChoice::NginxAccess,
            FormatChoice::AlbAccess,
            FormatChoice::AppgwAccess,
            FormatChoice::CloudflareHttpRequests,
        ] {
            assert_eq!(c.as_str().parse::<FormatChoice>().unwrap(), c);
        }
        assert_eq!(
            FormatChoice::CloudflareHttpRequests.to_string(),
            "cloudflare-http-requests"
        );
        let e = "cloudflare".parse::<FormatChoice>().unwrap_err();
        assert!(e.contains("cloudflare-http-requests"), "{e}");
        assert_eq!(FormatChoice::AppgwAccess.to_string(), "appgw-access");
        let e = "appgw".parse::<FormatChoice>().unwrap_err();
        assert!(e.contains("appgw-access"), "{e}");
        assert!("json".parse::<FormatChoice>().is_err());
        let e = "alb".parse::<FormatChoice>().unwrap_err();
        assert!(e.contains("alb-access"), "{e}");
        assert_eq!(FormatChoice::AlbAccess.to_string(), "alb-access");
        assert_eq!(FormatChoice::default(), FormatChoice::Auto);
    }
}
