//! The `cloud502` binary: parse arguments, run one command, print the report on stdout, and exit
//! with the code the report computed. Progress and logs go to stderr.

mod args;
mod audit;

use anyhow::Context as _;
mod progress;
mod providers;
mod term;
mod window;

use args::{
    Cli, ColorChoice, Command, FailOnArg, GlobalArgs, LogFormatArg, LogsArgs, OutputFormat,
};
use clap::{CommandFactory, Parser};
use cloud502::engine::outcome::EXIT_USAGE;
use cloud502::engine::{CollectCx, Progress, RunOptions};
use cloud502::model::{FailOn, FindingCode, Report, Severity};
use cloud502::render::{Format, RenderOptions};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

/// A usage or configuration problem: one line, with the fix, and exit code 2.
#[derive(Debug)]
struct UsageError {
    message: String,
    hint: Option<String>,
}

fn main() -> ExitCode {
    // Read the local UTC offset while the process has one thread: `time` refuses later.
    window::init_local_offset();
    // Credentials the SDKs read from the environment on their own are masked like the ones
    // cloud502 handles itself.
    cloud502::model::secret::register_env();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(e),
    };
    init_logging(&cli.global);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Some(usage) = e.downcast_ref::<UsageError>() {
                term::line("error", &usage.message, usage.hint.as_deref());
                ExitCode::from(EXIT_USAGE)
            } else {
                term::line("error", &format!("{e:#}"), None);
                ExitCode::from(cloud502::engine::outcome::EXIT_NOTHING_INSPECTED)
            }
        }
    }
}

/// A bad command line: clap's own message as one `error:` line, with the help to read as its
/// hint (clap prints a usage block and a tip over several lines). `--help` and `--version`, and
/// a bare subcommand that shows its help, print as clap prints them.
fn argument_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
    }
    // The first paragraph: the message, and what it lists ("required arguments were not
    // provided:\n  <URL>"), without the usage block and tips after the blank line.
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    let joined = paragraph.join(" ");
    let message = joined.strip_prefix("error:").unwrap_or(&joined).trim();
    let message = if message.is_empty() {
        "invalid arguments"
    } else {
        message
    };
    // The subcommand the user typed, so the hint names the help that applies.
    let sub = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-') && Cli::command().find_subcommand(a).is_some());
    let hint = match sub {
        Some(sub) => format!("see `cloud502 {sub} --help`"),
        None => "see `cloud502 --help`".to_owned(),
    };
    term::line("error", message, Some(&hint));
    ExitCode::from(EXIT_USAGE)
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError {
        message: message.into(),
        hint,
    })
}

/// Log targets that are never enabled: they log credentials or signed requests.
const CREDENTIAL_LOG_TARGETS: &[&str] = &[
    "aws_sigv4",
    "aws_config::profile",
    "aws_config::imds",
    "aws_credential_types",
    "azure_identity",
];

fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // The AWS SDK warns about things cloud502 reports itself (a missing config file, a retry):
    // keep those quiet unless asked for with -v.
    let directives = if global.verbose == 0 {
        format!("{level},aws_config=error,aws_smithy_runtime=error,aws_runtime=error")
    } else {
        level.to_owned()
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("CLOUD502_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    // Targets whose debug/trace events print credentials (the SigV4 canonical request carries
    // `x-amz-security-token`; the credential chain prints what it loaded) stay off whatever
    // CLOUD502_LOG asks for; every other line is masked by the writer.
    for target in CREDENTIAL_LOG_TARGETS {
        if let Ok(d) = format!("{target}=off").parse() {
            filter = filter.add_directive(d);
        }
    }
    let ansi = colour(global.color, std::io::stderr().is_terminal());
    let _ = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_env_filter(filter)
        .with_writer(term::MaskedStderr::default)
        .with_target(false)
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let Cli { global, command } = cli;
    let global = &global;
    match command {
        Command::Schema => {
            let schema = cloud502::model::report_schema_pretty();
            emit(|out| writeln!(out, "{schema}"))?;
            Ok(0)
        }
        Command::Explain(args) => explain(args.code.as_deref(), args.list),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            emit(|out| {
                clap_complete::generate(shell, &mut cmd, "cloud502", out);
                Ok(())
            })?;
            Ok(0)
        }
        Command::Provider(provider) => providers::run(global, provider),
        Command::Logs(args) => logs(global, &args),
        Command::Audit(args) => audit::audit(global, &args),
        Command::Trace(args) => audit::trace(global, &args),
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
///
/// When a secret is registered, the output is rendered whole and masked before it is written:
/// the report model is masked already, and this is the last gate for anything a renderer adds.
/// When none is registered masking changes nothing, so the output streams through a buffer
/// instead: a large report (31 MB of JSON for a 3,000-server nginx config) is then never held
/// in memory whole, which was a fifth of that run's peak RSS (issue 19).
fn emit(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    if !cloud502::model::secret::any() {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        return match f(&mut out).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write the output to stdout"),
        };
    }
    let mut rendered = Vec::new();
    f(&mut rendered).context("cannot render the output")?;
    // Copied only when a secret was found in it (a report can be large).
    let rendered = match String::from_utf8(rendered) {
        Ok(text) => match cloud502::model::secret::mask(&text) {
            std::borrow::Cow::Owned(masked) => masked.into_bytes(),
            std::borrow::Cow::Borrowed(_) => text.into_bytes(),
        },
        Err(e) => e.into_bytes(),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&rendered).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

fn explain(code: Option<&str>, list: bool) -> anyhow::Result<u8> {
    if list {
        emit(|out| {
            for code in FindingCode::ALL {
                writeln!(out, "{:<36} {}", code.as_str(), code.summary())?;
            }
            Ok(())
        })?;
        return Ok(0);
    }
    let code = code.unwrap_or_default();
    let code: FindingCode = code.parse().map_err(|e: String| {
        usage(
            e,
            Some("run `cloud502 explain --list` to see every code".to_owned()),
        )
    })?;
    emit(|out| out.write_all(code.docs().as_bytes()))?;
    Ok(0)
}

/// `--fail-on`, when given.
fn fail_on_arg(global: &GlobalArgs) -> Option<FailOn> {
    global.fail_on.map(|f| match f {
        FailOnArg::Info => FailOn::Info,
        FailOnArg::Warning => FailOn::Warning,
        FailOnArg::Critical => FailOn::Critical,
        FailOnArg::Never => FailOn::Never,
    })
}

fn run_options(global: &GlobalArgs) -> anyhow::Result<RunOptions> {
    let fail_on = fail_on_arg(global).unwrap_or_default();
    let mut severity_overrides = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for entry in &global.severity {
        let parsed = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` is not CODE=LEVEL"))
            .and_then(|(code, level)| {
                let code: FindingCode = code.trim().parse()?;
                let level = match level.trim() {
                    "info" => Severity::Info,
                    "warning" => Severity::Warning,
                    "critical" => Severity::Critical,
                    other => {
                        return Err(format!(
                            "unknown severity `{other}` (info, warning, critical)"
                        ));
                    }
                };
                Ok((code, level))
            });
        match parsed {
            Ok((code, level)) => {
                severity_overrides.insert(code, level);
            }
            Err(e) => problems.push(format!("--severity: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(usage(
            problems.join("; "),
            Some("see `cloud502 explain --list` for codes".to_owned()),
        ));
    }
    Ok(RunOptions {
        fail_on,
        severity_overrides,
        ..RunOptions::default()
    })
}

/// Run a provider to a report, print it, and return its exit code.
fn run_provider(
    global: &GlobalArgs,
    provider: &dyn cloud502::engine::Provider,
    deadline: std::time::Duration,
    opts: &RunOptions,
) -> anyhow::Result<u8> {
    let interactive = std::io::stderr().is_terminal() && !global.quiet;
    let progress = Arc::new(progress::StderrProgress::new(interactive));
    let cx = CollectCx {
        deadline,
        progress: progress.clone() as Arc<dyn Progress>,
        budget: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(cloud502::engine::run(provider, &cx, opts));
    // Do not wait for blocking work left behind (a system resolver call that never returns):
    // dropping a runtime waits for its blocking tasks, which would hold the process past its
    // deadline after the report is done.
    runtime.shutdown_background();
    let report = result.map_err(|e| usage(e.to_string(), e.hint().map(str::to_owned)))?;
    progress.finish();
    // When nothing could be inspected the gaps are the run's errors (exit 4), printed even
    // with --quiet; otherwise they are warnings about a partial report.
    let prefix = if report.summary.inspected {
        "warning"
    } else {
        "error"
    };
    if !global.quiet || !report.summary.inspected {
        for gap in &report.errors {
            term::line(
                prefix,
                &format!("{}: {}", gap.scope, gap.message),
                gap.hint.as_deref(),
            );
        }
    }
    if !global.quiet {
        // Which credential a cloud provider used (`azure.credential`), and what it chose not to
        // touch (`cloudflare.origin.skipped.N`).
        for item in report
            .evidence
            .iter()
            .filter(|i| i.id.ends_with(".credential") || i.id.contains(".skipped."))
        {
            term::line("note", &item.fact, None);
        }
    }
    print_report(global, &report)?;
    let code = report.summary.exit_code;
    // The process exits right after this: freeing a large report (one settings table per route,
    // hundreds of thousands of small allocations for a 3,000-server nginx config) would only
    // cost time, and the OS takes the memory back at exit anyway (issue 19).
    std::mem::forget(report);
    Ok(code)
}

/// Collection deadline of `cloud502 logs`: reading a big log is bounded by its size, not by a
/// network timeout, so the backstop is generous.
const LOCAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3600);

fn logs(global: &GlobalArgs, args: &LogsArgs) -> anyhow::Result<u8> {
    use cloud502::logs::{AccessFormat, FormatChoice, LogsOptions, LogsProvider};
    let opts = run_options(global)?;
    let (since, local_offset) = args
        .window
        .parse(window::local_offset())
        .map_err(|e| usage(e, None))?;
    let mut problems = Vec::new();
    let mut formats = Vec::new();
    for entry in &args.log_format {
        match entry.split_once('=') {
            Some((name, format)) => match AccessFormat::parse(name.trim(), format) {
                Ok(f) => formats.push(f),
                Err(e) => problems.push(format!("--log-format {name}: {e}")),
            },
            None => problems.push(format!("--log-format `{entry}` is not NAME=FORMAT")),
        }
    }
    if let Some(path) = &args.nginx_config {
        match cloud502::nginx::conf::load_any(path) {
            Ok(conf) => {
                for (name, format, at) in conf.log_format_directives() {
                    match AccessFormat::parse(&name, &format) {
                        Ok(f) => formats.push(f),
                        // the directive's own file and line, as nginx names config errors
                        Err(e) => problems.push(format!("{at}: {e}")),
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    // A CSV Logpush job's field_names, for files without a header line
    let logpush_fields = if args.logpush_fields.is_empty() {
        None
    } else if !matches!(
        args.format,
        LogFormatArg::Auto | LogFormatArg::CloudflareHttpRequests
    ) {
        problems.push(
            "--logpush-fields reads Cloudflare Logpush CSV: drop --format or pass \
             --format cloudflare-http-requests"
                .to_owned(),
        );
        None
    } else {
        let delimiter = if args.logpush_tsv { b'\t' } else { b',' };
        match cloud502::logs::CsvLayout::from_names(&args.logpush_fields, delimiter) {
            Ok(layout) => Some(layout),
            Err(e) => {
                problems.push(format!("--logpush-fields: {e}"));
                None
            }
        }
    };
    // A directory stands for the log files in it; a pipe, a device or a link to a process's
    // output is refused before anything blocks on it.
    let paths = cloud502::logs::expand_dirs(&args.paths).unwrap_or_else(|e| {
        problems.push(e.to_string());
        Vec::new()
    });
    for p in &paths {
        if let Err(e) = cloud502::logs::check_source(p) {
            problems.push(e.to_string());
        }
    }
    if !problems.is_empty() {
        let hinted = problems.iter().all(|p| p.contains("(hint: "));
        return Err(usage(
            problems.join("; "),
            (!hinted).then(|| "check the paths and formats; run `cloud502 logs --help`".to_owned()),
        ));
    }
    let choice = match args.format {
        LogFormatArg::Auto => FormatChoice::Auto,
        LogFormatArg::NginxError => FormatChoice::NginxError,
        LogFormatArg::NginxAccess => FormatChoice::NginxAccess,
        LogFormatArg::AlbAccess => FormatChoice::AlbAccess,
        LogFormatArg::AppgwAccess => FormatChoice::AppgwAccess,
        LogFormatArg::CloudflareHttpRequests => FormatChoice::CloudflareHttpRequests,
    };
    let provider = LogsProvider::new(LogsOptions {
        paths,
        choice,
        formats,
        options: cloud502::logs::Options {
            since,
            local_offset,
            ..cloud502::logs::Options::default()
        },
        logpush_fields,
    });
    run_provider(global, &provider, LOCAL_DEADLINE, &opts)
}

/// Whether to colour a stream: `--color always|never`, else only on a terminal and never when
/// NO_COLOR is set. The report on stdout and the log lines on stderr follow the same rule.
fn colour(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The output format and render options `-o`, `--color`, NO_COLOR and the terminal ask for.
fn output(global: &GlobalArgs) -> (Format, RenderOptions) {
    let stdout_tty = std::io::stdout().is_terminal();
    let format = match global.output {
        Some(OutputFormat::Table) => Format::Table,
        Some(OutputFormat::Json) => Format::Json,
        Some(OutputFormat::Jsonl) => Format::Jsonl,
        Some(OutputFormat::Markdown) => Format::Markdown,
        Some(OutputFormat::Sarif) => Format::Sarif,
        Some(OutputFormat::Junit) => Format::Junit,
        Some(OutputFormat::Prometheus) => Format::Prometheus,
        Some(OutputFormat::Html) => Format::Html,
        None if stdout_tty => Format::Table,
        None => Format::Json,
    };
    let color = colour(global.color, stdout_tty);
    // Sparklines fall back to ASCII where the terminal cannot be trusted with Unicode blocks.
    let ascii = std::env::var_os("TERM").is_some_and(|t| t == "dumb")
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    (format, RenderOptions { color, ascii })
}

fn print_report(global: &GlobalArgs, report: &Report) -> anyhow::Result<()> {
    let (format, options) = output(global);
    emit(|out| cloud502::render::render(report, format, &options, out))
}
