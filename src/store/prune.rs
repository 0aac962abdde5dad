//! Pruning: seen keys, titles and archived items their sources have not listed for
//! `keep_seen` are forgotten — never what a source still lists — and who got a release after
//! [`ROUTED_KEEP`].

use std::time::Duration;

use super::codec::*;
use super::*;

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

impl Store {
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
}
