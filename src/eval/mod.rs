//! Measuring a topic config against labelled items: what `policy-watch eval` prints and what
//! the quality test enforces.
//!
//! An operator who edits keywords needs to know what the edit does before it reaches
//! subscribers: item precision and recall (is it on topic at all), per-topic scores, every
//! error with the reason the classifier gives (`explain` in one line), what a changed config
//! gains and loses, and, for a person to judge, words that the misses of a topic share.
//! Everything here is a pure function of a [`Classifier`](crate::classify::Classifier) and the labelled items.
//!
//! # Layout
//! `labelled` reading the files; `measure` scores and errors; `compare` two configs item by
//! item; `suggest` words a topic's misses share.

mod compare;
mod labelled;
mod measure;
mod suggest;

pub use compare::*;
pub use labelled::*;
pub use measure::*;
pub use suggest::*;
