//! Character sets. Korean government sites still serve EUC-KR/CP949; the document's own
//! declaration wins, then the HTTP charset, then UTF-8, then a strict EUC-KR attempt.

use std::borrow::Cow;

#[cfg(test)]
use encoding_rs::EUC_KR;
use encoding_rs::{Encoding, UTF_8};

/// The charset parameter of a Content-Type header.
pub(crate) fn header_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
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
pub(crate) fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
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

/// Feed bytes ready for feed-rs, which decodes what the XML prolog declares. The rules, as the
/// best feed readers apply them:
/// - a BOM wins;
/// - a declared legacy charset (prolog or HTTP) over bytes that are valid UTF-8 with non-ASCII
///   text is a lie: the bytes are read as UTF-8 (legacy multi-byte text is practically never
///   valid UTF-8);
/// - a declared charset feed-rs cannot see (HTTP only) is transcoded here;
/// - bytes that fit no declaration (undeclared, or declared UTF-8 but not UTF-8) are detected
///   with chardetng, Firefox's detector, with the `.kr` hint;
/// - RSS 0.9 (the Netscape namespace), which feed-rs does not know, is read as RSS 1.0 (the
///   same shape).
pub(crate) fn feed_bytes<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let decoded = feed_text(bytes, content_type);
    if find(&decoded[..decoded.len().min(4096)], RSS_090_NS).is_some() {
        let text = String::from_utf8_lossy(&decoded).replace(
            std::str::from_utf8(RSS_090_NS).expect("ascii"),
            "http://purl.org/rss/1.0/",
        );
        return Cow::Owned(text.into_bytes());
    }
    decoded
}

const RSS_090_NS: &[u8] = b"http://my.netscape.com/rdf/simple/0.9/";

/// Whether [`feed_bytes`] would hand these bytes over as they are, provided they are valid
/// UTF-8: no BOM, a prolog that declares UTF-8, not RSS 0.9. Such a feed can go to the parser
/// without a check of its own — the parser validates UTF-8 as it decodes, and only when it
/// fails need [`feed_bytes`] look closer (a first cycle over a thousand feeds spent 3 % of its
/// CPU validating bytes the parser then validated again).
pub(crate) fn declares_utf8(bytes: &[u8]) -> bool {
    !starts_with_bom(bytes)
        && xml_declared_encoding(bytes) == Some(UTF_8)
        && find(&bytes[..bytes.len().min(4096)], RSS_090_NS).is_none()
}

/// A UTF-8 or UTF-16 byte order mark: the parser's to honour.
fn starts_with_bom(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xEF\xBB\xBF")
        || bytes.starts_with(b"\xFE\xFF")
        || bytes.starts_with(b"\xFF\xFE")
}

/// Whether `bytes` are UTF-8 throughout.
pub(crate) fn is_utf8(bytes: &[u8]) -> bool {
    // encoding_rs's validator: about twice std's speed on Korean text.
    Encoding::utf8_valid_up_to(bytes) == bytes.len()
}

fn feed_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if starts_with_bom(bytes) {
        return Cow::Borrowed(bytes);
    }
    let declared = xml_declared_encoding(bytes);
    let is_utf8 = is_utf8(bytes);
    match (declared, header_charset(content_type)) {
        // The prolog is what feed-rs honours; it is right unless UTF-8 bytes say otherwise.
        (Some(enc), _) if enc == UTF_8 || !is_utf8 || bytes.is_ascii() => {
            if enc == UTF_8 && !is_utf8 {
                return Cow::Owned(with_utf8_prolog(&detect(bytes).decode(bytes).0));
            }
            Cow::Borrowed(bytes)
        }
        // A legacy prolog over UTF-8 text.
        (Some(_), _) => Cow::Owned(with_utf8_prolog(&String::from_utf8_lossy(bytes))),
        (None, _) if is_utf8 => Cow::Borrowed(bytes),
        (None, Some(enc)) if enc != UTF_8 => {
            Cow::Owned(enc.decode(bytes).0.into_owned().into_bytes())
        }
        (None, _) => Cow::Owned(detect(bytes).decode(bytes).0.into_owned().into_bytes()),
    }
}

/// The document with its XML prolog's encoding set to UTF-8 (it is UTF-8 text now).
fn with_utf8_prolog(text: &str) -> Vec<u8> {
    if let Some(rest) = text.strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
    {
        let decl = &rest[..end];
        if let Some(at) = decl.find("encoding") {
            let after = &decl[at + "encoding".len()..];
            if let Some(open) = after.find(['"', '\'']) {
                let quote = &after[open..open + 1];
                if let Some(close) = after[open + 1..].find(quote) {
                    let value_start = 5 + at + "encoding".len() + open + 1;
                    let value_end = value_start + close;
                    let mut out = String::with_capacity(text.len());
                    out.push_str(&text[..value_start]);
                    out.push_str("UTF-8");
                    out.push_str(&text[value_end..]);
                    return out.into_bytes();
                }
            }
        }
    }
    text.as_bytes().to_vec()
}

/// The most likely encoding of bytes that are not (all) UTF-8: chardetng with the `.kr`
/// top-level domain as the hint (EUC-KR wins the close calls).
fn detect(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(Some(b"kr"), true)
}

/// HTML page text: the header charset, then `<meta charset>`, unless the bytes are valid UTF-8
/// with non-ASCII text (a legacy declaration over UTF-8 is a lie); undeclared non-UTF-8 bytes
/// are detected (chardetng, `.kr` hint).
pub(crate) fn html_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let declared = header_charset(content_type).or_else(|| meta_charset(bytes));
    match declared {
        Some(enc) if enc != UTF_8 => enc.decode(bytes).0,
        _ => detect(bytes).decode(bytes).0,
    }
}

/// How a body's bytes are read, and what declared their charset (for `check-sources`).
pub(crate) fn describe(bytes: &[u8], content_type: Option<&str>, html: bool) -> String {
    let header = header_charset(content_type).map(Encoding::name);
    let document = if html {
        meta_charset(bytes)
    } else {
        xml_declared_encoding(bytes)
    }
    .map(Encoding::name);
    let read_as = if is_utf8(bytes) {
        "UTF-8".to_owned()
    } else {
        // The same precedence as the decoding: for pages the HTTP charset, for feeds the prolog.
        let declared = if html {
            header.or(document)
        } else {
            document.or(header)
        };
        match declared {
            Some(name) if name != "UTF-8" => name.to_owned(),
            _ => format!("{} (detected)", detect(bytes).name()),
        }
    };
    format!(
        "read as {read_as} (HTTP charset: {}, document: {})",
        header.unwrap_or("none"),
        document.unwrap_or("none")
    )
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
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
