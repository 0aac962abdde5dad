//! Config text → config: never panics; every error names the file with line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match policy_watch::config::Config::parse(std::path::Path::new("fuzz.toml"), text) {
        Ok(config) => {
            // A config that parses must build its classifier or say why.
            let _ = policy_watch::classify::Classifier::new(&config.classify, &config.topics);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.toml:"), "no position: {message}");
        }
    }
});
