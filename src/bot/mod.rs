//! The bot's side of Telegram: people and groups subscribe to topics by talking to it.
//!
//! One [`Bot`] task long-polls `getUpdates` and answers commands (see [`Command`]). It owns the
//! `subscribers` tree; the ingest stage reads that tree to fan every new notice out through the
//! durable outbox, so subscribers get the same guarantees and pacing as configured channels.
//! Replies to commands are not durable (they answer a person who is waiting); they are queued
//! per chat and paced with the deliverer's limiters (the `replies` module).
//!
//! Rules worth knowing:
//! - The id of the last handled update is stored, so a restart never handles an update twice
//!   (a topic toggle is not idempotent).
//! - `/start` creates the subscription with no topics and shows the topic buttons: nobody gets
//!   notices they did not choose. New subscribers get only new notices; `/recent` shows history.
//! - In groups only administrators (or an anonymous admin posting as the group) change
//!   subscriptions. Channel posts and edited messages are ignored.
//! - Each user may send [`COMMANDS_PER_MINUTE`] commands a minute (a burst of as many); beyond
//!   that they are told once to slow down and further commands are ignored for a while. Other
//!   users are not affected.
//!
//! # Layout
//! `updates` the task and its getUpdates loop; `commands` one handler per command; `topics`
//! naming topics in commands and buttons; `words` typed words, watch words and `/search`;
//! `replies` the paced, per-chat answers.

mod commands;
mod replies;
mod topics;
mod updates;
mod words;

pub use commands::{COMMANDS_PER_MINUTE, Command};
pub use replies::Replies;
pub use topics::{TopicQueryError, resolve_topics};
pub use updates::*;
