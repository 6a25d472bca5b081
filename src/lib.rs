//! lexnis: the Italian NIS rules (D.Lgs. 138/2024, DPCM 221/2024) as a compiled,
//! explainable decision graph.
//!
//! Compile a policy set once as [`Rules`], then decide the facts of many
//! entities, from as many threads as you like: `Rules` is `Send + Sync`, and
//! each thread keeps its own [`Decider`], which reuses its memory from one
//! record to the next. A [`Decision`] holds the results and the trace the
//! decider was asked for, and serialises as the JSON document `lexnis eval
//! --format json` prints.
//!
//! ```
//! use lexnis::{date::Date, Rules, TraceMode};
//!
//! // The rules bundled into the crate, in force on 1 June 2025.
//! let rules = Rules::bundled(Date::parse("2025-06-01").unwrap()).expect("the bundled rules compile");
//! let mut decider = rules.decider(TraceMode::Compact);
//!
//! let decision = decider
//!     .decide(r#"{"id": "acqua-spa", "entity_types": ["I.6.1"],
//!                 "size": {"staff": 300, "turnover_eur": 60000000, "balance_sheet_eur": 50000000}}"#)
//!     .expect("the facts match the schema and the rules decide");
//! assert_eq!(decision.id(), Some("acqua-spa"));
//! assert_eq!(decision.get("in_scope"), Some(serde_json::json!(true)));
//! assert_eq!(decision.get("classification"), Some(serde_json::json!("essential")));
//!
//! // Why: the rules that applied, each with its citation.
//! let trace = decision.trace().expect("a compact trace was asked for");
//! assert!(trace.as_array().unwrap().iter()
//!     .any(|step| step["citation"] == "D.Lgs. 138/2024, art. 6, c. 1, lett. a)"));
//!
//! // The whole document, as a service would answer with it.
//! let text = serde_json::to_string(&decision).unwrap();
//! assert!(text.starts_with(r#"{"id":"acqua-spa","as_of":"2025-06-01","in_scope":true,"#));
//!
//! // A bad record is an error saying where and what; the decider goes on.
//! let error = decider.decide(r#"{"id": "x", "entity_types": [], "size": {"staff": "many"}}"#).unwrap_err();
//! assert!(error.to_string().contains("$.size.staff"), "{error}");
//! assert!(decider.decide(r#"{"entity_types": [], "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#).is_ok());
//!
//! // Many threads, one compiled policy set.
//! std::thread::scope(|s| {
//!     for _ in 0..2 {
//!         s.spawn(|| rules.decider(TraceMode::None).decide(r#"{"entity_types": ["I.6.1"],
//!             "size": {"staff": 3, "turnover_eur": 100000, "balance_sheet_eur": 100000}}"#).unwrap());
//!     }
//! });
//! ```
//!
//! The stages underneath stay public, for callers who want values rather
//! than JSON: [`policy::compile`] gives the [`lower::Compiled`] graph (what
//! [`Rules::compiled`] holds), and an [`eval::Evaluator`] runs facts through it.
//!
//! ```
//! use lexnis::{date::Date, eval::Evaluator, facts::load_facts, policy::{compile, PolicySource}};
//!
//! let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap())
//!     .expect("the bundled rules compile");
//!
//! let facts = serde_json::json!({
//!     "id": "acqua-spa",
//!     "entity_types": ["I.6.1"],
//!     "size": {"staff": 300, "turnover_eur": 60000000, "balance_sheet_eur": 50000000}
//! });
//! let facts = load_facts(&compiled.program, &facts).expect("the facts match the schema");
//!
//! let mut evaluator = Evaluator::new(&compiled);
//! let values = evaluator.run(facts).expect("the rules decide");
//! let result = lexnis::render::result_json(&evaluator, &values, None);
//! assert_eq!(result["in_scope"], true);
//! assert_eq!(result["classification"], "essential");
//! assert_eq!(result["sector_authorities"], serde_json::json!(["mase"]));
//!
//! // Why: the steps that decided, each with its citation.
//! let trace = lexnis::trace::build_trace(&evaluator).expect("a decided run is explained");
//! assert!(trace.steps.iter().any(|s| s.citation.as_deref() == Some("D.Lgs. 138/2024, art. 6, c. 1, lett. a)")));
//! ```
//!
//! To evaluate many entities, [`eval::Evaluator::run_into`] reuses one vector of
//! results, and [`eval::Evaluator::run_in_place`] copies none: each result is read
//! with [`eval::Evaluator::result`] until the next run. A caller that writes
//! results and at most the rules that applied, not explanations, makes its
//! evaluator [`eval::Evaluator::results_only`]: the bundled rules then run as
//! typed Rust, with the same results.
//!
//! ```
//! # use lexnis::{date::Date, eval::Evaluator, facts::load_facts, policy::{compile, PolicySource}};
//! # let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
//! let mut evaluator = Evaluator::new(&compiled).results_only();
//! let mut values = Vec::new();
//! for staff in [20, 300] {
//!     let facts = serde_json::json!({
//!         "entity_types": ["I.6.1"],
//!         "size": {"staff": staff, "turnover_eur": 60000000, "balance_sheet_eur": 50000000}
//!     });
//!     let facts = load_facts(&compiled.program, &facts).unwrap();
//!     evaluator.run_into(facts, &mut values).expect("the rules decide");
//!     let applied = evaluator.applied_rules(); // one flag per rule, as a compact trace lists them
//!     assert!(applied.iter().any(|a| *a));
//! }
//! // Its typed plan keeps no explanation: a trace asked of it is an error.
//! assert_eq!(lexnis::trace::build_trace(&evaluator).err(), Some(lexnis::trace::NoTrace::ResultsOnly));
//! ```
//!
//! The errors of both paths implement `std::error::Error`, so that `?` carries
//! them into a caller's own error type: [`RulesError`] and [`DecideError`]
//! wrap those of the stages, which are: compiling ([`policy::CompileError`], whose
//! `Display` draws each diagnostic with its file, line and column, as `lexnis
//! check` does), reading facts ([`facts::TextFactsError`]: one line a problem,
//! with its JSON path), evaluating ([`eval::EvalError`]) and explaining
//! ([`trace::NoTrace`]). `examples/library.rs` evaluates a population on every
//! core this way.
//!
//! Facts given as text are best read with [`facts::load_facts_from_str`], as
//! `lexnis batch` and `lexnis eval` read them: numbers digit for digit, a key
//! given twice reported. [`facts::load_facts`] takes a tree already parsed, whose
//! numbers are what serde_json made of them (a float for a number with a fraction:
//! more than about 15 significant digits are rounded, so write such a value as a
//! string) and whose repeated keys serde_json has already merged.
//!
//! A stream of records is read fastest into the facts a results-only
//! evaluator gives back after a run its typed plan decided
//! ([`eval::Evaluator::take_facts`]; after any other run a new `Facts` is
//! read), with [`facts::load_facts_from_str_into`]: a record's records and
//! lists are read into the last record's allocations, where the evaluator
//! holds none of them.
//!
//! ```
//! # use lexnis::{date::Date, eval::Evaluator, policy::{compile, PolicySource}};
//! use lexnis::facts::{load_facts_from_str_into, Facts};
//! # let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
//! let in_scope = compiled.result_index("in_scope").unwrap();
//! let mut evaluator = Evaluator::new(&compiled).results_only();
//! let mut facts = Facts::default();
//! let lines = [
//!     r#"{"id": "a", "entity_types": ["I.6.1"], "size": {"staff": 300, "turnover_eur": 60000000, "balance_sheet_eur": 50000000}}"#,
//!     r#"{"id": "b", "entity_types": ["I.6.1"], "size": {"staff": 3, "turnover_eur": 100000, "balance_sheet_eur": 100000}}"#,
//! ];
//! let mut decided = Vec::new();
//! for line in lines {
//!     load_facts_from_str_into(&compiled.program, line, &mut facts).expect("the facts match the schema");
//!     evaluator.run_in_place(facts).expect("the rules decide");
//!     decided.push((evaluator.facts_id().unwrap().to_string(), evaluator.result(in_scope).clone()));
//!     facts = evaluator.take_facts().unwrap_or_default();
//! }
//! assert_eq!(decided[0], ("a".to_string(), lexnis::value::Value::Bool(true)));
//! assert_eq!(decided[1], ("b".to_string(), lexnis::value::Value::Bool(false)));
//! ```
//!
//! The pipeline, one module per stage: [`parse`] → [`resolve`] → [`check`] →
//! [`lower`] → [`eval`] → [`trace`] → [`render`]; [`diff`] and [`semantic`] compare
//! revisions; [`batch`] streams records; [`policy::compile`] runs the compile stages.

/// `eprintln!` that does not panic when standard error is closed (`lexnis ...
/// 2>&1 | head`): a message that cannot be shown is no reason to crash.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!`, likewise.
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

pub mod allocator;
pub mod ast;
pub mod batch;
pub mod check;
pub mod codegen;
pub mod commands;
pub mod date;
pub mod diagnostic;
pub mod diff;
pub mod eval;
pub mod example;
pub mod facts;
pub mod generate;
pub mod literal;
pub mod lower;
pub mod native;
pub mod parse;
pub mod policy;
pub mod program;
pub mod render;
pub mod resolve;
pub mod review;
pub mod roman;
pub mod rules;
pub mod schema;
pub mod semantic;
pub mod source;
pub mod suggest;
pub mod trace;
pub mod value;

pub use batch::TraceMode;
pub use rules::{DecideError, Decider, Decision, Rules, RulesError};

#[cfg(test)]
mod tests {
    #[test]
    fn a_compiled_policy_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::lower::Compiled>();
    }

    #[test]
    fn an_evaluator_can_be_moved_to_the_thread_that_uses_it() {
        fn movable<T: Send>() {}
        movable::<crate::eval::Evaluator<'static>>();
    }
}
