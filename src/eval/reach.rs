//! Which nodes an on-demand evaluation would have computed, recovered from the
//! values of an eager run: the trace and the diff show only those, so that an
//! explanation never cites a rule that the reading of the law did not reach (the
//! rules after the first that applied, the operands after the first false one of an
//! `and`, the branch of an `if` not taken).
//!
//! Only runs whose results all have values are asked, so every node reached here
//! has one and only the short-circuits decide what its reading skipped.

use super::Evaluator;
use crate::ast::AggKind;
use crate::lower::Op;
use crate::value::Value;

/// Sets `marks` to one flag per node: would the on-demand evaluation have computed it?
pub(super) fn reached(ev: &Evaluator<'_>, marks: &mut Vec<bool>) {
    let results = ev.compiled.results.iter().map(|r| r.node);
    let reading = Reading {
        value: |m| Some(ev.slot(m)),
        every_element: false,
    };
    reached_from(results, &reading, ev, marks);
}

/// How the walk decides what a node read. Generic over how a value is found,
/// so that the walk, which asks for it several times a node, calls it inline.
pub(super) struct Reading<F> {
    /// A node's value in the run; `None` if the run did not compute it.
    pub value: F,
    /// Whether an aggregate read its filter and body, and all they read, for
    /// every element: the slots hold one element's values only (the last read
    /// eagerly, the last kept on demand), and another element may have read
    /// what that one did not.
    pub every_element: bool,
}

/// Sets `marks` to the nodes the reading of `roots` computed, deciding the
/// short-circuits on the values `reading` gives; a node without a value was not
/// computed, and what it reads is not followed.
pub(super) fn reached_from<'v, F: Fn(u32) -> Option<&'v Value>>(
    roots: impl IntoIterator<Item = u32>,
    reading: &Reading<F>,
    ev: &Evaluator<'_>,
    marks: &mut Vec<bool>,
) {
    let c = ev.compiled;
    marks.clear();
    marks.resize(c.node_count(), false);
    let mut walk = Marks {
        flags: marks,
        pending: Vec::new(),
    };
    roots.into_iter().for_each(|root| walk.mark(root));
    // Each node is read once, when it is first marked, and only the nodes
    // reached are visited (a walk of the whole schedule, readers first, visited
    // every node for each result a diff explains). What a node marks depends on
    // the values alone, but for an aggregate's own nodes, which are marked only
    // by that aggregate and walked by it, readers first: so the order does not
    // change the marks. Constants read nothing.
    while let Some(node) = walk.pending.pop() {
        let walked = !c.node(node).scoped && !matches!(c.node(node).op, Op::Const(_));
        if walked && (reading.value)(node).is_some() {
            mark_operands(ev, reading, node, &mut walk);
        }
    }
}

/// The nodes marked so far, and those marked whose operands are still to mark.
struct Marks<'a> {
    flags: &'a mut Vec<bool>,
    pending: Vec<u32>,
}

impl Marks<'_> {
    fn mark(&mut self, n: u32) {
        if !std::mem::replace(&mut self.flags[n as usize], true) {
            self.pending.push(n);
        }
    }

    fn has(&self, n: u32) -> bool {
        self.flags[n as usize]
    }
}

/// Marks the operands node `n`'s reading would have computed, deciding its
/// short-circuits on `reading`. The operands are the node's own, not the slots
/// they share (a definition is marked, then its body).
fn mark_operands<'v, F: Fn(u32) -> Option<&'v Value>>(
    ev: &Evaluator<'_>,
    reading: &Reading<F>,
    n: u32,
    marks: &mut Marks<'_>,
) {
    let value = &reading.value;
    let is_true = |m: u32| matches!(value(m), Some(Value::Bool(true)));
    let mut mark = |m: u32| marks.mark(m);
    match &ev.compiled.node(n).op {
        Op::And(items) => mark_until(items, |i| !is_true(i), &mut mark),
        Op::Or(items) => mark_until(items, is_true, &mut mark),
        Op::If(cond, a, b) => {
            mark(*cond);
            mark(if is_true(*cond) { *a } else { *b });
        }
        Op::RuleApplies {
            condition,
            overriders,
            ..
        } => {
            mark(*condition);
            if is_true(*condition) {
                mark_until(overriders, is_true, &mut mark);
            }
        }
        Op::Outcome {
            rules,
            default,
            collect,
            ..
        } => {
            let mut any = false;
            for (applies, value) in rules {
                mark(*applies);
                if is_true(*applies) {
                    mark(*value);
                    any = true;
                    if !collect {
                        return;
                    }
                }
            }
            if let (false, Some(d)) = (any, default) {
                mark(*d);
            }
        }
        Op::Aggregate {
            kind,
            collection,
            body,
            filter,
            scoped,
            ..
        } => {
            mark(*collection);
            // The variable's nodes hold the last element read (the first match of
            // an `any`): what was read for it is what the slots show.
            if value(*collection).is_none_or(|c| c.items().is_empty()) {
                return;
            }
            if reading.every_element {
                filter.iter().chain(body.iter()).for_each(|o| mark(*o));
                for &s in scoped.iter().rev() {
                    if marks.has(s) {
                        ev.compiled.node(s).op.for_each_operand(|o| marks.mark(o));
                    }
                }
                return;
            }
            let kept = match filter {
                Some(f) => {
                    mark(*f);
                    is_true(*f)
                }
                None => true,
            };
            let sums = matches!(kind, AggKind::Sum | AggKind::Largest | AggKind::Smallest);
            if let (true, true, Some(b)) = (kept, sums, body) {
                mark(*b);
            }
            for &s in scoped.iter().rev() {
                if marks.has(s) {
                    mark_operands(ev, reading, s, marks);
                }
            }
        }
        op => op.for_each_operand(mark),
    }
}

/// Marks `items` in order up to and including the first for which `stop` holds.
fn mark_until(items: &[u32], stop: impl Fn(u32) -> bool, mark: &mut impl FnMut(u32)) {
    for &i in items {
        mark(i);
        if stop(i) {
            return;
        }
    }
}

/// The indices of the rules that applied and that a left-to-right reading
/// reached, in declaration order, without walking the whole graph: rules are
/// read only by outcomes (every outcome is a result, so every outcome is read)
/// and by the rules they override. `reached` is scratch space: one flag per
/// rule, set for the rules reached.
pub(super) fn applied_rule_indices(
    ev: &Evaluator<'_>,
    reached: &mut Vec<bool>,
    applied: &mut Vec<u32>,
) {
    let plan = &ev.compiled.plan;
    let flags = &ev.flags[..];
    let holds = |slot: u32| flags[slot as usize] == super::TRUE;
    reached.clear();
    reached.resize(ev.compiled.rule_nodes.len(), false);
    applied.clear();
    // Reaches a rule; lists it the first time if it applied. True if it applied.
    let mut reach = |reached: &mut Vec<bool>, r: &super::plan::RuleSlot| {
        let first_time = !std::mem::replace(&mut reached[r.rule as usize], true);
        let holds = holds(r.slot);
        if first_time && holds {
            applied.push(r.rule);
        }
        holds
    };
    for (collect, rules) in &plan.outcome_rules {
        for r in rules {
            if reach(reached, r) && !collect {
                break;
            }
        }
    }
    for check in &plan.rule_checks {
        if !reached[check.rule as usize] || !holds(check.condition) {
            continue;
        }
        for o in &check.overriders {
            if reach(reached, o) {
                break;
            }
        }
    }
    applied.sort_unstable();
}
