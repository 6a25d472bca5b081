//! Native plans: the plans of the bundled rules compiled to Rust by
//! `lexnis codegen` ([`crate::codegen`]), run in place of the interpreter when a
//! compiled policy's plan is one of them. Any other policy set, or a bundled rule
//! file edited since the file was written, runs on the interpreter, with the same
//! results: a native plan calls the interpreter's own step methods.

use crate::eval::Evaluator;

mod bundled;
/// Plans of the amendments and of the policies of tests/policies, so that the
/// unit tests check native plans beyond the bundled rules.
#[cfg(test)]
mod testing;

/// A plan written as Rust: computes every result of the rules.
pub type NativePlan = fn(&mut Evaluator<'_>);

/// A plan written as typed Rust for results-only runs (see `crate::eval::lean`).
pub type LeanPlan = crate::eval::lean::LeanPlan;

/// The native and lean plans written from a plan with this fingerprint and
/// number of steps.
pub fn find(fingerprint: u64, steps: usize) -> Option<(NativePlan, LeanPlan)> {
    #[cfg(test)]
    let plans = bundled::PLANS.iter().chain(testing::PLANS);
    #[cfg(not(test))]
    let plans = bundled::PLANS.iter();
    plans
        .into_iter()
        .find(|(f, n, _, _)| *f == fingerprint && *n == steps)
        .map(|(_, _, run, lean)| (*run, *lean))
}

#[cfg(test)]
mod tests {
    use crate::codegen::{native_source, BUNDLED_COMMAND, TESTING_COMMAND};
    use crate::date::Date;
    use crate::eval::{cross_check, Evaluator};
    use crate::facts::{load_facts, Facts};
    use crate::policy::{compile, PolicySource};
    use crate::value::Value;
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn amended(amendment: &str) -> PolicySource {
        let paths = [
            root().join("policies/it"),
            root().join("policies/amendments").join(amendment),
        ];
        PolicySource::from_paths(&paths).expect("the amendments are readable")
    }

    /// The facts of examples/acme-energia.json, read for `c`.
    fn example_facts(c: &crate::lower::Compiled) -> Facts {
        let doc = std::fs::read_to_string(root().join("examples/acme-energia.json")).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        load_facts(&c.program, &doc).unwrap()
    }

    const AMENDMENTS: [&str; 3] = ["a-large-200", "b-annex-ii-type", "c-repeal-safeguard"];

    /// A one-file policy of tests/policies.
    fn test_policy(text: &str) -> PolicySource {
        let mut source = PolicySource::default();
        source.add("policies/t/act.law", text);
        source
    }

    fn failing() -> PolicySource {
        test_policy(include_str!("../../tests/policies/failing.law"))
    }

    fn nested() -> PolicySource {
        test_policy(include_str!("../../tests/policies/nested.law"))
    }

    fn sets() -> PolicySource {
        test_policy(include_str!("../../tests/policies/sets.law"))
    }

    fn shapes() -> PolicySource {
        test_policy(include_str!("../../tests/policies/shapes.law"))
    }

    /// The facts documents of a JSON-lines file, read against `c`.
    fn documents(c: &crate::lower::Compiled, lines: &str) -> Vec<(serde_json::Value, Facts)> {
        (lines.lines())
            .map(|line| {
                let doc: serde_json::Value = serde_json::from_str(line).unwrap();
                let facts = load_facts(&c.program, &doc).unwrap();
                (doc, facts)
            })
            .collect()
    }

    /// Compares a generated file with what `codegen` writes now; with
    /// `LEXNIS_UPDATE_NATIVE=1`, writes it.
    fn current(path: &Path, written: String, command: &str) {
        if std::env::var_os("LEXNIS_UPDATE_NATIVE").is_some() {
            std::fs::write(path, written).expect("the source tree is writable");
            return;
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == written,
            "{} is not the plan of the rules as they are now: run `{command}` \
             (or the tests with LEXNIS_UPDATE_NATIVE=1), then build again",
            path.display()
        );
    }

    #[test]
    fn the_bundled_native_plans_are_those_of_the_bundled_rules() {
        let written = native_source(&[PolicySource::bundled()], &[]).expect("compiles");
        current(
            &root().join("src/native/bundled.rs"),
            written,
            BUNDLED_COMMAND,
        );
    }

    #[test]
    fn the_test_native_plans_are_current() {
        let mut sources: Vec<PolicySource> = AMENDMENTS.iter().map(|a| amended(a)).collect();
        sources.push(failing());
        sources.push(nested());
        sources.push(sets());
        sources.push(shapes());
        let bundled: Vec<u64> = super::bundled::PLANS.iter().map(|p| p.0).collect();
        let written = native_source(&sources, &bundled).expect("compiles");
        current(
            &root().join("src/native/testing.rs"),
            written,
            TESTING_COMMAND,
        );
    }

    #[test]
    fn the_bundled_rules_run_natively_on_every_date() {
        for date in ["2024-12-01", "2025-06-01", "2026-11-29", "2030-01-01"] {
            let c = compile(&PolicySource::bundled(), Date::parse(date).unwrap()).unwrap();
            assert!(Evaluator::new(&c).is_native(), "no native plan on {date}");
        }
    }

    /// Every record of a generated population, on the dates of both bundled
    /// plans, is decided by the lean plan (no step of the bundled rules lacks a
    /// typed form), as the interpreter decides it.
    #[test]
    fn lean_plans_decide_the_bundled_rules_as_the_interpreter_does() {
        for date in ["2024-12-01", "2025-06-01"] {
            let c = compile(&PolicySource::bundled(), Date::parse(date).unwrap()).unwrap();
            let catalogue = crate::generate::Catalogue::from_program(&c.program).unwrap();
            let mut rng = crate::generate::Rng::new(5);
            let mut ev = Evaluator::new(&c).results_only();
            for i in 0..1_000 {
                let doc = crate::generate::entity(&mut rng, &catalogue, format!("e-{i}"));
                let facts = load_facts(&c.program, &doc).unwrap();
                let mut lazy = Evaluator::new(&c);
                let want = lazy.run_lazily(facts.clone()).unwrap();
                assert_eq!(ev.run(facts).unwrap(), want, "{date}: on {doc}");
                assert!(ev.ran_lean(), "{date}: the lean plan gave up on {doc}");
                assert_eq!(ev.applied_rules(), lazy.applied_rules(), "{date}: on {doc}");
            }
        }
    }

    /// The bundled rules' lean plan holds their thresholds as literals; an
    /// amendment of the same shape that changes one (`a-large-200`: 200
    /// persons for a large enterprise, not 250) runs the same plan reading its
    /// own constants, and decides as the interpreter does (which
    /// `native_plans_of_the_amendments_agree_with_the_interpreter` checks over
    /// a population).
    #[test]
    fn a_lean_plan_reads_the_thresholds_an_amendment_changed() {
        let date = Date::parse("2026-06-01").unwrap();
        let bundled = compile(&PolicySource::bundled(), date).unwrap();
        let amended = compile(&amended("a-large-200"), date).unwrap();
        assert_eq!(bundled.plan.fingerprint, amended.plan.fingerprint);
        // 220 persons, the amounts of a medium enterprise: medium under the
        // bundled rules, large under the amendment.
        let doc = serde_json::json!({
            "id": "between-200-and-250",
            "entity_types": ["I.1.a.2"],
            "size": {"staff": 220, "turnover_eur": 40000000, "balance_sheet_eur": 30000000}
        });
        let mut decided = Vec::new();
        for (c, literals) in [(&bundled, true), (&amended, false)] {
            let facts = load_facts(&c.program, &doc).unwrap();
            let mut lean = Evaluator::new(c).results_only();
            let values = lean.run(facts.clone()).unwrap();
            assert!(lean.ran_lean());
            assert_eq!(lean.lean_numbers_checked(), Some(literals));
            assert_eq!(values, Evaluator::new(c).run_lazily(facts).unwrap());
            decided.push(values);
        }
        assert_ne!(
            decided[0], decided[1],
            "the threshold of 200 must decide otherwise"
        );
    }

    /// Facts made for another policy are refused, and the last record's id
    /// is not left to be read as theirs (a batch's error record names it).
    #[test]
    fn a_refused_run_leaves_nothing_of_the_last_record() {
        let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
        let facts = example_facts(&c);
        let mut ev = Evaluator::new(&c);
        ev.run(facts.clone()).unwrap();
        assert!(ev.facts_id().is_some());
        let mut other_policy = facts;
        other_policy.values.pop();
        assert!(ev.run_in_place(other_policy.clone()).is_err());
        assert_eq!(
            ev.facts_id(),
            None,
            "the last record's id is not this one's"
        );
        // Nor its results, a results-only evaluator's included.
        let mut lean = Evaluator::new(&c).results_only();
        lean.run(example_facts(&c)).unwrap();
        assert!(lean.decided());
        assert!(lean.run_in_place(other_policy).is_err());
        for ev in [&ev, &lean] {
            assert!(!ev.decided());
            assert!((0..c.results.len()).all(|i| ev.result(i).is_absent()));
        }
    }

    /// A record the lean plan decides gives its facts back unchanged; a run
    /// that moved them into the graph does not, and a record the lean plan
    /// gives up on is decided by the native plan, which moves them.
    #[test]
    fn a_lean_run_gives_its_facts_back() {
        let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
        let facts = example_facts(&c);
        let mut lean = Evaluator::new(&c).results_only();
        lean.run(facts.clone()).unwrap();
        assert!(lean.ran_lean());
        assert_eq!(lean.take_facts().as_ref(), Some(&facts));
        assert_eq!(lean.facts_id(), None);
        let mut ordinary = Evaluator::new(&c);
        ordinary.run(facts.clone()).unwrap();
        assert_eq!(ordinary.take_facts(), None);
        assert!(ordinary.facts_id().is_some());
        let c = compile(&failing(), Date::parse("2025-01-01").unwrap()).unwrap();
        let given = documents(&c, include_str!("../../tests/policies/failing.jsonl"));
        let mut gave_up = 0;
        for (_, facts) in given {
            let mut lean = Evaluator::new(&c).results_only();
            let _ = lean.run(facts.clone());
            let back = lean.take_facts();
            assert_eq!(back.is_some(), lean.ran_lean());
            assert!(back.is_none_or(|b| b == facts));
            gave_up += usize::from(!lean.ran_lean());
        }
        assert!(
            gave_up > 0,
            "some record of failing.jsonl is left to the native plan"
        );
    }

    /// One results-only evaluator, over records its lean plan decides and
    /// records it leaves to the native plan in turn (forwards, then
    /// backwards): the results read after each run, in place and copied out,
    /// are the on-demand evaluation's, whichever plan ran the record before.
    /// `sets.law` writes one set into two results and gives another set its
    /// constant default.
    #[test]
    fn a_reused_results_only_evaluator_gives_each_run_its_results() {
        let policies = [
            (sets(), include_str!("../../tests/policies/sets.jsonl")),
            (
                failing(),
                include_str!("../../tests/policies/failing.jsonl"),
            ),
        ];
        for (source, lines) in policies {
            let c = compile(&source, Date::parse("2025-01-01").unwrap()).unwrap();
            let given = documents(&c, lines);
            let mut ev = Evaluator::new(&c).results_only();
            let (mut values, mut ran_lean) = (Vec::new(), [false; 2]);
            for (doc, facts) in given.iter().chain(given.iter().rev()) {
                let want = Evaluator::new(&c).run_lazily(facts.clone());
                let copied = ev.run_into(facts.clone(), &mut values);
                ran_lean[usize::from(ev.ran_lean())] = true;
                let Ok(want) = want else {
                    assert!(copied.is_err(), "on {doc}");
                    continue;
                };
                assert!(copied.is_ok(), "on {doc}");
                assert_eq!(values, want, "copied out, on {doc}");
                ev.run_in_place(facts.clone()).unwrap();
                let read: Vec<Value> = (0..want.len()).map(|i| ev.result(i).clone()).collect();
                assert_eq!(read, want, "read in place, on {doc}");
            }
            assert_eq!(ran_lean, [true, true], "both plans ran");
        }
    }

    /// The rules of one shape read in a loop (`codegen::lean::shapes`,
    /// `tests/policies/shapes.law`) conclude what the interpreter concludes,
    /// and mark the same rules as applied: every record is decided by the
    /// lean plan, and `cross_check` compares it every other way.
    #[test]
    fn lean_loops_decide_as_the_interpreter_does() {
        let c = compile(&shapes(), Date::parse("2025-01-01").unwrap()).unwrap();
        let mut sets = std::collections::BTreeSet::new();
        for (doc, facts) in documents(&c, include_str!("../../tests/policies/shapes.jsonl")) {
            cross_check(&c, &facts).unwrap_or_else(|e| panic!("{e}\non {doc}"));
            let mut lean = Evaluator::new(&c).results_only();
            let values = lean.run(facts).unwrap();
            assert!(lean.ran_lean(), "the lean plan gave up on {doc}");
            sets.insert(format!("{:?}", values[0]));
        }
        assert!(
            sets.len() >= 6,
            "the records meet few combinations: {sets:?}"
        );
    }

    #[test]
    fn native_plans_fail_where_the_interpreter_does() {
        let c = compile(&failing(), Date::parse("2025-01-01").unwrap()).unwrap();
        assert!(Evaluator::new(&c).is_native());
        let mut failures = 0;
        for (doc, facts) in documents(&c, include_str!("../../tests/policies/failing.jsonl")) {
            cross_check(&c, &facts).unwrap_or_else(|e| panic!("{e}\non {doc}"));
            let mut lean = Evaluator::new(&c).results_only();
            let failed = lean.run(facts.clone()).is_err();
            // A record that fails is left to the native plan and the
            // on-demand evaluation, which say where.
            assert!(!(failed && lean.ran_lean()), "on {doc}");
            failures += usize::from(Evaluator::new(&c).run(facts).is_err());
        }
        assert_eq!(failures, 5);
    }

    #[test]
    fn native_plans_compute_what_nested_aggregates_read_from_outside() {
        let c = compile(&nested(), Date::parse("2025-01-01").unwrap()).unwrap();
        assert!(Evaluator::new(&c).is_native());
        let mut crossed = Vec::new();
        for (doc, facts) in documents(&c, include_str!("../../tests/policies/nested.jsonl")) {
            cross_check(&c, &facts).unwrap_or_else(|e| panic!("{e}\non {doc}"));
            let values = Evaluator::new(&c).run(facts).unwrap();
            crossed.push(values[0] == crate::value::Value::Bool(true));
        }
        assert_eq!(crossed, [true, false, true, false, false]);
    }

    #[test]
    fn native_plans_of_the_amendments_agree_with_the_interpreter() {
        for amendment in AMENDMENTS {
            let c = compile(&amended(amendment), Date::parse("2026-06-01").unwrap()).unwrap();
            assert!(Evaluator::new(&c).is_native(), "{amendment}");
            let catalogue = crate::generate::Catalogue::from_program(&c.program).unwrap();
            let mut rng = crate::generate::Rng::new(3);
            for i in 0..2_000 {
                let doc = crate::generate::entity(&mut rng, &catalogue, format!("e-{i}"));
                let facts = load_facts(&c.program, &doc).unwrap();
                cross_check(&c, &facts).unwrap_or_else(|e| panic!("{amendment}: {e}\non {doc}"));
            }
        }
    }
}
