//! Character sets. Korean government sites still serve EUC-KR/CP949; the document's own
//! declaration wins, then the HTTP charset, then UTF-8, then a strict EUC-KR attempt.

use std::borrow::Cow;

use encoding_rs::{EUC_KR, Encoding, UTF_8};

/// The charset parameter of a Content-Type header.
pub fn header_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(value.trim().trim_matches('"').as_bytes())
        } else {
            None
        }
    })
}

/// The encoding an XML prolog declares (`<?xml version="1.0" encoding="EUC-KR"?>`), if any.
pub fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(256)];
    let start = find(head, b"<?xml")?;
    let end = start + find(&head[start..], b"?>")?;
    let decl = &head[start..end];
    let at = find(decl, b"encoding")?;
    let rest = &decl[at + b"encoding".len()..];
    let quote_at = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[quote_at];
    let value = &rest[quote_at + 1..];
    let close = value.iter().position(|&b| b == quote)?;
    Encoding::for_label(&value[..close])
}

/// Feed bytes ready for feed-rs. feed-rs decodes what the XML prolog declares but fails on
/// EUC-KR bytes whose charset only the HTTP header names, so those are transcoded to UTF-8 here.
pub fn feed_bytes<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if bytes.starts_with(b"\xEF\xBB\xBF") || xml_declared_encoding(bytes).is_some() {
        return Cow::Borrowed(bytes);
    }
    match header_charset(content_type) {
        Some(enc) if enc != UTF_8 => {
            let (text, _, _) = enc.decode(bytes);
            Cow::Owned(text.into_owned().into_bytes())
        }
        _ if std::str::from_utf8(bytes).is_err() => guess_euc_kr(bytes)
            .map(|t| Cow::Owned(t.into_bytes()))
            .unwrap_or(Cow::Borrowed(bytes)),
        _ => Cow::Borrowed(bytes),
    }
}

/// HTML page text: header charset, then `<meta charset>`, then UTF-8 (or strict EUC-KR when the
/// bytes are not UTF-8).
pub fn html_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let declared = header_charset(content_type).or_else(|| meta_charset(bytes));
    match declared {
        Some(enc) => enc.decode(bytes).0,
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => guess_euc_kr(bytes)
                .map(Cow::Owned)
                .unwrap_or_else(|| String::from_utf8_lossy(bytes)),
        },
    }
}

fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let at = find(&lower, b"charset=")?;
    let value = &head[at + b"charset=".len()..];
    let value: Vec<u8> = value
        .iter()
        .copied()
        .skip_while(|&b| b == b'"' || b == b'\'')
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .collect();
    Encoding::for_label(&value)
}

/// Decodes as EUC-KR (CP949) only if every byte sequence is valid there.
fn guess_euc_kr(bytes: &[u8]) -> Option<String> {
    EUC_KR
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(Cow::into_owned)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prolog_and_header_charsets() {
        assert_eq!(
            xml_declared_encoding(br#"<?xml version="1.0" encoding="euc-kr"?><rss/>"#),
            Some(EUC_KR)
        );
        assert_eq!(xml_declared_encoding(b"<rss/>"), None);
        assert_eq!(
            header_charset(Some("text/xml; charset=EUC-KR")),
            Some(EUC_KR)
        );
        let (euc, _, _) = EUC_KR.encode("<rss><title>반도체</title></rss>");
        let fixed = feed_bytes(&euc, Some("text/xml; charset=euc-kr"));
        assert_eq!(
            std::str::from_utf8(&fixed).unwrap(),
            "<rss><title>반도체</title></rss>"
        );
        // No declaration at all: invalid UTF-8 that is valid EUC-KR is decoded as such.
        let guessed = feed_bytes(&euc, None);
        assert!(std::str::from_utf8(&guessed).unwrap().contains("반도체"));
        assert_eq!(
            html_text(&euc, Some("text/html; charset=euc-kr")),
            "<rss><title>반도체</title></rss>"
        );
    }
}
