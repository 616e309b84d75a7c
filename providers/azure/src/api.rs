//! The ARM and Log Analytics client: reqwest with a connect timeout, an operation deadline on
//! every call, retries that honour `Retry-After` (429, 503) within that deadline, and our own
//! long-running-operation poller (KB 2.1: 202 + `Azure-AsyncOperation` / `Location` +
//! `Retry-After`, final state via `Location`). Every call is read-only; the only POSTs are
//! `backendhealth` (a read action in Azure RBAC) and Log Analytics queries.

use crate::auth::Token;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How many times one request is sent at most.
pub const MAX_ATTEMPTS: u32 = 4;
/// The wait before a retry or a poll when the server gives no `Retry-After`.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// Connect timeout of every request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The RBAC actions called, with counts (for the least-privilege role in docs/providers/azure.md).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeMap<String, u32>>>);

impl CallLog {
    fn record(&self, action: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(action.to_owned()).or_default() += 1;
        }
    }

    /// Action → calls.
    pub fn snapshot(&self) -> BTreeMap<String, u32> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
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
}

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

/// One HTTP client for ARM and Log Analytics.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// Bound on each operation (a request with its retries, or a whole long-running operation).
    pub timeout: Duration,
    /// Actions called.
    pub calls: CallLog,
    /// A request budget shared with other runs (`cloud502 audit`).
    pub budget: Option<std::sync::Arc<cloud502_engine::RequestBudget>>,
}

impl Api {
    /// A client whose operations are bounded by `timeout`.
    pub fn new(timeout: Duration, calls: CallLog) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("cloud502/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Api {
            http,
            timeout,
            calls,
            budget: None,
        })
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        action: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(action);
        let deadline = Instant::now() + self.timeout;
        let (_, _, body) = self.send(Method::GET, url, token, None, deadline).await?;
        parse(&body)
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
        let deadline = Instant::now() + self.timeout;
        let (_, _, body) = self
            .send(Method::POST, url, token, Some(body), deadline)
            .await?;
        parse(&body)
    }

    /// POST that starts a long-running operation, and poll it to the end (KB 2.1, [Z5]): a 200
    /// is the result; a 201/202 is polled at `Azure-AsyncOperation` (status) and `Location`
    /// (result), waiting `Retry-After` between polls, until `timeout` has passed.
    pub async fn post_lro<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        action: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(action);
        let deadline = Instant::now() + self.timeout;
        let body = serde_json::json!({});
        let (status, headers, first) = self
            .send(Method::POST, url, token, Some(&body), deadline)
            .await?;
        if status == StatusCode::OK {
            return parse(&first);
        }
        let location = header_url(&headers, "location");
        let async_op = header_url(&headers, "azure-asyncoperation");
        let mut wait = retry_after(&headers).unwrap_or(DEFAULT_WAIT);
        let expired = || ApiError::Timeout {
            after: self.timeout,
            running: true,
        };
        // Poll the operation status first when there is one.
        if let Some(op) = async_op {
            loop {
                sleep_within(wait, deadline).await.map_err(|()| expired())?;
                let (_, headers, body) = self
                    .send(Method::GET, &op, token, None, deadline)
                    .await
                    .map_err(|e| lro_timeout(e, self.timeout))?;
                let state: OperationStatus = parse(&body)?;
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
                    _ => wait = retry_after(&headers).unwrap_or(DEFAULT_WAIT),
                }
            }
            return match location {
                Some(loc) => {
                    let (_, _, body) = self
                        .send(Method::GET, &loc, token, None, deadline)
                        .await
                        .map_err(|e| lro_timeout(e, self.timeout))?;
                    parse(&body)
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
                status.as_u16()
            )));
        };
        loop {
            sleep_within(wait, deadline).await.map_err(|()| expired())?;
            let (status, headers, body) = self
                .send(Method::GET, &loc, token, None, deadline)
                .await
                .map_err(|e| lro_timeout(e, self.timeout))?;
            if status == StatusCode::OK {
                return parse(&body);
            }
            wait = retry_after(&headers).unwrap_or(DEFAULT_WAIT);
        }
    }

    /// Send one request, retrying 429/503 (honouring `Retry-After`) and broken connections while
    /// the deadline allows. Returns a 2xx response; anything else is an error.
    async fn send(
        &self,
        method: Method,
        url: &str,
        token: &Token,
        body: Option<&serde_json::Value>,
        deadline: Instant,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::Timeout {
                    after: self.timeout,
                    running: false,
                });
            }
            if let Some(budget) = &self.budget
                && !budget.take()
            {
                return Err(ApiError::Spent(budget.spent_message()));
            }
            let mut req = self
                .http
                .request(method.clone(), url)
                .header("authorization", token.bearer())
                .header("accept", "application/json")
                .timeout(remaining);
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            let result = async {
                let resp = req.send().await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let bytes = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, bytes.to_vec()))
            }
            .await;
            let (status, headers, bytes) = match result {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    return Err(ApiError::Timeout {
                        after: self.timeout,
                        running: false,
                    });
                }
                Err(e) => {
                    let msg = transport_error(&e);
                    if attempt < MAX_ATTEMPTS && e.is_connect() {
                        let wait = DEFAULT_WAIT / 2 * attempt;
                        if sleep_within(wait, deadline).await.is_ok() {
                            continue;
                        }
                    }
                    return Err(ApiError::Unreachable(msg));
                }
            };
            if status.is_success() {
                return Ok((status, headers, bytes));
            }
            let after = retry_after(&headers);
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE
                || status == StatusCode::BAD_GATEWAY
                || status == StatusCode::GATEWAY_TIMEOUT;
            if retryable && attempt < MAX_ATTEMPTS {
                let wait = after.unwrap_or(DEFAULT_WAIT * attempt);
                if sleep_within(wait, deadline).await.is_ok() {
                    continue;
                }
            }
            let (code, message) = envelope(&bytes).unwrap_or_else(|| {
                (
                    status.canonical_reason().unwrap_or("").to_owned(),
                    String::new(),
                )
            });
            return Err(ApiError::Status {
                status: status.as_u16(),
                code,
                message,
                retry_after: after,
            });
        }
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

/// Sleep `wait` if that ends before `deadline`; `Err` when it would not.
async fn sleep_within(wait: Duration, deadline: Instant) -> Result<(), ()> {
    if Instant::now() + wait >= deadline {
        return Err(());
    }
    tokio::time::sleep(wait).await;
    Ok(())
}

/// `Retry-After` in seconds (ARM sends seconds), or `retry-after-ms` / `x-ms-retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn header_url(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| v.starts_with("http://") || v.starts_with("https://"))
        .map(str::to_owned)
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

pub(crate) use cloud502_engine::remote::one_line;

/// A transport error in one line, with its innermost cause and the URL without its query.
fn transport_error(e: &reqwest::Error) -> String {
    let url = e
        .url()
        .map(|u| format!(" ({})", u.as_str().split('?').next().unwrap_or("")))
        .unwrap_or_default();
    format!("{}{url}", cloud502_engine::remote::innermost_cause(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "17".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(17)));
        h.insert(
            "retry-after-ms",
            "250".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

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
