//! One stream that interleaves nginx's error.log and access-log lines (`docker logs` of the
//! official image: access.log is stdout, error.log stderr; an ingress-nginx controller's log), read
//! as two summaries: each pass keeps its own dialect's lines and passes over the other's, so every
//! line is classified in its own dialect and the rules see an error log and an access log as
//! usual.

use crate::nginx_access::{AccessClassifier, AccessFormat};
use crate::nginx_error::{ErrorClassifier, parse_error_line};
use crate::scan::{Classifier, Counts, Out};
use crate::ts::Ts;

/// A line of the pass's dialect, or one of the other's (read, not counted).
pub(crate) enum Side<R> {
    Mine(R),
    Other,
}

/// Does the line look like an error.log line (its `YYYY/MM/DD HH:MM:SS [` head)? Cheap, and
/// exact enough to tell it from any access format, whose lines never start so.
#[inline]
fn error_head(line: &[u8]) -> bool {
    line.len() > 21 && line[4] == b'/' && line[7] == b'/' && line[19] == b' ' && line[20] == b'['
}

/// A Go `klog` line (`I0501 12:00:00.123456       7 controller.go:214] ...`), which an
/// ingress-nginx controller writes between nginx's own lines: not nginx's, so not a failure and not
/// an unreadable line either.
#[inline]
pub(crate) fn klog_line(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'I' | b'W' | b'E' | b'F'))
        && line.len() > 22
        && line[1..5].iter().all(u8::is_ascii_digit)
        && line[5] == b' '
        && line[8] == b':'
        && line[11] == b':'
}

/// The error-log pass: lines with an error.log head are its own (an own line it cannot parse is
/// unparsed here); every other line belongs to the access pass, which counts the lines neither
/// pass reads. `own` counts its lines, so that each line is counted once, under its own dialect
/// (in `parse`: a `skim` added here must count them too; `tests/cri_partial.rs` checks the sums).
pub(crate) struct ErrorSide {
    inner: ErrorClassifier,
    own: std::rc::Rc<std::cell::Cell<u64>>,
}

impl ErrorSide {
    pub(crate) fn new(inner: ErrorClassifier) -> Self {
        ErrorSide {
            inner,
            own: std::rc::Rc::default(),
        }
    }

    /// The count of the pass's own lines, shared (the pass is moved into the loop).
    pub(crate) fn own(&self) -> std::rc::Rc<std::cell::Cell<u64>> {
        std::rc::Rc::clone(&self.own)
    }
}

impl Classifier for ErrorSide {
    type Record<'l> = Side<crate::nginx_error::ErrorLine<'l>>;

    const COUNTS: Counts = Counts::Class;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<Self::Record<'l>> {
        if !error_head(line) {
            return Some(Side::Other);
        }
        self.own.set(self.own.get() + 1);
        self.inner.parse(line).map(Side::Mine)
    }

    fn ignored(&self, r: &Self::Record<'_>) -> bool {
        matches!(r, Side::Other)
    }

    fn time(&self, r: &Self::Record<'_>) -> Option<Ts> {
        match r {
            Side::Mine(e) => self.inner.time(e),
            Side::Other => None,
        }
    }

    fn status(&self, _: &Self::Record<'_>) -> Option<u16> {
        None
    }

    #[inline(always)]
    fn fold<'l>(&mut self, r: &Self::Record<'l>, out: Out<'_, 'l>) {
        if let Side::Mine(e) = r {
            self.inner.fold(e, out);
        }
    }
}

/// The access-log pass: error lines (parsed or not) and klog lines are the other's; a line that is
/// neither an access line nor those is unparsed here.
pub(crate) struct AccessSide<'f>(pub(crate) AccessClassifier<'f>);

impl<'f> AccessSide<'f> {
    pub(crate) fn new(fmt: &'f AccessFormat) -> Self {
        AccessSide(AccessClassifier::new(fmt))
    }
}

impl Classifier for AccessSide<'_> {
    type Record<'l> = Side<crate::nginx_access::AccessFields<'l>>;

    const COUNTS: Counts = Counts::Status;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<Self::Record<'l>> {
        if error_head(line) || (klog_line(line) && parse_error_line(line).is_none()) {
            return Some(Side::Other);
        }
        self.0.parse(line).map(Side::Mine)
    }

    fn ignored(&self, r: &Self::Record<'_>) -> bool {
        matches!(r, Side::Other)
    }

    fn time(&self, r: &Self::Record<'_>) -> Option<Ts> {
        match r {
            Side::Mine(a) => self.0.time(a),
            Side::Other => None,
        }
    }

    fn status(&self, r: &Self::Record<'_>) -> Option<u16> {
        match r {
            Side::Mine(a) => self.0.status(a),
            Side::Other => None,
        }
    }

    #[inline(always)]
    fn fold<'l>(&mut self, r: &Self::Record<'l>, out: Out<'_, 'l>) {
        if let Side::Mine(a) = r {
            self.0.fold(a, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_told_apart() {
        assert!(error_head(b"2026/05/01 12:00:00 [error] 1#1: x"));
        assert!(!error_head(
            b"172.17.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 1"
        ));
        assert!(klog_line(
            b"I0501 12:00:00.123456       7 controller.go:214] \"Backend successfully reloaded\""
        ));
        assert!(!klog_line(b"172.17.0.1 - - [01/May/2026:12:00:00 +0000]"));
    }
}
