//! Act versions: selection by date, errors at the edges, review deadlines.

use lexnis::date::Date;
use lexnis::diagnostic::{render_all, RenderOptions};
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::policy::{compile, parse_all, PolicySource};

fn version(in_force: &str, threshold: u32, extra: &str) -> String {
    format!(
        "act dpcm_x {{\n  cited as \"DPCM 1/2024\"\n  adopted {in_force}\n  in force from {in_force}\n{extra}  review every 3 years cite \"art. 9\"\n}}\n\
         fact staff: int\noutcome large: bool otherwise false\n\
         rule size cite \"art. 2\" when staff >= {threshold} then large\n"
    )
}

fn source(versions: &[(&str, String)]) -> PolicySource {
    let mut s = PolicySource::default();
    for (folder, text) in versions {
        s.add(&format!("policies/dpcm-x/{folder}/act.law"), text);
    }
    s
}

fn large_on(s: &PolicySource, date: &str, staff: u32) -> (bool, serde_json::Value) {
    let c = compile(s, Date::parse(date).unwrap()).unwrap();
    let facts = load_facts(&c.program, &serde_json::json!({"staff": staff})).unwrap();
    let mut ev = Evaluator::new(&c);
    let values = ev.run(facts).unwrap();
    let result = lexnis::render::result_json(&ev, &values, None);
    (result["large"] == serde_json::json!(true), result)
}

#[test]
fn the_version_in_force_on_the_date_decides() {
    let s = source(&[
        ("2024-01-01", version("2024-01-01", 250, "")),
        (
            "2026-01-01",
            version("2026-01-01", 200, "  supersedes 2024-01-01\n"),
        ),
    ]);
    assert!(!large_on(&s, "2025-12-31", 220).0);
    let (large, result) = large_on(&s, "2026-01-01", 220);
    assert!(large);
    assert_eq!(result["policy_versions"][0]["in_force"], "2026-01-01");
}

#[test]
fn a_date_before_every_version_is_an_error() {
    let s = source(&[("2024-01-01", version("2024-01-01", 250, ""))]);
    let e = compile(&s, Date::parse("2023-06-01").unwrap()).unwrap_err();
    insta::assert_snapshot!(render_all(
        &e.diagnostics,
        &e.sources,
        RenderOptions::default()
    ));
}

#[test]
fn two_versions_in_force_on_the_same_day_are_an_error() {
    let s = source(&[
        ("a", version("2024-01-01", 250, "")),
        ("b", version("2024-01-01", 200, "")),
    ]);
    let e = compile(&s, Date::parse("2025-01-01").unwrap()).unwrap_err();
    insta::assert_snapshot!(render_all(
        &e.diagnostics,
        &e.sources,
        RenderOptions::default()
    ));
}

#[test]
fn an_overdue_version_warns_in_the_result() {
    let s = source(&[("2024-01-01", version("2024-01-01", 250, ""))]);
    let (_, fresh) = large_on(&s, "2026-12-31", 1);
    assert_eq!(fresh["warnings"], serde_json::json!([]));
    let (_, late) = large_on(&s, "2027-01-02", 1);
    assert_eq!(late["policy_versions"][0]["review_overdue"], true);
    assert_eq!(late["policy_versions"][0]["review_deadline"], "2027-01-01");
    let warning = late["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("due for review by 2027-01-01"),
        "{warning}"
    );
}

#[test]
fn dpcm_221_is_overdue_from_2027_12_10() {
    let bundled = PolicySource::bundled();
    let acts = lexnis::resolve::act_versions(&parse_all(&bundled).unwrap()).unwrap();
    let on = |d: &str| {
        let report = lexnis::review::review_report(&acts, Date::parse(d).unwrap());
        lexnis::review::review_text(&report)
    };
    assert!(on("2027-12-09").contains("current"));
    let late = on("2028-01-01");
    assert!(late.contains("2027-12-09   OVERDUE"), "{late}");
    insta::assert_snapshot!(late);
}

/// `lint --strict` fails as a check fails (1) when a version in force is
/// overdue, and keeps 2 for bad input; without `--strict` it only warns.
#[test]
fn lint_strict_exits_1_when_a_review_is_overdue() {
    let lint = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
            .arg("lint")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = lint(&["--as-of", "2028-01-01", "--strict"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("DPCM 221/2024"), "{stderr}");
    assert_eq!(lint(&["--as-of", "2028-01-01"]).0, Some(0));
    assert_eq!(lint(&["--as-of", "2026-01-01", "--strict"]).0, Some(0));
    assert_eq!(lint(&["--as-of", "2028-02-30", "--strict"]).0, Some(2));
}

/// A later version adopted before the one it follows (a slip in the year)
/// is an error, and so is the review it would then fall due for before the
/// version comes into force.
#[test]
fn a_version_adopted_before_the_one_it_follows_is_an_error() {
    let later = version("2026-01-01", 200, "  supersedes 2024-01-01\n")
        .replace("adopted 2026-01-01", "adopted 2020-01-01");
    let s = source(&[
        ("2024-01-01", version("2024-01-01", 250, "")),
        ("2026-01-01", later),
    ]);
    let e = compile(&s, Date::parse("2026-06-01").unwrap()).unwrap_err();
    let messages: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "this version of act `dpcm_x` is adopted on 2020-01-01, before the version it \
             follows (adopted on 2024-01-01)",
            "act `dpcm_x` falls due for review on 2023-01-01, before it comes into force on \
             2026-01-01",
        ]
    );
}
