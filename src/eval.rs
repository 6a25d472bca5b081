//! Stage 5: facts through the DAG. Entry point: [`Evaluator::run`].
//!
//! Nodes are computed on demand and remembered, so a condition that is already
//! decided (`false and ...`) never computes the rest, and a shared sub-expression
//! is computed once. The memo table is kept afterwards: `trace` reads it.

use crate::ast::{AggKind, Builtin};
use crate::check::{ArithOp, CmpOp};
use crate::date::Date;
use crate::facts::Facts;
use crate::lower::{Compiled, Op};
use crate::source::Span;
use crate::value::{compare, Value};
use rust_decimal::Decimal;

/// A value the rules needed but could not compute from these facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvalError {
    pub message: String,
    /// The rule, definition or outcome being computed, by name.
    pub within: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.within {
            Some(w) => write!(f, "{} (in {w})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Reusable evaluation state for one compiled policy; one per thread.
pub struct Evaluator<'c> {
    pub compiled: &'c Compiled,
    /// One slot per node; a slot holds this run's value only if its stamp is the
    /// current run's, so a new run forgets everything without touching the slots.
    memo: Vec<Value>,
    stamps: Vec<u32>,
    run_stamp: u32,
    locals: Vec<Value>,
    facts: Option<Facts>,
    as_of: Date,
}

type Eval = Result<Value, EvalError>;

impl<'c> Evaluator<'c> {
    pub fn new(compiled: &'c Compiled) -> Evaluator<'c> {
        Evaluator {
            compiled,
            memo: vec![Value::Absent; compiled.node_count()],
            stamps: vec![0; compiled.node_count()],
            run_stamp: 1,
            locals: Vec::new(),
            facts: None,
            as_of: compiled.program.as_of.unwrap_or(Date {
                year: 1970,
                month: 1,
                day: 1,
            }),
        }
    }

    /// Computes every result (outcomes, then reported definitions) for these facts.
    pub fn run(&mut self, facts: Facts) -> Result<Vec<Value>, EvalError> {
        self.run_stamp = self.run_stamp.wrapping_add(1);
        if self.run_stamp == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.run_stamp = 1;
        }
        self.locals.clear();
        self.facts = Some(facts);
        let compiled = self.compiled;
        compiled
            .results
            .iter()
            .map(|r| self.value(r.node))
            .collect()
    }

    pub fn as_of(&self) -> Date {
        self.as_of
    }

    pub fn facts(&self) -> Option<&Facts> {
        self.facts.as_ref()
    }

    /// The remembered value of a node, if this run computed it.
    pub fn memo(&self, node: u32) -> Option<&Value> {
        let i = node as usize;
        (self.stamps[i] == self.run_stamp).then(|| &self.memo[i])
    }

    /// Computes node `n` if this run has not yet, and lends its value.
    fn ensure(&mut self, n: u32) -> Result<&Value, EvalError> {
        let i = n as usize;
        if self.stamps[i] != self.run_stamp {
            let v = self.compute(n)?;
            self.memo[i] = v;
            self.stamps[i] = self.run_stamp;
        }
        Ok(&self.memo[i])
    }

    /// The value of node `n`, owned; prefer `ensure` where a reference will do.
    fn value(&mut self, n: u32) -> Eval {
        self.ensure(n).cloned()
    }

    fn error(&self, n: u32, message: impl Into<String>) -> EvalError {
        let node = self.compiled.node(n);
        EvalError {
            message: message.into(),
            within: None,
            span: node.span,
        }
    }

    fn bool(&mut self, n: u32) -> Result<bool, EvalError> {
        match self.ensure(n)? {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.absent(n)),
        }
    }

    fn num(&mut self, n: u32) -> Result<Decimal, EvalError> {
        match self.ensure(n)? {
            Value::Num(d) => Ok(*d),
            _ => Err(self.absent(n)),
        }
    }

    fn date(&mut self, n: u32) -> Result<Date, EvalError> {
        match self.ensure(n)? {
            Value::Date(d) => Ok(*d),
            _ => Err(self.absent(n)),
        }
    }

    fn absent(&self, n: u32) -> EvalError {
        let p = &self.compiled.program;
        let text = p.sources.snippet(self.compiled.node(n).span).to_string();
        let mut e = self.error(
            n,
            format!("`{text}` has no value for this entity: an optional fact it needs is absent"),
        );
        e.message
            .push_str("; guard the rule with `... is given and ...` or supply the fact");
        e
    }

    fn compute(&mut self, n: u32) -> Eval {
        // The graph outlives `self`: borrowing it through a copy of the reference
        // lets the operands be read without cloning them.
        let compiled: &'c Compiled = self.compiled;
        let op = &compiled.node(n).op;
        Ok(match op {
            Op::Const(v) => v.clone(),
            Op::Today => Value::Date(self.as_of),
            Op::Fact(id) => self
                .facts
                .as_ref()
                .map_or(Value::Absent, |f| f.get(*id).clone()),
            Op::Define(id, body) => {
                let body = *body;
                self.value(body)
                    .map_err(|e| self.within(e, &self.compiled.program.defines[id.index()].name))?
            }
            Op::Local(d) => self
                .locals
                .get(*d as usize)
                .cloned()
                .unwrap_or(Value::Absent),
            Op::Field(b, i) => match self.ensure(*b)? {
                Value::Record(fields) => fields[*i as usize].clone(),
                _ => Value::Absent,
            },
            Op::Column(b, t, c) => match self.ensure(*b)? {
                Value::Key(k) => {
                    compiled.program.tables[t.index()].rows[*k as usize].cells[*c as usize].clone()
                }
                _ => Value::Absent,
            },
            Op::Not(a) => Value::Bool(!self.bool(*a)?),
            Op::Neg(a) => Value::Num(-self.num(*a)?),
            Op::And(items) => {
                for &i in items {
                    if !self.bool(i)? {
                        return Ok(Value::Bool(false));
                    }
                }
                Value::Bool(true)
            }
            Op::Or(items) => {
                for &i in items {
                    if self.bool(i)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Value::Bool(false)
            }
            Op::Compare(op, a, b) => self.compare(*op, *a, *b)?,
            Op::Arith(op, a, b) => self.arith(n, *op, *a, *b)?,
            Op::Member(a, b, negated) => {
                let (a, b, negated) = (*a, *b, *negated);
                self.ensure(a)?;
                self.ensure(b)?;
                let (elem, coll) = (self.peek(a), self.peek(b));
                let found = match coll {
                    Value::Set(items) => items.binary_search_by(|x| compare(x, elem)).is_ok(),
                    Value::List(items) => items.contains(elem),
                    _ => return Err(self.absent(b)),
                };
                Value::Bool(found != negated)
            }
            Op::IsGiven(a, given) => {
                let given = *given;
                Value::Bool((*self.ensure(*a)? != Value::Absent) == given)
            }
            Op::If(c, a, b) => {
                let (c, a, b) = (*c, *a, *b);
                if self.bool(c)? {
                    self.value(a)?
                } else {
                    self.value(b)?
                }
            }
            Op::SetLit(items) => {
                let values = items
                    .iter()
                    .map(|i| self.value(*i))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::set(values)
            }
            Op::Call(b, args) => self.call(n, *b, args)?,
            Op::Aggregate { .. } => self.aggregate(n)?,
            Op::TableAggregate {
                kind,
                collection,
                matches,
            } => {
                let (kind, collection) = (*kind, *collection);
                let keys = match self.ensure(collection)? {
                    Value::Set(v) | Value::List(v) => v,
                    _ => return Err(self.absent(collection)),
                };
                let hits = keys
                    .iter()
                    .filter(|k| matches!(k, Value::Key(i) if matches[*i as usize]))
                    .count();
                match kind {
                    AggKind::Any => Value::Bool(hits > 0),
                    AggKind::All => Value::Bool(hits == keys.len()),
                    _ => Value::Num(Decimal::from(hits)),
                }
            }
            Op::RuleApplies {
                rule,
                condition,
                overriders,
            } => {
                let (rule, condition, overriders) = (*rule, *condition, overriders);
                let name = &self.compiled.program.rules[rule.index()].name;
                let applies = self
                    .rule_applies(condition, overriders)
                    .map_err(|e| self.within(e, name))?;
                Value::Bool(applies)
            }
            Op::Outcome {
                outcome,
                rules,
                default,
                collect,
            } => {
                let (outcome, rules, default, collect) = (*outcome, rules, *default, *collect);
                let name = &self.compiled.program.outcomes[outcome.index()].name;
                self.outcome(rules, default, collect)
                    .map_err(|e| self.within(e, name))?
            }
        })
    }

    fn within(&self, mut e: EvalError, name: &str) -> EvalError {
        if e.within.is_none() {
            e.within = Some(name.to_string());
        }
        e
    }

    fn rule_applies(&mut self, condition: u32, overriders: &[u32]) -> Result<bool, EvalError> {
        if !self.bool(condition)? {
            return Ok(false);
        }
        for o in overriders {
            if self.bool(*o)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn outcome(&mut self, rules: &[(u32, u32)], default: Option<u32>, collect: bool) -> Eval {
        let mut collected = Vec::new();
        for (applies, value) in rules {
            if self.bool(*applies)? {
                let v = self.value(*value)?;
                if !collect {
                    return Ok(v);
                }
                collected.push(v);
            }
        }
        if collect && !collected.is_empty() {
            return Ok(Value::set(collected));
        }
        match default {
            Some(d) => self.value(d),
            None if collect => Ok(Value::set(Vec::new())),
            None => Ok(Value::Absent),
        }
    }

    /// The value of `node` with the aggregate variable at `depth` bound to `local`;
    /// `scoped` are the nodes to recompute. Used to fold conditions at compile time.
    pub(crate) fn eval_for_local(
        &mut self,
        node: u32,
        depth: u32,
        local: Value,
        scoped: &[u32],
    ) -> Eval {
        self.locals.clear();
        self.locals.resize(depth as usize, Value::Absent);
        self.locals.push(local);
        for s in scoped {
            self.stamps[*s as usize] = 0;
        }
        let v = self.value(node);
        self.locals.clear();
        v
    }

    /// A value already computed in this run.
    fn peek(&self, n: u32) -> &Value {
        &self.memo[n as usize]
    }

    fn compare(&mut self, op: CmpOp, a: u32, b: u32) -> Eval {
        self.ensure(a)?;
        self.ensure(b)?;
        let (x, y) = (self.peek(a), self.peek(b));
        if matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Ok(Value::Bool((x == y) == (op == CmpOp::Eq)));
        }
        if *x == Value::Absent {
            return Err(self.absent(a));
        }
        if *y == Value::Absent {
            return Err(self.absent(b));
        }
        let ord = compare(x, y);
        Ok(Value::Bool(match op {
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Le => ord.is_le(),
            CmpOp::Gt => ord.is_gt(),
            _ => ord.is_ge(),
        }))
    }

    fn arith(&mut self, n: u32, op: ArithOp, a: u32, b: u32) -> Eval {
        let x = self.num(a)?;
        let y = self.num(b)?;
        let r = match op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            ArithOp::Mul => x.checked_mul(y),
            ArithOp::Div if y.is_zero() => {
                return Err(self.error(n, format!("division by zero in `{}`", self.snippet(n))))
            }
            ArithOp::Div => x.checked_div(y),
        };
        r.map(Value::Num).ok_or_else(|| {
            self.error(
                n,
                format!(
                    "the result of `{}` is too large to represent exactly",
                    self.snippet(n)
                ),
            )
        })
    }

    fn snippet(&self, n: u32) -> String {
        self.compiled
            .program
            .sources
            .snippet(self.compiled.node(n).span)
            .to_string()
    }

    fn call(&mut self, n: u32, b: Builtin, args: &[u32]) -> Eval {
        Ok(match b {
            Builtin::Max | Builtin::Min => {
                let x = self.value(args[0])?;
                let y = self.value(args[1])?;
                let ord = compare(&x, &y);
                if (b == Builtin::Max) == ord.is_ge() {
                    x
                } else {
                    y
                }
            }
            Builtin::Date => {
                let parts = [self.num(args[0])?, self.num(args[1])?, self.num(args[2])?];
                let [y, m, d] = parts.map(|p| i64::try_from(p).unwrap_or(-1));
                let (y, m, d) = (
                    i32::try_from(y).unwrap_or(-1),
                    u8::try_from(m).unwrap_or(0),
                    u8::try_from(d).unwrap_or(0),
                );
                Value::Date(Date::new(y, m, d).map_err(|e| self.error(n, e.0))?)
            }
            Builtin::Year => Value::Num(Decimal::from(self.date(args[0])?.year)),
            Builtin::DaysBetween => {
                let a = self.date(args[0])?;
                let z = self.date(args[1])?;
                Value::Num(Decimal::from(z.to_days() - a.to_days()))
            }
            Builtin::AddDays | Builtin::AddYears => {
                let d = self.date(args[0])?;
                let k = i64::try_from(self.num(args[1])?)
                    .ok()
                    .filter(|k| k.abs() <= 1_000_000)
                    .ok_or_else(|| {
                        self.error(
                            n,
                            "expected a whole number of days or years, at most 1_000_000",
                        )
                    })?;
                Value::Date(if b == Builtin::AddDays {
                    d.add_days(k)
                } else {
                    d.add_years(k as i32)
                })
            }
        })
    }

    fn aggregate(&mut self, n: u32) -> Eval {
        let compiled: &'c Compiled = self.compiled;
        let Op::Aggregate {
            kind,
            depth,
            collection,
            body,
            filter,
            scoped,
        } = &compiled.node(n).op
        else {
            unreachable!("aggregate() is called on aggregate nodes only")
        };
        let (kind, depth, body, filter) = (*kind, *depth as usize, *body, *filter);
        let items = match self.ensure(*collection)? {
            Value::Set(v) | Value::List(v) => v.clone(),
            _ => return Err(self.absent(*collection)),
        };
        let mut acc: Option<Value> = None;
        let mut count = 0i64;
        for item in items.iter() {
            self.locals.truncate(depth);
            self.locals.push(item.clone());
            for s in scoped {
                self.stamps[*s as usize] = 0;
            }
            if let Some(f) = filter {
                if !self.bool(f)? {
                    continue;
                }
            }
            count += 1;
            match kind {
                AggKind::Any => return self.done(depth, Value::Bool(true)),
                AggKind::Count | AggKind::All => {}
                AggKind::Sum | AggKind::Largest | AggKind::Smallest => {
                    let v = self.num(body.expect("checked: sums have a body"))?;
                    acc = Some(Value::Num(match (&acc, kind) {
                        (None, _) => v,
                        (Some(Value::Num(a)), AggKind::Sum) => a
                            .checked_add(v)
                            .ok_or_else(|| self.error(n, "sum too large"))?,
                        (Some(Value::Num(a)), AggKind::Largest) => (*a).max(v),
                        (Some(Value::Num(a)), _) => (*a).min(v),
                        _ => v,
                    }));
                }
            }
        }
        let result = match kind {
            AggKind::Any => Value::Bool(false),
            AggKind::All => Value::Bool(count as usize == items.len()),
            AggKind::Count => Value::Num(Decimal::from(count)),
            AggKind::Sum => acc.unwrap_or(Value::Num(Decimal::ZERO)),
            _ => acc.unwrap_or(Value::Absent),
        };
        self.done(depth, result)
    }

    fn done(&mut self, depth: usize, v: Value) -> Eval {
        self.locals.truncate(depth);
        Ok(v)
    }
}
