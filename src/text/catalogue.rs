//! The message catalogues: `ko.ftl` and `en.ftl` beside this file, in Fluent
//! (<https://projectfluent.org>), compiled into the binary so a deployment can never run with a
//! sentence missing. A sentence is changed in the `.ftl` file without touching Rust; a test
//! keeps both languages in step (same messages, same variables) and every message the code asks
//! for present.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::records::Lang;

pub(super) const KO: &str = include_str!("ko.ftl");
pub(super) const EN: &str = include_str!("en.ftl");

/// Both languages, parsed once on first use (a parse error is a bug caught by the tests, so it
/// panics with the file's errors rather than running with holes).
static CATALOGUES: LazyLock<[FluentBundle<FluentResource>; 2]> =
    LazyLock::new(|| [bundle("ko", KO), bundle("en", EN)]);

fn bundle(locale: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("src/text/{locale}.ftl does not parse: {errors:?}"));
    let mut bundle = FluentBundle::new_concurrent(vec![locale.parse().expect("a locale id")]);
    // Unicode isolation marks around variables are invisible in Telegram but break the tests'
    // and users' copy-and-paste of topic ids and words: off.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("src/text/{locale}.ftl repeats a message: {errors:?}"));
    bundle
}

/// The message `id` in `lang` with `args` filled in. A missing message or variable is a bug the
/// tests catch; in a release build it shows the message id rather than stopping an answer.
pub(crate) fn lookup(lang: Lang, id: &str, args: Option<&FluentArgs>) -> String {
    let bundle = &CATALOGUES[match lang {
        Lang::Ko => 0,
        Lang::En => 1,
    }];
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        debug_assert!(false, "no message {id} in the {lang:?} catalogue");
        tracing::error!(
            message = id,
            ?lang,
            "the message catalogue has no such message"
        );
        return id.to_owned();
    };
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    debug_assert!(errors.is_empty(), "message {id} ({lang:?}): {errors:?}");
    text.into_owned()
}

/// `say!(lang, "id")` or `say!(lang, "id", name = value, …)`: every value is passed as text
/// (already escaped where the message is HTML), so Fluent never formats a number its own way.
macro_rules! say {
    ($lang:expr, $id:literal) => {
        $crate::text::catalogue::lookup($lang, $id, None)
    };
    ($lang:expr, $id:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = fluent_bundle::FluentArgs::new();
        $( args.set(stringify!($name), $value.to_string()); )+
        $crate::text::catalogue::lookup($lang, $id, Some(&args))
    }};
}
pub(crate) use say;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    /// Message id → the variables its pattern uses.
    fn messages(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(source).expect("parses");
        let mut out = BTreeMap::new();
        for entry in resource.body {
            if let ast::Entry::Message(message) = entry {
                let mut variables = BTreeSet::new();
                if let Some(pattern) = &message.value {
                    pattern_variables(pattern, &mut variables);
                }
                out.insert(message.id.name.to_owned(), variables);
            }
        }
        out
    }

    fn pattern_variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_variables(expression, out);
            }
        }
    }

    fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Inline(inline) => inline_variables(inline, out),
            ast::Expression::Select { selector, variants } => {
                inline_variables(selector, out);
                for variant in variants {
                    pattern_variables(&variant.value, out);
                }
            }
        }
    }

    fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => {
                expression_variables(expression, out)
            }
            _ => {}
        }
    }

    #[test]
    fn korean_and_english_have_the_same_messages_and_variables() {
        let (ko, en) = (messages(KO), messages(EN));
        assert!(ko.len() > 80, "{} messages", ko.len());
        let only_ko: Vec<_> = ko.keys().filter(|id| !en.contains_key(*id)).collect();
        let only_en: Vec<_> = en.keys().filter(|id| !ko.contains_key(*id)).collect();
        assert!(
            only_ko.is_empty() && only_en.is_empty(),
            "ko only {only_ko:?}, en only {only_en:?}"
        );
        for (id, variables) in &ko {
            assert_eq!(variables, &en[id], "variables of {id}");
        }
    }

    /// Every `say!(lang, "id"` in src/text/ names a message, and every message is asked for.
    #[test]
    fn the_code_and_the_catalogue_name_the_same_messages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/text");
        let call = regex::Regex::new(r#"say!\(\s*\w+,\s*"([a-z][a-z0-9-]*)""#).unwrap();
        let mut used = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let code: String = std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .collect();
                used.extend(call.captures_iter(&code).map(|c| c[1].to_owned()));
            }
        }
        let known: BTreeSet<String> = messages(KO).into_keys().collect();
        let missing: Vec<_> = used.difference(&known).collect();
        let unused: Vec<_> = known.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "asked for but not in the catalogue: {missing:?}"
        );
        assert!(
            unused.is_empty(),
            "in the catalogue but never asked for: {unused:?}"
        );
    }

    #[test]
    fn variables_are_filled_in_without_isolation_marks() {
        let text = say!(Lang::En, "toggled-on", topic = "AI chips");
        assert_eq!(text, "Subscribed: AI chips");
        let text = say!(Lang::Ko, "slow-down", seconds = 12);
        assert_eq!(text, "명령이 너무 많습니다. 12초 뒤에 다시 시도해 주세요.");
    }
}
