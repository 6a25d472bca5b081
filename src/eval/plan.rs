//! The eager pass as a list of steps, made once per compiled policy. Most nodes of
//! the NIS rules are conditions (`and`, `or`, rule applications) and names for
//! other nodes (definitions, outcomes that pick a rule's value): those get a step
//! of their own that reads and writes one byte per node, with no `Value` moved.
//! Every other node is a `General` step, computed by [`super::Evaluator::compute`].

use crate::ast::AggKind;
use crate::check::CmpOp;
use crate::lower::{Compiled, Op};
use crate::program::FactId;

/// A range of [`Plan::operands`].
pub type Operands = (u32, u32);

#[derive(Debug, Clone)]
pub enum Step {
    /// Computed by the general evaluator.
    General(u32),
    And(u32, Operands),
    Or(u32, Operands),
    Not(u32, u32),
    /// Whether the operand has a value (`given`) or has none.
    IsGiven(u32, u32, bool),
    /// `<`, `<=`, `>`, `>=` between numbers.
    CompareNumbers(u32, CmpOp, u32, u32),
    /// `=` (or `!=`, when the flag is true).
    Equal(u32, u32, u32, bool),
    /// A fact, from the facts of the run.
    Fact(u32, FactId),
    /// A field of a record.
    Field(u32, u32, u32),
    /// `any`, `all` or `count` over table keys, answered per row at compile time.
    Keys(u32, AggKind, u32),
    /// The rule's condition holds and none of its overriders applies.
    Rule {
        node: u32,
        condition: u32,
        overriders: Operands,
    },
    /// A definition: the value of its body.
    Copy(u32, u32),
    /// `if c then a else b`.
    Choose(u32, u32, u32, u32),
    /// A single-valued outcome: the value of the first rule that applies (pairs of
    /// operands: rule, value), otherwise the default, otherwise none.
    Pick {
        node: u32,
        rules: Operands,
        default: Option<u32>,
    },
}

impl Step {
    /// The node this step computes.
    pub fn node(&self) -> u32 {
        match *self {
            Step::General(n)
            | Step::And(n, _)
            | Step::Or(n, _)
            | Step::Not(n, _)
            | Step::IsGiven(n, _, _)
            | Step::CompareNumbers(n, _, _, _)
            | Step::Equal(n, _, _, _)
            | Step::Fact(n, _)
            | Step::Field(n, _, _)
            | Step::Keys(n, _, _)
            | Step::Rule { node: n, .. }
            | Step::Copy(n, _)
            | Step::Choose(n, _, _, _)
            | Step::Pick { node: n, .. } => n,
        }
    }
}

/// The steps of the eager pass, in topological order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub operands: Vec<u32>,
}

impl Plan {
    pub fn operands(&self, (start, end): Operands) -> &[u32] {
        &self.operands[start as usize..end as usize]
    }

    fn push_operands(&mut self, items: impl IntoIterator<Item = u32>) -> Operands {
        let start = self.operands.len() as u32;
        self.operands.extend(items);
        (start, self.operands.len() as u32)
    }
}

/// The plan of every scheduled node (see [`Compiled::schedule`]).
pub fn plan(compiled: &Compiled) -> Plan {
    let mut plan = Plan::default();
    for &n in &compiled.schedule {
        let step = match &compiled.node(n).op {
            Op::And(items) => Step::And(n, plan.push_operands(items.iter().copied())),
            Op::Or(items) => Step::Or(n, plan.push_operands(items.iter().copied())),
            Op::Not(a) => Step::Not(n, *a),
            Op::IsGiven(a, given) => Step::IsGiven(n, *a, *given),
            Op::Compare(op, a, b)
                if !matches!(op, CmpOp::Eq | CmpOp::Ne)
                    && compiled.node(*a).ty.is_numeric()
                    && compiled.node(*b).ty.is_numeric() =>
            {
                Step::CompareNumbers(n, *op, *a, *b)
            }
            Op::Compare(op @ (CmpOp::Eq | CmpOp::Ne), a, b) => {
                Step::Equal(n, *a, *b, *op == CmpOp::Ne)
            }
            Op::Fact(id) => Step::Fact(n, *id),
            Op::Field(b, i) => Step::Field(n, *b, *i),
            Op::TableAggregate {
                kind, collection, ..
            } => Step::Keys(n, *kind, *collection),
            Op::RuleApplies {
                condition,
                overriders,
                ..
            } => Step::Rule {
                node: n,
                condition: *condition,
                overriders: plan.push_operands(overriders.iter().copied()),
            },
            Op::Define(_, body) => Step::Copy(n, *body),
            Op::If(c, a, b) => Step::Choose(n, *c, *a, *b),
            Op::Outcome {
                rules,
                default,
                collect: false,
                ..
            } => Step::Pick {
                node: n,
                rules: plan.push_operands(rules.iter().flat_map(|(a, v)| [*a, *v])),
                default: *default,
            },
            _ => Step::General(n),
        };
        plan.steps.push(step);
    }
    plan
}
