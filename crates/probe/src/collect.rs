//! The probe as a [`Provider`]: run it, then state what it saw as evidence items that rules cite.

use crate::config::ProbeRequest;
use async_trait::async_trait;
use cloud502_collect::{CollectCx, Provider, ProviderError};
use cloud502_model::{Evidence, Probe, ProbeScheme, ProviderKind, Subject};

/// `cloud502 probe <URL>` as a provider.
#[derive(Debug, Clone)]
pub struct ProbeProvider {
    request: ProbeRequest,
}

impl ProbeProvider {
    /// A provider that probes one validated request.
    pub fn new(request: ProbeRequest) -> Self {
        ProbeProvider { request }
    }
}

#[async_trait]
impl Provider for ProbeProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Probe
    }

    fn subject(&self) -> Subject {
        Subject {
            kind: ProviderKind::Probe,
            id: self.request.display_url(),
        }
    }

    async fn collect(&self, cx: &CollectCx) -> Result<Evidence, ProviderError> {
        let mut request = self.request.clone();
        request.timeout = request.timeout.min(cx.deadline);
        cx.progress
            .message(&format!("probing {}", request.display_url()));
        let probe = crate::http::probe(&request, "probe.0").await?;
        let mut evidence = Evidence::new(self.subject());
        describe(&probe, &mut evidence);
        evidence.probes.push(probe);
        Ok(evidence)
    }
}

/// State the probe's observations as evidence items (`{probe}.target`, `.timing`, `.status`,
/// `.header.<name>`, `.body`, `.tls.cert`, `.tls.verify`, `.error`).
pub fn describe(probe: &Probe, ev: &mut Evidence) {
    let id = &probe.id;
    let via = if probe.resolve_override {
        " (address from --resolve)"
    } else {
        ""
    };
    let target = match &probe.connected {
        Some(addr) => format!("{} connected to {addr}{via}", probe.url),
        None if probe.resolved.is_empty() => format!("{} (no address)", probe.url),
        None => format!(
            "{} resolved to {}{via}",
            probe.url,
            probe.resolved.join(", ")
        ),
    };
    ev.add_item(format!("{id}.target"), "probe", target);
    let [dns, connect, tls, first_byte, total] = probe.timings.phases();
    ev.add_item(
        format!("{id}.timing"),
        "probe",
        format!("dns {dns}, connect {connect}, tls {tls}, first byte {first_byte}, total {total}"),
    );
    if let Some(error) = &probe.error {
        ev.add_item(
            format!("{id}.error"),
            "probe",
            format!("{} failed: {}", error.phase.as_str(), error.message),
        );
    }
    if probe.scheme == ProbeScheme::Tcp && probe.error.is_none() {
        ev.add_item(
            format!("{id}.status"),
            "probe",
            format!("port {} accepts connections", probe.port),
        );
    }
    if let Some(tls) = &probe.tls {
        ev.add_item(
            format!("{id}.tls.cert"),
            "probe",
            format!(
                "certificate {} issued by {}, SANs [{}], valid {} to {} ({} days left)",
                tls.subject,
                tls.issuer,
                tls.sans.join(", "),
                tls.not_before,
                tls.not_after,
                tls.days_remaining
            ),
        );
        ev.add_item(
            format!("{id}.tls.verify"),
            "probe",
            match &tls.verify_error {
                None => format!("certificate verified for {}", tls.sni),
                Some(e) => format!("certificate verification failed for {}: {e}", tls.sni),
            },
        );
    }
    let Some(http) = &probe.http else { return };
    ev.add_item(
        format!("{id}.status"),
        "probe",
        format!(
            "{} {} {} after {}",
            http.version,
            http.status,
            http.reason.as_deref().unwrap_or(""),
            first_byte
        ),
    );
    if let Some(fp) = &probe.fingerprint {
        for s in fp.signals.iter().filter(|s| s.source == "header") {
            let name = s
                .name
                .split_whitespace()
                .next()
                .unwrap_or(&s.name)
                .to_ascii_lowercase();
            ev.add_item(
                format!("{id}.header.{name}"),
                "probe",
                format!(
                    "{}: {} (points to {})",
                    s.name,
                    s.value,
                    s.layer.display_name()
                ),
            );
        }
        // A Server header that names no known proxy still says who answered (an application
        // server, another proxy); keep it as evidence for the rules that name the answering layer.
        let server_signal = fp
            .signals
            .iter()
            .any(|s| s.source == "header" && s.name == "Server");
        if let Some(server) = http
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("server"))
            .filter(|_| !server_signal)
        {
            ev.add_item(
                format!("{id}.header.server"),
                "probe",
                format!(
                    "Server: {} (not a proxy cloud502 recognises)",
                    server.value.chars().take(200).collect::<String>()
                ),
            );
        }
        if let Some(s) = fp.signals.iter().find(|s| s.source == "body") {
            ev.add_item(
                format!("{id}.body"),
                "probe",
                format!(
                    "body is {}'s error page ({}: {})",
                    s.layer.display_name(),
                    s.name,
                    s.value
                ),
            );
        } else if http.status >= 500 {
            ev.add_item(
                format!("{id}.body"),
                "probe",
                format!(
                    "body ({} bytes) matches no proxy's built-in error page",
                    http.body_bytes
                ),
            );
        }
    }
}
