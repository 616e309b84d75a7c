//! The ARM and Log Analytics client: reqwest with a connect timeout, an operation deadline on
//! every call, retries that honour `Retry-After` (429, 503) within that deadline, and our own
//! long-running-operation poller (KB 2.1: 202 + `Azure-AsyncOperation` / `Location` +
//! `Retry-After`, final state via `Location`). Every call is read-only; the only POSTs are
//! `backendhealth` (a read action in Azure RBAC) and Log Analytics queries.

use crate::auth::Token;
use cloud502_collect::http::{self, Client, HttpError, OnThrottle, Policy, Request, Response};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

pub use cloud502_collect::http::{CallLog, retry_after};

/// How many times one request is sent at most.
pub const MAX_ATTEMPTS: u32 = 4;
/// The wait before a retry or a poll when the server gives no `Retry-After`.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// ARM's retry policy: 429 (with `Retry-After`, per subscription and minute) and transient 5xx.
fn policy() -> Policy {
    Policy {
        max_attempts: MAX_ATTEMPTS,
        retry_statuses: &[429, 502, 503, 504],
        on_429: OnThrottle::Retry,
        status_wait: DEFAULT_WAIT,
        connect_wait: DEFAULT_WAIT / 2,
        max_requests: None,
        body_cap: http::API_BODY_CAP,
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The service answered with an error status and (usually) ARM's error envelope.
    Status {
        /// HTTP status.
        status: u16,
        /// `error.code` (`ResourceGroupNotFound`, `AuthorizationFailed`, ...), or the reason phrase.
        code: String,
        /// `error.message`, one line.
        message: String,
        /// `Retry-After`, when the service gave one.
        retry_after: Option<Duration>,
    },
    /// The operation did not finish before its deadline.
    Timeout {
        /// The deadline that passed.
        after: Duration,
        /// True when a long-running operation was still running.
        running: bool,
    },
    /// No connection, or it broke.
    Unreachable(String),
    /// A response that does not parse.
    Invalid(String),
    /// Not sent: the shared request budget (`cloud502 audit`) is spent.
    Spent(String),
    /// An answer this client does not take (a body over the cap, a redirect, a URL on another
    /// host): the message, and the fix.
    Refused {
        /// What was refused, one line.
        message: String,
        /// How to fix it.
        hint: &'static str,
    },
}

/// The fix for a redirect or a poll URL on another host.
const ORIGIN_HINT: &str = "the token is sent only to --arm-endpoint / --logs-endpoint: for a \
sovereign cloud or a proxy, pass its URL there";

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status {
                status,
                code,
                message,
                retry_after,
            } => {
                write!(f, "HTTP {status} {code}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if let Some(r) = retry_after {
                    write!(f, " (retry after {} s)", r.as_secs())?;
                }
                Ok(())
            }
            ApiError::Timeout {
                after,
                running: true,
            } => write!(
                f,
                "the long-running operation did not finish within {} s",
                after.as_secs()
            ),
            ApiError::Timeout { after, .. } => {
                write!(f, "no answer within {} s", after.as_secs())
            }
            ApiError::Unreachable(e) => write!(f, "cannot reach the endpoint: {e}"),
            ApiError::Invalid(e) => write!(f, "unexpected response: {e}"),
            ApiError::Spent(e) => f.write_str(e),
            ApiError::Refused { message, .. } => f.write_str(message),
        }
    }
}

impl ApiError {
    /// The HTTP status, if the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// ARM's error code, if any.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Status { code, .. } => code,
            _ => "",
        }
    }
}

/// One HTTP client for ARM and Log Analytics, over the shared plumbing
/// ([`cloud502_collect::http`]): retries, the audit's request budget, the body cap, masking, and
/// the endpoint rule (the token goes only to the origin of the configured endpoint a call starts
/// on; a poll URL elsewhere is refused).
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    /// The configured endpoints' origins (ARM, Log Analytics): the only ones a call may start on.
    origins: Vec<url::Origin>,
    /// Bound on each operation (a request with its retries, or a whole long-running operation).
    pub timeout: Duration,
    /// Actions called.
    pub calls: CallLog,
}

impl Api {
    /// A client whose operations are bounded by `timeout`, calling only `endpoints` (ARM's and
    /// Log Analytics').
    pub fn new(timeout: Duration, calls: CallLog, endpoints: &[&Url]) -> Result<Self, String> {
        let client = Client::new(policy(), timeout, calls.clone())?;
        Ok(Api {
            client,
            origins: endpoints.iter().map(|u| u.origin()).collect(),
            timeout,
            calls,
        })
    }

    /// Share a request budget with other runs (`cloud502 audit`).
    pub fn set_budget(&mut self, budget: Option<std::sync::Arc<cloud502_collect::RequestBudget>>) {
        self.client.shared_budget = budget;
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        action: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(action);
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let r = self
            .send(Method::GET, url, &origin, token, None, deadline)
            .await?;
        parse(&r.body)
    }

    /// POST a JSON body and parse the JSON answer (Log Analytics queries).
    pub async fn post<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        body: &serde_json::Value,
        action: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(action);
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let body = body.to_string();
        let r = self
            .send(Method::POST, url, &origin, token, Some(&body), deadline)
            .await?;
        parse(&r.body)
    }

    /// POST that starts a long-running operation, and poll it to the end (KB 2.1, [Z5]): a 200
    /// is the result; a 201/202 is polled at `Azure-AsyncOperation` (status) and `Location`
    /// (result), waiting `Retry-After` between polls, until `timeout` has passed. Poll URLs
    /// come from the answer: one on another origin than `url`'s is not followed (the token
    /// would go there), and the call fails saying so.
    pub async fn post_lro<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        action: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(action);
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let first = self
            .send(Method::POST, url, &origin, token, Some("{}"), deadline)
            .await?;
        if first.status == StatusCode::OK {
            return parse(&first.body);
        }
        let location = first.header_url("location");
        let async_op = first.header_url("azure-asyncoperation");
        // Refuse a foreign poll URL before waiting for it.
        for u in [&location, &async_op].into_iter().flatten() {
            http::check_origin(u, &origin).map_err(|e| lro_error(e, self.timeout))?;
        }
        let mut wait = first.retry_after().unwrap_or(DEFAULT_WAIT);
        let expired = || ApiError::Timeout {
            after: self.timeout,
            running: true,
        };
        // Poll the operation status first when there is one.
        if let Some(op) = async_op {
            loop {
                if !http::sleep_within(wait, deadline).await {
                    return Err(expired());
                }
                let r = self
                    .send(Method::GET, &op, &origin, token, None, deadline)
                    .await
                    .map_err(|e| lro_timeout(e, self.timeout))?;
                let state: OperationStatus = parse(&r.body)?;
                match state.status.as_str() {
                    "Succeeded" => break,
                    "Failed" | "Canceled" | "Cancelled" => {
                        let (code, message) = state
                            .error
                            .map(|e| (e.code, e.message))
                            .unwrap_or_else(|| (state.status.clone(), String::new()));
                        return Err(ApiError::Status {
                            status: 200,
                            code,
                            message: one_line(&message),
                            retry_after: None,
                        });
                    }
                    _ => wait = r.retry_after().unwrap_or(DEFAULT_WAIT),
                }
            }
            return match location {
                Some(loc) => {
                    let r = self
                        .send(Method::GET, &loc, &origin, token, None, deadline)
                        .await
                        .map_err(|e| lro_timeout(e, self.timeout))?;
                    parse(&r.body)
                }
                None => Err(ApiError::Invalid(
                    "the operation succeeded but gave no Location to read the result from"
                        .to_owned(),
                )),
            };
        }
        let Some(loc) = location else {
            return Err(ApiError::Invalid(format!(
                "HTTP {} without Location or Azure-AsyncOperation to poll",
                first.status.as_u16()
            )));
        };
        loop {
            if !http::sleep_within(wait, deadline).await {
                return Err(expired());
            }
            let r = self
                .send(Method::GET, &loc, &origin, token, None, deadline)
                .await
                .map_err(|e| lro_timeout(e, self.timeout))?;
            if r.status == StatusCode::OK {
                return parse(&r.body);
            }
            wait = r.retry_after().unwrap_or(DEFAULT_WAIT);
        }
    }

    /// The origin of `url` when it is one of the configured endpoints'.
    fn origin_of(&self, url: &str) -> Result<url::Origin, ApiError> {
        let origin = Url::parse(url)
            .map(|u| u.origin())
            .map_err(|e| ApiError::Invalid(format!("not a URL ({e})")))?;
        if self.origins.contains(&origin) {
            Ok(origin)
        } else {
            Err(from_http(
                HttpError::ForeignOrigin {
                    origin: origin.ascii_serialization(),
                    allowed: self
                        .origins
                        .iter()
                        .map(url::Origin::ascii_serialization)
                        .collect::<Vec<_>>()
                        .join(" or "),
                },
                self.timeout,
            ))
        }
    }

    /// Send one request through the shared plumbing; a 2xx answer, or the error classified.
    async fn send(
        &self,
        method: Method,
        url: &str,
        origin: &url::Origin,
        token: &Token,
        body: Option<&str>,
        deadline: Instant,
    ) -> Result<Response, ApiError> {
        let authorization = token.bearer();
        let req = Request {
            method: &method,
            url,
            authorization: &authorization,
            origin,
            body,
        };
        self.client
            .send(req, deadline)
            .await
            .map_err(|e| from_http(e, self.timeout))
    }
}

/// The shared layer's failure as ARM's: an error status is read from ARM's envelope.
fn from_http(e: HttpError, timeout: Duration) -> ApiError {
    match e {
        HttpError::Status(r) => {
            let (code, message) = envelope(&r.body).unwrap_or_else(|| {
                (
                    r.status.canonical_reason().unwrap_or("").to_owned(),
                    String::new(),
                )
            });
            ApiError::Status {
                status: r.status.as_u16(),
                code,
                message,
                retry_after: r.retry_after(),
            }
        }
        HttpError::Timeout => ApiError::Timeout {
            after: timeout,
            running: false,
        },
        HttpError::Unreachable(m) => ApiError::Unreachable(m),
        HttpError::Spent(m) => ApiError::Spent(m),
        // A body over the cap, a redirect or a foreign URL: an answer this client does not take.
        e @ HttpError::TooLarge { .. } => ApiError::Refused {
            message: e.to_string(),
            hint: "check that --arm-endpoint / --logs-endpoint name Azure's endpoints: ARM \
answers are far smaller",
        },
        e @ (HttpError::ForeignOrigin { .. } | HttpError::Redirect { .. }) => ApiError::Refused {
            message: e.to_string(),
            hint: ORIGIN_HINT,
        },
        e @ (HttpError::Throttled { .. } | HttpError::Budget { .. }) => {
            ApiError::Invalid(e.to_string())
        }
    }
}

/// A poll URL refused by the endpoint rule, as the operation's error.
fn lro_error(e: HttpError, timeout: Duration) -> ApiError {
    match e {
        HttpError::ForeignOrigin { origin, allowed } => ApiError::Refused {
            message: format!(
                "the long-running operation's poll URL is on another host ({origin}): not followed, the token is sent only to {allowed}"
            ),
            hint: ORIGIN_HINT,
        },
        other => from_http(other, timeout),
    }
}

/// A poll that ran out of time is a long-running operation that did not finish.
fn lro_timeout(e: ApiError, after: Duration) -> ApiError {
    match e {
        ApiError::Timeout { .. } => ApiError::Timeout {
            after,
            running: true,
        },
        other => other,
    }
}

/// ARM's (and Log Analytics') error envelope: `{"error":{"code":..,"message":..}}`.
fn envelope(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: ErrorBody,
    }
    let e: Envelope = serde_json::from_slice(body).ok()?;
    // Log Analytics nests the real reason (`SemanticError: Failed to resolve table ...`) in
    // `innererror`; name the innermost one too.
    let mut inner = e.error.innererror.as_deref();
    let mut deepest = None;
    while let Some(i) = inner {
        deepest = Some(i);
        inner = i.innererror.as_deref();
    }
    let message = match deepest {
        Some(d) if !d.message.is_empty() && d.message != e.error.message => {
            let codes: Vec<&str> =
                std::iter::successors(e.error.innererror.as_deref(), |i| i.innererror.as_deref())
                    .map(|i| i.code.as_str())
                    .filter(|c| !c.is_empty())
                    .collect();
            format!(
                "{} ({}: {})",
                one_line(&e.error.message),
                codes.join("/"),
                one_line(&d.message)
            )
        }
        _ => one_line(&e.error.message),
    };
    Some((e.error.code, message))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ErrorBody {
    code: String,
    message: String,
    innererror: Option<Box<ErrorBody>>,
}

#[derive(Debug, serde::Deserialize)]
struct OperationStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    error: Option<ErrorBody>,
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Invalid(format!("not the expected JSON ({e})")))
}

use cloud502_collect::remote::one_line;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_read_in_one_line() {
        let body = br#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'rg' could not be found.\nmore"}}"#;
        assert_eq!(
            envelope(body),
            Some((
                "ResourceGroupNotFound".into(),
                "Resource group 'rg' could not be found.".into()
            ))
        );
        assert_eq!(envelope(b"<html>"), None);
        let la = br#"{"error":{"message":"The request had some invalid properties","code":"BadArgumentError","innererror":{"code":"SemanticError","message":"A semantic error occurred.","innererror":{"code":"SEM0100","message":"Failed to resolve table expression named 'AzureDiagnostics'"}}}}"#;
        let (code, message) = envelope(la).unwrap_or_default();
        assert_eq!(code, "BadArgumentError");
        assert_eq!(
            message,
            "The request had some invalid properties (SemanticError/SEM0100: Failed to resolve table expression named 'AzureDiagnostics')"
        );
    }

    #[test]
    fn errors_read_well() {
        let e = ApiError::Status {
            status: 429,
            code: "TooManyRequests".into(),
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            e.to_string(),
            "HTTP 429 TooManyRequests: slow down (retry after 30 s)"
        );
        let t = ApiError::Timeout {
            after: Duration::from_secs(60),
            running: true,
        };
        assert!(t.to_string().contains("did not finish within 60 s"));
    }
}
