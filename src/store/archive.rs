//! The archive of every item recorded as new (see the `archive` tree in `mod.rs`): what
//! `/search` looks through, and the sample the bot measures a watch word against.

use super::{ARCHIVE_SUMMARY_CHARS, Store, StoreError, from_json};
use crate::classify::{ItemText, Keywords};
use crate::outbox::Notice;

/// An archived item's text as a search or a watch word reads it: the title and the summary kept.
pub fn archive_text(notice: &Notice) -> ItemText {
    ItemText::new(
        &notice.item.title,
        &notice.item.summary,
        ARCHIVE_SUMMARY_CHARS,
    )
}

impl Store {
    /// `/search`: the newest `n` archived items whose title or summary contains any of `words`,
    /// newest first (by the items' dates). Reads backwards from the newest and stops at `n`, so
    /// a common word costs little; a word that matches nothing reads the whole archive once.
    pub fn search(&self, words: &Keywords, n: usize) -> Result<Vec<Notice>, StoreError> {
        self.newest(n, |notice| words.matches(&archive_text(notice)))
    }

    /// The newest `n` archived items `matches` accepts, newest first.
    pub(super) fn newest(
        &self,
        n: usize,
        mut matches: impl FnMut(&Notice) -> bool,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut found = Vec::new();
        for entry in self.archive.iter().rev() {
            if found.len() >= n {
                break;
            }
            let (key, bytes) = entry?;
            let notice: Notice = from_json(&bytes, || format!("archive/{}", super::hex(&key)))?;
            if matches(&notice) {
                found.push(notice);
            }
        }
        Ok(found)
    }

    /// The newest `n` archived items, newest first.
    pub fn archived(&self, n: usize) -> Result<Vec<Notice>, StoreError> {
        self.newest(n, |_| true)
    }

    /// Forgets archived items dated before `cutoff` (unix seconds) and all but the newest
    /// `max`. With `dry_run`, only counts. Returns how many (would) go.
    pub(super) fn prune_archive(
        &self,
        cutoff: u64,
        max: usize,
        dry_run: bool,
    ) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for key in self.archive.range(..cutoff.to_be_bytes().as_slice()).keys() {
            doomed.push(key?);
        }
        // Past the cap: the oldest of what is left. (`len` walks the tree: once a day is fine.)
        let left = self.archive.len() - doomed.len();
        if left > max {
            let skip = doomed.len();
            for key in self.archive.iter().keys().skip(skip).take(left - max) {
                doomed.push(key?);
            }
        }
        if !dry_run {
            for key in &doomed {
                self.archive.remove(key)?;
            }
        }
        Ok(doomed.len())
    }
}
