//! Rendering of diffs: text (coloured on a terminal), Markdown for reports; JSON
//! is the serialisation of the diff structures themselves.

use crate::diff::{ChangeKind, EntityDiff, LeftOut, PopulationDiff, RuleChange};
use serde_json::Value as Json;
use std::fmt::Write as _;

/// ANSI colours, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn mark(kind: ChangeKind) -> (&'static str, &'static str) {
    match kind {
        ChangeKind::Added => ("+", "32"),
        ChangeKind::Removed => ("-", "31"),
        ChangeKind::Changed => ("~", "33"),
    }
}

/// What the diff does not compare on its date, a line each (none if nothing).
pub fn left_out_lines(left_out: &[LeftOut]) -> Vec<String> {
    (left_out.iter())
        .map(|v| {
            let which = match v.first_version {
                true => format!("act {}", v.act),
                false => format!("a later version of {}", v.act),
            };
            format!(
                "Not compared: {} holds {which}, in force from {}, after this date \
                 (diff --as-of {} compares it).",
                v.revision.to_uppercase(),
                v.in_force,
                v.in_force
            )
        })
        .collect()
}

pub fn rules_text(changes: &[RuleChange], style: Style) -> String {
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str("No rule changes.\n");
        return out;
    }
    let _ = writeln!(out, "Rule changes: {}", changes.len());
    let mut group = (String::new(), String::new());
    for c in changes {
        if (c.act.clone(), c.provision.clone()) != group {
            group = (c.act.clone(), c.provision.clone());
            let _ = writeln!(
                out,
                "\n{}",
                style.paint("1", &format!("{} — {}", c.act, c.provision))
            );
        }
        let (sign, color) = mark(c.kind);
        let aspects = if c.aspects.is_empty() {
            String::new()
        } else {
            format!("  [{}]", c.aspects.join(", "))
        };
        let _ = writeln!(out, "  {} {}{aspects}", style.paint(color, sign), c.item);
        if let Some(detail) = &c.detail {
            let _ = writeln!(out, "      {}", style.paint("1", detail));
        }
        if let Some(o) = &c.old {
            let _ = writeln!(
                out,
                "      old {}  {}",
                o.source,
                style.paint("31", &o.text)
            );
        }
        if let Some(n) = &c.new {
            let _ = writeln!(
                out,
                "      new {}  {}",
                n.source,
                style.paint("32", &n.text)
            );
        }
    }
    out
}

pub fn rules_markdown(changes: &[RuleChange]) -> String {
    let mut out = String::from("## Rule changes\n\n");
    if changes.is_empty() {
        out.push_str("No rule changes.\n");
        return out;
    }
    out.push_str(
        "| act | provision | change | item | what | old | new |\n|---|---|---|---|---|---|---|\n",
    );
    for c in changes {
        let cell = |w: &Option<crate::diff::Written>| {
            w.as_ref().map_or(String::new(), |w| {
                format!("`{}` ({})", table_cell(&w.text), w.source)
            })
        };
        let what = match &c.detail {
            Some(d) => format!("{}: `{}`", c.aspects.join(", "), table_cell(d)),
            None => c.aspects.join(", "),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:?} | `{}` | {} | {} | {} |",
            c.act,
            c.provision,
            c.kind,
            c.item,
            what,
            cell(&c.old),
            cell(&c.new)
        );
    }
    out
}

/// A value in a table cell: long texts are cut to keep one record on one line.
fn show(v: &Json) -> String {
    cut(&label(v), 60)
}

/// A value as a transition names the group of records it counts: a list or
/// set whole (cut, two sets that differ past the cut would read as one), a
/// text as a cell shows it (a procedure's wording runs to hundreds of letters).
fn transition_label(v: &Json) -> String {
    match v {
        Json::Array(_) => label(v),
        _ => show(v),
    }
}

fn label(v: &Json) -> String {
    match v {
        Json::Null => "none".into(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}...", text.chars().take(max - 3).collect::<String>())
    } else {
        text.to_string()
    }
}

pub fn population_text(d: &PopulationDiff, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nPopulation: {} record(s), {} changed outcome, {} could not be evaluated",
        d.records,
        d.changed,
        d.errors.len()
    );
    if !d.transitions.is_empty() {
        let _ = writeln!(out, "\nTransitions");
    }
    for t in &d.transitions {
        let _ = writeln!(
            out,
            "  {}: {} -> {}  {}",
            t.result,
            transition_label(&t.from),
            transition_label(&t.to),
            style.paint("1", &t.count.to_string())
        );
        for (rule, n) in &t.by_rule {
            let _ = writeln!(
                out,
                "      {n:>8}  first diverging at {}  [{}]",
                rule.step(),
                rule.citation
            );
        }
    }
    if !d.changed_records.is_empty() {
        let _ = writeln!(out, "\nChanged records");
    }
    for r in &d.changed_records {
        let changes: Vec<String> = r
            .changes
            .iter()
            .map(|(k, a, b)| format!("{k}: {} -> {}", show(a), show(b)))
            .collect();
        let why = r.diverging.as_ref().map_or(String::new(), |d| {
            format!("  (first diverging at {} [{}])", d.step(), d.citation)
        });
        let _ = writeln!(
            out,
            "  line {} id {}  {}{why}",
            r.line,
            r.id.as_deref().unwrap_or("-"),
            changes.join("; ")
        );
    }
    if !d.errors.is_empty() {
        out.push_str("\nRecords that could not be evaluated\n");
    }
    for e in &d.errors {
        let id = e.id.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  line {} id {id}  {}",
            e.line,
            style.paint("31", &e.reason)
        );
    }
    out
}

/// Text for a markdown table cell: a `|` would end the cell.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

pub fn population_markdown(d: &PopulationDiff) -> String {
    let mut out = format!(
        "\n## Population\n\n{} record(s), {} changed outcome, {} could not be evaluated.\n",
        d.records,
        d.changed,
        d.errors.len()
    );
    if !d.transitions.is_empty() {
        out.push_str(
            "\n| result | from | to | records | first diverging rule |\n|---|---|---|---|---|\n",
        );
        for t in &d.transitions {
            let rules: Vec<String> = t
                .by_rule
                .iter()
                .map(|(r, n)| format!("{n} at `{}` ({})", r.step(), r.citation))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                t.result,
                table_cell(&transition_label(&t.from)),
                table_cell(&transition_label(&t.to)),
                t.count,
                table_cell(&rules.join("; "))
            );
        }
    }
    if !d.changed_records.is_empty() {
        out.push_str("\n| line | id | changes | first diverging rule |\n|---|---|---|---|\n");
        for r in &d.changed_records {
            let changes: Vec<String> = r
                .changes
                .iter()
                .map(|(k, a, b)| format!("{k}: {} → {}", show(a), show(b)))
                .collect();
            let why = why_markdown(r.diverging.as_ref());
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.line,
                table_cell(r.id.as_deref().unwrap_or("-")),
                table_cell(&changes.join("; ")),
                table_cell(&why)
            );
        }
    }
    if !d.errors.is_empty() {
        out.push_str(
            "\nRecords that could not be evaluated:\n\n| line | id | reason |\n|---|---|---|\n",
        );
        for e in &d.errors {
            let id = table_cell(e.id.as_deref().unwrap_or("-"));
            let _ = writeln!(out, "| {} | {id} | {} |", e.line, table_cell(&e.reason));
        }
    }
    out
}

fn step_line(s: &crate::trace::Step) -> String {
    format!("{} = {}", s.name, s.shown)
}

/// The two traces side by side; `>>` marks the first step that differs.
pub fn entity_text(d: &EntityDiff, style: Style) -> String {
    let mut out = format!("\nEntity {}\n", d.id.as_deref().unwrap_or("(no id)"));
    for (k, a, b) in &d.changes {
        let _ = writeln!(out, "  {k}: {} -> {}", show(a), show(b));
    }
    if d.changes.is_empty() {
        out.push_str("  no result changes\n");
    }
    if let Some(div) = &d.diverging {
        // Steps may differ on the way to the same results.
        let _ = writeln!(out, "  first divergence: {} [{}]", div.step(), div.citation);
    }
    let width = d
        .old
        .iter()
        .map(|s| step_line(s).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(20, 70);
    let _ = writeln!(out, "\n   {:width$}   new", "old");
    let rows = aligned(&d.old, &d.new);
    let marked = divergence_row(&rows, d.diverging.as_ref());
    for (i, (a, b)) in rows.into_iter().enumerate() {
        let a = a.map(step_line).unwrap_or_default();
        let b = b.map(step_line).unwrap_or_default();
        let differs = a != b;
        let marker = if Some(i) == marked { ">>" } else { "  " };
        let a = cut(&a, width);
        let line = format!("{marker} {a:width$} | {b}").trim_end().to_string();
        let _ = writeln!(
            out,
            "{}",
            if differs {
                style.paint("33", &line)
            } else {
                line
            }
        );
    }
    out
}

type Row<'s> = (
    Option<&'s crate::trace::Step>,
    Option<&'s crate::trace::Step>,
);

/// The row `>>` marks: the step where the revisions first diverge, as the diff
/// names it; else the first row whose two sides differ.
fn divergence_row(rows: &[Row<'_>], diverging: Option<&crate::diff::Divergence>) -> Option<usize> {
    let named = diverging.map(|d| d.name.as_str());
    let is_named = |(a, b): &Row<'_>| {
        [a, b]
            .iter()
            .any(|s| s.is_some_and(|s| Some(s.name.as_str()) == named))
    };
    let differs = |(a, b): &Row<'_>| a.map(step_line) != b.map(step_line);
    (rows.iter().position(is_named)).or_else(|| rows.iter().position(differs))
}

/// The steps of two traces paired by name, in order (a longest common
/// subsequence): a step only one revision takes faces an empty line, and the
/// steps after it stay face to face.
fn aligned<'s>(old: &'s [crate::trace::Step], new: &'s [crate::trace::Step]) -> Vec<Row<'s>> {
    let (n, m) = (old.len(), new.len());
    // common[i][j]: how many names old[i..] and new[j..] share, in order.
    let mut common = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if old[i].name == new[j].name {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut rows) = (0, 0, Vec::with_capacity(n.max(m)));
    while i < n || j < m {
        if i < n && j < m && old[i].name == new[j].name {
            rows.push((Some(&old[i]), Some(&new[j])));
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && common[i + 1][j] >= common[i][j + 1]) {
            rows.push((Some(&old[i]), None));
            i += 1;
        } else {
            rows.push((None, Some(&new[j])));
            j += 1;
        }
    }
    rows
}

fn changes_text(changes: &[(String, Json, Json)]) -> String {
    changes
        .iter()
        .map(|(k, a, b)| format!("{k}: {} -> {}", show(a), show(b)))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn semantic_text(d: &crate::semantic::SemanticDiff, style: Style) -> String {
    let mut out = format!(
        "\nSemantic diff: {} entities tried, {} region(s) decided differently\n",
        d.entities_tried,
        d.regions.len()
    );
    if let Some(e) = &d.unevaluated_example {
        let _ = writeln!(out, "{}", unevaluated_text(d.unevaluated, e));
        let _ = writeln!(out, "    entity {}", e.entity);
    }
    for (i, r) in d.regions.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n  region {}: {}  ({} {})",
            i + 1,
            style.paint("1", &changes_text(&r.changes)),
            r.entities,
            if r.entities == 1 {
                "entity"
            } else {
                "entities"
            }
        );
        if let Some(div) = &r.diverging {
            let _ = writeln!(
                out,
                "    first diverging at {} [{}]",
                div.step(),
                div.citation
            );
        }
        let _ = writeln!(out, "    witness {}", r.witness);
    }
    out
}

pub fn semantic_markdown(d: &crate::semantic::SemanticDiff) -> String {
    let mut out = format!(
        "\n## Semantic diff\n\n{} entities tried, {} region(s) decided differently.\n\n",
        d.entities_tried,
        d.regions.len()
    );
    if let Some(e) = &d.unevaluated_example {
        let text = unevaluated_text(d.unevaluated, e);
        let _ = writeln!(out, "**{}** Entity: `{}`\n", text.trim(), e.entity);
    }
    if !d.regions.is_empty() {
        out.push_str(
            "| # | changes | entities | first diverging rule | witness |\n|---|---|---|---|---|\n",
        );
    }
    for (i, r) in d.regions.iter().enumerate() {
        let why = why_markdown(r.diverging.as_ref());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | `{}` |",
            i + 1,
            table_cell(&changes_text(&r.changes)),
            r.entities,
            table_cell(&why),
            table_cell(&r.witness.to_string())
        );
    }
    out
}

/// Entities the search built that a revision could not read or evaluate: the
/// regions they would show are not in the report.
fn unevaluated_text(count: u64, first: &crate::semantic::Unevaluated) -> String {
    format!(
        "  {count} of them could not be evaluated, so the search says nothing of them; the first: {}",
        first.reason
    )
}

/// The first diverging rule in a Markdown cell.
fn why_markdown(d: Option<&crate::diff::Divergence>) -> String {
    d.map_or(String::new(), |d| {
        format!("`{}` ({})", d.step(), d.citation)
    })
}

#[cfg(test)]
mod tests {
    use super::transition_label;
    use serde_json::json;

    #[test]
    fn two_sets_that_differ_late_are_told_apart_in_a_transition() {
        let a = json!([
            "register_on_platform",
            "update_information",
            "notify_changes",
            "a"
        ]);
        let b = json!([
            "register_on_platform",
            "update_information",
            "notify_changes",
            "b"
        ]);
        assert_ne!(transition_label(&a), transition_label(&b));
        assert_eq!(transition_label(&a), a.to_string());
        // A long text is cut, as in every other cell.
        let long = json!("x".repeat(100));
        assert_eq!(transition_label(&long).chars().count(), 60);
    }
}
