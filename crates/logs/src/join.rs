//! An nginx error.log joined with the access log of the same nginx, so that an upstream failure
//! nginx retried, whose request got an answer, is counted as retried rather than as a 502.
//!
//! nginx writes one error.log line per failed attempt, and one access-log line per request when it
//! ends. An access line whose `$upstream_status` lists a failed attempt before the one that
//! answered (`502, 200`) names that attempt's peer (`$upstream_addr`) and, through the
//! `$upstream_response_time`s after it, when it failed. error.log lines carry no request id (nginx
//! writes none there), so the join is on the peer and the time: an error line at that peer, dated
//! between the retried attempt's earliest possible time and the request's end, is that attempt.
//! Each access attempt takes at most one error line; error lines left over stay what they were.
//!
//! The join reads both files again, and only when the access log has retried attempts. It is
//! bounded: at most [`MAX_ATTEMPTS`] retried attempts are kept, and lines are read up to the line
//! cap.

use crate::capture::{Capture, CriJoin};
use crate::detect::{detect_access, detect_mixed, sample_lines};
use crate::groups::SAMPLE_CAP;
use crate::nginx_access::{AccessFormat, TimeCache, Walk, values};
use crate::nginx_error::{classify_error, parse_error_line, peer_of};
use crate::reader::escape_line;
use crate::scan::Options;
use crate::summary::HEAD_CAP;
use crate::ts;
use cloud502_model::{LogClass, LogCount, LogGroup, LogSample, LogSummary};
use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::path::Path;

/// Retried attempts kept from the access log.
const MAX_ATTEMPTS: usize = 1 << 18;

/// Attempts of one peer looked at for one error line, from the first that can still match.
const SCAN: usize = 64;

/// A failed attempt nginx retried: the window of seconds its error line falls in, the status the
/// client got, and whether an error line has taken it.
struct Attempt {
    lo: i64,
    hi: i64,
    status: u16,
    taken: bool,
}

/// Error lines moved to retried, per (class, peer): how many, the client status, the first and
/// last time, the first line.
struct Moved {
    count: u64,
    status: u16,
    first: Option<ts::Ts>,
    last: Option<ts::Ts>,
    sample: LogSample,
    level: Option<String>,
    /// Each line's time, for the groups' timelines.
    times: Vec<i64>,
}

/// Join each nginx error.log summary in `logs` with each access-log summary that has retried
/// attempts ([`join_retried`]); `sources[i]` is the file `logs[i]` was read from. Returns how many
/// error lines moved. Reads files: call it off the async executor.
pub fn join_error_and_access(
    logs: &mut [LogSummary],
    sources: &[std::path::PathBuf],
    formats: &[AccessFormat],
    opts: &Options,
) -> u64 {
    if logs.len() != sources.len() {
        return 0;
    }
    let access: Vec<usize> = (0..logs.len())
        .filter(|&i| {
            logs[i].dialect == "nginx-access"
                && logs[i]
                    .groups
                    .iter()
                    .any(|g| g.class == LogClass::UpstreamRetried)
        })
        .collect();
    let mut moved = 0;
    for e in 0..logs.len() {
        if logs[e].dialect != "nginx-error" {
            continue;
        }
        for &a in &access {
            moved += join_retried(&mut logs[e], &sources[e], &sources[a], formats, opts);
        }
    }
    moved
}

/// Join `error` (summarized from `error_path`) with the access log at `access_path`: error lines
/// that are attempts nginx retried move from their class to `upstream-retried` groups (per peer,
/// with the client's status). Returns how many moved. Reading errors leave `error` as it was.
pub(crate) fn join_retried(
    error: &mut LogSummary,
    error_path: &Path,
    access_path: &Path,
    formats: &[AccessFormat],
    opts: &Options,
) -> u64 {
    join(error, error_path, access_path, formats, opts).unwrap_or(0)
}

fn join(
    error: &mut LogSummary,
    error_path: &Path,
    access_path: &Path,
    formats: &[AccessFormat],
    opts: &Options,
) -> io::Result<u64> {
    let attempts = retried_attempts(access_path, formats, opts)?;
    if attempts.is_empty() {
        return Ok(0);
    }
    // per peer: the attempts by their end, and the first that can still match
    let mut attempts: HashMap<Vec<u8>, (usize, Vec<Attempt>)> = attempts
        .into_iter()
        .map(|(peer, mut list)| {
            list.sort_by_key(|a| a.hi);
            (peer, (0, list))
        })
        .collect();
    let mut moved: Vec<((LogClass, Vec<u8>), Moved)> = Vec::new();
    let offset = opts.local_offset.whole_seconds();
    let since = opts.since.map(|s| s.unix_timestamp());
    let mut no = 0u64;
    for_each_line(error_path, opts.max_line, |line| {
        no += 1;
        let Some(e) = parse_error_line(line) else {
            return;
        };
        let Some(class) = classify_error(&e) else {
            return;
        };
        // the attempts proxy_next_upstream retries end in a 502 or 504 when not retried
        if !matches!(class.client_status(), Some(502 | 504)) {
            return;
        }
        let (Some(up), Some(t)) = (e.upstream, ts::parse_error_time(e.time, offset)) else {
            return;
        };
        // a line before --since was not counted, so it cannot move
        if since.is_some_and(|s| t.secs < s) {
            return;
        }
        let peer = peer_of(up);
        let Some((start, list)) = attempts.get_mut(peer) else {
            return;
        };
        // both logs run forward in time: attempts that ended before this line cannot match a
        // later one either, so each line looks at a bounded run of them
        while list.get(*start).is_some_and(|a| a.hi < t.secs) {
            *start += 1;
        }
        let Some(a) = list[*start..]
            .iter_mut()
            .take(SCAN)
            .find(|a| !a.taken && a.lo <= t.secs && t.secs <= a.hi)
        else {
            return;
        };
        a.taken = true;
        let key = (class, peer.to_vec());
        match moved.iter_mut().find(|(k, _)| *k == key) {
            Some((_, m)) => {
                m.count += 1;
                m.last = Some(t);
                m.times.push(t.secs);
            }
            None => moved.push((
                key,
                Moved {
                    count: 1,
                    status: a.status,
                    first: Some(t),
                    last: Some(t),
                    sample: LogSample {
                        line: no,
                        text: escape_line(line, SAMPLE_CAP),
                    },
                    level: std::str::from_utf8(e.level).ok().map(str::to_owned),
                    times: vec![t.secs],
                },
            )),
        }
    })?;
    let mut total = 0;
    for ((class, peer), m) in moved {
        let peer = String::from_utf8_lossy(&peer).into_owned();
        // only what the summary counted can move (a line outside --since was not counted)
        let Some(i) = error
            .groups
            .iter()
            .position(|g| g.class == class && g.upstream.as_deref() == Some(peer.as_str()))
        else {
            continue;
        };
        let n = m.count.min(error.groups[i].count);
        error.groups[i].count -= n;
        // the lines move between the groups' per-bucket counts too
        let mut timeline = error.groups[i].timeline.clone().map(|mut t| {
            t.counts.iter_mut().for_each(|c| *c = 0);
            t
        });
        if let (Some(from), Some(to)) = (error.groups[i].timeline.as_mut(), timeline.as_mut()) {
            let start = cloud502_model::parse_rfc3339(&from.start).unwrap_or(0);
            let width = from.bucket_seconds.max(1) as i64;
            for &t in m.times.iter().take(n as usize) {
                let b = ((t - start).max(0) / width) as usize;
                if let (Some(f), Some(c)) = (from.counts.get_mut(b), to.counts.get_mut(b)) {
                    if *f > 0 {
                        *f -= 1;
                        *c += 1;
                    }
                }
            }
        }
        if error.groups[i].count == 0 {
            error.groups.remove(i);
        }
        total += n;
        shift(&mut error.counts, class.as_str(), n, false);
        shift(
            &mut error.counts,
            LogClass::UpstreamRetried.as_str(),
            n,
            true,
        );
        error.groups.push(LogGroup {
            class: LogClass::UpstreamRetried,
            upstream: Some(peer),
            status: Some(m.status),
            level: m.level,
            detail: Some(format!(
                "{} line(s) of {} matched to retried attempts in the access log",
                n,
                class.as_str()
            )),
            count: n,
            reused: None,
            first_seen: m.first.and_then(ts::Ts::rfc3339),
            last_seen: m.last.and_then(ts::Ts::rfc3339),
            sample: m.sample,
            timeline,
        });
    }
    error.groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    Ok(total)
}

/// Add (or take) `n` from the count keyed `key`.
fn shift(counts: &mut Vec<LogCount>, key: &str, n: u64, add: bool) {
    match counts.iter_mut().find(|c| c.key == key) {
        Some(c) if add => c.count += n,
        Some(c) => c.count = c.count.saturating_sub(n),
        None if add => counts.push(LogCount {
            key: key.to_owned(),
            count: n,
        }),
        None => {}
    }
    counts.retain(|c| c.count > 0);
    counts.sort_by_key(|c| std::cmp::Reverse(c.count));
}

/// The access log's retried attempts whose request got an answer, by the failed peer.
fn retried_attempts(
    path: &Path,
    formats: &[AccessFormat],
    opts: &Options,
) -> io::Result<HashMap<Vec<u8>, Vec<Attempt>>> {
    let mut head = Vec::new();
    open(path)?.take(HEAD_CAP as u64).read_to_end(&mut head)?;
    let capture = Capture::detect(&sample_lines(&head));
    let sniff: Vec<u8> = head
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|l| capture.strip(l).iter().copied())
        .collect();
    let Some(format) = detect_mixed(&sniff, formats).or_else(|| detect_access(&sniff, formats))
    else {
        return Ok(HashMap::new());
    };
    let mut out: HashMap<Vec<u8>, Vec<Attempt>> = HashMap::new();
    let mut kept = 0;
    let mut times = TimeCache::default();
    for_each_line(path, opts.max_line, |line| {
        if kept >= MAX_ATTEMPTS {
            return;
        }
        let Some(f) = format.walk(line, Walk::Full, &mut times) else {
            return;
        };
        if f.status == 499 || (500..600).contains(&f.status) {
            return;
        }
        let (Some(statuses), Some(addrs), Some(t)) = (f.upstream_status, f.addr, f.time) else {
            return;
        };
        let statuses = values(statuses);
        let addrs = values(addrs);
        let times_after: Vec<f64> = f
            .response
            .map(values)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0)
            })
            .collect();
        let last = statuses.len().saturating_sub(1);
        for (i, s) in statuses[..last].iter().enumerate() {
            if !(s.len() == 3 && s[0] == b'5') {
                continue;
            }
            let Some(addr) = addrs.get(i).filter(|a| !a.is_empty() && **a != b"-") else {
                continue;
            };
            // the attempt failed before the later attempts' time (and nginx's own) elapsed
            let after: f64 = times_after.iter().skip(i + 1).sum();
            let lo = t.secs - after.ceil() as i64 - 1;
            out.entry(addr.to_vec()).or_default().push(Attempt {
                lo,
                hi: t.secs,
                status: f.status,
                taken: false,
            });
            kept += 1;
        }
    })?;
    Ok(out)
}

/// The file, gunzipped; its open error as an I/O error (the join is best effort).
fn open(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    crate::reader::open(path).map_err(|e| io::Error::other(e.to_string()))
}

/// Call `f` with each line of the file (gunzipped, without a capture's prefix, CRI partial
/// records joined), each kept to `cap` bytes.
fn for_each_line(path: &Path, cap: usize, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut head = Vec::new();
    open(path)?.take(HEAD_CAP as u64).read_to_end(&mut head)?;
    let capture = Capture::detect(&sample_lines(&head));
    let raw = open(path)?;
    let reader: Box<dyn Read> = if capture == Capture::Cri {
        Box::new(CriJoin::new(raw, cap))
    } else {
        raw
    };
    let mut r = io::BufReader::with_capacity(256 * 1024, reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut any = false;
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            let room = cap.saturating_sub(line.len());
            line.extend_from_slice(&buf[..take.min(room)]);
            r.consume(take + usize::from(done));
            if done {
                break;
            }
        }
        if !any {
            return Ok(());
        }
        let l = line.strip_suffix(b"\r").unwrap_or(&line);
        f(capture.strip(l));
    }
}
