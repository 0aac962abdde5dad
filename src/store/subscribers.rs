//! Subscribers (people and groups who chose topics by talking to the bot), `/recent`, and the
//! per-subscriber digest queues.
//!
//! The bot writes subscriptions; the ingest stage reads them to fan a notice out (in the same
//! transaction that marks the item seen, see [`Store::commit_poll`]); the deliverer deactivates a
//! subscriber who blocked the bot. Every read-modify-write goes through a sled transaction, so the
//! three never overwrite each other's changes.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::codec::{NEXT_SEQ, from_json, read_next_seq, storage_error, to_json};
use super::{Store, StoreError};
use crate::records::{Delivery, Destination, Lang, Notice};

/// What kind of chat subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
}

/// A chat that subscribed to topics through the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub chat: i64,
    pub kind: ChatKind,
    /// Topic ids of the current config.
    #[serde(default)]
    pub topics: BTreeSet<String>,
    /// The chat's own watch words (`/watch`), as typed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub watch: BTreeSet<String>,
    /// False once Telegram refused to deliver (the user blocked the bot); `/start` reactivates.
    pub active: bool,
    #[serde(default)]
    pub inactive_reason: Option<String>,
    #[serde(default)]
    pub lang: Lang,
    /// Daily digest at this KST time instead of one message per notice.
    #[serde(default)]
    pub digest_at: Option<NaiveTime>,
    /// KST day of the last digest made (so each day has at most one).
    #[serde(default)]
    pub last_digest: Option<NaiveDate>,
    pub since: DateTime<Utc>,
}

impl Subscriber {
    pub fn new(chat: i64, kind: ChatKind, lang: Lang) -> Subscriber {
        Subscriber {
            chat,
            kind,
            topics: BTreeSet::new(),
            watch: BTreeSet::new(),
            active: true,
            inactive_reason: None,
            lang,
            digest_at: None,
            last_digest: None,
            since: Utc::now(),
        }
    }

    /// Where its notices go.
    pub fn destination(&self) -> Destination {
        Destination::Telegram {
            chat: self.chat.to_string(),
        }
    }

    /// Whether a notice with these topic ids is for this subscriber.
    pub(crate) fn wants<'a>(&self, mut topics: impl Iterator<Item = &'a str>) -> bool {
        self.active && topics.any(|t| self.topics.contains(t))
    }
}

/// Key of a notice waiting in a chat's digest queue: chat (i64 BE) ‖ sequence (u64 BE).
pub(super) fn digest_key(chat: i64, seq: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&chat.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Meta key of the last Telegram update handled (so a restart never handles one twice).
const UPDATE_OFFSET: &str = "update_offset";

impl Store {
    pub fn subscriber(&self, chat: i64) -> Result<Option<Subscriber>, StoreError> {
        self.subscribers
            .get(chat.to_string())?
            .map(|bytes| parse_subscriber(chat, &bytes))
            .transpose()
    }

    /// Every subscriber, active or not.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        self.subscribers
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                let chat = String::from_utf8_lossy(&key).parse().unwrap_or(0);
                parse_subscriber(chat, &bytes)
            })
            .collect()
    }

    /// Atomically replaces the subscriber record of `chat` with `change(current)` (`None` deletes
    /// it) and returns the new record. `change` may run more than once: keep it pure.
    pub fn update_subscriber(
        &self,
        chat: i64,
        change: impl Fn(Option<Subscriber>) -> Option<Subscriber>,
    ) -> Result<Option<Subscriber>, StoreError> {
        let key = chat.to_string();
        let result: Result<Option<Subscriber>, TransactionError<StoreError>> =
            self.subscribers.transaction(|tree| {
                let current = tree
                    .get(key.as_bytes())?
                    .map(|bytes| parse_subscriber(chat, &bytes))
                    .transpose()
                    .map_err(ConflictableTransactionError::Abort)?;
                let new = change(current);
                match &new {
                    Some(subscriber) => {
                        tree.insert(key.as_bytes(), to_json(subscriber))?;
                    }
                    None => {
                        tree.remove(key.as_bytes())?;
                    }
                }
                Ok(new)
            });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })
    }

    /// `/stop`: forgets the chat: its record, its digest queue and its pending deliveries.
    /// Returns how many pending deliveries were dropped.
    pub(crate) fn forget_subscriber(&self, chat: i64) -> Result<bool, StoreError> {
        let existed = self.subscribers.remove(chat.to_string())?.is_some();
        self.drop_digest_queue(chat)?;
        Ok(existed)
    }

    /// Drops `chat`'s digest queue. (Its pending deliveries are the deliverer's: it drops them
    /// when asked, see `deliver::Withdraw`.)
    fn drop_digest_queue(&self, chat: i64) -> Result<(), StoreError> {
        for key in self.digest.scan_prefix(chat.to_be_bytes()).keys() {
            self.digest.remove(key?)?;
        }
        Ok(())
    }

    /// Removes every pending delivery to `destination` (a subscriber who left or blocked the
    /// bot). Only the deliverer calls it: it owns the outbox. Returns how many went.
    pub(crate) fn drop_deliveries_to(
        &self,
        destination: &Destination,
    ) -> Result<usize, StoreError> {
        let mut dropped = 0;
        for entry in self.outbox_iter() {
            let (seq, delivery) = entry?;
            if &delivery.destination == destination {
                self.outbox_remove(seq)?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// A subscriber blocked the bot or removed it from the group: keep the record (so `/start`
    /// brings the subscriptions back) but stop fanning out to it and drop its digest queue.
    /// Returns whether `chat` was an active subscriber. (What waits in the outbox is dropped by
    /// the deliverer.)
    pub(crate) fn deactivate_subscriber(
        &self,
        chat: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let was_active = self.subscriber(chat)?.is_some_and(|s| s.active);
        self.update_subscriber(chat, |current| {
            current.map(|mut s| {
                s.active = false;
                s.inactive_reason = Some(reason.to_owned());
                s
            })
        })?;
        self.drop_digest_queue(chat)?;
        Ok(was_active)
    }

    /// A group became a supergroup: its subscription follows it, digest queue included.
    pub(crate) fn move_subscriber(&self, from: i64, to: i64) -> Result<bool, StoreError> {
        let Some(mut subscriber) = self.subscriber(from)? else {
            return Ok(false);
        };
        subscriber.chat = to;
        subscriber.kind = ChatKind::Supergroup;
        self.subscribers
            .insert(to.to_string(), to_json(&subscriber))?;
        self.subscribers.remove(from.to_string())?;
        for entry in self.digest.scan_prefix(from.to_be_bytes()) {
            let (key, value) = entry?;
            let seq = u64::from_be_bytes(key[8..16].try_into().unwrap_or([0; 8]));
            self.digest.insert(digest_key(to, seq), value)?;
            self.digest.remove(key)?;
        }
        Ok(true)
    }

    /// Drops topics that are no longer in the config from every subscription (after a reload).
    /// Returns how many subscriptions changed.
    pub(crate) fn retain_topics(&self, valid: &HashSet<String>) -> Result<usize, StoreError> {
        let mut changed = 0;
        for subscriber in self.subscribers()? {
            if subscriber.topics.iter().all(|t| valid.contains(t)) {
                continue;
            }
            self.update_subscriber(subscriber.chat, |current| {
                current.map(|mut s| {
                    s.topics.retain(|t| valid.contains(t));
                    s
                })
            })?;
            changed += 1;
        }
        Ok(changed)
    }

    /// The latest matched notices, newest first, optionally of one topic: the archive's newest
    /// items that matched (it is keyed by the items' own dates, the first-seen time where a
    /// source gave none, so a baseline or a slow source that records old items late does not
    /// put them first).
    pub fn recent(&self, topic: Option<&str>, n: usize) -> Result<Vec<Notice>, StoreError> {
        self.newest(n, |notice| match topic {
            None => !notice.topics.is_empty(),
            Some(t) => notice.topics.iter().any(|m| *m.id == *t),
        })
    }

    /// Notices waiting in `chat`'s digest queue, oldest first.
    pub fn digest_queue(&self, chat: i64) -> Result<Vec<Notice>, StoreError> {
        self.digest
            .scan_prefix(chat.to_be_bytes())
            .values()
            .map(|v| {
                let v = v?;
                from_json(&v, || format!("digest/{chat}"))
            })
            .collect()
    }

    /// Makes `chat`'s digest for KST day `day`: in one transaction, the queued notices leave the
    /// digest queue, the messages `compose` makes of them enter the outbox and the subscriber
    /// records the day. A notice queued meanwhile stays for the next digest. Returns the number
    /// of notices digested (0: nothing was queued; the day is recorded all the same).
    pub(crate) fn make_digest(
        &self,
        chat: i64,
        day: NaiveDate,
        compose: impl FnOnce(&Subscriber, Vec<Notice>) -> Vec<Delivery>,
    ) -> Result<usize, StoreError> {
        let Some(subscriber) = self.subscriber(chat)? else {
            return Ok(0);
        };
        let mut keys = Vec::new();
        let mut notices = Vec::new();
        for entry in self.digest.scan_prefix(chat.to_be_bytes()) {
            let (key, value) = entry?;
            notices.push(from_json::<Notice>(&value, || format!("digest/{chat}"))?);
            keys.push(key);
        }
        let count = notices.len();
        let deliveries: Vec<Vec<u8>> = if notices.is_empty() {
            Vec::new()
        } else {
            compose(&subscriber, notices).iter().map(to_json).collect()
        };
        let key = chat.to_string();
        let result: Result<(), TransactionError<()>> =
            (&self.digest, &self.outbox, &self.meta, &self.subscribers).transaction(
                |(digest, outbox, meta, subscribers)| {
                    for k in &keys {
                        digest.remove(k)?;
                    }
                    let mut next = read_next_seq(meta.get(NEXT_SEQ)?);
                    for delivery in &deliveries {
                        outbox.insert(&next.to_be_bytes(), delivery.as_slice())?;
                        next += 1;
                    }
                    meta.insert(NEXT_SEQ, &next.to_be_bytes())?;
                    if let Some(bytes) = subscribers.get(key.as_bytes())?
                        && let Ok(mut current) = serde_json::from_slice::<Subscriber>(&bytes)
                    {
                        current.last_digest = Some(day);
                        subscribers.insert(key.as_bytes(), to_json(&current))?;
                    }
                    Ok::<_, ConflictableTransactionError<()>>(())
                },
            );
        result.map_err(storage_error)?;
        Ok(count)
    }

    /// The id of the last Telegram update handled.
    pub(crate) fn update_offset(&self) -> Result<Option<u32>, StoreError> {
        Ok(self
            .meta
            .get(UPDATE_OFFSET)?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u32::from_be_bytes))
    }

    pub(crate) fn set_update_offset(&self, id: u32) -> Result<(), StoreError> {
        self.meta.insert(UPDATE_OFFSET, &id.to_be_bytes())?;
        Ok(())
    }
}

fn parse_subscriber(chat: i64, bytes: &[u8]) -> Result<Subscriber, StoreError> {
    from_json(bytes, || format!("subscribers/{chat}"))
}
