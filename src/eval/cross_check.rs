//! The ways of evaluating one compiled policy, checked against each other: the
//! native plan and the lean plan of a results-only run (where `lexnis codegen`
//! wrote them), the interpreter's eager pass, and the on-demand evaluation that
//! is the reference for all.

use super::Evaluator;
use crate::facts::Facts;
use crate::lower::Compiled;
use crate::value::Value;

/// Evaluates `facts` every way there is and says where a way disagrees with the
/// on-demand evaluation: in the results, the error, whether it needed the
/// on-demand evaluation to decide, the rules that applied, or the value of a
/// node a left-to-right reading reaches (nodes inside aggregates, which hold
/// whichever element was read last and which no explanation shows, are not
/// compared; nor are any when `Plan::reach_is_exact` says the eager pass cannot
/// know them all).
pub fn cross_check(compiled: &Compiled, facts: &Facts) -> Result<(), String> {
    let mut lazy = Evaluator::new(compiled);
    let want = lazy.run_lazily(facts.clone());
    let native = Evaluator::new(compiled);
    let mut ways = vec![("interpreted", Evaluator::new(compiled).interpreted())];
    if native.is_native() {
        ways.push(("native", native));
        ways.push(("results only", Evaluator::new(compiled).results_only()));
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
        // A result the eager pass could not compute sends `run` to the on-demand
        // evaluation, which then succeeded: the pass failed where no reading does.
        if !ev.eager {
            return Err(format!(
                "{way}: a result failed in the eager pass, though on demand every one has a value"
            ));
        }
        let applied: Vec<bool> = (compiled.rule_nodes.iter())
            .map(|n| lazy.memo(*n) == Some(&Value::Bool(true)))
            .collect();
        let got = ev.applied_rules();
        if got != applied {
            let differ: Vec<&str> = (compiled.program.rules.iter().enumerate())
                .filter(|(i, _)| got[*i] != applied[*i])
                .map(|(_, r)| r.name.as_str())
                .collect();
            return Err(format!("{way}: the rules that applied differ: {differ:?}"));
        }
        // Where an aggregate's elements read a computed value from outside it,
        // the eager pass knows only what the last element read (see `reach`), and
        // says so: the nodes' values are compared where it knows them all.
        // A lean run keeps no value but the results'.
        let difference = match compiled.plan.reach_is_exact && !ev.ran_lean() {
            true => first_difference(compiled, &ev, &lazy),
            false => String::new(),
        };
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
