//! The `policy-watch` command line: the commands and their options, loading the config, and
//! one module per command that is more than a call into the library.
//!
//! # Layout
//! - `app`: the commands (clap), config loading, `run`/`once` (the daemon's entry), assets;
//! - `check_sources`, `check_telegram`: the operator's checks after an install or an edit;
//! - `explain`, `eval`: one headline's reasoning, and measuring the topics on labelled items;
//! - `store`: `store stats|prune|export|import`.

mod app;
mod check_sources;
mod check_telegram;
mod eval;
mod explain;
mod store;

pub use app::*;
