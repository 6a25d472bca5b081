//! The ways of evaluating one compiled policy, checked against each other: the
//! native plan (where `lexnis codegen` wrote one), the interpreter's eager pass,
//! and the on-demand evaluation that is the reference for both.

use super::Evaluator;
use crate::facts::Facts;
use crate::lower::Compiled;
use crate::value::Value;

/// Evaluates `facts` every way there is and says where a way disagrees with the
/// on-demand evaluation: in the results, the error, the rules that applied, or the
/// value of a node a left-to-right reading reaches (nodes inside aggregates,
/// which hold whichever element was read last and which no explanation shows,
/// are not compared).
pub fn cross_check(compiled: &Compiled, facts: &Facts) -> Result<(), String> {
    let mut lazy = Evaluator::new(compiled);
    let want = lazy.run_lazily(facts.clone());
    let native = Evaluator::new(compiled);
    let mut ways = vec![("interpreted", Evaluator::new(compiled).interpreted())];
    if native.is_native() {
        ways.push(("native", native));
    }
    for (way, mut ev) in ways {
        let got = ev.run(facts.clone());
        if got != want {
            return Err(format!(
                "{way}: results {got:?}, on demand {want:?}{}",
                first_difference(compiled, &ev, &lazy)
            ));
        }
        if want.is_err() {
            continue;
        }
        let applied: Vec<bool> = (compiled.rule_nodes.iter())
            .map(|n| lazy.memo(*n) == Some(&Value::Bool(true)))
            .collect();
        if ev.applied_rules() != applied {
            return Err(format!("{way}: the rules that applied differ"));
        }
        let difference = first_difference(compiled, &ev, &lazy);
        if !difference.is_empty() {
            return Err(format!("{way}: {difference}"));
        }
    }
    Ok(())
}

/// The first node outside aggregates whose value differs, with its operands.
fn first_difference(compiled: &Compiled, ev: &Evaluator<'_>, lazy: &Evaluator<'_>) -> String {
    let outside = (0..compiled.node_count() as u32).filter(|n| !compiled.node(*n).scoped);
    for n in outside {
        if ev.memo(n) == lazy.memo(n) {
            continue;
        }
        let mut text = format!(
            "; node #{n} {:?}: {:?}, on demand {:?}",
            compiled.node(n).op,
            ev.memo(n),
            lazy.memo(n)
        );
        for o in compiled.node(n).op.operands() {
            text.push_str(&format!(
                "\n  operand #{o} {:?}: {:?}, on demand {:?}",
                compiled.node(o).op,
                ev.memo(o),
                lazy.memo(o)
            ));
        }
        return text;
    }
    String::new()
}
