//! Source files and spans: every stage reports positions in these terms.

use std::sync::Arc;

/// One rule file as read from disk (or from the bundled set).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it in diagnostics.
    pub name: String,
    pub text: Arc<str>,
    /// Where each line starts (a byte offset), so that a position's line is a
    /// binary search: traces ask for the place of every step they show.
    line_starts: Vec<u32>,
}

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether `other` lies within this span, in the same file.
    pub fn encloses(&self, other: Span) -> bool {
        self.file == other.file && self.start <= other.start && other.end <= self.end
    }

    /// The smallest span covering both (same file assumed).
    pub fn join(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// All files of a policy set, so that spans can be turned back into text.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        let text: Arc<str> = text.into();
        let after_newlines = (text.bytes().enumerate())
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i as u32 + 1);
        let line_starts = std::iter::once(0).chain(after_newlines).collect();
        self.files.push(SourceFile {
            name: name.into(),
            text,
            line_starts,
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn snippet(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// The text of `span` on one line: each run of spaces and line breaks
    /// one space, as a message quotes an expression.
    pub fn snippet_on_one_line(&self, span: Span) -> String {
        let words: Vec<&str> = self.snippet(span).split_whitespace().collect();
        words.join(" ")
    }

    /// 1-based line and column of the span's start.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let file = self.file(span.file);
        let upto = (span.start as usize).min(file.text.len());
        let line = file.line_starts.partition_point(|s| *s as usize <= upto);
        let start = file.line_starts[line - 1] as usize;
        let col = file.text[start..upto].chars().count() + 1;
        (line, col)
    }

    /// `file:line:col`, for one-line reports (traces, diffs).
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span);
        format!("{}:{}:{}", self.file(span.file).name, line, col)
    }
}

/// What a character of rule text is, if it is one a drafter cannot see: a
/// space other than the plain one, or a character that takes no room. Rule
/// text pasted from a word processor or a web page carries them.
pub fn unseen_character(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{FEFF}' => "an invisible byte-order mark (U+FEFF)",
        '\u{00A0}' => "a no-break space (U+00A0), which looks like a space",
        '\u{2007}' | '\u{202F}' => "a narrow or figure no-break space, which looks like a space",
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' => "an invisible zero-width character",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{SourceMap, Span};

    /// Line and column as counted from the start of the text, for comparison.
    fn counted(text: &str, at: usize) -> (usize, usize) {
        let upto = &text[..at];
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    #[test]
    fn line_and_column_are_those_counted_from_the_start() {
        for text in [
            "",
            "\n",
            "rule a\n\n  when è vero\nthen «x»\n",
            "no newline at the end",
            "\n\nà\n",
        ] {
            let mut map = SourceMap::default();
            let file = map.add("t.law", text);
            let boundaries = (0..=text.len()).filter(|i| text.is_char_boundary(*i));
            for at in boundaries {
                let span = Span::new(file, at, at);
                assert_eq!(map.line_col(span), counted(text, at), "{text:?} at {at}");
            }
            // A start past the end is read as the end.
            let past = Span::new(file, text.len() + 3, text.len() + 3);
            assert_eq!(map.line_col(past), counted(text, text.len()));
        }
    }
}
