//! Mistakes in an inline example itself, found without running it: the facts it
//! gives must be declared facts of their types, and each `expect` must name a
//! result and a value of that result's type. Reported with the place of the
//! mistake, as any other mistake in a rule file.

use crate::ast::{ExampleDecl, Expectation};
use crate::diagnostic::Diagnostic;
use crate::facts::{convert, load_facts, FactErrorKind, JsonPath};
use crate::literal::{as_written, literal_at, to_json, wrong_literal_help};
use crate::lower::Compiled;
use crate::suggest::did_you_mean;
use std::collections::HashMap;

/// An example dated before its act version is kept out earlier (see
/// `examples_by_date`), so its act is always in `c`.
pub(super) fn example_problems(c: &Compiled, e: &ExampleDecl) -> Vec<Diagnostic> {
    let mut problems = given_problems(c, e);
    problems.extend(e.expects.iter().filter_map(|x| expect_problem(c, x)));
    problems.extend(expected_twice(e));
    problems.extend(expects_nothing(c, e));
    problems
}

/// An example without `expect` passes whatever the rules decide: it tests
/// nothing, and a reader would take it for a case the rules were checked on.
fn expects_nothing(c: &Compiled, e: &ExampleDecl) -> Option<Diagnostic> {
    if !e.expects.is_empty() {
        return None;
    }
    let first = (c.results.first()).map_or("in_scope", |r| r.key.as_str());
    Some(
        Diagnostic::error(
            "lexnis::example::expects_nothing",
            format!("example \"{}\" expects nothing, so it passes whatever the rules decide", e.name),
        )
        .label(e.span, "no `expect` in this example")
        .help(format!(
            "add what the text says the result is, e.g. `expect {first} = ...`, with `because \"art. N\"` for the provision"
        )),
    )
}

/// Two `expect` lines for one result: at best one is redundant, at worst the
/// example can never pass.
fn expected_twice(e: &ExampleDecl) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, crate::source::Span> = HashMap::new();
    let mut problems = Vec::new();
    for x in &e.expects {
        let name = x.outcome.text.as_str();
        match first.get(name) {
            Some(&at) => problems.push(
                Diagnostic::error(
                    "lexnis::example::expected_twice",
                    format!("example \"{}\" expects `{name}` twice", e.name),
                )
                .label(x.outcome.span, "second")
                .label(at, "first")
                .help("a result has one value: keep one `expect` for it"),
            ),
            None => {
                first.insert(name, x.outcome.span);
            }
        }
    }
    problems
}

fn given_problems(c: &Compiled, e: &ExampleDecl) -> Vec<Diagnostic> {
    let p = &c.program;
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    for (name, _) in &e.given {
        if let Some(first) = seen.insert(name.text.as_str(), name.span) {
            problems.push(
                Diagnostic::error(
                    "lexnis::example::given_twice",
                    format!("example \"{}\" gives `{}` twice", e.name, name.text),
                )
                .label(name.span, "second")
                .label(first, "first")
                .help("which value would count? Keep one"),
            );
        } else if p.facts.iter().all(|f| f.spec.name != name.text) {
            let facts = p.facts.iter().map(|f| f.spec.name.as_str());
            problems.push(
                Diagnostic::error(
                    "lexnis::example::unknown_fact",
                    format!(
                        "example \"{}\" gives `{}`, which is not a fact",
                        e.name, name.text
                    ),
                )
                .label(name.span, "not a declared fact")
                .help(did_you_mean(
                    &name.text,
                    facts,
                    "`given` takes the facts declared with `fact`",
                )),
            );
        }
    }
    let doc = serde_json::Value::Object(
        (e.given.iter())
            .map(|(n, v)| (n.text.clone(), to_json(v)))
            .collect(),
    );
    let errors = load_facts(p, &doc).err().unwrap_or_default();
    // A fact left out altogether is shown at the start of `given`.
    let given_at = e.given.first().map_or(e.span, |(name, _)| name.span);
    for er in errors
        .iter()
        .filter(|er| er.kind != FactErrorKind::UnknownField)
    {
        let wrong = literal_at(&e.given, None, &er.path);
        let span = wrong.map_or(given_at, |w| w.span());
        // `size.staff` as the rule file writes it, rather than JSON's `$.size.staff`.
        let place = er.path.trim_start_matches('$').trim_start_matches('.');
        let message = wrong.map_or(er.message.clone(), |w| as_written(w, &er.message));
        let message = message.trim_start_matches("wrong type: ");
        let mut d = Diagnostic::error(
            "lexnis::example::given",
            format!("example \"{}\": `{place}`: {message}", e.name),
        );
        if er.kind == FactErrorKind::MissingField {
            d = d
                .label(span, format!("`{place}` is not given"))
                .help(format!("add `{place} = ...`: it has no default",));
        } else {
            d = d.label(span, "this value");
            let written = (wrong.filter(|_| er.kind == FactErrorKind::WrongType))
                .and_then(|w| wrong_literal_help(w, None));
            if let Some(help) = er.help.clone().or(written) {
                d = d.help(help);
            }
        }
        problems.push(d);
    }
    problems
}

fn expect_problem(c: &Compiled, x: &Expectation) -> Option<Diagnostic> {
    let p = &c.program;
    let Some(index) = c.result_index(&x.outcome.text) else {
        let names = c.results.iter().map(|r| r.name.as_str());
        return Some(
            Diagnostic::error(
                "lexnis::example::unknown_result",
                format!(
                    "`expect {}`: no outcome or reported definition has that name",
                    x.outcome.text
                ),
            )
            .label(x.outcome.span, "not a result")
            .help(did_you_mean(
                &x.outcome.text,
                names,
                "`expect` names an outcome or a reported definition",
            )),
        );
    };
    let ty = &c.results[index].ty;
    let mut errors = Vec::new();
    convert(p, ty, &to_json(&x.value), &JsonPath::Root, &mut errors);
    let er = errors.first()?;
    let wrong = literal_at(&[], Some(&x.value), &er.path).unwrap_or(&x.value);
    let message = as_written(wrong, &er.message);
    let mut d = Diagnostic::error(
        "lexnis::example::expected_value",
        format!(
            "`expect {}`: {}",
            x.outcome.text,
            message.trim_start_matches("wrong type: ")
        ),
    )
    .label(wrong.span(), format!("expected {}", p.type_name(ty)));
    let whole = std::ptr::eq(wrong, &x.value).then(|| p.type_name(ty));
    let written = (er.kind == FactErrorKind::WrongType)
        .then(|| wrong_literal_help(wrong, whole.as_deref()))
        .flatten();
    if let Some(help) = er.help.clone().or(written) {
        d = d.help(help);
    }
    Some(d)
}
