//! Consistency of act headers: the dates and numbers a drafter copies from the
//! act's front page, which no rule reads but every trace and review deadline does.

use super::ActVersion;
use crate::diagnostic::Diagnostic;

/// The most articles an act is taken to have: a larger number is a typing slip.
const MOST_ARTICLES: u32 = 9_999;
/// The most annexes, likewise.
const MOST_ANNEXES: u32 = 100;

/// What is wrong in the headers of one act's versions, oldest first: an
/// adoption after the entry into force or before the earlier version's, a
/// review due before the entry into force, an article or annex range that is
/// empty or reversed, a `supersedes` that names no earlier version.
pub(super) fn header_problems(versions: &[ActVersion]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let h = &v.header;
        if let (Some((adopted, a_span)), Some((in_force, f_span))) = (h.adopted, h.in_force) {
            if adopted > in_force {
                problems.push(
                    Diagnostic::error(
                        "lexnis::resolve::adopted_after_in_force",
                        format!(
                            "act `{}` is adopted on {adopted} but in force from {in_force}, \
                             before its adoption",
                            h.id.text
                        ),
                    )
                    .label(a_span, "adopted")
                    .label(f_span, "in force")
                    .help("an act comes into force on or after its adoption: check both dates against the gazette"),
                );
            }
        }
        problems.extend(range_problem(h, false));
        problems.extend(range_problem(h, true));
        if let Some(d) = supersedes_problem(&versions[..i], v) {
            problems.push(d);
        }
        problems.extend(adopted_before_predecessor(&versions[..i], v));
        problems.extend(review_before_in_force(v));
    }
    problems
}

/// A version adopted before the version it follows was adopted: a slip in
/// the year, which would also date its review too early.
fn adopted_before_predecessor(earlier: &[ActVersion], v: &ActVersion) -> Option<Diagnostic> {
    let (adopted, span) = v.header.adopted?;
    let previous = earlier.last()?;
    let (before, before_span) = previous.header.adopted?;
    (adopted < before).then(|| {
        Diagnostic::error(
            "lexnis::resolve::adopted_before_predecessor",
            format!(
                "this version of act `{}` is adopted on {adopted}, before the version it follows \
                 (adopted on {before})",
                v.header.id.text
            ),
        )
        .label(span, "adopted")
        .label(before_span, "the earlier version's adoption")
        .help("a later version is adopted after the one it follows: check the year against the gazette")
    })
}

/// A review that falls due before the version comes into force: counted from
/// a mistaken adoption date, it would read as overdue from the first day.
fn review_before_in_force(v: &ActVersion) -> Option<Diagnostic> {
    let h = &v.header;
    let review = h.review.as_ref()?;
    let (in_force, f_span) = h.in_force?;
    let adopted = h.adopted.map(|(d, _)| d);
    let due = crate::program::review_due(adopted, in_force, review.every_years);
    (due < in_force).then(|| {
        Diagnostic::error(
            "lexnis::resolve::review_before_in_force",
            format!(
                "act `{}` falls due for review on {due}, before it comes into force on {in_force}",
                h.id.text
            ),
        )
        .label(review.span, "counted from the adoption")
        .label(f_span, "in force")
        .help("the review is counted from the adoption: check the adoption date and `review every`")
    })
}

/// An article or annex range that starts at 0, runs backwards, or is too long
/// to be an act's.
fn range_problem(h: &crate::ast::ActHeader, annexes: bool) -> Option<Diagnostic> {
    let (what, range, most, example) = if annexes {
        ("annex", h.annexes, MOST_ANNEXES, "`annexes I to IV`")
    } else {
        ("article", h.articles, MOST_ARTICLES, "`articles 1 to 45`")
    };
    let (first, last, span) = range?;
    let write = |n: u32| {
        if annexes {
            crate::roman::numeral(n)
        } else {
            n.to_string()
        }
    };
    let message = if first == 0 {
        format!("{what}s are numbered from 1")
    } else if first > last {
        format!(
            "the {what} range {} to {} runs backwards",
            write(first),
            write(last)
        )
    } else if last > most {
        format!("act `{}` cannot have more than {most} {what}s", h.id.text)
    } else {
        return None;
    };
    Some(
        Diagnostic::error("lexnis::resolve::numbering_range", message)
            .label(span, "this range")
            .help(format!(
                "write the first and the last {what} of the act, e.g. {example}"
            )),
    )
}

/// `supersedes DATE` names the in-force date of the version this one replaces:
/// a date on or after this version's own, or a date that none of the earlier
/// versions read has, is an error. With no earlier version read, nothing can be
/// told: the older version may have been left out on purpose.
fn supersedes_problem(earlier: &[ActVersion], v: &ActVersion) -> Option<Diagnostic> {
    let h = &v.header;
    let (replaced, span) = h.supersedes?;
    let (in_force, _) = h.in_force?;
    let id = &h.id.text;
    if replaced >= in_force {
        return Some(
            Diagnostic::error(
                "lexnis::resolve::supersedes_later",
                format!("act `{id}` in force from {in_force} cannot supersede a version in force from {replaced}"),
            )
            .label(span, "not an earlier version")
            .help("`supersedes` takes the `in force from` date of the version this one replaces"),
        );
    }
    let dates: Vec<String> = (earlier.iter())
        .filter_map(|e| e.header.in_force.map(|d| d.0.to_string()))
        .collect();
    if dates.is_empty() || dates.contains(&replaced.to_string()) {
        return None;
    }
    Some(
        Diagnostic::error(
            "lexnis::resolve::supersedes_unknown",
            format!(
                "act `{id}` supersedes a version in force from {replaced}, but its earlier \
                 versions come into force on {}",
                dates.join(", ")
            ),
        )
        .label(span, "no such version")
        .help("write the `in force from` date of the version this one replaces"),
    )
}
