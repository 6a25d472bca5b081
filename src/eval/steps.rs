//! What each step of the eager plan does, one method per kind of [`Step`]. The
//! interpreter ([`Evaluator::step`]) calls them through a `match`; the native plans
//! of `crate::native` (Rust written by `lexnis codegen`) call the same methods with
//! their operands as constants, so there is one definition of every step.
//!
//! The condition steps mirror `compute` operand for operand, so that a failure is
//! met exactly where a left-to-right reading would meet it. Operands are slots
//! already (the plan reads them through `Plan::alias`).

use super::plan::Step;
use super::{arith, cmp_holds, flag_of, negate, Evaluator};
use super::{FAILED, FALSE, FALSE_VALUE, TRUE, TRUE_VALUE, UNKNOWN, VALUE};
use crate::ast::AggKind;
use crate::check::{ArithOp, CmpOp};
use crate::lower::{Compiled, Op};
use crate::program::FactId;
use crate::value::{compare, Value};

/// The set a `Collect` outcome concludes when the rules in `applying` (bits by
/// the outcome's rules) apply.
fn collected_set(compiled: &Compiled, node: u32, applying: u64) -> Value {
    let Op::Outcome { rules, .. } = &compiled.node(node).op else {
        unreachable!("planned from an outcome")
    };
    let values = (rules.iter().enumerate())
        .filter(|(k, _)| applying >> k & 1 == 1)
        .filter_map(|(_, (_, v))| match &compiled.node(*v).op {
            Op::Const(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    Value::set(values)
}

/// The sets an outcome's `Collect` step has made, by the bits of the rules
/// that apply, and the bits and the address of the one it gave last. The map
/// holds that set, so while it does no other allocation can have its address:
/// a value (a slot, a lean plan's result) holding a set at that address holds
/// that set.
#[derive(Debug, Default, Clone)]
pub(crate) struct MadeSets {
    by_rules: rustc_hash::FxHashMap<u64, Value>,
    last: Option<(u64, usize)>,
}

impl MadeSets {
    /// Writes into `dest` the set of the rules of outcome `node` that apply
    /// (`applying`, bit `k` for its rule `k`), made once per combination.
    pub(super) fn put(&mut self, compiled: &Compiled, node: u32, applying: u64, dest: &mut Value) {
        // Most records meet the combination the last one met, and `dest`
        // still holds its set: nothing to look up.
        let holds_last = |(bits, at)| bits == applying && set_address(dest) == Some(at);
        if self.last.is_some_and(holds_last) {
            return;
        }
        // A policy whose outcomes meet ever new combinations of rules would
        // make the sets grow without end: they are bounded, and made again
        // when full.
        if self.by_rules.len() >= 256 && !self.by_rules.contains_key(&applying) {
            self.by_rules.clear();
            self.last = None;
        }
        let set = (self.by_rules.entry(applying))
            .or_insert_with(|| collected_set(compiled, node, applying));
        self.last = set_address(set).map(|at| (applying, at));
        super::assign(dest, set);
    }
}

/// Where a set's entries are allocated; `None` for any other value.
fn set_address(value: &Value) -> Option<usize> {
    match value {
        Value::Set(items) => Some(std::sync::Arc::as_ptr(items).cast::<Value>() as usize),
        _ => None,
    }
}

/// `a = b`, with the usual case (two enum variants, as in `classification =
/// essential`) compared in place rather than through `Value`'s equality.
#[inline(always)]
pub(super) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Enum(x), Value::Enum(y)) | (Value::Key(x), Value::Key(y)) => x == y,
        _ => a == b,
    }
}

/// Two exact decimals in order. Facts and thresholds mostly share a scale
/// (whole persons, whole euros), and then their mantissas compare as they are,
/// with none of the rescaling `Decimal::cmp` prepares for.
#[inline(always)]
pub(super) fn compare_numbers(
    x: &rust_decimal::Decimal,
    y: &rust_decimal::Decimal,
) -> std::cmp::Ordering {
    match x.scale() == y.scale() {
        true => x.mantissa().cmp(&y.mantissa()),
        false => compare_rescaled(x, y),
    }
}

/// Kept out of line: the generated plans compare numbers in a hundred places,
/// and a copy of the rescaling comparison at each would crowd the code cache.
#[inline(never)]
fn compare_rescaled(x: &rust_decimal::Decimal, y: &rust_decimal::Decimal) -> std::cmp::Ordering {
    x.cmp(y)
}

impl<'c> Evaluator<'c> {
    /// Eager mode: one step of the plan.
    pub(super) fn step(&mut self, step: &Step) {
        let plan = &self.compiled.plan;
        match *step {
            Step::General(n) => self.compute_into(n),
            Step::And(n, items) => self.and(n, plan.operands(items)),
            Step::Or(n, items) => self.or(n, plan.operands(items)),
            Step::Not(n, a) => self.not(n, a),
            Step::IsGiven(n, a, given) => self.is_given(n, a, given),
            Step::Order(n, op, a, b) => self.order(n, op, a, b),
            Step::Equal(n, a, b, negated) => self.equal(n, a, b, negated),
            Step::Fact(n, id) => self.swap_fact(n, id),
            Step::Field(n, b, i) => self.field(n, b, i),
            Step::Arith(n, op, a, b) => self.arith_step(n, op, a, b),
            Step::Local(n, depth) => self.local(n, depth),
            Step::Keys(n, kind, collection, rows) => self.keys(n, kind, collection, rows),
            Step::Rule {
                node,
                condition,
                overriders,
            } => self.rule(node, condition, plan.operands(overriders)),
            Step::Choose(n, c, a, b) => self.choose(n, c, a, b),
            Step::Pick {
                node,
                rules,
                default,
            } => self.pick(node, plan.operands(rules), default),
            Step::Collect {
                node,
                rules,
                default,
            } => self.collect(node, plan.operands(rules), default),
        }
    }

    /// A native run starts: every node but the constants is to be computed.
    pub(crate) fn begin_native(&mut self) {
        self.flags.copy_from_slice(&self.native_flags);
    }

    /// Native runs: whether node `n` was computed in this run.
    #[inline(always)]
    pub(crate) fn known(&self, n: u32) -> bool {
        self.flags[n as usize] != UNKNOWN
    }

    /// Native runs: the flag of a slot computed in this run.
    #[inline(always)]
    pub(crate) fn flag(&self, n: u32) -> u8 {
        self.flags[n as usize]
    }

    /// Eager mode: computes node `n` from its operands' slots into its own slot.
    /// Out of line: the native plans call it where the inlined steps meet an
    /// unusual operand, and each call site stays small.
    #[inline(never)]
    pub(crate) fn compute_into(&mut self, n: u32) {
        match self.compute(n) {
            Ok(v) => self.set(n, v),
            Err(_) => self.flags[n as usize] = FAILED,
        }
    }

    #[inline(always)]
    pub(crate) fn and(&mut self, n: u32, items: &[u32]) {
        self.flags[n as usize] = self.all_of(items, TRUE);
    }

    /// Native plans: an `and` or `or` whose reading stopped at an operand
    /// with flag `stop` (or read them all: the last one's flag). A truth value
    /// is the connective's; anything else (a failure, a value that is not a
    /// truth value) fails it, as `all_of` says.
    #[inline(always)]
    pub(crate) fn settle(&mut self, n: u32, stop: u8) {
        self.flags[n as usize] = match stop {
            FALSE | TRUE => stop,
            _ => FAILED,
        };
    }

    #[inline(always)]
    pub(crate) fn or(&mut self, n: u32, items: &[u32]) {
        self.flags[n as usize] = negate(self.all_of(items, FALSE));
    }

    #[inline(always)]
    pub(crate) fn not(&mut self, n: u32, a: u32) {
        self.flags[n as usize] = self.condition(a).map_or(FAILED, |b| u8::from(!b));
    }

    #[inline(always)]
    pub(crate) fn is_given(&mut self, n: u32, a: u32, given: bool) {
        self.flags[n as usize] = match self.flags[a as usize] {
            FAILED => FAILED,
            f => u8::from((f != VALUE || self.memo[a as usize] != Value::Absent) == given),
        };
    }

    /// `<`, `<=`, `>`, `>=`. Inlined for two numbers, the usual case; the rest
    /// out of line, so that a native plan's many comparisons stay small.
    #[inline(always)]
    pub(crate) fn order(&mut self, n: u32, op: CmpOp, a: u32, b: u32) {
        if let (Some(Value::Num(x)), Some(Value::Num(y))) = (self.held(a), self.held(b)) {
            self.flags[n as usize] = u8::from(cmp_holds(op, compare_numbers(x, y)));
            return;
        }
        self.order_other(n, op, a, b);
    }

    #[inline(never)]
    fn order_other(&mut self, n: u32, op: CmpOp, a: u32, b: u32) {
        let flag = match (self.flags[a as usize], self.flags[b as usize]) {
            (FAILED, _) | (_, FAILED) => FAILED,
            _ => match (self.planned(a), self.planned(b)) {
                // An absent operand: `compute` says which.
                (Value::Absent, _) | (_, Value::Absent) => return self.compute_into(n),
                (x, y) => u8::from(cmp_holds(op, compare(x, y))),
            },
        };
        self.flags[n as usize] = flag;
    }

    /// `=`, or `!=` when `negated`.
    #[inline(always)]
    pub(crate) fn equal(&mut self, n: u32, a: u32, b: u32, negated: bool) {
        self.flags[n as usize] = match (self.flags[a as usize], self.flags[b as usize]) {
            (FAILED, _) | (_, FAILED) => FAILED,
            _ => match (self.planned(a), self.planned(b)) {
                // An absent operand: `compute` decides (`= none`) or says which.
                (Value::Absent, _) | (_, Value::Absent) => return self.compute_into(n),
                (x, y) => u8::from(same_value(x, y) != negated),
            },
        };
    }

    /// A fact's value moves into its node's slot (and the slot's old value into the
    /// facts), without a copy; swapped back before an on-demand run.
    #[inline(always)]
    pub(crate) fn swap_fact(&mut self, n: u32, id: FactId) {
        let i = n as usize;
        match self.facts.as_mut() {
            Some(f) => std::mem::swap(&mut self.memo[i], &mut f.values[id.index()]),
            None => self.memo[i] = Value::Absent,
        }
        self.flags[i] = flag_of(&self.memo[i]);
    }

    /// Field `i` of the record in slot `b`.
    #[inline(always)]
    pub(crate) fn field(&mut self, n: u32, b: u32, i: u32) {
        let v = match (self.flags[b as usize], &self.memo[b as usize]) {
            (FAILED, _) => {
                self.flags[n as usize] = FAILED;
                return;
            }
            (VALUE, Value::Record(fields)) => fields[i as usize].clone(),
            _ => Value::Absent,
        };
        self.set(n, v);
    }

    /// Native plans: field `i` of an aggregate's element, read from the element
    /// rather than from its variable's slot (as [`Self::field`] would read it
    /// there).
    #[inline(always)]
    pub(crate) fn item_field(&mut self, n: u32, item: &Value, i: u32) {
        let v = match item {
            Value::Record(fields) => fields[i as usize].clone(),
            _ => Value::Absent,
        };
        self.set(n, v);
    }

    #[inline(always)]
    pub(crate) fn arith_step(&mut self, n: u32, op: ArithOp, a: u32, b: u32) {
        if let (Some(Value::Num(x)), Some(Value::Num(y))) = (self.held(a), self.held(b)) {
            if let Some(v) = arith(op, *x, *y) {
                return self.set(n, Value::Num(v));
            }
        }
        // Division by zero, overflow, an operand absent or failed: `compute`
        // says which.
        self.compute_into(n);
    }

    /// An aggregate's variable at `depth`.
    #[inline(always)]
    pub(crate) fn local(&mut self, n: u32, depth: u32) {
        let v = self.locals.get(depth as usize).cloned();
        self.set(n, v.unwrap_or(Value::Absent));
    }

    /// `any`/`all` over the table keys in slot `collection`, answered per row by
    /// `Plan::key_rows[rows]`.
    #[inline(always)]
    pub(crate) fn keys(&mut self, n: u32, kind: AggKind, collection: u32, rows: u32) {
        let matches = &self.compiled.plan.key_rows[rows as usize];
        let flag = match (
            self.flags[collection as usize],
            &self.memo[collection as usize],
        ) {
            (VALUE, Value::Set(keys) | Value::List(keys)) => {
                u8::from(super::keys_hold(kind, matches, keys))
            }
            _ => FAILED,
        };
        self.flags[n as usize] = flag;
    }

    /// The rule's condition holds and none of its overriders applies.
    #[inline(always)]
    pub(crate) fn rule(&mut self, n: u32, condition: u32, overriders: &[u32]) {
        self.flags[n as usize] = match self.condition(condition) {
            Ok(true) => self.all_of(overriders, FALSE),
            Ok(false) => FALSE,
            Err(()) => FAILED,
        };
    }

    /// `if c then a else b`.
    #[inline(always)]
    pub(crate) fn choose(&mut self, n: u32, c: u32, a: u32, b: u32) {
        match self.condition(c) {
            Ok(holds) => self.copy(n, if holds { a } else { b }),
            Err(()) => self.flags[n as usize] = FAILED,
        }
    }

    /// A single-valued outcome: `rules` are pairs (rule, value).
    #[inline(always)]
    pub(crate) fn pick(&mut self, n: u32, rules: &[u32], default: Option<u32>) {
        for pair in rules.chunks_exact(2) {
            match self.condition(pair[0]) {
                Ok(true) => return self.copy(n, pair[1]),
                Ok(false) => {}
                Err(()) => {
                    self.flags[n as usize] = FAILED;
                    return;
                }
            }
        }
        match default {
            Some(d) => self.copy(n, d),
            None => {
                self.memo[n as usize] = Value::Absent;
                self.flags[n as usize] = VALUE;
            }
        }
    }

    /// A set-valued outcome whose rules conclude constants. The sets are few (one
    /// per combination of rules that apply) and are made once.
    pub(crate) fn collect(&mut self, node: u32, rules: &[u32], default: Option<u32>) {
        let mut applying = 0u64;
        for (k, &rule) in rules.iter().enumerate() {
            match self.condition(rule) {
                Ok(holds) => applying |= u64::from(holds) << k,
                Err(()) => {
                    self.flags[node as usize] = FAILED;
                    return;
                }
            }
        }
        self.collect_applying(node, applying, default);
    }

    /// The set of the rules of `node` that apply (bit `k` for its rule `k`),
    /// into its slot: `collect` once it knows the rules' truth.
    pub(crate) fn collect_applying(&mut self, node: u32, applying: u64, default: Option<u32>) {
        if let (0, Some(d)) = (applying, default) {
            return self.copy(node, d);
        }
        let i = node as usize;
        self.sets[i].put(self.compiled, node, applying, &mut self.memo[i]);
        self.flags[i] = VALUE;
    }

    /// A condition's truth, or `Err` where `compute` would fail (the operand
    /// failed, or has no truth value).
    #[inline(always)]
    pub(super) fn condition(&self, n: u32) -> Result<bool, ()> {
        match self.flags[n as usize] {
            FALSE => Ok(false),
            TRUE => Ok(true),
            _ => Err(()),
        }
    }

    /// `TRUE` if every operand has the truth value `want`, the first one that has
    /// not otherwise (`FALSE` or `FAILED`), read left to right. With `want` false
    /// this is a negated `or`.
    #[inline(always)]
    fn all_of(&self, items: &[u32], want: u8) -> u8 {
        for &i in items {
            match self.flags[i as usize] {
                f if f == want => {}
                FALSE | TRUE => return FALSE,
                _ => return FAILED,
            }
        }
        TRUE
    }

    /// The value a slot holds, if it holds one (not a truth value, not a failure).
    #[inline(always)]
    fn held(&self, i: u32) -> Option<&Value> {
        match self.flags[i as usize] {
            VALUE => Some(&self.memo[i as usize]),
            _ => None,
        }
    }

    /// The value in a slot of the plan (an operand already read through its alias).
    #[inline(always)]
    fn planned(&self, i: u32) -> &Value {
        match self.flags[i as usize] {
            FALSE => &FALSE_VALUE,
            TRUE => &TRUE_VALUE,
            VALUE => &self.memo[i as usize],
            _ => &Value::Absent,
        }
    }

    /// Node `n` takes value `v`.
    #[inline(always)]
    pub(crate) fn set(&mut self, n: u32, v: Value) {
        let i = n as usize;
        self.flags[i] = flag_of(&v);
        if self.flags[i] == VALUE {
            self.memo[i] = v;
        }
    }

    /// Node `n` takes the value of node `from`.
    #[inline(always)]
    fn copy(&mut self, n: u32, from: u32) {
        let (i, f) = (n as usize, from as usize);
        self.flags[i] = self.flags[f];
        if self.flags[f] == VALUE {
            self.memo[i] = self.memo[f].clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn decimal() -> impl Strategy<Value = Decimal> {
        // Mantissas of every size, negative zero among them, at scales that
        // are often equal.
        (any::<i64>(), any::<bool>(), 0u32..4).prop_map(|(m, wide, scale)| {
            let m = if wide {
                i128::from(m) << 30
            } else {
                i128::from(m % 1000)
            };
            Decimal::from_i128_with_scale(m, scale)
        })
    }

    #[test]
    fn an_assigned_value_is_the_one_written_over_any_other() {
        use crate::date::Date;
        use std::sync::Arc;
        let set = Value::Set(Arc::from(vec![Value::Enum(1)]));
        // Two of each variant, the shared ones in allocations of their own.
        let values = [
            Value::Absent,
            Value::Bool(true),
            Value::Bool(false),
            Value::Num(Decimal::new(10, 1)),
            Value::Num(Decimal::new(100, 2)),
            Value::Enum(2),
            Value::Enum(3),
            Value::Key(2),
            Value::Key(5),
            Value::Date(Date::parse("2025-06-01").unwrap()),
            Value::Date(Date::parse("2026-02-28").unwrap()),
            Value::Text(Arc::from("a")),
            Value::Text(Arc::from("b")),
            set.clone(),
            Value::Set(Arc::from(vec![Value::Enum(1)])),
            Value::List(Arc::from(vec![Value::Bool(true)])),
            Value::List(Arc::from(vec![Value::Bool(false)])),
            Value::Record(Arc::from(vec![Value::Bool(true), Value::Enum(0)])),
            Value::Record(Arc::from(vec![Value::Bool(true), Value::Enum(1)])),
        ];
        for old in &values {
            for new in &values {
                let mut written = old.clone();
                super::super::assign(&mut written, new);
                // `1.0` stays `1.0` over `1.00`: compared as written.
                assert_eq!(format!("{written:?}"), format!("{new:?}"));
                // A lean plan's truth values and numbers, likewise.
                let mut written = old.clone();
                match new {
                    Value::Bool(b) => crate::eval::lean::put_bool(&mut written, *b),
                    Value::Num(d) => crate::eval::lean::put_num(&mut written, *d),
                    _ => continue,
                }
                assert_eq!(format!("{written:?}"), format!("{new:?}"));
            }
        }
        // The same shared set is kept, neither copied nor counted again.
        let mut written = set.clone();
        let Value::Set(shared) = &set else {
            unreachable!()
        };
        let count = Arc::strong_count(shared);
        super::super::assign(&mut written, &set);
        assert!(matches!(&written, Value::Set(a) if Arc::ptr_eq(a, shared)));
        assert_eq!(Arc::strong_count(shared), count);
    }

    proptest! {
        #[test]
        fn numbers_compare_as_decimals_do(x in decimal(), y in decimal()) {
            prop_assert_eq!(compare_numbers(&x, &y), x.cmp(&y));
        }
    }

    #[test]
    fn zero_and_negative_zero_are_equal() {
        let zero = Decimal::ZERO;
        let negative = -Decimal::ZERO;
        assert_eq!(compare_numbers(&zero, &negative), std::cmp::Ordering::Equal);
    }

    #[test]
    fn enum_variants_and_keys_are_equal_as_values_are() {
        let values = [
            Value::Enum(1),
            Value::Enum(2),
            Value::Key(1),
            Value::Bool(true),
            Value::Absent,
        ];
        for a in &values {
            for b in &values {
                assert_eq!(same_value(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
