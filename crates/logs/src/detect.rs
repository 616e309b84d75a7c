//! Dialect detection: is a head of bytes an nginx error.log, or an access log in which format?

use crate::nginx_access::{AccessFormat, TimeCache, Walk};
use crate::nginx_error::parse_error_line;
use std::fmt;
use std::str::FromStr;

/// What the user asked for with `--format auto|nginx-error|nginx-access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Sniff the head of the log.
    #[default]
    Auto,
    /// An nginx error.log.
    NginxError,
    /// An nginx access log (in one of the given formats, else `combined`).
    NginxAccess,
}

impl FormatChoice {
    /// The flag value: `auto`, `nginx-error` or `nginx-access`.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatChoice::Auto => "auto",
            FormatChoice::NginxError => "nginx-error",
            FormatChoice::NginxAccess => "nginx-access",
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
            other => Err(format!(
                "unknown log format `{other}` (expected auto, nginx-error or nginx-access)"
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
}

impl Dialect {
    /// The dialect's name in [`cloud502_model::LogSummary::dialect`]: `nginx-error` or `nginx-access`.
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::NginxError => "nginx-error",
            Dialect::NginxAccess(_) => "nginx-access",
        }
    }
}

/// Lines looked at when sniffing.
const SAMPLE_LINES: usize = 200;

/// Up to [`SAMPLE_LINES`] complete, non-empty lines of a head.
fn sample_lines(head: &[u8]) -> Vec<&[u8]> {
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

/// Sniff the first bytes of a log: which dialect? For access logs, try the candidate formats in
/// order (then `combined`) and pick the first that parses most (more than half) of the sample
/// lines; when none fits exactly, the first whose fields fit with trailing extras (a format that
/// extends `combined`, say) is taken.
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
    detect_lines(&lines, access_formats).map(Dialect::NginxAccess)
}

/// Which of the candidate access formats (then `combined`) fits the head.
pub(crate) fn detect_access(head: &[u8], access_formats: &[AccessFormat]) -> Option<AccessFormat> {
    detect_lines(&sample_lines(head), access_formats)
}

fn detect_lines(lines: &[&[u8]], access_formats: &[AccessFormat]) -> Option<AccessFormat> {
    if lines.is_empty() {
        return None;
    }
    let combined = AccessFormat::combined();
    for how in [Walk::Strict, Walk::Full] {
        for f in access_formats.iter().chain(std::iter::once(&combined)) {
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
            Dialect::NginxError => panic!("wrong dialect"),
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
        ] {
            assert_eq!(c.as_str().parse::<FormatChoice>().unwrap(), c);
        }
        assert!("json".parse::<FormatChoice>().is_err());
        assert_eq!(FormatChoice::default(), FormatChoice::Auto);
    }
}
