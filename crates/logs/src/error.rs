//! Errors of the log readers: each one line naming the problem and the fix.

use std::io;

/// Why a log could not be read or summarized.
///
/// Every variant displays as one line: what went wrong, then a `(hint: ...)` with the fix.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file could not be opened.
    #[error("cannot open {path}: {source} (hint: {})", open_hint(source))]
    Open {
        /// The path as given.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file could not be read to the end (including a corrupt gzip stream).
    #[error(
        "cannot read {path}: {source} (hint: if it is gzip-compressed check it with `gzip -t`, \
         otherwise check the file is a readable regular file)"
    )]
    Read {
        /// The path (or source name) being read.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The head of the file is binary data, not lines of text.
    #[error(
        "{path} does not look like a text log: its head is mostly binary or has no line breaks \
         (hint: is this a log file? pass the uncompressed log or a .gz of it)"
    )]
    NotText {
        /// The path.
        path: String,
    },
    /// Auto-detection could not tell the dialect.
    #[error(
        "cannot tell the log format of {path}: it is neither an nginx error.log, an nginx access \
         log in a known log_format, an AWS ALB or Azure Application Gateway access log, nor a \
         Cloudflare Logpush http_requests log (hint: pass --format nginx-error, --format \
         nginx-access, --format alb-access, --format appgw-access or --format \
         cloudflare-http-requests)"
    )]
    UnknownFormat {
        /// The path.
        path: String,
    },
    /// The path is not a regular file (or a link to one): a pipe, a terminal, a device, a socket,
    /// a directory, or a link to a process's output. Reading it could block forever or never end,
    /// so it is refused before it is opened.
    #[error("{path} {what}: not a log file that can be read to its end (hint: {hint})")]
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is, as a phrase: `is a named pipe (FIFO)`, `is a link to /dev/stdout`.
        what: String,
        /// The fix.
        hint: String,
    },
    /// A `log_format` string that cannot be parsed.
    #[error(
        "cannot use log_format {name}: {problem} (hint: check the log_format directive in the \
         nginx config, or pass --format nginx-error for error logs)"
    )]
    BadFormat {
        /// The format's name.
        name: String,
        /// What is wrong with it, in one line.
        problem: String,
    },
}

/// `std::result::Result` with [`LogError`].
pub type Result<T, E = LogError> = std::result::Result<T, E>;

fn open_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::NotFound => "check the path; rotated logs may be named error.log.1 or *.gz",
        io::ErrorKind::PermissionDenied => "run as a user that can read it, or copy the file",
        _ => "check the path and that it is a readable file",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn all() -> Vec<LogError> {
        vec![
            LogError::Open {
                path: "/x/error.log".into(),
                source: io::Error::from_raw_os_error(13),
            },
            LogError::Open {
                path: "/x/error.log".into(),
                source: io::Error::from(io::ErrorKind::NotFound),
            },
            LogError::Read {
                path: "/x/error.log.gz".into(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "corrupt deflate stream"),
            },
            LogError::NotText {
                path: "/x/a.bin".into(),
            },
            LogError::UnknownFormat {
                path: "/x/a.log".into(),
            },
            LogError::BadFormat {
                name: "main".into(),
                problem: "no $status variable".into(),
            },
            LogError::NotRegular {
                path: "/x/fifo".into(),
                what: "is a named pipe (FIFO)".into(),
                hint: "save the lines to a file first".into(),
            },
        ]
    }

    #[test]
    fn display_is_one_line_with_hint() {
        for e in all() {
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
            assert!(s.contains("(hint: "), "{s}");
            assert!(s.ends_with(')'), "{s}");
        }
    }

    #[test]
    fn open_permission_message() {
        let e = LogError::Open {
            path: "/x/error.log".into(),
            source: io::Error::from_raw_os_error(13),
        };
        let s = e.to_string();
        assert!(
            s.starts_with("cannot open /x/error.log: Permission denied"),
            "{s}"
        );
        assert!(s.contains("run as a user that can read it"), "{s}");
    }

    #[test]
    fn specific_hints() {
        let s = LogError::UnknownFormat { path: "a".into() }.to_string();
        assert!(
            s.contains(
                "--format nginx-error, --format nginx-access, --format alb-access, --format \
                 appgw-access or --format cloudflare-http-requests"
            ),
            "{s}"
        );
        let s = LogError::NotText { path: "a".into() }.to_string();
        assert!(s.contains("is this a log file?"));
    }
}
