//! The bounded table of failure groups: lines a dialect found failing, grouped by (class, status,
//! upstream or key), folded into one group per class and status past `max_groups`.

use crate::reader::escape_line;
use crate::ts::{Span, Ts};
use cloud502_model::{LogClass, LogGroup, LogSample, Timeline, ladder_width};

/// Bytes of a line kept as a sample.
pub(crate) const SAMPLE_CAP: usize = 1024;
/// Bytes of a group's detail.
const DETAIL_CAP: usize = 200;
/// Hard cap on `max_groups` (the group index is sized from it).
const MAX_GROUPS: usize = 1 << 20;
/// Distinct buckets a group keeps before it widens them (see [`Buckets`]).
const MAX_GROUP_BUCKETS: usize = 1024;

/// A group's lines per time bucket, sparse: `(bucket, count)` pairs sorted by bucket, where a
/// bucket is `secs / width`. Only failing lines reach it (never an ordinary line), and logs are
/// written in time order, so the usual add is a compare and an increment on the last pair. Past
/// [`MAX_GROUP_BUCKETS`] pairs the width moves one step up the model's ladder (1, 5, 15 minutes,
/// ...), so a group's memory stays bounded whatever the log's span, and counts re-bucket exactly
/// into the report's width at the end.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    width: u64,
    pairs: Vec<(i64, u64)>,
    /// The seconds `[lo, hi)` the last pair covers, so a line in the same bucket as the one
    /// before costs two compares and an add, no division.
    lo: i64,
    hi: i64,
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            width: 60,
            pairs: Vec::new(),
            lo: 0,
            hi: 0,
        }
    }
}

impl Buckets {
    #[inline]
    fn add(&mut self, secs: i64, n: u64) {
        if secs >= self.lo
            && secs < self.hi
            && let Some(last) = self.pairs.last_mut()
        {
            last.1 += n;
            return;
        }
        self.add_slow(secs, n);
        if let Some((b, _)) = self.pairs.last() {
            let w = self.width as i64;
            (self.lo, self.hi) = (b * w, b * w + w);
        }
    }

    fn add_slow(&mut self, secs: i64, n: u64) {
        let b = secs.div_euclid(self.width as i64);
        match self.pairs.last_mut() {
            Some((last, c)) if *last == b => *c += n,
            Some((last, _)) if *last < b => self.push(b, n),
            None => self.push(b, n),
            Some(_) => match self.pairs.binary_search_by_key(&b, |p| p.0) {
                Ok(i) => self.pairs[i].1 += n,
                Err(i) => {
                    self.pairs.insert(i, (b, n));
                    self.bound();
                }
            },
        }
    }

    #[inline]
    fn push(&mut self, b: i64, n: u64) {
        self.pairs.push((b, n));
        self.bound();
    }

    fn bound(&mut self) {
        while self.pairs.len() > MAX_GROUP_BUCKETS {
            self.widen(ladder_width(self.width + 1));
        }
    }

    /// Re-bucket at `width` (a ladder width at least the current one).
    fn widen(&mut self, width: u64) {
        if width <= self.width {
            return;
        }
        let old = std::mem::take(&mut self.pairs);
        let k = (width / self.width) as i64;
        self.width = width;
        (self.lo, self.hi) = (0, 0);
        for (b, n) in old {
            let nb = b.div_euclid(k);
            match self.pairs.last_mut() {
                Some((l, c)) if *l == nb => *c += n,
                _ => self.pairs.push((nb, n)),
            }
        }
    }

    fn merge(&mut self, mut other: Buckets) {
        let width = self.width.max(other.width);
        self.widen(width);
        other.widen(width);
        for (b, n) in other.pairs {
            self.add(b * width as i64, n);
        }
    }

    /// The counts as a timeline over `first..=last` (seconds since the epoch).
    fn timeline(mut self, first: i64, last: i64, min_width: u64) -> Timeline {
        let mut t = Timeline::empty(first, last, min_width.max(self.width));
        self.widen(t.bucket_seconds);
        let start = t.start_secs().unwrap_or(first);
        for (b, n) in self.pairs {
            t.add(start, b * self.width as i64, n);
        }
        t
    }
}

/// A failure a dialect found in one line, as the table keys and counts it: borrowed from the line
/// (or from the dialect's own buffers).
#[derive(Debug)]
pub(crate) struct Failure<'a> {
    pub class: LogClass,
    pub status: Option<u16>,
    pub upstream: Option<&'a [u8]>,
    /// Groups are keyed by this instead of the upstream when set (ALB `error_reason` classes,
    /// whose lines have no target, are told apart by the reason; AppGW records classified by
    /// status are told apart by their `serverRouted` and `error_info`; Cloudflare records by
    /// their `OriginIP` and `EdgeColoCode`).
    pub key: Option<&'a [u8]>,
    pub level: Option<&'static str>,
    pub reused: Option<bool>,
    pub ts: Option<Ts>,
}

#[derive(Debug)]
struct GroupAcc {
    /// `key_hash` of the group's key.
    hash: u64,
    /// The raw upstream bytes the group is keyed by (`None` for none, or for the folded group).
    key: Option<Box<[u8]>>,
    /// The catch-all group of its class once `max_groups` is reached.
    folded: bool,
    class: LogClass,
    upstream: Option<String>,
    status: Option<u16>,
    level: Option<&'static str>,
    detail: Option<String>,
    count: u64,
    reused: Option<u64>,
    span: Span,
    buckets: Buckets,
    sample: LogSample,
}

/// Hash of a group key (FxHash-like: short keys, and the table is capped, so no DoS concern).
#[inline]
fn key_hash(class: LogClass, status: Option<u16>, upstream: Option<&[u8]>, folded: bool) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = ((class as u64) << 24 | u64::from(status.unwrap_or(0)) << 4 | u64::from(folded))
        .wrapping_mul(K);
    if let Some(u) = upstream {
        let mut chunks = u.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let mut w = 0u64;
        for &b in chunks.remainder() {
            w = w << 8 | u64::from(b);
        }
        h = (h.rotate_left(5) ^ w ^ (u.len() as u64) << 56).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

impl GroupAcc {
    fn new(
        class: LogClass,
        status: Option<u16>,
        upstream: Option<&[u8]>,
        level: Option<&'static str>,
        no: u64,
        line: &[u8],
    ) -> Self {
        GroupAcc {
            hash: 0,
            key: upstream.map(Box::from),
            folded: false,
            class,
            upstream: upstream.map(|u| String::from_utf8_lossy(u).into_owned()),
            status,
            level,
            detail: None,
            count: 0,
            reused: None,
            span: Span::default(),
            buckets: Buckets::default(),
            sample: LogSample {
                line: no,
                text: escape_line(line, SAMPLE_CAP),
            },
        }
    }
}

/// Key equality without a `memcmp` call for the usual short keys.
#[inline]
fn same_key(a: Option<&[u8]>, b: Option<&[u8]>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            if a.len() != b.len() {
                return false;
            }
            if (8..=16).contains(&a.len()) {
                // two overlapping words cover it
                a.first_chunk::<8>() == b.first_chunk::<8>()
                    && a.last_chunk::<8>() == b.last_chunk::<8>()
            } else {
                a == b
            }
        }
        (None, None) => true,
        _ => false,
    }
}

/// The groups of one read.
#[derive(Debug)]
pub(crate) struct Groups {
    max_groups: usize,
    groups: Vec<GroupAcc>,
    /// Open-addressing index into `groups` (`u32::MAX` = empty), a power of two at least twice
    /// the most groups there can be.
    slots: Vec<u32>,
}

impl Groups {
    pub(crate) fn new(max_groups: usize) -> Self {
        let max_groups = max_groups.min(MAX_GROUPS);
        Groups {
            max_groups,
            groups: Vec::new(),
            slots: vec![u32::MAX; (max_groups + LogClass::ALL.len()).next_power_of_two() * 2],
        }
    }

    /// Count a failure found in line `no`; `detail` is asked only while its group has none.
    #[inline(always)]
    pub(crate) fn add<'a>(
        &mut self,
        f: &Failure<'a>,
        no: u64,
        line: &[u8],
        detail: impl FnOnce() -> Option<&'a [u8]>,
    ) {
        let key = f.key.or(f.upstream);
        let idx = match self.find(f.class, f.status, key, false) {
            Ok(i) => i,
            Err(slot) if self.groups.len() < self.max_groups => {
                let mut g = GroupAcc::new(f.class, f.status, key, f.level, no, line);
                g.upstream = f.upstream.map(|u| String::from_utf8_lossy(u).into_owned());
                self.insert(slot, g)
            }
            Err(_) => self.folded(f.class, f.status, || {
                GroupAcc::new(f.class, f.status, None, f.level, no, line)
            }),
        };
        let g = &mut self.groups[idx];
        g.count += 1;
        if let Some(r) = f.reused {
            *g.reused.get_or_insert(0) += u64::from(r);
        }
        if let Some(t) = f.ts {
            g.span.add(t);
            g.buckets.add(t.secs, 1);
        }
        if g.detail.is_none() {
            g.detail = detail().map(|d| escape_line(d, DETAIL_CAP));
        }
    }

    /// The group with this key (`Ok(index)`), or the free slot for it (`Err(slot)`).
    #[inline]
    fn find(
        &self,
        class: LogClass,
        status: Option<u16>,
        upstream: Option<&[u8]>,
        folded: bool,
    ) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let hash = key_hash(class, status, upstream, folded);
        let mut slot = hash as usize & mask;
        loop {
            let i = self.slots[slot];
            if i == u32::MAX {
                return Err(slot);
            }
            let g = &self.groups[i as usize];
            if g.hash == hash
                && g.class == class
                && g.status == status
                && g.folded == folded
                && same_key(g.key.as_deref(), upstream)
            {
                return Ok(i as usize);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn insert(&mut self, slot: usize, mut g: GroupAcc) -> usize {
        g.hash = key_hash(g.class, g.status, g.key.as_deref(), g.folded);
        let i = self.groups.len();
        self.slots[slot] = i as u32;
        self.groups.push(g);
        i
    }

    /// The catch-all group of a class once `max_groups` is reached, made from `make` when new.
    fn folded(
        &mut self,
        class: LogClass,
        status: Option<u16>,
        make: impl FnOnce() -> GroupAcc,
    ) -> usize {
        match self.find(class, status, None, true) {
            Ok(i) => i,
            Err(slot) => {
                let mut g = make();
                g.key = None;
                g.upstream = None;
                g.folded = true;
                g.count = 0;
                g.reused = None;
                g.span = Span::default();
                g.buckets = Buckets::default();
                g.detail = Some(format!(
                    "lines of more upstreams than the {} groups kept",
                    self.max_groups
                ));
                self.insert(slot, g)
            }
        }
    }

    /// Add the groups of the part of the input that follows this one; their line numbers are
    /// shifted by `line_offset` (the lines of this part).
    pub(crate) fn merge(&mut self, other: Groups, line_offset: u64) {
        for mut g in other.groups {
            g.sample.line += line_offset;
            let kept = if g.folded {
                None
            } else {
                match self.find(g.class, g.status, g.key.as_deref(), false) {
                    Ok(i) => Some(i),
                    Err(slot) if self.groups.len() < self.max_groups => {
                        self.insert(slot, g);
                        continue;
                    }
                    Err(_) => None,
                }
            };
            let idx = match kept {
                Some(i) => i,
                None => {
                    let template = GroupAcc {
                        hash: 0,
                        key: None,
                        folded: true,
                        class: g.class,
                        upstream: None,
                        status: g.status,
                        level: g.level,
                        detail: None,
                        count: 0,
                        reused: None,
                        span: Span::default(),
                        buckets: Buckets::default(),
                        sample: g.sample.clone(),
                    };
                    self.folded(g.class, g.status, || template)
                }
            };
            let t = &mut self.groups[idx];
            t.count += g.count;
            t.reused = match (t.reused, g.reused) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0) + y.unwrap_or(0)),
            };
            t.span.merge(g.span);
            t.buckets.merge(g.buckets);
            if t.detail.is_none() {
                t.detail = g.detail;
            }
        }
    }

    /// The groups, most lines first, each with its timeline over `window` (the whole read's
    /// span, so a group's quiet minutes show too; a timeline only when the lines had times).
    pub(crate) fn finish(self, window: Span) -> Vec<LogGroup> {
        let window = match (window.first, window.last) {
            (Some(f), Some(l)) => Some((f.secs, l.secs)),
            _ => None,
        };
        // One width for all groups of the read, so their timelines line up bucket for bucket.
        let width = self
            .groups
            .iter()
            .map(|g| g.buckets.width)
            .max()
            .unwrap_or(60);
        let mut groups: Vec<LogGroup> = self
            .groups
            .into_iter()
            .map(|g| LogGroup {
                timeline: match (window, g.span.first) {
                    (Some((f, l)), Some(_)) => Some(g.buckets.timeline(f, l, width)),
                    _ => None,
                },
                class: g.class,
                upstream: g.upstream,
                status: g.status,
                level: g.level.map(str::to_string),
                detail: g.detail,
                count: g.count,
                reused: g.reused,
                first_seen: g.span.first.and_then(Ts::rfc3339),
                last_seen: g.span.last.and_then(Ts::rfc3339),
                sample: g.sample,
            })
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.class.cmp(&b.class))
                .then_with(|| a.upstream.cmp(&b.upstream))
                .then_with(|| a.status.cmp(&b.status))
        });
        groups
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    const T0: i64 = 1_704_103_200; // 2024-01-01T10:00:00Z

    #[test]
    fn minutes_count_in_order_and_out_of_order() {
        let mut b = Buckets::default();
        for s in [5, 30, 70, 65, 200, 10] {
            b.add(T0 + s, 1);
        }
        let t = b.timeline(T0, T0 + 299, 60);
        assert_eq!(t.bucket_seconds, 60);
        assert_eq!(t.counts, vec![3, 2, 0, 1, 0]);
    }

    #[test]
    fn a_long_span_widens_and_stays_bounded_and_exact() {
        let mut b = Buckets::default();
        // one line every minute for 30 days: far more minutes than a group keeps
        let n = 30 * 1440;
        for m in 0..n {
            b.add(T0 + m * 60, 1);
        }
        assert!(b.pairs.len() <= MAX_GROUP_BUCKETS);
        let t = b.timeline(T0, T0 + n * 60, 60);
        assert!(t.counts.len() <= cloud502_model::MAX_BUCKETS);
        assert_eq!(t.total(), n as u64);
    }

    #[test]
    fn halves_merge_exactly() {
        let (mut a, mut b) = (Buckets::default(), Buckets::default());
        for m in 0..2000 {
            a.add(T0 + m * 60, 1);
        }
        b.add(T0 + 5, 4);
        b.add(T0 + 3000 * 60, 2);
        a.merge(b);
        let t = a.timeline(T0, T0 + 3000 * 60, 60);
        assert_eq!(t.total(), 2006);
        // 50 hours fit in 240 buckets at 15 minutes: the first holds 15 lines of one half and 4
        assert_eq!(t.bucket_seconds, 900);
        assert_eq!(t.counts[0], 15 + 4);
    }
}
