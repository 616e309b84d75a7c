//! `--since` and `--log-offset`: the time window of log lines, by the logs' own timestamps.

use crate::args::WindowArgs;
use cloud502::engine::limits::MAX_SINCE;
use std::sync::OnceLock;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Read this machine's UTC offset; must run before any thread starts.
pub fn init_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// This machine's UTC offset, as read at startup.
pub fn local_offset() -> UtcOffset {
    LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC)
}

/// `(since, offset of error.log timestamps)`.
pub fn parse(args: &WindowArgs) -> Result<(Option<OffsetDateTime>, UtcOffset), String> {
    let offset = match &args.log_offset {
        None => LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC),
        Some(s) => parse_offset(s)?,
    };
    let since = match &args.since {
        None => None,
        Some(s) => Some(parse_since(s, offset, OffsetDateTime::now_utc())?),
    };
    Ok((since, offset))
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
fn parse_since(s: &str, offset: UtcOffset, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let too_far = || {
            let max = cloud502::engine::limits::human(MAX_SINCE);
            format!(
                "--since {s} is above the limit of {max}: give {max} or less, or a time like \
                 2026-05-01T12:00:00Z"
            )
        };
        if d > MAX_SINCE {
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
    fn since_accepts_durations_and_times() {
        let now = datetime!(2026-05-01 12:00:00 UTC);
        assert_eq!(
            parse_since("2h", UtcOffset::UTC, now).unwrap(),
            datetime!(2026-05-01 10:00:00 UTC)
        );
        assert_eq!(
            parse_since("2026-05-01T11:00:00+02:00", UtcOffset::UTC, now).unwrap(),
            datetime!(2026-05-01 09:00:00 UTC)
        );
        let plus2 = UtcOffset::from_hms(2, 0, 0).unwrap();
        assert_eq!(
            parse_since("2026-05-01 11:00:00", plus2, now).unwrap(),
            datetime!(2026-05-01 09:00:00 UTC)
        );
        assert!(parse_since("yesterday-ish", UtcOffset::UTC, now).is_err());
        assert!(parse_since("400d", UtcOffset::UTC, now).is_ok());
        let e = parse_since("9999999999h", UtcOffset::UTC, now).unwrap_err();
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
}
