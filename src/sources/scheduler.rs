//! The [`Scheduler`]: one [`Poller`] task per enabled source, kept in step with the config.
//!
//! On a reload (SIGHUP) it diffs the sources by id: removed ones are stopped, changed ones are
//! restarted with their new settings, added ones start. The history of a source belongs to its id,
//! so a changed URL re-sends nothing.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Mode;
use super::{Fetcher, PollEvent, Poller};
use crate::config::{Config, SourceConfig};
use crate::health::Health;
use crate::store::Store;

pub struct Scheduler {
    store: Store,
    fetcher: Fetcher,
    events: mpsc::Sender<PollEvent>,
    health: Arc<Health>,
    /// Polls between fetch and commit at once, over all sources ([`POLLS_IN_FLIGHT`]).
    turns: Arc<Semaphore>,
}

/// Polls in flight at once (fetch, parse, commit). Each holds a body of up to `http.max_body`
/// and its parsed items until the ingest stage has committed them: without a bound, 1,000
/// sources answering together held every parsed feed in memory at once (137 MB peak in the
/// scale benchmark).
pub(super) const POLLS_IN_FLIGHT: usize = 16;

struct Running {
    source: SourceConfig,
    stop: CancellationToken,
}

impl Scheduler {
    pub fn new(
        store: Store,
        fetcher: Fetcher,
        events: mpsc::Sender<PollEvent>,
        health: Arc<Health>,
    ) -> Scheduler {
        Scheduler {
            store,
            fetcher,
            events,
            health,
            turns: Arc::new(Semaphore::new(POLLS_IN_FLIGHT)),
        }
    }

    /// Runs the pollers until `shutdown` (daemon) or until each has polled once (once).
    pub async fn run(
        mut self,
        mut config: watch::Receiver<Arc<Config>>,
        mode: Mode,
        shutdown: CancellationToken,
    ) {
        let tracker = TaskTracker::new();
        let mut running: HashMap<String, Running> = HashMap::new();
        let initial = config.borrow_and_update().clone();
        for source in initial.enabled_sources() {
            self.start(&tracker, &mut running, source, &initial, mode, &shutdown);
        }
        self.health.set_sources(running.len());
        if mode == Mode::Daemon {
            let mut beat = tokio::time::interval(self.health.beat_every());
            let mut reloads = true;
            loop {
                self.health.beat_scheduler();
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = beat.tick() => {}
                    changed = config.changed(), if reloads => {
                        if changed.is_err() {
                            reloads = false; // the config can no longer change
                            continue;
                        }
                        let new = config.borrow_and_update().clone();
                        self.apply(&tracker, &mut running, &new, &shutdown);
                    }
                }
            }
        }
        drop(self.events);
        tracker.close();
        tracker.wait().await;
    }

    fn start(
        &self,
        tracker: &TaskTracker,
        running: &mut HashMap<String, Running>,
        source: &SourceConfig,
        config: &Config,
        mode: Mode,
        shutdown: &CancellationToken,
    ) {
        let stop = shutdown.child_token();
        let poller = Poller {
            source: Arc::new(source.clone()),
            fetcher: self.fetcher.clone(),
            store: self.store.clone(),
            events: self.events.clone(),
            max_backoff: config.http.max_backoff,
            health: Arc::clone(&self.health),
            turns: Arc::clone(&self.turns),
        };
        tracker.spawn(poller.run(stop.clone(), mode == Mode::Once));
        running.insert(
            source.id().to_owned(),
            Running {
                source: source.clone(),
                stop,
            },
        );
    }

    /// Brings the running pollers in line with a new config, logging what changed.
    fn apply(
        &mut self,
        tracker: &TaskTracker,
        running: &mut HashMap<String, Running>,
        config: &Config,
        shutdown: &CancellationToken,
    ) {
        match Fetcher::new(&config.http) {
            Ok(fetcher) => self.fetcher = fetcher,
            Err(e) => tracing::error!(
                "reload: cannot set up the HTTP client with the new [http] settings: {e}; keeping the old client"
            ),
        }
        let wanted: HashMap<&str, &SourceConfig> =
            config.enabled_sources().map(|s| (s.id(), s)).collect();
        let mut removed = Vec::new();
        let mut changed = Vec::new();
        running.retain(|id, r| match wanted.get(id.as_str()) {
            None => {
                r.stop.cancel();
                removed.push(id.clone());
                false
            }
            Some(new) if **new != r.source => {
                r.stop.cancel();
                changed.push(id.clone());
                false
            }
            Some(_) => true,
        });
        let mut added = Vec::new();
        for (id, source) in &wanted {
            if !running.contains_key(*id) {
                if !changed.iter().any(|c| c == id) {
                    added.push(id.to_string());
                }
                self.start(tracker, running, source, config, Mode::Daemon, shutdown);
            }
        }
        self.health.set_sources(running.len());
        added.sort();
        removed.sort();
        changed.sort();
        tracing::info!(
            "config reloaded: {} sources running; added [{}], removed [{}], changed [{}]; {} topics, {} Telegram destinations",
            running.len(),
            added.join(", "),
            removed.join(", "),
            changed.join(", "),
            config.topics.len(),
            config.telegram.destinations.len()
        );
    }
}
