//! The language's constructs, each evaluated on small programs.

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::{load_facts, FactErrorKind};
use lexnis::policy::{compile, PolicySource};
use serde_json::json;

const HEADER: &str = "act t {\n  cited as \"L. 1/2024\"\n  in force from 2024-01-01\n}\n";

/// Compiles `body`, with the act header.
fn compiled(body: &str) -> lexnis::lower::Compiled {
    let mut source = PolicySource::default();
    source.add("policies/t/act.law", &format!("{HEADER}{body}"));
    match compile(&source, Date::parse("2025-03-10").unwrap()) {
        Ok(c) => c,
        Err(e) => panic!(
            "{}",
            lexnis::diagnostic::render_all(&e.diagnostics, &e.sources, Default::default())
        ),
    }
}

/// Compiles `body`, evaluates `facts`, and returns the result JSON.
fn run(body: &str, facts: serde_json::Value) -> serde_json::Value {
    let compiled = compiled(body);
    let facts = load_facts(&compiled.program, &facts).unwrap();
    let mut ev = Evaluator::new(&compiled);
    let values = ev.run(facts).unwrap();
    lexnis::render::result_json(&ev, &values, None)
}

#[test]
fn functions_inline_with_their_own_aggregates_inside_aggregates() {
    let out = run(
        r#"
record Item { weight: decimal, parts: list of decimal }
fact items: list of Item
define heavy(w: decimal, limit: decimal): bool cite "art. 1" = w > limit
define part_total(xs: list of decimal): decimal cite "art. 2" = sum x for x in xs
define heavy_items: int cite "art. 3" = count i in items where heavy(i.weight + part_total(i.parts), 10)
report heavy_items
outcome any_heavy: bool otherwise false
rule r cite "art. 4" when heavy_items > 0 then any_heavy
"#,
        json!({"items": [{"weight": 5, "parts": [1, 2]}, {"weight": 5, "parts": [3, 4]}, {"weight": 11, "parts": []}]}),
    );
    assert_eq!(out["heavy_items"], json!(2));
    assert_eq!(out["any_heavy"], json!(true));
}

#[test]
fn precedence_lets_the_special_rule_prevail() {
    let body = r#"
enum Kind { general_case, special_case }
fact x: int
outcome kind: Kind otherwise general_case
rule general cite "art. 1" when x > 0 then kind = general_case
rule special cite "art. 2" overrides general when x > 10 then kind = special_case
"#;
    assert_eq!(run(body, json!({"x": 5}))["kind"], json!("general_case"));
    assert_eq!(run(body, json!({"x": 50}))["kind"], json!("special_case"));
}

#[test]
fn set_outcomes_collect_every_applying_rule() {
    let body = r#"
enum Tag { alpha, beta, gamma }
fact x: int
outcome tags: set of Tag
rule a cite "art. 1" when x > 0 then tags includes alpha
rule b cite "art. 2" when x > 5 then tags includes beta
rule c cite "art. 3" when x > 50 then tags includes gamma
"#;
    assert_eq!(run(body, json!({"x": 7}))["tags"], json!(["alpha", "beta"]));
    assert_eq!(run(body, json!({"x": 0}))["tags"], json!([]));
}

#[test]
fn money_is_exact_and_optional_facts_are_guarded() {
    let body = r#"
record Money2 { amount: money }
fact a: money
fact b: optional Money2
define total: money cite "art. 1" = a + (if b is given then b.amount else 0 EUR)
define third: money cite "art. 2" = total / 3
report total, third
outcome over: bool otherwise false
rule r cite "art. 3" when total > 0.3 EUR then over
"#;
    let out = run(body, json!({"a": "0.1", "b": {"amount": 0.2}}));
    assert_eq!(out["total"], json!("0.3"));
    assert_eq!(out["over"], json!(false));
    let out = run(body, json!({"a": 10}));
    assert_eq!(out["total"], json!("10"));
    assert_eq!(out["third"], json!("3.3333333333333333333333333333"));
}

#[test]
fn equality_with_an_absent_value_is_undecided_unless_tested_against_none() {
    // `b.amount = 5 EUR` on an entity without `b` is neither true nor false:
    // it fails as `<` does, asking for a guard; only `= none` tests absence.
    let body = r#"
record Money2 { amount: money }
fact b: optional Money2
define five: bool cite "art. 1" = b.amount = 5 EUR
define not_five: bool cite "art. 1" = b.amount != 5 EUR
define guarded: bool cite "art. 1" = b is given and b.amount != 5 EUR
define without: bool cite "art. 2" = b = none
report five, not_five, guarded, without
outcome o: bool otherwise false
rule r cite "art. 3" when without then o
"#;
    let c = compiled(body);
    let given = load_facts(&c.program, &json!({"b": {"amount": 5}})).unwrap();
    let mut ev = Evaluator::new(&c);
    let values = ev.run(given).unwrap();
    let out = lexnis::render::result_json(&ev, &values, None);
    assert_eq!(
        (&out["five"], &out["not_five"], &out["without"]),
        (&json!(true), &json!(false), &json!(false))
    );
    for lazily in [false, true] {
        let absent = load_facts(&c.program, &json!({})).unwrap();
        let mut ev = Evaluator::new(&c);
        let error = match lazily {
            true => ev.run_lazily(absent),
            false => ev.run(absent),
        }
        .unwrap_err();
        assert!(
            error
                .message
                .contains("`b.amount` has no value for this entity")
                && error
                    .message
                    .contains("guard the rule with `... is given and ...`"),
            "{error}"
        );
    }
    let guarded = compiled(
        &body
            .replace("define five", "define unused_five")
            .replace("report five, not_five,", "report")
            .replace("define not_five", "define unused_not_five"),
    );
    let out = {
        let facts = load_facts(&guarded.program, &json!({})).unwrap();
        let mut ev = Evaluator::new(&guarded);
        let values = ev.run(facts).unwrap();
        lexnis::render::result_json(&ev, &values, None)
    };
    assert_eq!(
        (&out["guarded"], &out["without"], &out["o"]),
        (&json!(false), &json!(true), &json!(true))
    );
}

#[test]
fn dates_and_builtins() {
    let body = r#"
define deadline: date cite "art. 1" = if today <= date(year(today), 2, 28) then date(year(today), 2, 28) else date(year(today) + 1, 2, 28)
define in_days: int cite "art. 2" = days_between(today, deadline)
define later: date cite "art. 3" = add_years(date(2024, 2, 29), 1)
report deadline, in_days, later
outcome soon: bool otherwise false
rule r cite "art. 4" when in_days < 30 then soon
"#;
    let out = run(body, json!({}));
    assert_eq!(out["deadline"], json!("2026-02-28"));
    assert_eq!(out["later"], json!("2025-02-28"));
    assert_eq!(out["soon"], json!(false));
}

#[test]
fn a_date_past_year_9999_is_an_error_not_a_five_digit_year() {
    // Results carry dates as YYYY-MM-DD, which facts read back: a rule that
    // computes a date past 9999-12-31 (or before 0000-01-01) fails where it does,
    // naming the parts a date() was given as they are. (A month and day written
    // as numbers are checked when compiling: here they are computed.)
    for (expr, says) in [
        ("add_years(date(9999, 3, 1), 1)", "10000-03-01 is not a date that can be written as YYYY-MM-DD: years run from 0000 to 9999"),
        ("add_days(date(9999, 12, 31), 1)", "10000-01-01 is not a date"),
        ("add_days(date(0, 1, 1), -1)", "-001-12-31 is not a date"),
        ("date(10000, 1, 1)", "date(10000, 1, 1): the year must be a whole number from 0 to 9999"),
        ("date(99999999999, 1, 1)", "date(99999999999, 1, 1): the year"),
        ("date(2025, 100 * 3, 1)", "date(2025, 300, 1): the month must be a whole number from 1 to 12"),
        ("date(2025, 2, 3 / 2)", "date(2025, 2, 1.50): the day"),
        ("date(2025, 2, 10 * 3)", "day 30 does not exist in 2025-02"),
    ] {
        let body = format!(
            "define d: date cite \"art. 1\" = {expr}\nreport d\n\
             outcome o: bool otherwise false\nrule r cite \"art. 2\" when d > date(2025, 1, 1) then o\n"
        );
        let c = compiled(&body);
        let facts = lexnis::facts::load_facts(&c.program, &json!({})).unwrap();
        let error = lexnis::eval::Evaluator::new(&c).run(facts).unwrap_err();
        assert!(error.message.contains(says), "{expr}: {error}");
    }
}

#[test]
fn tables_are_looked_up_by_key() {
    let body = r#"
table Sector "settori" cite "allegato I" {
  columns number: int, name: text
  "I.1": 1, "energia"
  "I.2": 2, "trasporti"
}
fact sectors: set of Sector
define transport: bool cite "allegato I, punto 2" = any s in sectors where s.number = 2
define energy: bool cite "allegato I, punto 1" = "I.1" in sectors
report transport, energy
outcome n: int otherwise 0
rule r cite "art. 1" when transport or energy then n = count s in sectors
"#;
    let out = run(body, json!({"sectors": ["I.2"]}));
    assert_eq!(out["transport"], json!(true));
    assert_eq!(out["energy"], json!(false));
    assert_eq!(out["n"], json!(1));
    // A set holds each key once: a repeat in the facts is named, not merged.
    let program = compiled(body).program;
    let errors = load_facts(&program, &json!({"sectors": ["I.2", "I.2"]})).unwrap_err();
    let found: Vec<(FactErrorKind, &str)> =
        errors.iter().map(|e| (e.kind, e.path.as_str())).collect();
    assert_eq!(found, [(FactErrorKind::DuplicateEntry, "$.sectors[1]")]);
}

#[test]
fn published_facts_schema_is_current() {
    let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    let generated = serde_json::to_string_pretty(&lexnis::schema::facts_schema(&compiled.program))
        .unwrap()
        + "\n";
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/schema/facts.schema.json"
    ))
    .unwrap();
    assert!(
        generated == published,
        "docs/schema/facts.schema.json is out of date: run `lexnis schema --as-of 2025-06-01 > docs/schema/facts.schema.json`"
    );
}

#[test]
fn constants_of_one_value_but_two_types_are_two_nodes_drawn_by_their_type() {
    // `a` and `micro` are both the first variant of their enum: one value, but
    // a drawing that showed `micro` feeding `[a, b]` would mislead its reader.
    let c = compiled(
        r#"
enum Letter "lettere" { a "a", b "b" }
enum Class "classi" { micro "micro", small "small" }
fact letters: set of Letter
fact class: Class
define by_letter: bool cite "art. 1" = any k in letters where k in [a, b]
define tiny: bool cite "art. 2" = class = micro
"#,
    );
    let dot = lexnis::render::graph_dot(&c);
    let label_of = |text: &str| dot.lines().filter(|l| l.contains(text)).count();
    assert_eq!(label_of("[label=\"a\""), 1, "{dot}");
    assert_eq!(label_of("[label=\"micro\""), 1, "{dot}");
}

#[test]
fn a_missing_value_is_an_error_that_says_why_it_is_missing() {
    let body = r#"
record Part { weight: decimal }
fact parts: list of Part
fact x: optional decimal
enum Level { low "basso", high "alto" }
outcome level: optional Level
rule high cite "art. 1" when x is given and x > 10 then level = high
define heavy: bool cite "art. 2" = (largest p.weight for p in parts) > 3
define bigger: decimal cite "art. 3" = max(x, 2)
define raised: bool cite "art. 4" = level = high
"#;
    let error_of = |report: &str, facts: serde_json::Value| {
        let c = compiled(&format!("{body}report {report}\n"));
        let facts = load_facts(&c.program, &facts).unwrap();
        Evaluator::new(&c).run(facts).unwrap_err().message
    };
    let empty = error_of("heavy", json!({"parts": []}));
    assert!(empty.contains("it has no elements to compare"), "{empty}");
    // The larger of a value and nothing is not known: not the value.
    let absent = error_of("bigger", json!({"parts": []}));
    assert!(
        absent.contains("`x` has no value") && absent.contains("optional fact"),
        "{absent}"
    );
    let unconcluded = error_of("raised", json!({"parts": [], "x": 3}));
    assert!(
        unconcluded.contains("no rule concluded it"),
        "{unconcluded}"
    );
}
