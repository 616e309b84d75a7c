//! How a provider declares its options once, for both front ends: one struct deriving
//! `clap::Args` (the subcommand's flags, its doc comments the `--help` text) and
//! `serde::Deserialize` (the audit file's `[[subject]]` keys, its field names the keys), turned
//! into the provider's options by [`ProviderArgs::into_options`] with what the front ends share
//! ([`Common`]). Also the value parsers and the log window those declarations use.

use crate::{Provider, ProviderError, limits};
use cloud502_model::{Layer, ProviderKind};
use std::path::PathBuf;
use std::time::Duration;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A provider's options, declared once: the subcommand `cloud502 NAME` parses them from flags,
/// `cloud502 audit` from a `[[subject]]` with `provider = "NAME"` (and the `[NAME]` defaults).
///
/// Where a flag and a key differ (`--no-metrics` and `metrics = false`, repeatable `--origin` and
/// the list `origins`), both are attributes of the same field. Keys every audit subject takes
/// (`since`, `timeout`) are `#[serde(skip)]` fields, filled from [`Common`] instead.
pub trait ProviderArgs:
    clap::Args + serde::de::DeserializeOwned + Clone + Send + Sync + std::fmt::Debug + 'static
{
    /// The subcommand, and the audit file's `provider = "..."` and `[...]` defaults table.
    const NAME: &'static str;
    /// The kind of provider it builds.
    const KIND: ProviderKind;
    /// The layer it inspects, in a `cloud502 trace` chain ([`Layer::Unknown`]: none of its own,
    /// as the probe).
    const LAYER: Layer = Layer::Unknown;
    /// Whether it calls a rate-limited API, so that the audit file's `[budget]` takes a `NAME`
    /// key capping its requests.
    const BUDGETED: bool = false;
    /// The provider's options.
    type Options: Clone + Send + Sync + std::fmt::Debug + 'static;

    /// The options, with what the command line or the audit file gives every provider. Checks
    /// what neither clap nor serde can (one of two keys); the provider checks the rest.
    fn into_options(self, common: &Common) -> Result<Self::Options, ProviderError>;

    /// The provider, with its options checked.
    fn provider(options: Self::Options) -> Result<Box<dyn Provider>, ProviderError>;

    /// The backstop on a whole command-line run (each call has its own timeout inside it).
    fn deadline(options: &Self::Options) -> Duration;
}

/// A parsed declaration of any provider, ready to become that provider: what the CLI's provider
/// subcommands hand over without knowing which provider they hold.
pub trait Declaration: Send + Sync + std::fmt::Debug {
    /// The options resolved with `common`, checked, and the provider with its run deadline.
    fn build(
        self: Box<Self>,
        common: &Common,
    ) -> Result<(Box<dyn Provider>, Duration), ProviderError>;
}

impl<A: ProviderArgs> Declaration for A {
    fn build(
        self: Box<Self>,
        common: &Common,
    ) -> Result<(Box<dyn Provider>, Duration), ProviderError> {
        let options = (*self).into_options(common)?;
        let deadline = A::deadline(&options);
        Ok((A::provider(options)?, deadline))
    }
}

/// What the front ends give every provider besides its own declaration.
#[derive(Debug, Clone)]
pub struct Common {
    /// The audit's `since` (the subject's, else `[audit]`'s); `None` on the command line, where
    /// each subcommand's own `--since` holds it.
    pub since: Option<Duration>,
    /// The audit's `timeout`, over each provider's own default; `None` on the command line.
    pub timeout: Option<Duration>,
    /// Relative paths resolve against this (the audit file's directory); `None`: as given.
    pub base: Option<PathBuf>,
    /// This machine's UTC offset, read at startup (nginx writes error.log in local time).
    pub local_offset: UtcOffset,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            since: None,
            timeout: None,
            base: None,
            local_offset: UtcOffset::UTC,
        }
    }
}

impl Common {
    /// `path` against [`Common::base`], unless it is absolute.
    pub fn path(&self, path: PathBuf) -> PathBuf {
        match &self.base {
            Some(base) if !path.is_absolute() => base.join(path),
            _ => path,
        }
    }

    /// Every path of `paths` against [`Common::base`].
    pub fn paths(&self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths.into_iter().map(|p| self.path(p)).collect()
    }
}

/// A problem [`ProviderArgs::into_options`] finds in the options themselves (exit code 2).
pub fn problem(message: impl Into<String>) -> ProviderError {
    ProviderError::Config {
        message: message.into(),
        hint: None,
    }
}

/// `true`, for `#[serde(default = "...")]` on the fields of `--no-...` flags.
pub fn yes() -> bool {
    true
}

/// A duration flag: bare seconds (`3`) or with units (`250ms`, `1m`), more than zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| e.to_string())?
    } else {
        humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (e.g. 10s, 500ms, 1m)"))?
    };
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// A `--timeout`-like duration: above [`limits::MAX_TIMEOUT`] it is a usage error, so that no
/// deadline computed from it (`timeout * 8`, `now + timeout`) can overflow.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    limits::check_duration("", d, limits::MAX_TIMEOUT)
}

/// A `--since` look-back: at most [`limits::MAX_SINCE`].
pub fn parse_since(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    limits::check_duration("", d, limits::MAX_SINCE)
}

/// A duration key of the audit file (`what` names it), more than zero and at most `max`.
pub fn key_duration(what: &str, text: &str, max: Duration) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d > max => Err(limits::check_duration(what, d, max)
            .err()
            .unwrap_or_default()),
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("{what} must be more than 0")),
        Err(e) => Err(format!(
            "{what} `{text}` is not a duration like 30s, 2m or 1h ({e})"
        )),
    }
}

/// `--since` and `--log-offset`: the time window of log lines, by the logs' own timestamps
/// (`cloud502 nginx` and `cloud502 logs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WindowArgs {
    /// Only count log lines from this recent duration (e.g. 15m, 2h, 1d) or since this time
    /// (2026-05-01T12:00:00Z, "2026-05-01 12:00:00"), by the logs' own timestamps.
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,

    /// Offset of error.log timestamps, which nginx writes in local time without one
    /// (e.g. +02:00, -05:00, UTC) [default: this machine's offset].
    #[arg(long, value_name = "OFFSET")]
    pub log_offset: Option<String>,
}

impl WindowArgs {
    /// `(since, offset of error.log timestamps)`; `local` is this machine's offset.
    pub fn parse(&self, local: UtcOffset) -> Result<(Option<OffsetDateTime>, UtcOffset), String> {
        let offset = match &self.log_offset {
            None => local,
            Some(s) => parse_offset(s)?,
        };
        let since = match &self.since {
            None => None,
            Some(s) => Some(parse_window_start(s, offset, OffsetDateTime::now_utc())?),
        };
        Ok((since, offset))
    }
}

fn parse_offset(s: &str) -> Result<UtcOffset, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(UtcOffset::UTC);
    }
    let bad = || format!("--log-offset `{s}` is not an offset like +02:00, -0500 or UTC");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1i8, &s[1..]),
        Some(b'-') => (-1i8, &s[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 && digits.len() != 2 {
        return Err(bad());
    }
    let h: i8 = digits[..2].parse().map_err(|_| bad())?;
    let m: i8 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| bad())?
    } else {
        0
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// A duration back from `now`, or an absolute time (RFC 3339, or `YYYY-MM-DD HH:MM:SS` in the log
/// offset).
fn parse_window_start(
    s: &str,
    offset: UtcOffset,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let too_far = || {
            let max = limits::human(limits::MAX_SINCE);
            format!(
                "--since {s} is above the limit of {max}: give {max} or less, or a time like \
                 2026-05-01T12:00:00Z"
            )
        };
        if d > limits::MAX_SINCE {
            return Err(too_far());
        }
        // Checked, so that no look-back can panic on the calendar's range.
        let d = time::Duration::try_from(d).map_err(|_| too_far())?;
        return now.checked_sub(d).ok_or_else(too_far);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let formats = [
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        time::macros::format_description!("[year]/[month]/[day] [hour]:[minute]:[second]"),
    ];
    for f in formats {
        if let Ok(t) = PrimitiveDateTime::parse(s, &f) {
            return Ok(t.assume_offset(offset));
        }
    }
    Err(format!(
        "--since `{s}` is neither a duration (15m, 2h, 1d) nor a time (2026-05-01T12:00:00Z, \
         \"2026-05-01 12:00:00\")"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn huge_durations_are_refused_with_the_limit() {
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        let e = parse_timeout("18446744073709551615s").unwrap_err();
        assert!(e.contains("above the limit of 1h"), "{e}");
        assert!(parse_since("400d").is_ok());
        let e = parse_since("9999999999h").unwrap_err();
        assert!(e.contains("above the limit of 400d"), "{e}");
    }

    #[test]
    fn since_accepts_durations_and_times() {
        let now = datetime!(2026-05-01 12:00:00 UTC);
        assert_eq!(
            parse_window_start("2h", UtcOffset::UTC, now).unwrap(),
            datetime!(2026-05-01 10:00:00 UTC)
        );
        assert_eq!(
            parse_window_start("2026-05-01T11:00:00+02:00", UtcOffset::UTC, now).unwrap(),
            datetime!(2026-05-01 09:00:00 UTC)
        );
        let plus2 = UtcOffset::from_hms(2, 0, 0).unwrap();
        assert_eq!(
            parse_window_start("2026-05-01 11:00:00", plus2, now).unwrap(),
            datetime!(2026-05-01 09:00:00 UTC)
        );
        assert!(parse_window_start("yesterday-ish", UtcOffset::UTC, now).is_err());
        assert!(parse_window_start("400d", UtcOffset::UTC, now).is_ok());
        let e = parse_window_start("9999999999h", UtcOffset::UTC, now).unwrap_err();
        assert!(
            e.starts_with("--since 9999999999h is above the limit of 400d"),
            "{e}"
        );
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("UTC").unwrap(), UtcOffset::UTC);
        assert_eq!(
            parse_offset("+02:00").unwrap(),
            UtcOffset::from_hms(2, 0, 0).unwrap()
        );
        assert_eq!(
            parse_offset("-0530").unwrap(),
            UtcOffset::from_hms(-5, -30, 0).unwrap()
        );
        assert!(parse_offset("2").is_err());
    }

    #[test]
    fn relative_paths_resolve_against_the_base() {
        let common = Common {
            base: Some(PathBuf::from("/etc/cloud502")),
            ..Common::default()
        };
        assert_eq!(
            common.path("ca.pem".into()),
            PathBuf::from("/etc/cloud502/ca.pem")
        );
        assert_eq!(common.path("/ca.pem".into()), PathBuf::from("/ca.pem"));
        assert_eq!(
            Common::default().path("ca.pem".into()),
            PathBuf::from("ca.pem")
        );
    }
}
