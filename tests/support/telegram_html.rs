//! Telegram's HTML parse mode, as the Bot API documents it: a few tags, properly nested; `<a>`
//! needs an href; the only named entities are &lt; &gt; &amp; &quot; (numeric ones are allowed);
//! every other `<`, `>` and `&` must be escaped. Returns the visible text.

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

pub fn validate(html: &str) -> Result<String, String> {
    let mut visible = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("unclosed tag at {:?}", prefix(rest)))?;
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack
                        .pop()
                        .ok_or_else(|| format!("unexpected end tag </{name}>"))?;
                    if open != name.trim() {
                        return Err(format!("end tag </{name}> does not match <{open}>"));
                    }
                    continue;
                }
                let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
                if !TAGS.contains(&name) {
                    return Err(format!("unsupported start tag \"{name}\""));
                }
                if name == "a" {
                    let href = attrs
                        .trim()
                        .strip_prefix("href=\"")
                        .and_then(|v| v.strip_suffix('"'))
                        .ok_or_else(|| format!("<a> without a double-quoted href: {attrs:?}"))?;
                    decode(href)?;
                }
                stack.push(name.to_owned());
            }
            '>' => return Err("unescaped '>' in text".into()),
            '&' => {
                let end = rest.find(';').ok_or("unterminated entity")?;
                visible.push_str(&decode(&rest[..=end])?);
                rest = &rest[end + 1..];
            }
            _ => {
                visible.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("unclosed <{open}>"));
    }
    Ok(visible)
}

/// Decodes the entities of `text`, refusing anything Telegram refuses.
fn decode(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        if rest[..at].contains(['<', '>']) {
            return Err("unescaped '<' or '>'".into());
        }
        let end = rest[at..].find(';').ok_or("unterminated entity")? + at;
        let entity = &rest[at + 1..end];
        let decoded = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or(format!("bad entity &{e};"))?,
            e if e.starts_with('#') => e[1..]
                .parse()
                .ok()
                .and_then(char::from_u32)
                .ok_or(format!("bad entity &{e};"))?,
            e => return Err(format!("unsupported entity &{e};")),
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    if rest.contains(['<', '>']) {
        return Err("unescaped '<' or '>'".into());
    }
    out.push_str(rest);
    Ok(out)
}

fn prefix(s: &str) -> String {
    s.chars().take(20).collect()
}
