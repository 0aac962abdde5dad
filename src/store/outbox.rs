//! The outbox's operations (the deliverer's side of the store): pending deliveries in order,
//! enqueueing alerts, removal once sent, updates in place, dead letters, and what the store
//! remembers about each destination.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionError;

use super::codec::{NEXT_SEQ, from_json, get_json, read_next_seq, storage_error, to_json};
use super::{Store, StoreError};
use crate::records::Delivery;

/// A delivery that can never be sent as it is, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub delivery: Delivery,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the store remembers about a destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationState {
    /// Set when Telegram said the bot may not post there (403, chat not found).
    pub inactive_since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The group became a supergroup with this chat id.
    pub(crate) migrated_to: Option<String>,
    /// Telegram's last 429 for this chat said: not before this. Kept so that a restarted
    /// process honours a retry_after its predecessor received.
    #[serde(default)]
    pub(crate) retry_not_before: Option<DateTime<Utc>>,
}

impl Store {
    /// Pending deliveries in order.
    pub fn outbox_iter(&self) -> impl Iterator<Item = Result<(u64, Delivery), StoreError>> + '_ {
        self.outbox_after(None)
    }

    /// Pending deliveries with a sequence number above `after` (all when `None`), in order.
    pub(crate) fn outbox_after(
        &self,
        after: Option<u64>,
    ) -> impl Iterator<Item = Result<(u64, Delivery), StoreError>> + '_ {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        self.outbox.range(start.to_be_bytes()..).map(|entry| {
            let (k, v) = entry?;
            let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
            let delivery = from_json(&v, || format!("outbox/{seq}"))?;
            Ok((seq, delivery))
        })
    }

    /// Appends one delivery to the outbox (operator alerts; notices go through [`Store::commit_poll`]).
    pub fn enqueue(&self, delivery: &Delivery) -> Result<u64, StoreError> {
        let value = to_json(delivery);
        let result: Result<u64, TransactionError<()>> =
            (&self.outbox, &self.meta).transaction(|(outbox, meta)| {
                let seq = read_next_seq(meta.get(NEXT_SEQ)?);
                outbox.insert(&seq.to_be_bytes(), value.as_slice())?;
                meta.insert(NEXT_SEQ, &(seq + 1).to_be_bytes())?;
                Ok(seq)
            });
        result.map_err(storage_error)
    }

    /// Moves a delivery that can never be sent from the outbox to `dead`, atomically.
    pub(crate) fn dead_letter(
        &self,
        seq: u64,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), StoreError> {
        let letter = to_json(&DeadLetter {
            delivery: delivery.clone(),
            reason: reason.to_owned(),
            at: Utc::now(),
        });
        let result: Result<(), TransactionError<()>> =
            (&self.outbox, &self.dead).transaction(|(outbox, dead)| {
                outbox.remove(&seq.to_be_bytes())?;
                dead.insert(&seq.to_be_bytes(), letter.as_slice())?;
                Ok(())
            });
        result.map_err(storage_error)
    }

    /// Deliveries moved to `dead`.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead
            .iter()
            .values()
            .map(|v| {
                let v = v?;
                from_json(&v, || "dead".into())
            })
            .collect()
    }

    pub fn destination_state(&self, key: &str) -> Result<DestinationState, StoreError> {
        get_json(&self.destinations, "destinations", key)
    }

    pub(crate) fn save_destination_state(
        &self,
        key: &str,
        state: &DestinationState,
    ) -> Result<(), StoreError> {
        self.destinations.insert(key, to_json(state))?;
        Ok(())
    }

    /// Removes a delivery once the destination accepted it.
    pub(crate) fn outbox_remove(&self, seq: u64) -> Result<(), StoreError> {
        self.outbox.remove(seq.to_be_bytes())?;
        Ok(())
    }

    /// Replaces a pending delivery (e.g. its attempt count) in place, keeping its position.
    pub(crate) fn outbox_update(&self, seq: u64, delivery: &Delivery) -> Result<(), StoreError> {
        self.outbox.insert(seq.to_be_bytes(), to_json(delivery))?;
        Ok(())
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}
