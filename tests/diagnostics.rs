//! Every diagnostic a drafter or a tooling team can meet, rendered exactly as the
//! CLI prints it (without colours). Each snapshot is an assertion: it was read.

use lexnis::date::Date;
use lexnis::diagnostic::{render_all, RenderOptions};
use lexnis::facts::load_facts;
use lexnis::policy::{compile, PolicySource};

const HEADER: &str = r#"act nis {
  title "Decreto NIS (estratto per i test)"
  cited as "D.Lgs. 138/2024"
  in force from 2024-10-16
  refers to "Racc. 2003/361/CE"
  articles 1 to 45
}
"#;

const BASE: &str = r#"
enum SizeClass { small, medium, large }
table EntityType "Tipologie" cite "allegato I" {
  columns annex: text, name: text
  "I.1.a.1": "I", "Imprese elettriche"
  "II.1.1": "II", "Fornitori di servizi postali"
}
record Enterprise {
  staff: decimal at least 0
  turnover_eur: money at least 0
}
record Partner {
  share_pct: decimal between 0 and 100
  staff: decimal at least 0
}
fact entity_types: set of EntityType
fact size: Enterprise
fact partners: list of Partner default []
define staff_total: decimal cite "Racc. 2003/361/CE, allegato, art. 6, par. 2"
  = size.staff + sum p.staff * p.share_pct / 100 for p in partners where p.share_pct >= 25
define annex_I: bool cite "art. 3, c. 1" = any t in entity_types where t.annex = "I"
outcome in_scope: bool otherwise false
"#;

fn as_of() -> Date {
    Date::parse("2025-06-01").unwrap()
}

/// Compiles `body` after the standard header and renders what it reports.
fn diagnostics_of(name: &str, body: &str) -> String {
    let mut source = PolicySource::default();
    source.add(name, &format!("{HEADER}{body}"));
    match compile(&source, as_of()) {
        Ok(c) => render_all(&c.warnings, &c.program.sources, RenderOptions::default()),
        Err(e) => render_all(&e.diagnostics, &e.sources, RenderOptions::default()),
    }
}

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// The one rule file `policies/nis/scope.law`: the standard header, then `body`.
fn scope_file(body: &str) -> PolicySource {
    let mut source = PolicySource::default();
    source.add("policies/nis/scope.law", &format!("{HEADER}{body}"));
    source
}

/// The mistakes `check` finds in the inline examples of `source`.
fn example_problems(source: &PolicySource) -> Vec<lexnis::diagnostic::Diagnostic> {
    let parsed = lexnis::policy::parse_all(source).unwrap();
    lexnis::example::check_examples(source, &parsed).unwrap()
}

/// What compiling `source` reports, rendered as the CLI prints it.
fn compile_errors(source: &PolicySource) -> String {
    let e = compile(source, as_of()).unwrap_err();
    render_all(&e.diagnostics, &e.sources, RenderOptions::default())
}

#[test]
fn syntax_error_names_expected_tokens_in_words() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("rule scope.size cite \"art. 3, c. 2\"\n  when staff_total >= 50\n  in_scope\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn an_error_far_right_on_a_long_line_is_reported_by_its_place() {
    // A generated rule file may hold one very long expression; its snippet is not
    // drawn (the drawing pads to the column), its place and message are given.
    let long = "lungo ".repeat(12_000);
    let out = diagnostics_of(
        "policies/nis/long.law",
        &format!("define x: bool \"{long}\" cite \"art. 1\" = nope\n"),
    );
    assert_eq!(
        out,
        "error[lexnis::check::unknown_name]: unknown name `nope`\n  \
         --> policies/nis/long.law:8:72035: not declared in any act in force\n  \
         help: declare it with `fact`, `define` or `outcome`, or check the spelling\n\
         1 error(s), 0 warning(s)\n"
    );
}

#[test]
fn unknown_name_suggests_the_closest() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(
            "rule scope.size cite \"art. 3, c. 2\"\n  when staf_total >= 50\n  then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn type_mismatch_money_against_number() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("rule scope.size cite \"art. 3, c. 2\"\n  when size.turnover_eur > 10_000_000\n  then in_scope\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn rule_without_citation() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("rule scope.size\n  when staff_total >= 50\n  then in_scope\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn duplicate_rule() {
    let rule = "rule scope.size cite \"art. 3, c. 2\"\n  when staff_total >= 50\n  then in_scope\n";
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(&format!("{rule}{rule}")),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn dependency_cycle_prints_the_chain() {
    let out = diagnostics_of(
        "policies/nis/size.law",
        &with_base(
            "define headcount: decimal cite \"Racc. 2003/361/CE, allegato, art. 5\" = staff_total + adjustment\n\
             define adjustment: decimal cite \"Racc. 2003/361/CE, allegato, art. 6, par. 2\" = headcount / 10\n\
             rule scope.size cite \"art. 3, c. 2\" when headcount >= 50 then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn ambiguous_exception_precedence() {
    let out = diagnostics_of(
        "policies/nis/classification.law",
        &with_base(
            "enum Classification { essential, important }\n\
             outcome classification: optional Classification\n\
             rule class.important cite \"art. 6, c. 2\" when staff_total >= 50 then classification = important\n\
             rule class.essential cite \"art. 6, c. 1, lett. a)\" when staff_total >= 250 then classification = essential\n",
        ),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_table_entry() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("rule scope.energy cite \"art. 3, c. 2\"\n  when \"I.1.a.9\" in entity_types\n  then in_scope\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn malformed_date() {
    let mut source = PolicySource::default();
    source.add(
        "policies/nis/act.law",
        "act nis {\n  cited as \"D.Lgs. 138/2024\"\n  in force from 2024-02-30\n}\n",
    );
    insta::assert_snapshot!(compile_errors(&source));
}

#[test]
fn review_cadence_of_no_years_or_past_9999() {
    // Art. 40 sets cadences of 2 and 3 years; a deadline must be a date a result
    // can carry (YYYY-MM-DD).
    let header = |adopted: &str, review: &str| {
        format!(
            "act nis {{\n  cited as \"D.Lgs. 138/2024\"\n  adopted {adopted}\n  in force from {adopted}\n  \
             review every {review} years cite \"art. 40, c. 10\"\n}}\n"
        )
    };
    let mut out = String::new();
    for (adopted, review) in [
        ("2024-09-04", "0"),
        ("2024-09-04", "4294967296"),
        ("9998-06-01", "3"),
    ] {
        let mut source = PolicySource::default();
        source.add("policies/nis/act.law", &header(adopted, review));
        let e = compile(&source, as_of()).unwrap_err();
        out.push_str(&render_all(
            &e.diagnostics,
            &e.sources,
            RenderOptions::default(),
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn import_of_unknown_act() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("import dpcm_221_2042\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn unused_fact_is_a_warning() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base("fact critical_entity: bool default false\nrule scope.size cite \"art. 3, c. 2\" when staff_total >= 50 then in_scope\n"),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn citation_must_name_a_known_act_and_article() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(
            "rule scope.a cite \"art. 63, c. 2\" when staff_total >= 50 then in_scope\n\
             rule scope.b cite \"D.Lgs. 65/2018, art. 4\" when staff_total >= 60 then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn citation_must_name_an_annex_the_act_has() {
    let mut source = PolicySource::default();
    let header = HEADER.replace(
        "  articles 1 to 45\n",
        "  articles 1 to 45\n  annexes I to IV\n",
    );
    let rules = "rule scope.a cite \"allegato IV, punto 1\" when staff_total >= 50 then in_scope\n\
                 rule scope.b cite \"allegati I, II e IX\" when staff_total >= 60 then in_scope\n";
    source.add(
        "policies/nis/scope.law",
        &format!("{header}{}", with_base(rules)),
    );
    insta::assert_snapshot!(compile_errors(&source));
}

fn facts_errors(doc: &str) -> String {
    let rule = "rule scope.size cite \"art. 3, c. 2\" when staff_total >= 50 and any t in entity_types where t.annex = \"I\" then in_scope\n";
    let compiled = compile(&scope_file(&with_base(rule)), as_of()).unwrap();
    let json: serde_json::Value = serde_json::from_str(doc).unwrap();
    let errors = load_facts(&compiled.program, &json).unwrap_err();
    lexnis::render::fact_errors_text("facts.json", &errors)
}

#[test]
fn facts_missing_field() {
    insta::assert_snapshot!(facts_errors(
        r#"{"entity_types": ["I.1.a.1"], "size": {"staff": 10}}"#
    ));
}

#[test]
fn facts_wrong_type_names_the_json_path() {
    insta::assert_snapshot!(facts_errors(
        r#"{"entity_types": ["I.1.a.1"], "size": {"staff": "many", "turnover_eur": 1}, "partners": [{"share_pct": "30", "staff": true}]}"#
    ));
}

#[test]
fn facts_unknown_field() {
    insta::assert_snapshot!(facts_errors(
        r#"{"entity_types": ["I.1.a.1"], "size": {"staff": 10, "turnover_eur": 1}, "sise": {}}"#
    ));
}

#[test]
fn facts_value_out_of_range() {
    insta::assert_snapshot!(facts_errors(
        r#"{"entity_types": ["I.1.a.1"], "size": {"staff": -3, "turnover_eur": 1}, "partners": [{"share_pct": 130, "staff": 5}]}"#
    ));
}

/// The authority acts on an entity under art. 3, c. 6, 8, 9 and 10 only
/// (art. 3, c. 13; art. 6, c. 2): a record naming c. 7 is refused, by the
/// reader a batch uses and by the one that reports, with the same words.
#[test]
fn facts_comma_the_law_does_not_name() {
    let compiled = compile(&PolicySource::bundled(), as_of()).unwrap();
    let record = |comma: u32| {
        format!(
            r#"{{"entity_types": ["IV.1.1"], "size": {{"staff": 10, "turnover_eur": 1, "balance_sheet_eur": 1}}, "identified_by_authority": {{"comma": {comma}}}}}"#
        )
    };
    for comma in [6, 8, 9, 10] {
        let read = lexnis::facts::load_facts_from_str(&compiled.program, &record(comma));
        assert!(read.is_ok(), "comma {comma}");
    }
    let Err(lexnis::facts::TextFactsError::Invalid(_, errors)) =
        lexnis::facts::load_facts_from_str(&compiled.program, &record(7))
    else {
        panic!("comma 7 must be refused");
    };
    let json: serde_json::Value = serde_json::from_str(&record(7)).unwrap();
    assert_eq!(load_facts(&compiled.program, &json).unwrap_err(), errors);
    insta::assert_snapshot!(lexnis::render::fact_errors_text("facts.json", &errors));
}

#[test]
fn a_value_listed_twice_in_one_of() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        "record Identification \"x\" {\n  comma: int one of 6, 8, 8 or 10\n}\n\
         fact identified: Identification\n\
         rule scope.c8 cite \"art. 3, c. 8\" when identified.comma = 8 then in_scope\n\
         outcome in_scope: bool otherwise false\n",
    );
    insta::assert_snapshot!(out);
}

#[test]
fn facts_unknown_entity_type() {
    insta::assert_snapshot!(facts_errors(
        r#"{"entity_types": ["I.1.a.2"], "size": {"staff": 10, "turnover_eur": 1}}"#
    ));
}

#[test]
fn an_empty_citation() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(
            "define share: decimal cite \"\" = size.staff / 2\n\
             rule scope.size cite \"art. 3, c. 2\" when share >= 25 then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_table_without_a_provision_and_a_division_by_a_written_zero() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(
            "define per_head: money cite \"art. 3, c. 2\" = size.turnover_eur / 0.00\n\
             table Extra \"x\" cite \"\" {\n  columns a: int\n  \"k\": 1\n}\n\
             rule scope.size cite \"art. 3, c. 2\" when per_head > 0 EUR then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

/// Renders what compiling these act versions (folder, header) reports.
fn header_errors(versions: &[(&str, &str)]) -> String {
    let mut source = PolicySource::default();
    for (folder, header) in versions {
        source.add(&format!("policies/nis/{folder}/act.law"), header);
    }
    compile_errors(&source)
}

#[test]
fn act_headers_must_agree_with_themselves() {
    let out = header_errors(&[(
        "2024-10-16",
        "act nis {\n  adopted 2024-11-04\n  in force from 2024-10-16\n  articles 45 to 1\n  annexes IV to I\n}\n",
    )]);
    insta::assert_snapshot!(out);
}

#[test]
fn supersedes_names_an_earlier_version() {
    let v1 = ("2024-10-16", "act nis {\n  in force from 2024-10-16\n}\n");
    let out = [
        "act nis {\n  in force from 2026-01-01\n  supersedes 2024-10-61\n}\n",
        "act nis {\n  in force from 2026-01-01\n  supersedes 2024-10-17\n}\n",
        "act nis {\n  in force from 2026-01-01\n  supersedes 2026-01-01\n}\n",
    ]
    .map(|v2| header_errors(&[v1, ("2026-01-01", v2)]))
    .join("");
    insta::assert_snapshot!(out);
}

#[test]
fn mistakes_in_an_inline_example_are_reported_where_they_are_written() {
    let examples = r#"
rule scope.size cite "art. 3, c. 2" when staff_total >= 50 then in_scope
example "una media impresa" {
  given entity_types = ["I.1.a.1"],
        size = {staff: "cinquanta", turnover_eur: 10_000_000 EUR},
        partners = [{share_pct: 30, staff: 10}, {share_pct: 130, staff: 1}],
        critical = true,
        entity_types = ["II.1.1"]
  expect in_scope = yes
  expect in_scpoe = true
}
example "senza dati dimensionali" {
  given entity_types = ["I.1.a.1"]
  expect in_scope = false
}
"#;
    let source = scope_file(&with_base(examples));
    let problems = example_problems(&source);
    insta::assert_snapshot!(render_all(
        &problems,
        &source.sources,
        RenderOptions::default()
    ));
    // `lexnis test` refuses to run them, as it refuses rules that do not compile.
    let e = lexnis::example::run_examples(&source, None).unwrap_err();
    let lexnis::example::ExampleError::Compile(e) = e;
    assert_eq!(e.diagnostics, problems);
}

#[test]
fn a_cycle_of_overrides_is_shown_rule_by_rule() {
    let out = diagnostics_of(
        "policies/nis/scope.law",
        &with_base(
            "rule scope.a cite \"art. 3, c. 1\" overrides scope.c when staff_total >= 50 then in_scope\n\
             rule scope.b cite \"art. 3, c. 2\" overrides scope.a when staff_total >= 60 then in_scope\n\
             rule scope.c cite \"art. 3, c. 3\" overrides scope.b when staff_total >= 70 then in_scope\n",
        ),
    );
    insta::assert_snapshot!(out);
}

/// The help line of each syntax error a drafter is likely to make, with the
/// line it is made on: the help names the mistake, not only the grammar.
#[test]
fn syntax_errors_say_what_was_probably_meant() {
    let mistakes = [
        "define qualità: decimal cite \"art. 3\" = size.staff\n",
        "define when: decimal cite \"art. 3\" = size.staff\n",
        "define ceiling: money cite \"art. 3\" = 43.000.000 EUR\n",
        "define ceiling: money cite \"art. 3, c. 2\n  = 43 EUR\n",
        "example \"x\" {\n  given size = {staff: 40, turnover_eur: 1 EUR,\n  expect in_scope = false\n}\n",
        "rlue scope.a cite \"art. 3\" when size.staff >= 50 then in_scope\n",
        "define big: bool cite \"art. 3\" = size.staff == 50\n",
        "define big: bool cite \"art. 3\" = size.staff >= 50 && size.staff < 250\n",
        "define ceiling: money cite \"art. 3\" = 24,99 EUR\n",
        "define ceiling: money cite \"art. 3\" = 50\u{00A0}EUR\n",
        "define crit\u{0430}l: bool cite \"art. 3\" = true\n",
        "define big: bool cite \"art. 3\" = size.staff >= 50 and\n  size.staff is present\n",
        "rule scope.c5-a cite \"art. 3, c. 5\" when size.staff >= 50 then in_scope\n",
        // A `,`, `=` or `}` left out: shown where it is missing.
        "enum Size {\n  small \"piccola\",\n  medium \"media\"\n  large \"grande\"\n}\n",
        "example \"x\" {\n  given size = {staff: 300 turnover_eur: 1 EUR}\n}\n",
        "define big: bool cite \"art. 3\" size.staff >= 50\n",
        "table T \"x\" cite \"allegato I\" {\n  columns a: text, b: bool\n  \"k\": \"x\" true\n}\n",
        "example \"x\" {\n  expect in_scope true\n}\n",
        "enum Applicability { not-applicable, applicable }\n",
        "define big: bool cite \"art. 3\" = size.staff >= 50 an\u{200B}d size.staff < 250\n",
        "define 中文: bool cite \"art. 3\" = true\n",
        "fact z == bool\n",
        // A comma left out between two items: the list is named.
        "example \"x\" {\n  given size = {staff: 40, turnover_eur: 1 EUR}\n        partners = []\n}\n",
        "rule scope.a cite \"art. 3\"\n  overrides scope.b scope.c\n  when size.staff >= 50 then in_scope\n",
        "define m: decimal cite \"art. 3\" = max(size.staff 2)\n",
        "define k: bool cite \"art. 3\" = size.staff in [1 2]\n",
        "rule scope.a cite \"art. 3\" when size.staff >= 50 then in_scope overrides scope.b\n",
        "define big: bool cite \"art. 3\" = size.staff >= 50\n  overrides scope.a\n",
        // Two letters swapped, inside brackets after a keyword.
        "define big: bool cite \"art. 3\" = (size.staff > 1 adn size.staff < 3)\n",
        // Thousands written the Italian way, which read as fractions.
        "define ceiling: money cite \"art. 3\" = 43.000 EUR\n",
        "define ceiling: money cite \"art. 3\" = 1.500 EUR\n",
        "define big: bool cite \"art. 3\" = size.staff >= 10.000\n",
        // A date without its leading zeros.
        "example \"x\" {\n  as of 2026-1-10\n  expect in_scope = false\n}\n",
        // The citation after the rules overridden.
        "rule scope.a \"x\"\n  overrides scope.b\n  cite \"art. 3\"\n  when size.staff >= 50 then in_scope\n",
        // A condition left unfinished.
        "rule scope.a cite \"art. 3\"\n  when size.staff >= 50 and\n  then in_scope\n",
        "rule scope.a cite \"art. 3\"\n  when size.staff >=\n  then in_scope\n",
        // A date written day first, as Italian texts write it.
        "example \"x\" {\n  as of 16-10-2024\n  expect in_scope = false\n}\n",
    ];
    let out: String = mistakes.iter().map(|body| summary_of(body)).collect();
    insta::assert_snapshot!(out);
}

/// Location, message and help of every diagnostic compiling `body` after the
/// standard header gives: a compact record of many mistakes in one snapshot.
fn summary_of(body: &str) -> String {
    let e = compile(&scope_file(body), as_of()).unwrap_err();
    assert!(!e.diagnostics.is_empty(), "{body}");
    let mut out = String::new();
    for d in &e.diagnostics {
        let at = e.sources.location(d.labels[0].span);
        let help = d.help.as_deref().unwrap_or_default();
        out.push_str(&format!(
            "{at}: [{}] {}\n  help: {help}\n",
            d.code, d.message
        ));
    }
    out
}

/// Mistakes that once compiled and silently changed results.
#[test]
fn mistakes_that_would_change_results_silently() {
    let rule = "rule scope.size cite \"art. 3, c. 2\" when staff_total >= 50 then in_scope\n";
    let mistakes = [
        // A default outside its own range, a range written backwards.
        "fact public_share: decimal between 0 and 100 default 150\nfact share2: decimal between 100 and 0 default 0\n".to_string(),
        // A column or an enum variant declared twice.
        "table Extra \"x\" cite \"allegato I\" {\n  columns a: int, b: text, a: int\n  \"k\": 1, \"x\", 2\n}\nenum Letter { a, b, a }\n".to_string(),
        // Digits grouped wrongly in an amount.
        format!("define ceiling: money cite \"art. 3\" = 2_000_0000 EUR\n{rule}"),
        // A date no year has.
        "define deadline: date cite \"art. 7, c. 1\" = date(year(today), 2, 30)\n".to_string(),
        // A text that no row of the table holds in the column it is compared with.
        "define other_annex: bool cite \"art. 3, c. 1\" = any t in entity_types where t.annex = \"lV\"\n".to_string(),
    ];
    let out: String = mistakes
        .iter()
        .map(|m| summary_of(&with_base(m)))
        .collect::<Vec<_>>()
        .join("---\n");
    insta::assert_snapshot!(out);
}

#[test]
fn citations_of_an_annex_by_no_number_or_of_a_referred_act_out_of_range() {
    let mut source = PolicySource::default();
    let header = HEADER
        .replace(
            "  articles 1 to 45\n",
            "  articles 1 to 45\n  annexes I to IV\n",
        )
        .replace(
            "  refers to \"Racc. 2003/361/CE\"\n",
            "  refers to \"Racc. 2003/361/CE\"\n  refers to \"DPCM 221/2024\"\n",
        );
    let rules = "rule scope.a cite \"allegato banana\" when staff_total >= 50 then in_scope\n\
                 rule scope.b cite \"DPCM 221/2024, art. 9\" when staff_total >= 60 then in_scope\n";
    source.add(
        "policies/nis/scope.law",
        &format!("{header}{}", with_base(rules)),
    );
    source.add(
        "policies/dpcm/clausola.law",
        "act dpcm {\n  cited as \"DPCM 221/2024\"\n  in force from 2025-02-11\n  articles 1 to 7\n}\n",
    );
    insta::assert_snapshot!(compile_errors(&source));
}

#[test]
fn an_example_with_two_dates_or_two_expectations_of_one_result() {
    let examples = r#"
rule scope.size cite "art. 3, c. 2" when staff_total >= 50 then in_scope
example "due date" {
  given size = {staff: 60, turnover_eur: 1 EUR}
  as of 2025-01-01
  as of 2025-03-01
  expect in_scope = true
}
"#;
    let source = scope_file(&with_base(examples));
    let mut out = compile_errors(&source);
    let examples = r#"
rule scope.size cite "art. 3, c. 2" when staff_total >= 50 then in_scope
example "due attese" {
  given size = {staff: 60, turnover_eur: 1 EUR}
  expect in_scope = true
  expect in_scope = false
}
"#;
    let source = scope_file(&with_base(examples));
    let problems = example_problems(&source);
    out.push_str(&render_all(
        &problems,
        &source.sources,
        RenderOptions::default(),
    ));
    insta::assert_snapshot!(out);
}

/// A constant of the wrong type is described as written: a number as a number,
/// a quoted `true` as a text to unquote, `null` as `none`.
#[test]
fn constants_of_the_wrong_type_are_described_as_written() {
    let out = summary_of(&with_base(
        "fact critical: bool default 0\n\
         table Flags \"x\" cite \"allegato I\" {\n  columns on: bool\n  \"k\": \"true\"\n}\n",
    ));
    let examples = r#"
rule scope.size cite "art. 3, c. 2" when staff_total >= 50 then in_scope
example "nulla" {
  given entity_types = ["I.1.a.1"], size = {staff: 60, turnover_eur: 1 EUR}
  expect in_scope = null
}
example "troppo presto" {
  given entity_types = ["I.1.a.1"], size = {staff: 60, turnover_eur: 1 EUR}
  as of 2023-01-01
  expect in_scope = true
}
"#;
    let source = scope_file(&with_base(examples));
    let problems = example_problems(&source);
    let examples = render_all(&problems, &source.sources, RenderOptions::default());
    insta::assert_snapshot!(format!("{out}---\n{examples}"));
}

/// When many citations fall outside the declared articles, the header is the
/// likelier mistake: three are shown, then one error at the header.
#[test]
fn many_citations_outside_the_articles_point_at_the_header() {
    let rules: String = (0..6)
        .map(|i| {
            format!(
                "rule scope.r{i} cite \"art. 5{i}, c. 1\" when staff_total >= {i} then in_scope\n"
            )
        })
        .collect();
    let out = summary_of(&with_base(&rules));
    insta::assert_snapshot!(out);
}

/// What `check` warns of optional values in `body` (after the base rules), as
/// the snapshot `name`; the warnings, for the test to read further.
fn unguarded_reads_of(name: &str, body: &str) -> Vec<lexnis::diagnostic::Diagnostic> {
    let c = compile(&scope_file(&with_base(body)), as_of()).unwrap();
    let found = lexnis::lower::unguarded_reads(&c);
    let shown = render_all(&found, &c.program.sources, RenderOptions::default());
    insta::assert_snapshot!(name, shown);
    found
}

/// An optional value read where nothing tested that it is given: `check` warns
/// at the reading, and says nothing where a guard reaches it (each guarded
/// form below is a definition without a warning in the snapshot). `=` needs a
/// guard too: an absent value equals nothing and differs from nothing.
#[test]
fn optional_values_read_without_a_guard_are_reported_by_check() {
    let body = r#"
record Size { staff: decimal, extra: optional decimal }
fact previous: optional Size
fact current: Size
fact identified: optional Size
fact flags: optional set of SizeClass
define unguarded: bool cite "art. 3, c. 1" = previous.staff > 10
define optional_field: bool cite "art. 3, c. 2" = current.extra > 1
define unguarded_set: bool cite "art. 3, c. 3" = small in flags
define guarded: bool cite "art. 3, c. 4" = previous is given and previous.staff > 10
define guarded_by_absent: bool cite "art. 3, c. 5" = previous is absent or previous.staff > 10
define guarded_field: bool cite "art. 3, c. 6" = current.extra is given and current.extra > 1
define guarded_by_if: decimal cite "art. 3, c. 7" = if previous is given then previous.staff * 2 else 0
define equality_needs_a_guard: bool cite "art. 3, c. 8" = identified.staff = 9
define guarded_by_none: bool cite "art. 3, c. 9"
  = (previous = none or previous.staff > 3) and (previous != none and previous.staff > 4)
define read_later: bool cite "art. 3, c. 10" = previous.staff > 20
rule scope.guarded_by_caller cite "art. 3, c. 11"
  when previous is given and read_later
  then in_scope
report unguarded, optional_field, unguarded_set, guarded, guarded_by_absent, guarded_field
report guarded_by_if, equality_needs_a_guard, guarded_by_none
"#;
    let found = unguarded_reads_of(
        "optional_values_read_without_a_guard_are_reported_by_check",
        body,
    );
    // The warnings are exactly the definitions that fail on an entity with
    // none of the optional values.
    let entity = serde_json::json!({"entity_types": [], "size": {"staff": 1, "turnover_eur": 1},
                                    "current": {"staff": 1}});
    assert_eq!(
        failing_alone(body, &[entity]),
        warned_within(&messages(&found))
    );
}

/// Which tests of a `count` guarantee `largest` over the same elements a value:
/// those that hold only for one element or more, either way round, negated or
/// in the branch of an `if` where they hold so.
#[test]
fn a_count_of_the_same_elements_tested_to_be_at_least_one_guards_largest() {
    let conditions = [
        ("(count o in others) > 0 and", true),
        ("(count o in others) >= 1 and", true),
        ("(count o in others) != 0 and", true),
        ("(count o in others) = 2 and", true),
        ("(count o in others) > 0.5 and", true),
        ("(count o in others) >= 0.5 and", true),
        ("0 < (count o in others) and", true),
        ("1 <= (count o in others) and", true),
        ("not ((count o in others) = 0) and", true),
        ("not ((count o in others) < 1) and", true),
        ("if (count o in others) = 0 then false else", true),
        ("(count o in others) >= 0 and", false),
        ("(count o in others) > -1 and", false),
        ("(count o in others) != 1 and", false),
        ("(count o in others) < 1 and", false),
        ("(count o in others) = 0 and", false),
        ("0 >= (count o in others) and", false),
        ("(count o in others where o.staff > 1) > 0 and", false),
        ("(count o in linked) > 0 and", false),
    ];
    let mut body = String::from(
        "record Size { staff: decimal }\nfact others: list of Size\nfact linked: list of Size\n",
    );
    // Each compared with its own number: a reading shared by two definitions
    // is one node, warned once.
    for (i, (condition, _)) in conditions.iter().enumerate() {
        body.push_str(&format!(
            "define d{i}: bool cite \"art. 3, c. 1\" = {condition} (largest o.staff for o in others) > {i}\nreport d{i}\n"
        ));
    }
    let c = compile(&scope_file(&with_base(&body)), as_of()).unwrap();
    let found = lexnis::lower::unguarded_reads(&c);
    let warned = warned_within(&messages(&found));
    for (i, (condition, guards)) in conditions.iter().enumerate() {
        let is_warned = warned.contains(&format!("d{i}"));
        assert_eq!(is_warned, !guards, "`{condition}` guards largest: {guards}");
    }
}

/// A rule file that would take the optional-value check too long is checked in
/// part, and a warning says so (here, a definition of 200 comparisons read under
/// 600 different guards).
#[test]
fn the_optional_value_check_says_when_it_stops() {
    // One warning read before the check stops.
    let mut body = String::from(
        "fact early: optional decimal\nrule scope.early cite \"art. 3, c. 3\" when early > 1 then in_scope\n",
    );
    for i in 0..200 {
        body.push_str(&format!("fact x{i}: decimal\n"));
    }
    // `or`: a comparison that is false guarantees nothing, so the guards stay
    // each rule's, and the reading stays small in memory.
    let all: Vec<String> = (0..200).map(|i| format!("x{i} > 1")).collect();
    body.push_str(&format!(
        "define long: bool cite \"art. 3, c. 1\" = {}\n",
        all.join(" or ")
    ));
    for i in 0..600 {
        body.push_str(&format!(
            "fact f{i}: optional decimal\nrule scope.r{i} cite \"art. 3, c. 2\" when f{i} is given and long then in_scope\n"
        ));
    }
    let c = compile(&scope_file(&with_base(&body)), as_of()).unwrap();
    let found = lexnis::lower::unguarded_reads(&c);
    // First, as a long list of warnings is drawn only in part.
    assert!(found.len() > 1, "the warning found before the stop is kept");
    let first = found.first().expect("a warning that the check stopped");
    assert_eq!(first.code, "lexnis::lower::unguarded_stopped");
    assert!(
        first.message.contains("stopped after 200000 readings"),
        "{}",
        first.message
    );
}

/// The names reported by the `report` lines of `body` whose evaluation fails
/// on one of `entities` at least, each definition evaluated alone.
fn failing_alone(body: &str, entities: &[serde_json::Value]) -> Vec<String> {
    let rules: String = body
        .lines()
        .filter(|l| !l.starts_with("report"))
        .collect::<Vec<_>>()
        .join("\n");
    let names = body
        .lines()
        .filter(|l| l.starts_with("report"))
        .flat_map(|l| l["report ".len()..].split(", "));
    let mut failing = Vec::new();
    for name in names {
        let source = scope_file(&with_base(&format!("{rules}\nreport {name}\n")));
        let c = compile(&source, as_of()).unwrap();
        let fails = |entity| {
            let facts = load_facts(&c.program, entity).unwrap();
            lexnis::eval::Evaluator::new(&c).run(facts).is_err()
        };
        if entities.iter().any(fails) {
            failing.push(name.to_string());
        }
    }
    failing
}

/// The rule, definition or outcome each warning is in (`… (in name): …`).
fn warned_within(messages: &[String]) -> Vec<String> {
    (messages.iter())
        .map(|m| m.split(" (in ").nth(1).unwrap())
        .map(|w| w[..w.find(')').unwrap()].to_string())
        .collect()
}

fn messages(found: &[lexnis::diagnostic::Diagnostic]) -> Vec<String> {
    found.iter().map(|d| d.message.clone()).collect()
}

/// A value that may be absent given to a definition or outcome declared
/// without `optional`, which then shows `none`; `min` and `none` written in a
/// branch; and a rule's condition guarding its own conclusion.
#[test]
fn values_that_may_be_absent_where_a_type_promises_one_are_reported_by_check() {
    let body = r#"
record Size { staff: decimal }
fact previous: optional Size
fact current: Size
define leak: decimal cite "art. 3, c. 1" = previous.staff
define kept: optional decimal cite "art. 3, c. 2" = previous.staff
define smaller: decimal cite "art. 3, c. 3" = min(previous.staff, 3)
define maybe: optional decimal cite "art. 3, c. 4"
  = if current.staff > 3 then current.staff else none
define from_none: bool cite "art. 3, c. 5" = maybe > 2
outcome level: decimal otherwise 0
rule scope.guarded_value cite "art. 3, c. 6"
  when previous is given
  then level = previous.staff + 1
rule scope.unguarded_value cite "art. 3, c. 7"
  overrides scope.guarded_value
  when current.staff > 100
  then level = previous.staff
report leak, kept, smaller, from_none
"#;
    unguarded_reads_of(
        "values_that_may_be_absent_where_a_type_promises_one_are_reported_by_check",
        body,
    );
}

/// An optional value given to a definition used as a function, which reads it
/// without a test: the warning is at the call, where the drafter tests the
/// value, in the item the call is written in, with the reading in the body as
/// a second place (the whole body where the reading is a node another body
/// wrote first: `staff > 10` in `big` is `previous.staff > 10` in `helper`;
/// the snapshot shows the second places). A value the body reads by itself (or through a definition
/// without parameters) is warned in the body; an argument computed in the
/// caller's text is warned where it is read; a guarded call is not warned,
/// even where the same call is written unguarded elsewhere (the two calls are
/// one node).
#[test]
fn optional_values_passed_to_a_function_are_reported_at_the_call() {
    let body = r#"
record Size { staff: decimal }
fact previous: optional Size
fact current: Size
define big(staff: decimal): bool cite "art. 3, c. 1" = staff > 10
define bigger(staff: decimal): bool cite "art. 3, c. 2" = big(staff * 2)
define twice(staff: decimal): decimal cite "art. 3, c. 3" = staff * 2
define grew(staff: decimal): bool cite "art. 3, c. 4" = staff > previous.staff
define helper: bool cite "art. 3, c. 5" = previous.staff > 10
define with_helper(staff: decimal): bool cite "art. 3, c. 6" = staff > 1 and helper
define had(known: bool): bool cite "art. 3, c. 7" = known or previous.staff > 20
define guarded_call: bool cite "art. 3, c. 8" = previous is given and big(previous.staff)
define from_previous: bool cite "art. 3, c. 9" = big(previous.staff)
define through_two: bool cite "art. 3, c. 10" = bigger(previous.staff)
define doubled: decimal cite "art. 3, c. 11" = twice(previous.staff)
define from_current: bool cite "art. 3, c. 12" = big(current.staff) and grew(current.staff)
define computed_here: bool cite "art. 3, c. 13" = big(previous.staff * 3)
define helped: bool cite "art. 3, c. 14" = with_helper(current.staff)
define told: bool cite "art. 3, c. 15" = had(previous is given)
define big_size(size: Size): bool cite "art. 3, c. 16" = size.staff > 50
define sized: bool cite "art. 3, c. 17" = big_size(previous)
define again: bool cite "art. 3, c. 18" = current.staff > 3 and big(previous.staff)
report guarded_call, from_previous, through_two, doubled, from_current, computed_here, helped, told
report sized, again
"#;
    let found = unguarded_reads_of(
        "optional_values_passed_to_a_function_are_reported_at_the_call",
        body,
    );
    let c = compile(&scope_file(&with_base(body)), as_of()).unwrap();
    // Where each warning points (its text and line) and which item it names.
    let at: Vec<(String, usize, String)> = (found.iter())
        .map(|d| {
            let span = d.primary_span().unwrap();
            let line = c.program.sources.line_col(span).0;
            let within = warned_within(std::slice::from_ref(&d.message)).remove(0);
            (c.program.sources.snippet_on_one_line(span), line, within)
        })
        .collect();
    // The line of an item's declaration in the rule file (header, then body).
    let file = format!("{HEADER}{}", with_base(body));
    let line_of = |item: &str| {
        let at = file.find(&format!("define {item}")).unwrap();
        file[..at].lines().count() + 1
    };
    let want = [
        ("big(previous.staff)", "from_previous"),
        ("bigger(previous.staff)", "through_two"),
        ("twice(previous.staff)", "doubled"),
        ("staff > previous.staff", "grew"),
        ("previous.staff * 3", "computed_here"),
        ("previous.staff", "helper"),
        ("previous.staff > 20", "had"),
        ("big_size(previous)", "sized"),
        ("big(previous.staff)", "again"),
    ];
    let want: Vec<(String, usize, String)> = (want.iter())
        .map(|(text, within)| (text.to_string(), line_of(within), within.to_string()))
        .collect();
    assert_eq!(at, want);
}

/// `largest` and `smallest` have no value over no elements: `check` warns where
/// one is read with nothing before it that guarantees an element, and says
/// nothing where `count` over the same elements (same collection, same
/// `where`) is tested first, or where the value is tested to be given.
#[test]
fn largest_and_smallest_of_what_may_have_no_element_are_reported_by_check() {
    let body = r#"
record Size { staff: decimal }
fact current: Size
fact others: list of Size
define biggest: optional decimal cite "art. 3, c. 1" = largest o.staff for o in others
define unguarded: bool cite "art. 3, c. 2" = (largest o.staff for o in others) > 10
define declared: decimal cite "art. 3, c. 3" = smallest o.staff for o in others
define other_where: bool cite "art. 3, c. 4"
  = (count o in others) > 0 and (largest o.staff for o in others where o.staff > 1) > 10
define counted: bool cite "art. 3, c. 5"
  = (count o in others) > 0 and (largest o.staff for o in others) > 10
define counted_from_one: bool cite "art. 3, c. 6"
  = 1 <= (count o in others) and (smallest o.staff for o in others) > 10
define not_none: bool cite "art. 3, c. 7"
  = not ((count o in others where o.staff > 1) = 0)
    and (largest o.staff for o in others where o.staff > 1) > 10
define tested: bool cite "art. 3, c. 8" = biggest is given and biggest > 10
report unguarded, declared, other_where, counted, counted_from_one, not_none, tested
"#;
    let found = unguarded_reads_of(
        "largest_and_smallest_of_what_may_have_no_element_are_reported_by_check",
        body,
    );
    assert_eq!(
        warned_within(&messages(&found)),
        ["unguarded", "declared", "other_where"]
    );
    // The definitions warned are those that fail on an entity with no other
    // element or none that a `where` keeps, but for `declared`, which is
    // `none` there, as a definition declared without `optional` should not be.
    let entity = |others| {
        serde_json::json!({"entity_types": [], "size": {"staff": 1, "turnover_eur": 1},
                           "current": {"staff": 1}, "others": others})
    };
    let entities = [
        entity(serde_json::json!([])),
        entity(serde_json::json!([{"staff": 1}])),
    ];
    assert_eq!(failing_alone(body, &entities), ["unguarded", "other_where"]);
}

/// A rule left out for naming no outcome is still a rule the others may
/// override: one mistake, one error, not one more for each rule that overrides it.
#[test]
fn a_rule_that_concludes_no_outcome_gives_one_error_not_one_per_override() {
    let body = "outcome covered: bool otherwise false\n\
                rule scope.a cite \"art. 3\"\n  when size.staff >= 50 then coverd\n\
                rule scope.b cite \"art. 3\"\n  overrides scope.a\n  when size.staff >= 10 then covered\n\
                rule scope.c cite \"art. 3\"\n  overrides scope.a\n  when size.staff >= 5 then covered\n";
    let e = compile(&scope_file(body), as_of()).unwrap_err();
    let messages: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["rule `scope.a` concludes `coverd`, which is not an outcome"]
    );
}

/// An example with no `expect` tests nothing: it is an error, not a pass.
#[test]
fn an_example_that_expects_nothing_is_an_error() {
    let body = "example \"bare\" {\n  given entity_types = [], size = {staff: 3, turnover_eur: 1 EUR}\n}\n";
    let problems = example_problems(&scope_file(&with_base(body)));
    let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["example \"bare\" expects nothing, so it passes whatever the rules decide"]
    );
    assert_eq!(problems[0].code, "lexnis::example::expects_nothing");
}

/// A part of a citation not numbered as the law numbers it, or holding a
/// character no one sees, is an error: it would match no explanation.
#[test]
fn a_citation_numbered_otherwise_than_the_law_is_an_error() {
    let cases = [
        ("art. six", "citation \"art. six\" writes `art. six`, but `art.` takes a number from 1, which bis, ter ... may follow"),
        ("art. 3, c. 0", "citation \"art. 3, c. 0\" writes `c. 0`, but `c.` takes a number from 1, which bis, ter ... may follow"),
        ("art. 3, c. 2, lett. 7)", "citation \"art. 3, c. 2, lett. 7)\" writes `lett. 7)`, but `lett.` takes a letter and its parenthesis"),
        ("art. 3,\u{a0}c. 2", "citation \"art. 3,\u{a0}c. 2\" holds an invisible character, U+00A0"),
    ];
    for (citation, message) in cases {
        let body =
            format!("rule scope.a cite \"{citation}\" when size.staff >= 50 then in_scope\n");
        let e = compile(&scope_file(&with_base(&body)), as_of()).unwrap_err();
        let messages: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, [message], "{citation}");
    }
    for citation in [
        "art. 3, c. 2-bis",
        "art. 3, c. 2, lett. a) e b)",
        "art. 3, par. 1, n. 2)",
    ] {
        let body =
            format!("rule scope.a cite \"{citation}\" when size.staff >= 50 then in_scope\n");
        assert!(
            compile(&scope_file(&with_base(&body)), as_of()).is_ok(),
            "{citation}"
        );
    }
}
