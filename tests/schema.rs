//! The published JSON Schemas hold for what lexnis really writes: every
//! result document (at dates before and after the DPCM is in force, with
//! each trace), every batch line including error records, and every facts
//! document the generator writes.
//!
//! The check is a small validator of the keywords the two schemas use
//! (`type`, `enum`, `required`, `properties`, `additionalProperties`,
//! `items`, `uniqueItems`, `minimum`, `maximum`, the two `pattern`s of
//! numbers written as text, `$ref`, `anyOf`, `oneOf`): a keyword it does
//! not know fails the test, so that the schemas cannot grow past it unseen.

use lexnis::batch::{run_batch, BatchOptions, TraceMode};
use lexnis::date::Date;
use lexnis::Rules;
use serde_json::{json, Value as Json};

fn schema(name: &str) -> Json {
    let path = format!("{}/docs/schema/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The keywords that say nothing about validity.
const ANNOTATIONS: [&str; 7] = [
    "$schema",
    "$id",
    "title",
    "description",
    "format",
    "$defs",
    "default",
];

/// Every way `value` breaks `schema` (`root` holds the `$defs`), by JSON path.
fn problems(root: &Json, schema: &Json, value: &Json, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some(keywords) = schema.as_object() else {
        return vec![format!("{path}: the schema is not an object")];
    };
    for (keyword, rule) in keywords {
        let fails = |why: String| format!("{path}: {why}");
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) || k.starts_with("x-") => {}
            "type" => {
                let types: Vec<&str> = match rule {
                    Json::String(t) => vec![t.as_str()],
                    _ => rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap())
                        .collect(),
                };
                if !types.iter().any(|t| has_type(value, t)) {
                    found.push(fails(format!("{value} is not of type {rule}")));
                }
            }
            "enum" if !rule.as_array().unwrap().contains(value) => {
                found.push(fails(format!("{value} is not one of {rule}")))
            }
            "enum" => {}
            "required" => {
                for key in rule.as_array().unwrap() {
                    let key = key.as_str().unwrap();
                    if value.is_object() && value.get(key).is_none() {
                        found.push(fails(format!("`{key}` is required and missing")));
                    }
                }
            }
            "properties" => {
                for (key, inner) in value.as_object().into_iter().flatten() {
                    if let Some(property) = rule.get(key) {
                        found.extend(problems(root, property, inner, &format!("{path}.{key}")));
                    }
                }
            }
            "additionalProperties" => {
                let declared = schema.get("properties");
                for key in value.as_object().into_iter().flatten().map(|(k, _)| k) {
                    if declared.and_then(|d| d.get(key)).is_none() && rule == &json!(false) {
                        found.push(fails(format!("`{key}` is not a declared property")));
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    found.extend(problems(root, rule, item, &format!("{path}[{i}]")));
                }
            }
            "minimum" | "maximum" => {
                let (Some(n), Some(bound)) = (value.as_f64(), rule.as_f64()) else {
                    continue;
                };
                if (keyword == "minimum" && n < bound) || (keyword == "maximum" && n > bound) {
                    found.push(fails(format!("{n} is past the {keyword} {bound}")));
                }
            }
            "uniqueItems" if rule == &json!(true) => {
                let items = value.as_array().into_iter().flatten();
                if items
                    .clone()
                    .enumerate()
                    .any(|(i, a)| items.clone().skip(i + 1).any(|b| a == b))
                {
                    found.push(fails(format!("{value} repeats an item")));
                }
            }
            "pattern" => {
                let text = value.as_str().unwrap_or("0");
                if !matches_number_pattern(rule.as_str().unwrap(), text) {
                    found.push(fails(format!("{text:?} does not match {rule}")));
                }
            }
            "$ref" => {
                let name = rule.as_str().unwrap().strip_prefix("#/$defs/").unwrap();
                found.extend(problems(root, &root["$defs"][name], value, path));
            }
            "anyOf" | "oneOf" => {
                let branches = rule.as_array().unwrap();
                let failing: Vec<Vec<String>> = (branches.iter())
                    .map(|b| problems(root, b, value, path))
                    .collect();
                if failing.iter().all(|f| !f.is_empty()) {
                    found.push(fails(format!("no branch of {keyword} holds: {failing:?}")));
                }
            }
            other => found.push(fails(format!("the test knows no keyword `{other}`"))),
        }
    }
    found
}

/// The two patterns the facts schema uses, for numbers written as text;
/// another fails the test.
fn matches_number_pattern(pattern: &str, text: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match pattern {
        "^-?[0-9]+$" => digits(unsigned),
        "^-?[0-9]+(\\.[0-9]+)?$" => match unsigned.split_once('.') {
            Some((whole, fraction)) => digits(whole) && digits(fraction),
            None => digits(unsigned),
        },
        other => panic!("the test knows no pattern {other}"),
    }
}

fn has_type(value: &Json, ty: &str) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => panic!("unknown type {other}"),
    }
}

fn assert_valid(schema: &Json, value: &Json, what: &str) {
    let found = problems(schema, schema, value, "$");
    assert!(
        found.is_empty(),
        "{what} breaks the schema:\n{}",
        found.join("\n")
    );
}

/// `count` generated facts records (the bundled catalogue, `seed`).
fn population(seed: u64, count: u64) -> Vec<Json> {
    let rules = Rules::bundled(Date::parse("2025-06-01").unwrap()).unwrap();
    let catalogue = lexnis::generate::Catalogue::from_program(&rules.compiled().program).unwrap();
    let mut text = Vec::new();
    lexnis::generate::generate(&catalogue, count, seed, &mut text).unwrap();
    (text.split(|b| *b == b'\n'))
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn examples() -> Vec<(String, String)> {
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<_> = (std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Before the DPCM is in force (no `safeguard_clause`), in force, and past
/// its review deadline (a warning).
const DATES: [&str; 3] = ["2024-12-01", "2025-06-01", "2028-01-01"];

#[test]
fn every_result_document_holds_to_the_result_schema() {
    let schema = schema("result.schema.json");
    let population = population(7, 200);
    for date in DATES {
        let rules = Rules::bundled(Date::parse(date).unwrap()).unwrap();
        for trace in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
            let mut decider = rules.decider(trace);
            let records = (examples().into_iter()).chain(
                population
                    .iter()
                    .map(|r| ("a generated record".into(), r.to_string())),
            );
            for (name, text) in records {
                let decision = decider.decide(&text).unwrap().to_json();
                assert_valid(&schema, &decision, &format!("{name} on {date} ({trace:?})"));
            }
        }
    }
}

#[test]
fn every_batch_line_holds_to_the_result_schema_error_records_too() {
    let schema = schema("result.schema.json");
    let good = r#"{"id": 7, "entity_types": ["I.1.a.1"], "size": {"staff": 300, "turnover_eur": 1, "balance_sheet_eur": 1}}"#;
    let input = [
        good,
        r#"{"id": "bad-json", "size": "#,
        r#"{"id": "missing", "entity_types": ["I.1.a.1"]}"#,
        r#"{"id": "wrong-type", "size": {"staff": "many", "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": "out-of-range", "size": {"staff": -1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"[1, 2, 3]"#,
        good,
    ]
    .join("\n");
    for date in DATES {
        let compiled = lexnis::policy::compile(
            &lexnis::policy::PolicySource::bundled(),
            Date::parse(date).unwrap(),
        )
        .unwrap();
        for trace in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
            let options = BatchOptions {
                trace,
                ..BatchOptions::default()
            };
            let reader = Box::new(std::io::Cursor::new(input.clone().into_bytes()));
            let mut out = Vec::new();
            run_batch(&compiled, reader, &mut out, &options, &mut |_| {}).unwrap();
            let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
            assert_eq!(lines.len(), 7);
            for line in lines {
                let document: Json = serde_json::from_str(line).unwrap();
                assert_valid(&schema, &document, &format!("{line} on {date} ({trace:?})"));
            }
        }
    }
}

#[test]
fn generated_facts_hold_to_the_facts_schema_and_out_of_range_ones_do_not() {
    let schema = schema("facts.schema.json");
    let population = population(11, 300);
    for record in &population {
        assert_valid(&schema, record, &record.to_string());
    }
    for (name, text) in examples() {
        assert_valid(&schema, &serde_json::from_str(&text).unwrap(), &name);
    }
    // The ranges of the rule files are the schema's `minimum` and `maximum`.
    let mut too_many = population[0].clone();
    too_many["public_bodies_share_pct"] = json!(150);
    too_many["size"]["staff"] = json!(-5);
    let found = problems(&schema, &schema, &too_many, "$");
    assert!(
        found.iter().any(|p| p.contains("public_bodies_share_pct"))
            && found.iter().any(|p| p.contains("size.staff")),
        "{found:?}"
    );
    // The values of `one of` are the schema's `enum`: comma 7 is refused, 8 taken.
    let mut identified = population[0].clone();
    identified["identified_by_authority"] = json!({"comma": 8});
    assert_valid(&schema, &identified, "identified under c. 8");
    identified["identified_by_authority"] = json!({"comma": 7});
    let found = problems(&schema, &schema, &identified, "$");
    assert!(
        found
            .iter()
            .any(|p| p.contains("identified_by_authority.comma")),
        "{found:?}"
    );
}
