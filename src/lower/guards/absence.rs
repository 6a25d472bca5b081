//! Whether a node may be left without a value where it is read, and why; and
//! the warning that says so.

use super::calls::Bringing;
use super::{Guards, Reader, Within};
use crate::ast::AggKind;
use crate::diagnostic::Diagnostic;
use crate::lower::{Compiled, Op};
use crate::program::{DefineDef, Type};

/// Why a node may have no value.
#[derive(Clone, Copy)]
pub(super) enum Absence {
    /// An entity may leave out this optional fact or field (a node).
    LeftOut(u32),
    /// This optional outcome (a node) has no value when no rule concludes it.
    NoRuleApplies(u32),
    /// The literal `none` (a node) is its value in some cases.
    NoneWritten(u32),
    /// This `largest` or `smallest` (a node) has no value over no elements.
    NoElements(u32),
}

/// A value that may be absent, where it is read.
pub(super) struct Reading<'a> {
    /// The node that reads it (with `declared`, the definition or outcome
    /// whose value it is).
    pub reader: u32,
    /// The value read.
    pub n: u32,
    /// The rule, definition or outcome being read (the innermost function,
    /// inside a call).
    pub within: Within,
    pub declared: Option<u32>,
    /// The call the value came in through, as an argument: the warning is
    /// then at the call, in the item the call is written in.
    pub call: Option<Bringing>,
    /// The function whose body has the reader's text, if it is in one of
    /// those being read (a node shared by two bodies has the first one's).
    pub written_in: Option<&'a DefineDef>,
}

impl Absence {
    /// The node the absence comes from.
    pub(super) fn source(self) -> u32 {
        match self {
            Absence::LeftOut(m)
            | Absence::NoRuleApplies(m)
            | Absence::NoneWritten(m)
            | Absence::NoElements(m) => m,
        }
    }
}

impl Reader<'_> {
    /// Why node `n` may have no value where the values in `guards` are given.
    pub(super) fn absence(&mut self, n: u32, guards: &Guards) -> Option<Absence> {
        if guards.has(n) {
            return None;
        }
        let key = (n, guards.clone());
        if let Some(known) = self.absences.get(&key) {
            return *known;
        }
        let found = self.find_absence(n, guards);
        self.absences.insert(key, found);
        found
    }

    fn find_absence(&mut self, n: u32, guards: &Guards) -> Option<Absence> {
        let c = self.c;
        let node = c.node(n);
        let optional = |ty: &Type| matches!(ty, Type::Optional(_));
        match &node.op {
            Op::Fact(_) | Op::Local(_) => optional(&node.ty).then_some(Absence::LeftOut(n)),
            Op::Const(crate::value::Value::Absent) => Some(Absence::NoneWritten(n)),
            Op::Aggregate {
                kind: AggKind::Largest | AggKind::Smallest,
                ..
            } => Some(Absence::NoElements(n)),
            Op::Field(base, i) => match optional_field(c, *base, *i) {
                true => Some(Absence::LeftOut(n)),
                false => self.absence(*base, guards),
            },
            Op::Column(base, table, column) => {
                let (_, ty) = &c.program.tables[table.index()].columns[*column as usize];
                match optional(ty) {
                    true => Some(Absence::LeftOut(n)),
                    false => self.absence(*base, guards),
                }
            }
            // A definition declared without `optional` is warned of where it
            // is defined (`Reader::fill`), not again where it is read.
            Op::Define(id, body) => match optional(&c.program.defines[id.index()].ty) {
                true => self.absence(*body, guards),
                false => None,
            },
            Op::If(condition, then, otherwise) => {
                let when_true = self.guarded(guards, *condition, true);
                let when_false = self.guarded(guards, *condition, false);
                (self.absence(*then, &when_true)).or_else(|| self.absence(*otherwise, &when_false))
            }
            Op::Outcome {
                outcome,
                rules,
                default,
                collect: false,
            } if optional(&c.program.outcomes[outcome.index()].ty) => {
                for (applies, value) in rules {
                    let after = self.guarded(guards, *applies, true);
                    if let Some(why) = self.absence(*value, &after) {
                        return Some(why);
                    }
                }
                match default {
                    Some(d) => self.absence(*d, guards),
                    None => Some(Absence::NoRuleApplies(n)),
                }
            }
            _ => None,
        }
    }
}

/// Whether field `i` of the record in node `base` is itself optional.
fn optional_field(c: &Compiled, base: u32, i: u32) -> bool {
    let Type::Record(record) = c.node(base).ty.required() else {
        return true;
    };
    let field = &c.program.records[record.index()].fields[i as usize];
    matches!(field.ty, Type::Optional(_))
}

/// The text of node `n`, on one line.
fn text(c: &Compiled, n: u32) -> String {
    c.program.sources.snippet_on_one_line(c.node(n).span)
}

/// The warning for a value that may be absent where it is read.
pub(super) fn warning(c: &Compiled, reading: &Reading<'_>, why: Absence) -> Diagnostic {
    let (read, at) = (c.node(reading.n).span, c.node(reading.reader).span);
    // The drafter's fix is at the call, the body being right for values
    // given; but an argument computed in the caller's text (`f(x * 2)`) is
    // read where it is written. At a call, what the caller passes is what the
    // drafter sees there.
    let at_call = reading.call.filter(|b| !b.call.site.encloses(at));
    let shown = text(c, at_call.map_or(reading.n, |b| b.argument));
    let within = reading.call.map_or(reading.within, |b| b.call.caller);
    let place = within.map_or(String::new(), |w| format!(" (in {})", w.name(c)));
    let (cause, help) = explain(c, why, &shown);
    let (message, help) = match reading.declared.and_then(|d| declared_type(c, d)) {
        Some((what, ty)) => (
            format!("`{shown}` may have no value{place}, but {what} is declared `{ty}`: {cause}"),
            format!(
                "`{ty}` without `optional` promises a value for every entity: give one where \
                 `{shown}` has none (`if … is given then … else …`), or declare {what} as \
                 `optional {ty}`"
            ),
        ),
        None => (
            format!("`{shown}` may have no value here{place}: {cause}"),
            help,
        ),
    };
    let warning = Diagnostic::warning("lexnis::lower::unguarded_optional", message);
    let label = format!("reads `{shown}` without a test that it is given");
    match at_call {
        Some(b) => {
            let callee = b.call.callee(c).map_or("", |d| d.name.as_str());
            let passes = format!("passes `{shown}` to `{callee}` without a test that it is given");
            let warning = warning.label(b.call.site, passes);
            // The reading's own node may be another body's (shared): then the
            // body of the function that reads it is shown whole.
            match (reading.written_in, b.reader.callee(c)) {
                (Some(d), _) => warning.label(at, format!("`{}` reads it here", d.name)),
                (None, Some(d)) => warning.label(d.body.span, format!("`{}` reads it", d.name)),
                (None, None) => warning,
            }
        }
        // Nodes are shared: the value read may have been written first
        // elsewhere, and then the place is the operation that reads it.
        _ if at.encloses(read) => warning.label(read, "read without a test that it is given"),
        _ => warning.label(at, label),
    }
    .help(help)
}

/// The definition or outcome of node `n` (`outcome o`), and its declared type.
fn declared_type(c: &Compiled, n: u32) -> Option<(String, String)> {
    let p = &c.program;
    let (what, ty) = match &c.node(n).op {
        Op::Define(id, _) => {
            let d = &p.defines[id.index()];
            (format!("definition `{}`", d.name), &d.ty)
        }
        Op::RuleApplies { rule, .. } => {
            let o = &p.outcomes[p.rules[rule.index()].outcome.index()];
            (format!("outcome `{}`", o.name), &o.ty)
        }
        _ => return None,
    };
    Some((what, p.type_name(ty)))
}

/// What leaves the value out, and what the drafter can do.
fn explain(c: &Compiled, why: Absence, shown: &str) -> (String, String) {
    match why {
        Absence::LeftOut(m) => {
            let name = text(c, m);
            let node = c.node(m);
            let what = if matches!(node.op, Op::Fact(_)) {
                "fact"
            } else {
                "field"
            };
            let help = match node.scoped {
                true => format!(
                    "an entity without it cannot be decided: keep only the elements that have it \
                     (`where {name} is given`), or give the {what} a default"
                ),
                false => format!(
                    "an entity without it cannot be decided: test it first (`{name} is given and …`, \
                     or `{name} is absent or …`), or give the {what} a default"
                ),
            };
            (format!("an entity may leave out `{name}`"), help)
        }
        Absence::NoneWritten(m) => (
            format!(
                "it is `none` where line {} says so",
                c.program.sources.line_col(c.node(m).span).0
            ),
            format!("test it first (`{shown} is given and …`), or write a value instead of `none`"),
        ),
        Absence::NoElements(m) => {
            let Op::Aggregate {
                collection, filter, ..
            } = c.node(m).op
            else {
                unreachable!("an absence of no elements is an aggregate's")
            };
            let elements = text(c, collection);
            let cause = match filter {
                Some(_) => format!("no element of `{elements}` may pass its `where`"),
                None => format!("`{elements}` may have no element"),
            };
            (
                cause,
                format!(
                    "test it first (`(count … in {elements}) > 0 and …`, with the same \
                     `where`), or name it in an `optional` definition and test that it is given"
                ),
            )
        }
        Absence::NoRuleApplies(m) => {
            let name = text(c, m);
            (
                format!("outcome `{name}` has none when no rule concludes it"),
                format!(
                    "test it first (`{name} is given and …`), or give it a value with `otherwise`"
                ),
            )
        }
    }
}
