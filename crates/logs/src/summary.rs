//! Streaming aggregation of classified lines into a [`LogSummary`] with bounded memory.

use crate::detect::{Dialect, FormatChoice, detect, detect_access};
use crate::error::{LogError, Result};
use crate::nginx_access::{AccessFormat, Walk, last_value};
use crate::nginx_error::{classify_error, detail, group_upstream, level_name, parse_error_line};
use crate::reader::{LineReader, Text, check_text, escape_line, looks_binary, open_counted};
use crate::ts::{self, Span, Ts};
use cloud502_model::{LogClass, LogCount, LogGroup, LogSample, LogSkips, LogSummary};
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use time::{OffsetDateTime, UtcOffset};

/// How to read a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Lines whose own timestamp is before this are counted in `skipped.outside_window` and not
    /// classified. Lines without a timestamp (an access format without a time variable) are kept.
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

/// Bytes of a line kept as a sample.
const SAMPLE_CAP: usize = 1024;
/// Bytes of a group's detail.
const DETAIL_CAP: usize = 200;
/// Bytes sniffed for detection.
pub(crate) const HEAD_CAP: usize = 64 * 1024;
/// Hard cap on `max_groups` (the group index is sized from it).
const MAX_GROUPS: usize = 1 << 20;
/// Progress is reported every this many bytes.
const PROGRESS_EVERY: u64 = 8 << 20;

#[derive(Debug)]
struct GroupAcc {
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
        let mut w = [0u8; 8];
        w[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ 0xff).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// One classified line, borrowed.
#[derive(Debug)]
struct Hit<'a> {
    class: LogClass,
    status: Option<u16>,
    upstream: Option<&'a [u8]>,
    level: Option<&'static str>,
    detail: Option<&'a [u8]>,
    reused: Option<bool>,
    ts: Option<Ts>,
    no: u64,
    line: &'a [u8],
}

/// The running summary.
#[derive(Debug)]
struct Acc {
    since: Option<i64>,
    max_groups: usize,
    max_samples: usize,
    lines: u64,
    matched: u64,
    skipped: LogSkips,
    span: Span,
    class_counts: Vec<u64>,
    status_counts: Vec<u64>,
    groups: Vec<GroupAcc>,
    /// Open-addressing index into `groups` (`u32::MAX` = empty), a power of two at least twice
    /// the most groups there can be.
    slots: Vec<u32>,
    samples: Vec<String>,
}

impl Acc {
    fn new(opts: &Options) -> Self {
        Acc {
            since: opts.since.map(ts::ceil_secs),
            max_groups: opts.max_groups.min(MAX_GROUPS),
            max_samples: opts.max_samples,
            lines: 0,
            matched: 0,
            skipped: LogSkips::default(),
            span: Span::default(),
            class_counts: vec![0; LogClass::ALL.len()],
            status_counts: vec![0; 1000],
            groups: Vec::new(),
            slots: vec![
                u32::MAX;
                (opts.max_groups.min(MAX_GROUPS) + LogClass::ALL.len()).next_power_of_two()
                    * 2
            ],
            samples: Vec::new(),
        }
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

    fn hit(&mut self, h: Hit<'_>) {
        self.matched += 1;
        self.class_counts[h.class as usize] += 1;
        if self.samples.len() < self.max_samples {
            self.samples.push(escape_line(h.line, SAMPLE_CAP));
        }
        let idx = self.group_of(&h);
        let g = &mut self.groups[idx];
        g.count += 1;
        if let Some(r) = h.reused {
            *g.reused.get_or_insert(0) += u64::from(r);
        }
        if let Some(t) = h.ts {
            g.span.add(t);
        }
        if g.detail.is_none() {
            g.detail = h.detail.map(|d| escape_line(d, DETAIL_CAP));
        }
    }

    /// The index of the hit's group, created (or folded) when new.
    #[inline]
    fn group_of(&mut self, h: &Hit<'_>) -> usize {
        let mut folded = false;
        loop {
            let upstream = if folded { None } else { h.upstream };
            let mask = self.slots.len() - 1;
            let mut slot = key_hash(h.class, h.status, upstream, folded) as usize & mask;
            loop {
                let i = self.slots[slot];
                if i == u32::MAX {
                    break;
                }
                let g = &self.groups[i as usize];
                if g.class == h.class
                    && g.status == h.status
                    && g.folded == folded
                    && g.key.as_deref() == upstream
                {
                    return i as usize;
                }
                slot = (slot + 1) & mask;
            }
            if !folded && self.groups.len() >= self.max_groups {
                folded = true;
                continue;
            }
            let i = self.groups.len();
            self.slots[slot] = i as u32;
            self.groups.push(GroupAcc {
                key: upstream.map(Box::from),
                folded,
                class: h.class,
                upstream: upstream.map(|u| String::from_utf8_lossy(u).into_owned()),
                status: h.status,
                level: h.level,
                detail: folded.then(|| {
                    format!(
                        "lines of more upstreams than the {} groups kept",
                        self.max_groups
                    )
                }),
                count: 0,
                reused: None,
                span: Span::default(),
                sample: LogSample {
                    line: h.no,
                    text: escape_line(h.line, SAMPLE_CAP),
                },
            });
            return i;
        }
    }

    fn finish(self, id: &str, source: &str, dialect: &Dialect, bytes: u64) -> LogSummary {
        let mut counts: Vec<LogCount> = match dialect {
            Dialect::NginxError => LogClass::ALL
                .iter()
                .zip(&self.class_counts)
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| LogCount {
                    key: c.as_str().to_string(),
                    count: *n,
                })
                .collect(),
            Dialect::NginxAccess(_) => self
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
        let mut groups: Vec<LogGroup> = self
            .groups
            .into_iter()
            .map(|g| LogGroup {
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
        LogSummary {
            id: id.to_string(),
            source: source.to_string(),
            dialect: dialect.name().to_string(),
            lines: self.lines,
            matched: self.matched,
            bytes,
            skipped: self.skipped,
            first_seen: self.span.first.and_then(Ts::rfc3339),
            last_seen: self.span.last.and_then(Ts::rfc3339),
            counts,
            groups,
            samples: self.samples,
        }
    }
}

/// Reports progress every [`PROGRESS_EVERY`] bytes.
struct Progress<'p> {
    f: &'p mut dyn FnMut(u64),
    next: u64,
}

impl Progress<'_> {
    #[inline]
    fn tick(&mut self, consumed: u64) {
        if consumed >= self.next {
            (self.f)(consumed);
            self.next = consumed + PROGRESS_EVERY;
        }
    }
}

fn run_error<R: Read>(
    lr: &mut LineReader<R>,
    acc: &mut Acc,
    offset: i32,
    progress: &mut Progress<'_>,
) -> io::Result<()> {
    let mut last_time: Vec<u8> = Vec::with_capacity(32);
    let mut last_ts = None;
    loop {
        progress.tick(lr.consumed());
        let Some(line) = lr.next_line()? else {
            return Ok(());
        };
        acc.lines += 1;
        acc.skipped.too_long += u64::from(line.truncated);
        let b = line.bytes;
        if b.is_empty() || !acc.text(b) {
            continue;
        }
        let Some(e) = parse_error_line(b) else {
            acc.skipped.unparsed += 1;
            continue;
        };
        // many lines share a second: parse each distinct time once
        let t = if e.time == last_time.as_slice() {
            last_ts
        } else {
            last_time.clear();
            last_time.extend_from_slice(e.time);
            last_ts = ts::parse_error_time(e.time, offset);
            last_ts
        };
        if !acc.in_window(t) {
            continue;
        }
        let Some(class) = classify_error(&e) else {
            continue;
        };
        acc.hit(Hit {
            class,
            status: class.client_status(),
            upstream: group_upstream(class, &e),
            level: level_name(e.level),
            detail: detail(class, &e),
            reused: None,
            ts: t,
            no: line.no,
            line: b,
        });
    }
}

fn run_access<R: Read>(
    lr: &mut LineReader<R>,
    acc: &mut Acc,
    fmt: &AccessFormat,
    progress: &mut Progress<'_>,
) -> io::Result<()> {
    let reuse_known = fmt.has_connect_time();
    loop {
        progress.tick(lr.consumed());
        let Some(line) = lr.next_line()? else {
            return Ok(());
        };
        acc.lines += 1;
        acc.skipped.too_long += u64::from(line.truncated);
        let b = line.bytes;
        if b.is_empty() || !acc.text(b) {
            continue;
        }
        let Some(fast) = fmt.walk(b, Walk::Fast) else {
            acc.skipped.unparsed += 1;
            continue;
        };
        if !acc.in_window(fast.time) {
            continue;
        }
        acc.status_counts[usize::from(fast.status)] += 1;
        if fast.status != 499 && !(500..600).contains(&fast.status) {
            continue;
        }
        let f = fmt.walk(b, Walk::Full).unwrap_or(fast);
        let Some(class) = fmt.classify(&f) else {
            continue;
        };
        let upstream = f
            .addr
            .map(last_value)
            .filter(|a| !a.is_empty() && *a != b"-");
        let detail = f
            .upstream_status
            .map(last_value)
            .filter(|s| !s.is_empty() && *s != b"-");
        let mut detail_buf = [0u8; 32];
        let detail = detail.map(|s| {
            let prefix = b"upstream_status ";
            let n = (prefix.len() + s.len()).min(detail_buf.len());
            detail_buf[..prefix.len()].copy_from_slice(prefix);
            detail_buf[prefix.len()..n].copy_from_slice(&s[..n - prefix.len()]);
            n
        });
        acc.hit(Hit {
            class,
            status: Some(f.status),
            upstream,
            level: None,
            detail: detail.map(|n| &detail_buf[..n]),
            reused: reuse_known.then(|| f.connect.map(last_value) == Some(b"0.000")),
            ts: f.time,
            no: line.no,
            line: b,
        });
    }
}

/// Stream a log and summarize it. `progress` is called now and then with the number of bytes
/// read from `reader` so far.
pub fn summarize(
    reader: impl Read,
    source: &str,
    id: &str,
    dialect: &Dialect,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<LogSummary> {
    let mut lr = LineReader::new(reader, opts.max_line);
    let mut acc = Acc::new(opts);
    let mut p = Progress {
        f: progress,
        next: 0,
    };
    let res = match dialect {
        Dialect::NginxError => {
            run_error(&mut lr, &mut acc, opts.local_offset.whole_seconds(), &mut p)
        }
        Dialect::NginxAccess(f) => run_access(&mut lr, &mut acc, f, &mut p),
    };
    res.map_err(|source_err| LogError::Read {
        path: source.to_string(),
        source: source_err,
    })?;
    (p.f)(lr.consumed());
    Ok(acc.finish(id, source, dialect, lr.consumed()))
}

/// Open a file (gunzipping it when it is gzip), pick the dialect, and summarize it.
///
/// With [`FormatChoice::Auto`] the first 64 KiB are sniffed ([`detect`]) and the same stream is then
/// read on; a binary head is [`LogError::NotText`], an unrecognised one
/// [`LogError::UnknownFormat`]. An empty file is summarized as empty (an access log when its name
/// contains `access`, else an error log). With [`FormatChoice::NginxAccess`] and several candidate
/// formats, the head picks among them. `progress` gets the bytes read from the file (compressed
/// bytes for a .gz).
pub fn summarize_path(
    path: &Path,
    id: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<LogSummary> {
    let source = path.display().to_string();
    let counter = Arc::new(AtomicU64::new(0));
    let mut reader = open_counted(path, Some(Arc::clone(&counter)))?;
    let needs_head = match choice {
        FormatChoice::Auto => true,
        FormatChoice::NginxAccess => access_formats.len() > 1,
        FormatChoice::NginxError => false,
    };
    let mut head = Vec::new();
    if needs_head {
        (&mut reader)
            .take(HEAD_CAP as u64)
            .read_to_end(&mut head)
            .map_err(|e| LogError::Read {
                path: source.clone(),
                source: e,
            })?;
    }
    let dialect = match choice {
        FormatChoice::NginxError => Dialect::NginxError,
        FormatChoice::NginxAccess => Dialect::NginxAccess(match access_formats {
            [] => AccessFormat::combined(),
            [one] => one.clone(),
            many => detect_access(&head, many).unwrap_or_else(|| many[0].clone()),
        }),
        FormatChoice::Auto if head.is_empty() => {
            let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
            if name.is_some_and(|n| n.contains("access")) {
                Dialect::NginxAccess(
                    access_formats
                        .first()
                        .cloned()
                        .unwrap_or_else(AccessFormat::combined),
                )
            } else {
                Dialect::NginxError
            }
        }
        FormatChoice::Auto => {
            if looks_binary(&head, head.len() == HEAD_CAP) {
                return Err(LogError::NotText { path: source });
            }
            detect(&head, access_formats).ok_or_else(|| LogError::UnknownFormat {
                path: source.clone(),
            })?
        }
    };
    let stream = io::Cursor::new(head).chain(reader);
    let mut report = |_: u64| progress(counter.load(Ordering::Relaxed));
    summarize(stream, &source, id, &dialect, opts, &mut report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    const REFUSED: &str = "2026/05/01 12:00:00 [error] 1234#1234: *56 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8080/\", host: \"example.com\"";

    fn err_line(time: &str, level: &str, msg: &str, upstream: &str) -> String {
        format!(
            "{time} [{level}] 1#1: *1 {msg}, client: 10.0.0.9, server: x, request: \"GET / HTTP/1.1\", upstream: \"{upstream}\", host: \"x\"\n"
        )
    }

    fn run(input: &[u8], dialect: &Dialect, opts: &Options) -> LogSummary {
        let mut calls = 0;
        let s = summarize(input, "test.log", "logs.0", dialect, opts, &mut |_| {
            calls += 1
        })
        .unwrap();
        assert!(calls >= 1, "progress was reported");
        s
    }

    #[test]
    fn error_log_summary() {
        let mut log = String::new();
        log.push_str(&err_line(
            "2026/05/01 12:00:02",
            "error",
            "connect() failed (111: Connection refused) while connecting to upstream",
            "http://127.0.0.1:8080/a",
        ));
        log.push_str("2026/05/01 12:00:01 [notice] 1#1: signal process started\n");
        log.push_str(&err_line(
            "2026/05/01 12:00:03",
            "error",
            "connect() failed (111: Connection refused) while connecting to upstream",
            "http://127.0.0.1:8080/b",
        ));
        log.push_str(&err_line(
            "2026/05/01 12:00:04",
            "error",
            "connect() failed (111: Connection refused) while connecting to upstream",
            "http://10.0.0.2:8080/",
        ));
        log.push_str(&err_line("2026/05/01 12:00:05", "error", "upstream timed out (110: Connection timed out) while reading response header from upstream", "http://10.0.0.2:8080/"));
        log.push_str("not a log line\n\n");
        let s = run(log.as_bytes(), &Dialect::NginxError, &Options::default());
        assert_eq!(s.dialect, "nginx-error");
        assert_eq!(s.id, "logs.0");
        assert_eq!(s.source, "test.log");
        assert_eq!(s.lines, 7);
        assert_eq!(s.matched, 4);
        assert_eq!(s.bytes, log.len() as u64);
        assert_eq!(s.skipped.unparsed, 1);
        assert_eq!(s.first_seen.as_deref(), Some("2026-05-01T12:00:01Z"));
        assert_eq!(s.last_seen.as_deref(), Some("2026-05-01T12:00:05Z"));
        assert_eq!(
            s.counts,
            vec![
                LogCount {
                    key: "connect-refused".into(),
                    count: 3
                },
                LogCount {
                    key: "read-timeout".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(s.groups.len(), 3);
        let g = &s.groups[0];
        assert_eq!(g.class, LogClass::ConnectRefused);
        assert_eq!(g.upstream.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(g.count, 2);
        assert_eq!(g.status, Some(502));
        assert_eq!(g.level.as_deref(), Some("error"));
        assert_eq!(g.detail.as_deref(), Some("Connection refused"));
        assert_eq!(g.reused, None);
        assert_eq!(g.first_seen.as_deref(), Some("2026-05-01T12:00:02Z"));
        assert_eq!(g.last_seen.as_deref(), Some("2026-05-01T12:00:03Z"));
        assert_eq!(g.sample.line, 1);
        assert!(g.sample.text.contains("/a"));
        assert_eq!(s.groups[1].class, LogClass::ConnectRefused);
        assert_eq!(s.groups[2].class, LogClass::ReadTimeout);
        assert_eq!(s.groups[2].status, Some(504));
        assert_eq!(s.count_of(LogClass::ConnectRefused), 3);
        assert_eq!(s.samples.len(), 4);
        assert!(s.samples[0].starts_with("2026/05/01 12:00:02 [error]"));
    }

    #[test]
    fn since_uses_local_offset_for_error_logs() {
        let mut log = String::new();
        for t in [
            "2026/05/01 13:59:59",
            "2026/05/01 14:00:00",
            "2026/05/01 14:00:01",
        ] {
            log.push_str(&err_line(
                t,
                "error",
                "connect() failed (111: Connection refused) while connecting to upstream",
                "http://a:1/",
            ));
        }
        // local 14:00 at +02:00 is 12:00 UTC
        let opts = Options {
            since: Some(datetime!(2026-05-01 12:00:00 UTC)),
            local_offset: offset!(+2),
            ..Options::default()
        };
        let s = run(log.as_bytes(), &Dialect::NginxError, &opts);
        assert_eq!(s.skipped.outside_window, 1);
        assert_eq!(s.matched, 2);
        assert_eq!(s.first_seen.as_deref(), Some("2026-05-01T13:59:59+02:00"));
        assert_eq!(
            s.groups[0].first_seen.as_deref(),
            Some("2026-05-01T14:00:00+02:00")
        );
        // read as UTC, all three are after the cut
        let opts = Options {
            since: Some(datetime!(2026-05-01 12:00:00 UTC)),
            ..Options::default()
        };
        assert_eq!(run(log.as_bytes(), &Dialect::NginxError, &opts).matched, 3);
    }

    #[test]
    fn since_uses_the_access_lines_own_offset() {
        let log = "\
1.2.3.4 - - [01/May/2026:13:59:59 +0200] \"GET / HTTP/1.1\" 502 1 \"-\" \"-\"
1.2.3.4 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 1 \"-\" \"-\"
1.2.3.4 - - [01/May/2026:08:00:00 -0400] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"
";
        let opts = Options {
            since: Some(datetime!(2026-05-01 12:00:00 UTC)),
            local_offset: offset!(+9), // ignored for access logs
            ..Options::default()
        };
        let s = run(
            log.as_bytes(),
            &Dialect::NginxAccess(AccessFormat::combined()),
            &opts,
        );
        assert_eq!(s.skipped.outside_window, 1);
        assert_eq!(s.matched, 1);
        assert_eq!(
            s.counts,
            vec![
                LogCount {
                    key: "200".into(),
                    count: 1
                },
                LogCount {
                    key: "502".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(s.first_seen.as_deref(), Some("2026-05-01T13:59:59+02:00"));
        assert_eq!(s.groups[0].class, LogClass::Status502);
        assert_eq!(s.groups[0].sample.line, 2);
    }

    #[test]
    fn access_summary_with_timings_and_reuse() {
        let fmt = AccessFormat::parse("t", "$remote_addr [$time_local] \"$request\" $status ua=$upstream_addr us=$upstream_status uct=$upstream_connect_time uht=$upstream_header_time").unwrap();
        let l = |st: &str, ua: &str, us: &str, c: &str, h: &str| {
            format!(
                "1.2.3.4 [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" {st} ua={ua} us={us} uct={c} uht={h}\n"
            )
        };
        let mut log = String::new();
        log.push_str(&l("200", "10.0.0.1:80", "200", "0.000", "0.010"));
        log.push_str(&l("502", "10.0.0.1:80", "502", "0.000", "-"));
        log.push_str(&l("502", "10.0.0.1:80", "502", "0.002", "-"));
        log.push_str(&l(
            "502",
            "10.0.0.9:80, 10.0.0.1:80",
            "502, 502",
            "-, 0.000",
            "-, -",
        ));
        log.push_str(&l("502", "backend", "502", "-", "-"));
        log.push_str(&l("500", "10.0.0.1:80", "500", "0.001", "0.002"));
        log.push_str(&l("503", "10.0.0.1:80", "503", "0.001", "0.002"));
        log.push_str(&l("499", "10.0.0.1:80", "-", "0.001", "-"));
        log.push_str(&l("404", "10.0.0.1:80", "404", "0.001", "0.002"));
        let s = run(
            log.as_bytes(),
            &Dialect::NginxAccess(fmt),
            &Options::default(),
        );
        assert_eq!(s.dialect, "nginx-access");
        assert_eq!(s.lines, 9);
        assert_eq!(s.matched, 7);
        assert_eq!(
            s.counts[0],
            LogCount {
                key: "502".into(),
                count: 4
            }
        );
        assert_eq!(s.counts.iter().map(|c| c.count).sum::<u64>(), 9);
        let nh: Vec<_> = s.groups_of(LogClass::Status502NoHeader).collect();
        assert_eq!(nh.len(), 1);
        assert_eq!(nh[0].count, 3);
        assert_eq!(nh[0].reused, Some(2));
        assert_eq!(nh[0].upstream.as_deref(), Some("10.0.0.1:80"));
        assert_eq!(nh[0].status, Some(502));
        assert_eq!(nh[0].detail.as_deref(), Some("upstream_status 502"));
        let nc: Vec<_> = s.groups_of(LogClass::Status502NoConnect).collect();
        assert_eq!(nc.len(), 1);
        assert_eq!(nc[0].upstream.as_deref(), Some("backend"));
        assert_eq!(nc[0].reused, Some(0));
        // 500 and 503 are both status-5xx but stay apart by status
        let x: Vec<_> = s.groups_of(LogClass::Status5xx).map(|g| g.status).collect();
        assert_eq!(x.len(), 2);
        assert!(x.contains(&Some(500)) && x.contains(&Some(503)));
        assert_eq!(s.count_of(LogClass::Status499), 1);
    }

    #[test]
    fn long_lines_binary_and_invalid_utf8() {
        let mut log = Vec::new();
        log.extend(vec![b'a'; 8 << 20]);
        log.push(b'\n');
        log.extend_from_slice(REFUSED.as_bytes());
        log.push(b'\n');
        log.extend_from_slice(b"2026/05/01 12:00:00 [error] 1#1: *1 \xff\xfe connect() failed\n");
        log.extend_from_slice(b"\x00\x01\x02binary\x00\n");
        // a too-long line whose head classifies
        let mut long = REFUSED.as_bytes().to_vec();
        long.extend(vec![b'z'; 100_000]);
        log.extend_from_slice(&long);
        log.push(b'\n');
        let s = run(&log, &Dialect::NginxError, &Options::default());
        assert_eq!(s.lines, 5);
        assert_eq!(s.skipped.too_long, 2);
        assert_eq!(s.skipped.invalid_utf8, 1);
        assert_eq!(s.skipped.binary, 1);
        assert_eq!(s.skipped.unparsed, 1, "the 8 MB line of 'a'");
        assert_eq!(s.matched, 2);
        assert_eq!(s.count_of(LogClass::ConnectRefused), 2);
        let g = &s.groups[0];
        assert_eq!(g.sample.line, 2);
        assert_eq!(s.bytes, log.len() as u64);
        // samples are capped at 1 KiB
        assert!(s.samples.iter().all(|t| t.len() <= 1024 + '…'.len_utf8()));
        assert!(s.samples[1].ends_with('…'));
    }

    #[test]
    fn group_cap_folds() {
        let mut log = String::new();
        for i in 0..10 {
            log.push_str(&err_line(
                "2026/05/01 12:00:00",
                "error",
                "connect() failed (111: Connection refused) while connecting to upstream",
                &format!("http://10.0.0.{i}:80/"),
            ));
        }
        let opts = Options {
            max_groups: 3,
            max_samples: 2,
            ..Options::default()
        };
        let s = run(log.as_bytes(), &Dialect::NginxError, &opts);
        assert_eq!(s.samples.len(), 2);
        assert_eq!(s.groups.len(), 4);
        assert_eq!(s.groups[0].count, 7);
        assert_eq!(s.groups[0].upstream, None);
        assert!(s.groups[0].detail.as_deref().unwrap().contains("3 groups"));
        assert_eq!(s.count_of(LogClass::ConnectRefused), 10);
    }

    #[test]
    fn samples_escape_controls() {
        let line = REFUSED.replace("GET / ", "GET /\\x01 ");
        let s = run(
            format!("{line}\n").as_bytes(),
            &Dialect::NginxError,
            &Options::default(),
        );
        assert_eq!(s.samples[0], line);
        assert_eq!(escape_line(b"a\x01", 10), "a\\x01");
    }
}
