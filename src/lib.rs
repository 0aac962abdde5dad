//! policy-watch: watches the Korean ministries that carry the AI-Semiconductor Initiative
//! (MSIT and 산업통상부) and pushes what is on-topic to Telegram, without ever losing or
//! repeating a notice.
//!
//! # Layout
//!
//! The pipeline, one module per stage, stages joined by bounded channels and the store:
//!
//! ```text
//! Scheduler ─▶ Poller×N (sources) ──PollEvent──▶ Ingestor (ingest: dedup + classify + fan-out) ──▶ outbox (store) ──▶ Deliverer (deliver) ──▶ Telegram / stdout
//!                                                                 ▲                              ▲
//!                                          Bot (commands) ──▶ subscribers (store)    Digester ──┘ (daily digests)
//! ```
//!
//! Modules, each depending only on those above it (no cycles; read `use crate::` lines):
//!
//! ```text
//! leaves       fold (text folding) · backoff · secret (the token, redaction)
//! settings     config (TOML, file:line:column errors)
//! records      items (Item, keys, dates) → health (liveness) → classify (pure) → outbox
//!              (Notice, Destination, Payload, Delivery, Lang) → text (every message)
//! state        store (sled; nothing else touches it)
//! stages       sources (fetch, decode, parse, pollers, scheduler) · deliver (drain, pacing,
//!              rendering, digests) · metrics → ingest (dedup + classify + fan-out, one
//!              transaction a poll) → bot (commands, answers)
//! process      daemon (signals, reloads, token, logging, systemd) → lib (`run`) → main
//! ```
//!
//! [`run`] takes every dependency as an argument so tests start the whole pipeline against
//! servers on 127.0.0.1 and a temporary store.

pub mod backoff;
pub mod bot;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod fold;
pub mod health;
pub mod ingest;
pub mod items;
pub mod metrics;
pub mod outbox;
pub mod secret;
pub mod sources;
pub mod store;
pub mod text;

pub use sources::Mode;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::classify::Classifier;
use crate::config::Config;
use crate::deliver::telegram::TelegramSink;
use crate::deliver::{Deliverer, Printer, Sinks};
use crate::health::Health;
use crate::ingest::{IngestTotals, Ingestor, routes};
use crate::sources::{Fetcher, Scheduler};
use crate::store::Store;

/// How long shutdown may take before the remaining tasks are abandoned (the outbox is durable,
/// so abandoning loses nothing). Shorter than the systemd unit's TimeoutStopSec.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Capacity of the poll-result channel: pollers wait (backpressure) rather than pile up results.
const EVENT_QUEUE: usize = 16;

/// Where notices go and what previews are shown.
pub struct Output {
    pub sinks: Sinks,
    /// Dry-run: also show baselined matches, marked as not sent.
    pub preview: Option<Printer>,
    /// How the bot's `/reload` re-reads the config (SIGHUP's path); `None`: not available.
    pub reloader: Option<daemon::Reloader>,
}

impl Output {
    /// Everything to `printer`, with baseline previews: `--dry-run` or no Telegram token.
    pub fn dry_run(printer: Printer) -> Output {
        Output {
            sinks: Sinks::print_only(printer.clone()),
            preview: Some(printer),
            reloader: None,
        }
    }

    /// Notices to the configured Telegram destinations and the bot's subscribers through
    /// `telegram`.
    pub fn telegram(telegram: TelegramSink, printer: Printer) -> Output {
        Output {
            sinks: Sinks {
                printer,
                telegram: Some(telegram),
            },
            preview: None,
            reloader: None,
        }
    }

    /// With `/reload` re-reading the config through `reloader`.
    pub fn with_reloader(mut self, reloader: daemon::Reloader) -> Output {
        self.reloader = Some(reloader);
        self
    }
}

/// A config that never changes (tests, `once`).
pub fn fixed(config: Config) -> watch::Receiver<Arc<Config>> {
    watch::channel(Arc::new(config)).1
}

/// Forgets seen items their source has not listed for `store.keep_seen`, ten minutes after
/// start and then daily.
async fn prune_daily(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) {
    let mut wait = Duration::from_secs(600);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = Duration::from_secs(24 * 3600);
        let keep = config.borrow().store.keep_seen;
        match store.prune_seen(keep, false) {
            Ok(report) if report.seen_total() == 0 => {}
            Ok(report) => tracing::info!(
                "pruned {} seen items not listed by their source for {} ({} older ones kept: still listed)",
                report.seen_total(),
                items::format_duration(keep),
                report.kept_listed
            ),
            Err(e) => tracing::error!("pruning the store failed: {e}; retrying tomorrow"),
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub ingest: IngestTotals,
    pub delivered: usize,
    /// Deliveries left in the outbox at the end (parked, or given up on for this `once` run).
    pub pending: usize,
}

/// Runs the pipeline until `shutdown` is cancelled (daemon) or one cycle is done (once). Every
/// new value on `config` (a SIGHUP reload) reaches the scheduler and the ingest stage.
pub async fn run(
    config: watch::Receiver<Arc<Config>>,
    store: Store,
    output: Output,
    mode: Mode,
    shutdown: CancellationToken,
) -> anyhow::Result<RunReport> {
    let initial = config.borrow().clone();
    Classifier::new(&initial.classify, &initial.topics)?;
    let fetcher = Fetcher::new(&initial.http).context("cannot set up the HTTP client")?;
    let beat_every = daemon::watchdog_period()
        .map(|w| w / 4)
        .unwrap_or(Duration::from_secs(15))
        .clamp(Duration::from_millis(50), Duration::from_secs(15));
    let health = Arc::new(Health::new(beat_every));
    health.set_sources(initial.enabled_sources().count());
    let tracker = TaskTracker::new();
    let wake = Arc::new(Notify::new());
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);

    // The metrics recorder first: counters of the first polls would go nowhere otherwise.
    if let (Mode::Daemon, Some(listen)) = (mode, initial.metrics.listen) {
        let server =
            crate::metrics::start(listen, Arc::clone(&health), store.clone(), shutdown.clone())
                .await?;
        tracker.spawn(server);
    }
    let scheduler = Scheduler::new(store.clone(), fetcher, events_tx, Arc::clone(&health));
    tracker.spawn(scheduler.run(config.clone(), mode, shutdown.clone()));

    let telegram = output.sinks.telegram.is_some();
    let ingest_done = CancellationToken::new();
    let ingestor = Ingestor {
        store: store.clone(),
        config: config.clone(),
        telegram,
        preview: output.preview,
        wake: Arc::clone(&wake),
        health: Arc::clone(&health),
    };
    let ingest = {
        let ingest_done = ingest_done.clone();
        tracker.spawn(async move {
            let totals = ingestor.run(events_rx).await;
            ingest_done.cancel();
            totals
        })
    };
    let pacer = Arc::new(deliver::Pacer::new(&initial.telegram.limits));
    // The bot asks the deliverer (the outbox's only remover) to drop what waits for a chat.
    let (withdraw, withdrawals) = mpsc::unbounded_channel();
    if let (Mode::Daemon, Some(telegram)) = (mode, &output.sinks.telegram) {
        if initial.telegram.bot {
            let bot = bot::Bot {
                telegram: telegram.bot().clone(),
                updates: telegram.updates_bot().clone(),
                store: store.clone(),
                config: config.clone(),
                reloader: output.reloader.clone(),
                health: Arc::clone(&health),
                replies: bot::Replies::new(
                    telegram.bot().clone(),
                    Arc::clone(&pacer),
                    store.clone(),
                    withdraw.clone(),
                ),
                withdraw: withdraw.clone(),
                wake: Arc::clone(&wake),
            };
            tracker.spawn(bot.run(shutdown.clone()));
        }
        let digester = deliver::digest::Digester {
            store: store.clone(),
            wake: Arc::clone(&wake),
            clock: Arc::new(deliver::digest::SystemClock),
        };
        tracker.spawn(digester.run(shutdown.clone()));
    }
    let deliverer = Deliverer {
        store: store.clone(),
        pacer,
        withdrawals,
        sinks: output.sinks,
        admins: initial.telegram.admins.clone(),
        reactivate: routes(&initial, telegram)
            .into_iter()
            .map(|r| r.destination)
            .collect(),
        wake,
        health: Arc::clone(&health),
    };
    let deliver = {
        let shutdown = shutdown.clone();
        let until_idle = (mode == Mode::Once).then(|| ingest_done.clone());
        tracker.spawn(async move {
            let result = deliverer.run(shutdown.clone(), until_idle).await;
            if result.is_err() {
                // Delivery cannot go on (its output is gone): stop the whole pipeline.
                shutdown.cancel();
            }
            result
        })
    };
    if mode == Mode::Daemon {
        tracker.spawn(prune_daily(store.clone(), config.clone(), shutdown.clone()));
        tracker.spawn(daemon::supervise_systemd(
            Arc::clone(&health),
            store.clone(),
            shutdown.clone(),
        ));
    }
    tracker.close();

    let mut report = RunReport::default();
    // Once: the tasks finish by themselves. Daemon: they finish after `shutdown`.
    let finished = async {
        if mode == Mode::Daemon {
            shutdown.cancelled().await;
            tracing::info!("shutting down: stopping polls, finishing the sends in flight");
        }
        let totals = ingest.await.context("ingest task failed")?;
        let delivered = deliver.await.context("delivery task failed")??;
        tracker.wait().await;
        anyhow::Ok((totals, delivered))
    };
    let drained = if mode == Mode::Daemon {
        tokio::select! {
            r = finished => Some(r),
            _ = async { shutdown.cancelled().await; tokio::time::sleep(DRAIN_DEADLINE).await } => None,
        }
    } else {
        Some(finished.await)
    };
    match drained {
        Some(result) => {
            let (totals, delivered) = result?;
            report.ingest = totals;
            report.delivered = delivered.delivered;
            report.pending = delivered.pending;
        }
        None => tracing::warn!(
            "shutdown took longer than {DRAIN_DEADLINE:?}; abandoning unfinished work (the outbox keeps it)"
        ),
    }
    store.flush().await.context("cannot flush the store")?;
    Ok(report)
}
