//! The run's secret values, and the masking every string from outside goes through.
//!
//! Servers quote credentials back (an API error that echoes the token, a probed server that
//! reflects `Authorization` in a header or its error page, a webhook URL in a client error), so
//! redacting the fields that hold a secret is not enough: every *value* known to be secret is
//! registered here once, and every string that comes from outside (API messages, response
//! headers and bodies, log excerpts, file names) is masked before it enters a report, stderr, a
//! file, a metric or a webhook. The registry is process-wide: a CLI process is one run, and a
//! library that runs several collections in one process only ever masks more, never less.
//!
//! Values shorter than [`MIN_LEN`] characters are not registered: masking every `1` or `yes` in a
//! report would destroy it, and such values are not credentials.

use std::borrow::Cow;
use std::sync::{OnceLock, RwLock};

/// What a masked value is replaced with.
pub const MASK: &str = "<redacted>";

/// The shortest value that is registered as a secret.
pub const MIN_LEN: usize = 6;

/// Environment variables whose values are credentials wherever they are set. Registered by
/// [`register_env`] at start-up, so a credential an SDK reads on its own is masked too.
pub const SECRET_ENV_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_ACCESS_TOKEN",
    "CLOUDFLARE_API_TOKEN",
    "CF_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CF_API_KEY",
    "CLOUD502_WEBHOOK_URL",
];

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Register a secret value; every later [`mask`] replaces it. Surrounding whitespace is
/// ignored; values shorter than [`MIN_LEN`] are not registered. Its percent-encoded form is
/// registered too, since servers quote URLs and query strings encoded.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_LEN {
        return;
    }
    let encoded = percent_encode(value);
    let mut values = match registry().write() {
        Ok(v) => v,
        Err(poisoned) => poisoned.into_inner(),
    };
    for v in [value.to_owned(), encoded] {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
}

/// Register a credential sent in an `Authorization`-like header: the whole value and, for
/// `Scheme credentials` forms (`Bearer x`, `Basic x`), the credentials alone.
pub fn register_credential(value: &str) {
    register(value);
    if let Some((_scheme, rest)) = value.trim().split_once(char::is_whitespace) {
        register(rest);
    }
}

/// Register the values of [`SECRET_ENV_VARS`] that are set.
pub fn register_env() {
    for name in SECRET_ENV_VARS {
        if let Ok(v) = std::env::var(name) {
            register(&v);
        }
    }
}

/// Whether any secret is registered.
pub fn any() -> bool {
    registry().read().map(|v| !v.is_empty()).unwrap_or(true)
}

/// `s` with every registered secret replaced by [`MASK`].
pub fn mask(s: &str) -> Cow<'_, str> {
    let values = match registry().read() {
        Ok(v) => v,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut out: Cow<'_, str> = Cow::Borrowed(s);
    for secret in values.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Mask `s` in place.
pub fn mask_string(s: &mut String) {
    if let Cow::Owned(masked) = mask(s) {
        *s = masked;
    }
}

/// Mask every string (keys too) in a JSON value, in place.
pub fn mask_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => mask_string(s),
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            let needs_key_mask = map.keys().any(|k| matches!(mask(k), Cow::Owned(_)));
            if needs_key_mask {
                let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (k, mut item) in entries {
                    mask_json(&mut item);
                    map.insert(mask(&k).into_owned(), item);
                }
            } else {
                map.values_mut().for_each(mask_json);
            }
        }
        _ => {}
    }
}

/// Mask every string of a serializable value by a JSON round trip. `None` when the value does
/// not round-trip (never for the report model), in which case the caller keeps the original.
pub fn mask_value<T>(value: &T) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut json = serde_json::to_value(value).ok()?;
    mask_json(&mut json);
    serde_json::from_value(json).ok()
}

/// `s` made safe for one line of a terminal: secrets masked, and control characters (a newline
/// in a file name must not forge an extra `error:` line; an escape sequence must not repaint the
/// terminal) replaced by their `\u{..}` escapes. Tabs become spaces.
pub fn for_terminal(s: &str) -> String {
    let masked = mask(s);
    let mut out = String::with_capacity(masked.len());
    for c in masked.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {
                out.extend(c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    out
}

/// Unicode bidirectional overrides: they reorder what a terminal shows (a file name could hide
/// text that way), so they are escaped like control characters.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Percent-encode everything but RFC 3986 unreserved characters (the form a secret takes inside
/// a URL's query that a server quotes back).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_everywhere_and_short_ones_are_not_registered() {
        register("sentinel-TOKEN-1234567");
        register("abc");
        let s = "error: token sentinel-TOKEN-1234567 rejected (abc)";
        assert_eq!(mask(s), "error: token <redacted> rejected (abc)");
        assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn credentials_are_masked_whole_and_without_their_scheme() {
        register_credential("Bearer cred-sentinel-77aa");
        assert_eq!(mask("got cred-sentinel-77aa"), "got <redacted>");
        assert_eq!(mask("got Bearer cred-sentinel-77aa"), "got <redacted>");
    }

    #[test]
    fn percent_encoded_forms_are_masked() {
        register("pct sentinel/+=99");
        assert_eq!(mask("q=pct%20sentinel%2F%2B%3D99&x=1"), "q=<redacted>&x=1");
    }

    #[test]
    fn json_strings_and_keys_are_masked() {
        register("json-sentinel-5150");
        let mut v = serde_json::json!({
            "a": ["x json-sentinel-5150 y", 1],
            "json-sentinel-5150": {"b": "json-sentinel-5150"}
        });
        mask_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("json-sentinel-5150"), "{text}");
        assert_eq!(v["a"][0], "x <redacted> y");
    }

    #[test]
    fn terminal_text_has_no_control_characters() {
        let s = for_terminal("a.log\nerror: forged\x1b[2J\u{202E}x\ty");
        assert!(!s.contains('\n') && !s.contains('\x1b') && !s.contains('\u{202E}'));
        assert!(s.contains("\\u{a}error: forged"), "{s}");
        assert!(s.ends_with("x y"), "{s}");
    }
}
