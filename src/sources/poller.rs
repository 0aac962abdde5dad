//! One [`Poller`] task per source: wait until due, fetch, parse, hand the result to the ingest
//! stage, wait for it to be committed, schedule the next poll.
//!
//! Waiting for the commit keeps the conditional-request validators and the seen set in step:
//! the next request is only sent once the previous response's items are durably recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Fetcher, SourceError, Validators};
use crate::backoff::{backoff, jitter};
use crate::config::SourceConfig;
use crate::items::Item;
use crate::store::Store;

/// Longest a Cache-Control max-age may stretch the poll interval: ministry servers sometimes send
/// a day-long max-age on pages that change hourly, and notices must arrive within minutes.
const MAX_AGE_CAP: Duration = Duration::from_secs(3600);

/// What a successful poll produced.
#[derive(Debug)]
pub enum PollOutcome {
    NotModified {
        max_age: Option<Duration>,
    },
    Items {
        items: Vec<Item>,
        /// What the parse saw (rows filtered out, rows without a title or link).
        stats: super::ParseStats,
        validators: Validators,
        max_age: Option<Duration>,
    },
}

/// A poll result on its way to the ingest stage.
pub struct PollEvent {
    pub source: Arc<SourceConfig>,
    pub attempted_at: DateTime<Utc>,
    pub result: Result<PollOutcome, SourceError>,
    /// Signalled once the result is committed to the store.
    pub committed: oneshot::Sender<()>,
}

/// Schedules and performs the polls of one source.
pub struct Poller {
    pub source: Arc<SourceConfig>,
    pub fetcher: Fetcher,
    pub store: Store,
    pub events: mpsc::Sender<PollEvent>,
    pub max_backoff: Duration,
    /// Told when the next poll is due (`/status`).
    pub health: Arc<crate::health::Health>,
    /// Shared by all pollers: a turn is held from fetch to commit (bounds memory).
    pub turns: Arc<tokio::sync::Semaphore>,
}

impl Poller {
    /// Polls until cancelled (or once, for `policy-watch once`). Never gives up on a source.
    pub async fn run(self, cancel: CancellationToken, once: bool) {
        let id = self.source.id().to_owned();
        let settings = super::settings_fingerprint(&self.source);
        let seen = {
            let (store, id) = (self.store.clone(), id.clone());
            move |key: &str| store.is_seen(&id, key).unwrap_or(false)
        };
        let mut delay = if once {
            Duration::ZERO
        } else {
            self.initial_delay()
        };
        loop {
            self.health.set_next_poll(
                &id,
                Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
            );
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let (validators, baselined) = match self.store.source_state(&id) {
                // Settings changed since the last committed poll: fetch and parse afresh.
                Ok(state) if state.settings.as_ref().is_some_and(|s| *s != settings) => {
                    (Validators::default(), false)
                }
                Ok(state) => (
                    Validators {
                        etag: state.etag,
                        last_modified: state.last_modified,
                        body_hash: state.body_hash,
                    },
                    state.baselined,
                ),
                Err(e) => {
                    tracing::error!(source = %id, "cannot read source state from the store: {e}; retrying in 1m");
                    delay = Duration::from_secs(60);
                    continue;
                }
            };
            let _turn = tokio::select! {
                _ = cancel.cancelled() => return,
                turn = self.turns.acquire() => match turn {
                    Ok(turn) => turn,
                    Err(_) => return, // closed: shutting down
                },
            };
            let attempted_at = Utc::now();
            let started = std::time::Instant::now();
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                r = super::poll(
                    &self.fetcher,
                    &self.source,
                    &validators,
                    baselined.then_some(&seen as &(dyn Fn(&str) -> bool + Send + Sync)),
                ) => r,
            };
            let outcome = match &result {
                Ok(PollOutcome::NotModified { .. }) => "not_modified",
                Ok(PollOutcome::Items { .. }) => "ok",
                Err(_) => "error",
            };
            metrics::counter!(crate::metrics::FETCHES, "source" => id.clone(), "result" => outcome)
                .increment(1);
            metrics::histogram!(crate::metrics::FETCH_SECONDS, "source" => id.clone())
                .record(crate::metrics::seconds(started.elapsed()));
            delay = self.next_delay(&result);
            let (committed, done) = oneshot::channel();
            let event = PollEvent {
                source: Arc::clone(&self.source),
                attempted_at,
                result,
                committed,
            };
            if self.events.send(event).await.is_err() {
                return; // the ingest stage is gone: shutting down
            }
            // Wait for the commit even when cancelled: the ingest stage drains its queue.
            let _ = done.await;
            if once {
                return;
            }
        }
    }

    /// After a restart, wait out the rest of the interval instead of polling at once.
    fn initial_delay(&self) -> Duration {
        let state = self
            .store
            .source_state(self.source.id())
            .unwrap_or_default();
        let Some(last) = state.last_attempt else {
            return Duration::ZERO;
        };
        let due = last + self.source.interval;
        let remaining = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        jitter(remaining.min(self.source.interval))
    }

    fn next_delay(&self, result: &Result<PollOutcome, SourceError>) -> Duration {
        match result {
            Ok(PollOutcome::NotModified { max_age } | PollOutcome::Items { max_age, .. }) => {
                let hinted = max_age.map(|a| a.min(MAX_AGE_CAP)).unwrap_or_default();
                jitter(self.source.interval.max(hinted))
            }
            Err(e) => {
                let failures = self
                    .store
                    .source_state(self.source.id())
                    .map(|s| s.consecutive_failures)
                    .unwrap_or(0)
                    + 1;
                let backoff = backoff(failures, self.max_backoff);
                let asked = match e {
                    SourceError::Fetch(f) => f.retry_after().unwrap_or_default(),
                    SourceError::Parse(_) => Duration::ZERO,
                };
                jitter(backoff.max(asked.min(self.max_backoff)))
            }
        }
    }
}
