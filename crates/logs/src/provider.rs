//! `cloud502 logs`: saved log files as a provider, so offline classification yields the same report
//! (and the same rules) as a live inspection.

use crate::{AccessFormat, FormatChoice, Options};
use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::LogSummary;
use cloud502_model::{Evidence, Gap, GapKind, ProviderKind, Subject};
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;

/// What `cloud502 logs` reads.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// The files, plain or gzip.
    pub paths: Vec<PathBuf>,
    /// The dialect, or auto-detection per file.
    pub choice: FormatChoice,
    /// Custom access-log formats to try (from `--log-format` or a config's `log_format`).
    pub formats: Vec<AccessFormat>,
    /// Window, line cap, offsets.
    pub options: Options,
    /// The columns of CSV Logpush files without a header line (`--logpush-fields`: the job's
    /// `output_options.field_names`): every file is then read as a Cloudflare log.
    pub logpush_fields: Option<crate::CsvLayout>,
}

/// Saved logs as a provider.
#[derive(Debug, Clone)]
pub struct LogsProvider {
    opts: LogsOptions,
}

impl LogsProvider {
    /// A provider over these files.
    pub fn new(opts: LogsOptions) -> Self {
        LogsProvider { opts }
    }
}

#[async_trait]
impl Provider for LogsProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Logs
    }

    fn subject(&self) -> Subject {
        let names: Vec<String> = self
            .opts
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        Subject {
            kind: ProviderKind::Logs,
            id: names.join(", "),
        }
    }

    async fn collect(&self, cx: &CollectCx) -> Result<Evidence, ProviderError> {
        let mut ev = Evidence::new(self.subject());
        let paths = match crate::expand_dirs(&self.opts.paths) {
            Ok(paths) => paths,
            Err(e) => {
                let scope = match &e {
                    crate::LogError::NotRegular { path, .. }
                    | crate::LogError::Open { path, .. } => path.clone(),
                    _ => "logs".to_owned(),
                };
                ev.gaps.push(gap(&scope, &e));
                // the other paths are still read
                self.opts
                    .paths
                    .iter()
                    .filter(|p| !p.is_dir())
                    .cloned()
                    .collect()
            }
        };
        // the file each summary was read from, for the join below
        let mut sources: Vec<PathBuf> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let label = path.display().to_string();
            let total = std::fs::metadata(path).ok().map(|m| m.len());
            let (task_path, id, choice, formats, options, progress) = (
                path.clone(),
                format!("log.{i}"),
                self.opts.choice,
                self.opts.formats.clone(),
                self.opts.options.clone(),
                cx.progress.clone(),
            );
            let csv = self.opts.logpush_fields.clone();
            let task_label = label.clone();
            let result = tokio::task::spawn_blocking(move || {
                let mut report = |done: u64| progress.bytes(&task_label, done, total);
                let r = match csv {
                    // the user named the columns: one sequential read in that layout
                    Some(layout) => crate::open(&task_path).and_then(|reader| {
                        let dialect = crate::Dialect::CloudflareCsv(layout);
                        crate::summarize(reader, &task_label, &id, &dialect, &options, &mut report)
                            .map(|s| vec![s])
                    }),
                    None => crate::summarize_path_all(
                        &task_path,
                        &id,
                        choice,
                        &formats,
                        &options,
                        &mut report,
                    ),
                };
                progress.bytes_done(&task_label);
                r
            })
            .await;
            match result {
                Ok(Ok(summaries)) => {
                    for summary in summaries {
                        if let Some(u) = unread(&summary, path, &self.opts.formats, true) {
                            ev.gaps.push(u.gap(&self.opts.formats, HintFor::Logs));
                        }
                        ev.logs.push(summary);
                        sources.push(path.clone());
                    }
                }
                Ok(Err(e)) => ev.gaps.push(gap(&label, &e)),
                Err(e) => ev.gaps.push(Gap {
                    scope: label,
                    kind: GapKind::Other,
                    message: format!("reading the log failed: {e}"),
                    hint: None,
                }),
            }
        }
        // error.log lines that are attempts nginx retried, whose request got an answer, are
        // counted as retried: joined with the access log on the peer and the time
        let retried = |s: &LogSummary| {
            s.dialect == "nginx-access"
                && s.groups
                    .iter()
                    .any(|g| g.class == cloud502_model::LogClass::UpstreamRetried)
        };
        if ev.logs.iter().any(retried) && ev.logs.len() == sources.len() {
            let (formats, options) = (self.opts.formats.clone(), self.opts.options.clone());
            let mut logs = std::mem::take(&mut ev.logs);
            let joined = tokio::task::spawn_blocking(move || {
                crate::join_error_and_access(&mut logs, &sources, &formats, &options);
                logs
            })
            .await;
            match joined {
                Ok(logs) => ev.logs = logs,
                Err(e) => ev.gaps.push(Gap {
                    scope: "logs".to_owned(),
                    kind: GapKind::Other,
                    message: format!("joining the error and access logs failed: {e}"),
                    hint: None,
                }),
            }
        }
        cloud502_collect::describe::describe(&mut ev);
        Ok(ev)
    }
}

/// Which command a hint is for: the flags that fix a log differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintFor {
    /// `cloud502 logs` (`--format`, `--log-format`, `--nginx-config`).
    Logs,
    /// `cloud502 nginx` (`--error-log`, `--access-log`, the config's `log_format`).
    Nginx,
}

/// A log that was read but not (wholly) understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// The path.
    pub source: String,
    /// The dialect it was read as.
    pub dialect: String,
    /// What was not understood, in one line.
    pub message: String,
    /// The dialect its head reads as, when that differs and fits most sampled lines (so that the
    /// flag suggested for it cannot lead to another run on data it cannot read).
    pub fits: Option<&'static str>,
    /// It looks like a log cloud502 does not read (an ALB connection log, an Apache error log):
    /// what it is and what to pass instead.
    pub other: Option<&'static str>,
}

/// The hint for a Cloudflare log none of whose lines reads: a CSV job without a header line.
const CSV_WITHOUT_HEADER: &str = "its lines are neither Logpush NDJSON records nor CSV rows under a \
     header line of Logpush field names: for a CSV job without a header (no batch_prefix), pass \
     the job's output_options.field_names in order, e.g. `--logpush-fields \
     EdgeStartTimestamp,EdgeResponseStatus,OriginResponseStatus,OriginIP,EdgeColoCode,RayID`";

/// Share of unparsed lines (in tenths) above which an access-style log is a gap: a few odd lines
/// in a large log are noise, more means the format is not the one the lines were read with.
const UNPARSED_TENTHS: u64 = 1;

/// A summary that shows lines read but not understood: lines but none parsed (a wrong format, a
/// CSV Logpush file, an ALB connection log), more than a tenth of them unparsed (half for an
/// error.log, where application messages can span lines), or (when `empty_is_gap`, for files the
/// user named) no line at all. Looks at the head of `path` again to say what it is instead.
pub fn unread(
    summary: &LogSummary,
    path: &Path,
    formats: &[AccessFormat],
    empty_is_gap: bool,
) -> Option<Unread> {
    let sk = &summary.skipped;
    let bad = sk.unparsed + sk.binary + sk.invalid_utf8;
    let read = summary.lines;
    let message = if read == 0 {
        if !empty_is_gap {
            return None;
        }
        "the file is empty: there is nothing to diagnose".to_owned()
    } else if bad >= read {
        format!(
            "none of its {read} line(s) reads as {}: nothing in it was understood",
            summary.dialect
        )
    } else {
        let limit = if summary.dialect == "nginx-error" {
            5
        } else {
            UNPARSED_TENTHS
        };
        if bad * 10 <= read * limit {
            return None;
        }
        format!(
            "{bad} of its {read} line(s) do not read as {} and were not understood",
            summary.dialect
        )
    };
    let head = head_of(path);
    let fits = crate::detect(&head, formats)
        .map(|d| d.name())
        .filter(|d| *d != summary.dialect);
    Some(Unread {
        source: summary.source.clone(),
        dialect: summary.dialect.clone(),
        message,
        fits,
        other: (read > 0).then(|| other_kind(&head)).flatten(),
    })
}

impl Unread {
    /// The gap, with the exact flag that fixes it for this command.
    pub fn gap(&self, formats: &[AccessFormat], command: HintFor) -> Gap {
        let hint = match (self.other, self.fits, command) {
            (Some(other), _, _) => other.to_owned(),
            (None, Some(d), HintFor::Logs) => format!("its lines read as {d}: pass `--format {d}`"),
            (None, Some("nginx-error"), HintFor::Nginx) => {
                format!(
                    "its lines read as an error log: pass it with `--error-log {}`",
                    self.source
                )
            }
            (None, Some("nginx-access"), HintFor::Nginx) => format!(
                "its lines read as an access log: pass it with `--access-log {}`",
                self.source
            ),
            (None, Some(d), HintFor::Nginx) => format!(
                "its lines read as {d}: read it with `cloud502 logs --format {d} {}`",
                self.source
            ),
            (None, None, _) if self.dialect == "nginx-access" => {
                let tried: Vec<&str> = formats.iter().map(|f| f.name()).collect();
                let tried = if tried.is_empty() {
                    "combined".to_owned()
                } else {
                    format!("{} and combined", tried.join(", "))
                };
                match command {
                    HintFor::Logs => format!(
                        "it is not in the log_format tried ({tried}): pass the one that wrote it \
                         with `--log-format NAME='...'` or `--nginx-config /etc/nginx/nginx.conf`"
                    ),
                    HintFor::Nginx => format!(
                        "it is not in the log_format tried ({tried}): check the access_log \
                         directive names the log_format that writes it"
                    ),
                }
            }
            (None, None, _) if self.message.starts_with("the file is empty") => {
                "pass a log with lines in it (a rotated one may be named *.1 or *.gz)".to_owned()
            }
            (None, None, HintFor::Logs) if self.dialect == "cloudflare-http-requests" => {
                CSV_WITHOUT_HEADER.to_owned()
            }
            (None, None, _) => "cloud502 reads nginx error and access logs, AWS ALB and Azure \
                                Application Gateway access logs and Cloudflare Logpush \
                                http_requests records (NDJSON, or CSV with a header line or \
                                `--logpush-fields`); this file fits none of them"
                .to_owned(),
        };
        Gap {
            scope: self.source.clone(),
            kind: GapKind::InvalidInput,
            message: self.message.clone(),
            hint: Some(hint),
        }
    }
}

/// The first 64 KiB of the file, uncompressed; empty when it cannot be read (it was just read
/// whole, so that is unlikely).
fn head_of(path: &Path) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(r) = crate::open(path) {
        let _ = r
            .take(crate::summary::HEAD_CAP as u64)
            .read_to_end(&mut head);
    }
    head
}

/// Is this an Apache httpd error.log line? 2.4: `[Tue May 01 12:00:00.123456 2026]
/// [proxy:error] [pid 7] ... AH00957: ...`; 2.2: `[Tue May 01 12:00:00 2026] [error] [client
/// 10.0.0.1] proxy: error reading status line from remote server ...`. Looks past a capture
/// prefix.
fn apache_error_line(line: &[u8]) -> bool {
    let bare = crate::Capture::detect(&[line]).strip(line);
    let bare = String::from_utf8_lossy(bare);
    let bare = bare.trim();
    bare.starts_with('[')
        && bare.contains("] [")
        && (bare.contains(" AH0")
            || bare.contains("[proxy")
            || bare.contains("] proxy: ")
            || bare.contains(": proxy: "))
}

/// Logs from the same platforms that cloud502 does not read, told by their first line (for
/// Apache httpd, by any of the first lines: a paste often mixes its access and error lines).
fn other_kind(head: &[u8]) -> Option<&'static str> {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    // (an ALB connection log's own first field is a time: only the Apache check looks past a
    // capture prefix)
    let first = String::from_utf8_lossy(first);
    let first = first.trim();
    if head.split(|&b| b == b'\n').take(20).any(apache_error_line) {
        return Some(
            "this is an Apache httpd error log (Apache, not nginx), which cloud502 does not \
             classify; for 502s look for AH01102 (Apache 2.2: \"proxy: error reading status \
             line\": the backend closed or reset before answering, or did not answer within \
             ProxyTimeout when the line says \"(70007)The timeout specified has expired\"), \
             AH00898 (error reading from the backend, logged with it) and AH00957 / AH01114 \
             (no connection to the backend)",
        );
    }
    if !first.starts_with('{')
        && first.contains(',')
        && (first.contains("EdgeResponseStatus") || first.contains("RayID"))
    {
        // (a header cloud502 reads is detected before this is asked)
        return Some(
            "this looks like a CSV Logpush file whose first line is not a header of Logpush field \
             names alone: pass the job's output_options.field_names in order with \
             `--logpush-fields NAME,NAME,...` (the header line, if any, is then read too)",
        );
    }
    // A CSV Logpush row without a header: strings quoted, one of them a ray id (16 hex digits)
    if !first.starts_with('{') && csv_ray(first) {
        return Some(
            "this looks like a CSV Logpush file without a header line (a quoted ray id): pass the \
             job's output_options.field_names in order with `--logpush-fields NAME,NAME,...` \
             (`--logpush-tsv` when the job's field_delimiter is a tab)",
        );
    }
    // An ALB connection log line: time, client ip, client port, listener port, TLS protocol,
    // cipher, handshake latency, three client-certificate fields, verify status, trace id.
    let f: Vec<&str> = first.split(' ').collect();
    let looks_time = |s: &str| s.len() >= 20 && s.as_bytes()[4] == b'-' && s.ends_with('Z');
    if (11..=13).contains(&f.len())
        && looks_time(f[0])
        && f[2].parse::<u16>().is_ok()
        && f[3].parse::<u16>().is_ok()
        && (f[4].starts_with("TLS") || f[4] == "-")
    {
        return Some(
            "this is an ALB connection log (TLS handshakes, not requests): pass the ALB's access \
             logs (the files without `conn_log` in their name) with `--format alb-access`",
        );
    }
    None
}

/// Does this line hold a quoted Cloudflare ray id (`"8e4f1c2a3b5d6e7f"`) as a value between
/// commas or tabs?
fn csv_ray(line: &str) -> bool {
    line.split([',', '\t']).count() >= 2
        && line.split([',', '\t']).any(|v| {
            v.len() == 18
                && v.starts_with('"')
                && v.ends_with('"')
                && v[1..17].bytes().all(|c| c.is_ascii_hexdigit())
        })
}

/// A log that could not be read, as a gap in the report.
pub fn gap(label: &str, e: &crate::LogError) -> Gap {
    use crate::LogError as E;
    let kind = match e {
        E::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            GapKind::NotFound
        }
        E::Open { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            GapKind::Permission
        }
        _ => GapKind::InvalidInput,
    };
    let mut message = e.to_string();
    let mut hint = None;
    // A log from these platforms that cloud502 does not read: say what it is, rather than list
    // formats that would each read none of its lines.
    if let E::UnknownFormat { path } = e {
        if let Some(other) = other_kind(&head_of(Path::new(path))) {
            message = format!("cannot tell the log format of {path}");
            hint = Some(other.to_owned());
        }
    }
    Gap {
        scope: label.to_owned(),
        kind,
        message,
        hint,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn an_apache_error_log_is_named_with_the_lines_that_matter() {
        // a line of the shape Apache httpd 2.4 writes for mod_proxy (AH01102)
        let apache = "[Fri May 01 12:00:00.123456 2026] [proxy_http:error] [pid 1234:tid 140] (104)Connection reset by peer: [client 203.0.113.9:50000] AH01102: error reading status line from remote server 127.0.0.1:8080\n";
        let hint = other_kind(apache.as_bytes()).unwrap();
        assert!(
            hint.contains("Apache httpd") && hint.contains("AH01102"),
            "{hint}"
        );
        let docker = format!("2026-05-01T12:00:00.1Z {apache}");
        assert!(other_kind(docker.as_bytes()).is_some());
        assert_eq!(other_kind(ERROR.as_bytes()), None);
        assert_eq!(other_kind(COMBINED.as_bytes()), None);
    }

    #[test]
    fn a_header_less_csv_logpush_row_is_named_with_the_flag() {
        // the documented CSV output (cloudflare-docs log-output-options.mdx, "csv")
        let row = "\"89.163.242.206\",1506702504433000200,\"3a6050bcbe121a87\"\n";
        let hint = other_kind(row.as_bytes()).unwrap();
        assert!(hint.contains("--logpush-fields"), "{hint}");
        assert!(other_kind(row.replace(',', "\t").as_bytes()).is_some());
        // not for a ray id in a JSON line, a quoted value of other length, or no delimiter
        assert_eq!(
            other_kind(b"{\"RayID\":\"3a6050bcbe121a87\",\"a\":1}\n"),
            None
        );
        assert_eq!(
            other_kind(b"\"89.163.242.206\",\"3a6050bcbe121a8\"\n"),
            None
        );
        assert_eq!(other_kind(b"\"3a6050bcbe121a87\"\n"), None);
        assert_eq!(other_kind(COMBINED.as_bytes()), None);
    }

    /// An nginx `combined` line (the format nginx's docs define) and an error.log line.
    const COMBINED: &str = "203.0.113.9 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"\n";
    const ERROR: &str = "2026/05/01 12:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.9:8080/\", host: \"a\"\n";

    fn summarize(
        text: &str,
        choice: FormatChoice,
    ) -> (tempfile::TempDir, std::path::PathBuf, LogSummary) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, text).unwrap();
        let s = crate::summarize_path(
            &path,
            "log.0",
            choice,
            &[],
            &Options::default(),
            &mut |_| {},
        )
        .unwrap();
        (dir, path, s)
    }

    #[test]
    fn a_log_that_reads_as_another_dialect_suggests_that_one_only() {
        let (_d, path, s) = summarize(&ERROR.repeat(3), FormatChoice::NginxAccess);
        let u = unread(&s, &path, &[], false).expect("a gap");
        assert_eq!(u.fits, Some("nginx-error"));
        let g = u.gap(&[], HintFor::Logs);
        assert_eq!(g.kind, GapKind::InvalidInput);
        assert_eq!(
            g.hint.as_deref(),
            Some("its lines read as nginx-error: pass `--format nginx-error`")
        );
        let g = u.gap(&[], HintFor::Nginx);
        assert!(g.hint.unwrap().contains("`--error-log "));
        // read as what it is: no gap
        let (_d, path, s) = summarize(&ERROR.repeat(3), FormatChoice::NginxError);
        assert_eq!(unread(&s, &path, &[], true), None);
    }

    #[test]
    fn a_few_odd_lines_are_noise_more_are_a_gap_and_empty_depends_on_who_named_it() {
        let mut text = COMBINED.repeat(19);
        text.push_str("one odd line\n");
        let (_d, path, s) = summarize(&text, FormatChoice::NginxAccess);
        assert_eq!(unread(&s, &path, &[], true), None, "1 in 20");
        text.push_str("another odd line\nand a third\n");
        let (_d, path, s) = summarize(&text, FormatChoice::NginxAccess);
        let u = unread(&s, &path, &[], true).expect("3 in 22");
        assert!(
            u.message.starts_with("3 of its 22 line(s)"),
            "{}",
            u.message
        );
        assert!(
            u.gap(&[], HintFor::Logs)
                .hint
                .unwrap()
                .contains("--log-format")
        );
        let (_d, path, s) = summarize("", FormatChoice::NginxError);
        assert!(unread(&s, &path, &[], true).is_some(), "named by the user");
        assert_eq!(
            unread(&s, &path, &[], false),
            None,
            "an empty error.log is healthy"
        );
    }
}
