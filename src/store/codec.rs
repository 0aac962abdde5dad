//! How the store writes its keys and values: big-endian numbers, hex title hashes, JSON records,
//! and the helpers every file of the store shares.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sled::transaction::TransactionError;

use super::{ARCHIVE_SUMMARY_CHARS, StoreError};
use crate::records::Notice;

pub(super) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// The time (u64 BE unix seconds) a `seen` or `titles` value starts with.
pub(super) fn last_present(value: &[u8]) -> u64 {
    value
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Key of an archived item as the `archive` tree had it, and as an export names it: date (unix
/// seconds, u64 BE) ‖ sequence (u64 BE).
pub(super) fn archive_key(date: u64, seq: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&date.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Date and sequence of an [`archive_key`] (0 for what a short key lacks).
pub(super) fn split_archive_key(key: &[u8]) -> (u64, u64) {
    let part = |range: std::ops::Range<usize>| {
        key.get(range)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    };
    (part(0..8), part(8..16))
}

/// The date an item is archived under: its own, else when it was first seen.
pub(super) fn archive_date(notice: &Notice) -> u64 {
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
pub(super) fn seen_prefix(source_id: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(source_id.len() + 1);
    prefix.extend_from_slice(source_id.as_bytes());
    prefix.push(0);
    prefix
}

pub(super) fn seen_key(source_id: &str, key: &str) -> Vec<u8> {
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
