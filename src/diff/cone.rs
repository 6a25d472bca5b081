//! What a value was worked out from in one evaluation: the part of its cone the
//! evaluation actually read. A cause of a changed result must be in it: with the
//! safeguard clause granted, the art. 3 scope reads the entity's own size class,
//! and a change to the aggregated class, however much it differs, moved nothing.

use crate::eval::Evaluator;
use crate::lower::Op;
use crate::value::Value;

/// The nodes `root`'s value in `ev`'s last run was computed from, itself included:
/// an `if` reads its condition and the branch taken; an `and` that is false stops at
/// its first false operand, an `or` that is true at its first true one; a rule reads
/// its overriders only once its condition holds, and stops at the first that
/// applies; a single-valued outcome reads its rules up to the first that applies
/// and that rule's value, a set-valued one every rule and the values of those that
/// apply, and either reads its default only when no rule applies. A node the run
/// did not compute is not followed.
pub(super) fn read_in(ev: &Evaluator<'_>, root: u32) -> Vec<bool> {
    let c = ev.compiled;
    let mut seen = vec![false; c.node_count()];
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n as usize], true) || ev.memo(n).is_none() {
            continue;
        }
        operands_read(ev, n, &mut |o| stack.push(o));
    }
    seen
}

fn operands_read(ev: &Evaluator<'_>, n: u32, read: &mut dyn FnMut(u32)) {
    let holds = |m: u32| ev.memo(m) == Some(&Value::Bool(true));
    let fails = |m: u32| ev.memo(m) == Some(&Value::Bool(false));
    let op = &ev.compiled.node(n).op;
    match op {
        Op::If(condition, then, otherwise) => {
            read(*condition);
            if holds(*condition) {
                read(*then);
            } else if fails(*condition) {
                read(*otherwise);
            }
        }
        Op::And(operands) if fails(n) => read_until(operands, fails, read),
        Op::Or(operands) if holds(n) => read_until(operands, holds, read),
        Op::RuleApplies {
            condition,
            overriders,
            ..
        } => {
            read(*condition);
            if holds(*condition) {
                read_until(overriders, holds, read);
            }
        }
        Op::Outcome {
            rules,
            default,
            collect,
            ..
        } => {
            let mut any_applied = false;
            for (rule, value) in rules {
                read(*rule);
                if holds(*rule) {
                    read(*value);
                    any_applied = true;
                    if !collect {
                        break;
                    }
                }
            }
            if !any_applied {
                default.iter().for_each(|d| read(*d));
            }
        }
        _ => op.for_each_operand(read),
    }
}

/// The operands in order, up to and including the first for which `decides`.
fn read_until(operands: &[u32], decides: impl Fn(u32) -> bool, read: &mut dyn FnMut(u32)) {
    for &o in operands {
        read(o);
        if decides(o) {
            return;
        }
    }
}
