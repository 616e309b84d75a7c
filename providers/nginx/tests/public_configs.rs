//! Real public nginx configs (mastodon, discourse, gitlab, nextcloud, h5bp; fixtures/public,
//! PROVENANCE.md there), read as the nginx provider reads a copied tree (`--root`, no probe, no
//! logs of this machine): nginx runs these as their projects ship them, so no finding may be a
//! warning or worse, and each config's routes are all read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::Severity;
use cloud502_nginx::{NginxOptions, NginxProvider};
use std::path::{Path, PathBuf};

/// Diagnose `site` (a file of fixtures/public) under the Debian layout, re-rooted in a temp dir;
/// `main`: the file is the main nginx.conf itself.
fn diagnose(site: &str, main: bool) -> cloud502_model::Report {
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/nginx");
    std::fs::create_dir_all(etc.join("sites-enabled")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/public")
        .join(site);
    if main {
        std::fs::copy(&fixture, etc.join("nginx.conf")).unwrap();
    } else {
        std::fs::copy(&fixture, etc.join("sites-enabled").join(site)).unwrap();
        // written here: the Debian main file, reduced to what includes the site
        std::fs::write(
            etc.join("nginx.conf"),
            "events {\n    worker_connections 768;\n}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n",
        )
        .unwrap();
    }
    let options = NginxOptions {
        config: Some(etc.join("nginx.conf")),
        root: Some(PathBuf::from(root.path())),
        probe: false,
        ..NginxOptions::default()
    };
    let provider = NginxProvider::new(options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(cloud502_diagnose::run(
        &provider,
        &cloud502_diagnose::CollectCx::default(),
        &cloud502_diagnose::RunOptions::default(),
    ))
    .unwrap()
}

fn assert_quiet(site: &str, routes: usize) {
    assert_quiet_as(site, false, routes);
}

fn assert_quiet_as(site: &str, main: bool, routes: usize) {
    let report = diagnose(site, main);
    let loud: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{}: {}", f.code.as_str(), f.title))
        .collect();
    assert!(loud.is_empty(), "{site}: {loud:#?}");
    assert_eq!(
        report.config.routes.len(),
        routes,
        "{site}: {:#?}",
        report.config.routes
    );
}

#[test]
fn mastodon() {
    // keep-alive through `map $http_upgrade $connection_upgrade` ('' -> close: no reuse, and no
    // keepalive in its upstreams, so nothing to warn about)
    assert_quiet("mastodon-dist-nginx.conf", 2);
}

#[test]
fn discourse() {
    // four unix-socket servers, a variable root, an https pass to a public name
    assert_quiet("discourse-nginx.sample.conf", 7);
}

#[test]
fn gitlab() {
    assert_quiet("gitlab-lib-support-nginx-gitlab", 1);
}

#[test]
fn nextcloud() {
    // fastcgi to an upstream of php-fpm; its `include mime.types` and `fastcgi_params` are not in
    // the copied tree (gaps, not findings)
    assert_quiet("nextcloud-nginx-root.conf.sample", 1);
}

#[test]
fn h5bp() {
    // a main file of static serving: regex maps, a named log_format, worker_rlimit_nofile
    assert_quiet_as("h5bp-nginx.conf", true, 0);
}
