//! No AWS credential leaves the process, even when the endpoint quotes it back: a hostile
//! endpoint answers every call with the ELBv2 Query-protocol error envelope whose message quotes
//! the request's session token and Authorization header; the real binary runs against it in every
//! output format and at every log level, and no sentinel may reach stdout, stderr or a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::{OUTPUT_FORMATS, cloud502_env};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

const SESSION_TOKEN: &str = "SENTINEL-aws-session-token-4d1f0c";
const SECRET_KEY: &str = "SENTINEL-aws-secret-key-9be2a7";
const TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";

/// An endpoint that answers every request with HTTP 403 and the ELBv2 error envelope
/// (`ErrorResponse/Error/{Type,Code,Message}`, RequestId: the awsQuery shape documented in the
/// Elastic Load Balancing API reference, "Common Errors"). The message quoting the request's
/// token and signature is this test's own hostile addition: no real AWS endpoint does it.
fn echoing_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
    format!("http://{addr}")
}

fn answer(stream: std::net::TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut token = String::new();
        let mut auth = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "x-amz-security-token" => token = value.trim().to_owned(),
                    "authorization" => auth = value.trim().to_owned(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let xml = format!(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
<Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
<Message>The security token included in the request is invalid: {token} ({auth})</Message>\
</Error><RequestId>0b7f5b4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b</RequestId></ErrorResponse>"
        );
        let mut out = stream.try_clone()?;
        write!(
            out,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 0b7f5b4e\r\n\
X-Echo-Token: {token}\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        )?;
    }
}

#[test]
fn a_quoted_session_token_reaches_no_output_format_no_log_level_and_no_file() {
    let endpoint = echoing_endpoint();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let mut runs = Vec::new();
    for &format in OUTPUT_FORMATS {
        let run = cloud502_env(
            &["aws", "--endpoint-url", &endpoint, "--tg", TG, "-o", format],
            &env,
        );
        runs.push((format.to_owned(), run));
    }
    for (label, extra_env) in [("-vv", None), ("CLOUD502_LOG=trace", Some("trace"))] {
        let mut env = env.to_vec();
        let mut args = vec!["aws", "--endpoint-url", &endpoint, "--tg", TG, "-o", "json"];
        match extra_env {
            Some(level) => env.push(("CLOUD502_LOG", level)),
            None => args.push("-vv"),
        }
        runs.push((label.to_owned(), cloud502_env(&args, &env)));
    }
    let mut saw_the_error = false;
    for (label, run) in &runs {
        // The endpoint's error was read (so its message did pass through the tool) ...
        assert_ne!(run.code, 0, "{label}: {}", run.stderr);
        assert_ne!(run.code, 101, "{label} panicked: {}", run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        saw_the_error |= all.contains("security token included in the request is invalid");
        // ... and neither secret survived it.
        for secret in [SESSION_TOKEN, SECRET_KEY] {
            assert!(
                !all.contains(secret),
                "{label}: {secret} leaked:\nstdout:\n{}\nstderr:\n{}",
                run.stdout,
                run.stderr
            );
        }
        // Errors are one readable line; debug/trace logs are for developers and may dump.
        if !label.starts_with('-') && !label.starts_with("CLOUD502_LOG") {
            assert!(
                !all.contains("DispatchFailure(") && !all.contains("_private"),
                "{label}: a Debug dump: {all}"
            );
        }
    }
    assert!(
        saw_the_error,
        "the endpoint's quoted message never reached the report: the test proves nothing"
    );
}
