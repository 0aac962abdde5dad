//! Liveness of the pipeline's long-lived stages, shared by everything that reports it: the
//! systemd watchdog and STATUS= lines (daemon), `/healthz` (metrics), `/status` (bot). A leaf:
//! the stages beat it, the reporters read it.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

/// Liveness of the pipeline, for the systemd watchdog (and `/healthz`): the scheduler and the
/// deliverer each beat at least every [`Health::beat_every`]; the watchdog is fed only while both
/// beat within a watchdog period.
#[derive(Debug)]
pub struct Health {
    beat_every: Duration,
    scheduler: AtomicI64,
    deliverer: AtomicI64,
    last_poll: AtomicI64,
    sources: AtomicUsize,
    started: chrono::DateTime<chrono::Utc>,
    /// When each source polls next (for `/status`).
    next_polls: std::sync::Mutex<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>>,
}

impl Health {
    pub fn new(beat_every: Duration) -> Health {
        let now = now_millis();
        Health {
            beat_every,
            scheduler: AtomicI64::new(now),
            deliverer: AtomicI64::new(now),
            last_poll: AtomicI64::new(0),
            sources: AtomicUsize::new(0),
            started: chrono::Utc::now(),
            next_polls: Default::default(),
        }
    }

    pub fn started(&self) -> chrono::DateTime<chrono::Utc> {
        self.started
    }

    /// A poller scheduled its next poll.
    pub(crate) fn set_next_poll(&self, source: &str, at: chrono::DateTime<chrono::Utc>) {
        self.next_polls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.to_owned(), at);
    }

    pub(crate) fn next_poll(&self, source: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.next_polls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(source)
            .copied()
    }

    pub(crate) fn beat_every(&self) -> Duration {
        self.beat_every
    }

    pub(crate) fn beat_scheduler(&self) {
        self.scheduler.store(now_millis(), Ordering::Relaxed);
    }

    pub(crate) fn beat_deliverer(&self) {
        self.deliverer.store(now_millis(), Ordering::Relaxed);
    }

    /// A poll result was committed.
    pub fn polled(&self) {
        self.last_poll.store(now_millis(), Ordering::Relaxed);
    }

    pub(crate) fn set_sources(&self, n: usize) {
        self.sources.store(n, Ordering::Relaxed);
    }

    pub fn sources(&self) -> usize {
        self.sources.load(Ordering::Relaxed)
    }

    /// Both stages beat within `within`.
    pub fn alive(&self, within: Duration) -> bool {
        let now = now_millis();
        let fresh =
            |beat: &AtomicI64| now - beat.load(Ordering::Relaxed) <= within.as_millis() as i64;
        fresh(&self.scheduler) && fresh(&self.deliverer)
    }

    /// Last committed poll, as KST wall time.
    pub(crate) fn last_poll_kst(&self) -> Option<String> {
        let millis = self.last_poll.load(Ordering::Relaxed);
        (millis > 0)
            .then(|| chrono::DateTime::from_timestamp_millis(millis))
            .flatten()
            .map(|t| {
                t.with_timezone(&crate::items::kst())
                    .format("%H:%M KST")
                    .to_string()
            })
    }
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
