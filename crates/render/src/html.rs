//! `-o html`: one self-contained page (inline CSS and SVG, no script, no fetch of any kind,
//! printable) for a report, an audit or a trace: the answer at the top, the 502 timeline, the hop
//! chain, the target grid, config locations and every finding in a collapsible block.
//!
//! Hand-written rather than through a template crate: neither `maud` nor `askama` is in the offline
//! registry cache, and the page is small. Every string from outside (log lines, API messages,
//! config values, names) goes through [`esc`], the one escaping function, which the tests pin.

use crate::exit_meaning;
use crate::steps::{self, StepKind};
use cloud502_model::{
    AuditReport, Finding, HealthState, HopRole, Layer, LogSummary, ProviderKind, Report, Timeline,
    TraceReport, Verdict,
};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Series drawn in one chart; the rest are added up as "other".
const MAX_SERIES: usize = 6;
/// Rows of a table that can grow with the input (groups, targets, routes).
const MAX_ROWS: usize = 60;
/// Chart size in SVG user units.
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 140.0;
/// Series colours: colour-blind-safe (Okabe-Ito), then grey for "other".
const COLOURS: [&str; 7] = [
    "#d55e00", "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#999999",
];

/// Escape text for HTML element content and double- or single-quoted attributes. Control
/// characters (terminal escapes, NUL, ...) are shown as `\xNN` instead of being passed on.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--fg:#1b1b1b;--dim:#5c5c5c;--line:#d0d0d0;--bg:#fff;--bad:#b00020;--warn:#8a5a00;--ok:#1e7b34;--unk:#6a3d9a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:16px 24px}
h1{font-size:20px;margin:4px 0 8px}h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:3px}h3{font-size:14px;margin:14px 0 6px}
code,pre,.mono{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:6px 8px;margin:4px 0;border-radius:3px}
.answer{border:2px solid var(--line);border-radius:6px;padding:10px 14px;margin:8px 0 12px}
.answer.failing{border-color:var(--bad)}.answer.degraded{border-color:var(--warn)}.answer.healthy{border-color:var(--ok)}.answer.unknown{border-color:var(--unk)}
.answer p{margin:3px 0}.answer .big{font-size:17px;font-weight:600}
.verdict{display:inline-block;font-weight:700;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;letter-spacing:.04em}
.verdict.failing{background:var(--bad)}.verdict.degraded{background:var(--warn)}.verdict.healthy{background:var(--ok)}.verdict.unknown{background:var(--unk)}
.dim{color:var(--dim)}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}th{font-weight:600;background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.chain{display:flex;flex-wrap:wrap;align-items:stretch;gap:0;margin:8px 0}
.hop{border:2px solid var(--line);border-radius:6px;padding:6px 10px;min-width:120px;background:#fafafa}
.hop .role{font-size:12px;font-weight:600}
.hop.made{border-color:var(--bad);background:#fdecee}.hop.made .role{color:var(--bad)}
.hop.relayed{border-color:var(--warn)}.hop.relayed .role{color:var(--warn)}
.hop.healthy .role{color:var(--ok)}.hop.not-inspected{border-style:dashed}.hop.not-inspected .role{color:var(--dim)}
.arrow{align-self:center;padding:0 6px;color:var(--dim);font-size:18px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:6px;margin:6px 0}
.cell{border-left:6px solid var(--line);background:#f7f7f7;padding:4px 8px;font-size:12.5px;word-break:break-all}
.cell.healthy{border-color:var(--ok)}.cell.unhealthy{border-color:var(--bad)}.cell.draining,.cell.unused,.cell.initial{border-color:var(--warn)}.cell.unknown,.cell.unavailable{border-color:var(--unk)}
details{border:1px solid var(--line);border-radius:4px;margin:6px 0;padding:4px 10px}
details>summary{cursor:pointer;font-weight:600}
.sev{font-size:11px;font-weight:700;padding:0 6px;border-radius:8px;color:#fff}
.sev.critical{background:var(--bad)}.sev.warning{background:var(--warn)}.sev.info{background:#3a6ea5}
svg.chart{width:100%;max-width:760px;height:auto;display:block}
svg.chart text{font:10px "DejaVu Sans",sans-serif;fill:#333}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
svg.spark{width:120px;height:18px;vertical-align:middle}
footer{margin-top:26px;color:var(--dim);font-size:12px;border-top:1px solid var(--line);padding-top:6px}
section.subject{border-top:3px solid var(--line);margin-top:26px}
@media print{details{break-inside:avoid}details:not([open])>*:not(summary){display:block}body{max-width:none;padding:0}a{color:inherit;text-decoration:none}}
"#;

fn head(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // A policy that forbids every fetch: the page is complete as it is.
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
}

fn foot(out: &mut String, tool: &str, version: &str, generated_at: &str, exit: &str) {
    let _ = writeln!(
        out,
        "<footer>{} {} · generated {} · {}</footer>\n</body>\n</html>",
        esc(tool),
        esc(version),
        esc(generated_at),
        esc(exit)
    );
}

fn verdict_badge(v: Verdict) -> String {
    format!(
        "<span class=\"verdict {0}\" data-verdict=\"{0}\">{1}</span>",
        v.as_str(),
        v.as_str().to_uppercase()
    )
}

/// Write a single report's page.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(32 * 1024);
    head(&mut s, &format!("cloud502 {}", report.subject.id));
    let _ = writeln!(
        s,
        "<h1>cloud502 · {} {}</h1>",
        esc(&report.subject.id),
        verdict_badge(report.verdict)
    );
    body(&mut s, report, "r", true);
    foot(
        &mut s,
        &report.tool.name,
        &report.tool.version,
        &report.generated_at,
        &exit_meaning(report),
    );
    out.write_all(s.as_bytes())
}

/// The answer box, chain, timelines, targets, config, findings and gaps of one report. `id` makes
/// element ids unique when several reports share a page; a trace's hops leave out their own chain
/// (the trace's chain above says it for all of them).
fn body(s: &mut String, report: &Report, id: &str, with_chain: bool) {
    answer(s, report);
    let chain = report_chain(report);
    if with_chain && chain.iter().filter(|h| h.layer.is_some()).count() > 1 {
        s.push_str("<h2>Hop chain</h2>\n");
        hop_chain(s, &chain);
    }
    timelines(s, report, id);
    probes(s, report);
    targets(s, report);
    config(s, report);
    findings(s, report);
    gaps(s, report);
}

fn answer(s: &mut String, report: &Report) {
    let v = report.verdict.as_str();
    let _ = writeln!(s, "<div class=\"answer {v}\">");
    match report.findings.first() {
        Some(top) => {
            let _ = writeln!(s, "<p class=\"big\" id=\"answer\">{}</p>", esc(&top.title));
            if let Some(layer) = top.layer {
                let _ = writeln!(
                    s,
                    "<p>Layer: <strong data-layer=\"{}\">{}</strong></p>",
                    layer.as_str(),
                    esc(layer.display_name())
                );
            }
            if let Some(next) = &top.next_command {
                let _ = writeln!(s, "<p>Next: <code>{}</code></p>", esc(next));
            }
        }
        None if report.summary.inspected => {
            s.push_str("<p class=\"big\" id=\"answer\">No problem found</p>\n");
        }
        None => s.push_str("<p class=\"big\" id=\"answer\">Nothing could be inspected</p>\n"),
    }
    let _ = writeln!(
        s,
        "<p>Verdict: {} <span class=\"dim\">{}</span></p>\n</div>",
        verdict_badge(report.verdict),
        esc(&exit_meaning(report))
    );
}

// ---------------------------------------------------------------------------------------------
// The hop chain

/// One box of the chain.
struct ChainHop {
    label: String,
    layer: Option<Layer>,
    role: &'static str,
    note: String,
    link: Option<String>,
}

fn role_class(role: HopRole) -> &'static str {
    match role {
        HopRole::Made => "made",
        HopRole::Relayed => "relayed",
        HopRole::Clean => "healthy",
        HopRole::NotInspected => "not-inspected",
    }
}

fn role_words(class: &str) -> &'static str {
    match class {
        "made" => "made the 502",
        "relayed" => "relayed it",
        "healthy" => "healthy",
        "client" => "client",
        _ => "not inspected",
    }
}

/// The usual order of layers from the client inward.
fn depth(layer: Layer) -> u8 {
    match layer {
        Layer::Cloudflare => 1,
        Layer::AwsAlb | Layer::AzureAppgw => 2,
        Layer::Nginx => 3,
        Layer::Application => 5,
        _ => 4,
    }
}

/// The layer a provider inspects (none for a probe or saved logs, which look from outside).
fn kind_layer(kind: ProviderKind) -> Option<Layer> {
    match kind {
        ProviderKind::AwsAlb => Some(Layer::AwsAlb),
        ProviderKind::AzureAppgw => Some(Layer::AzureAppgw),
        ProviderKind::Cloudflare => Some(Layer::Cloudflare),
        ProviderKind::Nginx => Some(Layer::Nginx),
        _ => None,
    }
}

/// The layers one report knows about (its subject's, the probe's view of who answered and who
/// wrote the error page, its findings'), in chain order, with the layer of the top finding at
/// warning or above marked as the one that made the 502, those in front of it as relaying.
fn report_chain(report: &Report) -> Vec<ChainHop> {
    let mut layers: Vec<Layer> = Vec::new();
    let mut add = |l: Layer| {
        if l != Layer::Unknown && !layers.contains(&l) {
            layers.push(l);
        }
    };
    let inspected = kind_layer(report.subject.kind);
    if let Some(l) = inspected {
        add(l);
    }
    for p in &report.probes {
        if let Some(fp) = &p.fingerprint {
            add(fp.answered_by);
            if let Some(l) = fp.error_page_by {
                add(l);
            }
        }
    }
    for f in &report.findings {
        if let Some(l) = f.layer {
            add(l);
        }
    }
    layers.sort_by_key(|l| depth(*l));
    let made = report
        .findings
        .iter()
        .find(|f| f.severity >= cloud502_model::Severity::Warning)
        .and_then(|f| f.layer);
    let mut hops = vec![ChainHop {
        label: "client".into(),
        layer: None,
        role: "client",
        note: String::new(),
        link: None,
    }];
    for l in layers {
        let role = match made {
            Some(m) if m == l => "made",
            Some(m) if depth(l) < depth(m) => "relayed",
            _ if Some(l) == inspected && report.summary.inspected => "healthy",
            _ => "not-inspected",
        };
        let note = match role {
            "made" => report
                .findings
                .iter()
                .find(|f| f.layer == Some(l))
                .map(|f| f.code.as_str().to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        hops.push(ChainHop {
            label: l.display_name().to_owned(),
            layer: Some(l),
            role,
            note,
            link: None,
        });
    }
    hops
}

fn hop_chain(s: &mut String, hops: &[ChainHop]) {
    s.push_str("<div class=\"chain\" role=\"list\">\n");
    for (i, h) in hops.iter().enumerate() {
        if i > 0 {
            s.push_str("<span class=\"arrow\" aria-hidden=\"true\">→</span>\n");
        }
        let made = if h.role == "made" {
            " data-failing=\"true\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<div class=\"hop {}\" role=\"listitem\" data-role=\"{}\"{made}>",
            h.role, h.role
        );
        let label = esc(&h.label);
        match &h.link {
            Some(l) => {
                let _ = write!(s, "<div><a href=\"#{}\">{label}</a></div>", esc(l));
            }
            None => {
                let _ = write!(s, "<div><strong>{label}</strong></div>");
            }
        }
        if let Some(l) = h.layer.filter(|l| l.display_name() != h.label) {
            let _ = write!(s, "<div class=\"dim\">{}</div>", esc(l.display_name()));
        }
        if h.role != "client" {
            let _ = write!(s, "<div class=\"role\">{}</div>", role_words(h.role));
        }
        if !h.note.is_empty() {
            let _ = write!(s, "<div class=\"mono\">{}</div>", esc(&h.note));
        }
        s.push_str("</div>\n");
    }
    s.push_str("</div>\n");
}

// ---------------------------------------------------------------------------------------------
// Timelines

/// One series of a chart.
struct Series<'a> {
    name: String,
    counts: &'a [u64],
}

/// The charts of a report: one per log (its groups share the log's window), one for metrics.
fn timelines(s: &mut String, report: &Report, id: &str) {
    let mut any = false;
    for (li, log) in report.logs.iter().enumerate() {
        let Some(axis) = log_axis(log) else { continue };
        if !any {
            s.push_str("<h2>Timeline of 5xx</h2>\n");
            any = true;
        }
        let series: Vec<Series<'_>> = log
            .groups
            .iter()
            // 5xx only: an access log's retried-but-served lines are groups too
            .filter(|g| g.client_status().is_none_or(|st| st >= 500))
            .filter_map(|g| {
                let t = g.timeline.as_ref()?;
                (t.start == axis.start && t.bucket_seconds == axis.bucket_seconds).then(|| Series {
                    name: group_name(g),
                    counts: &t.counts,
                })
            })
            .collect();
        let _ = writeln!(
            s,
            "<h3>{} <span class=\"dim\">{} · {} lines, {} matched</span></h3>",
            esc(&log.source),
            esc(&log.dialect),
            log.lines,
            log.matched
        );
        chart(s, &axis, &series, &format!("{id}-log{li}"));
        group_table(s, log);
    }
    let metric: Vec<(&cloud502_model::Metric, &Timeline)> = report
        .metrics
        .iter()
        .filter_map(|m| Some((m, m.timeline.as_ref()?)))
        .filter(|(_, t)| t.total() > 0)
        .collect();
    if let Some((_, axis)) = metric.first() {
        if !any {
            s.push_str("<h2>Timeline of 5xx</h2>\n");
        }
        let series: Vec<Series<'_>> = metric
            .iter()
            .filter(|(_, t)| t.start == axis.start && t.bucket_seconds == axis.bucket_seconds)
            .map(|(m, t)| Series {
                name: format!("{} {}", m.name, m.scope),
                counts: &t.counts,
            })
            .collect();
        s.push_str("<h3>Metrics</h3>\n");
        chart(s, axis, &series, &format!("{id}-metrics"));
    }
}

/// The first group timeline of a log (all of a log's groups share one axis).
fn log_axis(log: &LogSummary) -> Option<Timeline> {
    let t = log.groups.iter().find_map(|g| g.timeline.as_ref())?;
    Some(Timeline {
        start: t.start.clone(),
        end: t.end.clone(),
        bucket_seconds: t.bucket_seconds,
        counts: vec![0; t.counts.len()],
    })
}

fn group_name(g: &cloud502_model::LogGroup) -> String {
    let mut n = g.class.as_str().to_owned();
    if let Some(st) = g.client_status() {
        let _ = write!(n, " {st}");
    }
    if let Some(u) = &g.upstream {
        let _ = write!(n, " {u}");
    } else if let Some(d) = &g.detail
        && d.len() < 40
    {
        let _ = write!(n, " ({d})");
    }
    n
}

fn hhmm(secs: i64, with_date: bool) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return String::new();
    };
    if with_date {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

fn width_words(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} day", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{} min", s / 60),
    }
}

/// A stacked bar chart: one `<g class="bucket">` per time bucket, the first and last failing
/// buckets marked, the largest series named in a legend and the rest added up as "other".
fn chart(s: &mut String, axis: &Timeline, series: &[Series<'_>], id: &str) {
    let n = axis.counts.len().max(1);
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(series[*i].counts.iter().sum::<u64>()));
    let shown: Vec<usize> = order.iter().copied().take(MAX_SERIES).collect();
    let mut other = vec![0u64; n];
    for i in order.iter().skip(MAX_SERIES) {
        for (o, c) in other.iter_mut().zip(series[*i].counts) {
            *o += c;
        }
    }
    let totals: Vec<u64> = (0..n)
        .map(|b| {
            series
                .iter()
                .map(|x| x.counts.get(b).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let first = totals.iter().position(|c| *c > 0);
    let last = totals.iter().rposition(|c| *c > 0);
    let start = axis.start_secs().unwrap_or(0);
    let w = axis.bucket_seconds as i64;
    let (left, top, bottom) = (34.0, 14.0, 22.0);
    let plot_w = CHART_W - left - 6.0;
    let plot_h = CHART_H - top - bottom;
    // A window of a few buckets still gets slim bars, not one slab across the chart.
    let bw = plot_w / n.max(12) as f64;
    let _ = writeln!(
        s,
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {CHART_W} {CHART_H}\" role=\"img\" aria-label=\"5xx per {} from {} UTC\" data-buckets=\"{n}\" data-bucket-seconds=\"{}\">",
        width_words(axis.bucket_seconds),
        hhmm(start, true),
        axis.bucket_seconds
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        left - 4.0,
        top + 8.0,
        left - 4.0,
        top + plot_h
    );
    for b in 0..n {
        let x = left + bw * b as f64;
        let t0 = start + w * b as i64;
        let _ = write!(
            s,
            "<g class=\"bucket\" data-t=\"{}\" data-n=\"{}\"><title>{} UTC: {}</title>",
            t0,
            totals[b],
            hhmm(t0, true),
            totals[b]
        );
        let mut y = top + plot_h;
        let mut stack = |count: u64, colour: &str, s: &mut String| {
            if count == 0 {
                return;
            }
            let h = (count as f64 / max as f64 * plot_h).max(1.0);
            y -= h;
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"/>",
                (bw - 0.6).max(0.6)
            );
        };
        for (k, i) in shown.iter().enumerate() {
            stack(
                series[*i].counts.get(b).copied().unwrap_or(0),
                COLOURS[k],
                s,
            );
        }
        stack(other[b], COLOURS[6], s);
        s.push_str("</g>\n");
    }
    let found = steps::steps(&totals);
    // A sudden start right after the first failure is the same event: said on its marker.
    let sudden_first = first.is_some_and(|f| {
        found
            .iter()
            .any(|st| st.kind == StepKind::Start && st.index >= f && st.index <= f + 2)
    });
    if let Some(f) = first {
        let x = left + bw * f as f64;
        let _ = writeln!(
            s,
            "<line class=\"first-failure\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#b00020\" stroke-dasharray=\"3,2\"/><text x=\"{:.1}\" y=\"{}\" fill=\"#b00020\">first failure {} UTC{}</text>",
            top - 2.0,
            top + plot_h,
            x + 3.0,
            top - 3.0,
            hhmm(start + w * f as i64, false),
            if sudden_first { ", sudden" } else { "" }
        );
    }
    let stop_marked = last.is_some_and(|l| l + 2 < n);
    for st in &found {
        // already marked: the first failure (a start next to it) and the stop line
        let at_first =
            st.kind == StepKind::Start && first.is_some_and(|f| st.index >= f && st.index <= f + 2);
        let at_stop =
            st.kind == StepKind::Stop && stop_marked && last.is_some_and(|l| st.index == l + 1);
        if at_first || at_stop {
            continue;
        }
        let x = left + bw * st.index as f64;
        let _ = writeln!(
            s,
            "<line class=\"step\" data-kind=\"{}\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#6a3d9a\" stroke-dasharray=\"1,2\"/><text x=\"{:.1}\" y=\"{}\" fill=\"#6a3d9a\">{} {} UTC</text>",
            st.kind.words(),
            top + 14.0,
            top + plot_h,
            x + 3.0,
            top + 22.0,
            st.kind.words(),
            hhmm(start + w * st.index as i64, false)
        );
    }
    if let Some(l) = last
        && stop_marked
    {
        // Failures stopped well before the window's end: mark where, as a deploy or fix would.
        let x = left + bw * (l + 1) as f64;
        let _ = writeln!(
            s,
            "<line class=\"last-failure\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#1e7b34\" stroke-dasharray=\"3,2\"/><text x=\"{:.1}\" y=\"{}\" fill=\"#1e7b34\" text-anchor=\"end\">stopped {} UTC</text>",
            top + 10.0,
            top + plot_h,
            x - 3.0,
            top + 10.0,
            hhmm(start + w * (l + 1) as i64, false)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{}\">{} UTC</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} UTC · {} per bar</text>\n</svg>",
        CHART_H - 6.0,
        hhmm(start, true),
        left + plot_w,
        CHART_H - 6.0,
        hhmm(start + w * n as i64, false),
        width_words(axis.bucket_seconds)
    );
    s.push_str("<div class=\"legend\">");
    for (k, i) in shown.iter().enumerate() {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            COLOURS[k],
            esc(&series[*i].name)
        );
    }
    if other.iter().any(|c| *c > 0) {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>other ({} series)</span>",
            COLOURS[6],
            series.len() - MAX_SERIES
        );
    }
    s.push_str("</div>\n");
    if !found.is_empty() {
        // The steps in words too: a screen reader, a printout and a search all find them.
        s.push_str("<p class=\"steps\">Deploy-like steps: ");
        for (k, st) in found.iter().enumerate() {
            let _ = write!(
                s,
                "{}<span data-kind=\"{}\">{} at {} UTC ({} → {} per {})</span>",
                if k > 0 { " · " } else { "" },
                st.kind.words(),
                st.kind.words(),
                hhmm(start + w * st.index as i64, true),
                st.before,
                st.after,
                width_words(axis.bucket_seconds)
            );
        }
        s.push_str("</p>\n");
    }
}

/// A sparkline: one polyline over the buckets, for tables.
pub(crate) fn spark_svg(counts: &[u64]) -> String {
    let n = counts.len();
    if n < 2 {
        // one bucket says nothing over time: the table's count already says it
        return String::new();
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut s = String::from(
        "<svg class=\"spark\" viewBox=\"0 0 120 18\" aria-hidden=\"true\"><polyline fill=\"none\" stroke=\"#b00020\" stroke-width=\"1.2\" points=\"",
    );
    for (i, c) in counts.iter().enumerate() {
        let x = if n == 1 {
            60.0
        } else {
            i as f64 * 120.0 / (n - 1) as f64
        };
        let y = 17.0 - *c as f64 / max * 16.0;
        let _ = write!(s, "{x:.1},{y:.1} ");
    }
    s.push_str("\"/></svg>");
    s
}

fn group_table(s: &mut String, log: &LogSummary) {
    if log.groups.is_empty() {
        return;
    }
    s.push_str("<table class=\"groups\"><tr><th>lines</th><th>class</th><th>status</th><th>upstream / key</th><th>first seen</th><th>last seen</th><th>over the window</th></tr>\n");
    for g in log.groups.iter().take(MAX_ROWS) {
        let _ = writeln!(
            s,
            "<tr><td class=\"n\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            g.count,
            esc(g.class.as_str()),
            g.client_status().map(|s| s.to_string()).unwrap_or_default(),
            esc(g.upstream.as_deref().or(g.detail.as_deref()).unwrap_or("")),
            esc(g.first_seen.as_deref().unwrap_or("")),
            esc(g.last_seen.as_deref().unwrap_or("")),
            g.timeline
                .as_ref()
                .map(|t| spark_svg(&t.counts))
                .unwrap_or_default()
        );
    }
    s.push_str("</table>\n");
    if log.groups.len() > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"dim\">… {} more groups (the JSON report has them all)</p>",
            log.groups.len() - MAX_ROWS
        );
    }
    if let Some(g) = log.groups.first() {
        let _ = writeln!(
            s,
            "<details><summary>First line of the largest group (line {})</summary><pre>{}</pre></details>",
            g.sample.line,
            esc(&g.sample.text)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Probes, targets, config, findings, gaps

fn probes(s: &mut String, report: &Report) {
    if report.probes.is_empty() {
        return;
    }
    s.push_str("<h2>Probe</h2>\n<table><tr><th>URL</th><th>status</th><th>answered by</th><th>timings</th><th>TLS</th><th>error</th></tr>\n");
    for p in &report.probes {
        let [dns, connect, tls, fb, total] = p.timings.phases();
        let _ = writeln!(
            s,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">dns {} · connect {} · tls {} · first byte {} · total {}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.url),
            p.http
                .as_ref()
                .map(|h| format!("{} {}", h.status, esc(h.reason.as_deref().unwrap_or(""))))
                .unwrap_or_else(|| "no answer".into()),
            p.fingerprint
                .as_ref()
                .map(|f| esc(f.answered_by.display_name()))
                .unwrap_or_default(),
            esc(&dns),
            esc(&connect),
            esc(&tls),
            esc(&fb),
            esc(&total),
            p.tls
                .as_ref()
                .map(|t| match &t.verify_error {
                    None => format!("verified, {} days left", t.days_remaining),
                    Some(e) => format!("NOT verified: {}", esc(e)),
                })
                .unwrap_or_default(),
            p.error
                .as_ref()
                .map(|e| format!("{} ({})", esc(&e.message), e.phase.as_str()))
                .unwrap_or_default()
        );
    }
    s.push_str("</table>\n");
}

fn health_class(h: HealthState) -> &'static str {
    match h {
        HealthState::Healthy => "healthy",
        HealthState::Unhealthy => "unhealthy",
        _ => "unknown",
    }
}

fn targets(s: &mut String, report: &Report) {
    if report.targets.is_empty() {
        return;
    }
    let bad = report
        .targets
        .iter()
        .filter(|t| t.health != HealthState::Healthy)
        .count();
    let _ = writeln!(
        s,
        "<h2>Targets ({}, {bad} not healthy)</h2>\n<div class=\"grid\">",
        report.targets.len()
    );
    for t in report.targets.iter().take(MAX_ROWS * 4) {
        let _ = writeln!(
            s,
            "<div class=\"cell {}\" data-health=\"{}\"><strong>{}</strong><br><span class=\"mono\">{}</span><br>{}{}{}{}</div>",
            health_class(t.health),
            esc(t.health.as_str()),
            esc(&t.endpoint()),
            esc(&t.id),
            esc(t.health.as_str()),
            t.reason
                .as_deref()
                .map(|r| format!(" · {}", esc(r)))
                .unwrap_or_default(),
            t.detail
                .as_deref()
                .map(|d| format!("<br><span class=\"dim\">{}</span>", esc(d)))
                .unwrap_or_default(),
            // the 5xx that logs put on this target, as the table's sparkline does
            crate::target_timeline(report, &t.endpoint())
                .map(|tl| format!(
                    "<br><span class=\"target-spark\" title=\"5xx naming this target, {} in {} buckets of {}\">{}</span>",
                    tl.total(),
                    tl.counts.len(),
                    width_words(tl.bucket_seconds),
                    spark_svg(&tl.counts)
                ))
                .unwrap_or_default()
        );
    }
    s.push_str("</div>\n");
    if report.targets.len() > MAX_ROWS * 4 {
        let _ = writeln!(
            s,
            "<p class=\"dim\">… {} more targets</p>",
            report.targets.len() - MAX_ROWS * 4
        );
    }
}

fn config(s: &mut String, report: &Report) {
    let c = &report.config;
    let located: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.locations.is_empty())
        .collect();
    if c.routes.is_empty() && c.pools.is_empty() && located.is_empty() {
        return;
    }
    s.push_str("<h2>Configuration</h2>\n");
    if !located.is_empty() {
        s.push_str("<table><tr><th>finding</th><th>file:line</th></tr>\n");
        for f in located {
            let at: Vec<String> = f.locations.iter().map(|l| esc(&l.to_string())).collect();
            let _ = writeln!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(f.code.as_str()),
                at.join("<br>")
            );
        }
        s.push_str("</table>\n");
    }
    if !c.routes.is_empty() {
        s.push_str("<table><tr><th>route</th><th>to</th><th>file:line</th></tr>\n");
        for r in c.routes.iter().take(MAX_ROWS) {
            let _ = writeln!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(&r.label()),
                esc(&r.target),
                esc(&r
                    .location
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_default())
            );
        }
        s.push_str("</table>\n");
    }
    if !c.pools.is_empty() {
        s.push_str("<table><tr><th>upstream group</th><th>members</th><th>file:line</th></tr>\n");
        for p in c.pools.iter().take(MAX_ROWS) {
            let members: Vec<String> = p.members.iter().map(|m| esc(&m.address)).collect();
            let _ = writeln!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(&p.name),
                members.join(", "),
                esc(&p
                    .location
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_default())
            );
        }
        s.push_str("</table>\n");
    }
}

fn findings(s: &mut String, report: &Report) {
    if report.findings.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2>Findings ({})</h2>", report.findings.len());
    for (i, f) in report.findings.iter().enumerate() {
        let open = if i == 0 { " open" } else { "" };
        let _ = writeln!(
            s,
            "<details class=\"finding\"{open}><summary><span class=\"sev {0}\">{1}</span> <code>{2}</code> {3} <span class=\"dim\">({4} confidence)</span></summary>",
            f.severity.as_str(),
            f.severity.as_str().to_uppercase(),
            esc(f.code.as_str()),
            esc(&f.title),
            f.confidence.as_str()
        );
        let _ = writeln!(s, "<p>{}</p>", esc(&f.explanation));
        if let Some(l) = f.layer {
            let _ = writeln!(s, "<p>Layer: {}</p>", esc(l.display_name()));
        }
        if !f.locations.is_empty() {
            let at: Vec<String> = f
                .locations
                .iter()
                .map(|l| format!("<code>{}</code>", esc(&l.to_string())))
                .collect();
            let _ = writeln!(s, "<p>Config: {}</p>", at.join(", "));
        }
        if !f.evidence.is_empty() {
            s.push_str("<h3>Evidence</h3>\n<ul class=\"evidence\">\n");
            for id in &f.evidence {
                match report.evidence.iter().find(|e| &e.id == id) {
                    Some(e) => {
                        let _ = writeln!(
                            s,
                            "<li><code>{}</code> <span class=\"dim\">{}</span><br>{}</li>",
                            esc(&e.id),
                            esc(&e.source),
                            esc(&e.fact)
                        );
                    }
                    None => {
                        let _ = writeln!(s, "<li><code>{}</code></li>", esc(id));
                    }
                }
            }
            s.push_str("</ul>\n");
        }
        let _ = writeln!(s, "<h3>Disproved if</h3>\n<p>{}</p>", esc(&f.disproved_by));
        if !f.remediation.is_empty() {
            s.push_str("<h3>Remediation</h3>\n<ol>\n");
            for r in &f.remediation {
                let _ = write!(
                    s,
                    "<li>{} <span class=\"dim\">[{}, {} risk]</span>",
                    esc(&r.step),
                    esc(&r.expected_time.to_string()),
                    r.risk.as_str()
                );
                if let Some(c) = &r.command {
                    let _ = write!(s, "<pre>$ {}</pre>", esc(c));
                }
                s.push_str("</li>\n");
            }
            s.push_str("</ol>\n");
        }
        if let Some(n) = &f.next_command {
            let _ = writeln!(s, "<p>Next: <code>{}</code></p>", esc(n));
        }
        s.push_str("</details>\n");
    }
}

fn gaps(s: &mut String, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2>Could not read ({})</h2>\n<ul>", report.errors.len());
    for g in &report.errors {
        let _ = writeln!(
            s,
            "<li><code>{}</code>: {}{}</li>",
            esc(&g.scope),
            esc(&g.message),
            g.hint
                .as_deref()
                .map(|h| format!("<br><span class=\"dim\">hint: {}</span>", esc(h)))
                .unwrap_or_default()
        );
    }
    s.push_str("</ul>\n");
}

// ---------------------------------------------------------------------------------------------
// Audit and trace pages

/// All 5xx of a report per bucket, when its logs share one axis (for the fleet's small timelines).
fn report_spark(report: &Report) -> Option<Vec<u64>> {
    let mut sum: Option<Timeline> = None;
    let timelines = report
        .logs
        .iter()
        .flat_map(|l| l.groups.iter().filter_map(|g| g.timeline.as_ref()))
        .chain(report.metrics.iter().filter_map(|m| m.timeline.as_ref()));
    for t in timelines {
        match &mut sum {
            None => sum = Some(t.clone()),
            Some(acc) => {
                acc.add_timeline(t);
            }
        }
    }
    sum.map(|t| t.counts)
}

/// Write an audit's page: the fleet overview, then each subject's section.
pub(crate) fn render_audit(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(64 * 1024);
    head(&mut s, &format!("cloud502 audit {}", audit.config));
    let r = &audit.rollup;
    let worst = if r.failing > 0 {
        Verdict::Failing
    } else if r.degraded > 0 {
        Verdict::Degraded
    } else if r.unknown > 0 && r.healthy == 0 {
        Verdict::Unknown
    } else {
        Verdict::Healthy
    };
    let _ = writeln!(
        s,
        "<h1>cloud502 audit · {} {}</h1>",
        esc(&audit.config),
        verdict_badge(worst)
    );
    let _ = writeln!(
        s,
        "<div class=\"answer {}\"><p class=\"big\">{} subjects: {} failing, {} degraded, {} healthy, {} unknown</p><p class=\"dim\">{}</p></div>",
        worst.as_str(),
        r.subjects,
        r.failing,
        r.degraded,
        r.healthy,
        r.unknown,
        esc(&crate::audit_exit_meaning(r))
    );
    s.push_str("<h2>Fleet</h2>\n<table class=\"fleet\"><tr><th>subject</th><th>provider</th><th>verdict</th><th>answer</th><th>layer</th><th>5xx over the window</th></tr>\n");
    for (i, sub) in audit.subjects.iter().enumerate() {
        let rep = &sub.report;
        let top = rep.findings.first();
        let _ = writeln!(
            s,
            "<tr class=\"subject-row\"><td><a href=\"#s{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&sub.name),
            esc(sub.provider.as_str()),
            verdict_badge(rep.verdict),
            esc(top
                .map(|f| f.title.as_str())
                .unwrap_or(if rep.summary.inspected {
                    "no problem found"
                } else {
                    "not inspected"
                })),
            top.and_then(|f| f.layer)
                .map(|l| esc(l.display_name()))
                .unwrap_or_default(),
            report_spark(rep)
                .map(|c| format!(
                    "<span class=\"n\">{}</span> {}",
                    c.iter().sum::<u64>(),
                    spark_svg(&c)
                ))
                .unwrap_or_default()
        );
    }
    s.push_str("</table>\n");
    for (i, sub) in audit.subjects.iter().enumerate() {
        let _ = writeln!(
            s,
            "<section class=\"subject\" id=\"s{i}\"><h2>{} <span class=\"dim\">{}</span> {}</h2>",
            esc(&sub.name),
            esc(sub.provider.as_str()),
            verdict_badge(sub.report.verdict)
        );
        body(&mut s, &sub.report, &format!("s{i}"), true);
        s.push_str("</section>\n");
    }
    foot(
        &mut s,
        &audit.tool.name,
        &audit.tool.version,
        &audit.generated_at,
        &crate::audit_exit_meaning(r),
    );
    out.write_all(s.as_bytes())
}

/// Write a trace's page: the answer, the chain with the hop that made the 502 marked, the probe,
/// then each hop's report.
pub(crate) fn render_trace(trace: &TraceReport, out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(64 * 1024);
    head(&mut s, &format!("cloud502 trace {}", trace.url));
    let v = &trace.verdict;
    let failing = !matches!(v.layer, Layer::Unknown);
    let verdict = if failing {
        Verdict::Failing
    } else {
        Verdict::Unknown
    };
    let _ = writeln!(
        s,
        "<h1>cloud502 trace · {}</h1>\n<div class=\"answer {}\"><p class=\"big\" id=\"answer\">{}</p><p>Layer: <strong data-layer=\"{}\">{}</strong>{}</p><p>Probe: {} <span class=\"dim\">exit {}</span></p></div>",
        esc(&trace.url),
        verdict.as_str(),
        esc(&v.answer),
        v.layer.as_str(),
        esc(v.layer.display_name()),
        v.code
            .map(|c| format!(" · <code>{}</code>", esc(c.as_str())))
            .unwrap_or_default(),
        trace
            .status
            .map_or_else(|| "no HTTP answer".to_owned(), |s| format!("HTTP {s}")),
        trace.exit_code
    );
    let mut hops = vec![ChainHop {
        label: "client".into(),
        layer: None,
        role: "client",
        note: String::new(),
        link: None,
    }];
    for (i, h) in trace.hops.iter().enumerate() {
        hops.push(ChainHop {
            label: h.name.clone(),
            layer: Some(h.layer),
            role: role_class(h.role),
            note: h.code.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            link: Some(format!("h{i}")),
        });
    }
    // The application behind the last hop made it when the last proxy only relayed.
    let app_made = v.layer == Layer::Application;
    hops.push(ChainHop {
        label: "application".into(),
        layer: Some(Layer::Application),
        role: if app_made { "made" } else { "not-inspected" },
        note: String::new(),
        link: None,
    });
    s.push_str("<h2>Hop chain</h2>\n");
    hop_chain(&mut s, &hops);
    s.push_str("<section class=\"subject\" id=\"probe\"><h2>The probe of the URL</h2>\n");
    body(&mut s, &trace.probe, "p", false);
    s.push_str("</section>\n");
    for (i, h) in trace.hops.iter().enumerate() {
        let _ = writeln!(
            s,
            "<section class=\"subject\" id=\"h{i}\"><h2>{}. {} <span class=\"dim\">{} · {}</span> {}</h2>",
            i + 1,
            esc(&h.name),
            esc(h.layer.display_name()),
            role_words(role_class(h.role)),
            verdict_badge(h.report.verdict)
        );
        body(&mut s, &h.report, &format!("h{i}"), false);
        s.push_str("</section>\n");
    }
    foot(
        &mut s,
        &trace.tool.name,
        &trace.tool.version,
        &trace.generated_at,
        &format!("exit {}", trace.exit_code),
    );
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1b}[31mb\u{0}c\u{7f}"), "a\\x1b[31mb\\x00c\\x7f");
        assert_eq!(esc("line\nnext\ttab"), "line\nnext\ttab");
        assert_eq!(esc("ünïcödé →"), "ünïcödé →");
    }

    #[test]
    fn spark_has_one_point_per_bucket() {
        let svg = spark_svg(&[0, 3, 1]);
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split_whitespace().count(), 3);
        assert!(spark_svg(&[]).is_empty());
        assert!(spark_svg(&[4]).is_empty());
    }
}
