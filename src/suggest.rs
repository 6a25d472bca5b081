//! "Did you mean ...?" for misspelt names.

/// The candidate closest to `wrong`, if it is close enough to be a likely typo
/// (and is not `wrong` itself, which would only repeat the mistake).
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
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
    }
}
