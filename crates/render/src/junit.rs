//! `-o junit`: JUnit XML as the CI test reporters of GitHub, GitLab and Jenkins read it. One test
//! suite per subject; one test case per subject and check: `collect` (could the subject be read),
//! then one per finding code that applies to the subject's provider, failing when a finding of
//! that code is at or above the subject's `fail_on`.
//!
//! Every code that applies is listed even when it passes, so a CI history shows a check going
//! from passing to failing rather than a test appearing from nowhere.

use cloud502_model::{AuditReport, Finding, FindingCode, Gap, SubjectRun};
use std::io::{self, Write};

/// Escape text for XML 1.0 content and attributes; drop the control characters XML 1.0 forbids.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// An attribute value: escaped, with line breaks kept as character references (a parser turns a
/// literal newline in an attribute into a space).
fn attr(s: &str) -> String {
    escape(s).replace('\n', "&#10;").replace('\t', "&#9;")
}

/// Milliseconds as seconds with three decimals.
fn seconds(ms: f64) -> String {
    let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
    format!("{:.3}", ms / 1000.0)
}

enum Outcome {
    Pass(Option<String>),
    Failure {
        message: String,
        kind: String,
        body: String,
    },
    Error {
        message: String,
        kind: String,
        body: String,
    },
    Skipped(String),
}

struct Case {
    name: String,
    time_ms: f64,
    outcome: Outcome,
}

fn gaps_text(gaps: &[Gap]) -> String {
    gaps.iter()
        .map(|g| {
            let hint = g
                .hint
                .as_deref()
                .map(|h| format!("\n  hint: {h}"))
                .unwrap_or_default();
            format!("{}: {}{hint}", g.scope, g.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn findings_text(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let mut text = format!("[{}] {}\n{}", f.severity.as_str(), f.title, f.explanation);
            if !f.evidence.is_empty() {
                text.push_str(&format!("\nevidence: {}", f.evidence.join(", ")));
            }
            if let Some(next) = &f.next_command {
                text.push_str(&format!("\nnext: {next}"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn collect_case(run: &SubjectRun) -> Case {
    let report = &run.report;
    let s = &report.summary;
    let outcome = if !s.inspected {
        let message = if report.errors.is_empty() {
            "nothing could be inspected".to_owned()
        } else {
            let gaps: Vec<String> = report
                .errors
                .iter()
                .map(|g| format!("{}: {}", g.scope, g.message))
                .collect();
            format!("not inspected: {}", gaps.join("; "))
        };
        Outcome::Error {
            message,
            kind: "not-inspected".to_owned(),
            body: gaps_text(&report.errors),
        }
    } else if s.partial {
        Outcome::Failure {
            message: format!("{} source(s) could not be read", report.errors.len()),
            kind: "partial".to_owned(),
            body: gaps_text(&report.errors),
        }
    } else {
        Outcome::Pass((!report.errors.is_empty()).then(|| gaps_text(&report.errors)))
    };
    Case {
        name: "collect".to_owned(),
        time_ms: report.timings.collect_ms,
        outcome,
    }
}

fn code_cases(run: &SubjectRun) -> Vec<Case> {
    let report = &run.report;
    let fail_on = report.summary.fail_on;
    // The built-in codes, then any code of a library user's own rule the report has (a failing
    // custom finding must fail a test case too).
    let mut codes = FindingCode::ALL.to_vec();
    for f in &report.findings {
        if !codes.contains(&f.code) {
            codes.push(f.code);
        }
    }
    codes
        .into_iter()
        .filter_map(|code| {
            let found: Vec<&Finding> = report.findings.iter().filter(|f| f.code == code).collect();
            // A finding of a code meant for another provider still gets its test case.
            let applies = code.provider().is_none() || code.provider() == Some(run.provider);
            if !applies && found.is_empty() {
                return None;
            }
            let outcome = if let Some(top) = found.iter().find(|f| fail_on.trips(f.severity)) {
                Outcome::Failure {
                    message: top.title.clone(),
                    kind: top.severity.as_str().to_owned(),
                    body: findings_text(&found),
                }
            } else if !found.is_empty() {
                Outcome::Pass(Some(findings_text(&found)))
            } else if !report.summary.inspected {
                Outcome::Skipped("not inspected".to_owned())
            } else {
                Outcome::Pass(None)
            };
            Some(Case {
                name: code.as_str().to_owned(),
                time_ms: 0.0,
                outcome,
            })
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(cases: &[Case]) -> Counts {
        let mut c = Counts {
            tests: cases.len(),
            ..Counts::default()
        };
        for case in cases {
            match case.outcome {
                Outcome::Failure { .. } => c.failures += 1,
                Outcome::Error { .. } => c.errors += 1,
                Outcome::Skipped(_) => c.skipped += 1,
                Outcome::Pass(_) => {}
            }
        }
        c
    }

    fn add(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    fn attrs(&self) -> String {
        format!(
            r#"tests="{}" failures="{}" errors="{}" skipped="{}""#,
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

fn write_case(out: &mut dyn Write, classname: &str, case: &Case) -> io::Result<()> {
    let open = format!(
        r#"    <testcase name="{}" classname="{classname}" time="{}""#,
        attr(&case.name),
        seconds(case.time_ms)
    );
    match &case.outcome {
        Outcome::Pass(None) => writeln!(out, "{open}/>"),
        Outcome::Pass(Some(text)) => {
            writeln!(out, "{open}>")?;
            writeln!(out, "      <system-out>{}</system-out>", escape(text))?;
            writeln!(out, "    </testcase>")
        }
        Outcome::Failure {
            message,
            kind,
            body,
        }
        | Outcome::Error {
            message,
            kind,
            body,
        } => {
            let tag = if matches!(case.outcome, Outcome::Failure { .. }) {
                "failure"
            } else {
                "error"
            };
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <{tag} message="{}" type="{}">{}</{tag}>"#,
                attr(message),
                attr(kind),
                escape(body)
            )?;
            writeln!(out, "    </testcase>")
        }
        Outcome::Skipped(message) => {
            writeln!(out, "{open}>")?;
            writeln!(out, r#"      <skipped message="{}"/>"#, attr(message))?;
            writeln!(out, "    </testcase>")
        }
    }
}

pub(crate) fn render(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let suites: Vec<(&SubjectRun, Vec<Case>)> = audit
        .subjects
        .iter()
        .map(|run| {
            let mut cases = vec![collect_case(run)];
            cases.extend(code_cases(run));
            (run, cases)
        })
        .collect();
    let mut total = Counts::default();
    for (_, cases) in &suites {
        total.add(&Counts::of(cases));
    }
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="cloud502 audit" {} time="{}">"#,
        total.attrs(),
        seconds(audit.duration_ms)
    )?;
    for (run, cases) in &suites {
        let report = &run.report;
        let provider = run.provider.as_str();
        writeln!(
            out,
            r#"  <testsuite name="{}" {} time="{}" timestamp="{}">"#,
            attr(&run.name),
            Counts::of(cases).attrs(),
            seconds(run.duration_ms),
            attr(&audit.generated_at)
        )?;
        writeln!(out, "    <properties>")?;
        for (name, value) in [
            ("provider", provider),
            ("subject", report.subject.id.as_str()),
            ("verdict", report.verdict.as_str()),
            ("exit_code", &report.summary.exit_code.to_string()),
        ] {
            writeln!(
                out,
                r#"      <property name="{name}" value="{}"/>"#,
                attr(value)
            )?;
        }
        writeln!(out, "    </properties>")?;
        let classname = attr(&format!("cloud502.{provider}.{}", run.name));
        for case in cases {
            write_case(out, &classname, case)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::audit::fixture;
    use crate::{Format, RenderOptions, render, render_audit};
    use cloud502_model::{AuditReport, FindingCode, ProviderKind, Severity};

    fn rendered(audit: &AuditReport) -> String {
        let mut out = Vec::new();
        render_audit(audit, Format::Junit, &RenderOptions::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The value of `name="..."` in the first tag of `line`.
    fn attribute<'a>(line: &'a str, name: &str) -> &'a str {
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let len = line[start..].find('"').unwrap();
        &line[start..start + len]
    }

    /// Tags nest and close, and every `&` starts an entity: well-formed enough for a reporter.
    fn assert_well_formed(xml: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert_entities(text);
            let close = rest[open..].find('>').unwrap() + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
            rest = &rest[close + 1..];
            if tag.starts_with('?') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else {
                assert_entities(tag);
                assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
                let name = tag.split([' ', '/']).next().unwrap();
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    fn assert_entities(s: &str) {
        for (i, _) in s.match_indices('&') {
            let entity = &s[i..i + s[i..].find(';').unwrap() + 1];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#9;"].contains(&entity),
                "bad entity {entity}"
            );
        }
    }

    fn applicable(provider: ProviderKind) -> usize {
        FindingCode::ALL
            .iter()
            .filter(|c| c.provider().is_none() || c.provider() == Some(provider))
            .count()
    }

    #[test]
    fn counts_match_a_failing_a_healthy_and_an_uninspected_subject() {
        let audit = fixture::sample();
        let xml = rendered(&audit);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
        assert_well_formed(&xml);

        let alb = applicable(ProviderKind::AwsAlb);
        let nginx = applicable(ProviderKind::Nginx);
        let appgw = applicable(ProviderKind::AzureAppgw);
        let top = xml.lines().nth(1).unwrap();
        assert_eq!(attribute(top, "name"), "cloud502 audit");
        assert_eq!(
            attribute(top, "tests"),
            (3 + alb + nginx + appgw).to_string()
        );
        // One critical finding trips --fail-on warning; the info finding does not.
        assert_eq!(attribute(top, "failures"), "1");
        assert_eq!(attribute(top, "errors"), "1");
        assert_eq!(attribute(top, "skipped"), appgw.to_string());
        assert_eq!(attribute(top, "time"), "2.500");

        let suites: Vec<&str> = xml
            .lines()
            .filter(|l| l.trim_start().starts_with("<testsuite "))
            .collect();
        assert_eq!(suites.len(), 3);
        assert_eq!(attribute(suites[0], "name"), "web");
        assert_eq!(attribute(suites[0], "tests"), (1 + alb).to_string());
        assert_eq!(attribute(suites[0], "failures"), "1");
        assert_eq!(attribute(suites[0], "time"), "1.250");
        assert_eq!(attribute(suites[0], "timestamp"), "2026-11-21T10:00:00Z");
        assert_eq!(attribute(suites[1], "failures"), "0");
        assert_eq!(attribute(suites[1], "skipped"), "0");
        assert_eq!(attribute(suites[2], "errors"), "1");
        assert_eq!(attribute(suites[2], "skipped"), appgw.to_string());

        assert!(xml.contains(
            r#"<failure message="Every target of web is unhealthy" type="critical">[critical] Every target of web is unhealthy"#
        ));
        assert!(xml.contains("evidence: probe.0.status"));
        // The info finding passes but says so.
        assert!(xml.contains(
            r#"<testcase name="alb-idle-timeout-keepalive" classname="cloud502.aws-alb.web" time="0.000">
      <system-out>[info] Keep-alive must outlast the idle timeout"#
        ));
        assert!(xml.contains(
            r#"<error message="not inspected: azure:ApplicationGateways/read: 403 Forbidden" type="not-inspected">"#
        ));
        assert!(xml.contains(r#"<property name="verdict" value="unknown"/>"#));
        assert!(xml.contains(r#"<property name="exit_code" value="4"/>"#));
        // Codes of other providers are not listed; generic ones are.
        let web = xml.split("<testsuite ").nth(1).unwrap();
        assert!(web.contains(r#"name="alb-502""#) && web.contains(r#"name="relayed-502""#));
        assert!(!web.contains(r#"name="nginx-502""#));
    }

    #[test]
    fn partial_collection_fails_the_collect_case() {
        let report = fixture::report(
            ProviderKind::Nginx,
            "/etc/nginx/nginx.conf",
            Vec::new(),
            vec![fixture::gap(
                "/var/log/nginx/error.log",
                cloud502_model::GapKind::Permission,
                "permission denied",
            )],
            true,
        );
        let mut out = Vec::new();
        render(&report, Format::Junit, &RenderOptions::default(), &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert_well_formed(&xml);
        assert!(xml.contains(
            r#"<testcase name="collect" classname="cloud502.nginx./etc/nginx/nginx.conf" time="1.200">
      <failure message="1 source(s) could not be read" type="partial">/var/log/nginx/error.log: permission denied</failure>"#
        ));
        let top = xml.lines().nth(1).unwrap();
        assert_eq!(attribute(top, "failures"), "1");
        assert_eq!(attribute(top, "skipped"), "0");
    }

    #[test]
    fn remote_text_is_escaped() {
        let mut audit = fixture::sample();
        audit.subjects[0].name = "we<b>&'x'".into();
        let finding = &mut audit.subjects[0].report.findings[0];
        finding.title = "502 from <upstream> & \"friends\"\u{1b}[31m\u{0}".into();
        finding.explanation = "line one\nline\ttwo\r\u{7}".into();
        let xml = rendered(&audit);
        assert_well_formed(&xml);
        assert!(
            !xml.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        );
        assert!(xml.contains(
            r#"message="502 from &lt;upstream&gt; &amp; &quot;friends&quot;[31m" type="critical""#
        ));
        assert!(xml.contains(r#"<testsuite name="we&lt;b&gt;&amp;&apos;x&apos;" "#));
        assert!(xml.contains("classname=\"cloud502.aws-alb.we&lt;b&gt;&amp;&apos;x&apos;\""));
        assert!(xml.contains("line one\nline"));
    }

    #[test]
    fn a_finding_of_another_providers_code_still_gets_a_case() {
        let report = fixture::report(
            ProviderKind::Probe,
            "https://example.com/",
            vec![fixture::finding(
                FindingCode::CloudflareEdge502,
                Severity::Critical,
                "Cloudflare made the 502",
            )],
            Vec::new(),
            true,
        );
        let mut out = Vec::new();
        render(&report, Format::Junit, &RenderOptions::default(), &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(r#"<testcase name="cloudflare-edge-502""#));
        assert!(!xml.contains(r#"<testcase name="cloudflare-520-unknown-response""#));
        let top = xml.lines().nth(1).unwrap();
        assert_eq!(
            attribute(top, "tests"),
            (2 + applicable(ProviderKind::Probe)).to_string()
        );
        assert_eq!(attribute(top, "failures"), "1");
    }
}
