//! policy-watch: watches the Korean ministries that carry the AI-Semiconductor Initiative
//! (MSIT and 산업통상부) and pushes what is on-topic to Telegram, without ever losing or
//! repeating a notice.
//!
//! # Layout
//!
//! The pipeline, one module per stage, stages joined by bounded channels and the store:
//!
//! ```text
//! Scheduler ─▶ Poller×N (sources) ──PollEvent──▶ Ingestor (ingest: dedup + classify + fan-out) ──▶ outbox (store) ──▶ Deliverer (deliver) ──▶ Telegram / stdout
//!                                                                 ▲                              ▲
//!                                          Bot (commands) ──▶ subscribers (store)    Digester ──┘ (daily digests)
//! ```
//!
//! Modules, each depending only on those above it (no cycles; read `use crate::` lines):
//!
//! ```text
//! leaves       fold (text folding) · backoff · secret (the token, redaction)
//! settings     config (TOML, file:line:column errors)
//! records      items (Item, keys, dates) → health (liveness) → classify (pure; its matcher
//!              also serves watch words and /search) → eval (measuring a config on labelled
//!              items) · vocab (candidate keywords from an unlabelled archive) — neither in the
//!              pipeline · records (Notice, Destination, Payload, Delivery, Lang) → text (every
//!              sentence) → render (notices as Telegram HTML and plain text) · printer (the
//!              dry run's output) · pacer (the bot's one queue of turns under Telegram's limits)
//! state        store (sled, nothing else touches it; and the archive's month files beside it)
//!              → alerts (operator alerts, queued like notices) · reload (re-reading the config)
//! stages       sources (fetch, decode, parse, pollers, scheduler) · deliver (the outbox drain,
//!              Telegram's answers, digests) · metrics → ingest (dedup + classify + fan-out, one
//!              transaction for the polls waiting) → bot (commands, answers, watch words,
//!              /search)
//! process      daemon (signals, token, logging, systemd) → pipeline (`run`: the wiring) → the
//!              binary's cli (commands) and main
//! ```
//!
//! [`run`] takes every dependency as an argument so tests start the whole pipeline against
//! servers on 127.0.0.1 and a temporary store.

#![warn(unreachable_pub)]

pub(crate) mod alerts;
pub(crate) mod backoff;
pub mod bot;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod eval;
pub mod fold;
pub(crate) mod health;
pub mod ingest;
pub mod items;
pub(crate) mod metrics;
pub(crate) mod pacer;
mod pipeline;
pub mod printer;
pub mod records;
pub mod reload;
pub mod render;
pub mod secret;
pub mod sources;
pub mod store;
pub(crate) mod text;
pub mod vocab;

pub use pipeline::{DRAIN_DEADLINE, Output, RunReport, fixed, run};
pub use sources::Mode;
