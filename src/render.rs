//! Stage 7: results and graphs for people and programs. Entry points:
//! [`result_json`], [`explain_text`], [`explain_markdown`], [`graph_dot`], [`graph_mermaid`].

use crate::eval::Evaluator;
use crate::lower::{Compiled, Op};
use crate::program::Program;
use crate::trace::{Step, StepKind, Trace};
use crate::value::{display, Value};
use serde_json::{json, Value as Json};
use std::fmt::Write as _;

pub use crate::program::RESERVED_KEYS;

/// The act versions used, with their review status (art. 40, c. 10 and 11).
pub fn policy_versions(program: &Program) -> Json {
    let as_of = program.as_of;
    Json::Array(
        program
            .acts
            .iter()
            .map(|a| {
                let deadline = a.review_deadline();
                json!({
                    "act": a.id,
                    "cited_as": a.cited_as,
                    "in_force": a.in_force.to_string(),
                    "review_deadline": deadline.map(|d| d.to_string()),
                    "review_overdue": matches!((deadline, as_of), (Some(d), Some(t)) if t > d),
                })
            })
            .collect(),
    )
}

/// Warnings that hold for every evaluation under this program: overdue reviews.
pub fn program_warnings(program: &Program) -> Vec<String> {
    let Some(as_of) = program.as_of else {
        return Vec::new();
    };
    let overdue = program.acts.iter().filter_map(|a| {
        let deadline = a.review_deadline()?;
        let review = a.review.as_ref()?;
        (as_of > deadline).then(|| {
            format!(
                "{} ({}) was due for review by {deadline} under {}; the version in force may be out of date",
                a.cited_as, a.id, review.citation
            )
        })
    });
    let absent = program.not_yet_in_force.iter().map(|(id, first)| {
        format!("act {id} is not yet in force on {as_of} (its first version applies from {first}): the result does not take it into account")
    });
    overdue.chain(absent).collect()
}

/// The parts of a result that are the same for every record of a program,
/// serialised once.
pub struct ResultHeader {
    versions: Json,
    warnings: Json,
    /// The same, already serialised, for one-line output.
    raw_versions: Box<serde_json::value::RawValue>,
    raw_warnings: Box<serde_json::value::RawValue>,
}

impl ResultHeader {
    pub fn new(p: &Program) -> ResultHeader {
        let raw = |v: &Json| serde_json::value::to_raw_value(v).unwrap_or_else(|_| Box::default());
        let (versions, warnings) = (policy_versions(p), json!(program_warnings(p)));
        ResultHeader {
            raw_versions: raw(&versions),
            raw_warnings: raw(&warnings),
            versions,
            warnings,
        }
    }
}

/// One result document: `line` (batch), id, date, every result by key, versions,
/// warnings, and the trace when asked for. Serialised straight to the output.
pub struct ResultRecord<'a> {
    pub header: &'a ResultHeader,
    pub compiled: &'a Compiled,
    /// The facts' id, and the date the rules were applied on.
    pub id: Option<&'a str>,
    pub as_of: crate::date::Date,
    pub values: &'a [Value],
    pub line: Option<u64>,
    pub trace: Option<crate::trace::TraceView<'a>>,
    /// One line (batch) rather than indented: the header goes out pre-serialised.
    pub compact: bool,
}

impl<'a> ResultRecord<'a> {
    /// The document of the run `ev` last made, whose results are `values`:
    /// without a line number or a trace, indented.
    pub fn of_run(header: &'a ResultHeader, ev: &'a Evaluator<'_>, values: &'a [Value]) -> Self {
        ResultRecord {
            header,
            compiled: ev.compiled,
            id: ev.facts_id(),
            as_of: ev.as_of(),
            values,
            line: None,
            trace: None,
            compact: false,
        }
    }
}

impl serde::Serialize for ResultRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let p = &self.compiled.program;
        let mut m = s.serialize_map(None)?;
        if let Some(line) = self.line {
            m.serialize_entry("line", &line)?;
        }
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("as_of", &self.as_of)?;
        for (r, v) in self.compiled.results.iter().zip(self.values) {
            m.serialize_entry(
                &r.key,
                &crate::value::Typed {
                    program: p,
                    ty: &r.ty,
                    value: v,
                },
            )?;
        }
        if self.compact {
            m.serialize_entry("policy_versions", &self.header.raw_versions)?;
            m.serialize_entry("warnings", &self.header.raw_warnings)?;
        } else {
            m.serialize_entry("policy_versions", &self.header.versions)?;
            m.serialize_entry("warnings", &self.header.warnings)?;
        }
        if let Some(t) = &self.trace {
            m.serialize_entry("trace", t)?;
        }
        m.end()
    }
}

/// The result of one evaluation outside a batch (no line number, indented).
fn single_result<T>(
    ev: &Evaluator<'_>,
    outcomes: &[Value],
    trace: Option<crate::trace::TraceView<'_>>,
    write: impl FnOnce(&ResultRecord<'_>) -> T,
) -> T {
    let header = ResultHeader::new(&ev.compiled.program);
    write(&ResultRecord {
        trace,
        ..ResultRecord::of_run(&header, ev, outcomes)
    })
}

/// The result document as text, keys in their documented order (results in the
/// order the rule files declare them).
pub fn result_text(
    ev: &Evaluator<'_>,
    outcomes: &[Value],
    trace: Option<crate::trace::TraceView<'_>>,
) -> String {
    single_result(ev, outcomes, trace, |r| {
        serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
    })
}

/// The JSON result of one evaluation: id, outcomes by name, versions, warnings, trace.
pub fn result_json(ev: &Evaluator<'_>, outcomes: &[Value], trace: Option<&Trace>) -> Json {
    let steps = trace.map(|t| crate::trace::TraceView::Steps(&t.steps));
    single_result(ev, outcomes, steps, |r| {
        serde_json::to_value(r).unwrap_or(Json::Null)
    })
}

/// The entity's id as explanations show it.
fn entity_id(ev: &Evaluator<'_>) -> String {
    ev.facts_id().unwrap_or("(no id)").to_string()
}

fn versions_line(p: &Program) -> String {
    p.acts
        .iter()
        .map(|a| format!("{} (in force from {})", a.cited_as, a.in_force))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A lawyer-readable explanation: outcomes, then numbered steps with citations.
pub fn explain_text(ev: &Evaluator<'_>, outcomes: &[Value], trace: &Trace) -> String {
    let p = &ev.compiled.program;
    let mut out = String::new();
    let id = entity_id(ev);
    let _ = writeln!(out, "Entity {id}, as of {}", ev.as_of());
    let _ = writeln!(out, "Rules: {}", versions_line(p));
    for w in program_warnings(p) {
        let _ = writeln!(out, "Warning: {w}");
    }
    let _ = writeln!(out, "\nOutcome");
    let width = ev
        .compiled
        .results
        .iter()
        .map(|r| r.key.len())
        .max()
        .unwrap_or(0);
    for (r, v) in ev.compiled.results.iter().zip(outcomes) {
        let _ = writeln!(out, "  {:width$}  {}", r.key, display(p, &r.ty, v));
    }
    for (heading, steps) in explanation(ev, outcomes, trace) {
        let _ = writeln!(out, "\nWhy {heading}");
        for (number, step, inputs) in steps {
            write_step(&mut out, number, step, &inputs);
        }
    }
    out
}

/// A numbered step, with its inputs by name and step number.
type Numbered<'t> = (usize, &'t Step, Vec<String>);

/// The trace grouped by result: under each result, the steps that decided it and
/// were not already shown under an earlier one, inputs first. Steps are numbered in
/// the order shown, and inputs refer back to those numbers.
fn explanation<'t>(
    ev: &Evaluator<'_>,
    values: &[Value],
    trace: &'t Trace,
) -> Vec<(String, Vec<Numbered<'t>>)> {
    let p = &ev.compiled.program;
    let by_name: std::collections::HashMap<&str, usize> = trace
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let mut number_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut groups = Vec::new();
    for (r, v) in ev.compiled.results.iter().zip(values) {
        let Some(&root) = by_name.get(r.name.as_str()) else {
            continue;
        };
        let mut wanted = std::collections::BTreeSet::new();
        let mut todo = vec![root];
        while let Some(i) = todo.pop() {
            if number_of.contains_key(&i) || !wanted.insert(i) {
                continue;
            }
            todo.extend(
                trace.steps[i]
                    .inputs
                    .iter()
                    .filter_map(|n| by_name.get(n.as_str()).copied()),
            );
        }
        let mut steps = Vec::new();
        for i in wanted {
            let number = number_of.len() + 1;
            number_of.insert(i, number);
            let step = &trace.steps[i];
            let inputs = step
                .inputs
                .iter()
                .map(
                    |n| match by_name.get(n.as_str()).and_then(|j| number_of.get(j)) {
                        Some(k) => format!("{n} ({k})"),
                        None => n.clone(),
                    },
                )
                .collect();
            steps.push((number, step, inputs));
        }
        groups.push((format!("{} = {}", r.key, display(p, &r.ty, v)), steps));
    }
    groups
}

fn write_step(out: &mut String, number: usize, s: &Step, inputs: &[String]) {
    let head = match s.kind {
        StepKind::Fact => format!("Fact {} = {}", s.name, s.shown),
        StepKind::Definition => format!("{} = {}", s.name, s.shown),
        StepKind::Rule => match (&s.value, &s.overridden_by) {
            (Json::Bool(true), _) => format!("Rule {} applies", s.name),
            (_, Some(by)) => format!("Rule {} does not apply: {} prevails over it", s.name, by),
            _ => format!("Rule {} does not apply", s.name),
        },
        StepKind::Outcome => format!("Therefore {} = {}", s.name, s.shown),
    };
    let _ = writeln!(out, "{number:>3}. {head}");
    let pad = "     ";
    if let Some(d) = &s.description {
        let _ = writeln!(out, "{pad}«{d}»");
    }
    if let Some(c) = &s.citation {
        let _ = writeln!(out, "{pad}[{c}]");
    }
    if let Some(c) = &s.condition {
        let _ = writeln!(out, "{pad}when {c}");
    }
    if !s.prevails_over.is_empty() {
        let _ = writeln!(out, "{pad}prevails over: {}", s.prevails_over.join(", "));
    }
    if !inputs.is_empty() {
        let _ = writeln!(out, "{pad}from: {}", inputs.join(", "));
    }
}

/// The same explanation as Markdown, for reports.
pub fn explain_markdown(ev: &Evaluator<'_>, outcomes: &[Value], trace: &Trace) -> String {
    let p = &ev.compiled.program;
    let mut out = String::new();
    let id = entity_id(ev);
    let _ = writeln!(
        out,
        "## Entity `{id}`, as of {}\n\nRules: {}\n",
        ev.as_of(),
        versions_line(p)
    );
    for w in program_warnings(p) {
        let _ = writeln!(out, "> **Warning:** {w}\n");
    }
    let _ = writeln!(out, "| outcome | value |\n|---|---|");
    for (r, v) in ev.compiled.results.iter().zip(outcomes) {
        let _ = writeln!(out, "| {} | `{}` |", r.key, display(p, &r.ty, v));
    }
    for (heading, steps) in explanation(ev, outcomes, trace) {
        let _ = writeln!(out, "\n### Why `{heading}`\n");
        for (number, step, inputs) in steps {
            let mut text = String::new();
            write_step(&mut text, number, step, &inputs);
            let mut lines = text.lines();
            let head = lines.next().unwrap_or_default().trim_start();
            let head = head.split_once(". ").map_or(head, |(_, h)| h);
            let _ = writeln!(out, "{number}. **{head}**  ");
            for l in lines {
                let _ = writeln!(out, "   {}  ", l.trim());
            }
        }
    }
    out
}

/// Problems with a facts document, one per line, each with its JSON path.
pub fn fact_errors_text(document: &str, errors: &[crate::facts::FactError]) -> String {
    let mut out =
        format!("error: {document}: the facts do not match the schema of the rules in force\n");
    for e in errors {
        let _ = writeln!(out, "  - {e}");
    }
    let _ = writeln!(
        out,
        "{} problem(s); `lexnis schema` prints the expected shape",
        errors.len()
    );
    out
}

/// A short label for a node of the DAG.
fn node_label(c: &Compiled, n: u32) -> (String, &'static str) {
    let p = &c.program;
    let node = c.node(n);
    match &node.op {
        Op::Fact(id) => (format!("fact {}", p.facts[id.index()].spec.name), "fact"),
        Op::Define(id, _) => (
            format!(
                "{}\\n[{}]",
                p.defines[id.index()].name,
                p.defines[id.index()].citation
            ),
            "define",
        ),
        Op::RuleApplies { rule, .. } => {
            let r = &p.rules[rule.index()];
            (format!("rule {}\\n[{}]", r.name, r.citation), "rule")
        }
        Op::Outcome { outcome, .. } => (
            format!("outcome {}", p.outcomes[outcome.index()].name),
            "outcome",
        ),
        Op::Const(v) => (display(p, &node.ty, v), "condition"),
        _ => (short_snippet(p.sources.snippet(node.span)), "condition"),
    }
}

/// The first 48 characters of an expression's text, its spaces and line breaks
/// each run made one space, with `…` if there is more. Reads no further than it
/// shows: a long expression's every subexpression is a node, and reading each
/// one whole made drawing them quadratic in the expression's length.
fn short_snippet(text: &str) -> String {
    const SHOWN: usize = 48;
    let mut chars = (text.split_whitespace().enumerate())
        .flat_map(|(i, word)| (i > 0).then_some(' ').into_iter().chain(word.chars()));
    let short: String = chars.by_ref().take(SHOWN).collect();
    match chars.next() {
        Some(_) => format!("{short}…"),
        None => short,
    }
}

fn escape(s: &str) -> String {
    s.replace('"', "\\\"")
}

/// The DAG in Graphviz DOT: facts, definitions, conditions, rules and outcomes.
pub fn graph_dot(c: &Compiled) -> String {
    let mut out = String::from(
        "digraph lexnis {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for i in 0..c.node_count() as u32 {
        let (label, kind) = node_label(c, i);
        let shape = match kind {
            "fact" => "shape=box, style=rounded",
            "define" => "shape=box",
            "rule" => "shape=box, style=filled, fillcolor=\"#e8f0fe\"",
            "outcome" => "shape=doubleoctagon",
            _ => "shape=ellipse, fontsize=8",
        };
        let _ = writeln!(out, "  n{i} [label=\"{}\", {shape}];", escape(&label));
    }
    for e in c.graph.raw_edges() {
        let _ = writeln!(out, "  n{} -> n{};", e.source().index(), e.target().index());
    }
    out.push_str("}\n");
    out
}

/// The DAG as a Mermaid flowchart, for Markdown viewers.
pub fn graph_mermaid(c: &Compiled) -> String {
    let mut out = String::from("flowchart LR\n");
    for i in 0..c.node_count() as u32 {
        let (label, kind) = node_label(c, i);
        let label = label.replace("\\n", "<br/>").replace('"', "#quot;");
        let (open, close) = match kind {
            "fact" => ("([", "])"),
            "outcome" => ("{{", "}}"),
            "rule" | "define" => ("[", "]"),
            _ => ("(", ")"),
        };
        let _ = writeln!(out, "  n{i}{open}\"{label}\"{close}");
    }
    for e in c.graph.raw_edges() {
        let _ = writeln!(out, "  n{} --> n{}", e.source().index(), e.target().index());
    }
    out
}

pub mod diff;
pub mod line;

#[cfg(test)]
mod tests {
    use super::short_snippet;

    #[test]
    fn a_label_is_the_expression_on_one_line_cut_at_48_characters() {
        assert_eq!(short_snippet("a   and\n    b"), "a and b");
        let exact = "x".repeat(48);
        assert_eq!(short_snippet(&exact), exact);
        let long = format!("{exact} y");
        assert_eq!(short_snippet(&long), format!("{exact}…"));
        // Characters, not bytes: an accented name is cut where it is shown.
        let accented = "è".repeat(49);
        assert_eq!(short_snippet(&accented), format!("{}…", "è".repeat(48)));
    }
}
