//! Command-line arguments (clap derive); `--help` is generated. The providers' subcommands are
//! listed in providers.rs and declared in their own crates; the other subcommands' flags are
//! documented here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use cloud502::ProviderCommand;
use cloud502::collect::options::{WindowArgs, parse_timeout};

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

    /// Exit with code 1 when a finding is at or above this severity [default: warning; for
    /// `audit`, the file's [audit] fail_on, then each subject's fail_on].
    #[arg(long, value_enum, global = true)]
    pub fail_on: Option<FailOnArg>,

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
    // First, so that `--help` lists the providers' subcommands before the others.
    #[command(flatten)]
    Provider(ProviderCommand),
    /// Classify saved log files offline (nginx error.log and access.log, ALB access logs,
    /// Application Gateway access logs; plain or .gz): which upstream failures happened, how
    /// often, and why.
    Logs(LogsArgs),
    /// Run the scheduled audit: every [[subject]] of an audit.toml across providers, at most
    /// --concurrency at once, each within its deadline and every provider within its request
    /// budget; print one combined report (a report per subject and a roll-up). Exit codes roll
    /// up: 1 when a subject has findings at or above its threshold, 3 when some subject or
    /// source could not be read (the others are still reported), 4 when none could be
    /// inspected. See docs/audit.md and docs/scheduling.md.
    Audit(AuditArgs),
    /// Probe a public URL, then inspect in order each layer the audit file's [[chain]] declares
    /// for its host (e.g. cloudflare -> aws -> nginx), and name the layer that made the 502 and
    /// why, with the evidence of every hop.
    Trace(TraceArgs),
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
pub struct LogsArgs {
    /// Log files to classify (plain or gzip-compressed).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The log dialect; auto detects it per file from the first lines.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Auto)]
    pub format: LogFormatArg,

    /// A custom access-log format, as NAME=FORMAT with nginx's log_format syntax (repeatable),
    /// e.g. 'upstream=$remote_addr [$time_local] "$request" $status $upstream_addr
    /// $upstream_status $upstream_connect_time $upstream_header_time $upstream_response_time'.
    #[arg(long = "log-format", value_name = "NAME=FORMAT")]
    pub log_format: Vec<String>,

    /// Read log_format definitions from this nginx config (files or an `nginx -T` dump).
    #[arg(long, value_name = "PATH")]
    pub nginx_config: Option<PathBuf>,

    /// The columns of CSV Logpush files written without a header line: the job's
    /// output_options.field_names in order, comma-separated (add --logpush-tsv for a tab
    /// field_delimiter). The files are read as Cloudflare http_requests logs.
    #[arg(long, value_name = "NAME,NAME,...", value_delimiter = ',')]
    pub logpush_fields: Vec<String>,

    /// The --logpush-fields files are tab-separated (field_delimiter "\t").
    #[arg(long, requires = "logpush_fields")]
    pub logpush_tsv: bool,

    #[command(flatten)]
    pub window: WindowArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Detect the dialect of each file from its first lines.
    Auto,
    /// An nginx error.log.
    NginxError,
    /// An nginx access log (the --log-format formats, else `combined`).
    NginxAccess,
    /// An AWS ALB access log (S3 lines or JSON records).
    AlbAccess,
    /// An Azure Application Gateway v2 access log (JSON records).
    AppgwAccess,
    /// A Cloudflare Logpush `http_requests` log (NDJSON, timestamps rfc3339, unixnano or unix).
    CloudflareHttpRequests,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit file (TOML): subjects, defaults, budgets and chains; see docs/audit.md.
    #[arg(long, value_name = "PATH", default_value = "audit.toml")]
    pub config: PathBuf,

    /// Subjects inspected at once [default: the file's [audit] concurrency, else 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,

    /// Run only shard I of N (I from 0): subject k, counted from 0 in file order, belongs to
    /// shard k mod N, so N copies (a Kubernetes Indexed Job) split the subjects without talking
    /// to each other.
    #[arg(long, value_name = "I/N", env = "CLOUD502_SHARD")]
    pub shard: Option<String>,

    /// Run only the subject with this name (repeatable).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,

    /// Also write the roll-up as Prometheus text format to this file, atomically (a temporary
    /// file in the same directory, then a rename), for node-exporter's textfile collector.
    #[arg(long, value_name = "PATH")]
    pub metrics_textfile: Option<PathBuf>,

    /// Post a Slack-compatible message to this URL when the set of warning and critical
    /// findings changed since the last run. The URL is a secret: prefer the environment
    /// variable; it is never printed. https only (plain http on loopback).
    #[arg(
        long,
        value_name = "URL",
        env = "CLOUD502_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub webhook: Option<String>,

    /// Where the webhook remembers the last run's findings [default:
    /// $XDG_STATE_HOME/cloud502/<config stem>[.shard-I-of-N].json, with XDG_STATE_HOME
    /// defaulting to ~/.local/state].
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Check the file and list the subjects this run would inspect; no network call. Exit 0, or
    /// 2 with every problem at its file:line.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The public URL, e.g. https://shop.example.com/checkout.
    pub url: String,

    /// The audit file whose [[chain]] for the URL's host lists the layers, edge first.
    #[arg(long, value_name = "PATH", default_value = "audit.toml")]
    pub config: PathBuf,

    /// Time the probe of the URL may take.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Connect to ADDR for HOST:PORT, keeping the Host header and SNI, as curl's --resolve
    /// (HOST:PORT:ADDR, repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Trust these CA certificates (PEM) for the URL too (repeatable).
    #[arg(long, value_name = "PATH")]
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
    Sarif,
    /// JUnit XML: one testcase per subject and check (CI test reporters).
    Junit,
    /// Prometheus text exposition format.
    Prometheus,
    /// One self-contained HTML page: answer, 5xx timeline, hop chain, targets, findings.
    Html,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_provider_an_audit_file_names_is_a_subcommand() {
        let cli = Cli::command();
        for provider in cloud502::PROVIDERS {
            assert!(
                cli.find_subcommand(provider.name).is_some(),
                "`{}` can be named in an audit file but is no subcommand",
                provider.name
            );
        }
    }
}
