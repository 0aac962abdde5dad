//! Config errors are located and explained.

use std::path::Path;
use std::time::Duration;

use super::load::line_column;
use super::*;

fn err(text: &str) -> String {
    Config::parse(Path::new("t.toml"), text)
        .unwrap_err()
        .to_string()
}

const SOURCE: &str = r#"
[[source]]
id = "msit"
name = "과기정통부"
ministry = "과학기술정보통신부"
kind = "feed"
url = "https://example.org/rss"
"#;

#[test]
fn minimal_config_parses() {
    let config = Config::parse(Path::new("t.toml"), SOURCE).unwrap();
    assert_eq!(config.sources.len(), 1);
    assert_eq!(config.sources[0].interval, Duration::from_secs(600));
    assert_eq!(config.store.cache_size, 8 * 1024 * 1024);
}

#[test]
fn watch_word_settings_default_on_and_bad_limits_are_located() {
    let config = Config::parse(Path::new("t.toml"), SOURCE).unwrap();
    assert!(config.bot.watch_words);
    assert_eq!(config.bot.max_watch_words, 20);
    let e = err(&format!("[bot]\nmax_watch_words = 0\n{SOURCE}"));
    assert!(e.starts_with("t.toml:2:19: "), "{e}");
    assert!(e.contains("watch_words = false"), "{e}");
}

#[test]
fn unknown_key_is_located() {
    let text = format!("{SOURCE}intervall = \"10m\"\n");
    let e = err(&text);
    assert!(e.starts_with("t.toml:8:1: "), "{e}");
    assert!(e.contains("intervall"), "{e}");
}

#[test]
fn short_interval_is_located_on_its_value() {
    let text = format!("{SOURCE}interval = \"30s\"\n");
    let e = err(&text);
    assert!(e.starts_with("t.toml:8:12: "), "{e}");
    assert!(e.contains("minimum"), "{e}");
}

#[test]
fn duplicate_id_points_at_the_second() {
    let text = format!("{SOURCE}{SOURCE}");
    let e = err(&text);
    assert!(e.starts_with("t.toml:10:6: "), "{e}");
    assert!(e.contains("duplicate source id"), "{e}");
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(line_column("가나다 = x", 10), (1, 5));
}
