//! Definitions used as functions: lowering inlines the body at each call, its
//! parameters bound to the argument nodes. A value that may be absent and comes
//! into a body through an argument is the caller's to test: the warning is at
//! the call, where the drafter writes the test, with the place in the body that
//! reads it beside it.

use super::Reader;
use crate::lower::{Compiled, Op};
use crate::source::Span;
use std::collections::HashSet;

/// A call being read.
#[derive(Clone, Copy)]
pub(super) struct Call<'c> {
    /// The call's node (an `Op::Define`); calls with the same arguments share it.
    pub node: u32,
    pub callee: &'c str,
    /// Where the callee's body is written.
    pub body: Span,
    /// The rule, definition or outcome being read where the call is met.
    pub caller: Option<&'c str>,
    /// Where this call is written: of the places the node's calls are, the
    /// one in the caller's text.
    pub site: Span,
}

/// A call by its node and the place it is written.
pub(super) type Site = (u32, Span);

impl Call<'_> {
    pub(super) fn site_key(&self) -> Site {
        (self.node, self.site)
    }
}

impl<'c> Reader<'c> {
    /// The call of node `n`, a definition with parameters, met while reading
    /// `caller`.
    pub(super) fn call(&self, n: u32, caller: Option<&'c str>) -> Call<'c> {
        let c = self.c;
        let Op::Define(id, _) = c.node(n).op else {
            unreachable!("a call is a definition's node")
        };
        let define = &c.program.defines[id.index()];
        let spans = c.calls.get(&n).map_or(&[][..], |sites| &sites.spans);
        let text = caller.and_then(|name| item_text(c, name));
        let site = (spans.iter())
            .find(|span| text.is_some_and(|t| t.encloses(**span)))
            .or(spans.first())
            .copied()
            .unwrap_or(c.node(n).span);
        Call {
            node: n,
            callee: &define.name,
            body: define.body.span,
            caller,
            site,
        }
    }

    /// The call through which the value of node `n` came into the function
    /// being read, if one of the call's arguments is that value or holds it:
    /// of such calls, from the innermost out, the last, which is written where
    /// the value comes from.
    pub(super) fn call_bringing(&self, n: u32) -> Option<Call<'c>> {
        let passes = |call: &&Call<'c>| {
            let sites = self.c.calls.get(&call.node);
            (sites.into_iter().flat_map(|s| &s.arguments)).any(|&a| reads(self.c, a, n))
        };
        self.calls.iter().rev().take_while(passes).last().copied()
    }

    /// The function, of those being read, whose body holds the text of node
    /// `n`: a node of a body is shared by every body that writes it alike.
    pub(super) fn written_in(&self, n: u32) -> Option<&'c str> {
        let at = self.c.node(n).span;
        let call = self.calls.iter().rev().find(|call| call.body.encloses(at));
        call.map(|call| call.callee)
    }
}

/// The text of the definition, rule or outcome named `name`: its declaration
/// from its name to the end of its expressions.
fn item_text(c: &Compiled, name: &str) -> Option<Span> {
    let p = &c.program;
    if let Some(d) = p.defines.iter().find(|d| d.name == name) {
        return Some(d.span.join(d.body.span));
    }
    if let Some(r) = p.rules.iter().find(|r| r.name == name) {
        let text = r.span.join(r.condition.span);
        return Some(r.value.as_ref().map_or(text, |v| text.join(v.span)));
    }
    p.outcomes.iter().find(|o| o.name == name).map(|o| o.span)
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
