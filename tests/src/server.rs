//! Servers on loopback that behave like a given layer, or misbehave on purpose.

use crate::certs::Leaf;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// What a server does with each connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Read the request head, write these bytes verbatim, close.
    Respond(Vec<u8>),
    /// Read the request head, then stay silent with the connection open.
    Silent,
    /// Read the request head, then close without a byte.
    Close,
    /// Read the request head, then reset the connection (RST: SO_LINGER 0).
    Reset,
    /// Send a 200 header, then body chunks forever.
    EndlessBody,
    /// Read the client's first bytes whatever they are, answer with these bytes, then wait for
    /// the client to close (a plain HTTP server answering a TLS ClientHello with 400).
    Greet(Vec<u8>),
}

/// A running server; it lives until the test process ends.
#[derive(Debug)]
pub struct Server {
    /// The loopback port.
    pub port: u16,
}

impl Server {
    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// Start a plain-TCP server.
pub fn start(behaviour: Behaviour) -> Server {
    start_inner(behaviour, None)
}

/// Start a TLS server presenting `leaf`.
pub fn start_tls(behaviour: Behaviour, leaf: Leaf) -> Server {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (chain, key) = chain_and_key(leaf);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    start_inner(behaviour, Some(Arc::new(config)))
}

/// Like [`start_tls`], but the server requires a client certificate issued by `client_ca` (DER),
/// as an origin with Cloudflare's Authenticated Origin Pulls does: a client without one is
/// refused during or right after the handshake.
pub fn start_tls_client_auth(behaviour: Behaviour, leaf: Leaf, client_ca: Vec<u8>) -> Server {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(client_ca))
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let (chain, key) = chain_and_key(leaf);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    start_inner(behaviour, Some(Arc::new(config)))
}

/// A leaf's chain and key in rustls' types.
fn chain_and_key(
    leaf: Leaf,
) -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let chain = leaf
        .chain
        .into_iter()
        .map(rustls::pki_types::CertificateDer::from)
        .collect();
    (
        chain,
        rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key.into()),
    )
}

fn start_inner(behaviour: Behaviour, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let behaviour = behaviour.clone();
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                if matches!(behaviour, Behaviour::Reset) {
                    let mut stream = stream;
                    if read_head(&mut stream) {
                        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                    }
                    return;
                }
                match tls {
                    None => serve(stream, &behaviour),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(conn, stream), &behaviour);
                    }
                }
            });
        }
    });
    Server { port }
}

fn read_head(stream: &mut impl Read) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
        if buf.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

fn serve(mut stream: impl Read + Write, behaviour: &Behaviour) {
    if let Behaviour::Greet(bytes) = behaviour {
        // Like a plain-HTTP server spoken to in TLS: read what the client sent, answer, then
        // drain until the client hangs up. Closing with unread input would make the kernel send
        // a reset, and the client might see that instead of the answer.
        let mut buf = [0u8; 4096];
        if matches!(stream.read(&mut buf), Ok(0) | Err(_)) {
            return;
        }
        let _ = stream.write_all(bytes);
        let _ = stream.flush();
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        return;
    }
    if !read_head(&mut stream) {
        return;
    }
    match behaviour {
        Behaviour::Respond(bytes) => {
            let _ = stream.write_all(bytes);
            let _ = stream.flush();
        }
        Behaviour::Silent => std::thread::sleep(Duration::from_secs(60)),
        Behaviour::Close | Behaviour::Greet(_) | Behaviour::Reset => {}
        Behaviour::EndlessBody => {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
            while stream
                .write_all(chunk.as_bytes())
                .and_then(|()| stream.flush())
                .is_ok()
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// An HTTP/1.1 response with these headers and body (Content-Length added).
pub fn response(status_line: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status_line}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

/// A port whose accept queue is full, so new connection attempts hang (SYNs are dropped).
/// Keep the returned guard alive for as long as the port must stay unresponsive.
pub fn unresponsive_port() -> (u16, Vec<impl Sized>) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&addr.into()).unwrap();
    socket.listen(0).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut held: Vec<Box<dyn std::any::Any>> = vec![Box::new(socket)];
    // Fill the queue until a connection attempt itself hangs.
    for _ in 0..16 {
        match TcpStream::connect_timeout(&target, Duration::from_millis(300)) {
            Ok(s) => held.push(Box::new(s)),
            Err(_) => break,
        }
    }
    (port, held)
}

/// A server on a unix socket at `path` (HTTP, plain); the socket file lives as long as the process.
pub fn start_unix(path: &std::path::Path, behaviour: Behaviour) {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let behaviour = behaviour.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                serve(stream, &behaviour);
            });
        }
    });
}

/// `GET url` over HTTP/1.0 with a 10 s timeout; the status, or 0 when no response came.
pub fn get(url: &str) -> u16 {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = TcpStream::connect(authority) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut head = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut head);
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Origins for direct checks (Cloudflare's Flexible / Full / Full (strict) modes), built from
/// the servers above. The others: refusing is `crate::closed_port()`; accepting but never
/// answering is `start(Behaviour::Silent)` ([`silent`]); a port that drops SYNs is
/// [`unresponsive_port`] (on loopback a full accept queue makes Linux drop new SYNs, so the
/// connect times out as against a firewall that drops them; the kernel retries the SYN, so a
/// client sees a connect timeout, not a refusal).
pub mod origins {
    use super::{Behaviour, Server, response, start, start_tls};
    use crate::certs::{Leaf, TestCa, self_signed};

    /// `HTTP/1.1 200 OK` with body `ok`.
    pub fn ok_response() -> Vec<u8> {
        response(
            "200 OK",
            &[("Content-Type", "text/plain"), ("Server", "nginx")],
            "ok",
        )
    }

    /// Plain HTTP answering 200.
    pub fn http_ok() -> Server {
        start(Behaviour::Respond(ok_response()))
    }

    /// Plain HTTP answering `301 Moved Permanently` with `Location: https://HOST/` (an origin
    /// that forces HTTPS: a redirect loop behind Flexible mode).
    pub fn http_redirect_to_https(host: &str) -> Server {
        let location = format!("https://{host}/");
        start(Behaviour::Respond(response(
            "301 Moved Permanently",
            &[
                ("Location", location.as_str()),
                ("Content-Type", "text/html"),
                ("Server", "nginx"),
            ],
            "<html><body>301 Moved Permanently</body></html>",
        )))
    }

    /// HTTPS answering 200 with `leaf`.
    pub fn https_ok(leaf: Leaf) -> Server {
        start_tls(Behaviour::Respond(ok_response()), leaf)
    }

    /// HTTPS answering 200 with a certificate for `host` from `ca`, valid now.
    pub fn https_valid(ca: &TestCa, host: &str) -> Server {
        https_ok(ca.leaf(host, -1, 90))
    }

    /// HTTPS answering 200 with a self-signed certificate for `host`.
    pub fn https_self_signed(host: &str) -> Server {
        https_ok(self_signed(host))
    }

    /// HTTPS answering 200 with a certificate for `host` from `ca` that expired yesterday.
    pub fn https_expired(ca: &TestCa, host: &str) -> Server {
        https_ok(ca.leaf(host, -30, -1))
    }

    /// HTTPS answering 200 with a certificate from `ca` for another host (`other`).
    /// HTTPS with a valid certificate for `host` that requires a client certificate (from
    /// another CA, which this machine does not have): Authenticated Origin Pulls.
    pub fn https_client_auth(ca: &TestCa, host: &str) -> Server {
        let pull_ca = TestCa::new();
        let ca_der = pull_ca.leaf("origin-pull", -1, 90).chain.pop().unwrap();
        super::start_tls_client_auth(
            Behaviour::Respond(ok_response()),
            ca.leaf(host, -1, 90),
            ca_der,
        )
    }

    pub fn https_wrong_host(ca: &TestCa, other: &str) -> Server {
        https_ok(ca.leaf(other, -1, 90))
    }

    /// Accepts, reads the request, never answers (for 60 s).
    pub fn silent() -> Server {
        start(Behaviour::Silent)
    }
}

/// A server that quotes the request back, as a misbehaving application or a debug endpoint
/// does: for each request it answers `status_line` with the request's `Authorization`,
/// `X-Api-Key` and request target (path and query, as sent) in response headers
/// (`X-Echo-Authorization`, `X-Api-Key`, `X-Echo-Target`, `Set-Cookie`, `X-Auth-Token`) and in an
/// HTML error page that quotes them.
pub fn start_echo(status_line: &str) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let status_line = status_line.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let status_line = status_line.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Some(head) = read_head_text(&mut stream) else {
                    return;
                };
                let target = head
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or("")
                    .to_owned();
                let header = |name: &str| {
                    head.lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_owned())
                        .unwrap_or_default()
                };
                let auth = header("authorization");
                let key = header("x-api-key");
                let body = format!(
                    "<html><head><title>{status_line}</title></head><body><h1>{status_line}</h1>\
                     <p>request {target} with Authorization: {auth} and X-Api-Key: {key} \
                     failed</p></body></html>"
                );
                let cookie = format!("session={auth}; Path=/");
                let bytes = response(
                    &status_line,
                    &[
                        ("Content-Type", "text/html"),
                        ("X-Echo-Authorization", &auth),
                        ("X-Api-Key", &key),
                        ("X-Auth-Token", &key),
                        ("X-Echo-Target", &target),
                        ("Set-Cookie", &cookie),
                    ],
                    &body,
                );
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
            });
        }
    });
    Server { port }
}

/// The request head as text, or `None` when the client closed first or sent over 64 KiB.
fn read_head_text(stream: &mut impl Read) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}
