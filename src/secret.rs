//! The bot token and its redaction.
//!
//! The token is part of every Bot API URL, so any error that mentions a URL (reqwest's do) would
//! print it. Every registered secret is replaced by `<redacted>` in log lines (the log writer goes
//! through [`redact`]), in panic messages (see [`install_panic_hook`]) and in the error texts the
//! Telegram sink produces.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, RwLock};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

const MASK: &str = "<redacted>";

/// The Telegram bot token. `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct BotToken(Arc<str>);

impl BotToken {
    /// Wraps a token and registers it for redaction everywhere.
    pub fn new(token: &str) -> BotToken {
        let token = token.trim();
        register(token);
        // The part after the colon is the secret proper; mask it on its own too.
        if let Some((_, secret)) = token.split_once(':')
            && secret.len() >= 16
        {
            register(secret);
        }
        BotToken(Arc::from(token))
    }

    /// The token itself, for the Bot API client only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Adds a secret to mask from now on.
pub fn register(secret: &str) {
    if secret.len() < 8 {
        return; // too short to mask without mangling ordinary text
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret masked.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// An error and its causes on one line (`error: cause: cause`), secrets masked.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    redact(&text)
}

/// A writer that masks secrets in what passes through (tracing writes one event per call).
pub struct RedactingWriter<W: Write>(pub W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Panics print through [`redact`] (a panic message could quote an error with a URL in it).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = redact(&info.to_string());
        let _ = writeln!(std::io::stderr(), "{message}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_whole_and_in_part() {
        let token = BotToken::new("123456789:AAH-secret_part_0123456789abcdef");
        assert_eq!(
            format!("{token} {token:?}"),
            "<redacted> BotToken(<redacted>)"
        );
        let line = "error sending request for url (http://127.0.0.1:1/bot123456789:AAH-secret_part_0123456789abcdef/SendMessage)";
        let masked = redact(line);
        assert!(!masked.contains("AAH-secret"), "{masked}");
        assert!(masked.contains("/bot<redacted>/SendMessage"), "{masked}");
        assert!(!redact("only AAH-secret_part_0123456789abcdef").contains("secret_part"));
    }
}
