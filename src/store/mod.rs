//! The sled store: what has been seen, per-source state, and the durable outbox.
//!
//! sled is unmaintained since 2021, so nothing outside this module touches it: a move to another
//! engine replaces this module only. Files: this one (opening, the poll's commit, holds,
//! pruning), `outbox.rs` (the deliverer's operations, dead letters, destination state),
//! `subscribers.rs` (the bot's subscribers, `/recent`, digest queues, update offset), `archive.rs` (`/search`), `backup.rs`
//! (stats, export, import).
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

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::records::{Delivery, Notice};
use archive::{Archive, Body, Record};

mod archive;
mod backup;
mod outbox;
pub mod subscribers;
pub use archive::archive_text;
pub use backup::StoreStats;
pub use outbox::{DeadLetter, DestinationState};
use subscribers::digest_key;
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

/// One item of a poll as the ingest stage decided it: its dedup key and the deliveries it causes.
pub struct PollEntry {
    pub key: String,
    /// Cross-source identity of the item (see the `titles` tree); `None` for empty titles.
    pub title_key: Option<[u8; 16]>,
    pub deliveries: Vec<Delivery>,
    /// Subscribers on a daily digest, each with its copy of the notice (which carries that
    /// chat's watch words): it waits in their `digest` queue instead of the outbox.
    pub digests: Vec<(i64, Notice)>,
    /// The item as `/search` and `/recent` find it (see the `archive` tree; its summary is cut
    /// to [`ARCHIVE_SUMMARY_CHARS`] when stored); `None` keeps it out.
    pub archive: Option<Notice>,
    /// Recorded on its source's first poll, where nothing is sent: a later copy of this release
    /// from another source is not sent either (it is as old as this one).
    pub baseline: bool,
}

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
    /// The digest queues and the copy each receives.
    fn digest_copies(&self) -> Vec<(i64, &Notice)> {
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

/// What [`Store::prune_seen`] forgot (or, in a dry run, would forget).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Seen keys forgotten, per source id.
    pub seen: std::collections::BTreeMap<String, usize>,
    pub titles: usize,
    /// Seen keys older than the cutoff kept because their source still lists them.
    pub kept_listed: usize,
    /// Archived items forgotten (older than the cutoff, or past [`ARCHIVE_MAX`]).
    pub archived: usize,
}

impl PruneReport {
    pub fn seen_total(&self) -> usize {
        self.seen.values().sum()
    }
}

/// What [`Store::commit_poll`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitReport {
    /// Entries not seen before.
    pub new: usize,
    /// Deliveries appended to the outbox.
    pub queued: usize,
    /// New entries whose title was already seen — from another source, or from this one under
    /// another link (recorded, not enqueued).
    pub title_duplicates: usize,
    /// Notices put into subscribers' digest queues.
    pub digested: usize,
    /// New entries held back (the source has a `hold`).
    pub held: usize,
    /// New entries whose release another source's held copy had: this copy is sent instead.
    pub took_over: usize,
    /// New entries whose release was seen before, sent to the destinations the earlier copies did
    /// not reach (more topics, a watch word, an earlier copy that matched nothing).
    pub extended: usize,
}

/// One poll to record (see [`Store::commit_poll`] for what each part means).
#[derive(Clone, Copy)]
pub struct PollCommit<'a> {
    pub source_id: &'a str,
    pub entries: &'a [PollEntry],
    pub listing: &'a Listing,
    pub previous: &'a Listing,
    pub state: &'a SourceState,
    pub hold: Option<Duration>,
}

/// A poll serialised once, outside the transaction (which sled may run more than once).
struct PreparedPoll<'a> {
    source_id: &'a str,
    entries: Vec<PreparedEntry<'a>>,
    /// When held entries are due (unix seconds), for a source with `hold`.
    due: Option<u64>,
    /// A `titles` value: when, and the source that brought it.
    title_value: Vec<u8>,
    state_json: Vec<u8>,
    listing_json: Vec<u8>,
    /// Dropped from the listing since the last poll: last present now.
    dropped_keys: Vec<Vec<u8>>,
    dropped_titles: Vec<Vec<u8>>,
}

struct PreparedEntry<'a> {
    seen: Vec<u8>,
    title_key: Option<[u8; 16]>,
    deliveries: Vec<Vec<u8>>,
    /// Each delivery's destination key, in the same order.
    delivery_keys: Vec<String>,
    digests: Vec<(i64, Vec<u8>)>,
    /// The `routed` value of a first copy (see the tree).
    routed: Vec<u8>,
    /// The item to archive and its date (written after the transaction).
    archive: Option<(u64, &'a Notice)>,
    /// With a hold, and something to send: the `held` record instead.
    held: Option<Vec<u8>>,
    /// Whether the entry sends anything (only such a copy takes a held release over).
    sends: bool,
}

impl<'a> PreparedPoll<'a> {
    fn new(poll: &PollCommit<'a>, now_secs: u64) -> PreparedPoll<'a> {
        let source_id = poll.source_id;
        let due = poll.hold.map(|h| now_secs + h.as_secs());
        let mut title_value = now_secs.to_be_bytes().to_vec();
        title_value.extend_from_slice(source_id.as_bytes());
        let entries = poll
            .entries
            .iter()
            .map(|e| {
                let sends = !e.deliveries.is_empty() || !e.digests.is_empty();
                let delivery_keys: Vec<String> =
                    e.deliveries.iter().map(|d| d.destination.key()).collect();
                let routed = if e.baseline {
                    Routed::everyone(now_secs)
                } else {
                    let mut routed = Routed::new(now_secs);
                    routed.add(delivery_keys.iter().cloned());
                    routed.add(e.digests.iter().map(|(chat, _)| digest_destination(*chat)));
                    routed
                };
                PreparedEntry {
                    seen: seen_key(source_id, &e.key),
                    title_key: e.title_key,
                    deliveries: e.deliveries.iter().map(to_json).collect(),
                    delivery_keys,
                    digests: e.digests.iter().map(|(c, n)| (*c, to_json(n))).collect(),
                    routed: routed.encode(),
                    archive: e.archive.as_ref().map(|n| (archive_date(n), n)),
                    held: (due.is_some() && sends).then(|| {
                        to_json(&Held {
                            source_id: source_id.to_owned(),
                            title_key: e.title_key.map(|t| hex(&t)),
                            deliveries: e.deliveries.clone(),
                            digests: e
                                .digests
                                .iter()
                                .map(|(chat, notice)| HeldDigest::Copy {
                                    chat: *chat,
                                    notice: Box::new(notice.clone()),
                                })
                                .collect(),
                            notice: None,
                        })
                    }),
                    sends,
                }
            })
            .collect();
        PreparedPoll {
            source_id,
            entries,
            due,
            title_value,
            state_json: to_json(poll.state),
            listing_json: to_json(poll.listing),
            dropped_keys: dropped(&poll.previous.keys, &poll.listing.keys)
                .map(|k| seen_key(source_id, k))
                .collect(),
            dropped_titles: dropped(&poll.previous.titles, &poll.listing.titles)
                .filter_map(|t| unhex(t))
                .collect(),
        }
    }
}

/// The trees a poll's commit writes, inside its transaction (`meta`'s sequence is the caller's).
struct PollTrees<'t> {
    seen: &'t TransactionalTree,
    sources: &'t TransactionalTree,
    outbox: &'t TransactionalTree,
    titles: &'t TransactionalTree,
    digest: &'t TransactionalTree,
    listed: &'t TransactionalTree,
    held: &'t TransactionalTree,
    held_titles: &'t TransactionalTree,
    routed: &'t TransactionalTree,
}

impl PreparedPoll<'_> {
    /// Writes this poll inside a transaction ([`Store::commit_polls`]), numbering what it queues
    /// from `next`, at `now` (unix seconds, BE).
    /// What it archives goes into `archived` (written after the transaction commits).
    fn record<'p>(
        &'p self,
        trees: &PollTrees<'_>,
        now: [u8; 8],
        next: &mut u64,
        archived: &mut Vec<Record<'p>>,
    ) -> Result<CommitReport, ConflictableTransactionError<()>> {
        let mut report = CommitReport::default();
        for entry in &self.entries {
            trees.seen.insert(entry.seen.as_slice(), &now)?;
            report.new += 1;
            if let Some(title_key) = &entry.title_key {
                // The same release from another source, or from this one under a changed link:
                // recorded as seen, and sent only where no copy went before — unless the first
                // copy is still held and this source holds nothing: this copy wins.
                if trees.titles.get(title_key)?.is_some() {
                    let takes_over = self.due.is_none()
                        && entry.sends
                        && trees.held_titles.get(title_key)?.is_some();
                    if !takes_over {
                        match self.extend(trees, entry, title_key, next)? {
                            None => report.title_duplicates += 1,
                            Some((queued, digested)) => {
                                report.extended += 1;
                                report.queued += queued;
                                report.digested += digested;
                            }
                        }
                        continue;
                    }
                    report.took_over += 1;
                    report.queued += self.take_over(trees, entry, title_key, next)?;
                    continue;
                }
                trees
                    .titles
                    .insert(title_key, self.title_value.as_slice())?;
                trees.routed.insert(title_key, entry.routed.as_slice())?;
            }
            if let Some((date, notice)) = entry.archive {
                archived.push(Record {
                    date,
                    seq: *next,
                    body: Body::Notice(notice),
                });
                *next += 1;
            }
            if let (Some(due), Some(record)) = (self.due, &entry.held) {
                let mut key = due.to_be_bytes().to_vec();
                key.extend_from_slice(&next.to_be_bytes());
                *next += 1;
                trees.held.insert(key.as_slice(), record.as_slice())?;
                if let Some(title_key) = &entry.title_key {
                    trees.held_titles.insert(title_key, key.as_slice())?;
                }
                report.held += 1;
                continue;
            }
            report.queued += queue_notice(
                (trees.outbox, trees.digest),
                next,
                &entry.deliveries,
                &entry.digests,
            )?;
            report.digested += entry.digests.len();
        }
        for key in &self.dropped_keys {
            trees.seen.insert(key.as_slice(), &now)?;
        }
        for title in &self.dropped_titles {
            if let Some(value) = trees.titles.get(title)? {
                let mut touched = value.to_vec();
                if touched.len() >= 8 {
                    touched[..8].copy_from_slice(&now);
                    trees.titles.insert(title.as_slice(), touched)?;
                }
            }
        }
        let source = self.source_id.as_bytes();
        trees.listed.insert(source, self.listing_json.as_slice())?;
        trees.sources.insert(source, self.state_json.as_slice())?;
        Ok(report)
    }
}

impl PreparedPoll<'_> {
    /// A later copy of a release whose earlier copy is not held for this one: queued for the
    /// destinations this copy's routing finds and no earlier copy was queued for (see the
    /// `routed` tree). Returns the deliveries and digest copies queued (`None`: a plain
    /// duplicate, nothing queued).
    fn extend(
        &self,
        trees: &PollTrees<'_>,
        entry: &PreparedEntry<'_>,
        title_key: &[u8; 16],
        next: &mut u64,
    ) -> Result<Option<(usize, usize)>, ConflictableTransactionError<()>> {
        if !entry.sends {
            return Ok(None);
        }
        // Released before who got it was recorded (or so long ago it was forgotten): the
        // earlier copy may have gone to anyone.
        let Some(mut routed) = trees.routed.get(title_key)?.map(|v| Routed::decode(&v)) else {
            return Ok(None);
        };
        let (deliveries, digests) = entry.unrouted(&routed);
        if deliveries.is_empty() && digests.is_empty() {
            return Ok(None);
        }
        routed.add(entry.delivery_keys.iter().cloned());
        routed.add(
            entry
                .digests
                .iter()
                .map(|(chat, _)| digest_destination(*chat)),
        );
        trees.routed.insert(title_key, routed.encode())?;
        let queued = queue_notice((trees.outbox, trees.digest), next, &deliveries, &digests)?;
        Ok(Some((queued, digests.len())))
    }

    /// A copy from a source without hold for a release whose earlier copy is held: this copy is
    /// queued instead (richer: the ministry's own), for its destinations minus those an earlier,
    /// already queued copy reached; the held copy still goes to the destinations this one does
    /// not reach. The held record stays, superseded (its release finds another holder).
    fn take_over(
        &self,
        trees: &PollTrees<'_>,
        entry: &PreparedEntry<'_>,
        title_key: &[u8; 16],
        next: &mut u64,
    ) -> Result<usize, ConflictableTransactionError<()>> {
        let held_key = trees.held_titles.remove(title_key.as_slice())?;
        let held: Option<Held> = match held_key {
            Some(key) => trees
                .held
                .get(key)?
                .and_then(|v| serde_json::from_slice(&v).ok()),
            None => None,
        };
        let held_destinations: std::collections::BTreeSet<String> = held
            .iter()
            .flat_map(|h| {
                h.deliveries.iter().map(|d| d.destination.key()).chain(
                    h.digest_copies()
                        .into_iter()
                        .map(|(c, _)| digest_destination(c)),
                )
            })
            .collect();
        let mut routed = trees
            .routed
            .get(title_key)?
            .map(|v| Routed::decode(&v))
            .unwrap_or_else(|| Routed::new(unix_now()));
        // Reached by a copy already queued (not the held one): not again.
        let mut sent_before = routed.clone();
        sent_before
            .destinations
            .retain(|d| !held_destinations.contains(d));
        let (mut deliveries, mut digests) = entry.unrouted(&sent_before);
        // The held copy's page may list the release's files where this copy's does not (an
        // aggregator's view page): the notices keep it to look there when they are sent.
        if let Some(page) = held.as_ref().and_then(held_page) {
            deliveries = deliveries
                .into_iter()
                .map(|json| with_files_page(json, &page))
                .collect();
        }
        let ours: std::collections::HashSet<String> = entry
            .delivery_keys
            .iter()
            .cloned()
            .chain(entry.digests.iter().map(|(c, _)| digest_destination(*c)))
            .collect();
        if let Some(held) = &held {
            for delivery in &held.deliveries {
                if !ours.contains(&delivery.destination.key()) {
                    deliveries.push(to_json(delivery));
                }
            }
            for (chat, notice) in held.digest_copies() {
                if !ours.contains(&digest_destination(chat)) {
                    digests.push((chat, to_json(notice)));
                }
            }
        }
        routed.add(ours);
        trees.routed.insert(title_key, routed.encode())?;
        let queued = queue_notice((trees.outbox, trees.digest), next, &deliveries, &digests)?;
        Ok(queued)
    }
}

impl PreparedEntry<'_> {
    /// This copy's deliveries and digest copies for destinations `routed` does not list.
    #[allow(clippy::type_complexity)]
    fn unrouted(&self, routed: &Routed) -> (Vec<Vec<u8>>, Vec<(i64, Vec<u8>)>) {
        if routed.everyone {
            return (Vec::new(), Vec::new());
        }
        let deliveries = self
            .deliveries
            .iter()
            .zip(&self.delivery_keys)
            .filter(|(_, key)| !routed.destinations.contains(*key))
            .map(|(delivery, _)| delivery.clone())
            .collect();
        let digests = self
            .digests
            .iter()
            .filter(|(chat, _)| !routed.destinations.contains(&digest_destination(*chat)))
            .cloned()
            .collect();
        (deliveries, digests)
    }
}

/// The link of a held copy's notice.
fn held_page(held: &Held) -> Option<String> {
    held.deliveries
        .iter()
        .find_map(|d| match &d.payload {
            crate::records::Payload::Notice(n) => n.item.link.clone(),
            _ => None,
        })
        .or_else(|| held.notice.as_ref().and_then(|n| n.item.link.clone()))
}

/// A serialised delivery whose notice gets `page` as the page of its files (unless it has one,
/// or it is that page).
fn with_files_page(json: Vec<u8>, page: &str) -> Vec<u8> {
    let Ok(mut delivery) = serde_json::from_slice::<Delivery>(&json) else {
        return json;
    };
    match &mut delivery.payload {
        crate::records::Payload::Notice(notice)
            if notice.files_page.is_none() && notice.item.link.as_deref() != Some(page) =>
        {
            notice.files_page = Some(page.to_owned());
            to_json(&delivery)
        }
        _ => json,
    }
}

/// The destination key of a digest queue (the chat's, as its outbox deliveries have it).
fn digest_destination(chat: i64) -> String {
    format!("tg:{chat}")
}

/// A `routed` value: who a release was queued for (see the tree).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Routed {
    first_seen: u64,
    everyone: bool,
    destinations: std::collections::BTreeSet<String>,
}

impl Routed {
    fn new(first_seen: u64) -> Routed {
        Routed {
            first_seen,
            everyone: false,
            destinations: Default::default(),
        }
    }

    fn everyone(first_seen: u64) -> Routed {
        Routed {
            everyone: true,
            ..Routed::new(first_seen)
        }
    }

    fn add(&mut self, destinations: impl IntoIterator<Item = String>) {
        self.destinations.extend(destinations);
    }

    fn encode(&self) -> Vec<u8> {
        let mut value = self.first_seen.to_be_bytes().to_vec();
        if self.everyone {
            value.push(b'*');
        } else {
            for (i, destination) in self.destinations.iter().enumerate() {
                if i > 0 {
                    value.push(b'\n');
                }
                value.extend_from_slice(destination.as_bytes());
            }
        }
        value
    }

    fn decode(value: &[u8]) -> Routed {
        let first_seen = last_present(value);
        let body = value.get(8..).unwrap_or_default();
        if body == b"*" {
            return Routed::everyone(first_seen);
        }
        let mut routed = Routed::new(first_seen);
        routed.add(
            body.split(|b| *b == b'\n')
                .filter(|d| !d.is_empty())
                .map(|d| String::from_utf8_lossy(d).into_owned()),
        );
        routed
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
    pub fn has_seen_any(&self, source_id: &str) -> Result<bool, StoreError> {
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

    /// Records a successful poll atomically: every entry's key as seen, its deliveries appended
    /// to the outbox in the given order, and the source's new state. `entries` are the poll's
    /// new items, as the ingest stage found them (the keys neither in `previous`, the source's
    /// last listing, nor in `seen`): the ingest stage is the only writer of `seen` and commits
    /// one poll at a time, so nothing is read again here. Entries whose title another source
    /// already brought are recorded but not enqueued. `listing` (the whole poll, new or not)
    /// becomes the source's listing, which keeps what it shows from pruning; what `previous`
    /// listed and `listing` does not is marked present until now.
    ///
    /// With `hold`, new entries that would send something are held back that long instead (the
    /// `held` tree; [`Store::release_held`] queues them then), and a source without hold that
    /// brings the same title meanwhile takes the release over.
    pub fn commit_poll(
        &self,
        source_id: &str,
        entries: &[PollEntry],
        listing: &Listing,
        previous: &Listing,
        state: &SourceState,
        hold: Option<Duration>,
    ) -> Result<CommitReport, StoreError> {
        self.commit_poll_one(&PollCommit {
            source_id,
            entries,
            listing,
            previous,
            state,
            hold,
        })
    }

    /// [`Store::commit_poll`] of a [`PollCommit`].
    pub fn commit_poll_one(&self, poll: &PollCommit<'_>) -> Result<CommitReport, StoreError> {
        let reports = self.commit_polls(std::slice::from_ref(poll))?;
        Ok(reports[0])
    }

    /// Records several polls (of different sources) in one transaction, as
    /// [`Store::commit_poll`] records one; a report per poll, in order. The ingest stage commits
    /// the polls waiting for it together: each sled transaction costs two log-buffer seals and a
    /// wake-up of sled's I/O threads, which was a fifth of a first cycle's CPU with one
    /// transaction per poll. Polls later in the group see the titles of earlier ones.
    pub fn commit_polls(&self, polls: &[PollCommit<'_>]) -> Result<Vec<CommitReport>, StoreError> {
        let now_secs = unix_now();
        let now = now_secs.to_be_bytes();
        let prepared: Vec<PreparedPoll> = polls
            .iter()
            .map(|poll| PreparedPoll::new(poll, now_secs))
            .collect();
        // Ten trees: past sled's tuples (nine at most), so a slice, in this order.
        let written: [&sled::Tree; 10] = [
            &self.seen,
            &self.sources,
            &self.outbox,
            &self.titles,
            &self.meta,
            &self.digest,
            &self.listed,
            &self.held,
            &self.held_titles,
            &self.routed,
        ];
        let result: Result<(Vec<CommitReport>, Vec<Record>), TransactionError<()>> = written[..]
            .transaction(|trees| {
                let [
                    seen,
                    sources,
                    outbox,
                    titles,
                    meta,
                    digest,
                    listed,
                    held,
                    held_titles,
                    routed,
                ] = &trees[..]
                else {
                    unreachable!("ten trees in, ten views out")
                };
                let trees = PollTrees {
                    seen,
                    sources,
                    outbox,
                    titles,
                    digest,
                    listed,
                    held,
                    held_titles,
                    routed,
                };
                let mut next = read_next_seq(meta.get(NEXT_SEQ)?);
                let mut reports = Vec::with_capacity(prepared.len());
                let mut archived = Vec::new();
                for poll in &prepared {
                    reports.push(poll.record(&trees, now, &mut next, &mut archived)?);
                }
                meta.insert(NEXT_SEQ, &next.to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<()>>((reports, archived))
            });
        let (reports, archived) = result.map_err(storage_error)?;
        // The polls are recorded: an archive that cannot be written costs search entries, not
        // the commit (failing it now would have the polls retried as if nothing was recorded).
        if let Err(e) = self.archive.append(archived.iter().copied()) {
            tracing::error!(
                "{e}; {} new items will be missing from /search and /recent",
                archived.len()
            );
        }
        Ok(reports)
    }

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
    pub fn next_held_due(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .held
            .first()?
            .and_then(|(k, _)| k.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_be_bytes))
    }

    /// Number of seen keys of one source.
    pub fn seen_count(&self, source_id: &str) -> usize {
        self.seen.scan_prefix(seen_prefix(source_id)).count()
    }

    /// Forgets seen keys and title keys last present longer ago than `older_than`, except those
    /// a source still lists (its last parsed poll): an item still on the page or in the feed is
    /// never forgotten, so it can never come back as new. Archived items dated before then go
    /// too. With `dry_run`, only counts.
    pub fn prune_seen(
        &self,
        older_than: Duration,
        dry_run: bool,
    ) -> Result<PruneReport, StoreError> {
        let cutoff = unix_now().saturating_sub(older_than.as_secs());
        let mut listed_keys = std::collections::HashSet::new();
        let mut listed_titles = std::collections::HashSet::new();
        for entry in self.listed.iter() {
            let (source, value) = entry?;
            let source = String::from_utf8_lossy(&source).into_owned();
            let listing: Listing = from_json(&value, || format!("listed/{source}"))?;
            for key in &listing.keys {
                listed_keys.insert(seen_key(&source, key));
            }
            listed_titles.extend(listing.titles.iter().filter_map(|t| unhex(t)));
        }
        let mut report = PruneReport::default();
        for entry in self.seen.iter() {
            let (k, v) = entry?;
            if last_present(&v) >= cutoff {
                continue;
            }
            if listed_keys.contains(k.as_ref()) {
                report.kept_listed += 1;
                continue;
            }
            let source = k.split(|b| *b == 0).next().unwrap_or_default();
            *report
                .seen
                .entry(String::from_utf8_lossy(source).into_owned())
                .or_default() += 1;
            if !dry_run {
                self.seen.remove(k)?;
            }
        }
        for entry in self.titles.iter() {
            let (k, v) = entry?;
            if last_present(&v) < cutoff && !listed_titles.contains(k.as_ref()) {
                report.titles += 1;
                if !dry_run {
                    self.titles.remove(k)?;
                }
            }
        }
        // Who got a release is kept a week, whatever `older_than` says (see `routed`).
        let routed_cutoff = unix_now().saturating_sub(ROUTED_KEEP.as_secs());
        for entry in self.routed.iter() {
            let (k, v) = entry?;
            if last_present(&v) < routed_cutoff && !dry_run {
                self.routed.remove(k)?;
            }
        }
        report.archived = self.archive.prune(cutoff, ARCHIVE_MAX, dry_run)?;
        Ok(report)
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

pub(super) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// The time (u64 BE unix seconds) a `seen` or `titles` value starts with.
fn last_present(value: &[u8]) -> u64 {
    value
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Queues one notice inside a transaction: its deliveries into the outbox and each chat's copy
/// into its digest queue, numbered from `next` (digest keys share the outbox counter: unique and
/// ordered). The poll's commit and the release of a held notice both go through here. Returns
/// the deliveries queued.
fn queue_notice(
    (outbox, digest): (&TransactionalTree, &TransactionalTree),
    next: &mut u64,
    deliveries: &[Vec<u8>],
    digests: &[(i64, Vec<u8>)],
) -> Result<usize, ConflictableTransactionError<()>> {
    for delivery in deliveries {
        outbox.insert(&next.to_be_bytes(), delivery.as_slice())?;
        *next += 1;
    }
    for (chat, copy) in digests {
        digest.insert(digest_key(*chat, *next).as_slice(), copy.as_slice())?;
    }
    if !digests.is_empty() {
        *next += 1;
    }
    Ok(deliveries.len())
}

/// What `before` lists and `now` does not.
fn dropped<'a>(before: &'a [String], now: &[String]) -> impl Iterator<Item = &'a String> {
    let now: std::collections::HashSet<&str> = now.iter().map(String::as_str).collect();
    before.iter().filter(move |k| !now.contains(k.as_str()))
}

/// Key of an archived item as the `archive` tree had it, and as an export names it: date (unix
/// seconds, u64 BE) ‖ sequence (u64 BE).
fn archive_key(date: u64, seq: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&date.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Date and sequence of an [`archive_key`] (0 for what a short key lacks).
fn split_archive_key(key: &[u8]) -> (u64, u64) {
    let part = |range: std::ops::Range<usize>| {
        key.get(range)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    };
    (part(0..8), part(8..16))
}

/// The date an item is archived under: its own, else when it was first seen.
fn archive_date(notice: &Notice) -> u64 {
    u64::try_from(notice.item.published.unwrap_or(notice.seen_at).timestamp()).unwrap_or(0)
}

/// The shared notice as the archive keeps it: the summary cut to [`ARCHIVE_SUMMARY_CHARS`]
/// (in place: no copy), no per-chat words.
pub fn archive_copy(mut notice: Notice) -> Notice {
    crate::items::truncate_in_place(&mut notice.item.summary, ARCHIVE_SUMMARY_CHARS);
    notice.watched.clear();
    notice
}

/// Meta key of the next outbox sequence number. Our own counter rather than sled's
/// `generate_id`, so that an imported store continues after the imported entries.
pub(super) const NEXT_SEQ: &str = "next_seq";

pub(super) fn read_next_seq(value: Option<sled::IVec>) -> u64 {
    value
        .and_then(|v| v.as_ref().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// The start of every `seen` key of `source_id`.
fn seen_prefix(source_id: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(source_id.len() + 1);
    prefix.extend_from_slice(source_id.as_bytes());
    prefix.push(0);
    prefix
}

fn seen_key(source_id: &str, key: &str) -> Vec<u8> {
    let mut k = seen_prefix(source_id);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Our transactions never abort: their only error is the storage's.
pub(super) fn storage_error(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::Sled(e),
        TransactionError::Abort(()) => unreachable!("store transactions never abort"),
    }
}

/// A JSON record of a tree, or its default when absent.
pub(super) fn get_json<T: Default + serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    tree_name: &str,
    key: &str,
) -> Result<T, StoreError> {
    match tree.get(key)? {
        None => Ok(T::default()),
        Some(bytes) => from_json(&bytes, || format!("{tree_name}/{key}")),
    }
}

/// Parses a JSON record; `what` names it (`tree/key`) in the error.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        what: what(),
        source,
    })
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records always serialise")
}

/// Now, in the unix seconds the store's times are kept in.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
