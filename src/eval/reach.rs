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

/// One flag per node: would the on-demand evaluation have computed it?
pub(super) fn reached(ev: &Evaluator<'_>) -> Vec<bool> {
    let c = ev.compiled;
    let mut marks = vec![false; c.node_count()];
    for r in &c.results {
        marks[r.node as usize] = true;
    }
    // Operands come before their readers, so walking down the indices visits every
    // reader before the operands it marks.
    for n in (0..c.node_count()).rev() {
        if marks[n] {
            mark_operands(ev, n as u32, &mut marks);
        }
    }
    marks
}

fn mark_operands(ev: &Evaluator<'_>, n: u32, marks: &mut [bool]) {
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
            if let (true, Some(b)) = (kept, body) {
                if matches!(kind, AggKind::Sum | AggKind::Largest | AggKind::Smallest) {
                    mark(*b);
                }
            }
        }
        op => op.operands().into_iter().for_each(mark),
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
