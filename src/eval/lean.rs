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

use super::{cmp_holds, Evaluator, FALSE_VALUE, TRUE_VALUE};
use crate::check::CmpOp;
use crate::lower::{Compiled, Op};
use crate::value::Value;
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
}

/// What an operation means on values, as the interpreter computes it, called
/// by the written code under the same names.
pub(crate) use super::{arith, compare_values, elements, flag_of, member};
use super::{keys_counted, keys_hold};

/// `any` or `all` over table keys, the rows of node `n` (an
/// `Op::TableAggregate`) answered at compile time; `None` if `collection` is
/// not a list or set.
#[inline]
pub(crate) fn table_truth(c: &Compiled, n: u32, collection: &Value) -> Option<bool> {
    match &c.node(n).op {
        Op::TableAggregate { kind, matches, .. } => {
            Some(keys_hold(*kind, matches, elements(collection)?))
        }
        _ => None,
    }
}

/// `count` over table keys, likewise.
#[inline]
pub(crate) fn table_count(c: &Compiled, n: u32, collection: &Value) -> Option<Decimal> {
    match &c.node(n).op {
        Op::TableAggregate { matches, .. } => Some(keys_counted(matches, elements(collection)?)),
        _ => None,
    }
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

/// `<`, `<=`, `>`, `>=` between two numbers.
#[inline(always)]
pub(crate) fn order_numbers(op: CmpOp, x: Decimal, y: Decimal) -> bool {
    cmp_holds(op, super::steps::compare_numbers(&x, &y))
}
