//! Text as an item carries it: entities decoded, invisible and control characters dropped,
//! whitespace collapsed, HTML turned into text, lengths capped.

use super::item::MAX_SUMMARY_CHARS;

/// Decodes entities, drops control and invisible formatting characters, collapses whitespace.
pub fn clean_text(text: &str) -> String {
    let decoded = html_escape::decode_html_entities(text);
    collapse_whitespace(&decoded)
}

/// Collapses runs of whitespace to one space and drops control characters and bidi/zero-width
/// formatting characters, which can reorder or hide text in a notice.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    // Start of the run of kept characters not yet copied: copied a run at a time, not a
    // character at a time (every summary of every item passes through here).
    let mut run = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // What the character at `i` is, and its length: ASCII and U+A000..=U+DFFF (lead bytes
        // EA..=ED: Hangul syllables, never space, control or formatting) without decoding.
        let (space, dropped, len) = match bytes[i] {
            0x09..=0x0D | b' ' => (true, true, 1),
            0x00..=0x1F | 0x7F => (false, true, 1),
            0x00..=0x7F => (false, false, 1),
            0xEA..=0xED => (false, false, 3),
            _ => {
                let c = text[i..]
                    .chars()
                    .next()
                    .expect("a character at a char boundary");
                let space = c.is_whitespace();
                (
                    space,
                    space || c.is_control() || is_invisible_format(c),
                    c.len_utf8(),
                )
            }
        };
        if dropped {
            if let Some(start) = run.take() {
                out.push_str(&text[start..i]);
            }
            if space {
                pending_space = !out.is_empty();
            }
        } else if run.is_none() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            run = Some(i);
        }
        i += len;
    }
    if let Some(start) = run {
        out.push_str(&text[start..]);
    }
    out
}

pub(super) fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Plain text of an HTML fragment: the text of its elements (entities decoded), a space where a
/// block element starts or ends, nothing from `<script>` or `<style>`. Read with html5ever's
/// tokenizer alone: a summary needs no tree, and building one (a node and its attributes per
/// element) was most of the cost of reading an item with an HTML description.
pub fn html_to_text(html: &str) -> String {
    use html5ever::tokenizer::{
        BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    };
    use std::cell::{Cell, RefCell};

    struct Text {
        text: RefCell<String>,
        /// Inside `<script>` or `<style>`.
        hidden: Cell<bool>,
    }
    impl TokenSink for Text {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            match token {
                Token::CharacterTokens(t) if !self.hidden.get() => {
                    self.text.borrow_mut().push_str(&t)
                }
                Token::TagToken(tag) => {
                    let name: &str = &tag.name;
                    if is_block(name) {
                        self.text.borrow_mut().push(' ');
                    }
                    let raw = match name {
                        "script" => Some(html5ever::tokenizer::states::RawKind::ScriptData),
                        "style" => Some(html5ever::tokenizer::states::RawKind::Rawtext),
                        _ => None,
                    };
                    if let Some(kind) = raw {
                        let start = tag.kind == TagKind::StartTag && !tag.self_closing;
                        self.hidden.set(start);
                        if start {
                            return TokenSinkResult::RawData(kind);
                        }
                    }
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }

    if !html.contains('<') {
        return clean_text(html);
    }
    let tokenizer = Tokenizer::new(
        Text {
            text: RefCell::new(String::with_capacity(html.len().min(16 * 1024))),
            hidden: Cell::new(false),
        },
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    // In pieces, to stop early: the summary is capped anyway and MSIT bodies are huge.
    let mut rest = html;
    while !rest.is_empty() && tokenizer.sink.text.borrow().len() <= MAX_SUMMARY_CHARS * 8 {
        let mut cut = rest.len().min(8 * 1024);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        input.push_back(piece.into());
        let _ = tokenizer.feed(&input);
        rest = tail;
    }
    tokenizer.end();
    let text = tokenizer.sink.text.take();
    collapse_whitespace(&text)
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "tr"
            | "td"
            | "th"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "table"
            | "ul"
            | "ol"
    )
}

/// Cuts `text` to at most `max` characters, on a character boundary, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match kept_before_cut(text, max) {
        None => text.to_owned(),
        Some(kept) => format!("{}…", &text[..kept]),
    }
}

/// [`truncate_chars`] of `text` itself: no copy, cut or not.
pub fn truncate_in_place(text: &mut String, max: usize) {
    if let Some(kept) = kept_before_cut(text, max) {
        text.truncate(kept);
        text.push('…');
    }
}

/// When `text` has more than `max` characters: the bytes kept before the `…` that marks the cut.
fn kept_before_cut(text: &str, max: usize) -> Option<usize> {
    use crate::fold::first_chars;
    (first_chars(text, max).len() < text.len())
        .then(|| first_chars(text, max.saturating_sub(1)).trim_end().len())
}
