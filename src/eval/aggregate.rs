//! Aggregates (`sum`, `largest`, `smallest`, `count`, `any`, `all`) over the
//! elements of a list or set. The interpreter runs them in [`Evaluator::aggregate`];
//! native plans write the loop out, binding each element and running the steps of
//! the nodes that read it, and share the rest with it: [`Accumulator`] and the
//! methods below.

use super::{plan, Eval, Evaluator, Fail, FAILED, FALSE, TRUE, VALUE};
use crate::ast::AggKind;
use crate::lower::{Compiled, Op};
use crate::value::Value;
use rust_decimal::Decimal;
use std::sync::Arc;

/// What an aggregate has gathered from the elements its filter kept so far.
pub(crate) struct Accumulator {
    kind: AggKind,
    total: Option<Decimal>,
    kept: usize,
}

impl Accumulator {
    pub(crate) fn new(kind: AggKind) -> Self {
        Accumulator {
            kind,
            total: None,
            kept: 0,
        }
    }

    /// Takes in an element the filter kept, reading the body's value from its slot
    /// for the aggregates that sum or compare; true once the answer is known (the
    /// first element of an `any`).
    pub(crate) fn add<'c>(
        &mut self,
        ev: &mut Evaluator<'c>,
        n: u32,
        body: Option<u32>,
    ) -> Result<bool, Fail<'c>> {
        self.kept += 1;
        match self.kind {
            AggKind::Any => return Ok(true),
            AggKind::Count | AggKind::All => {}
            AggKind::Sum | AggKind::Largest | AggKind::Smallest => {
                let v = ev.num(body.expect("checked: sums have a body"))?;
                self.total = Some(match (self.total, self.kind) {
                    (None, _) => v,
                    (Some(a), AggKind::Sum) => a
                        .checked_add(v)
                        .ok_or_else(|| Fail::message(n, "sum too large"))?,
                    (Some(a), AggKind::Largest) => a.max(v),
                    (Some(a), _) => a.min(v),
                });
            }
        }
        Ok(false)
    }

    /// Takes in every element of a collection of `len`: an aggregate with no
    /// filter and no body (`count`, `any`, `all` of the elements themselves).
    pub(crate) fn keep_all(&mut self, len: usize) {
        self.kept = len;
    }

    /// The aggregate's value, over a collection of `len` elements.
    pub(crate) fn result(&self, len: usize) -> Value {
        match self.kind {
            AggKind::Any => Value::Bool(self.kept > 0),
            AggKind::All => Value::Bool(self.kept == len),
            AggKind::Count => Value::Num(Decimal::from(self.kept)),
            AggKind::Sum => Value::Num(self.total.unwrap_or(Decimal::ZERO)),
            _ => self.total.map_or(Value::Absent, Value::Num),
        }
    }
}

impl<'c> Evaluator<'c> {
    pub(super) fn aggregate(&mut self, n: u32) -> Eval<'c> {
        let compiled: &'c Compiled = self.compiled;
        let Op::Aggregate {
            kind,
            depth,
            collection,
            body,
            filter,
            scoped,
            filter_scoped,
        } = &compiled.node(n).op
        else {
            unreachable!("aggregate() is called on aggregate nodes only")
        };
        let depth = *depth as usize;
        let items = match self.ensure(*collection)? {
            Value::Set(v) | Value::List(v) => v.clone(),
            _ => return Err(Fail::absent(*collection)),
        };
        let mut acc = Accumulator::new(*kind);
        for item in items.iter() {
            self.bind_local(depth as u32, item);
            // The nodes that read the variable are computed again for this element:
            // eagerly now (those of the body only if the filter keeps it), or on
            // demand once their stamps are stale.
            let (for_filter, for_body) = match self.eager {
                true => scoped.split_at(*filter_scoped as usize),
                false => (&scoped[..], &[][..]),
            };
            self.refresh(for_filter);
            if let Some(f) = filter {
                if !self.bool(*f)? {
                    continue;
                }
            }
            self.refresh(for_body);
            if acc.add(self, n, *body)? {
                break;
            }
        }
        self.locals.truncate(depth);
        Ok(acc.result(items.len()))
    }

    /// Makes an aggregate's nodes read the element just bound.
    fn refresh(&mut self, scoped: &[u32]) {
        let plan = &self.compiled.plan;
        for &s in scoped {
            if !self.eager {
                self.stamps[s as usize] = 0;
                continue;
            }
            match plan.scoped_step_of[s as usize] {
                plan::NO_STEP => {}
                step => self.step(&plan.scoped_steps[step as usize]),
            }
        }
    }

    /// Binds the variable at `depth` to `item`. An aggregate that reads only its
    /// own variable is computed once, outside the aggregates it is written in: the
    /// outer variables are then unbound.
    pub(crate) fn bind_local(&mut self, depth: u32, item: &Value) {
        self.locals.resize(depth as usize, Value::Absent);
        self.locals.push(item.clone());
    }

    /// Native plans: the elements of the collection in slot `collection`; none if
    /// node `n` is decided already: it failed (no list or set there), or the
    /// collection is empty and `acc` says what that gives.
    /// (`collection` is the slot, the plan's alias of the node.)
    #[inline]
    pub(crate) fn aggregate_items(
        &mut self,
        n: u32,
        collection: u32,
        acc: &Accumulator,
    ) -> Option<Arc<[Value]>> {
        let c = collection as usize;
        match (self.flags[c], &self.memo[c]) {
            (VALUE, Value::Set(v) | Value::List(v)) if v.is_empty() => {
                self.set(n, acc.result(0));
                None
            }
            (VALUE, Value::Set(v) | Value::List(v)) => Some(v.clone()),
            _ => {
                self.flags[n as usize] = FAILED;
                None
            }
        }
    }

    /// Native plans: whether the filter in slot `filter` keeps the element bound;
    /// `None` (and node `n` failed, the variable at `depth` unbound) if it has no
    /// truth value.
    pub(crate) fn aggregate_keeps(&mut self, n: u32, depth: u32, filter: u32) -> Option<bool> {
        match self.flags[filter as usize] {
            TRUE => Some(true),
            FALSE => Some(false),
            _ => {
                self.aggregate_failed(n, depth);
                None
            }
        }
    }

    /// Native plans: node `n` failed; the variable at `depth` is unbound.
    pub(crate) fn aggregate_failed(&mut self, n: u32, depth: u32) {
        self.locals.truncate(depth as usize);
        self.flags[n as usize] = FAILED;
    }

    /// Native plans: node `n` takes the aggregate's value; the variable at `depth`
    /// is unbound.
    pub(crate) fn aggregate_done(&mut self, n: u32, depth: u32, acc: &Accumulator, len: usize) {
        self.locals.truncate(depth as usize);
        self.set(n, acc.result(len));
    }
}
