//! `cloud502 probe`'s options, declared once: its flags and the audit file's keys for
//! `provider = "probe"`.

use crate::{ProbeOptions, ProbeProvider, ProbeRequest};
use cloud502_collect::options::{Common, parse_timeout, problem};
use cloud502_collect::{Provider, ProviderArgs, ProviderError};
use cloud502_model::ProviderKind;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Send one request and name the layer that answered, with a DNS/connect/TLS/first-byte
/// breakdown. For a 502, say whether that layer made it or relayed it, and what to run next.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeArgs {
    /// http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH, or tcp://HOST:PORT (a port check only).
    // Required on the command line; the file may give it in `[probe]`, checked in into_options.
    #[arg(required = true)]
    pub url: Option<String>,

    /// Connect to ADDR for HOST:PORT, keeping the Host header and SNI, as curl's --resolve
    /// (repeatable). Use it to test an origin or a single target directly.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    #[serde(default)]
    pub resolve: Vec<String>,

    /// Extra request header, as "Name: value" (repeatable). Values are never printed.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    #[serde(default)]
    pub header: Vec<String>,

    /// Deadline for the whole probe (e.g. 10s, 500ms, 1m).
    // The audit file's `timeout` is a key of every subject: it comes in `Common`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    #[serde(skip)]
    pub timeout: Option<Duration>,

    /// Go on when the certificate does not verify; its problems are still reported.
    #[arg(short = 'k', long)]
    #[serde(default)]
    pub insecure: bool,

    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long = "cacert", value_name = "FILE")]
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
}

impl ProviderArgs for ProbeArgs {
    const NAME: &'static str = "probe";
    const KIND: ProviderKind = ProviderKind::Probe;
    type Options = ProbeRequest;

    fn into_options(self, common: &Common) -> Result<ProbeRequest, ProviderError> {
        let Some(url) = self.url else {
            return Err(problem("a probe subject needs url"));
        };
        let defaults = ProbeOptions::default();
        let options = ProbeOptions {
            resolve: self.resolve,
            headers: self.header,
            timeout: self.timeout.or(common.timeout).unwrap_or(defaults.timeout),
            insecure: self.insecure,
            ca_files: common.paths(self.ca_files),
        };
        Ok(ProbeRequest::new(&url, options)?)
    }

    fn provider(request: ProbeRequest) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(ProbeProvider::new(request)))
    }

    fn deadline(request: &ProbeRequest) -> Duration {
        request.timeout
    }
}
