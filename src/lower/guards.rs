//! Optional values read where nothing has tested that they are given
//! (`previous_size.staff > 10` with no `previous_size is given and` before it):
//! such a rule compiles, and every entity that leaves the fact out gets an
//! error instead of a decision. Found on the DAG by reading it as the
//! evaluation does, left to right from the results, with the values that the
//! conditions read so far guarantee to be given.

use super::{Compiled, Op};
use crate::ast::{AggKind, Builtin};
use crate::check::CmpOp;
use crate::diagnostic::Diagnostic;
use crate::program::Type;
use crate::value::Value;
use std::collections::HashSet;

/// Past this many (node, guards) pairs read, the analysis stops: a generated
/// rule file must not make `check` slow, and what was found is reported.
const MOST_READ: usize = 200_000;

/// A warning for each optional value read, by a rule or definition the results
/// need, where it may be absent and the evaluation then fails.
pub fn unguarded_reads(c: &Compiled) -> Vec<Diagnostic> {
    let mut reader = Reader {
        c,
        seen: HashSet::new(),
        reported: HashSet::new(),
        found: Vec::new(),
    };
    for result in &c.results {
        reader.read(result.node, &Guards::default(), None);
    }
    reader.found
}

/// The nodes known to hold a value where a node is read, sorted.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct Guards(Vec<u32>);

impl Guards {
    fn with(&self, more: &[u32]) -> Guards {
        let mut all = self.0.clone();
        all.extend_from_slice(more);
        all.sort_unstable();
        all.dedup();
        Guards(all)
    }
}

struct Reader<'c> {
    c: &'c Compiled,
    seen: HashSet<(u32, Guards)>,
    /// (reader, operand) pairs already reported.
    reported: HashSet<(u32, u32)>,
    found: Vec<Diagnostic>,
}

impl<'c> Reader<'c> {
    /// Reads node `n` where the values in `guards` are known to be given;
    /// `within` is the rule, definition or outcome being read, by name.
    fn read(&mut self, n: u32, guards: &Guards, within: Option<&'c str>) {
        if self.seen.len() >= MOST_READ || !self.seen.insert((n, guards.clone())) {
            return;
        }
        let c = self.c;
        let program = &c.program;
        match &c.node(n).op {
            Op::Define(id, body) => {
                let name = &program.defines[id.index()].name;
                self.read(*body, guards, Some(name));
            }
            Op::And(items) => self.read_in_turn(n, items, guards, within, true),
            Op::Or(items) => self.read_in_turn(n, items, guards, within, false),
            Op::If(condition, then, otherwise) => {
                self.need(n, *condition, guards, within);
                self.read(
                    *then,
                    &guards.with(&self.given_if(*condition, true)),
                    within,
                );
                let given = self.given_if(*condition, false);
                self.read(*otherwise, &guards.with(&given), within);
            }
            Op::RuleApplies {
                rule,
                condition,
                overriders,
            } => {
                let name = Some(program.rules[rule.index()].name.as_str());
                self.need(n, *condition, guards, name);
                let after = guards.with(&self.given_if(*condition, true));
                for o in overriders {
                    self.need(n, *o, &after, name);
                }
            }
            Op::Outcome {
                outcome,
                rules,
                default,
                ..
            } => {
                let name = Some(program.outcomes[outcome.index()].name.as_str());
                for (applies, value) in rules {
                    self.need(n, *applies, guards, name);
                    let after = guards.with(&self.given_if(*applies, true));
                    self.read(*value, &after, name);
                }
                if let Some(d) = default {
                    self.read(*d, guards, name);
                }
            }
            Op::Aggregate {
                kind,
                collection,
                body,
                filter,
                ..
            } => {
                self.need(n, *collection, guards, within);
                let mut inside = guards.clone();
                if let Some(f) = filter {
                    self.need(n, *f, guards, within);
                    inside = guards.with(&self.given_if(*f, true));
                }
                if let Some(b) = body {
                    match kind {
                        AggKind::Sum | AggKind::Largest | AggKind::Smallest => {
                            self.need(n, *b, &inside, within)
                        }
                        _ => self.read(*b, &inside, within),
                    }
                }
            }
            op => {
                let strict = needs_values(c, op);
                for o in op.operands() {
                    match strict.contains(&o) {
                        true => self.need(n, o, guards, within),
                        false => self.read(o, guards, within),
                    }
                }
            }
        }
    }

    /// The operands of an `and` (`when_true`) or an `or`, each read where the
    /// ones before it had the truth value that lets the reading go on.
    fn read_in_turn(
        &mut self,
        reader: u32,
        items: &[u32],
        guards: &Guards,
        within: Option<&'c str>,
        when_true: bool,
    ) {
        let mut guards = guards.clone();
        for &item in items {
            self.need(reader, item, &guards, within);
            guards = guards.with(&self.given_if(item, when_true));
        }
    }

    /// Reads node `n` where `reader` needs its value: a warning if it is
    /// optional and not known to be given.
    fn need(&mut self, reader: u32, n: u32, guards: &Guards, within: Option<&'c str>) {
        if self.may_be_absent(n, guards) && self.reported.insert((reader, n)) {
            self.found.push(self.warning(reader, n, within));
        }
        self.read(n, guards, within);
    }

    fn may_be_absent(&self, n: u32, guards: &Guards) -> bool {
        let node = self.c.node(n);
        if !matches!(node.ty, Type::Optional(_)) || guards.0.binary_search(&n).is_ok() {
            return false;
        }
        match &node.op {
            // A required field of a record that is given is given.
            Op::Field(base, i) if !self.optional_field(*base, *i) => {
                self.may_be_absent(*base, guards)
            }
            Op::Column(base, table, column) => {
                let (_, ty) = &self.c.program.tables[table.index()].columns[*column as usize];
                matches!(ty, Type::Optional(_)) || self.may_be_absent(*base, guards)
            }
            Op::Define(_, body) => self.may_be_absent(*body, guards),
            _ => true,
        }
    }

    /// Whether field `i` of the record in node `base` is itself optional.
    fn optional_field(&self, base: u32, i: u32) -> bool {
        let Type::Record(record) = self.c.node(base).ty.required() else {
            return true;
        };
        let field = &self.c.program.records[record.index()].fields[i as usize];
        matches!(field.ty, Type::Optional(_))
    }

    /// The nodes that hold a value once node `n`, a condition, has the truth
    /// value `holds`: `x is given` true, `x is absent` false, a comparison true.
    fn given_if(&self, n: u32, holds: bool) -> Vec<u32> {
        let mut given = Vec::new();
        self.collect_given(n, holds, &mut given);
        given
    }

    fn collect_given(&self, n: u32, holds: bool, given: &mut Vec<u32>) {
        let c = self.c;
        match &c.node(n).op {
            Op::IsGiven(a, is_given) if *is_given == holds => self.push_given(*a, given),
            Op::Not(a) => self.collect_given(*a, !holds, given),
            Op::Define(_, body) => self.collect_given(*body, holds, given),
            Op::And(items) if holds => {
                (items.iter()).for_each(|i| self.collect_given(*i, true, given))
            }
            Op::Or(items) if !holds => {
                (items.iter()).for_each(|i| self.collect_given(*i, false, given))
            }
            // `x = none` false, `x != none` true: `x` is given.
            Op::Compare(op @ (CmpOp::Eq | CmpOp::Ne), a, b) if self.none_side(*a, *b).is_some() => {
                let other = self.none_side(*a, *b).unwrap_or(*a);
                if (*op == CmpOp::Eq) != holds {
                    self.push_given(other, given);
                }
            }
            // Any other comparison that holds had values on both sides: it
            // fails on an absent one.
            Op::Compare(_, a, b) if holds => {
                self.push_given(*a, given);
                self.push_given(*b, given);
            }
            _ => {}
        }
    }

    /// In `a = b` with one side the literal `none`, the other side.
    fn none_side(&self, a: u32, b: u32) -> Option<u32> {
        let is_none = |n: u32| matches!(self.c.node(n).op, Op::Const(Value::Absent));
        match (is_none(a), is_none(b)) {
            (true, _) => Some(b),
            (_, true) => Some(a),
            _ => None,
        }
    }

    /// Node `n` is given, and so is the record or table key it is read from.
    fn push_given(&self, n: u32, given: &mut Vec<u32>) {
        given.push(n);
        if let Op::Field(base, _) | Op::Column(base, ..) = self.c.node(n).op {
            self.push_given(base, given);
        }
    }

    fn warning(&self, reader: u32, n: u32, within: Option<&str>) -> Diagnostic {
        let c = self.c;
        let text = c.program.sources.snippet(c.node(n).span);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let place = within.map_or(String::new(), |w| format!(" (in {w})"));
        // Nodes are shared: the value read may have been written first
        // elsewhere, and then the place is the operation that reads it.
        let (read, at) = (c.node(n).span, c.node(reader).span);
        let inside = read.file == at.file && at.start <= read.start && read.end <= at.end;
        let (span, label) = match inside {
            true => (read, "read without a test that it is given".to_string()),
            false => (
                at,
                format!("reads `{text}` without a test that it is given"),
            ),
        };
        Diagnostic::warning(
            "lexnis::lower::unguarded_optional",
            format!("`{text}` may have no value here{place}: an entity may leave it out"),
        )
        .label(span, label)
        .help(format!(
            "an entity without it cannot be decided: test it first (`{text} is given and …`, \
             or `… is absent or …`), or give the fact a default"
        ))
    }
}

/// The operands an operation needs values of: it fails on an absent one.
/// `is given`, a comparison with `none`, fields, `max`, `min` and the branches
/// of `if` pass an absent value on.
fn needs_values(c: &Compiled, op: &Op) -> Vec<u32> {
    let is_none = |n: &u32| matches!(c.node(*n).op, Op::Const(Value::Absent));
    match op {
        Op::Not(a) | Op::Neg(a) => vec![*a],
        Op::Compare(CmpOp::Eq | CmpOp::Ne, a, b) if is_none(a) || is_none(b) => Vec::new(),
        Op::Compare(_, a, b) | Op::Arith(_, a, b) => vec![*a, *b],
        Op::Member(_, collection, _) => vec![*collection],
        Op::TableAggregate { collection, .. } => vec![*collection],
        Op::Call(Builtin::Max | Builtin::Min, _) => Vec::new(),
        Op::Call(_, args) => args.clone(),
        _ => Vec::new(),
    }
}
