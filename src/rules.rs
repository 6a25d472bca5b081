//! The library's front door for tooling: rules compiled once ([`Rules`], shared
//! by every thread), one [`Decider`] per thread, and for each facts record a
//! [`Decision`]: the results, and the trace asked for, which serialise as the
//! JSON value `lexnis eval --format json` prints (there indented) and a
//! `lexnis batch` line holds (without its `line`).
//!
//! The stages underneath ([`crate::policy::compile`], [`crate::eval::Evaluator`],
//! [`crate::trace::build_trace`]) stay public for callers who need more than
//! this (the values that explain a result, or no copy of the results at all).

use crate::batch::TraceMode;
use crate::date::Date;
use crate::eval::{EvalError, Evaluator};
use crate::facts::{load_facts_from_str, load_facts_from_str_into, TextFactsError};
use crate::lower::Compiled;
use crate::policy::{compile, CompileError, LoadError, PolicySource};
use crate::render::line::LineWriter;
use crate::render::ResultHeader;
use crate::trace::NoTrace;
use crate::value::Value;
use std::path::PathBuf;

/// A policy set compiled for one date, ready to decide. `Send + Sync`: compile
/// it once and share it between threads.
///
/// Deciders and decisions borrow it. Threads that end before it does borrow
/// it as they are (`std::thread::scope`); a service that keeps it for as long
/// as it runs can make it `&'static` once (`Box::leak(Box::new(rules))`), so
/// that deciders live in its worker threads and decisions go anywhere. A
/// decision that must outlive its rules is kept as JSON
/// ([`Decision::to_json`]).
pub struct Rules {
    compiled: Compiled,
    /// The documents' `policy_versions` and `warnings`, the same for all.
    header: ResultHeader,
    /// Writes a decision's JSON text, its constant pieces escaped once.
    lines: LineWriter,
    /// Every rule's compact-trace entry, by rule index.
    applied_rules: Vec<crate::trace::AppliedRule>,
    as_of: Date,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let acts = self.compiled.program.acts.iter().map(|a| &a.cited_as);
        (f.debug_struct("Rules"))
            .field("acts", &acts.collect::<Vec<_>>())
            .field("as_of", &self.as_of)
            .finish_non_exhaustive()
    }
}

/// Why rules could not be made: a file that could not be read, or rule files
/// that do not compile. Its `Display` says all (for rule files, each
/// diagnostic with its file, line and column, as `lexnis check` draws it), so
/// it gives no `source()`.
#[derive(Debug)]
#[non_exhaustive]
pub enum RulesError {
    Load(LoadError),
    Compile(CompileError),
}

impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesError::Load(e) => write!(f, "cannot read the rule files: {e}"),
            RulesError::Compile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RulesError {}

impl Rules {
    /// The NIS rules bundled into the crate (policies/), as in force on `as_of`.
    pub fn bundled(as_of: Date) -> Result<Rules, RulesError> {
        Rules::from_source(&PolicySource::bundled(), as_of)
    }

    /// The `.law` files under `paths` (files or folders, as `lexnis eval
    /// --policies` takes them), as in force on `as_of`.
    pub fn from_paths(paths: &[PathBuf], as_of: Date) -> Result<Rules, RulesError> {
        let source = PolicySource::from_paths(paths).map_err(RulesError::Load)?;
        Rules::from_source(&source, as_of)
    }

    /// Rule files already loaded (for example, texts held by an editor).
    pub fn from_source(source: &PolicySource, as_of: Date) -> Result<Rules, RulesError> {
        let compiled = compile(source, as_of).map_err(RulesError::Compile)?;
        let header = ResultHeader::new(&compiled.program);
        let applied_rules = crate::trace::entries_by_rule(&compiled.program).collect();
        Ok(Rules {
            lines: LineWriter::new(&Evaluator::new(&compiled), &header).outliving(),
            applied_rules,
            header,
            compiled,
            as_of,
        })
    }

    /// The compiled decision graph, for the lower-level API.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The date the rules are applied on: the act versions in force that day.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// The keys of the results a decision holds, in the order the rule files
    /// declare them.
    pub fn result_keys(&self) -> impl Iterator<Item = &str> {
        self.compiled.results.iter().map(|r| r.key.as_str())
    }

    /// A decider for one thread, whose decisions carry `trace`: none, the
    /// rules that applied with their citations, or every step.
    pub fn decider(&self, trace: TraceMode) -> Decider<'_> {
        // Only a full trace needs the values that explain a result; the rest
        // runs on the typed plan, which keeps results and the rules applied.
        let evaluator = match trace {
            TraceMode::Full => Evaluator::new(&self.compiled),
            TraceMode::None | TraceMode::Compact => Evaluator::new(&self.compiled).results_only(),
        };
        Decider {
            rules: self,
            evaluator,
            trace,
            reached: Vec::new(),
        }
    }
}

/// Decides facts records one after another, reusing its memory from one to the
/// next. Keep one per thread (it is `Send`, not shared).
pub struct Decider<'r> {
    rules: &'r Rules,
    evaluator: Evaluator<'r>,
    trace: TraceMode,
    /// Scratch space for listing the rules that applied.
    reached: Vec<bool>,
}

/// Why a record was not decided. Its `Display` says where and what, all of it
/// (so it gives no `source()`).
#[derive(Debug)]
#[non_exhaustive]
pub enum DecideError {
    /// The text is not JSON, or not facts of the rules' schema: one line a
    /// problem, with its JSON path (`$.size.staff`) and what to do.
    Facts(TextFactsError),
    /// The rules could not decide on these facts; the message names the rule
    /// file, line and column where the evaluation failed.
    Rules(EvalError),
    /// The decision was made but could not be explained. Not expected of a
    /// decider made by [`Rules::decider`] (a full trace runs the explaining
    /// evaluator), and reported rather than assumed.
    Trace(NoTrace),
}

impl std::fmt::Display for DecideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecideError::Facts(e) => write!(f, "the facts cannot be read: {e}"),
            DecideError::Rules(e) => write!(f, "the rules cannot decide: {e}"),
            DecideError::Trace(e) => write!(f, "the decision cannot be explained: {e}"),
        }
    }
}

impl std::error::Error for DecideError {}

impl<'r> Decider<'r> {
    /// The trace its decisions carry.
    pub fn trace_mode(&self) -> TraceMode {
        self.trace
    }

    /// Decides one facts record given as JSON text (read digit for digit, a
    /// key given twice reported). A failed record leaves nothing behind: the
    /// next one is decided as if it came first.
    pub fn decide(&mut self, facts_json: &str) -> Result<Decision<'r>, DecideError> {
        let (results, trace) = match self.trace {
            TraceMode::Full => self.decide_explained(facts_json)?,
            TraceMode::None => (self.decide_in_place(facts_json)?, None),
            TraceMode::Compact => {
                let results = self.decide_in_place(facts_json)?;
                let mut applied = Vec::new();
                (self.evaluator).applied_rule_indices_into(&mut self.reached, &mut applied);
                (results, Some(DecisionTrace::Applied(applied)))
            }
        };
        Ok(Decision {
            rules: self.rules,
            id: self.evaluator.facts_id().map(str::to_string),
            results,
            trace,
        })
    }

    /// A run that keeps the values which explain it, and its every step.
    fn decide_explained(
        &mut self,
        facts_json: &str,
    ) -> Result<(Vec<Value>, Option<DecisionTrace>), DecideError> {
        let program = &self.rules.compiled.program;
        let facts = load_facts_from_str(program, facts_json).map_err(DecideError::Facts)?;
        let results = self.evaluator.run(facts).map_err(DecideError::Rules)?;
        let trace = crate::trace::build_trace(&self.evaluator).map_err(DecideError::Trace)?;
        Ok((results, Some(DecisionTrace::Steps(trace.steps))))
    }

    /// A results-only run over the last record's facts, their allocations
    /// reused (see [`load_facts_from_str_into`]). The evaluator keeps the
    /// facts until the next record, for the decision's id.
    fn decide_in_place(&mut self, facts_json: &str) -> Result<Vec<Value>, DecideError> {
        let program = &self.rules.compiled.program;
        // Given back only after a run the typed plan decided; else read anew.
        let mut facts = self.evaluator.take_facts().unwrap_or_default();
        load_facts_from_str_into(program, facts_json, &mut facts).map_err(DecideError::Facts)?;
        self.evaluator
            .run_in_place(facts)
            .map_err(DecideError::Rules)?;
        let results = 0..self.rules.compiled.results.len();
        Ok(results.map(|i| self.evaluator.result(i).clone()).collect())
    }
}

mod decision;
pub use decision::Decision;
use decision::DecisionTrace;

#[cfg(test)]
mod tests;
