//! Credentials. azure_identity 1.x deliberately has no default chain (KB 8.4), so `--auth auto`
//! picks one itself, in this fixed order:
//!
//! 1. `AZURE_FEDERATED_TOKEN_FILE` set: workload identity (AKS, GitHub Actions OIDC).
//! 2. `AZURE_CLIENT_SECRET` set, with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`: client secret.
//! 3. Managed identity, when `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` are set (App Service,
//!    Functions) or the instance metadata service answers on 169.254.169.254 within a second
//!    and gives a token (VMs, scale sets). `AZURE_CLIENT_ID` selects a user-assigned identity.
//! 4. The Azure CLI (`az account get-access-token`).
//!
//! Tokens are fetched once per scope, up front, each bounded by a timeout: azure_identity's
//! managed identity retries for about 100 s when there is no metadata service.

use crate::error::AzureError;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::AuthMode;

/// The environment the choice is made from (read once; tests build their own).
#[derive(Clone, Default)]
pub struct AuthEnv {
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub federated_token_file: Option<String>,
    /// `AZURE_CLIENT_SECRET` (never printed).
    pub client_secret: Option<String>,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are both set.
    pub identity_endpoint: bool,
    /// Where the instance metadata service would answer.
    pub imds: Option<SocketAddr>,
}

impl std::fmt::Debug for AuthEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthEnv")
            .field("federated_token_file", &self.federated_token_file)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<set>"),
            )
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("identity_endpoint", &self.identity_endpoint)
            .field("imds", &self.imds)
            .finish()
    }
}

impl AuthEnv {
    /// Read the process environment.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        AuthEnv {
            federated_token_file: var("AZURE_FEDERATED_TOKEN_FILE"),
            client_secret: var("AZURE_CLIENT_SECRET"),
            tenant_id: var("AZURE_TENANT_ID"),
            client_id: var("AZURE_CLIENT_ID"),
            identity_endpoint: var("IDENTITY_ENDPOINT").is_some()
                && var("IDENTITY_HEADER").is_some(),
            imds: Some(SocketAddr::from(([169, 254, 169, 254], 80))),
        }
    }
}

/// A bearer token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Secret);

impl Token {
    /// The `Authorization` header value.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0.secret())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The credential in use, and how it was chosen.
#[derive(Clone)]
pub struct Credential {
    inner: Arc<dyn TokenCredential>,
    /// Which one (`azure-cli`, `managed-identity`, ...).
    pub kind: &'static str,
    /// Why it was picked, and what was tried before it, in one line.
    pub why: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("why", &self.why)
            .finish()
    }
}

impl Credential {
    /// Any `TokenCredential` (tests: a static token).
    pub fn custom(inner: Arc<dyn TokenCredential>, kind: &'static str) -> Self {
        Credential {
            inner,
            kind,
            why: format!("{kind} (given by the caller)"),
        }
    }

    /// A fixed bearer token the caller already holds (a platform's own sign-in; tests). It is
    /// used for every scope, so give one valid for ARM (and Log Analytics with --workspace).
    pub fn from_token(token: impl Into<String>) -> Self {
        Credential {
            inner: Arc::new(FixedToken(Secret::new(token.into()))),
            kind: "fixed-token",
            why: "fixed-token (given by the caller)".to_owned(),
        }
    }

    /// A token for `scope`, within `timeout`.
    pub async fn token(&self, scope: &str, timeout: Duration) -> Result<Token, String> {
        match tokio::time::timeout(timeout, self.inner.get_token(&[scope], None)).await {
            Ok(Ok(t)) => {
                // A server may quote the bearer token back (an error body, a redirect URL).
                cloud502_model::secret::register(t.token.secret());
                Ok(Token(t.token))
            }
            Ok(Err(e)) => Err(one_line(&e.to_string())),
            Err(_) => Err(format!(
                "{} gave no token within {} s",
                self.kind,
                timeout.as_secs()
            )),
        }
    }

    /// Pick a credential for `mode` and prove it by getting a token for `scope`.
    pub async fn choose(
        mode: AuthMode,
        env: &AuthEnv,
        scope: &str,
        timeout: Duration,
    ) -> Result<(Credential, Token), AzureError> {
        let mut tried: Vec<String> = Vec::new();
        let order: &[AuthMode] = match mode {
            AuthMode::Auto => &[
                AuthMode::WorkloadIdentity,
                AuthMode::ClientSecret,
                AuthMode::ManagedIdentity,
                AuthMode::Cli,
            ],
            AuthMode::Cli => &[AuthMode::Cli],
            AuthMode::ManagedIdentity => &[AuthMode::ManagedIdentity],
            AuthMode::WorkloadIdentity => &[AuthMode::WorkloadIdentity],
            AuthMode::ClientSecret => &[AuthMode::ClientSecret],
        };
        let auto = mode == AuthMode::Auto;
        for &m in order {
            let built = match build(m, env, auto, timeout).await {
                Ok(c) => c,
                Err(why) => {
                    tried.push(format!("{}: {why}", m.as_str()));
                    continue;
                }
            };
            let Some(cred) = built else {
                continue;
            };
            match cred.token(scope, timeout).await {
                Ok(token) => {
                    let why = if tried.is_empty() {
                        format!("{} (--auth {})", cred.kind, mode.as_str())
                    } else {
                        format!(
                            "{} (--auth {}; before it: {})",
                            cred.kind,
                            mode.as_str(),
                            tried.join("; ")
                        )
                    };
                    return Ok((Credential { why, ..cred }, token));
                }
                Err(e) => tried.push(format!("{}: {e}", m.as_str())),
            }
        }
        Err(AzureError::Credentials {
            message: format!("no usable Azure credential: tried {}", tried.join("; ")),
            hint: hint(mode).to_owned(),
        })
    }
}

fn hint(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::Auto => {
            "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or AZURE_FEDERATED_TOKEN_FILE, or run where a managed identity is assigned; --auth picks one explicitly"
        }
        AuthMode::Cli => "run `az login` (Azure CLI 2.54 or newer must be on PATH)",
        AuthMode::ManagedIdentity => {
            "assign a managed identity to this VM, scale set or App Service, and set AZURE_CLIENT_ID for a user-assigned one"
        }
        AuthMode::WorkloadIdentity => {
            "set AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID (the AKS workload identity webhook does this)"
        }
        AuthMode::ClientSecret => {
            "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal"
        }
    }
}

/// A token the caller already has.
struct FixedToken(Secret);

impl std::fmt::Debug for FixedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedToken(<redacted>)")
    }
}

#[async_trait::async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        Ok(azure_core::credentials::AccessToken::new(
            self.0.clone(),
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

/// Build the credential for `mode`. `Ok(None)`: not applicable in auto mode (nothing to say).
/// `Err`: why it cannot be used.
async fn build(
    mode: AuthMode,
    env: &AuthEnv,
    auto: bool,
    timeout: Duration,
) -> Result<Option<Credential>, String> {
    let wrap = |inner: Arc<dyn TokenCredential>, kind: &'static str| {
        Ok(Some(Credential {
            inner,
            kind,
            why: String::new(),
        }))
    };
    match mode {
        AuthMode::Auto => Ok(None),
        AuthMode::WorkloadIdentity => {
            if env.federated_token_file.is_none() {
                return Err("AZURE_FEDERATED_TOKEN_FILE is not set".to_owned());
            }
            match WorkloadIdentityCredential::new(None) {
                Ok(c) => wrap(c, "workload-identity"),
                Err(e) => Err(one_line(&e.to_string())),
            }
        }
        AuthMode::ClientSecret => {
            let Some(secret) = env.client_secret.clone() else {
                return Err("AZURE_CLIENT_SECRET is not set".to_owned());
            };
            let (Some(tenant), Some(client)) = (env.tenant_id.clone(), env.client_id.clone())
            else {
                return Err(
                    "AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is not"
                        .to_owned(),
                );
            };
            match ClientSecretCredential::new(&tenant, client, Secret::new(secret), None) {
                Ok(c) => wrap(c, "client-secret"),
                Err(e) => Err(one_line(&e.to_string())),
            }
        }
        AuthMode::ManagedIdentity => {
            if auto && !env.identity_endpoint {
                let reachable = match env.imds {
                    Some(addr) => {
                        let probe = Duration::from_secs(1).min(timeout);
                        matches!(
                            tokio::time::timeout(probe, tokio::net::TcpStream::connect(addr)).await,
                            Ok(Ok(_))
                        )
                    }
                    None => false,
                };
                if !reachable {
                    return Err(
                        "no IDENTITY_ENDPOINT and no instance metadata service at 169.254.169.254"
                            .to_owned(),
                    );
                }
            }
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: env.client_id.clone().map(UserAssignedId::ClientId),
                ..Default::default()
            };
            match ManagedIdentityCredential::new(Some(options)) {
                Ok(c) => wrap(c, "managed-identity"),
                Err(e) => Err(one_line(&e.to_string())),
            }
        }
        AuthMode::Cli => match AzureCliCredential::new(None) {
            Ok(c) => wrap(c, "azure-cli"),
            Err(e) => Err(one_line(&e.to_string())),
        },
    }
}

/// One line of a credential error: azure_identity appends a troubleshooting link on a second line,
/// and prefixes the CLI's stderr with its own name.
pub(crate) fn one_line(s: &str) -> String {
    let line = cloud502_collect::remote::one_line(s);
    match line.strip_prefix("AzureCliCredential authentication failed. ") {
        Some(rest) => rest.to_owned(),
        None if line.is_empty() => "unknown error".to_owned(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn modes_round_trip() {
        for m in [
            "auto",
            "cli",
            "managed-identity",
            "workload-identity",
            "client-secret",
        ] {
            assert_eq!(m.parse::<AuthMode>().unwrap().as_str(), m);
        }
        assert!("default".parse::<AuthMode>().is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let env = AuthEnv {
            client_secret: Some("s3cr3t-value".into()),
            ..Default::default()
        };
        assert!(!format!("{env:?}").contains("s3cr3t"));
        let t = Token(Secret::new("tok-123"));
        assert!(!format!("{t:?}").contains("tok-123"));
        assert_eq!(t.bearer(), "Bearer tok-123");
    }

    #[test]
    fn one_line_drops_the_troubleshooting_link() {
        let e = "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\n\nTo troubleshoot, visit https://aka.ms/x";
        assert_eq!(
            one_line(e),
            "ERROR: Please run 'az login' to setup account."
        );
    }

    #[tokio::test]
    async fn auto_without_anything_names_every_step() {
        // No env, no metadata service (a closed loopback port), and explicit modes that need env.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let env = AuthEnv {
            imds: Some(addr),
            ..Default::default()
        };
        for (mode, expect) in [
            (
                AuthMode::WorkloadIdentity,
                "AZURE_FEDERATED_TOKEN_FILE is not set",
            ),
            (AuthMode::ClientSecret, "AZURE_CLIENT_SECRET is not set"),
        ] {
            let e =
                Credential::choose(mode, &env, crate::config::ARM_SCOPE, Duration::from_secs(2))
                    .await
                    .unwrap_err();
            assert!(e.to_string().contains(expect), "{e}");
        }
        let env = AuthEnv {
            client_secret: Some("x".into()),
            ..env
        };
        let e = Credential::choose(
            AuthMode::ClientSecret,
            &env,
            crate::config::ARM_SCOPE,
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("AZURE_TENANT_ID or AZURE_CLIENT_ID is not"),
            "{e}"
        );
    }
}
