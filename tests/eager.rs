//! The eager evaluation (what `run` does) against the on-demand one it replaced:
//! same results, same errors, and the same nodes computed, so that traces and the
//! diff's first diverging rule are those of a left-to-right reading.

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::lower::Compiled;
use lexnis::policy::{compile, PolicySource};
use serde_json::json;

/// Evaluates `doc` both ways and asserts they agree on results and on every node.
fn agree(c: &Compiled, doc: &serde_json::Value) {
    let facts = load_facts(&c.program, doc).expect("facts match the schema");
    let mut lazy = Evaluator::new(c);
    let mut eager = Evaluator::new(c);
    let want = lazy.run_lazily(facts.clone());
    let got = eager.run(facts);
    if got != want {
        for n in (0..c.node_count() as u32).filter(|n| !c.node(*n).scoped) {
            if eager.memo(n).is_some() && eager.memo(n) != lazy.memo(n) {
                eprintln!(
                    "first difference at #{n} {:?}: {:?} vs {:?}",
                    c.node(n).op,
                    eager.memo(n),
                    lazy.memo(n)
                );
                for o in c.node(n).op.operands() {
                    eprintln!(
                        "  #{o} {:?}: {:?} vs {:?}",
                        c.node(o).op,
                        eager.memo(o),
                        lazy.memo(o)
                    );
                }
                break;
            }
        }
    }
    assert_eq!(got, want, "results differ on {doc}");
    if want.is_err() {
        return;
    }
    let applied: Vec<bool> = (c.rule_nodes.iter())
        .map(|n| lazy.memo(*n) == Some(&lexnis::value::Value::Bool(true)))
        .collect();
    assert_eq!(
        eager.applied_rules(),
        applied,
        "applied rules differ on {doc}"
    );
    // The nodes that read an aggregate's variable hold whichever element was read
    // last: no explanation shows them, and they are not compared.
    for n in (0..c.node_count() as u32).filter(|n| !c.node(*n).scoped) {
        assert_eq!(
            eager.memo(n),
            lazy.memo(n),
            "node #{n} ({:?}) differs on {doc}",
            c.node(n).op
        );
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

const SMALL: &str = r#"act t {
  cited as "L. 1/2024"
  in force from 2024-01-01
}
record Part { weight: optional decimal, share: decimal }
fact x: optional int
fact y: int
fact parts: list of Part
define big: bool cite "art. 1" = x > 3
define guarded: bool cite "art. 2" = x is given and x > 3
define ratio: decimal cite "art. 3" = 100 / y
define heavy: decimal cite "art. 4" = sum p.weight for p in parts where p.share >= 25
define first_heavy: bool cite "art. 5" = any p in parts where p.weight > 10
outcome flag: bool otherwise false
outcome level: decimal otherwise 0
outcome weight: decimal otherwise 0
outcome light: bool otherwise false
outcome mixed: bool otherwise false
define nested: bool cite "art. 11" = any p in parts where (p.share >= 25 and (count q in parts where q.share = 60) > 0)
rule f cite "art. 12" when y = 10 and nested then mixed
rule a cite "art. 6" when guarded or y > 5 then flag
rule b cite "art. 7" overrides a when y > 100 and big then flag = false
rule c cite "art. 8" when y = 7 or y = 0 then level = ratio
rule d cite "art. 9" when y = 8 then weight = heavy
rule e cite "art. 10" when y = 9 and first_heavy then light
"#;

#[test]
fn failures_are_reported_only_where_a_left_to_right_reading_meets_them() {
    let mut source = PolicySource::default();
    source.add("policies/t/act.law", SMALL);
    let c = compile(&source, Date::parse("2025-01-01").unwrap()).unwrap_or_else(|e| {
        panic!(
            "{}",
            lexnis::diagnostic::render_all(&e.diagnostics, &e.sources, Default::default())
        )
    });
    let part = |w: serde_json::Value, s: u32| json!({"weight": w, "share": s});
    let docs = [
        json!({"y": 1, "parts": []}),
        json!({"y": 6, "parts": []}),
        json!({"x": 5, "y": 101, "parts": []}),
        json!({"y": 101, "parts": []}),
        json!({"y": 0, "parts": []}),
        json!({"y": 7, "parts": []}),
        json!({"x": 1, "y": 0, "parts": []}),
        json!({"y": 8, "parts": [part(json!(4), 30), part(json!(null), 10)]}),
        json!({"y": 8, "parts": [part(json!(null), 30)]}),
        json!({"y": 9, "parts": [part(json!(null), 30)]}),
        json!({"y": 9, "parts": [part(json!(20), 30), part(json!(null), 30)]}),
        // An aggregate inside another that reads only its own variable.
        json!({"y": 10, "parts": [part(json!(5), 60), part(json!(4), 30)]}),
        json!({"y": 10, "parts": [part(json!(4), 30)]}),
    ];
    let mut failures = 0;
    for doc in &docs {
        agree(&c, doc);
        let facts = load_facts(&c.program, doc).unwrap();
        failures += usize::from(Evaluator::new(&c).run(facts).is_err());
    }
    // `x > 3` with x absent under rule b, `100 / 0`, a sum over an absent weight,
    // `p.weight > 10` with the first weight absent.
    assert_eq!(failures, 5);
    let mixed = |doc: &serde_json::Value| {
        let facts = load_facts(&c.program, doc).unwrap();
        let mut ev = Evaluator::new(&c);
        let values = ev.run(facts).unwrap();
        lexnis::render::result_json(&ev, &values, None)["mixed"].clone()
    };
    assert_eq!(mixed(&docs[11]), json!(true));
    assert_eq!(mixed(&docs[12]), json!(false));
}

#[test]
fn the_bundled_rules_read_only_constants_and_facts_inside_aggregates() {
    // So that the diff's first diverging rule needs no second, on-demand run.
    for date in ["2025-06-01", "2027-12-31"] {
        let c = compile(&PolicySource::bundled(), Date::parse(date).unwrap()).unwrap();
        assert!(c.plan.reach_is_exact);
    }
}
