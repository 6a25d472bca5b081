//! The corpus: entity facts written from the law, with the outcome the text gives
//! (tests/corpus/expected.json, written by hand from the decree and the DPCM), and
//! snapshots of the JSON result (with the rules that applied) and of the text
//! explanation.

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::lower::Compiled;
use lexnis::policy::{compile, PolicySource};
use serde_json::Value;
use std::sync::OnceLock;

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap())
            .expect("bundled policies compile")
    })
}

fn expected() -> &'static serde_json::Map<String, Value> {
    static EXPECTED: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/expected.json"
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

#[test]
fn corpus() {
    insta::glob!("corpus/[0-9]*.json", |path| {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let c = compiled();
        let facts = load_facts(&c.program, &doc).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut ev = Evaluator::new(c);
        let values = ev.run(facts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let trace = lexnis::trace::build_trace(&ev).expect("a decided run is explained");
        let applied = lexnis::trace::applied_rules(&ev);
        let mut result = lexnis::render::result_json(&ev, &values, None);
        result["trace"] = serde_json::to_value(&applied).unwrap();
        let want = expected()
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no entry in expected.json"));
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(&result[key], value, "{name}: {key}");
        }
        let ordered = lexnis::render::result_text(
            &ev,
            &values,
            Some(lexnis::trace::TraceView::Applied(&applied)),
        );
        insta::assert_snapshot!("result", ordered.trim_end());
        insta::assert_snapshot!(
            "explanation",
            lexnis::render::explain_text(&ev, &values, &trace)
        );
    });
}

#[test]
fn every_corpus_file_has_expectations_and_the_corpus_is_large_enough() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json") && n != "expected.json")
        .collect();
    assert!(files.len() >= 80, "the corpus has {} entities", files.len());
    for f in &files {
        assert!(expected().contains_key(f), "{f} has no expectations");
    }
}
