//! The library's front door for tooling: rules compiled once ([`Rules`], shared
//! by every thread), one [`Decider`] per thread, and for each facts record a
//! [`Decision`]: the JSON document that `lexnis eval --format json` prints and a
//! `lexnis batch` line holds (without its `line`), with the trace asked for.
//!
//! The stages underneath ([`crate::policy::compile`], [`crate::eval::Evaluator`],
//! [`crate::trace::build_trace`]) stay public for callers who need their
//! values rather than their JSON.

use crate::batch::TraceMode;
use crate::date::Date;
use crate::eval::{EvalError, Evaluator};
use crate::facts::{load_facts_from_str, load_facts_from_str_into, TextFactsError};
use crate::lower::Compiled;
use crate::policy::{compile, CompileError, LoadError, PolicySource};
use crate::render::ResultHeader;
use crate::trace::{NoTrace, TraceView};
use crate::value::Value;
use serde_json::Value as Json;
use std::path::PathBuf;

/// A policy set compiled for one date, ready to decide. `Send + Sync`: compile
/// it once and share it (by reference, or in an `Arc`) between threads.
#[derive(Debug)]
pub struct Rules {
    compiled: Compiled,
}

/// Why rules could not be made: a file that could not be read, or rule files
/// that do not compile (its `Display` draws each diagnostic with its file,
/// line and column, as `lexnis check` does).
#[derive(Debug)]
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

impl std::error::Error for RulesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RulesError::Load(e) => Some(e),
            RulesError::Compile(e) => Some(e),
        }
    }
}

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
        Ok(Rules { compiled })
    }

    /// The compiled decision graph, for the lower-level API.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
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
            evaluator,
            header: ResultHeader::new(&self.compiled.program),
            trace,
        }
    }
}

/// Decides facts records one after another, reusing its memory from one to the
/// next. Keep one per thread (it is `Send`, not shared).
pub struct Decider<'r> {
    evaluator: Evaluator<'r>,
    header: ResultHeader,
    trace: TraceMode,
}

/// Why a record was not decided. Each variant's `Display` says where and what.
#[derive(Debug)]
pub enum DecideError {
    /// The text is not JSON, or not facts of the rules' schema: one line a
    /// problem, with its JSON path (`$.size.staff`) and what to do.
    Facts(TextFactsError),
    /// The rules could not decide on these facts; the message names the rule
    /// file, line and column where the evaluation failed.
    Rules(EvalError),
    /// The decision was made but could not be explained.
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

impl std::error::Error for DecideError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecideError::Facts(e) => Some(e),
            DecideError::Rules(e) => Some(e),
            DecideError::Trace(e) => Some(e),
        }
    }
}

impl Decider<'_> {
    /// Decides one facts record given as JSON text (read digit for digit, a
    /// key given twice reported). A failed record leaves nothing behind: the
    /// next one is decided as if it came first.
    pub fn decide(&mut self, facts_json: &str) -> Result<Decision, DecideError> {
        let outcomes = match self.trace {
            TraceMode::Full => {
                let program = &self.evaluator.compiled.program;
                let facts = load_facts_from_str(program, facts_json).map_err(DecideError::Facts)?;
                self.evaluator.run(facts).map_err(DecideError::Rules)?
            }
            TraceMode::None | TraceMode::Compact => self.decide_in_place(facts_json)?,
        };
        let ev = &self.evaluator;
        let document = match self.trace {
            TraceMode::None => self.document(&outcomes, None),
            TraceMode::Compact => {
                let applied = crate::trace::applied_rules(ev);
                self.document(&outcomes, Some(TraceView::Applied(&applied)))
            }
            TraceMode::Full => {
                let trace = crate::trace::build_trace(ev).map_err(DecideError::Trace)?;
                self.document(&outcomes, Some(TraceView::Steps(&trace.steps)))
            }
        };
        Ok(Decision { document })
    }

    /// A results-only run over the last record's facts, their allocations
    /// reused (see [`load_facts_from_str_into`]). The evaluator keeps the
    /// facts until the next record, for the decision's id.
    fn decide_in_place(&mut self, facts_json: &str) -> Result<Vec<Value>, DecideError> {
        let program = &self.evaluator.compiled.program;
        // Given back only after a run the typed plan decided; else read anew.
        let mut facts = self.evaluator.take_facts().unwrap_or_default();
        load_facts_from_str_into(program, facts_json, &mut facts).map_err(DecideError::Facts)?;
        self.evaluator
            .run_in_place(facts)
            .map_err(DecideError::Rules)?;
        let results = 0..self.evaluator.compiled.results.len();
        Ok(results.map(|i| self.evaluator.result(i).clone()).collect())
    }

    fn document(&self, outcomes: &[Value], trace: Option<TraceView<'_>>) -> Json {
        crate::render::result_document(&self.header, &self.evaluator, outcomes, trace)
    }
}

/// The decision on one facts record: `id`, `as_of`, every result by its key,
/// `policy_versions`, `warnings` and, if asked for, `trace` (see
/// docs/schemas/result.schema.json).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Decision {
    document: Json,
}

impl Decision {
    /// The entity's id, as its facts gave it (`None` if they gave none).
    pub fn id(&self) -> Option<&str> {
        self.document.get("id").and_then(Json::as_str)
    }

    /// A key of the document: a result's key (`"classification"`), or
    /// `as_of`, `policy_versions`, `warnings`, `trace`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.document.get(key)
    }

    /// The trace asked for: a list of `{rule, citation}` (compact) or of
    /// steps (full); `None` if the decider was made without one.
    pub fn trace(&self) -> Option<&Json> {
        self.document.get("trace")
    }

    /// The whole document.
    pub fn as_json(&self) -> &Json {
        &self.document
    }

    pub fn into_json(self) -> Json {
        self.document
    }
}

#[cfg(test)]
mod tests;
