//! The built-in finding codes, and the seam for codes a library user registers at run time. A
//! code is stable: it is never renamed, only added.
//!
//! Each code has a documentation page at `docs/findings/<code>.md`, compiled in so that
//! `cloud502 explain <code>` works from a lone binary. A missing page is a compile error here
//! and a named failure in the `every_code_has_a_docs_page` test.

use crate::ProviderKind;
use crate::custom::{self, CodeText, NameError};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// A finding code that is not built in. Only [`FindingCode::register`] (and reading a report)
/// makes one, so every custom code is valid kebab-case and not a built-in name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomCode(&'static str);

/// What every finding code looks like: kebab-case, lower-case letters and digits.
pub const CODE_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// In the JSON report a code is a string of a documented pattern, not a closed list: adding a
/// code (a built-in one, or one a library user registers) is not a change of the report's
/// format. The built-in codes are listed by `cloud502 explain --list` and in docs/findings/.
impl JsonSchema for FindingCode {
    fn schema_name() -> Cow<'static, str> {
        "FindingCode".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::FindingCode").into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": CODE_PATTERN,
            "description": "A stable kebab-case identifier of a kind of finding. The built-in codes are listed by `cloud502 explain --list` and documented in docs/findings/<code>.md; new codes may appear without a schema change."
        })
    }
}

macro_rules! finding_codes {
    ($( $(#[$meta:meta])* $variant:ident = $code:literal : $summary:literal, )+) => {
        /// A stable kebab-case identifier of a kind of finding: a built-in one, or one a library
        /// user registered with [`FindingCode::register`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingCode {
            $( $(#[$meta])* $variant, )+
            /// A code registered at run time ([`FindingCode::register`]), or read from a report
            /// written by a build that had it.
            Custom(CustomCode),
        }

        impl FindingCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [FindingCode] = &[ $( FindingCode::$variant, )+ ];

            /// The kebab-case code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( FindingCode::$variant => $code, )+
                    FindingCode::Custom(c) => c.0,
                }
            }

            /// One line saying what the code means (empty for a custom code this process only
            /// read from a report).
            pub fn summary(self) -> &'static str {
                match self {
                    $( FindingCode::$variant => $summary, )+
                    FindingCode::Custom(c) => custom::code_text(c.0).map_or("", |t| t.summary),
                }
            }

            /// The code's documentation page (Markdown), from `docs/findings/<code>.md`, or the
            /// text a custom code was registered with.
            pub fn docs(self) -> &'static str {
                match self {
                    $( FindingCode::$variant => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/../../docs/findings/", $code, ".md"
                    )), )+
                    FindingCode::Custom(c) => custom::code_text(c.0).map_or("", |t| t.docs),
                }
            }
        }
    };
}

finding_codes! {
    /// nginx made the 502 itself: its upstream failed.
    Nginx502 = "nginx-502": "nginx generated the 502 because its upstream failed",
    /// The ALB made the 502: its target failed.
    Alb502 = "alb-502": "AWS ALB generated the 502 because a target failed",
    /// Azure Application Gateway made the 502: its backend failed.
    Appgw502 = "appgw-502": "Azure Application Gateway generated the 502 because a backend failed",
    /// Cloudflare's edge made the 502 (plain page, no origin response).
    CloudflareEdge502 = "cloudflare-edge-502": "Cloudflare's edge generated the 502",
    /// Cloudflare relayed a 502 that its origin returned (branded page).
    CloudflareOrigin502 = "cloudflare-origin-502": "Cloudflare relayed a 502 returned by the origin",
    /// A proxy relayed a 502 that a layer below it made.
    Relayed502 = "relayed-502": "the answering proxy relayed a 502 made by the layer below it",
    /// A 502 came back and nothing identified who made it.
    UnknownLayer502 = "unknown-layer-502": "a 502 came from a layer that could not be identified",
    /// A gateway timed out waiting for its upstream (504, not 502).
    GatewayTimeout504 = "gateway-timeout-504": "a gateway returned 504: its upstream did not answer in time",
    /// The probed URL answered another 5xx (500, 503, ...): an error, though not a 502.
    HttpServerError = "http-5xx-response": "the probed URL answered a 5xx server error other than 502 or 504 (500, 503, ...)",
    /// The probed URL answered a 4xx: the request was refused, so the probe did not test the path.
    HttpClientError = "http-4xx-response": "the probed URL answered a 4xx client error: the request, not the server, was refused",
    /// Cloudflare 520.
    Cloudflare520 = "cloudflare-520-unknown-response": "Cloudflare 520: the origin returned an empty, unknown or unexpected response",
    /// Cloudflare 521.
    Cloudflare521 = "cloudflare-521-origin-refused": "Cloudflare 521: the origin refused Cloudflare's connection",
    /// Cloudflare 522.
    Cloudflare522 = "cloudflare-522-origin-timeout": "Cloudflare 522: the connection to the origin timed out",
    /// Cloudflare 523.
    Cloudflare523 = "cloudflare-523-origin-unreachable": "Cloudflare 523: the origin is unreachable",
    /// Cloudflare 524.
    Cloudflare524 = "cloudflare-524-origin-slow": "Cloudflare 524: the origin accepted the connection but sent no response in time",
    /// Cloudflare 525.
    Cloudflare525 = "cloudflare-525-origin-tls-handshake": "Cloudflare 525: the TLS handshake with the origin failed",
    /// Cloudflare 526.
    Cloudflare526 = "cloudflare-526-origin-invalid-cert": "Cloudflare 526: the origin's certificate is invalid (Full strict mode)",
    /// Cloudflare 530.
    Cloudflare530 = "cloudflare-530-origin-unresolvable": "Cloudflare 530: Cloudflare could not resolve or reach the origin (see the 1xxx code)",
    /// Cloudflare: the zone's SSL mode does not match the origin's listeners (KB 3.4 #10).
    CloudflareSslModeMismatch = "cloudflare-ssl-mode-mismatch": "the zone's SSL/TLS mode does not match what the origin serves (Flexible without port 80, Flexible with an HTTPS redirect loop, Full without port 443)",
    /// Cloudflare: load-balancer pool origins fail their monitor (KB 3.4 #11).
    CloudflarePoolUnhealthy = "cloudflare-pool-unhealthy": "origins of a Cloudflare load-balancer pool fail their health monitor",
    /// Cloudflare: a standalone Health Check reports the origin unhealthy (KB 3.2).
    CloudflareHealthcheckUnhealthy = "cloudflare-healthcheck-unhealthy": "a Cloudflare Health Check reports its origin unhealthy",
    /// Cloudflare: a check from this machine fails where Cloudflare's own records show the origin reached (KB 9.3).
    CloudflareOriginCheckFromHere = "cloudflare-origin-check-from-here": "a direct check from this machine fails where Cloudflare's own records (analytics, pool health, Health Checks) show Cloudflare reaching the origin",
    /// Cloudflare Tunnel: cloudflared could not reach the service behind it (KB 9.3).
    CloudflareTunnel502 = "cloudflare-tunnel-502": "the host is served through a Cloudflare Tunnel and cloudflared could not reach the service behind it: its 502s",
    /// A Worker runs in front of the host: its 502s may come from the Worker or its subrequests (KB 9.3).
    CloudflareWorker502 = "cloudflare-worker-502": "a Workers route covers the host: its 502s may come from the Worker or its subrequests, not the origin directly",
    /// Cloudflare is not in the path for the host: DNS-only record, paused zone, or no record.
    CloudflareNotProxied = "cloudflare-not-proxied": "Cloudflare does not proxy the host (DNS-only record, paused zone or no record), so a 502 comes from the origin's own layers",
    /// The server certificate has expired.
    TlsCertExpired = "tls-cert-expired": "the server's TLS certificate has expired",
    /// The server certificate is not valid yet.
    TlsCertNotYetValid = "tls-cert-not-yet-valid": "the server's TLS certificate is not valid yet",
    /// The certificate does not cover the host name.
    TlsCertHostnameMismatch = "tls-cert-hostname-mismatch": "the server's TLS certificate does not cover the host name",
    /// The certificate chain does not lead to a trusted root.
    TlsCertUntrusted = "tls-cert-untrusted": "the server's TLS certificate is not signed by a trusted authority",
    /// The certificate expires soon.
    TlsCertExpiringSoon = "tls-cert-expiring-soon": "the server's TLS certificate expires within 14 days",
    /// The TLS handshake failed for a reason other than the certificate.
    TlsHandshakeFailed = "tls-handshake-failed": "the TLS handshake failed",
    /// The host name did not resolve.
    DnsResolutionFailed = "dns-resolution-failed": "the host name did not resolve",
    /// Nothing listens on the port (RST).
    ConnectionRefused = "connection-refused": "the connection was refused: nothing listens on that port",
    /// No answer to the connection attempt.
    ConnectTimeout = "connect-timeout": "the TCP connection attempt timed out",
    /// Connected, but no response header arrived in time.
    ResponseTimeout = "response-timeout": "the server accepted the request but sent no response in time",
    /// The server closed or reset the connection without answering.
    ConnectionClosed = "connection-closed": "the server closed or reset the connection without a response",
    /// The server answered with something that is not valid HTTP.
    MalformedResponse = "malformed-response": "the server's response is not valid HTTP",
    /// The network path to the host is broken (no route, network unreachable).
    NetworkUnreachable = "network-unreachable": "the host is unreachable: no route or network down",
    /// KB 4.7 #1: `connect() failed (111: Connection refused)`.
    NginxUpstreamRefused = "nginx-upstream-refused": "nginx's upstream refused the connection: nothing listens on the upstream port",
    /// KB 4.7 #2: a unix-socket upstream is missing, not permitted or its backlog is full.
    NginxUnixSocketFailed = "nginx-unix-socket-failed": "nginx could not connect to the upstream's unix socket: missing, not permitted or backlog full",
    /// KB 4.7 #3: no route to the upstream.
    NginxUpstreamUnreachable = "nginx-upstream-unreachable": "nginx has no network path to its upstream: no route to host or network unreachable",
    /// KB 4.7 #4: `(99: Cannot assign requested address)`.
    NginxEphemeralPortsExhausted = "nginx-ephemeral-ports-exhausted": "nginx ran out of local ports for connections to its upstream",
    /// ingress-nginx's `0.0.0.1` placeholder peer: the Service has no ready endpoints (KB 9.4).
    NginxUpstreamNoEndpoints = "nginx-upstream-no-endpoints": "ingress-nginx had no ready endpoint for the Service and connected to its 0.0.0.1 placeholder",
    /// `(99: Cannot assign requested address)` to an IPv6 upstream: no IPv6 address on the host (KB 9.4).
    NginxUpstreamIpv6Unavailable = "nginx-upstream-ipv6-unavailable": "nginx connects to its upstream over IPv6, which this host or container does not have",
    /// Access log: upstream attempts failed and nginx retried them; the clients did not get a 5xx.
    NginxRetriedFailures = "nginx-retried-failures": "an upstream server failed requests that nginx then retried on another one: the clients got their answer, the server is still failing",
    /// KB 4.7 #5: premature close or reset before the response header.
    NginxUpstreamClosed = "nginx-upstream-closed": "the upstream closed or reset the connection before sending a response header",
    /// KB 4.7 #6: the upstream closes idle keep-alive connections nginx still reuses.
    NginxKeepaliveRace = "nginx-keepalive-race": "the upstream closes idle keep-alive connections that nginx still reuses",
    /// KB 4.7 #7: `upstream sent too big header`.
    NginxHeaderTooBig = "nginx-header-too-big": "the upstream's response header does not fit in proxy_buffer_size",
    /// KB 4.7 #8: `upstream sent invalid header`.
    NginxInvalidHeader = "nginx-invalid-header": "the upstream sent an invalid response header",
    /// KB 4.7 #9: `no live upstreams`.
    NginxNoLiveUpstreams = "nginx-no-live-upstreams": "every server of the upstream group is marked down (max_fails)",
    /// KB 4.7 #10: TLS from nginx to the upstream failed.
    NginxUpstreamTlsFailed = "nginx-upstream-tls-failed": "the TLS handshake from nginx to its upstream failed",
    /// KB 4.7 #11: runtime DNS failure or no resolver.
    NginxUpstreamDnsFailed = "nginx-upstream-dns-failed": "nginx could not resolve its upstream's name when the request came",
    /// KB 4.7 #12: `host not found in upstream` at load.
    NginxUpstreamUnresolvableAtLoad = "nginx-upstream-unresolvable-at-load": "nginx could not resolve an upstream host at start or reload",
    /// KB 4.7 #13: timeouts give 504, not 502.
    NginxUpstreamTimeout = "nginx-upstream-timeout": "nginx timed out waiting for its upstream: clients got 504, not 502",
    /// KB 4.7 #14: 499.
    NginxClientClosed = "nginx-client-closed-499": "clients gave up before the upstream answered (499)",
    /// KB 0.4: the upstream itself answered 502 and nginx relayed it.
    NginxUpstreamReturned502 = "nginx-upstream-returned-502": "the upstream application answered 502 itself; nginx relayed it",
    /// An access log counted 5xx lines that no other finding explains (a `combined` log_format
    /// without upstream fields, or a combination of fields no rule knows).
    Logged5xx = "logged-5xx": "an access log counted 5xx answers that no other finding explains; who made them is not in its fields",
    /// Config: `keepalive` in an upstream used without HTTP/1.1 and an empty Connection header.
    NginxKeepaliveWithoutHttp11 = "nginx-keepalive-without-http11": "upstream keepalive is set but the route does not send HTTP/1.1 with an empty Connection header",
    /// Config: upstream keepalive_timeout is not shorter than the backend's idle timeout.
    NginxKeepaliveTimeoutTooLong = "nginx-keepalive-timeout-too-long": "nginx keeps idle upstream connections longer than the backend does",
    /// Config: a variable in proxy_pass with no resolver.
    NginxDynamicPassWithoutResolver = "nginx-dynamic-pass-without-resolver": "proxy_pass uses a variable but no resolver is configured",
    /// Config: max_fails/fail_timeout turn a blip into seconds of 502s and hide the first cause.
    NginxMaxFailsMasking = "nginx-max-fails-masking": "max_fails turns a short upstream failure into fail_timeout of 502s and hides its cause",
    /// Host: `nginx -t` fails.
    NginxConfigTestFailed = "nginx-config-test-failed": "nginx -t rejects the configuration: the next reload or restart will fail",
    /// Host: worker_connections above the open-files limit.
    NginxWorkerConnectionsOverLimit = "nginx-worker-connections-over-limit": "worker_connections exceeds the open-files limit of the nginx workers",
    /// Host: the systemd unit is not active.
    NginxServiceNotActive = "nginx-service-not-active": "the nginx systemd unit is not active",
    /// Host: the kernel's OOM killer killed a process on the nginx host (issue 19).
    NginxOomKilled = "nginx-oom-killed": "the kernel killed a process on the nginx host for lack of memory: an upstream it killed drops its requests",
    /// Host: memory, disk space or CPU is short on the nginx host (issue 19).
    NginxHostPressure = "nginx-host-pressure": "the nginx host is short of memory, disk space or CPU",
    /// Host: an upstream's listen queue on this host is full (issue 19).
    NginxListenBacklogFull = "nginx-listen-backlog-full": "an upstream's listen queue on this host is full: new connections from nginx wait or are dropped",
    /// Host: the application server's own request timeout is shorter than nginx's read timeout (issue 19).
    NginxAppTimeoutShorter = "nginx-app-timeout-shorter": "the upstream application server ends slow requests before nginx's read timeout: they get 502, not 504",
    /// Host: error.log says nginx ran out of connections or file descriptors (issue 19).
    NginxOutOfConnections = "nginx-out-of-connections": "nginx ran out of worker connections or file descriptors",
    /// ALB: connections to targets failed (KB 1.9 #1).
    AlbTargetConnectFailed = "alb-target-connect-failed": "the ALB could not connect to its target: nothing listening, wrong port, or the process is down",
    /// ALB: a security group blocks the target port (KB 1.9 #2).
    AlbSecurityGroupBlocks = "alb-security-group-blocks": "a security group blocks traffic between the ALB and its targets on the target port",
    /// ALB: the target's keep-alive is shorter than the idle timeout (KB 1.6, 1.9 #3).
    AlbKeepaliveRace = "alb-keepalive-race": "targets close idle keep-alive connections before the ALB idle timeout, and the ALB sends on them",
    /// ALB: reminder of the keep-alive rule when the logs cannot show the race (KB 1.6).
    AlbIdleTimeoutKeepalive = "alb-idle-timeout-keepalive": "the targets' keep-alive timeout must be longer than the ALB idle timeout",
    /// ALB: malformed response or invalid headers from the target (KB 1.9 #4).
    AlbTargetMalformedResponse = "alb-target-malformed-response": "the target closed the connection or sent a response the ALB could not parse",
    /// ALB: TLS negotiation with the target failed (KB 1.9 #5).
    AlbTargetTlsFailed = "alb-target-tls-failed": "the TLS handshake from the ALB to an HTTPS target failed",
    /// ALB: deregistration delay elapsed with requests in flight (KB 1.9 #6).
    AlbDeregistrationInFlight = "alb-deregistration-in-flight": "targets were deregistered or drained while requests were in flight",
    /// ALB: Lambda response over 1 MB (KB 1.9 #7).
    AlbLambdaResponseTooLarge = "alb-lambda-response-too-large": "the Lambda target's response exceeded the ALB's 1 MB limit",
    /// ALB: Lambda timeout or unhandled function error (KB 1.9 #8).
    AlbLambdaTimeout = "alb-lambda-timeout": "the Lambda target failed or timed out",
    /// ALB: the function raised an exception it did not handle (`LambdaUnhandled*`, KB 9.2).
    AlbLambdaUnhandled = "alb-lambda-unhandled": "the Lambda function raised an error it did not handle",
    /// ALB: Lambda response shape invalid (KB 1.9 #9).
    AlbLambdaInvalidResponse = "alb-lambda-invalid-response": "the Lambda target returned a response the ALB cannot use",
    /// ALB: another Lambda error_reason (KB 1.4).
    AlbLambdaError = "alb-lambda-error": "invoking the Lambda target failed (permissions, throttling, configuration)",
    /// ALB: an error_reason of an authenticate, WAF or weighted target group action (KB 1.4).
    AlbActionFailed = "alb-action-failed": "an authenticate, WAF or weighted-routing action of the ALB failed",
    /// ALB: the target answered 502 (KB 1.9 #10).
    AlbTargetReturned502 = "alb-target-returned-502": "the target itself returned the 502: look one layer down",
    /// ALB: fail-open (KB 1.2, 1.9 #11).
    AlbAllTargetsUnhealthy = "alb-all-targets-unhealthy": "every target is unhealthy, so the ALB fails open and sends traffic to broken targets",
    /// ALB: no registered targets (KB 1.2).
    AlbNoRegisteredTargets = "alb-no-registered-targets": "the target group has no target in service: clients get 503, not 502",
    /// ALB: unhealthy targets with their reason codes (KB 1.2).
    AlbTargetsUnhealthy = "alb-targets-unhealthy": "some targets fail their health checks",
    /// ALB: `Target.NotInUse`, or no load balancer uses the group (KB 9.2).
    AlbTargetGroupNotInUse = "alb-target-group-not-in-use": "no load balancer sends traffic to the target group, or not in its targets' zones",
    /// ALB: unused targets (KB 1.2).
    AlbTargetsUnused = "alb-targets-unused": "registered targets are not in use: stopped, in a disabled zone, or in an unused target group",
    /// ALB: HTTPCode_ELB_502_Count > 0 and nothing says how (KB 1.5).
    AlbMade502 = "alb-made-502": "the ALB made 502s according to its metrics, and no log or health signal says how",
    /// ALB: healthy targets while 502s are being served.
    AlbHealthCheckBlind = "alb-health-check-blind": "health checks pass while real traffic fails",
    /// AppGW: a backend pool with no address, so nothing can serve (KB 2.5 #1).
    AppgwEmptyBackendPool = "appgw-empty-backend-pool": "a backend pool of the Application Gateway has no member, so its requests get 502",
    /// AppGW: every member of a pool is Down (KB 2.5 #2).
    AppgwAllBackendsUnhealthy = "appgw-all-backends-unhealthy": "every backend of a pool fails its health probe, so the gateway has no live upstream and answers 502",
    /// AppGW: some members are Down.
    AppgwBackendsUnhealthy = "appgw-backends-unhealthy": "some backends fail their health probe",
    /// AppGW: the gateway cannot open a TCP connection to the backend (KB 2.5 #3).
    AppgwBackendUnreachable = "appgw-backend-unreachable": "the gateway cannot connect to the backend: nothing listening on the port, or an NSG, UDR or firewall in the way",
    /// AppGW: the backend's FQDN does not resolve (KB 2.5 #4).
    AppgwBackendDnsFailed = "appgw-backend-dns-failed": "the gateway cannot resolve the backend's FQDN (custom DNS, private zone or a typo)",
    /// AppGW: the default probe (Host 127.0.0.1, path /) fails (KB 2.5 #5).
    AppgwDefaultProbeFailing = "appgw-default-probe-failing": "the default health probe (http://127.0.0.1:<port>/) gets a status outside 200-399 from the backend",
    /// AppGW: the default probe asks a different host than real traffic.
    AppgwDefaultProbeHost = "appgw-default-probe-host": "the default health probe asks for Host 127.0.0.1, not the host real traffic uses, so health does not reflect what users get",
    /// AppGW: a custom probe's host, path, match or timeout does not fit the backend (KB 2.5 #6).
    AppgwProbeMisconfigured = "appgw-probe-misconfigured": "a custom health probe fails on its status match, body match or timeout",
    /// AppGW: the probe asks another Host than real requests carry, and backends answer it 4xx (KB 9.1).
    AppgwProbeHostMismatch = "appgw-probe-host-mismatch": "the health probe asks the backend for another Host than real requests carry, so a multi-site backend fails the probe (or passes it) for the wrong site",
    /// AppGW: 502s in a v1 access log, which has no error_info / serverStatus / serverRouted (KB 9.1).
    AppgwV1LogsCannotTell = "appgw-v1-logs-cannot-tell": "a v1 gateway logged 502s, and its access log has no field that says whether the gateway or the backend made them",
    /// AppGW: the backend's TLS certificate is not accepted (KB 2.5 #7).
    AppgwBackendCertificate = "appgw-backend-certificate": "the gateway does not accept the backend's TLS certificate (name, expiry, chain or trusted root)",
    /// AppGW: the backend did not answer within requestTimeout (KB 2.5 #8).
    AppgwRequestTimeout = "appgw-request-timeout": "the backend did not answer within the HTTP setting's requestTimeout (on v2 the client gets 504, not 502)",
    /// AppGW: the backend closed the connection (KB 2.5 #9).
    AppgwBackendClosedConnection = "appgw-backend-closed-connection": "the backend closed the connection before answering (ERRORINFO_UPSTREAM_CLOSED_CONNECTION)",
    /// AppGW: GatewayManager traffic on 65200-65535 is blocked, so health is Unknown (KB 2.5 #10).
    AppgwGatewayManagerBlocked = "appgw-gateway-manager-blocked": "the gateway subnet's NSG or route table blocks the platform's management traffic, so backend health is unknown",
    /// AppGW: the backend itself answered 502 (KB 2.5 #11).
    AppgwBackendReturned502 = "appgw-backend-returned-502": "the backend itself returned the 502: look one layer down",
    /// AppGW: the gateway is not running or its last change failed.
    AppgwNotRunning = "appgw-not-running": "the Application Gateway is stopped or its provisioning failed",
}

/// Code prefixes that belong to one provider; every other code is generic.
const PROVIDER_PREFIXES: [(&str, ProviderKind); 4] = [
    ("nginx-", ProviderKind::Nginx),
    ("alb-", ProviderKind::AwsAlb),
    ("appgw-", ProviderKind::AzureAppgw),
    ("cloudflare-", ProviderKind::Cloudflare),
];

impl FindingCode {
    /// The provider whose subjects this code is about, read from the code's prefix (`nginx-`,
    /// `alb-`, `appgw-`, `cloudflare-`); `None` for generic codes (relayed and unidentified 502s,
    /// 504s, connection and TLS failures) that a subject of any provider can have.
    pub fn provider(self) -> Option<ProviderKind> {
        let code = self.as_str();
        PROVIDER_PREFIXES
            .iter()
            .find(|(prefix, _)| code.starts_with(prefix))
            .map(|&(_, kind)| kind)
    }
}

impl FindingCode {
    /// Register a finding code of your own (a rule of an in-house provider), with the one-line
    /// summary `cloud502 explain --list` shows and the Markdown page `explain` prints. The code
    /// must be kebab-case and not a built-in one; registering the same code with the same text
    /// again returns the same code.
    ///
    /// ```
    /// use cloud502_model::FindingCode;
    /// let code = FindingCode::register("acme-pool-drained", "every member of an Acme pool is draining", "# acme-pool-drained\n").unwrap();
    /// assert_eq!(code.as_str(), "acme-pool-drained");
    /// assert_eq!("acme-pool-drained".parse::<FindingCode>(), Ok(code));
    /// assert!(FindingCode::register("nginx-502", "mine", "").is_err());
    /// assert!(FindingCode::register("Not Kebab", "", "").is_err());
    /// ```
    pub fn register(
        code: &'static str,
        summary: &'static str,
        docs: &'static str,
    ) -> Result<FindingCode, NameError> {
        if FindingCode::ALL.iter().any(|c| c.as_str() == code) {
            return Err(NameError::Taken(code.to_owned()));
        }
        custom::register_code(CodeText {
            code,
            summary,
            docs,
        })
        .map(|c| FindingCode::Custom(CustomCode(c)))
    }

    /// The registered custom codes (with their text), in registration order.
    pub fn registered() -> Vec<FindingCode> {
        custom::codes()
            .into_iter()
            .filter(|c| !c.summary.is_empty() || !c.docs.is_empty())
            .map(|c| FindingCode::Custom(CustomCode(c.code)))
            .collect()
    }

    /// A built-in code by name.
    fn builtin(s: &str) -> Option<FindingCode> {
        FindingCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl Serialize for FindingCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        custom::serialize(self.as_str(), s)
    }
}

/// A built-in code, a registered one, or (for a report written by a build that registered codes
/// this one does not know) a new custom code without text, so such a report still reads.
impl<'de> Deserialize<'de> for FindingCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = custom::string(d)?;
        if let Some(c) = FindingCode::builtin(&s) {
            return Ok(c);
        }
        custom::code_from_report(&s)
            .map(|c| FindingCode::Custom(CustomCode(c)))
            .map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingCode::builtin(s)
            .or_else(|| {
                custom::code_text(s)
                    .filter(|t| !t.summary.is_empty() || !t.docs.is_empty())
                    .map(|t| FindingCode::Custom(CustomCode(t.code)))
            })
            .ok_or_else(|| format!("unknown finding code `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = BTreeSet::new();
        for code in FindingCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !s.starts_with('-')
                    && !s.ends_with('-')
                    && !s.contains("--"),
                "{s} is not kebab-case"
            );
            assert_eq!(s.parse::<FindingCode>(), Ok(*code));
            // serde and as_str agree, so JSON and `explain` use the same spelling.
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
    }

    #[test]
    fn custom_codes_round_trip_and_unknown_ones_still_read() {
        let code = FindingCode::register("test-custom-code", "a test code", "# test-custom-code\n")
            .unwrap();
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            serde_json::json!("test-custom-code")
        );
        let back: FindingCode = serde_json::from_str("\"test-custom-code\"").unwrap();
        assert_eq!(back, code);
        assert_eq!(back.summary(), "a test code");
        assert!(FindingCode::registered().contains(&code));
        // Same text again: the same code; other text: refused.
        assert_eq!(
            FindingCode::register("test-custom-code", "a test code", "# test-custom-code\n"),
            Ok(code)
        );
        assert!(FindingCode::register("test-custom-code", "other", "").is_err());
        // A report from a build with codes this one lacks still reads; the code has no text.
        let other: FindingCode = serde_json::from_str("\"test-from-elsewhere\"").unwrap();
        assert_eq!(other.as_str(), "test-from-elsewhere");
        assert_eq!(other.summary(), "");
        assert!("test-from-elsewhere".parse::<FindingCode>().is_err());
        // Not kebab-case: refused, in JSON too.
        assert!(serde_json::from_str::<FindingCode>("\"Bad Code\"").is_err());
        assert!(FindingCode::register("nginx-502", "x", "").is_err());
        let kind: ProviderKind = serde_json::from_str("\"test-edge\"").unwrap();
        assert_eq!(kind.as_str(), "test-edge");
        assert_eq!(
            serde_json::from_str::<ProviderKind>("\"nginx\"").unwrap(),
            ProviderKind::Nginx
        );
        assert!(serde_json::from_str::<ProviderKind>("\"Nope!\"").is_err());
    }

    #[test]
    fn provider_follows_the_code_prefix() {
        for code in FindingCode::ALL {
            let s = code.as_str();
            let expected = match s.split('-').next() {
                Some("nginx") => Some(ProviderKind::Nginx),
                Some("alb") => Some(ProviderKind::AwsAlb),
                Some("appgw") => Some(ProviderKind::AzureAppgw),
                Some("cloudflare") => Some(ProviderKind::Cloudflare),
                _ => None,
            };
            assert_eq!(code.provider(), expected, "{s}");
        }
        assert_eq!(FindingCode::Relayed502.provider(), None);
        assert_eq!(FindingCode::UnknownLayer502.provider(), None);
        assert_eq!(FindingCode::GatewayTimeout504.provider(), None);
        assert_eq!(
            FindingCode::Cloudflare520.provider(),
            Some(ProviderKind::Cloudflare)
        );
        assert_eq!(
            FindingCode::AppgwNotRunning.provider(),
            Some(ProviderKind::AzureAppgw)
        );
    }

    #[test]
    fn every_code_has_a_docs_page() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/findings");
        for code in FindingCode::ALL {
            let path = dir.join(format!("{code}.md"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("missing docs page {}: {e}", path.display()));
            assert!(
                text.starts_with(&format!("# {code}\n")),
                "{} must start with the heading `# {code}`",
                path.display()
            );
            for section in [
                "## What it means",
                "## Evidence",
                "## What would disprove it",
                "## Remediation",
            ] {
                assert!(
                    text.contains(section),
                    "{} lacks the section `{section}`",
                    path.display()
                );
            }
        }
        // No orphan pages: every page names a code that exists.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(stem) = name.strip_suffix(".md") {
                if stem != "README" {
                    assert!(
                        stem.parse::<FindingCode>().is_ok(),
                        "orphan docs page {name}"
                    );
                }
            }
        }
    }
}
