//! Sources: fetch (HTTP), decode (charsets), parse (feeds and list pages) and the per-source
//! [`Poller`] that schedules it all with jitter and backoff.
//!
//! # Layout
//! `fetch` HTTP with validators and limits; `decode` charsets; `feed`, `html_list`, `briefing`
//! the readers by kind, dispatched by `parse`; `fingerprint` settings and body hashes; `poll` one
//! poll of one source (and the operator's probe); `poller` the task per source; `scheduler` the
//! pollers as the config changes; `schedule` when a source is due.

pub(crate) mod briefing;
pub(crate) mod decode;
mod feed;
mod fetch;
mod fingerprint;
mod html_list;
mod parse;
mod poll;
mod poller;
pub mod schedule;
mod scheduler;

pub use briefing::KEY_ENV as BRIEFING_KEY_ENV;
pub use feed::parse as parse_feed;
pub use fetch::{FetchError, Fetched, Fetcher, Validators};
pub use fingerprint::*;
pub use html_list::parse as parse_list;
pub use parse::*;
pub use poll::*;
pub use poller::{PollEvent, PollOutcome, Poller};
pub use scheduler::Scheduler;
