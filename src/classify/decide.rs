//! Decisions: an item's occurrences filed as evidence per topic and kind, then each topic's
//! verdict under its rules (scores, generic words and anchors, require groups, vetoes and what
//! overrides them).

use std::sync::Arc;

use super::coordination::readings;
use super::rules::{Role, Topic};
use super::scan::{EVIDENCE, ItemText, OCCURRENCES, READINGS, SCRATCH, Scratch, WALK};
use super::{Classifier, Field, TopicMatch};
use crate::fold::normalize;

/// One occurrence of a pattern in a field (cheap to copy; strings are made only for `explain`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Occurrence {
    pub(super) pattern: usize,
    pub(super) field: Field,
    /// Byte range in the folded field text.
    pub(super) folded: (usize, usize),
    /// Byte range in the NFKC field text.
    pub(super) original: (usize, usize),
    /// In the summary's lead (its first `lead_chars` characters).
    pub(super) lead: bool,
}

/// One owner (configured keyword) of one occurrence, filed under a topic (or [`GLOBAL`]) and
/// what it is evidence of there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evidence {
    pub(super) topic: usize,
    pub(super) kind: Kind,
    pub(super) owner: usize,
    pub(super) occurrence: usize,
}

/// The topic of the evidence of global roles (anchors, global exclusions): after every topic.
pub(super) const GLOBAL: usize = u32::MAX as usize;

/// What an occurrence is evidence of, in the order evidence is grouped: a topic's keywords
/// (strong ones included) and its generic words are next to each other, so that the evidence
/// that counts is one slice either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Keyword,
    Generic,
    Exclude,
    Require,
    Anchor,
    GlobalExclude,
    NotAnchor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Match,
    NoMatch,
    BelowThreshold,
    MissingRequired(usize),
    Vetoed,
}

/// A topic's decision, with the evidence behind it (slices of the item's evidence).
#[derive(Debug)]
pub(super) struct TopicEval<'a> {
    pub(super) verdict: Verdict,
    pub(super) score: f32,
    pub(super) counted: &'a [Evidence],
    pub(super) ignored_generic: &'a [Evidence],
    /// The topic's exclusions and the global ones (empty when nothing counted).
    pub(super) vetoes: [&'a [Evidence]; 2],
    pub(super) strong: bool,
}

impl TopicEval<'_> {
    /// The decision for a topic without evidence.
    pub(super) fn none() -> TopicEval<'static> {
        TopicEval {
            verdict: Verdict::NoMatch,
            score: 0.0,
            counted: &[],
            ignored_generic: &[],
            vetoes: [&[], &[]],
            strong: false,
        }
    }
}

/// What stands between two words listed together in a title (spacing aside).
pub(super) const LISTING: [&str; 10] = ["와", "과", "및", "·", "・", "ㆍ", ",", "、", "/", "&"];

/// Where the item has an anchor (`AI`, `반도체`…).
#[derive(Debug, Clone, Copy)]
pub(super) struct AnchorsIn {
    pub(super) title: bool,
    pub(super) summary: bool,
}

/// An item's evidence split as the decisions read it: the topics' and the global roles' (see
/// [`Classifier::gather`]).
pub(super) struct Filed<'a> {
    /// Grouped by topic, in config order.
    pub(super) topical: &'a [Evidence],
    pub(super) anchors: &'a [Evidence],
    pub(super) global_vetoes: &'a [Evidence],
}

/// Whether a strong keyword overrides the vetoes: it must be at least as prominent as they are
/// (a veto in the title is only overridden by a strong keyword in the title).
/// `strong_in` says whether a strong keyword matched in the title and in the summary.
pub(super) fn overrides(strong_in: [bool; 2], veto_in_title: bool) -> bool {
    let [title, summary] = strong_in;
    title || (summary && !veto_in_title)
}

impl Classifier {
    /// Every pattern occurrence in a field that passes the boundary rules; `scratch` holds
    /// the field's NFKC text afterwards.
    pub(super) fn occurrences(
        &self,
        text: &str,
        field: Field,
        scratch: &mut Scratch,
        out: &mut Vec<Occurrence>,
    ) {
        self.scanner.scan(text, scratch);
        // Where the summary's lead ends, counted when a summary has an occurrence.
        let mut lead_end = None;
        let mut in_lead = |at: usize, nfkc: &str| {
            field == Field::Summary
                && at
                    < *lead_end.get_or_insert_with(|| {
                        crate::fold::first_chars(nfkc, self.lead_chars).len()
                    })
        };
        let first = out.len();
        out.extend(self.scanner.found(scratch).map(|f| Occurrence {
            pattern: f.pattern,
            field,
            folded: f.folded,
            original: f.original,
            lead: in_lead(f.original.0, &scratch.origins.nfkc),
        }));
        // Coordinated words (`인공지능·소프트웨어 인재`): a keyword across the two pieces of a
        // reading counts where they stand in the field.
        let scanned = out.len();
        READINGS.with_borrow_mut(|(reading_scratch, list)| {
            readings(&scratch.origins.nfkc, &self.junctions, list);
            for reading in list.iter() {
                self.scanner.scan(&reading.text, reading_scratch);
                for f in self.scanner.found(reading_scratch) {
                    if let Some(original) = reading.across(f.original) {
                        out.push(Occurrence {
                            pattern: f.pattern,
                            field,
                            folded: scratch.origins.folded_range(original.0, original.1),
                            original,
                            lead: in_lead(original.0, &scratch.origins.nfkc),
                        });
                    }
                }
            }
        });
        // In the order they end, as the scan reports them (a stable sort: the scan's order of
        // occurrences that end together is kept).
        if out.len() > scanned {
            out[first..].sort_by_key(|o| o.folded.1);
        }
    }

    /// Files the evidence of `occurrences` into `evidence` (its contents replaced): grouped by
    /// topic (the global roles last) and by [`Kind`], each group in order of occurrence, the
    /// same keyword in the same field once (one piece of evidence for explanations; scoring
    /// looks at occurrences separately). One list for the whole item, reused from item to item:
    /// a list per topic and kind was a dozen allocations for every item with evidence.
    /// Returns the list split as the decisions read it.
    pub(super) fn gather<'e>(
        &self,
        occurrences: &[Occurrence],
        evidence: &'e mut Vec<Evidence>,
    ) -> Filed<'e> {
        evidence.clear();
        for (o, occurrence) in occurrences.iter().enumerate() {
            for &owner in &self.patterns[occurrence.pattern].owners {
                let (topic, kind) = match (self.owners[owner].role, self.owners[owner].topic) {
                    (Role::Anchor, _) => (GLOBAL, Kind::Anchor),
                    (Role::GlobalExclude, _) => (GLOBAL, Kind::GlobalExclude),
                    (Role::NotAnchor, _) => (GLOBAL, Kind::NotAnchor),
                    (_, None) => continue,
                    (Role::Keyword | Role::Strong, Some(t)) => (t, Kind::Keyword),
                    (Role::Generic, Some(t)) => (t, Kind::Generic),
                    (Role::Exclude, Some(t)) => (t, Kind::Exclude),
                    (Role::Require(_), Some(t)) => (t, Kind::Require),
                };
                evidence.push(Evidence {
                    topic,
                    kind,
                    owner,
                    occurrence: o,
                });
            }
        }
        // By group, then in the order they were pushed (of occurrence, and of owner within
        // one): keys that are all distinct, in one integer, sort without a buffer.
        evidence.sort_unstable_by_key(|e| {
            (e.topic as u128) << 72
                | (e.kind as u128) << 64
                | (e.occurrence as u128) << 32
                | e.owner as u128
        });
        let mut kept = 0;
        let mut group = 0;
        for read in 0..evidence.len() {
            let e = evidence[read];
            if kept > 0 && (evidence[kept - 1].topic, evidence[kept - 1].kind) != (e.topic, e.kind)
            {
                group = kept;
            }
            let field = occurrences[e.occurrence].field;
            let repeated = evidence[group..kept]
                .iter()
                .any(|k| k.owner == e.owner && occurrences[k.occurrence].field == field);
            if !repeated {
                evidence[kept] = e;
                kept += 1;
            }
        }
        evidence.truncate(kept);
        // The global roles, sorted by kind: anchors, global vetoes, phrases that unmake anchors.
        let global = evidence.partition_point(|e| e.topic != GLOBAL);
        let anchors_end = global + evidence[global..].partition_point(|e| e.kind == Kind::Anchor);
        let not_anchors =
            global + evidence[global..].partition_point(|e| e.kind != Kind::NotAnchor);
        // Anchors inside such a phrase (`AI 전환`: AI used, not built) are moved behind the
        // others and left out.
        let mut anchors_kept = anchors_end;
        if not_anchors < evidence.len() {
            let inside = |a: &Evidence, n: &Evidence| {
                let (a, n) = (&occurrences[a.occurrence], &occurrences[n.occurrence]);
                a.field == n.field && n.folded.0 <= a.folded.0 && a.folded.1 <= n.folded.1
            };
            anchors_kept = global;
            for j in global..anchors_end {
                let anchor = evidence[j];
                if !evidence[not_anchors..].iter().any(|n| inside(&anchor, n)) {
                    evidence.swap(anchors_kept, j);
                    anchors_kept += 1;
                }
            }
        }
        let evidence = &evidence[..];
        let topical = &evidence[..global];
        let anchors = &evidence[global..anchors_kept];
        let global_vetoes = &evidence[anchors_end..not_anchors];
        Filed {
            topical,
            anchors,
            global_vetoes,
        }
    }

    /// The decisions for the topics with evidence of any kind, in config order (any other
    /// topic's is [`TopicEval::none`]).
    pub(super) fn decisions<'a>(
        &'a self,
        filed: &'a Filed<'a>,
        occurrences: &'a [Occurrence],
        title: &'a str,
    ) -> impl Iterator<Item = (usize, TopicEval<'a>)> + 'a {
        let anchors = filed.anchors;
        filed
            .topical
            .chunk_by(|a, b| a.topic == b.topic)
            .map(move |group| {
                let t = group[0].topic;
                let topic = &self.topics[t];
                let eval = self.decide(
                    topic,
                    group,
                    anchors,
                    filed.global_vetoes,
                    occurrences,
                    title,
                );
                (t, eval)
            })
    }

    /// The decision for one topic on its `group` of evidence.
    pub(super) fn decide<'a>(
        &self,
        topic: &Topic,
        group: &'a [Evidence],
        anchors: &[Evidence],
        global_vetoes: &'a [Evidence],
        occurrences: &[Occurrence],
        title: &str,
    ) -> TopicEval<'a> {
        // The group is sorted by kind: each kind's evidence is the range after the kinds before.
        let mut count = [0; 7];
        for e in group {
            count[e.kind as usize] += 1;
        }
        let mut start = 0;
        let [keywords, generic, excludes, requires, ..] = count.map(|n| {
            start += n;
            start - n..start
        });
        if keywords.is_empty() && generic.is_empty() {
            // No evidence (only a requirement or an exclusion matched): nothing to score or
            // veto.
            return TopicEval::none();
        }
        // Generic words count beside a keyword of the topic; beside an anchor in the title, or
        // in the summary when they are only in the summary (a generic in the title is not about
        // AI because the body names AI somewhere: `펀드` in a cyber-security fund's title); or
        // two of them apart in the title.
        let generics = &group[generic.clone()];
        // An anchor inside a generic word's own span (`인공지능` in `인공지능 3대 강국`) is that
        // word, not a second piece of evidence beside it.
        let anchor_in = |field: Field| {
            anchors.iter().any(|a| {
                let a = &occurrences[a.occurrence];
                a.field == field
                    && !generics.iter().any(|g| {
                        let g = &occurrences[g.occurrence];
                        g.field == a.field && g.folded.0 <= a.folded.0 && a.folded.1 <= g.folded.1
                    })
            })
        };
        let anchored = AnchorsIn {
            title: anchor_in(Field::Title),
            summary: anchor_in(Field::Summary),
        };
        let generic_in = |field: Field| {
            generics
                .iter()
                .any(|e| occurrences[e.occurrence].field == field)
        };
        let title_text = std::cell::OnceCell::new();
        let nfkc_title = || {
            title_text
                .get_or_init(|| normalize(title).origins.nfkc)
                .as_str()
        };
        // The title's text between two occurrences, if they do not overlap.
        let between = |a: &Occurrence, b: &Occurrence| {
            let (first, second) = if a.original.1 <= b.original.0 {
                (a, b)
            } else {
                (b, a)
            };
            (first.original.1 <= second.original.0)
                .then(|| nfkc_title().get(first.original.1..second.original.0))
                .flatten()
        };
        // Two words of the title with a space or other words between them, not a word and its
        // synonym in brackets (`유럽연합(EU)`).
        let apart = |a: &Evidence, b: &Evidence| {
            let (a, b) = (&occurrences[a.occurrence], &occurrences[b.occurrence]);
            a.field == Field::Title
                && b.field == Field::Title
                && between(a, b)
                    .is_some_and(|t| t.chars().any(|c| c.is_whitespace() || c.is_alphanumeric()))
        };
        // Two different generic words in the title, apart (not one word and its synonym in
        // brackets, `유럽연합(EU)`).
        // Asked last: it may read the title again.
        let two_generics = || {
            generics
                .iter()
                .any(|a| generics.iter().any(|b| a.owner != b.owner && apart(a, b)))
        };
        let generic_counts = !keywords.is_empty()
            || anchored.title
            || (anchored.summary && !generic_in(Field::Title))
            || two_generics();
        let (counted, ignored_generic) = if generic_counts {
            (&group[keywords.start..generic.end], &[][..])
        } else {
            (&group[keywords.clone()], &group[generic])
        };
        let score = self.score(counted, topic, occurrences);
        let met = |g: usize| {
            group[requires.clone()]
                .iter()
                .any(|e| self.owners[e.owner].role == Role::Require(g))
        };
        let vetoes = [&group[excludes], global_vetoes];
        // Fields in which a strong keyword matched.
        let strong_in = |field: Field| {
            group[keywords.clone()].iter().any(|e| {
                self.owners[e.owner].role == Role::Strong
                    && occurrences[e.occurrence].field == field
            })
        };
        let strong_fields = [Field::Title, Field::Summary].map(strong_in);
        // A strong keyword is the topic by itself: it needs no `require` group beside it
        // (`기술번영 MOU` is global cooperation on AI and chips without saying so).
        let missing_group = if strong_fields.contains(&true) {
            None
        } else {
            (0..topic.require_groups).find(|&g| !met(g))
        };
        // Whether a veto occurrence is listed next to a keyword of the topic in the title: only
        // a listing word or mark between them (`AI반도체와 양자 기술`, `AI·반도체·우주`), not
        // a colon or other words (`수출입 동향: NPU`). The title is read again for this (rare).
        let listed_with_keyword = |v: &Evidence| {
            let veto = &occurrences[v.occurrence];
            group[keywords.clone()].iter().any(|e| {
                let k = &occurrences[e.occurrence];
                k.field == Field::Title
                    && between(k, veto).is_some_and(|b| LISTING.contains(&b.trim()))
            })
        };
        // An exclusion only in the summary does not veto a topic whose evidence is in the
        // title: the title says what the release is about, a lead's passing mention does not.
        let evidence_in_title = counted
            .iter()
            .any(|e| occurrences[e.occurrence].field == Field::Title);
        // The vetoes that count, and whether one of them is in the title.
        let mut vetoed = false;
        let mut veto_in_title = false;
        for (global, v) in vetoes
            .iter()
            .enumerate()
            .flat_map(|(i, list)| list.iter().map(move |v| (i == 1, v)))
        {
            let field = occurrences[v.occurrence].field;
            // A global veto word listed with the topic's own keyword in the title is a side
            // mention (`AI반도체와 양자 기술 공동연구`, `AI·반도체·우주`): the title is about
            // both, and so about the topic (see `listed_with_keyword`).
            if global && field == Field::Title && listed_with_keyword(v) {
                continue;
            }
            if field == Field::Title || !evidence_in_title {
                vetoed = true;
                veto_in_title |= field == Field::Title;
            }
        }
        let verdict = if counted.is_empty() {
            Verdict::NoMatch
        } else if score < topic.threshold {
            Verdict::BelowThreshold
        } else if let Some(group) = missing_group {
            Verdict::MissingRequired(group + 1)
        } else if vetoed && !overrides(strong_fields, veto_in_title) {
            Verdict::Vetoed
        } else {
            Verdict::Match
        };
        TopicEval {
            verdict,
            score,
            counted,
            ignored_generic,
            vetoes,
            strong: strong_fields.contains(&true),
        }
    }

    /// A topic's score: each occurrence adds the weight of its field, where hits that overlap or
    /// touch in the folded text are one occurrence ("그래픽 처리 장치(GPU)", "데이터센터" inside
    /// "AI 데이터센터"), and an occurrence made only of keywords already counted adds nothing.
    pub(super) fn score(
        &self,
        counted: &[Evidence],
        topic: &Topic,
        occurrences: &[Occurrence],
    ) -> f32 {
        let mut score = 0.0;
        self.walk_pieces(counted, topic, occurrences, |_, _, weight, _| {
            score += weight
        });
        score
    }

    /// The pieces of [`Classifier::pieces`] without collecting them: `each` gets a piece's
    /// field, its hits (indices into `counted`), its weight and whether a strong keyword of it
    /// is in the lead. Scoring, on every item with evidence, allocates nothing (the order of
    /// the walk is kept in a buffer reused on each thread).
    pub(super) fn walk_pieces(
        &self,
        counted: &[Evidence],
        topic: &Topic,
        occurrences: &[Occurrence],
        mut each: impl FnMut(Field, &[usize], f32, bool),
    ) {
        let occurrence = |k: usize| &occurrences[counted[k].occurrence];
        let keyword = |k: usize| &*self.owners[counted[k].owner].keyword;
        let mut order = WALK.take();
        order.clear();
        order.extend(0..counted.len());
        order.sort_by_key(|&k| {
            let o = occurrence(k);
            // (Title first, then by start and end: one integer to compare.)
            u128::from(o.field == Field::Summary) << 64
                | (o.folded.0 as u128) << 32
                | o.folded.1 as u128
        });
        let mut i = 0;
        while i < order.len() {
            let field = occurrence(order[i]).field;
            let mut end = occurrence(order[i]).folded.1;
            let mut fresh = false;
            let mut strong_in_lead = false;
            let mut j = i;
            while j < order.len()
                && occurrence(order[j]).field == field
                && occurrence(order[j]).folded.0 <= end
            {
                let o = occurrence(order[j]);
                end = end.max(o.folded.1);
                let strong = self.owners[counted[order[j]].owner].role == Role::Strong;
                strong_in_lead |= strong && o.lead;
                // A keyword not met earlier in the walk.
                fresh |= !order[..j].iter().any(|&k| keyword(k) == keyword(order[j]));
                j += 1;
            }
            let weight = match field {
                _ if !fresh => 0.0,
                Field::Title => topic.title_weight,
                Field::Summary if strong_in_lead => topic.title_weight,
                Field::Summary => topic.summary_weight,
            };
            each(field, &order[i..j], weight, strong_in_lead);
            i = j;
        }
        WALK.set(order);
    }

    /// The item's text as this classifier reads it (the summary cut at `summary_chars`).
    pub fn read(&self, title: &str, summary: &str) -> ItemText {
        ItemText::new(title, summary, self.summary_chars)
    }

    /// [`Classifier::read`] into `text`'s buffers.
    pub(crate) fn read_into(&self, text: &mut ItemText, title: &str, summary: &str) {
        text.set(title, summary, self.summary_chars);
    }

    /// The topics an item belongs to, in config order.
    pub fn classify(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        let read = crate::fold::first_chars(summary, self.summary_chars);
        self.classify_fields(title, read)
    }

    /// [`Classifier::classify`] of a text already read (shared with the watch words).
    pub(crate) fn classify_text(&self, text: &ItemText) -> Vec<TopicMatch> {
        self.classify_fields(&text.title, &text.summary)
    }

    /// [`Classifier::classify`] of a title and the part of the summary that is read.
    pub(super) fn classify_fields(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        let mut occurrences = OCCURRENCES.take();
        occurrences.clear();
        SCRATCH.with_borrow_mut(|scratch| {
            self.occurrences(title, Field::Title, scratch, &mut occurrences);
            self.occurrences(summary, Field::Summary, scratch, &mut occurrences);
        });
        // Fast path: nothing that belongs to a topic matched.
        if !occurrences.iter().any(|o| self.patterns[o.pattern].topical) {
            OCCURRENCES.set(occurrences);
            return Vec::new();
        }
        let mut evidence = EVIDENCE.take();
        let filed = self.gather(&occurrences, &mut evidence);
        let matches = self
            .decisions(&filed, &occurrences, title)
            .filter(|(_, e)| e.verdict == Verdict::Match)
            .map(|(t, e)| {
                let t = &self.topics[t];
                let mut keywords: Vec<Arc<str>> = Vec::new();
                for evidence in e.counted {
                    let keyword = &self.owners[evidence.owner].keyword;
                    if !keywords.iter().any(|k| **k == **keyword) {
                        keywords.push(keyword.clone());
                    }
                }
                TopicMatch {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    hashtag: t.hashtag.clone(),
                    keywords,
                }
            })
            .collect();
        EVIDENCE.set(evidence);
        OCCURRENCES.set(occurrences);
        matches
    }
}
