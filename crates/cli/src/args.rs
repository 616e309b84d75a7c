//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use cloud502::engine::limits;

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
    /// Send one request and name the layer that answered, with a DNS/connect/TLS/first-byte
    /// breakdown. For a 502, say whether that layer made it or relayed it, and what to run next.
    Probe(ProbeArgs),
    /// Diagnose nginx: read its config (files or a `nginx -T` dump) and the error/access logs it
    /// names, probe each upstream, and with --local run the host checks (`nginx -t`, open-files
    /// limit, systemd unit, listening ports). Findings cite file:line and log lines.
    Nginx(NginxArgs),
    /// Diagnose an AWS Application Load Balancer target group (or every target group behind a
    /// load balancer): target health and reason codes, attributes, listener rules, CloudWatch
    /// metrics, access logs (CloudWatch Logs or S3) and security groups. Read-only.
    Aws(AwsArgs),
    /// Diagnose an Azure Application Gateway: its configuration (pools, HTTP settings, probes,
    /// listeners, rules), backend health with each server's probe message, access logs from Log
    /// Analytics (--workspace), and the gateway subnet's NSG and route table. Read-only.
    Azure(AzureArgs),
    /// Diagnose a host behind Cloudflare: the zone's SSL/TLS mode, the host's DNS record, its load
    /// balancer's pool health, health checks, and analytics split by edge and origin status (who
    /// made the 5xx), then direct checks of the origin on 80 and 443 with the host's Host header
    /// and SNI. The API token comes from CLOUDFLARE_API_TOKEN (or CF_API_TOKEN). Read-only.
    Cloudflare(CloudflareArgs),
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
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Go on when the certificate does not verify; its problems are still reported.
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NginxArgs {
    /// The main config file; includes are followed [default: /etc/nginx/nginx.conf].
    #[arg(long, value_name = "PATH", conflicts_with = "dump")]
    pub config: Option<PathBuf>,

    /// A saved `nginx -T` dump to read instead of the files (e.g. from `nginx -T > dump.txt 2>&1`).
    #[arg(long, value_name = "PATH")]
    pub dump: Option<PathBuf>,

    /// An error.log to read (repeatable) [default: the error_log files the config names].
    #[arg(long = "error-log", value_name = "PATH")]
    pub error_log: Vec<PathBuf>,

    /// An access.log to read (repeatable) [default: the access_log files the config names]. Its
    /// log_format is taken from the config, or detected.
    #[arg(long = "access-log", value_name = "PATH")]
    pub access_log: Vec<PathBuf>,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Do not probe the upstreams the config names.
    #[arg(long)]
    pub no_probe: bool,

    /// Time each upstream probe may take (e.g. 3s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// The config is on this machine: also run `nginx -t`, compare worker_connections with the
    /// open-files limit, read the systemd unit's state and check the upstream ports listen.
    #[arg(long)]
    pub local: bool,

    /// The nginx binary used by --local for `nginx -t` and `nginx -v`.
    #[arg(long, value_name = "PATH", default_value = "nginx")]
    pub nginx_bin: PathBuf,

    /// The nginx prefix that relative paths in the config resolve against
    /// [default: the config file's directory, or its parent for a conf/ directory].
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["tg", "lb"])))]
pub struct AwsArgs {
    /// The target group, as an ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)
    /// or a name in --region.
    #[arg(long, value_name = "ARN|NAME")]
    pub tg: Option<String>,

    /// A load balancer (ARN or name): inspect every target group its listeners forward to.
    #[arg(long, value_name = "ARN|NAME")]
    pub lb: Option<String>,

    /// The region [default: the ARN's region, else AWS_REGION or the profile's].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// The named profile of ~/.aws/config [default: AWS_PROFILE, else `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every call to this endpoint (a VPC endpoint, LocalStack, moto). AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// A CloudWatch Logs group holding the ALB's access-log records (plain lines or JSON);
    /// events matching "502" in the window are read.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,

    /// Where the ALB writes access logs [default: the load balancer's access_logs.s3.* attributes].
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub access_logs: Option<String>,

    /// How far back to read metrics and logs (e.g. 15m, 1h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    pub since: Duration,

    /// Do not read CloudWatch metrics.
    #[arg(long)]
    pub no_metrics: bool,

    /// Do not check security groups (no EC2 calls).
    #[arg(long)]
    pub no_security_groups: bool,

    /// Bound on each API call, retries included (e.g. 10s, 30s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Read at most this many S3 access-log objects (the newest first).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_log_objects: usize,
}

#[derive(Debug, Args)]
pub struct AzureArgs {
    /// The gateway's resource group.
    #[arg(short = 'g', long = "resource-group", value_name = "RG")]
    pub resource_group: String,

    /// The Application Gateway's name.
    #[arg(long = "gw", visible_alias = "gateway", value_name = "NAME")]
    pub gw: String,

    /// The subscription id (a GUID).
    #[arg(
        long,
        value_name = "ID",
        env = "AZURE_SUBSCRIPTION_ID",
        hide_env_values = true
    )]
    pub subscription: Option<String>,

    /// How to get a token. auto tries, in order: workload identity (AZURE_FEDERATED_TOKEN_FILE),
    /// client secret (AZURE_CLIENT_SECRET with AZURE_TENANT_ID and AZURE_CLIENT_ID), managed
    /// identity, then the Azure CLI's login.
    #[arg(long, value_enum, default_value_t = AzureAuthArg::Auto)]
    pub auth: AzureAuthArg,

    /// A Log Analytics workspace id (GUID) receiving the gateway's access logs: 5xx requests in
    /// the window are grouped by ErrorInfo, ServerStatus and ServerRouted.
    #[arg(long, value_name = "ID")]
    pub workspace: Option<String>,

    /// How far back to read access logs (e.g. 15m, 1h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    pub since: Duration,

    /// Bound on each ARM or Log Analytics call with its retries, and on the whole backend-health
    /// operation with its polls (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// The Resource Manager endpoint, for sovereign clouds (https://management.usgovcloudapi.net)
    /// or tests (plain http only on loopback).
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,

    /// The token scope for Resource Manager [default: https://management.azure.com/.default];
    /// set it with --arm-endpoint for a sovereign cloud.
    #[arg(long, value_name = "SCOPE")]
    pub arm_scope: Option<String>,

    /// The Log Analytics query endpoint [default: https://api.loganalytics.io].
    #[arg(long, value_name = "URL")]
    pub logs_endpoint: Option<String>,

    /// The token scope for Log Analytics [default: https://api.loganalytics.io/.default].
    #[arg(long, value_name = "SCOPE")]
    pub logs_scope: Option<String>,

    /// Do not run the backend-health operation.
    #[arg(long)]
    pub no_backend_health: bool,

    /// Do not read the gateway subnet's NSG and route table.
    #[arg(long)]
    pub no_network: bool,
}

#[derive(Debug, Args)]
pub struct CloudflareArgs {
    /// The zone: its name (example.com) or its id (32 hex digits).
    #[arg(long, value_name = "NAME|ID")]
    pub zone: String,

    /// The host name to diagnose [default: the zone apex].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// How far back the analytics look (e.g. 15m, 1h, 1d; the zone's plan limits it).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    pub since: Duration,

    /// Check this origin address (IP or host name) instead of those in the host's DNS records or
    /// load-balancer pools; repeat for several.
    #[arg(long = "origin", value_name = "ADDR")]
    pub origins: Vec<String>,

    /// Also check loopback, private (RFC 1918, ULA, site-local, and their v4-mapped and NAT64
    /// forms) and shared origin addresses, which are skipped by default. Link-local and cloud
    /// metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are never checked.
    #[arg(long)]
    pub allow_private: bool,

    /// The port Cloudflare reaches the origin on over HTTP (Flexible mode). Cloudflare also
    /// proxies 8080, 8880, 2052, 2082, 2086 and 2095.
    #[arg(long, value_name = "PORT", default_value_t = 80)]
    pub http_port: u16,

    /// The port Cloudflare reaches the origin on over HTTPS (Full and Full (strict)). Cloudflare
    /// also proxies 8443, 2053, 2083, 2087 and 2096.
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    pub https_port: u16,

    /// Also trust this CA (PEM) in the origin check, e.g. the Cloudflare Origin CA root, which
    /// Full (strict) accepts but the system roots do not; repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,

    /// Bound on each direct origin check (e.g. 5s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub origin_timeout: Duration,

    /// Do not check the origin directly.
    #[arg(long)]
    pub no_origin_check: bool,

    /// Do not read load balancers and pool health (needs no Load Balancing permissions).
    #[arg(long)]
    pub no_load_balancers: bool,

    /// Do not read standalone health checks.
    #[arg(long)]
    pub no_health_checks: bool,

    /// Do not query GraphQL analytics.
    #[arg(long)]
    pub no_analytics: bool,

    /// Bound on each API call with its retries (e.g. 30s).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Cap on API requests in this run. Cloudflare blocks a user's API access for 5 minutes
    /// once its tokens pass 1200 requests in 5 minutes; a run needs about 10 to 25.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_requests: u32,

    /// The API base URL [default: https://api.cloudflare.com/client/v4]; plain http only on
    /// loopback (tests).
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
}

/// `--auth` of `cloud502 azure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AzureAuthArg {
    /// Pick one in the documented order.
    Auto,
    /// The Azure CLI's login (`az login`).
    Cli,
    /// The managed identity of this VM, scale set, App Service or Function (AZURE_CLIENT_ID picks a
    /// user-assigned one).
    ManagedIdentity,
    /// Workload identity federation (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID).
    WorkloadIdentity,
    /// A service principal's secret (AZURE_CLIENT_SECRET, AZURE_CLIENT_ID, AZURE_TENANT_ID).
    ClientSecret,
}

#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Only count log lines from this recent duration (e.g. 15m, 2h, 1d) or since this time
    /// (2026-05-01T12:00:00Z, "2026-05-01 12:00:00"), by the logs' own timestamps.
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,

    /// Offset of error.log timestamps, which nginx writes in local time without one
    /// (e.g. +02:00, -05:00, UTC) [default: this machine's offset].
    #[arg(long, value_name = "OFFSET")]
    pub log_offset: Option<String>,
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

/// A `--timeout`-like duration: above [`limits::MAX_TIMEOUT`] it is a usage error, so that no
/// deadline computed from it (`timeout * 8`, `now + timeout`) can overflow.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    limits::check_duration("", d, limits::MAX_TIMEOUT)
}

/// A `--since` look-back: at most [`limits::MAX_SINCE`].
fn parse_since(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    limits::check_duration("", d, limits::MAX_SINCE)
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

    #[test]
    fn huge_durations_are_refused_with_the_limit() {
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        let e = parse_timeout("18446744073709551615s").unwrap_err();
        assert!(e.contains("above the limit of 1h"), "{e}");
        assert!(parse_since("400d").is_ok());
        let e = parse_since("9999999999h").unwrap_err();
        assert!(e.contains("above the limit of 400d"), "{e}");
    }
}
