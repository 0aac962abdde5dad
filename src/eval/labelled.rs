//! The labelled files (`tests/data/*.jsonl`): one JSON object a line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One labelled item, as in the dev files (`tests/data/*.jsonl`): one JSON object a line.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    /// Topic ids; empty when the item is not about the initiative.
    pub labels: Vec<String>,
    /// `high`, `medium` or `ambiguous`: how clear-cut the label was.
    #[serde(default)]
    pub confidence: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: {message}; each line must be a JSON object with \"id\", \"title\", \"labels\" and optional \"summary\" and \"confidence\""
    )]
    Line {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: no labelled items in the file")]
    Empty { path: PathBuf },
}

/// Reads a JSONL file of labelled items (blank lines are skipped).
pub fn load(path: &Path) -> Result<Vec<Labelled>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses labelled items; `path` names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Labelled>, LoadError> {
    // A byte-order mark (editors on Windows write one) is no part of the first line's JSON.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: Labelled = serde_json::from_str(line).map_err(|e| LoadError::Line {
            path: path.to_owned(),
            line: n + 1,
            column: e.column(),
            message: e.to_string(),
        })?;
        items.push(item);
    }
    if items.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_starts_with_a_byte_order_mark_is_read() {
        let text = "\u{FEFF}{\"id\":\"a\",\"title\":\"AI반도체\",\"labels\":[\"chips\"]}\n\n{\"id\":\"b\",\"title\":\"인사\",\"labels\":[]}\n";
        let items = parse(Path::new("x.jsonl"), text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].id, "a");
    }
}
