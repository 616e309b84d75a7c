//! `-o html`: hostile strings from logs and APIs are escaped, the timeline has one bucket per
//! minute with the first failure, the stop and deploy-like steps marked, the page fetches nothing,
//! and the table's sparklines follow the ASCII choice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::{Gap, GapKind, Layer, Report, Timeline};
use cloud502_render::{Format, RenderOptions, render};

fn fixture(name: &str) -> Report {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn html(report: &Report) -> String {
    let mut out = Vec::new();
    render(report, Format::Html, &RenderOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const HOSTILE: &str = "<script>alert(\"x\")</script>' onload='steal()\u{1b}[31m\u{0}";

/// A report where every string that comes from outside is hostile.
fn hostile() -> Report {
    let mut r = fixture("nginx-incident");
    let log = &mut r.logs[0];
    log.source = HOSTILE.into();
    log.groups[0].sample.text = format!("2026/11/21 13:47:55 [crit] {HOSTILE}");
    log.groups[0].upstream = Some(HOSTILE.into());
    r.evidence[0].fact = HOSTILE.into();
    r.findings[0].title = HOSTILE.into();
    r.findings[0].evidence.insert(0, r.evidence[0].id.clone());
    r.errors.push(Gap {
        scope: "api".into(),
        kind: GapKind::Other,
        message: format!("the API said: {HOSTILE}"),
        hint: Some(HOSTILE.into()),
    });
    r.subject.id = HOSTILE.into();
    r
}

#[test]
fn hostile_strings_from_logs_and_apis_are_escaped() {
    let page = html(&hostile());
    assert!(!page.contains("<script"), "a raw <script> tag");
    assert!(!page.contains("onload='"), "a raw attribute");
    assert!(!page.contains('\u{1b}'), "a raw escape byte");
    assert!(!page.contains('\u{0}'), "a raw NUL");
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;"));
    assert!(
        page.contains("\\x1b[31m\\x00"),
        "control bytes shown, not passed on"
    );
    // the hostile finding title is the page's answer, escaped
    assert!(page.contains("<p class=\"big\" id=\"answer\">&lt;script&gt;"));
}

/// The incident's first error-log group spread over ten minutes: nothing, a sudden start, a stop.
fn with_timeline() -> Report {
    let mut r = fixture("nginx-incident");
    let counts = vec![0, 0, 4, 9, 9, 6, 0, 0, 0, 0];
    let t0 = 1_795_268_400; // 2026-11-21T13:40:00Z
    let mut t = Timeline::empty(t0, t0 + 599, 60);
    t.counts = counts;
    for g in &mut r.logs[0].groups {
        g.timeline = Some(t.clone());
    }
    r
}

#[test]
fn the_timeline_has_a_bucket_per_minute_and_marks_start_and_stop() {
    let page = html(&with_timeline());
    let chart = page
        .split("<svg class=\"chart\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert!(chart.contains("data-buckets=\"10\""));
    assert_eq!(chart.matches("<g class=\"bucket\"").count(), 10);
    let first = chart.split("class=\"first-failure\"").nth(1).unwrap();
    assert!(first.contains("first failure 13:42 UTC"), "{first}");
    assert!(chart.contains("stopped 13:46 UTC"));
    assert!(page.contains("per 1 min"));
}

/// The incident's groups with `counts` per minute from 13:40.
fn with_counts(counts: &[u64]) -> Report {
    let mut r = fixture("nginx-incident");
    let t0 = 1_795_268_400; // 2026-11-21T13:40:00Z
    let mut t = Timeline::empty(t0, t0 + 60 * counts.len() as i64 - 1, 60);
    t.counts = counts.to_vec();
    r.logs[0].groups.truncate(1);
    r.logs[0].groups[0].timeline = Some(t);
    r
}

fn chart_of(page: &str) -> &str {
    page.split("<svg class=\"chart\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap()
}

#[test]
fn deploy_like_steps_are_marked_and_said() {
    // A sudden start next to the first failure is said on its marker, the stop on its own.
    let page = html(&with_timeline());
    assert!(chart_of(&page).contains("first failure 13:42 UTC, sudden"));
    assert!(!chart_of(&page).contains("class=\"step\""));
    let said = page.split("<p class=\"steps\">").nth(1).unwrap_or("");
    assert!(
        said.contains("sudden start at 2026-11-21 13:42 UTC (0 → 36 per 1 min)"),
        "{said}"
    );
    assert!(said.contains("sudden stop at 2026-11-21 13:46 UTC (36 → 0 per 1 min)"));

    // A step up and a step down while the failures go on: both marked where they happened.
    let page = html(&with_counts(&[2, 3, 2, 3, 30, 32, 31, 30, 6, 5, 7, 6]));
    let chart = chart_of(&page);
    let marks: Vec<&str> = chart
        .match_indices("<line class=\"step\"")
        .map(|(i, _)| &chart[i..])
        .collect();
    assert_eq!(marks.len(), 2, "{chart}");
    assert!(marks[0].starts_with("<line class=\"step\" data-kind=\"step up\""));
    assert!(marks[0].contains(">step up 13:44 UTC</text>"));
    assert!(marks[1].starts_with("<line class=\"step\" data-kind=\"step down\""));
    assert!(marks[1].contains(">step down 13:48 UTC</text>"));
    assert!(page.contains("step up at 2026-11-21 13:44 UTC (3 → 31 per 1 min)"));
    assert!(!chart.contains("first failure 13:40 UTC, sudden"));

    // Noise around a steady rate is not a deploy.
    let page = html(&with_counts(&[8, 10, 6, 12, 7, 9, 5, 11, 8, 10, 4, 13]));
    assert!(!page.contains("class=\"step\""));
    assert!(!page.contains("Deploy-like steps"));
}

#[test]
fn each_target_cell_has_the_timeline_of_the_5xx_naming_it() {
    let mut r = with_timeline();
    let target = |address: &str, port: u16| -> cloud502_model::Target {
        serde_json::from_value(serde_json::json!({
            "id": format!("{address}:{port}"), "address": address, "port": port,
            "group": "upstream shop_api", "health": "unhealthy", "reason": "connect() refused"
        }))
        .unwrap()
    };
    r.targets = vec![target("127.0.0.1", 46017), target("10.9.9.9", 80)];
    let page = html(&r);
    let grid = page
        .split("<div class=\"grid\">")
        .nth(1)
        .unwrap()
        .split("</div>\n</div>")
        .next()
        .unwrap();
    let cells: Vec<&str> = grid.split("<div class=\"cell ").skip(1).collect();
    assert_eq!(cells.len(), 2, "{grid}");
    // 127.0.0.1:46017 is the upstream of one error-log group: its ten minutes, peak at 13:43
    assert!(cells[0].contains("<strong>127.0.0.1:46017</strong>"));
    let spark = cells[0]
        .split("<span class=\"target-spark\"")
        .nth(1)
        .expect("a sparkline in the named target's cell");
    assert!(spark.contains("title=\"5xx naming this target, 28 in 10 buckets of 1 min\""));
    let points = spark
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(points.split_whitespace().count(), 10, "{points}");
    assert!(points.starts_with("0.0,17.0 13.3,17.0 26.7,"), "{points}");
    assert!(points.contains(" 40.0,1.0 "), "{points}");
    // no log names 10.9.9.9:80: no line drawn for it
    assert!(cells[1].contains("<strong>10.9.9.9:80</strong>"));
    assert!(!cells[1].contains("svg"));
}

#[test]
fn the_page_fetches_nothing() {
    for page in [
        html(&with_timeline()),
        html(&hostile()),
        html(&fixture("nginx-502")),
    ] {
        for needle in [
            "src=",
            "href=\"http",
            "href='http",
            "url(",
            "@import",
            "<link",
            "<script",
        ] {
            assert!(!page.contains(needle), "{needle} in the page");
        }
        assert!(page.contains("default-src 'none'"));
    }
}

#[test]
fn the_failing_layer_is_marked_in_the_chain() {
    // A report that knows two layers: nginx made the 502, the application behind it was not
    // inspected.
    let mut r = fixture("nginx-incident");
    r.findings[2].layer = Some(Layer::Application);
    let page = html(&r);
    assert!(page.contains("data-role=\"not-inspected\"><div><strong>the application"));
    let made: Vec<&str> = page
        .match_indices("data-failing=\"true\"")
        .map(|(i, _)| &page[i..i + 200])
        .collect();
    assert_eq!(made.len(), 1);
    assert!(made[0].contains("<strong>nginx</strong>"), "{}", made[0]);
}

#[test]
fn table_sparklines_follow_the_ascii_choice() {
    let r = with_timeline();
    let text = |ascii| {
        let mut out = Vec::new();
        render(
            &r,
            Format::Table,
            &RenderOptions {
                color: false,
                ascii,
            },
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    };
    let unicode = text(false);
    assert!(unicode.contains("▁▁▅██▆▁▁▁▁"), "{unicode}");
    let ascii = text(true);
    assert!(ascii.contains("..+@@*...."), "{ascii}");
    assert!(!ascii.contains('▁'));
}
