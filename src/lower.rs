//! Stage 4: the checked program to a decision DAG. Entry point: [`lower`].
//!
//! Nodes are facts, derived values, conditions (every sub-expression) and
//! conclusions (rule applications and outcomes). Equal sub-expressions are one node
//! (hash-consing). Nodes are added operands first, so node order is a topological
//! order: the evaluator relies on it. Precedence between rules is compiled here: a
//! rule applies when its condition holds and no rule that overrides it holds.

use crate::ast::{AggKind, Builtin};
use crate::check::{ArithOp, Checked, CmpOp, TExpr, TKind};
use crate::diagnostic::Diagnostic;
use crate::program::*;
use crate::source::Span;
use crate::value::Value;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

mod column_values;
mod guards;
pub use guards::unguarded_reads;

#[derive(Debug, Clone)]
pub struct LowerError {
    pub diagnostics: Vec<Diagnostic>,
}

/// What a node computes; operands are indices of earlier nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    Const(Value),
    Today,
    Fact(FactId),
    /// A named derived value; its value is that of `body`.
    Define(DefineId, u32),
    Local(u32),
    Field(u32, u32),
    Column(u32, TableId, u32),
    Not(u32),
    Neg(u32),
    And(Vec<u32>),
    Or(Vec<u32>),
    Compare(CmpOp, u32, u32),
    Arith(ArithOp, u32, u32),
    Member(u32, u32, bool),
    IsGiven(u32, bool),
    If(u32, u32, u32),
    SetLit(Vec<u32>),
    Call(Builtin, Vec<u32>),
    /// `scoped` lists the nodes that depend on this aggregate's variable: they are
    /// computed again for every element. The first `filter_scoped` of them are
    /// those the filter reads, so that an element the filter drops costs no more.
    Aggregate {
        kind: AggKind,
        depth: u32,
        collection: u32,
        body: Option<u32>,
        filter: Option<u32>,
        scoped: Vec<u32>,
        filter_scoped: u32,
    },
    /// `any`, `all` or `count` over table keys whose condition depends on the row
    /// alone: the condition was computed for every row at compile time.
    TableAggregate {
        kind: AggKind,
        collection: u32,
        matches: Vec<bool>,
    },
    /// The rule's condition holds and none of the rules that override it applies.
    RuleApplies {
        rule: RuleId,
        condition: u32,
        overriders: Vec<u32>,
    },
    /// The outcome: the value of the first applying rule (all of them, for a set),
    /// otherwise the default.
    Outcome {
        outcome: OutcomeId,
        rules: Vec<(u32, u32)>,
        default: Option<u32>,
        collect: bool,
    },
}

impl Op {
    pub fn operands(&self) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_operand(|o| out.push(o));
        out
    }

    /// Calls `f` with every operand, in order, without collecting them.
    pub fn for_each_operand(&self, mut f: impl FnMut(u32)) {
        match self {
            Op::Const(_) | Op::Today | Op::Fact(_) | Op::Local(_) => {}
            Op::Define(_, a)
            | Op::Field(a, _)
            | Op::Column(a, _, _)
            | Op::Not(a)
            | Op::Neg(a)
            | Op::IsGiven(a, _)
            | Op::TableAggregate { collection: a, .. } => f(*a),
            Op::And(v) | Op::Or(v) | Op::SetLit(v) | Op::Call(_, v) => v.iter().for_each(|o| f(*o)),
            Op::Compare(_, a, b) | Op::Arith(_, a, b) | Op::Member(a, b, _) => {
                f(*a);
                f(*b);
            }
            Op::If(a, b, c) => [*a, *b, *c].into_iter().for_each(f),
            Op::Aggregate {
                collection,
                body,
                filter,
                ..
            } => std::iter::once(*collection)
                .chain(*body)
                .chain(*filter)
                .for_each(f),
            Op::RuleApplies {
                condition,
                overriders,
                ..
            } => std::iter::once(*condition)
                .chain(overriders.iter().copied())
                .for_each(f),
            Op::Outcome { rules, default, .. } => rules
                .iter()
                .flat_map(|(a, v)| [*a, *v])
                .chain(*default)
                .for_each(f),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub op: Op,
    pub ty: Type,
    /// Where the node was first written.
    pub span: Span,
    /// Depends on an aggregate's variable.
    pub scoped: bool,
}

/// One named value of a result.
#[derive(Debug, Clone)]
pub struct ResultItem {
    pub name: String,
    /// The key in result documents.
    pub key: String,
    pub ty: Type,
    pub node: u32,
}

/// The compiled policy set: declarations, and the DAG that decides.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Program,
    /// Edges run from an operand to the node that reads it.
    pub graph: DiGraph<Node, ()>,
    /// The node of each definition; `None` for those with parameters.
    pub define_nodes: Vec<Option<u32>>,
    pub rule_nodes: Vec<u32>,
    pub outcome_nodes: Vec<u32>,
    /// By the node of each call of a definition used as a function (an
    /// `Op::Define`, the body inlined): its arguments and the places it is
    /// written, which the check of optional values follows back to the call.
    pub calls: HashMap<u32, CallSites>,
    /// The other places a node is written, where equal expressions were made
    /// one node (its own span is the first place lowering met).
    pub also_written: HashMap<u32, Vec<Span>>,
    /// What a result shows: every outcome, then every reported definition.
    pub results: Vec<ResultItem>,
    /// The nodes an eager evaluation computes, in order: those the results depend
    /// on, less constants and the nodes an aggregate recomputes for each element.
    pub schedule: Vec<u32>,
    /// The schedule as steps for the eager evaluation.
    pub plan: crate::eval::plan::Plan,
    pub warnings: Vec<Diagnostic>,
}

/// The calls of a definition used as a function that lowering made one node:
/// those with the same arguments, or with other arguments its body does not
/// read. Each place is kept with its own arguments.
#[derive(Debug, Clone, Default)]
pub struct CallSites {
    /// Each place a call is written, in the order lowering met them, with the
    /// nodes of the arguments written there.
    pub places: Vec<(Span, Vec<u32>)>,
}

impl Compiled {
    pub fn node(&self, i: u32) -> &Node {
        &self.graph.raw_nodes()[i as usize].weight
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The place node `i` is written within one of `texts` (the expressions
    /// of a rule or a definition, a comparison), where it is written in
    /// several: an error points at the drafter's own text, not at an equal
    /// expression elsewhere. Its first place if none lies within.
    pub fn place_within(&self, i: u32, texts: &[Span]) -> Span {
        let first = self.node(i).span;
        let others = self.also_written.get(&i).into_iter().flatten().copied();
        (std::iter::once(first).chain(others))
            .find(|place| texts.iter().any(|t| t.encloses(*place)))
            .unwrap_or(first)
    }

    /// The index of a result (for [`crate::eval::Evaluator::result`]) by the key
    /// the JSON result gives it (`"classification"`) or the name it has in the
    /// rule files.
    pub fn result_index(&self, key: &str) -> Option<usize> {
        (self.results.iter()).position(|r| r.key == key || r.name == key)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Todo,
    InProgress,
    Done(u32),
}

/// Builds the DAG; a cycle between definitions, rules and outcomes is an error.
pub fn lower(checked: Checked) -> Result<Compiled, LowerError> {
    let p = &checked.program;
    let mut l = Lowerer {
        checked: &checked,
        graph: DiGraph::new(),
        interned: HashMap::new(),
        defines: vec![State::Todo; p.defines.len()],
        rules: vec![State::Todo; p.rules.len()],
        outcomes: vec![State::Todo; p.outcomes.len()],
        stack: Vec::new(),
        cycle: None,
        inlining: Vec::new(),
        depth: 0,
        calls: HashMap::new(),
        also_written: HashMap::new(),
    };
    // Definitions with parameters have no node of their own: each call is inlined.
    let define_nodes: Vec<Option<u32>> = (0..p.defines.len())
        .map(|i| {
            p.defines[i]
                .params
                .is_empty()
                .then(|| l.define(DefineId(i as u32), p.defines[i].span))
        })
        .collect();
    let outcome_nodes: Vec<u32> = (0..p.outcomes.len())
        .map(|i| l.outcome(OutcomeId(i as u32), p.outcomes[i].span))
        .collect();
    let rule_nodes: Vec<u32> = (0..p.rules.len())
        .map(|i| l.rule(RuleId(i as u32), p.rules[i].span))
        .collect();
    if let Some(d) = l.cycle.take() {
        return Err(LowerError {
            diagnostics: vec![d],
        });
    }
    let results = p
        .outcomes
        .iter()
        .zip(&outcome_nodes)
        .map(|(o, n)| (o.name.clone(), o.key.clone(), o.ty.clone(), Some(*n)))
        .chain(p.reports.iter().map(|d| {
            let def = &p.defines[d.index()];
            (
                def.name.clone(),
                def.name.clone(),
                def.ty.clone(),
                define_nodes[d.index()],
            )
        }))
        .filter_map(|(name, key, ty, node)| {
            Some(ResultItem {
                name,
                key,
                ty,
                node: node?,
            })
        })
        .collect();
    let (graph, calls, also_written) = (l.graph, l.calls, l.also_written);
    let mut compiled = Compiled {
        warnings: checked.warnings.clone(),
        program: checked.program,
        graph,
        define_nodes,
        rule_nodes,
        outcome_nodes,
        calls,
        also_written,
        results,
        schedule: Vec::new(),
        plan: Default::default(),
    };
    let never_true = column_values::values_no_row_holds(&compiled);
    if !never_true.is_empty() {
        return Err(LowerError {
            diagnostics: never_true,
        });
    }
    fold_constants(&mut compiled);
    fold_table_aggregates(&mut compiled);
    compiled.schedule = schedule(&compiled);
    compiled.plan = crate::eval::plan::plan(&compiled);
    Ok(compiled)
}

/// One step of the chain being lowered: what it is, its name, where it was referenced.
#[derive(Clone)]
struct Frame {
    what: &'static str,
    name: String,
    span: Span,
}

struct Lowerer<'c> {
    checked: &'c Checked,
    graph: DiGraph<Node, ()>,
    /// Nodes by operation and type: two constants of one value but different
    /// types (`a` of one enum, `micro` of another, both its first variant) are
    /// different nodes, each drawn and rendered by its own type.
    interned: HashMap<(Op, Type), u32>,
    defines: Vec<State>,
    rules: Vec<State>,
    outcomes: Vec<State>,
    stack: Vec<Frame>,
    cycle: Option<Diagnostic>,
    /// The calls being inlined, innermost last.
    inlining: Vec<Inline>,
    /// How many aggregate variables are bound where lowering is now.
    depth: u32,
    calls: HashMap<u32, CallSites>,
    also_written: HashMap<u32, Vec<Span>>,
}

/// A call being inlined: its parameters stand for the argument nodes, and the
/// body's own aggregate variables move up past the caller's.
struct Inline {
    args: Vec<u32>,
    shift: u32,
}

impl<'c> Lowerer<'c> {
    fn add(&mut self, op: Op, ty: Type, span: Span) -> u32 {
        let key = (op, ty);
        if let Some(&i) = self.interned.get(&key) {
            self.note_also_written(i, span);
            return i;
        }
        let (op, ty) = key;
        let operands = op.operands();
        let scoped = matches!(op, Op::Local(_))
            || operands.iter().any(|o| {
                self.graph.raw_nodes()[*o as usize].weight.scoped && !self.binds_all(&op, *o)
            });
        let idx = self
            .graph
            .add_node(Node {
                op: op.clone(),
                ty: ty.clone(),
                span,
                scoped,
            })
            .index() as u32;
        for o in operands {
            self.graph
                .add_edge(NodeIndex::new(o as usize), NodeIndex::new(idx as usize), ());
        }
        self.interned.insert((op, ty), idx);
        idx
    }

    /// Keeps `span` as another place node `i` is written, if it is one.
    fn note_also_written(&mut self, i: u32, span: Span) {
        let first = self.graph.raw_nodes()[i as usize].weight.span;
        if span == Span::default() || span == first {
            return;
        }
        // Not a search of all the places: a constant written in thousands of
        // rules would make lowering quadratic. A body inlined at each call
        // repeats its places, and only the first that lies within is used.
        let places = self.also_written.entry(i).or_default();
        if places.last() != Some(&span) {
            places.push(span);
        }
    }

    /// An aggregate's body is scoped by its own variable but the aggregate is not,
    /// unless the body also uses an outer variable.
    fn binds_all(&self, op: &Op, operand: u32) -> bool {
        match op {
            Op::Aggregate {
                depth, collection, ..
            } if operand != *collection => !self.uses_outer_local(operand, *depth),
            _ => false,
        }
    }

    fn uses_outer_local(&self, node: u32, depth: u32) -> bool {
        let n = &self.graph.raw_nodes()[node as usize].weight;
        match &n.op {
            Op::Local(d) => *d < depth,
            op if n.scoped => op
                .operands()
                .iter()
                .any(|o| self.uses_outer_local(*o, depth)),
            _ => false,
        }
    }

    /// Enters a named item; returns false (and records the cycle) if already on the stack.
    fn enter(&mut self, what: &'static str, name: &str, span: Span, state: State) -> bool {
        if state == State::InProgress {
            if self.cycle.is_none() {
                self.cycle = Some(self.cycle_diagnostic(name, span));
            }
            return false;
        }
        self.stack.push(Frame {
            what,
            name: name.to_string(),
            span,
        });
        true
    }

    fn cycle_diagnostic(&self, name: &str, span: Span) -> Diagnostic {
        let start = self.stack.iter().position(|f| f.name == name).unwrap_or(0);
        let chain: Vec<&Frame> = self.stack[start..].iter().collect();
        let names: Vec<String> = chain
            .iter()
            .map(|f| f.name.clone())
            .chain(std::iter::once(name.to_string()))
            .collect();
        let mut d = Diagnostic::error(
            "lexnis::lower::cycle",
            format!("dependency cycle: {}", names.join(" -> ")),
        )
        .label(
            span,
            format!("`{name}` is needed here, while it is being computed"),
        );
        for f in chain.iter().skip(1) {
            d = d.label(f.span, format!("{} `{}` is needed here", f.what, f.name));
        }
        d.help(
            "a value cannot depend on itself: break the chain by removing one of these references",
        )
    }

    fn define(&mut self, id: DefineId, span: Span) -> u32 {
        let def = &self.checked.program.defines[id.index()];
        if let State::Done(n) = self.defines[id.index()] {
            return n;
        }
        if !self.enter("definition", &def.name, span, self.defines[id.index()]) {
            return self.add(Op::Const(Value::Absent), def.ty.clone(), span);
        }
        self.defines[id.index()] = State::InProgress;
        let body = self.expr(&self.checked.defines[id.index()]);
        let node = self.add(Op::Define(id, body), def.ty.clone(), def.span);
        self.defines[id.index()] = State::Done(node);
        self.stack.pop();
        node
    }

    fn rule(&mut self, id: RuleId, span: Span) -> u32 {
        let def = &self.checked.program.rules[id.index()];
        if let State::Done(n) = self.rules[id.index()] {
            return n;
        }
        if !self.enter("rule", &def.name, span, self.rules[id.index()]) {
            return self.add(Op::Const(Value::Bool(false)), Type::Bool, span);
        }
        self.rules[id.index()] = State::InProgress;
        let checked = &self.checked.rules[id.index()];
        let condition = self.expr(&checked.condition);
        // Defeat by an overrider that itself applies: with `overridden_by` closed
        // under transitivity this equals defeat by any overrider whose condition
        // holds, and it lets the trace name the rule that prevailed.
        let overriders = checked
            .overridden_by
            .iter()
            .map(|o| self.closed(|l| l.rule(*o, def.span)))
            .collect();
        let node = self.add(
            Op::RuleApplies {
                rule: id,
                condition,
                overriders,
            },
            Type::Bool,
            def.span,
        );
        self.rules[id.index()] = State::Done(node);
        self.stack.pop();
        node
    }

    fn outcome(&mut self, id: OutcomeId, span: Span) -> u32 {
        let def = &self.checked.program.outcomes[id.index()];
        if let State::Done(n) = self.outcomes[id.index()] {
            return n;
        }
        if !self.enter("outcome", &def.name, span, self.outcomes[id.index()]) {
            return self.add(Op::Const(Value::Absent), def.ty.clone(), span);
        }
        self.outcomes[id.index()] = State::InProgress;
        let p = &self.checked.program;
        let mut rules = Vec::new();
        for rule in &p.rules_by_outcome[id.index()] {
            let (i, r) = (rule.index(), &p.rules[rule.index()]);
            let applies = self.closed(|l| l.rule(*rule, r.span));
            let value = self.expr(&self.checked.rules[i].value);
            rules.push((applies, value));
        }
        let default = self.checked.outcome_defaults[id.index()]
            .as_ref()
            .map(|d| self.expr(d));
        let collect = matches!(def.ty, Type::Set(_));
        let node = self.add(
            Op::Outcome {
                outcome: id,
                rules,
                default,
                collect,
            },
            def.ty.clone(),
            def.span,
        );
        self.outcomes[id.index()] = State::Done(node);
        self.stack.pop();
        node
    }

    fn expr(&mut self, e: &TExpr) -> u32 {
        let op = match &e.kind {
            TKind::Const(v) => Op::Const(v.clone()),
            TKind::Today => Op::Today,
            TKind::Fact(id) => {
                let span = self.checked.program.facts[id.index()].spec.span;
                return self.add(Op::Fact(*id), e.ty.clone(), span);
            }
            TKind::Define(id) => return self.closed(|l| l.define(*id, e.span)),
            TKind::Outcome(id) => return self.closed(|l| l.outcome(*id, e.span)),
            TKind::Local(d) => match self.inlining.last() {
                Some(call) if (*d as usize) < call.args.len() => return call.args[*d as usize],
                Some(call) => Op::Local(*d - call.args.len() as u32 + call.shift),
                None => Op::Local(*d),
            },
            TKind::Apply(id, args) => return self.apply(*id, args, e.span),
            TKind::Field(b, i) => Op::Field(self.expr(b), *i),
            TKind::Column(b, t, c) => Op::Column(self.expr(b), *t, *c),
            TKind::Not(a) => Op::Not(self.expr(a)),
            TKind::Neg(a) => Op::Neg(self.expr(a)),
            TKind::And(..) => Op::And(self.flatten(e, true)),
            TKind::Or(..) => Op::Or(self.flatten(e, false)),
            TKind::Compare(op, a, b) => Op::Compare(*op, self.expr(a), self.expr(b)),
            TKind::Arith(op, a, b) => Op::Arith(*op, self.expr(a), self.expr(b)),
            TKind::Member(a, b, neg) => Op::Member(self.expr(a), self.expr(b), *neg),
            TKind::IsGiven(a, g) => Op::IsGiven(self.expr(a), *g),
            TKind::If(c, a, b) => Op::If(self.expr(c), self.expr(a), self.expr(b)),
            TKind::SetLit(items) => Op::SetLit(items.iter().map(|i| self.expr(i)).collect()),
            TKind::Call(b, args) => Op::Call(*b, args.iter().map(|a| self.expr(a)).collect()),
            TKind::Aggregate {
                kind,
                depth,
                collection,
                body,
                filter,
            } => {
                let collection = self.expr(collection);
                let depth = match self.inlining.last() {
                    Some(call) => *depth - call.args.len() as u32 + call.shift,
                    None => *depth,
                };
                let outer = std::mem::replace(&mut self.depth, depth + 1);
                let body = body.as_ref().map(|b| self.expr(b));
                let filter = filter.as_ref().map(|f| self.expr(f));
                self.depth = outer;
                let mut scoped = self.scoped_nodes(filter.into_iter());
                let filter_scoped = scoped.len() as u32;
                let for_body = self.scoped_nodes(body.into_iter());
                let body_only: Vec<u32> = for_body
                    .into_iter()
                    .filter(|n| !scoped.contains(n))
                    .collect();
                scoped.extend(body_only);
                Op::Aggregate {
                    kind: *kind,
                    depth,
                    collection,
                    body,
                    filter,
                    scoped,
                    filter_scoped,
                }
            }
        };
        self.add(op, e.ty.clone(), e.span)
    }

    /// Inlines a call: the body is lowered with the parameters bound to the
    /// argument nodes, under a named node so that the trace shows the call.
    fn apply(&mut self, id: DefineId, args: &[TExpr], span: Span) -> u32 {
        let def = &self.checked.program.defines[id.index()];
        let args: Vec<u32> = args.iter().map(|a| self.expr(a)).collect();
        if !self.enter("definition", &def.name, span, self.defines[id.index()]) {
            return self.add(Op::Const(Value::Absent), def.ty.clone(), span);
        }
        self.defines[id.index()] = State::InProgress;
        self.inlining.push(Inline {
            args,
            shift: self.depth,
        });
        let body = self.expr(&self.checked.defines[id.index()]);
        let inlined = self.inlining.pop();
        self.defines[id.index()] = State::Todo;
        self.stack.pop();
        let call = self.add(Op::Define(id, body), def.ty.clone(), span);
        let places = &mut self.calls.entry(call).or_default().places;
        if !places.iter().any(|(at, _)| *at == span) {
            places.push((span, inlined.map(|i| i.args).unwrap_or_default()));
        }
        call
    }

    /// Lowers a named item (definition, rule, outcome) outside any call or aggregate
    /// it happens to be reached from: named items are closed.
    fn closed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let inlining = std::mem::take(&mut self.inlining);
        let depth = std::mem::replace(&mut self.depth, 0);
        let out = f(self);
        self.inlining = inlining;
        self.depth = depth;
        out
    }

    /// The scoped nodes an aggregate must recompute per element: those reachable
    /// from its body and filter that depend on a variable.
    fn scoped_nodes(&self, roots: impl Iterator<Item = u32>) -> Vec<u32> {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo: Vec<u32> = roots.collect();
        while let Some(n) = todo.pop() {
            let node = &self.graph.raw_nodes()[n as usize].weight;
            if node.scoped && seen.insert(n) {
                todo.extend(node.op.operands());
            }
        }
        seen.into_iter().collect()
    }

    /// `a and (b and c)` becomes one node with three operands.
    fn flatten(&mut self, e: &TExpr, and: bool) -> Vec<u32> {
        let mut out = Vec::new();
        let mut todo = vec![e];
        while let Some(x) = todo.pop() {
            match (&x.kind, and) {
                (TKind::And(a, b), true) | (TKind::Or(a, b), false) => {
                    todo.push(b);
                    todo.push(a);
                }
                _ => out.push(self.expr(x)),
            }
        }
        out
    }
}

/// The eager evaluation order: every node a result depends on, in index order
/// (operands first), except constants (their slots are filled once) and the nodes
/// that read an aggregate's variable (the aggregate computes them per element).
fn schedule(compiled: &Compiled) -> Vec<u32> {
    let mut needed = vec![false; compiled.node_count()];
    for r in &compiled.results {
        needed[r.node as usize] = true;
    }
    for n in (0..compiled.node_count() as u32).rev() {
        if needed[n as usize] {
            for o in compiled.node(n).op.operands() {
                needed[o as usize] = true;
            }
        }
    }
    (0..compiled.node_count() as u32)
        .filter(|n| {
            let node = compiled.node(*n);
            needed[*n as usize] && !node.scoped && !matches!(node.op, Op::Const(_))
        })
        .collect()
}

/// Computes now every node that depends on nothing but constants and the
/// evaluation date (fixed for a compiled program): set literals such as
/// `["I", "II"]`, the art. 7 deadlines, arithmetic on constants. Named nodes stay,
/// so that the trace still shows them.
fn fold_constants(compiled: &mut Compiled) {
    let mut folded: Vec<(u32, Value)> = Vec::new();
    {
        let mut is_const = vec![false; compiled.node_count()];
        let mut ev = crate::eval::Evaluator::new(compiled);
        for n in 0..compiled.node_count() as u32 {
            let node = compiled.node(n);
            let foldable = match &node.op {
                Op::Const(_) => {
                    is_const[n as usize] = true;
                    continue;
                }
                Op::Today => true,
                Op::Fact(_)
                | Op::Local(_)
                | Op::Define(..)
                | Op::RuleApplies { .. }
                | Op::Outcome { .. } => false,
                Op::Aggregate { .. } | Op::TableAggregate { .. } => false,
                op => op.operands().iter().all(|o| is_const[*o as usize]),
            };
            if !foldable {
                continue;
            }
            if let Ok(v) = ev.eval_for_local(n, 0, Value::Absent, &[]) {
                is_const[n as usize] = true;
                folded.push((n, v));
            }
        }
    }
    for (n, v) in folded {
        compiled.graph[NodeIndex::new(n as usize)].op = Op::Const(v);
    }
}

/// Replaces each `any`/`all`/`count` over table keys whose condition reads only the
/// row (and constants) by a per-row table of answers computed now: the annex tests
/// (`any t in entity_types where t.annex = "I"`) then cost a lookup per key.
fn fold_table_aggregates(compiled: &mut Compiled) {
    let mut folded = Vec::new();
    {
        let mut ev = crate::eval::Evaluator::new(compiled);
        for n in 0..compiled.node_count() as u32 {
            let node = compiled.node(n);
            let Op::Aggregate {
                kind,
                depth,
                collection,
                body: None,
                filter: Some(filter),
                scoped,
                ..
            } = &node.op
            else {
                continue;
            };
            if !matches!(kind, AggKind::Any | AggKind::All | AggKind::Count)
                || !row_constant(compiled, *filter, *depth)
            {
                continue;
            }
            let Some(Type::Table(table)) = compiled.node(*collection).ty.element() else {
                continue;
            };
            let rows = compiled.program.tables[table.index()].rows.len();
            let matches: Option<Vec<bool>> = (0..rows)
                .map(|row| {
                    ev.eval_for_local(*filter, *depth, Value::Key(row as u32), scoped)
                        .ok()
                        .and_then(|v| v.as_bool())
                })
                .collect();
            if let Some(matches) = matches {
                folded.push((
                    n,
                    Op::TableAggregate {
                        kind: *kind,
                        collection: *collection,
                        matches,
                    },
                ));
            }
        }
    }
    for (n, op) in folded {
        compiled.graph[NodeIndex::new(n as usize)].op = op;
    }
}

/// The condition reads nothing but the aggregate's own variable and constants.
fn row_constant(c: &Compiled, root: u32, depth: u32) -> bool {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let node = c.node(n);
        match &node.op {
            Op::Const(_) => {}
            Op::Local(d) if *d == depth => {}
            op if node.scoped && !matches!(op, Op::Local(_)) => stack.extend(op.operands()),
            _ => return false,
        }
    }
    true
}
