//! Every integration test, as modules of one test crate (one binary to build and link, as
//! ripgrep does): the whole pipeline over loopback HTTP, a fake Telegram Bot API, real sled
//! directories and the real binary. `cargo test --test it MODULE::` runs one module
//! (`cargo test --test it classify_quality:: -- --nocapture`).

#[path = "../support/mod.rs"]
mod support;

mod bot;
mod classify_props;
mod classify_quality;
mod cli;
mod daemon;
mod exactly_once;
mod faults;
mod process;
mod soak;
mod sources;
mod store;
mod systemd_unit;
mod telegram;
mod telegram_html;
