//! Stage 5: facts through the DAG. Entry point: [`Evaluator::run`].
//!
//! Two ways through the same graph, with one definition of what each node computes
//! (`Evaluator::compute`; the eager pass's steps are shortcuts for the common
//! cases, and hand anything unusual to it):
//!
//! - **eager** (what `run` does first): every node the results need, once, in the
//!   graph's topological order, with no recursion. A node that cannot be computed
//!   (an absent optional fact under `>`, a division by zero) is marked failed instead
//!   of stopping the run, and its readers see the failure only if they would have
//!   read it: `false and <failed>` is `false`, as in the law's reading of a
//!   condition left to right.
//!   For the bundled rules the pass is a **native plan** (`crate::native`, Rust
//!   written by `lexnis codegen`): the same steps (`steps`, `aggregate`), each
//!   node computed only when a left-to-right reading reads it.
//! - **lean** (an evaluator made [`Evaluator::results_only`]): for the bundled
//!   rules, the same reading written as typed Rust that computes the results and
//!   the bits of the rules that applied (what a compact trace lists) and nothing
//!   else (`eval::lean`); it hands
//!   any record it cannot decide without a failure to the eager pass.
//! - **on demand** (the fallback): nodes computed recursively as they are needed and
//!   remembered. `run` uses it only when a result failed in the eager pass, to report
//!   the exact error the drafter must see; constant folding uses it at compile time.
//!
//! Which nodes the on-demand evaluation would have read (the trace shows only those)
//! is recovered from the eager values when it is asked for: see [`Evaluator::memo`].

use crate::ast::{AggKind, Builtin};
use crate::check::{ArithOp, CmpOp};
use crate::date::Date;
use crate::facts::Facts;
use crate::lower::{Compiled, Op};
use crate::program::Symbol;
use crate::source::Span;
use crate::value::{compare, Value};
use rust_decimal::Decimal;
use std::cell::{Cell, RefCell};

mod aggregate;
mod cross_check;
pub(crate) mod lean;
pub mod plan;
pub(crate) use aggregate::Accumulator;
pub use cross_check::cross_check;
mod reach;
mod steps;

use plan::Step;

/// What an eager slot holds, one byte per node: the booleans themselves, so that
/// conditions are computed without moving values.
pub(crate) const FALSE: u8 = 0;
pub(crate) const TRUE: u8 = 1;
/// A value of another type, in the memo table.
const VALUE: u8 = 2;
/// No value: the node failed.
const FAILED: u8 = 3;
/// Native plans only: not computed in this run (yet).
const UNKNOWN: u8 = 4;

static FALSE_VALUE: Value = Value::Bool(false);
static TRUE_VALUE: Value = Value::Bool(true);

/// A value the rules needed but could not compute from these facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvalError {
    pub message: String,
    /// The rule, definition or outcome being computed, by name.
    pub within: Option<String>,
    /// Where the expression that failed is written: `file:line:column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

impl std::error::Error for EvalError {}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.within, &self.at) {
            (Some(w), Some(at)) => write!(f, "{} (in {w}, {at})", self.message),
            (Some(w), None) => write!(f, "{} (in {w})", self.message),
            (None, Some(at)) => write!(f, "{} ({at})", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why a node has no value. Cheap to make (no text), because the eager pass makes
/// one for every node it cannot compute, read or not; it becomes an
/// [`EvalError`], with its words, only when it reaches a result.
#[derive(Debug)]
pub(crate) struct Fail<'c> {
    kind: FailKind,
    /// The innermost rule, definition or outcome being computed.
    within: Option<&'c str>,
}

#[derive(Debug)]
enum FailKind {
    /// Node `.0` has no value of the kind its reader needs (an absent optional fact).
    Absent(u32),
    /// Node `.0` failed for the reason given.
    Message(u32, Box<str>),
    /// Node `.0` divides by zero.
    DivisionByZero(u32),
    /// Node `.0`'s result has more digits than an exact decimal holds.
    TooLarge(u32),
    /// An operand already marked failed by the eager pass.
    Operand,
}

impl Fail<'_> {
    fn absent(n: u32) -> Self {
        Fail {
            kind: FailKind::Absent(n),
            within: None,
        }
    }

    fn message(n: u32, text: impl Into<Box<str>>) -> Self {
        Fail {
            kind: FailKind::Message(n, text.into()),
            within: None,
        }
    }
}

pub(crate) type Eval<'c> = Result<Value, Fail<'c>>;

/// Reusable evaluation state for one compiled policy; one per thread.
pub struct Evaluator<'c> {
    pub compiled: &'c Compiled,
    /// One slot per node. In the eager mode a node's value is in `flags` if it is a
    /// boolean, here if `flags` says `VALUE`, and a node that shares another's slot
    /// (`Plan::alias`) is read there; in the on-demand mode a slot holds this run's
    /// value only if its stamp is the current run's.
    memo: Vec<Value>,
    /// Eager mode: what each slot holds (`FALSE`, `TRUE`, `VALUE`, `FAILED`).
    flags: Vec<u8>,
    stamps: Vec<u32>,
    run_stamp: u32,
    eager: bool,
    /// After an eager run: the nodes the on-demand evaluation would have computed,
    /// worked out the first time a trace asks (when `reached_known` is false).
    reached: RefCell<Vec<bool>>,
    reached_known: Cell<bool>,
    locals: Vec<Value>,
    /// By outcome node, the sets its `Collect` step or a lean plan has made
    /// (at most 256 each: see `MadeSets::put`).
    sets: Vec<steps::MadeSets>,
    facts: Option<Facts>,
    as_of: Date,
    /// The plan compiled to Rust, if the bundled rules had this one: run in place
    /// of the interpreter's loop over the steps.
    native: Option<crate::native::NativePlan>,
    /// The same plan as typed Rust (`eval::lean`), if it has a native plan.
    lean: Option<crate::native::LeanPlan>,
    /// Whether runs use `lean` ([`Self::results_only`]).
    results_only: bool,
    /// Whether the last run was decided by the lean plan: no slot then holds
    /// a value of this run; its results are in `lean_results`.
    lean_ran: bool,
    /// Whether the last run decided every result ([`Self::decided`]).
    decided: bool,
    /// The flags a native run starts from: the constants', and `UNKNOWN` for the
    /// nodes it computes on demand.
    native_flags: Vec<u8>,
    /// After a lean run, the rules that applied among those its reading reached,
    /// one bit per rule index (what a compact trace lists).
    lean_applied: Vec<u64>,
    /// After a lean run, its results (in the order of `Compiled::results`),
    /// written in place over the last record's: a result that is the same
    /// value as before (most are) costs no copy, count or drop.
    lean_results: Vec<Value>,
    /// Whether the lean plan's numeric literals are this policy's constants,
    /// once its first run has checked ([`Self::lean_numbers_are`]).
    lean_numbers: Option<bool>,
}

impl<'c> Evaluator<'c> {
    pub fn new(compiled: &'c Compiled) -> Evaluator<'c> {
        let memo: Vec<Value> = (0..compiled.node_count() as u32)
            .map(|n| match &compiled.node(n).op {
                // Each evaluator its own copy: a constant copied into a slot for
                // every record would otherwise have its count changed by every
                // thread at once.
                Op::Const(v) => v.unshared(),
                _ => Value::Absent,
            })
            .collect();
        let flags: Vec<u8> = memo.iter().map(flag_of).collect();
        let native = crate::native::find(compiled.plan.fingerprint, compiled.plan.steps.len());
        let native_flags = (0..compiled.node_count() as u32)
            .map(|n| match &compiled.node(n).op {
                Op::Const(_) => flags[n as usize],
                _ => UNKNOWN,
            })
            .collect();
        Evaluator {
            compiled,
            memo,
            flags,
            stamps: vec![0; compiled.node_count()],
            run_stamp: 1,
            eager: false,
            reached: RefCell::new(Vec::new()),
            reached_known: Cell::new(false),
            locals: Vec::new(),
            sets: vec![Default::default(); compiled.node_count()],
            facts: None,
            native: native.map(|(run, _)| run),
            lean: native.map(|(_, lean)| lean),
            results_only: false,
            lean_ran: false,
            decided: false,
            native_flags,
            lean_applied: vec![0; compiled.rule_nodes.len().div_ceil(64)],
            lean_results: vec![Value::Absent; compiled.results.len()],
            lean_numbers: None,
            as_of: compiled.program.as_of.unwrap_or(Date {
                year: 1970,
                month: 1,
                day: 1,
            }),
        }
    }

    /// Computes every result (outcomes, then reported definitions) for these facts.
    ///
    /// Fails where a left-to-right reading of the rules meets a value it cannot
    /// compute (an absent optional fact under a comparison, a division by zero,
    /// an overflow), and for facts not read for this policy (another number of
    /// values than it declares facts): the error says which and where.
    pub fn run(&mut self, facts: Facts) -> Result<Vec<Value>, EvalError> {
        let mut values = Vec::with_capacity(self.compiled.results.len());
        self.run_into(facts, &mut values)?;
        Ok(values)
    }

    /// As [`Self::run`], into `values` (whatever it held is replaced), so that a
    /// caller that evaluates many entities reuses one vector.
    pub fn run_into(&mut self, facts: Facts, values: &mut Vec<Value>) -> Result<(), EvalError> {
        self.run_in_place(facts)?;
        // A vector that held the last record's results keeps those that are the
        // same (most records conclude the same few sets, texts and variants),
        // without copying them or counting their references again.
        let count = self.compiled.results.len();
        values.truncate(count);
        let mut results = (0..count).map(|i| self.result(i));
        for (old, v) in values.iter_mut().zip(&mut results) {
            assign(old, v);
        }
        values.extend(results.cloned());
        Ok(())
    }

    /// As [`Self::run`], leaving the results where the evaluation put them, to
    /// be read with [`Self::result`] until the next run: for a caller that only
    /// reads them (writes them out), no copy.
    pub fn run_in_place(&mut self, facts: Facts) -> Result<(), EvalError> {
        self.start_run(&facts)?;
        self.run_eager(facts);
        let decided = self.eager_outcome();
        self.decided = decided.is_ok();
        decided
    }

    /// Whether the eager pass decided every result; if not, the error the
    /// on-demand evaluation finds.
    fn eager_outcome(&mut self) -> Result<(), EvalError> {
        // A lean plan decides a record only where nothing failed.
        if self.lean_ran {
            return Ok(());
        }
        let compiled = self.compiled;
        let failed = (compiled.results.iter())
            .any(|r| self.flags[compiled.plan.alias[r.node as usize] as usize] == FAILED);
        match failed {
            true => self.run_failed(),
            false => Ok(()),
        }
    }

    /// Result `i` of the last run (in the order of `Compiled::results`;
    /// [`Compiled::result_index`] finds it by key); absent before the first
    /// run and after a run that failed, whatever a run before had decided.
    ///
    /// # Panics
    ///
    /// If `i` is not below `compiled.results.len()`, as a slice's index does.
    #[inline]
    pub fn result(&self, i: usize) -> &Value {
        match (self.decided, self.lean_ran) {
            (false, _) => &Value::Absent,
            (true, true) => &self.lean_results[i],
            (true, false) => self.slot(self.compiled.results[i].node),
        }
    }

    /// Whether the last run decided every result: false before the first
    /// run, and after a run that failed or was refused.
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// A result failed in the eager pass: the on-demand evaluation computes the
    /// results again, to report the exact error a drafter must see (or values,
    /// where the eager pass failed on a node no reading reaches).
    #[cold]
    fn run_failed(&mut self) -> Result<(), EvalError> {
        // The facts go back where the eager pass moved them from.
        for step in &self.compiled.plan.steps {
            if let Step::Fact(n, id) = *step {
                self.swap_fact(n, id);
            }
        }
        self.run_on_demand().map(drop)
    }

    /// The same results by the on-demand evaluation alone (for tests and for
    /// measuring the eager pass against it).
    pub fn run_lazily(&mut self, facts: Facts) -> Result<Vec<Value>, EvalError> {
        self.start_run(&facts)?;
        self.facts = Some(facts);
        let values = self.run_on_demand();
        self.decided = values.is_ok();
        values
    }

    /// A run starts: the last run's lean results are forgotten, and facts made
    /// for another policy (by hand, through the library's public fields) are
    /// refused, not read out of place.
    fn start_run(&mut self, facts: &Facts) -> Result<(), EvalError> {
        self.lean_ran = false;
        self.decided = false;
        // A refused run must not leave the last record's facts (and id) to be
        // read as this one's: an error record would carry the wrong id.
        self.facts = None;
        let declared = self.compiled.program.facts.len();
        if facts.values.len() == declared {
            return Ok(());
        }
        Err(EvalError {
            message: format!(
                "the facts hold {} values where the policy declares {declared} facts: \
                 read them with `load_facts` or `load_facts_from_str` for this policy",
                facts.values.len()
            ),
            within: None,
            at: None,
            span: Span::default(),
        })
    }

    fn run_eager(&mut self, facts: Facts) {
        self.facts = Some(facts);
        self.locals.clear();
        self.eager = true;
        self.reached_known.set(false);
        self.lean_ran = match (self.results_only, self.lean) {
            (true, Some(lean)) => lean(self),
            _ => false,
        };
        if self.lean_ran {
            return;
        }
        match self.native {
            Some(run) => run(self),
            None => {
                let compiled = self.compiled;
                for step in &compiled.plan.steps {
                    self.step(step);
                }
            }
        }
    }

    /// The same evaluator, with the plan run by the interpreter even where a
    /// native plan exists (to check one against the other, and to measure them).
    pub fn interpreted(mut self) -> Self {
        self.native = None;
        self.lean = None;
        self
    }

    /// The same evaluator, computing the results and the rules that applied
    /// (what a compact trace lists) and nothing else, where the bundled rules'
    /// lean plan (`eval::lean`) can: then [`Self::memo`] knows no value and
    /// [`Self::read_for`] no reading. For callers that write results, not
    /// explanations; the results are the same.
    pub fn results_only(mut self) -> Self {
        self.results_only = true;
        self
    }

    /// Whether this evaluator's runs read their facts in place, to be given
    /// back ([`Self::take_facts`]): a results-only evaluator with a lean plan,
    /// unless the plan gives a record up.
    pub fn reads_facts_in_place(&self) -> bool {
        self.results_only && self.lean.is_some()
    }

    /// Whether the last run was decided by a lean plan (see [`Self::results_only`]).
    pub fn ran_lean(&self) -> bool {
        self.lean_ran
    }

    /// Whether the eager pass runs a native plan (see `crate::native`).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    fn run_on_demand(&mut self) -> Result<Vec<Value>, EvalError> {
        self.eager = false;
        self.lean_ran = false;
        self.run_stamp = self.run_stamp.wrapping_add(1);
        if self.run_stamp == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.run_stamp = 1;
        }
        self.locals.clear();
        let compiled = self.compiled;
        compiled
            .results
            .iter()
            .map(|r| self.value(r.node).map_err(|e| self.error_of(e)))
            .collect()
    }

    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// The id of the facts last evaluated. (Their values are not kept: the eager
    /// pass moves them into the graph.)
    pub fn facts_id(&self) -> Option<&str> {
        self.facts.as_ref().and_then(|f| f.id.as_deref())
    }

    /// The facts of the last run, back, where the run left them as they were
    /// given: a results-only run that its lean plan decided reads them in place
    /// ([`Self::ran_lean`]); any other run moved them into the graph (`None`).
    /// Once they are given back, [`Self::facts_id`] is `None`. For a caller that
    /// evaluates the same facts again (under another revision), or keeps them.
    pub fn take_facts(&mut self) -> Option<Facts> {
        match self.lean_ran {
            true => self.facts.take(),
            false => None,
        }
    }

    /// The value of a node, if the last run computed it reading the rules left to
    /// right: a condition's operands after the first false one of an `and`, the rules
    /// after the first that applied, the branch of an `if` not taken have none.
    pub fn memo(&self, node: u32) -> Option<&Value> {
        if self.lean_ran {
            return None;
        }
        let i = node as usize;
        let computed = if self.eager {
            self.reached_flag(i)
        } else {
            self.stamps[i] == self.run_stamp
        };
        computed.then(|| self.slot(node))
    }

    /// The rules that applied in the last run, by rule index, among those a
    /// left-to-right reading reached (what a compact trace lists).
    pub fn applied_rules(&self) -> Vec<bool> {
        let mut applied = Vec::new();
        self.applied_rules_into(&mut applied);
        applied
    }

    /// As [`Self::applied_rules`], into a vector the caller reuses.
    pub fn applied_rules_into(&self, applied: &mut Vec<bool>) {
        let c = self.compiled;
        if !self.eager {
            // On demand, the memo holds what the reading reached.
            applied.clear();
            applied.extend((c.rule_nodes.iter()).map(|n| self.memo(*n) == Some(&TRUE_VALUE)));
            return;
        }
        // After an eager or a lean run: the rules listed, then flagged.
        let mut indices = Vec::new();
        self.applied_rule_indices_into(applied, &mut indices);
        applied.clear();
        applied.resize(c.rule_nodes.len(), false);
        for r in indices {
            applied[r as usize] = true;
        }
    }

    /// The indices of the rules that applied in the last run, in declaration
    /// order, into `applied`: what [`Self::applied_rules`] marks, listed, for a
    /// caller that writes them one by one. `reached` is scratch space the
    /// caller reuses.
    pub fn applied_rule_indices_into(&self, reached: &mut Vec<bool>, applied: &mut Vec<u32>) {
        if self.lean_ran {
            applied.clear();
            applied.extend(lean::rules_marked(&self.lean_applied));
            return;
        }
        if self.eager {
            return reach::applied_rule_indices(self, reached, applied);
        }
        self.applied_rules_into(reached);
        applied.clear();
        let indices = reached.iter().enumerate().filter(|(_, a)| **a);
        applied.extend(indices.map(|(i, _)| i as u32));
    }

    /// The nodes the value of `root` was worked out from in the last run, itself
    /// included, as its reading went: the branch of an `if` not taken, the operands
    /// after the one that decided an `and` or an `or`, the rules of an outcome
    /// after the one that applied are not among them. An aggregate counts as
    /// reading its filter and body, and all they read, for every element.
    pub fn read_for(&self, root: u32) -> Vec<bool> {
        self.cone_of(root, |m| self.memo(m))
    }

    /// As [`Self::read_for`], for a `root` the last run's reading reached: a
    /// result, or a node of such a cone (see [`Self::memo_within`]). After an
    /// eager run whose reach is exact (`Plan::reach_is_exact`), the walk decides
    /// on the values in the slots and does not first work out what the whole
    /// reading reached (for each changed record of a population's diff): every
    /// node it follows is one the reading reached, whose slot is its `memo`;
    /// what it marks besides is what an aggregate reads for every element,
    /// which under an exact reach is its own nodes, constants and facts
    /// (`plan::read_for_each_element`), none read any further.
    pub fn read_for_reached(&self, root: u32) -> Vec<bool> {
        match self.reach_known_exact() {
            true => self.cone_of(root, |m| Some(self.slot(m))),
            false => self.read_for(root),
        }
    }

    /// What the reading of `root` computed, its short-circuits decided on the
    /// values `value` gives (`None`: not computed, not followed).
    fn cone_of<'v>(&'v self, root: u32, value: impl Fn(u32) -> Option<&'v Value>) -> Vec<bool> {
        let mut marks = Vec::new();
        let reading = reach::Reading {
            value,
            every_element: true,
        };
        reach::reached_from([root], &reading, self, &mut marks);
        marks
    }

    /// [`Self::memo`] of a node, told `cone`, what the reading of a node it
    /// reached computed ([`Self::read_for_reached`]): the same value, found in
    /// the node's slot where the node is in the cone and the reach is exact. The
    /// cone's nodes were reached, but for what an aggregate reads for every
    /// element (its own nodes, the constants and facts it reads), which `memo`
    /// is asked about.
    pub fn memo_within(&self, node: u32, cone: &[bool]) -> Option<&Value> {
        let per_element = plan::read_for_each_element(self.compiled.node(node));
        match cone[node as usize] && !per_element && self.reach_known_exact() {
            true => Some(self.slot(node)),
            false => self.memo(node),
        }
    }

    /// Whether the last run was eager (not lean, not on demand) and its slots
    /// say exactly what an on-demand run would have computed.
    fn reach_known_exact(&self) -> bool {
        self.eager && !self.lean_ran && self.compiled.plan.reach_is_exact
    }

    fn reached_flag(&self, i: usize) -> bool {
        if !self.reached_known.replace(true) {
            reach::reached(self, &mut self.reached.borrow_mut());
        }
        self.reached.borrow()[i]
    }

    /// This evaluator's copy of constant node `n`'s value (none if `n` is not a
    /// constant): what its runs copy into results, so that a writer may
    /// recognise the copy by its address.
    pub(crate) fn constant(&self, n: u32) -> Option<&Value> {
        match self.compiled.node(n).op {
            Op::Const(_) => Some(&self.memo[n as usize]),
            _ => None,
        }
    }

    /// The eager pass's slot of a node, whether or not a left-to-right reading
    /// would have computed it.
    #[inline]
    fn slot(&self, node: u32) -> &Value {
        if !self.eager {
            return &self.memo[node as usize];
        }
        let i = self.compiled.plan.alias[node as usize] as usize;
        match self.flags[i] {
            FALSE => &FALSE_VALUE,
            TRUE => &TRUE_VALUE,
            VALUE => &self.memo[i],
            _ => &Value::Absent,
        }
    }

    /// The value of node `n`: on demand, computed now if this run has not yet;
    /// eagerly, the slot already computed (or its failure).
    fn ensure(&mut self, n: u32) -> Result<&Value, Fail<'c>> {
        let i = n as usize;
        if self.eager {
            let i = self.compiled.plan.alias[i] as usize;
            return match self.flags[i] {
                FALSE => Ok(&FALSE_VALUE),
                TRUE => Ok(&TRUE_VALUE),
                VALUE => Ok(&self.memo[i]),
                _ => Err(Fail {
                    kind: FailKind::Operand,
                    within: None,
                }),
            };
        }
        if self.stamps[i] != self.run_stamp {
            let v = self.compute(n)?;
            self.memo[i] = v;
            self.stamps[i] = self.run_stamp;
        }
        Ok(&self.memo[i])
    }

    /// The value of node `n`, owned; prefer `ensure` where a reference will do.
    fn value(&mut self, n: u32) -> Eval<'c> {
        self.ensure(n).cloned()
    }

    /// The error a drafter reads: what could not be computed, where, and what to do.
    fn error_of(&self, fail: Fail<'_>) -> EvalError {
        let (node, message) = match fail.kind {
            FailKind::Absent(n) => (n, self.absent_message(n)),
            FailKind::Message(n, text) => (n, text.into()),
            FailKind::DivisionByZero(n) => {
                (n, format!("division by zero in `{}`", self.snippet(n)))
            }
            FailKind::TooLarge(n) => (
                n,
                format!(
                    "the result of `{}` is too large to represent exactly",
                    self.snippet(n)
                ),
            ),
            // Only the eager pass meets failed operands, and its failures are
            // reported by evaluating again on demand.
            FailKind::Operand => (0, "a value needed here could not be computed".into()),
        };
        let span = self.failure_span(node, fail.within);
        // A node lowering made (no place in a file) has no location to give.
        let sources = &self.compiled.program.sources;
        EvalError {
            message,
            within: fail.within.map(str::to_string),
            at: (span != Span::default()).then(|| sources.location(span)),
            span,
        }
    }

    /// Where to point a drafter: the expression that failed or, for an absent
    /// fact (whose node is placed at its declaration), the definition, outcome
    /// or rule that read it.
    fn failure_span(&self, node: u32, within: Option<&str>) -> Span {
        let span = self.compiled.node(node).span;
        let Some((declared, texts)) = within.and_then(|name| self.reader_texts(name)) else {
            return span;
        };
        match &self.compiled.node(node).op {
            Op::Fact(_) => declared,
            // An expression written alike elsewhere is one node: its place in the reader.
            _ => self.compiled.place_within(node, &texts),
        }
    }

    /// The place a rule, definition or outcome is declared, and the places
    /// of its expressions.
    fn reader_texts(&self, name: &str) -> Option<(Span, Vec<Span>)> {
        let p = &self.compiled.program;
        Some(match p.symbols.get(name) {
            Some(Symbol::Define(id)) => {
                let d = &p.defines[id.index()];
                (d.span, vec![d.body.span])
            }
            Some(Symbol::Outcome(id)) => {
                let o = &p.outcomes[id.index()];
                (o.span, o.otherwise.iter().map(|e| e.span).collect())
            }
            _ => {
                let r = p.rules.iter().find(|r| r.name == name)?;
                let value = r.value.as_ref().map(|v| v.span);
                (
                    r.span,
                    std::iter::once(r.condition.span).chain(value).collect(),
                )
            }
        })
    }

    fn bool(&mut self, n: u32) -> Result<bool, Fail<'c>> {
        match self.ensure(n)? {
            Value::Bool(b) => Ok(*b),
            _ => Err(Fail::absent(n)),
        }
    }

    fn num(&mut self, n: u32) -> Result<Decimal, Fail<'c>> {
        match self.ensure(n)? {
            Value::Num(d) => Ok(*d),
            _ => Err(Fail::absent(n)),
        }
    }

    fn date(&mut self, n: u32) -> Result<Date, Fail<'c>> {
        match self.ensure(n)? {
            Value::Date(d) => Ok(*d),
            _ => Err(Fail::absent(n)),
        }
    }

    fn compute(&mut self, n: u32) -> Eval<'c> {
        // The graph outlives `self`: borrowing it through a copy of the reference
        // lets the operands be read without cloning them.
        let compiled: &'c Compiled = self.compiled;
        let op = &compiled.node(n).op;
        Ok(match op {
            // The evaluator's own copy (see `new`), not the graph's shared one.
            Op::Const(_) => self.memo[n as usize].clone(),
            Op::Today => Value::Date(self.as_of),
            Op::Fact(id) => self
                .facts
                .as_ref()
                .map_or(Value::Absent, |f| f.get(*id).clone()),
            Op::Define(id, body) => {
                let name = &compiled.program.defines[id.index()].name;
                self.value(*body).map_err(|e| within(e, name))?
            }
            Op::Local(d) => self
                .locals
                .get(*d as usize)
                .cloned()
                .unwrap_or(Value::Absent),
            Op::Field(b, i) => match self.ensure(*b)? {
                Value::Record(fields) => fields[*i as usize].clone(),
                _ => Value::Absent,
            },
            Op::Column(b, t, c) => match self.ensure(*b)? {
                Value::Key(k) => {
                    compiled.program.tables[t.index()].rows[*k as usize].cells[*c as usize].clone()
                }
                _ => Value::Absent,
            },
            Op::Not(a) => Value::Bool(!self.bool(*a)?),
            Op::Neg(a) => Value::Num(-self.num(*a)?),
            Op::And(items) => {
                for &i in items {
                    if !self.bool(i)? {
                        return Ok(Value::Bool(false));
                    }
                }
                Value::Bool(true)
            }
            Op::Or(items) => {
                for &i in items {
                    if self.bool(i)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Value::Bool(false)
            }
            Op::Compare(op, a, b) => self.compare(*op, *a, *b)?,
            Op::Arith(op, a, b) => self.arith(n, *op, *a, *b)?,
            Op::Member(a, b, negated) => self.member(*a, *b, *negated)?,
            Op::IsGiven(a, given) => {
                let given = *given;
                Value::Bool((*self.ensure(*a)? != Value::Absent) == given)
            }
            Op::If(c, a, b) => {
                if self.bool(*c)? {
                    self.value(*a)?
                } else {
                    self.value(*b)?
                }
            }
            Op::SetLit(items) => {
                let values = items
                    .iter()
                    .map(|i| self.value(*i))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::set(values)
            }
            Op::Call(b, args) => self.call(n, *b, args)?,
            Op::Aggregate { .. } => self.aggregate(n)?,
            Op::TableAggregate {
                kind,
                collection,
                matches,
            } => table_keys(*kind, matches, self.ensure(*collection)?)
                .ok_or(Fail::absent(*collection))?,
            Op::RuleApplies {
                rule,
                condition,
                overriders,
            } => {
                let name = &compiled.program.rules[rule.index()].name;
                let applies = self
                    .rule_applies(*condition, overriders)
                    .map_err(|e| within(e, name))?;
                Value::Bool(applies)
            }
            Op::Outcome {
                outcome,
                rules,
                default,
                collect,
            } => {
                let name = &compiled.program.outcomes[outcome.index()].name;
                self.outcome(rules, *default, *collect)
                    .map_err(|e| within(e, name))?
            }
        })
    }

    fn rule_applies(&mut self, condition: u32, overriders: &[u32]) -> Result<bool, Fail<'c>> {
        if !self.bool(condition)? {
            return Ok(false);
        }
        for o in overriders {
            if self.bool(*o)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn outcome(&mut self, rules: &[(u32, u32)], default: Option<u32>, collect: bool) -> Eval<'c> {
        let mut collected = Vec::new();
        for (applies, value) in rules {
            if self.bool(*applies)? {
                let v = self.value(*value)?;
                if !collect {
                    return Ok(v);
                }
                collected.push(v);
            }
        }
        if collect && !collected.is_empty() {
            return Ok(Value::set(collected));
        }
        match default {
            Some(d) => self.value(d),
            None if collect => Ok(Value::set(Vec::new())),
            None => Ok(Value::Absent),
        }
    }

    /// The value of `node` with the aggregate variable at `depth` bound to `local`;
    /// `scoped` are the nodes to recompute. Used to fold conditions at compile time.
    pub(crate) fn eval_for_local(
        &mut self,
        node: u32,
        depth: u32,
        local: Value,
        scoped: &[u32],
    ) -> Result<Value, EvalError> {
        self.eager = false;
        self.locals.clear();
        self.locals.resize(depth as usize, Value::Absent);
        self.locals.push(local);
        for s in scoped {
            self.stamps[*s as usize] = 0;
        }
        let v = self.value(node).map_err(|e| self.error_of(e));
        self.locals.clear();
        v
    }

    fn compare(&mut self, op: CmpOp, a: u32, b: u32) -> Eval<'c> {
        self.ensure(a)?;
        self.ensure(b)?;
        let with_none = self.is_none_literal(a) || self.is_none_literal(b);
        let (x, y) = (self.slot(a), self.slot(b));
        match compare_values(op, x, y, with_none) {
            Some(holds) => Ok(Value::Bool(holds)),
            None => Err(Fail::absent(if x.is_absent() { a } else { b })),
        }
    }

    /// Whether node `n` is the literal `none`.
    fn is_none_literal(&self, n: u32) -> bool {
        matches!(self.compiled.node(n).op, Op::Const(Value::Absent))
    }

    fn member(&mut self, a: u32, b: u32, negated: bool) -> Eval<'c> {
        self.ensure(a)?;
        self.ensure(b)?;
        let (elem, coll) = (self.slot(a), self.slot(b));
        member(elem, coll, negated)
            .map(Value::Bool)
            .ok_or(Fail::absent(b))
    }

    fn arith(&mut self, n: u32, op: ArithOp, a: u32, b: u32) -> Eval<'c> {
        let x = self.num(a)?;
        let y = self.num(b)?;
        let kind = match op {
            ArithOp::Div if y.is_zero() => FailKind::DivisionByZero(n),
            _ => FailKind::TooLarge(n),
        };
        arith(op, x, y)
            .map(Value::Num)
            .ok_or(Fail { kind, within: None })
    }

    /// The expression of node `n`, on one line.
    fn snippet(&self, n: u32) -> String {
        let span = self.compiled.node(n).span;
        self.compiled.program.sources.snippet_on_one_line(span)
    }

    /// Why node `n` has no value, and what the drafter can do.
    fn absent_message(&self, n: u32) -> String {
        let text = self.snippet(n);
        match &self.compiled.node(n).op {
            Op::Aggregate {
                kind: AggKind::Largest | AggKind::Smallest,
                ..
            } => format!(
                "`{text}` has no value for this entity: it has no elements to compare; \
                 test `count … > 0 and ...` first"
            ),
            Op::Outcome { .. } => format!(
                "`{text}` has no value for this entity: no rule concluded it; \
                 test `{text} is given and ...` first, or give it a value with `otherwise`"
            ),
            _ => format!(
                "`{text}` has no value for this entity: an optional fact it needs is absent; \
                 guard the rule with `... is given and ...` or supply the fact"
            ),
        }
    }

    fn call(&mut self, n: u32, b: Builtin, args: &[u32]) -> Eval<'c> {
        Ok(match b {
            Builtin::Max | Builtin::Min => {
                // An absent operand is not skipped: the larger of a value and
                // nothing is not known.
                let x = self.value(args[0])?;
                let y = self.value(args[1])?;
                for (v, arg) in [(&x, args[0]), (&y, args[1])] {
                    if v.is_absent() {
                        return Err(Fail::absent(arg));
                    }
                }
                let ord = compare(&x, &y);
                if (b == Builtin::Max) == ord.is_ge() {
                    x
                } else {
                    y
                }
            }
            Builtin::Date => {
                let [y, m, d] = [self.num(args[0])?, self.num(args[1])?, self.num(args[2])?];
                // Each part as it is, in the message: not saturated into another.
                let part = |p: Decimal, what: &str, first: u16, last: u16| {
                    u16::try_from(p)
                        .ok()
                        .filter(|v| p.fract().is_zero() && (first..=last).contains(v))
                        .ok_or_else(|| {
                            Fail::message(
                                n,
                                format!("date({y}, {m}, {d}): the {what} must be a whole number from {first} to {last}"),
                            )
                        })
                };
                let year = part(y, "year", 0, 9999)?;
                let (month, day) = (part(m, "month", 1, 12)?, part(d, "day", 1, 31)?);
                let date = Date::new(i32::from(year), month as u8, day as u8);
                Value::Date(date.map_err(|e| Fail::message(n, e.0))?)
            }
            Builtin::Year => Value::Num(Decimal::from(self.date(args[0])?.year)),
            Builtin::DaysBetween => {
                let a = self.date(args[0])?;
                let z = self.date(args[1])?;
                Value::Num(Decimal::from(z.to_days() - a.to_days()))
            }
            Builtin::AddDays | Builtin::AddYears => {
                let d = self.date(args[0])?;
                let k = i64::try_from(self.num(args[1])?)
                    .ok()
                    .filter(|k| k.abs() <= 1_000_000)
                    .ok_or_else(|| {
                        Fail::message(
                            n,
                            "expected a whole number of days or years, at most 1_000_000",
                        )
                    })?;
                let moved = match b {
                    Builtin::AddDays => d.add_days(k),
                    _ => d.add_years(k as i32),
                };
                let moved = moved.written_as_yyyy_mm_dd();
                Value::Date(moved.map_err(|e| Fail::message(n, e.0))?)
            }
        })
    }
}

/// `*old = new.clone()`, written in place where `old` holds the same variant
/// (a result keeps its variant from one record to the next): only the payload
/// is stored, not a whole value built aside and then copied over, which the
/// processor reads back before its last bytes are written and stalls on (13%
/// of `run_into`'s samples fell on the copy's one store). A shared text, set,
/// list or record already there is kept, neither counted again nor dropped.
#[inline(always)]
pub(crate) fn assign(old: &mut Value, new: &Value) {
    match (old, new) {
        (Value::Bool(o), Value::Bool(n)) => *o = *n,
        (Value::Enum(o), Value::Enum(n)) | (Value::Key(o), Value::Key(n)) => *o = *n,
        (Value::Date(o), Value::Date(n)) => *o = *n,
        (Value::Num(o), Value::Num(n)) => *o = *n,
        (Value::Set(o), Value::Set(n))
        | (Value::List(o), Value::List(n))
        | (Value::Record(o), Value::Record(n)) => {
            if !std::sync::Arc::ptr_eq(o, n) {
                *o = n.clone();
            }
        }
        (Value::Text(o), Value::Text(n)) => {
            if !std::sync::Arc::ptr_eq(o, n) {
                *o = n.clone();
            }
        }
        (Value::Absent, Value::Absent) => {}
        (o, n) => *o = n.clone(),
    }
}

/// Exact arithmetic; `None` on overflow or division by zero.
#[inline(always)]
pub(crate) fn arith(op: ArithOp, x: Decimal, y: Decimal) -> Option<Decimal> {
    match op {
        ArithOp::Add => add_numbers(x, y),
        ArithOp::Sub => sub_numbers(x, y),
        ArithOp::Mul => mul_numbers(x, y),
        ArithOp::Div => div_numbers(x, y),
    }
}

// The four operations below are kept out of line: the generated plans do
// arithmetic in some thirty places, and rust_decimal's code for one operation
// is one to three kilobytes. Inlined at each place, they made the bundled lean
// plan 70 KB of code, twice a core's instruction cache; out of line, 37 KB.
#[inline(never)]
fn add_numbers(x: Decimal, y: Decimal) -> Option<Decimal> {
    x.checked_add(y)
}

#[inline(never)]
fn sub_numbers(x: Decimal, y: Decimal) -> Option<Decimal> {
    x.checked_sub(y)
}

#[inline(never)]
fn mul_numbers(x: Decimal, y: Decimal) -> Option<Decimal> {
    x.checked_mul(y)
}

#[inline(never)]
fn div_numbers(x: Decimal, y: Decimal) -> Option<Decimal> {
    x.checked_div(y)
}

/// Whether an ordering satisfies `<`, `<=`, `>` or `>=`.
fn cmp_holds(op: CmpOp, ord: std::cmp::Ordering) -> bool {
    match op {
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        _ => ord.is_ge(),
    }
}

/// A comparison of two values; `None` where it fails: an absent operand, but
/// for `=`/`!=` when one side is the literal `none` (`with_none`).
#[inline]
pub(crate) fn compare_values(op: CmpOp, x: &Value, y: &Value, with_none: bool) -> Option<bool> {
    let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
    // An absent value equals nothing and differs from nothing: only the
    // literal `none` tests for it (`x = none`).
    if equality && (with_none || !x.is_absent() && !y.is_absent()) {
        return Some(steps::same_value(x, y) == (op == CmpOp::Eq));
    }
    if x.is_absent() || y.is_absent() {
        return None;
    }
    Some(cmp_holds(op, compare(x, y)))
}

/// `elem in collection` (`not in` when `negated`); `None` if the collection is
/// not a list or set.
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

/// `any`, `all` or `count` over the table keys of `collection`, a row's
/// condition answered by `matches`; `None` if it is not a list or set.
#[inline]
pub(crate) fn table_keys(kind: AggKind, matches: &[bool], collection: &Value) -> Option<Value> {
    let keys = elements(collection)?;
    Some(match kind {
        AggKind::Any | AggKind::All => Value::Bool(keys_hold(kind, matches, keys)),
        _ => Value::Num(keys_counted(matches, keys)),
    })
}

/// `all` (for that kind) or `any` of the keys has a row `matches` keeps.
#[inline(always)]
pub(crate) fn keys_hold(kind: AggKind, matches: &[bool], keys: &[Value]) -> bool {
    match kind {
        AggKind::All => keys.iter().all(|k| key_matches(k, matches)),
        _ => keys.iter().any(|k| key_matches(k, matches)),
    }
}

/// How many of the keys have a row `matches` keeps.
#[inline(always)]
pub(crate) fn keys_counted(matches: &[bool], keys: &[Value]) -> Decimal {
    Decimal::from(keys.iter().filter(|k| key_matches(k, matches)).count())
}

/// Whether an element is a table key whose row satisfies a row condition
/// answered at compile time.
fn key_matches(k: &Value, matches: &[bool]) -> bool {
    matches!(k, Value::Key(i) if matches[*i as usize])
}

/// The flag of the negation: a failure stays one.
fn negate(flag: u8) -> u8 {
    match flag {
        FALSE => TRUE,
        TRUE => FALSE,
        other => other,
    }
}

/// The eager flag of a value.
pub(crate) fn flag_of(v: &Value) -> u8 {
    match v {
        Value::Bool(b) => u8::from(*b),
        _ => VALUE,
    }
}

/// Names the rule, definition or outcome a failure happened in, if none is yet.
fn within<'c>(mut e: Fail<'c>, name: &'c str) -> Fail<'c> {
    if e.within.is_none() {
        e.within = Some(name);
    }
    e
}
