//! The probe itself: DNS, TCP connect, TLS, one HTTP/1.1 `GET`, the first bytes of the body.
//! Every phase is bounded by the probe's single deadline.

use crate::config::ProbeRequest;
use crate::error::Result;
use crate::{fingerprint, text, tls};
use bytes::Bytes;
use cloud502_model::secret;
use cloud502_model::{
    Header, HttpResponse, Phase, Probe, ProbeError, ProbeErrorKind, ProbeScheme, ProbeTimings,
};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout_at;

/// Largest response header section accepted (hyper's read buffer); larger is malformed.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Body bytes read at most (enough for any error page); the rest is not fetched.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Body bytes kept in the report (error responses only).
const EXCERPT_BYTES: usize = 1024;
/// After the header arrives, the body gets at most this long: a body that never ends must not
/// hold the probe until its deadline.
const BODY_GRACE: Duration = Duration::from_secs(2);
/// Response headers kept.
const MAX_HEADERS_KEPT: usize = 100;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Probe one URL. `Err` only for configuration problems found late (an unreadable `--cacert`);
/// every network failure is recorded in the returned [`Probe`]'s `error`.
pub async fn probe(req: &ProbeRequest, id: &str) -> Result<Probe> {
    let tls = match req.scheme {
        ProbeScheme::Https => Some(tls::client_config(req.insecure, &req.ca_files)?),
        _ => None,
    };
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + req.timeout;
    let mut probe = Probe {
        id: id.to_owned(),
        url: req.display_url(),
        scheme: req.scheme,
        host: req.host.clone(),
        port: req.port,
        resolved: Vec::new(),
        connected: None,
        resolve_override: false,
        timings: ProbeTimings::default(),
        http: None,
        tls: None,
        fingerprint: None,
        error: None,
    };
    if let Err(e) = run(req, tls, deadline, &mut probe).await {
        tracing::debug!(phase = e.phase.as_str(), error = %e.message, "probe stopped");
        probe.error = Some(e);
    }
    probe.timings.total_ms = ms(started.elapsed());
    Ok(probe)
}

fn fail(phase: Phase, kind: ProbeErrorKind, message: impl Into<String>) -> ProbeError {
    ProbeError {
        phase,
        kind,
        message: message.into(),
    }
}

fn timed_out(phase: Phase, timeout: Duration) -> ProbeError {
    fail(
        phase,
        ProbeErrorKind::Timeout,
        format!("no answer within the {}s deadline", timeout.as_secs_f64()),
    )
}

async fn run(
    req: &ProbeRequest,
    tls: Option<(
        std::sync::Arc<rustls::ClientConfig>,
        std::sync::Arc<std::sync::Mutex<tls::Seen>>,
    )>,
    deadline: tokio::time::Instant,
    probe: &mut Probe,
) -> std::result::Result<(), ProbeError> {
    if let Some(socket) = &req.unix_socket {
        let t = Instant::now();
        let stream = match timeout_at(deadline, tokio::net::UnixStream::connect(socket)).await {
            Err(_) => return Err(timed_out(Phase::Connect, req.timeout)),
            Ok(Err(e)) => {
                return Err(fail(
                    Phase::Connect,
                    io_kind(&e),
                    format!(
                        "connect to unix:{} failed: {}",
                        socket.display(),
                        text::io_error(&e)
                    ),
                ));
            }
            Ok(Ok(s)) => s,
        };
        probe.timings.connect_ms = Some(ms(t.elapsed()));
        probe.connected = Some(format!("unix:{}", socket.display()));
        if req.scheme == ProbeScheme::Tcp {
            return Ok(());
        }
        return exchange(req, Box::new(stream), deadline, probe).await;
    }
    let addrs = resolve(req, deadline, probe).await?;

    let t = Instant::now();
    let (stream, addr) = connect(&addrs, deadline, req.timeout).await?;
    probe.timings.connect_ms = Some(ms(t.elapsed()));
    probe.connected = Some(addr.to_string());
    let _ = stream.set_nodelay(true);
    if req.scheme == ProbeScheme::Tcp {
        return Ok(());
    }

    let io: Box<dyn Io> = match tls {
        None => Box::new(stream),
        Some((config, seen)) => {
            let t = Instant::now();
            let name = ServerName::try_from(req.host.clone()).map_err(|e| {
                fail(
                    Phase::Tls,
                    ProbeErrorKind::TlsHandshake,
                    format!("invalid TLS name: {e}"),
                )
            })?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let result = timeout_at(deadline, connector.connect(name, stream)).await;
            if let Ok(seen) = seen.lock() {
                if let Some(leaf) = &seen.leaf {
                    probe.tls = tls::facts(
                        leaf,
                        &req.host,
                        seen.error.as_ref(),
                        time::OffsetDateTime::now_utc(),
                    );
                }
            }
            let stream = match result {
                Err(_) => return Err(timed_out(Phase::Tls, req.timeout)),
                Ok(Err(e)) => return Err(classify_tls(&e)),
                Ok(Ok(s)) => s,
            };
            probe.timings.tls_ms = Some(ms(t.elapsed()));
            let (_, session) = stream.get_ref();
            if let Some(facts) = probe.tls.as_mut() {
                facts.protocol = session.protocol_version().map(tls::protocol_name);
                facts.cipher = session
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()));
            }
            Box::new(stream)
        }
    };

    exchange(req, io, deadline, probe).await
}

async fn resolve(
    req: &ProbeRequest,
    deadline: tokio::time::Instant,
    probe: &mut Probe,
) -> std::result::Result<Vec<SocketAddr>, ProbeError> {
    if let Some(addr) = req.resolve_override() {
        probe.resolve_override = true;
        probe.resolved = vec![addr.to_string()];
        return Ok(vec![SocketAddr::new(addr, req.port)]);
    }
    if let Ok(ip) = req.host.parse::<std::net::IpAddr>() {
        probe.resolved = vec![ip.to_string()];
        return Ok(vec![SocketAddr::new(ip, req.port)]);
    }
    let t = Instant::now();
    let result = timeout_at(deadline, lookup(req.host.clone(), req.port)).await;
    probe.timings.dns_ms = Some(ms(t.elapsed()));
    let addrs: Vec<SocketAddr> = match result {
        Err(_) => {
            return Err(fail(
                Phase::Dns,
                ProbeErrorKind::Timeout,
                format!(
                    "the DNS resolver gave no answer for {} within the {}s deadline (check \
                     the nameservers in /etc/resolv.conf)",
                    req.host,
                    req.timeout.as_secs_f64()
                ),
            ));
        }
        Ok(Err(e)) => {
            return Err(fail(
                Phase::Dns,
                ProbeErrorKind::Dns,
                format!("cannot resolve {}: {}", req.host, text::io_error(&e)),
            ));
        }
        Ok(Ok(addrs)) => addrs,
    };
    if addrs.is_empty() {
        return Err(fail(
            Phase::Dns,
            ProbeErrorKind::Dns,
            format!("{} has no addresses", req.host),
        ));
    }
    probe.resolved = addrs.iter().map(|a| a.ip().to_string()).collect();
    Ok(addrs)
}

/// Resolve `host` with the system resolver on a thread of its own.
///
/// `getaddrinfo` cannot be cancelled: a DNS server that never answers holds the call for the
/// resolver's own timeouts and retries (10-90 s). `tokio::net::lookup_host` runs it on the
/// runtime's blocking pool, and a runtime waits for its blocking tasks when it shuts down, so the
/// process would linger long after its report was written. A detached thread is abandoned at the
/// deadline instead, and ends with the process.
async fn lookup(host: String, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("cloud502-dns".to_owned())
        .spawn(move || {
            let result = (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>);
            let _ = tx.send(result);
        })?;
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the resolver thread stopped")))
}

/// Try each address in turn, as curl does; the last failure is reported.
async fn connect(
    addrs: &[SocketAddr],
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> std::result::Result<(TcpStream, SocketAddr), ProbeError> {
    let mut last = fail(
        Phase::Connect,
        ProbeErrorKind::Io,
        "no address to connect to",
    );
    for addr in addrs {
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(timed_out(Phase::Connect, timeout)),
            Ok(Ok(stream)) => return Ok((stream, *addr)),
            Ok(Err(e)) => {
                last = fail(
                    Phase::Connect,
                    io_kind(&e),
                    format!("connect to {addr} failed: {}", text::io_error(&e)),
                );
            }
        }
    }
    Err(last)
}

fn io_kind(e: &std::io::Error) -> ProbeErrorKind {
    use std::io::ErrorKind as E;
    match e.kind() {
        E::ConnectionRefused => ProbeErrorKind::Refused,
        E::NotFound => ProbeErrorKind::NotFound,
        E::PermissionDenied => ProbeErrorKind::PermissionDenied,
        E::TimedOut => ProbeErrorKind::Timeout,
        E::ConnectionReset | E::ConnectionAborted | E::UnexpectedEof | E::BrokenPipe => {
            ProbeErrorKind::Closed
        }
        _ => ProbeErrorKind::Io,
    }
}

fn classify_tls(e: &std::io::Error) -> ProbeError {
    let kind = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => ProbeErrorKind::TlsCertificate,
        _ => ProbeErrorKind::TlsHandshake,
    };
    fail(
        Phase::Tls,
        kind,
        format!("TLS handshake failed: {}", text::io_error(e)),
    )
}

/// hyper's error with its causes, in one line (TLS errors in words).
fn hyper_message(e: &hyper::Error) -> String {
    text::chain(e)
}

fn classify_hyper(e: &hyper::Error) -> ProbeError {
    let message = hyper_message(e);
    let too_large = message.contains("too large");
    let kind = if e.is_parse() || e.is_parse_status() || too_large {
        ProbeErrorKind::MalformedResponse
    } else if e.is_timeout() {
        ProbeErrorKind::Timeout
    } else {
        let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
        match io.map(io_kind) {
            Some(ProbeErrorKind::Io) => ProbeErrorKind::Io,
            _ => ProbeErrorKind::Closed,
        }
    };
    let message = if too_large {
        format!(
            "{message} (response header larger than {} KiB)",
            MAX_HEAD_BYTES / 1024
        )
    } else {
        message
    };
    fail(Phase::ResponseHeader, kind, message)
}

async fn exchange(
    req: &ProbeRequest,
    io: Box<dyn Io>,
    deadline: tokio::time::Instant,
    probe: &mut Probe,
) -> std::result::Result<(), ProbeError> {
    let t = Instant::now();
    let handshake = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io));
    let (mut sender, conn) = match timeout_at(deadline, handshake).await {
        Err(_) => return Err(timed_out(Phase::ResponseHeader, req.timeout)),
        Ok(Err(e)) => return Err(classify_hyper(&e)),
        Ok(Ok(pair)) => pair,
    };
    let driver = tokio::spawn(conn);

    let url = &req.url;
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let mut builder = http::Request::get(if path.is_empty() { "/" } else { path })
        .header(http::header::HOST, authority)
        .header(
            http::header::USER_AGENT,
            concat!("cloud502/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::ACCEPT, "*/*")
        .header(http::header::CONNECTION, "close");
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in &req.headers {
            headers.insert(name.clone(), value.clone());
        }
    }
    let request = builder.body(Empty::<Bytes>::new()).map_err(|e| {
        fail(
            Phase::ResponseHeader,
            ProbeErrorKind::MalformedResponse,
            format!("cannot build the request: {e}"),
        )
    })?;

    let response = match timeout_at(deadline, sender.send_request(request)).await {
        Err(_) => {
            driver.abort();
            return Err(timed_out(Phase::ResponseHeader, req.timeout));
        }
        Ok(Err(e)) => {
            driver.abort();
            return Err(classify_hyper(&e));
        }
        Ok(Ok(r)) => r,
    };
    probe.timings.first_byte_ms = Some(ms(t.elapsed()));

    let status = response.status().as_u16();
    let version = format!("{:?}", response.version());
    let headers: Vec<Header> = response
        .headers()
        .iter()
        .take(MAX_HEADERS_KEPT)
        .map(|(name, value)| Header {
            name: name.as_str().to_owned(),
            value: if is_secret_header(name.as_str()) {
                secret::MASK.to_owned()
            } else {
                // A server may echo a request header or the query back (`-H` values and query
                // values are registered secrets).
                secret::mask(&String::from_utf8_lossy(value.as_bytes())).into_owned()
            },
        })
        .collect();

    // Headers are logged after masking: a server that echoes a credential must not put it in
    // a verbose log either.
    tracing::debug!(
        status,
        headers = headers.len(),
        "{}: response header received",
        probe.id
    );
    for h in &headers {
        tracing::trace!("{}: < {}: {}", probe.id, h.name, h.value);
    }

    let body_deadline = deadline.min(tokio::time::Instant::now() + BODY_GRACE);
    let mut body = response.into_body();
    let mut buf: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut complete = false;
    loop {
        match timeout_at(body_deadline, body.frame()).await {
            Err(_) | Ok(Some(Err(_))) => break,
            Ok(None) => {
                complete = true;
                break;
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    total += data.len() as u64;
                    let room = MAX_BODY_BYTES.saturating_sub(buf.len());
                    buf.extend_from_slice(&data[..data.len().min(room)]);
                    if buf.len() >= MAX_BODY_BYTES {
                        break;
                    }
                }
            }
        }
    }
    driver.abort();

    probe.fingerprint = Some(fingerprint::fingerprint(status, &headers, &buf));
    // Only error pages are evidence; a successful body is application data and may hold secrets.
    let excerpt = if status >= 400 {
        &buf[..buf.len().min(EXCERPT_BYTES)]
    } else {
        &[][..]
    };
    probe.http = Some(HttpResponse {
        status,
        reason: http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_owned),
        version,
        headers,
        body_excerpt: secret::mask(&String::from_utf8_lossy(excerpt)).into_owned(),
        body_bytes: total,
        body_complete: complete,
    });
    Ok(())
}

/// Response headers whose values must never reach a report: they carry session cookies,
/// credentials or tokens whatever their value (names come lower-case from `http`).
pub(crate) fn is_secret_header(name: &str) -> bool {
    matches!(
        name,
        "set-cookie"
            | "set-cookie2"
            | "cookie"
            | "authorization"
            | "proxy-authorization"
            | "x-api-key"
            | "api-key"
            | "x-auth-token"
            | "x-access-token"
            | "x-csrf-token"
            | "x-xsrf-token"
            | "x-amz-security-token"
            | "x-goog-api-key"
            | "ocp-apim-subscription-key"
    )
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}
