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
use crate::store::{SourceState, Store};

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
    pub(crate) attempted_at: DateTime<Utc>,
    pub result: Result<PollOutcome, SourceError>,
    /// Answered once the result is committed: the source's state as committed (`None` when the
    /// store failed; the poller then reads it again). The poller keeps it for its next poll, so
    /// a poll reads the source's state once, from the stage that wrote it.
    pub committed: oneshot::Sender<Option<SourceState>>,
}

/// Schedules and performs the polls of one source.
pub struct Poller {
    pub source: Arc<SourceConfig>,
    pub fetcher: Fetcher,
    pub store: Store,
    pub(crate) events: mpsc::Sender<PollEvent>,
    pub(crate) max_backoff: Duration,
    /// Told when the next poll is due (`/status`).
    pub health: Arc<crate::health::Health>,
    /// Shared by all pollers: a turn is held from fetch to commit (bounds memory).
    pub(crate) turns: Arc<tokio::sync::Semaphore>,
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
        let Some(mut state) = self.read_state(&cancel).await else {
            return;
        };
        let mut delay = if once {
            Duration::ZERO
        } else {
            self.initial_delay(&state)
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
            // Settings changed since the last committed poll: fetch and parse afresh.
            let (validators, baselined) = if state.settings.as_ref().is_some_and(|s| *s != settings)
            {
                (Validators::default(), false)
            } else {
                (state.validators.clone(), state.baselined)
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
            let hint = Hint::of(&result);
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
            state = match done.await {
                Ok(Some(committed)) => committed,
                _ => match self.read_state(&cancel).await {
                    Some(state) => state,
                    None => return,
                },
            };
            if once {
                return;
            }
            delay = self.next_delay(hint, &state);
        }
    }

    /// The source's state from the store, retried every minute while the store fails (`None`
    /// when cancelled meanwhile).
    async fn read_state(&self, cancel: &CancellationToken) -> Option<SourceState> {
        loop {
            match self.store.source_state(self.source.id()) {
                Ok(state) => return Some(state),
                Err(e) => {
                    tracing::error!(source = %self.source.id(), "cannot read source state from the store: {e}; retrying in 1m");
                    tokio::select! {
                        _ = cancel.cancelled() => return None,
                        _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                    }
                }
            }
        }
    }

    /// After a restart, wait for the poll that was due after the last one instead of polling at
    /// once.
    fn initial_delay(&self, state: &SourceState) -> Duration {
        let Some(last) = state.last_attempt else {
            return Duration::ZERO;
        };
        let now = Utc::now();
        match &self.source.schedule {
            Some(schedule) => {
                let due = super::schedule::next_after(schedule, last);
                after((due - now).to_std().unwrap_or(Duration::ZERO))
            }
            None => {
                let due = last + self.source.interval;
                let remaining = (due - now).to_std().unwrap_or(Duration::ZERO);
                jitter(remaining.min(self.source.interval))
            }
        }
    }

    /// The wait before the next poll: the schedule's (or the interval), stretched by the
    /// server's max-age (capped), or after a failure the backoff for the committed count of
    /// failures in a row (or the server's Retry-After if longer).
    fn next_delay(&self, hint: Hint, state: &SourceState) -> Duration {
        match hint {
            Hint::Ok { max_age } => {
                let hinted = max_age.map(|a| a.min(MAX_AGE_CAP)).unwrap_or_default();
                match &self.source.schedule {
                    Some(schedule) => {
                        after(super::schedule::wait_after(schedule, Utc::now()).max(hinted))
                    }
                    None => jitter(self.source.interval.max(hinted)),
                }
            }
            Hint::Failed { retry_after } => {
                let backoff = backoff(state.consecutive_failures.max(1), self.max_backoff);
                jitter(backoff.max(retry_after.min(self.max_backoff)))
            }
        }
    }
}

/// A scheduled wait with a little jitter, never earlier: a poll due 30 s after the full hour must
/// not go before the hour (up to 5 s later, so that many sources on one host spread out).
fn after(wait: Duration) -> Duration {
    use rand::Rng;
    let spread = (wait / 20).min(Duration::from_secs(5));
    wait + spread.mul_f64(rand::rng().random_range(0.0..1.0))
}

/// What a poll's result says about when to poll next.
#[derive(Debug, Clone, Copy)]
enum Hint {
    Ok { max_age: Option<Duration> },
    Failed { retry_after: Duration },
}

impl Hint {
    fn of(result: &Result<PollOutcome, SourceError>) -> Hint {
        match result {
            Ok(PollOutcome::NotModified { max_age } | PollOutcome::Items { max_age, .. }) => {
                Hint::Ok { max_age: *max_age }
            }
            Err(e) => Hint::Failed {
                retry_after: match e {
                    SourceError::Fetch(f) => f.retry_after().unwrap_or_default(),
                    SourceError::Parse(_) => Duration::ZERO,
                },
            },
        }
    }
}
