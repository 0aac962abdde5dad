//! The ingest stage: poll results in, dedup + classification, one store transaction for the
//! polls waiting together (a poll is never split across transactions).
//!
//! This is the only writer of per-source state and of new outbox entries, so the rule "an item is
//! marked seen in the same transaction that enqueues its deliveries" lives in one place.
//!
//! # Layout
//! `stage` (the task and the group commit), `routes` (destinations and subscribers a notice
//! goes to), `alerts` (source alerts), `identity` (title keys, recording order).

mod alerts;
mod identity;
mod routes;
mod stage;

pub use alerts::source_alert;
pub use identity::title_key;
pub use routes::{Route, routes};
pub use stage::{IngestReport, IngestTotals, Ingestor};
