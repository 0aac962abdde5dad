//! Backups and statistics: `store stats`, and `store export`/`import` as JSON Lines (a header
//! with the schema version, then one line per key of every tree) — also the way off sled. The
//! archive, kept in its own files, is exported as the `archive` tree it used to be (key: date ‖
//! sequence), so exports of either layout import into either.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::codec::{archive_key, from_json, hex, split_archive_key, unhex};
use super::{SCHEMA_VERSION, Store, StoreError};

/// Size and contents of the store (`policy-watch store stats`).
#[derive(Debug, Clone, Serialize)]
pub struct StoreStats {
    pub dir: PathBuf,
    pub schema_version: u32,
    pub size_on_disk: u64,
    /// Keys per tree.
    pub trees: Vec<(String, usize)>,
    pub pending_deliveries: usize,
    pub dead_letters: usize,
}

/// First line of an export.
#[derive(Debug, Serialize, Deserialize)]
struct ExportHeader {
    policy_watch_export: u32,
    schema_version: u32,
}

/// One key of one tree in an export. Keys are text when they are UTF-8 (`key`), hex otherwise;
/// values of JSON trees are embedded as JSON (`value`), others as hex (`value_hex`).
#[derive(Debug, Serialize, Deserialize)]
struct ExportRecord {
    tree: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_hex: Option<String>,
}

impl Store {
    /// Every tree: name, handle, whether its values are JSON. (The archive is not a tree.)
    fn trees(&self) -> [(&'static str, &sled::Tree, bool); 14] {
        [
            ("meta", &self.meta, false),
            ("seen", &self.seen, false),
            ("sources", &self.sources, true),
            ("outbox", &self.outbox, true),
            ("titles", &self.titles, false),
            ("dead", &self.dead, true),
            ("destinations", &self.destinations, true),
            ("subscribers", &self.subscribers, true),
            ("history", &self.history, true),
            ("digest", &self.digest, true),
            ("listed", &self.listed, true),
            ("held", &self.held, true),
            ("held_titles", &self.held_titles, false),
            ("routed", &self.routed, false),
        ]
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let schema_version = self
            .meta
            .get("schema_version")?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        Ok(StoreStats {
            dir: self.dir.clone(),
            schema_version,
            size_on_disk: self.db.size_on_disk()? + self.archive.size_on_disk()?,
            trees: self
                .trees()
                .iter()
                .map(|(name, tree, _)| Ok((name.to_string(), tree.len())))
                .chain([self.archive.len().map(|n| ("archive".to_string(), n))])
                .collect::<Result<_, StoreError>>()?,
            pending_deliveries: self.outbox.len(),
            dead_letters: self.dead.len(),
        })
    }

    /// Writes the whole store as JSON Lines: a header, then one line per key. Returns the count
    /// of records. This is the backup format and the way off sled.
    pub fn export(&self, out: &mut dyn std::io::Write) -> Result<usize, StoreError> {
        let header = ExportHeader {
            policy_watch_export: 1,
            schema_version: SCHEMA_VERSION,
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&header).expect("serialisable")
        )?;
        let mut count = 0;
        for (name, tree, json) in self.trees() {
            for entry in tree.iter() {
                let (k, v) = entry?;
                write_record(out, name, &k, &v, json)?;
                count += 1;
            }
        }
        self.archive.for_each(|date, seq, json| {
            write_record(out, "archive", &archive_key(date, seq), json, true)?;
            count += 1;
            Ok(())
        })?;
        out.flush()?;
        Ok(count)
    }

    /// Loads an export into this store, which must be empty. Returns the count of records.
    pub fn import(&self, input: impl std::io::BufRead) -> Result<usize, StoreError> {
        let empty = self
            .trees()
            .iter()
            .all(|(name, tree, _)| *name == "meta" || tree.is_empty())
            && self.archive.is_empty()?;
        if !empty {
            return Err(StoreError::NotEmpty {
                dir: self.dir.clone(),
            });
        }
        let bad = |line: usize, message: String| StoreError::Import { line, message };
        let mut lines = input.lines();
        let header: ExportHeader = match lines.next() {
            Some(line) => serde_json::from_str(&line?)
                .map_err(|e| bad(1, format!("not a policy-watch export header: {e}")))?,
            None => return Err(bad(1, "the file is empty".into())),
        };
        if header.schema_version > SCHEMA_VERSION {
            return Err(bad(
                1,
                format!(
                    "the export has schema version {}, newer than this build's {SCHEMA_VERSION}; import it with a newer policy-watch",
                    header.schema_version
                ),
            ));
        }
        let mut count = 0;
        let mut archived = self.archive.batch();
        for (i, line) in lines.enumerate() {
            let number = i + 2;
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let record: ExportRecord =
                serde_json::from_str(&line).map_err(|e| bad(number, e.to_string()))?;
            let key = match (&record.key, &record.key_hex) {
                (Some(k), _) => k.as_bytes().to_vec(),
                (None, Some(h)) => unhex(h).ok_or_else(|| bad(number, "bad key_hex".into()))?,
                (None, None) => return Err(bad(number, "a record needs key or key_hex".into())),
            };
            // The archive's files take what was its tree (a key is text when its bytes happen
            // to be UTF-8, as for every tree).
            if record.tree == "archive" {
                if key.len() != 16 {
                    return Err(bad(number, "an archive record needs a 16-byte key".into()));
                }
                let value = record
                    .value
                    .ok_or_else(|| bad(number, "an archive record needs a value".into()))?;
                let (date, seq) = split_archive_key(&key);
                archived.push(date, seq, serde_json::to_vec(&value).expect("serialisable"))?;
                count += 1;
                continue;
            }
            let tree = self
                .trees()
                .into_iter()
                .find(|(name, _, _)| *name == record.tree)
                .map(|(_, tree, _)| tree.clone())
                .ok_or_else(|| bad(number, format!("unknown tree {:?}", record.tree)))?;
            let value = match (&record.value, &record.value_hex) {
                (Some(v), _) => serde_json::to_vec(v).expect("serialisable"),
                (None, Some(h)) => unhex(h).ok_or_else(|| bad(number, "bad value_hex".into()))?,
                (None, None) => {
                    return Err(bad(number, "a record needs value or value_hex".into()));
                }
            };
            tree.insert(key, value)?;
            count += 1;
        }
        archived.finish()?;
        self.db.flush()?;
        Ok(count)
    }
}

/// One line of an export: a key of `tree` and its value (embedded as JSON when `json`).
fn write_record(
    out: &mut dyn std::io::Write,
    tree: &str,
    k: &[u8],
    v: &[u8],
    json: bool,
) -> Result<(), StoreError> {
    let (key, key_hex) = match std::str::from_utf8(k) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (None, Some(hex(k))),
    };
    let (value, value_hex) = if json {
        let parsed = from_json(v, || {
            format!("{tree}/{}", key.clone().unwrap_or_else(|| hex(k)))
        })?;
        (Some(parsed), None)
    } else {
        (None, Some(hex(v)))
    };
    let record = ExportRecord {
        tree: tree.to_owned(),
        key,
        key_hex,
        value,
        value_hex,
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&record).expect("serialisable")
    )?;
    Ok(())
}
