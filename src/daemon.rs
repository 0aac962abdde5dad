//! Process concerns: logging, signals, the Telegram token, exit codes.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::secret::BotToken;

/// Exit code for a bad config (EX_CONFIG); the systemd unit lists it in RestartPreventExitStatus.
pub const EXIT_CONFIG: i32 = 78;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: i32 = 1;

/// Logs to stderr. Under journald (JOURNAL_STREAM set) plain lines without timestamps or
/// colours, since the journal adds its own; `RUST_LOG` sets the level (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every line passes through the secret redactor: the bot token must never reach a log.
        .with_writer(|| crate::secret::RedactingWriter(std::io::stderr()))
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_ansi(false).init();
    } else {
        builder.init();
    }
}

/// Cancels the returned token on SIGINT or SIGTERM. A second signal exits at once: the outbox
/// is durable, so nothing is lost by not waiting.
pub fn shutdown_on_signals() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};
    let token = CancellationToken::new();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut received = 0;
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            received += 1;
            if received == 1 {
                tracing::info!("signal received: shutting down (send it again to exit at once)");
                cancel.cancel();
            } else {
                tracing::warn!("second signal: exiting now; pending deliveries stay in the outbox");
                std::process::exit(EXIT_FAILURE);
            }
        }
    });
    Ok(token)
}

/// Where the bot token was found; never the token itself in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env,
    File(PathBuf),
    Credential(PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the Telegram token from {path}: {source}; check the file's permissions (the token itself is never logged)"
)]
pub struct TokenError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// The Telegram bot token, from `TELOXIDE_TOKEN`, `telegram.token_file`, or systemd's
/// `$CREDENTIALS_DIRECTORY/telegram-token`, in that order. `None` when none is set. The token is
/// registered for redaction as soon as it is read.
pub fn telegram_token(config: &Config) -> Result<Option<(BotToken, TokenSource)>, TokenError> {
    if let Ok(token) = std::env::var("TELOXIDE_TOKEN") {
        if !token.trim().is_empty() {
            return Ok(Some((BotToken::new(&token), TokenSource::Env)));
        }
    }
    if let Some(path) = &config.telegram.token_file {
        return read_token(path).map(|t| Some((t, TokenSource::File(path.clone()))));
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&dir).join("telegram-token");
        if path.exists() {
            return read_token(&path).map(|t| Some((t, TokenSource::Credential(path))));
        }
    }
    Ok(None)
}

fn read_token(path: &Path) -> Result<BotToken, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(TokenError {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is empty"),
        });
    }
    Ok(BotToken::new(&text))
}
