//! cloud502's renderers: one file per format, each writing a [`Report`] to `&mut dyn Write`.
//!
//! Renderers never print on their own and never decide the exit code; they only show what the
//! report says.

use cloud502_model::Report;
use std::io::{self, Write};

mod json;
mod jsonl;
mod markdown;
mod sarif;
mod table;

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
}

impl Format {
    /// Every format, for `--help` and completions.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Jsonl,
        Format::Markdown,
        Format::Sarif,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Emit ANSI colours (table only).
    pub color: bool,
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
