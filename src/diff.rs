//! Comparing two revisions of the rules. Entry points: [`diff_rules`] (what changed
//! in the text), [`diff_population`] (who changes outcome and which rule moved
//! them), [`diff_entity`] (one entity's two traces side by side).

mod adapt;

use crate::eval::Evaluator;
use crate::facts::{load_facts, read_alike, Facts};
use crate::lower::{Compiled, Op};
use crate::program::{ActId, Program};
use crate::value::{to_json, Value};
pub use adapt::{Adapter, Read};
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// Where an item is written, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    /// `file:line:column`
    pub source: String,
    pub text: String,
}

/// One declaration that differs between the revisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleChange {
    pub act: String,
    /// `art. 3`, `allegato I`, or `(other)`: the grouping a reader of the act expects.
    pub provision: String,
    pub kind: ChangeKind,
    /// `rule scope.c2`, `define size_class`, `table EntityType row "II.8.1"`, ...
    pub item: String,
    /// What differs: `condition`, `citation`, `value`, ...
    pub aspects: Vec<String>,
    /// For a change: the words that differ, e.g. `staff < 250 -> staff < 200`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub old: Option<Written>,
    pub new: Option<Written>,
}

/// An aspect of a declaration (`condition`, `citation` ...) and its text.
type Aspect = (&'static str, String);

/// A declaration reduced to what matters for comparison.
struct Entry {
    act: String,
    provision: String,
    /// Aspect name and its normalized text.
    aspects: Vec<Aspect>,
    written: Written,
}

/// Source text on one line, without comments.
fn squeeze(text: &str) -> String {
    let without_comments = text
        .lines()
        .map(strip_comment)
        .collect::<Vec<_>>()
        .join(" ");
    without_comments
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The words that differ between two texts, with two words of context:
/// `... staff < 250 and ...` -> `... staff < 200 and ...`.
pub fn word_change(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.split(' ').collect(), new.split(' ').collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let from = prefix.saturating_sub(2);
    let show = |w: &[&str], end: usize| {
        let stop = (end + 2).min(w.len());
        let mut s = w[from..stop].join(" ");
        if from > 0 {
            s = format!("... {s}");
        }
        if stop < w.len() {
            s.push_str(" ...");
        }
        s
    };
    format!(
        "{} -> {}",
        show(&a, a.len() - suffix),
        show(&b, b.len() - suffix)
    )
}

/// The words that differ: in the text as written where that is what changed,
/// and for an aspect the written text does not show (a citation, a
/// description, the rules overridden), in it, named.
fn changed_words(changed: &[(&Aspect, &Aspect)], old: &Entry, new: &Entry) -> String {
    let shown_in_writing =
        |aspect: &str| !matches!(aspect, "citation" | "description" | "overrides" | "type");
    let mut parts = Vec::new();
    if changed.iter().any(|(x, _)| shown_in_writing(x.0)) {
        parts.push(word_change(&old.written.text, &new.written.text));
    }
    for (x, y) in changed.iter().filter(|(x, _)| !shown_in_writing(x.0)) {
        let quoted = |t: &str| {
            if t.is_empty() {
                "(none)".to_string()
            } else {
                t.to_string()
            }
        };
        parts.push(format!(
            "{}: {}",
            x.0,
            word_change(&quoted(&x.1), &quoted(&y.1))
        ));
    }
    parts.join("; ")
}

/// `art. 3` from "art. 3, c. 2"; `allegato I` from "allegato I, punto 8".
fn provision_of(citation: &str) -> String {
    let c = citation
        .rsplit_once("art.")
        .map_or(citation, |(_, rest)| rest);
    if citation.contains("art.") {
        let n: String = c
            .trim_start()
            .chars()
            .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
            .collect();
        return format!("art. {n}");
    }
    if let Some(i) = citation.find("allegat") {
        let word: String = citation[i..]
            .split(',')
            .next()
            .unwrap_or("allegato")
            .trim()
            .to_string();
        return word;
    }
    "(other)".into()
}

fn entries(p: &Program) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let act = |a: ActId| p.act(a).id.clone();
    let text = |span| squeeze(p.sources.snippet(span));
    let at = |span| p.sources.location(span);
    for r in &p.rules {
        let overrides: Vec<&str> = r
            .overrides
            .iter()
            .map(|o| p.rules[o.index()].name.as_str())
            .collect();
        let value = r
            .value
            .as_ref()
            .map_or_else(|| "true".into(), |v| text(v.span));
        let conclusion = format!(
            "{} {} {value}",
            p.outcomes[r.outcome.index()].name,
            if r.includes { "includes" } else { "=" }
        );
        out.insert(
            format!("rule {}", r.name),
            Entry {
                act: act(r.act),
                provision: provision_of(&r.citation),
                aspects: vec![
                    ("citation", r.citation.clone()),
                    ("condition", text(r.condition.span)),
                    ("conclusion", conclusion.clone()),
                    ("overrides", overrides.join(", ")),
                    ("description", r.description.clone().unwrap_or_default()),
                ],
                written: Written {
                    source: at(r.span),
                    text: format!("when {} then {conclusion}", text(r.condition.span)),
                },
            },
        );
    }
    for d in &p.defines {
        let params: Vec<String> = d
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", p.type_name(t)))
            .collect();
        out.insert(
            format!("define {}", d.name),
            Entry {
                act: act(d.act),
                provision: provision_of(&d.citation),
                aspects: vec![
                    ("citation", d.citation.clone()),
                    (
                        "type",
                        format!("({}) {}", params.join(", "), p.type_name(&d.ty)),
                    ),
                    ("value", text(d.body.span)),
                ],
                written: Written {
                    source: at(d.span),
                    text: text(d.body.span),
                },
            },
        );
    }
    for f in &p.facts {
        let spec = &f.spec;
        out.insert(
            format!("fact {}", spec.name),
            field_entry(p, act(f.act), spec),
        );
    }
    // A record's fields are facts too: a changed default or range moves entities.
    for r in &p.records {
        for spec in &r.fields {
            let item = format!("record {} field {}", r.name, spec.name);
            out.insert(item, field_entry(p, act(r.act), spec));
        }
    }
    for o in &p.outcomes {
        let otherwise = o
            .otherwise
            .as_ref()
            .map(|e| text(e.span))
            .unwrap_or_default();
        out.insert(
            format!("outcome {}", o.name),
            Entry {
                act: act(o.act),
                provision: "(outcomes)".into(),
                aspects: vec![
                    ("type", p.type_name(&o.ty)),
                    ("otherwise", otherwise.clone()),
                ],
                written: Written {
                    source: at(o.span),
                    text: format!("{}: {} otherwise {otherwise}", o.name, p.type_name(&o.ty)),
                },
            },
        );
    }
    for t in &p.tables {
        for row in &t.rows {
            let cells: Vec<String> = t
                .columns
                .iter()
                .zip(&row.cells)
                .map(|((_, ty), v)| crate::value::display(p, ty, v))
                .collect();
            out.insert(
                format!("table {} row \"{}\"", t.name, row.key),
                Entry {
                    act: act(t.act),
                    provision: annex_of_row(&row.key).unwrap_or_else(|| provision_of(&t.citation)),
                    aspects: vec![("cells", cells.join(" | "))],
                    written: Written {
                        source: at(row.span),
                        text: cells.join(" | "),
                    },
                },
            );
        }
    }
    for e in &p.enums {
        for (v, _) in &e.variants {
            out.insert(
                format!("enum {} variant {v}", e.name),
                Entry {
                    act: act(e.act),
                    provision: "(vocabulary)".into(),
                    aspects: vec![],
                    written: Written {
                        source: at(e.span),
                        text: v.clone(),
                    },
                },
            );
        }
    }
    out
}

/// A fact or record field as the diff compares it: its type, range and default,
/// written as in the rule files.
fn field_entry(p: &Program, act: String, spec: &crate::program::FieldSpec) -> Entry {
    let default = (spec.default.as_ref())
        .map(|v| crate::value::display(p, &spec.ty, v))
        .unwrap_or_default();
    let range = (spec.range.as_ref())
        .map(crate::program::range_text)
        .unwrap_or_default();
    let mut text = format!("{}: {}", spec.name, p.type_name(&spec.ty));
    for (word, part) in [("", &range), ("default ", &default)] {
        if !part.is_empty() {
            text.push_str(&format!(" {word}{part}"));
        }
    }
    Entry {
        act,
        provision: "(facts)".into(),
        aspects: vec![
            ("type", p.type_name(&spec.ty)),
            ("default", default),
            ("range", range),
        ],
        written: Written {
            source: p.sources.location(spec.span),
            text,
        },
    }
}

/// `allegato II` for a row keyed `II.6.4`: annex tables key their rows by annex.
fn annex_of_row(key: &str) -> Option<String> {
    let numeral = key.split('.').next()?;
    let roman = !numeral.is_empty() && numeral.chars().all(|c| matches!(c, 'I' | 'V' | 'X'));
    roman.then(|| format!("allegato {numeral}"))
}

/// A version one revision holds and the evaluation date leaves out, where
/// the other revision does not hold it: the diff does not compare it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    /// `old` or `new`.
    pub revision: &'static str,
    pub act: String,
    /// When it comes into force: after the evaluation date.
    pub in_force: crate::date::Date,
    /// The act's first version (the act is left out whole), or a later one.
    pub first_version: bool,
}

/// The versions in force after the evaluation date that one revision holds
/// and the other does not. Without them said, an amendment that comes into
/// force later reads as no change on an earlier date.
pub fn left_out(old: &Program, new: &Program) -> Vec<LeftOut> {
    let of = |revision, p: &Program| {
        let first = (p.not_yet_in_force.iter()).map(|v| (v, true));
        let later = (p.later_versions.iter()).map(|v| (v, false));
        (first.chain(later))
            .map(|((act, in_force), first_version)| LeftOut {
                revision,
                act: act.clone(),
                in_force: *in_force,
                first_version,
            })
            .collect::<Vec<_>>()
    };
    let (in_old, in_new) = (of("old", old), of("new", new));
    let only = |these: &[LeftOut], others: &[LeftOut]| {
        (these.iter())
            .filter(|v| !others.iter().any(|o| o.same_version(v)))
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut out = only(&in_old, &in_new);
    out.extend(only(&in_new, &in_old));
    out
}

impl LeftOut {
    /// The same version, whichever revision holds it.
    fn same_version(&self, other: &LeftOut) -> bool {
        (&self.act, self.in_force, self.first_version)
            == (&other.act, other.in_force, other.first_version)
    }
}

/// Every declaration added, removed or changed, grouped by act and provision.
pub fn diff_rules(old: &Program, new: &Program) -> Vec<RuleChange> {
    let (a, b) = (entries(old), entries(new));
    let mut changes = Vec::new();
    for (item, e) in &a {
        match b.get(item) {
            None => changes.push(RuleChange {
                act: e.act.clone(),
                provision: e.provision.clone(),
                kind: ChangeKind::Removed,
                item: item.clone(),
                aspects: vec![],
                detail: None,
                old: Some(e.written.clone()),
                new: None,
            }),
            Some(n) => {
                let changed: Vec<_> = (e.aspects.iter().zip(&n.aspects))
                    .filter(|(x, y)| x.1 != y.1)
                    .collect();
                if !changed.is_empty() {
                    let aspects = changed.iter().map(|(x, _)| x.0.to_string()).collect();
                    changes.push(RuleChange {
                        act: n.act.clone(),
                        provision: n.provision.clone(),
                        kind: ChangeKind::Changed,
                        item: item.clone(),
                        aspects,
                        detail: Some(changed_words(&changed, e, n)),
                        old: Some(e.written.clone()),
                        new: Some(n.written.clone()),
                    });
                }
            }
        }
    }
    for (item, n) in &b {
        if !a.contains_key(item) {
            changes.push(RuleChange {
                act: n.act.clone(),
                provision: n.provision.clone(),
                kind: ChangeKind::Added,
                item: item.clone(),
                aspects: vec![],
                detail: None,
                old: None,
                new: Some(n.written.clone()),
            });
        }
    }
    changes.sort_by(|x, y| {
        (&x.act, provision_key(&x.provision), &x.item).cmp(&(
            &y.act,
            provision_key(&y.provision),
            &y.item,
        ))
    });
    changes
}

/// Articles in numeric order, then annexes, then the rest.
fn provision_key(p: &str) -> (u8, u32, String) {
    match p.strip_prefix("art. ") {
        Some(n) => (
            0,
            n.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0),
            p.to_string(),
        ),
        None if p.starts_with("allegato") => (1, 0, p.to_string()),
        None => (2, 0, p.to_string()),
    }
}

/// Result key, old value, new value, for every result that differs.
pub type Changes = Vec<(String, Json, Json)>;

/// One record's results under both revisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedRecord {
    pub line: u64,
    pub id: Option<String>,
    /// Result key, old value, new value.
    pub changes: Vec<(String, Json, Json)>,
    /// The first rule or definition whose value differs, with its citation.
    pub diverging: Option<Divergence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Divergence {
    /// The rule's or definition's name, as its revision writes it.
    pub name: String,
    pub citation: String,
    /// Whether both revisions have the step, or the new one added it, or it
    /// removed it.
    pub presence: Presence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Both,
    Added,
    Removed,
}

impl Divergence {
    /// The step as a reader is shown it: its name, and whether only one
    /// revision has it.
    pub fn step(&self) -> String {
        match self.presence {
            Presence::Both => self.name.clone(),
            Presence::Added => format!("{} (added)", self.name),
            Presence::Removed => format!("{} (removed)", self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub result: String,
    pub from: Json,
    pub to: Json,
    pub count: u64,
    /// How many of these records first diverge at each rule.
    pub by_rule: Vec<(Divergence, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PopulationDiff {
    pub records: u64,
    pub changed: u64,
    /// Records that could not be evaluated under one revision or both.
    pub errors: Vec<FailedRecord>,
    pub transitions: Vec<Transition>,
    pub changed_records: Vec<ChangedRecord>,
}

/// A record's `id` as text, as a batch reports it: a text or a number (a null is no
/// id).
fn record_id(doc: &Json) -> Option<String> {
    match doc.get(crate::facts::ID_FIELD)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A record that could not be read, or evaluated under one revision or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRecord {
    pub line: u64,
    /// The record's `id`, if it could be read.
    pub id: Option<String>,
    pub reason: String,
}

/// Readies `ev` to name the cause of a record's change ([`exact_memo`]): runs
/// the record (its facts given by `facts`) on it, unless `already_run` says
/// that its last run was the record's and kept its readings.
fn explain(ev: &mut Evaluator<'_>, facts: impl FnOnce() -> Option<Facts>, already_run: bool) {
    if already_run {
        return exact_memo(ev, facts);
    }
    if let Some(facts) = facts() {
        // A copy for the on-demand run, only where there will be one.
        let again = (!ev.compiled.plan.reach_is_exact).then(|| facts.clone());
        let _ = ev.run(facts);
        exact_memo(ev, || again);
    }
}

/// [`explain`] for the facts of a JSON document.
fn explain_document(ev: &mut Evaluator<'_>, doc: &Json, already_run: bool) {
    let program = &ev.compiled.program;
    explain(ev, || load_facts(program, doc).ok(), already_run);
}

/// [`exact_memo`] for the facts of a JSON document.
fn exact_memo_for(ev: &mut Evaluator<'_>, doc: &Json) {
    let compiled = ev.compiled;
    exact_memo(ev, || load_facts(&compiled.program, doc).ok());
}

/// `first_divergence` reads which nodes each evaluation computed. After the eager
/// pass that is exact unless aggregates read named values (`Plan::reach_is_exact`);
/// then the record's facts (read again by `facts`, only then) are evaluated again
/// on demand, which records it exactly.
fn exact_memo(ev: &mut Evaluator<'_>, facts: impl FnOnce() -> Option<Facts>) {
    if ev.compiled.plan.reach_is_exact {
        return;
    }
    if let Some(facts) = facts() {
        let _ = ev.run_lazily(facts);
    }
}

/// Evaluates a facts document under both revisions; the error names the revision.
/// When the revisions read facts alike ([`read_alike`]), the document is read
/// once, and `new_read` (then the same as `old_read`) not at all.
fn evaluate_both(
    (ev_old, ev_new): (&mut Evaluator<'_>, &mut Evaluator<'_>),
    old_read: &Read<'_>,
    new_read: &Read<'_>,
    alike: bool,
) -> BothResults {
    // Both revisions are tried, so that a record both refuse says why for each.
    let (old_facts, new_facts) = match alike {
        true => {
            let facts = load(ev_old, old_read).map_err(|e| failed(Some(e.clone()), Some(e)))?;
            (facts.clone(), facts)
        }
        false => match (load(ev_old, old_read), load(ev_new, new_read)) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => return Err(failed(a.err(), b.err())),
        },
    };
    results_of_both(ev_old.run(old_facts), ev_new.run(new_facts))
}

/// One record's results under the old and the new revision, or why either
/// revision could not evaluate it.
type BothResults = Result<(Vec<Value>, Vec<Value>), String>;

/// Runs both revisions on one record's facts, each into its revision's
/// results, and gives the facts back for an explanation. A lean run reads them
/// in place and gives them back ([`Evaluator::take_facts`]); before a run that
/// keeps them, they are copied. Where a lean plan gave the record up and kept
/// them, `reread` reads them again.
fn run_both_into(
    (old, new): &mut (Revision<'_>, Revision<'_>),
    facts: Facts,
    reread: impl Fn() -> Option<Facts>,
) -> (Result<(), String>, Option<Facts>) {
    let copy =
        |ev: &Evaluator<'_>, facts: &Facts| (!ev.reads_facts_in_place()).then(|| facts.clone());
    let for_new = copy(&old.first, &facts);
    let old_ran = old.first.run_into(facts, &mut old.values);
    let Some(facts) = (old.first.take_facts().or(for_new)).or_else(&reread) else {
        return (Err("the record could not be read again".into()), None);
    };
    let kept = copy(&new.first, &facts);
    let new_ran = new.first.run_into(facts, &mut new.values);
    let kept = new.first.take_facts().or(kept);
    (results_of_both(old_ran, new_ran).map(drop), kept)
}

/// Both revisions' results, or why either has none (the error names the
/// revision).
fn results_of_both<T>(
    old: Result<T, crate::eval::EvalError>,
    new: Result<T, crate::eval::EvalError>,
) -> Result<(T, T), String> {
    match (old, new) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(failed(
            a.err().map(|e| e.to_string()),
            b.err().map(|e| e.to_string()),
        )),
    }
}

/// Why a record could not be evaluated, under the revision that refused it, or
/// both: said once if they say the same.
fn failed(old: Option<String>, new: Option<String>) -> String {
    match (old, new) {
        (Some(a), Some(b)) if a == b => format!("both revisions: {a}"),
        (Some(a), Some(b)) => format!("old revision: {a}; new revision: {b}"),
        (Some(a), None) => format!("old revision: {a}"),
        (None, b) => format!("new revision: {}", b.unwrap_or_default()),
    }
}

/// The facts of a document as a revision reads it; the errors name the places
/// in the document as written.
fn load(ev: &Evaluator<'_>, read: &Read<'_>) -> Result<Facts, String> {
    load_facts(&ev.compiled.program, &read.doc).map_err(|errs| {
        (errs.into_iter())
            .map(|e| {
                let path = read.original_path(&e.path);
                crate::facts::FactError { path, ..e }.to_string()
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Pairs the results of two revisions by key, once, so that each record is
/// compared value by value, and turned into JSON only where it changed.
struct Comparer {
    keys: Vec<PairedResult>,
}

/// One result key and where each revision has it.
struct PairedResult {
    key: String,
    /// The result's index in the old and in the new results.
    old: Option<usize>,
    new: Option<usize>,
    /// Whether both revisions hold its values alike
    /// ([`crate::facts::types_alike`]), so that equal values are the same
    /// result with no lookup of names.
    alike: bool,
}

impl Comparer {
    fn new(old: &Compiled, new: &Compiled) -> Comparer {
        let position = |c: &Compiled, k: &str| c.results.iter().position(|r| r.key == k);
        let in_old = (old.results.iter().enumerate())
            .map(|(i, r)| (r.key.clone(), Some(i), position(new, &r.key)));
        let only_in_new = (new.results.iter().enumerate())
            .filter(|(_, r)| position(old, &r.key).is_none())
            .map(|(i, r)| (r.key.clone(), None, Some(i)));
        let keys = (in_old.chain(only_in_new))
            .map(|(key, a, b)| PairedResult {
                alike: match (a, b) {
                    (Some(a), Some(b)) => crate::facts::types_alike(
                        &old.program,
                        &old.results[a].ty,
                        &new.program,
                        &new.results[b].ty,
                    ),
                    _ => false,
                },
                key,
                old: a,
                new: b,
            })
            .collect();
        Comparer { keys }
    }

    /// The nodes of the result `key` in both revisions, if both have it.
    fn nodes(&self, key: &str, (old, new): (&Compiled, &Compiled)) -> Option<(u32, u32)> {
        let paired = self.keys.iter().find(|p| p.key == key)?;
        Some((old.results[paired.old?].node, new.results[paired.new?].node))
    }

    fn changes(&self, old: (&Compiled, &[Value]), new: (&Compiled, &[Value])) -> Changes {
        fn side<'v>(
            (c, values): (&'v Compiled, &'v [Value]),
            i: Option<usize>,
        ) -> Option<(&'v Program, &'v crate::program::Type, &'v Value)> {
            i.map(|i| (&c.program, &c.results[i].ty, &values[i]))
        }
        let json = |v: Option<(&Program, &crate::program::Type, &Value)>| {
            v.map_or(Json::Null, |(p, t, v)| to_json(p, t, v))
        };
        (self.keys.iter())
            .filter_map(|paired| {
                let (x, y) = (side(old, paired.old), side(new, paired.new));
                let same = match (x, y) {
                    (Some(x), Some(y)) => (paired.alike && x.2 == y.2) || same_value(x, y),
                    _ => false,
                };
                (!same)
                    .then(|| (paired.key.clone(), json(x), json(y)))
                    .filter(|(_, x, y)| x != y)
            })
            .collect()
    }
}

/// Equal as their JSON would be, without writing it: enum variants and table keys
/// compare by name, since the two revisions may number them differently.
fn same_value(
    a: (&Program, &crate::program::Type, &Value),
    b: (&Program, &crate::program::Type, &Value),
) -> bool {
    use crate::program::Type;
    let (pa, ta, va) = a;
    let (pb, tb, vb) = b;
    match (va, vb) {
        (Value::Enum(x), Value::Enum(y)) => match (ta.required(), tb.required()) {
            (Type::Enum(ea), Type::Enum(eb)) => {
                pa.enums[ea.index()].variants[*x as usize].0
                    == pb.enums[eb.index()].variants[*y as usize].0
            }
            _ => false,
        },
        (Value::Key(x), Value::Key(y)) => match (ta.required(), tb.required()) {
            (Type::Table(xa), Type::Table(xb)) => {
                pa.tables[xa.index()].rows[*x as usize].key
                    == pb.tables[xb.index()].rows[*y as usize].key
            }
            _ => false,
        },
        (Value::Set(x) | Value::List(x), Value::Set(y) | Value::List(y)) => {
            match (ta.element(), tb.element()) {
                (Some(ea), Some(eb)) => {
                    x.len() == y.len()
                        && x.iter()
                            .zip(y.iter())
                            .all(|(u, v)| same_value((pa, ea, u), (pb, eb, v)))
                }
                _ => false,
            }
        }
        (Value::Record(_), _) | (_, Value::Record(_)) => to_json(pa, ta, va) == to_json(pb, tb, vb),
        (x, y) => x == y,
    }
}

/// Records moving between two values of one result, by diverging rule.
struct Moves {
    from: Json,
    to: Json,
    count: u64,
    by_rule: BTreeMap<Divergence, u64>,
}

/// The named nodes (definitions and rules) of a compiled program, by name, in node
/// order; computed once per program.
struct Named {
    nodes: Vec<(u32, String)>,
    /// The named nodes and the outcomes: what a node's value may differ because of.
    upstream: Vec<(u32, String)>,
    /// The named nodes and the outcomes, by name.
    by_name: std::collections::HashMap<String, u32>,
    /// The value each rule concludes, by rule node.
    concludes: std::collections::HashMap<u32, u32>,
}

impl Named {
    fn new(c: &Compiled) -> Named {
        let upstream: Vec<(u32, String)> = (0..c.node_count() as u32)
            .filter(|n| {
                let op = &c.node(*n).op;
                matches!(
                    op,
                    Op::Define(..) | Op::RuleApplies { .. } | Op::Outcome { .. }
                )
            })
            .map(|n| (n, crate::trace::node_name(c, n)))
            .collect();
        let nodes = (upstream.iter())
            .filter(|(n, _)| !matches!(c.node(*n).op, Op::Outcome { .. }))
            .cloned()
            .collect();
        let by_name = upstream
            .iter()
            .map(|(n, name)| (name.clone(), *n))
            .collect();
        let concludes = (0..c.node_count() as u32)
            .filter_map(|n| match &c.node(n).op {
                Op::Outcome { rules, .. } => Some(rules.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        Named {
            nodes,
            upstream,
            by_name,
            concludes,
        }
    }
}

fn citation_of(c: &Compiled, n: u32) -> String {
    let p = &c.program;
    match &c.node(n).op {
        Op::Define(id, _) => {
            p.full_citation(p.defines[id.index()].act, &p.defines[id.index()].citation)
        }
        Op::RuleApplies { rule, .. } => {
            p.full_citation(p.rules[rule.index()].act, &p.rules[rule.index()].citation)
        }
        _ => String::new(),
    }
}

/// The first named node, in the new revision's order, computed by both revisions
/// with different values and reading none that differs (a rule that reads a
/// changed outcome changes because of it, and is not a cause); failing that, a
/// rule that concludes another value, then a rule or definition only one of them
/// has. Not computing a value is not a different value. With `within`, only the
/// nodes a result reads count.
fn first_divergence(
    old: &Evaluator<'_>,
    new: &Evaluator<'_>,
    names: &(Named, Named),
    within: Option<&Cones>,
) -> Option<Divergence> {
    let (old_names, new_names) = names;
    let (co, cn) = (old.compiled, new.compiled);
    let found = |c: &Compiled, n: u32, name: String, presence| {
        Some(Divergence {
            name,
            citation: citation_of(c, n),
            presence,
        })
    };
    let (old_computed, new_computed) = (
        Computed::of(old, within.map(|c| &c.old[..])),
        Computed::of(new, within.map(|c| &c.new[..])),
    );
    let differs = |n: u32, name: &str| {
        let (Some(after), Some(&m)) = (new_computed.value(n), old_names.by_name.get(name)) else {
            return false;
        };
        old_computed.value(m).is_some_and(|before| {
            !same_value(
                (&co.program, &co.node(m).ty, before),
                (&cn.program, &cn.node(n).ty, after),
            )
        })
    };
    // Whether a named node or outcome that `n`'s value was worked out from
    // differs as well.
    let downstream = |n: u32| {
        let cone = new.read_for_reached(n);
        (new_names.upstream.iter())
            .any(|(k, name)| *k != n && cone[*k as usize] && differs(*k, name))
    };
    for (n, name) in new_names
        .nodes
        .iter()
        .filter(|(n, _)| new_computed.inside(*n))
    {
        if differs(*n, name) && !downstream(*n) {
            return found(cn, *n, name.clone(), Presence::Both);
        }
    }
    if let Some((n, name)) = changed_conclusion((&old_computed, &new_computed), names) {
        return found(cn, n, name, Presence::Both);
    }
    // A rule only one revision has is a cause where it applied; one that did not
    // apply is named only if nothing else is.
    for applied in [true, false] {
        if let Some((n, name)) = only_in((&new_computed, new_names), old_names, applied) {
            return found(cn, *n, name.clone(), Presence::Added);
        }
        if let Some((n, name)) = only_in((&old_computed, old_names), new_names, applied) {
            return found(co, *n, name.clone(), Presence::Removed);
        }
    }
    None
}

/// The first node that the `computed` run's revision names and the other does
/// not, that the run computed within its cone; with `applied`, only a rule that
/// applied (a definition that holds is a cause only if no such rule is).
fn only_in<'n>(
    (computed, mine): (&Computed<'_, '_>, &'n Named),
    theirs: &Named,
    applied: bool,
) -> Option<&'n (u32, String)> {
    let is_rule = |n: u32| matches!(computed.ev.compiled.node(n).op, Op::RuleApplies { .. });
    (mine.nodes.iter()).find(|(n, name)| {
        computed.inside(*n)
            && !theirs.by_name.contains_key(name)
            && (computed.value(*n))
                .is_some_and(|v| !applied || (is_rule(*n) && *v == Value::Bool(true)))
    })
}

/// The nodes a result's value was worked out from in each revision's last run
/// ([`Evaluator::read_for_reached`]).
struct Cones {
    old: Vec<bool>,
    new: Vec<bool>,
}

impl Cones {
    fn of((ev_old, ev_new): (&Evaluator<'_>, &Evaluator<'_>), (old, new): (u32, u32)) -> Cones {
        Cones {
            old: ev_old.read_for_reached(old),
            new: ev_new.read_for_reached(new),
        }
    }
}

/// What one revision's last run computed, within a result's cone if there is
/// one: the nodes a cause is looked for among, and their values.
struct Computed<'a, 'c> {
    ev: &'a Evaluator<'c>,
    cone: Option<&'a [bool]>,
}

impl<'a, 'c> Computed<'a, 'c> {
    fn of(ev: &'a Evaluator<'c>, cone: Option<&'a [bool]>) -> Self {
        Computed { ev, cone }
    }

    fn inside(&self, n: u32) -> bool {
        self.cone.is_none_or(|c| c[n as usize])
    }

    /// The node's value, if the run's reading computed it ([`Evaluator::memo`]).
    fn value(&self, n: u32) -> Option<&'a Value> {
        match self.cone {
            Some(cone) => self.ev.memo_within(n, cone),
            None => self.ev.memo(n),
        }
    }
}

/// How two revisions' results are compared and their changes explained, made
/// once per pair of programs: the results paired by key, the named nodes.
pub struct Comparison {
    comparer: Comparer,
    names: (Named, Named),
}

impl Comparison {
    pub fn new(old: &Compiled, new: &Compiled) -> Comparison {
        Comparison {
            comparer: Comparer::new(old, new),
            names: (Named::new(old), Named::new(new)),
        }
    }

    /// After both evaluators ran a record (with [`exact_memo`]): the cause of each
    /// change, among what that result was worked out from (the record's first
    /// divergence if nothing there diverges), and the record's cause: its first
    /// change's.
    fn causes(
        &self,
        (ev_old, ev_new): (&Evaluator<'_>, &Evaluator<'_>),
        changes: &Changes,
    ) -> (Option<Divergence>, Vec<Option<Divergence>>) {
        // Over the whole graph, and only if a result has no cause of its own.
        let first = std::cell::OnceCell::new();
        let first =
            || (first.get_or_init(|| first_divergence(ev_old, ev_new, &self.names, None))).clone();
        let each: Vec<Option<Divergence>> = (changes.iter())
            .map(|(key, _, _)| {
                (self.comparer.nodes(key, (ev_old.compiled, ev_new.compiled)))
                    .map(|nodes| Cones::of((ev_old, ev_new), nodes))
                    .and_then(|c| first_divergence(ev_old, ev_new, &self.names, Some(&c)))
                    .or_else(&first)
            })
            .collect();
        let record = each.first().cloned().flatten().or_else(&first);
        (record, each)
    }
}

/// A rule that applied under both revisions but concludes another value under the
/// new one (`includes mimit` where it said `includes mase`): the rule's own value
/// is the same, its outcome's is not. The first such rule in the new order
/// within the new run's cone.
fn changed_conclusion(
    (old, new): (&Computed<'_, '_>, &Computed<'_, '_>),
    (old_names, new_names): &(Named, Named),
) -> Option<(u32, String)> {
    let (co, cn) = (old.ev.compiled, new.ev.compiled);
    let applied = |run: &Computed<'_, '_>, n: u32| run.value(n) == Some(&Value::Bool(true));
    let mut candidates = new_names.nodes.iter().filter(|(n, _)| new.inside(*n));
    candidates.find_map(|(n, name)| {
        let m = *old_names.by_name.get(name)?;
        let (after, before) = (new_names.concludes.get(n)?, old_names.concludes.get(&m)?);
        let differ = match (&co.node(*before).op, &cn.node(*after).op) {
            (Op::Const(x), Op::Const(y)) => !same_value(
                (&co.program, &co.node(*before).ty, x),
                (&cn.program, &cn.node(*after).ty, y),
            ),
            _ => false,
        };
        (differ && applied(new, *n) && applied(old, m)).then(|| (*n, name.clone()))
    })
}

/// A facts record of a population as it was given: the text of a JSON line or of
/// an array's element, or a JSON document.
pub enum Record {
    Text(String),
    Document(Json),
}

impl From<Json> for Record {
    fn from(doc: Json) -> Record {
        Record::Document(doc)
    }
}

impl Record {
    /// The record as a JSON document, or why its text is not one.
    pub fn into_document(self) -> Result<Json, String> {
        match self {
            Record::Text(text) => {
                crate::facts::parse_document(&text).map_err(|e| crate::batch::not_json(&e))
            }
            Record::Document(doc) => Ok(doc),
        }
    }

    /// [`Record::into_document`], a text that is no document (`1e400`)
    /// reported at its places in the record, as a batch reports it.
    fn into_document_naming_places(
        self,
        program: &crate::program::Program,
    ) -> Result<Json, String> {
        use crate::facts::TextFactsError;
        let Record::Text(text) = self else {
            return self.into_document();
        };
        crate::facts::parse_document_naming_places(program, &text).map_err(|e| match e {
            TextFactsError::NotJson(e) => crate::batch::not_json(&e),
            TextFactsError::Invalid(_, problems) => {
                let each = problems.iter().map(|p| p.to_string()).collect::<Vec<_>>();
                format!("the facts do not match the schema: {}", each.join("; "))
            }
        })
    }
}

/// Evaluates every record under both revisions and reports who moves where.
///
/// When the revisions read facts alike ([`read_alike`]), a record given as text
/// is read straight into its facts, as a batch reads it, if it reads without an
/// error; any other record is read as a JSON document, each revision's errors
/// naming places in the document as written.
pub fn diff_population<R: Into<Record>>(
    old: &Compiled,
    new: &Compiled,
    records: impl Iterator<Item = (u64, Result<R, String>)>,
) -> PopulationDiff {
    let mut revisions = (Revision::new(old), Revision::new(new));
    let mut tally = Tally {
        comparison: Comparison::new(old, new),
        table: BTreeMap::new(),
        out: PopulationDiff::default(),
    };
    let alike = read_alike(&old.program, &new.program);
    let adapters = (
        Adapter::new(&old.program, &new.program),
        Adapter::new(&new.program, &old.program),
    );
    // The facts the last record's runs gave back: the next record is read
    // over them, into their allocations, as a batch reads its records.
    let mut spare = Facts::default();
    for (line, record) in records {
        tally.out.records += 1;
        let record = record.map(Into::into);
        if let (true, Ok(Record::Text(text))) = (alike, &record) {
            if crate::facts::load_facts_from_str_into(&old.program, text, &mut spare).is_ok() {
                let facts = std::mem::take(&mut spare);
                let id = facts.id.clone();
                let reread = || crate::facts::load_facts_from_str(&old.program, text).ok();
                let (outcome, kept) = run_both_into(&mut revisions, facts, reread);
                let facts = || kept.clone().or_else(reread);
                let again = |ev: &mut Evaluator<'_>, already_run| explain(ev, facts, already_run);
                tally.add(&mut revisions, line, id, outcome, (again, again));
                spare = kept.unwrap_or_default();
                continue;
            }
        }
        let doc = match record.and_then(|r| r.into_document_naming_places(&old.program)) {
            Ok(d) => d,
            Err(reason) => {
                let id = None;
                tally.out.errors.push(FailedRecord { line, id, reason });
                continue;
            }
        };
        let id = record_id(&doc);
        let old_read = adapters.0.read(&doc);
        // Revisions that read facts alike read the document once.
        let new_read = (!alike).then(|| adapters.1.read(&doc));
        let new_read = new_read.as_ref().unwrap_or(&old_read);
        let results = evaluate_both(first_evaluators(&mut revisions), &old_read, new_read, alike);
        let outcome = results.map(|(a, b)| (revisions.0.values, revisions.1.values) = (a, b));
        let memos = (
            |ev: &mut Evaluator<'_>, ran| explain_document(ev, &old_read.doc, ran),
            |ev: &mut Evaluator<'_>, ran| explain_document(ev, &new_read.doc, ran),
        );
        tally.add(&mut revisions, line, id, outcome, memos);
    }
    tally.finish()
}

/// A revision's evaluators for a population: every record runs on a
/// results-only one (a lean plan where the revision has one); a record that
/// changes outcome is explained by an ordinary one, whose readings name the
/// cause, unless the results-only run was not lean and kept its readings.
struct Revision<'c> {
    /// The results-only evaluator every record runs on first.
    first: Evaluator<'c>,
    /// The ordinary evaluator a changed record runs on again where `first`
    /// ran it lean.
    full: Evaluator<'c>,
    /// The results of the record just run, in a vector reused from one record
    /// to the next ([`Evaluator::run_into`]).
    values: Vec<Value>,
}

impl<'c> Revision<'c> {
    fn new(compiled: &'c Compiled) -> Self {
        Revision {
            first: Evaluator::new(compiled).results_only(),
            full: Evaluator::new(compiled),
            values: Vec::new(),
        }
    }

    /// The evaluator that explains the record just run on `first`, readied by
    /// `explain` (told whether that evaluator's last run was the record's with
    /// its readings). Where `first` did not run the record lean (a revision
    /// without a lean plan, an amendment that changes more than constants, or
    /// a record its lean plan gave up), it ran it as an ordinary evaluator
    /// does, and its run is used as it is.
    fn explaining(&mut self, explain: impl FnOnce(&mut Evaluator<'c>, bool)) -> &Evaluator<'c> {
        if self.first.ran_lean() {
            explain(&mut self.full, false);
            return &self.full;
        }
        explain(&mut self.first, true);
        &self.first
    }
}

/// The evaluators every record runs on, of both revisions.
fn first_evaluators<'a, 'c>(
    (old, new): &'a mut (Revision<'c>, Revision<'c>),
) -> (&'a mut Evaluator<'c>, &'a mut Evaluator<'c>) {
    (&mut old.first, &mut new.first)
}

/// The report of a population, as its records are added.
struct Tally {
    comparison: Comparison,
    table: BTreeMap<(String, String, String), Moves>,
    out: PopulationDiff,
}

impl Tally {
    /// One record's results under both revisions (in their `values`), or why it
    /// has none; `memos` ready the old and the new revision's explaining
    /// evaluator to name the cause of a change ([`Revision::explaining`]).
    fn add<'c>(
        &mut self,
        (old_revision, new_revision): &mut (Revision<'c>, Revision<'c>),
        line: u64,
        id: Option<String>,
        outcome: Result<(), String>,
        memos: (
            impl FnOnce(&mut Evaluator<'c>, bool),
            impl FnOnce(&mut Evaluator<'c>, bool),
        ),
    ) {
        if let Err(reason) = outcome {
            self.out.errors.push(FailedRecord { line, id, reason });
            return;
        }
        let (old, new) = (old_revision.full.compiled, new_revision.full.compiled);
        let (a, b) = (&old_revision.values, &new_revision.values);
        let changes = self.comparison.comparer.changes((old, a), (new, b));
        if changes.is_empty() {
            return;
        }
        self.out.changed += 1;
        let ev_old = old_revision.explaining(memos.0);
        let ev_new = new_revision.explaining(memos.1);
        let (diverging, each) = self.comparison.causes((ev_old, ev_new), &changes);
        for ((k, x, y), cause) in changes.iter().zip(each) {
            let entry = (self.table)
                .entry((k.clone(), x.to_string(), y.to_string()))
                .or_insert_with(|| Moves {
                    from: x.clone(),
                    to: y.clone(),
                    count: 0,
                    by_rule: BTreeMap::new(),
                });
            entry.count += 1;
            if let Some(d) = cause {
                *entry.by_rule.entry(d).or_default() += 1;
            }
        }
        self.out.changed_records.push(ChangedRecord {
            line,
            id,
            changes,
            diverging,
        });
    }

    fn finish(self) -> PopulationDiff {
        let mut out = self.out;
        out.transitions = (self.table)
            .into_iter()
            .map(
                |(
                    (result, _, _),
                    Moves {
                        from,
                        to,
                        count,
                        by_rule,
                    },
                )| {
                    let mut by_rule: Vec<(Divergence, u64)> = by_rule.into_iter().collect();
                    by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    Transition {
                        result,
                        from,
                        to,
                        count,
                        by_rule,
                    }
                },
            )
            .collect();
        out.transitions
            .sort_by(|a, b| a.result.cmp(&b.result).then(b.count.cmp(&a.count)));
        out
    }
}

/// The result changes of one facts document between two revisions, and their
/// cause (that of the first change, [`Comparison`]); `None` when nothing changes,
/// `Err` (why) when either cannot evaluate it.
/// `alike`: whether the revisions read facts alike ([`read_alike`]); it and
/// `comparison` are worked out once by the caller for all its documents.
pub fn compare_one(
    (ev_old, ev_new): (&mut Evaluator<'_>, &mut Evaluator<'_>),
    (old_read, new_read): (&Read<'_>, &Read<'_>),
    alike: bool,
    comparison: &Comparison,
) -> Result<Option<(Changes, Option<Divergence>)>, String> {
    let (a, b) = evaluate_both((ev_old, ev_new), old_read, new_read, alike)?;
    let (old_doc, new_doc) = (&old_read.doc, &new_read.doc);
    let changes = (comparison.comparer).changes((ev_old.compiled, &a), (ev_new.compiled, &b));
    if changes.is_empty() {
        return Ok(None);
    }
    exact_memo_for(ev_old, old_doc);
    exact_memo_for(ev_new, new_doc);
    let (cause, _) = comparison.causes((ev_old, ev_new), &changes);
    Ok(Some((changes, cause)))
}

/// One entity's explanation under both revisions, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityDiff {
    pub id: Option<String>,
    pub old: Vec<crate::trace::Step>,
    pub new: Vec<crate::trace::Step>,
    pub diverging: Option<Divergence>,
    pub changes: Vec<(String, Json, Json)>,
}

pub fn diff_entity(old: &Compiled, new: &Compiled, doc: &Json) -> Result<EntityDiff, String> {
    let mut ev_old = Evaluator::new(old);
    let mut ev_new = Evaluator::new(new);
    let alike = read_alike(&old.program, &new.program);
    // As for a population: an entity type only one revision lists is no annex
    // type for the other.
    let adapters = (
        Adapter::new(&old.program, &new.program),
        Adapter::new(&new.program, &old.program),
    );
    let (old_read, new_read) = (adapters.0.read(doc), adapters.1.read(doc));
    let (a, b) = evaluate_both((&mut ev_old, &mut ev_new), &old_read, &new_read, alike)?;
    let comparison = Comparison::new(old, new);
    let changes = comparison.comparer.changes((old, &a), (new, &b));
    exact_memo_for(&mut ev_old, &old_read.doc);
    exact_memo_for(&mut ev_new, &new_read.doc);
    let (diverging, _) = comparison.causes((&ev_old, &ev_new), &changes);
    Ok(EntityDiff {
        id: record_id(doc),
        old: crate::trace::build_trace(&ev_old)
            .map_err(|e| e.to_string())?
            .steps,
        new: crate::trace::build_trace(&ev_new)
            .map_err(|e| e.to_string())?
            .steps,
        diverging,
        changes,
    })
}
