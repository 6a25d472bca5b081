//! The diff tool on the three hypothetical amendments of policies/amendments:
//! snapshots of every format, witnesses of the semantic diff re-checked by
//! evaluation, and a revision compared with itself.

use lexnis::date::Date;
use lexnis::diff::{diff_entity, diff_population, diff_rules, Adapter, Presence, Record};
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::lower::Compiled;
use lexnis::policy::{compile, PolicySource};
use lexnis::render::diff::{self as render, Style};
use lexnis::semantic::semantic_diff;
use serde_json::Value;
use std::path::PathBuf;

const AMENDMENTS: [&str; 3] = ["a-large-200", "b-annex-ii-type", "c-repeal-safeguard"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn as_of() -> Date {
    Date::parse("2026-06-01").unwrap()
}

fn base() -> Compiled {
    compile(
        &PolicySource::from_paths(&[root().join("policies/it")]).unwrap(),
        as_of(),
    )
    .unwrap()
}

fn amended(name: &str) -> Compiled {
    let paths = [
        root().join("policies/it"),
        root().join("policies/amendments").join(name),
    ];
    compile(&PolicySource::from_paths(&paths).unwrap(), as_of()).unwrap()
}

/// Paths in snapshots are relative to the crate, whatever the checkout.
fn relative(text: String) -> String {
    text.replace(&format!("{}/", root().display()), "")
}

fn population() -> Vec<(u64, Result<Value, String>)> {
    lexnis::commands::read_records(&root().join("tests/fixtures/population-300.jsonl")).unwrap()
}

/// The outcomes of `c` for `doc`, compared with `other`.
fn outcomes(c: &Compiled, other: &Compiled, doc: &Value) -> serde_json::Map<String, Value> {
    let adapted = Adapter::new(&c.program, &other.program).adapt(doc);
    let facts = load_facts(&c.program, &adapted).unwrap();
    let mut ev = Evaluator::new(c);
    let values = ev.run(facts).unwrap();
    match lexnis::render::result_json(&ev, &values, None) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn every_format_of_every_amendment() {
    let old = base();
    let plain = Style { color: false };
    for name in AMENDMENTS {
        let new = amended(name);
        let rules = diff_rules(&old.program, &new.program);
        let people = diff_population(&old, &new, population().into_iter());
        let semantic = semantic_diff(&old, &new);
        let text = format!(
            "{}{}{}",
            render::rules_text(&rules, plain),
            render::population_text(&people, plain),
            render::semantic_text(&semantic, plain)
        );
        let markdown = format!(
            "{}{}{}",
            render::rules_markdown(&rules),
            render::population_markdown(&people),
            render::semantic_markdown(&semantic)
        );
        let json =
            serde_json::json!({"rule_changes": rules, "population": people, "semantic": semantic});
        insta::assert_snapshot!(format!("{name}-text"), relative(text));
        insta::assert_snapshot!(format!("{name}-markdown"), relative(markdown));
        insta::assert_snapshot!(
            format!("{name}-json"),
            relative(serde_json::to_string_pretty(&json).unwrap())
        );
        assert!(
            people.changed > 0 || name == "b-annex-ii-type",
            "{name}: the population should feel the amendment"
        );
        assert!(
            !semantic.regions.is_empty(),
            "{name}: the semantic diff must find the change"
        );
    }
}

#[test]
fn entity_traces_side_by_side() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/entity-diff.json")).unwrap(),
    )
    .unwrap();
    let d = diff_entity(&base(), &amended("c-repeal-safeguard"), &doc).unwrap();
    assert!(d.diverging.is_some());
    insta::assert_snapshot!(render::entity_text(&d, Style { color: false }));
}

#[test]
fn semantic_witnesses_show_the_claimed_difference() {
    let old = base();
    for name in AMENDMENTS {
        let new = amended(name);
        for region in semantic_diff(&old, &new).regions {
            let (before, after) = (
                outcomes(&old, &new, &region.witness),
                outcomes(&new, &old, &region.witness),
            );
            for (key, from, to) in &region.changes {
                assert_eq!(
                    before.get(key).unwrap_or(&Value::Null),
                    from,
                    "{name}: witness {} {key}",
                    region.witness
                );
                assert_eq!(
                    after.get(key).unwrap_or(&Value::Null),
                    to,
                    "{name}: witness {} {key}",
                    region.witness
                );
            }
        }
    }
}

#[test]
fn a_key_neither_revision_knows_is_an_error_record() {
    // An entity type only the amended annex lists is no annex type for the old
    // revision; one that neither lists is a mistake in the facts, reported as the
    // batch reports it, not dropped.
    let old = base();
    let new = amended("b-annex-ii-type");
    let record = |n: u32, types: &str| {
        let line = format!(
            r#"{{"id": "e-{n}", "entity_types": [{types}], "size": {{"staff": 60, "turnover_eur": 20000000, "balance_sheet_eur": 20000000}}}}"#
        );
        serde_json::from_str::<Value>(&line).map_err(|e| e.to_string())
    };
    let added = new.program.tables.iter().flat_map(|t| &t.rows).find(|r| {
        old.program
            .tables
            .iter()
            .all(|t| !t.index.contains_key(&r.key))
    });
    let added = &added.expect("the amendment adds an entity type").key;
    let records = vec![
        (1, record(1, &format!(r#""I.9.2", "{added}""#))),
        (2, record(2, r#""I.9.2", "I.99.z""#)),
    ];
    let people = diff_population(&old, &new, records.into_iter());
    assert_eq!(people.records, 2);
    assert_eq!(people.errors.len(), 1, "{:?}", people.errors);
    let failed = &people.errors[0];
    assert_eq!((failed.line, failed.id.as_deref()), (2, Some("e-2")));
    assert!(failed.reason.contains("I.99.z"), "{}", failed.reason);
    let plain = Style { color: false };
    insta::assert_snapshot!(format!(
        "{}\n---\n{}",
        render::population_text(&people, plain),
        render::population_markdown(&people)
    ));
}

#[test]
fn a_revision_against_itself_changes_nothing() {
    let (a, b) = (base(), base());
    assert!(diff_rules(&a.program, &b.program).is_empty());
    let people = diff_population(&a, &b, population().into_iter());
    assert_eq!((people.records, people.changed), (300, 0));
    assert!(people.errors.is_empty(), "{:?}", people.errors);
    let semantic = semantic_diff(&a, &b);
    assert!(semantic.regions.is_empty());
    assert!(!render::semantic_markdown(&semantic).contains("| # |"));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/acme-energia.json")).unwrap(),
    )
    .unwrap();
    let entity = render::entity_text(&diff_entity(&a, &b, &doc).unwrap(), Style { color: false });
    assert!(entity.contains("no result changes"), "{entity}");
}

/// The bundled decree amended from 2026-01-01 by replacing, in the named files of
/// its version, each `from` with its `to` (a hypothetical amendment for a test).
fn amended_in(tag: &str, edits: &[(&str, &str, &str)]) -> Compiled {
    let dir = std::env::temp_dir().join(format!("lexnis-{tag}-{}", std::process::id()));
    let version = dir.join("dlgs-138-2024/2026-01-01");
    std::fs::create_dir_all(&version).unwrap();
    let base_version = root().join("policies/it/dlgs-138-2024/2024-10-16");
    let mut edits = edits.to_vec();
    edits.push((
        "00-atto.law",
        "in force from 2024-10-16",
        "in force from 2026-01-01\n  supersedes 2024-10-16",
    ));
    for entry in std::fs::read_dir(&base_version).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (_, from, to) in edits.iter().filter(|(file, ..)| *file == name) {
            assert!(text.contains(from), "{name} has no {from:?}");
            text = text.replace(from, to);
        }
        std::fs::write(version.join(&name), text).unwrap();
    }
    let paths = [root().join("policies/it"), dir.clone()];
    let compiled = compile(&PolicySource::from_paths(&paths).unwrap(), as_of());
    std::fs::remove_dir_all(&dir).unwrap();
    compiled.unwrap_or_else(|e| panic!("{tag}: {e:?}"))
}

#[test]
fn a_rule_that_concludes_another_value_is_named_as_the_cause() {
    // The amendment changes only what art. 11, c. 2, lett. e), n. 1) concludes: the
    // rule applies to the same entities, so its own value does not change.
    let new = amended_in(
        "conclusion",
        &[(
            "art11-autorita.law",
            "sector_of(\"I\", 1) then sector_authorities includes mase",
            "sector_of(\"I\", 1) then sector_authorities includes mimit",
        )],
    );
    let people = diff_population(&base(), &new, population().into_iter());
    assert!(people.changed > 0, "energy entities change authority");
    for record in &people.changed_records {
        let cause = record.diverging.as_ref().expect("a cause is named");
        assert_eq!(cause.name, "authority.mase_energy");
        assert!(
            cause.citation.contains("art. 11, c. 2, lett. e), n. 1)"),
            "{}",
            cause.citation
        );
    }
}

/// The regions of a semantic diff, by the results they change, after checking
/// that every entity tried could be evaluated under both revisions.
fn searched(old: &Compiled, new: &Compiled) -> Vec<String> {
    let found = semantic_diff(old, new);
    assert_eq!(found.unevaluated, 0, "{:?}", found.unevaluated_example);
    let changes = found.regions.iter().flat_map(|r| &r.changes);
    changes
        .map(|(key, from, to)| format!("{key}: {from} -> {to}"))
        .collect()
}

#[test]
fn every_entity_the_semantic_search_builds_is_evaluated() {
    for name in AMENDMENTS {
        let (old, new) = (base(), amended(name));
        for (a, b) in [(&old, &new), (&new, &old)] {
            let found = semantic_diff(a, b);
            assert_eq!(
                found.unevaluated, 0,
                "{name}: {:?}",
                found.unevaluated_example
            );
        }
    }
}

#[test]
fn the_semantic_search_finds_the_safeguard_clause_a_new_size_threshold_moves() {
    // 249 staff with a partner's 25% share of 25 staff: 255 aggregated. At 250 the
    // aggregation makes the entity large (the clause can be asked); at 200 it is
    // large either way (nothing to derogate): DPCM 221/2024, art. 2, c. 1.
    let changes = searched(&base(), &amended("a-large-200"));
    assert!(
        changes
            .iter()
            .any(|c| c == "safeguard_clause: \"available\" -> \"not_applicable\""),
        "{changes:?}"
    );
}

#[test]
fn the_semantic_search_varies_a_partners_share_apart_from_its_size() {
    // Partners from a 20% holding (Racc. 2003/361/CE, allegato, art. 3, par. 2
    // says 25%): 20% of a partner of 250 persons adds 50, which takes a micro
    // enterprise of an annex I sector into scope. Found only with a share of 20
    // beside a size of 250 or more, never with share and size alike.
    let new = amended_in(
        "share",
        &[(
            "02-dimensione.law",
            "p.share_pct >= 25",
            "p.share_pct >= 20",
        )],
    );
    let found = semantic_diff(&base(), &new);
    let into_scope = (found.regions.iter())
        .find(|r| {
            r.changes
                .iter()
                .any(|(k, from, to)| k == "in_scope" && from == false && to == true)
        })
        .expect("a region where entities come into scope");
    let partner = &into_scope.witness["partners"][0];
    assert_eq!(partner["share_pct"], "20", "{}", into_scope.witness);
    let staff: f64 = partner["staff"].as_str().unwrap().parse().unwrap();
    assert!(staff >= 250.0, "{}", into_scope.witness);
}

#[test]
fn the_semantic_search_finds_a_removed_annex_row_both_ways() {
    let row = "  \"I.9.2\": \"I\", 9, \"\", \"gestione dei servizi TIC\",\n      \"Managed security service providers\",\n      \"\", true\n";
    let new = amended_in("row", &[("01-allegati.law", row, "")]);
    let leaves = "in_scope: true -> false";
    assert!(searched(&base(), &new)
        .iter()
        .any(|c| c.starts_with(leaves)));
    let enters = "in_scope: false -> true";
    assert!(searched(&new, &base())
        .iter()
        .any(|c| c.starts_with(enters)));
}

#[test]
fn a_fact_only_one_revision_declares_is_tried_and_read_by_that_one_alone() {
    // A required fact added to the conditions of art. 11, c. 2, lett. e), n. 1).
    let new = amended_in(
        "fact",
        &[(
            "art11-autorita.law",
            "when in_scope and sector_of(\"I\", 1) then sector_authorities includes mase",
            "when in_scope and sector_of(\"I\", 1) and energy_audited then sector_authorities includes mase\nfact energy_audited: bool",
        )],
    );
    let lost = "sector_authorities: [\"mase\"] -> []";
    assert!(searched(&base(), &new).iter().any(|c| c == lost), "added");
    let gained = "sector_authorities: [] -> [\"mase\"]";
    assert!(
        searched(&new, &base()).iter().any(|c| c == gained),
        "removed"
    );
    // A population written for the new revision: the old one does not read the
    // fact; one written for the old lacks it, which the new one reports.
    let record = |extra: &str| {
        let line = format!(
            r#"{{"entity_types": ["I.1.a.1"], "size": {{"staff": 300, "turnover_eur": 1, "balance_sheet_eur": 1}}{extra}}}"#
        );
        serde_json::from_str::<Value>(&line).map_err(|e| e.to_string())
    };
    let records = vec![(1, record(r#", "energy_audited": false"#)), (2, record(""))];
    let people = diff_population(&base(), &new, records.into_iter());
    assert_eq!((people.records, people.changed), (2, 1));
    assert_eq!(people.errors.len(), 1, "{:?}", people.errors);
    assert_eq!(people.errors[0].line, 2);
    assert!(
        people.errors[0].reason.contains("energy_audited"),
        "{:?}",
        people.errors
    );
}

#[test]
fn entities_the_search_cannot_evaluate_are_counted_and_shown() {
    // y = 0 divides by zero (art. 3 of the test policy) under both revisions.
    let mut source = PolicySource::default();
    source.add("policies/t/act.law", include_str!("policies/failing.law"));
    let c = compile(&source, as_of()).unwrap();
    let found = semantic_diff(&c, &c);
    assert!(found.regions.is_empty());
    assert!(found.unevaluated > 0);
    let text = render::semantic_text(&found, Style { color: false });
    insta::assert_snapshot!(text);
    assert!(render::semantic_markdown(&found).contains("could not be evaluated"));
}

/// `lexnis diff ARGS` from the crate's folder: exit status and standard error.
fn diff_command(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .arg("diff")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn an_entity_with_a_number_no_decimal_holds_is_reported_at_its_path() {
    let entity = std::env::temp_dir().join(format!("lexnis-1e400-{}.json", std::process::id()));
    let text = include_str!("../examples/acme-energia.json");
    let staff = text.find("\"staff\"").unwrap();
    let value = staff + text[staff..].find(|c: char| c.is_ascii_digit()).unwrap();
    let digits = text[value..].find(|c: char| !c.is_ascii_digit()).unwrap();
    std::fs::write(
        &entity,
        format!("{}1e400{}", &text[..value], &text[value + digits..]),
    )
    .unwrap();
    let amended = "policies/it,policies/amendments/a-large-200";
    let path = entity.to_str().unwrap();
    let (code, stderr) = diff_command(&[
        "policies/it",
        amended,
        "--as-of",
        "2026-06-01",
        "--entity",
        path,
    ]);
    std::fs::remove_file(&entity).ok();
    assert_eq!(code, 2, "{stderr}");
    let expected = format!("cannot read entity {path}:\n  - $.size.staff: ");
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("the number 1e400 is too large"), "{stderr}");
}

#[test]
fn a_facts_record_with_a_number_no_decimal_holds_is_reported_at_its_path() {
    let facts = std::env::temp_dir().join(format!("lexnis-1e400-{}.jsonl", std::process::id()));
    let size = r#""size":{"staff":STAFF,"turnover_eur":1,"balance_sheet_eur":1}"#;
    let record =
        |id: &str, staff: &str| format!("{{\"id\":\"{id}\",{}}}\n", size.replace("STAFF", staff));
    std::fs::write(&facts, record("a", "1e400") + &record("b", "1")).unwrap();
    let amended = "policies/it,policies/amendments/a-large-200";
    let path = facts.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .args([
            "diff",
            "policies/it",
            amended,
            "--as-of",
            "2026-06-01",
            "--facts",
            path,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    std::fs::remove_file(&facts).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("1 could not be evaluated"), "{stdout}");
    assert!(
        stdout.contains("$.size.staff: the number 1e400 is too large"),
        "{stdout}"
    );
}

/// A population in a `.csv` file is read as `batch` reads it: a header, and
/// a record a row, numbered by its line; a header error is told at line 1.
#[test]
fn a_csv_population_is_read_as_batch_reads_it() {
    let dir = std::env::temp_dir().join(format!("lexnis-diff-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rows = "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur\n\
                a,\"[\"\"I.2.c.3\"\"]\",220,1,1\n\
                b,\"[\"\"I.2.c.3\"\"]\",many,1,1\n";
    let (good, twice) = (dir.join("population.csv"), dir.join("twice.csv"));
    std::fs::write(&good, rows).unwrap();
    std::fs::write(&twice, "id,id\n1,2\n").unwrap();
    let diff = |facts: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
            .args([
                "diff",
                "policies/it",
                "policies/it,policies/amendments/a-large-200",
            ])
            .args(["--as-of", "2026-06-01", "--facts"])
            .arg(facts)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (read, refused) = (diff(&good), diff(&twice));
    std::fs::remove_dir_all(&dir).ok();
    // 220 staff: medium under the old ceiling of 250, large under 200.
    assert!(
        read.contains("2 record(s), 1 changed outcome, 1 could not be evaluated"),
        "{read}"
    );
    assert!(
        read.contains("line 2 id a  classification: important -> essential"),
        "{read}"
    );
    assert!(
        read.contains("line 3 id b  both revisions: $.size.staff: wrong type"),
        "{read}"
    );
    assert!(
        refused.contains("line 1 id -  the CSV header names the column `id` twice"),
        "{refused}"
    );
}

#[test]
fn a_wrong_entry_in_a_list_of_folders_is_named() {
    let (code, stderr) = diff_command(&["policies/it,", "policies/it", "--as-of", "2026-01-01"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("an entry of the list is empty"), "{stderr}");
    let (code, stderr) = diff_command(&[
        "policies/it,policies/no-such-folder",
        "policies/it",
        "--as-of",
        "2026-01-01",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("policies/no-such-folder: no such folder"),
        "{stderr}"
    );
}

#[test]
fn an_error_both_revisions_share_is_reported_once() {
    let amended = "policies/it,policies/amendments/a-large-200";
    let (code, stderr) = diff_command(&["policies/it", amended, "--as-of", "2020-01-01"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.matches("no act is in force on 2020-01-01").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_rule_that_applied_is_named_before_a_definition_that_holds() {
    // Undoing c-repeal-safeguard: the clause is met again under DPCM 221/2024,
    // art. 3, c. 1 (clause.criteria_met), not under the definition of a request
    // that the rule reads (art. 4, c. 1).
    let people = diff_population(
        &amended("c-repeal-safeguard"),
        &base(),
        population().into_iter(),
    );
    let met = people
        .transitions
        .iter()
        .find(|t| t.result == "safeguard_clause" && t.to == "criteria_met")
        .expect("some entities meet the criteria again");
    let causes: Vec<String> = met.by_rule.iter().map(|(d, _)| d.step()).collect();
    assert_eq!(causes, ["clause.criteria_met (added)"]);
    let (cause, _) = &met.by_rule[0];
    assert_eq!(
        (cause.name.as_str(), cause.presence),
        ("clause.criteria_met", Presence::Added)
    );
}

#[test]
fn a_key_only_the_other_annex_lists_is_dropped_wherever_it_is() {
    // In a set of a record (art. 11, c. 3: the types of the NIS entity linked to)
    // and as a single key (annex III): no type of the annex for the old revision.
    let row = "  \"III.1.d\": \"altri soggetti pubblici (denominazione provvisoria: testo dell'allegato III non recuperato)\", false, false\n";
    let new = amended_in(
        "pa",
        &[(
            "01-allegati.law",
            row,
            &format!("{row}  \"III.1.e\": \"ipotetica\", true, false\n"),
        )],
    );
    let doc: Value = serde_json::json!({
        "public_administration": "III.1.e",
        "linked_to_nis_entity": {"criteria": ["a"], "entity_types": ["I.9.2"]},
    });
    let old = base();
    assert_eq!(
        *Adapter::new(&old.program, &new.program).adapt(&doc),
        serde_json::json!({"linked_to_nis_entity": {"criteria": ["a"], "entity_types": ["I.9.2"]}})
    );
    assert!(matches!(
        Adapter::new(&new.program, &old.program).adapt(&doc),
        std::borrow::Cow::Borrowed(_)
    ));
    let changes = searched(&old, &new);
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("in_scope: false -> true")),
        "{changes:?}"
    );
    let b = amended("b-annex-ii-type");
    let nested = serde_json::json!({"linked_to_nis_entity": {"criteria": ["a"], "entity_types": ["II.6.4", "I.9.2"]}});
    assert_eq!(
        Adapter::new(&old.program, &b.program).adapt(&nested)["linked_to_nis_entity"]
            ["entity_types"],
        serde_json::json!(["I.9.2"])
    );
}

#[test]
fn the_fields_of_an_optional_record_are_varied() {
    // The identification of art. 3, c. 8 read as c. 7: only an entity identified
    // under comma 8 (a field of an optional record) shows it.
    let new = amended_in("comma", &[("art03-ambito.law", "comma = 8", "comma = 7")]);
    let changes = searched(&base(), &new);
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("in_scope: true -> false")),
        "{changes:?}"
    );
}

#[test]
fn a_narrowed_range_is_reported_not_left_out() {
    let new = amended_in(
        "range",
        &[(
            "00-atto.law",
            "public_bodies_share_pct: decimal between 0 and 100",
            "public_bodies_share_pct: decimal between 0 and 20",
        )],
    );
    for (a, b) in [(&base(), &new), (&new, &base())] {
        let found = semantic_diff(a, b);
        assert!(found.unevaluated > 0);
        let reason = found.unevaluated_example.unwrap().reason;
        assert!(reason.contains("between 0 and 20"), "{reason}");
    }
}

#[test]
fn a_changed_record_field_or_fact_range_is_a_rule_change() {
    let new = amended_in(
        "fields",
        &[
            (
                "00-atto.law",
                "consolidated:      bool default false",
                "consolidated:      bool default true",
            ),
            (
                "00-atto.law",
                "public_bodies_share_pct: decimal between 0 and 100",
                "public_bodies_share_pct: decimal between 0 and 20",
            ),
        ],
    );
    let changes = diff_rules(&base().program, &new.program);
    let text = render::rules_text(&changes, Style { color: false });
    let amendment = std::env::temp_dir().join(format!("lexnis-fields-{}", std::process::id()));
    insta::assert_snapshot!(relative(text).replace(&amendment.display().to_string(), "AMENDMENT"));
}

#[test]
fn a_rule_read_downstream_of_the_change_is_not_its_cause() {
    // Repealing art. 3, c. 5, lett. e) takes registrars out of scope; the rules of
    // art. 6 that read `in_scope` then change too, as a consequence.
    let rule = "rule scope.c5_e \"fornitori di servizi di registrazione dei nomi di dominio\"\n  cite \"art. 3, c. 5, lett. e)\"\n  when domain_name_registration_provider\n  then in_scope\n";
    let new = amended_in(
        "repeal",
        &[
            ("art03-ambito.law", rule, ""),
            ("art03-ambito.law", "scope.c5_d, scope.c5_e,", "scope.c5_d,"),
        ],
    );
    let record = serde_json::json!({
        "id": "registrar",
        "domain_name_registration_provider": true,
        "size": {"staff": 3, "turnover_eur": 1, "balance_sheet_eur": 1},
    });
    let people = diff_population(&base(), &new, vec![(1, Ok(record))].into_iter());
    assert_eq!(people.changed, 1, "{:?}", people.errors);
    let cause = people.changed_records[0].diverging.as_ref().unwrap();
    assert_eq!(
        (cause.name.as_str(), cause.presence),
        ("scope.c5_e", Presence::Removed)
    );
    for t in &people.transitions {
        let causes: Vec<String> = t.by_rule.iter().map(|(d, _)| d.step()).collect();
        assert_eq!(causes, ["scope.c5_e (removed)"], "{}", t.result);
    }
}

#[test]
fn the_cause_is_what_the_changed_result_was_worked_out_from() {
    // Staff 210 this year and 150 last: with 200 as the large threshold, the
    // two-year rule (Racc. 2003/361/CE, allegato, art. 4, par. 2) keeps the
    // entity medium and the note appears. Both size classes of this year move
    // (no partners: the aggregated class is the entity's own). Without the
    // safeguard clause the note compares the aggregated class; with it granted
    // (art. 3, c. 4) the entity's own class, and the aggregated one moved nothing.
    let entity = |id: &str, granted: bool| {
        serde_json::json!({
            "id": id,
            "entity_types": ["I.1.a.1"],
            "size": {"staff": 210, "turnover_eur": 1_000_000, "balance_sheet_eur": 1_000_000},
            "previous_size": {"staff": 150, "turnover_eur": 1_000_000, "balance_sheet_eur": 1_000_000},
            "safeguard_clause": {"requested": true, "systems_independent": true,
                                 "services_independent": true, "granted": granted},
        })
    };
    let aggregated = "size_class_of(size.staff + partner_staff + linked_staff, size.turnover_eur + partner_turnover + linked_turnover, size.balance_sheet_eur + partner_balance_sheet + linked_balance_sheet)";
    let own = "size_class_of(size.staff, size.turnover_eur, size.balance_sheet_eur)";
    let new = amended("a-large-200");
    for (granted, expected) in [(false, aggregated), (true, own)] {
        let record = entity(if granted { "granted" } else { "aggregated" }, granted);
        let people = diff_population(&base(), &new, vec![(1, Ok(record))].into_iter());
        let [change] = &people.changed_records[..] else {
            panic!("one changed record: {:?}", people.errors)
        };
        assert_eq!(
            change
                .changes
                .iter()
                .map(|(k, _, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["notes"]
        );
        assert_eq!(
            change.diverging.as_ref().unwrap().name,
            expected,
            "granted: {granted}"
        );
        let causes: Vec<&str> = (people.transitions.iter())
            .flat_map(|t| t.by_rule.iter().map(|(d, _)| d.name.as_str()))
            .collect();
        assert_eq!(causes, [expected], "granted: {granted}");
    }
}

#[test]
fn a_value_read_inside_an_aggregate_is_a_cause_whatever_the_order_of_elements() {
    // A hypothetical weight of the partners' staff, 1 then 2: the cause of the
    // change is the weight, whether the partner the filter drops (10%) comes
    // last or first; the slots hold only one element's values.
    let weighted = |weight: &str| {
        let define = format!(
            "define partner_weight: decimal \"peso\" cite \"Racc. 2003/361/CE, allegato, art. 6, par. 2\" = {weight}\n"
        );
        amended_in(
            &format!("weight-{weight}"),
            &[(
                "02-dimensione.law",
                "  = sum p.staff * p.share_pct / 100 for p in partners where p.share_pct >= 25",
                &format!("  = sum p.staff * p.share_pct / 100 * partner_weight for p in partners where p.share_pct >= 25\n{define}"),
            )],
        )
    };
    let partner = |share: u32, staff: u32| serde_json::json!({"share_pct": share, "staff": staff, "turnover_eur": 1, "balance_sheet_eur": 1});
    let records = [
        vec![partner(30, 100), partner(10, 5)],
        vec![partner(10, 5), partner(30, 100)],
    ]
    .into_iter()
    .enumerate()
    .map(|(i, partners)| {
        let doc = serde_json::json!({"id": i, "entity_types": ["II.4.1"], "partners": partners,
            "size": {"staff": 15, "turnover_eur": 1, "balance_sheet_eur": 1}});
        (i as u64 + 1, Ok(doc))
    });
    let people = diff_population(&weighted("1"), &weighted("2"), records);
    assert_eq!(people.changed, 2, "{:?}", people.errors);
    for record in &people.changed_records {
        assert_eq!(record.diverging.as_ref().unwrap().name, "partner_weight");
    }
}

#[test]
fn an_error_names_the_place_in_the_record_as_written() {
    // II.6.4, which only the amended annex lists, is left out for the old
    // revision: the unknown key after it is still at index 1 of the record.
    let record: Value = serde_json::json!({
        "id": "shifted",
        "entity_types": ["II.6.4", "I.99.z"],
        "size": {"staff": 60, "turnover_eur": 1, "balance_sheet_eur": 1},
    });
    let people = diff_population(
        &base(),
        &amended("b-annex-ii-type"),
        vec![(1, Ok(record))].into_iter(),
    );
    let reason = &people.errors[0].reason;
    assert!(
        reason.starts_with("both revisions: $.entity_types[1]: \"I.99.z\""),
        "{reason}"
    );
}

/// `diff --facts` takes records as their text and reads those it can straight
/// into facts, as a batch does, when the revisions read facts alike; the report
/// is the one made from JSON documents, records that fail included.
#[test]
fn records_given_as_text_make_the_report_documents_make() {
    let dir = std::env::temp_dir().join(format!("lexnis-diff-texts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("population.jsonl");
    let fixture =
        std::fs::read_to_string(root().join("tests/fixtures/population-300.jsonl")).unwrap();
    let flawed = [
        r#"{"size": {"staff": 10, "turnover_eur": 1, "balance_sheet_eur": 1, "bogus": 1}}"#,
        r#"{"size": {"staff": -1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": "\u00e8", "size": {"staff": 300, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"size": {"staff": 10"#,
        "[1, 2]",
    ];
    std::fs::write(&path, format!("{fixture}{}\n", flawed.join("\n"))).unwrap();
    let old = base();
    for name in AMENDMENTS {
        let new = amended(name);
        let texts = lexnis::commands::stream_texts(&path).unwrap();
        let documents = lexnis::commands::stream_records(&path).unwrap();
        let from_texts = diff_population(&old, &new, texts);
        let from_documents = diff_population(&old, &new, documents);
        assert_eq!(from_texts, from_documents, "{name}");
        assert!(
            from_texts.errors.len() >= 3,
            "{name}: {:?}",
            from_texts.errors
        );
        if name == "a-large-200" {
            // Revisions that read facts alike: the records read as text.
            assert!(lexnis::facts::read_alike(&old.program, &new.program));
            assert!(from_texts.changed > 0);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A diff reads a record from its text and runs it lean under the old
/// revision, which reads the facts in place; where the lean plan gives the
/// record up (a record of failing.jsonl whose evaluation fails), the native
/// plan keeps them, and the diff reads them again for the new revision: the
/// same outcome as a diff reading documents.
#[test]
fn a_diff_reads_again_the_facts_a_lean_plan_gave_up_on() {
    let mut source = PolicySource::default();
    source.add("policies/t/act.law", include_str!("policies/failing.law"));
    let c = compile(&source, Date::parse("2025-01-01").unwrap()).unwrap();
    let lines = include_str!("policies/failing.jsonl");
    let records = |as_text: bool| {
        (lines.lines().zip(1..)).map(move |(line, n)| {
            let record = match as_text {
                true => Record::Text(line.to_string()),
                false => Record::Document(serde_json::from_str(line).unwrap()),
            };
            (n, Ok::<_, String>(record))
        })
    };
    let from_text = diff_population(&c, &c, records(true));
    assert_eq!(from_text, diff_population(&c, &c, records(false)));
    assert_eq!(from_text.records, lines.lines().count() as u64);
    assert_eq!(from_text.errors.len(), 5, "{:?}", from_text.errors);
    assert!(from_text
        .errors
        .iter()
        .all(|e| e.reason.starts_with("both revisions: ")));
}

/// On a date before an amendment comes into force, the diff compares the
/// versions in force and says which version it leaves out, rather than
/// reading as if the amendment changed nothing.
#[test]
fn a_version_in_force_after_the_date_is_said_to_be_left_out() {
    let diff = |as_of: &str, new: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
            .args(["diff", "policies/it", new, "--as-of", as_of])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let amended = "policies/it,policies/amendments/a-large-200";
    let before = diff("2025-06-01", amended);
    assert!(
        before.contains(
            "Not compared: NEW holds a later version of dlgs_138_2024, in force from \
             2026-01-01, after this date (diff --as-of 2026-01-01 compares it)."
        ),
        "{before}"
    );
    assert!(before.contains("No rule changes."), "{before}");
    // In force: compared, and nothing said to be left out.
    let after = diff("2026-06-01", amended);
    assert!(!after.contains("Not compared"), "{after}");
    assert!(after.contains("Rule changes: 1"), "{after}");
    // What both revisions hold alike is no difference between them.
    assert!(!diff("2025-06-01", "policies/it").contains("Not compared"));
}

/// A changed citation or description is shown, old and new, where the
/// rule's condition and conclusion are the same in both revisions.
#[test]
fn a_changed_citation_or_description_is_shown_with_its_words() {
    let new = amended_in(
        "citation",
        &[(
            "art06-classificazione.law",
            "cite \"art. 6, c. 3\"",
            "cite \"art. 6, c. 4\"",
        )],
    );
    let changes = lexnis::diff::diff_rules(&base().program, &new.program);
    let c3 = changes.iter().find(|c| c.item == "rule class.c3").unwrap();
    assert_eq!(c3.aspects, ["citation"]);
    assert_eq!(
        c3.detail.as_deref(),
        Some("citation: ... 6, c. 3 -> ... 6, c. 4")
    );
}
