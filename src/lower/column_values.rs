//! A value written in a rule that no row of a table holds in the column it is
//! compared with (`subsector_of(5, ["e", "g"])` when sector 5 has no subsector
//! "g"): the test can never hold, and the entities it was written for fall out
//! of the rule silently. Checked on the DAG, where calls of definitions with
//! parameters have been inlined and their arguments meet the columns.

use super::{Compiled, Op};
use crate::check::CmpOp;
use crate::diagnostic::Diagnostic;
use crate::program::Type;

pub(super) fn values_no_row_holds(c: &Compiled) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for i in 0..c.node_count() as u32 {
        let (column, written) = match &c.node(i).op {
            Op::Compare(CmpOp::Eq | CmpOp::Ne, a, b) => match (&c.node(*a).op, &c.node(*b).op) {
                (Op::Column(..), _) => (*a, vec![*b]),
                (_, Op::Column(..)) => (*b, vec![*a]),
                _ => continue,
            },
            Op::Member(a, b, _) => match &c.node(*b).op {
                Op::SetLit(items) => (*a, items.clone()),
                _ => continue,
            },
            _ => continue,
        };
        let Op::Column(_, table, col) = c.node(column).op else {
            continue;
        };
        // The test's own place: its operands may be written elsewhere too.
        let test = c.node(i).span;
        let def = &c.program.tables[table.index()];
        let (name, ty) = &def.columns[col as usize];
        if !matches!(ty.required(), Type::Text | Type::Int) {
            continue;
        }
        for n in written {
            let Op::Const(v) = &c.node(n).op else {
                continue;
            };
            if v.is_absent() || def.rows.iter().any(|r| r.cells[col as usize] == *v) {
                continue;
            }
            let shown = crate::value::display(&c.program, ty, v);
            problems.push(
                Diagnostic::error(
                    "lexnis::lower::value_in_no_row",
                    format!("no row of table {} has {shown} in column `{name}`", def.name),
                )
                .label(c.place_within(n, &[test]), "in no row")
                .label(c.place_within(column, &[test]), "compared with this column")
                .help(format!(
                    "the test can never hold: check the value against the table (`lexnis catalog --table {}`)",
                    def.name
                )),
            );
        }
    }
    problems
}
