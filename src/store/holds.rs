//! Holds: an aggregator's new notices wait (the `held` tree) for the same release from a
//! source without hold, and are queued when due unless another copy took the release over.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionError;

use super::codec::*;
use super::commit::queue_notice;
use super::*;
use crate::records::{Delivery, Notice};

/// A new item's deliveries held back until `due` (see the `held` tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub source_id: String,
    /// Title hash as hex (the `held_titles` key), if the title is long enough to have one.
    pub title_key: Option<String>,
    pub deliveries: Vec<Delivery>,
    pub digests: Vec<HeldDigest>,
    pub notice: Option<Notice>,
}

/// A digest queue a held notice goes to when released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeldDigest {
    /// The chat's own copy (with its watch words).
    Copy { chat: i64, notice: Box<Notice> },
    /// Held before watch words existed: the chat gets the held `notice`.
    Chat(i64),
}

impl Held {
    /// Where the held copy goes (its deliveries' destinations and digest chats), as the `routed`
    /// tree lists them.
    pub(super) fn destinations(&self) -> impl Iterator<Item = String> + '_ {
        self.deliveries.iter().map(|d| d.destination.key()).chain(
            self.digest_copies()
                .into_iter()
                .map(|(chat, _)| super::commit::digest_destination(chat)),
        )
    }

    /// The digest queues and the copy each receives.
    pub(super) fn digest_copies(&self) -> Vec<(i64, &Notice)> {
        self.digests
            .iter()
            .filter_map(|d| match d {
                HeldDigest::Copy { chat, notice } => Some((*chat, &**notice)),
                HeldDigest::Chat(chat) => self.notice.as_ref().map(|n| (*chat, n)),
            })
            .collect()
    }
}

/// What [`Store::release_held`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseReport {
    /// Held items whose deliveries went into the outbox.
    pub released: usize,
    /// Held items dropped because another source's copy of the release was sent.
    pub superseded: usize,
    pub queued: usize,
}

impl Store {
    /// Queues the held items due at `now` (unix seconds): their deliveries go into the outbox,
    /// their copies into the digest queues — unless another source took the
    /// release over meanwhile, in which case they are dropped. Each item in one transaction.
    pub fn release_held(&self, now: u64) -> Result<ReleaseReport, StoreError> {
        let mut report = ReleaseReport::default();
        let end = (now.saturating_add(1)).to_be_bytes();
        let due: Vec<(sled::IVec, sled::IVec)> = self
            .held
            .range(..end.as_slice())
            .collect::<Result<_, _>>()?;
        for (key, value) in due {
            let record: Held = from_json(&value, || format!("held/{}", hex(&key)))?;
            let deliveries: Vec<Vec<u8>> = record.deliveries.iter().map(to_json).collect();
            let digests: Vec<(i64, Vec<u8>)> = record
                .digest_copies()
                .into_iter()
                .map(|(chat, n)| (chat, to_json(n)))
                .collect();
            let title_key = record.title_key.as_deref().and_then(unhex);
            let result: Result<(bool, usize), TransactionError<()>> = (
                &self.held,
                &self.held_titles,
                &self.outbox,
                &self.meta,
                &self.digest,
            )
                .transaction(|(held, held_titles, outbox, meta, digest)| {
                    if held.remove(&key)?.is_none() {
                        return Ok((false, 0)); // released meanwhile
                    }
                    if let Some(title_key) = &title_key {
                        match held_titles.get(title_key)? {
                            Some(holder) if holder == key => {
                                held_titles.remove(title_key.as_slice())?;
                            }
                            // Another source's copy of this release was sent.
                            _ => return Ok((false, 0)),
                        }
                    }
                    let mut next = read_next_seq(meta.get(NEXT_SEQ)?);
                    let queued = queue_notice((outbox, digest), &mut next, &deliveries, &digests)?;
                    meta.insert(NEXT_SEQ, &next.to_be_bytes())?;
                    Ok((true, queued))
                });
            match result.map_err(storage_error)? {
                (true, queued) => {
                    report.released += 1;
                    report.queued += queued;
                }
                (false, _) => report.superseded += 1,
            }
        }
        Ok(report)
    }

    /// When the next held item is due (unix seconds), if any.
    pub(crate) fn next_held_due(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .held
            .first()?
            .and_then(|(k, _)| k.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_be_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notice held by a version without watch words (`digests` a list of chats) is released
    /// to those chats' digests after an upgrade, and a new record gives each chat its own copy.
    #[test]
    fn held_records_of_both_shapes_name_their_digest_copies() {
        let notice = serde_json::json!({
            "source_id": "korea-kr", "source_name": "korea.kr", "ministry": "과학기술정보통신부",
            "item": {"key": "l:x", "title": "NPU 실증", "link": null, "summary": "", "published": null},
            "topics": [], "seen_at": "2026-11-30T00:00:00Z"
        });
        let old = serde_json::json!({
            "source_id": "korea-kr", "title_key": null, "deliveries": [],
            "digests": [11, 12], "notice": notice
        });
        let held: Held = serde_json::from_value(old).unwrap();
        let copies = held.digest_copies();
        assert_eq!(copies.iter().map(|c| c.0).collect::<Vec<_>>(), [11, 12]);
        assert!(copies.iter().all(|(_, n)| n.watched.is_empty()));

        let mut mine: Notice = serde_json::from_value(notice).unwrap();
        mine.watched = vec!["NPU".into()];
        let new = Held {
            digests: vec![HeldDigest::Copy {
                chat: 13,
                notice: Box::new(mine.clone()),
            }],
            notice: None,
            ..held
        };
        let back: Held = serde_json::from_slice(&to_json(&new)).unwrap();
        assert_eq!(back.digest_copies(), vec![(13, &mine)]);
    }
}
