//! Optional values read where nothing has tested that they are given
//! (`previous_size.staff > 10` with no `previous_size is given and` before it):
//! such a rule compiles, and every entity that leaves the fact out gets an
//! error instead of a decision. Found on the DAG by reading it as the
//! evaluation does, left to right from the results, with the values that the
//! conditions read so far guarantee to be given.

mod absence;

use super::{Compiled, Op};
use crate::ast::AggKind;
use crate::check::CmpOp;
use crate::diagnostic::Diagnostic;
use crate::program::Type;
use crate::value::Value;
use absence::Absence;
use std::collections::{HashMap, HashSet};

/// Past this many (node, guards) pairs read, the analysis stops: a generated
/// rule file must not make `check` slow, and what was found is reported.
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
    reader.found
}

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
    /// (node, guards, innermost call) already read: a node of a function's
    /// body is shared by every call that gives it the same arguments, and is
    /// read again at each, where the warning would be another.
    seen: HashSet<(u32, Guards, Option<u32>)>,
    absences: HashMap<(u32, Guards), Option<Absence>>,
    /// (reader, operand, call warned at) already reported.
    reported: HashSet<(u32, u32, Option<u32>)>,
    found: Vec<Diagnostic>,
    /// The calls of definitions used as functions being read, innermost last.
    calls: Vec<Call<'c>>,
    /// The `largest` and `smallest` nodes by the elements they read, found
    /// the first time a `count` is compared.
    extremes: std::cell::OnceCell<HashMap<Elements, Vec<u32>>>,
}

/// A definition used as a function, read at one of its calls (lowering
/// inlines the body at each call, its parameters bound to the arguments).
#[derive(Clone, Copy)]
pub(super) struct Call<'c> {
    /// The call's node: an `Op::Define` with the call's span.
    pub node: u32,
    pub callee: &'c str,
    /// Where the callee's body is written.
    pub body: crate::source::Span,
    /// The rule, definition or outcome the call is written in.
    pub caller: Option<&'c str>,
}

impl<'c> Reader<'c> {
    /// Reads node `n` where the values in `guards` are known to be given;
    /// `within` is the rule, definition or outcome being read, by name.
    fn read(&mut self, n: u32, guards: &Guards, within: Option<&'c str>) {
        let call = self.calls.last().map(|call| call.node);
        if self.seen.len() >= MOST_READ || !self.seen.insert((n, guards.clone(), call)) {
            return;
        }
        let c = self.c;
        let program = &c.program;
        match &c.node(n).op {
            Op::Define(id, body) => {
                let define = &program.defines[id.index()];
                let called = !define.params.is_empty();
                if called {
                    self.calls.push(Call {
                        node: n,
                        callee: &define.name,
                        body: define.body.span,
                        caller: within,
                    });
                }
                let within = Some(define.name.as_str());
                match define.ty {
                    Type::Optional(_) => self.read(*body, guards, within),
                    _ => self.fill(n, *body, guards, within),
                }
                if called {
                    self.calls.pop();
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
                let name = Some(program.rules[rule.index()].name.as_str());
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
                        Op::RuleApplies { rule, .. } => {
                            Some(program.rules[rule.index()].name.as_str())
                        }
                        _ => Some(def.name.as_str()),
                    };
                    self.need(n, *applies, guards, rule);
                    let after = self.guarded(guards, *applies, true);
                    match optional {
                        true => self.read(*value, &after, rule),
                        false => self.fill(*applies, *value, &after, rule),
                    }
                }
                if let Some(d) = default {
                    self.read(*d, guards, Some(def.name.as_str()));
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
        within: Option<&'c str>,
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
    fn need(&mut self, reader: u32, n: u32, guards: &Guards, within: Option<&'c str>) {
        self.report(reader, n, guards, within, None);
        self.read(n, guards, within);
    }

    /// Reads node `n`, the value of a definition or outcome `declared` with a
    /// type that is not optional: a warning if it may be absent.
    fn fill(&mut self, declared: u32, n: u32, guards: &Guards, within: Option<&'c str>) {
        self.report(declared, n, guards, within, Some(declared));
        self.read(n, guards, within);
    }

    fn report(
        &mut self,
        reader: u32,
        n: u32,
        guards: &Guards,
        within: Option<&str>,
        declared: Option<u32>,
    ) {
        if let Some(why) = self.absence(n, guards) {
            let call = self.call_bringing(why.source());
            if self
                .reported
                .insert((reader, n, call.map(|call| call.node)))
            {
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

    /// The function, of those being read, whose body holds the text of node
    /// `n`: a node of a body is shared by every body that writes it alike.
    fn written_in(&self, n: u32) -> Option<&'c str> {
        let at = self.c.node(n).span;
        let call = self.calls.iter().rev().find(|call| call.body.encloses(at));
        call.map(|call| call.callee)
    }

    /// The call through which the value of node `source` came into the
    /// function being read, if it came in through an argument: of the calls
    /// whose arguments read `source`, from the innermost out, the last, which
    /// is written where the value comes from.
    fn call_bringing(&self, source: u32) -> Option<Call<'c>> {
        let passes = |call: &&Call<'c>| {
            let arguments = self.c.call_arguments.get(&call.node);
            (arguments.into_iter().flatten()).any(|&a| reads(self.c, a, source))
        };
        self.calls.iter().rev().take_while(passes).last().copied()
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

    /// `count … > 0` (`>= 1`, `!= 0`, `not (count … = 0)`, either way round)
    /// with the truth value `holds`: the `largest` and `smallest` over the
    /// same elements (same collection, same `where`) that then have a value.
    fn made_non_empty(&self, op: CmpOp, a: u32, b: u32, holds: bool) -> Vec<u32> {
        let c = self.c;
        let number = |n: u32| match &c.node(n).op {
            Op::Const(Value::Num(k)) => Some(*k),
            _ => None,
        };
        let (count, op, k) = match (number(a), number(b)) {
            (None, Some(k)) => (a, op, k),
            (Some(k), None) => (b, mirrored(op), k),
            _ => return Vec::new(),
        };
        let op = if holds { op } else { negated(op) };
        let at_least_one = match op {
            CmpOp::Gt => k >= 0.into(),
            CmpOp::Ge | CmpOp::Eq => k >= 1.into(),
            CmpOp::Ne => k.is_zero(),
            CmpOp::Lt | CmpOp::Le => false,
        };
        let Op::Aggregate {
            kind: AggKind::Count,
            depth,
            collection,
            filter,
            ..
        } = &c.node(count).op
        else {
            return Vec::new();
        };
        match at_least_one {
            true => (self.extremes.get_or_init(|| extremes_by_elements(c)))
                .get(&(*depth, *collection, *filter))
                .cloned()
                .unwrap_or_default(),
            false => Vec::new(),
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

/// The elements an aggregate reads: its variable's depth, its collection and
/// its `where`.
type Elements = (u32, u32, Option<u32>);

/// The `largest` and `smallest` nodes, by the elements they read.
fn extremes_by_elements(c: &Compiled) -> HashMap<Elements, Vec<u32>> {
    let mut found: HashMap<Elements, Vec<u32>> = HashMap::new();
    for n in 0..c.node_count() as u32 {
        if let Op::Aggregate {
            kind: AggKind::Largest | AggKind::Smallest,
            depth,
            collection,
            filter,
            ..
        } = &c.node(n).op
        {
            found
                .entry((*depth, *collection, *filter))
                .or_default()
                .push(n);
        }
    }
    found
}

/// The comparison with its sides swapped: `k < x` is `x > k`.
fn mirrored(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        same => same,
    }
}

/// The comparison that holds where `op` does not (between two values).
fn negated(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
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
/// Whether node `n` is node `source` or reads it, through any operands.
fn reads(c: &Compiled, n: u32, source: u32) -> bool {
    let mut seen = HashSet::new();
    let mut next = vec![n];
    while let Some(m) = next.pop() {
        if m == source {
            return true;
        }
        if seen.insert(m) {
            next.extend(c.node(m).op.operands());
        }
    }
    false
}

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
