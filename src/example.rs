//! Inline examples (`example "..." { given ... expect ... }`) run as tests.
//! Entry point: [`run_examples`].

use crate::ast::ExampleDecl;
use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::eval::Evaluator;
use crate::facts::{convert, load_facts};
use crate::lower::Compiled;
use crate::policy::{compile_parsed, parse_all, CompileError, PolicySource};
use crate::resolve::{act_versions, ParsedFile, ResolveError};
use crate::trace::{build_trace, StepKind};
use crate::value::display;
use problems::example_problems;
use serde::Serialize;
use std::collections::BTreeMap;

mod problems;

#[derive(Debug, Clone, Serialize)]
pub struct ExampleResult {
    pub act: String,
    pub name: String,
    /// `file:line:column` of the example.
    pub source: String,
    pub as_of: String,
    pub passed: bool,
    pub failures: Vec<String>,
}

/// Why the examples could not be run at all.
#[derive(Debug)]
pub enum ExampleError {
    Compile(CompileError),
}

impl From<CompileError> for ExampleError {
    fn from(e: CompileError) -> Self {
        ExampleError::Compile(e)
    }
}

/// The examples of each act version, by the date each runs on: the date it
/// names, else `as_of` when given, else the day its version comes into force.
type ExamplesByDate<'a> = BTreeMap<(Date, String, String), Vec<&'a ExampleDecl>>;

/// Also returns, as diagnostics, the examples dated before their act version
/// comes into force, which are left out: no version of the rules they test
/// exists on that date.
fn examples_by_date<'a>(
    source: &PolicySource,
    parsed: &'a [ParsedFile],
    as_of: Option<Date>,
) -> Result<(ExamplesByDate<'a>, Vec<Diagnostic>), CompileError> {
    let versions = act_versions(parsed).map_err(|ResolveError { diagnostics }| CompileError {
        stage: crate::policy::Stage::Resolve,
        diagnostics,
        sources: source.sources.clone(),
    })?;
    let mut by_date = ExamplesByDate::new();
    let mut too_early = Vec::new();
    for (act, vs) in &versions {
        for v in vs {
            let in_force = v.header.in_force.map(|d| d.0).unwrap_or(Date {
                year: 1970,
                month: 1,
                day: 1,
            });
            for f in &v.files {
                for item in &parsed[*f].ast.items {
                    if let crate::ast::Item::Example(e) = item {
                        let date = e.as_of.map(|d| d.0).or(as_of).unwrap_or(in_force);
                        if date < in_force {
                            too_early.push(before_in_force(e, act, date, in_force));
                            continue;
                        }
                        by_date
                            .entry((date, act.clone(), v.folder.clone()))
                            .or_default()
                            .push(e);
                    }
                }
            }
        }
    }
    Ok((by_date, too_early))
}

fn before_in_force(e: &ExampleDecl, act: &str, date: Date, in_force: Date) -> Diagnostic {
    Diagnostic::error(
        "lexnis::example::before_in_force",
        format!(
            "example \"{}\" runs on {date}, before this version of `{act}` comes into force on {in_force}",
            e.name
        ),
    )
    .label(e.as_of.map_or(e.span, |d| d.1), "the example's date")
    .help(format!(
        "date the example on or after {in_force}: the rules it tests apply from then; an \
         example of an earlier version belongs in that version's folder"
    ))
}

/// What is wrong in the examples themselves, without running them: facts
/// that do not exist or do not fit their types, results that do not exist,
/// expected values of the wrong type, an act not in force on the example's
/// date. `check` reports these as it reports any mistake in a rule file.
pub fn check_examples(
    source: &PolicySource,
    parsed: &[ParsedFile],
) -> Result<Vec<Diagnostic>, CompileError> {
    let (by_date, mut problems) = examples_by_date(source, parsed, None)?;
    for ((date, act, folder), examples) in by_date {
        let compiled = compile_parsed(source, parsed, date, Some((&act, &folder)))?;
        for e in examples {
            problems.extend(example_problems(&compiled, e));
        }
    }
    Ok(problems)
}

/// Runs every example of every act version, each against its own act version,
/// pinned, on its date (see `examples_by_date`). An example that is itself
/// wrong ([`check_examples`]) stops the run, as a rule file that does not
/// compile does.
pub fn run_examples(
    source: &PolicySource,
    as_of: Option<Date>,
) -> Result<Vec<ExampleResult>, ExampleError> {
    let parsed = parse_all(source)?;
    let mut results = Vec::new();
    let (by_date, mut problems) = examples_by_date(source, &parsed, as_of)?;
    for ((date, act, folder), examples) in by_date {
        let compiled = compile_parsed(source, &parsed, date, Some((&act, &folder)))?;
        for e in examples {
            let found = example_problems(&compiled, e);
            if found.is_empty() {
                results.push(run_one(&compiled, &act, e, date));
            }
            problems.extend(found);
        }
    }
    if !problems.is_empty() {
        return Err(ExampleError::Compile(CompileError {
            stage: crate::policy::Stage::Check,
            diagnostics: problems,
            sources: source.sources.clone(),
        }));
    }
    Ok(results)
}

fn run_one(compiled: &Compiled, act: &str, e: &ExampleDecl, date: Date) -> ExampleResult {
    let p = &compiled.program;
    let mut result = ExampleResult {
        act: act.to_string(),
        name: e.name.clone(),
        source: p.sources.location(e.span),
        as_of: date.to_string(),
        passed: false,
        failures: Vec::new(),
    };
    let doc = serde_json::Value::Object(
        e.given
            .iter()
            .map(|(n, v)| (n.text.clone(), crate::literal::to_json(v)))
            .collect(),
    );
    let facts = match load_facts(p, &doc) {
        Ok(f) => f,
        Err(errors) => {
            result
                .failures
                .extend(errors.iter().map(|er| format!("given: {er}")));
            return result;
        }
    };
    let mut ev = Evaluator::new(compiled);
    let outcomes = match ev.run(facts) {
        Ok(o) => o,
        Err(er) => {
            result.failures.push(format!("evaluation failed: {er}"));
            return result;
        }
    };
    let trace = match build_trace(&ev) {
        Ok(t) => t,
        Err(e) => {
            result.failures.push(e.to_string());
            return result;
        }
    };
    for ex in &e.expects {
        // `example_problems` has found every name and value well formed.
        let Some(index) = compiled.result_index(&ex.outcome.text) else {
            continue;
        };
        let ty = &compiled.results[index].ty;
        let mut errors = Vec::new();
        let want = convert(
            p,
            ty,
            &crate::literal::to_json(&ex.value),
            &crate::facts::JsonPath::Root,
            &mut errors,
        );
        if let Some(er) = errors.first() {
            result
                .failures
                .push(format!("expect {}: {}", ex.outcome.text, er.message));
            continue;
        }
        let got = &outcomes[index];
        if *got != want {
            result.failures.push(format!(
                "expected {} = {}, got {}",
                ex.outcome.text,
                display(p, ty, &want),
                display(p, ty, got)
            ));
        }
        if let Some((cite, _)) = &ex.because {
            // A rule that did not apply is listed, but it is no reason.
            let cited = (trace.steps.iter())
                .filter(|s| s.kind != StepKind::Rule || s.value == serde_json::Value::Bool(true))
                .any(|s| s.citation.as_deref().is_some_and(|c| cites(c, cite)));
            if !cited {
                result.failures.push(format!(
                    "expected the explanation to cite \"{cite}\", but no step that holds does \
                     (a rule that did not apply is no reason; a provision is matched whole: \
                     \"art. 6, c. 1\" matches \"art. 6, c. 1, lett. a)\", not \"art. 6, c. 10\")"
                ));
            }
        }
    }
    result.passed = result.failures.is_empty();
    result
}

/// Whether `citation` cites `provision` whole: written in it between its
/// start or a `, ` and its end or a `,` (`art. 6, c. 1` is cited by `D.Lgs.
/// 138/2024, art. 6, c. 1, lett. a)`, not by `art. 6, c. 10`; `a` by none).
fn cites(citation: &str, provision: &str) -> bool {
    let provision = provision.trim();
    !provision.is_empty()
        && citation.match_indices(provision).any(|(at, _)| {
            let before = &citation[..at];
            let after = &citation[at + provision.len()..];
            (before.is_empty() || before.ends_with(", "))
                && (after.is_empty() || after.starts_with(','))
        })
}

#[cfg(test)]
mod tests {
    use super::cites;

    #[test]
    fn a_provision_is_cited_whole_or_not_at_all() {
        let citation = "D.Lgs. 138/2024, art. 6, c. 1, lett. a)";
        for cited in [
            "art. 6, c. 1, lett. a)",
            "art. 6, c. 1",
            "art. 6",
            "c. 1",
            citation,
        ] {
            assert!(cites(citation, cited), "{cited}");
        }
        for not_cited in [
            "a",
            "lett. a",
            "art. 6, c. 1, lett. b)",
            "art. 6, c. 10",
            "6, c. 1",
            "",
        ] {
            assert!(!cites(citation, not_cited), "{not_cited}");
        }
        assert!(!cites("D.Lgs. 138/2024, art. 6, c. 10", "art. 6, c. 1"));
    }
}
