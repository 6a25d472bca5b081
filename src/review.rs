//! Review deadlines of act versions (D.Lgs. 138/2024, art. 40, c. 10 and 11).
//! Entry point: [`review_report`]. The cadence comes from each act's header
//! (`review every N years cite "..."`), never from the code.

use crate::date::Date;
use crate::diagnostic::{Diagnostic, Severity};
use crate::resolve::ActVersion;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// In force, review deadline not passed.
    Current,
    /// In force, and its review deadline has passed.
    Overdue,
    /// A later version is in force.
    Superseded,
    /// Comes into force after the date.
    NotYetInForce,
    /// The act declares no review cadence (e.g. a legislative decree).
    NoCadence,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewEntry {
    pub act: String,
    pub cited_as: String,
    pub in_force: Date,
    pub adopted: Option<Date>,
    pub every_years: Option<u32>,
    pub citation: Option<String>,
    pub deadline: Option<Date>,
    pub status: ReviewStatus,
    pub folder: String,
    #[serde(skip)]
    pub span: crate::source::Span,
}

/// Every act version with its review deadline and status on `as_of`.
pub fn review_report(acts: &BTreeMap<String, Vec<ActVersion>>, as_of: Date) -> Vec<ReviewEntry> {
    let mut out = Vec::new();
    for versions in acts.values() {
        let current = versions.iter().rposition(|v| v.act().in_force <= as_of);
        for (i, v) in versions.iter().enumerate() {
            let act = v.act();
            let deadline = act.review_deadline();
            let status = match (current, deadline) {
                (_, _) if act.in_force > as_of => ReviewStatus::NotYetInForce,
                (Some(c), _) if c != i => ReviewStatus::Superseded,
                (_, None) => ReviewStatus::NoCadence,
                (_, Some(d)) if as_of > d => ReviewStatus::Overdue,
                _ => ReviewStatus::Current,
            };
            out.push(ReviewEntry {
                act: act.id.clone(),
                cited_as: act.cited_as.clone(),
                in_force: act.in_force,
                adopted: act.adopted,
                every_years: act.review.as_ref().map(|r| r.every_years),
                citation: act.review.as_ref().map(|r| r.citation.clone()),
                deadline,
                status,
                folder: act.folder.clone(),
                span: act.review.as_ref().map_or(act.header_span, |r| r.span),
            });
        }
    }
    out
}

/// A diagnostic for each overdue version: a warning, or an error when `strict`.
pub fn overdue_diagnostics(entries: &[ReviewEntry], as_of: Date, strict: bool) -> Vec<Diagnostic> {
    entries
        .iter()
        .filter(|e| e.status == ReviewStatus::Overdue)
        .map(|e| {
            let mut d = Diagnostic::warning(
                "lexnis::review::overdue",
                format!(
                    "{} ({}), in force from {}, was due for review by {} and is overdue on {as_of}",
                    e.cited_as,
                    e.act,
                    e.in_force,
                    e.deadline.map(|d| d.to_string()).unwrap_or_default()
                ),
            )
            .label(e.span, format!("review every {} years", e.every_years.unwrap_or(0)))
            .help(format!(
                "add the revised version as a new folder beside {} with a later `in force from`; the cadence is set by {}",
                e.folder,
                e.citation.clone().unwrap_or_default()
            ));
            if strict {
                d.severity = Severity::Error;
            }
            d
        })
        .collect()
}

/// The report as a table for the terminal.
pub fn review_text(entries: &[ReviewEntry]) -> String {
    let mut out = format!(
        "{:<18} {:<18} {:<12} {:<12} {:<8} {:<12} {}\n",
        "act", "cited as", "in force", "adopted", "cadence", "deadline", "status"
    );
    for e in entries {
        let status = match e.status {
            ReviewStatus::Current => "current",
            ReviewStatus::Overdue => "OVERDUE",
            ReviewStatus::Superseded => "superseded",
            ReviewStatus::NotYetInForce => "not yet in force",
            ReviewStatus::NoCadence => "no review cadence",
        };
        out.push_str(&format!(
            "{:<18} {:<18} {:<12} {:<12} {:<8} {:<12} {}\n",
            e.act,
            e.cited_as,
            e.in_force.to_string(),
            e.adopted
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            e.every_years
                .map(|y| format!("{y} years"))
                .unwrap_or_else(|| "-".into()),
            e.deadline
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            status
        ));
    }
    out
}
