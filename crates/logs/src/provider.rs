//! `cloud502 logs`: saved log files as a provider, so offline classification yields the same report
//! (and the same rules) as a live inspection.

use crate::{AccessFormat, FormatChoice, Options};
use async_trait::async_trait;
use cloud502_engine::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, Gap, GapKind, ProviderKind, Subject};
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
        for (i, path) in self.opts.paths.iter().enumerate() {
            let label = path.display().to_string();
            let total = std::fs::metadata(path).ok().map(|m| m.len());
            let (path, id, choice, formats, options, progress) = (
                path.clone(),
                format!("log.{i}"),
                self.opts.choice,
                self.opts.formats.clone(),
                self.opts.options.clone(),
                cx.progress.clone(),
            );
            let task_label = label.clone();
            let result = tokio::task::spawn_blocking(move || {
                let mut report = |done: u64| progress.bytes(&task_label, done, total);
                let r = crate::summarize_path(&path, &id, choice, &formats, &options, &mut report);
                progress.bytes_done(&task_label);
                r
            })
            .await;
            match result {
                Ok(Ok(summary)) => ev.logs.push(summary),
                Ok(Err(e)) => ev.gaps.push(gap(&label, &e)),
                Err(e) => ev.gaps.push(Gap {
                    scope: label,
                    kind: GapKind::Other,
                    message: format!("reading the log failed: {e}"),
                    hint: None,
                }),
            }
        }
        cloud502_engine::describe::describe(&mut ev);
        Ok(ev)
    }
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
    Gap {
        scope: label.to_owned(),
        kind,
        message: e.to_string(),
        hint: None,
    }
}
