//! cloud502's renderers: one file per format, each writing a [`Report`] (one subject) or an
//! [`AuditReport`] (`cloud502 audit`, many subjects) to `&mut dyn Write`.
//!
//! Renderers never print on their own and never decide the exit code; they only show what the
//! report says. The CI formats (JUnit XML, Prometheus text) are written for audits; a single
//! report in those formats is rendered as a one-subject audit.

use cloud502_model::{AuditReport, Report, Rollup};
use std::io::{self, Write};

mod audit;
mod html;
mod json;
mod jsonl;
mod junit;
mod markdown;
mod prometheus;
mod sarif;
mod steps;
mod table;
mod trace;

/// An output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, coloured when allowed: the default on a terminal.
    Table,
    /// The whole report as one pretty-printed JSON document.
    Json,
    /// One JSON object per line: a header record, then probes, targets, findings, errors.
    Jsonl,
    /// Markdown, for tickets and chat.
    Markdown,
    /// SARIF 2.1.0: findings that point at config lines, for GitHub code scanning and editors.
    Sarif,
    /// JUnit XML: one test suite per subject, one test case per check, for CI test reports.
    Junit,
    /// Prometheus text exposition format 0.0.4, for node-exporter's textfile collector.
    Prometheus,
    /// One self-contained HTML page (inline CSS and SVG, no script, no fetch): the answer, the
    /// 5xx timeline, the hop chain, targets and findings.
    Html,
}

impl Format {
    /// Every format, for `--help` and completions.
    pub const ALL: [Format; 8] = [
        Format::Table,
        Format::Json,
        Format::Jsonl,
        Format::Markdown,
        Format::Sarif,
        Format::Junit,
        Format::Prometheus,
        Format::Html,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Prometheus => "prometheus",
            Format::Html => "html",
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Emit ANSI colours (table only).
    pub color: bool,
    /// Draw sparklines with ASCII instead of Unicode blocks (table only): for `TERM=dumb` and
    /// `NO_COLOR` terminals.
    pub ascii: bool,
}

/// The 5xx log lines that name this target (`host:port`) as their upstream, added up over the
/// window; `None` when no log names it or the window is one bucket (nothing to say over time).
pub(crate) fn target_timeline(report: &Report, endpoint: &str) -> Option<cloud502_model::Timeline> {
    let mut sum: Option<cloud502_model::Timeline> = None;
    for g in report.logs.iter().flat_map(|l| &l.groups) {
        let (Some(t), Some(u)) = (&g.timeline, &g.upstream) else {
            continue;
        };
        if u != endpoint || g.client_status().is_some_and(|s| s < 500) {
            continue;
        }
        match &mut sum {
            None => sum = Some(t.clone()),
            Some(acc) => {
                acc.add_timeline(t);
            }
        }
    }
    sum.filter(|t| t.counts.len() > 1)
}

/// A one-line sparkline of `counts`, at most `width` characters (adjacent buckets added up):
/// Unicode blocks, or ASCII when `ascii`. A bucket with nothing is the lowest mark, so the window's
/// length and the quiet minutes stay visible.
pub fn sparkline(counts: &[u64], width: usize, ascii: bool) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 8] = ['.', ':', '-', '=', '+', '*', '#', '@'];
    let marks = if ascii { &ASCII } else { &BLOCKS };
    if counts.is_empty() || width == 0 {
        return String::new();
    }
    let per = counts.len().div_ceil(width);
    let cells: Vec<u64> = counts.chunks(per).map(|c| c.iter().sum()).collect();
    let max = cells.iter().copied().max().unwrap_or(0);
    cells
        .iter()
        .map(|&c| {
            if c == 0 || max == 0 {
                marks[0]
            } else {
                // 1..=7: any count at all shows above the zero mark, the largest as a full block
                let level = (c * 7).div_ceil(max) as usize;
                marks[level.clamp(1, 7)]
            }
        })
        .collect()
}

/// Write `report` in `format` to `out`.
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, options, out),
        Format::Json => json::render(report, out),
        Format::Jsonl => jsonl::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Html => html::render(report, out),
        Format::Junit | Format::Prometheus => {
            render_audit(&audit::single(report), format, options, out)
        }
    }
}

/// Write the report of `cloud502 audit` in `format` to `out`.
pub fn render_audit(
    audit: &AuditReport,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => audit::table(audit, options, out),
        Format::Json => audit::json(audit, out),
        Format::Jsonl => audit::jsonl(audit, out),
        Format::Markdown => audit::markdown(audit, out),
        Format::Sarif => audit::sarif(audit, out),
        Format::Junit => junit::render(audit, out),
        Format::Prometheus => prometheus::render(audit, out),
        Format::Html => html::render_audit(audit, out),
    }
}

/// Write a trace report: table and markdown print the hops and the answer, json the whole
/// report, html the page with the hop chain; the other formats are for reports and audits.
pub fn render_trace(
    trace: &cloud502_model::TraceReport,
    format: Format,
    _options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => trace::json(trace, out),
        Format::Markdown => trace::text(trace, true, out),
        Format::Html => html::render_trace(trace, out),
        _ => trace::text(trace, false, out),
    }
}

/// Replace control characters (terminal escapes from remote input) with spaces.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// What the exit code means, in words.
pub(crate) fn exit_meaning(report: &Report) -> String {
    let s = &report.summary;
    let fail_on = s.fail_on.as_str();
    let partial = if s.partial {
        "; some sources could not be read"
    } else {
        ""
    };
    match s.exit_code {
        0 => format!("exit 0: nothing at or above --fail-on {fail_on}{partial}"),
        1 => format!(
            "exit 1: {} finding(s) at or above --fail-on {fail_on}{partial}",
            s.failing_findings
        ),
        3 => "exit 3: partial: some sources could not be read".to_owned(),
        4 => "exit 4: nothing could be inspected".to_owned(),
        n => format!("exit {n}"),
    }
}

/// What an audit's exit code means, in words.
pub(crate) fn audit_exit_meaning(rollup: &Rollup) -> String {
    let fail_on = rollup.fail_on.as_str();
    let partial = if rollup.partial {
        "; some subjects or sources could not be read"
    } else {
        ""
    };
    match rollup.exit_code {
        0 => format!("exit 0: nothing at or above --fail-on {fail_on}{partial}"),
        1 => format!(
            "exit 1: {} finding(s) at or above --fail-on {fail_on}{partial}",
            rollup.failing_findings
        ),
        3 => "exit 3: partial: some subjects or sources could not be read".to_owned(),
        4 => "exit 4: no subject could be inspected".to_owned(),
        n => format!("exit {n}"),
    }
}

#[cfg(test)]
mod spark_tests {
    use super::sparkline;

    #[test]
    fn zero_is_the_lowest_mark_and_the_peak_a_full_block() {
        assert_eq!(sparkline(&[0, 1, 7, 0], 60, false), "▁▂█▁");
        assert_eq!(sparkline(&[0, 1, 7, 0], 60, true), ".:@.");
        assert_eq!(sparkline(&[], 60, false), "");
    }

    #[test]
    fn long_series_are_folded_to_the_width() {
        let counts: Vec<u64> = (0..240).map(|i| u64::from(i == 100)).collect();
        let s = sparkline(&counts, 60, true);
        assert_eq!(s.chars().count(), 60);
        assert_eq!(s.chars().filter(|c| *c != '.').count(), 1);
        assert!(s.is_ascii());
    }
}
