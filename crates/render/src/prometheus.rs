//! `-o prometheus`: the Prometheus text exposition format 0.0.4, for node-exporter's textfile
//! collector. Every metric is a gauge describing the last run; samples are sorted so a file only
//! changes when the numbers do.
//!
//! Finding counts carry no subject label, to keep the number of series low. With `--shard`, the
//! metrics that are not per subject carry `shard="I/N"`: the textfile collector rejects the same
//! series in two files, and each shard writes its own file.

use cloud502_model::AuditReport;
use std::collections::BTreeMap;
use std::io::{self, Write};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type Labels = Vec<(&'static str, String)>;

struct Metric {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Labels, String)>,
}

/// Escape a label value: backslash, double quote and line feed, as the format requires.
fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as the format spells it (`NaN`, `+Inf`, `-Inf` for the special values).
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        v.to_string()
    }
}

fn write_metric(out: &mut dyn Write, metric: &mut Metric) -> io::Result<()> {
    writeln!(out, "# HELP {} {}", metric.name, metric.help)?;
    writeln!(out, "# TYPE {} gauge", metric.name)?;
    metric.samples.sort();
    for (labels, value) in &metric.samples {
        if labels.is_empty() {
            writeln!(out, "{} {value}", metric.name)?;
        } else {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
                .collect();
            writeln!(out, "{}{{{}}} {value}", metric.name, labels.join(","))?;
        }
    }
    Ok(())
}

pub(crate) fn render(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let shard: Labels = audit
        .shard
        .map(|s| vec![("shard", s.to_string())])
        .unwrap_or_default();
    let with_shard = |mut labels: Labels| {
        labels.extend(shard.iter().cloned());
        labels
    };

    let mut findings: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for c in &audit.rollup.findings {
        *findings
            .entry((c.provider.as_str(), c.code.as_str(), c.severity.as_str()))
            .or_default() += c.count;
    }
    let mut gaps: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for run in &audit.subjects {
        for gap in &run.report.errors {
            let kind = serde_json::to_value(gap.kind)?
                .as_str()
                .unwrap_or("other")
                .to_owned();
            *gaps.entry((run.provider.as_str(), kind)).or_default() += 1;
        }
    }
    let mut requests: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &audit.rollup.requests {
        *requests.entry(r.provider.as_str()).or_default() += r.sent;
    }
    let subject = |name: &str, provider: &str| {
        vec![
            ("subject", name.to_owned()),
            ("provider", provider.to_owned()),
        ]
    };
    let started = OffsetDateTime::parse(&audit.generated_at, &Rfc3339)
        .ok()
        .map(|t| float(t.unix_timestamp_nanos() as f64 / 1e9));

    let mut metrics = [
        Metric {
            name: "cloud502_findings",
            help: "Findings of the last audit run, by provider, finding code and severity.",
            samples: findings
                .into_iter()
                .map(|((provider, code, severity), count)| {
                    let labels = vec![
                        ("provider", provider.to_owned()),
                        ("code", code.to_owned()),
                        ("severity", severity.to_owned()),
                    ];
                    (with_shard(labels), count.to_string())
                })
                .collect(),
        },
        Metric {
            name: "cloud502_subject_up",
            help: "Whether the subject could be inspected (1) or not at all (0) in the last audit run.",
            samples: audit
                .subjects
                .iter()
                .map(|run| {
                    let up = u8::from(run.report.summary.inspected);
                    (subject(&run.name, run.provider.as_str()), up.to_string())
                })
                .collect(),
        },
        Metric {
            name: "cloud502_subject_failing_findings",
            help: "Findings of the subject at or above its fail_on threshold in the last audit run.",
            samples: audit
                .subjects
                .iter()
                .map(|run| {
                    let failing = run.report.summary.failing_findings;
                    (
                        subject(&run.name, run.provider.as_str()),
                        failing.to_string(),
                    )
                })
                .collect(),
        },
        Metric {
            name: "cloud502_collection_errors",
            help: "Sources that could not be read in the last audit run, by provider and kind of problem.",
            samples: gaps
                .into_iter()
                .map(|((provider, kind), count)| {
                    let labels = vec![("provider", provider.to_owned()), ("kind", kind)];
                    (with_shard(labels), count.to_string())
                })
                .collect(),
        },
        Metric {
            name: "cloud502_api_requests",
            help: "API requests sent to each provider during the last audit run, retries included.",
            samples: requests
                .into_iter()
                .map(|(provider, sent)| {
                    let labels = vec![("provider", provider.to_owned())];
                    (with_shard(labels), sent.to_string())
                })
                .collect(),
        },
        Metric {
            name: "cloud502_last_run_timestamp_seconds",
            help: "When the last audit run started, in seconds since the Unix epoch.",
            samples: started.map(|t| (shard.clone(), t)).into_iter().collect(),
        },
        Metric {
            name: "cloud502_run_duration_seconds",
            help: "How long the last audit run took, in seconds.",
            samples: vec![(shard.clone(), float((audit.duration_ms).round() / 1000.0))],
        },
        Metric {
            name: "cloud502_run_exit_code",
            help: "Exit code of the last audit run: 0 ok, 1 failing findings, 3 partial, 4 nothing inspected.",
            samples: vec![(shard.clone(), audit.rollup.exit_code.to_string())],
        },
    ];
    for metric in &mut metrics {
        write_metric(out, metric)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::audit::fixture;
    use crate::{Format, RenderOptions, render_audit};
    use cloud502_model::{AuditReport, Shard};
    use std::collections::BTreeMap;

    fn rendered(audit: &AuditReport) -> String {
        let mut out = Vec::new();
        render_audit(
            audit,
            Format::Prometheus,
            &RenderOptions::default(),
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    /// Parse `{a="x",b="y\"z"}` and return the pairs, or `None` if it is malformed.
    fn parse_labels(s: &str) -> Option<Vec<(String, String)>> {
        let mut rest = s.strip_prefix('{')?.strip_suffix('}')?;
        let mut pairs = Vec::new();
        while !rest.is_empty() {
            let eq = rest.find("=\"")?;
            let name = &rest[..eq];
            if !is_name(name) || name.contains(':') {
                return None;
            }
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        _ => return None,
                    },
                    (i, '"') => break eq + 2 + i + 1,
                    (_, '\n') => return None,
                    (_, c) => value.push(c),
                }
            };
            pairs.push((name.to_owned(), value));
            rest = &rest[end..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        Some(pairs)
    }

    type Sample = (String, Vec<(String, String)>, f64);

    /// Every sample line as (name, labels, value); panics on any malformed line.
    fn samples(text: &str) -> Vec<Sample> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let (name, labels) = match series.find('{') {
                    Some(i) => (
                        &series[..i],
                        parse_labels(&series[i..]).unwrap_or_else(|| panic!("labels: {line}")),
                    ),
                    None => (series, Vec::new()),
                };
                assert!(is_name(name), "name: {line}");
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
                (name.to_owned(), labels, value)
            })
            .collect()
    }

    fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        samples(text)
            .into_iter()
            .find(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
            })
            .unwrap_or_else(|| panic!("no {name}{labels:?}"))
            .2
    }

    #[test]
    fn every_line_is_valid_and_every_metric_has_help_and_type_once() {
        let text = rendered(&fixture::sample());
        assert!(text.ends_with('\n'));
        let samples = samples(&text);
        let mut help: BTreeMap<&str, usize> = BTreeMap::new();
        let mut kind: BTreeMap<&str, usize> = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with('#')) {
            let mut words = line.split(' ');
            let (hash, what, name) = (words.next(), words.next(), words.next().unwrap());
            assert_eq!(hash, Some("#"));
            match what {
                Some("HELP") => *help.entry(name).or_default() += 1,
                Some("TYPE") => {
                    assert_eq!(words.next(), Some("gauge"));
                    *kind.entry(name).or_default() += 1;
                }
                _ => panic!("unexpected comment {line}"),
            }
        }
        assert_eq!(help, kind);
        assert!(help.values().all(|&n| n == 1), "{help:?}");
        assert_eq!(help.len(), 8);
        for (name, _, _) in &samples {
            assert!(help.contains_key(name.as_str()), "{name} has no HELP");
        }
        // Samples of a metric follow its TYPE line, not another metric's.
        let mut current = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(current), "{line} outside {current}");
            }
        }
    }

    #[test]
    fn values_follow_the_audit() {
        let text = rendered(&fixture::sample());
        let labels = [
            ("provider", "aws-alb"),
            ("code", "alb-all-targets-unhealthy"),
            ("severity", "critical"),
        ];
        assert_eq!(value(&text, "cloud502_findings", &labels), 1.0);
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("cloud502_findings{") && l.contains("subject="))
        );
        let web = [("subject", "web"), ("provider", "aws-alb")];
        let gw = [("subject", "gw"), ("provider", "azure-appgw")];
        assert_eq!(value(&text, "cloud502_subject_up", &web), 1.0);
        assert_eq!(value(&text, "cloud502_subject_up", &gw), 0.0);
        assert_eq!(value(&text, "cloud502_subject_failing_findings", &web), 1.0);
        assert_eq!(
            value(
                &text,
                "cloud502_collection_errors",
                &[("provider", "azure-appgw"), ("kind", "permission")]
            ),
            1.0
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("cloud502_collection_errors"))
                .count(),
            1,
            "only present combinations"
        );
        assert_eq!(
            value(&text, "cloud502_api_requests", &[("provider", "aws-alb")]),
            7.0
        );
        assert!(text.contains("\ncloud502_last_run_timestamp_seconds 1795255200\n"));
        assert!(text.contains("\ncloud502_run_duration_seconds 2.5\n"));
        assert!(text.contains("\ncloud502_run_exit_code 1\n"));
        // Sorted: edge before gw before web.
        let up: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("cloud502_subject_up{"))
            .collect();
        assert_eq!(up.len(), 3);
        assert!(
            up[0].contains("\"edge\"") && up[2].contains("\"web\""),
            "{up:?}"
        );
    }

    #[test]
    fn shard_labels_the_run_and_rollup_metrics() {
        let mut audit = fixture::sample();
        audit.shard = Some(Shard { index: 1, count: 4 });
        let text = rendered(&audit);
        assert!(text.contains("\ncloud502_run_exit_code{shard=\"1/4\"} 1\n"));
        assert!(text.contains("\ncloud502_run_duration_seconds{shard=\"1/4\"} 2.5\n"));
        assert!(text.contains("\ncloud502_last_run_timestamp_seconds{shard=\"1/4\"} 1795255200\n"));
        assert!(text.contains("\ncloud502_api_requests{provider=\"aws-alb\",shard=\"1/4\"} 7\n"));
        assert!(text.contains("\ncloud502_subject_up{subject=\"web\",provider=\"aws-alb\"} 1\n"));
        samples(&text);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut audit = fixture::sample();
        audit.subjects[0].name = "we\"b\\x\ny".into();
        let text = rendered(&audit);
        assert!(
            text.contains(
                "cloud502_subject_up{subject=\"we\\\"b\\\\x\\ny\",provider=\"aws-alb\"} 1\n"
            ),
            "{text}"
        );
        let parsed = samples(&text);
        assert!(
            parsed
                .iter()
                .any(|(_, labels, _)| labels.iter().any(|(_, v)| v == "we\"b\\x\ny"))
        );
    }

    #[test]
    fn a_single_report_is_a_one_subject_audit() {
        let report = fixture::report(
            cloud502_model::ProviderKind::Nginx,
            "/etc/nginx/nginx.conf",
            vec![fixture::finding(
                cloud502_model::FindingCode::Nginx502,
                cloud502_model::Severity::Critical,
                "nginx made the 502",
            )],
            Vec::new(),
            true,
        );
        let mut out = Vec::new();
        crate::render(
            &report,
            Format::Prometheus,
            &RenderOptions::default(),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let subject = [("subject", "/etc/nginx/nginx.conf"), ("provider", "nginx")];
        assert_eq!(value(&text, "cloud502_subject_up", &subject), 1.0);
        assert_eq!(
            value(
                &text,
                "cloud502_findings",
                &[
                    ("provider", "nginx"),
                    ("code", "nginx-502"),
                    ("severity", "critical")
                ]
            ),
            1.0
        );
        assert!(text.contains("\ncloud502_run_duration_seconds 1.25\n"));
    }
}
