//! `--webhook URL`: a Slack-compatible message, sent only when the set of findings changed since
//! the last run. The last set is kept in a state file; a failed delivery leaves it alone, so the
//! next run tries again.
//!
//! The URL is a secret (a Slack incoming-webhook URL is its own credential): it never appears in
//! a message, an error or the state file; errors name only its host. The message carries subject
//! names, finding codes, severities and titles: never a credential, header or log line.

use cloud502_model::{AuditReport, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Time the webhook may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many lines per section of a message (Slack cuts a section at 3000 characters).
const MAX_LINES: usize = 20;

/// One entry of the finding set: a subject and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The subject's name.
    pub subject: String,
    /// The finding code, or `not-inspected` when the subject could not be inspected at all.
    pub code: String,
    /// `warning`, `critical`, or `unknown` for a subject not inspected.
    pub severity: String,
    /// The finding's title (not part of the identity kept in the state file: counts in titles
    /// change every run).
    pub title: String,
}

/// The set a run is compared on: every warning or critical finding of every subject (by subject,
/// code and severity; titles carry counts that change every run, so they are left out), and every
/// subject that could not be inspected.
pub fn finding_set(audit: &AuditReport) -> Vec<Entry> {
    let mut set: Vec<Entry> = Vec::new();
    for s in &audit.subjects {
        if !s.report.summary.inspected {
            let why = s
                .report
                .errors
                .first()
                .map_or_else(String::new, |g| g.message.clone());
            set.push(Entry {
                subject: s.name.clone(),
                code: "not-inspected".into(),
                severity: "unknown".into(),
                title: why,
            });
        }
        for f in &s.report.findings {
            if f.severity >= Severity::Warning {
                set.push(Entry {
                    subject: s.name.clone(),
                    code: f.code.as_str().into(),
                    severity: f.severity.as_str().into(),
                    title: f.title.clone(),
                });
            }
        }
    }
    set.sort();
    set.dedup_by(|a, b| a == b);
    set
}

/// What the state file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// When the set was last sent (or first recorded).
    updated_at: String,
    findings: Vec<StateEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct StateEntry {
    subject: String,
    code: String,
    severity: String,
}

impl From<&Entry> for StateEntry {
    fn from(e: &Entry) -> Self {
        StateEntry {
            subject: e.subject.clone(),
            code: e.code.clone(),
            severity: e.severity.clone(),
        }
    }
}

/// What a run did with the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The set changed: the message was delivered and the state updated.
    Sent {
        /// Entries new since the last run.
        added: usize,
        /// Entries gone since the last run.
        resolved: usize,
    },
    /// The same set as last time: nothing sent.
    Unchanged,
    /// No state yet and nothing wrong: the empty set was recorded, nothing sent.
    Recorded,
    /// Delivery failed (the state is left as it was, so the next run tries again).
    Failed(String),
}

/// A webhook and where it keeps its state.
pub struct Webhook {
    url: url::Url,
    state_file: PathBuf,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("host", &self.host())
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// A webhook at `url`: https, or plain http on loopback only (a local relay or a test).
    /// Errors never repeat the URL.
    pub fn new(url: &str, state_file: PathBuf) -> Result<Webhook, String> {
        let hint = "pass an https:// URL, such as a Slack incoming-webhook URL";
        // The URL is its own credential (and so is its path, which a receiver may quote back).
        cloud502_model::secret::register(url.trim());
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| format!("--webhook is not a URL ({e}); {hint}"))?;
        if parsed.path().len() > 1 {
            cloud502_model::secret::register(parsed.path());
        }
        let loopback = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            s => {
                return Err(format!(
                    "--webhook must use https (plain {s} is allowed only on loopback): the URL is a secret; {hint}"
                ));
            }
        }
        if parsed.host().is_none() {
            return Err(format!("--webhook has no host; {hint}"));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT / 2)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloud502/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Webhook {
            url: parsed,
            state_file,
            http,
        })
    }

    /// The host the webhook posts to: the only part of the URL ever shown.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("?").to_owned()
    }

    /// The state file.
    pub fn state_file(&self) -> &Path {
        &self.state_file
    }

    /// Compare the audit's finding set with the last one and post a message when it changed.
    pub async fn notify(&self, audit: &AuditReport) -> Outcome {
        let now = finding_set(audit);
        let previous = read_state(&self.state_file);
        let before: BTreeSet<StateEntry> = previous
            .as_ref()
            .map(|s| s.findings.iter().cloned().collect())
            .unwrap_or_default();
        let after: BTreeSet<StateEntry> = now.iter().map(StateEntry::from).collect();
        if previous.is_some() && before == after {
            return Outcome::Unchanged;
        }
        if previous.is_none() && after.is_empty() {
            return match self.save(&after) {
                Ok(()) => Outcome::Recorded,
                Err(e) => Outcome::Failed(e),
            };
        }
        let added: Vec<&Entry> = now
            .iter()
            .filter(|e| !before.contains(&StateEntry::from(*e)))
            .collect();
        let resolved: Vec<&StateEntry> = before.iter().filter(|e| !after.contains(*e)).collect();
        let mut body = message(audit, &added, &resolved);
        // Subject names, finding titles and gap messages can quote what a server sent back.
        cloud502_model::secret::mask_json(&mut body);
        let sent = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let host = self.host();
        match sent {
            Ok(resp) if resp.status().is_success() => match self.save(&after) {
                Ok(()) => Outcome::Sent {
                    added: added.len(),
                    resolved: resolved.len(),
                },
                Err(e) => Outcome::Failed(e),
            },
            Ok(resp) => Outcome::Failed(format!(
                "the webhook at {host} answered HTTP {}; the message will be sent again next run",
                resp.status().as_u16()
            )),
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else if e.is_connect() {
                    "cannot connect".to_owned()
                } else {
                    cloud502_diagnose::remote::one_line(&e.without_url().to_string())
                };
                Outcome::Failed(format!(
                    "the webhook at {host} failed: {why}; the message will be sent again next run"
                ))
            }
        }
    }

    fn save(&self, set: &BTreeSet<StateEntry>) -> Result<(), String> {
        let state = State {
            version: 1,
            updated_at: crate::now_rfc3339(),
            findings: set.iter().cloned().collect(),
        };
        let text = serde_json::to_string_pretty(&state).unwrap_or_default();
        if let Some(dir) = self.state_file.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        crate::write_atomic(&self.state_file, text.as_bytes(), 0o600).map_err(|e| {
            format!(
                "cannot write the state file {}: {e}",
                self.state_file.display()
            )
        })
    }
}

/// The last state, or `None` when there is none (a missing or unreadable file counts as none:
/// the message is then sent, which is the safe side).
fn read_state(path: &Path) -> Option<State> {
    // Capped: a state file is a few KiB; a device or a huge file in its place is not one.
    use cloud502_diagnose::limits;
    let bytes = limits::read_capped(path, limits::MAX_SMALL_FILE_BYTES, "a state file").ok()?;
    let text = String::from_utf8(bytes).ok()?;
    match serde_json::from_str::<State>(&text) {
        Ok(s) if s.version == 1 => Some(s),
        _ => {
            tracing::warn!(
                "ignoring the state file {}: not a cloud502 webhook state",
                path.display()
            );
            None
        }
    }
}

/// Slack mrkdwn escaping.
fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn lines<T>(items: &[T], line: impl Fn(&T) -> String) -> String {
    let mut out: Vec<String> = items.iter().take(MAX_LINES).map(line).collect();
    if items.len() > MAX_LINES {
        out.push(format!("... and {} more", items.len() - MAX_LINES));
    }
    out.join("\n")
}

/// The Slack message: `text` for notifications and clients without blocks, then blocks.
fn message(audit: &AuditReport, added: &[&Entry], resolved: &[&StateEntry]) -> Value {
    let r = &audit.rollup;
    let shard = audit
        .shard
        .map(|s| format!(" shard {s}"))
        .unwrap_or_default();
    let text = format!(
        "cloud502 audit{shard}: {} new, {} resolved; {} subjects: {} failing, {} degraded, {} unknown (exit {})",
        added.len(),
        resolved.len(),
        r.subjects,
        r.failing,
        r.degraded,
        r.unknown,
        r.exit_code
    );
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": "cloud502 audit: findings changed" }
    })];
    if !added.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("*New*\n{}", lines(added, |e| format!(
                "• `{}` {} `{}`: {}",
                esc(&e.subject), e.severity, e.code, esc(&e.title)
            ))) }
        }));
    }
    if !resolved.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("*Resolved*\n{}", lines(resolved, |e| format!(
                "• `{}` {} `{}`",
                esc(&e.subject), e.severity, e.code
            ))) }
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": esc(&format!(
            "{text} · {} · {}", audit.config, audit.generated_at
        )) }]
    }));
    json!({ "text": text, "blocks": blocks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_off_loopback_and_errors_never_repeat_the_url() {
        let secret = "http://hooks.example.com/services/T000/B000/XXXXSECRET";
        let err = Webhook::new(secret, PathBuf::from("s.json")).unwrap_err();
        assert!(err.contains("https"), "{err}");
        assert!(
            !err.contains("XXXXSECRET") && !err.contains("hooks.example.com"),
            "{err}"
        );
        let err = Webhook::new("not a url/XXXXSECRET", PathBuf::from("s.json")).unwrap_err();
        assert!(!err.contains("XXXXSECRET"), "{err}");
        let ok = Webhook::new(
            "https://hooks.example.com/services/XXXXSECRET",
            PathBuf::from("s.json"),
        )
        .unwrap();
        assert!(!format!("{ok:?}").contains("XXXXSECRET"));
        assert_eq!(ok.host(), "hooks.example.com");
        assert!(Webhook::new("http://127.0.0.1:9/hook", PathBuf::from("s.json")).is_ok());
    }

    #[test]
    fn mrkdwn_is_escaped_and_long_lists_are_cut() {
        assert_eq!(esc("a<b>&c\u{1b}"), "a&lt;b&gt;&amp;c");
        let items: Vec<u32> = (0..25).collect();
        let text = lines(&items, |i| i.to_string());
        assert_eq!(text.lines().count(), MAX_LINES + 1);
        assert!(text.ends_with("... and 5 more"));
    }
}
