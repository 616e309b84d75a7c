//! Allocation-free timestamp parsing at fixed positions (nginx writes fixed-width times).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A whole-second instant plus the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ts {
    /// Seconds since the Unix epoch (UTC).
    pub secs: i64,
    /// The offset the log wrote the time in, seconds east of UTC.
    pub offset: i32,
}

impl Ts {
    /// RFC 3339 in the log's own offset.
    pub(crate) fn rfc3339(self) -> Option<String> {
        let offset = UtcOffset::from_whole_seconds(self.offset).ok()?;
        OffsetDateTime::from_unix_timestamp(self.secs)
            .ok()?
            .to_offset(offset)
            .format(&Rfc3339)
            .ok()
    }
}

/// Keeps the earliest and the latest of a stream of instants.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    pub first: Option<Ts>,
    pub last: Option<Ts>,
}

impl Span {
    #[inline]
    pub(crate) fn add(&mut self, ts: Ts) {
        match self.first {
            Some(f) if f.secs <= ts.secs => {}
            _ => self.first = Some(ts),
        }
        match self.last {
            Some(l) if l.secs >= ts.secs => {}
            _ => self.last = Some(ts),
        }
    }

    pub(crate) fn merge(&mut self, other: Span) {
        if let Some(f) = other.first {
            self.add(f);
        }
        if let Some(l) = other.last {
            self.add(l);
        }
    }
}

/// Days from 1970-01-01 to the civil date (proleptic Gregorian; H. Hinnant's algorithm).
#[inline]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[inline]
fn d2(b: &[u8], i: usize) -> Option<i64> {
    let (a, c) = (
        b.get(i)?.wrapping_sub(b'0'),
        b.get(i + 1)?.wrapping_sub(b'0'),
    );
    if a > 9 || c > 9 {
        return None;
    }
    Some(i64::from(a) * 10 + i64::from(c))
}

#[inline]
fn d4(b: &[u8], i: usize) -> Option<i64> {
    Some(d2(b, i)? * 100 + d2(b, i + 2)?)
}

#[inline]
fn civil_secs(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `YYYY<date>MM<date>DD<mid>HH:MM:SS` at the start of `b`, as local seconds; `min_len` is the
/// least length the caller's format needs.
#[inline]
fn ymd_hms(b: &[u8], min_len: usize, date: u8, mid: u8) -> Option<i64> {
    if b.len() < min_len || b[4] != date || b[7] != date || b[10] != mid || b[13] != b':' {
        return None;
    }
    civil_secs(
        d4(b, 0)?,
        d2(b, 5)?,
        d2(b, 8)?,
        d2(b, 11)?,
        d2(b, 14)?,
        d2(b, 17)?,
    )
}

/// `2026/05/01 12:00:00` (nginx error.log, local time without offset), interpreted at `offset`.
#[inline]
pub(crate) fn parse_error_time(b: &[u8], offset: i32) -> Option<Ts> {
    let local = ymd_hms(b, 19, b'/', b' ')?;
    Some(Ts {
        secs: local - i64::from(offset),
        offset,
    })
}

/// Is this the shape of an error.log timestamp? (cheaper than parsing it)
#[inline]
#[cfg(test)] // the reference that nginx_error::head_shape is tested against
pub(crate) fn is_error_time(b: &[u8]) -> bool {
    let Some(t) = b.first_chunk::<19>() else {
        return false;
    };
    let d = |i: usize| t[i].is_ascii_digit();
    t[4] == b'/'
        && t[7] == b'/'
        && t[10] == b' '
        && t[13] == b':'
        && t[16] == b':'
        && d(0)
        && d(1)
        && d(2)
        && d(3)
        && d(5)
        && d(6)
        && d(8)
        && d(9)
        && d(11)
        && d(12)
        && d(14)
        && d(15)
        && d(17)
        && d(18)
}

fn month(b: &[u8]) -> Option<i64> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

#[inline]
fn sign(b: u8) -> Option<i64> {
    match b {
        b'+' => Some(1),
        b'-' => Some(-1),
        _ => None,
    }
}

/// `$time_local`: `01/May/2026:12:00:00 +0200` (26 bytes).
#[inline]
pub(crate) fn parse_time_local(b: &[u8]) -> Option<Ts> {
    if b.len() < 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let local = civil_secs(
        d4(b, 7)?,
        month(&b[3..6])?,
        d2(b, 0)?,
        d2(b, 12)?,
        d2(b, 15)?,
        d2(b, 18)?,
    )?;
    let off = sign(b[21])? * (d2(b, 22)? * 3600 + d2(b, 24)? * 60);
    Some(Ts {
        secs: local - off,
        offset: i32::try_from(off).ok()?,
    })
}

/// `$time_iso8601`: `2026-05-01T12:00:00+02:00` (25 bytes) or `...Z`.
#[inline]
pub(crate) fn parse_iso8601(b: &[u8]) -> Option<Ts> {
    let local = ymd_hms(b, 20, b'-', b'T')?;
    let off = if b[19] == b'Z' {
        0
    } else {
        if b.len() < 25 || b[22] != b':' {
            return None;
        }
        sign(b[19])? * (d2(b, 20)? * 3600 + d2(b, 23)? * 60)
    };
    Some(Ts {
        secs: local - off,
        offset: i32::try_from(off).ok()?,
    })
}

/// RFC 3339 with optional fractional seconds, as ALB writes `time`: `2026-11-20T10:15:02.123456Z`
/// (or `...+02:00`). The whole of `b` must be the time; the fraction is dropped.
#[inline]
pub(crate) fn parse_iso8601_frac(b: &[u8]) -> Option<Ts> {
    let local = ymd_hms(b, 20, b'-', b'T')?;
    let tail = frac_end(b)?;
    let rest = &b[tail..];
    let off = match rest {
        b"Z" | b"z" => 0,
        [s, _, _, b':', _, _] => sign(*s)? * (d2(rest, 1)? * 3600 + d2(rest, 4)? * 60),
        _ => return None,
    };
    Some(Ts {
        secs: local - off,
        offset: i32::try_from(off).ok()?,
    })
}

/// Where the `.123456` fraction after a 19-byte `YYYY-MM-DDTHH:MM:SS` ends (19 without one).
#[inline]
pub(crate) fn frac_end(b: &[u8]) -> Option<usize> {
    if b.get(19) != Some(&b'.') {
        return (b.len() >= 19).then_some(19);
    }
    let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0).then_some(20 + digits)
}

/// `$msec`: `1714564800.123`.
pub(crate) fn parse_msec(b: &[u8]) -> Option<Ts> {
    let int = b.split(|&c| c == b'.').next()?;
    if int.is_empty() || int.len() > 12 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = int
        .iter()
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    Some(Ts { secs, offset: 0 })
}

/// The first whole second at or after `t`: lines stamped before it are outside a `--since` window.
pub(crate) fn ceil_secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn error_time_matches_time_crate() {
        let t = parse_error_time(b"2026/05/01 12:00:00", 0).unwrap();
        assert_eq!(t.secs, datetime!(2026-05-01 12:00:00 UTC).unix_timestamp());
        let t = parse_error_time(b"2024/02/29 23:59:59", 7200).unwrap();
        assert_eq!(t.secs, datetime!(2024-02-29 23:59:59 +2).unix_timestamp());
        assert_eq!(t.rfc3339().unwrap(), "2024-02-29T23:59:59+02:00");
        assert!(parse_error_time(b"2026/13/01 12:00:00", 0).is_none());
        assert!(parse_error_time(b"2026-05-01 12:00:00", 0).is_none());
        assert!(is_error_time(b"2026/05/01 12:00:00"));
        assert!(!is_error_time(b"2026/05/01 12:0x:00"));
    }

    #[test]
    fn time_local_with_offset() {
        let t = parse_time_local(b"01/May/2026:12:00:00 -0530").unwrap();
        assert_eq!(
            t.secs,
            datetime!(2026-05-01 12:00:00 -5:30).unix_timestamp()
        );
        assert_eq!(t.offset, -(5 * 3600 + 30 * 60));
        assert_eq!(t.rfc3339().unwrap(), "2026-05-01T12:00:00-05:30");
        assert!(parse_time_local(b"01/Foo/2026:12:00:00 +0000").is_none());
    }

    #[test]
    fn iso_and_msec() {
        let t = parse_iso8601(b"2026-05-01T12:00:00+02:00").unwrap();
        assert_eq!(t.secs, datetime!(2026-05-01 10:00:00 UTC).unix_timestamp());
        let z = parse_iso8601(b"2026-05-01T10:00:00Z").unwrap();
        assert_eq!(z.secs, t.secs);
        assert_eq!(parse_msec(b"1714564800.123").unwrap().secs, 1_714_564_800);
        assert!(parse_msec(b"abc").is_none());
    }

    #[test]
    fn iso_with_fraction() {
        let t = parse_iso8601_frac(b"2018-11-30T22:23:00.186641Z").unwrap();
        assert_eq!(t.secs, datetime!(2018-11-30 22:23:00 UTC).unix_timestamp());
        assert_eq!(t.offset, 0);
        let same = parse_iso8601_frac(b"2018-11-30T22:23:00Z").unwrap();
        assert_eq!(same, t);
        let off = parse_iso8601_frac(b"2018-11-30T23:23:00.5+01:00").unwrap();
        assert_eq!(off.secs, t.secs);
        assert_eq!(off.offset, 3600);
        for bad in [
            &b"2018-11-30T22:23:00.Z"[..],
            b"2018-11-30T22:23:00.186641",
            b"2018-11-30T22:23:00.186641Zx",
            b"2018-11-30T22:23:00+0100",
            b"2018-13-30T22:23:00Z",
            b"2018-11-30 22:23:00Z",
            b"2018-11-30T22:23:00",
            b"2018",
            b"",
        ] {
            assert!(
                parse_iso8601_frac(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn span_keeps_extremes() {
        let mut s = Span::default();
        for secs in [5, 3, 9, 4] {
            s.add(Ts { secs, offset: 0 });
        }
        assert_eq!(s.first.unwrap().secs, 3);
        assert_eq!(s.last.unwrap().secs, 9);
    }

    #[test]
    fn ceil() {
        assert_eq!(
            ceil_secs(datetime!(2026-05-01 12:00:00.5 UTC)),
            datetime!(2026-05-01 12:00:01 UTC).unix_timestamp()
        );
        assert_eq!(
            ceil_secs(datetime!(2026-05-01 12:00:00 UTC)),
            datetime!(2026-05-01 12:00:00 UTC).unix_timestamp()
        );
    }
}
