//! `cloud502 azure`'s options, declared once: its flags and the audit file's keys for
//! `provider = "azure"`.

use crate::{AuthMode, AzureOptions, AzureProvider};
use cloud502_collect::options::{Common, parse_since, parse_timeout, problem};
use cloud502_collect::{Provider, ProviderArgs, ProviderError};
use cloud502_model::{Layer, ProviderKind};
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Diagnose an Azure Application Gateway: its configuration (pools, HTTP settings, probes,
/// listeners, rules), backend health with each server's probe message, access logs from Log
/// Analytics (--workspace), and the gateway subnet's NSG and route table. Read-only.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureArgs {
    /// The gateway's resource group.
    // Required on the command line; the file may give it in `[azure]`, checked in into_options.
    #[arg(
        short = 'g',
        long = "resource-group",
        value_name = "RG",
        required = true
    )]
    pub resource_group: Option<String>,

    /// The Application Gateway's name.
    #[arg(
        long = "gw",
        visible_alias = "gateway",
        value_name = "NAME",
        required = true
    )]
    pub gateway: Option<String>,

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
    #[arg(long, value_enum, default_value_t = AuthMode::Auto)]
    #[serde(default, deserialize_with = "auth")]
    pub auth: AuthMode,

    /// A Log Analytics workspace id (GUID) receiving the gateway's access logs: 5xx requests in
    /// the window are grouped by ErrorInfo, ServerStatus and ServerRouted.
    #[arg(long, value_name = "ID")]
    pub workspace: Option<String>,

    /// How far back to read access logs (e.g. 15m, 1h, 1d).
    // The audit file's `since` and `timeout` are keys of every subject: they come in `Common`.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    #[serde(skip)]
    pub since: Option<Duration>,

    /// Bound on each ARM or Log Analytics call with its retries, and on the whole backend-health
    /// operation with its polls (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    #[serde(skip)]
    pub timeout: Option<Duration>,

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
    #[arg(long = "no-backend-health", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub backend_health: bool,

    /// Do not read the gateway subnet's NSG and route table.
    #[arg(long = "no-network", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub network: bool,
}

/// `auth = "..."`, with the values `--auth` takes.
fn auth<'de, D: Deserializer<'de>>(d: D) -> Result<AuthMode, D::Error> {
    let s = String::deserialize(d)?;
    clap::ValueEnum::from_str(&s, false).map_err(|_| {
        serde::de::Error::custom(format!(
            "auth `{s}` is not one of auto, cli, managed-identity, workload-identity, client-secret"
        ))
    })
}

impl ProviderArgs for AzureArgs {
    const NAME: &'static str = "azure";
    const KIND: ProviderKind = ProviderKind::AzureAppgw;
    const LAYER: Layer = Layer::AzureAppgw;
    const BUDGETED: bool = true;
    type Options = AzureOptions;

    fn into_options(self, common: &Common) -> Result<AzureOptions, ProviderError> {
        let (Some(rg), Some(gw)) = (self.resource_group, self.gateway) else {
            return Err(problem("an azure subject needs resource_group and gateway"));
        };
        let defaults = AzureOptions::new(&rg, &gw);
        Ok(AzureOptions {
            // The command line read it already (clap's `env`); the file falls back to it here.
            subscription: self
                .subscription
                .or_else(|| std::env::var("AZURE_SUBSCRIPTION_ID").ok()),
            auth: self.auth,
            arm_endpoint: self.arm_endpoint,
            arm_scope: self.arm_scope,
            workspace: self.workspace,
            logs_endpoint: self.logs_endpoint,
            logs_scope: self.logs_scope,
            since: self.since.or(common.since).unwrap_or(defaults.since),
            timeout: self.timeout.or(common.timeout).unwrap_or(defaults.timeout),
            network: self.network,
            backend_health: self.backend_health,
            ..defaults
        })
    }

    fn provider(options: AzureOptions) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(AzureProvider::new(options)?))
    }

    fn deadline(options: &AzureOptions) -> Duration {
        // A token, the gateway, then health / logs (two queries and a token) / network (two reads)
        // in parallel, each bounded by --timeout: this is the backstop.
        options.timeout * 5 + Duration::from_secs(10)
    }
}
