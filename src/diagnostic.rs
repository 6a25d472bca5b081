//! The one diagnostic shape shared by every compile stage, and its rendering.
//!
//! Each stage has its own error type (a list of these) so that callers can tell
//! where a failure came from; rendering is shared so that every message looks alike.
//! Single-file reports go through miette; a report whose labels point into several
//! files goes through codespan-reporting, which draws each file's snippet in turn.

use crate::source::{SourceMap, Span};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A located, explained problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `lexnis::check::type_mismatch`.
    pub code: &'static str,
    pub message: String,
    /// The first label is the primary one: it decides the reported line.
    pub labels: Vec<Label>,
    /// What to do about it, in plain words.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// How to draw diagnostics: colours only on a terminal, never in snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Renders one diagnostic as the user sees it on stderr.
pub fn render(diag: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    let files: std::collections::BTreeSet<_> = diag.labels.iter().map(|l| l.span.file).collect();
    let far_right = (diag.labels.iter()).any(|l| sources.line_col(l.span).1 > MAX_DRAWN_COLUMN);
    if far_right {
        render_without_snippet(diag, sources)
    } else if files.len() > 1 {
        render_multi_file(diag, sources, options)
    } else {
        render_single_file(diag, sources, options)
    }
}

/// Renders a list, errors and warnings alike, followed by a one-line summary.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, options: RenderOptions) -> String {
    let mut out = String::new();
    for d in diags.iter().take(MOST_DRAWN) {
        out.push_str(&render(d, sources, options));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    if diags.len() > MOST_DRAWN {
        let _ = writeln!(
            out,
            "... and {} more not shown: correct the first ones, which often cause the rest",
            diags.len() - MOST_DRAWN
        );
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if !diags.is_empty() {
        let _ = writeln!(out, "{} error(s), {} warning(s)", errors, warnings);
    }
    out
}

/// The most diagnostics drawn at once: one mistake repeated along a generated
/// line can give thousands, each drawing the whole line.
const MOST_DRAWN: usize = 50;

/// The rightmost column a drawn snippet points at. The drawing pads to a
/// label's column, and miette's padding fails past 65,535 (a generated rule
/// file with one very long line); such a line is not worth drawing anyway.
const MAX_DRAWN_COLUMN: usize = 2_000;

/// A diagnostic as lines of text, each label at its `file:line:col`, for a
/// label too far right on its line to draw.
fn render_without_snippet(diag: &Diagnostic, sources: &SourceMap) -> String {
    let severity = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{severity}[{}]: {}\n", diag.code, diag.message);
    for label in &diag.labels {
        let _ = writeln!(
            out,
            "  --> {}: {}",
            sources.location(label.span),
            label.message
        );
    }
    if let Some(help) = &diag.help {
        let _ = writeln!(out, "  help: {help}");
    }
    out
}

fn render_single_file(diag: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    use miette::{
        GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource,
    };
    let mut md = MietteDiagnostic::new(diag.message.clone())
        .with_code(diag.code)
        .with_severity(match diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
    if let Some(help) = &diag.help {
        md = md.with_help(help.clone());
    }
    let labels = diag.labels.iter().enumerate().map(|(i, l)| {
        let span = (l.span.start as usize, l.span.len());
        if i == 0 {
            LabeledSpan::new_primary_with_span(Some(l.message.clone()), span)
        } else {
            LabeledSpan::new_with_span(Some(l.message.clone()), span)
        }
    });
    md = md.with_labels(labels);
    let report = match diag.labels.first() {
        Some(label) => {
            let file = sources.file(label.span.file);
            miette::Report::new(md).with_source_code(
                NamedSource::new(file.name.clone(), file.text.to_string()).with_language("lexnis"),
            )
        }
        None => miette::Report::new(md),
    };
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{}: {}\n", diag.code, diag.message);
    }
    out
}

fn render_multi_file(diag: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    use codespan_reporting::diagnostic as cs;
    use codespan_reporting::files::SimpleFiles;
    use codespan_reporting::term::{self, termcolor};
    let mut files = SimpleFiles::new();
    let mut ids = std::collections::HashMap::new();
    for label in &diag.labels {
        ids.entry(label.span.file).or_insert_with(|| {
            let f = sources.file(label.span.file);
            files.add(f.name.clone(), f.text.to_string())
        });
    }
    let labels = diag
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let style = if i == 0 {
                cs::LabelStyle::Primary
            } else {
                cs::LabelStyle::Secondary
            };
            cs::Label::new(
                style,
                ids[&l.span.file],
                l.span.start as usize..l.span.end as usize,
            )
            .with_message(l.message.clone())
        })
        .collect();
    let severity = match diag.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let cs_diag = cs::Diagnostic::new(severity)
        .with_code(diag.code)
        .with_message(diag.message.clone())
        .with_labels(labels)
        .with_notes(diag.help.iter().map(|h| format!("help: {h}")).collect());
    let mut buffer = if options.color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    let config = term::Config::default();
    if term::emit(&mut buffer, &config, &files, &cs_diag).is_err() {
        return format!("{}: {}\n", diag.code, diag.message);
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_fifty_diagnostics_only_their_number_is_printed() {
        let mut sources = SourceMap::default();
        let file = sources.add("a.law", "x\n");
        let one = Diagnostic::error("lexnis::test", "a mistake")
            .label(crate::source::Span::new(file, 0, 1), "here");
        let out = render_all(&vec![one; 60], &sources, RenderOptions::default());
        assert_eq!(out.matches("a mistake").count(), MOST_DRAWN);
        assert!(out.contains("... and 10 more not shown"), "{out}");
        assert!(out.ends_with("60 error(s), 0 warning(s)\n"), "{out}");
    }
}
