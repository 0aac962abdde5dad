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
//! - `outbox`: sequence (u64 BE, monotonic) → JSON [`Delivery`](crate::records::Delivery). A delivery is removed only after
//!   the destination accepted it.
//! - `dead`: sequence → JSON [`DeadLetter`]: deliveries Telegram refused for good (kept, not lost).
//! - `destinations`: destination key → JSON [`DestinationState`] (deactivated, migrated).
//! - `subscribers`: chat id (decimal text) → JSON [`Subscriber`]: topics, active flag, language,
//!   digest time. Written by the bot; read by the ingest stage's fan-out.
//! - `history`: sequence → JSON [`Notice`](crate::records::Notice): where `/recent` read from before the archive
//!   existed; a store that has it is migrated into `archive` when opened, and it stays empty.
//! - `digest`: chat id (i64 BE) ‖ sequence → JSON [`Notice`](crate::records::Notice): notices waiting for a subscriber's
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
//! not archived again) as JSON [`Notice`](crate::records::Notice) with the summary cut to [`ARCHIVE_SUMMARY_CHARS`], in
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
//! `db.rs` opens the store (schema, migrations) and holds the source state queries; `commit.rs` the poll's
//! transaction and the routing of later copies; `holds.rs` held notices; `prune.rs` forgetting;
//! `outbox.rs` the deliverer's operations; `subscribers.rs` the bot's; `archive.rs` the archive's
//! files; `backup.rs` stats, export and import; `codec.rs` keys and values.

mod archive;
mod backup;
mod codec;
mod commit;
mod db;
mod holds;
mod outbox;
mod prune;
pub(crate) mod subscribers;

pub use archive::archive_text;
pub use backup::StoreStats;
pub use codec::archive_copy;
pub(crate) use codec::unix_now;
pub use commit::{CommitReport, PollCommit, PollEntry};
pub use db::*;
pub use holds::{Held, HeldDigest, ReleaseReport};
pub use outbox::{DeadLetter, DestinationState};
pub use prune::PruneReport;
pub use subscribers::{ChatKind, Subscriber};
