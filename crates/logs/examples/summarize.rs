//! Summarize a log file and print the summary, for measuring throughput: `summarize PATH [auto|nginx-error|nginx-access|alb-access|appgw-access|cloudflare-http-requests] [LOG_FORMAT]`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use cloud502_logs::{AccessFormat, FormatChoice, Options, summarize_path};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!(
            "usage: summarize PATH [auto|nginx-error|nginx-access|alb-access|appgw-access|cloudflare-http-requests] [LOG_FORMAT]"
        );
        return ExitCode::from(2);
    };
    let choice = match args.get(1).map(|s| s.parse::<FormatChoice>()) {
        None => FormatChoice::Auto,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut formats = Vec::new();
    if let Some(f) = args.get(2) {
        match AccessFormat::parse("custom", f) {
            Ok(f) => formats.push(f),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let start = Instant::now();
    let mut ticks = 0u64;
    match summarize_path(
        Path::new(path),
        "logs.0",
        choice,
        &formats,
        &Options::default(),
        &mut |_| ticks += 1,
    ) {
        Ok(s) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{} lines={} matched={} bytes={} skipped={:?} first={:?} last={:?}",
                s.dialect, s.lines, s.matched, s.bytes, s.skipped, s.first_seen, s.last_seen
            );
            for c in &s.counts {
                println!("  count {:>24} {}", c.key, c.count);
            }
            for g in &s.groups {
                println!(
                    "  group {:>24} {:>8} upstream={:?} status={:?} level={:?} reused={:?} detail={:?} line={}",
                    g.class.as_str(),
                    g.count,
                    g.upstream,
                    g.status,
                    g.level,
                    g.reused,
                    g.detail,
                    g.sample.line
                );
            }
            eprintln!(
                "{:.3} s, {:.0} MB/s, {} progress calls",
                secs,
                s.bytes as f64 / 1e6 / secs,
                ticks
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
