//! The store itself: opening it (schema version, migrations, the cache), its trees, and each
//! source's state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::archive::{Archive, Body, Record};
use crate::records::Notice;

use super::codec::*;

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
    pub(super) db: sled::Db,
    pub(super) dir: PathBuf,
    pub(super) seen: sled::Tree,
    pub(super) sources: sled::Tree,
    pub(super) outbox: sled::Tree,
    pub(super) titles: sled::Tree,
    pub(super) dead: sled::Tree,
    pub(super) destinations: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) subscribers: sled::Tree,
    pub(super) history: sled::Tree,
    pub(super) digest: sled::Tree,
    pub(super) listed: sled::Tree,
    pub(super) held: sled::Tree,
    pub(super) held_titles: sled::Tree,
    pub(super) routed: sled::Tree,
    /// Shared by the store's clones: one lock for its writers.
    pub(super) archive: std::sync::Arc<Archive>,
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
    pub(super) fn migrate_archive_tree(&self) -> Result<(), StoreError> {
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
    pub(super) fn migrate_history(&self) -> Result<(), StoreError> {
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
