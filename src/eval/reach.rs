//! Which nodes an on-demand evaluation would have computed, recovered from the
//! values of an eager run: the trace and the diff show only those, so that an
//! explanation never cites a rule that the reading of the law did not reach (the
//! rules after the first that applied, the operands after the first false one of an
//! `and`, the branch of an `if` not taken).
//!
//! Only runs whose results all have values are asked, so every node reached here
//! has one and only the short-circuits decide what its reading skipped.

use super::plan::Step;
use super::Evaluator;
use crate::ast::AggKind;
use crate::lower::Op;
use crate::value::Value;

/// Sets `marks` to one flag per node: would the on-demand evaluation have computed it?
pub(super) fn reached(ev: &Evaluator<'_>, marks: &mut Vec<bool>) {
    let c = ev.compiled;
    marks.clear();
    marks.resize(c.node_count(), false);
    for r in &c.results {
        marks[r.node as usize] = true;
    }
    // Steps come after their operands, so walking them backwards visits every
    // reader before the operands it marks. Constants have no operands, and the
    // nodes an aggregate recomputes are marked by the aggregate and walked here.
    let plan = &c.plan;
    for step in plan.steps.iter().rev() {
        let node = step.node();
        if marks[node as usize] {
            mark_step(ev, step, marks);
        }
    }
}

fn mark_step(ev: &Evaluator<'_>, step: &Step, marks: &mut [bool]) {
    let plan = &ev.compiled.plan;
    let is_true = |m: u32| matches!(ev.slot(m), Value::Bool(true));
    let mut mark = |m: u32| marks[m as usize] = true;
    match *step {
        Step::And(_, items) => mark_until(plan.operands(items), |i| !is_true(i), &mut mark),
        Step::Or(_, items) => mark_until(plan.operands(items), is_true, &mut mark),
        Step::Rule {
            condition,
            overriders,
            ..
        } => {
            mark(condition);
            if is_true(condition) {
                mark_until(plan.operands(overriders), is_true, &mut mark);
            }
        }
        Step::Choose(_, cond, a, b) => {
            mark(cond);
            mark(if is_true(cond) { a } else { b });
        }
        Step::Pick { rules, default, .. } => {
            for pair in plan.operands(rules).chunks_exact(2) {
                mark(pair[0]);
                if is_true(pair[0]) {
                    return mark(pair[1]);
                }
            }
            if let Some(d) = default {
                mark(d);
            }
        }
        Step::Not(_, a) | Step::IsGiven(_, a, _) | Step::Copy(_, a) | Step::Field(_, a, _) => {
            mark(a)
        }
        Step::Keys(_, _, collection) => mark(collection),
        Step::CompareNumbers(_, _, a, b) | Step::Equal(_, a, b, _) => {
            mark(a);
            mark(b);
        }
        Step::Fact(..) => {}
        Step::General(n) => mark_general(ev, n, marks),
    }
}

/// A node the planner leaves to `compute`, or one an aggregate recomputes (walked
/// as it is after the last element read): marked from its operation.
fn mark_general(ev: &Evaluator<'_>, n: u32, marks: &mut [bool]) {
    let is_true = |m: u32| matches!(ev.slot(m), Value::Bool(true));
    let mut mark = |m: u32| marks[m as usize] = true;
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
            if ev.slot(*collection).items().is_empty() {
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
                if marks[s as usize] {
                    mark_general(ev, s, marks);
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
