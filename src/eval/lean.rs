//! Results-only runs ([`Evaluator::results_only`]): the bundled plans written by
//! `lexnis codegen` a second time, as typed Rust (`codegen::lean`), computing each
//! node into a Rust `bool`, `Decimal` or reference to a value and writing only
//! the results and the flags a compact trace reads. A lean plan decides a record
//! only where every value it meets has the expected type and no step fails;
//! anywhere else (an absent value under `>`, a division by zero, an operation
//! it was not written for) it gives up, and the native plan runs the record from
//! the start, so that every error is the one the drafter would see anyway.
//!
//! What the written code calls at run time is here: the bundled rules' plans
//! need not call all of it, the plans of other rule sets may.
#![allow(dead_code)]

use super::{arith, cmp_holds, key_matches, Evaluator, FALSE_VALUE, TRUE_VALUE};
use crate::ast::AggKind;
use crate::check::{ArithOp, CmpOp};
use crate::lower::{Compiled, Op};
use crate::value::{compare, Value};
use rust_decimal::Decimal;

/// A lean plan: true if it decided the record (results and rule flags written),
/// false if the native plan must.
pub type LeanPlan = fn(&mut Evaluator<'_>) -> bool;

pub(crate) static ABSENT: Value = Value::Absent;

/// What a lean plan reads and writes while it runs: the facts (read in place,
/// not moved into the slots), the evaluator's constants, the graph's tables,
/// and the flags of the slots a compact trace reads.
pub(crate) struct LeanParts<'a> {
    pub facts: &'a [Value],
    pub consts: &'a [Value],
    pub compiled: &'a Compiled,
    pub flags: &'a mut [u8],
}

impl<'c> Evaluator<'c> {
    /// The parts a lean plan runs on, every flag but the constants' reset;
    /// `None` without facts.
    pub(crate) fn lean_parts(&mut self) -> Option<LeanParts<'_>> {
        self.flags.copy_from_slice(&self.native_flags);
        Some(LeanParts {
            facts: &self.facts.as_ref()?.values,
            consts: &self.memo,
            compiled: self.compiled,
            flags: &mut self.flags,
        })
    }

    /// A lean plan's result: slot `slot` takes `v`.
    #[inline]
    pub(crate) fn put(&mut self, slot: u32, v: Value) {
        self.set(slot, v);
    }
}

/// The flag an eager slot holding `v` has.
#[inline(always)]
pub(crate) fn flag_of(v: &Value) -> u8 {
    super::flag_of(v)
}

/// The value as a truth value, `None` if it is not one.
#[inline(always)]
pub(crate) fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// The value as a number, `None` if it is not one.
#[inline(always)]
pub(crate) fn number(v: &Value) -> Option<Decimal> {
    match v {
        Value::Num(d) => Some(*d),
        _ => None,
    }
}

/// A truth value as a reference to a value.
#[inline(always)]
pub(crate) fn truth_value(b: bool) -> &'static Value {
    if b {
        &TRUE_VALUE
    } else {
        &FALSE_VALUE
    }
}

/// Field `i` of a record; absent for anything else, as `Evaluator::compute` reads it.
#[inline(always)]
pub(crate) fn field(v: &Value, i: usize) -> Option<&Value> {
    match v {
        Value::Record(fields) => fields.get(i),
        _ => Some(&ABSENT),
    }
}

/// Column `column` of table `table` at the row of key `v`; absent for anything
/// but a key.
#[inline]
pub(crate) fn cell<'a>(
    c: &'a Compiled,
    table: usize,
    column: usize,
    v: &Value,
) -> Option<&'a Value> {
    match v {
        Value::Key(k) => c
            .program
            .tables
            .get(table)?
            .rows
            .get(*k as usize)?
            .cells
            .get(column),
        _ => Some(&ABSENT),
    }
}

/// `+`, `-`, `*`, `/`; `None` on overflow or division by zero.
#[inline(always)]
pub(crate) fn exact(op: ArithOp, x: Decimal, y: Decimal) -> Option<Decimal> {
    arith(op, x, y)
}

/// `<`, `<=`, `>`, `>=` between two numbers.
#[inline(always)]
pub(crate) fn order_numbers(op: CmpOp, x: Decimal, y: Decimal) -> bool {
    cmp_holds(op, super::steps::compare_numbers(&x, &y))
}

/// A comparison of two values as `Evaluator::compare` makes it; `None` where
/// it fails (an absent operand, but for `=`/`!=` with the literal `none`).
#[inline]
pub(crate) fn compare_values(op: CmpOp, x: &Value, y: &Value, with_none: bool) -> Option<bool> {
    let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
    if equality && (with_none || !x.is_absent() && !y.is_absent()) {
        return Some(super::steps::same_value(x, y) == (op == CmpOp::Eq));
    }
    if x.is_absent() || y.is_absent() {
        return None;
    }
    Some(cmp_holds(op, compare(x, y)))
}

/// `elem in collection` (`not in` when `negated`); `None` if the collection is
/// not one.
#[inline]
pub(crate) fn member(elem: &Value, collection: &Value, negated: bool) -> Option<bool> {
    let found = match collection {
        Value::Set(items) => items.binary_search_by(|x| compare(x, elem)).is_ok(),
        Value::List(items) => items.contains(elem),
        _ => return None,
    };
    Some(found != negated)
}

/// The elements of a list or set; `None` for anything else.
#[inline(always)]
pub(crate) fn elements(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Set(items) | Value::List(items) => Some(items),
        _ => None,
    }
}

/// `count` over table keys, answered per row at compile time
/// (`Op::TableAggregate` of node `n`).
#[inline]
pub(crate) fn table_count(c: &Compiled, n: u32, collection: &Value) -> Option<Decimal> {
    let Op::TableAggregate { matches, .. } = &c.node(n).op else {
        return None;
    };
    let keys = elements(collection)?;
    Some(Decimal::from(
        keys.iter().filter(|k| key_matches(k, matches)).count(),
    ))
}

/// `any` or `all` over table keys, as a truth value.
#[inline]
pub(crate) fn table_truth(c: &Compiled, n: u32, collection: &Value) -> Option<bool> {
    let Op::TableAggregate { kind, matches, .. } = &c.node(n).op else {
        return None;
    };
    let keys = elements(collection)?;
    match kind {
        AggKind::Any => Some(keys.iter().any(|k| key_matches(k, matches))),
        AggKind::All => Some(keys.iter().all(|k| key_matches(k, matches))),
        _ => None,
    }
}
