//! Every line the binary writes on stderr goes through here: secrets masked, control characters
//! escaped (a file name or a server's message must not forge a line or repaint the terminal), and
//! one `prefix: message (hint: ...)` shape, with no empty hint.

use cloud502::model::secret;
use std::io::Write;

/// Write `prefix: message` (and ` (hint: ...)` when there is a non-empty hint) on stderr.
pub fn line(prefix: &str, message: &str, hint: Option<&str>) {
    let mut text = format!("{prefix}: {}", secret::for_terminal(message.trim()));
    if let Some(h) = hint.map(str::trim).filter(|h| !h.is_empty())
        && !message.contains(h)
    {
        text.push_str(" (hint: ");
        text.push_str(&secret::for_terminal(h));
        text.push(')');
    }
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Write one message line as it is on stderr (progress), masked and escaped.
pub fn plain(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        secret::for_terminal(message)
    );
}

/// A stderr writer for the log subscriber that masks secrets in every line: an SDK or HTTP
/// library that logs a header or an error body at `-vv` or `CLOUD502_LOG=trace` must not print
/// a credential. Control characters are left alone except in the masked text (log lines carry
/// their own newlines).
#[derive(Debug, Default)]
pub struct MaskedStderr {
    buf: Vec<u8>,
}

impl Write for MaskedStderr {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let masked = secret::mask(&text);
        let result = std::io::stderr().lock().write_all(masked.as_bytes());
        self.buf.clear();
        result
    }
}

impl Drop for MaskedStderr {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
