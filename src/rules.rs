//! The library's front door for tooling: rules compiled once ([`Rules`], shared
//! by every thread), one [`Decider`] per thread, and for each facts record a
//! [`Decision`]: the results, and the trace asked for, which serialise as the
//! document `lexnis eval --format json` prints and a `lexnis batch` line holds
//! (without its `line`).
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
use crate::render::{ResultHeader, ResultRecord};
use crate::trace::{NoTrace, Step, TraceView};
use crate::value::Value;
use serde_json::value::RawValue;
use serde_json::Value as Json;
use std::path::PathBuf;

/// A policy set compiled for one date, ready to decide. `Send + Sync`: compile
/// it once and share it (by reference, or in an `Arc`) between threads.
pub struct Rules {
    compiled: Compiled,
    /// The documents' `policy_versions` and `warnings`, the same for all.
    header: ResultHeader,
    /// Writes a decision's JSON text, its constant pieces escaped once.
    lines: LineWriter,
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
        let header = ResultHeader::new(&compiled.program);
        Ok(Rules {
            lines: LineWriter::new(&Evaluator::new(&compiled), &header).outliving(),
            header,
            compiled,
            as_of,
        })
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

impl<'r> Decider<'r> {
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

/// The decision on one facts record: every result, and the trace asked for.
/// It serialises (`serde_json::to_writer(out, &decision)`) as the document
/// `lexnis eval --format json` prints: `id`, `as_of`, every result by its
/// key, `policy_versions`, `warnings` and, if asked for, `trace` (see
/// docs/schema/result.schema.json). Nothing is turned into JSON before it
/// is asked for.
#[derive(Debug, Clone)]
pub struct Decision<'r> {
    rules: &'r Rules,
    id: Option<String>,
    /// By result index, as the rules declare them.
    results: Vec<Value>,
    trace: Option<DecisionTrace>,
}

/// Decisions of the same [`Rules`] value are equal if they hold the same id,
/// results and trace (those of two `Rules` compare by [`Decision::to_json`]).
impl PartialEq for Decision<'_> {
    fn eq(&self, other: &Decision<'_>) -> bool {
        std::ptr::eq(self.rules, other.rules)
            && (&self.id, &self.results, &self.trace) == (&other.id, &other.results, &other.trace)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum DecisionTrace {
    /// The indices of the rules that applied, in declaration order.
    Applied(Vec<u32>),
    Steps(Vec<Step>),
}

impl Decision<'_> {
    /// The entity's id, as its facts gave it (`None` if they gave none).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The date the rules were applied on.
    pub fn as_of(&self) -> Date {
        self.rules.as_of
    }

    /// A result by its key (`"classification"`), as the document holds it;
    /// `None` for a key the rules do not declare.
    pub fn get(&self, key: &str) -> Option<Json> {
        let c = &self.rules.compiled;
        let i = c.results.iter().position(|r| r.key == key)?;
        Some(crate::value::to_json(
            &c.program,
            &c.results[i].ty,
            &self.results[i],
        ))
    }

    /// The trace asked for, as the document holds it: a list of `{rule,
    /// citation}` (compact) or of steps (full); `None` if the decider was
    /// made without one.
    pub fn trace(&self) -> Option<Json> {
        self.trace.as_ref()?;
        self.to_json().get_mut("trace").map(Json::take)
    }

    /// The whole document.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// Appends the document to `out` as one line of JSON, and a newline: the
    /// bytes `serde_json::to_writer` writes for it, by the writer `lexnis
    /// batch` writes its lines with: a record decided and written in 2.0 µs
    /// rather than 2.9 (docs/performance.md).
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        let rules = self.rules;
        let trace = match &self.trace {
            None => None,
            Some(DecisionTrace::Applied(applied)) => Some(applied.as_slice()),
            Some(DecisionTrace::Steps(_)) => {
                // Every step through the serialiser, as the batch writes them.
                let _ = serde_json::to_writer(&mut *out, self);
                out.push(b'\n');
                return;
            }
        };
        let results = |i: usize| &self.results[i];
        let id = self.id.as_deref();
        (rules.lines).write_document(out, &rules.compiled, None, id, results, trace);
        out.push(b'\n');
    }
}

impl serde::Serialize for Decision<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<&RawValue>;
        let trace = match &self.trace {
            None => None,
            Some(DecisionTrace::Steps(steps)) => Some(TraceView::Steps(steps)),
            Some(DecisionTrace::Applied(applied)) => {
                entries = self.rules.lines.applied_entries(applied).collect();
                Some(TraceView::Serialized(&entries))
            }
        };
        let c = &self.rules.compiled;
        let record = ResultRecord {
            header: &self.rules.header,
            compiled: c,
            id: self.id.as_deref(),
            as_of: self.as_of(),
            values: &self.results,
            line: None,
            trace,
            compact: true,
        };
        record.serialize(s)
    }
}

#[cfg(test)]
mod tests;
