//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Which layer is returning HTTP 502, and why.
///
/// Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or config
/// error; 3 partial (some sources unreadable, results still printed); 4 nothing could be
/// inspected.
#[derive(Debug, Parser)]
#[command(name = "cloud502", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short = 'o', long = "output", value_enum, global = true)]
    pub output: Option<OutputFormat>,

    /// When to colour the table: auto follows the terminal and NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOnArg::Warning, global = true)]
    pub fail_on: FailOnArg,

    /// Override a finding's severity, as CODE=info|warning|critical (repeatable).
    #[arg(long = "severity", value_name = "CODE=LEVEL", global = true)]
    pub severity: Vec<String>,

    /// Log more on stderr (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send one request and name the layer that answered, with a DNS/connect/TLS/first-byte
    /// breakdown. For a 502, say whether that layer made it or relayed it, and what to run next.
    Probe(ProbeArgs),
    /// Print the JSON Schema of the JSON report.
    Schema,
    /// Print the documentation page of a finding code.
    Explain(ExplainArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH, or tcp://HOST:PORT (a port check only).
    pub url: String,

    /// Connect to ADDR for HOST:PORT, keeping the Host header and SNI, as curl's --resolve
    /// (repeatable). Use it to test an origin or a single target directly.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Extra request header, as "Name: value" (repeatable). Values are never printed.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub header: Vec<String>,

    /// Deadline for the whole probe (e.g. 10s, 500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Go on when the certificate does not verify; its problems are still reported.
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The finding code, e.g. nginx-502.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,

    /// List every code with its one-line summary.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Jsonl,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Info,
    Warning,
    Critical,
    Never,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| e.to_string())?
    } else {
        humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (e.g. 10s, 500ms, 1m)"))?
    };
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
