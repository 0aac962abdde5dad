//! Property tests of the Korean-aware matcher.

use std::path::Path;

use policy_watch::classify::Classifier;
use policy_watch::config::Config;
use policy_watch::fold::normalize;
use proptest::prelude::*;

fn classifier_for(keyword: &str) -> Classifier {
    let text = format!(
        "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [{keyword:?}]\n"
    );
    let config = Config::parse(Path::new("t.toml"), &text).unwrap();
    Classifier::new(&config.classify, &config.topics).unwrap()
}

/// Keywords shaped like the shipped ones: Hangul, Latin, digits, mixed.
fn keyword() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("AI반도체".to_owned()),
        Just("AI 기본법".to_owned()),
        Just("NPU".to_owned()),
        Just("K-클라우드".to_owned()),
        Just("HBM".to_owned()),
        Just("온디바이스 AI".to_owned()),
        Just("국가전략기술".to_owned()),
        "[가-힣]{2,6}",
        "[A-Z]{2,4}[가-힣]{1,4}",
    ]
}

/// Korean filler that ends and starts with a non-Latin character, so a Latin keyword edge still
/// sits on a word boundary.
fn filler() -> impl Strategy<Value = String> {
    "[가-힣 ,.()「」]{0,20}".prop_map(|s| s)
}

/// Spells a keyword the way ministries do: spaces, middle dots, hyphens and slashes inside,
/// full-width Latin, random case.
fn variant(keyword: &str, seps: &[u8], widths: &[bool], upper: &[bool]) -> String {
    let mut out = String::new();
    // A one- or two-syllable Hangul word is found only within one word (`원전` is not in
    // `지원 전략`): it is spelled without spaces inside.
    let letters: Vec<char> = keyword.chars().filter(|c| c.is_alphanumeric()).collect();
    let short_hangul = letters.len() <= 2 && letters.iter().all(|c| ('가'..='힣').contains(c));
    for (i, c) in keyword.chars().filter(|c| !c.is_whitespace()).enumerate() {
        if i > 0 {
            match seps.get(i).copied().unwrap_or(0) % 6 {
                1 if short_hangul => {}
                1 => out.push(' '),
                2 => out.push('·'),
                3 => out.push('-'),
                4 => out.push('/'),
                _ => {}
            }
        }
        let c = if upper.get(i).copied().unwrap_or(false) {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
        if c.is_ascii_alphanumeric() && widths.get(i).copied().unwrap_or(false) {
            out.push(char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap());
        } else {
            out.push(c);
        }
    }
    out
}

/// The normalisation spelled out one character at a time, as simply as it can be: each
/// character's NFKC form; folded: lower case, without whitespace, punctuation or combining marks.
fn reference(text: &str) -> (String, String) {
    use unicode_normalization::UnicodeNormalization;
    let nfkc: String = text
        .chars()
        .flat_map(|c| std::iter::once(c).nfkc())
        .collect();
    let folded = nfkc
        .chars()
        .filter(|c| !policy_watch::fold::is_ignorable(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect();
    (nfkc, folded)
}

/// For each byte of the folded text, the start of the NFKC character it came from: the per-byte
/// map that `Normalized`'s checkpoints stand for.
fn reference_origin(nfkc: &str) -> Vec<usize> {
    let mut origin = Vec::new();
    for (at, c) in nfkc.char_indices() {
        if policy_watch::fold::is_ignorable(c) {
            continue;
        }
        for lower in c
            .to_lowercase()
            .filter(|l| !unicode_normalization::char::is_combining_mark(*l))
        {
            origin.extend(std::iter::repeat_n(at, lower.len_utf8()));
        }
    }
    origin
}

/// Text with what ministries write most (Hangul, ASCII) and what takes the slow path
/// (full-width forms, compatibility characters, combining marks, other scripts).
fn mixed_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[가-힣]{1,5}",
            "[ -~]{1,5}",
            "[ＡＢＣ１２３ﾊﾟ㈜①Ⅳ·「」…ﬁ]{1,3}",
            "[\u{0300}-\u{036f}\u{1100}-\u{11ff}]{1,2}",
            any::<String>(),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn normalising_in_one_pass_equals_the_reference(text in mixed_text()) {
        let n = normalize(&text);
        let (nfkc, folded) = reference(&text);
        prop_assert_eq!(n.origins.nfkc, nfkc);
        prop_assert_eq!(n.folded, folded);
    }

    #[test]
    fn every_folded_span_maps_to_the_nfkc_characters_it_came_from(text in mixed_text()) {
        let n = normalize(&text);
        let origin = reference_origin(&n.origins.nfkc);
        prop_assert_eq!(origin.len(), n.folded.len());
        let starts: Vec<usize> = n.folded.char_indices().map(|(i, _)| i).collect();
        let mut spans = Vec::new();
        for (k, &start) in starts.iter().enumerate() {
            let ends = starts[k + 1..].iter().copied().chain([n.folded.len()]).take(8);
            for end in ends {
                let last = origin[end - 1];
                let to = last + n.origins.nfkc[last..].chars().next().unwrap().len_utf8();
                spans.push(((start, end), (origin[start], to)));
            }
        }
        // Out of order (ends go back at every start), then in the order of their end as a
        // scan finds them, each through one resolver.
        let mut resolver = n.origins.resolver();
        for &((start, end), expected) in &spans {
            prop_assert_eq!(resolver.original_range(start, end), expected, "{:?} {}..{}", &n.folded, start, end);
        }
        spans.sort_by_key(|&((start, end), _)| (end, std::cmp::Reverse(start)));
        let mut resolver = n.origins.resolver();
        for &((start, end), expected) in &spans {
            prop_assert_eq!(resolver.original_range(start, end), expected, "in order {:?} {}..{}", &n.folded, start, end);
        }
    }

    #[test]
    fn folding_is_idempotent(text in any::<String>()) {
        let once = normalize(&text).folded;
        let twice = normalize(&once).folded;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn a_keyword_in_any_spelling_is_found(
        keyword in keyword(),
        before in filler(),
        after in filler(),
        seps in prop::collection::vec(any::<u8>(), 16),
        widths in prop::collection::vec(any::<bool>(), 16),
        upper in prop::collection::vec(any::<bool>(), 16),
        in_summary in any::<bool>(),
    ) {
        let c = classifier_for(&keyword);
        let text = format!("{before} {} {after}", variant(&keyword, &seps, &widths, &upper));
        let (title, summary) = if in_summary { ("제목", text.as_str()) } else { (text.as_str(), "") };
        let explanation = c.explain(title, summary);
        prop_assert!(!explanation.topics[0].counted.is_empty(), "{keyword:?} not found in {text:?}");
    }

    #[test]
    fn arbitrary_unicode_never_panics(title in any::<String>(), summary in any::<String>()) {
        let c = classifier_for("AI반도체");
        let _ = c.explain(&title, &summary);
        let _ = c.classify(&summary, &title);
    }
}
