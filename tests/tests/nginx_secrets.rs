//! A credential in an nginx `proxy_pass` query (`?token=...`) never reaches a report: nginx
//! quotes the upstream URL, query and all, in its error.log lines; cloud502 reads the real config
//! and the real log of a real nginx and must print neither, in any output format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::server::get;
use cloud502_e2e::{OUTPUT_FORMATS, cloud502, refusing_port};

const TOKEN: &str = "SENTINEL-nginx-query-token-8c41";

#[test]
fn a_token_in_a_proxy_pass_query_reaches_no_output_format() {
    let (port, _held) = refusing_port();
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{port}/api?token={TOKEN}&v=2"));
    assert_eq!(get(&nginx.url("/checkout")), 502);
    // nginx itself wrote the token into its error.log: the test would prove nothing otherwise.
    assert!(nginx.error_log().contains(TOKEN), "{}", nginx.error_log());
    let config = nginx.config();
    for &format in OUTPUT_FORMATS {
        let run = cloud502(&[
            "nginx",
            "--config",
            config.to_str().unwrap(),
            "--no-probe",
            "-o",
            format,
        ]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "{format}: the token leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        if format == "json" {
            let report = run.json();
            assert_eq!(report["findings"][0]["code"], "nginx-upstream-refused");
            let text = report.to_string();
            assert!(text.contains("token=<redacted>"), "{text}");
        }
    }
}
