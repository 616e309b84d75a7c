//! The one reading loop every dialect shares, and the [`Classifier`] trait through which it asks a
//! dialect what a line says.
//!
//! The split is ripgrep's searcher and `Sink`: the loop ([`scan`]) owns reading, the line cap,
//! counting read, skipped and unparsed lines, the time window, samples and the bounded groups;
//! a dialect (one `Classifier` in each dialect's own file) only parses a line into its record and
//! says what failure, if any, the record shows and how it is keyed. The loop is generic over the
//! dialect, so each dialect gets its own compiled loop with nothing dynamic per line.

use crate::capture::Capture;
use crate::groups::{Failure, Groups, SAMPLE_CAP};
use crate::reader::{LineReader, Text, check_text, escape_line};
use crate::ts::{self, Span, Ts};
use cloud502_model::{LogClass, LogCount, LogSkips, LogSummary};
use std::io::{self, Read};
use time::{OffsetDateTime, UtcOffset};

/// How to read a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Lines whose own timestamp is before this are counted in `skipped.outside_window` and not
    /// classified. Lines without a timestamp (an access format without a time variable, an ALB
    /// or AppGW JSON record without `time`, a Cloudflare record without `EdgeStartTimestamp`) are
    /// kept.
    pub since: Option<OffsetDateTime>,
    /// The offset error.log timestamps are read at (nginx writes local time without one). UTC by default.
    pub local_offset: UtcOffset,
    /// Line cap (default 64 KiB): only the head of a longer line is looked at; it is counted in
    /// `skipped.too_long` and its head still classified. Memory does not grow with line length.
    pub max_line: usize,
    /// Cap on distinct groups kept (default 256); lines of further (class, upstream) keys are
    /// folded into one group per class with no upstream.
    pub max_groups: usize,
    /// Verbatim samples kept in [`LogSummary::samples`] (default 5).
    pub max_samples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            since: None,
            local_offset: UtcOffset::UTC,
            max_line: 64 * 1024,
            max_groups: 256,
            max_samples: 5,
        }
    }
}

/// Progress is reported every this many bytes.
const PROGRESS_EVERY: u64 = 8 << 20;

/// What a summary's [`LogSummary::counts`] are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counts {
    /// The class of each failure (error logs, whose lines have no status).
    Class,
    /// The response status of every record in the window (access logs).
    Status,
}

/// What a dialect tells the loop about its lines. The loop calls, for each text line:
/// [`parse`](Classifier::parse) (`None`: counted as unparsed), then
/// [`ignored`](Classifier::ignored), [`time`](Classifier::time) (the window),
/// [`status`](Classifier::status) (the count), and last [`fold`](Classifier::fold).
///
/// Implementations mark `parse` and `fold` `#[inline(always)]` (and the loop's `Acc::hit` and
/// `Groups::add` are too), so that each dialect's loop compiles into one function as the
/// hand-written loops did: left to the compiler, the error-log loop ran about 6% more
/// instructions (calls, and a copy of each parsed line).
pub(crate) trait Classifier {
    /// One parsed line, borrowed from it.
    type Record<'l>;

    /// What the summary's counts are keyed by.
    const COUNTS: Counts;

    /// Parse a line; `None` when it is not one of the dialect's. Caches across lines (times
    /// parsed once per second) live in `self`.
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<Self::Record<'l>>;

    /// A record that is read but otherwise ignored: not dated, counted nor classified.
    fn ignored(&self, _record: &Self::Record<'_>) -> bool {
        false
    }

    /// The record's own time, for the window and the summary's span.
    fn time(&self, record: &Self::Record<'_>) -> Option<Ts>;

    /// The status the record is counted by ([`Counts::Status`]); `None` when it is not counted.
    fn status(&self, record: &Self::Record<'_>) -> Option<u16>;

    /// Classify a record in the window and, when it shows a failure, key it and hand it to
    /// [`Out::failure`].
    fn fold<'l>(&mut self, record: &Self::Record<'l>, out: Out<'_, 'l>);
}

/// Where a dialect's [`Classifier::fold`] puts the failure of one line (at most one: it is
/// consumed).
pub(crate) struct Out<'a, 'l> {
    acc: &'a mut Acc,
    no: u64,
    line: &'l [u8],
}

impl<'l> Out<'_, 'l> {
    /// The line being folded.
    pub(crate) fn line(&self) -> &'l [u8] {
        self.line
    }

    /// Count the line as a failure; `detail` is asked only while its group has none.
    #[inline]
    pub(crate) fn failure<'d>(self, f: &Failure<'d>, detail: impl FnOnce() -> Option<&'d [u8]>) {
        self.acc.hit(f, self.no, self.line, detail);
    }
}

/// Read a whole stream with one dialect's classifier, each line without the prefix its `capture`
/// added; returns the running summary with the bytes read. `progress` is called now and then with
/// the bytes read so far, and once at the end.
pub(crate) fn scan<C: Classifier, R: Read>(
    reader: R,
    capture: Capture,
    mut classifier: C,
    opts: &Options,
    max_groups: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(Acc, u64)> {
    let mut lr = LineReader::new(reader, opts.max_line);
    let mut acc = Acc::new(opts, max_groups, C::COUNTS);
    let mut next_report = 0;
    loop {
        let consumed = lr.consumed();
        if consumed >= next_report {
            progress(consumed);
            next_report = consumed + PROGRESS_EVERY;
        }
        let Some(line) = lr.next_line()? else {
            break;
        };
        acc.lines += 1;
        acc.skipped.too_long += u64::from(line.truncated);
        if line.bytes.is_empty() || (!line.clean && !acc.text(line.bytes)) {
            continue;
        }
        let bytes = capture.strip(line.bytes);
        let Some(record) = classifier.parse(bytes) else {
            acc.skipped.unparsed += 1;
            continue;
        };
        if classifier.ignored(&record) || !acc.in_window(classifier.time(&record)) {
            continue;
        }
        if let Some(s) = classifier.status(&record) {
            acc.status_counts[usize::from(s)] += 1;
        }
        let out = Out {
            acc: &mut acc,
            no: line.no,
            line: bytes,
        };
        classifier.fold(&record, out);
    }
    progress(lr.consumed());
    Ok((acc, lr.consumed()))
}

/// The running summary.
#[derive(Debug)]
pub(crate) struct Acc {
    since: Option<i64>,
    max_samples: usize,
    counts: Counts,
    lines: u64,
    matched: u64,
    skipped: LogSkips,
    span: Span,
    class_counts: Vec<u64>,
    status_counts: Vec<u64>,
    groups: Groups,
    samples: Vec<String>,
}

impl Acc {
    fn new(opts: &Options, max_groups: usize, counts: Counts) -> Self {
        Acc {
            since: opts.since.map(ts::ceil_secs),
            max_samples: opts.max_samples,
            counts,
            lines: 0,
            matched: 0,
            skipped: LogSkips::default(),
            span: Span::default(),
            class_counts: vec![0; LogClass::ALL.len()],
            status_counts: vec![0; 1000],
            groups: Groups::new(max_groups),
            samples: Vec::new(),
        }
    }

    /// Lines read.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// Counts the line's time; `false` when it falls before `since`.
    #[inline]
    fn in_window(&mut self, ts: Option<Ts>) -> bool {
        let Some(ts) = ts else { return true };
        self.span.add(ts);
        match self.since {
            Some(s) if ts.secs < s => {
                self.skipped.outside_window += 1;
                false
            }
            _ => true,
        }
    }

    /// Is the line text? Counts it in `skipped` when not.
    #[inline]
    fn text(&mut self, line: &[u8]) -> bool {
        match check_text(line) {
            Text::Ok => true,
            Text::Binary => {
                self.skipped.binary += 1;
                false
            }
            Text::InvalidUtf8 => {
                self.skipped.invalid_utf8 += 1;
                false
            }
        }
    }

    /// Count a failure found in line `no`; `detail` is asked only while its group has none.
    #[inline(always)]
    fn hit<'a>(
        &mut self,
        f: &Failure<'a>,
        no: u64,
        line: &[u8],
        detail: impl FnOnce() -> Option<&'a [u8]>,
    ) {
        self.matched += 1;
        self.class_counts[f.class as usize] += 1;
        if self.samples.len() < self.max_samples {
            self.samples.push(escape_line(line, SAMPLE_CAP));
        }
        self.groups.add(f, no, line, detail);
    }

    /// Add the summary of the part of the input that follows this one; its line numbers are
    /// shifted by `line_offset` (the lines of this part).
    pub(crate) fn merge(&mut self, other: Acc, line_offset: u64) {
        self.lines += other.lines;
        self.matched += other.matched;
        let (a, b) = (&mut self.skipped, other.skipped);
        a.invalid_utf8 += b.invalid_utf8;
        a.binary += b.binary;
        a.too_long += b.too_long;
        a.unparsed += b.unparsed;
        a.outside_window += b.outside_window;
        self.span.merge(other.span);
        for (x, y) in self.class_counts.iter_mut().zip(&other.class_counts) {
            *x += y;
        }
        for (x, y) in self.status_counts.iter_mut().zip(&other.status_counts) {
            *x += y;
        }
        let room = self.max_samples.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
        self.groups.merge(other.groups, line_offset);
    }

    /// The summary, named `dialect` (its [`crate::Dialect::name`]).
    pub(crate) fn finish(self, id: &str, source: &str, dialect: &str, bytes: u64) -> LogSummary {
        let mut counts: Vec<LogCount> = match self.counts {
            Counts::Class => LogClass::ALL
                .iter()
                .zip(&self.class_counts)
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| LogCount {
                    key: c.as_str().to_string(),
                    count: *n,
                })
                .collect(),
            Counts::Status => self
                .status_counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| LogCount {
                    key: format!("{s:03}"),
                    count: *n,
                })
                .collect(),
        };
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        LogSummary {
            id: id.to_string(),
            source: source.to_string(),
            dialect: dialect.to_string(),
            lines: self.lines,
            matched: self.matched,
            bytes,
            skipped: self.skipped,
            first_seen: self.span.first.and_then(Ts::rfc3339),
            last_seen: self.span.last.and_then(Ts::rfc3339),
            counts,
            groups: self.groups.finish(self.span),
            samples: self.samples,
        }
    }
}
