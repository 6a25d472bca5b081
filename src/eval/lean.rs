//! Results-only runs ([`Evaluator::results_only`]): the bundled plans written by
//! `lexnis codegen` a second time, as typed Rust (`codegen::lean`), computing each
//! node into a Rust `bool`, `Decimal` or reference to a value and writing only
//! the results and the bits of the rules that applied (what a compact trace
//! lists). A lean plan decides a record
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

/// A lean plan: true if it decided the record (results and the bits of the
/// rules that applied written), false if the native plan must.
pub type LeanPlan = fn(&mut Evaluator<'_>) -> bool;

pub(crate) static ABSENT: Value = Value::Absent;

/// What a lean plan reads and writes while it runs: the facts (read in place,
/// not moved into the slots), the evaluator's constants, the graph's tables,
/// and the bits of the rules that applied among those its reading reached (by
/// rule index: what a compact trace lists).
pub(crate) struct LeanParts<'a> {
    pub facts: &'a [Value],
    pub consts: &'a [Value],
    pub compiled: &'a Compiled,
    pub applied: &'a mut [u64],
    /// Where the results go, in the order of `Compiled::results`, over the
    /// last record's (written in place: see [`put_bool`], `assign`).
    pub results: &'a mut [Value],
}

impl<'c> Evaluator<'c> {
    /// The parts a lean plan runs on; `None` without facts. The flags and
    /// slots are left as they are: a lean run writes none (its results go to
    /// `lean_results`), nothing reads them after a lean run, and the native
    /// plan that runs where it gives up resets the flags (`begin_native`).
    pub(crate) fn lean_parts(&mut self) -> Option<LeanParts<'_>> {
        self.lean_applied.fill(0);
        Some(LeanParts {
            facts: &self.facts.as_ref()?.values,
            consts: &self.memo,
            compiled: self.compiled,
            applied: &mut self.lean_applied,
            results: &mut self.lean_results,
        })
    }

    /// Whether this policy's constants are the numbers a lean plan holds as
    /// literals (`codegen::lean`), checked once per evaluator. A policy of the
    /// same shape may differ in one (an amended threshold): the plan then reads
    /// them from the evaluator's constants.
    pub(crate) fn lean_numbers_are(&mut self, numbers: &[(u32, Decimal)]) -> bool {
        if let Some(known) = self.lean_numbers {
            return known;
        }
        // Compared as written (scale and sign too): a literal is the constant.
        let same = |&(s, d): &(u32, Decimal)| match self.memo.get(s as usize) {
            Some(Value::Num(v)) => v.serialize() == d.serialize(),
            _ => false,
        };
        let known = numbers.iter().all(same);
        self.lean_numbers = Some(known);
        known
    }

    /// What [`Self::lean_numbers_are`] found, if a lean run has asked.
    #[cfg(test)]
    pub(crate) fn lean_numbers_checked(&self) -> Option<bool> {
        self.lean_numbers
    }

    /// Result `k`, set-valued, of outcome `node`: the set of its rules that
    /// apply (`applying`, bit `j` for its rule `j`), as the run computed them;
    /// where none applies and the outcome has a default, that constant. Out of
    /// line: one copy for every such result of a plan.
    #[inline(never)]
    pub(crate) fn collect_result(
        &mut self,
        k: usize,
        node: u32,
        applying: u64,
        default: Option<u32>,
    ) {
        let result = &mut self.lean_results[k];
        match (applying, default) {
            (0, Some(d)) => super::assign(result, &self.memo[d as usize]),
            _ => self.sets[node as usize].put(self.compiled, node, applying, result),
        }
    }
}

/// A result that is a truth value, written over the last record's: in place
/// where that was one too (no drop of the value it replaces).
#[inline(always)]
pub(crate) fn put_bool(result: &mut Value, holds: bool) {
    match result {
        Value::Bool(b) => *b = holds,
        other => *other = Value::Bool(holds),
    }
}

/// A result that is a number, likewise.
#[inline(always)]
pub(crate) fn put_num(result: &mut Value, d: Decimal) {
    match result {
        Value::Num(n) => *n = d,
        other => *other = Value::Num(d),
    }
}

/// The rule indices whose bits are set, in increasing order: the order a
/// compact trace lists the rules in.
pub(crate) fn rules_marked(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    (bits.iter().enumerate()).flat_map(|(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                w as u32 * 64 + bit
            })
        })
    })
}

/// What an operation means on values, as the interpreter computes it, called
/// by the written code under the same names.
pub(crate) use super::{arith, assign, compare_values, elements, member};
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

/// The mask of the table keys in a list or set (bit `k` for key `k`); `None`
/// if it is not one, or holds anything but keys of a table of `rows` rows (at
/// most `64 * W`).
#[inline]
pub(crate) fn key_mask<const W: usize>(collection: &Value, rows: usize) -> Option<[u64; W]> {
    let mut mask = [0u64; W];
    for element in elements(collection)? {
        let Value::Key(k) = element else {
            return None;
        };
        if *k as usize >= rows {
            return None;
        }
        *mask.get_mut(*k as usize / 64)? |= 1 << (k % 64);
    }
    Some(mask)
}

/// Some key of the mask has a row the rows' mask keeps.
#[inline(always)]
pub(crate) fn keys_any<const W: usize>(keys: &[u64; W], rows: &[u64; W]) -> bool {
    keys.iter().zip(rows).any(|(k, r)| k & r != 0)
}

/// Every key of the mask has a row the rows' mask keeps (none for no keys).
#[inline(always)]
pub(crate) fn keys_all<const W: usize>(keys: &[u64; W], rows: &[u64; W]) -> bool {
    keys.iter().zip(rows).all(|(k, r)| k & !r == 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ks: &[u32]) -> Value {
        Value::List(ks.iter().map(|k| Value::Key(*k)).collect())
    }

    #[test]
    fn the_rules_marked_are_listed_in_increasing_order_across_words() {
        let mut bits = [0u64; 3];
        for rule in [0usize, 5, 63, 64, 100, 191] {
            bits[rule / 64] |= 1 << (rule % 64);
        }
        let listed: Vec<u32> = rules_marked(&bits).collect();
        assert_eq!(listed, [0, 5, 63, 64, 100, 191]);
        assert_eq!(rules_marked(&[0, 0]).count(), 0);
        assert_eq!(rules_marked(&[]).count(), 0);
    }

    #[test]
    fn key_masks_answer_any_and_all_as_the_rows_do() {
        // Rows 3 and 70 match, in a table of 100 rows: two words.
        let mut matches = vec![false; 100];
        matches[3] = true;
        matches[70] = true;
        let rows: [u64; 2] = [1 << 3, 1 << (70 - 64)];
        for ks in [&[][..], &[3], &[70], &[3, 70], &[3, 4], &[99], &[70, 70, 5]] {
            let list = keys(ks);
            let mask = key_mask::<2>(&list, 100).unwrap();
            let elements = elements(&list).unwrap();
            let any = keys_hold(crate::ast::AggKind::Any, &matches, elements);
            let all = keys_hold(crate::ast::AggKind::All, &matches, elements);
            assert_eq!(keys_any(&mask, &rows), any, "any of {ks:?}");
            assert_eq!(keys_all(&mask, &rows), all, "all of {ks:?}");
        }
    }

    #[test]
    fn a_key_mask_gives_up_on_what_is_not_a_key_of_its_table() {
        assert_eq!(key_mask::<1>(&keys(&[64]), 100), None);
        assert_eq!(key_mask::<1>(&keys(&[5]), 5), None);
        let not_a_key = Value::List(std::sync::Arc::new([Value::Bool(true)]));
        assert_eq!(key_mask::<1>(&not_a_key, 64), None);
        assert_eq!(key_mask::<1>(&Value::Bool(true), 64), None);
        assert_eq!(key_mask::<1>(&keys(&[0, 63]), 64), Some([1 | 1 << 63]));
    }
}
