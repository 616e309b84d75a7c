//! The crate's entry points: pick a log's dialect, read it with that dialect's classifier through
//! the one reading loop ([`crate::scan`]), and summarize it, a large plain file by two threads.

use crate::alb::AlbClassifier;
use crate::appgw::AppgwClassifier;
use crate::capture::{Capture, CriJoin};
use crate::cloudflare::CloudflareClassifier;
use crate::detect::{Dialect, FormatChoice, detect, detect_access, detect_mixed, sample_lines};
use crate::error::{LogError, Result};
use crate::mixed::{AccessSide, ErrorSide};
use crate::nginx_access::{AccessClassifier, AccessFormat};
use crate::nginx_error::ErrorClassifier;
use crate::reader::{looks_binary, open_counted};
use crate::scan::{Acc, Options, scan};
use cloud502_model::LogSummary;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes sniffed for detection.
pub(crate) const HEAD_CAP: usize = 64 * 1024;

/// How a stream is read: the prefix its capture added, and one dialect or one side of a stream
/// that interleaves nginx's error and access lines.
#[derive(Debug, Clone, Copy)]
enum Reading<'d> {
    Whole(Capture, &'d Dialect),
    ErrorSide(Capture),
    AccessSide(Capture, &'d AccessFormat),
}

/// Read a whole stream as `how` says; returns the running summary with the bytes read. A CRI
/// capture's partial records are joined first ([`CriJoin`]). `own`, when given, gets the count of
/// the error pass's own lines.
fn run<R: Read>(
    reader: R,
    how: Reading<'_>,
    opts: &Options,
    max_groups: usize,
    progress: &mut dyn FnMut(u64),
    own: Option<&mut u64>,
) -> io::Result<(Acc, u64)> {
    let capture = match how {
        Reading::Whole(c, _) | Reading::ErrorSide(c) | Reading::AccessSide(c, _) => c,
    };
    if capture != Capture::Cri {
        return run_lines(reader, how, opts, max_groups, progress, own);
    }
    let joined = CriJoin::new(reader, opts.max_line);
    let read = joined.read_bytes();
    let (acc, _) = run_lines(joined, how, opts, max_groups, progress, own)?;
    // the bytes of the stream, not of the joined lines
    Ok((acc, read.get()))
}

/// [`run`] on lines as they are.
fn run_lines<R: Read>(
    reader: R,
    how: Reading<'_>,
    opts: &Options,
    max_groups: usize,
    progress: &mut dyn FnMut(u64),
    own: Option<&mut u64>,
) -> io::Result<(Acc, u64)> {
    let (capture, dialect) = match how {
        Reading::Whole(c, d) => (c, d),
        Reading::ErrorSide(c) => {
            let side = ErrorSide::new(ErrorClassifier::new(opts.local_offset));
            let count = side.own();
            let r = scan(reader, c, side, opts, max_groups, progress);
            if let Some(own) = own {
                *own = count.get();
            }
            return r;
        }
        Reading::AccessSide(c, f) => {
            return scan(reader, c, AccessSide::new(f), opts, max_groups, progress);
        }
    };
    match dialect {
        Dialect::NginxError => scan(
            reader,
            capture,
            ErrorClassifier::new(opts.local_offset),
            opts,
            max_groups,
            progress,
        ),
        Dialect::NginxAccess(f) => scan(
            reader,
            capture,
            AccessClassifier::new(f),
            opts,
            max_groups,
            progress,
        ),
        Dialect::AlbAccess => scan(
            reader,
            capture,
            AlbClassifier::default(),
            opts,
            max_groups,
            progress,
        ),
        Dialect::AppgwAccess => scan(
            reader,
            capture,
            AppgwClassifier::default(),
            opts,
            max_groups,
            progress,
        ),
        Dialect::CloudflareHttpRequests => scan(
            reader,
            capture,
            CloudflareClassifier::default(),
            opts,
            max_groups,
            progress,
        ),
        Dialect::CloudflareCsv(layout) => scan(
            reader,
            capture,
            CloudflareClassifier::csv(layout.clone()),
            opts,
            max_groups,
            progress,
        ),
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
    let how = Reading::Whole(Capture::Plain, dialect);
    let (acc, bytes) =
        run(reader, how, opts, opts.max_groups, progress, None).map_err(|e| LogError::Read {
            path: source.to_string(),
            source: e,
        })?;
    Ok(acc.finish(id, source, dialect.name(), bytes))
}

/// Plain files at least this big are read by two threads.
const PARALLEL_MIN: u64 = 16 << 20;
/// How far past the middle of a file a line break is looked for before giving up splitting it.
const SPLIT_SEARCH: u64 = 4 << 20;

/// The dialect to read `path` as, from the user's choice and (when needed) the head.
fn choose_dialect(
    path: &Path,
    source: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    head: &[u8],
) -> Result<Dialect> {
    Ok(match choice {
        FormatChoice::NginxError => Dialect::NginxError,
        FormatChoice::AlbAccess => Dialect::AlbAccess,
        FormatChoice::AppgwAccess => Dialect::AppgwAccess,
        // a CSV file's header line names its columns (for a second thread that starts past it)
        FormatChoice::CloudflareHttpRequests => match detect(head, &[]) {
            Some(csv @ Dialect::CloudflareCsv(_)) => csv,
            _ => Dialect::CloudflareHttpRequests,
        },
        FormatChoice::NginxAccess => Dialect::NginxAccess(match access_formats {
            // the built-in formats (and JSON lines) are known without being named
            [] => detect_access(head, &[]).unwrap_or_else(AccessFormat::combined),
            [one] => one.clone(),
            many => detect_access(head, many).unwrap_or_else(|| many[0].clone()),
        }),
        FormatChoice::Auto if head.is_empty() => {
            let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
            let full = path.to_string_lossy().to_lowercase();
            if full.contains("applicationgatewayaccesslog") {
                // Storage account blobs: insights-logs-applicationgatewayaccesslog/.../PT1H.json
                Dialect::AppgwAccess
            } else if full.contains("http_requests") {
                // Logpush destinations are commonly prefixed with the dataset name
                Dialect::CloudflareHttpRequests
            } else if name
                .as_ref()
                .is_some_and(|n| n.contains("elasticloadbalancing"))
            {
                // S3 delivery names: ACCOUNT_elasticloadbalancing_REGION_app.NAME.ID_....log.gz
                Dialect::AlbAccess
            } else if name.is_some_and(|n| n.contains("access")) {
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
            if looks_binary(head, head.len() == HEAD_CAP) {
                return Err(LogError::NotText {
                    path: source.to_string(),
                });
            }
            detect(head, access_formats).ok_or_else(|| LogError::UnknownFormat {
                path: source.to_string(),
            })?
        }
    })
}

/// Open a file (gunzipping it when it is gzip), pick the dialect, and summarize it.
///
/// With [`FormatChoice::Auto`] the first 64 KiB are sniffed ([`detect`]) and the same stream is then
/// read on; a binary head is [`LogError::NotText`], an unrecognised one
/// [`LogError::UnknownFormat`]. An empty file is summarized as empty (an AppGW access log when its
/// path contains `applicationgatewayaccesslog`, as Storage account blobs do, a Cloudflare
/// `http_requests` log when it contains `http_requests`, an ALB access log when
/// its name contains `elasticloadbalancing`, an nginx access log when it contains `access`, else
/// an error log). With [`FormatChoice::NginxAccess`] and several candidate formats, the head picks
/// among them. `progress` gets the bytes read from the file (compressed bytes for a .gz).
///
/// A plain (not gzip) regular file of 16 MiB or more is read by two threads, each on one half
/// split at a line break; the halves' summaries are merged. Line numbers, counts and samples are
/// exactly those of a sequential read. Only when there are more distinct groups than
/// [`Options::max_groups`] can the choice of which groups are folded differ (the second half keeps
/// up to twice the cap before folding; per-class totals are exact either way).
pub fn summarize_path(
    path: &Path,
    id: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<LogSummary> {
    let all = summarize_path_all(path, id, choice, access_formats, opts, progress)?;
    first(all, path)
}

/// [`summarize_path`], for every log the file holds: one summary, or two when it interleaves
/// nginx's error and access lines (a `docker logs` stream; found by [`FormatChoice::Auto`]), the
/// error log's first (`id`) and the access log's second (`id` + `.access`). Lines behind a capture
/// prefix (`docker logs -t`, CRI, `journalctl`, `docker compose logs`) are read without it. The
/// path `-` is standard input, read whole up to [`STDIN_CAP`].
pub fn summarize_path_all(
    path: &Path,
    id: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<LogSummary>> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    summarize_path_all_with(
        path,
        id,
        choice,
        access_formats,
        opts,
        progress,
        parts,
        PARALLEL_MIN,
    )
}

#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn summarize_path_with(
    path: &Path,
    id: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    opts: &Options,
    progress: &mut dyn FnMut(u64),
    parts: usize,
    parallel_min: u64,
) -> Result<LogSummary> {
    let all = summarize_path_all_with(
        path,
        id,
        choice,
        access_formats,
        opts,
        progress,
        parts,
        parallel_min,
    )?;
    first(all, path)
}

/// The first of a file's summaries (there is always one).
fn first(all: Vec<LogSummary>, path: &Path) -> Result<LogSummary> {
    all.into_iter()
        .next()
        .ok_or_else(|| LogError::UnknownFormat {
            path: path.display().to_string(),
        })
}

/// Standard input (`-`) is read whole before it is summarized (its head decides the dialect and
/// a mixed stream is read twice), so it is capped: a longer capture belongs in a file.
pub const STDIN_CAP: u64 = 256 << 20;

/// The name standard input is given in reports.
const STDIN_NAME: &str = "-";

/// Standard input, whole (gunzipped when it is gzip), up to [`STDIN_CAP`].
fn read_stdin() -> Result<Vec<u8>> {
    let err = |e: io::Error| LogError::Read {
        path: "standard input".to_owned(),
        source: e,
    };
    let mut raw = Vec::new();
    io::stdin()
        .lock()
        .take(STDIN_CAP + 1)
        .read_to_end(&mut raw)
        .map_err(err)?;
    let mut data = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .take(STDIN_CAP + 1)
            .read_to_end(&mut out)
            .map_err(err)?;
        out
    } else {
        raw
    };
    if data.len() as u64 > STDIN_CAP {
        return Err(LogError::NotRegular {
            path: STDIN_NAME.to_owned(),
            what: format!("(standard input) is longer than {} MiB", STDIN_CAP >> 20),
            hint: "save the lines to a file and pass its path".to_owned(),
        });
    }
    data.shrink_to_fit();
    Ok(data)
}

/// The head's lines without the capture's prefix, one per line again, for detection.
fn stripped_head(head: &[u8], capture: Capture) -> Vec<u8> {
    if capture == Capture::Plain {
        return head.to_vec();
    }
    let joined;
    let head = if capture == Capture::Cri {
        let mut j = Vec::with_capacity(head.len());
        // reading from memory cannot fail
        let _ = CriJoin::new(head, HEAD_CAP).read_to_end(&mut j);
        // a head cut inside a record stays cut: its last line is not sampled
        if !head.ends_with(b"\n") {
            let keep = j[..j.len().saturating_sub(1)]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            j.truncate(keep);
        }
        joined = j;
        &joined[..]
    } else {
        head
    };
    let mut out = Vec::with_capacity(head.len());
    for line in head.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(capture.strip(line));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn summarize_path_all_with(
    path: &Path,
    id: &str,
    choice: FormatChoice,
    access_formats: &[AccessFormat],
    opts: &Options,
    progress: &mut dyn FnMut(u64),
    parts: usize,
    parallel_min: u64,
) -> Result<Vec<LogSummary>> {
    let stdin = path.as_os_str() == STDIN_NAME;
    let source = if stdin {
        STDIN_NAME.to_owned()
    } else {
        path.display().to_string()
    };
    let read_err = |e: io::Error| LogError::Read {
        path: source.clone(),
        source: e,
    };
    let counter = Arc::new(AtomicU64::new(0));
    let (mut reader, data): (Box<dyn Read + Send>, Option<Vec<u8>>) = if stdin {
        (Box::new(io::empty()), Some(read_stdin()?))
    } else {
        (open_counted(path, Some(Arc::clone(&counter)))?, None)
    };
    // every dialect needs the head: it tells how the lines were captured
    let mut head = Vec::new();
    match &data {
        Some(d) => head.extend_from_slice(&d[..d.len().min(HEAD_CAP)]),
        None => {
            (&mut reader)
                .take(HEAD_CAP as u64)
                .read_to_end(&mut head)
                .map_err(read_err)?;
        }
    }
    let capture = Capture::detect(&sample_lines(&head));
    let sniff = stripped_head(&head, capture);
    let mixed = match choice {
        FormatChoice::Auto => detect_mixed(&sniff, access_formats),
        _ => None,
    };
    if let Some(format) = mixed {
        drop(reader);
        let access_id = format!("{id}.access");
        let mut out: Vec<LogSummary> = Vec::with_capacity(2);
        let mut own = 0;
        for (how, id, name) in [
            (Reading::ErrorSide(capture), id, "nginx-error"),
            (
                Reading::AccessSide(capture, &format),
                access_id.as_str(),
                "nginx-access",
            ),
        ] {
            let reader: Box<dyn Read + Send> = match &data {
                Some(d) => Box::new(io::Cursor::new(d.as_slice())),
                None => open_counted(path, None)?,
            };
            let error_side = matches!(how, Reading::ErrorSide(_));
            let (acc, bytes) = run(
                reader,
                how,
                opts,
                opts.max_groups,
                progress,
                error_side.then_some(&mut own),
            )
            .map_err(read_err)?;
            let mut summary = acc.finish(id, &source, name, bytes);
            // each line is counted once, under its own dialect: the error pass's lines are its
            // own; all others (access lines, the controller's own lines, blank, binary and
            // too-long lines) are the access pass's, so the two add up to the stream's lines
            if error_side {
                summary.lines = own;
                summary.skipped.too_long = 0;
                summary.skipped.binary = 0;
                summary.skipped.invalid_utf8 = 0;
            } else {
                summary.lines = summary.lines.saturating_sub(own);
            }
            out.push(summary);
        }
        return Ok(out);
    }
    let dialect = choose_dialect(path, &source, choice, access_formats, &sniff)?;
    // a CRI capture's partial records may straddle any split point
    if parts > 1 && data.is_none() && capture != Capture::Cri {
        if let Some(split) = split_point(path, parallel_min).map_err(read_err)? {
            drop(reader);
            let how = Reading::Whole(capture, &dialect);
            let (acc, bytes) = run_split(path, how, opts, progress, split).map_err(read_err)?;
            return Ok(vec![acc.finish(id, &source, dialect.name(), bytes)]);
        }
    }
    let how = Reading::Whole(capture, &dialect);
    let (acc, bytes) = match data {
        Some(d) => run(
            io::Cursor::new(d),
            how,
            opts,
            opts.max_groups,
            progress,
            None,
        ),
        None => {
            let stream = io::Cursor::new(head).chain(reader);
            let mut report = |_: u64| progress(counter.load(Ordering::Relaxed));
            run(stream, how, opts, opts.max_groups, &mut report, None)
        }
    }
    .map_err(read_err)?;
    Ok(vec![acc.finish(id, &source, dialect.name(), bytes)])
}

/// Where to split a plain file in two at a line break near its middle, when it is worth it.
fn split_point(path: &Path, parallel_min: u64) -> io::Result<Option<u64>> {
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() || meta.len() < parallel_min.max(2) {
        return Ok(None);
    }
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic)?;
    if magic == [0x1f, 0x8b] {
        return Ok(None);
    }
    let mid = meta.len() / 2;
    f.seek(SeekFrom::Start(mid))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = mid;
    while pos < mid + SPLIT_SEARCH {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            let split = pos + i as u64 + 1;
            return Ok((split < meta.len()).then_some(split));
        }
        pos += n as u64;
    }
    Ok(None)
}

/// Summarize `[0, split)` on this thread and `[split, end)` on another, then merge.
fn run_split(
    path: &Path,
    how: Reading<'_>,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
    split: u64,
) -> io::Result<(Acc, u64)> {
    let first = File::open(path)?.take(split);
    let mut second = File::open(path)?;
    second.seek(SeekFrom::Start(split))?;
    let done_b = AtomicU64::new(0);
    let (finished, wait) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // the second half keeps more groups, so that the merge folds exactly the groups a
        // sequential read would (unless it alone has more than twice the cap)
        let b = scope.spawn(|| {
            let r = run(
                second,
                how,
                opts,
                opts.max_groups.saturating_mul(2),
                &mut |n| {
                    done_b.store(n, Ordering::Relaxed);
                },
                None,
            );
            // the receiver may be gone if this thread outlives an error on the other half
            let _ = finished.send(());
            r
        });
        let a = run(
            first,
            how,
            opts,
            opts.max_groups,
            &mut |n| {
                progress(n + done_b.load(Ordering::Relaxed));
            },
            None,
        );
        // keep reporting while the other half finishes
        let mut a_bytes = a.as_ref().map_or(0, |r| r.1);
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            wait.recv_timeout(std::time::Duration::from_millis(100))
        {
            progress(a_bytes + done_b.load(Ordering::Relaxed));
        }
        let b = b
            .join()
            .map_err(|_| io::Error::other("the reader thread panicked"))?;
        let (mut acc, bytes_a) = a?;
        let (acc_b, bytes_b) = b?;
        let offset = acc.lines();
        acc.merge(acc_b, offset);
        a_bytes = bytes_a + bytes_b;
        progress(a_bytes);
        Ok((acc, a_bytes))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::reader::escape_line;
    use cloud502_model::{LogClass, LogCount};
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

    /// The two-thread path must give exactly the single-thread summary, line numbers included.
    #[test]
    fn split_reading_matches_sequential() {
        let dir = tempfile::tempdir().unwrap();
        let msgs = [
            "connect() failed (111: Connection refused) while connecting to upstream",
            "upstream prematurely closed connection while reading response header from upstream",
            "upstream timed out (110: Connection timed out) while reading response header from upstream",
        ];
        let mut log = String::new();
        for i in 0..3000 {
            let t = format!("2026/05/01 12:{:02}:{:02}", (i / 60) % 60, i % 60);
            match i % 7 {
                0 => log.push_str("garbage line\n"),
                1 => log.push_str(&format!("{t} [notice] 1#1: signal process started\n")),
                _ => log.push_str(&err_line(
                    &t,
                    "error",
                    msgs[i % 3],
                    &format!("http://10.0.{}.{}:80/", i % 5, i % 11),
                )),
            }
        }
        let path = dir.path().join("error.log");
        std::fs::write(&path, &log).unwrap();
        for (max_groups, max_samples) in [(256, 5), (7, 3), (0, 0)] {
            let opts = Options {
                max_groups,
                max_samples,
                ..Options::default()
            };
            let one = summarize_path_with(
                &path,
                "l",
                FormatChoice::Auto,
                &[],
                &opts,
                &mut |_| {},
                1,
                0,
            )
            .unwrap();
            let mut last = 0;
            let two = summarize_path_with(
                &path,
                "l",
                FormatChoice::Auto,
                &[],
                &opts,
                &mut |n| {
                    assert!(n >= last, "progress goes forward");
                    last = n;
                },
                2,
                0,
            )
            .unwrap();
            assert_eq!(last, log.len() as u64);
            if max_groups == 7 {
                // more distinct groups than the cap: which are folded may differ, totals may not
                assert_eq!(
                    (one.lines, one.matched, one.skipped),
                    (two.lines, two.matched, two.skipped)
                );
                assert_eq!((&one.counts, &one.samples), (&two.counts, &two.samples));
                for c in LogClass::ALL {
                    assert_eq!(one.count_of(*c), two.count_of(*c));
                }
                assert!(two.groups.len() <= 7 + 3);
            } else {
                assert_eq!(one, two, "max_groups {max_groups}");
            }
            assert_eq!(one.lines, 3000);
            assert!(one.matched > 2000);
        }
    }

    /// One ALB S3 line: `t` is the second of 2026-11-20T10:15:SS, then target, times, statuses,
    /// error_reason.
    fn alb(t: u32, target: &str, times: &str, elb: u16, tgt: &str, reason: &str) -> String {
        format!(
            "https 2026-11-20T10:15:{t:02}.{t:06}Z app/web/50dc6c495c0c9188 203.0.113.7:51234 {target} {times} {elb} {tgt} 210 272 \"GET https://shop.example.com:443/x HTTP/1.1\" \"curl/8.5.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-6560e6a6-0123456789abcdef01234567\" \"shop.example.com\" \"-\" 1 2026-11-20T10:15:{t:02}.000000Z \"forward\" \"-\" \"{reason}\" \"{target}\" \"{tgt}\" \"-\" \"-\"\n"
        )
    }

    fn alb_incident() -> String {
        let mut log = String::new();
        log.push_str(&alb(
            1,
            "10.0.1.12:8080",
            "0.000 0.010 0.000",
            200,
            "200",
            "-",
        ));
        log.push_str(&alb(3, "10.0.1.12:8080", "-1 -1 -1", 502, "-", "-"));
        log.push_str(&alb(5, "10.0.1.13:8080", "0.000 -1 -1", 502, "-", "-"));
        log.push_str(&alb(7, "10.0.1.12:8080", "-1 -1 -1", 502, "-", "-"));
        log.push_str(&alb(
            8,
            "10.0.1.14:8080",
            "0.000 0.003 0.000",
            502,
            "502",
            "-",
        ));
        log.push_str("garbage\n");
        log.push_str(&alb(
            9,
            "10.0.1.14:8080",
            "0.000 0.010 0.000",
            200,
            "200",
            "-",
        ));
        log.push_str(&alb(20, "10.0.1.14:8080", "0.000 -1 -1", 504, "-", "-"));
        log.push_str(&alb(
            22,
            "-",
            "0.000 0.001 0.000",
            502,
            "-",
            "LambdaInvalidResponse",
        ));
        log.push_str(&alb(2, "10.0.1.12:8080", "-1 -1 -1", 502, "-", "-"));
        log
    }

    #[test]
    fn alb_summary() {
        let log = alb_incident();
        let s = run(log.as_bytes(), &Dialect::AlbAccess, &Options::default());
        assert_eq!(s.dialect, "alb-access");
        assert_eq!(s.lines, 10);
        assert_eq!(s.skipped.unparsed, 1);
        assert_eq!(s.matched, 7);
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:15:01Z"));
        assert_eq!(s.last_seen.as_deref(), Some("2026-11-20T10:15:22Z"));
        let count = |k: &str| s.counts.iter().find(|c| c.key == k).map(|c| c.count);
        assert_eq!(count("502"), Some(6));
        assert_eq!(count("200"), Some(2));
        assert_eq!(count("504"), Some(1));
        assert_eq!(s.counts.len(), 3);
        assert_eq!(s.counts[0].key, "502");

        assert_eq!(s.groups.len(), 5);
        let g = &s.groups[0];
        assert_eq!(g.class, LogClass::Status502NoConnect);
        assert_eq!(g.upstream.as_deref(), Some("10.0.1.12:8080"));
        assert_eq!(g.status, Some(502));
        assert_eq!(g.count, 3);
        assert_eq!(g.detail, None);
        assert_eq!(g.level, None);
        assert_eq!(g.reused, None);
        assert_eq!(g.first_seen.as_deref(), Some("2026-11-20T10:15:02Z"));
        assert_eq!(g.last_seen.as_deref(), Some("2026-11-20T10:15:07Z"));
        assert_eq!(g.sample.line, 2);
        assert!(g.sample.text.contains(" -1 -1 -1 502 - "));

        let one = |c: LogClass| {
            let v: Vec<_> = s.groups_of(c).collect();
            assert_eq!(v.len(), 1, "{c}");
            v[0].clone()
        };
        let nh = one(LogClass::Status502NoHeader);
        assert_eq!(nh.upstream.as_deref(), Some("10.0.1.13:8080"));
        assert_eq!((nh.count, nh.sample.line), (1, 3));
        let fu = one(LogClass::Status502FromUpstream);
        assert_eq!(fu.upstream.as_deref(), Some("10.0.1.14:8080"));
        assert_eq!(fu.first_seen.as_deref(), Some("2026-11-20T10:15:08Z"));
        let to = one(LogClass::Status504);
        assert_eq!(
            (to.status, to.upstream.as_deref()),
            (Some(504), Some("10.0.1.14:8080"))
        );
        let la = one(LogClass::LambdaError);
        assert_eq!(la.upstream, None);
        assert_eq!(la.status, Some(502));
        assert_eq!(la.detail.as_deref(), Some("LambdaInvalidResponse"));
        assert_eq!(la.last_seen.as_deref(), Some("2026-11-20T10:15:22Z"));
        assert_eq!(s.samples.len(), 5);
        assert!(s.samples[0].contains("10.0.1.12:8080 -1 -1 -1 502"));
    }

    #[test]
    fn alb_since_excludes_old_lines() {
        let log = alb_incident();
        let opts = Options {
            since: Some(datetime!(2026-11-20 10:15:07.5 UTC)),
            local_offset: offset!(+2), // ignored: ALB times carry their own
            ..Options::default()
        };
        let s = run(log.as_bytes(), &Dialect::AlbAccess, &opts);
        // 10:15:07.000007 rounds down to :07, before the cut at :08
        assert_eq!(s.skipped.outside_window, 5);
        assert_eq!(s.matched, 3);
        assert_eq!(s.counts.iter().map(|c| c.count).sum::<u64>(), 4);
        assert_eq!(s.count_of(LogClass::Status502NoConnect), 0);
        assert_eq!(s.count_of(LogClass::Status502FromUpstream), 1);
        assert_eq!(s.count_of(LogClass::LambdaError), 1);
        // the file's span still covers every dated line
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:15:01Z"));
    }

    #[test]
    fn alb_split_reading_matches_sequential() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = String::new();
        for _ in 0..200 {
            log.push_str(&alb_incident());
        }
        let path = dir.path().join("alb.log");
        std::fs::write(&path, &log).unwrap();
        let opts = Options::default();
        let go = |parts| {
            summarize_path_with(
                &path,
                "l",
                FormatChoice::Auto,
                &[],
                &opts,
                &mut |_| {},
                parts,
                0,
            )
            .unwrap()
        };
        let (one, two) = (go(1), go(2));
        assert_eq!(one, two);
        assert_eq!(one.dialect, "alb-access");
        assert_eq!(one.lines, 2000);
        assert_eq!(one.matched, 1400);
        let explicit = summarize_path_with(
            &path,
            "l",
            FormatChoice::AlbAccess,
            &[],
            &opts,
            &mut |_| {},
            2,
            0,
        )
        .unwrap();
        assert_eq!(explicit, one);
    }

    /// One AppGW record at 2026-11-20T10:00:SS: a diagnostic-setting record when `diag`, else a
    /// flat `AGWAccessLogs` row.
    fn agw(
        diag: bool,
        t: u32,
        client: &str,
        status: u16,
        server: &str,
        routed: &str,
        err: &str,
    ) -> String {
        if diag {
            format!(
                "{{\"time\":\"2026-11-20T10:00:{t:02}.123Z\",\"category\":\"ApplicationGatewayAccessLog\",\"operationName\":\"ApplicationGatewayAccess\",\"backendPoolName\":\"pool-a\",\"properties\":{{\"clientIP\":\"{client}\",\"httpStatus\":{status},\"serverStatus\":\"{server}\",\"serverRouted\":\"{routed}\",\"error_info\":\"{err}\"}}}}\n"
            )
        } else {
            format!(
                "{{\"TimeGenerated\":\"2026-11-20T10:00:{t:02}.1234567Z\",\"HttpStatus\":\"{status}\",\"ServerStatus\":\"{server}\",\"ServerRouted\":\"{routed}\",\"ErrorInfo\":\"{err}\",\"ClientIp\":\"{client}\"}}\n"
            )
        }
    }

    const CLOSED: &str = "ERRORINFO_UPSTREAM_CLOSED_CONNECTION";

    fn appgw_incident() -> String {
        let c = "203.0.113.9";
        let mut log = String::new();
        log.push_str(&agw(true, 1, c, 200, "200", "10.0.1.4:443", ""));
        log.push_str(&agw(true, 2, c, 502, "-", "10.0.1.4:443", CLOSED));
        log.push_str(&agw(false, 3, c, 502, "", "10.0.1.4:443", CLOSED));
        log.push_str(&agw(
            true,
            4,
            c,
            502,
            "-",
            "-",
            "ERRORINFO_UPSTREAM_NO_LIVE",
        ));
        log.push_str(&agw(true, 5, "127.0.0.1", 502, "502", "10.0.1.5:80", ""));
        log.push_str("garbage\n");
        log.push_str(&agw(false, 6, c, 502, "502", "10.0.1.5:80", ""));
        // unknown error_info values stay apart, by reason and from plain 502s
        log.push_str(&agw(true, 7, c, 502, "-", "10.0.1.5:80", "ERRORINFO_A"));
        log.push_str(&agw(true, 8, c, 502, "-", "10.0.1.5:80", "ERRORINFO_B"));
        log.push_str(&agw(false, 9, c, 502, "-", "10.0.1.5:80", ""));
        log.push_str(&agw(
            true,
            20,
            c,
            504,
            "-",
            "10.0.1.4:443",
            "ERRORINFO_UPSTREAM_TIMED_OUT",
        ));
        log.push_str(&agw(false, 21, c, 404, "404", "10.0.1.4:443", ""));
        log
    }

    #[test]
    fn appgw_summary() {
        let log = appgw_incident();
        let s = run(log.as_bytes(), &Dialect::AppgwAccess, &Options::default());
        assert_eq!(s.dialect, "appgw-access");
        assert_eq!(s.lines, 12);
        assert_eq!(s.skipped.unparsed, 1);
        assert_eq!(s.skipped.outside_window, 0);
        assert_eq!(s.matched, 8);
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:01Z"));
        assert_eq!(s.last_seen.as_deref(), Some("2026-11-20T10:00:21Z"));
        let counts: Vec<(&str, u64)> = s.counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
        assert_eq!(counts, [("502", 7), ("200", 1), ("404", 1), ("504", 1)]);

        assert_eq!(s.groups.len(), 7);
        let g = &s.groups[0];
        assert_eq!(g.class, LogClass::PrematureClose);
        assert_eq!(g.upstream.as_deref(), Some("10.0.1.4:443"));
        assert_eq!((g.count, g.status, g.sample.line), (2, Some(502), 2));
        assert_eq!(g.detail.as_deref(), Some(CLOSED));
        assert_eq!((g.level.as_deref(), g.reused), (None, None));
        assert_eq!(g.first_seen.as_deref(), Some("2026-11-20T10:00:02Z"));
        assert_eq!(g.last_seen.as_deref(), Some("2026-11-20T10:00:03Z"));

        let one = |c: LogClass| {
            let v: Vec<_> = s.groups_of(c).collect();
            assert_eq!(v.len(), 1, "{c}");
            v[0].clone()
        };
        let nl = one(LogClass::NoLiveUpstreams);
        assert_eq!((nl.upstream, nl.status, nl.count), (None, Some(502), 1));
        assert_eq!(nl.detail.as_deref(), Some("ERRORINFO_UPSTREAM_NO_LIVE"));
        let fu = one(LogClass::Status502FromUpstream);
        assert_eq!(fu.upstream.as_deref(), Some("10.0.1.5:80"));
        assert_eq!((fu.count, fu.sample.line, fu.detail), (1, 7, None));
        let to = one(LogClass::ReadTimeout);
        assert_eq!(
            (to.upstream.as_deref(), to.status, to.detail.as_deref()),
            (
                Some("10.0.1.4:443"),
                Some(504),
                Some("ERRORINFO_UPSTREAM_TIMED_OUT")
            )
        );
        let plain: Vec<_> = s.groups_of(LogClass::Status502).collect();
        assert_eq!(plain.len(), 3);
        for g in &plain {
            assert_eq!((g.upstream.as_deref(), g.count), (Some("10.0.1.5:80"), 1));
        }
        let details: Vec<_> = plain.iter().map(|g| g.detail.as_deref()).collect();
        assert_eq!(details, [Some("ERRORINFO_A"), Some("ERRORINFO_B"), None]);
        // the internal 502 is nowhere
        assert!(s.samples.iter().all(|l| !l.contains("127.0.0.1")));
        assert!(s.groups.iter().all(|g| g.sample.line != 5));
    }

    #[test]
    fn appgw_since_excludes_old_records() {
        let log = appgw_incident();
        let opts = Options {
            since: Some(datetime!(2026-11-20 10:00:03.5 UTC)),
            ..Options::default()
        };
        let s = run(log.as_bytes(), &Dialect::AppgwAccess, &opts);
        // :01, :02, :03 are before the cut at :04; the internal record is not counted at all
        assert_eq!(s.skipped.outside_window, 3);
        assert_eq!(s.matched, 6);
        assert_eq!(s.count_of(LogClass::PrematureClose), 0);
        assert_eq!(s.count_of(LogClass::NoLiveUpstreams), 1);
        assert_eq!(s.count_of(LogClass::ReadTimeout), 1);
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:01Z"));
    }

    #[test]
    fn appgw_split_reading_matches_sequential() {
        let dir = tempfile::tempdir().unwrap();
        let log = appgw_incident().repeat(200);
        let path = dir.path().join("appgw.json");
        std::fs::write(&path, &log).unwrap();
        let opts = Options::default();
        let go = |choice, parts| {
            summarize_path_with(&path, "l", choice, &[], &opts, &mut |_| {}, parts, 0).unwrap()
        };
        let one = go(FormatChoice::Auto, 1);
        assert_eq!(one, go(FormatChoice::Auto, 2));
        assert_eq!(one, go(FormatChoice::AppgwAccess, 2));
        assert_eq!(one.dialect, "appgw-access");
        assert_eq!(one.lines, 2400);
        assert_eq!(one.matched, 1600);
        assert_eq!(one.groups.len(), 7);
    }

    #[test]
    fn empty_appgw_blob_is_named_like_one() {
        let dir = tempfile::tempdir().unwrap();
        let blob = dir
            .path()
            .join("insights-logs-applicationgatewayaccesslog/resourceId=/SUBSCRIPTIONS/X/APPLICATIONGATEWAYS/GW1/y=2026/m=11/d=20/h=10/m=00");
        std::fs::create_dir_all(&blob).unwrap();
        let blob = blob.join("PT1H.json");
        std::fs::write(&blob, "").unwrap();
        let s = summarize_path(
            &blob,
            "l",
            FormatChoice::Auto,
            &[],
            &Options::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((s.dialect.as_str(), s.lines), ("appgw-access", 0));
    }

    #[test]
    fn cloudflare_split_reading_matches_sequential() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cloudflare-http-requests.log");
        let log = std::fs::read_to_string(fixture).unwrap().repeat(200);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http_requests.log");
        std::fs::write(&path, &log).unwrap();
        let opts = Options::default();
        let go = |choice, parts| {
            summarize_path_with(&path, "l", choice, &[], &opts, &mut |_| {}, parts, 0).unwrap()
        };
        let one = go(FormatChoice::Auto, 1);
        assert_eq!(one, go(FormatChoice::Auto, 2));
        assert_eq!(one, go(FormatChoice::CloudflareHttpRequests, 2));
        assert_eq!(one.dialect, "cloudflare-http-requests");
        assert_eq!((one.lines, one.matched), (6000, 3400));
        assert_eq!(one.skipped.unparsed, 200);
        assert_eq!(one.groups.len(), 7);
    }

    /// A CSV Logpush file read by two threads: the second, which starts past the header line,
    /// reads its rows by the head's header all the same.
    #[test]
    fn cloudflare_csv_split_reading_matches_sequential() {
        let mut log = String::from(
            "EdgeStartTimestamp,EdgeResponseStatus,OriginResponseStatus,OriginIP,EdgeColoCode,RayID\n",
        );
        for i in 0..3000 {
            let (edge, origin) = [(200, 200), (502, 502), (522, 0)][i % 3];
            log.push_str(&format!(
                "\"2026-11-20T10:{:02}:00Z\",{edge},{origin},\"203.0.113.10\",\"SJC\",\"{i:016x}\"\n",
                i % 60
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http_requests.csv");
        std::fs::write(&path, &log).unwrap();
        let opts = Options::default();
        let go = |choice, parts| {
            summarize_path_with(&path, "l", choice, &[], &opts, &mut |_| {}, parts, 0).unwrap()
        };
        let one = go(FormatChoice::Auto, 1);
        assert_eq!(one, go(FormatChoice::Auto, 2));
        assert_eq!(one, go(FormatChoice::CloudflareHttpRequests, 2));
        assert_eq!(
            (one.lines, one.matched, one.skipped.unparsed),
            (3001, 2000, 0)
        );
    }

    #[test]
    fn cloudflare_groups_fold_past_the_cap() {
        // one group per (origin, colo): past the cap, lines fold into one group per class/status
        let mut log = String::new();
        for i in 0..10 {
            log.push_str(&format!(
                "{{\"EdgeResponseStatus\":522,\"OriginResponseStatus\":0,\"OriginIP\":\"203.0.113.{i}\",\"EdgeColoCode\":\"SJC\"}}\n"
            ));
        }
        // no colo: no detail, and kept apart from the SJC groups
        log.push_str("{\"EdgeResponseStatus\":522,\"OriginResponseStatus\":0,\"OriginIP\":\"203.0.113.0\"}\n");
        // no edge status: read, not counted
        log.push_str(
            "{\"RayID\":\"8e4f1c2a3b5d6e7f\",\"EdgeStartTimestamp\":1795168801123456789}\n",
        );
        let opts = Options {
            max_groups: 4,
            ..Options::default()
        };
        let s = run(log.as_bytes(), &Dialect::CloudflareHttpRequests, &opts);
        assert_eq!((s.lines, s.matched, s.skipped.unparsed), (12, 11, 0));
        assert_eq!(s.counts.len(), 1);
        assert_eq!((s.counts[0].key.as_str(), s.counts[0].count), ("522", 11));
        assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:01Z"));
        assert_eq!(s.groups.len(), 5);
        let folded = &s.groups[0];
        assert_eq!((folded.count, folded.upstream.as_deref()), (7, None));
        assert!(folded.detail.as_deref().unwrap().contains("4 groups"));
        for g in &s.groups[1..] {
            assert_eq!(
                (g.class, g.status, g.count),
                (LogClass::EdgeError, Some(522), 1)
            );
            assert_eq!(g.detail.as_deref(), Some("colo SJC"));
        }
        let s = run(
            log.as_bytes(),
            &Dialect::CloudflareHttpRequests,
            &Options::default(),
        );
        assert_eq!(s.groups.len(), 11);
        let bare: Vec<_> = s.groups.iter().filter(|g| g.detail.is_none()).collect();
        assert_eq!(bare.len(), 1);
        assert_eq!(bare[0].upstream.as_deref(), Some("203.0.113.0"));
        assert_eq!(bare[0].sample.line, 11);
    }

    #[test]
    fn empty_logpush_object_is_named_like_one() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path().join("http_requests/20261120");
        std::fs::create_dir_all(&obj).unwrap();
        let obj = obj.join("20261120T100000Z_20261120T100500Z_6f1e2a3b.log.gz");
        std::fs::write(&obj, "").unwrap();
        let s = summarize_path(
            &obj,
            "l",
            FormatChoice::Auto,
            &[],
            &Options::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            (s.dialect.as_str(), s.lines),
            ("cloudflare-http-requests", 0)
        );
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
