//! `-o html` in a real browser: the bundled incident, an audit of several real nginx subjects and
//! a trace through two of them are rendered by headless Chromium (`--dump-dom`, `--screenshot`).
//! The rendered DOM must have one timeline bucket per minute of the incident, the hop that made
//! the 502 marked, and nothing that points outside the file. Set CLOUD502_UPDATE_IMAGES=1 to copy
//! the screenshots to docs/images/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::{cloud502, refusing_port, server};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A page of ours must render within this (a generous bound: measured figures are in
/// docs/performance.md).
const RENDER_BOUND: Duration = Duration::from_secs(10);

/// Chromium from PATH (`make setup` installs Debian's), or none.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

macro_rules! need_chromium {
    () => {
        match chromium() {
            Some(c) => c,
            None => {
                eprintln!("skipped: chromium is not installed (make setup installs Debian's)");
                return;
            }
        }
    };
}

/// Run Chromium headless on `page` with these extra arguments; its stdout and how long it took.
/// Bounded: killed after a minute.
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> (String, Duration) {
    let profile = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { stdout }, &mut s).unwrap();
        s
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!(
                "chromium did not finish within a minute on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    (reader.join().unwrap(), elapsed)
}

/// The DOM after Chromium loaded the page, and the time it took.
fn load(chromium: &Path, page: &Path) -> (String, Duration) {
    let (dom, took) = headless(chromium, page, &["--dump-dom"]);
    assert!(
        dom.contains("</html>"),
        "no DOM for {}:\n{dom}",
        page.display()
    );
    (dom, took)
}

/// How long Chromium takes on an empty page: its own start and stop, to take off the figures.
fn baseline(chromium: &Path, dir: &Path) -> Duration {
    let page = write_page(dir, "empty", "<!DOCTYPE html><html><body>x</body></html>");
    load(chromium, &page).1
}

/// A PNG screenshot of the page, copied to docs/images/<name>.png when asked.
fn screenshot(chromium: &Path, page: &Path, name: &str) -> Vec<u8> {
    let png = page.with_extension("png");
    headless(
        chromium,
        page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1100,1500",
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {name}: {e}"));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name} is not a PNG"
    );
    assert!(bytes.len() > 10_000, "{name}: a blank screenshot?");
    if std::env::var_os("CLOUD502_UPDATE_IMAGES").is_some() {
        let dest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/images")
            .join(format!("{name}.png"));
        std::fs::write(dest, &bytes).unwrap();
    }
    bytes
}

/// Nothing in the page may make the browser fetch: no tag with a `src` or a link out, no
/// stylesheet link, script or frame, no CSS `url()` or `@import`. Only markup counts: text that
/// merely reads `src=` (an escaped log line) is not a fetch.
fn assert_fetches_nothing(text: &str) {
    for tag in text
        .split('<')
        .skip(1)
        .filter_map(|t| t.split_once('>').map(|p| p.0))
    {
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(
            !["script", "link", "iframe", "img", "object", "embed"].contains(&name.as_str()),
            "<{tag}>"
        );
        for attr in [
            " src=",
            "href=\"http",
            "href='http",
            "href=\"//",
            "srcset=",
            "url(",
        ] {
            assert!(!tag.contains(attr), "<{tag}>");
        }
    }
    let style = text
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .unwrap_or("");
    for needle in ["url(", "@import"] {
        assert!(!style.contains(needle), "`{needle}` in the style");
    }
}

/// The part of `text` from the element whose id is `id` to the end of that SVG.
fn svg<'a>(text: &'a str, id: &str) -> &'a str {
    let start = text
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &text[start..];
    &rest[..rest.find("</svg>").unwrap()]
}

/// The minutes (since the epoch) of the lines of an nginx error log.
fn error_log_minutes(path: &Path) -> Vec<i64> {
    let text = std::fs::read_to_string(path).unwrap();
    let format = time::macros::format_description!("[year]/[month]/[day] [hour]:[minute]:[second]");
    text.lines()
        .filter_map(|l| l.get(..19))
        .filter_map(|t| time::PrimitiveDateTime::parse(t, format).ok())
        .map(|t| t.assume_utc().unix_timestamp().div_euclid(60))
        .collect()
}

fn write_page(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(format!("{name}.html"));
    std::fs::write(&path, html).unwrap();
    path
}

#[test]
fn the_bundled_incident_in_chromium() {
    let chromium = need_chromium!();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/incident");
    let arg = |f: &str| root.join(f).to_str().unwrap().to_owned();
    let run = cloud502(&[
        "nginx",
        "--dump",
        &arg("nginx-T.txt"),
        "--error-log",
        &arg("error.log"),
        "--access-log",
        &arg("access.log"),
        "--no-probe",
        "-o",
        "html",
        "-q",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_fetches_nothing(&run.stdout);
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), "incident", &run.stdout);
    let (dom, took) = load(&chromium, &page);
    assert!(took < RENDER_BOUND, "{took:?}");
    assert_fetches_nothing(&dom);

    // The error log's chart: one bucket per minute from its first line to its last, and a bar in
    // each minute that has lines (every line of this log is a failure).
    let minutes = error_log_minutes(&root.join("error.log"));
    let (first, last) = (
        *minutes.iter().min().unwrap(),
        *minutes.iter().max().unwrap(),
    );
    let mut distinct = minutes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let chart = svg(&dom, "r-log0");
    assert_eq!(
        chart.matches("class=\"bucket\"").count() as i64,
        last - first + 1,
        "{chart}"
    );
    let with_bars = chart
        .split("class=\"bucket\"")
        .skip(1)
        .filter(|b| b.contains("class=\"bar\""))
        .count();
    assert_eq!(with_bars, distinct.len());
    assert!(chart.contains("class=\"first-failure\""));

    // nginx made the 502: the one failing hop of the chain.
    let failing: Vec<&str> = dom
        .match_indices("data-failing=\"true\"")
        .map(|(i, _)| &dom[i..(i + 120).min(dom.len())])
        .collect();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert!(
        failing[0].contains("<strong>nginx</strong>"),
        "{}",
        failing[0]
    );
    assert!(dom.contains("nginx answers 502: cannot connect to the unix socket"));
    // Findings are collapsible, the top one open.
    assert!(dom.contains("<details class=\"finding\" open=\"\">"));
    screenshot(&chromium, &page, "incident");
}

/// A config of several nginx subjects for one audit and its trace chain.
fn audit_file(dir: &Path, subjects: &[(&str, &Nginx)], chain: &[&str]) -> PathBuf {
    let mut text = String::new();
    for (name, n) in subjects {
        text.push_str(&format!(
            "[[subject]]\nname = \"{name}\"\nprovider = \"nginx\"\nconfig = \"{}\"\nprefix = \"{}\"\n\n",
            n.config().display(),
            n.dir.path().display()
        ));
    }
    if !chain.is_empty() {
        let layers: Vec<String> = chain.iter().map(|c| format!("\"{c}\"")).collect();
        text.push_str(&format!(
            "[[chain]]\nhost = \"127.0.0.1\"\nlayers = [{}]\n",
            layers.join(", ")
        ));
    }
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_audit_and_a_trace_in_chromium() {
    let chromium = need_chromium!();
    // client -> front nginx -> back nginx -> nothing listening; a third nginx that is fine.
    let (dead, _held) = refusing_port();
    let back = Nginx::proxy_to(&format!("http://127.0.0.1:{dead}"));
    let front = Nginx::proxy_to(&format!("http://127.0.0.1:{}", back.port));
    let fine = Nginx::start("location / { return 200 'ok'; }");
    for _ in 0..3 {
        assert_eq!(server::get(&front.url("/checkout")), 502);
        assert_eq!(server::get(&fine.url("/")), 200);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = audit_file(
        dir.path(),
        &[("front", &front), ("back", &back), ("static", &fine)],
        &["front", "back"],
    );
    let config = config.to_str().unwrap();

    let audit = cloud502(&["audit", "--config", config, "-o", "html"]);
    assert_fetches_nothing(&audit.stdout);
    let page = write_page(dir.path(), "audit", &audit.stdout);
    let (dom, took) = load(&chromium, &page);
    assert!(took < RENDER_BOUND, "{took:?}");
    // The fleet overview: a row per subject, each linking to its own section.
    assert_eq!(dom.matches("class=\"subject-row\"").count(), 3, "{dom}");
    for i in 0..3 {
        assert!(dom.contains(&format!("<a href=\"#s{i}\">")));
        assert!(dom.contains(&format!("<section class=\"subject\" id=\"s{i}\">")));
    }
    assert!(dom.contains("data-verdict=\"failing\""));
    screenshot(&chromium, &page, "audit");

    let url = front.url("/checkout");
    let trace = cloud502(&["trace", &url, "--config", config, "-o", "html"]);
    assert_eq!(trace.code, 1, "{}", trace.stderr);
    assert_fetches_nothing(&trace.stdout);
    let page = write_page(dir.path(), "trace", &trace.stdout);
    let (dom, took) = load(&chromium, &page);
    assert!(took < RENDER_BOUND, "{took:?}");
    // back made the 502, front relayed it; the application behind back was not reached.
    let hop = |role: &str| {
        let i = dom
            .find(&format!("data-role=\"{role}\""))
            .unwrap_or_else(|| panic!("no {role} hop"));
        &dom[i..(i + 200).min(dom.len())]
    };
    assert!(
        hop("made").contains("href=\"#h1\">back</a>"),
        "{}",
        hop("made")
    );
    assert!(hop("made").contains("data-failing=\"true\""));
    assert!(hop("relayed").contains("href=\"#h0\">front</a>"));
    assert_eq!(dom.matches("data-failing=\"true\"").count(), 1);
    assert!(dom.contains("back (nginx) made the 502"));
    screenshot(&chromium, &page, "trace");
}

/// The page limit of the issue: a report must stay small enough to mail and to open at once.
const MAX_PAGE: usize = 2 << 20;

#[test]
fn a_hundred_subject_audit_stays_under_2_mib_and_renders_quickly() {
    let chromium = need_chromium!();
    let (dead, _held) = refusing_port();
    let gw = Nginx::proxy_to(&format!("http://127.0.0.1:{dead}"));
    for _ in 0..5 {
        assert_eq!(server::get(&gw.url("/")), 502);
    }
    let names: Vec<String> = (0..100).map(|i| format!("gw-{i:03}")).collect();
    let subjects: Vec<(&str, &Nginx)> = names.iter().map(|n| (n.as_str(), &gw)).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = audit_file(dir.path(), &subjects, &[]);
    let run = cloud502(&["audit", "--config", config.to_str().unwrap(), "-o", "html"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let size = run.stdout.len();
    assert!(size < MAX_PAGE, "{size} bytes");
    let page = write_page(dir.path(), "audit100", &run.stdout);
    let (dom, took) = load(&chromium, &page);
    assert_eq!(dom.matches("class=\"subject-row\"").count(), 100);
    assert!(took < RENDER_BOUND, "{took:?}");
    let base = baseline(&chromium, dir.path());
    eprintln!(
        "figures: 100-subject audit: {size} bytes, Chromium --dump-dom {took:?} ({:?} over an empty page)",
        took.saturating_sub(base)
    );
}

/// An nginx error.log of `lines` failures spread over `hours`, naming `upstreams` peers.
fn long_error_log(path: &Path, lines: usize, hours: i64, upstreams: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let t0 = time::macros::datetime!(2026-11-18 00:00:00 UTC);
    let fmt = time::macros::format_description!("[year]/[month]/[day] [hour]:[minute]:[second]");
    for i in 0..lines {
        let t = t0 + time::Duration::seconds(hours * 3600 * i as i64 / lines as i64);
        let u = i * 7 % upstreams;
        writeln!(
            out,
            "{} [error] 1234#1234: *{i} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop.example.com, request: \"GET /api HTTP/1.1\", upstream: \"http://10.1.{}.{}:8080/api\", host: \"shop.example.com\"",
            t.format(fmt).unwrap(),
            u / 250,
            u % 250
        )
        .unwrap();
    }
}

#[test]
fn three_days_of_failures_from_300_upstreams_stay_under_2_mib() {
    let chromium = need_chromium!();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    long_error_log(&log, 40_000, 72, 300);
    let run = cloud502(&["logs", log.to_str().unwrap(), "-o", "html", "-q"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let size = run.stdout.len();
    assert!(size < MAX_PAGE, "{size} bytes");
    let page = write_page(dir.path(), "long", &run.stdout);
    let (dom, took) = load(&chromium, &page);
    assert!(took < RENDER_BOUND, "{took:?}");
    // 72 hours fit in at most 240 buckets: 30 minutes each, 144 of them.
    let chart = svg(&dom, "r-log0");
    assert!(
        chart.contains("data-bucket-seconds=\"1800\""),
        "{}",
        &chart[..300]
    );
    assert_eq!(chart.matches("class=\"bucket\"").count(), 144);
    let base = baseline(&chromium, dir.path());
    eprintln!(
        "figures: 72 h, 300 upstreams: {size} bytes, Chromium --dump-dom {took:?} ({:?} over an empty page)",
        took.saturating_sub(base)
    );
}

#[test]
fn a_hostile_log_line_is_escaped_in_the_page() {
    // A client controls the request line and the Host header nginx writes into error.log (control
    // bytes make a line binary to the reader; crates/render/tests/html.rs covers them).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    std::fs::write(
        &log,
        "2026/11/21 13:47:55 [error] 1#1: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop, request: \"GET /<script>alert('x')</script> HTTP/1.1\", upstream: \"http://127.0.0.1:9/\", host: \"\\\"><img src=x onerror=alert(1)>\"\n",
    )
    .unwrap();
    let run = cloud502(&["logs", log.to_str().unwrap(), "-o", "html", "-q"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains("<script"), "raw <script>");
    assert!(!run.stdout.contains("<img"), "raw <img>");
    assert!(
        run.stdout
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    assert_fetches_nothing(&run.stdout);
}
