//! Shared by the fuzz targets: the shipped config and the item invariants.

use std::sync::OnceLock;

use policy_watch::config::Config;
use policy_watch::items::Item;

/// The shipped config (its korea.kr list source and its topics). Not every target uses it.
#[allow(dead_code)]
pub fn shipped() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/policy-watch.toml");
        Config::load(std::path::Path::new(path)).expect("the shipped config is valid")
    })
}

/// What every item must satisfy, whatever the input: a bounded, clean title and summary.
pub fn check_item(item: &Item) {
    assert!(item.title.chars().count() <= 500, "title too long");
    assert!(item.summary.chars().count() <= 1_500, "summary too long");
    for text in [&item.title, &item.summary] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control character left in {text:?}"
        );
    }
    assert!(!item.key.is_empty() && item.key.len() <= 300, "bad key {:?}", item.key);
}
