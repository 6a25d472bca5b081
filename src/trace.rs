//! Stage 6: the explanation of one evaluation. Entry point: [`build_trace`].
//!
//! Starting from each outcome, it follows only the operands that decided a value:
//! for a false `and`, the operand that was false; for a true `or`, the one that was
//! true; for a rule that applied, its condition and the rules it prevailed over.
//! Of these nodes, the named ones (facts, definitions, rules, outcomes) are the
//! steps, in the DAG's topological order, so that every step comes after its inputs.

use crate::eval::Evaluator;
use crate::lower::{Compiled, Op};
use crate::value::{display, to_json, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Fact,
    Definition,
    Rule,
    Outcome,
}

/// One named node that decided an outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub name: String,
    /// The value in the JSON result format.
    pub value: serde_json::Value,
    /// The value as written in rule files, e.g. `50_000_000 EUR`.
    pub shown: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The provision this step encodes, with its act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// The names of the earlier steps it read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// For a rule that applied: the rules whose conditions also held but that it overrides.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prevails_over: Vec<String>,
    /// For a rule that did not apply because a more specific one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
    /// For a rule: its condition as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Where it is written: `file:line:column`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub steps: Vec<Step>,
}

/// The operands that decided node `n`'s value, given the values computed.
fn deciding_operands(c: &Compiled, ev: &Evaluator<'_>, n: u32) -> Vec<u32> {
    let is = |m: u32, want: bool| ev.memo(m) == Some(&Value::Bool(want));
    let evaluated = |ops: Vec<u32>| ops.into_iter().filter(|o| ev.memo(*o).is_some()).collect();
    match &c.node(n).op {
        Op::And(items) if is(n, false) => items
            .iter()
            .copied()
            .find(|i| is(*i, false))
            .into_iter()
            .collect(),
        Op::Or(items) if is(n, true) => items
            .iter()
            .copied()
            .find(|i| is(*i, true))
            .into_iter()
            .collect(),
        Op::If(cond, a, b) => vec![*cond, if is(*cond, true) { *a } else { *b }],
        Op::RuleApplies {
            condition,
            overriders,
            ..
        } => {
            if is(n, true) {
                std::iter::once(*condition)
                    .chain(overriders.iter().copied())
                    .collect()
            } else if is(*condition, false) {
                vec![*condition]
            } else {
                overriders
                    .iter()
                    .copied()
                    .find(|o| is(*o, true))
                    .into_iter()
                    .collect()
            }
        }
        Op::Outcome {
            rules,
            default,
            collect,
            ..
        } => {
            let applied: Vec<(u32, u32)> = rules
                .iter()
                .copied()
                .filter(|(a, _)| is(*a, true))
                .collect();
            match (applied.first(), collect) {
                (Some(first), false) => vec![first.0, first.1],
                (Some(_), true) => applied.iter().flat_map(|(a, v)| [*a, *v]).collect(),
                (None, _) => evaluated(rules.iter().map(|(a, _)| *a).chain(*default).collect()),
            }
        }
        Op::Aggregate { collection, .. } | Op::TableAggregate { collection, .. } => {
            vec![*collection]
        }
        op => evaluated(op.operands()),
    }
}

fn is_named(op: &Op) -> bool {
    matches!(
        op,
        Op::Fact(_) | Op::Define(..) | Op::RuleApplies { .. } | Op::Outcome { .. }
    )
}

/// Builds the trace of the evaluation that `ev` last ran: an error if that run
/// decided nothing, or was decided by a results-only evaluator's typed plan.
pub fn build_trace(ev: &Evaluator<'_>) -> Result<Trace, NoTrace> {
    if !ev.decided() {
        return Err(NoTrace::NoDecision);
    }
    if ev.ran_lean() {
        return Err(NoTrace::ResultsOnly);
    }
    let c = ev.compiled;
    // For each named node reached, the named nodes it read.
    let mut inputs: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    let mut todo: Vec<u32> = c.results.iter().map(|r| r.node).collect();
    while let Some(named) = todo.pop() {
        if inputs.contains_key(&named) {
            continue;
        }
        let mut found = BTreeSet::new();
        let mut stack = deciding_operands(c, ev, named);
        let mut seen = BTreeSet::new();
        while let Some(m) = stack.pop() {
            if !seen.insert(m) || ev.memo(m).is_none() {
                continue;
            }
            if is_named(&c.node(m).op) {
                found.insert(m);
                todo.push(m);
            } else {
                stack.extend(deciding_operands(c, ev, m));
            }
        }
        inputs.insert(named, found);
    }
    let steps = inputs.iter().map(|(n, ins)| step(ev, *n, ins)).collect();
    Ok(Trace { steps })
}

/// Why the last run of an evaluator has no trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTrace {
    /// There was no run, or the last one failed or was refused: no decision
    /// to explain.
    NoDecision,
    /// A results-only evaluator ([`Evaluator::results_only`]) decided the
    /// last run by its typed plan, which keeps the results and the rules that
    /// applied, not the values that explain them.
    ResultsOnly,
}

impl std::fmt::Display for NoTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoTrace::NoDecision => {
                "no trace: the evaluator has decided nothing since its last run failed \
                 (or it has not run yet)"
            }
            NoTrace::ResultsOnly => {
                "no trace: a results-only evaluator keeps the results and the rules that \
                 applied (`applied_rules`), not their explanation; evaluate with \
                 `Evaluator::new` alone to trace"
            }
        })
    }
}

impl std::error::Error for NoTrace {}

fn step(ev: &Evaluator<'_>, n: u32, inputs: &BTreeSet<u32>) -> Step {
    let c = ev.compiled;
    let p = &c.program;
    let node = c.node(n);
    let value = ev.memo(n).cloned().unwrap_or(Value::Absent);
    let mut s = Step {
        kind: StepKind::Fact,
        name: String::new(),
        value: to_json(p, &node.ty, &value),
        shown: display(p, &node.ty, &value),
        description: None,
        citation: None,
        inputs: inputs.iter().map(|i| node_name(c, *i)).collect(),
        prevails_over: Vec::new(),
        overridden_by: None,
        condition: None,
        source: p.sources.location(node.span),
    };
    match &node.op {
        Op::Fact(id) => {
            let f = &p.facts[id.index()];
            s.name = f.spec.name.clone();
            s.description = f.spec.description.clone();
        }
        Op::Define(id, _) => {
            let d = &p.defines[id.index()];
            s.kind = StepKind::Definition;
            s.name = node_name(c, n);
            s.description = d.description.clone();
            s.citation = Some(p.full_citation(d.act, &d.citation));
        }
        Op::RuleApplies {
            rule,
            condition,
            overriders,
        } => {
            let r = &p.rules[rule.index()];
            s.kind = StepKind::Rule;
            s.name = r.name.clone();
            s.description = r.description.clone();
            s.citation = Some(p.full_citation(r.act, &r.citation));
            s.condition = Some(p.sources.snippet_on_one_line(r.condition.span));
            if ev.memo(n) == Some(&Value::Bool(false))
                && ev.memo(*condition) == Some(&Value::Bool(true))
            {
                s.overridden_by = overriders
                    .iter()
                    .find(|o| ev.memo(**o) == Some(&Value::Bool(true)))
                    .map(|o| node_name(c, *o));
            }
            s.prevails_over = overridden_rules(ev, *rule);
        }
        Op::Outcome { outcome, .. } => {
            let o = &p.outcomes[outcome.index()];
            s.kind = StepKind::Outcome;
            s.name = o.name.clone();
            s.description = o.description.clone();
        }
        _ => {}
    }
    s
}

/// Rules whose condition held but that `rule` overrides, when `rule` applied.
fn overridden_rules(ev: &Evaluator<'_>, rule: crate::program::RuleId) -> Vec<String> {
    let c = ev.compiled;
    let rn = c.rule_nodes[rule.index()];
    if ev.memo(rn) != Some(&Value::Bool(true)) {
        return Vec::new();
    }
    let p = &c.program;
    p.rules[rule.index()]
        .overrides
        .iter()
        .filter(|o| match &c.node(c.rule_nodes[o.index()]).op {
            Op::RuleApplies { condition, .. } => ev.memo(*condition) == Some(&Value::Bool(true)),
            _ => false,
        })
        .map(|o| p.rules[o.index()].name.clone())
        .collect()
}

/// The name of a named node, as steps refer to each other.
pub fn node_name(c: &Compiled, n: u32) -> String {
    let p = &c.program;
    match &c.node(n).op {
        Op::Fact(id) => p.facts[id.index()].spec.name.clone(),
        // A call is named by the text of the call: `size_class_of(size.staff, ...)`.
        Op::Define(id, _) if !p.defines[id.index()].params.is_empty() => {
            p.sources.snippet_on_one_line(c.node(n).span)
        }
        Op::Define(id, _) => p.defines[id.index()].name.clone(),
        Op::RuleApplies { rule, .. } => p.rules[rule.index()].name.clone(),
        Op::Outcome { outcome, .. } => p.outcomes[outcome.index()].name.clone(),
        _ => format!("#{n}"),
    }
}

/// A rule that applied, with its citation: the compact trace of batch results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppliedRule {
    pub rule: String,
    pub citation: String,
}

/// The rules that applied in the evaluation `ev` last ran, in declaration order.
pub fn applied_rules(ev: &Evaluator<'_>) -> Vec<AppliedRule> {
    let p = &ev.compiled.program;
    applied_rule_ids(ev)
        .map(|rule| AppliedRule::of(p, rule))
        .collect()
}

impl AppliedRule {
    /// The compact-trace entry of a rule: its name and full citation.
    pub fn of(p: &crate::program::Program, rule: crate::program::RuleId) -> AppliedRule {
        let r = &p.rules[rule.index()];
        AppliedRule {
            rule: r.name.clone(),
            citation: p.full_citation(r.act, &r.citation),
        }
    }
}

/// Every rule's compact-trace entry, by rule index: made once for a program
/// by a writer of many results.
pub fn entries_by_rule(p: &crate::program::Program) -> impl Iterator<Item = AppliedRule> + '_ {
    (0..p.rules.len() as u32).map(|r| AppliedRule::of(p, crate::program::RuleId(r)))
}

/// The ids of the rules that applied, in declaration order: what a compact trace
/// lists, without making any text.
pub fn applied_rule_ids(ev: &Evaluator<'_>) -> impl Iterator<Item = crate::program::RuleId> {
    let (mut reached, mut applied) = (Vec::new(), Vec::new());
    ev.applied_rule_indices_into(&mut reached, &mut applied);
    applied.into_iter().map(crate::program::RuleId)
}

/// A trace as results carry it: every step, or only the rules that applied.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum TraceView<'a> {
    Steps(&'a [Step]),
    Applied(&'a [AppliedRule]),
    /// A compact trace of rules already serialised, one `{"rule", "citation"}` each.
    Serialized(&'a [&'a serde_json::value::RawValue]),
    Listed(AppliedList<'a>),
}

/// A compact trace as the indices of the rules that applied into every
/// rule's entry: serialised as the list of those rules' entries.
#[derive(Debug, Clone, Copy)]
pub struct AppliedList<'a> {
    /// Every rule's entry, by rule index ([`AppliedRule::of`]).
    pub entries: &'a [AppliedRule],
    pub applied: &'a [u32],
}

impl Serialize for AppliedList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.applied.iter().map(|&r| &self.entries[r as usize]))
    }
}
