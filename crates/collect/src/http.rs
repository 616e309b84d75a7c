//! One HTTP plumbing for the API clients (Azure ARM and Log Analytics, Cloudflare API v4): the
//! send loop with retries that honour `Retry-After` within the operation's deadline, the request
//! budgets (a run's own cap and the one an audit shares), the call log, a cap on every response
//! body, secret masking of every string taken from a response, and the endpoint rule.
//!
//! The endpoint rule: a bearer token is sent only to the origin (scheme, host and port) of the
//! endpoint the caller configured. A URL taken from a response (a long-running operation's
//! `Location` or `Azure-AsyncOperation`, a redirect, a next-page link) on another origin is not
//! followed: the call fails with [`HttpError::ForeignOrigin`], naming that origin without its
//! path or query, and the provider reports a gap. Redirects are never followed for the same
//! reason: a 3xx is [`HttpError::Redirect`].
//!
//! Each provider keeps its own error classification (ARM's envelope, Cloudflare's v4 envelope):
//! this layer hands it the status, headers and (capped, masked) body of a non-2xx answer.

use crate::RequestBudget;
use cloud502_model::secret;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The largest API response body read: more is cut and the call fails with
/// [`HttpError::TooLarge`] (an endless body must become a gap, never fill memory).
pub const API_BODY_CAP: usize = 32 * 1024 * 1024;

/// Connect timeout of every request (bounded by the operation's deadline too).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client does on HTTP 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnThrottle {
    /// Retry after `Retry-After` when the deadline allows (ARM throttles per subscription and
    /// per minute, and says how long to wait).
    Retry,
    /// Never retry or sleep: the first 429 fails the call with [`HttpError::Throttled`] and every
    /// later call of the client fails at once (Cloudflare blocks every call of the user for 5
    /// minutes after a 429, so a retry only extends the block).
    StopRun,
}

/// How one client retries and what it may send.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts per request at most (the first included).
    pub max_attempts: u32,
    /// Statuses retried (a 429 only under [`OnThrottle::Retry`]).
    pub retry_statuses: &'static [u16],
    /// What a 429 does.
    pub on_429: OnThrottle,
    /// The wait before retry `n` after a retried status without `Retry-After`: `n` times this.
    pub status_wait: Duration,
    /// The wait before retry `n` after a connect error: `n` times this.
    pub connect_wait: Duration,
    /// The run's own cap on requests (every attempt counts); `None`: no cap of its own.
    pub max_requests: Option<u32>,
    /// The largest body read.
    pub body_cap: usize,
}

/// The calls made, by the permission or action they need, with counts (the docs list the least
/// privilege from these).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeMap<String, u32>>>);

impl CallLog {
    /// Count one call needing `action`.
    pub fn record(&self, action: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(action.to_owned()).or_default() += 1;
        }
    }

    /// Action → calls.
    pub fn snapshot(&self) -> BTreeMap<String, u32> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// An answer: status, headers, and the body (at most the policy's cap, every registered secret
/// masked when it is text).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers as received (read values through [`Response::header`], which masks).
    pub headers: HeaderMap,
    /// The body, masked.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value, masked; `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| secret::mask(v.trim()).into_owned())
    }

    /// A header holding an absolute http(s) URL, unmasked (it is only ever sent to, and the
    /// endpoint rule applies when it is).
    pub fn header_url(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| v.starts_with("http://") || v.starts_with("https://"))
            .map(str::to_owned)
    }

    /// The wait the server asked for: `retry-after-ms` / `x-ms-retry-after-ms` (ARM), else
    /// `Retry-After` in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

/// Why a call failed. Every string in it is masked.
#[derive(Debug, Clone)]
pub enum HttpError {
    /// A non-2xx answer (after the retries the policy allows).
    Status(Box<Response>),
    /// HTTP 429 under [`OnThrottle::StopRun`].
    Throttled {
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
        /// True when this call was not sent because an earlier one was throttled.
        earlier: bool,
    },
    /// Not sent: the client's own cap ([`Policy::max_requests`]) is spent.
    Budget {
        /// The cap.
        max: u32,
    },
    /// Not sent: the budget shared with other runs (`cloud502 audit`) is spent; the message.
    Spent(String),
    /// The deadline passed.
    Timeout,
    /// No connection, or it broke: the innermost cause and the URL without its query.
    Unreachable(String),
    /// The body was larger than the cap: read up to it, then cut.
    TooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// Not sent: the URL is not on the configured endpoint's origin.
    ForeignOrigin {
        /// The URL's origin (`scheme://host:port`), masked.
        origin: String,
        /// The origin the token is for.
        allowed: String,
    },
    /// A 3xx: not followed (the token goes only to the configured endpoint).
    Redirect {
        /// The status.
        status: u16,
        /// The `Location`'s origin, masked; empty when there was none.
        to: String,
    },
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Status(r) => write!(f, "HTTP {}", r.status.as_u16()),
            HttpError::Throttled { earlier: true, .. } => {
                f.write_str("not sent: an earlier call was rate limited (HTTP 429)")
            }
            HttpError::Throttled { .. } => f.write_str("rate limited (HTTP 429)"),
            HttpError::Budget { max } => {
                write!(
                    f,
                    "not sent: the run's budget of {max} API requests is spent"
                )
            }
            HttpError::Spent(m) | HttpError::Unreachable(m) => f.write_str(m),
            HttpError::Timeout => f.write_str("no answer before the deadline"),
            HttpError::TooLarge { cap } => {
                write!(f, "response body larger than {} MiB", cap / (1024 * 1024))
            }
            HttpError::ForeignOrigin { origin, allowed } => write!(
                f,
                "refused to follow a URL on another host ({origin}): the token is sent only to {allowed}"
            ),
            HttpError::Redirect { status, to } if to.is_empty() => {
                write!(f, "HTTP {status} redirect without a Location: not followed")
            }
            HttpError::Redirect { status, to } => write!(
                f,
                "HTTP {status} redirect to {to}: not followed (the token is sent only to the configured endpoint)"
            ),
        }
    }
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method.
    pub method: &'a Method,
    /// Absolute URL.
    pub url: &'a str,
    /// The `Authorization` value (`Bearer ...`).
    pub authorization: &'a str,
    /// The origin the token may go to: the configured endpoint's.
    pub origin: &'a url::Origin,
    /// A JSON body, serialized.
    pub body: Option<&'a str>,
}

/// What one client shares across its calls: requests sent and the 429 that stopped them.
#[derive(Debug, Default)]
struct State {
    used: AtomicU32,
    throttled: Mutex<Option<Option<Duration>>>,
}

/// An HTTP client for one API, following one [`Policy`].
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    policy: Policy,
    state: Arc<State>,
    /// Calls made.
    pub calls: CallLog,
    /// A request budget shared with other runs (`cloud502 audit`).
    pub shared_budget: Option<Arc<RequestBudget>>,
}

impl Client {
    /// A client whose connect timeout is at most `timeout`.
    pub fn new(policy: Policy, timeout: Duration, calls: CallLog) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            // Never follow a redirect: it could take the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloud502/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            policy,
            state: Arc::new(State::default()),
            calls,
            shared_budget: None,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Requests sent so far (attempts included).
    pub fn requests_sent(&self) -> u32 {
        let used = self.state.used.load(Ordering::Relaxed);
        match self.policy.max_requests {
            Some(max) => used.min(max),
            None => used,
        }
    }

    /// Take one request from the budgets, unless a 429 already stopped the client.
    pub fn admit(&self) -> Result<(), HttpError> {
        if let Ok(t) = self.state.throttled.lock()
            && let Some(retry_after) = *t
        {
            return Err(HttpError::Throttled {
                retry_after,
                earlier: true,
            });
        }
        let used = self.state.used.fetch_add(1, Ordering::Relaxed);
        if let Some(max) = self.policy.max_requests
            && used >= max
        {
            return Err(HttpError::Budget { max });
        }
        if let Some(shared) = &self.shared_budget
            && !shared.take()
        {
            // Not sent: give the request back to this client's own count.
            self.state.used.fetch_sub(1, Ordering::Relaxed);
            return Err(HttpError::Spent(shared.spent_message()));
        }
        Ok(())
    }

    /// Record a 429 that stops every later call ([`OnThrottle::StopRun`]).
    pub fn stop_after_429(&self, retry_after: Option<Duration>) {
        if let Ok(mut t) = self.state.throttled.lock() {
            *t = Some(retry_after);
        }
    }

    /// Send one request, retrying what the policy retries while `deadline` allows. `Ok` is a 2xx
    /// answer; anything else is an error.
    pub async fn send(&self, req: Request<'_>, deadline: Instant) -> Result<Response, HttpError> {
        let url = check_origin(req.url, req.origin)?;
        let mut authorization = HeaderValue::from_str(req.authorization).map_err(|_| {
            HttpError::Unreachable("the token holds characters no header may carry".to_owned())
        })?;
        authorization.set_sensitive(true);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(HttpError::Timeout);
            }
            self.admit()?;
            tracing::debug!(
                method = %req.method,
                url = %secret::mask(without_query(&url)),
                attempt,
                "API request"
            );
            let mut builder = self
                .http
                .request(req.method.clone(), url.clone())
                .header("authorization", authorization.clone())
                .header("accept", "application/json")
                .timeout(remaining);
            if let Some(b) = req.body {
                builder = builder
                    .header("content-type", "application/json")
                    .body(b.to_owned());
            }
            let cap = self.policy.body_cap;
            let result = tokio::time::timeout(remaining, async {
                let resp = builder.send().await.map_err(Failure::Transport)?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = read_capped(resp, cap).await?;
                Ok::<_, Failure>(Response {
                    status,
                    headers,
                    body,
                })
            })
            .await
            .unwrap_or(Err(Failure::Deadline));
            let resp = match result {
                Ok(r) => r,
                Err(Failure::Deadline) => return Err(HttpError::Timeout),
                Err(Failure::TooLarge) => return Err(HttpError::TooLarge { cap }),
                Err(Failure::Transport(e)) if e.is_timeout() => return Err(HttpError::Timeout),
                Err(Failure::Transport(e)) => {
                    if attempt < self.policy.max_attempts
                        && e.is_connect()
                        && sleep_within(self.policy.connect_wait * attempt, deadline).await
                    {
                        continue;
                    }
                    return Err(HttpError::Unreachable(transport_error(&e)));
                }
            };
            tracing::debug!(status = resp.status.as_u16(), "API answer");
            if resp.status.is_success() {
                return Ok(resp);
            }
            if resp.status.is_redirection() {
                let to = resp
                    .header_url("location")
                    .and_then(|l| Url::parse(&l).ok())
                    .map(|u| origin_text(&u))
                    .unwrap_or_default();
                return Err(HttpError::Redirect {
                    status: resp.status.as_u16(),
                    to,
                });
            }
            let after = resp.retry_after();
            if resp.status == StatusCode::TOO_MANY_REQUESTS
                && self.policy.on_429 == OnThrottle::StopRun
            {
                self.stop_after_429(after);
                return Err(HttpError::Throttled {
                    retry_after: after,
                    earlier: false,
                });
            }
            let retried = self.policy.retry_statuses.contains(&resp.status.as_u16());
            if retried
                && attempt < self.policy.max_attempts
                && sleep_within(after.unwrap_or(self.policy.status_wait * attempt), deadline).await
            {
                continue;
            }
            return Err(HttpError::Status(Box::new(resp)));
        }
    }
}

enum Failure {
    Transport(reqwest::Error),
    TooLarge,
    Deadline,
}

/// The body, read chunk by chunk and cut at `cap` (a declared length above it fails before any
/// read); text bodies come back with every registered secret masked.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, Failure> {
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Failure::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(mask_bytes(body))
}

/// `body` with every registered secret masked, when it is UTF-8 (API bodies are JSON).
fn mask_bytes(body: Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(&body) {
        Ok(text) => match secret::mask(text) {
            std::borrow::Cow::Owned(masked) => masked.into_bytes(),
            std::borrow::Cow::Borrowed(_) => body,
        },
        Err(_) => body,
    }
}

/// `raw` parsed, when it is on `allowed`'s origin; [`HttpError::ForeignOrigin`] otherwise.
pub fn check_origin(raw: &str, allowed: &url::Origin) -> Result<Url, HttpError> {
    let foreign = |origin: String| HttpError::ForeignOrigin {
        origin,
        allowed: allowed.ascii_serialization(),
    };
    let url = Url::parse(raw).map_err(|_| foreign("an unparsable URL".to_owned()))?;
    if &url.origin() == allowed && allowed.is_tuple() {
        Ok(url)
    } else {
        Err(foreign(origin_text(&url)))
    }
}

/// `scheme://host[:port]` of `url`, masked (a host can carry a secret too).
pub fn origin_text(url: &Url) -> String {
    let text = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}", url.scheme()),
        (Some(h), None) => format!("{}://{h}", url.scheme()),
        _ => format!("{}:", url.scheme()),
    };
    secret::for_terminal(&text)
}

fn without_query(url: &Url) -> &str {
    let s = url.as_str();
    s.split(['?', '#']).next().unwrap_or(s)
}

/// The deadline `timeout` from now; a timeout too large for the clock is a deadline decades away
/// instead of an overflow.
pub fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(now)
}

/// Sleep `wait` if that ends before `deadline`; false (no sleep) when it would not.
pub async fn sleep_within(wait: Duration, deadline: Instant) -> bool {
    // Compared as durations: `now + wait` overflows on a hostile `Retry-After: 18446744073709551615`.
    if wait >= deadline.saturating_duration_since(Instant::now()) {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// `retry-after-ms` / `x-ms-retry-after-ms` (ARM), else `Retry-After` in seconds.
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

/// A transport error in one line: its innermost cause and the URL without its query, masked.
fn transport_error(e: &reqwest::Error) -> String {
    let url = e
        .url()
        .map(|u| format!(" ({})", without_query(u)))
        .unwrap_or_default();
    secret::for_terminal(&format!("{}{url}", crate::remote::innermost_cause(e)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(max: Option<u32>) -> Policy {
        Policy {
            max_attempts: 3,
            retry_statuses: &[503],
            on_429: OnThrottle::StopRun,
            status_wait: Duration::from_millis(10),
            connect_wait: Duration::from_millis(10),
            max_requests: max,
            body_cap: 1024,
        }
    }

    #[test]
    fn the_origin_rule_compares_scheme_host_and_port() {
        let base = Url::parse("https://management.azure.com").unwrap().origin();
        assert!(check_origin("https://management.azure.com/x?y=1", &base).is_ok());
        assert!(check_origin("https://management.azure.com:443/x", &base).is_ok());
        for other in [
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
            "https://evil.example/x?token=1",
            "https://management.azure.com.evil.example/x",
            "not a url",
        ] {
            let e = check_origin(other, &base).unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("refused to follow"), "{text}");
            assert!(!text.contains("/x") && !text.contains("token=1"), "{text}");
        }
        let e = check_origin("http://127.0.0.2:9/op?sig=abc", &base).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused to follow a URL on another host (http://127.0.0.2:9): the token is sent only to https://management.azure.com"
        );
    }

    #[test]
    fn budgets_stop_requests_and_a_429_stops_every_later_call() {
        let c = Client::new(policy(Some(2)), Duration::from_secs(1), CallLog::default()).unwrap();
        assert!(c.admit().is_ok());
        assert!(c.admit().is_ok());
        assert!(matches!(c.admit(), Err(HttpError::Budget { max: 2 })));
        assert_eq!(c.requests_sent(), 2);
        let c = Client::new(policy(None), Duration::from_secs(1), CallLog::default()).unwrap();
        c.stop_after_429(Some(Duration::from_secs(60)));
        assert!(matches!(
            c.admit(),
            Err(HttpError::Throttled {
                retry_after: Some(d),
                earlier: true
            }) if d == Duration::from_secs(60)
        ));
    }

    #[test]
    fn a_shared_budget_gives_the_request_back_to_the_run() {
        let mut c =
            Client::new(policy(Some(5)), Duration::from_secs(1), CallLog::default()).unwrap();
        c.shared_budget = Some(RequestBudget::new(1));
        assert!(c.admit().is_ok());
        assert!(matches!(c.admit(), Err(HttpError::Spent(_))));
        assert_eq!(c.requests_sent(), 1);
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("17"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(17)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_not_slept_and_does_not_overflow() {
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(!sleep_within(Duration::from_secs(u64::MAX), deadline).await);
        assert!(!sleep_within(Duration::from_secs(6), deadline).await);
        assert!(sleep_within(Duration::from_millis(1), deadline).await);
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("18446744073709551615"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn text_bodies_are_masked() {
        secret::register("http-body-sentinel-42");
        let body = br#"{"error":{"message":"bad token http-body-sentinel-42"}}"#.to_vec();
        let masked = String::from_utf8(mask_bytes(body)).unwrap();
        assert_eq!(masked, r#"{"error":{"message":"bad token <redacted>"}}"#);
        assert_eq!(mask_bytes(vec![0xff, 0xfe]), vec![0xff, 0xfe]);
    }

    /// A loopback server that answers every connection with `head` then `body` forever.
    fn endless_server(head: &'static str) -> u16 {
        use std::io::{BufRead, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    // Read the request head first: an answer before it is a protocol error.
                    let mut r = std::io::BufReader::new(s.try_clone().unwrap());
                    let mut line = String::new();
                    while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = s.write_all(head.as_bytes());
                    let chunk = vec![b'a'; 64 * 1024];
                    while s.write_all(&chunk).is_ok() {}
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn an_endless_body_is_cut_at_the_cap() {
        let port = endless_server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
        let c = Client::new(policy(None), Duration::from_secs(5), CallLog::default()).unwrap();
        let url = format!("http://127.0.0.1:{port}/x");
        let origin = Url::parse(&url).unwrap().origin();
        let r = c
            .send(
                Request {
                    method: &Method::GET,
                    url: &url,
                    authorization: "Bearer x",
                    origin: &origin,
                    body: None,
                },
                Instant::now() + Duration::from_secs(10),
            )
            .await;
        assert!(matches!(r, Err(HttpError::TooLarge { cap: 1024 })), "{r:?}");
    }

    #[tokio::test]
    async fn a_foreign_url_is_never_sent() {
        // Nothing listens on port 9 of 127.0.0.2; a send would be Unreachable, not refused.
        let c = Client::new(policy(None), Duration::from_secs(1), CallLog::default()).unwrap();
        let origin = Url::parse("http://127.0.0.1:1").unwrap().origin();
        let r = c
            .send(
                Request {
                    method: &Method::GET,
                    url: "http://127.0.0.2:9/op",
                    authorization: "Bearer x",
                    origin: &origin,
                    body: None,
                },
                Instant::now() + Duration::from_secs(1),
            )
            .await;
        assert!(matches!(r, Err(HttpError::ForeignOrigin { .. })), "{r:?}");
        assert_eq!(c.requests_sent(), 0);
    }
}
