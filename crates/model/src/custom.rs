//! Names that are not built in: finding codes and provider kinds a library user registers at run
//! time, and the ones met in a report written by a build that had them.
//!
//! Both are `&'static str` so [`FindingCode`](crate::FindingCode) and
//! [`ProviderKind`](crate::ProviderKind) stay `Copy`. A registered name is the caller's own
//! `&'static str`; a name only read from JSON is copied once and kept for the life of the process,
//! which is why the registry is bounded ([`MAX_NAMES`]): a report with endless distinct codes is
//! refused, not a slow leak.

use serde::{Deserialize, Deserializer, Serializer};
use std::borrow::Cow;
use std::sync::RwLock;

/// At most this many custom names (codes and kinds together) in one process.
pub const MAX_NAMES: usize = 1024;

/// What a custom name may look like: the same kebab-case as the built-in codes.
pub(crate) fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Why a name could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not kebab-case letters and digits.
    #[error(
        "`{0}` is not a valid name: use kebab-case, lower-case letters and digits (e.g. `acme-pool-drained`)"
    )]
    Pattern(String),
    /// A built-in name, or a custom one registered with different text.
    #[error(
        "`{0}` is already taken by a built-in or earlier registration with other text; pick another name"
    )]
    Taken(String),
    /// The registry is full.
    #[error("too many custom names (at most {MAX_NAMES} in one process)")]
    Full,
}

/// A registered custom finding code's text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeText {
    pub code: &'static str,
    pub summary: &'static str,
    pub docs: &'static str,
}

#[derive(Debug, Default)]
struct Registry {
    codes: Vec<CodeText>,
    kinds: Vec<&'static str>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    codes: Vec::new(),
    kinds: Vec::new(),
});

fn read() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

fn write() -> std::sync::RwLockWriteGuard<'static, Registry> {
    REGISTRY.write().unwrap_or_else(|e| e.into_inner())
}

/// Register a code with its text; registering the same code with the same text again is fine.
pub(crate) fn register_code(text: CodeText) -> Result<&'static str, NameError> {
    if !valid(text.code) {
        return Err(NameError::Pattern(text.code.to_owned()));
    }
    let mut r = write();
    if let Some(known) = r.codes.iter_mut().find(|c| c.code == text.code) {
        // A code first met in a report, registered now: it gains its text.
        if known.summary.is_empty() && known.docs.is_empty() {
            known.summary = text.summary;
            known.docs = text.docs;
            return Ok(known.code);
        }
        return if known.summary == text.summary && known.docs == text.docs {
            Ok(known.code)
        } else {
            Err(NameError::Taken(text.code.to_owned()))
        };
    }
    if r.codes.len() + r.kinds.len() >= MAX_NAMES {
        return Err(NameError::Full);
    }
    r.codes.push(text);
    Ok(text.code)
}

/// The registered text of a custom code (empty text for one only read from a report).
pub(crate) fn code_text(code: &str) -> Option<CodeText> {
    read().codes.iter().find(|c| c.code == code).copied()
}

/// Every registered custom code, in registration order.
pub(crate) fn codes() -> Vec<CodeText> {
    read().codes.clone()
}

/// A code read from a report: the registered one, or a new entry without text.
pub(crate) fn code_from_report(code: &str) -> Result<&'static str, NameError> {
    if let Some(c) = code_text(code) {
        return Ok(c.code);
    }
    let leaked: &'static str = Box::leak(code.to_owned().into_boxed_str());
    register_code(CodeText {
        code: leaked,
        summary: "",
        docs: "",
    })
}

/// Register a provider kind, or find it when it is already known.
pub(crate) fn kind(name: &str, owned: Option<&'static str>) -> Result<&'static str, NameError> {
    if !valid(name) {
        return Err(NameError::Pattern(name.to_owned()));
    }
    if let Some(k) = read().kinds.iter().find(|k| **k == name) {
        return Ok(k);
    }
    let mut r = write();
    if let Some(k) = r.kinds.iter().find(|k| **k == name) {
        return Ok(k);
    }
    if r.codes.len() + r.kinds.len() >= MAX_NAMES {
        return Err(NameError::Full);
    }
    let name = owned.unwrap_or_else(|| Box::leak(name.to_owned().into_boxed_str()));
    r.kinds.push(name);
    Ok(name)
}

/// Serialize a name as its string.
pub(crate) fn serialize<S: Serializer>(name: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name)
}

/// A string from JSON, borrowed when the input allows.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    #[derive(Deserialize)]
    struct S<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(S::deserialize(d)?.0)
}

/// The JSON Schema of a kebab-case name.
pub(crate) fn schema(description: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": crate::CODE_PATTERN,
        "description": description,
    })
}
