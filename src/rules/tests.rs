use super::*;
use crate::trace::{build_trace, TraceView};
use serde_json::{json, Value as Json};

fn june_2025() -> Date {
    Date::parse("2025-06-01").unwrap()
}

fn bundled() -> Rules {
    Rules::bundled(june_2025()).expect("the bundled rules compile")
}

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The document without its trace, to compare decisions made with different ones.
fn without_trace(decision: &Decision) -> Json {
    let mut document = decision.to_json();
    document.as_object_mut().unwrap().remove("trace");
    document
}

const EXAMPLES: [&str; 4] = [
    "acme-energia.json",
    "alimentare-fuori-ambito.json",
    "ministero.json",
    "registrar-piccolo.json",
];

#[test]
fn a_decision_printed_indented_is_the_text_lexnis_eval_prints() {
    let rules = bundled();
    let mut decider = rules.decider(TraceMode::Full);
    for name in EXAMPLES {
        let text = example(name);
        let mut ev = Evaluator::new(rules.compiled());
        let values = ev.run(load_facts_from_str(&rules.compiled().program, &text).unwrap());
        let trace = build_trace(&ev).unwrap();
        let steps = Some(TraceView::Steps(&trace.steps));
        let printed = crate::render::result_text(&ev, &values.unwrap(), steps);
        let decision = decider.decide(&text).unwrap();
        let pretty = serde_json::to_string_pretty(&decision).unwrap();
        assert_eq!(pretty + "\n", printed, "{name}");
    }
}

#[test]
fn a_full_decision_is_the_document_lexnis_eval_prints() {
    let rules = bundled();
    let mut decider = rules.decider(TraceMode::Full);
    for name in EXAMPLES {
        let text = example(name);
        let decision = decider.decide(&text).unwrap();
        // The same record through the stages, as `lexnis eval` runs them.
        let mut ev = Evaluator::new(rules.compiled());
        let facts = load_facts_from_str(&rules.compiled().program, &text).unwrap();
        let values = ev.run(facts).unwrap();
        let trace = build_trace(&ev).unwrap();
        let expected = crate::render::result_json(&ev, &values, Some(&trace));
        assert_eq!(decision.to_json(), expected, "{name}");
    }
}

#[test]
fn acme_energia_is_an_essential_entity_and_its_compact_trace_cites_the_law() {
    let rules = bundled();
    let decision = rules
        .decider(TraceMode::Compact)
        .decide(&example("acme-energia.json"))
        .unwrap();
    assert_eq!(decision.id(), Some("acme-energia"));
    assert_eq!(decision.get("in_scope"), Some(json!(true)));
    assert_eq!(decision.get("classification"), Some(json!("essential")));
    assert_eq!(
        decision.get("safeguard_clause"),
        Some(json!("criteria_met"))
    );
    assert_eq!(decision.get("no_such_result"), None);
    let trace = decision.trace().unwrap();
    let trace = trace.as_array().unwrap();
    // Exactly the rules that applied, each as `{rule, citation}`.
    let mut ev = Evaluator::new(rules.compiled());
    let facts = load_facts_from_str(&rules.compiled().program, &example("acme-energia.json"));
    ev.run(facts.unwrap()).unwrap();
    let applied: Vec<Json> = (crate::trace::applied_rules(&ev).into_iter())
        .map(|a| json!({"rule": a.rule, "citation": a.citation}))
        .collect();
    assert_eq!(trace, &applied);
    assert!(trace.iter().any(|entry| entry["citation"]
        .as_str()
        .unwrap()
        .starts_with("DPCM 221/2024")));
}

#[test]
fn a_decision_holds_a_trace_only_when_asked_and_the_same_results_whichever() {
    let rules = bundled();
    for name in EXAMPLES {
        let text = example(name);
        let decided = [TraceMode::None, TraceMode::Compact, TraceMode::Full]
            .map(|mode| rules.decider(mode).decide(&text).unwrap());
        assert_eq!(decided[0].trace(), None, "{name}");
        assert!(decided[1].trace().is_some() && decided[2].trace().is_some());
        assert_eq!(decided[0].to_json(), without_trace(&decided[1]), "{name}");
        assert_eq!(decided[0].to_json(), without_trace(&decided[2]), "{name}");
    }
}

/// Generated entities, as JSON text.
fn population(seed: u64, count: usize) -> Vec<String> {
    let rules = bundled();
    let catalogue = crate::generate::Catalogue::from_program(&rules.compiled().program).unwrap();
    let mut rng = crate::generate::Rng::new(seed);
    (0..count)
        .map(|i| crate::generate::entity(&mut rng, &catalogue, format!("e-{i}")).to_string())
        .collect()
}

#[test]
fn a_decider_used_over_many_records_decides_each_as_a_new_one_would() {
    let rules = bundled();
    let records = population(11, 400);
    for mode in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
        let mut reused = rules.decider(mode);
        for text in &records {
            let fresh = rules.decider(mode).decide(text).unwrap();
            assert_eq!(reused.decide(text).unwrap(), fresh, "{mode:?}: {text}");
        }
    }
}

#[test]
fn a_bad_record_is_an_error_that_says_where_and_the_next_record_is_decided() {
    let rules = bundled();
    let good = example("acme-energia.json");
    for mode in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
        let mut decider = rules.decider(mode);
        let expected = rules.decider(mode).decide(&good).unwrap();
        decider.decide(&good).unwrap();

        let not_json = decider.decide(r#"{"id": "x", "size": "#).unwrap_err();
        assert!(matches!(
            not_json,
            DecideError::Facts(TextFactsError::NotJson(_))
        ));
        assert!(
            not_json.to_string().contains("not valid JSON"),
            "{not_json}"
        );

        let wrong_type = r#"{"id": "x", "entity_types": ["I.6.1"], "size": {"staff": "many", "turnover_eur": 1, "balance_sheet_eur": 1}}"#;
        let error = decider.decide(wrong_type).unwrap_err();
        assert!(matches!(
            error,
            DecideError::Facts(TextFactsError::Invalid(..))
        ));
        assert!(error.to_string().contains("$.size.staff"), "{error}");

        let missing = decider.decide(r#"{"id": "x"}"#).unwrap_err();
        assert!(missing.to_string().contains("$.size"), "{missing}");

        assert_eq!(decider.decide(&good).unwrap(), expected, "{mode:?}");
    }
}

#[test]
fn rules_are_shared_by_threads_each_with_its_own_decider() {
    fn shared<T: Send + Sync>() {}
    fn moved<T: Send>() {}
    shared::<Rules>();
    moved::<Decider<'static>>();
    shared::<Decision<'static>>();
    shared::<RulesError>();
    shared::<DecideError>();

    let rules = bundled();
    let records = population(12, 200);
    let alone: Vec<Decision> = {
        let mut decider = rules.decider(TraceMode::Compact);
        records.iter().map(|r| decider.decide(r).unwrap()).collect()
    };
    let threaded: Vec<Decision> = std::thread::scope(|s| {
        let handles: Vec<_> = (records.chunks(50))
            .map(|part| {
                let rules = &rules;
                s.spawn(move || {
                    let mut decider = rules.decider(TraceMode::Compact);
                    (part.iter().map(|r| decider.decide(r).unwrap())).collect::<Vec<_>>()
                })
            })
            .collect();
        (handles.into_iter().flat_map(|h| h.join().unwrap())).collect()
    });
    assert_eq!(threaded, alone);
}

#[test]
fn rules_that_cannot_be_read_or_compiled_say_where() {
    let missing = PathBuf::from("no/such/policies");
    let error = Rules::from_paths(&[missing], june_2025()).unwrap_err();
    assert!(matches!(error, RulesError::Load(_)));
    assert!(error.to_string().contains("no/such/policies"), "{error}");

    let mut source = PolicySource::default();
    source.add(
        "broken/rules.law",
        "act broken \"Broken\"\n  this is not a rule\n",
    );
    let error = Rules::from_source(&source, june_2025()).unwrap_err();
    assert!(matches!(error, RulesError::Compile(_)));
    assert!(error.to_string().contains("broken/rules.law:"), "{error}");
}

#[test]
fn rules_from_the_policy_folder_decide_as_the_bundled_ones() {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/it");
    let from_disk = Rules::from_paths(&[folder], june_2025()).unwrap();
    let keys: Vec<&str> = from_disk.result_keys().collect();
    assert!(keys.contains(&"classification") && keys.contains(&"safeguard_clause"));
    let text = example("ministero.json");
    // Compact: a full trace names each rule's file, which differs.
    assert_eq!(
        from_disk
            .decider(TraceMode::Compact)
            .decide(&text)
            .unwrap()
            .to_json(),
        bundled()
            .decider(TraceMode::Compact)
            .decide(&text)
            .unwrap()
            .to_json()
    );
}

#[test]
fn a_record_the_rules_cannot_decide_names_the_rule_file_and_the_next_is_decided() {
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/policies/failing.law");
    let rules = Rules::from_paths(&[policy], june_2025()).unwrap();
    for mode in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
        let mut decider = rules.decider(mode);
        let error = decider.decide(r#"{"y": 0, "parts": []}"#).unwrap_err();
        assert!(matches!(error, DecideError::Rules(_)), "{mode:?}: {error}");
        let message = error.to_string();
        assert!(message.contains("division by zero"), "{message}");
        assert!(message.contains("failing.law:14:39"), "{message}");
        let decided = decider.decide(r#"{"y": 6, "parts": []}"#).unwrap();
        assert_eq!(decided.get("flag"), Some(json!(true)), "{mode:?}");
    }
}

#[test]
fn a_decision_written_out_is_a_batch_line_without_its_line_number() {
    let rules = bundled();
    for mode in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
        let mut decider = rules.decider(mode);
        for name in EXAMPLES {
            let text = example(name);
            let options = crate::batch::BatchOptions {
                trace: mode,
                jobs: 1,
                ..Default::default()
            };
            let input = Box::new(std::io::Cursor::new(text.replace('\n', " ").into_bytes()));
            let mut line = Vec::new();
            crate::batch::run_batch(rules.compiled(), input, &mut line, &options, &mut |_| {})
                .unwrap();
            let line = String::from_utf8(line).unwrap();
            let expected = line.trim_end().replacen("{\"line\":1,", "{", 1);
            let decision = decider.decide(&text).unwrap();
            let written = serde_json::to_string(&decision).unwrap();
            assert_eq!(written, expected, "{mode:?}, {name}");
            let mut line = Vec::new();
            decision.write_json_line(&mut line);
            assert_eq!(String::from_utf8(line).unwrap(), written + "\n");
        }
    }
}

#[test]
fn a_decision_written_as_a_line_is_what_the_serialiser_writes() {
    let rules = bundled();
    let records = population(13, 400);
    for mode in [TraceMode::None, TraceMode::Compact] {
        let mut decider = rules.decider(mode);
        // Kept, so that later records' texts may be where earlier ones' were.
        let decisions: Vec<Decision> = (records.iter())
            .map(|r| decider.decide(r).unwrap())
            .collect();
        let with_text = |d: &&Decision| d.get("safeguard_procedure").is_some_and(|p| p.is_string());
        assert!(decisions.iter().filter(with_text).count() > 10);
        for decision in &decisions {
            let mut line = Vec::new();
            decision.write_json_line(&mut line);
            let written = serde_json::to_string(decision).unwrap() + "\n";
            assert_eq!(String::from_utf8(line).unwrap(), written, "{mode:?}");
        }
    }
}
