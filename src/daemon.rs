//! Process concerns: logging, signals (SIGTERM/SIGINT stop, SIGHUP reloads), the Telegram token,
//! exit codes, systemd notification and the watchdog.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::health::Health;
use crate::secret::BotToken;

/// Exit code for a bad config (EX_CONFIG); the systemd unit lists it in RestartPreventExitStatus.
pub const EXIT_CONFIG: i32 = 78;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: i32 = 1;

/// Logs to stderr. Under journald (JOURNAL_STREAM set) plain lines without timestamps or
/// colours, since the journal adds its own; `RUST_LOG`, else `[log] level`, sets the level
/// (default `info`).
pub fn init_logging(level: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let level = level.unwrap_or("info");
        tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|e| {
            eprintln!("warning: [log] level {level:?} is not a valid filter ({e}); using \"info\"");
            tracing_subscriber::EnvFilter::new("info")
        })
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every line passes through the secret redactor: the bot token must never reach a log.
        .with_writer(|| crate::secret::RedactingWriter(std::io::stderr()))
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_ansi(false).init();
    } else {
        // Colours only for a person at a terminal: a pipe or a file gets plain text.
        use std::io::IsTerminal;
        builder.with_ansi(std::io::stderr().is_terminal()).init();
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

/// Where the token came from, as an operator would look for it (never the token).
impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "TELOXIDE_TOKEN"),
            TokenSource::File(p) | TokenSource::Credential(p) => write!(f, "{}", p.display()),
        }
    }
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
    if let Ok(token) = std::env::var("TELOXIDE_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(Some((BotToken::new(&token), TokenSource::Env)));
    }
    if let Some(path) = &config.telegram.token_file {
        let path = path.get_ref();
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

/// The systemd watchdog period from `WATCHDOG_USEC`, if the service has one. As libsystemd's
/// `sd_watchdog_enabled`: `WATCHDOG_PID`, when set, must be this process (sd-notify's own helper
/// requires it to be set, which is stricter than systemd).
pub fn watchdog_period() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok()? != std::process::id()
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Talks to systemd (all no-ops without `NOTIFY_SOCKET`): READY=1 now (the config is loaded, the
/// store open, the pipeline started), STATUS= lines, WATCHDOG=1 at half the watchdog period but
/// only while `Health::alive`, STOPPING=1 when shutdown begins.
pub async fn supervise_systemd(
    health: Arc<Health>,
    store: crate::store::Store,
    shutdown: CancellationToken,
) {
    let status = |health: &Health| {
        format!(
            "{} sources, {} pending, last poll {}",
            health.sources(),
            store.outbox_len(),
            health.last_poll_kst().unwrap_or_else(|| "none yet".into())
        )
    };
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&status(&health)),
    ]);
    let watchdog = watchdog_period();
    let every = watchdog
        .map(|w| w / 2)
        .unwrap_or(Duration::from_secs(30))
        .max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    let mut stalled = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let line = status(&health);
        match watchdog {
            Some(period) if health.alive(period) => {
                if stalled {
                    tracing::info!("pipeline alive again; feeding the watchdog");
                    stalled = false;
                }
                notify(&[
                    sd_notify::NotifyState::Watchdog,
                    sd_notify::NotifyState::Status(&line),
                ]);
            }
            Some(_) => {
                if !stalled {
                    tracing::error!(
                        "pipeline stalled (scheduler or deliverer silent); not feeding the watchdog, systemd will restart the service"
                    );
                    stalled = true;
                }
                notify(&[sd_notify::NotifyState::Status(&format!("STALLED: {line}"))]);
            }
            None => notify(&[sd_notify::NotifyState::Status(&line)]),
        }
    }
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("stopping: finishing sends in flight"),
    ]);
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// Reloads the config on every SIGHUP.
pub fn reload_on_sighup(reloader: crate::reload::Reloader) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let _ = reloader.reload("SIGHUP");
        }
    });
    Ok(())
}

/// Caps glibc's malloc arenas at `MALLOC_ARENAS`, unless `MALLOC_ARENA_MAX` says otherwise,
/// and fixes the mmap threshold unless `MALLOC_MMAP_THRESHOLD_` does. glibc gives each thread
/// that allocates an arena of its own (tokio's workers and blocking pool, sled's eight I/O
/// threads, the log writer) and keeps what is freed in it; in an idle daemon that held several
/// MB of RSS (docs/benchmarks.md, footprint). Call before any thread starts. Other C libraries:
/// nothing to do.
pub fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        }
    }
    // A fixed mmap threshold: glibc otherwise raises it to the size of each large block freed,
    // so once a classifier's automaton (2.3 MB) is dropped, every block below that size lands
    // in the heap, where it fragments and stays: 5 MB more RSS in an idle daemon, measured.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: as above.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

/// glibc arenas at most. Four, not two: with two, the threads parsing feeds, the ingest stage
/// and sled's I/O threads waited on each other's arena locks — 12 % of a first cycle's CPU over
/// a thousand feeds, for about 0.3 MB more in an idle daemon (18.5–19.2 MB over an hour with
/// 50 sources; docs/benchmarks.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 4;

/// Blocks from this size up get their own mapping, returned to the system when freed (glibc's
/// initial default, kept fixed; see [`limit_allocator_arenas`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// How often freed heap memory is handed back to the system.
const RELEASE_MEMORY_EVERY: Duration = Duration::from_secs(60);

/// Every minute, gives the heap's free pages back to the system (glibc's `malloc_trim`): a poll
/// that parsed a large page frees its memory, but glibc keeps the pages for reuse, so an idle
/// daemon's RSS would stay at the high-water mark of its largest poll.
pub async fn release_memory(shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RELEASE_MEMORY_EVERY) => {}
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free memory to the system; it is thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
