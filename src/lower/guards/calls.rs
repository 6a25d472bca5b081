//! Definitions used as functions: lowering inlines the body at each call, its
//! parameters bound to the argument nodes. A value that may be absent and comes
//! into a body through an argument is the caller's to test: the warning is at
//! the call, where the drafter writes the test, with the place in the body that
//! reads it beside it.

use super::Reader;
use crate::lower::{Compiled, Op};
use crate::program::{DefineId, OutcomeId, RuleId};
use crate::source::Span;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// The rule, definition or outcome being read.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Item {
    Define(DefineId),
    Rule(RuleId),
    Outcome(OutcomeId),
}

/// The item being read, if any.
pub(super) type Within = Option<Item>;

impl Item {
    pub(super) fn name(self, c: &Compiled) -> &str {
        let p = &c.program;
        match self {
            Item::Define(d) => &p.defines[d.index()].name,
            Item::Rule(r) => &p.rules[r.index()].name,
            Item::Outcome(o) => &p.outcomes[o.index()].name,
        }
    }

    /// Its declaration, from its name to the end of its expressions.
    fn text(self, c: &Compiled) -> Span {
        let p = &c.program;
        match self {
            Item::Define(d) => {
                let d = &p.defines[d.index()];
                d.span.join(d.body.span)
            }
            Item::Rule(r) => {
                let r = &p.rules[r.index()];
                let text = r.span.join(r.condition.span);
                r.value.as_ref().map_or(text, |v| text.join(v.span))
            }
            Item::Outcome(o) => {
                let o = &p.outcomes[o.index()];
                o.otherwise.as_ref().map_or(o.span, |e| o.span.join(e.span))
            }
        }
    }
}

/// A call being read.
#[derive(Clone, Copy)]
pub(super) struct Call {
    /// The call's node (an `Op::Define`); calls with the same arguments share it.
    pub node: u32,
    /// The rule, definition or outcome being read where the call is met.
    pub caller: Within,
    /// Where this call is written: of the places the node's calls are, the
    /// first in the caller's text (a call written twice in one item is
    /// warned at the first).
    pub site: Span,
    /// This call and the calls around it, as one number: what tells two
    /// readings of one body apart.
    pub context: u64,
}

impl Call {
    /// The name of the definition called.
    pub(super) fn callee(self, c: &Compiled) -> &str {
        match c.node(self.node).op {
            Op::Define(id, _) => &c.program.defines[id.index()].name,
            _ => "",
        }
    }
}

impl<'c> Reader<'c> {
    /// The calls being read, as one number (0 for none).
    pub(super) fn context(&self) -> u64 {
        self.calls.last().map_or(0, |call| call.context)
    }

    /// The call of node `n`, if it is a definition with parameters, met while
    /// reading `caller`.
    pub(super) fn call(&self, n: u32, caller: Within) -> Option<Call> {
        let c = self.c;
        let sites = c.calls.get(&n)?;
        let text = caller.map(|item| item.text(c));
        let site = (sites.spans.iter())
            .find(|span| text.is_some_and(|t| t.encloses(**span)))
            .or(sites.spans.first())
            .copied()
            .unwrap_or(c.node(n).span);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (self.context(), n, site).hash(&mut hasher);
        Some(Call {
            node: n,
            caller,
            site,
            context: hasher.finish(),
        })
    }

    /// The call through which the value of node `n` came into the function
    /// being read, if an argument of the call carries it (is it, holds it, or
    /// is what it is read from, as a record whose field is read, which may be
    /// left out): of such calls, from the innermost out, the last, which is
    /// written where the value comes from. `source` is what may leave it
    /// without a value.
    /// With the call, the argument that carries the value.
    pub(super) fn call_bringing(&self, n: u32, source: u32) -> Option<(Call, u32)> {
        let c = self.c;
        let carries = |a: &&u32| reads(c, **a, n) || reads(c, n, **a) && reads(c, **a, source);
        let passing = |call: &Call| {
            let sites = c.calls.get(&call.node)?;
            let argument = sites.arguments.iter().find(carries)?;
            Some((*call, *argument))
        };
        self.calls.iter().rev().map_while(passing).last()
    }

    /// The function, of those being read, whose body holds the text of node
    /// `n`: a node of a body is shared by every body that writes it alike.
    pub(super) fn written_in(&self, n: u32) -> Option<&'c str> {
        let c = self.c;
        let at = c.node(n).span;
        let callee = |call: &Call| match c.node(call.node).op {
            Op::Define(id, _) => Some(&c.program.defines[id.index()]),
            _ => None,
        };
        (self.calls.iter().rev())
            .filter_map(callee)
            .find(|define| define.body.span.encloses(at))
            .map(|define| define.name.as_str())
    }
}

/// Whether node `n` is node `source` or reads it, through any operands.
pub(super) fn reads(c: &Compiled, n: u32, source: u32) -> bool {
    let mut seen = HashSet::new();
    let mut next = vec![n];
    while let Some(m) = next.pop() {
        if m == source {
            return true;
        }
        if seen.insert(m) {
            next.extend(c.node(m).op.operands());
        }
    }
    false
}
