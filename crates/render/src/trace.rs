//! The report of `cloud502 trace`: the probe, each hop edge first with what it did, and the
//! layer that made the 502. Table and markdown share one plain layout; json is the whole report.

use crate::printable;
use cloud502_model::{HopRole, Report, TraceReport};
use std::io::{self, Write};

pub(crate) fn json(trace: &TraceReport, out: &mut dyn Write) -> io::Result<()> {
    let value = cloud502_model::sorted(serde_json::to_value(trace)?);
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

fn top(report: &Report) -> String {
    report
        .findings
        .first()
        .map(|f| format!("{}: {}", f.code.as_str(), printable(&f.title)))
        .or_else(|| {
            report
                .errors
                .first()
                .map(|g| format!("not inspected: {}", printable(&g.message)))
        })
        .unwrap_or_else(|| "no findings".to_owned())
}

fn role(role: HopRole) -> &'static str {
    match role {
        HopRole::Made => "MADE the 502",
        HopRole::Relayed => "relayed it",
        HopRole::Clean => "clean",
        HopRole::NotInspected => "not inspected",
    }
}

/// Table and markdown: the same lines; markdown as a list.
pub(crate) fn text(trace: &TraceReport, markdown: bool, out: &mut dyn Write) -> io::Result<()> {
    let bullet = if markdown { "- " } else { "  " };
    if markdown {
        writeln!(out, "# cloud502 trace {}\n", printable(&trace.url))?;
    } else {
        writeln!(out, "trace {} (host {})", printable(&trace.url), trace.host)?;
    }
    let status = trace
        .status
        .map_or_else(|| "no HTTP answer".to_owned(), |s| format!("HTTP {s}"));
    writeln!(out, "{bullet}probe: {status}; {}", top(&trace.probe))?;
    for (i, hop) in trace.hops.iter().enumerate() {
        writeln!(
            out,
            "{bullet}{}. {} ({}): {}; {}",
            i + 1,
            printable(&hop.name),
            hop.layer.as_str(),
            role(hop.role),
            top(&hop.report)
        )?;
    }
    if markdown {
        writeln!(out)?;
    }
    let v = &trace.verdict;
    writeln!(out, "answer: {}", printable(&v.answer))?;
    match v.probe_agrees {
        Some(true) => writeln!(out, "{bullet}the probe's error page agrees")?,
        Some(false) => writeln!(
            out,
            "{bullet}the probe's error page points elsewhere: compare the hops' evidence"
        )?,
        None => {}
    }
    // The deciding hop's evidence and first fix.
    let decided = trace
        .hops
        .iter()
        .find(|h| Some(&h.name) == v.hop.as_ref())
        .and_then(|h| h.report.findings.first());
    if let Some(f) = decided {
        for e in &f.evidence {
            writeln!(out, "{bullet}evidence: {}", printable(e))?;
        }
        if let Some(step) = f.remediation.first() {
            writeln!(out, "{bullet}fix first: {}", printable(&step.step))?;
        }
    }
    writeln!(out, "exit {}", trace.exit_code)
}
