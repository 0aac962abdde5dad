//! The poll's commit: every item of a group of polls marked seen, its deliveries queued (or
//! held), its title and who it was routed to recorded, and each source's state and listing saved,
//! in one transaction; a later copy of a release reaches the destinations the earlier did not.

use std::time::Duration;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::archive::{Body, Record};
use super::codec::*;
use super::holds::Held;
use super::subscribers::digest_key;
use super::*;
use crate::records::{Delivery, Notice};

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
    pub(crate) took_over: usize,
    /// New entries whose release was seen before, sent to the destinations the earlier copies did
    /// not reach (more topics, a watch word, an earlier copy that matched nothing).
    pub(crate) extended: usize,
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
    /// The `routed` value of a first copy (see the tree); empty for an item without a title key.
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
                let mut entry = PreparedEntry {
                    seen: seen_key(source_id, &e.key),
                    title_key: e.title_key,
                    deliveries: e.deliveries.iter().map(to_json).collect(),
                    delivery_keys: e.deliveries.iter().map(|d| d.destination.key()).collect(),
                    digests: e.digests.iter().map(|(c, n)| (*c, to_json(n))).collect(),
                    routed: Vec::new(),
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
                };
                // Who the release went to, kept with its title (an item without one has none).
                if e.title_key.is_some() {
                    let routed = if e.baseline {
                        Routed::everyone(now_secs)
                    } else {
                        let mut routed = Routed::new(now_secs);
                        routed.add(entry.destinations());
                        routed
                    };
                    entry.routed = routed.encode();
                }
                entry
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
        routed.add(entry.destinations());
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
        let held_destinations: std::collections::BTreeSet<String> =
            held.iter().flat_map(Held::destinations).collect();
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
        let ours: std::collections::HashSet<String> = entry.destinations().collect();
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
    /// Where this copy goes: its deliveries' destinations and its digest queues' chats, as the
    /// `routed` tree lists them.
    fn destinations(&self) -> impl Iterator<Item = String> + '_ {
        self.delivery_keys.iter().cloned().chain(
            self.digests
                .iter()
                .map(|(chat, _)| digest_destination(*chat)),
        )
    }

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
pub(super) fn digest_destination(chat: i64) -> String {
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

/// Queues one notice inside a transaction: its deliveries into the outbox and each chat's copy
/// into its digest queue, numbered from `next` (digest keys share the outbox counter: unique and
/// ordered). The poll's commit and the release of a held notice both go through here. Returns
/// the deliveries queued.
pub(super) fn queue_notice(
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

impl Store {
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
    pub(crate) fn commit_poll_one(
        &self,
        poll: &PollCommit<'_>,
    ) -> Result<CommitReport, StoreError> {
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
}
