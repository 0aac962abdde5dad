//! Fingerprints: of a source's settings (a change forgets validators, a change of how items are
//! read re-baselines) and of a body with its parse settings (an unchanged page is not parsed
//! again).

use crate::config::SourceConfig;

/// Fingerprints of a source's settings, `fetch:parse`. Any change forgets the source's
/// validators (an ETag of the old URL means nothing at the new one; new selectors on an
/// unchanged page must be read). A change of the parse half — kind, selectors, filter,
/// identity, paging — also re-baselines the source (see the ingest stage): items whose keys
/// changed must not go out as new. A new URL alone does not: the source keeps its history, and
/// a release whose link changed with the URL is caught by its title.
pub fn settings_fingerprint(source: &SourceConfig) -> String {
    use std::fmt::Write;
    let mut fetch = format!("{}\0{:?}\0", source.url, source.method);
    if let Some(form) = &source.form {
        for (k, v) in form.get_ref() {
            let _ = write!(fetch, "{k}={v}\0");
        }
    }
    let mut text = format!("{:?}\0", source.kind.get_ref());
    if let Some(select) = &source.select {
        let s = select.get_ref();
        for selector in [
            Some(&s.item),
            Some(&s.title),
            s.link.as_ref(),
            s.date.as_ref(),
            s.summary.as_ref(),
        ] {
            let _ = write!(text, "{}\0", selector.map_or("", |c| c.text.as_str()));
        }
        let _ = write!(
            text,
            "{}\0{}\0",
            s.link_pattern.as_ref().map_or("", |p| p.text.as_str()),
            s.link_template
                .as_ref()
                .map_or("", |t| t.get_ref().as_str())
        );
    }
    if let Some(filter) = &source.filter {
        let f = filter.get_ref();
        let _ = write!(
            text,
            "{}\0{}\0",
            f.selector.as_ref().map_or("", |c| c.text.as_str()),
            f.any_of.join("\x1f")
        );
    }
    if let Some(identity) = &source.identity {
        let i = identity.get_ref();
        let _ = write!(
            text,
            "{}\0{}\0{:?}\0",
            i.link_params.as_deref().unwrap_or_default().join("\x1f"),
            i.pattern.as_ref().map_or("", |p| p.text.as_str()),
            i.from
        );
    }
    let _ = write!(text, "{}\0{}", source.max_pages, source.page_param);
    if !source.ministries.is_empty() {
        let _ = write!(text, "\0{}", source.ministries.join("\x1f"));
    }
    format!(
        "{}:{}",
        short_hex(&[fetch.as_bytes()]),
        short_hex(&[text.as_bytes()])
    )
}

/// Whether two settings fingerprints differ in how items are read (their parse halves).
pub fn parse_settings_changed(old: &str, new: &str) -> bool {
    old.rsplit(':').next() != new.rsplit(':').next()
}

/// A short, stable fingerprint of a response body and of how it is parsed: new settings make
/// the same page worth parsing again. XXH3-128, not a cryptographic hash: "the body did not
/// change" is no security boundary (a server that wants to be re-read only has to change a
/// byte), and SHA-256 of every body was 14 % of a first cycle's CPU. Prefixed with the
/// algorithm, so a hash of another kind (an older store's SHA-256) simply differs once.
pub(super) fn body_hash(source: &SourceConfig, bytes: &[u8]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(settings_fingerprint(source).as_bytes());
    hasher.update(&[0xff]);
    hasher.update(bytes);
    format!("xxh3:{:032x}", hasher.digest128())
}

/// SHA-256 of the parts (each followed by a separator), first 16 bytes, hex.
fn short_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update([0xff]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
