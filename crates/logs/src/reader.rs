//! Opening logs (transparent gunzip) and a block reader that yields capped lines from one reused buffer.

use crate::error::{LogError, Result};
use memchr::memchr;
use memchr::memmem::Finder;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes asked of the source per read; the buffer holds this plus one capped line.
pub(crate) const BLOCK: usize = 512 * 1024;

/// Directories are expanded to at most this many files.
pub const MAX_DIR_FILES: usize = 4096;

/// Refuse a path that is not a regular file (after following links) before anything opens it:
/// opening a FIFO blocks until a writer comes, and a pipe, a terminal or `/dev/zero` never ends.
/// A link to a process's standard streams (`/dev/stdout`, `/proc/self/fd/1`) is named as such:
/// the official nginx Docker image links `access.log` to `/dev/stdout` and `error.log` to
/// `/dev/stderr`, and following such a link would read this process's own output.
pub fn check_source(path: &Path) -> Result<()> {
    if path.as_os_str() == "-" {
        // standard input, read whole and capped by the caller
        return Ok(());
    }
    let name = || path.display().to_string();
    let refuse = |what: String, hint: &str| LogError::NotRegular {
        path: name(),
        what,
        hint: hint.to_owned(),
    };
    // Follow the links by hand (bounded, as the kernel's own limit is 40) to see where they lead.
    let mut cur = path.to_path_buf();
    for hop in 0..40 {
        if let Some(stream) = std_stream(&cur) {
            let what = if hop == 0 {
                format!("is {stream}")
            } else {
                format!("is a link to {}", cur.display())
            };
            return Err(refuse(what, STREAM_HINT));
        }
        let is_link = std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        let Ok(target) = std::fs::read_link(&cur) else {
            break;
        };
        cur = match cur.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        };
    }
    let meta = std::fs::metadata(path).map_err(|source| LogError::Open {
        path: name(),
        source,
    })?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let linked = if cur.as_path() == path {
        String::new()
    } else {
        format!(" (a link to {})", cur.display())
    };
    if ft.is_dir() {
        return Err(refuse(
            format!("is a directory{linked}"),
            "pass the log files inside it",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let save = "save the lines to a regular file first and pass that file";
        if ft.is_fifo() {
            return Err(refuse(
                format!("is a named pipe (FIFO){linked}"),
                "a pipe is read as it is written and has no end; save the lines to a regular \
                 file first (e.g. `timeout 60 cat PIPE > saved.log`) and pass that file",
            ));
        }
        if ft.is_char_device() {
            let dev = cur.display().to_string();
            let what = if dev.starts_with("/dev/pts/") || dev.starts_with("/dev/tty") {
                "a terminal"
            } else {
                "a character device"
            };
            return Err(refuse(format!("is {what}{linked}"), save));
        }
        if ft.is_block_device() {
            return Err(refuse(format!("is a block device{linked}"), save));
        }
        if ft.is_socket() {
            return Err(refuse(format!("is a socket{linked}"), save));
        }
    }
    Err(refuse(
        format!("is not a regular file{linked}"),
        "pass a saved log file",
    ))
}

const STREAM_HINT: &str = "nginx writes this log to its process's output (the official nginx \
     Docker image links access.log to /dev/stdout and error.log to /dev/stderr); read it with \
     `docker logs CONTAINER > nginx.log 2>&1` (or `kubectl logs POD`) and pass that file";

/// `Some(name)` when the path is one of a process's standard streams.
fn std_stream(p: &Path) -> Option<String> {
    let s = p.to_str()?;
    let fd = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    let named = matches!(
        s,
        "/dev/stdout" | "/dev/stderr" | "/dev/stdin" | "/dev/console"
    ) || s.strip_prefix("/dev/fd/").is_some_and(fd)
        || s.strip_prefix("/proc/self/fd/").is_some_and(fd)
        || s.strip_prefix("/proc/thread-self/fd/").is_some_and(fd)
        || s.strip_prefix("/proc/").is_some_and(|r| {
            r.split_once("/fd/")
                .is_some_and(|(pid, n)| fd(pid) && fd(n))
        });
    named.then(|| s.to_owned())
}

/// Directory levels [`expand_dirs`] descends below a path given: `aws s3 sync` of an ALB log
/// prefix nests files 7 levels down (`AWSLogs/ACCOUNT/elasticloadbalancing/REGION/YYYY/MM/DD`).
pub const MAX_DIR_DEPTH: usize = 8;

/// The paths with each directory replaced by the regular files in it and in its subdirectories
/// (an `aws s3 sync` of a log bucket, a Logpush destination), at most [`MAX_DIR_DEPTH`] levels
/// down, sorted by path, hidden files and directories left out. Symlinked directories are not
/// followed (a link back up would loop). A directory with no such file stays as it is, so that
/// [`check_source`] names it. More than [`MAX_DIR_FILES`] files, or more directories than that,
/// is an error naming the fix rather than an unbounded walk.
pub fn expand_dirs(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
            out.push(p.clone());
            continue;
        }
        let too_many = |what: &str| LogError::NotRegular {
            path: p.display().to_string(),
            what: format!("is a directory tree of more than {MAX_DIR_FILES} {what}"),
            hint: "pass a narrower set, e.g. one day's directory or files with a glob".to_owned(),
        };
        let mut files = Vec::new();
        let mut pending = vec![(p.clone(), 0usize)];
        let mut dirs_seen = 0usize;
        while let Some((dir, depth)) = pending.pop() {
            dirs_seen += 1;
            if dirs_seen > MAX_DIR_FILES {
                return Err(too_many("directories"));
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                // The directory asked for must open; an unreadable one below it is skipped
                // like a hidden one rather than failing the files that could be read.
                Err(_) if depth > 0 => continue,
                Err(source) => {
                    return Err(LogError::Open {
                        path: dir.display().to_string(),
                        source,
                    });
                }
            };
            for e in entries.filter_map(|e| e.ok()) {
                if e.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = e.path();
                let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => {
                        files.push(path);
                        if files.len() > MAX_DIR_FILES {
                            return Err(too_many("files"));
                        }
                    }
                    Ok(m) if m.is_dir() && !is_link && depth < MAX_DIR_DEPTH => {
                        pending.push((path, depth + 1));
                    }
                    _ => {}
                }
            }
        }
        if files.is_empty() {
            out.push(p.clone());
        } else {
            files.sort();
            out.append(&mut files);
        }
    }
    Ok(out)
}

/// Open a file for reading, transparently gunzipping when it starts with the gzip magic (1f 8b),
/// regardless of extension. Concatenated gzip members (as `cat a.gz b.gz` makes) are read through.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    open_counted(path, None)
}

/// [`open`], counting the raw (compressed) bytes read from the file into `counter`.
pub(crate) fn open_counted(
    path: &Path,
    counter: Option<Arc<AtomicU64>>,
) -> Result<Box<dyn Read + Send>> {
    let name = || path.display().to_string();
    check_source(path)?;
    let mut file = File::open(path).map_err(|source| LogError::Open {
        path: name(),
        source,
    })?;
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < magic.len() {
        match file.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(LogError::Read {
                    path: name(),
                    source,
                });
            }
        }
    }
    if let Some(c) = &counter {
        c.fetch_add(n as u64, Ordering::Relaxed);
    }
    let gz = n == 2 && magic == [0x1f, 0x8b];
    let raw = io::Cursor::new(magic).take(n as u64).chain(Counting {
        inner: file,
        counter,
    });
    if gz {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, raw),
        )))
    } else {
        Ok(Box::new(raw))
    }
}

/// Counts bytes read through it into a shared counter (for progress on compressed input).
struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// One line as the reader hands it out: borrowed from the reader's buffer until the next call.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// The line without its `\n` (and without a trailing `\r`), at most `max_line` bytes.
    pub bytes: &'a [u8],
    /// 1-based line number.
    pub no: u64,
    /// The line was longer than `max_line`; `bytes` is its head.
    pub truncated: bool,
    /// Known to be plain ASCII text without control bytes (checked block-wise): no need for
    /// [`check_text`]. `false` means "not known", not "binary".
    pub clean: bool,
    /// One of the reader's needles ([`LineReader::with_needles`]) starts in the line (always
    /// `true` without needles). `false` is exact; `true` may also mean the needle is in a
    /// capture prefix.
    pub hit: bool,
}

/// A string searched for over the whole buffer (as grep does) rather than line by line: its
/// next occurrence, by absolute offset in the stream.
#[derive(Debug)]
struct Needle {
    finder: Finder<'static>,
    /// Where the next occurrence starts, when it has been found.
    next: Option<u64>,
    /// The search has covered every start offset below this.
    searched: u64,
}

/// Splits a byte stream into lines with memchr over one reused buffer, and tells which lines are
/// known to be plain text (one vectorized scan ahead per block, so most lines skip
/// [`check_text`]).
///
/// Memory is bounded by `BLOCK + max_line` whatever the input: the tail of a line longer than
/// `max_line` is read and dropped without being kept.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of `buf[start..end]` already searched for a newline.
    searched: usize,
    eof: bool,
    max_line: usize,
    /// Dropping the tail of an over-long line up to its newline.
    discarding: bool,
    consumed: u64,
    line_no: u64,
    /// `buf[start..clean_to]` has been scanned and holds only plain text bytes.
    clean_to: usize,
    /// The scan stopped at a suspicious byte at `clean_to` (else what is past it is unscanned).
    stopped: bool,
    needles: Vec<Needle>,
    /// No needle starts between the current line and this offset (the nearest of their next
    /// occurrences and search frontiers): most lines end before it and need one comparison.
    clear_to: u64,
    /// More than half the lines of the last searched block held a needle.
    dense: bool,
    /// Blocks handed out by [`clean_run`](Self::clean_run).
    runs: u32,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(inner: R, max_line: usize) -> Self {
        let max_line = max_line.max(1);
        Self::with_block(inner, max_line, BLOCK)
    }

    pub(crate) fn with_block(inner: R, max_line: usize, block: usize) -> Self {
        let cap = block.max(1).saturating_add(max_line);
        LineReader {
            inner,
            buf: vec![0; cap],
            start: 0,
            end: 0,
            searched: 0,
            eof: false,
            max_line,
            discarding: false,
            consumed: 0,
            line_no: 0,
            clean_to: 0,
            stopped: false,
            needles: Vec::new(),
            clear_to: 0,
            dense: false,
            runs: 0,
        }
    }

    /// Search the buffer for these strings as it is read, and tell in [`Line::hit`] which lines
    /// hold one: one `memmem` pass over the stream per needle, instead of one search per line.
    pub(crate) fn with_needles(mut self, needles: &[&'static [u8]]) -> Self {
        self.needles = needles
            .iter()
            .map(|n| Needle {
                finder: Finder::new(*n),
                next: None,
                searched: 0,
            })
            .collect();
        self
    }

    /// The stream offset of `buf[i]`.
    #[inline]
    fn abs(&self, i: usize) -> u64 {
        self.consumed - self.end as u64 + i as u64
    }

    /// Does a needle start in `buf[s..e]`?
    #[inline]
    fn hit(&mut self, s: usize, e: usize) -> bool {
        let base = self.abs(0);
        needle_hit(
            &mut self.needles,
            &mut self.clear_to,
            &self.buf[..self.end],
            base,
            s,
            e,
        )
    }

    /// Hand every whole line at the head of the buffer that is plain text to `f`, as
    /// [`next_line`](Self::next_line) would (numbered, capped, `\r` cut, [`Line::hit`] set),
    /// but split in one tight loop over the block. `false` when the next line is not such a
    /// line (not yet read whole, or not plain text): [`next_line`](Self::next_line) takes it.
    #[inline]
    pub(crate) fn clean_run(&mut self, mut f: impl FnMut(Line<'_>)) -> bool {
        if self.discarding {
            return false;
        }
        let (start, end) = (self.start, self.end);
        let Some(last) = memchr::memrchr(b'\n', &self.buf[start..end]) else {
            return false;
        };
        let mut run_end = start + last + 1;
        let from = self.clean_to.max(start);
        if from < run_end {
            if let Some(i) = first_suspicious(&self.buf[from..run_end]) {
                // up to the last line break before the first byte that is not plain text
                match memchr::memrchr(b'\n', &self.buf[start..from + i]) {
                    Some(j) => run_end = start + j + 1,
                    None => return false,
                }
            }
        }
        let base = self.abs(0);
        let buf = &self.buf[..end];
        // Where most lines hold a needle (an error log of failures), every line is parsed
        // anyway and the search only costs: it is left off, and tried again every 8th block.
        self.runs = self.runs.wrapping_add(1);
        let search = !self.dense || self.runs % 8 == 0;
        let needles: &mut [Needle] = if search { &mut self.needles } else { &mut [] };
        let clear_to = &mut self.clear_to;
        let (mut lines, mut hits) = (0u32, 0u32);
        let max_line = self.max_line;
        let mut no = self.line_no;
        let mut s = start;
        for nl in memchr::memchr_iter(b'\n', &buf[s..run_end]) {
            let len = start + nl - s;
            no += 1;
            let e = s + len.min(max_line);
            let hit = needle_hit(needles, clear_to, buf, base, s, e);
            lines += 1;
            hits += u32::from(hit);
            let mut bytes = &buf[s..e];
            if let [head @ .., b'\r'] = bytes {
                bytes = head;
            }
            f(Line {
                bytes,
                no,
                truncated: len > max_line,
                clean: true,
                hit,
            });
            s = start + nl + 1;
        }
        if search && !self.needles.is_empty() {
            self.dense = hits > lines / 2;
        }
        self.line_no = no;
        self.start = run_end;
        self.searched = 0;
        if self.clean_to < run_end {
            self.clean_to = run_end;
            self.stopped = false;
        }
        true
    }
}

/// Does one of `needles` start in `buf[s..e]` (`buf[0]` being at stream offset `base`)? Always
/// `true` without needles. Each needle's next occurrence is found once, by a search over the rest
/// of the buffer, and kept until the lines pass it.
#[inline(always)]
fn needle_hit(
    needles: &mut [Needle],
    clear_to: &mut u64,
    buf: &[u8],
    base: u64,
    s: usize,
    e: usize,
) -> bool {
    if needles.is_empty() {
        return true;
    }
    if base + e as u64 <= *clear_to {
        return false;
    }
    let hit = needle_hit_slow(needles, buf, base, s, e);
    *clear_to = needles
        .iter()
        .map(|n| n.next.unwrap_or(n.searched))
        .min()
        .unwrap_or(0);
    hit
}

/// [`needle_hit`] past the clear stretch: each needle's next occurrence found again as needed.
#[inline(never)]
fn needle_hit_slow(needles: &mut [Needle], buf: &[u8], base: u64, s: usize, e: usize) -> bool {
    {
        if needles.is_empty() {
            return true;
        }
        let (ls, le, end) = (base + s as u64, base + e as u64, buf.len());
        let mut hit = false;
        for n in needles.iter_mut() {
            if n.next.is_some_and(|h| h < ls) {
                n.next = None;
            }
            if n.next.is_none() && n.searched < le {
                let from = n.searched.max(ls);
                let at = (from - base) as usize;
                match n.finder.find(&buf[at..end]) {
                    Some(p) => {
                        n.next = Some(from + p as u64);
                        n.searched = from + p as u64 + 1;
                    }
                    None => {
                        // a needle may straddle the end of what has been read: its head is
                        // searched again once the rest is in
                        let tail = n.finder.needle().len().saturating_sub(1) as u64;
                        n.searched = (base + end as u64).saturating_sub(tail).max(from);
                    }
                }
            }
            hit |= n.next.is_some_and(|h| h < le);
        }
        hit
    }
}

impl<R: Read> LineReader<R> {
    /// Bytes read from the source so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.clean_to < self.start {
            self.clean_to = self.start;
            self.stopped = false;
        }
        self.clean_to -= self.start;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.consumed += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line, or `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if self.discarding {
                match memchr(b'\n', &self.buf[self.start..self.end]) {
                    Some(i) => {
                        self.start += i + 1;
                        self.discarding = false;
                    }
                    None => {
                        self.start = self.end;
                        if self.eof {
                            self.discarding = false;
                            return Ok(None);
                        }
                        self.fill()?;
                        continue;
                    }
                }
            }
            let avail = self.end - self.start;
            let from = self.start + self.searched;
            if let Some(i) = memchr(b'\n', &self.buf[from..self.end]) {
                let s = self.start;
                let len = self.searched + i;
                self.start = s + len + 1;
                self.searched = 0;
                return Ok(Some(self.emit(s, len, false)));
            }
            self.searched = avail;
            if avail > self.max_line {
                // An over-long line: hand out its head now, drop the rest up to the newline.
                let s = self.start;
                self.start = self.end;
                self.searched = 0;
                self.discarding = true;
                return Ok(Some(self.emit(s, self.max_line, true)));
            }
            if self.eof {
                if avail == 0 {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                self.searched = 0;
                return Ok(Some(self.emit(s, avail, false)));
            }
            self.fill()?;
        }
    }

    /// Is `buf[s..e]` known clean? Scans ahead block-wise, once per byte over the whole input.
    #[inline]
    fn is_clean(&mut self, s: usize, e: usize) -> bool {
        if self.clean_to < s {
            self.clean_to = s;
            self.stopped = false;
        }
        if self.clean_to >= e {
            return true;
        }
        if !self.stopped {
            match first_suspicious(&self.buf[self.clean_to..self.end]) {
                Some(i) => {
                    self.clean_to += i;
                    self.stopped = true;
                }
                None => self.clean_to = self.end,
            }
            if self.clean_to >= e {
                return true;
            }
        }
        // a suspicious byte lies in this line: scan on from its end
        self.clean_to = e;
        self.stopped = false;
        false
    }

    #[inline]
    fn emit(&mut self, s: usize, len: usize, long: bool) -> Line<'_> {
        self.line_no += 1;
        let truncated = long || len > self.max_line;
        let e = s + len.min(self.max_line);
        let clean = self.is_clean(s, e);
        let hit = self.hit(s, e);
        let mut bytes = &self.buf[s..e];
        if let [head @ .., b'\r'] = bytes {
            bytes = head;
        }
        Line {
            bytes,
            no: self.line_no,
            truncated,
            clean,
            hit,
        }
    }
}

/// A byte that [`check_text`] must look at: a control byte other than `\n` and tab, or non-ASCII.
#[inline]
fn suspicious(b: u8) -> u8 {
    // as a signed byte, both the C0 controls and the non-ASCII bytes are below 0x20
    u8::from(i8::from_ne_bytes([b]) < 0x20) & u8::from(b != b'\n') & u8::from(b != b'\t')
}

/// The first suspicious byte, 64 bytes at a time (branch-free inner loop, so it vectorizes).
#[inline]
fn first_suspicious(hay: &[u8]) -> Option<usize> {
    let mut chunks = hay.chunks_exact(64);
    let mut off = 0;
    for c in &mut chunks {
        let Some(w) = c.first_chunk::<64>() else {
            break;
        };
        // a fixed-size array: the compiler unrolls and vectorizes this
        let mut m = 0u8;
        for &b in w {
            m |= suspicious(b);
        }
        if m != 0 {
            return c.iter().position(|&b| suspicious(b) != 0).map(|i| off + i);
        }
        off += 64;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| suspicious(b) != 0)
        .map(|i| off + i)
}

/// Position of the first `needle` byte in a short haystack: eight bytes at a time in a word
/// (cheaper than a SIMD call, and than a byte loop, for an address, a level or a host).
#[inline]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut i = 0;
    while let Some(w) = hay[i..].first_chunk::<8>() {
        let x = u64::from_le_bytes(*w) ^ pattern;
        // the lowest flagged byte is the first zero byte of x (flags above it may be spurious)
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..].iter().position(|&c| c == needle).map(|p| i + p)
}

/// What a line's bytes are, beyond plain ASCII text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// Valid UTF-8 without control bytes other than tab.
    Ok,
    /// Contains NUL or another C0 control byte (tab excepted).
    Binary,
    /// Not valid UTF-8.
    InvalidUtf8,
}

/// Classify a line's bytes. Branch-free over the line so the compiler can vectorize it.
#[inline]
pub(crate) fn check_text(line: &[u8]) -> Text {
    let mut high = 0u8;
    let mut ctl = 0u8;
    for &b in line {
        high |= b;
        ctl |= u8::from(b < 0x20) & u8::from(b != b'\t');
    }
    if ctl != 0 {
        Text::Binary
    } else if high & 0x80 != 0 && std::str::from_utf8(line).is_err() {
        Text::InvalidUtf8
    } else {
        Text::Ok
    }
}

/// A line as evidence text: capped at `cap` bytes (marked with `…`), control bytes escaped
/// as `\xNN`, invalid UTF-8 replaced.
pub(crate) fn escape_line(line: &[u8], cap: usize) -> String {
    let cut = line.len() > cap;
    let head = &line[..line.len().min(cap)];
    let mut out = String::with_capacity(head.len() + 4);
    let mut chunks = head.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        for ch in chunk.valid().chars() {
            if ch < ' ' || ch == '\x7f' {
                out.push_str(&format!("\\x{:02X}", ch as u32));
            } else {
                out.push(ch);
            }
        }
        let last = chunks.peek().is_none();
        let cut_char = cut && last;
        if !chunk.invalid().is_empty() && !cut_char {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// Heuristic for the head of a file: is it binary rather than lines of text? More than 30% of
/// its bytes are control bytes (NUL, other C0 but tab/CR/LF, DEL) or not valid UTF-8, or a full
/// head has no line break at all.
pub(crate) fn looks_binary(head: &[u8], full: bool) -> bool {
    if head.is_empty() {
        return false;
    }
    let ctl = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        .count();
    let invalid: usize = head.utf8_chunks().map(|c| c.invalid().len()).sum();
    if (ctl + invalid) * 10 > head.len() * 3 {
        return true;
    }
    full && memchr(b'\n', head).is_none()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(input: &[u8], max_line: usize, block: usize) -> Vec<(Vec<u8>, u64, bool)> {
        let mut r = LineReader::with_block(input, max_line, block);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.bytes.to_vec(), l.no, l.truncated));
        }
        assert_eq!(r.consumed(), input.len() as u64);
        out
    }

    #[test]
    fn splits_lines_across_small_blocks() {
        let input = b"one\ntwo\r\n\nthree-four\nlast";
        for block in [1, 2, 3, 7, 64] {
            let got = lines_of(input, 100, block);
            let texts: Vec<&[u8]> = got.iter().map(|l| l.0.as_slice()).collect();
            assert_eq!(
                texts,
                vec![&b"one"[..], b"two", b"", b"three-four", b"last"],
                "block {block}"
            );
            assert_eq!(got.last().unwrap().1, 5);
            assert!(got.iter().all(|l| !l.2));
        }
    }

    #[test]
    fn caps_long_lines_and_keeps_going() {
        let mut input = vec![b'a'; 10_000];
        input.extend_from_slice(b"\nshort\n");
        input.extend(vec![b'b'; 50]);
        for block in [1, 16, 100, 4096] {
            let got = lines_of(&input, 32, block);
            assert_eq!(got.len(), 3, "block {block}");
            assert_eq!(got[0].0, vec![b'a'; 32]);
            assert!(got[0].2);
            assert_eq!(got[1], (b"short".to_vec(), 2, false));
            assert_eq!(got[2].0, vec![b'b'; 32]);
            assert!(
                got[2].2,
                "an over-long last line without newline is truncated too"
            );
        }
    }

    #[test]
    fn exact_cap_is_not_truncated() {
        let got = lines_of(b"abcd\nabcde\n", 4, 2);
        assert_eq!(got[0], (b"abcd".to_vec(), 1, false));
        assert_eq!(got[1], (b"abcd".to_vec(), 2, true));
    }

    /// A reader that produces a huge line without ever holding it.
    struct Huge {
        left: u64,
        tail: &'static [u8],
    }
    impl Read for Huge {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left > 0 {
                let n = (buf.len() as u64).min(self.left) as usize;
                buf[..n].fill(b'x');
                self.left -= n as u64;
                return Ok(n);
            }
            let n = buf.len().min(self.tail.len());
            buf[..n].copy_from_slice(&self.tail[..n]);
            self.tail = &self.tail[n..];
            Ok(n)
        }
    }

    #[test]
    fn memory_does_not_grow_with_line_length() {
        let mut r = LineReader::new(
            Huge {
                left: 200 << 20,
                tail: b"\nok\n",
            },
            64 * 1024,
        );
        let cap = r.buf.len();
        let first = r.next_line().unwrap().unwrap();
        assert_eq!(first.bytes.len(), 64 * 1024);
        assert!(first.truncated);
        let second = r.next_line().unwrap().unwrap();
        assert_eq!(second.bytes, b"ok");
        assert_eq!(second.no, 2);
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.buf.len(), cap, "the buffer never grew");
        assert!(cap <= BLOCK + 64 * 1024);
    }

    #[test]
    fn clean_flag_is_never_wrong() {
        let mut input = Vec::new();
        for i in 0..2000 {
            match i % 9 {
                0 => input.extend_from_slice(b"bin\x01ary"),
                1 => input.extend_from_slice("ütf8".as_bytes()),
                2 => input.extend_from_slice(b"crlf\r"),
                3 => input.extend_from_slice(b"bad \xff"),
                _ => input.extend_from_slice(format!("plain text line {i}").as_bytes()),
            }
            input.push(b'\n');
        }
        for block in [7, 64, 1000] {
            let mut r = LineReader::with_block(&input[..], 40, block);
            let (mut clean, mut total) = (0, 0);
            while let Some(l) = r.next_line().unwrap() {
                total += 1;
                if l.clean {
                    clean += 1;
                    assert!(
                        l.bytes
                            .iter()
                            .all(|&b| (0x20..0x80).contains(&b) || b == b'\t')
                    );
                }
            }
            assert_eq!(total, 2000);
            assert_eq!(
                clean, 1110,
                "block {block}: every plain line is known clean"
            );
        }
        assert_eq!(first_suspicious(&[b'a'; 100]), None);
        let mut v = vec![b'a'; 100];
        v[70] = 0;
        assert_eq!(first_suspicious(&v), Some(70));
        v[33] = 0xc3;
        assert_eq!(first_suspicious(&v), Some(33));
        assert_eq!(first_suspicious(b"a\tb\nc"), None);
    }

    #[test]
    fn text_checks() {
        assert_eq!(check_text(b"plain\ttext"), Text::Ok);
        assert_eq!(check_text("ünïcode".as_bytes()), Text::Ok);
        assert_eq!(check_text(b"nul\0byte"), Text::Binary);
        assert_eq!(check_text(b"bell\x07"), Text::Binary);
        assert_eq!(check_text(b"bad \xff\xfe utf8"), Text::InvalidUtf8);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_line(b"a\x01b\tc", 100), "a\\x01b\\x09c");
        assert_eq!(escape_line(b"a\xffb", 100), "a\u{FFFD}b");
        assert_eq!(escape_line(b"abcdef", 3), "abc…");
        // cut inside a multi-byte char: no replacement char for the cut half
        assert_eq!(escape_line("aé".as_bytes(), 2), "a…");
    }

    #[test]
    fn binary_heads() {
        // pseudo-random bytes: only ~13% are C0 controls, but most are not UTF-8
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_binary(&random, false));
        assert!(!looks_binary(
            "ünïcödé log line\n".repeat(50).as_bytes(),
            false
        ));
        assert!(looks_binary(&[0u8; 100], false));
        assert!(!looks_binary(b"hello\nworld\n", false));
        assert!(looks_binary(&[b'a'; 100], true));
        assert!(!looks_binary(&[b'a'; 100], false));
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let msg = |p: &Path| match open(p) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened {}", p.display()),
        };
        // a FIFO with no writer: opening it would block forever
        let fifo = dir.path().join("access.log");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let m = msg(&fifo);
        assert!(m.contains("access.log is a named pipe (FIFO)"), "{m}");
        assert!(m.contains("(hint: "), "{m}");
        // the official nginx image's layout
        let out = dir.path().join("error.log");
        std::os::unix::fs::symlink("/dev/stderr", &out).unwrap();
        let m = msg(&out);
        assert!(m.contains("error.log is a link to /dev/stderr"), "{m}");
        assert!(m.contains("docker logs"), "{m}");
        let m = msg(Path::new("/dev/stdout"));
        assert!(m.starts_with("/dev/stdout is /dev/stdout"), "{m}");
        // a link to a link to a device
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let twice = dir.path().join("twice");
        std::os::unix::fs::symlink("zero", &twice).unwrap();
        let m = msg(&twice);
        assert!(
            m.contains("is a character device (a link to /dev/zero)"),
            "{m}"
        );
        let m = msg(dir.path());
        assert!(m.contains("is a directory"), "{m}");
        assert!(!m.contains('\n'));
    }

    #[test]
    fn directories_expand_to_their_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.log"), b"x\n").unwrap();
        std::fs::write(dir.path().join("a.log.gz"), b"x\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git").join("x.log"), b"x\n").unwrap();
        let empty = tempfile::tempdir().unwrap();
        let plain = dir.path().join("b.log");
        let got = expand_dirs(&[
            dir.path().to_path_buf(),
            plain.clone(),
            empty.path().to_path_buf(),
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![
                dir.path().join("a.log.gz"),
                plain.clone(),
                plain,
                empty.path().to_path_buf()
            ]
        );
    }

    #[test]
    fn a_synced_bucket_tree_expands_to_its_files_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: &str| {
            dir.path()
                .join("AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/12")
                .join(d)
        };
        for d in ["07", "08"] {
            std::fs::create_dir_all(day(d)).unwrap();
            std::fs::write(day(d).join("a.log.gz"), b"x\n").unwrap();
        }
        // a link back up the tree is not followed, so the walk ends
        std::os::unix::fs::symlink(dir.path(), day("08").join("loop")).unwrap();
        let got = expand_dirs(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            got,
            vec![day("07").join("a.log.gz"), day("08").join("a.log.gz")]
        );

        // deeper than MAX_DIR_DEPTH below the path given: left out
        let deep = tempfile::tempdir().unwrap();
        let mut p = deep.path().to_path_buf();
        for i in 0..=MAX_DIR_DEPTH {
            p = p.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("too-deep.log"), b"x\n").unwrap();
        std::fs::write(deep.path().join("top.log"), b"x\n").unwrap();
        let got = expand_dirs(&[deep.path().to_path_buf()]).unwrap();
        assert_eq!(got, vec![deep.path().join("top.log")]);
    }

    #[test]
    fn open_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, b"hello\n").unwrap();
        let mut s = String::new();
        open(&plain).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\n");

        // gzip detected by magic, not by extension; two members read through
        let gz = dir.path().join("a.log.1");
        let mut data = Vec::new();
        for part in [&b"one\n"[..], b"two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            data.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, &data).unwrap();
        let mut s = String::new();
        open(&gz).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "one\ntwo\n");

        // a one-byte file and an empty file
        let one = dir.path().join("one");
        std::fs::write(&one, b"x").unwrap();
        let mut s = String::new();
        open(&one).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "x");

        let err = match open(&dir.path().join("missing")) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing file"),
        };
        assert!(matches!(err, LogError::Open { .. }));
    }
}
