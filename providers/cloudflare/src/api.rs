//! The API v4 client (KB 3.2): reqwest with a connect timeout and a deadline on every call, the
//! `{success, errors, messages, result, result_info}` envelope with page-based pagination, GraphQL,
//! and a request budget.
//!
//! Cloudflare counts 1200 requests per 5 minutes per user, across every tool using the account's
//! tokens, and **blocks every call for 5 minutes after a 429** (KB 3.2, [C15]). So this client
//! - caps the requests of one run (`--max-requests`; each attempt counts),
//! - never retries a 429 and never sleeps for it: the first 429 stops all later calls of the run,
//!   which fail at once with the retry time Cloudflare gave, and the report says when to retry,
//! - retries only transient failures (connect errors, 500/502/503/504) within the call's deadline.
//!
//! Every request is a GET, except the GraphQL query, which is a read-only POST.
//!
//! GraphQL has its own quota (300 queries per 5 minutes, KB 9.3) apart from the REST limit, so its
//! query goes through a client of its own: a 429 from GraphQL stops GraphQL only, never the REST
//! calls that follow, and a REST 429 does not stop the GraphQL query. The two split the run's
//! `--max-requests` ([`GRAPHQL_BUDGET`] for GraphQL), so the run never sends more.

use crate::config::Token;
use cloud502_collect::http::{self, Client, HttpError, OnThrottle, Policy, Request};
use cloud502_model::{Gap, GapKind};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

pub use cloud502_collect::http::{CallLog, retry_after};

/// How many times one request is sent at most (transient failures only).
const MAX_ATTEMPTS: u32 = 3;
/// Page size asked for on list endpoints.
pub const PER_PAGE: u32 = 100;
/// Pages read at most from one list.
const MAX_PAGES: u32 = 20;

/// Requests of the run's budget the GraphQL client may send (one query and its retries);
/// a budget under 8 gives it one.
pub const GRAPHQL_BUDGET: u32 = MAX_ATTEMPTS;

/// The GraphQL client's share of a run budget of `max_requests`.
fn graphql_share(max_requests: u32) -> u32 {
    if max_requests >= 8 {
        GRAPHQL_BUDGET
    } else {
        u32::from(max_requests >= 2)
    }
}

/// Cloudflare's policy (KB 3.2): transient 5xx and connect errors are retried; a 429 is never
/// retried or slept on and stops every later call; `max_requests` caps the run.
fn policy(max_requests: u32) -> Policy {
    Policy {
        max_attempts: MAX_ATTEMPTS,
        retry_statuses: &[500, 502, 503, 504],
        on_429: OnThrottle::StopRun,
        status_wait: Duration::from_secs(1),
        connect_wait: Duration::from_millis(500),
        max_requests: Some(max_requests),
        body_cap: http::API_BODY_CAP,
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The API answered with an error status or `success: false`.
    Status {
        /// HTTP status.
        status: u16,
        /// The first error's `code` (e.g. 9109, 10000, 7003), 0 when there was none.
        code: i64,
        /// The errors' messages, one line.
        message: String,
    },
    /// HTTP 429. Cloudflare then blocks every call for 5 minutes.
    Throttled {
        /// `retry-after`, when given.
        retry_after: Option<Duration>,
        /// True when this call was not sent because an earlier one was throttled.
        earlier: bool,
    },
    /// The run's request budget is spent.
    Budget {
        /// The budget.
        max: u32,
    },
    /// Not sent: the request budget shared with other runs (`cloud502 audit`) is spent.
    Spent(String),
    /// No answer before the deadline.
    Timeout {
        /// The deadline.
        after: Duration,
    },
    /// No connection, or it broke.
    Unreachable(String),
    /// A response that does not parse.
    Invalid(String),
    /// GraphQL answered with `errors`.
    GraphQl {
        /// The messages, one line.
        message: String,
        /// `extensions.code` of the first error (`authz`, `budget`, ...), when given.
        code: Option<String>,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status {
                status,
                code,
                message,
            } => {
                write!(f, "HTTP {status}")?;
                if *code != 0 {
                    write!(f, " (error {code})")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            ApiError::Throttled {
                retry_after,
                earlier,
            } => {
                if *earlier {
                    f.write_str("not sent: an earlier call was rate limited (HTTP 429)")?;
                } else {
                    f.write_str("rate limited by Cloudflare (HTTP 429)")?;
                }
                match retry_after {
                    Some(r) => write!(f, "; retry after {} s", r.as_secs()),
                    None => f.write_str("; retry after 5 minutes"),
                }
            }
            ApiError::Budget { max } => {
                write!(
                    f,
                    "not sent: the run's budget of {max} API requests is spent"
                )
            }
            ApiError::Spent(e) => f.write_str(e),
            ApiError::Timeout { after } => write!(f, "no answer within {} s", after.as_secs()),
            ApiError::Unreachable(e) => write!(f, "cannot reach the API: {e}"),
            ApiError::Invalid(e) => write!(f, "unexpected response: {e}"),
            ApiError::GraphQl { message, code } => match code {
                Some(c) => write!(f, "GraphQL error ({c}): {message}"),
                None => write!(f, "GraphQL error: {message}"),
            },
        }
    }
}

impl ApiError {
    /// The HTTP status, when the API answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Throttled { earlier: false, .. } => Some(429),
            _ => None,
        }
    }

    /// Whether the token was rejected or lacks a permission.
    pub fn is_auth(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 401 | 403),
            ApiError::GraphQl { code, message } => {
                code.as_deref() == Some("authz")
                    || message.to_ascii_lowercase().contains("not authorized")
            }
            _ => false,
        }
    }
}

/// The v4 envelope.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: Option<bool>,
    // `"errors": null` in some answers (cloudflare-go's Page Rules fixtures).
    #[serde(default, deserialize_with = "crate::resources::null_default")]
    errors: Vec<EnvelopeError>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnvelopeError {
    code: i64,
    message: String,
}

/// Pagination facts of a list.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct ResultInfo {
    /// This page.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Items on this page.
    pub count: u32,
    /// Items in all.
    pub total_count: u32,
    /// Pages in all.
    pub total_pages: u32,
}

/// One API v4 client, shared by the calls of one run, over the shared plumbing
/// ([`cloud502_collect::http`]): retries, budgets, the body cap, masking, and the endpoint rule
/// (every request goes to the configured API base's origin, nowhere else).
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    /// GraphQL's own client: its quota and its 429 are apart from REST's.
    graphql_client: Client,
    /// The run's budget (`--max-requests`), split between the two clients.
    max_requests: u32,
    base: String,
    origin: url::Origin,
    token: Token,
    /// Bound on each call with its retries.
    pub timeout: Duration,
    /// Permissions used.
    pub calls: CallLog,
    /// Lists and tables cut at a limit: each becomes a gap, never silence.
    cuts: std::sync::Arc<std::sync::Mutex<Vec<Gap>>>,
}

impl Api {
    /// A client for `base` (no trailing slash) sending at most `max_requests` requests.
    pub fn new(
        base: &str,
        token: Token,
        timeout: Duration,
        max_requests: u32,
        calls: CallLog,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_owned();
        let origin = url::Url::parse(&base)
            .map_err(|e| format!("the API base {base:?} is not a URL ({e})"))?
            .origin();
        let share = graphql_share(max_requests);
        let client = Client::new(policy(max_requests - share), timeout, calls.clone())?;
        let graphql_client = Client::new(policy(share), timeout, calls.clone())?;
        Ok(Api {
            client,
            graphql_client,
            max_requests,
            base,
            origin,
            token,
            timeout,
            calls,
            cuts: Default::default(),
        })
    }

    /// Record that a read stopped at a limit: the report says so as a gap.
    pub fn cut(&self, gap: Gap) {
        if let Ok(mut cuts) = self.cuts.lock() {
            cuts.push(gap);
        }
    }

    /// The reads cut at a limit so far (taken: each is reported once).
    pub fn take_cuts(&self) -> Vec<Gap> {
        self.cuts
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    /// Share a request budget with other runs (`cloud502 audit`).
    pub fn set_budget(&mut self, budget: Option<std::sync::Arc<cloud502_collect::RequestBudget>>) {
        self.client.shared_budget = budget.clone();
        self.graphql_client.shared_budget = budget;
    }

    /// Requests sent so far, REST and GraphQL.
    pub fn requests_sent(&self) -> u32 {
        self.client.requests_sent() + self.graphql_client.requests_sent()
    }

    /// GET one resource (`path` starts with `/`); `permission` names the token permission it needs.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        permission: &str,
    ) -> Result<T, ApiError> {
        self.calls.record(permission);
        let body = self.send(Method::GET, path, None).await?;
        let env: Envelope<T> = parse(&body)?;
        if env.success == Some(false) {
            return Err(envelope_error(200, &env.errors));
        }
        env.result
            .ok_or_else(|| ApiError::Invalid("the envelope has no result".to_owned()))
    }

    /// GET every page of a list (`page` / `per_page`, up to 20 pages).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        permission: &str,
    ) -> Result<Vec<T>, ApiError> {
        self.calls.record(permission);
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let url = format!("{path}{sep}page={page}&per_page={PER_PAGE}");
            let body = self.send(Method::GET, &url, None).await?;
            let env: Envelope<Vec<T>> = parse(&body)?;
            if env.success == Some(false) {
                return Err(envelope_error(200, &env.errors));
            }
            let items = env.result.unwrap_or_default();
            let got = items.len() as u32;
            out.extend(items);
            let info = env.result_info.unwrap_or_default();
            // Lists may omit `total_pages` (KB 9.3): then `total_count`, else a full page, says
            // whether another page follows.
            let more = if info.total_pages > 0 {
                info.total_pages > page
            } else if info.total_count > 0 {
                (out.len() as u64) < u64::from(info.total_count)
            } else {
                let per_page = if info.per_page > 0 {
                    info.per_page
                } else {
                    PER_PAGE
                };
                got > 0 && got >= per_page
            };
            if !more || got == 0 {
                return Ok(out);
            }
            if page >= MAX_PAGES {
                let what = path.split('?').next().unwrap_or(path);
                self.cut(Gap {
                    scope: format!("cloudflare:{}", what.trim_start_matches('/')),
                    kind: GapKind::Truncated,
                    message: format!(
                        "the list was cut at {MAX_PAGES} pages of {PER_PAGE}: {} of {} records read",
                        out.len(),
                        (info.total_count as usize).max(out.len())
                    ),
                    hint: Some(
                        "narrow the run with --host, or read the rest in the dashboard".to_owned(),
                    ),
                });
                return Ok(out);
            }
            page += 1;
        }
    }

    /// POST a GraphQL query; returns `data`.
    pub async fn graphql(
        &self,
        query: &str,
        variables: serde_json::Value,
        permission: &str,
    ) -> Result<serde_json::Value, ApiError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(default)]
            data: Option<serde_json::Value>,
            #[serde(default)]
            errors: Option<Vec<GraphQlError>>,
        }
        #[derive(Deserialize)]
        struct GraphQlError {
            #[serde(default)]
            message: String,
            #[serde(default)]
            extensions: Option<serde_json::Value>,
        }
        self.calls.record(permission);
        let body = serde_json::json!({ "query": query, "variables": variables });
        let bytes = match self
            .send_with(&self.graphql_client, Method::POST, "/graphql", Some(&body))
            .await
        {
            // GraphQL can answer its errors with HTTP 400 (`{"data":null,"errors":[..]}`): still
            // GraphQL's message, with its hint, not a bare status.
            Err(ApiError::Status {
                status: 400,
                message,
                ..
            }) => {
                return Err(ApiError::GraphQl {
                    message,
                    code: None,
                });
            }
            r => r?,
        };
        let r: Response = parse(&bytes)?;
        // Partial data with errors is still an error here: the split would be wrong.
        let errors = r.errors.unwrap_or_default();
        if !errors.is_empty() {
            let code = errors.iter().find_map(|e| {
                e.extensions
                    .as_ref()?
                    .get("code")?
                    .as_str()
                    .map(str::to_owned)
            });
            let message = errors
                .iter()
                .map(|e| one_line(&e.message))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ApiError::GraphQl { message, code });
        }
        r.data
            .filter(|d| !d.is_null())
            .ok_or_else(|| ApiError::Invalid("GraphQL answered without data".to_owned()))
    }

    /// Send one REST request through the shared plumbing. Returns a 2xx body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_with(&self.client, method, path, body).await
    }

    /// Send one request through `client`. Returns a 2xx body.
    async fn send_with(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let deadline = http::deadline_after(self.timeout);
        let url = format!("{}{path}", self.base);
        let authorization = self.token.bearer();
        let body = body.map(serde_json::Value::to_string);
        let req = Request {
            method: &method,
            url: &url,
            authorization: &authorization,
            origin: &self.origin,
            body: body.as_deref(),
        };
        match client.send(req, deadline).await {
            Ok(r) => Ok(r.body),
            // Each client spends its share; the user set (and can raise) the run's whole budget.
            Err(HttpError::Budget { .. }) => Err(ApiError::Budget {
                max: self.max_requests,
            }),
            Err(e) => Err(from_http(e, self.timeout)),
        }
    }
}

/// The shared layer's failure as Cloudflare's: an error status is read from the v4 envelope.
fn from_http(e: HttpError, timeout: Duration) -> ApiError {
    match e {
        HttpError::Status(r) => {
            let errors = serde_json::from_slice::<Envelope<serde_json::Value>>(&r.body)
                .map(|e| e.errors)
                .unwrap_or_default();
            let mut err = envelope_error(r.status.as_u16(), &errors);
            if let ApiError::Status { message, .. } = &mut err
                && message.is_empty()
            {
                *message = r.status.canonical_reason().unwrap_or("").to_owned();
            }
            err
        }
        HttpError::Throttled {
            retry_after,
            earlier,
        } => ApiError::Throttled {
            retry_after,
            earlier,
        },
        HttpError::Budget { max } => ApiError::Budget { max },
        HttpError::Spent(m) => ApiError::Spent(m),
        HttpError::Timeout => ApiError::Timeout { after: timeout },
        HttpError::Unreachable(m) => ApiError::Unreachable(m),
        // A body over the cap, a redirect or a URL off the API base: not an answer we take.
        e @ (HttpError::TooLarge { .. }
        | HttpError::ForeignOrigin { .. }
        | HttpError::Redirect { .. }) => ApiError::Invalid(e.to_string()),
    }
}

fn envelope_error(status: u16, errors: &[EnvelopeError]) -> ApiError {
    ApiError::Status {
        status,
        code: errors.first().map_or(0, |e| e.code),
        message: errors
            .iter()
            .map(|e| one_line(&e.message))
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Invalid(format!("not the expected JSON ({e})")))
}

use cloud502_collect::remote::one_line;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_errors_read_in_one_line() {
        let body = br#"{"success":false,"errors":[{"code":9109,"message":"Invalid access token"}],"messages":[],"result":null}"#;
        let env: Envelope<serde_json::Value> = serde_json::from_slice(body).unwrap();
        let e = envelope_error(403, &env.errors);
        assert_eq!(e.to_string(), "HTTP 403 (error 9109): Invalid access token");
        assert!(e.is_auth());
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let e = ApiError::Throttled {
            retry_after: Some(Duration::from_secs(300)),
            earlier: false,
        };
        assert_eq!(
            e.to_string(),
            "rate limited by Cloudflare (HTTP 429); retry after 300 s"
        );
        assert_eq!(e.status(), Some(429));
        let later = ApiError::Throttled {
            retry_after: None,
            earlier: true,
        };
        assert!(later.to_string().starts_with("not sent"));
        assert_eq!(later.status(), None);
    }

    #[test]
    fn a_429_is_never_retried_and_stops_the_run() {
        let p = policy(10);
        assert_eq!(p.on_429, OnThrottle::StopRun);
        assert!(!p.retry_statuses.contains(&429));
        assert_eq!(p.max_requests, Some(10));
        let e = from_http(
            HttpError::Throttled {
                retry_after: Some(Duration::from_secs(60)),
                earlier: true,
            },
            Duration::from_secs(1),
        );
        assert_eq!(
            e,
            ApiError::Throttled {
                retry_after: Some(Duration::from_secs(60)),
                earlier: true
            }
        );
    }
}
