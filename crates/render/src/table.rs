//! `-o table`: the human view. The answer first (who made the 502, what to run next), then the
//! probe's timing breakdown and TLS facts, then every finding with its evidence and remediation.

use crate::{RenderOptions, exit_meaning, printable};
use anstyle::{AnsiColor, Effects, Style};
use cloud502_model::{Finding, Probe, Report, Severity, Verdict};
use std::io::{self, Write};

struct Painter {
    color: bool,
    ascii: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

pub(crate) const BOLD: Style = Style::new().effects(Effects::BOLD);
pub(crate) const DIM: Style = Style::new().effects(Effects::DIMMED);

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(anstyle::Color::Ansi(c)))
}

pub(crate) fn verdict_style(v: Verdict) -> Style {
    match v {
        Verdict::Healthy => fg(AnsiColor::Green).bold(),
        Verdict::Degraded => fg(AnsiColor::Yellow).bold(),
        Verdict::Failing => fg(AnsiColor::Red).bold(),
        Verdict::Unknown => fg(AnsiColor::Magenta).bold(),
    }
}

pub(crate) fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => fg(AnsiColor::Red).bold(),
        Severity::Warning => fg(AnsiColor::Yellow).bold(),
        Severity::Info => fg(AnsiColor::Cyan),
    }
}

pub(crate) fn render(
    report: &Report,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let p = Painter {
        color: options.color,
        ascii: options.ascii,
    };
    writeln!(
        out,
        "{} {}  {}",
        p.paint(BOLD, "cloud502"),
        printable(&report.subject.id),
        p.paint(
            verdict_style(report.verdict),
            &report.verdict.as_str().to_uppercase()
        )
    )?;
    if let Some(top) = report.findings.first() {
        writeln!(out)?;
        writeln!(
            out,
            "  {} {}",
            p.paint(BOLD, "Answer:"),
            printable(&top.title)
        )?;
        if let Some(layer) = top.layer {
            writeln!(
                out,
                "  {} {}",
                p.paint(BOLD, "Layer: "),
                layer.display_name()
            )?;
        }
        if let Some(next) = &top.next_command {
            writeln!(
                out,
                "  {} {}",
                p.paint(BOLD, "Next:  "),
                p.paint(fg(AnsiColor::Cyan), next)
            )?;
        }
    } else if report.summary.inspected {
        writeln!(out)?;
        writeln!(out, "  {} no problem found", p.paint(BOLD, "Answer:"))?;
    }

    for probe in &report.probes {
        write_probe(&p, probe, out)?;
    }

    if !report.targets.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(BOLD, &format!("Targets ({})", report.targets.len()))
        )?;
        for t in &report.targets {
            let health = t.health.as_str();
            let style = if t.health == cloud502_model::HealthState::Healthy {
                fg(AnsiColor::Green)
            } else {
                fg(AnsiColor::Red)
            };
            writeln!(
                out,
                "  {} {}  {}  {}{}{}",
                printable(&t.id),
                printable(&t.endpoint()),
                p.paint(style, health),
                t.reason.as_deref().map(printable).unwrap_or_default(),
                t.detail
                    .as_deref()
                    .map(|d| format!(": {}", printable(d)))
                    .unwrap_or_default(),
                target_spark(&p, report, &t.endpoint())
            )?;
        }
    }

    write_sources(&p, report, out)?;

    if !report.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(BOLD, &format!("Findings ({})", report.findings.len()))
        )?;
        for (i, f) in report.findings.iter().enumerate() {
            write_finding(&p, i + 1, f, out)?;
        }
    }

    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(BOLD, &format!("Could not read ({})", report.errors.len()))
        )?;
        for gap in &report.errors {
            writeln!(
                out,
                "  - {}: {}",
                printable(&gap.scope),
                printable(&gap.message)
            )?;
            if let Some(hint) = &gap.hint {
                writeln!(out, "    hint: {}", printable(hint))?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", p.paint(DIM, &exit_meaning(report)))
}

fn write_probe(p: &Painter, probe: &Probe, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    let to = probe
        .connected
        .as_deref()
        .map(|a| format!(" -> {a}"))
        .unwrap_or_default();
    let via = if probe.resolve_override {
        " (--resolve)"
    } else {
        ""
    };
    writeln!(
        out,
        "{} {}{to}{via}",
        p.paint(BOLD, "Probe"),
        printable(&probe.url)
    )?;
    let [dns, connect, tls, first_byte, total] = probe.timings.phases();
    writeln!(
        out,
        "  {:<10} dns {dns}  connect {connect}  tls {tls}  first byte {first_byte}  total {total}",
        "timings",
    )?;
    if let Some(http) = &probe.http {
        let status_style = if http.status >= 500 {
            fg(AnsiColor::Red).bold()
        } else {
            fg(AnsiColor::Green)
        };
        writeln!(
            out,
            "  {:<10} {}",
            "status",
            p.paint(
                status_style,
                &format!(
                    "{} {} {}",
                    http.version,
                    http.status,
                    http.reason.as_deref().unwrap_or("")
                )
            )
        )?;
    }
    if let Some(fp) = &probe.fingerprint {
        let signals: Vec<String> = fp
            .signals
            .iter()
            .map(|s| format!("{} `{}`", s.name, printable(&s.value)))
            .collect();
        let page = fp
            .error_page_by
            .map(|l| format!("; error page by {}", l.display_name()))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<10} {}{page}{}",
            "layer",
            p.paint(BOLD, fp.answered_by.display_name()),
            if signals.is_empty() {
                String::new()
            } else {
                format!("  ({})", signals.join(", "))
            }
        )?;
    }
    if let Some(tls) = &probe.tls {
        let proto = tls.protocol.as_deref().unwrap_or("handshake incomplete");
        let check = match &tls.verify_error {
            None => p.paint(fg(AnsiColor::Green), "verified"),
            Some(e) => p.paint(
                fg(AnsiColor::Red),
                &format!("NOT verified: {}", printable(e)),
            ),
        };
        writeln!(out, "  {:<10} {proto}, {check}", "tls")?;
        writeln!(
            out,
            "  {:<10} {} (SANs: {}), issuer {}, expires {} ({} days){}",
            "cert",
            printable(&tls.subject),
            printable(&tls.sans.join(", ")),
            printable(&tls.issuer),
            tls.not_after,
            tls.days_remaining,
            if tls.hostname_match {
                String::new()
            } else {
                format!(", does NOT cover {}", tls.sni)
            }
        )?;
    }
    if let Some(error) = &probe.error {
        writeln!(
            out,
            "  {:<10} {} ({})",
            "error",
            p.paint(fg(AnsiColor::Red), &printable(&error.message)),
            error.phase.as_str()
        )?;
    }
    Ok(())
}

fn write_finding(p: &Painter, rank: usize, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "  {rank}. {} {} {}",
        p.paint(
            severity_style(f.severity),
            &f.severity.as_str().to_uppercase()
        ),
        p.paint(BOLD, f.code.as_str()),
        p.paint(DIM, &format!("({} confidence)", f.confidence.as_str()))
    )?;
    writeln!(out, "     {}", p.paint(BOLD, &printable(&f.title)))?;
    writeln!(out, "     {}", printable(&f.explanation))?;
    if !f.locations.is_empty() {
        let at: Vec<String> = f
            .locations
            .iter()
            .map(|l| printable(&l.to_string()))
            .collect();
        writeln!(out, "     {} {}", p.paint(DIM, "config:"), at.join(", "))?;
    }
    if !f.evidence.is_empty() {
        writeln!(
            out,
            "     {} {}",
            p.paint(DIM, "evidence:"),
            f.evidence.join(", ")
        )?;
    }
    writeln!(
        out,
        "     {} {}",
        p.paint(DIM, "disproved if:"),
        printable(&f.disproved_by)
    )?;
    for (i, r) in f.remediation.iter().enumerate() {
        writeln!(
            out,
            "     {}. {} {}",
            i + 1,
            printable(&r.step),
            p.paint(
                DIM,
                &format!("[{}, {} risk]", r.expected_time, r.risk.as_str())
            )
        )?;
        if let Some(cmd) = &r.command {
            writeln!(
                out,
                "        $ {}",
                p.paint(fg(AnsiColor::Cyan), &printable(cmd))
            )?;
        }
    }
    if let Some(next) = &f.next_command {
        writeln!(
            out,
            "     {} {}",
            p.paint(BOLD, "next:"),
            p.paint(fg(AnsiColor::Cyan), next)
        )?;
    }
    Ok(())
}

/// A sparkline of the 5xx over the window, dimmed.
fn spark(p: &Painter, counts: &[u64]) -> String {
    p.paint(DIM, &crate::sparkline(counts, SPARK_WIDTH, p.ascii))
}

/// Characters of a sparkline.
const SPARK_WIDTH: usize = 48;

/// The 5xx log lines that name this target as their upstream, over the window, as a sparkline
/// after two spaces (nothing when no log names it or the window is one bucket).
fn target_spark(p: &Painter, report: &Report, endpoint: &str) -> String {
    match crate::target_timeline(report, endpoint) {
        Some(t) => format!("  {}", spark(p, &t.counts)),
        None => String::new(),
    }
}

/// Logs read, config routes and host checks: what the answer rests on, in a few lines each.
fn write_sources(p: &Painter, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if !report.logs.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(BOLD, &format!("Logs ({})", report.logs.len()))
        )?;
        for log in &report.logs {
            let skipped = log.skipped.total();
            writeln!(
                out,
                "  {} {}  {} lines, {} matched{}",
                printable(&log.source),
                p.paint(DIM, &log.dialect),
                log.lines,
                log.matched,
                if skipped > 0 {
                    format!(", {skipped} skipped")
                } else {
                    String::new()
                }
            )?;
            for g in log.groups.iter().take(8) {
                let spark = g
                    .timeline
                    .as_ref()
                    .filter(|t| t.counts.len() > 1)
                    .map(|t| format!("{}  ", spark(p, &t.counts)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "    {:>7} x {spark}{}{}",
                    g.count,
                    g.class.as_str(),
                    g.upstream
                        .as_deref()
                        .map(|u| format!("  {}", printable(u)))
                        .unwrap_or_default()
                )?;
            }
            if log.groups.len() > 8 {
                writeln!(out, "    ... {} more groups", log.groups.len() - 8)?;
            }
        }
    }
    let config = &report.config;
    if !config.routes.is_empty() || !config.pools.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(
                BOLD,
                &format!(
                    "Config ({} routes, {} upstream groups)",
                    config.routes.len(),
                    config.pools.len()
                )
            )
        )?;
        for r in config.routes.iter().take(20) {
            writeln!(
                out,
                "  {} -> {} {}",
                printable(&r.label()),
                printable(&r.target),
                p.paint(
                    DIM,
                    &r.location
                        .as_ref()
                        .map(|l| l.to_string())
                        .unwrap_or_default()
                )
            )?;
        }
        if config.routes.len() > 20 {
            writeln!(out, "  ... {} more routes", config.routes.len() - 20)?;
        }
    }
    if !report.checks.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.paint(BOLD, &format!("Host checks ({})", report.checks.len()))
        )?;
        for c in &report.checks {
            let style = match c.status {
                cloud502_model::CheckStatus::Pass => fg(AnsiColor::Green),
                cloud502_model::CheckStatus::Fail => fg(AnsiColor::Red),
                cloud502_model::CheckStatus::Skipped => DIM,
            };
            writeln!(
                out,
                "  {} {}: {}",
                p.paint(style, c.status.as_str()),
                printable(&c.name),
                printable(&c.detail)
            )?;
        }
    }
    Ok(())
}
