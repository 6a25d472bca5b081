//! The eager evaluation (what `run` does: a native plan for the bundled rules, the
//! interpreter for others) against the on-demand one it replaced: same results,
//! same errors, and the same nodes computed, so that traces and the diff's first
//! diverging rule are those of a left-to-right reading.

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::lower::Compiled;
use lexnis::policy::{compile, PolicySource};
use serde_json::json;

/// Evaluates `doc` every way (native plan, interpreter, on demand) and asserts
/// they agree on results and on every node.
fn agree(c: &Compiled, doc: &serde_json::Value) {
    let facts = load_facts(&c.program, doc).expect("facts match the schema");
    if let Err(e) = lexnis::eval::cross_check(c, &facts) {
        panic!("{e}\non {doc}");
    }
}

fn population(c: &Compiled, seed: u64, count: usize) -> Vec<serde_json::Value> {
    let catalogue = lexnis::generate::Catalogue::from_program(&c.program).unwrap();
    let mut rng = lexnis::generate::Rng::new(seed);
    (0..count)
        .map(|i| lexnis::generate::entity(&mut rng, &catalogue, format!("e-{i}")))
        .collect()
}

#[test]
fn the_bundled_rules_agree_on_a_generated_population() {
    for date in ["2025-06-01", "2027-12-31"] {
        let c = compile(&PolicySource::bundled(), Date::parse(date).unwrap()).unwrap();
        for doc in population(&c, 11, 20_000) {
            agree(&c, &doc);
        }
    }
}

#[test]
fn a_reused_result_vector_holds_the_results_of_the_last_run() {
    let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    // Both ways a run leaves its results: in the graph's slots, and a lean plan's.
    for mut reused in [Evaluator::new(&c), Evaluator::new(&c).results_only()] {
        let mut values = vec![lexnis::value::Value::Bool(true); 3];
        for doc in population(&c, 13, 5_000) {
            let facts = load_facts(&c.program, &doc).unwrap();
            reused.run_into(facts.clone(), &mut values).unwrap();
            let fresh = Evaluator::new(&c).run(facts).unwrap();
            assert_eq!(values, fresh, "on {doc}");
            // Equal numbers may be written otherwise (`1.0`, `1.00`): each result
            // is written as the run made it.
            assert_eq!(format!("{values:?}"), format!("{fresh:?}"), "on {doc}");
        }
    }
}

/// What the diff asks of a run to name a cause: the reading of each result, and
/// the values of the nodes it reached, found without the whole reach as with it.
/// After `ev`'s run of `doc`: each result's reading, and the value of every node
/// it reached, are the same found from the slots as through the whole reach.
fn readings_agree(c: &Compiled, ev: &Evaluator<'_>, doc: &serde_json::Value) {
    for r in &c.results {
        let cone = ev.read_for_reached(r.node);
        assert_eq!(cone, ev.read_for(r.node), "{} on {doc}", r.key);
        for n in (0..c.node_count() as u32).filter(|n| cone[*n as usize]) {
            assert_eq!(ev.memo_within(n, &cone), ev.memo(n), "node {n} on {doc}");
        }
    }
}

#[test]
fn a_results_reading_is_the_same_without_the_whole_reach() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundled = PolicySource::bundled();
    // A bundled revision (native plan) and an amendment (interpreted).
    let repealed = PolicySource::from_paths(&[
        root.join("policies/it"),
        root.join("policies/amendments/c-repeal-safeguard"),
    ])
    .unwrap();
    for source in [bundled, repealed] {
        let c = compile(&source, Date::parse("2026-06-01").unwrap()).unwrap();
        assert!(
            c.plan.reach_is_exact,
            "the NIS rules read no outer value per element"
        );
        let mut ev = Evaluator::new(&c);
        for doc in population(&c, 17, 1_000) {
            ev.run(load_facts(&c.program, &doc).unwrap()).unwrap();
            readings_agree(&c, &ev, &doc);
        }
    }
}

/// A sum whose body does not read its variable is computed once, before the
/// loop: that the last element's filter dropped it says nothing of the others.
/// The reach is then not exact, and the reading of a result is found as before.
#[test]
fn a_body_that_does_not_read_the_variable_makes_the_reach_inexact() {
    let mut source = PolicySource::default();
    source.add(
        "p/fee.law",
        "act n {\n  cited as \"L. 3/2024\"\n  in force from 2024-01-01\n}\n\
         record Part { share: decimal }\nfact y: int\nfact parts: list of Part\n\
         define fee: decimal cite \"art. 1\" = y * 2\n\
         define total: decimal cite \"art. 2\" = sum fee for p in parts where p.share > 10\n\
         report total\n",
    );
    let c = compile(&source, Date::parse("2024-06-01").unwrap()).unwrap();
    assert!(!c.plan.reach_is_exact);
    let mut ev = Evaluator::new(&c);
    for parts in [json!([{"share": 5}]), json!([{"share": 20}, {"share": 5}])] {
        let doc = json!({"y": 4, "parts": parts});
        let facts = load_facts(&c.program, &doc).unwrap();
        ev.run(facts).unwrap();
        readings_agree(&c, &ev, &doc);
    }
}

#[test]
fn the_amended_rules_agree_on_a_generated_population() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for amendment in ["a-large-200", "b-annex-ii-type", "c-repeal-safeguard"] {
        let paths = [
            root.join("policies/it"),
            root.join("policies/amendments").join(amendment),
        ];
        let source = PolicySource::from_paths(&paths).unwrap();
        let c = compile(&source, Date::parse("2026-06-01").unwrap()).unwrap();
        for doc in population(&c, 5, 5_000) {
            agree(&c, &doc);
        }
    }
}

#[test]
fn the_corpus_agrees() {
    let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "expected.json" {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        agree(&c, &doc);
        seen += 1;
    }
    assert!(seen >= 100, "only {seen} corpus entities found");
}

/// A policy written to fail (also given a native plan by the crate's unit tests).
const SMALL: &str = include_str!("policies/failing.law");

/// A policy of one file, in force on 2025-01-01; its diagnostics, if any, fail
/// the test.
fn compile_one_file(text: &str) -> Compiled {
    let mut source = PolicySource::default();
    source.add("policies/t/act.law", text);
    compile(&source, Date::parse("2025-01-01").unwrap()).unwrap_or_else(|e| {
        panic!(
            "{}",
            lexnis::diagnostic::render_all(&e.diagnostics, &e.sources, Default::default())
        )
    })
}

#[test]
fn failures_are_reported_only_where_a_left_to_right_reading_meets_them() {
    let c = compile_one_file(SMALL);
    // The last two: an aggregate inside another that reads only its own variable.
    let docs: Vec<serde_json::Value> = include_str!("policies/failing.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut failures = 0;
    for doc in &docs {
        agree(&c, doc);
        let facts = load_facts(&c.program, doc).unwrap();
        failures += usize::from(Evaluator::new(&c).run(facts).is_err());
    }
    // `x > 3` with x absent under rule b, `100 / 0`, a sum over an absent weight,
    // `p.weight > 10` with the first weight absent.
    assert_eq!(failures, 5);
    // Results read where the evaluation left them are those `run` returns, and
    // the errors the same, a run that needed the on-demand evaluation included.
    let mut in_place = Evaluator::new(&c);
    for doc in &docs {
        let facts = load_facts(&c.program, doc).unwrap();
        let want = Evaluator::new(&c).run(facts.clone());
        let got = in_place.run_in_place(facts).map(|()| {
            (0..c.results.len())
                .map(|i| in_place.result(i).clone())
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "on {doc}");
        // After a failure nothing of an earlier record is left to read or explain.
        let trace = lexnis::trace::build_trace(&in_place);
        match want {
            Ok(_) => assert!(in_place.decided() && trace.is_ok(), "on {doc}"),
            Err(e) => {
                assert!(!in_place.decided(), "on {doc}");
                let absent = (0..c.results.len()).all(|i| in_place.result(i).is_absent());
                assert!(absent, "on {doc}");
                assert_eq!(trace.err(), Some(lexnis::trace::NoTrace::NoDecision));
                // Where to look, in the rule file.
                let at = e.at.as_deref().unwrap_or_default();
                assert!(at.starts_with("policies/t/act.law:"), "{e}");
                assert!(e.to_string().ends_with(&format!(", {at})")), "{e}");
            }
        }
    }
    let mixed = |doc: &serde_json::Value| {
        let facts = load_facts(&c.program, doc).unwrap();
        let mut ev = Evaluator::new(&c);
        let values = ev.run(facts).unwrap();
        lexnis::render::result_json(&ev, &values, None)["mixed"].clone()
    };
    assert_eq!(mixed(&docs[11]), json!(true));
    assert_eq!(mixed(&docs[12]), json!(false));
}

/// An expression written alike in two places is one node of the graph; an
/// error in one of them points at the place in the rule or definition that
/// failed, not at the other (`p.weight` in `heavy`, line 15, and in
/// `first_heavy`, line 16).
#[test]
fn an_error_points_into_the_definition_that_failed_where_equal_expressions_are_shared() {
    let c = compile_one_file(SMALL);
    let doc = json!({"y": 9, "parts": [{"share": 30}]});
    let facts = load_facts(&c.program, &doc).unwrap();
    let error = Evaluator::new(&c).run(facts).unwrap_err();
    assert_eq!(error.within.as_deref(), Some("first_heavy"));
    let at = error.at.as_deref().unwrap();
    let (line, column) = (
        16,
        SMALL.lines().nth(15).unwrap().find("p.weight").unwrap() + 1,
    );
    assert_eq!(at, format!("policies/t/act.law:{line}:{column}"));
    // Every failure of the file's examples lies in the text of the reader it names.
    for doc in include_str!("policies/failing.jsonl").lines() {
        let facts = load_facts(&c.program, &serde_json::from_str(doc).unwrap()).unwrap();
        let Err(e) = Evaluator::new(&c).run(facts) else {
            continue;
        };
        let p = &c.program;
        let within = e.within.as_deref().unwrap();
        let texts: Vec<_> = match p.defines.iter().find(|d| d.name == within) {
            Some(d) => vec![d.body.span, d.span],
            None => (p.rules.iter().filter(|r| r.name == within))
                .flat_map(|r| {
                    [
                        Some(r.condition.span),
                        r.value.as_ref().map(|v| v.span),
                        Some(r.span),
                    ]
                })
                .flatten()
                .collect(),
        };
        assert!(texts.iter().any(|t| t.encloses(e.span)), "{e} on {doc}");
    }
}

#[test]
fn the_bundled_rules_read_only_constants_and_facts_inside_aggregates() {
    // So that the diff's first diverging rule needs no second, on-demand run.
    for date in ["2025-06-01", "2027-12-31"] {
        let c = compile(&PolicySource::bundled(), Date::parse(date).unwrap()).unwrap();
        assert!(c.plan.reach_is_exact);
    }
}

/// Ten rules that each add a mark of their own: 1,024 sets, more than an
/// evaluator keeps (256 per outcome, made again when full).
const MARKS: &str = r#"
act t {
  cited as "L. 1/2024"
  in force from 2024-01-01
}
enum Mark { m0, m1, m2, m3, m4, m5, m6, m7, m8, m9 }
fact b0: bool
fact b1: bool
fact b2: bool
fact b3: bool
fact b4: bool
fact b5: bool
fact b6: bool
fact b7: bool
fact b8: bool
fact b9: bool
outcome marks: set of Mark
rule r0 cite "art. 1" when b0 then marks includes m0
rule r1 cite "art. 1" when b1 then marks includes m1
rule r2 cite "art. 1" when b2 then marks includes m2
rule r3 cite "art. 1" when b3 then marks includes m3
rule r4 cite "art. 1" when b4 then marks includes m4
rule r5 cite "art. 1" when b5 then marks includes m5
rule r6 cite "art. 1" when b6 then marks includes m6
rule r7 cite "art. 1" when b7 then marks includes m7
rule r8 cite "art. 1" when b8 then marks includes m8
rule r9 cite "art. 1" when b9 then marks includes m9
"#;

#[test]
fn an_evaluator_gives_every_combination_of_rules_its_own_set_however_many() {
    let c = compile_one_file(MARKS);
    let mut reused = Evaluator::new(&c);
    // Every combination, twice over: the second pass meets sets made before the
    // evaluator started over.
    for applying in (0..1024u32).chain(0..1024) {
        let doc: serde_json::Map<String, serde_json::Value> = (0..10)
            .map(|k| (format!("b{k}"), json!(applying >> k & 1 == 1)))
            .collect();
        let doc = serde_json::Value::Object(doc);
        let values = reused.run(load_facts(&c.program, &doc).unwrap()).unwrap();
        let shown = lexnis::render::result_json(&reused, &values, None)["marks"].clone();
        let want: Vec<String> = (0..10)
            .filter(|k| applying >> k & 1 == 1)
            .map(|k| format!("m{k}"))
            .collect();
        assert_eq!(shown, json!(want), "on {doc}");
    }
}

#[test]
fn facts_made_for_another_policy_are_refused_not_read_out_of_place() {
    let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    let doc = population(&c, 17, 1).remove(0);
    let facts = load_facts(&c.program, &doc).unwrap();
    let declared = c.program.facts.len();
    let mut longer = facts.clone();
    longer.values.push(lexnis::value::Value::Absent);
    let mut shorter = facts.clone();
    shorter.values.pop();
    for bad in [longer, shorter] {
        let held = bad.values.len();
        let want =
            format!("the facts hold {held} values where the policy declares {declared} facts");
        for mut ev in [Evaluator::new(&c), Evaluator::new(&c).results_only()] {
            let e = ev.run(bad.clone()).unwrap_err();
            assert!(e.message.starts_with(&want), "{e}");
            // The evaluator is not left broken: the next record is decided.
            assert!(ev.run(facts.clone()).is_ok());
        }
        let e = Evaluator::new(&c).run_lazily(bad).unwrap_err();
        assert!(e.message.starts_with(&want), "{e}");
    }
}

/// A constant read only inside an aggregate's body (`* 7`, `> 3`) is read on
/// demand only where there is an element; every way agrees on it, on no
/// element, on elements the `where` keeps and on elements it does not.
#[test]
fn constants_read_only_inside_an_aggregate_agree() {
    let c = compile_one_file(
        r#"
act t {
  cited as "L. 1/2024"
  in force from 2024-01-01
}
record Part { share: decimal }
fact parts: list of Part
define weighted: decimal cite "art. 1" = sum p.share * 7 for p in parts
define kept: int cite "art. 2" = count p in parts where p.share > 3
report weighted, kept
"#,
    );
    assert!(c.plan.reach_is_exact, "every node is compared");
    for parts in [
        json!([]),
        json!([{"share": 1}]),
        json!([{"share": 5}, {"share": 1}]),
    ] {
        agree(&c, &json!({ "parts": parts }));
    }
}
