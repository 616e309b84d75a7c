//! Running a provider subcommand. The subcommands themselves are `cloud502::ProviderCommand`, one
//! line per provider in the facade's list: every provider's flags, `--help` text and conversion
//! to options are its crate's declaration (`cloud502::collect::ProviderArgs`), which the audit
//! file's `[[subject]]` keys come from too.

use crate::args::GlobalArgs;
use crate::{run_options, run_provider, usage, window};
use cloud502::ProviderCommand;
use cloud502::collect::Common;
use cloud502::engine::ProviderError;

/// A provider's subcommand: its declared flags to options, the provider, the report.
pub fn run(global: &GlobalArgs, command: ProviderCommand) -> anyhow::Result<u8> {
    let opts = run_options(global)?;
    let common = Common {
        local_offset: window::local_offset(),
        ..Common::default()
    };
    let (provider, deadline) = command
        .into_declaration()
        .build(&common)
        .map_err(provider_usage)?;
    run_provider(global, provider.as_ref(), deadline, &opts)
}

/// A provider's refusal of its options: a usage error with the provider's hint.
fn provider_usage(e: ProviderError) -> anyhow::Error {
    usage(e.to_string(), e.hint().map(str::to_owned))
}
