//! No input may make lexnis panic: random and mutated rule files and facts
//! documents must come back as error values.

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::policy::{compile, PolicySource};
use proptest::prelude::*;

const MINI: &str = include_str!("fixtures/mini.law");

fn as_of() -> Date {
    Date::parse("2025-06-01").unwrap()
}

/// Compiles, then runs the examples' facts and a fixed document through the evaluator.
fn exercise(text: &str) {
    let mut source = PolicySource::default();
    source.add("policies/fuzz/act.law", text);
    if let Ok(compiled) = compile(&source, as_of()) {
        let doc = serde_json::json!({"entity_types": ["I.1.a.1"], "size": {"staff": 60, "turnover_eur": 1}});
        if let Ok(facts) = load_facts(&compiled.program, &doc) {
            let mut ev = Evaluator::new(&compiled);
            let mut lazy = Evaluator::new(&compiled);
            let result = ev.run(facts.clone());
            // Whatever the rules, the eager pass decides as the on-demand reading does.
            assert_eq!(result, lazy.run_lazily(facts), "eager and on-demand differ");
            if result.is_ok() {
                assert_eq!(ev.applied_rules(), lazy.applied_rules());
                let _ = lexnis::trace::build_trace(&ev);
            }
        }
    }
    let _ = lexnis::example::run_examples(&source, None);
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\"",
        ",",
        ":",
        "=",
        "and",
        "or",
        "not",
        "when",
        "then",
        "rule",
        "define",
        "fact",
        "cite",
        "overrides",
        "sum",
        "for",
        "in",
        "where",
        "EUR",
        "2024-02-30",
        "999999999999999999999999999999",
        "-",
        "/",
        "0",
        "act",
        "part of",
        "#",
        "\n",
        "largest",
        "is given",
        "today",
        "date(2025, 2, 30)",
        "add_years(today, 99999999999)",
        "add_days(today, -5)",
        "x.y.z",
        "set of",
        "optional",
        "[]",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), tokens.prop_map(|t| format!(" {t} ")))
            .prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 0usize..200).prop_map(|(a, n)| Edit::Duplicate(a, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for e in edits {
        let len = s.len().max(1);
        match e {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(s.len());
                s.drain(at.min(s.len())..end);
            }
            Edit::Insert(at, t) => {
                let at = at % len;
                let at = at.min(s.len());
                s.splice(at..at, t.chars());
            }
            Edit::Duplicate(at, n) => {
                let at = (at % len).min(s.len());
                let end = (at + n).min(s.len());
                let copy: Vec<char> = s[at..end].to_vec();
                s.splice(at..at, copy);
            }
        }
    }
    s.into_iter().collect()
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        prop::sample::select(vec![
            "I.1.a.1",
            "II.1.1",
            "x",
            "",
            "1e400",
            "-5",
            "2025-02-29",
            "12.5"
        ])
        .prop_map(|s| serde_json::json!(s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop::sample::select(vec![
            "entity_types",
            "size",
            "partners",
            "staff",
            "turnover_eur",
            "id",
            "zzz",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.prop_map(String::from), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_rule_files_never_panic(edits in prop::collection::vec(edit(), 1..6)) {
        exercise(&apply(MINI, &edits));
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        exercise(&text);
        exercise(&format!("act a {{ in force from 2024-01-01 }}\n{text}"));
    }

    #[test]
    fn random_facts_never_panic(doc in json_value()) {
        let mut source = PolicySource::default();
        source.add("policies/fuzz/act.law", MINI);
        let compiled = compile(&source, as_of()).unwrap();
        if let Ok(facts) = load_facts(&compiled.program, &doc) {
            let mut ev = Evaluator::new(&compiled);
            let mut lazy = Evaluator::new(&compiled);
            let result = ev.run(facts.clone());
            // Whatever the rules, the eager pass decides as the on-demand reading does.
            assert_eq!(result, lazy.run_lazily(facts), "eager and on-demand differ");
            if result.is_ok() {
                assert_eq!(ev.applied_rules(), lazy.applied_rules());
                let _ = lexnis::trace::build_trace(&ev);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "act a {{ in force from 2024-01-01 }}\ndefine x: int cite \"art. 1\" = {}1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let mut source = PolicySource::default();
    source.add("policies/deep/act.law", &deep);
    let err = compile(&source, as_of()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, "lexnis::parse::too_deep");
}

/// The streaming loader and the tree loader must agree on every document.
fn same_reading(doc: &serde_json::Value, compiled: &lexnis::lower::Compiled) {
    let text = doc.to_string();
    // Both loaders read the same text with the same number parser.
    let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tree = load_facts(&compiled.program, &reparsed);
    let stream = lexnis::facts::load_facts_from_str(&compiled.program, &text);
    match (tree, stream) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(a), Err(lexnis::facts::TextFactsError::Invalid(_, b))) => {
            let key = |e: &lexnis::facts::FactError| {
                (format!("{:?}", e.kind), e.path.clone(), e.message.clone())
            };
            let (mut a, mut b): (Vec<_>, Vec<_>) =
                (a.iter().map(key).collect(), b.iter().map(key).collect());
            a.sort();
            b.sort();
            assert_eq!(a, b, "{text}");
        }
        (a, b) => panic!("{text}: tree {:?} but stream {:?}", a.is_ok(), b.is_ok()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn streaming_and_tree_loaders_agree_on_random_documents(doc in json_value()) {
        let mut source = PolicySource::default();
        source.add("policies/fuzz/act.law", MINI);
        let compiled = compile(&source, as_of()).unwrap();
        same_reading(&doc, &compiled);
    }
}

#[test]
fn streaming_and_tree_loaders_agree_on_generated_entities() {
    let compiled = compile(&PolicySource::bundled(), as_of()).unwrap();
    let catalogue = lexnis::generate::Catalogue::from_program(&compiled.program).unwrap();
    let mut rng = lexnis::generate::Rng::new(99);
    for i in 0..2000 {
        let mut doc = lexnis::generate::entity(&mut rng, &catalogue, format!("e{i}"));
        if i % 7 == 0 {
            doc["size"]["staff"] = serde_json::json!("not a number");
        }
        if i % 11 == 0 {
            doc["unexpected"] = serde_json::json!(1);
        }
        same_reading(&doc, &compiled);
    }
}

#[test]
fn keys_written_with_escapes_are_read_as_the_same_keys() {
    let c = compile(&PolicySource::bundled(), as_of()).unwrap();
    let plain = r#"{"id": "x", "size": {"staff": 3, "turnover_eur": 1, "balance_sheet_eur": 1}, "critical_entity": true}"#;
    let escaped = r#"{"\u0069d": "x", "si\u007ae": {"st\u0061ff": 3, "turnover_eur": 1, "balance_sheet_eur": 1}, "critical\u005fentity": true}"#;
    let read = |text: &str| match lexnis::facts::load_facts_from_str(&c.program, text) {
        Ok(f) => f,
        Err(_) => panic!("{text} is a valid facts document"),
    };
    assert_eq!(read(plain), read(escaped));
}

#[test]
fn a_closed_standard_error_is_no_reason_to_crash() {
    // `lexnis ... 2>&1 | head`: the reader of the messages has gone before they
    // are written. The command ends with its own status (2: a revision that does
    // not exist), not with a panic (101).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .args(["diff", "policies/it", "no-such-revision"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lexnis runs");
    drop(child.stderr.take());
    let status = child.wait().expect("lexnis ends");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn a_full_disk_is_an_error_a_closed_pipe_is_not() {
    // `lexnis eval ... > /dev/full`: the output is not all there, and the
    // command says so; `| head` closing the pipe is the reader's choice.
    let Ok(full) = std::fs::File::create("/dev/full") else {
        return; // not on this system
    };
    let output = eval_example(full.into())
        .wait_with_output()
        .expect("lexnis ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the output"), "{stderr}");
    let mut child = eval_example(std::process::Stdio::piped());
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("lexnis ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// `lexnis eval` of the bundled example entity, writing to `stdout`.
fn eval_example(stdout: std::process::Stdio) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .args([
            "eval",
            "examples/acme-energia.json",
            "--as-of",
            "2025-06-01",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lexnis runs")
}
