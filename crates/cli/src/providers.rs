//! The provider subcommands, one line each: every provider's flags, `--help` text and conversion
//! to options are its crate's declaration (`cloud502::collect::ProviderArgs`), which the audit
//! file's `[[subject]]` keys come from too; this file only lists them and runs one.

use crate::args::GlobalArgs;
use crate::{run_options, run_provider, usage, window};
use clap::Subcommand;
use cloud502::collect::{Common, ProviderArgs};
use cloud502::engine::ProviderError;

/// The list, in `--help` order: a subcommand per declaration, its help the declaration's doc
/// comment, and [`ProviderCommand::run`] dispatching each to [`declared`].
macro_rules! providers {
    ($($variant:ident($args:ty),)*) => {
        #[derive(Debug, Subcommand)]
        pub enum ProviderCommand {
            $($variant($args),)*
        }

        impl ProviderCommand {
            /// Run the subcommand to a report; its exit code.
            pub fn run(self, global: &GlobalArgs) -> anyhow::Result<u8> {
                match self {
                    $(ProviderCommand::$variant(args) => declared(global, args),)*
                }
            }
        }
    };
}

providers! {
    Probe(cloud502::probe::ProbeArgs),
    Nginx(cloud502::nginx::NginxArgs),
    Aws(cloud502::aws::AwsArgs),
    Azure(cloud502::azure::AzureArgs),
    Cloudflare(cloud502::cloudflare::CloudflareArgs),
}

/// A provider's subcommand: its declared flags to options, the provider, the report.
fn declared<A: ProviderArgs>(global: &GlobalArgs, args: A) -> anyhow::Result<u8> {
    let opts = run_options(global)?;
    let common = Common {
        local_offset: window::local_offset(),
        ..Common::default()
    };
    let options = args.into_options(&common).map_err(provider_usage)?;
    let deadline = A::deadline(&options);
    let provider = A::provider(options).map_err(provider_usage)?;
    run_provider(global, provider.as_ref(), deadline, &opts)
}

/// A provider's refusal of its options: a usage error with the provider's hint.
fn provider_usage(e: ProviderError) -> anyhow::Error {
    usage(e.to_string(), e.hint().map(str::to_owned))
}
