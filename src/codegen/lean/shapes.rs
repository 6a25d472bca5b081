//! The rules of a set-valued outcome whose conditions have one shape, written
//! once as a loop over a table of what tells them apart. The 23 rules of
//! art. 11 of the NIS decree each test `in_scope` and the entity's types (or
//! those of the entity it is linked to) against the rows of one sector:
//! written out one by one, they were 23 copies of the same code, a third of
//! the bundled lean plan's `results`, which a record runs through once it is
//! in scope, and which evicted the rest of the plan from the processor's
//! instruction cache.
//!
//! A collected outcome reads every one of its rules, and reading a rule has
//! no effect but its value, the bit of the rule and the memo of a slot read
//! from elsewhere too: the order in which the rules are read changes nothing,
//! so the rules of one shape are read together, wherever they stand.

use super::{mask_words, Lean, Repr};
use crate::ast::AggKind;
use crate::lower::Op;
use std::fmt::Write as _;

/// The fewest rules of one shape written as a loop: fewer are written out.
const FEWEST_IN_A_LOOP: usize = 4;

/// One rule of a collected outcome: its place among the outcome's rules
/// (its bit in the outcome's set), its rule index (its bit for a compact
/// trace) and the slots of the row masks its condition reads, in order.
struct Member {
    place: usize,
    rule: u32,
    rows: Vec<u32>,
}

/// The rules of one shape: the condition's code with each mask read as
/// `rows[i]`, the words of a mask, and the rules.
struct Shape {
    code: String,
    words: usize,
    members: Vec<Member>,
}

impl Lean<'_> {
    /// The lines that set `a{s}`, the bits of the rules of outcome `s` that
    /// apply, and their bits in the local `applied`: the rules of one shape
    /// as a loop, the others one by one.
    pub(super) fn collected_bits(&self, s: u32, rules: &[u32], out: &mut String) {
        let Op::Outcome { rules: own, .. } = self.op(s) else {
            unreachable!("a `Collect` step is an outcome's")
        };
        debug_assert_eq!(rules.len(), own.len(), "a `Collect` step reads every rule");
        let mut shapes: Vec<Shape> = Vec::new();
        let mut alone: Vec<usize> = Vec::new();
        for (place, (rule, (node, _))) in rules.iter().zip(own).enumerate() {
            match self.member(place, *rule, *node) {
                Some((code, words, member)) => {
                    match shapes
                        .iter_mut()
                        .find(|m| m.code == code && m.words == words)
                    {
                        Some(shape) => shape.members.push(member),
                        None => shapes.push(Shape {
                            code,
                            words,
                            members: vec![member],
                        }),
                    }
                }
                None => alone.push(place),
            }
        }
        for shape in &shapes {
            match shape.members.len() >= FEWEST_IN_A_LOOP {
                true => self.shape_loop(s, shape, out),
                false => alone.extend(shape.members.iter().map(|m| m.place)),
            }
        }
        alone.sort_unstable();
        for place in alone {
            let (rule, (node, _)) = (rules[place], own[place]);
            let holds = self.reaching_into(node, self.get(rule, Repr::Bool), "applied");
            let _ = writeln!(out, "    a{s} |= u64::from({holds}) << {place};");
        }
    }

    /// Rule `place` of an outcome (its `Collect` operand `rule`, its own node
    /// `node`) as a member of a shape: the shape's code, the words of its
    /// masks, and the member; `None` if its condition reads no mask, or masks
    /// of different sizes.
    fn member(&self, place: usize, rule: u32, node: u32) -> Option<(String, usize, Member)> {
        let Op::RuleApplies { rule: index, .. } = &self.compiled.node(node).op else {
            return None;
        };
        let mut rows = Vec::new();
        let code = self.shape_of(rule, &mut rows)?;
        let words: Vec<usize> = (rows.iter())
            .filter_map(|r| self.masked(*r).map(|(_, rows)| mask_words(rows)))
            .collect();
        let first = *words.first()?;
        if words.len() != rows.len() || words.iter().any(|w| *w != first) {
            return None;
        }
        let member = Member {
            place,
            rule: index.0,
            rows,
        };
        Some((code, first, member))
    }

    /// The code of a rule's condition with each row mask it reads named
    /// `rows[i]` (its slot pushed onto `rows`): the conditions of two rules
    /// that differ only in their masks have the same code. `and`, `or`, `not`,
    /// definitions and rules no other rule overrides are written out; any
    /// other slot is read by its method, as everywhere else, and so tells two
    /// shapes apart unless it is the same slot.
    fn shape_of(&self, n: u32, rows: &mut Vec<u32>) -> Option<String> {
        let s = self.slot(n);
        if self.remembered(s) || self.scoped(s) {
            return Some(self.get(s, Repr::Bool));
        }
        let mut joined = |items: &[u32], sep: &str| -> Option<String> {
            let parts: Option<Vec<String>> =
                items.iter().map(|i| self.shape_of(*i, rows)).collect();
            Some(format!("({})", parts?.join(sep)))
        };
        match self.op(s) {
            Op::And(items) if !items.is_empty() => joined(items, " && "),
            Op::Or(items) if !items.is_empty() => joined(items, " || "),
            Op::Not(a) => Some(format!("!{}", self.shape_of(*a, rows)?)),
            Op::Define(_, body) => self.shape_of(*body, rows),
            Op::RuleApplies {
                condition,
                overriders,
                ..
            } if overriders.is_empty() => self.shape_of(*condition, rows),
            Op::TableAggregate { kind, .. } if self.masked(s).is_some() => {
                let (c, _) = self.masked(s)?;
                let answer = if *kind == AggKind::All { "all" } else { "any" };
                rows.push(s);
                Some(format!(
                    "keys_{answer}(&self.k{c}()?, &rows[{}])",
                    rows.len() - 1
                ))
            }
            _ => Some(self.get(s, Repr::Bool)),
        }
    }

    /// The rules of one shape of outcome `s`, read in a loop over a table of
    /// their places, rule indices and masks.
    fn shape_loop(&self, s: u32, shape: &Shape, out: &mut String) {
        let masks = shape.members[0].rows.len();
        let entries: Vec<String> = (shape.members.iter())
            .map(|m| {
                let rows: Vec<String> = m.rows.iter().map(|r| format!("ROWS_{r}")).collect();
                format!("({}, {}, [{}])", m.place, m.rule, rows.join(", "))
            })
            .collect();
        let _ = write!(
            out,
            "    {{\n        const SHAPE: [(u32, u32, [[u64; {words}]; {masks}]); {count}] = [{entries}];\n        \
             for &(place, rule, rows) in SHAPE.iter() {{\n            \
             let holds = {code};\n            \
             applied[rule as usize / 64] |= u64::from(holds) << (rule % 64);\n            \
             a{s} |= u64::from(holds) << place;\n        }}\n    }}\n",
            words = shape.words,
            count = shape.members.len(),
            entries = entries.join(", "),
            code = shape.code,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::codegen::native_source;
    use crate::policy::PolicySource;

    /// Four rules that differ only in the rows their table aggregate keeps
    /// are one loop over a table of four entries. Written out: a rule of
    /// another shape (r3), one whose test of a group r7 reads too (r6: the
    /// test is then remembered, read by its method, which tells it apart),
    /// and r7.
    #[test]
    fn rules_of_one_shape_are_one_loop() {
        let mut source = PolicySource::default();
        source.add(
            "policies/t/act.law",
            "act t {\n  in force from 2025-01-01\n}\n\
             table Kind cite \"allegato I\" {\n  columns group: int\n  \
             \"a\": 1\n  \"b\": 2\n  \"c\": 3\n  \"d\": 4\n  \"e\": 5\n}\n\
             enum Tag { one, two, three, four, five, six, seven }\n\
             fact open: bool\n\
             fact kinds: set of Kind\n\
             define of_group(g: int): bool cite \"art. 1\" = any k in kinds where k.group = g\n\
             outcome tags: set of Tag\n\
             rule r1 cite \"art. 2\" when open and of_group(1) then tags includes one\n\
             rule r2 cite \"art. 3\" when open and of_group(2) then tags includes two\n\
             rule r3 cite \"art. 4\" when not open then tags includes three\n\
             rule r4 cite \"art. 5\" when open and of_group(3) then tags includes four\n\
             rule r5 cite \"art. 6\" when open and of_group(4) then tags includes five\n\
             rule r6 cite \"art. 7\" when open and of_group(5) then tags includes six\n\
             rule r7 cite \"art. 8\" when not open or of_group(5) then tags includes seven\n",
        );
        let written = native_source(&[source], &[]).expect("compiles");
        let lean = &written[written.find("fn results").expect("a lean plan")..];
        let tables: Vec<&str> = lean.lines().filter(|l| l.contains("const SHAPE")).collect();
        assert_eq!(tables.len(), 1, "{lean}");
        assert!(tables[0].contains("[[u64; 1]; 1]); 4]"), "{}", tables[0]);
        // The places of r1, r2, r4 and r5 among the outcome's rules, and
        // their rule indices.
        for (place, rule) in [(0, 0), (1, 1), (3, 3), (4, 4)] {
            assert!(
                tables[0].contains(&format!("({place}, {rule}, [ROWS_")),
                "{}",
                tables[0]
            );
        }
        let alone: Vec<&str> = (lean.lines())
            .take_while(|l| !l.starts_with("    Some("))
            .filter(|l| l.trim_start().starts_with("a") && l.contains("|= u64::from({"))
            .collect();
        assert_eq!(alone.len(), 3, "r3, r6 and r7 written out: {alone:?}");
        for place in [2, 5, 6] {
            let line = alone.iter().find(|l| l.ends_with(&format!("<< {place};")));
            assert!(line.is_some(), "rule {place} written out: {alone:?}");
        }
    }
}
