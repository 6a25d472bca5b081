//! Optional values read where nothing has tested that they are given
//! (`previous_size.staff > 10` with no `previous_size is given and` before it):
//! such a rule compiles, and every entity that leaves the fact out gets an
//! error instead of a decision. Found on the DAG by reading it as the
//! evaluation does, left to right from the results, with the values that the
//! conditions read so far guarantee to be given.

mod absence;
mod calls;
mod non_empty;

use super::{Compiled, Op};
use crate::ast::AggKind;
use crate::check::CmpOp;
use crate::diagnostic::Diagnostic;
use crate::program::Type;
use crate::source::Span;
use crate::value::Value;
use absence::Absence;
use calls::{Call, Item, Within};
use non_empty::Elements;
use std::collections::{HashMap, HashSet};

/// Past this many (node, guards) pairs read, the analysis stops: a generated
/// rule file must not make `check` slow. What was found is reported, and a
/// warning says that the reading stopped.
const MOST_READ: usize = 200_000;

/// A warning for each optional value read, by a rule or definition the results
/// need, where it may be absent and the evaluation then fails; and for each
/// definition or outcome declared with a type that is not `optional` but that
/// may be left without a value.
pub fn unguarded_reads(c: &Compiled) -> Vec<Diagnostic> {
    let mut reader = Reader {
        c,
        seen: HashSet::new(),
        absences: HashMap::new(),
        reported: HashSet::new(),
        found: Vec::new(),
        calls: Vec::new(),
        extremes: Default::default(),
    };
    for result in &c.results {
        reader.read(result.node, &Guards::default(), None);
    }
    if reader.seen.len() >= MOST_READ {
        let stopped = format!(
            "the check of optional values stopped after {MOST_READ} readings of the rules: \
             values read later in the rules were not checked"
        );
        let help = "split long chains of conditions into named definitions, or check the \
                    rule files in parts";
        // First: a list of many warnings is drawn only in part.
        let warning = Diagnostic::warning("lexnis::lower::unguarded_stopped", stopped);
        reader.found.insert(0, warning.help(help));
    }
    reader.found
}

/// A call warned at: its node, its place and the item it is written in.
type WarnedAt = (u32, Span, Within);

/// The nodes known to hold a value where a node is read, sorted.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct Guards(Vec<u32>);

impl Guards {
    fn with(&self, more: &[u32]) -> Guards {
        let mut all = self.0.clone();
        all.extend_from_slice(more);
        all.sort_unstable();
        all.dedup();
        Guards(all)
    }

    fn has(&self, n: u32) -> bool {
        self.0.binary_search(&n).is_ok()
    }
}

struct Reader<'c> {
    c: &'c Compiled,
    /// (node, guards, calls around it) already read: a function's body is
    /// read again at each place a call of it is written, inside each call
    /// around that (calls with the same arguments share their nodes), where a
    /// warning would be another.
    seen: HashSet<(u32, Guards, u64)>,
    absences: HashMap<(u32, Guards), Option<Absence>>,
    /// (reader, operand, call warned at: its node, place and item) already
    /// reported.
    reported: HashSet<(u32, u32, Option<WarnedAt>)>,
    found: Vec<Diagnostic>,
    /// The calls of definitions used as functions being read, innermost last.
    calls: Vec<Call>,
    /// The `largest` and `smallest` nodes by the elements they read, found
    /// the first time a `count` is compared.
    extremes: std::cell::OnceCell<HashMap<Elements, Vec<u32>>>,
}

impl<'c> Reader<'c> {
    /// Reads node `n` where the values in `guards` are known to be given;
    /// `within` is the rule, definition or outcome being read.
    fn read(&mut self, n: u32, guards: &Guards, within: Within) {
        // A call is read at each place it is written, inside each call around it.
        let call = self.call(n, within);
        let context = call.map_or(self.context(), |call| call.context);
        if self.seen.len() >= MOST_READ || !self.seen.insert((n, guards.clone(), context)) {
            return;
        }
        let c = self.c;
        let program = &c.program;
        match &c.node(n).op {
            Op::Define(id, body) => {
                let define = &program.defines[id.index()];
                // A definition without parameters is closed: no argument of
                // the calls around it reaches inside.
                let around = match call {
                    Some(call) => {
                        self.calls.push(call);
                        None
                    }
                    None => Some(std::mem::take(&mut self.calls)),
                };
                let within = Some(Item::Define(*id));
                match define.ty {
                    Type::Optional(_) => self.read(*body, guards, within),
                    _ => self.fill(n, *body, guards, within),
                }
                match around {
                    Some(around) => self.calls = around,
                    None => drop(self.calls.pop()),
                }
            }
            Op::And(items) => self.read_in_turn(n, items, guards, within, true),
            Op::Or(items) => self.read_in_turn(n, items, guards, within, false),
            Op::If(condition, then, otherwise) => {
                self.need(n, *condition, guards, within);
                self.read(*then, &self.guarded(guards, *condition, true), within);
                self.read(*otherwise, &self.guarded(guards, *condition, false), within);
            }
            Op::RuleApplies {
                rule,
                condition,
                overriders,
            } => {
                let name = Some(Item::Rule(*rule));
                self.need(n, *condition, guards, name);
                let after = self.guarded(guards, *condition, true);
                for o in overriders {
                    self.need(n, *o, &after, name);
                }
            }
            Op::Outcome {
                outcome,
                rules,
                default,
                collect,
            } => {
                let def = &program.outcomes[outcome.index()];
                let optional = *collect || matches!(def.ty, Type::Optional(_));
                for (applies, value) in rules {
                    let rule = match c.node(*applies).op {
                        Op::RuleApplies { rule, .. } => Some(Item::Rule(rule)),
                        _ => Some(Item::Outcome(*outcome)),
                    };
                    self.need(n, *applies, guards, rule);
                    let after = self.guarded(guards, *applies, true);
                    match optional {
                        true => self.read(*value, &after, rule),
                        false => self.fill(*applies, *value, &after, rule),
                    }
                }
                if let Some(d) = default {
                    self.read(*d, guards, Some(Item::Outcome(*outcome)));
                }
            }
            Op::Aggregate {
                kind,
                collection,
                body,
                filter,
                ..
            } => {
                self.need(n, *collection, guards, within);
                let mut inside = guards.clone();
                if let Some(f) = filter {
                    self.need(n, *f, guards, within);
                    inside = self.guarded(guards, *f, true);
                }
                if let Some(b) = body {
                    match kind {
                        AggKind::Sum | AggKind::Largest | AggKind::Smallest => {
                            self.need(n, *b, &inside, within)
                        }
                        _ => self.read(*b, &inside, within),
                    }
                }
            }
            op => {
                let strict = needs_values(c, op);
                for o in op.operands() {
                    match strict.contains(&o) {
                        true => self.need(n, o, guards, within),
                        false => self.read(o, guards, within),
                    }
                }
            }
        }
    }

    /// The operands of an `and` (`when_true`) or an `or`, each read where the
    /// ones before it had the truth value that lets the reading go on.
    fn read_in_turn(
        &mut self,
        reader: u32,
        items: &[u32],
        guards: &Guards,
        within: Within,
        when_true: bool,
    ) {
        let mut guards = guards.clone();
        for &item in items {
            self.need(reader, item, &guards, within);
            guards = self.guarded(&guards, item, when_true);
        }
    }

    /// Reads node `n` where `reader` needs its value: a warning if it may be
    /// absent.
    fn need(&mut self, reader: u32, n: u32, guards: &Guards, within: Within) {
        self.report(reader, n, guards, within, None);
        self.read(n, guards, within);
    }

    /// Reads node `n`, the value of a definition or outcome `declared` with a
    /// type that is not optional: a warning if it may be absent.
    fn fill(&mut self, declared: u32, n: u32, guards: &Guards, within: Within) {
        self.report(declared, n, guards, within, Some(declared));
        self.read(n, guards, within);
    }

    fn report(
        &mut self,
        reader: u32,
        n: u32,
        guards: &Guards,
        within: Within,
        declared: Option<u32>,
    ) {
        if let Some(why) = self.absence(n, guards) {
            let call = self.call_bringing(n, why.source());
            // Once per place and item warned at, whatever the calls around.
            let at = call.map(|b| (b.call.node, b.call.site, b.call.caller));
            if self.reported.insert((reader, n, at)) {
                let reading = absence::Reading {
                    reader,
                    n,
                    within,
                    declared,
                    call,
                    written_in: self.written_in(reader),
                };
                self.found.push(absence::warning(self.c, &reading, why));
            }
        }
    }

    /// `guards`, with what node `n` having the truth value `holds` guarantees.
    fn guarded(&self, guards: &Guards, n: u32, holds: bool) -> Guards {
        let mut given = Vec::new();
        self.collect_given(n, holds, &mut given);
        match given.is_empty() {
            true => guards.clone(),
            false => guards.with(&given),
        }
    }

    /// The nodes that hold a value once node `n`, a condition, has the truth
    /// value `holds`: `x is given` true, `x is absent` false, a comparison true.
    fn collect_given(&self, n: u32, holds: bool, given: &mut Vec<u32>) {
        let c = self.c;
        match &c.node(n).op {
            Op::IsGiven(a, is_given) if *is_given == holds => self.push_given(*a, given),
            Op::Not(a) => self.collect_given(*a, !holds, given),
            Op::Define(_, body) => self.collect_given(*body, holds, given),
            // A rule applies only if its condition holds.
            Op::RuleApplies { condition, .. } if holds => {
                self.collect_given(*condition, true, given)
            }
            Op::And(items) if holds => {
                (items.iter()).for_each(|i| self.collect_given(*i, true, given))
            }
            Op::Or(items) if !holds => {
                (items.iter()).for_each(|i| self.collect_given(*i, false, given))
            }
            // `x = none` false, `x != none` true: `x` is given.
            Op::Compare(op @ (CmpOp::Eq | CmpOp::Ne), a, b) if none_side(c, *a, *b).is_some() => {
                let other = none_side(c, *a, *b).unwrap_or(*a);
                if (*op == CmpOp::Eq) != holds {
                    self.push_given(other, given);
                }
            }
            Op::Compare(op, a, b) => {
                given.extend(self.made_non_empty(*op, *a, *b, holds));
                // Any other comparison that holds had values on both sides:
                // it fails on an absent one.
                if holds {
                    self.push_given(*a, given);
                    self.push_given(*b, given);
                }
            }
            _ => {}
        }
    }

    /// Node `n` is given, and so is the record or table key it is read from.
    fn push_given(&self, n: u32, given: &mut Vec<u32>) {
        given.push(n);
        if let Op::Field(base, _) | Op::Column(base, ..) = self.c.node(n).op {
            self.push_given(base, given);
        }
    }
}

/// In `a = b` with one side the literal `none`, the other side.
fn none_side(c: &Compiled, a: u32, b: u32) -> Option<u32> {
    let is_none = |n: u32| matches!(c.node(n).op, Op::Const(Value::Absent));
    match (is_none(a), is_none(b)) {
        (true, _) => Some(b),
        (_, true) => Some(a),
        _ => None,
    }
}

/// The operands an operation needs values of: it fails on an absent one.
/// `is given`, a comparison with `none`, fields and the branches of `if` pass
/// an absent value on.
fn needs_values(c: &Compiled, op: &Op) -> Vec<u32> {
    match op {
        Op::Not(a) | Op::Neg(a) => vec![*a],
        Op::Compare(CmpOp::Eq | CmpOp::Ne, a, b) if none_side(c, *a, *b).is_some() => Vec::new(),
        Op::Compare(_, a, b) | Op::Arith(_, a, b) => vec![*a, *b],
        Op::Member(_, collection, _) => vec![*collection],
        Op::TableAggregate { collection, .. } => vec![*collection],
        Op::Call(_, args) => args.clone(),
        _ => Vec::new(),
    }
}
