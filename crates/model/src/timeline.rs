//! Counts per time bucket over a window, so a report can say *when* (502s per minute, a sudden
//! start, a stop), not only how many.
//!
//! Bucket widths come from one ladder (1, 5, 15, 30 minutes, 1, 3, 6, 12 hours, then whole days
//! doubling) in which each width divides the next, so counts kept at a fine width re-bucket
//! exactly into a coarser one, and a window never needs more than [`MAX_BUCKETS`] buckets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The most buckets a timeline has: a report stays small (a few KiB per series) whatever the window.
pub const MAX_BUCKETS: usize = 240;

/// Bucket widths in seconds, each a multiple of the one before.
const LADDER: [u64; 9] = [60, 300, 900, 1800, 3600, 10_800, 21_600, 43_200, 86_400];

/// The smallest ladder width at least `min` seconds (days doubling past the ladder's end).
pub fn ladder_width(min: u64) -> u64 {
    if let Some(w) = LADDER.iter().copied().find(|w| *w >= min) {
        return w;
    }
    let mut w = 86_400u64;
    while w < min {
        w = w.saturating_mul(2);
    }
    w
}

/// The ladder width after `width` (the next coarser one).
pub fn coarser(width: u64) -> u64 {
    ladder_width(width.saturating_add(1))
}

/// Counts per bucket between `start` and `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Timeline {
    /// Start of the first bucket, RFC 3339 UTC (the window's start, rounded down to the width).
    pub start: String,
    /// End of the last bucket (exclusive), RFC 3339 UTC.
    pub end: String,
    /// The width of each bucket, seconds (60 for per-minute counts).
    pub bucket_seconds: u64,
    /// The count in each bucket, oldest first (at most 240).
    pub counts: Vec<u64>,
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Seconds since the Unix epoch of an RFC 3339 time.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

impl Timeline {
    /// Empty buckets covering `first..=last` (seconds since the epoch), at the smallest ladder
    /// width of at least `min_width` seconds that needs at most [`MAX_BUCKETS`] buckets.
    pub fn empty(first: i64, last: i64, min_width: u64) -> Timeline {
        let (first, last) = (first.min(last), first.max(last));
        let span = last.abs_diff(first) + 1;
        let mut width = ladder_width(min_width.max(span.div_ceil(MAX_BUCKETS as u64)));
        // Rounding the start down can add one bucket; widen once more when it does.
        let n = |w: u64| (last.div_euclid(w as i64) - first.div_euclid(w as i64) + 1) as usize;
        if n(width) > MAX_BUCKETS {
            width = coarser(width);
        }
        let w = width as i64;
        let start = first.div_euclid(w) * w;
        let buckets = n(width);
        Timeline {
            start: rfc3339(start),
            end: rfc3339(start + w * buckets as i64),
            bucket_seconds: width,
            counts: vec![0; buckets],
        }
    }

    /// A timeline over `first..=last` holding `points` (`(seconds since the epoch, count)`), at
    /// the smallest ladder width of at least `min_width` that fits: a metric's datapoints or
    /// analytics rows per minute.
    pub fn from_points(
        first: i64,
        last: i64,
        min_width: u64,
        points: impl IntoIterator<Item = (i64, u64)>,
    ) -> Timeline {
        let mut t = Timeline::empty(first, last, min_width);
        let start = t.start_secs().unwrap_or(first);
        for (secs, n) in points {
            t.add(start, secs, n);
        }
        t
    }

    /// The start, seconds since the epoch.
    pub fn start_secs(&self) -> Option<i64> {
        parse_rfc3339(&self.start)
    }

    /// Add `n` at `secs` (ignored outside the window).
    pub fn add(&mut self, start_secs: i64, secs: i64, n: u64) {
        let w = self.bucket_seconds.max(1) as i64;
        if secs < start_secs {
            return;
        }
        if let Some(c) = self.counts.get_mut(((secs - start_secs) / w) as usize) {
            *c += n;
        }
    }

    /// All counts added up.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The index of the first bucket with a count.
    pub fn first_nonzero(&self) -> Option<usize> {
        self.counts.iter().position(|c| *c > 0)
    }

    /// The start of bucket `i`, seconds since the epoch.
    pub fn bucket_start(&self, i: usize) -> Option<i64> {
        Some(self.start_secs()? + self.bucket_seconds as i64 * i as i64)
    }

    /// The same window with `other`'s counts added bucket by bucket (both must share start and
    /// width; a mismatch leaves `self` as it is and returns false).
    pub fn add_timeline(&mut self, other: &Timeline) -> bool {
        if self.start != other.start || self.bucket_seconds != other.bucket_seconds {
            return false;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
            self.end = other.end.clone();
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_window_is_per_minute() {
        // 2024-01-01T10:00:30Z .. 10:09:59Z: ten one-minute buckets from 10:00.
        let first = 1_704_103_230;
        let t = Timeline::empty(first, first + 569, 60);
        assert_eq!(t.bucket_seconds, 60);
        assert_eq!(t.counts.len(), 10);
        assert_eq!(t.start, "2024-01-01T10:00:00Z");
        assert_eq!(t.end, "2024-01-01T10:10:00Z");
    }

    #[test]
    fn a_long_window_is_coarser_and_stays_small() {
        let first = 1_704_103_200;
        for span in [3_600i64, 86_400, 7 * 86_400, 400 * 86_400] {
            let t = Timeline::empty(first, first + span, 60);
            assert!(t.counts.len() <= MAX_BUCKETS, "{span}: {}", t.counts.len());
            assert!(t.counts.len() >= 2);
        }
        assert_eq!(
            Timeline::empty(first, first + 86_400, 60).bucket_seconds,
            900
        );
    }

    #[test]
    fn counts_land_in_their_bucket_and_outside_is_ignored() {
        let first = 1_704_103_200;
        let mut t = Timeline::empty(first, first + 300, 60);
        let s = t.start_secs().unwrap();
        t.add(s, first + 61, 2);
        t.add(s, first + 119, 1);
        t.add(s, first - 5, 7);
        t.add(s, first + 100_000, 7);
        assert_eq!(t.counts, vec![0, 3, 0, 0, 0, 0]);
        assert_eq!(t.first_nonzero(), Some(1));
        assert_eq!(t.total(), 3);
    }

    #[test]
    fn points_fill_their_buckets() {
        let first = 1_704_103_200;
        let t = Timeline::from_points(first, first + 600, 60, [(first + 60, 4), (first + 65, 1)]);
        assert_eq!(&t.counts[..3], &[0, 5, 0]);
    }

    #[test]
    fn each_width_divides_the_next() {
        let mut w = 60;
        while w < 1_000_000 {
            let n = coarser(w);
            assert_eq!(n % w, 0, "{w} -> {n}");
            w = n;
        }
    }
}
