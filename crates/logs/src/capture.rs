//! The prefixes that capturing a log adds in front of nginx's own lines (`docker logs -t`,
//! `kubectl logs --timestamps`, the CRI files under `/var/log/pods`, `journalctl`, `docker compose
//! logs`), found in a log's head and stripped from each line before its dialect reads it.
//!
//! Official nginx images send access.log to stdout and error.log to stderr, so what people paste is
//! nginx's lines behind one of these prefixes (KB 9.4); the dialect's own timestamp still dates each
//! line.

/// How a log was captured: which prefix its lines carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capture {
    /// nginx's lines as written.
    #[default]
    Plain,
    /// `docker logs -t` / `kubectl logs --timestamps`: an RFC 3339 time and a space.
    Timestamped,
    /// The CRI log file format (containerd, CRI-O: `/var/log/pods/...`): an RFC 3339 time, the
    /// stream (`stdout` / `stderr`) and a `F` (full) or `P` (partial) tag.
    Cri,
    /// `journalctl` (`May 01 12:00:00 host nginx[123]: `, or its `-o short-iso` form).
    Journald,
    /// `docker compose logs`: the service's name and `| `.
    Compose,
}

impl Capture {
    /// Every capture that has a prefix, in the order they are tried (the most specific first).
    const PREFIXED: [Capture; 4] = [
        Capture::Cri,
        Capture::Journald,
        Capture::Timestamped,
        Capture::Compose,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Capture::Plain => "plain",
            Capture::Timestamped => "timestamped",
            Capture::Cri => "cri",
            Capture::Journald => "journald",
            Capture::Compose => "compose",
        }
    }

    /// The line without this capture's prefix; a line without it (a blank or a line written by
    /// something else) is returned as it is.
    #[inline]
    pub(crate) fn strip(self, line: &[u8]) -> &[u8] {
        match self {
            Capture::Plain => line,
            other => other.prefix_len(line).map_or(line, |n| &line[n..]),
        }
    }

    /// The length of this capture's prefix at the start of `line`, if it is there.
    fn prefix_len(self, line: &[u8]) -> Option<usize> {
        match self {
            Capture::Plain => Some(0),
            Capture::Timestamped => rfc3339_len(line).map(|n| n + 1),
            Capture::Cri => {
                let n = rfc3339_len(line)? + 1;
                let rest = &line[n..];
                let tag = rest
                    .strip_prefix(b"stdout ")
                    .or(rest.strip_prefix(b"stderr "))?;
                match tag {
                    [b'F' | b'P', b' ', ..] => Some(n + 7 + 2),
                    _ => None,
                }
            }
            Capture::Journald => {
                let n = syslog_time_len(line).or_else(|| rfc3339_len(line))? + 1;
                let host = word_len(&line[n..])?;
                let at = n + host + 1;
                let ident = word_len(&line[at..])?;
                // `nginx[123]:` or `nginx:`
                (line[at + ident - 1] == b':').then_some(at + ident + 1)
            }
            Capture::Compose => {
                let name = line.iter().position(|b| {
                    !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                })?;
                let spaces = line[name..].iter().take_while(|&&b| b == b' ').count();
                (name > 0 && spaces > 0 && line[name + spaces..].starts_with(b"| "))
                    .then_some(name + spaces + 2)
            }
        }
    }

    /// The capture most of `lines` carry, when more than half carry one; else [`Capture::Plain`].
    pub(crate) fn detect(lines: &[&[u8]]) -> Capture {
        Self::PREFIXED
            .into_iter()
            .find(|c| lines.iter().filter(|l| c.prefix_len(l).is_some()).count() * 2 > lines.len())
            .unwrap_or(Capture::Plain)
    }
}

/// A CRI log stream with its partial records joined: the runtime splits a long line into `P`
/// (partial) records ended by an `F` (full) one, each behind its own prefix; this reader gives
/// the line whole, once, behind its first record's prefix, so that it is classified and counted
/// as one line. Records of the two streams (stdout, stderr) are joined apart, as they may
/// interleave. A joined line is kept to `cap` bytes (and one more, so that the line reader counts
/// it as too long); the rest is read and dropped, so memory stays bounded. Lines without a CRI
/// prefix pass through unchanged. [`CriJoin::read_bytes`] is the count of bytes read from the
/// inner reader.
pub(crate) struct CriJoin<R> {
    inner: std::io::BufReader<R>,
    cap: usize,
    line: Vec<u8>,
    out: Vec<u8>,
    out_at: usize,
    /// The pending partial line of stdout and of stderr.
    pending: [Option<Vec<u8>>; 2],
    read: std::rc::Rc<std::cell::Cell<u64>>,
    eof: bool,
}

impl<R: std::io::Read> CriJoin<R> {
    pub(crate) fn new(inner: R, cap: usize) -> Self {
        CriJoin {
            inner: std::io::BufReader::with_capacity(256 * 1024, inner),
            cap,
            line: Vec::new(),
            out: Vec::new(),
            out_at: 0,
            pending: [None, None],
            read: std::rc::Rc::default(),
            eof: false,
        }
    }

    /// The bytes read from the inner reader so far, shared (the joiner is moved into the loop).
    pub(crate) fn read_bytes(&self) -> std::rc::Rc<std::cell::Cell<u64>> {
        std::rc::Rc::clone(&self.read)
    }

    /// Read one record into `self.line` (without its line break), keeping at most `cap + 1`
    /// bytes; `false` at the end.
    fn next_record(&mut self) -> std::io::Result<bool> {
        use std::io::BufRead;
        self.line.clear();
        let mut any = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            let room = (self.cap + 1).saturating_sub(self.line.len());
            self.line.extend_from_slice(&buf[..take.min(room)]);
            let used = take + usize::from(done);
            self.inner.consume(used);
            self.read.set(self.read.get() + used as u64);
            if done {
                return Ok(true);
            }
        }
    }

    /// Turn the next record(s) into output; `false` at the end with nothing left.
    fn fill(&mut self) -> std::io::Result<bool> {
        self.out.clear();
        self.out_at = 0;
        while self.out.is_empty() {
            if self.eof || !self.next_record()? {
                self.eof = true;
                // partial lines never ended by a full record are given as they are
                for p in self.pending.iter_mut().filter_map(Option::take) {
                    self.out.extend_from_slice(&p);
                    self.out.push(b'\n');
                }
                return Ok(!self.out.is_empty());
            }
            let line = &self.line;
            let Some(n) = Capture::Cri.prefix_len(line) else {
                self.out.extend_from_slice(line);
                self.out.push(b'\n');
                continue;
            };
            // `<time> stdout P `: the tag is before the last space, the stream before that
            let stream = usize::from(line[n - 9..].starts_with(b"stderr"));
            let content = line[n..].strip_suffix(b"\r").unwrap_or(&line[n..]);
            let partial = line[n - 2] == b'P';
            let cap = self.cap + 1;
            match (&mut self.pending[stream], partial) {
                (Some(p), _) => {
                    let room = cap.saturating_sub(p.len());
                    p.extend_from_slice(&content[..content.len().min(room)]);
                    if !partial {
                        let p = self.pending[stream].take().unwrap_or_default();
                        self.out.extend_from_slice(&p);
                        self.out.push(b'\n');
                    }
                }
                (None, true) => {
                    let mut p = Vec::with_capacity(line.len() * 2);
                    p.extend_from_slice(&line[..n - 2]);
                    p.extend_from_slice(b"F ");
                    p.extend_from_slice(content);
                    self.pending[stream] = Some(p);
                }
                (None, false) => {
                    self.out.extend_from_slice(line);
                    self.out.push(b'\n');
                }
            }
        }
        Ok(true)
    }
}

impl<R: std::io::Read> std::io::Read for CriJoin<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_at == self.out.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

/// The length of a word (up to the next space, which must follow).
fn word_len(s: &[u8]) -> Option<usize> {
    let n = memchr::memchr(b' ', s)?;
    (n > 0).then_some(n)
}

/// The length of an RFC 3339 time at the start of `s` (`2026-05-01T12:00:00.123456789Z`, or with
/// an offset), when a space follows it.
fn rfc3339_len(s: &[u8]) -> Option<usize> {
    let digits =
        |r: std::ops::Range<usize>| s.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && s.get(4) == Some(&b'-')
        && digits(5..7)
        && s.get(7) == Some(&b'-')
        && digits(8..10)
        && s.get(10) == Some(&b'T')
        && digits(11..13)
        && s.get(13) == Some(&b':');
    if !shape {
        return None;
    }
    let n = word_len(s)?;
    (n <= 40).then_some(n)
}

/// The length of a syslog time (`May  1 12:00:00`, `May 01 12:00:00`) at the start of `s`, when a
/// space follows it.
fn syslog_time_len(s: &[u8]) -> Option<usize> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let t = s.get(..16)?;
    let day_ok = (t[4] == b' ' || t[4].is_ascii_digit()) && t[5].is_ascii_digit();
    let time_ok = t[7..15].iter().enumerate().all(|(i, b)| {
        if i == 2 || i == 5 {
            *b == b':'
        } else {
            b.is_ascii_digit()
        }
    });
    (MONTHS.iter().any(|m| &t[..3] == *m)
        && t[3] == b' '
        && day_ok
        && t[6] == b' '
        && time_ok
        && t[15] == b' ')
        .then_some(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERR: &str = "2026/05/01 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 172.17.0.1, server: localhost, request: \"GET / HTTP/1.1\", upstream: \"http://172.17.0.3:8080/\", host: \"localhost\"";

    #[test]
    fn each_prefix_is_found_and_stripped() {
        for (line, want) in [
            (
                format!("2026-05-01T12:00:00.123456789Z {ERR}"),
                Capture::Timestamped,
            ),
            (
                format!("2026-05-01T12:00:00+02:00 {ERR}"),
                Capture::Timestamped,
            ),
            (
                format!("2026-05-01T12:00:00.123456789Z stderr F {ERR}"),
                Capture::Cri,
            ),
            (
                format!("2026-05-01T12:00:00.1Z stdout P {ERR}"),
                Capture::Cri,
            ),
            (
                format!("May 01 12:00:00 web1 nginx[812]: {ERR}"),
                Capture::Journald,
            ),
            (
                format!("May  1 12:00:00 web1 nginx: {ERR}"),
                Capture::Journald,
            ),
            (
                format!("2026-05-01T12:00:00+0000 web1 nginx[812]: {ERR}"),
                Capture::Journald,
            ),
            (format!("web-1  | {ERR}"), Capture::Compose),
            (ERR.to_string(), Capture::Plain),
        ] {
            let l = line.as_bytes();
            assert_eq!(Capture::detect(&[l]), want, "{line}");
            assert_eq!(want.strip(l), ERR.as_bytes(), "{line}");
        }
    }

    #[test]
    fn lines_without_the_prefix_are_kept_and_odd_text_is_not_a_prefix() {
        assert_eq!(Capture::Cri.strip(b"plain"), b"plain");
        assert_eq!(Capture::Journald.strip(b"-- Boot 1 --"), b"-- Boot 1 --");
        for odd in [
            "2026-05-01T12:00:00Z",
            "2026-05-01 12:00:00 x",
            "May 01 12:00:00 host",
            " | x",
            "GET / HTTP/1.1",
        ] {
            assert_eq!(Capture::detect(&[odd.as_bytes()]), Capture::Plain, "{odd}");
        }
        // nginx's own error line is not taken for a compose prefix
        assert_eq!(Capture::detect(&[ERR.as_bytes()]), Capture::Plain);
    }
}
