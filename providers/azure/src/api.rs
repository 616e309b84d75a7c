//! The ARM and Log Analytics client: reqwest with a connect timeout, an operation deadline on
//! every call, retries that honour `Retry-After` (429, 503) within that deadline, and our own
//! long-running-operation poller (KB 2.1: 202 + `Azure-AsyncOperation` / `Location` +
//! `Retry-After`, final state via `Location`). Every call is read-only; the only POSTs are
//! `backendhealth` (a read action in Azure RBAC) and Log Analytics queries.

use crate::auth::Token;
use cloud502_collect::http::{self, Client, HttpError, OnThrottle, Policy, Request, Response};
use reqwest::{Method, StatusCode};
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
        /// How long it ran: the deadline, or less when the next poll was due after it.
        after: Duration,
        /// True when a long-running operation was still running.
        running: bool,
        /// `--timeout`.
        limit: Duration,
        /// The wait the server asked for before the next poll, when that passed the deadline.
        next_poll: Option<Duration>,
    },
    /// The long-running operation ended `Failed` or `Canceled` (its status answered 200).
    Failed {
        /// `Failed`, `Canceled`.
        state: String,
        /// `error.code`, if given.
        code: String,
        /// `error.message`, one line.
        message: String,
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
                limit,
                next_poll,
            } => {
                write!(
                    f,
                    "the long-running operation had not finished after {} s",
                    after.as_secs()
                )?;
                match next_poll {
                    Some(w) => write!(
                        f,
                        "; its next poll was due in {} s, past --timeout {} s",
                        w.as_secs(),
                        limit.as_secs()
                    ),
                    None => write!(f, " (--timeout {} s)", limit.as_secs()),
                }
            }
            ApiError::Timeout { limit, .. } => {
                write!(f, "no answer within {} s", limit.as_secs())
            }
            ApiError::Failed {
                state,
                code,
                message,
            } => {
                write!(f, "the long-running operation ended {state}")?;
                match (code.is_empty(), message.is_empty()) {
                    (true, true) => Ok(()),
                    (false, true) => write!(f, " ({code})"),
                    (true, false) => write!(f, ": {message}"),
                    (false, false) => write!(f, " ({code}): {message}"),
                }
            }
            ApiError::Unreachable(e) => write!(f, "cannot reach the endpoint: {e}"),
            ApiError::Invalid(e) => f.write_str(e),
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

    /// GET a resource: its body, unparsed (the caller reads it with the tolerant views).
    pub async fn get(&self, url: &str, token: &Token, action: &str) -> Result<Vec<u8>, ApiError> {
        self.calls.record(action);
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let r = self
            .send(Method::GET, url, &origin, token, None, deadline)
            .await?;
        Ok(r.body)
    }

    /// POST a JSON body (Log Analytics queries): the answer's body, unparsed.
    pub async fn post(
        &self,
        url: &str,
        token: &Token,
        body: &serde_json::Value,
        action: &str,
    ) -> Result<Vec<u8>, ApiError> {
        self.calls.record(action);
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let body = body.to_string();
        let r = self
            .send(Method::POST, url, &origin, token, Some(&body), deadline)
            .await?;
        Ok(r.body)
    }

    /// POST that starts a long-running operation, and poll it to the end as ARM documents it
    /// (KB 2.1, INVENTORY.md section 6): a 200 is the result; on a 201/202 the status is polled at
    /// `Azure-AsyncOperation` when given, and the result is read at `Location` (the operation's
    /// `final-state-via: location`), polled there while it answers 202 (it may, after the status
    /// said Succeeded). Each wait is the `Retry-After` asked for; a wait that would pass the
    /// deadline is not slept: the call stops and says how long it ran. Poll URLs come from the
    /// answer: one on another origin than `url`'s is not followed (the token would go there).
    /// The result's body, unparsed.
    pub async fn post_lro(
        &self,
        url: &str,
        token: &Token,
        action: &str,
    ) -> Result<Vec<u8>, ApiError> {
        self.calls.record(action);
        let start = Instant::now();
        let deadline = http::deadline_after(self.timeout);
        let origin = self.origin_of(url)?;
        let first = self
            .send(Method::POST, url, &origin, token, Some("{}"), deadline)
            .await?;
        if first.status == StatusCode::OK {
            return Ok(first.body);
        }
        let location = first.header_url("location");
        let async_op = first.header_url("azure-asyncoperation");
        // Refuse a foreign poll URL before waiting for it.
        for u in [&location, &async_op].into_iter().flatten() {
            http::check_origin(u, &origin).map_err(|e| lro_error(e, self.timeout))?;
        }
        if location.is_none() && async_op.is_none() {
            return Err(ApiError::Invalid(format!(
                "HTTP {} without Location or Azure-AsyncOperation to poll",
                first.status.as_u16()
            )));
        }
        let poll = Poll {
            start,
            deadline,
            limit: self.timeout,
        };
        let mut wait = first.retry_after();
        let mut status_body = None;
        if let Some(op) = &async_op {
            loop {
                poll.wait(wait).await?;
                let r = self
                    .send(Method::GET, op, &origin, token, None, deadline)
                    .await
                    .map_err(|e| poll.timed_out(e))?;
                let state: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| {
                    ApiError::Invalid(format!("the operation's status was not understood ({e})"))
                })?;
                let text = |v: &serde_json::Value| v.as_str().map(one_line).unwrap_or_default();
                let status = text(&state["status"]);
                match status.to_ascii_lowercase().as_str() {
                    "succeeded" => {
                        status_body = Some(r.body);
                        break;
                    }
                    "failed" | "canceled" | "cancelled" => {
                        return Err(ApiError::Failed {
                            code: text(&state["error"]["code"]),
                            message: text(&state["error"]["message"]),
                            state: status,
                        });
                    }
                    _ => wait = r.retry_after(),
                }
            }
            // Read the result at once: the operation is done.
            wait = Some(Duration::ZERO);
        }
        let Some(loc) = location else {
            // No Location: azure-core reads the result from the last status answer; ARM's
            // status body carries it under `properties` when it carries it at all.
            return status_body
                .as_deref()
                .and_then(operation_result)
                .ok_or_else(|| {
                    ApiError::Invalid(
                        "the operation succeeded but gave no Location to read the result from, and its status carries none"
                            .to_owned(),
                    )
                });
        };
        loop {
            poll.wait(wait).await?;
            let r = self
                .send(Method::GET, &loc, &origin, token, None, deadline)
                .await
                .map_err(|e| poll.timed_out(e))?;
            if r.status == StatusCode::OK || (r.status.is_success() && !r.body.is_empty()) {
                return Ok(r.body);
            }
            // Done, with nothing to read: polling on would only wait for the deadline.
            if r.status == StatusCode::NO_CONTENT {
                return Err(ApiError::Invalid(
                    "the operation finished without a result (HTTP 204 at Location)".to_owned(),
                ));
            }
            wait = r.retry_after();
        }
    }

    /// The origin of `url` when it is one of the configured endpoints'.
    fn origin_of(&self, url: &str) -> Result<url::Origin, ApiError> {
        let origin = Url::parse(url)
            .map(|u| u.origin())
            .map_err(|e| ApiError::Invalid(format!("{url:?} is not a URL ({e})")))?;
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
            limit: timeout,
            next_poll: None,
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

/// The clock of one long-running operation.
struct Poll {
    start: Instant,
    deadline: Instant,
    limit: Duration,
}

impl Poll {
    /// Wait before the next poll: `asked` (the server's `Retry-After`) or our own back-off. A
    /// wait that would pass the deadline is not slept: the operation stops now, saying so.
    async fn wait(&self, asked: Option<Duration>) -> Result<(), ApiError> {
        let wait = asked.unwrap_or(DEFAULT_WAIT);
        if wait.is_zero() {
            return Ok(());
        }
        if http::sleep_within(wait, self.deadline).await {
            return Ok(());
        }
        Err(ApiError::Timeout {
            after: self.start.elapsed(),
            running: true,
            limit: self.limit,
            next_poll: Some(wait),
        })
    }

    /// A poll that ran out of time is a long-running operation that did not finish.
    fn timed_out(&self, e: ApiError) -> ApiError {
        match e {
            ApiError::Timeout { .. } => ApiError::Timeout {
                after: self.start.elapsed(),
                running: true,
                limit: self.limit,
                next_poll: None,
            },
            other => other,
        }
    }
}

/// The result an operation's status answer carries (`properties`), serialized again.
fn operation_result(status: &[u8]) -> Option<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(status).ok()?;
    v.get("properties")
        .filter(|p| p.is_object())
        .map(|p| p.to_string().into_bytes())
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
            after: Duration::from_secs(31),
            running: true,
            limit: Duration::from_secs(60),
            next_poll: Some(Duration::from_secs(40)),
        };
        assert_eq!(
            t.to_string(),
            "the long-running operation had not finished after 31 s; its next poll was due in 40 s, past --timeout 60 s"
        );
        let f = ApiError::Failed {
            state: "Failed".into(),
            code: "ApplicationGatewayBackendHealthFailed".into(),
            message: "boom".into(),
        };
        assert_eq!(
            f.to_string(),
            "the long-running operation ended Failed (ApplicationGatewayBackendHealthFailed): boom"
        );
        assert!(!f.to_string().contains("HTTP 200"));
    }
}
