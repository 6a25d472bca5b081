//! "Did you mean ...?" for misspelt names.

/// The candidate closest to `wrong`, if it is close enough to be a likely typo
/// (and is not `wrong` itself, which would only repeat the mistake).
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| (likeness(wrong, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// How alike two names are, from 0 to 1. Jaro-Winkler, which favours a
/// shared start; but two letters swapped in a short word (`adn`, `whne`) score
/// low there, and are among the commonest slips, so one edit (a letter added,
/// dropped, changed or two swapped) counts as alike enough.
fn likeness(wrong: &str, candidate: &str) -> f64 {
    let one_slip = wrong.chars().count() >= 3 && strsim::osa_distance(wrong, candidate) == 1;
    let slip = if one_slip { 0.85 } else { 0.0 };
    strsim::jaro_winkler(wrong, candidate).max(slip)
}

/// A help line: the suggestion if there is one, otherwise `fallback`.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    fallback: &str,
) -> String {
    match closest(wrong, candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_near_names_only() {
        assert_eq!(super::closest("staf", ["staff", "turnover"]), Some("staff"));
        assert_eq!(super::closest("xyz", ["staff", "turnover"]), None);
        assert_eq!(super::closest("adn", ["and", "or"]), Some("and"));
        assert_eq!(super::closest("ro", ["and", "or"]), None);
    }
}
