//! Definitions used as functions: lowering inlines the body at each call, its
//! parameters bound to the argument nodes. A value that may be absent and comes
//! into a body through an argument is the caller's to test: the warning is at
//! the call, where the drafter writes the test, with the place in the body that
//! reads it beside it.

use super::Reader;
use crate::lower::{Compiled, Op};
use crate::program::{DefineDef, DefineId, OutcomeId, RuleId};
use crate::source::Span;
use petgraph::graph::NodeIndex;
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
    /// Which of the node's places (`CallSites::places`) that is.
    pub place: usize,
    /// This call, and the calls around it whose arguments its own read, as
    /// one number: what tells two readings of one body apart.
    pub context: u64,
}

/// The call a value that may be absent came in through.
#[derive(Clone, Copy)]
pub(super) struct Bringing {
    /// The outermost call of those that passed it on: where it is warned.
    pub call: Call,
    /// That call's argument that carries it.
    pub argument: u32,
    /// The innermost: the function whose body reads it.
    pub reader: Call,
}

impl Call {
    /// The definition called.
    pub(super) fn callee(self, c: &Compiled) -> Option<&DefineDef> {
        match c.node(self.node).op {
            Op::Define(id, _) => Some(&c.program.defines[id.index()]),
            _ => None,
        }
    }

    /// The nodes of the arguments written at this call's place.
    fn arguments(self, c: &Compiled) -> &[u32] {
        let places = c.calls.get(&self.node).map_or(&[][..], |s| &s.places);
        places
            .get(self.place)
            .map_or(&[], |(_, arguments)| arguments)
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
        let places = &c.calls.get(&n)?.places;
        let text = caller.map(|item| item.text(c));
        let place = (places.iter())
            .position(|(span, _)| text.is_some_and(|t| t.encloses(*span)))
            .unwrap_or(0);
        let (site, arguments) = places.get(place)?;
        // The calls around matter only where their arguments reach this one's:
        // a body met through ever other chains is read again only as often as
        // a value can come in differently.
        let around = self.calls.last().copied();
        let chained = around.is_some_and(|outer| {
            let reach = |a: &u32| outer.arguments(c).iter().any(|o| reads(c, *a, *o));
            arguments.iter().any(reach)
        });
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let outer = if chained { self.context() } else { 0 };
        (outer, n, *site).hash(&mut hasher);
        Some(Call {
            node: n,
            caller,
            site: *site,
            place,
            context: hasher.finish(),
        })
    }

    /// The call through which the value of node `n` came into the function
    /// being read, if an argument of the call carries it (is it, holds it, or
    /// is what it is read from, as a record whose field is read, which may be
    /// left out): of such calls, from the innermost out, the last, which is
    /// written where the value comes from. `source` is what may leave it
    /// without a value.
    pub(super) fn call_bringing(&self, n: u32, source: u32) -> Option<Bringing> {
        let c = self.c;
        let carries = |a: &&u32| reads(c, **a, n) || reads(c, n, **a) && reads(c, **a, source);
        let passing = |call: &Call| Some((*call, *call.arguments(c).iter().find(carries)?));
        let run: Vec<(Call, u32)> = self.calls.iter().rev().map_while(passing).collect();
        let (reader, _) = *run.first()?;
        let (call, argument) = *run.last()?;
        Some(Bringing {
            call,
            argument,
            reader,
        })
    }

    /// The function, of those being read, whose body holds the text of node
    /// `n`: a node of a body is shared by every body that writes it alike.
    pub(super) fn written_in(&self, n: u32) -> Option<&'c DefineDef> {
        let c = self.c;
        let at = c.node(n).span;
        (self.calls.iter().rev())
            .filter_map(|call| call.callee(c))
            .find(|define| define.body.span.encloses(at))
    }
}

/// Whether node `n` is node `source` or reads it, through any operands (the
/// graph's edges run from an operand to the node that reads it).
fn reads(c: &Compiled, n: u32, source: u32) -> bool {
    let (from, to) = (NodeIndex::new(source as usize), NodeIndex::new(n as usize));
    petgraph::algo::has_path_connecting(&c.graph, from, to, None)
}
