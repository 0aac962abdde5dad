//! The sled store: what has been seen, per-source state, and the durable outbox.
//!
//! sled is unmaintained since 2021, so nothing outside this module touches it: a move to another
//! engine replaces this module only (its files are listed under Layout below).
//!
//! Trees and keys (see docs/architecture.md):
//! - `meta`: `schema_version` → u32 (big-endian); `next_seq` → u64 BE, the next outbox sequence.
//! - `seen`: `source_id \0 dedup_key` → unix seconds (u64 BE) the item was last present in its
//!   source: when first seen, rewritten by the first parsed poll that no longer lists it (while
//!   listed, the `listed` entry keeps it from pruning, so its time does not matter).
//! - `listed`: `source_id` → JSON [`Listing`]: the keys (and title hashes) of the source's last
//!   parsed poll. Pruning never forgets what a source still lists, however old.
//! - `sources`: `source_id` → JSON [`SourceState`] (validators, failures, last success, baseline).
//! - `outbox`: sequence (u64 BE, monotonic) → JSON [`Delivery`]. A delivery is removed only after
//!   the destination accepted it.
//! - `dead`: sequence → JSON [`DeadLetter`]: deliveries Telegram refused for good (kept, not lost).
//! - `destinations`: destination key → JSON [`DestinationState`] (deactivated, migrated).
//! - `subscribers`: chat id (decimal text) → JSON [`Subscriber`]: topics, active flag, language,
//!   digest time. Written by the bot; read by the ingest stage's fan-out.
//! - `history`: sequence → JSON [`Notice`]: where `/recent` read from before the archive
//!   existed; a store that has it is migrated into `archive` when opened, and it stays empty.
//! - `digest`: chat id (i64 BE) ‖ sequence → JSON [`Notice`]: notices waiting for a subscriber's
//!   daily digest; moved into the outbox as one message (per 4096 units) at the digest time.
//! - `titles`: hash of the folded title → last-present unix seconds (u64 BE) + source id. The same
//!   press release reaches us from the ministry's feed and from korea.kr's list: the second
//!   sighting is recorded as seen but sends nothing.
//! - `held`: due unix seconds (u64 BE) ‖ sequence (u64 BE) → JSON [`Held`]: new matched items of
//!   a source with `hold` (korea.kr's list), waiting for the same release from a source without
//!   one (the ministry's own feed, whose copy is richer).
//! - `held_titles`: title hash → the `held` key holding it. A source without hold that brings
//!   the title takes the release over (its copy is sent); the held copy is then dropped.
//! - `routed`: title hash → first-seen unix seconds (u64 BE) ‖ the destination keys (`tg:<chat>`,
//!   `stdout`) the release was queued, held or digested for, one per line, or `*` for everyone
//!   (recorded on a source's first poll, where nothing is sent). A later copy of the release
//!   (another source, a richer lead, a subscriber's watch word) is queued for the destinations
//!   its own routing finds that are not listed, and they are added: nobody gets a release twice,
//!   and nobody misses it because a poorer copy came first. Kept [`ROUTED_KEEP`]; after that a
//!   later copy is only recorded.
//! - `archive`: where the archive was kept before it moved out of sled (below); a store that
//!   has it is migrated into the segment files when opened, and the tree is dropped.
//!
//! Beside the trees, in `<state dir>/archive/`, the archive (`archive.rs`): every item ever
//! recorded as new (matched or not, baseline included; a second source's copy of a release is
//! not archived again) as JSON [`Notice`] with the summary cut to [`ARCHIVE_SUMMARY_CHARS`], in
//! append-only files per month of the items' dates, keyed by date (the item's, else when it was
//! first seen) and sequence number. For `/search`, `/recent` and the watch words' "too generic"
//! check. Written right after the poll's transaction; pruned with the seen items (`keep_seen`),
//! capped at [`ARCHIVE_MAX`].
//!
//! The central promise: marking an item seen, enqueuing its deliveries and saving the source's
//! validators happen in ONE transaction ([`Store::commit_poll`]). A crash can never leave an item
//! seen but unsent, nor validators saved for items that were not recorded.
//!
//! # Layout
//! `mod.rs` opens the store and holds the source state queries; `commit.rs` the poll's
//! transaction and the routing of later copies; `holds.rs` held notices; `prune.rs` forgetting;
//! `outbox.rs` the deliverer's operations; `subscribers.rs` the bot's; `archive.rs` the archive's
//! files; `backup.rs` stats, export and import; `codec.rs` keys and values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::records::Notice;
use archive::{Archive, Body, Record};

mod archive;
mod backup;
mod codec;
mod commit;
mod holds;
mod outbox;
mod prune;
pub(crate) mod subscribers;
pub use archive::archive_text;
pub use backup::StoreStats;
pub use codec::archive_copy;
pub(crate) use codec::unix_now;
use codec::*;
pub use commit::{CommitReport, PollCommit, PollEntry};
pub use holds::{Held, HeldDigest, ReleaseReport};
pub use outbox::{DeadLetter, DestinationState};
pub use prune::PruneReport;
pub use subscribers::{ChatKind, Subscriber};

/// Version of the on-disk layout. Bump it with a migration when keys or values change shape.
/// 2: the archive is in its own files, not a sled tree (an older binary would neither read nor
/// back up those files, so it refuses the store).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the state directory {dir} is in use by another policy-watch process (sled lock held); stop the other instance or use another --state-dir"
    )]
    Locked { dir: PathBuf },
    #[error(
        "the store in {dir} has schema version {found}, newer than this build's {SCHEMA_VERSION}; run the newer policy-watch or restore a backup (nothing was changed)"
    )]
    NewerSchema { dir: PathBuf, found: u32 },
    #[error(
        "cannot open the store in {dir}: {source}; check that the directory exists and is writable"
    )]
    Open {
        dir: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// Not `#[source]`: sled's message is the whole story, and `{:#}` would repeat it.
    #[error("store I/O failed ({0}); check the state directory's free space and permissions")]
    Sled(sled::Error),
    #[error(
        "the store in {dir} is not empty; import only into a new, empty state directory (nothing was changed)"
    )]
    NotEmpty { dir: PathBuf },
    #[error("import line {line}: {message}")]
    Import { line: usize, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "cannot read or write the archive at {path}: {source}; check the state directory's free space and permissions"
    )]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store record {what} is corrupt: {source}")]
    Corrupt {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Sled(e)
    }
}

/// Validators of a source's last committed response, echoed on the next request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// ETag, echoed verbatim in If-None-Match.
    pub etag: Option<String>,
    /// Last-Modified, echoed verbatim in If-Modified-Since.
    pub last_modified: Option<String>,
    /// Hash of the last body that was parsed and committed (with how it is parsed): an
    /// unchanged body is not parsed again, even from a server that sends no ETag or
    /// Last-Modified.
    #[serde(default)]
    pub body_hash: Option<String>,
}

/// What the store remembers about one source between polls and restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// Of the last committed response (stored flat: `etag`, `last_modified`, `body_hash`).
    #[serde(flatten)]
    pub validators: Validators,
    /// True once the first successful poll recorded everything present as seen.
    pub baselined: bool,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Items ever recorded as seen for this source.
    pub items_seen: u64,
    /// Start of the current run of failures.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    /// When the source last brought a new item (or its baseline).
    #[serde(default)]
    pub last_new_item: Option<DateTime<Utc>>,
    /// The alert the admins were sent and that has not been resolved yet.
    #[serde(default)]
    pub alerted: Option<SourceAlert>,
    /// Fingerprint of the source's settings at its last committed poll
    /// (`sources::settings_fingerprint`); a change re-baselines the source. `None` in stores
    /// written before it existed: the current settings are adopted without a new baseline.
    #[serde(default)]
    pub settings: Option<String>,
}

/// Why the admins were alerted about a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceAlert {
    Failing,
    Silent,
}

/// Summary characters kept with an archived item (what `/search` reads besides the title).
pub const ARCHIVE_SUMMARY_CHARS: usize = 300;

/// How long who got a release is remembered (the `routed` tree): copies of one release reach us
/// within hours (korea.kr lists a ministry's release the same day); a week leaves room for a slow
/// board while a large audience's lists stay bounded.
pub const ROUTED_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Archived items kept at most, newest first (a year of every configured source is a few
/// thousand; the cap bounds a misconfigured source that invents new items every poll).
pub const ARCHIVE_MAX: usize = 100_000;

/// What a source listed in its last parsed poll: every item's dedup key and title hash, whether
/// new or not. Committed with the poll; pruning keeps whatever is listed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub keys: Vec<String>,
    /// Title hashes as hex (see the `titles` tree).
    pub titles: Vec<String>,
}

impl Listing {
    pub fn push(&mut self, key: &str, title_key: Option<[u8; 16]>) {
        self.keys.push(key.to_owned());
        if let Some(t) = title_key {
            self.titles.push(hex(&t));
        }
    }
}

/// The sled database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    dir: PathBuf,
    seen: sled::Tree,
    sources: sled::Tree,
    outbox: sled::Tree,
    titles: sled::Tree,
    dead: sled::Tree,
    destinations: sled::Tree,
    meta: sled::Tree,
    subscribers: sled::Tree,
    history: sled::Tree,
    digest: sled::Tree,
    listed: sled::Tree,
    held: sled::Tree,
    held_titles: sled::Tree,
    routed: sled::Tree,
    /// Shared by the store's clones: one lock for its writers.
    archive: std::sync::Arc<Archive>,
}

impl Store {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_bytes`.
    /// A second process on the same directory gets [`StoreError::Locked`].
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(|source| match &source {
                sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
                    StoreError::Locked {
                        dir: dir.to_owned(),
                    }
                }
                _ => StoreError::Open {
                    dir: dir.to_owned(),
                    source,
                },
            })?;
        let meta = db.open_tree("meta")?;
        if let Some(v) = meta.get("schema_version")? {
            let found = u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0xff; 4]));
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    dir: dir.to_owned(),
                    found,
                });
            }
        }
        let store = Store {
            seen: db.open_tree("seen")?,
            sources: db.open_tree("sources")?,
            outbox: db.open_tree("outbox")?,
            titles: db.open_tree("titles")?,
            dead: db.open_tree("dead")?,
            destinations: db.open_tree("destinations")?,
            subscribers: db.open_tree("subscribers")?,
            history: db.open_tree("history")?,
            digest: db.open_tree("digest")?,
            listed: db.open_tree("listed")?,
            held: db.open_tree("held")?,
            held_titles: db.open_tree("held_titles")?,
            routed: db.open_tree("routed")?,
            archive: std::sync::Arc::new(Archive::open(dir.join("archive"))?),
            meta: meta.clone(),
            dir: dir.to_owned(),
            db,
        };
        store.migrate_archive_tree()?;
        store.migrate_history()?;
        // Migrated (or new): the layout is this version's.
        store
            .meta
            .insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
        Ok(store)
    }

    /// Moves the `archive` tree (where the archive was kept before it moved to its own files)
    /// into the segment files, once, then drops the tree. A crash midway repeats the move on
    /// the next open; lines written twice are read once.
    fn migrate_archive_tree(&self) -> Result<(), StoreError> {
        if !self
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == b"archive")
        {
            return Ok(());
        }
        let tree = self.db.open_tree("archive")?;
        let mut batch = self.archive.batch();
        let mut moved = 0;
        for entry in tree.iter() {
            let (key, value) = entry?;
            let (date, seq) = split_archive_key(&key);
            batch.push(date, seq, value.to_vec())?;
            moved += 1;
        }
        batch.finish()?;
        self.db.drop_tree("archive")?;
        self.db.flush()?;
        if moved > 0 {
            tracing::info!(
                "moved {moved} archived items out of sled into {}",
                self.dir.join("archive").display()
            );
        }
        Ok(())
    }

    /// Moves what a store kept in `history` (the matched notices behind `/recent` before the
    /// archive held every item) into the archive, once: `/recent` reads the archive now.
    fn migrate_history(&self) -> Result<(), StoreError> {
        if self.history.is_empty() {
            return Ok(());
        }
        // `history` was trimmed to 500 notices: one batch.
        let mut moving = Vec::new();
        for entry in self.history.iter() {
            let (key, bytes) = entry?;
            let notice: Notice = from_json(&bytes, || format!("history/{}", hex(&key)))?;
            let seq = u64::from_be_bytes(key.as_ref().try_into().unwrap_or([0; 8]));
            moving.push((key, seq, archive_copy(notice)));
        }
        self.archive
            .append(moving.iter().map(|(_, seq, notice)| Record {
                date: archive_date(notice),
                seq: *seq,
                body: Body::Notice(notice),
            }))?;
        for (key, ..) in &moving {
            self.history.remove(key)?;
        }
        self.db.flush()?;
        tracing::info!(
            "moved {} notices of /recent's history into the archive",
            moving.len()
        );
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn source_state(&self, source_id: &str) -> Result<SourceState, StoreError> {
        get_json(&self.sources, "sources", source_id)
    }

    /// Saves a source's state alone (after a failed poll: nothing else changes).
    pub fn save_source_state(
        &self,
        source_id: &str,
        state: &SourceState,
    ) -> Result<(), StoreError> {
        self.sources.insert(source_id, to_json(state))?;
        Ok(())
    }

    /// What the source listed in its last committed poll (empty before its first).
    pub fn listing(&self, source_id: &str) -> Result<Listing, StoreError> {
        get_json(&self.listed, "listed", source_id)
    }

    /// Whether any key was ever seen for `source_id` (one range lookup).
    pub(crate) fn has_seen_any(&self, source_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .seen
            .scan_prefix(seen_prefix(source_id))
            .next()
            .transpose()?
            .is_some())
    }

    /// Whether `key` was already seen for `source_id`.
    pub fn is_seen(&self, source_id: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.seen.contains_key(seen_key(source_id, key))?)
    }

    /// [`Store::flush`] for synchronous callers (an fsync: milliseconds).
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Flushes everything to disk; called on shutdown and after each commit that matters.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
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
