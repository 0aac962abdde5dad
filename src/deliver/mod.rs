//! Delivery: notices leave the durable outbox in order, one at a time per destination, and are
//! removed only once the destination accepted them.
//!
//! Today the destination is the terminal (dry-run, or no Telegram token). Telegram destinations
//! plug in as another [`Sink`] without changing the outbox or its guarantees.

pub mod render;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::classify::TopicMatch;
use crate::items::Item;
use crate::store::{Store, StoreError};

/// An item that matched topics, with everything a message needs (so a delivery never depends on
/// config that may have changed by the time it is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub source_id: String,
    pub source_name: String,
    pub ministry: String,
    pub item: Item,
    pub topics: Vec<TopicMatch>,
    /// When the item was first seen; shown when the source gave no date.
    pub seen_at: chrono::DateTime<chrono::Utc>,
}

/// Where a delivery goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// Printed to standard output (dry-run, or no Telegram token).
    Stdout,
}

/// One notice for one destination, as kept in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub destination: Destination,
    pub notice: Notice,
    #[serde(default)]
    pub attempts: u32,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later (network, server error, rate limit).
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The output itself is gone (e.g. stdout closed): stop delivering, keep the outbox.
    #[error("{0}")]
    Fatal(String),
}

/// A shared text output (stdout in the binary, a buffer in tests).
#[derive(Clone)]
pub struct Printer(Arc<Mutex<Box<dyn Write + Send>>>);

impl Printer {
    pub fn stdout() -> Printer {
        Printer::new(Box::new(std::io::stdout()))
    }

    pub fn new(out: Box<dyn Write + Send>) -> Printer {
        Printer(Arc::new(Mutex::new(out)))
    }

    pub fn print(&self, text: &str) -> std::io::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// Where deliveries are performed.
#[derive(Clone)]
pub enum Sink {
    /// Prints each notice in the text the Telegram message carries.
    Print(Printer),
}

impl Sink {
    async fn send(&self, delivery: &Delivery) -> Result<(), SendError> {
        match (self, &delivery.destination) {
            (Sink::Print(printer), Destination::Stdout) => printer
                .print(&render::plain(&delivery.notice))
                .map_err(|e| {
                    SendError::Fatal(format!("cannot write notices to standard output: {e}"))
                }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Sink(String),
}

/// Drains the outbox through a [`Sink`].
pub struct Deliverer {
    pub store: Store,
    pub sink: Sink,
    /// Signalled by the ingest stage whenever it enqueued something.
    pub wake: Arc<Notify>,
}

impl Deliverer {
    /// Delivers until `shutdown` (finishing the send in flight), or — when `until_idle` is given —
    /// until that token is cancelled and the outbox is empty (`policy-watch once`).
    pub async fn run(
        self,
        shutdown: CancellationToken,
        until_idle: Option<CancellationToken>,
    ) -> Result<usize, DeliverError> {
        let mut delivered = 0;
        loop {
            if shutdown.is_cancelled() {
                return Ok(delivered);
            }
            let Some((seq, mut delivery)) = self.store.outbox_first()? else {
                if let Some(idle) = &until_idle {
                    if idle.is_cancelled() && self.store.outbox_len() == 0 {
                        return Ok(delivered);
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(delivered),
                    _ = self.wake.notified() => {}
                    _ = async { match &until_idle { Some(t) => t.cancelled().await, None => std::future::pending().await } } => {}
                }
                continue;
            };
            match self.sink.send(&delivery).await {
                Ok(()) => {
                    self.store.outbox_remove(seq)?;
                    delivered += 1;
                }
                Err(SendError::Fatal(reason)) => return Err(DeliverError::Sink(reason)),
                Err(SendError::Retry { reason, after }) => {
                    delivery.attempts += 1;
                    self.store.outbox_update(seq, &delivery)?;
                    let wait = after.unwrap_or_else(|| {
                        crate::backoff::backoff(delivery.attempts, Duration::from_secs(600))
                    });
                    tracing::warn!(
                        seq,
                        attempts = delivery.attempts,
                        "delivery failed: {reason}; retrying in {wait:?}"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(delivered),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }
}
