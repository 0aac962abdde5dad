//! The archive of every item recorded as new: what `/search` looks through, what `/recent`
//! lists, and the sample the bot measures a watch word against.
//!
//! It lives beside sled, not in it: append-only segment files in `<state dir>/archive/`, one per
//! month of the items' dates (`2026-11.jsonl`), a line per item: `date seq json\n` (date: unix
//! seconds, the item's own or when it was first seen; seq: the store's sequence number at its
//! commit; json: the [`Notice`] with its summary cut). Why not a sled tree: every archived item
//! was a sled insert of ≈ 1 KB, rewritten with its page at every split and consolidation — a
//! fifth of a first cycle's CPU and five sixths of the store on disk (docs/benchmarks.md).
//!
//! What this costs: the lines are appended after the poll's transaction committed, so a crash
//! between the two loses those items' search entries (never a notice: sending is the outbox's
//! job, and the items stay seen). Reading sorts one segment at a time, newest month first, and
//! stops when it has enough. Pruning deletes whole months and rewrites the one it cuts (a new
//! file renamed over the old: a reader sees one or the other). An unfinished last line (being
//! written, or cut short by a crash) is skipped, and cut off by the next append to that file; a
//! line that cannot be read (a damaged disk) is skipped with a warning naming file and line; the
//! same line appended twice is read once.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Datelike, NaiveDate};

use super::{ARCHIVE_SUMMARY_CHARS, Store, StoreError};
use crate::classify::{ItemText, Keywords};
use crate::records::Notice;

/// Segment files end in this.
const SEGMENT_SUFFIX: &str = ".jsonl";

/// An archived item's text as a search or a watch word reads it: the title and the summary kept.
pub fn archive_text(notice: &Notice) -> ItemText {
    ItemText::new(
        &notice.item.title,
        &notice.item.summary,
        ARCHIVE_SUMMARY_CHARS,
    )
}

/// One archived item on its way in: its date, its sequence number and its record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Record<'a> {
    pub date: u64,
    pub seq: u64,
    pub body: Body<'a>,
}

/// A record as JSON already, or the notice to write as JSON (straight into the file: a first
/// cycle archives twenty thousand notices, each of which would otherwise be serialised into
/// a buffer of its own first).
#[derive(Debug, Clone, Copy)]
pub(super) enum Body<'a> {
    Json(&'a [u8]),
    Notice(&'a Notice),
}

/// Items a migration or an import appends, written a few thousand at a time: bounded memory,
/// few writes.
pub(super) struct Batch<'a> {
    archive: &'a Archive,
    pending: Vec<(u64, u64, Vec<u8>)>,
}

impl Batch<'_> {
    const SIZE: usize = 4096;

    /// Adds an item (its date, sequence and JSON record), writing the batch when it is full.
    pub(super) fn push(&mut self, date: u64, seq: u64, json: Vec<u8>) -> Result<(), StoreError> {
        self.pending.push((date, seq, json));
        if self.pending.len() >= Self::SIZE {
            self.write()?;
        }
        Ok(())
    }

    /// Writes what is left.
    pub(super) fn finish(mut self) -> Result<(), StoreError> {
        self.write()
    }

    fn write(&mut self) -> Result<(), StoreError> {
        let records = self.pending.iter().map(|(date, seq, json)| Record {
            date: *date,
            seq: *seq,
            body: Body::Json(json),
        });
        self.archive.append(records)?;
        self.pending.clear();
        Ok(())
    }
}

/// The segment files.
pub(super) struct Archive {
    dir: PathBuf,
    /// Appends and rewrites one at a time (within this process; sled's lock keeps other
    /// processes out of the state directory). Readers take no lock.
    writing: Mutex<()>,
}

/// A segment read into memory: its bytes and its lines' keys, sorted by (date, seq).
struct Segment {
    bytes: Vec<u8>,
    lines: Vec<(u64, u64, Range<usize>)>,
}

impl Segment {
    fn json(&self, range: &Range<usize>) -> &[u8] {
        &self.bytes[range.clone()]
    }
}

impl Archive {
    /// The archive in `dir` (created when missing).
    pub(super) fn open(dir: PathBuf) -> Result<Archive, StoreError> {
        fs::create_dir_all(&dir).map_err(failed(&dir))?;
        Ok(Archive {
            dir,
            writing: Mutex::new(()),
        })
    }

    /// A [`Batch`] of items to append to this archive.
    pub(super) fn batch(&self) -> Batch<'_> {
        Batch {
            archive: self,
            pending: Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data: a writer that panicked left at worst an unfinished line.
        self.writing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `records`, each segment's through one buffered writer.
    pub(super) fn append<'a>(
        &self,
        records: impl IntoIterator<Item = Record<'a>>,
    ) -> Result<(), StoreError> {
        let mut records: Vec<((i32, u32), Record)> =
            records.into_iter().map(|r| (month(r.date), r)).collect();
        if records.is_empty() {
            return Ok(());
        }
        // Stable: a segment's lines keep the order they came in.
        records.sort_by_key(|(segment, _)| *segment);
        let _writing = self.lock();
        for group in records.chunk_by(|a, b| a.0 == b.0) {
            let path = self.dir.join(segment_file(group[0].0));
            append_to(&path, group.iter().map(|(_, r)| r)).map_err(failed(&path))?;
        }
        Ok(())
    }

    /// Segment files, oldest month first.
    fn segments(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut paths = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(failed(&self.dir))? {
            let path = entry.map_err(failed(&self.dir))?.path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| month_of(n).is_some())
            {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }

    /// The newest `n` archived items `matches` accepts, newest first (by date, then sequence).
    pub(super) fn newest(
        &self,
        n: usize,
        mut matches: impl FnMut(&Notice) -> bool,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut found = Vec::new();
        for path in self.segments()?.iter().rev() {
            if found.len() >= n {
                break;
            }
            let Some(segment) = read_segment(path)? else {
                continue;
            };
            for (_, _, range) in segment.lines.iter().rev() {
                if found.len() >= n {
                    break;
                }
                if let Some(notice) = parse_notice(path, segment.json(range))
                    && matches(&notice)
                {
                    found.push(notice);
                }
            }
        }
        Ok(found)
    }

    /// Every archived item, oldest first: date, sequence, JSON record.
    pub(super) fn for_each(
        &self,
        mut each: impl FnMut(u64, u64, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for path in self.segments()? {
            if let Some(segment) = read_segment(&path)? {
                for (date, seq, range) in &segment.lines {
                    each(*date, *seq, segment.json(range))?;
                }
            }
        }
        Ok(())
    }

    /// Archived items (counts lines: the daily prune and `store stats` call it).
    pub(super) fn len(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for path in self.segments()? {
            count += read(&path)?
                .map(|bytes| bytes.iter().filter(|b| **b == b'\n').count())
                .unwrap_or(0);
        }
        Ok(count)
    }

    pub(super) fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.segments()?.is_empty())
    }

    /// Bytes of the segment files.
    pub(super) fn size_on_disk(&self) -> Result<u64, StoreError> {
        let mut size = 0;
        for path in self.segments()? {
            size += fs::metadata(&path).map_err(failed(&path))?.len();
        }
        Ok(size)
    }

    /// Forgets archived items dated before `cutoff` (unix seconds) and all but the newest `max`.
    /// With `dry_run`, only counts. Returns how many (would) go.
    pub(super) fn prune(
        &self,
        cutoff: u64,
        max: usize,
        dry_run: bool,
    ) -> Result<usize, StoreError> {
        let _writing = self.lock();
        // Newest month first: what the cap keeps is counted from the newest item down.
        let mut kept = 0usize;
        let mut doomed = 0usize;
        for path in self.segments()?.iter().rev() {
            let Some(segment) = read_segment(path)? else {
                continue;
            };
            // Lines to keep: dated from the cutoff on, newest first, as many as the cap allows.
            let fresh = segment
                .lines
                .iter()
                .rev()
                .take_while(|(date, _, _)| *date >= cutoff)
                .count();
            let keep = fresh.min(max.saturating_sub(kept));
            kept += keep;
            let gone = segment.lines.len() - keep;
            doomed += gone;
            if dry_run || gone == 0 {
                continue;
            }
            if keep == 0 {
                fs::remove_file(path).map_err(failed(path))?;
                continue;
            }
            let mut text = Vec::new();
            for (date, seq, range) in &segment.lines[segment.lines.len() - keep..] {
                write_line(&mut text, *date, *seq, Body::Json(segment.json(range)))
                    .expect("writing to memory");
            }
            replace(path, &text).map_err(failed(path))?;
        }
        Ok(doomed)
    }
}

impl Store {
    /// `/search`: the newest `n` archived items whose title or summary contains any of `words`,
    /// newest first (by the items' dates). Reads backwards from the newest and stops at `n`, so
    /// a common word costs little; a word that matches nothing reads the whole archive once.
    /// The newest `n` archived items that contain every one of `words`, newest first.
    pub fn search(&self, words: &Keywords, n: usize) -> Result<Vec<Notice>, StoreError> {
        self.archive
            .newest(n, |notice| words.matches_all(&archive_text(notice)))
    }

    /// The newest `n` archived items `matches` accepts, newest first.
    pub(super) fn newest(
        &self,
        n: usize,
        matches: impl FnMut(&Notice) -> bool,
    ) -> Result<Vec<Notice>, StoreError> {
        self.archive.newest(n, matches)
    }

    /// The newest `n` archived items, newest first.
    pub fn archived(&self, n: usize) -> Result<Vec<Notice>, StoreError> {
        self.newest(n, |_| true)
    }
}

/// The error of an I/O operation on `path` in the archive.
fn failed(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Archive {
        path: path.to_owned(),
        source,
    }
}

/// `date seq json\n`.
fn write_line(out: &mut impl Write, date: u64, seq: u64, body: Body<'_>) -> std::io::Result<()> {
    write!(out, "{date} {seq} ")?;
    match body {
        Body::Json(json) => out.write_all(json)?,
        Body::Notice(notice) => serde_json::to_writer(&mut *out, notice)?,
    }
    out.write_all(b"\n")
}

/// The month (UTC) of an item dated `date`: the segment it goes to.
fn month(date: u64) -> (i32, u32) {
    let when = i64::try_from(date)
        .ok()
        .and_then(|d| DateTime::from_timestamp(d, 0))
        .unwrap_or_default();
    (when.year(), when.month())
}

/// A segment's file name: `YYYY-MM.jsonl`.
fn segment_file((year, month): (i32, u32)) -> String {
    format!("{year:04}-{month:02}{SEGMENT_SUFFIX}")
}

/// The file an item dated `date` is archived in.
#[cfg(test)]
fn segment_name(date: u64) -> String {
    segment_file(month(date))
}

/// The month a segment file name stands for.
fn month_of(name: &str) -> Option<NaiveDate> {
    let stem = name.strip_suffix(SEGMENT_SUFFIX)?;
    let (year, month) = stem.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// Appends `records` to `path`, after cutting off an unfinished last line (a crash mid-write:
/// half a record, which no reader could use) so that the new lines start on a line of their own.
fn append_to<'a>(
    path: &Path,
    records: impl Iterator<Item = &'a Record<'a>>,
) -> std::io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            file.set_len(complete_lines(&file, len)?)?;
        }
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
    for r in records {
        write_line(&mut out, r.date, r.seq, r.body)?;
    }
    out.flush()
}

/// The length of `file` (`len` bytes) up to and including its last line end: what is left
/// when an unfinished last line is cut off. A record is a few KB at most; a megabyte back is
/// plenty to find the line before it.
fn complete_lines(file: &File, len: u64) -> std::io::Result<u64> {
    let from = len.saturating_sub(1 << 20);
    let mut tail = vec![0u8; (len - from) as usize];
    file.read_exact_at(&mut tail, from)?;
    Ok(match tail.iter().rposition(|b| *b == b'\n') {
        Some(at) => from + at as u64 + 1,
        None => from,
    })
}

/// Writes `text` to a new file and renames it over `path`.
fn replace(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let fresh = path.with_extension("jsonl.new");
    let mut file = File::create(&fresh)?;
    file.write_all(text)?;
    file.sync_data()?;
    fs::rename(&fresh, path)
}

/// A file's bytes; `None` when it vanished (pruned while being listed).
fn read(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(failed(path)(source)),
    }
}

/// A segment's lines, sorted by key, each key once; unreadable lines skipped with a warning.
fn read_segment(path: &Path) -> Result<Option<Segment>, StoreError> {
    let Some(bytes) = read(path)? else {
        return Ok(None);
    };
    let mut lines = Vec::new();
    let mut start = 0;
    let mut number = 0;
    while start < bytes.len() {
        number += 1;
        let Some(len) = bytes[start..].iter().position(|b| *b == b'\n') else {
            // Unfinished: being appended right now, or cut short by a crash (the next append
            // removes it). Nothing to warn about.
            tracing::debug!(
                "archive {} line {number} is unfinished; skipped",
                path.display()
            );
            break;
        };
        let end = start + len;
        match parse_header(&bytes[start..end]) {
            Some((date, seq, json_start)) => lines.push((date, seq, start + json_start..end)),
            None => tracing::warn!(
                "archive {} line {number} is not `date seq json`; skipped (/search will not find that item)",
                path.display()
            ),
        }
        start = end + 1;
    }
    lines.sort_unstable_by_key(|(date, seq, _)| (*date, *seq));
    lines.dedup_by_key(|(date, seq, _)| (*date, *seq));
    Ok(Some(Segment { bytes, lines }))
}

/// `date seq ` at the start of a line: the two numbers and where the JSON starts.
fn parse_header(line: &[u8]) -> Option<(u64, u64, usize)> {
    let mut fields = line.splitn(3, |b| *b == b' ');
    let date = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let seq_text = fields.next()?;
    let seq = std::str::from_utf8(seq_text).ok()?.parse().ok()?;
    let json = fields.next()?;
    Some((date, seq, line.len() - json.len()))
}

/// A line's notice; a record that does not parse is skipped with a warning.
fn parse_notice(path: &Path, json: &[u8]) -> Option<Notice> {
    match serde_json::from_slice(json) {
        Ok(notice) => Some(notice),
        Err(e) => {
            tracing::warn!(
                "archive {}: a record is corrupt ({e}); skipped (/search will not find that item)",
                path.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice_json(title: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "source_id": "s", "source_name": "S", "ministry": "과학기술정보통신부",
            "item": {"key": title, "title": title, "link": null, "summary": "", "published": null},
            "topics": [], "seen_at": "2026-11-30T00:00:00Z"
        }))
        .unwrap()
    }

    fn record(date: u64, seq: u64, json: &[u8]) -> Record<'_> {
        Record {
            date,
            seq,
            body: Body::Json(json),
        }
    }

    fn titles(archive: &Archive, n: usize) -> Vec<String> {
        archive
            .newest(n, |_| true)
            .unwrap()
            .into_iter()
            .map(|n| n.item.title)
            .collect()
    }

    const NOV: u64 = 1_764_000_000; // 2025-11-24
    const DEC: u64 = 1_765_000_000; // 2025-12-06

    #[test]
    fn segments_are_months_of_the_items_dates() {
        assert_eq!(segment_name(NOV), "2025-11.jsonl");
        assert_eq!(segment_name(DEC), "2025-12.jsonl");
        assert_eq!(segment_name(0), "1970-01.jsonl");
        assert_eq!(
            segment_name(u64::MAX),
            "1970-01.jsonl",
            "out of range: the epoch"
        );
        assert_eq!(
            month_of("2025-12.jsonl"),
            NaiveDate::from_ymd_opt(2025, 12, 1)
        );
        assert_eq!(month_of("2025-12.jsonl.new"), None);
        assert_eq!(month_of("notes.jsonl"), None);
    }

    /// Newest first across months and within one (by date, then sequence, not by when the
    /// line was written); an unfinished last line is skipped and cut off by the next append;
    /// a line written twice is read once; a garbage line costs only itself.
    #[test]
    fn reads_newest_first_and_survives_torn_and_repeated_lines() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path().join("archive")).unwrap();
        let (a, b, c, d) = (
            notice_json("a"),
            notice_json("b"),
            notice_json("c"),
            notice_json("d"),
        );
        archive
            .append([
                record(DEC, 1, &a),
                record(NOV, 2, &b),
                record(DEC - 10, 3, &c),
            ])
            .unwrap();
        assert_eq!(titles(&archive, 10), ["a", "c", "b"]);
        assert_eq!(titles(&archive, 2), ["a", "c"]);

        // A crash mid-append: half a line at the end of December's segment, and garbage.
        let december = dir.path().join("archive/2025-12.jsonl");
        let mut torn = OpenOptions::new().append(true).open(&december).unwrap();
        torn.write_all(b"not a record\n1765000001 9 {\"sour")
            .unwrap();
        assert_eq!(titles(&archive, 10), ["a", "c", "b"]);
        archive
            .append([record(DEC + 5, 4, &d), record(DEC, 1, &a)])
            .unwrap();
        assert_eq!(titles(&archive, 10), ["d", "a", "c", "b"]);
        let text = fs::read_to_string(&december).unwrap();
        assert!(
            !text.contains("{\"sour\n"),
            "the half record was cut off: {text}"
        );
        assert!(text.ends_with('\n'));
        assert_eq!(
            archive.len().unwrap(),
            6,
            "lines on disk: the repeat and the garbage line included, the half record not"
        );
    }

    #[test]
    fn prune_drops_old_months_whole_cuts_the_boundary_and_keeps_the_newest_max() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path().join("archive")).unwrap();
        let json: Vec<Vec<u8>> = (0..6).map(|i| notice_json(&format!("n{i}"))).collect();
        let dates = [NOV - 40 * 86_400, NOV, NOV + 1, DEC, DEC + 1, DEC + 2];
        archive
            .append((0..6).map(|i| record(dates[i], i as u64, &json[i])))
            .unwrap();
        assert_eq!(archive.segments().unwrap().len(), 3);

        assert_eq!(
            archive.prune(NOV + 1, 100, true).unwrap(),
            2,
            "dry run counts"
        );
        assert_eq!(titles(&archive, 10).len(), 6, "and changes nothing");

        assert_eq!(archive.prune(NOV + 1, 100, false).unwrap(), 2);
        assert_eq!(titles(&archive, 10), ["n5", "n4", "n3", "n2"]);
        assert_eq!(
            archive.segments().unwrap().len(),
            2,
            "October's file is gone"
        );

        assert_eq!(archive.prune(0, 2, false).unwrap(), 2, "the cap");
        assert_eq!(titles(&archive, 10), ["n5", "n4"]);
        assert_eq!(archive.segments().unwrap().len(), 1);
        assert!(!dir.path().join("archive/2025-12.jsonl.new").exists());
    }
}
