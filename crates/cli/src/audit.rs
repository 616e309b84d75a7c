//! `cloud502 audit` and `cloud502 trace`: the scheduled job over an audit.toml, and one URL
//! through the layers its host's chain declares.

use crate::args::{AuditArgs, GlobalArgs, TraceArgs};
use crate::{emit, fail_on_arg, output, run_options, usage};
use anyhow::Context as _;
use cloud502::audit::webhook::{Outcome, Webhook};
use cloud502::audit::{AuditFile, AuditOptions, AuditProgress, ConfigError};
use cloud502::model::{Shard, SubjectRun};
use cloud502::render::{Format, RenderOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One line on stderr per finished subject: a job's log shows progress and which subject was slow.
#[derive(Debug)]
struct Lines;

impl AuditProgress for Lines {
    fn finished(&self, run: &SubjectRun, done: usize, total: usize) {
        let s = &run.report.summary;
        let what = if !s.inspected {
            run.report.errors.first().map_or_else(
                || "not inspected".to_owned(),
                |g| format!("not inspected: {}", g.message),
            )
        } else {
            format!(
                "{}, {} failing finding(s){}",
                run.report.verdict.as_str(),
                s.failing_findings,
                if s.partial { ", partial" } else { "" }
            )
        };
        crate::term::line(
            "audit",
            &format!(
                "[{done}/{total}] {} ({}): {what} in {:.1} s",
                run.name,
                run.provider.as_str(),
                run.duration_ms / 1000.0
            ),
            None,
        );
    }
}

/// The audit file's problems: each on its own `error:` line (stderr lines are one line each), then
/// the count. A problem that carries its own hint gets no second one.
fn config_error(e: ConfigError) -> anyhow::Error {
    let hint = "see docs/audit.md for the format".to_owned();
    match e.problems.as_slice() {
        [one] => {
            let hint = (!one.contains("(hint: ")).then_some(hint);
            usage(one.clone(), hint)
        }
        many => {
            for problem in many {
                crate::term::line("error", problem, None);
            }
            usage(
                format!("{} problems in the audit file", many.len()),
                Some(hint),
            )
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `$XDG_STATE_HOME/cloud502/<stem>[.shard-I-of-N].json`, XDG_STATE_HOME defaulting to
/// `~/.local/state`.
fn default_state_file(config: &Path, shard: Option<Shard>) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    let stem = config
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    let shard = shard
        .map(|s| format!(".shard-{}-of-{}", s.index, s.count))
        .unwrap_or_default();
    Some(base.join("cloud502").join(format!("{stem}{shard}.json")))
}

pub fn audit(global: &GlobalArgs, args: &AuditArgs) -> anyhow::Result<u8> {
    let opts = run_options(global)?;
    let file = AuditFile::load(&args.config, cloud502::PROVIDERS).map_err(config_error)?;
    let shard = args
        .shard
        .as_deref()
        .map(cloud502::audit::parse_shard)
        .transpose()
        .map_err(|e| usage(e, None))?;
    let subjects = cloud502::audit::select(&file, shard, &args.only).map_err(|unknown| {
        let names: Vec<&str> = file.subjects.iter().map(|s| s.name.as_str()).collect();
        usage(
            format!(
                "--only names no subject of {}: {}",
                args.config.display(),
                unknown.join(", ")
            ),
            Some(format!("subjects: {}", names.join(", "))),
        )
    })?;
    if let Some(path) = &args.metrics_textfile {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(usage(
                format!(
                    "--metrics-textfile: directory {} does not exist",
                    dir.display()
                ),
                Some(
                    "create it, or point at node-exporter's --collector.textfile.directory"
                        .to_owned(),
                ),
            ));
        }
    }
    let webhook = match &args.webhook {
        None => None,
        Some(url) => {
            let state = match &args.state_file {
                Some(p) => p.clone(),
                None => default_state_file(&args.config, shard).ok_or_else(|| {
                    usage(
                        "--webhook needs a state file and neither XDG_STATE_HOME nor HOME is set",
                        Some("pass --state-file PATH".to_owned()),
                    )
                })?,
            };
            Some(Webhook::new(url, state).map_err(|e| usage(e, None))?)
        }
    };
    if args.check {
        let shard_note = shard.map(|s| format!(" in shard {s}")).unwrap_or_default();
        emit(|out| {
            writeln!(
                out,
                "{}: ok, {} subject(s), {} to run{shard_note}",
                args.config.display(),
                file.subjects.len(),
                subjects.len()
            )?;
            for s in &subjects {
                writeln!(
                    out,
                    "{}\t{}\tdeadline {} s",
                    s.name,
                    s.spec.kind().as_str(),
                    s.deadline.as_secs()
                )?;
            }
            Ok(())
        })?;
        return Ok(0);
    }
    let options = AuditOptions {
        concurrency: args.concurrency.map(usize::from),
        fail_on: fail_on_arg(global),
        severity_overrides: opts.severity_overrides,
        shard,
        only: args.only.clone(),
        local_offset: crate::window::local_offset(),
        progress: if global.quiet {
            Arc::new(cloud502::audit::Silent)
        } else {
            Arc::new(Lines)
        },
        ..AuditOptions::default()
    };
    let runtime = runtime()?;
    let report = runtime.block_on(cloud502::audit::run(&file, &subjects, &options));
    let mut exit = report.rollup.exit_code;
    if let Some(path) = &args.metrics_textfile {
        let mut text = Vec::new();
        cloud502::render::render_audit(
            &report,
            Format::Prometheus,
            &RenderOptions::default(),
            &mut text,
        )
        .context("cannot render the metrics")?;
        if let Err(e) = cloud502::audit::write_atomic(path, &text, 0o644) {
            crate::term::line(
                "error",
                &format!("cannot write --metrics-textfile {}: {e}", path.display()),
                None,
            );
            if exit == 0 {
                exit = cloud502::engine::outcome::EXIT_PARTIAL;
            }
        }
    }
    if let Some(hook) = &webhook {
        let outcome = runtime.block_on(hook.notify(&report));
        match outcome {
            Outcome::Sent { added, resolved } if !global.quiet => crate::term::line(
                "note",
                &format!(
                    "webhook sent to {}: {added} new, {resolved} resolved",
                    hook.host()
                ),
                None,
            ),
            Outcome::Unchanged if !global.quiet => crate::term::line(
                "note",
                "webhook not sent: the findings are the same as last run",
                None,
            ),
            Outcome::Recorded if !global.quiet => crate::term::line(
                "note",
                "webhook not sent: first run and nothing wrong; state recorded",
                None,
            ),
            Outcome::Failed(why) => crate::term::line("warning", &why, None),
            _ => {}
        }
    }
    // Blocking work a subject left behind (a resolver call that never returns, a read of a
    // FIFO) must not hold the process once the report is done.
    runtime.shutdown_background();
    let (format, render) = output(global);
    emit(|out| cloud502::render::render_audit(&report, format, &render, out))?;
    Ok(exit)
}

pub fn trace(global: &GlobalArgs, args: &TraceArgs) -> anyhow::Result<u8> {
    let opts = run_options(global)?;
    let file = AuditFile::load(&args.config, cloud502::PROVIDERS).map_err(config_error)?;
    let (chain, host) = cloud502::audit::trace::chain_for(&file, &args.url)
        .map_err(|e| usage(e.message, Some(e.hint)))?;
    let request = cloud502::probe::ProbeRequest::new(
        &args.url,
        cloud502::probe::ProbeOptions {
            resolve: args.resolve.clone(),
            headers: Vec::new(),
            timeout: args.timeout,
            insecure: false,
            ca_files: args.cacert.clone(),
        },
    )
    .map_err(|e| usage(e.to_string(), e.hint))?;
    let (format, render) = output(global);
    if !matches!(
        format,
        Format::Table | Format::Json | Format::Markdown | Format::Html
    ) {
        return Err(usage(
            format!(
                "trace prints table, json, markdown or html, not {}",
                format.as_str()
            ),
            None,
        ));
    }
    let options = AuditOptions {
        fail_on: fail_on_arg(global),
        severity_overrides: opts.severity_overrides,
        local_offset: crate::window::local_offset(),
        ..AuditOptions::default()
    };
    let runtime = runtime()?;
    let report = runtime.block_on(cloud502::audit::trace::trace(
        &file, chain, &host, request, &options,
    ));
    runtime.shutdown_background();
    emit(|out| cloud502::render::render_trace(&report, format, &render, out))?;
    Ok(report.exit_code)
}
