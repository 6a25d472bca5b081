//! The eager pass as a list of steps, made once per compiled policy. Most nodes of
//! the NIS rules are conditions (`and`, `or`, rule applications) and names for
//! other nodes: a definition shares the slot of its body (an alias, no step), and
//! conditions get steps that read and write one byte per node, with no `Value`
//! moved. Facts, fields, arithmetic, comparisons, `if`, and outcomes have steps of
//! their own that hand the unusual case (an absent operand, a division by zero)
//! to `Evaluator::compute`; aggregates and calls are `General` steps,
//! computed by it.

use crate::ast::AggKind;
use crate::check::{ArithOp, CmpOp};
use crate::lower::{Compiled, Op};
use crate::program::FactId;

/// A range of [`Plan::operands`].
pub type Operands = (u32, u32);

#[derive(Debug, Clone, Hash)]
pub enum Step {
    /// Computed by the general evaluator.
    General(u32),
    And(u32, Operands),
    Or(u32, Operands),
    Not(u32, u32),
    /// Whether the operand has a value (`given`) or has none.
    IsGiven(u32, u32, bool),
    /// `<`, `<=`, `>`, `>=`.
    Order(u32, CmpOp, u32, u32),
    /// `=` (or `!=`, when the flag is true).
    Equal(u32, u32, u32, bool),
    /// A fact, from the facts of the run.
    Fact(u32, FactId),
    /// A field of a record.
    Field(u32, u32, u32),
    /// Arithmetic on two numbers.
    Arith(u32, ArithOp, u32, u32),
    /// An aggregate's variable (at a depth).
    Local(u32, u32),
    /// `any` or `all` over table keys, answered per row at compile time: the
    /// answers are [`Plan::key_rows`] at the last index.
    Keys(u32, AggKind, u32, u32),
    /// The rule's condition holds and none of its overriders applies.
    Rule {
        node: u32,
        condition: u32,
        overriders: Operands,
    },
    /// `if c then a else b`.
    Choose(u32, u32, u32, u32),
    /// A single-valued outcome: the value of the first rule that applies (pairs of
    /// operands: rule, value), otherwise the default, otherwise none.
    Pick {
        node: u32,
        rules: Operands,
        default: Option<u32>,
    },
    /// A set-valued outcome whose rules all conclude constants (at most 64 rules):
    /// the set of the values of the rules that apply, otherwise the default, and
    /// for each combination of rules the same set, made once.
    Collect {
        node: u32,
        rules: Operands,
        default: Option<u32>,
    },
}

impl Step {
    /// The node the step computes.
    pub fn node(&self) -> u32 {
        match *self {
            Step::General(n)
            | Step::And(n, _)
            | Step::Or(n, _)
            | Step::Not(n, _)
            | Step::IsGiven(n, _, _)
            | Step::Order(n, _, _, _)
            | Step::Equal(n, _, _, _)
            | Step::Fact(n, _)
            | Step::Field(n, _, _)
            | Step::Arith(n, _, _, _)
            | Step::Local(n, _)
            | Step::Keys(n, _, _, _)
            | Step::Choose(n, _, _, _) => n,
            Step::Rule { node, .. } | Step::Pick { node, .. } | Step::Collect { node, .. } => node,
        }
    }
}

/// The steps of the eager pass, in topological order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub operands: Vec<u32>,
    /// Per `Keys` step, the rows of the table that satisfy its condition.
    pub key_rows: Vec<Vec<bool>>,
    /// Per node, the node whose slot holds its value: itself, or for a definition
    /// (and a rule no other rule overrides) the node it names.
    pub alias: Vec<u32>,
    /// The steps of the nodes aggregates compute per element, and per node the
    /// index of its step there (`NO_STEP` for a node that shares another's slot).
    pub scoped_steps: Vec<Step>,
    pub scoped_step_of: Vec<u32>,
    /// What a compact trace reads after a native or interpreted run, by rule
    /// index and slot: each outcome's rules (whether it collects them all), and
    /// each overridden rule's condition and overriders, every rule before those
    /// that override it. (A lean run marks the same rules as bits where it reads
    /// them.)
    pub outcome_rules: Vec<(bool, Vec<RuleSlot>)>,
    pub rule_checks: Vec<RuleCheck>,
    /// Whether [`super::Evaluator::memo`] after an eager run is exactly what an
    /// on-demand run computes: true unless an aggregate's elements read a value
    /// from outside the aggregate other than a constant or a fact. Such a value
    /// may be read for some elements only, and the eager pass keeps only the last
    /// element's reading (see `eval::reach`).
    pub reach_is_exact: bool,
    /// A hash of `steps` and `operands`: the plan's shape, which a native plan
    /// (`crate::native`) must have been written from to stand in for it.
    pub fingerprint: u64,
}

/// A rule by index, and the slot that says whether it applied.
#[derive(Debug, Clone, Copy)]
pub struct RuleSlot {
    pub rule: u32,
    pub slot: u32,
}

#[derive(Debug, Clone)]
pub struct RuleCheck {
    pub rule: u32,
    pub condition: u32,
    pub overriders: Vec<RuleSlot>,
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

/// In [`Plan::scoped_step_of`]: the node has no step of its own.
pub const NO_STEP: u32 = u32::MAX;

/// Whether what node `n` reads keeps the eager pass's reach exact
/// ([`Plan::reach_is_exact`]): a node an aggregate recomputes for each element
/// reads only what [`read_for_each_element`] allows, and so do an aggregate's
/// filter and body (one that does not read the variable is computed once,
/// before the loop, and the last element's reading of it says nothing of the
/// others').
fn reads_exactly(compiled: &Compiled, n: u32) -> bool {
    let node = compiled.node(n);
    let allowed = |o: u32| read_for_each_element(compiled.node(o));
    match &node.op {
        _ if node.scoped => {
            let mut plain = true;
            node.op.for_each_operand(|o| plain &= allowed(o));
            plain
        }
        Op::Aggregate { body, filter, .. } => body.iter().chain(filter).all(|o| allowed(*o)),
        _ => true,
    }
}

/// Whether an aggregate may read `node` for each element with the eager pass's
/// reach still exact: a node of its own (recomputed for each element), a
/// constant or a fact (read in place, reading nothing).
pub(crate) fn read_for_each_element(node: &crate::lower::Node) -> bool {
    node.scoped || matches!(node.op, Op::Const(_) | Op::Fact(_))
}

/// The plan of every scheduled node (see [`Compiled::schedule`]), and of every
/// node an aggregate computes per element.
pub fn plan(compiled: &Compiled) -> Plan {
    let mut plan = Plan {
        alias: (0..compiled.node_count() as u32).collect(),
        scoped_step_of: vec![NO_STEP; compiled.node_count()],
        ..Plan::default()
    };
    let scoped = (0..compiled.node_count() as u32).filter(|n| {
        let node = compiled.node(*n);
        node.scoped && !matches!(node.op, Op::Const(_))
    });
    // Node order is topological, so an alias is known before it is read.
    let mut nodes: Vec<u32> = compiled.schedule.iter().copied().chain(scoped).collect();
    nodes.sort_unstable();
    for n in nodes {
        // A definition is its body, and a rule no other rule overrides is its
        // condition: they share its slot, with no step of their own.
        let op = &compiled.node(n).op;
        match op {
            Op::Define(_, same)
            | Op::RuleApplies {
                condition: same, ..
            } if op.operands().len() == 1 => {
                plan.alias[n as usize] = plan.alias[*same as usize];
                continue;
            }
            _ => {}
        }
        let step = step(compiled, &mut plan, n);
        if compiled.node(n).scoped {
            plan.scoped_step_of[n as usize] = plan.scoped_steps.len() as u32;
            plan.scoped_steps.push(step);
        } else {
            plan.steps.push(step);
        }
    }
    trace_rules(compiled, &mut plan);
    plan.reach_is_exact = (0..compiled.node_count() as u32).all(|n| reads_exactly(compiled, n));
    plan.fingerprint = fingerprint(compiled, &plan);
    plan
}

/// What a native plan is written from, hashed: the steps, and the operations of
/// every node but the values of constants (which the evaluation date may change,
/// and which a native plan reads from its slots). FNV-1a, unlike `std`'s hasher
/// the same from one build to the next (a machine whose integers differ in size
/// or byte order gets other fingerprints, and so the interpreter).
fn fingerprint(compiled: &Compiled, plan: &Plan) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    plan.steps.hash(&mut h);
    plan.operands.hash(&mut h);
    for n in 0..compiled.node_count() as u32 {
        match &compiled.node(n).op {
            Op::Const(_) => h.write_u8(0xff),
            op => op.hash(&mut h),
        }
    }
    h.finish()
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The rule lists a compact trace reads (see [`Plan::outcome_rules`]).
fn trace_rules(compiled: &Compiled, plan: &mut Plan) {
    let slot = |node: u32| -> Option<RuleSlot> {
        match &compiled.node(node).op {
            Op::RuleApplies { rule, .. } => Some(RuleSlot {
                rule: rule.0,
                slot: plan.alias[node as usize],
            }),
            _ => None,
        }
    };
    plan.outcome_rules = (compiled.outcome_nodes.iter())
        .filter_map(|o| match &compiled.node(*o).op {
            Op::Outcome { rules, collect, .. } => Some((
                *collect,
                rules.iter().filter_map(|(a, _)| slot(*a)).collect(),
            )),
            _ => None,
        })
        .collect();
    let mut by_node: Vec<u32> = compiled.rule_nodes.clone();
    by_node.sort_unstable_by_key(|n| std::cmp::Reverse(*n));
    plan.rule_checks = (by_node.into_iter())
        .filter_map(|n| match &compiled.node(n).op {
            Op::RuleApplies {
                rule,
                condition,
                overriders,
            } => Some(RuleCheck {
                rule: rule.0,
                condition: plan.alias[*condition as usize],
                overriders: overriders.iter().filter_map(|o| slot(*o)).collect(),
            }),
            _ => None,
        })
        // A rule that nothing overrides makes no other rule reached.
        .filter(|check| !check.overriders.is_empty())
        .collect();
}

/// The step of node `n`, its operands read through their aliases.
fn step(compiled: &Compiled, plan: &mut Plan, n: u32) -> Step {
    let r = |x: &u32| plan.alias[*x as usize];
    match &compiled.node(n).op {
        Op::And(items) => {
            let items: Vec<u32> = items.iter().map(r).collect();
            Step::And(n, plan.push_operands(items))
        }
        Op::Or(items) => {
            let items: Vec<u32> = items.iter().map(r).collect();
            Step::Or(n, plan.push_operands(items))
        }
        Op::Not(a) => Step::Not(n, r(a)),
        Op::IsGiven(a, given) => Step::IsGiven(n, r(a), *given),
        Op::Compare(op @ (CmpOp::Eq | CmpOp::Ne), a, b) => {
            Step::Equal(n, r(a), r(b), *op == CmpOp::Ne)
        }
        Op::Compare(op, a, b) => Step::Order(n, *op, r(a), r(b)),
        Op::Fact(id) => Step::Fact(n, *id),
        Op::Field(b, i) => Step::Field(n, r(b), *i),
        Op::Arith(op, a, b) => Step::Arith(n, *op, r(a), r(b)),
        Op::Local(d) => Step::Local(n, *d),
        Op::TableAggregate {
            kind: kind @ (AggKind::Any | AggKind::All),
            collection,
            matches,
        } => {
            let collection = r(collection);
            plan.key_rows.push(matches.clone());
            Step::Keys(n, *kind, collection, plan.key_rows.len() as u32 - 1)
        }
        Op::RuleApplies {
            condition,
            overriders,
            ..
        } => {
            let condition = r(condition);
            let overriders: Vec<u32> = overriders.iter().map(r).collect();
            Step::Rule {
                node: n,
                condition,
                overriders: plan.push_operands(overriders),
            }
        }
        Op::If(c, a, b) => Step::Choose(n, r(c), r(a), r(b)),
        Op::Outcome {
            rules,
            default,
            collect: false,
            ..
        } => {
            let default = default.as_ref().map(r);
            let pairs: Vec<u32> = rules.iter().flat_map(|(a, v)| [r(a), r(v)]).collect();
            Step::Pick {
                node: n,
                rules: plan.push_operands(pairs),
                default,
            }
        }
        Op::Outcome {
            rules,
            default,
            collect: true,
            ..
        } if rules.len() <= 64
            && rules
                .iter()
                .all(|(_, v)| matches!(compiled.node(*v).op, Op::Const(_))) =>
        {
            let default = default.as_ref().map(r);
            let applies: Vec<u32> = rules.iter().map(|(a, _)| r(a)).collect();
            Step::Collect {
                node: n,
                rules: plan.push_operands(applies),
                default,
            }
        }
        _ => Step::General(n),
    }
}
