//! Streaming, zero-copy log classifiers: nginx error.log and access logs, AWS ALB access logs,
//! Azure Application Gateway v2 access logs and Cloudflare Logpush `http_requests` logs, into
//! [`LogSummary`].
//!
//! A log is read in large blocks through one reused buffer, split into lines with `memchr`, and each
//! line is classified from borrowed bytes without allocating: only lines that record a failure are
//! aggregated into [`LogGroup`](cloud502_model::LogGroup)s keyed by (class, upstream). Memory is
//! bounded whatever the input: lines are capped at [`Options::max_line`] (the tail of a longer line
//! is read and dropped), groups at [`Options::max_groups`], samples at [`Options::max_samples`].
//!
//! - error.log lines are classified by message and action text into a [`LogClass`] (KB 4.2);
//!   errno numbers are never used, so BSD/macOS logs classify too.
//! - access log lines are counted by `$status`; 499 and 5xx lines are classified by the upstream
//!   timing variables of their `log_format` (KB 4.4).
//! - AWS ALB access logs (the S3 `.log.gz` lines, or JSON records; [`parse_alb_line`]) are counted
//!   by `elb_status_code`; 460, 5xx and `error_reason` lines are classified by `error_reason`,
//!   `target_status_code` and the processing times (KB 1.3, 1.4, 1.9) and grouped by
//!   `target:port`.
//! - Azure Application Gateway v2 access logs (JSON records, diagnostic-setting or `AGWAccessLogs`
//!   rows; [`parse_appgw_line`]) are counted by `httpStatus`; failures are classified by
//!   `error_info`, then by `httpStatus` and `serverStatus` (KB 2.3, 2.5), and grouped by
//!   `serverRouted`. The gateway's own requests (`clientIP` 127.0.0.1) are read but ignored.
//! - Cloudflare Logpush `http_requests` logs (JSON records; [`parse_cloudflare_line`]) are counted
//!   by `EdgeResponseStatus`; failures are classified by the edge and origin statuses
//!   ([`cloudflare_class`], shared with the Cloudflare provider's analytics, KB 3.3) and grouped by
//!   `OriginIP` and `EdgeColoCode`.
//!
//! Speed comes from doing little per line: lines are known to be plain text from one vectorized
//! pass per block, timestamps are parsed once per distinct second, nginx access lines are walked
//! only up to `$status` unless they are 499/5xx, ALB lines are split once in place (JSON records
//! too: their values are borrowed raw), and [`summarize_path`] reads a large plain file with two
//! threads on halves split at a line break (merged exactly; see its docs). `unsafe` is forbidden,
//! so files are read, not memory-mapped.
//!
//! ```no_run
//! use cloud502_logs::{FormatChoice, Options, summarize_path};
//! let s = summarize_path(
//!     std::path::Path::new("/var/log/nginx/error.log"),
//!     "logs.0",
//!     FormatChoice::Auto,
//!     &[],
//!     &Options::default(),
//!     &mut |_bytes| {},
//! )?;
//! # Ok::<(), cloud502_logs::LogError>(())
//! ```

mod alb;
mod appgw;
mod capture;
mod cloudflare;
mod detect;
mod error;
mod groups;
mod join;
mod mixed;
mod nginx_access;
mod nginx_error;
mod provider;
mod reader;
mod scan;
mod summary;
mod ts;

pub use alb::{AlbHealthCheck, AlbLine, classify_alb, parse_alb_health_check_line, parse_alb_line};
pub use appgw::{
    AppgwRecord, ERRORINFO_UPSTREAM_CLOSED_CONNECTION, ERRORINFO_UPSTREAM_NO_LIVE,
    ERRORINFO_UPSTREAM_TIMED_OUT, appgw_class, classify_appgw, parse_appgw_line,
};
pub use capture::Capture;
pub use cloud502_model::{LogClass, LogSummary};
pub use cloudflare::{
    CloudflareRecord, CsvLayout, classify_cloudflare, cloudflare_class, parse_cloudflare_line,
};
pub use detect::{Dialect, FormatChoice, detect};
pub use error::{LogError, Result};
pub use join::join_error_and_access;
pub use nginx_access::AccessFormat;
pub use nginx_error::{ErrorLine, classify_error, parse_error_line};
pub use provider::{HintFor, LogsOptions, LogsProvider, Unread, gap, unread};
pub use reader::{MAX_DIR_DEPTH, MAX_DIR_FILES, check_source, expand_dirs, open};
pub use scan::Options;
pub use summary::{STDIN_CAP, summarize, summarize_path, summarize_path_all};
