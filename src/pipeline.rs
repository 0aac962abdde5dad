//! The wiring: `run` starts every stage as a task on one tracker, joins them with their
//! channels, and drains them under one deadline at shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::classify::Classifier;
use crate::config::Config;
use crate::deliver::telegram::TelegramSink;
use crate::deliver::{Deliverer, Sinks};
use crate::health::Health;
use crate::ingest::{IngestTotals, Ingestor, routes};
use crate::printer::Printer;
use crate::sources::Mode;
use crate::sources::{Fetcher, PollEvent, Scheduler};
use crate::store::Store;
use crate::{bot, daemon, deliver, items, metrics, pacer, reload, sources};

/// How long shutdown may take before the remaining tasks are abandoned (the outbox is durable,
/// so abandoning loses nothing). Shorter than the systemd unit's TimeoutStopSec.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Capacity of the poll-result channel: pollers wait (backpressure) rather than pile up results.
const EVENT_QUEUE: usize = 16;

/// Where notices go and what previews are shown.
pub struct Output {
    pub(crate) sinks: Sinks,
    /// Dry-run: also show baselined matches, marked as not sent.
    pub preview: Option<Printer>,
    /// How the bot's `/reload` re-reads the config (SIGHUP's path); `None`: not available.
    pub reloader: Option<reload::Reloader>,
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
    pub fn with_reloader(mut self, reloader: reload::Reloader) -> Output {
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
            Ok(report) if report.seen_total() + report.archived == 0 => {}
            Ok(report) => tracing::info!(
                "pruned {} seen items not listed by their source for {} ({} older ones kept: still listed) and {} archived items dated before then",
                report.seen_total(),
                items::format_duration(keep),
                report.kept_listed,
                report.archived
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
    let classifier = Classifier::new(&initial.classify, &initial.topics)?;
    let pipeline = Pipeline::new(&initial, store.clone(), config, mode, shutdown);
    // The metrics recorder first: counters of the first polls would go nowhere otherwise.
    if let (Mode::Daemon, Some(listen)) = (mode, initial.metrics.listen) {
        let server = metrics::start(
            listen,
            pipeline.health.clone(),
            store.clone(),
            pipeline.shutdown.clone(),
        )
        .await?;
        pipeline.tracker.spawn(server);
    }
    let events = pipeline.start_polling(&initial)?;
    let telegram = output.sinks.telegram.is_some();
    let (ingest, ingest_done) = pipeline.start_ingest(events, classifier, telegram, output.preview);
    let pacer = pacer::Pacer::start(&initial.telegram.limits);
    // The bot asks the deliverer (the outbox's only remover) to drop what waits for a chat.
    let (withdraw, withdrawals) = mpsc::unbounded_channel();
    if let (Mode::Daemon, Some(sink)) = (mode, &output.sinks.telegram) {
        pipeline.start_subscriber_side(&initial, sink, output.reloader, &pacer, withdraw);
    }
    let attachments = sources::Fetcher::new(&initial.http)
        .map(|fetcher| {
            Arc::new(deliver::attachments::Attachments::new(
                fetcher,
                initial.sources.iter().cloned(),
            ))
        })
        .context("cannot set up the HTTP client for attachments")?;
    let deliverer = Deliverer {
        store: store.clone(),
        attachments: Some(attachments),
        pacer,
        withdrawals,
        admins: initial.telegram.admins.clone(),
        reactivate: routes(&initial, telegram)
            .into_iter()
            .map(|r| r.destination)
            .collect(),
        sinks: output.sinks,
        wake: Arc::clone(&pipeline.wake),
        health: Arc::clone(&pipeline.health),
    };
    let deliver = pipeline.start_delivery(deliverer, ingest_done);
    if mode == Mode::Daemon {
        pipeline.start_upkeep();
    }
    let report = pipeline.drain(ingest, deliver).await?;
    store.flush().await.context("cannot flush the store")?;
    Ok(report)
}

/// What the stages share while `run` wires them: the store, the config, liveness, the
/// deliverer's wake-up, and the one shutdown mechanism (a token and the tracker of every task).
struct Pipeline {
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    mode: Mode,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    health: Arc<Health>,
    wake: Arc<Notify>,
}

type Handle<T> = tokio::task::JoinHandle<T>;

impl Pipeline {
    fn new(
        initial: &Config,
        store: Store,
        config: watch::Receiver<Arc<Config>>,
        mode: Mode,
        shutdown: CancellationToken,
    ) -> Pipeline {
        // Stages beat at least every quarter of the systemd watchdog period (at most 15 s).
        let beat_every = daemon::watchdog_period()
            .map(|w| w / 4)
            .unwrap_or(Duration::from_secs(15))
            .clamp(Duration::from_millis(50), Duration::from_secs(15));
        let health = Arc::new(Health::new(beat_every));
        health.set_sources(initial.enabled_sources().count());
        Pipeline {
            store,
            config,
            mode,
            shutdown,
            tracker: TaskTracker::new(),
            health,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The scheduler and its pollers; returns the poll events.
    fn start_polling(&self, initial: &Config) -> anyhow::Result<mpsc::Receiver<PollEvent>> {
        let fetcher = Fetcher::new(&initial.http).context("cannot set up the HTTP client")?;
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let scheduler = Scheduler::new(self.store.clone(), fetcher, events_tx, self.health.clone());
        self.tracker
            .spawn(scheduler.run(self.config.clone(), self.mode, self.shutdown.clone()));
        Ok(events_rx)
    }

    /// The ingest stage; its token is cancelled once every poll is committed (`once` then lets
    /// the deliverer finish when idle).
    fn start_ingest(
        &self,
        events: mpsc::Receiver<PollEvent>,
        classifier: Classifier,
        telegram: bool,
        preview: Option<Printer>,
    ) -> (Handle<IngestTotals>, CancellationToken) {
        let ingestor = Ingestor {
            store: self.store.clone(),
            config: self.config.clone(),
            telegram,
            preview,
            wake: Arc::clone(&self.wake),
            health: Arc::clone(&self.health),
            previewed: Default::default(),
        };
        let done = CancellationToken::new();
        let finished = done.clone();
        let handle = self.tracker.spawn(async move {
            let totals = ingestor.run(events, classifier).await;
            finished.cancel();
            totals
        });
        (handle, done)
    }

    /// The bot (unless `telegram.bot = false`) and the subscribers' daily digests.
    fn start_subscriber_side(
        &self,
        initial: &Config,
        sink: &TelegramSink,
        reloader: Option<reload::Reloader>,
        pacer: &Arc<pacer::Pacer>,
        withdraw: mpsc::UnboundedSender<deliver::Withdraw>,
    ) {
        if initial.telegram.bot {
            let bot = bot::Bot {
                telegram: sink.bot().clone(),
                updates: sink.updates_bot().clone(),
                store: self.store.clone(),
                config: self.config.clone(),
                reloader,
                health: Arc::clone(&self.health),
                replies: bot::Replies::new(
                    sink.bot().clone(),
                    Arc::clone(pacer),
                    self.store.clone(),
                    withdraw.clone(),
                ),
                withdraw,
                wake: Arc::clone(&self.wake),
            };
            self.tracker.spawn(bot.run(self.shutdown.clone()));
        }
        let digester = deliver::digest::Digester {
            store: self.store.clone(),
            wake: Arc::clone(&self.wake),
            clock: Arc::new(deliver::digest::SystemClock),
        };
        self.tracker.spawn(digester.run(self.shutdown.clone()));
    }

    /// The deliverer. A delivery that cannot go on (its output is gone) stops the pipeline.
    fn start_delivery(
        &self,
        deliverer: Deliverer,
        ingest_done: CancellationToken,
    ) -> Handle<Result<deliver::DeliveryReport, deliver::DeliverError>> {
        let shutdown = self.shutdown.clone();
        let until_idle = (self.mode == Mode::Once).then_some(ingest_done);
        self.tracker.spawn(async move {
            let result = deliverer.run(shutdown.clone(), until_idle).await;
            if result.is_err() {
                shutdown.cancel();
            }
            result
        })
    }

    /// Daily pruning, giving freed memory back, and the conversation with systemd.
    fn start_upkeep(&self) {
        self.tracker
            .spawn(daemon::release_memory(self.shutdown.clone()));
        self.tracker.spawn(prune_daily(
            self.store.clone(),
            self.config.clone(),
            self.shutdown.clone(),
        ));
        self.tracker.spawn(daemon::supervise_systemd(
            Arc::clone(&self.health),
            self.store.clone(),
            self.shutdown.clone(),
        ));
    }

    /// Once: waits for the tasks to finish by themselves. Daemon: waits for `shutdown`, then
    /// for the stages to drain, at most [`DRAIN_DEADLINE`] (the outbox keeps what is left).
    async fn drain(
        self,
        ingest: Handle<IngestTotals>,
        deliver: Handle<Result<deliver::DeliveryReport, deliver::DeliverError>>,
    ) -> anyhow::Result<RunReport> {
        self.tracker.close();
        let daemon = self.mode == Mode::Daemon;
        let finished = async {
            if daemon {
                self.shutdown.cancelled().await;
                tracing::info!("shutting down: stopping polls, finishing the sends in flight");
            }
            let totals = ingest.await.context("ingest task failed")?;
            let delivered = deliver.await.context("delivery task failed")??;
            self.tracker.wait().await;
            anyhow::Ok((totals, delivered))
        };
        let drained = if daemon {
            tokio::select! {
                r = finished => Some(r),
                _ = async { self.shutdown.cancelled().await; tokio::time::sleep(DRAIN_DEADLINE).await } => None,
            }
        } else {
            Some(finished.await)
        };
        let mut report = RunReport::default();
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
        Ok(report)
    }
}
