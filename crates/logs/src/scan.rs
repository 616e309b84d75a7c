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
use crate::reader::{Line, LineReader, Text, check_text, escape_line};
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

    /// Strings searched for over the whole buffer, grep's way: a line that holds none of them
    /// is only [`skim`](Classifier::skim)med, not parsed. Empty (the default): every line is
    /// parsed.
    const NEEDLES: &'static [&'static [u8]] = &[];

    /// A cheap look at a line that holds none of the [`NEEDLES`](Classifier::NEEDLES): enough to
    /// count and date it exactly as [`parse`](Classifier::parse) would, or [`Skim::Parse`] when
    /// the line may still be a failure.
    #[inline(always)]
    fn skim(&mut self, _line: &[u8]) -> Skim {
        Skim::Parse
    }
}

/// What [`Classifier::skim`] tells of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skim {
    /// Not one of the dialect's lines ([`Classifier::parse`] would say `None`).
    Unparsed,
    /// One of the dialect's lines, at this time, that can show no failure, is not ignored and
    /// has no status to count.
    Quiet(Option<Ts>),
    /// It may show a failure: parse and fold it.
    Parse,
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
    classifier: C,
    opts: &Options,
    max_groups: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(Acc, u64)> {
    scan_blocks(
        LineReader::new(reader, opts.max_line).with_needles(C::NEEDLES),
        capture,
        classifier,
        opts,
        max_groups,
        progress,
    )
}

/// [`scan`] over a line reader that was set up by the caller.
fn scan_blocks<C: Classifier, R: Read>(
    mut lr: LineReader<R>,
    capture: Capture,
    mut classifier: C,
    opts: &Options,
    max_groups: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(Acc, u64)> {
    let mut acc = Acc::new(opts, max_groups, C::COUNTS);
    let mut next_report = 0;
    loop {
        let consumed = lr.consumed();
        if consumed >= next_report {
            progress(consumed);
            next_report = consumed + PROGRESS_EVERY;
        }
        // the plain-text lines at the head of the block in one tight loop, the rest one by one
        if lr.clean_run(|line| one_line(line, capture, &mut classifier, &mut acc)) {
            continue;
        }
        let Some(line) = lr.next_line()? else {
            break;
        };
        one_line(line, capture, &mut classifier, &mut acc);
    }
    progress(lr.consumed());
    Ok((acc, lr.consumed()))
}

/// Count, date and classify one line.
#[inline(always)]
fn one_line<C: Classifier>(line: Line<'_>, capture: Capture, classifier: &mut C, acc: &mut Acc) {
    acc.lines += 1;
    acc.skipped.too_long += u64::from(line.truncated);
    if line.bytes.is_empty() || (!line.clean && !acc.text(line.bytes)) {
        return;
    }
    let bytes = capture.strip(line.bytes);
    if !line.hit {
        // grep's way: a line with none of the needles cannot be a failure; it is only counted
        // and dated
        match classifier.skim(bytes) {
            Skim::Parse => {}
            Skim::Unparsed => {
                acc.skipped.unparsed += 1;
                return;
            }
            Skim::Quiet(ts) => {
                acc.in_window(ts);
                return;
            }
        }
    }
    let Some(record) = classifier.parse(bytes) else {
        acc.skipped.unparsed += 1;
        return;
    };
    if classifier.ignored(&record) || !acc.in_window(classifier.time(&record)) {
        return;
    }
    if let Some(s) = classifier.status(&record) {
        acc.status_counts[usize::from(s)] += 1;
    }
    let out = Out {
        acc,
        no: line.no,
        line: bytes,
    };
    classifier.fold(&record, out);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::nginx_error::ErrorClassifier;

    /// A dialect read line by line: every line parsed, as before the needles.
    struct Full<C>(C);

    impl<C: Classifier> Classifier for Full<C> {
        type Record<'l> = C::Record<'l>;
        const COUNTS: Counts = C::COUNTS;
        fn parse<'l>(&mut self, line: &'l [u8]) -> Option<Self::Record<'l>> {
            self.0.parse(line)
        }
        fn ignored(&self, record: &Self::Record<'_>) -> bool {
            self.0.ignored(record)
        }
        fn time(&self, record: &Self::Record<'_>) -> Option<Ts> {
            self.0.time(record)
        }
        fn status(&self, record: &Self::Record<'_>) -> Option<u16> {
            self.0.status(record)
        }
        fn fold<'l>(&mut self, record: &Self::Record<'l>, out: Out<'_, 'l>) {
            self.0.fold(record, out);
        }
    }

    fn summary<C: Classifier>(
        input: &[u8],
        capture: Capture,
        c: C,
        opts: &Options,
        block: usize,
    ) -> LogSummary {
        let lr = LineReader::with_block(input, opts.max_line, block).with_needles(C::NEEDLES);
        let (acc, bytes) = scan_blocks(lr, capture, c, opts, opts.max_groups, &mut |_| {}).unwrap();
        acc.finish("logs.0", "test", "nginx-error", bytes)
    }

    /// Every kind of line an error log holds, and some it should not: failures at every level,
    /// lines that say "upstream" without being one, failures that do not say it, lines that are
    /// not error.log lines, binary, invalid UTF-8, over-long, CRLF, empty, out of order.
    fn mixed_error_log(prefix: &dyn Fn(usize) -> String) -> Vec<u8> {
        let tail = ", client: 10.0.0.9, server: shop, request: \"GET /a HTTP/1.1\", upstream: \"http://10.0.1.1:8080/a\", host: \"shop\"";
        let bodies: Vec<String> = vec![
            "[info] 31#31: *12 client 198.51.100.7 closed keepalive connection".into(),
            "[info] 31#31: *12 client closed connection while waiting for request, client: 1.2.3.4, server: 0.0.0.0:443".into(),
            format!("[error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream{tail}"),
            format!("[warn] 1#1: *5 upstream server temporarily disabled while connecting to upstream{tail}"),
            format!("[info] 1#1: *5 epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading response header from upstream{tail}"),
            format!("[info] 1#1: *5 recv() failed (104: Connection reset by peer) while reading response header from upstream{tail}"),
            "[info] 7#7: *9 backend.internal could not be resolved (3: Host not found)".into(),
            "[notice] 7#7: *9 duplicate header line: \"X: y\", previous value: \"X: z\"".into(),
            "[warn] 7#7: *9 no resolver defined to resolve backend.internal".into(),
            "[debug] 7#7: *9 FastCGI sent in stderr: \"PHP message: boom\"".into(),
            "[error] 7#7: *9 open() \"/srv/upstream.png\" failed (2: No such file or directory)".into(),
            "[crit] 7#7: *9 SSL_do_handshake() failed (SSL: error) while SSL handshaking, client: 1.2.3.4, server: 0.0.0.0:443".into(),
            "[notice] 1#1: signal process started".into(),
            "[info] 1234567890#1: *1 too long a pid".into(),
            "[info] 1#1:".into(),
            "[emerg] 1#1: host not found in upstream \"app:8080\" in /etc/nginx/conf.d/a.conf:3".into(),
        ];
        let mut out = Vec::new();
        for i in 0..1500usize {
            out.extend_from_slice(prefix(i).as_bytes());
            // mostly in order, a few lines a second late, one with a month that is not one
            let sec = i / 7 - usize::from(i % 13 == 0 && i > 7);
            let month = if i == 700 { 13 } else { 5 };
            let time = format!(
                "2026/{month:02}/01 12:{:02}:{:02} ",
                sec / 60 % 60,
                sec % 60
            );
            match i % 23 {
                3 => out.extend_from_slice(b"not an error.log line at all, upstream or not"),
                5 => out.extend_from_slice(
                    format!("{time}[info] 1#1: *1 bin\x01ary upstream").as_bytes(),
                ),
                8 => {
                    out.extend_from_slice(format!("{time}[info] 1#1: *1 bad ").as_bytes());
                    out.extend_from_slice(b"\xff utf8 upstream");
                }
                11 => {}
                13 => {
                    out.extend_from_slice(time.as_bytes());
                    out.extend_from_slice(
                        format!("[info] 1#1: *1 {}", "long ".repeat(240)).as_bytes(),
                    );
                    out.extend_from_slice(b"upstream");
                }
                _ => {
                    out.extend_from_slice(time.as_bytes());
                    out.extend_from_slice(bodies[i % bodies.len()].as_bytes());
                }
            }
            if i % 4 == 1 {
                out.push(b'\r');
            }
            out.push(b'\n');
        }
        out.extend_from_slice(
            b"2026/05/01 13:00:00 [error] 1#1: *1 no live upstreams while connecting to upstream",
        );
        out
    }

    /// The hit-driven read (lines without a needle only skimmed) gives exactly the report of the
    /// line-by-line read: counts, line numbers, times, samples, groups, skips; whatever the
    /// block size (needles and lines across block boundaries), with CRLF and capture prefixes.
    #[test]
    fn needles_give_the_line_by_line_report() {
        let plain = |_: usize| String::new();
        let docker = |i: usize| format!("2026-05-01T12:00:{:02}.123456789Z ", i % 60);
        let cri = |i: usize| {
            let tag = if i % 2 == 0 { "stderr F" } else { "stdout F" };
            format!("2026-05-01T12:00:{:02}.123456789Z {tag} ", i % 60)
        };
        let cases: [(&dyn Fn(usize) -> String, Capture); 3] = [
            (&plain, Capture::Plain),
            (&docker, Capture::Timestamped),
            (&cri, Capture::Cri),
        ];
        let since = time::macros::datetime!(2026-05-01 12:01:30 UTC);
        for (prefix, capture) in cases {
            let input = mixed_error_log(prefix);
            for opts in [
                Options {
                    max_line: 160,
                    max_samples: 50,
                    ..Options::default()
                },
                Options {
                    since: Some(since),
                    max_line: 1000,
                    max_groups: 3,
                    ..Options::default()
                },
            ] {
                let want = summary(
                    &input,
                    capture,
                    Full(ErrorClassifier::new(opts.local_offset)),
                    &opts,
                    1 << 20,
                );
                assert!(want.matched > 100, "{capture:?}: {}", want.matched);
                assert!(want.skipped.unparsed > 0 && want.skipped.binary > 0);
                assert!(want.skipped.invalid_utf8 > 0 && want.skipped.too_long > 0);
                for block in [1, 2, 7, 64, 333, 4096, 1 << 20] {
                    let got = summary(
                        &input,
                        capture,
                        ErrorClassifier::new(opts.local_offset),
                        &opts,
                        block,
                    );
                    assert_eq!(got, want, "{capture:?}, block {block}");
                }
            }
        }
    }
}
