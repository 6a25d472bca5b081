//! The rules of a set-valued outcome whose conditions have one shape, written
//! once as a loop over a table of what tells them apart. The 23 rules of
//! art. 11 of the NIS decree each test `in_scope` and the entity's types (or
//! those of the entity it is linked to) against the rows of one sector:
//! written out one by one, they were 23 copies of the same code in the
//! bundled lean plan's `results` (11.8 KB of code), which a record runs
//! through once it is in scope, and which evicted the rest of the plan from
//! the processor's instruction cache.
//!
//! A collected outcome reads every one of its rules, and the order in which
//! they are read changes nothing: reading a rule has no effect but its value,
//! its bit and the bits of the rules its condition reads as rules (marks
//! that are only ever set), and the memos of slots read elsewhere too and of
//! key masks (values that do not depend on who reads them first); a `None`
//! gives the record up whichever rule meets it first. So the rules of one
//! shape are read together, wherever they stand.

use super::{mask_words, Lean, Repr};
use crate::lower::Op;
use std::fmt::Write as _;

/// The fewest rules of one shape written as a loop: fewer are written out.
const FEWEST_IN_A_LOOP: usize = 4;

/// One rule of a collected outcome: its place among the outcome's rules
/// (its bit in the outcome's set), its bit in its word of the rules that
/// applied (for a compact trace) and the slots of the row masks its
/// condition reads, in order.
struct Member {
    place: usize,
    bit: u32,
    rows: Vec<u32>,
}

/// The rules of one shape: the condition's code with each mask read as
/// `rows[i]`, the words of a mask, the word of the rules that applied that
/// holds their bits (a constant index of the written code, as everywhere
/// else), and the rules.
struct Shape {
    code: String,
    words: usize,
    applied_word: u32,
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
        for (place, (operand, (node, _))) in rules.iter().zip(own).enumerate() {
            let Some(shape) = self.shape_of_rule(place, *operand, *node) else {
                alone.push(place);
                continue;
            };
            let same = |known: &&mut Shape| {
                (known.code == shape.code)
                    && (known.words, known.applied_word) == (shape.words, shape.applied_word)
            };
            match shapes.iter_mut().find(same) {
                Some(known) => known.members.extend(shape.members),
                None => shapes.push(shape),
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
            let (operand, (node, _)) = (rules[place], own[place]);
            let holds = self.reaching_into(node, self.get(operand, Repr::Bool), "applied");
            let _ = writeln!(out, "    a{s} |= u64::from({holds}) << {place};");
        }
    }

    /// Rule `place` of an outcome (its `Collect` operand `operand`, the
    /// outcome's own rule node `node`, whose rule index the bit is) as the
    /// one member of its shape; `None` if its condition reads no mask, or
    /// masks of different sizes.
    fn shape_of_rule(&self, place: usize, operand: u32, node: u32) -> Option<Shape> {
        let Op::RuleApplies { rule, .. } = &self.compiled.node(node).op else {
            return None;
        };
        let mut rows = Vec::new();
        let code = self.condition_code(operand, &mut rows)?;
        let mut words = rows
            .iter()
            .filter_map(|r| self.masked(*r))
            .map(|(_, n)| mask_words(n));
        let first = words.next()?;
        if words.any(|w| w != first) {
            return None;
        }
        Some(Shape {
            code,
            words: first,
            applied_word: rule.0 / 64,
            members: vec![Member {
                place,
                bit: rule.0 % 64,
                rows,
            }],
        })
    }

    /// The code of a rule's condition with each row mask it reads named
    /// `rows[i]` (its slot pushed onto `rows`): the conditions of two rules
    /// that differ only in their masks have the same code. `and`, `or`, `not`,
    /// definitions and rules no other rule overrides are written out; any
    /// other slot is read by its method, as everywhere else, and so tells two
    /// shapes apart unless it is the same slot.
    fn condition_code(&self, n: u32, rows: &mut Vec<u32>) -> Option<String> {
        let s = self.slot(n);
        if self.remembered(s) || self.scoped(s) {
            return Some(self.get(s, Repr::Bool));
        }
        let mut joined = |items: &[u32], sep: &str| -> Option<String> {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| self.condition_code(*i, rows))
                .collect();
            Some(format!("({})", parts?.join(sep)))
        };
        match self.op(s) {
            Op::And(items) if !items.is_empty() => joined(items, " && "),
            Op::Or(items) if !items.is_empty() => joined(items, " || "),
            Op::Not(a) => Some(format!("!{}", self.condition_code(*a, rows)?)),
            Op::Define(_, body) => self.condition_code(*body, rows),
            Op::RuleApplies {
                condition,
                overriders,
                ..
            } if overriders.is_empty() => self.condition_code(*condition, rows),
            _ => match self.mask_test(s, &format!("&rows[{}]", rows.len())) {
                Some(test) => {
                    rows.push(s);
                    Some(test)
                }
                None => Some(self.get(s, Repr::Bool)),
            },
        }
    }

    /// The rules of one shape of outcome `s`, read in a loop over a table of
    /// their places, bits and masks.
    fn shape_loop(&self, s: u32, shape: &Shape, out: &mut String) {
        let masks = shape.members[0].rows.len();
        let entries: Vec<String> = (shape.members.iter())
            .map(|m| {
                let rows: Vec<String> = m.rows.iter().map(|r| format!("ROWS_{r}")).collect();
                format!("({}, {}, [{}])", m.place, m.bit, rows.join(", "))
            })
            .collect();
        let _ = write!(
            out,
            "    {{\n        const SHAPE: [(u32, u32, [[u64; {words}]; {masks}]); {count}] = [{entries}];\n        \
             for (place, bit, rows) in &SHAPE {{\n            \
             let holds = {code};\n            \
             applied[{word}] |= u64::from(holds) << bit;\n            \
             a{s} |= u64::from(holds) << place;\n        }}\n    }}\n",
            words = shape.words,
            count = shape.members.len(),
            entries = entries.join(", "),
            code = shape.code,
            word = shape.applied_word,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::codegen::native_source;
    use crate::policy::PolicySource;

    /// `tests/policies/shapes.law`: four rules that differ only in the rows
    /// their `any` keeps are one loop over a table of four entries. Written
    /// out: a rule that reads no mask (r3), one whose test of a group r7
    /// reads too (r6: the test is then remembered, read by its method, which
    /// tells it apart), r7, and two rules of one shape (an `all`) too few
    /// for a loop (r8, r9). The native tests run the plan
    /// (`native::tests::lean_loops_decide_as_the_interpreter_does`).
    #[test]
    fn rules_of_one_shape_are_one_loop() {
        let mut source = PolicySource::default();
        source.add(
            "policies/t/act.law",
            include_str!("../../../tests/policies/shapes.law"),
        );
        let written = native_source(&[source], &[]).expect("compiles");
        let lean = &written[written.find("fn results").expect("a lean plan")..];
        let lean = &lean[..lean.find("    Some(").expect("the end of `results`")];
        let tables: Vec<&str> = lean.lines().filter(|l| l.contains("const SHAPE")).collect();
        assert_eq!(tables.len(), 1, "{lean}");
        assert!(tables[0].contains("[[u64; 1]; 1]); 4]"), "{}", tables[0]);
        // The places of r1, r2, r4 and r5 among the outcome's rules, and
        // their bits (rule indices 0, 1, 3 and 4, all in word 0).
        for (place, bit) in [(0, 0), (1, 1), (3, 3), (4, 4)] {
            let entry = format!("({place}, {bit}, [ROWS_");
            assert!(tables[0].contains(&entry), "{}", tables[0]);
        }
        assert!(
            lean.contains("applied[0] |= u64::from(holds) << bit;"),
            "{lean}"
        );
        let alone: Vec<&str> = (lean.lines())
            .filter(|l| l.trim_start().starts_with("a") && l.contains("|= u64::from({"))
            .collect();
        assert_eq!(
            alone.len(),
            5,
            "r3, r6, r7, r8 and r9 written out: {alone:?}"
        );
        for place in [2, 5, 6, 7, 8] {
            let line = alone.iter().find(|l| l.ends_with(&format!("<< {place};")));
            assert!(line.is_some(), "rule {place} written out: {alone:?}");
        }
        // r8 and r9 are of one shape, with masks, but two: were they enough
        // for a loop, there would be a second table.
        assert!(
            written.contains("keys_all(&self.k"),
            "r8 and r9 test by masks"
        );
    }
}
