//! nginx error.log: a zero-copy line parser and the message classifier (KB 4.1 and 4.2).
//!
//! Line format (KB 4.1):
//! `YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid <message>[ (<errno>: <strerror>)][ while <action>],
//! client: <addr>, server: <name>, request: "<line>"[, subrequest: "<uri>"], upstream: "<url>",
//! host: "<Host>"[, referrer: "<Referer>"]`.
//! The message may contain commas (and even `, client: `), so the message ends at the first
//! `, client: ADDR` whose fields then run in nginx's order exactly to the end of the line, and
//! failing that at the rightmost one with a valid address (KB 4.1 anchors from the right; the
//! structure check is as robust and cheaper). Classes are chosen from the message and action TEXT,
//! never errno numbers (BSD numbers differ).

use crate::groups::Failure;
use crate::reader::find_byte;
use crate::scan::{Classifier, Counts, Out, Skim};
use crate::ts::{self, Ts};
use cloud502_model::LogClass;
use memchr::memmem::Finder;
use memchr::{memchr, memrchr};
use std::sync::LazyLock;
use time::{OffsetDateTime, UtcOffset};

/// One parsed nginx error.log line; every field borrows the input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorLine<'a> {
    /// `2026/05/01 12:00:00`: local time, no offset.
    pub time: &'a [u8],
    /// `error`, `crit`, `warn`, ...
    pub level: &'a [u8],
    /// Worker process id.
    pub pid: u32,
    /// Thread id (the number after `#`).
    pub tid: u64,
    /// Connection number (`*56`), absent for messages not tied to a connection.
    pub cid: Option<u64>,
    /// The text after the connection number up to `, client: ` (or the end of the line), including
    /// the `(errno: text)` and ` while <action>` parts.
    pub message: &'a [u8],
    /// `(111: Connection refused)` as `(111, b"Connection refused")`.
    pub errno: Option<(u32, &'a [u8])>,
    /// The text after the last ` while ` of the message, e.g. `connecting to upstream`.
    pub action: Option<&'a [u8]>,
    /// `client:` field.
    pub client: Option<&'a [u8]>,
    /// `server:` field (may be empty).
    pub server: Option<&'a [u8]>,
    /// `request:` field, unquoted.
    pub request: Option<&'a [u8]>,
    /// `upstream:` field, unquoted, e.g. `http://127.0.0.1:8080/`.
    pub upstream: Option<&'a [u8]>,
    /// `host:` field, unquoted.
    pub host: Option<&'a [u8]>,
}

impl ErrorLine<'_> {
    /// The line's timestamp, read as local time at `offset` (nginx writes local time without an offset).
    pub fn timestamp(&self, offset: UtcOffset) -> Option<OffsetDateTime> {
        let ts = crate::ts::parse_error_time(self.time, offset.whole_seconds())?;
        OffsetDateTime::from_unix_timestamp(ts.secs)
            .ok()
            .map(|t| t.to_offset(offset))
    }

    /// The message without its ` while <action>` suffix.
    pub fn message_head(&self) -> &[u8] {
        match self.action {
            // the action is a suffix of the message: cut " while " + action
            Some(a) => &self.message[..self.message.len() - a.len() - WHILE.len()],
            None => self.message,
        }
    }

    /// The level's rank: 0 emerg .. 7 debug (8 for an unknown level).
    pub fn severity(&self) -> u8 {
        level_rank(self.level)
    }
}

const WHILE: &[u8; 7] = b" while ";

/// The nginx levels, most severe first.
pub(crate) const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
];

// always: called out of line from both the parser and the classifier, it cost ~1% of a read
#[inline(always)]
fn level_rank(level: &[u8]) -> u8 {
    match level {
        b"error" => 3,
        b"warn" => 4,
        b"notice" => 5,
        b"crit" => 2,
        b"info" => 6,
        b"emerg" => 0,
        b"alert" => 1,
        b"debug" => 7,
        _ => 8,
    }
}

/// The level as a static string (for [`cloud502_model::LogGroup::level`]).
#[inline]
fn level_name(level: &[u8]) -> Option<&'static str> {
    LEVELS.get(usize::from(level_rank(level))).copied()
}

struct Finders {
    while_: Finder<'static>,
    upstream_word: Finder<'static>,
    not_resolved: Finder<'static>,
}

static F: LazyLock<Finders> = LazyLock::new(|| Finders {
    while_: Finder::new(WHILE),
    upstream_word: Finder::new(b"upstream"),
    not_resolved: Finder::new(b" could not be resolved"),
});

/// The leading decimal digits of `b` (at most 19): `(value, count)`.
#[inline]
fn digits(b: &[u8]) -> (u64, usize) {
    let mut n = 0u64;
    let mut i = 0;
    let max = b.len().min(19);
    while i < max {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + u64::from(d);
        i += 1;
    }
    (n, i)
}

/// Zero-copy parse of one nginx error.log line. `None` when the line does not start with
/// `YYYY/MM/DD HH:MM:SS [level] pid#tid: `.
#[inline(always)]
pub fn parse_error_line(line: &[u8]) -> Option<ErrorLine<'_>> {
    let (level, pid, tid, cid, at) = parse_head(line)?;
    let text = &line[at..];
    let (end, f) = split_fields(text);
    let message = &text[..end];
    let (action, head_end) = match action_at(message) {
        Some(w) => (Some(&message[w + WHILE.len()..]), w),
        None => (None, message.len()),
    };
    Some(ErrorLine {
        time: &line[..19],
        level,
        pid,
        tid,
        cid,
        message,
        errno: errno(&message[..head_end]),
        action,
        client: f.as_ref().map(|f| f.client),
        server: f.as_ref().and_then(|f| f.server),
        request: f.as_ref().and_then(|f| f.request),
        upstream: f.as_ref().and_then(|f| f.upstream),
        host: f.and_then(|f| f.host),
    })
}

/// Where the last ` while ` of the message starts. The common actions are checked as suffixes
/// first (constant-length compares), then the message is searched.
#[inline]
fn action_at(m: &[u8]) -> Option<usize> {
    // lengths of the usual actions (reading upstream, sending to client, connecting to upstream,
    // sending request / SSL handshaking to upstream, proxying upgraded connection, reading client
    // request headers, reading response header from upstream), shortest (rightmost) first
    for len in [16, 17, 22, 27, 28, 30, 37] {
        if let Some(w) = m.len().checked_sub(len + WHILE.len()) {
            if m[w..w + WHILE.len()] == *WHILE {
                return Some(w);
            }
        }
    }
    // (find_iter would clone the searcher per call)
    let mut last = None;
    let mut from = 0;
    while let Some(p) = F.while_.find(&m[from..]) {
        last = Some(from + p);
        from += p + 1;
    }
    last
}

/// The fields after `, client: `, parsed in the order nginx writes them.
#[derive(Default)]
struct Fields<'a> {
    client: &'a [u8],
    server: Option<&'a [u8]>,
    request: Option<&'a [u8]>,
    upstream: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    /// The fields run exactly to the end of the line.
    complete: bool,
}

/// `rest` without the constant prefix `p` (compared inline as an array).
#[inline]
fn after<'a, const N: usize>(rest: &'a [u8], p: &[u8; N]) -> Option<&'a [u8]> {
    match rest.split_first_chunk::<N>() {
        Some((head, tail)) if head == p => Some(tail),
        _ => None,
    }
}

/// Parse the fields from just after a `, client: ` at `at`; `None` when the address is not one.
#[inline]
fn fields_at(text: &[u8], at: usize) -> Option<Fields<'_>> {
    let rest = &text[at..];
    // the address: up to the next comma, without spaces
    let n = find_byte(rest, b',').unwrap_or(rest.len());
    if n == 0 || find_byte(&rest[..n], b' ').is_some() {
        return None;
    }
    let mut f = Fields {
        client: &rest[..n],
        ..Fields::default()
    };
    let mut rest = &rest[n..];
    if rest.is_empty() {
        f.complete = true;
        return Some(f);
    }
    rest = after(rest, b", server: ")?;
    let server_end = find_byte(rest, b',').unwrap_or(rest.len());
    f.server = Some(&rest[..server_end]);
    rest = &rest[server_end..];
    if let Some(r) = after(rest, b", request: \"") {
        // the request line may contain quotes: its closing quote is the one before the next field
        let mut q = 0;
        let close = loop {
            match find_byte(&r[q..], b'"') {
                Some(i) => {
                    let at = q + i;
                    if at + 1 == r.len() || r[at + 1] == b',' {
                        break at;
                    }
                    q = at + 1;
                }
                None => break r.len(),
            }
        };
        f.request = Some(&r[..close]);
        rest = &r[(close + 1).min(r.len())..];
    }
    if let Some(r) = after(rest, b", subrequest: \"") {
        let close = memchr(b'"', r).unwrap_or(r.len());
        rest = &r[(close + 1).min(r.len())..];
    }
    if let Some(r) = after(rest, b", upstream: \"") {
        let close = find_byte(r, b'"').unwrap_or(r.len());
        f.upstream = Some(&r[..close]);
        rest = &r[(close + 1).min(r.len())..];
    }
    if let Some(r) = after(rest, b", host: \"") {
        let close = find_byte(r, b'"').unwrap_or(r.len());
        f.host = Some(&r[..close]);
        rest = &r[(close + 1).min(r.len())..];
    }
    f.complete = match after(rest, b", referrer: \"") {
        Some(r) => r.last() == Some(&b'"'),
        None => rest.is_empty(),
    };
    Some(f)
}

/// Split the fields off the message. The message may contain commas and even the text
/// `, client: `: the first `, client: ADDR` whose fields run in nginx's order exactly to the end
/// of the line ends the message; failing that, the rightmost one with a valid address does
/// (KB 4.1). Returns where the message ends, and the fields.
#[inline]
fn split_fields(text: &[u8]) -> (usize, Option<Fields<'_>>) {
    let mut best = None;
    for p in memchr::memchr_iter(b',', text) {
        if after(&text[p..], CLIENT).is_none() {
            continue;
        }
        if let Some(f) = fields_at(text, p + CLIENT.len()) {
            let complete = f.complete;
            best = Some((p, f));
            if complete {
                break;
            }
        }
    }
    match best {
        Some((end, f)) => (end, Some(f)),
        None => (text.len(), None),
    }
}

const CLIENT: &[u8; 10] = b", client: ";

/// Masks for [`head_shape`] from a pattern of 8 bytes: `D` a digit, `_` any byte, else itself.
/// Returns (bits compared, their expected value, low nibbles of the digits).
const fn shape_masks(p: &[u8; 8]) -> (u64, u64, u64) {
    let (mut and, mut eq, mut dig) = (0u64, 0u64, 0u64);
    let mut i = 0;
    while i < 8 {
        let sh = 8 * i;
        match p[i] {
            b'D' => {
                and |= 0xF0 << sh;
                eq |= 0x30 << sh;
                dig |= 0x0F << sh;
            }
            b'_' => {}
            b => {
                and |= 0xFF << sh;
                eq |= (b as u64) << sh;
            }
        }
        i += 1;
    }
    (and, eq, dig)
}

const SHAPE: [(u64, u64, u64); 3] = [
    shape_masks(b"DDDD/DD/"),
    shape_masks(b"DD DD:DD"),
    shape_masks(b":DD [___"),
];

/// Does the line start `YYYY/MM/DD HH:MM:SS [` (digits where the letters are)? The same test
/// as [`crate::ts::is_error_time`] and the two bytes after it, done on three words at once
/// (every line of an error log is checked).
#[inline(always)]
fn head_shape(line: &[u8]) -> bool {
    let Some(h) = line.first_chunk::<24>() else {
        return false;
    };
    let mut bad = 0u64;
    for (k, (and, eq, dig)) in SHAPE.iter().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&h[8 * k..8 * k + 8]);
        let w = u64::from_le_bytes(w);
        // a digit: high nibble 3, low nibble at most 9 (adding 6 carries into bit 4 from 10 on)
        let six = (dig / 0x0F) * 6;
        bad |= ((w & and) ^ eq) | (((w & dig) + six) & (dig << 4));
    }
    bad == 0
}

/// Level, pid, tid, `*cid` and where the message starts.
#[inline]
#[allow(clippy::type_complexity)]
fn parse_head(line: &[u8]) -> Option<(&[u8], u32, u64, Option<u64>, usize)> {
    if !head_shape(line) {
        return None;
    }
    let close = 21 + find_byte(&line[21..29.min(line.len())], b']')?;
    let level = &line[21..close];
    if level_rank(level) > 7 || line.get(close + 1) != Some(&b' ') {
        return None;
    }
    let mut i = close + 2;
    let (pid, n) = digits(&line[i..]);
    if n == 0 || line.get(i + n) != Some(&b'#') {
        return None;
    }
    i += n + 1;
    let (tid, m) = digits(&line[i..]);
    if m == 0 || line.get(i + m) != Some(&b':') {
        return None;
    }
    i += m + 1;
    if line.get(i) == Some(&b' ') {
        i += 1;
    }
    let mut cid = None;
    if line.get(i) == Some(&b'*') {
        let (c, k) = digits(&line[i + 1..]);
        if k > 0 {
            cid = Some(c);
            i += 1 + k;
            if line.get(i) == Some(&b' ') {
                i += 1;
            }
        }
    }
    Some((level, u32::try_from(pid).ok()?, tid, cid, i))
}

/// The value of a `key: "value"` field: up to the closing quote.
#[inline]
fn quoted(v: &[u8]) -> &[u8] {
    match memchr(b'"', v) {
        Some(q) => &v[..q],
        None => v,
    }
}

/// The `(NUM: text)` that ends the message head (nginx appends it right after the message).
#[inline]
fn errno(head: &[u8]) -> Option<(u32, &[u8])> {
    let inner = head.strip_suffix(b")")?;
    let open = memrchr(b'(', inner)?;
    let after = &inner[open + 1..];
    let (n, k) = digits(after);
    if k == 0 || !after[k..].starts_with(b": ") {
        return None;
    }
    Some((u32::try_from(n).ok()?, &after[k + 2..]))
}

/// Classify an error.log line into a [`LogClass`]; `None` for lines that are not upstream failures
/// (`open() failed`, notices, client-side errors).
pub fn classify_error(line: &ErrorLine<'_>) -> Option<LogClass> {
    // A stream{} (TCP/UDP) proxy's failure has no HTTP status: it is not a 502. It is kept as an
    // upstream error (its message as the detail) so that it is seen, and no 502 cause claims it.
    if is_stream(line) {
        return (line.severity() <= 3).then_some(LogClass::UpstreamOther);
    }
    if let Some(c) = specific(line) {
        return Some(c);
    }
    // any other error-or-worse line naming an upstream
    if line.severity() <= 3 && (line.upstream.is_some() || mentions_upstream(line.message)) {
        return Some(LogClass::UpstreamOther);
    }
    None
}

/// Is this a stream{} (TCP/UDP) proxy's line? Its fields name no request, and its `server:` is
/// the listen address (`0.0.0.0:3306`) and its `upstream:` a bare address (no `scheme://`),
/// followed by `bytes from/to client:` counts.
fn is_stream(line: &ErrorLine<'_>) -> bool {
    if line.request.is_some() || line.client.is_none() {
        return false;
    }
    let bare_upstream = line.upstream.is_some_and(|u| !has(u, b"://"));
    let listen_server = line.server.is_some_and(|s| {
        s.rsplit(|&b| b == b':')
            .next()
            .is_some_and(|p| !p.is_empty() && p.len() < s.len() && p.iter().all(u8::is_ascii_digit))
    });
    bare_upstream || listen_server
}

/// Is the message a third-party module's own (`[lua] access.lua:202: ...`, `stream [lua] ...`)?
/// Its words are the module's, about its own sockets and lookups: the names in them are not
/// nginx's upstreams.
fn third_party(m: &[u8]) -> bool {
    m.starts_with(b"[") || m.starts_with(b"stream [")
}

/// Does the message say "upstream" outside quotes (a quoted file name like
/// `open() "/www/upstream.png" failed` does not count)?
fn mentions_upstream(m: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = F.upstream_word.find(&m[from..]) {
        let at = from + p;
        if memchr::memchr_iter(b'"', &m[..at]).count() % 2 == 0 {
            return true;
        }
        from = at + 1;
    }
    false
}

#[inline]
fn has(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn specific(line: &ErrorLine<'_>) -> Option<LogClass> {
    use LogClass::*;
    let m = line.message;
    let action = line.action.unwrap_or(b"");
    let err = line.errno.map_or(&b""[..], |e| e.1);
    // on the upstream side, not the client's? The action says; else the upstream field.
    let upstream_side = || match line.action {
        Some(a) => a.ends_with(b"upstream") || has(a, b"upstream"),
        None => line.upstream.is_some(),
    };
    if third_party(m) {
        return None;
    }
    let class = match *m.first()? {
        // nginx's own upstream connects say "while connecting to upstream"; a module's socket
        // (a lua cosocket to redis, say) names no upstream and is not the proxied request
        b'c' if m.starts_with(b"connect() ") && upstream_side() => connect_class(err),
        b'u' if m.starts_with(b"upstream ") => {
            let u = &m[9..];
            if u.starts_with(b"timed out") {
                match action {
                    b"connecting to upstream" | b"SSL handshaking to upstream" => ConnectTimeout,
                    b"sending request to upstream" | b"reading response header from upstream" => {
                        ReadTimeout
                    }
                    b"reading upstream" | b"proxying upgraded connection" => BodyTimeout,
                    _ => return None,
                }
            } else if u.starts_with(b"prematurely closed") {
                match action {
                    b"reading upstream" | b"proxying upgraded connection" => BodyTruncated,
                    _ => PrematureClose,
                }
            } else if u.starts_with(b"sent too big header") {
                TooBigHeader
            } else if u.starts_with(b"sent no valid ") {
                NoValidHeader
            } else if u.starts_with(b"rejected request with error") {
                // gRPC: the upstream reset the stream (RST_STREAM) before a response header
                PrematureClose
            } else if u.starts_with(b"sent ")
                && (has(u, b"invalid")
                    || has(u, b"unsupported FastCGI protocol version")
                    || has(u, b"duplicate")
                    || has(u, b"unknown")
                    || has(u, b"\"Transfer-Encoding\""))
            {
                InvalidHeader
            } else if u.starts_with(b"server temporarily disabled") {
                UpstreamDisabled
            } else if u.starts_with(b"SSL certificate verify error") {
                TlsVerify
            } else if u.starts_with(b"SSL certificate does not match") {
                TlsNameMismatch
            } else {
                return None;
            }
        }
        b'd' if m.starts_with(b"duplicate header line") => InvalidHeader,
        b'r' if (m.starts_with(b"recv() failed") || m.starts_with(b"readv() failed"))
            && upstream_side() =>
        {
            if !is_reset(err) {
                return None;
            }
            if action == b"reading upstream" || action == b"proxying upgraded connection" {
                BodyTruncated
            } else {
                ConnectionReset
            }
        }
        b'w' | b's'
            if (m.starts_with(b"writev() failed")
                || m.starts_with(b"send() failed")
                || m.starts_with(b"sendfile() failed"))
                && upstream_side() =>
        {
            if err.starts_with(b"Broken pipe") {
                BrokenPipe
            } else if is_reset(err) {
                ConnectionReset
            } else {
                return None;
            }
        }
        b'S' if m.starts_with(b"SSL_do_handshake() failed") && upstream_side() => TlsHandshake,
        b'p' if m.starts_with(b"peer closed connection in SSL handshake") && upstream_side() => {
            TlsHandshake
        }
        b'n' if m.starts_with(b"no live upstreams") => NoLiveUpstreams,
        b'n' if m.starts_with(b"no resolver defined to resolve ") => NoResolver,
        b'h' if m.starts_with(b"host not found in upstream") => HostNotFoundAtLoad,
        b'F' if m.starts_with(b"FastCGI sent in stderr") => FastcgiStderr,
        _ => {
            if F.not_resolved.find(m).is_some() {
                ResolveFailed
            } else {
                return None;
            }
        }
    };
    Some(class)
}

#[inline]
fn is_reset(err: &[u8]) -> bool {
    err.starts_with(b"Connection reset by peer")
}

fn connect_class(err: &[u8]) -> LogClass {
    use LogClass::*;
    let is = |p: &[u8]| err.starts_with(p);
    // Windows words these its own way (WSAECONNREFUSED 10061, WSAEHOSTUNREACH 10065,
    // WSAENETUNREACH 10051), and musl its own for EADDRNOTAVAIL
    if is(b"Connection refused")
        || is(b"No connection could be made because the target machine actively refused")
    {
        ConnectRefused
    } else if is(b"No such file or directory") {
        ConnectNoSocket
    } else if is(b"Permission denied") {
        ConnectPermission
    } else if is(b"Resource temporarily unavailable") {
        ConnectBacklog
    } else if is(b"No route to host")
        || is(b"Network is unreachable")
        || is(b"Host is unreachable")
        || is(b"A socket operation was attempted to an unreachable")
    {
        ConnectUnreachable
    } else if is(b"Cannot assign requested address")
        || is(b"Can't assign requested address")
        || is(b"Address not available")
    {
        ConnectNoPorts
    } else {
        ConnectFailed
    }
}

/// The peer part of an `upstream:` value: `http://127.0.0.1:8080/x` -> `127.0.0.1:8080`,
/// `http://unix:/run/app.sock:/` -> `unix:/run/app.sock`, `http://pool/x` -> `pool`.
pub(crate) fn peer_of(v: &[u8]) -> &[u8] {
    let v = match find_byte(v, b':') {
        Some(p) if v[p..].starts_with(b"://") => &v[p + 3..],
        _ => v,
    };
    if let Some(path) = v.strip_prefix(b"unix:") {
        return match find_byte(path, b':') {
            Some(i) => &v[..5 + i],
            None => v,
        };
    }
    match find_byte(v, b'/') {
        Some(i) => &v[..i],
        None => v,
    }
}

/// The upstream a classified line names: the `upstream:` peer, else what the message names.
fn group_upstream<'a>(class: LogClass, e: &ErrorLine<'a>) -> Option<&'a [u8]> {
    use LogClass::*;
    if let Some(u) = e.upstream {
        let p = peer_of(u);
        if !p.is_empty() {
            return Some(p);
        }
    }
    let m = e.message;
    let name = match class {
        NoResolver => {
            let n = &m[b"no resolver defined to resolve ".len().min(m.len())..];
            &n[..memchr(b' ', n).unwrap_or(n.len())]
        }
        ResolveFailed => &m[..F.not_resolved.find(m).unwrap_or(0)],
        HostNotFoundAtLoad => {
            let q = memchr(b'"', m)?;
            quoted(&m[q + 1..])
        }
        _ if m.starts_with(b"connect() to ") => {
            let n = &m[13..];
            &n[..memchr::memmem::find(n, b" failed").unwrap_or(0)]
        }
        _ => return None,
    };
    (!name.is_empty()).then_some(name)
}

/// The detail that varies within a class: errno text, SSL error, offending header, stderr text.
fn detail<'a>(class: LogClass, e: &ErrorLine<'a>) -> Option<&'a [u8]> {
    use LogClass::*;
    let head = match e.action {
        Some(a) => &e.message[..e.message.len() - a.len() - WHILE.len()],
        None => e.message,
    };
    let d = match class {
        InvalidHeader => head.strip_prefix(b"upstream sent ").unwrap_or(head),
        TlsHandshake | TlsVerify => {
            if let Some(p) = memchr::memmem::find(head, b"(SSL:") {
                let inner = &head[p + 1..];
                &inner[..memrchr(b')', inner).unwrap_or(inner.len())]
            } else if let Some((_, t)) = e.errno {
                t
            } else {
                let o = memchr(b'(', head)?;
                let inner = &head[o + 1..];
                &inner[..memrchr(b')', inner).unwrap_or(inner.len())]
            }
        }
        TlsNameMismatch => {
            let q = memchr(b'"', head)?;
            quoted(&head[q + 1..])
        }
        HostNotFoundAtLoad => {
            let p = memchr::memmem::rfind(head, b" in ")?;
            &head[p + 4..]
        }
        FastcgiStderr => {
            let q = memchr(b'"', head)?;
            let inner = &head[q + 1..];
            &inner[..memrchr(b'"', inner).unwrap_or(inner.len())]
        }
        UpstreamOther => head,
        PrematureClose | BodyTruncated | TooBigHeader | NoValidHeader | UpstreamDisabled
        | NoLiveUpstreams | NoResolver => return e.errno.map(|x| x.1),
        _ => e.errno?.1,
    };
    (!d.is_empty()).then_some(d)
}

/// error.log lines for the summary loop: counted by class; a failure is grouped by the upstream
/// the line names, with its level and [`detail`].
#[derive(Debug)]
pub(crate) struct ErrorClassifier {
    /// The offset times are read at, in seconds: nginx writes local time without one.
    offset: i32,
    /// The time text of the last line and its value: many lines share a second.
    last_time: [u8; 19],
    last_ts: Option<Ts>,
    /// The time of the line last parsed (kept here rather than in the record, which is then the
    /// parser's own [`ErrorLine`], not copied into a bigger one).
    ts: Option<Ts>,
}

impl ErrorClassifier {
    pub(crate) fn new(offset: UtcOffset) -> Self {
        ErrorClassifier {
            offset: offset.whole_seconds(),
            last_time: [0; 19],
            last_ts: None,
            ts: None,
        }
    }
}

impl ErrorClassifier {
    /// The time of a line starting with this time text; many lines share a second, so each
    /// distinct time is parsed once.
    #[inline(always)]
    fn stamp(&mut self, time: &[u8]) -> Option<Ts> {
        match time.first_chunk::<19>() {
            Some(t) if *t == self.last_time => self.last_ts,
            Some(t) => {
                self.last_time = *t;
                self.last_ts = ts::parse_error_time(time, self.offset);
                self.last_ts
            }
            None => None,
        }
    }
}

impl ErrorClassifier {
    /// [`Classifier::skim`] for the lines [`quiet_head`] leaves: through [`parse_head`].
    #[inline(never)]
    fn skim_slow(&mut self, line: &[u8]) -> Skim {
        let Some((level, _, _, _, at)) = parse_head(line) else {
            return Skim::Unparsed;
        };
        let m = &line[at..];
        if level_rank(level) <= 3 || BARE_OPENINGS.iter().any(|o| m.starts_with(o)) {
            return Skim::Parse;
        }
        self.ts = self.stamp(&line[..19]);
        Skim::Quiet(self.ts)
    }
}

/// The little-endian word of up to 8 bytes.
const fn word(b: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < b.len() {
        w |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// Where the message of a line at a level below `error` starts, when its head is the common
/// one: what [`parse_head`] finds, in a few word operations (every line of a log is looked at;
/// most are info or notice). `None` for any other line, left to [`parse_head`].
#[inline(always)]
fn quiet_head(line: &[u8]) -> Option<usize> {
    const M6: u64 = (1 << 48) - 1;
    const M7: u64 = (1 << 56) - 1;
    if !head_shape(line) {
        return None;
    }
    let w = u64::from_le_bytes(*line.get(21..)?.first_chunk::<8>()?);
    // just past "LEVEL] "
    let mut i = if w & M6 == word(b"info] ") {
        27
    } else if w == word(b"notice] ") {
        29
    } else if w & M6 == word(b"warn] ") {
        27
    } else if w & M7 == word(b"debug] ") {
        28
    } else {
        return None;
    };
    // pid#tid: (few enough digits for the values to fit, as parse_head requires)
    let n = digit_run(line, i);
    if n == 0 || n > 9 || line.get(i + n) != Some(&b'#') {
        return None;
    }
    i += n + 1;
    let m = digit_run(line, i);
    if m == 0 || m > 18 || line.get(i + m) != Some(&b':') {
        return None;
    }
    i += m + 1;
    if line.get(i) == Some(&b' ') {
        i += 1;
    }
    if line.get(i) == Some(&b'*') {
        let k = digit_run(line, i + 1);
        if k > 18 {
            return None;
        }
        if k > 0 {
            i += 1 + k;
            if line.get(i) == Some(&b' ') {
                i += 1;
            }
        }
    }
    Some(i)
}

/// How many ASCII digits `line` has from `i` on (up to 24), eight at a time.
#[inline(always)]
fn digit_run(line: &[u8], i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    let mut n = 0;
    while n < 24 {
        let Some(w) = line.get(i + n..).and_then(|r| r.first_chunk::<8>()) else {
            return n + line
                .get(i + n..)
                .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
        };
        let x = u64::from_le_bytes(*w) ^ (LO * 0x30);
        // a byte is a digit when x is at most 9 there
        let non = (((x & (LO * 0x7F)) + LO * 0x76) | x) & (LO * 0x80);
        if non != 0 {
            return n + (non.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n
}

/// Message openings that make a failure of a line at any level without the words of
/// [`ErrorClassifier::NEEDLES`] (see [`specific`]).
const BARE_OPENINGS: [&[u8]; 3] = [
    b"duplicate header line",
    b"no resolver defined to resolve ",
    b"FastCGI sent in stderr",
];

impl Classifier for ErrorClassifier {
    type Record<'l> = ErrorLine<'l>;

    const COUNTS: Counts = Counts::Class;

    /// Below `error` (warn, notice, info, debug), a line is a failure only when [`specific`]
    /// says so, and every class it gives needs "upstream" in the line (in the message, the
    /// action or the `upstream:` field), " could not be resolved", or one of
    /// [`BARE_OPENINGS`]. Lines at `error` or worse are all parsed ([`classify_error`] takes
    /// any of them naming an upstream, and stream{} lines).
    const NEEDLES: &'static [&'static [u8]] = &[b"upstream", b" could not be resolved"];

    #[inline(always)]
    fn skim(&mut self, line: &[u8]) -> Skim {
        let Some(at) = quiet_head(line) else {
            return self.skim_slow(line);
        };
        let m = &line[at..];
        if matches!(m.first(), Some(b'd' | b'n' | b'F'))
            && BARE_OPENINGS.iter().any(|o| m.starts_with(o))
        {
            return Skim::Parse;
        }
        self.ts = self.stamp(&line[..19]);
        Skim::Quiet(self.ts)
    }

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<ErrorLine<'l>> {
        let e = parse_error_line(line)?;
        self.ts = self.stamp(e.time);
        Some(e)
    }

    #[inline]
    fn time(&self, _: &ErrorLine<'_>) -> Option<Ts> {
        self.ts
    }

    #[inline]
    fn status(&self, _: &ErrorLine<'_>) -> Option<u16> {
        None
    }

    #[inline(always)]
    fn fold<'l>(&mut self, e: &ErrorLine<'l>, out: Out<'_, 'l>) {
        let Some(class) = classify_error(e) else {
            return;
        };
        let f = Failure {
            class,
            status: class.client_status(),
            upstream: group_upstream(class, e),
            key: None,
            level: level_name(e.level),
            reused: None,
            ts: self.ts,
        };
        out.failure(&f, || detail(class, e));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use LogClass::*;

    const TAIL: &str = ", client: 127.0.0.1, server: , request: \"GET /X HTTP/1.1\", upstream: \"http://127.0.0.1:9999/X\", host: \"localhost:8080\"";

    fn line(level: &str, msg: &str) -> String {
        format!("2026/05/01 12:00:00 [{level}] 4242#4242: *7 {msg}{TAIL}")
    }

    fn class_of(l: &str) -> Option<LogClass> {
        let e = parse_error_line(l.as_bytes()).unwrap_or_else(|| panic!("unparsed: {l}"));
        classify_error(&e)
    }

    #[test]
    fn kb_example_line() {
        let l = "2026/05/01 12:00:00 [error] 1234#1234: *56 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8080/\", host: \"example.com\"";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.time, b"2026/05/01 12:00:00");
        assert_eq!(e.level, b"error");
        assert_eq!((e.pid, e.tid, e.cid), (1234, 1234, Some(56)));
        assert_eq!(
            e.message,
            &b"connect() failed (111: Connection refused) while connecting to upstream"[..]
        );
        assert_eq!(
            e.message_head(),
            b"connect() failed (111: Connection refused)"
        );
        assert_eq!(e.errno, Some((111, &b"Connection refused"[..])));
        assert_eq!(e.action, Some(&b"connecting to upstream"[..]));
        assert_eq!(e.client, Some(&b"203.0.113.9"[..]));
        assert_eq!(e.server, Some(&b"example.com"[..]));
        assert_eq!(e.request, Some(&b"GET / HTTP/1.1"[..]));
        assert_eq!(e.upstream, Some(&b"http://127.0.0.1:8080/"[..]));
        assert_eq!(e.host, Some(&b"example.com"[..]));
        assert_eq!(classify_error(&e), Some(ConnectRefused));
        assert_eq!(
            group_upstream(ConnectRefused, &e),
            Some(&b"127.0.0.1:8080"[..])
        );
        assert_eq!(detail(ConnectRefused, &e), Some(&b"Connection refused"[..]));
        let t = e.timestamp(UtcOffset::from_hms(2, 0, 0).unwrap()).unwrap();
        assert_eq!(t.unix_timestamp(), 1_777_636_800 - 7200);
    }

    /// KB 8.1: what real nginx 1.22.1 wrote for each broken upstream.
    #[test]
    fn kb_8_1_messages() {
        let cases: &[(&str, &str, LogClass)] = &[
            (
                "error",
                "connect() failed (111: Connection refused) while connecting to upstream",
                ConnectRefused,
            ),
            (
                "error",
                "upstream prematurely closed connection while reading response header from upstream",
                PrematureClose,
            ),
            (
                "error",
                "recv() failed (104: Connection reset by peer) while reading response header from upstream",
                ConnectionReset,
            ),
            (
                "error",
                "upstream sent invalid header: \"X-Bad\\x01...\" while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "upstream sent too big header while reading response header from upstream",
                TooBigHeader,
            ),
            (
                "crit",
                "connect() to unix:/path/app.sock failed (2: No such file or directory) while connecting to upstream",
                ConnectNoSocket,
            ),
            (
                "warn",
                "upstream server temporarily disabled while connecting to upstream",
                UpstreamDisabled,
            ),
            (
                "error",
                "no live upstreams while connecting to upstream",
                NoLiveUpstreams,
            ),
            (
                "error",
                "upstream timed out (110: Connection timed out) while reading response header from upstream",
                ReadTimeout,
            ),
            (
                "error",
                "upstream timed out (110: Connection timed out) while connecting to upstream",
                ConnectTimeout,
            ),
            (
                "error",
                "upstream sent no valid HTTP/1.0 header while reading response header from upstream",
                NoValidHeader,
            ),
            (
                "error",
                "upstream prematurely closed connection while reading upstream",
                BodyTruncated,
            ),
        ];
        for (level, msg, want) in cases {
            let l = line(level, msg);
            assert_eq!(class_of(&l), Some(*want), "{l}");
        }
        // no resolver: no upstream field at all
        let l = "2026/05/01 12:00:00 [error] 4242#4242: *9 no resolver defined to resolve backend.invalid, client: 127.0.0.1, server: , request: \"GET /X HTTP/1.1\", host: \"localhost:8080\"";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(classify_error(&e), Some(NoResolver));
        assert_eq!(e.upstream, None);
        assert_eq!(
            group_upstream(NoResolver, &e),
            Some(&b"backend.invalid"[..])
        );
    }

    /// Every row of the KB 4.2 catalogue.
    #[test]
    fn kb_4_2_catalogue() {
        let cases: &[(&str, &str, LogClass)] = &[
            (
                "error",
                "connect() failed (113: No route to host) while connecting to upstream",
                ConnectUnreachable,
            ),
            (
                "error",
                "connect() failed (101: Network is unreachable) while connecting to upstream",
                ConnectUnreachable,
            ),
            (
                "error",
                "connect() failed (113: Host is unreachable) while connecting to upstream",
                ConnectUnreachable,
            ),
            (
                "crit",
                "connect() to 10.0.0.5:80 failed (99: Cannot assign requested address) while connecting to upstream",
                ConnectNoPorts,
            ),
            (
                "crit",
                "connect() to unix:/run/php.sock failed (13: Permission denied) while connecting to upstream",
                ConnectPermission,
            ),
            (
                "error",
                "connect() to unix:/run/php.sock failed (11: Resource temporarily unavailable) while connecting to upstream",
                ConnectBacklog,
            ),
            (
                "error",
                "connect() failed (110: Connection timed out) while connecting to upstream",
                ConnectFailed,
            ),
            (
                "error",
                "upstream timed out (110: Connection timed out) while SSL handshaking to upstream",
                ConnectTimeout,
            ),
            (
                "error",
                "upstream timed out (110: Connection timed out) while sending request to upstream",
                ReadTimeout,
            ),
            (
                "error",
                "upstream timed out (110: Connection timed out) while reading upstream",
                BodyTimeout,
            ),
            (
                "error",
                "upstream sent duplicate header line: \"Content-Length: 5\", previous value: \"Content-Length: 4\" while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "upstream sent invalid \"Content-Length\" header: \"Content-Length: x\" while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "upstream sent unknown \"Transfer-Encoding\": \"gzip\" while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "upstream sent invalid chunked response while reading upstream",
                InvalidHeader,
            ),
            (
                "error",
                "duplicate header line: \"X: 1\" while reading response header from upstream",
                InvalidHeader,
            ),
            (
                "error",
                "readv() failed (104: Connection reset by peer) while reading response header from upstream",
                ConnectionReset,
            ),
            (
                "error",
                "writev() failed (32: Broken pipe) while sending request to upstream",
                BrokenPipe,
            ),
            (
                "error",
                "send() failed (32: Broken pipe) while sending request to upstream",
                BrokenPipe,
            ),
            (
                "error",
                "sendfile() failed (32: Broken pipe) while sending request to upstream",
                BrokenPipe,
            ),
            (
                "error",
                "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream",
                TlsHandshake,
            ),
            (
                "error",
                "peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream",
                TlsHandshake,
            ),
            (
                "error",
                "upstream SSL certificate verify error: (20:unable to get local issuer certificate) while SSL handshaking to upstream",
                TlsVerify,
            ),
            (
                "error",
                "upstream SSL certificate does not match \"api.internal\" while SSL handshaking to upstream",
                TlsNameMismatch,
            ),
            (
                "error",
                "api.internal could not be resolved (3: Host not found)",
                ResolveFailed,
            ),
            (
                "error",
                "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Error, in /var/www/index.php:3\" while reading response header from upstream",
                FastcgiStderr,
            ),
            (
                "error",
                "upstream prematurely closed FastCGI stdout while reading response header from upstream",
                PrematureClose,
            ),
            (
                "error",
                "upstream sent unexpected FastCGI record: 3 while reading response header from upstream",
                UpstreamOther,
            ),
        ];
        for (level, msg, want) in cases {
            let l = line(level, msg);
            assert_eq!(class_of(&l), Some(*want), "{l}");
        }
        let l = "2026/05/01 12:00:00 [emerg] 1#1: host not found in upstream \"backend.invalid:8080\" in /etc/nginx/conf.d/app.conf:3";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.cid, None);
        assert_eq!(classify_error(&e), Some(HostNotFoundAtLoad));
        assert_eq!(
            group_upstream(HostNotFoundAtLoad, &e),
            Some(&b"backend.invalid:8080"[..])
        );
        assert_eq!(
            detail(HostNotFoundAtLoad, &e),
            Some(&b"/etc/nginx/conf.d/app.conf:3"[..])
        );
    }

    #[test]
    fn details() {
        let e_of = |l: &str| {
            let e = parse_error_line(l.as_bytes()).unwrap();
            let c = classify_error(&e).unwrap();
            detail(c, &e).map(|d| String::from_utf8_lossy(d).into_owned())
        };
        assert_eq!(
            e_of(&line("error", "SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40) while SSL handshaking to upstream")).as_deref(),
            Some("SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40")
        );
        assert_eq!(
            e_of(&line("error", "upstream SSL certificate verify error: (20:unable to get local issuer certificate) while SSL handshaking to upstream")).as_deref(),
            Some("20:unable to get local issuer certificate")
        );
        assert_eq!(
            e_of(&line("error", "upstream sent invalid header: \"X-Bad\\x01...\" while reading response header from upstream")).as_deref(),
            Some("invalid header: \"X-Bad\\x01...\"")
        );
        assert_eq!(
            e_of(&line("error", "upstream SSL certificate does not match \"api.internal\" while SSL handshaking to upstream")).as_deref(),
            Some("api.internal")
        );
        assert_eq!(
            e_of(&line(
                "error",
                "upstream prematurely closed connection while reading response header from upstream"
            )),
            None
        );
    }

    #[test]
    fn message_with_commas_and_client_lookalike() {
        let l = line(
            "error",
            "FastCGI sent in stderr: \"a, b, client: c, d\" while reading response header from upstream",
        );
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.client, Some(&b"127.0.0.1"[..]));
        assert_eq!(
            e.action,
            Some(&b"reading response header from upstream"[..])
        );
        assert_eq!(classify_error(&e), Some(FastcgiStderr));
        assert_eq!(detail(FastcgiStderr, &e), Some(&b"a, b, client: c, d"[..]));
        // a request containing the client anchor does not move the fields
        let l = "2026/05/01 12:00:00 [error] 1#1: *2 upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.1, server: x, request: \"GET /?q=, client: evil, HTTP/1.1\", upstream: \"http://10.0.0.2:80/\", host: \"x\"";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.client, Some(&b"10.0.0.1"[..]));
        assert_eq!(e.request, Some(&b"GET /?q=, client: evil, HTTP/1.1"[..]));
        assert_eq!(e.upstream, Some(&b"http://10.0.0.2:80/"[..]));
        // a message quoting a whole client/server pair still ends at the real fields
        let l = line(
            "error",
            "FastCGI sent in stderr: \"x, client: 9.9.9.9, server: fake\" while reading response header from upstream",
        );
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.client, Some(&b"127.0.0.1"[..]));
        assert_eq!(e.server, Some(&b""[..]));
        assert_eq!(e.upstream, Some(&b"http://127.0.0.1:9999/X"[..]));
        assert_eq!(
            e.action,
            Some(&b"reading response header from upstream"[..])
        );
        // and a line whose fields do not run in order falls back to the rightmost client
        let l = "2026/05/01 12:00:00 [error] 1#1: *2 upstream sent something odd, client: 10.0.0.1, server: x, bytes from/to client:1/0";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.client, Some(&b"10.0.0.1"[..]));
        assert_eq!(e.message, b"upstream sent something odd");
    }

    #[test]
    fn unix_socket_upstreams() {
        let l = "2026/05/01 12:00:00 [crit] 1#1: *3 connect() to unix:/run/app.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET / HTTP/1.1\", upstream: \"http://unix:/run/app.sock:/\", host: \"x\"";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(classify_error(&e), Some(ConnectNoSocket));
        assert_eq!(
            group_upstream(ConnectNoSocket, &e),
            Some(&b"unix:/run/app.sock"[..])
        );
        // without the upstream field: from the message
        let l = "2026/05/01 12:00:00 [crit] 1#1: *3 connect() to unix:/run/php/fpm.sock failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: _";
        let e = parse_error_line(l.as_bytes()).unwrap();
        assert_eq!(e.server, Some(&b"_"[..]));
        assert_eq!(classify_error(&e), Some(ConnectPermission));
        assert_eq!(
            group_upstream(ConnectPermission, &e),
            Some(&b"unix:/run/php/fpm.sock"[..])
        );
        assert_eq!(
            peer_of(b"fastcgi://unix:/run/php-fpm.sock:"),
            b"unix:/run/php-fpm.sock"
        );
        assert_eq!(peer_of(b"http://backend_pool/api"), b"backend_pool");
        assert_eq!(peer_of(b"http://[::1]:8080/"), b"[::1]:8080");
        assert_eq!(peer_of(b"10.0.0.1:9000"), b"10.0.0.1:9000");
    }

    #[test]
    fn bsd_errno_texts() {
        let cases: &[(&str, LogClass)] = &[
            (
                "connect() failed (61: Connection refused) while connecting to upstream",
                ConnectRefused,
            ),
            (
                "connect() failed (65: No route to host) while connecting to upstream",
                ConnectUnreachable,
            ),
            (
                "connect() to 10.0.0.1:80 failed (49: Can't assign requested address) while connecting to upstream",
                ConnectNoPorts,
            ),
            (
                "connect() to unix:/tmp/a.sock failed (35: Resource temporarily unavailable) while connecting to upstream",
                ConnectBacklog,
            ),
            (
                "upstream timed out (60: Operation timed out) while reading response header from upstream",
                ReadTimeout,
            ),
            (
                "recv() failed (54: Connection reset by peer) while reading response header from upstream",
                ConnectionReset,
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(class_of(&line("error", msg)), Some(*want), "{msg}");
        }
    }

    #[test]
    fn not_upstream_failures() {
        let quiet = [
            "2026/05/01 12:00:00 [error] 1#1: *1 open() \"/usr/share/nginx/html/favicon.ico\" failed (2: No such file or directory), client: 1.2.3.4, server: x, request: \"GET /favicon.ico HTTP/1.1\", host: \"x\"",
            "2026/05/01 12:00:00 [error] 1#1: *1 open() \"/www/upstream-status.png\" failed (2: No such file or directory), client: 1.2.3.4, server: x, request: \"GET /upstream-status.png HTTP/1.1\", host: \"x\"",
            "2026/05/01 12:00:00 [notice] 1#1: signal process started",
            "2026/05/01 12:00:00 [warn] 1#1: *5 an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 1.2.3.4, server: x, request: \"GET /big HTTP/1.1\", upstream: \"http://10.0.0.1:80/big\", host: \"x\"",
            "2026/05/01 12:00:00 [info] 1#1: *5 client prematurely closed connection while sending to client, client: 1.2.3.4, server: x",
            "2026/05/01 12:00:00 [info] 1#1: *5 writev() failed (32: Broken pipe) while sending to client, client: 1.2.3.4, server: x, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.1:80/\", host: \"x\"",
            "2026/05/01 12:00:00 [info] 1#1: *5 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 1.2.3.4, server: 0.0.0.0:443",
        ];
        for l in quiet {
            let e = parse_error_line(l.as_bytes()).unwrap_or_else(|| panic!("unparsed {l}"));
            assert_eq!(classify_error(&e), None, "{l}");
        }
        assert_eq!(
            class_of(
                "2026/05/01 12:00:00 [error] 1#1: *5 upstream sent something odd while reading upstream, client: 1.2.3.4, server: x"
            ),
            Some(UpstreamOther)
        );
    }

    #[test]
    fn quiet_head_agrees_with_parse_head() {
        let heads = [
            "2026/05/01 12:00:00 [info] 31#31: *1012 client 1.2.3.4 closed keepalive connection",
            "2026/05/01 12:00:00 [notice] 1#1: signal process started",
            "2026/05/01 12:00:00 [warn] 7#0: *3 an upstream response is buffered",
            "2026/05/01 12:00:00 [debug] 7#7: *12345678901234567 x",
            "2026/05/01 12:00:00 [debug] 7#7:*1",
            "2026/05/01 12:00:00 [info] 7#7: *",
            "2026/05/01 12:00:00 [info] 7#7:",
            "2026/05/01 12:00:00 [info] 1234567890#1: x",
            "2026/05/01 12:00:00 [info] 123456789#1234567890123456789: x",
            "2026/05/01 12:00:00 [info] 1#123456789012345678: *1234567890123456789 x",
            "2026/05/01 12:00:00 [info] #1: x",
            "2026/05/01 12:00:00 [info] 1#: x",
            "2026/05/01 12:00:00 [info]  1#1: x",
            "2026/05/01 12:00:00 [infos] 1#1: x",
            "2026/05/01 12:00:00 [error] 1#1: *5 x",
            "2026/05/01 12:00:00 [notice] 1#1:",
        ];
        for h in heads {
            let got = quiet_head(h.as_bytes());
            let want = parse_head(h.as_bytes())
                .filter(|p| level_rank(p.0) > 3)
                .map(|p| p.4);
            // quiet_head may leave a line to parse_head, never disagree with it
            if got.is_some() {
                assert_eq!(got, want, "{h}");
            }
        }
        assert!(quiet_head(heads[0].as_bytes()).is_some());
        assert_eq!(digit_run(b"x1234567890123y", 1), 13);
        assert_eq!(digit_run(b"12", 0), 2);
        assert_eq!(digit_run(b"1/:", 0), 1);
    }

    #[test]
    fn head_shape_is_the_time_test() {
        let good = b"2026/05/01 12:00:00 [error] 1#1: x";
        assert!(head_shape(good));
        // every byte of the shape, changed to every value, agrees with the byte-wise test
        for i in 0..24 {
            for b in 0..=255u8 {
                let mut l = good.to_vec();
                l[i] = b;
                let want = crate::ts::is_error_time(&l) && l[19] == b' ' && l[20] == b'[';
                assert_eq!(head_shape(&l), want, "byte {i} = {b:#x}");
            }
        }
        assert!(!head_shape(b"2026/05/01 12:00:00 [e"));
    }

    #[test]
    fn digits_counts_and_values() {
        for (input, want) in [
            (&b""[..], (0, 0)),
            (b"x", (0, 0)),
            (b"7", (7, 1)),
            (b"1234#1234", (1234, 4)),
            (b"12345678", (12_345_678, 8)),
            (b"123456789 ", (123_456_789, 9)),
            (b"1234567890123456:", (1_234_567_890_123_456, 16)),
            (b"12/", (12, 2)),
            (b"12\xb3", (12, 2)),
            (b"0000000000000000001x", (1, 19)),
            (b"00000000000000000012", (1, 19)),
        ] {
            assert_eq!(digits(input), want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn find_byte_matches_position() {
        let hay = b"0123456789abcdef,ghij klmnopqrstuvwxyz\x80\xff,";
        for start in 0..hay.len() {
            for needle in [b',', b' ', b'z', 0x80, 0xff, b'0', b'#'] {
                let h = &hay[start..];
                assert_eq!(
                    find_byte(h, needle),
                    h.iter().position(|&c| c == needle),
                    "{start} {needle}"
                );
            }
        }
    }

    #[test]
    fn rejects_non_error_lines() {
        for l in [
            "",
            "hello world",
            "127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
            "2026/05/01 12:00:00 [bogus] 1#1: x",
            "2026/05/01 12:00:00 [error] x#1: y",
        ] {
            assert!(parse_error_line(l.as_bytes()).is_none(), "{l}");
        }
    }
}
