//! `largest` and `smallest` have no value over no elements; a `count` of the
//! same elements tested to be at least one guarantees them one.

use super::Reader;
use crate::ast::AggKind;
use crate::check::CmpOp;
use crate::lower::{Compiled, Op};
use crate::value::Value;
use std::collections::HashMap;

impl Reader<'_> {
    /// `count … > 0` (`>= 1`, `!= 0`, `not (count … = 0)`, either way round)
    /// with the truth value `holds`: the `largest` and `smallest` over the
    /// same elements (same collection, same `where`) that then have a value.
    pub(super) fn made_non_empty(&self, op: CmpOp, a: u32, b: u32, holds: bool) -> Vec<u32> {
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
        // A count is a whole number.
        let at_least_one = match op {
            CmpOp::Gt => !k.is_sign_negative(),
            CmpOp::Ge | CmpOp::Eq => k > 0.into(),
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
}

/// The elements an aggregate reads: its variable's depth, its collection and
/// its `where`.
pub(super) type Elements = (u32, u32, Option<u32>);

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
