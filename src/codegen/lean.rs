//! The lean plan of one compiled policy, written as typed Rust: see
//! `crate::eval::lean` for what it is for and what it may skip. Each slot of
//! the plan the results read becomes a method of a `Run` that returns the
//! slot's value as a `bool`, a `Decimal` or a reference to a value (its
//! [`Repr`]), read left to right as the on-demand evaluation reads it, and
//! remembered in a field of `Memo` when more than one place reads it (the
//! rules of a set-valued outcome, all read, are read grouped by the shape of
//! their conditions: `shapes`). Any step
//! this writer has no typed form for, and any value of an unexpected type,
//! makes the run give up (`return None`).

use crate::ast::AggKind;
use crate::eval::plan::Step;
use crate::lower::{Compiled, Op};
use crate::value::Value;
use std::cell::RefCell;
use std::fmt::Write as _;

mod shapes;

/// How the written code holds a slot's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repr {
    Bool,
    Num,
    /// `&'a Value`: facts, fields, constants, enum variants, dates, sets.
    Ref,
    /// No typed form: reading it gives up.
    Unwritten,
}

impl Repr {
    /// The one form two branches (of an `if`, of an outcome) can share.
    fn join(self, other: Repr) -> Repr {
        use Repr::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Ref, Bool) | (Bool, Ref) => Bool,
            (Ref, Num) | (Num, Ref) => Num,
            _ => Unwritten,
        }
    }

    fn rust_type(self) -> &'static str {
        match self {
            Repr::Bool => "bool",
            Repr::Num => "Decimal",
            _ => "&'a Value",
        }
    }
}

pub(super) struct Lean<'c> {
    compiled: &'c Compiled,
    alias: &'c [u32],
    /// Per slot: whether the results read it, and from how many places.
    reached: Vec<bool>,
    readers: Vec<u32>,
    reprs: RefCell<Vec<Option<Repr>>>,
    /// The numeric constants the written code holds as literals, by slot.
    literals: RefCell<std::collections::BTreeMap<u32, rust_decimal::Decimal>>,
}

impl<'c> Lean<'c> {
    pub(super) fn new(compiled: &'c Compiled) -> Self {
        let plan = &compiled.plan;
        let count = compiled.node_count();
        let mut lean = Lean {
            compiled,
            alias: &plan.alias,
            reached: vec![false; count],
            readers: vec![0; count],
            reprs: RefCell::new(vec![None; count]),
            literals: RefCell::default(),
        };
        lean.count_readers();
        lean
    }

    fn slot(&self, n: u32) -> u32 {
        self.alias[n as usize]
    }

    fn op(&self, slot: u32) -> &'c Op {
        &self.compiled.node(slot).op
    }

    fn scoped(&self, slot: u32) -> bool {
        self.compiled.node(slot).scoped
    }

    /// Marks the slots the results read, counting the places that read each.
    fn count_readers(&mut self) {
        let mut stack: Vec<u32> = (self.compiled.results.iter())
            .map(|r| self.slot(r.node))
            .collect();
        stack.iter().for_each(|s| self.readers[*s as usize] += 1);
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut self.reached[s as usize], true) {
                continue;
            }
            let mut operands = Vec::new();
            self.op(s).for_each_operand(|o| operands.push(self.slot(o)));
            // A slot read for every element of an aggregate is read many times.
            let reads = if self.scoped(s) { 2 } else { 1 };
            for o in operands {
                self.readers[o as usize] += reads;
                stack.push(o);
            }
        }
    }

    fn repr(&self, slot: u32) -> Repr {
        if let Some(r) = self.reprs.borrow()[slot as usize] {
            return r;
        }
        let r = self.repr_of_op(slot);
        self.reprs.borrow_mut()[slot as usize] = Some(r);
        r
    }

    fn repr_of_op(&self, slot: u32) -> Repr {
        let chosen = self.repr_of_branches(slot);
        // Truth values held as such, where an `if` or an outcome chooses
        // between constants.
        let branches = matches!(self.op(slot), Op::If(..) | Op::Outcome { .. });
        match (chosen, &self.compiled.node(slot).ty) {
            (Repr::Ref, crate::program::Type::Bool) if branches => Repr::Bool,
            _ => chosen,
        }
    }

    fn repr_of_branches(&self, slot: u32) -> Repr {
        let of = |n: u32| self.repr(self.slot(n));
        match self.op(slot) {
            Op::Const(_) | Op::Fact(_) | Op::Field(..) | Op::Column(..) | Op::Local(_) => Repr::Ref,
            Op::Not(_)
            | Op::And(_)
            | Op::Or(_)
            | Op::Compare(..)
            | Op::Member(..)
            | Op::IsGiven(..)
            | Op::RuleApplies { .. } => Repr::Bool,
            Op::Neg(_) | Op::Arith(..) => Repr::Num,
            Op::Define(_, body) => of(*body),
            Op::If(_, a, b) => of(*a).join(of(*b)),
            Op::Outcome {
                rules,
                default,
                collect: false,
                ..
            } => (rules.iter().map(|(_, v)| of(*v)))
                .chain([default.map_or(Repr::Ref, of)])
                .reduce(Repr::join)
                .unwrap_or(Repr::Ref),
            Op::Aggregate { kind, depth, .. } if *depth == 0 && !self.scoped(slot) => {
                aggregate_repr(*kind)
            }
            Op::TableAggregate { kind, .. } => aggregate_repr(*kind),
            _ => Repr::Unwritten,
        }
    }

    /// Writes the lean plan: `pub(super) fn lean`, its `Run` and `Memo`.
    pub(super) fn write(&self, out: &mut String) {
        // The set-valued outcomes: their rules' bits computed by `results`,
        // their sets made by the entry point, which must agree on them.
        let collected = self.collected();
        self.entry(out, &collected);
        self.memo(out);
        self.row_masks(out);
        // Arrays whose lengths the written code knows: the compiler checks
        // each constant index when it builds, not each time it runs.
        let nodes = self.compiled.node_count();
        let facts = self.compiled.program.facts.len();
        let words = self.rule_words();
        let results = self.compiled.results.len();
        let _ = write!(
            out,
            "struct Run<'a, const B: bool> {{\n    facts: &'a [Value; {facts}],\n    \
             consts: &'a [Value; {nodes}],\n    \
             applied: &'a mut [u64; {words}],\n    \
             results: &'a mut [Value; {results}],\n    \
             compiled: &'a crate::lower::Compiled,\n    m: Memo<'a>,\n}}\n\
             impl<'a, const B: bool> Run<'a, B> {{\n"
        );
        self.results(out, &collected);
        self.key_mask_fns(out);
        for s in 0..self.reached.len() as u32 {
            if self.reached[s as usize] && self.slot(s) == s && self.repr(s) != Repr::Unwritten {
                self.slot_fn(s, out);
            }
        }
        out.push_str("}\n");
        self.numbers(out);
    }

    /// The numeric constants written as literals (`NUM_` slot), and the table
    /// `NUMBERS` of them by slot: a plan whose shape another policy shares
    /// (one that changes a threshold) runs with `B` false there, reading its
    /// own constants (`Evaluator::lean_numbers_are`).
    fn numbers(&self, out: &mut String) {
        let literals = self.literals.borrow();
        for (s, d) in literals.iter() {
            let d = d.unpack();
            let (lo, mid, hi, negative, scale) = (d.lo, d.mid, d.hi, d.negative, d.scale);
            let _ = writeln!(
                out,
                "const NUM_{s}: Decimal = Decimal::from_parts({lo}, {mid}, {hi}, {negative}, {scale});"
            );
        }
        let table: Vec<String> = literals.keys().map(|s| format!("({s}, NUM_{s})")).collect();
        let _ = writeln!(
            out,
            "const NUMBERS: &[(u32, Decimal)] = &[{}];",
            table.join(", ")
        );
    }

    /// Each result's index (in the order of `Compiled::results`) and slot.
    fn result_slots(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (self.compiled.results.iter().enumerate()).map(|(k, r)| (k, self.slot(r.node)))
    }

    /// The set-valued outcomes the results read, in order, with their `Collect`
    /// steps' rules and defaults.
    fn collected(&self) -> Vec<Collected<'c>> {
        let mut collected: Vec<Collected<'c>> = Vec::new();
        for r in &self.compiled.results {
            let s = self.slot(r.node);
            let Some(Step::Collect { rules, default, .. }) = self.collect_step(s) else {
                continue;
            };
            if collecting(&collected, s).is_none() {
                let rules = self.compiled.plan.operands(*rules);
                collected.push((s, rules, *default));
            }
        }
        collected
    }

    /// The `Collect` step of a set-valued outcome in slot `s`, if the plan has one
    /// and its default (if any) is a constant: a default the run would have to
    /// compute makes the outcome one the written code gives up on.
    fn collect_step(&self, s: u32) -> Option<&'c Step> {
        let Op::Outcome {
            collect: true,
            default,
            ..
        } = self.op(s)
        else {
            return None;
        };
        let computed = |d: &u32| !matches!(self.op(self.slot(*d)), Op::Const(_));
        if default.as_ref().is_some_and(computed) {
            return None;
        }
        (self.compiled.plan.steps.iter())
            .find(|step| matches!(step, Step::Collect { node, .. } if *node == s))
    }

    fn entry(&self, out: &mut String, collected: &[Collected<'c>]) {
        let applying: Vec<String> = collected.iter().map(|(s, ..)| format!("a{s}")).collect();
        // The arrays' lengths are those of the evaluator's facts (checked when
        // a run starts), of its slots (the plan's nodes, which the plan's
        // fingerprint fixes), of its rules and of its results: `try_into`
        // fails on no run of this plan.
        let _ = write!(
            out,
            "pub(super) fn lean(ev: &mut Evaluator<'_>) -> bool {{\n    \
             match ev.lean_numbers_are(NUMBERS) {{\n        \
             true => lean_as::<true>(ev),\n        false => lean_as::<false>(ev),\n    }}\n}}\n\
             fn lean_as<const B: bool>(ev: &mut Evaluator<'_>) -> bool {{\n    \
             let [{}] = {{\n        let Some(p) = ev.lean_parts() else {{ return false; }};\n        \
             let (Ok(facts), Ok(consts), Ok(applied), Ok(results)) = \
             (p.facts.try_into(), p.consts.try_into(), p.applied.try_into(), p.results.try_into()) \
             else {{ return false; }};\n        \
             let mut run = Run::<B> {{ facts, consts, applied, results, compiled: p.compiled, m: Memo::default() }};\n        \
             match run.results() {{ Some(a) => a, None => return false }}\n    }};\n",
            applying.join(", ")
        );
        for (k, s) in self.result_slots() {
            if let Some((_, _, default)) = collecting(collected, s) {
                let _ = writeln!(out, "    ev.collect_result({k}, {s}, a{s}, {default:?});");
            }
        }
        out.push_str("    true\n}\n");
    }

    /// The slots remembered within a run: those read from more than one place
    /// (not constants and facts, which are read in place).
    fn remembered(&self, s: u32) -> bool {
        self.readers[s as usize] > 1
            && !self.scoped(s)
            && !matches!(self.op(s), Op::Const(_) | Op::Fact(_))
    }

    fn memo(&self, out: &mut String) {
        out.push_str(
            "#[derive(Default)]\nstruct Memo<'a> {\n    _a: std::marker::PhantomData<&'a Value>,\n",
        );
        for s in 0..self.reached.len() as u32 {
            let written = self.reached[s as usize] && self.slot(s) == s;
            if written && self.remembered(s) && self.repr(s) != Repr::Unwritten {
                let _ = writeln!(out, "    s{s}: Option<{}>,", self.repr(s).rust_type());
            }
        }
        for (c, rows) in self.masked_collections() {
            let _ = writeln!(out, "    k{c}: Option<[u64; {}]>,", mask_words(rows));
        }
        out.push_str("}\n");
    }

    /// `results`: the bits of the set-valued outcomes' rules that apply, then
    /// every other result written in order over the last record's.
    fn results(&self, out: &mut String, collected: &[Collected<'c>]) {
        let _ = writeln!(
            out,
            "fn results(&mut self) -> Option<[u64; {}]> {{",
            collected.len()
        );
        // The bits of the rules read here gather in a local and are written
        // once: each `|=` on `self.applied`, through the run's reference, was a
        // store the next one had to wait for. A `None` on the way loses them
        // harmlessly: the plan then gives the record up, and no one reads the
        // bits of a run given up.
        if !collected.is_empty() {
            let _ = writeln!(out, "    let mut applied = [0u64; {}];", self.rule_words());
        }
        // Set-valued outcomes: which of their rules apply (the `Collect`
        // step's rules are its outcome's, aliased).
        for (s, rules, _) in collected {
            let _ = writeln!(out, "    let mut a{s} = 0u64;");
            self.collected_bits(*s, rules, out);
        }
        if !collected.is_empty() {
            out.push_str(
                "    for (word, bits) in self.applied.iter_mut().zip(applied) { *word |= bits; }\n",
            );
        }
        // `v` first: `self.s{n}()` borrows all of `self`, and cannot be
        // called while `self.results[k]` is borrowed.
        for (k, s) in self.result_slots() {
            if collecting(collected, s).is_some() {
                continue;
            }
            let (value, put) = match self.repr(s) {
                Repr::Bool => (self.get(s, Repr::Bool), "put_bool"),
                Repr::Num => (self.get(s, Repr::Num), "put_num"),
                _ => (self.get(s, Repr::Ref), "assign"),
            };
            let _ = writeln!(
                out,
                "    {{ let v = {value}; {put}(&mut self.results[{k}], v); }}"
            );
        }
        let applying: Vec<String> = collected.iter().map(|(s, ..)| format!("a{s}")).collect();
        let _ = writeln!(out, "    Some([{}])\n}}", applying.join(", "));
    }

    fn slot_fn(&self, s: u32, out: &mut String) {
        let repr = self.repr(s);
        let remembered = self.remembered(s);
        let item = if self.scoped(s) {
            ", item: &'a Value"
        } else {
            ""
        };
        let ty = repr.rust_type();
        // A remembered slot is read from many places: each reads the memo in
        // place, and only the first calls the computation, kept out of line.
        let name = if remembered {
            let _ = write!(
                out,
                "#[inline(always)]\nfn s{s}(&mut self) -> Option<{ty}> {{\n    \
                 match self.m.s{s} {{ Some(v) => Some(v), None => self.s{s}_first() }}\n}}\n\
                 #[inline(never)]\n"
            );
            format!("s{s}_first")
        } else {
            let once = self.readers[s as usize] == 1;
            let _ = writeln!(out, "#[inline{}]", if once { "(always)" } else { "" });
            format!("s{s}")
        };
        let _ = writeln!(out, "fn {name}(&mut self{item}) -> Option<{ty}> {{");
        let _ = writeln!(out, "    let v = {};", self.expr(s));
        if remembered {
            let _ = writeln!(out, "    self.m.s{s} = Some(v);");
        }
        out.push_str("    Some(v)\n}\n");
    }

    /// Node `n`'s value held as `want`: a call of its slot's method, converted.
    fn get(&self, n: u32, want: Repr) -> String {
        let s = self.slot(n);
        let have = self.repr(s);
        if have == Repr::Unwritten {
            return "(return None)".into();
        }
        let call = match self.scoped(s) {
            true => format!("self.s{s}(item)?"),
            false => format!("self.s{s}()?"),
        };
        let read = match (have, want) {
            (a, b) if a == b => call,
            (Repr::Ref, Repr::Bool) => format!("truth({call})?"),
            (Repr::Ref, Repr::Num) => format!("number({call})?"),
            (Repr::Bool, Repr::Ref) => format!("truth_value({call})"),
            _ => return "(return None)".into(),
        };
        match (self.op(s), want) {
            (Op::Const(Value::Num(d)), Repr::Num) => {
                self.literals.borrow_mut().insert(s, *d);
                format!("(if B {{ NUM_{s} }} else {{ {read} }})")
            }
            _ => read,
        }
    }

    /// The Rust expression of slot `s`'s value, as `self.repr(s)`.
    fn expr(&self, s: u32) -> String {
        let want = self.repr(s);
        let get = |n: u32, r: Repr| self.get(n, r);
        let joined = |items: &[u32], r: Repr, sep: &str| -> String {
            let parts: Vec<String> = items.iter().map(|i| get(*i, r)).collect();
            format!("({})", parts.join(sep))
        };
        match self.op(s) {
            Op::Const(_) => format!("&self.consts[{s}]"),
            Op::Fact(id) => format!("&self.facts[{}]", id.index()),
            Op::Field(b, i) => format!("field({}, {i})?", get(*b, Repr::Ref)),
            Op::Column(b, t, c) => format!(
                "cell(self.compiled, {}, {c}, {})?",
                t.index(),
                get(*b, Repr::Ref)
            ),
            Op::Local(0) if self.scoped(s) => "item".into(),
            Op::Not(a) => format!("!{}", get(*a, Repr::Bool)),
            Op::Neg(a) => format!("-{}", get(*a, Repr::Num)),
            Op::And(items) if items.is_empty() => "true".into(),
            Op::Or(items) if items.is_empty() => "false".into(),
            Op::And(items) => joined(items, Repr::Bool, " && "),
            Op::Or(items) => joined(items, Repr::Bool, " || "),
            Op::Compare(op, a, b) => self.compare(*op, *a, *b),
            Op::Arith(op, a, b) => format!(
                "arith(ArithOp::{op:?}, {}, {})?",
                get(*a, Repr::Num),
                get(*b, Repr::Num)
            ),
            Op::Member(a, b, negated) => format!(
                "member({}, {}, {negated})?",
                get(*a, Repr::Ref),
                get(*b, Repr::Ref)
            ),
            Op::IsGiven(a, given) => match self.repr(self.slot(*a)) {
                Repr::Ref => format!("(!{}.is_absent() == {given})", get(*a, Repr::Ref)),
                r => format!("{{ let _ = {}; {given} }}", get(*a, r)),
            },
            Op::If(c, a, b) => format!(
                "if {} {{ {} }} else {{ {} }}",
                get(*c, Repr::Bool),
                get(*a, want),
                get(*b, want)
            ),
            Op::Define(_, body) => get(*body, want),
            Op::RuleApplies {
                condition,
                overriders,
                ..
            } => self.rule_applies(*condition, overriders),
            Op::Outcome { rules, default, .. } => self.outcome(rules, *default, want),
            Op::Aggregate { .. } => self.aggregate(s),
            Op::TableAggregate { collection, .. } => self.table_aggregate(s, *collection, want),
            _ => "(return None)".into(),
        }
    }

    /// A rule's condition, then its overriders while none applies (each
    /// marked as a rule where it is read).
    fn rule_applies(&self, condition: u32, overriders: &[u32]) -> String {
        let condition = self.get(condition, Repr::Bool);
        if overriders.is_empty() {
            return condition;
        }
        let overriding: Vec<String> = (overriders.iter())
            .map(|o| self.reaching(*o, self.get(*o, Repr::Bool)))
            .collect();
        format!("({condition} && !({}))", overriding.join(" || "))
    }

    /// `any`, `all` or `count` over table keys: by the collection's key mask
    /// where it is made once (see [`Self::masked`]), else from the rows.
    fn table_aggregate(&self, s: u32, collection: u32, want: Repr) -> String {
        if let Some(test) = self.mask_test(s, &format!("&ROWS_{s}")) {
            return test;
        }
        let answer = match want {
            Repr::Num => "table_count",
            _ => "table_truth",
        };
        let keys = self.get(collection, Repr::Ref);
        format!("{answer}(self.compiled, {s}, {keys})?")
    }

    /// The test of aggregate `s`, answered by masks (see [`Self::masked`]),
    /// against the mask of rows written `rows`; `None` if it is not one.
    fn mask_test(&self, s: u32, rows: &str) -> Option<String> {
        let (c, _) = self.masked(s)?;
        let Op::TableAggregate { kind, .. } = self.op(s) else {
            return None;
        };
        let answer = if *kind == AggKind::All { "all" } else { "any" };
        Some(format!("keys_{answer}(&self.k{c}()?, {rows})"))
    }

    /// For an `any` or `all` over the table keys of a collection read once per
    /// record: the collection's slot and the number of rows of its table. Such
    /// an aggregate is answered by the collection's key mask (made once) against
    /// the mask of the rows that match.
    fn masked(&self, s: u32) -> Option<(u32, usize)> {
        let Op::TableAggregate {
            kind,
            collection,
            matches,
        } = self.op(s)
        else {
            return None;
        };
        let c = self.slot(*collection);
        let truth = matches!(kind, AggKind::Any | AggKind::All);
        (truth && !self.scoped(c) && self.repr(c) == Repr::Ref).then_some((c, matches.len()))
    }

    /// The aggregates answered by masks.
    fn masked_slots(&self) -> impl Iterator<Item = (u32, (u32, usize))> + '_ {
        (0..self.reached.len() as u32)
            .filter(|s| self.reached[*s as usize] && self.slot(*s) == *s)
            .filter_map(|s| Some((s, self.masked(s)?)))
    }

    /// The collections whose key masks are made, with their tables' rows.
    fn masked_collections(&self) -> Vec<(u32, usize)> {
        let mut collections: Vec<(u32, usize)> = self.masked_slots().map(|(_, m)| m).collect();
        collections.sort_unstable();
        collections.dedup();
        collections
    }

    /// The mask of the rows each masked aggregate keeps.
    fn row_masks(&self, out: &mut String) {
        for (s, (_, rows)) in self.masked_slots() {
            let Op::TableAggregate { matches, .. } = self.op(s) else {
                unreachable!("masked_slots yields table aggregates")
            };
            let mut mask = vec![0u64; mask_words(rows)];
            for (row, _) in matches.iter().enumerate().filter(|(_, m)| **m) {
                mask[row / 64] |= 1 << (row % 64);
            }
            let words: Vec<String> = mask.iter().map(|w| format!("{w:#x}")).collect();
            let _ = writeln!(
                out,
                "const ROWS_{s}: [u64; {}] = [{}];",
                mask.len(),
                words.join(", ")
            );
        }
    }

    /// `k{c}`: the key mask of collection `c`, made on first reading.
    fn key_mask_fns(&self, out: &mut String) {
        for (c, rows) in self.masked_collections() {
            let words = mask_words(rows);
            let _ = write!(
                out,
                "#[inline(always)]\nfn k{c}(&mut self) -> Option<[u64; {words}]> {{\n    \
                 if let Some(m) = self.m.k{c} {{ return Some(m); }}\n    \
                 let m = key_mask::<{words}>({}, {rows})?;\n    \
                 self.m.k{c} = Some(m);\n    Some(m)\n}}\n",
                self.get(c, Repr::Ref)
            );
        }
    }

    /// A comparison: of numbers where either side is one, of values otherwise.
    fn compare(&self, op: crate::check::CmpOp, a: u32, b: u32) -> String {
        use crate::check::CmpOp;
        let (ra, rb) = (self.repr(self.slot(a)), self.repr(self.slot(b)));
        let none = |n: u32| matches!(self.op(self.slot(n)), Op::Const(Value::Absent));
        let with_none = none(a) || none(b);
        // Numbers compare as numbers; an absent one (which `number` gives up
        // on) fails any comparison but one with `none`.
        let numeric = |n: u32, r: Repr| {
            r == Repr::Num || self.compiled.node(self.slot(n)).ty.required().is_numeric()
        };
        let (ra, rb) = match numeric(a, ra) || numeric(b, rb) {
            true => (Repr::Num, Repr::Num),
            false => (ra, rb),
        };
        let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
        let symbol = if op == CmpOp::Eq { "==" } else { "!=" };
        match (ra, rb) {
            _ if with_none && (ra == Repr::Num || rb == Repr::Num) => "(return None)".into(),
            (Repr::Num, _) | (_, Repr::Num) if equality => format!(
                "({} {symbol} {})",
                self.get(a, Repr::Num),
                self.get(b, Repr::Num)
            ),
            (Repr::Num, _) | (_, Repr::Num) => format!(
                "order_numbers(CmpOp::{op:?}, {}, {})",
                self.get(a, Repr::Num),
                self.get(b, Repr::Num)
            ),
            (Repr::Bool, Repr::Bool) if equality => format!(
                "({} {symbol} {})",
                self.get(a, Repr::Bool),
                self.get(b, Repr::Bool)
            ),
            _ => format!(
                "compare_values(CmpOp::{op:?}, {}, {}, {with_none})?",
                self.get(a, Repr::Ref),
                self.get(b, Repr::Ref)
            ),
        }
    }

    /// A single-valued outcome: the value of the first rule that applies.
    fn outcome(&self, rules: &[(u32, u32)], default: Option<u32>, want: Repr) -> String {
        let mut code = String::from("'outcome: {\n");
        for (rule, value) in rules {
            let _ = writeln!(
                code,
                "        if {} {{ break 'outcome {}; }}",
                self.reaching(*rule, self.get(*rule, Repr::Bool)),
                self.get(*value, want)
            );
        }
        let otherwise = match (default, want) {
            (Some(d), _) => self.get(d, want),
            (None, Repr::Ref) => "&ABSENT".into(),
            (None, _) => "(return None)".into(),
        };
        let _ = write!(code, "        {otherwise}\n    }}");
        code
    }

    /// How many 64-bit words hold one bit per rule.
    fn rule_words(&self) -> usize {
        self.compiled.rule_nodes.len().div_ceil(64)
    }

    /// `holds`, the truth of node `node` as its reader reads it, and if that
    /// node is a rule, the rule's bit set if it holds: read here, the rule is
    /// one the reading reached, and a compact trace lists those that applied.
    /// The word and the bit are constants, so the index is checked when the
    /// written code builds.
    fn reaching(&self, node: u32, holds: String) -> String {
        self.reaching_into(node, holds, "self.applied")
    }

    /// As [`Self::reaching`], with the rule's bit set in the array of words
    /// named `applied` in the written code (the run's, or a local one).
    fn reaching_into(&self, node: u32, holds: String, applied: &str) -> String {
        match &self.compiled.node(node).op {
            Op::RuleApplies { rule, .. } => {
                let (word, bit) = (rule.0 / 64, rule.0 % 64);
                format!("{{ let holds = {holds}; {applied}[{word}] |= u64::from(holds) << {bit}; holds }}")
            }
            _ => holds,
        }
    }

    /// An aggregate over a list or set: its filter, then its body, per element.
    fn aggregate(&self, s: u32) -> String {
        let Op::Aggregate {
            kind,
            collection,
            body,
            filter,
            ..
        } = self.op(s)
        else {
            unreachable!("called on aggregates")
        };
        let mut code = format!(
            "{{\n        let items = elements({})?;\n        let mut kept = 0usize;\n        \
             let mut total: Option<Decimal> = None;\n        for item in items.iter() {{\n",
            self.get(*collection, Repr::Ref)
        );
        if let Some(f) = filter {
            let _ = writeln!(
                code,
                "            if !{} {{ continue; }}",
                self.get(*f, Repr::Bool)
            );
        }
        code.push_str("            kept += 1;\n");
        match (kind, body) {
            (AggKind::Any, _) => code.push_str("            break;\n"),
            (AggKind::Sum, Some(b)) => {
                let _ = writeln!(
                    code,
                    "            let v = {};\n            \
                     total = Some(match total {{ None => v, Some(t) => arith(ArithOp::Add, t, v)? }});",
                    self.get(*b, Repr::Num)
                );
            }
            _ => {}
        }
        let answer = match kind {
            AggKind::Any => "kept > 0",
            AggKind::All => "kept == items.len()",
            AggKind::Count => "Decimal::from(kept)",
            _ => "total.unwrap_or(Decimal::ZERO)",
        };
        let _ = write!(code, "        }}\n        {answer}\n    }}");
        code
    }
}

/// A set-valued outcome's slot, its `Collect` step's rules and its default.
type Collected<'c> = (u32, &'c [u32], Option<u32>);

/// The set-valued outcome of slot `s` among `collected`, if it is one.
fn collecting<'a, 'c>(collected: &'a [Collected<'c>], s: u32) -> Option<&'a Collected<'c>> {
    collected.iter().find(|(t, ..)| *t == s)
}

/// The 64-bit words of a mask of a table's rows (one at least).
fn mask_words(rows: usize) -> usize {
    rows.div_ceil(64).max(1)
}

fn aggregate_repr(kind: AggKind) -> Repr {
    match kind {
        AggKind::Any | AggKind::All => Repr::Bool,
        AggKind::Sum | AggKind::Count => Repr::Num,
        AggKind::Largest | AggKind::Smallest => Repr::Unwritten,
    }
}
