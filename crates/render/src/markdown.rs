//! `-o markdown`: the report for a ticket or an incident channel.

use crate::exit_meaning;
use cloud502_model::Report;
use std::io::{self, Write};

/// Escape `|` and line breaks so text stays inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# cloud502: {}", cell(&report.subject.id))?;
    writeln!(out)?;
    writeln!(out, "**Verdict:** {}  ", report.verdict.as_str())?;
    if let Some(top) = report.findings.first() {
        writeln!(out, "**Answer:** {}  ", cell(&top.title))?;
        if let Some(layer) = top.layer {
            writeln!(out, "**Layer:** {}  ", layer.display_name())?;
        }
        if let Some(next) = &top.next_command {
            writeln!(out, "**Next:** `{next}`  ")?;
        }
    }
    writeln!(out, "**Exit:** {}", exit_meaning(report))?;

    if !report.probes.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Probes")?;
        writeln!(out)?;
        writeln!(
            out,
            "| URL | Address | Status | Layer | DNS | Connect | TLS | First byte | Total |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
        for p in &report.probes {
            let status = match (&p.http, &p.error) {
                (Some(h), _) => h.status.to_string(),
                (None, Some(e)) => format!("{} failed", e.phase.as_str()),
                (None, None) => "connected".to_owned(),
            };
            let layer = p
                .fingerprint
                .as_ref()
                .map_or("-", |f| f.answered_by.display_name());
            let [dns, connect, tls, first_byte, total] = p.timings.phases();
            writeln!(
                out,
                "| {} | {} | {status} | {layer} | {dns} | {connect} | {tls} | {first_byte} | {total} |",
                cell(&p.url),
                p.connected.as_deref().unwrap_or("-"),
            )?;
        }
        for (p, tls) in report
            .probes
            .iter()
            .filter_map(|p| Some((p, p.tls.as_ref()?)))
        {
            writeln!(out)?;
            writeln!(
                out,
                "TLS for `{}`: {}, subject `{}`, SANs `{}`, issuer `{}`, expires {} ({} days), hostname {}, {}.",
                p.host,
                tls.protocol.as_deref().unwrap_or("handshake incomplete"),
                cell(&tls.subject),
                cell(&tls.sans.join(", ")),
                cell(&tls.issuer),
                tls.not_after,
                tls.days_remaining,
                if tls.hostname_match {
                    "matches"
                } else {
                    "does NOT match"
                },
                tls.verify_error
                    .as_deref()
                    .map_or("verified".to_owned(), |e| format!(
                        "not verified ({})",
                        cell(e)
                    ))
            )?;
        }
    }

    if !report.targets.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Targets")?;
        writeln!(out)?;
        writeln!(
            out,
            "| Target | Address | Group | Health | Reason | Detail |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for t in &report.targets {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&t.id),
                cell(&t.endpoint()),
                cell(t.group.as_deref().unwrap_or("-")),
                t.health.as_str(),
                cell(t.reason.as_deref().unwrap_or("-")),
                cell(t.detail.as_deref().unwrap_or("-"))
            )?;
        }
    }

    if !report.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Findings")?;
        for (i, f) in report.findings.iter().enumerate() {
            writeln!(out)?;
            writeln!(out, "### {}. {} (`{}`)", i + 1, cell(&f.title), f.code)?;
            writeln!(out)?;
            writeln!(
                out,
                "Severity **{}**, confidence {}.",
                f.severity.as_str(),
                f.confidence.as_str()
            )?;
            writeln!(out)?;
            writeln!(out, "{}", f.explanation)?;
            writeln!(out)?;
            if !f.locations.is_empty() {
                let at: Vec<String> = f.locations.iter().map(|l| format!("`{l}`")).collect();
                writeln!(out, "Config: {}", at.join(", "))?;
                writeln!(out)?;
            }
            if !f.evidence.is_empty() {
                let ev: Vec<String> = f.evidence.iter().map(|e| format!("`{e}`")).collect();
                writeln!(out, "Evidence: {}", ev.join(", "))?;
                writeln!(out)?;
            }
            writeln!(out, "Disproved if: {}", f.disproved_by)?;
            writeln!(out)?;
            writeln!(out, "| # | Step | Time | Risk |")?;
            writeln!(out, "|---|---|---|---|")?;
            for (n, r) in f.remediation.iter().enumerate() {
                let cmd = r
                    .command
                    .as_deref()
                    .map(|c| format!("<br>`{}`", cell(c)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "| {} | {}{cmd} | {} | {} |",
                    n + 1,
                    cell(&r.step),
                    r.expected_time,
                    r.risk.as_str()
                )?;
            }
            if let Some(next) = &f.next_command {
                writeln!(out)?;
                writeln!(out, "Next: `{next}`")?;
            }
        }
    }

    if !report.evidence.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Evidence")?;
        writeln!(out)?;
        writeln!(out, "| Id | Source | Fact |")?;
        writeln!(out, "|---|---|---|")?;
        for e in &report.evidence {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                e.id,
                cell(&e.source),
                cell(&e.fact)
            )?;
        }
    }

    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Could not read")?;
        writeln!(out)?;
        for g in &report.errors {
            let hint = g
                .hint
                .as_deref()
                .map(|h| format!(" Hint: {h}"))
                .unwrap_or_default();
            writeln!(out, "- **{}**: {}.{hint}", cell(&g.scope), cell(&g.message))?;
        }
    }
    Ok(())
}
