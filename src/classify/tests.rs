use super::scan::*;
use super::*;
use crate::fold::{fold_keyword, normalize};
use std::path::Path;
use std::sync::Arc;

fn classifier(keywords: &[&str]) -> Classifier {
    let list = keywords
        .iter()
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text =
        format!("[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [{list}]\n");
    let config = crate::config::Config::parse(Path::new("t.toml"), &text).unwrap();
    Classifier::new(&config.classify, &config.topics).unwrap()
}

fn matches(c: &Classifier, text: &str) -> bool {
    !c.classify(text, "").is_empty()
}

#[test]
fn spacing_punctuation_and_width_do_not_break_matches() {
    let c = classifier(&["AI반도체"]);
    for text in [
        "AI 반도체",
        "AI·반도체",
        "ＡＩ반도체",
        "AI-반도체",
        "ai반도체를",
        "국산 AI반도체의",
    ] {
        assert!(matches(&c, text), "{text}");
    }
    assert!(!matches(&c, "반도체 AI"));
    let c = classifier(&["AI 기본법"]);
    assert!(matches(&c, "AI기본법 시행"));
}

#[test]
fn latin_edges_need_word_boundaries() {
    let c = classifier(&["AI"]);
    for text in ["AI반도체", "(AI)", "생성형 AI", "K-AI 모델"] {
        assert!(matches(&c, text), "{text}");
    }
    for text in ["MAIN", "Taiwan", "SAID"] {
        assert!(!matches(&c, text), "{text}");
    }
    let c = classifier(&["NPU", "PIM", "HBM"]);
    assert!(!matches(&c, "INPUT"));
    assert!(!matches(&c, "PIMCO"));
    assert!(!matches(&c, "HBM3E 양산"));
    assert!(matches(&c, "HBM 양산"));
    let c = classifier(&["HBM*"]);
    assert!(matches(&c, "HBM3E 양산"));
}

fn from_toml(text: &str) -> Classifier {
    let config = crate::config::Config::parse(Path::new("t.toml"), text).unwrap();
    Classifier::new(&config.classify, &config.topics).unwrap()
}

fn decision(c: &Classifier, title: &str, summary: &str) -> Decision {
    c.explain(title, summary).topics[0].decision.clone()
}

const RULES: &str = r##"
[classify]
anchors = ["AI", "인공지능", "반도체"]
exclude = ["수출입 동향", "과장급 인사"]

[[topic]]
id = "chips"
name = "AI반도체"
hashtag = "#AI반도체"
keywords = ["NPU", "AI칩"]
strong = ["AI반도체"]
generic = ["팹리스"]
exclude = ["주가"]
"##;

/// Rules that generalise beyond titles seen (the relevance issue): each with the title that
/// shows it and its counterpart.
const GENERAL: &str = r##"
[classify]
anchors = ["AI", "인공지능", "반도체"]
exclude = ["원전", "양자 기술", "수출입 동향"]
not_anchors = ["AI 전환", "AX"]
synonyms = [["AI", "인공지능", "에이아이"], ["디바이스", "기기"], ["펀드", "기금"], ["GPU", "그래픽 처리 장치"]]

[[topic]]
id = "t"
name = "T"
hashtag = "#T"
strong = ["기술번영 MOU", "AI반도체"]
keywords = ["AI 디바이스", "반도체 생태계 펀드", "첨단 GPU"]
generic = ["펀드", "유럽연합", "EU", "공동연구", "해외 실증", "AI 3대 강국"]
require = [["AI", "인공지능", "반도체"]]
"##;

#[test]
fn a_keyword_matches_in_every_spelling_its_synonyms_give_it() {
    let c = from_toml(GENERAL);
    assert_eq!(decision(&c, "인공지능 기기 실증 착수", ""), Decision::Match);
    assert_eq!(
        decision(&c, "에이아이(AI) 디바이스 보급", ""),
        Decision::Match
    );
    // A Korean word with its loanword in brackets, and an acronym spelled out.
    assert_eq!(
        decision(&c, "반도체 생태계 기금(펀드) 조성", ""),
        Decision::Match
    );
    assert_eq!(
        decision(&c, "AI 연구에 첨단 그래픽 처리 장치 지원", ""),
        Decision::Match
    );
    // A Latin member is replaced only where it is a whole word.
    let spellings = synonym_spellings("XAI 기법", &[vec!["AI".into(), "인공지능".into()]]);
    assert_eq!(spellings, ["XAI 기법"]);
    let spellings = synonym_spellings("AI 디바이스", &from_config(GENERAL).synonyms);
    assert!(
        spellings.contains(&"인공지능 기기".to_owned()),
        "{spellings:?}"
    );
}

fn from_config(text: &str) -> crate::config::ClassifyConfig {
    crate::config::Config::parse(Path::new("t.toml"), text)
        .unwrap()
        .classify
}

#[test]
fn a_strong_keyword_needs_no_required_word_beside_it() {
    let c = from_toml(GENERAL);
    assert_eq!(decision(&c, "기술번영 MOU 후속 논의", ""), Decision::Match);
    assert_eq!(
        decision(&c, "반도체 생태계 펀드 후속 논의", "").clone(),
        Decision::Match,
        "a keyword with its required word (반도체) inside"
    );
}

#[test]
fn a_generic_in_the_title_needs_its_anchor_in_the_title() {
    let c = from_toml(GENERAL);
    // The body names AI somewhere; the title's fund is another field's.
    assert_eq!(
        decision(
            &c,
            "사이버보안 기금(펀드) 운용사 모집",
            "인공지능 보안 기업에 투자"
        ),
        Decision::NoMatch
    );
    assert_eq!(
        decision(&c, "AI 분야 펀드 운용사 모집", ""),
        Decision::Match
    );
    // Generic words only in the summary still count beside an anchor there.
    assert_ne!(
        decision(&c, "운용사 모집 공고", "인공지능 펀드를 만든다"),
        Decision::NoMatch
    );
    // AI used in another field is no anchor; an anchor inside a generic word is that word.
    assert_eq!(
        decision(&c, "AI 전환 기업 해외 실증 지원", ""),
        Decision::NoMatch
    );
    assert_eq!(
        decision(&c, "인공지능 3대 강국 도약 토대", ""),
        Decision::NoMatch
    );
}

#[test]
fn two_generic_words_apart_in_the_title_are_evidence_a_word_and_its_synonym_are_not() {
    let c = from_toml(GENERAL);
    assert_eq!(
        decision(&c, "해외 실증 공동연구 착수", "반도체 기업"),
        Decision::Match
    );
    assert_eq!(
        decision(&c, "해외 실증 착수", "반도체 기업"),
        Decision::NoMatch
    );
    assert_eq!(
        decision(&c, "유럽연합(EU) 화학물질 규제 대응", "반도체 공정"),
        Decision::NoMatch
    );
}

#[test]
fn a_global_veto_listed_with_the_topics_keyword_is_a_side_mention() {
    let c = from_toml(GENERAL);
    assert_eq!(
        decision(&c, "AI반도체와 양자 기술 공동연구", ""),
        Decision::Match
    );
    assert_eq!(
        decision(&c, "인공지능 기기·양자 기술 실증", ""),
        Decision::Match
    );
    // Not listed: the release is about the vetoed subject.
    assert!(matches!(
        decision(&c, "양자 기술 동향: 인공지능 기기 활용", ""),
        Decision::Vetoed { .. }
    ));
}

#[test]
fn a_short_hangul_veto_is_not_found_across_words() {
    let c = from_toml(GENERAL);
    for title in [
        "AI 디바이스 지원 전략",
        "AI 디바이스에 1조 원 전용",
        "AI 디바이스 위원 전원 참석",
    ] {
        assert_eq!(decision(&c, title, ""), Decision::Match, "{title}");
    }
    assert!(matches!(
        decision(&c, "원전 AI 디바이스 실증", ""),
        Decision::Vetoed { .. }
    ));
}

#[test]
fn generic_words_need_a_keyword_or_an_anchor() {
    let c = from_toml(RULES);
    let e = c.explain("팹리스 지원사업 공고", "");
    assert_eq!(e.topics[0].decision, Decision::NoMatch);
    assert_eq!(e.topics[0].ignored_generic[0].keyword, "팹리스");
    // With an anchor in the item, the generic word counts.
    assert_eq!(
        decision(&c, "인공지능 팹리스 지원사업 공고", ""),
        Decision::Match
    );
}

#[test]
fn exclusions_veto_unless_a_strong_keyword_matched() {
    let c = from_toml(RULES);
    match decision(&c, "NPU 기업 주가 급등", "") {
        Decision::Vetoed { by } => assert_eq!(by[0].keyword, "주가"),
        other => panic!("{other:?}"),
    }
    match decision(&c, "2026년 4월 ICT 수출입 동향: NPU 수출 증가", "") {
        Decision::Vetoed { by } => assert_eq!(by[0].keyword, "수출입 동향"),
        other => panic!("{other:?}"),
    }
    // A strong keyword overrides both topic and global vetoes.
    assert_eq!(
        decision(&c, "AI반도체 수출입 동향 특별 분석", ""),
        Decision::Match
    );
}

#[test]
fn summary_hits_weigh_less_than_title_hits() {
    let c = from_toml(RULES);
    // One keyword in the summary: 1.0 < threshold 2.0.
    let e = c.explain("중소기업 지원 확대", "NPU 기업 포함");
    assert_eq!(e.topics[0].decision, Decision::BelowThreshold);
    assert_eq!(e.topics[0].score, 1.0);
    // Two distinct keywords in the summary reach it.
    assert_eq!(
        decision(&c, "중소기업 지원 확대", "NPU와 AI칩 기업 포함"),
        Decision::Match
    );
    // The same keyword twice scores once.
    let e = c.explain("중소기업 지원 확대", "NPU 기업, NPU 제품");
    assert_eq!(e.topics[0].score, 1.0);
}

#[test]
fn require_groups_must_each_match() {
    let c = from_toml(
        r##"
[[topic]]
id = "talent"
name = "인재"
hashtag = "#인재"
keywords = ["인재 양성"]
require = [["AI", "인공지능", "반도체"]]
"##,
    );
    assert_eq!(
        decision(&c, "과학관 인재 양성 캠프", ""),
        Decision::MissingRequired { group: 1 }
    );
    assert_eq!(decision(&c, "반도체 인재 양성 사업", ""), Decision::Match);
}

#[test]
fn explanation_reports_fields_and_original_spans() {
    let c = from_toml(RULES);
    let e = c.explain("ＡＩ·반도체 육성", "국산 NPU 보급");
    let t = &e.topics[0];
    assert_eq!(t.decision, Decision::Match);
    let spans: Vec<(&str, Field, &str)> = t
        .counted
        .iter()
        .map(|h| (h.keyword.as_str(), h.field, h.text.as_str()))
        .collect();
    assert!(
        spans.contains(&("AI반도체", Field::Title, "AI·반도체")),
        "{spans:?}"
    );
    assert!(spans.contains(&("NPU", Field::Summary, "NPU")), "{spans:?}");
    assert_eq!(
        c.classify("ＡＩ·반도체 육성", "")[0].keywords,
        vec![Arc::from("AI반도체")]
    );
}

#[test]
fn spellings_of_one_keyword_are_listed_once() {
    let c = classifier(&["인공지능 반도체", "인공지능반도체", "NPU"]);
    assert_eq!(
        c.classify("인공지능 반도체 NPU 실증", "")[0].keywords,
        vec![Arc::from("인공지능 반도체"), Arc::from("NPU")]
    );
}

#[test]
fn spellings_are_distinct_and_start_on_a_character() {
    for count in [1, 2, 255, 256, 321, 16_256, 16_257, 65_535] {
        let all = spellings(count);
        assert_eq!(all.len(), count);
        let bytes = |s: Spelling| s.to_le_bytes()[..(s >> 24) as usize].to_vec();
        let distinct: std::collections::HashSet<Vec<u8>> = all.iter().map(|&s| bytes(s)).collect();
        assert_eq!(distinct.len(), count, "{count}: spellings repeat");
        // A byte that follows another in some spelling never starts one: a match can only
        // start where a character does. Byte 0 is for characters of no pattern.
        let trails: std::collections::HashSet<u8> =
            all.iter().flat_map(|&s| bytes(s)[1..].to_vec()).collect();
        for s in &all {
            let b = bytes(*s);
            assert!(!b.is_empty() && !b.contains(&0), "{count}: {b:?}");
            assert!(
                !trails.contains(&b[0]),
                "{count}: {b:?} starts with a trail byte"
            );
        }
        let longest = all.iter().map(|&s| s >> 24).max().unwrap();
        let expected = match count {
            ..=255 => 1,
            256..=16_256 => 2,
            _ => 3,
        };
        assert_eq!(longest, expected, "{count}");
    }
}

/// Words over `distinct` characters (Hangul, which takes the fast path, and CJK
/// ideographs, which do not), each character in some word.
fn words_over(distinct: usize) -> Vec<String> {
    let chars: Vec<char> = (0..distinct as u32)
        .map(|k| match k % 2 {
            0 => char::from_u32(0xAC00 + k / 2).unwrap(),
            _ => char::from_u32(0x4E00 + k / 2).unwrap(),
        })
        .collect();
    chars.chunks(3).map(|w| w.iter().collect()).collect()
}

#[test]
fn wide_alphabets_find_exactly_what_folding_and_searching_finds() {
    // 40 characters: one byte each; 300: some two; 17,000: three (and more patterns than
    // a DFA may hold: the NFA). Each also with the NFA whatever its size.
    for (distinct, dfa) in [(40, true), (300, true), (17_000, false)] {
        let words = words_over(distinct);
        let k = Keywords::new(words.iter().map(String::as_str)).unwrap();
        assert_eq!(
            matches!(k.scanner.automaton, Engine::Dfa(_)),
            dfa,
            "{distinct} characters"
        );
        // Within the budget either way (the estimate is an upper bound).
        assert!(k.scanner.automaton.memory_usage() <= DFA_BUDGET);
        let nfa = Keywords::within(words.iter().map(String::as_str), 0).unwrap();
        assert!(matches!(nfa.scanner.automaton, Engine::Nfa(_)));
        let step = (words.len() / 40).max(1);
        for (i, word) in words.iter().enumerate().step_by(step) {
            let mut chars: Vec<char> = word.chars().collect();
            // The word spaced out, and a near miss: its last character replaced by the
            // next word's first.
            let spaced: String = chars.iter().map(|c| format!("{c} ")).collect();
            let next = words[(i + 1) % words.len()].chars().next().unwrap();
            *chars.last_mut().unwrap() = next;
            let near: String = chars.iter().collect();
            for text in [format!("앞 {spaced}뒤"), format!("「{near}」 ·")] {
                let folded = normalize(&text).folded;
                let expected: Vec<usize> = (0..words.len())
                    .filter(|&w| folded.contains(&fold_keyword(&words[w])))
                    .collect();
                for k in [&k, &nfa] {
                    assert_eq!(
                        k.find(&ItemText::new(&text, "", 600)),
                        expected,
                        "{distinct} characters, {text:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn keywords_follow_the_classifier_rules_and_report_which_words_matched() {
    let words = ["퓨리오사", "HBM*", "NPU", "퓨리 오사", "!!"];
    let k = Keywords::new(words.iter().copied()).unwrap();
    assert_eq!(k.len(), 5);
    let found = |title: &str, summary: &str| k.find(&ItemText::new(title, summary, 600));
    // Spacing ignored, Hangul inside words, both spellings of one word reported.
    assert_eq!(found("퓨리오사AI, 신규 칩 공개", ""), vec![0, 3]);
    assert_eq!(found("HBM3E 양산", "NPU 탑재"), vec![1, 2]);
    // Latin edges: INPUT is no NPU; a word of punctuation never matches.
    assert!(found("INPUT 장치 !!", "").is_empty());
    // The summary is read only up to the bound.
    let late = format!("{}NPU", "가".repeat(10));
    assert!(k.find(&ItemText::new("", &late, 5)).is_empty());
    assert!(k.matches(&ItemText::new("", &late, 600)));
}

#[test]
fn words_listed_with_a_middle_dot_read_with_the_word_they_share() {
    let c = classifier(&["인공지능 인재", "초거대 인공지능", "AI 안전"]);
    for text in [
        "인공지능·소프트웨어 인재를 찾습니다",
        "인공지능ㆍ소프트웨어ㆍ데이터 인재 양성",
        "초거대·생성형 인공지능 시대",
        "AI 윤리·안전 기준 마련",
        "AI 윤리･신뢰･안전 기준",
    ] {
        assert!(matches(&c, text), "{text}");
    }
    // The shared word is the one next to the list, on its side.
    for text in [
        "인공지능 반도체·소프트웨어 인재",
        "소프트웨어·인공지능",
        "생성형·초거대 데이터 인공지능",
    ] {
        assert!(!matches(&c, text), "{text}");
    }
    // Found where the list stands, the list included.
    let e = c.explain("인공지능·소프트웨어 인재를 찾습니다", "");
    let spans: Vec<&str> = e.topics[0]
        .counted
        .iter()
        .map(|h| h.text.as_str())
        .collect();
    assert_eq!(spans, ["인공지능·소프트웨어 인재"]);
}

#[test]
fn a_reading_weighs_what_the_words_written_out_weigh() {
    // Touching evidence in the summary is one piece: the list reads no stronger than the
    // phrase written out.
    let c = classifier(&["인공지능 인재", "인재양성"]);
    let listed = decision(&c, "성과 공유", "인공지능·소프트웨어 인재양성사업");
    let written = decision(&c, "성과 공유", "인공지능 인재양성사업");
    assert_eq!(listed, written);
    assert_ne!(listed, Decision::Match);
    // Two separate pieces of the summary are two.
    let apart = decision(
        &c,
        "성과 공유",
        "인공지능·소프트웨어 인재 채용, 인재양성 사업",
    );
    assert_eq!(apart, Decision::Match);
}

proptest::proptest! {
    /// Any text of dots, spaces, Hangul, Latin and punctuation: classifying and explaining never
    /// panic, and every span an explanation shows is a piece of the text, a list's span
    /// included.
    #[test]
    fn coordinated_readings_of_any_text_are_pieces_of_it(
        text in "[·ㆍ･∙ 인공지능소프트웨어인재AI안전초거대 ,()“”.-]{0,60}"
    ) {
        let c = classifier(&["인공지능 인재", "초거대 인공지능", "AI 안전", "AI"]);
        let _ = c.classify(&text, &text);
        let explanation = c.explain(&text, &text);
        let nfkc = normalize(&text).origins.nfkc;
        for topic in &explanation.topics {
            for hit in &topic.counted {
                proptest::prop_assert!(nfkc.contains(&hit.text), "{:?} not in {:?}", hit.text, nfkc);
            }
        }
    }
}
