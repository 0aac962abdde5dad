//! Daily digests: subscribers who chose `/digest on HH:MM` get one summary a day instead of a
//! message per notice.
//!
//! The ingest stage puts their notices into the store's `digest` queue (in the poll's
//! transaction). At the subscriber's time (KST) the [`Digester`] moves the queue into the outbox
//! as one message — several when a busy day does not fit 4096 characters — in one transaction,
//! so a digest is made once and delivered like any notice (paced, retried, never lost). A day
//! without notices sends nothing. If the daemon was down at digest time, the digest is made as
//! soon as it runs again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::items::kst;
use crate::records::{Delivery, Digest, Notice, Payload};
use crate::store::{Store, StoreError, Subscriber};

/// Wall-clock time, replaceable so tests can run a day in paused tokio time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that advances with tokio's clock from a given start (tests with paused time).
pub struct TokioClock {
    start: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            at: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + self.at.elapsed()
    }
}

/// Longest sleep between two looks at the subscribers (a new `/digest on` is seen within it).
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// When `subscriber`'s next digest is due, if it has one: today's time (KST) unless today's
/// digest was made, else tomorrow's. A time already past is due now.
/// `/digest on HH:MM`: a daily digest at `at` (KST) from now on. Today's is due only if its time
/// is still ahead (no digest of a day half gone by the time it was asked for).
pub(crate) fn switch_on(
    store: &Store,
    chat: i64,
    at: chrono::NaiveTime,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let today = now.with_timezone(&crate::items::kst()).date_naive();
    store.update_subscriber(chat, |s| {
        s.map(|mut s| {
            s.digest_at = Some(at);
            s.last_digest = today.pred_opt();
            if due_at(&s, now).is_some_and(|due| due <= now) {
                s.last_digest = Some(today);
            }
            s
        })
    })?;
    Ok(())
}

/// `/digest off`: each notice as it comes from now on, and what was collected goes into the
/// outbox at once as one digest. Returns the deliveries queued (the caller wakes the deliverer).
pub(crate) fn switch_off(
    store: &Store,
    chat: i64,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    store.update_subscriber(chat, |s| {
        s.map(|mut s| {
            s.digest_at = None;
            s
        })
    })?;
    let today = now.with_timezone(&crate::items::kst()).date_naive();
    store.make_digest(chat, today, |s, notices| compose(s, today, notices))
}

pub(crate) fn due_at(subscriber: &Subscriber, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = subscriber.digest_at?;
    if !subscriber.active {
        return None;
    }
    let today = now.with_timezone(&kst()).date_naive();
    let day = match subscriber.last_digest {
        Some(last) if last >= today => today.succ_opt()?,
        _ => today,
    };
    kst()
        .from_local_datetime(&day.and_time(at))
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The outbox messages of one digest.
pub(crate) fn compose(
    subscriber: &Subscriber,
    day: NaiveDate,
    notices: Vec<Notice>,
) -> Vec<Delivery> {
    let heading_len = crate::render::utf16_len(&crate::text::digest_heading(
        subscriber.lang,
        day,
        notices.len(),
        99,
        99,
    ));
    let parts = crate::render::split_list(notices, heading_len);
    let count = parts.len() as u32;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, notices)| Delivery {
            destination: subscriber.destination(),
            payload: Payload::Digest(Digest {
                day,
                lang: subscriber.lang,
                part: i as u32 + 1,
                parts: count,
                notices,
            }),
            attempts: 0,
            plain: false,
        })
        .collect()
}

/// Makes digests when they are due.
pub struct Digester {
    pub store: Store,
    /// The deliverer's wake-up: a digest was put into the outbox.
    pub wake: Arc<Notify>,
    pub clock: Arc<dyn Clock>,
}

impl Digester {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now();
            let next = match self.make_due(now) {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!("cannot make the daily digests: {e}; retrying in a minute");
                    None
                }
            };
            let wait = next
                .and_then(|at| (at - now).to_std().ok())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(100), LOOK_EVERY);
            let wait = if next.is_none() { LOOK_EVERY } else { wait };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Makes every digest due at `now`. Returns when the next one is due.
    pub(crate) fn make_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for subscriber in self.store.subscribers()? {
            let Some(due) = due_at(&subscriber, now) else {
                continue;
            };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            let day = due.with_timezone(&kst()).date_naive();
            let made = self
                .store
                .make_digest(subscriber.chat, day, |s, notices| compose(s, day, notices))?;
            tracing::info!(
                chat = subscriber.chat,
                "daily digest for {day}: {made} notices"
            );
            if made > 0 {
                self.wake.notify_one();
            }
            self.store.flush_blocking()?;
            if let Some(after) = self
                .store
                .subscriber(subscriber.chat)?
                .and_then(|s| due_at(&s, now))
            {
                next = Some(next.map_or(after, |n| n.min(after)));
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Lang;
    use crate::store::ChatKind;
    use chrono::NaiveTime;

    fn at_kst(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        kst()
            .with_ymd_and_hms(2026, 11, day, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn due_today_until_made_then_tomorrow() {
        let mut s = Subscriber::new(42, ChatKind::Private, Lang::Ko);
        assert_eq!(due_at(&s, at_kst(26, 7, 0)), None, "no digest chosen");
        s.digest_at = NaiveTime::from_hms_opt(8, 30, 0);
        assert_eq!(due_at(&s, at_kst(26, 7, 0)), Some(at_kst(26, 8, 30)));
        assert_eq!(
            due_at(&s, at_kst(26, 9, 0)),
            Some(at_kst(26, 8, 30)),
            "missed: due now"
        );
        s.last_digest = NaiveDate::from_ymd_opt(2026, 11, 26);
        assert_eq!(due_at(&s, at_kst(26, 9, 0)), Some(at_kst(27, 8, 30)));
        // 23:30 UTC is already the next day in Korea.
        assert_eq!(
            due_at(&s, Utc.with_ymd_and_hms(2026, 11, 26, 23, 30, 0).unwrap()),
            Some(at_kst(27, 8, 30))
        );
        s.active = false;
        assert_eq!(due_at(&s, at_kst(27, 9, 0)), None, "blocked: no digest");
    }
}
