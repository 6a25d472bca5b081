//! CSV input for the batch: rows into facts documents, with the line each row
//! starts on.

mod row;

use super::{Input, Payload};
use crate::facts::{FactError, FactErrorKind};
use crate::program::{FieldSpec, Program, Type};
use row::Columns;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;

/// CSV: a header row names the fields; a dotted name (`size.staff`) is a nested
/// field; a cell that reads as JSON (a number, a list, an object, true/false) is
/// taken as such, any other cell as text; an empty cell is left out.
/// With `declared`, a column that names no fact of those rules (nor a field
/// of one) is an error of the header, told once, before any row is read:
/// every row would otherwise fail with it. `diff --facts` passes none, as a
/// column may name a fact of one revision only.
pub(super) fn read_csv(
    input: Box<dyn BufRead + Send>,
    declared: Option<&Program>,
    emit: &mut dyn FnMut(Input) -> bool,
) -> Result<(), String> {
    let mut rows = Rows::new(input, 0, true);
    let headers = rows
        .reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .iter()
        // Names padded for reading (`id, size.staff`), as cells are trimmed.
        .map(|name| name.trim_matches(crate::batch::JSON_BLANKS))
        .collect::<csv::StringRecord>();
    if let Some(name) = headers.iter().find(|name| name.contains(['\n', '\r'])) {
        return Err(format!(
            "the CSV header runs over several lines (`{}`...): a quote opened in it is never \
             closed; close it or remove it",
            name.lines().next().unwrap_or_default()
        ));
    }
    if let Some(name) = repeated(&headers) {
        return Err(format!(
            "the CSV header names the column `{name}` twice: which value would count? \
             Keep one"
        ));
    }
    if let Some(message) = declared.and_then(|p| undeclared_column(p, &headers)) {
        return Err(message);
    }
    // A quote never closed swallows the rest of the input into one cell: the
    // rows are read again from the line after the one it opened on.
    let columns = Columns::new(headers);
    while let Some((line, rest)) = rows.read(&columns, emit)? {
        rows = Rows::new(
            Box::new(std::io::Cursor::new(rest.into_bytes())),
            line - 1,
            false,
        );
    }
    Ok(())
}

/// A CSV reader and the line ends of what it read, its first line `lines_before`
/// lines into the input.
struct Rows {
    reader: csv::Reader<NewlinesSeen>,
    lines: Rc<RefCell<LineIndex>>,
    lines_before: u64,
}

impl Rows {
    fn new(input: Box<dyn BufRead + Send>, lines_before: u64, has_headers: bool) -> Rows {
        let lines = Rc::new(RefCell::new(LineIndex::default()));
        let counted = NewlinesSeen {
            inner: input,
            lines: Rc::clone(&lines),
            offset: 0,
            ended: false,
            last_visible: None,
        };
        let reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(has_headers)
            .from_reader(counted);
        Rows {
            reader,
            lines,
            lines_before,
        }
    }

    /// Whether the last record read ends where the input does, and not on a
    /// closing quote: a quoted cell still open when the input ended.
    fn ends_in_open_quote(&self) -> bool {
        let input = self.reader.get_ref();
        let at_end = input.ended && self.reader.position().byte() == input.offset;
        at_end && input.last_visible != Some(b'"')
    }

    /// Emits a record per row to the end, or until the receiver hangs up. A last
    /// row whose last cell runs over several lines to the end of the input opened
    /// a quote it never closed: it becomes an error record, and what its cell
    /// swallowed after its first line is returned, with the line it starts on.
    fn read(
        &mut self,
        columns: &Columns,
        emit: &mut dyn FnMut(Input) -> bool,
    ) -> Result<Option<(u64, String)>, String> {
        let mut record = csv::StringRecord::new();
        loop {
            let at = self.reader.position().byte();
            let read = self.reader.read_record(&mut record);
            // The line a record starts on, counted from the bytes themselves: the
            // csv crate's own count leaves out blank lines, and the header's line
            // with CRLF endings.
            let line = |p: Option<&csv::Position>| {
                let offset = p.map_or(at, |p| p.byte());
                self.lines_before + self.lines.borrow_mut().line_at(offset)
            };
            let (line, payload) = match read {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    let line = line(record.position());
                    if let Some(rest) = swallowed(&record, self.ends_in_open_quote()) {
                        let message = format!(
                            "a quote opened in this row is never closed, so its cell runs on \
                             to the end of the input: the row is left out, and the rows are \
                             read again from line {}",
                            line + 1
                        );
                        let more = emit(Input {
                            line,
                            payload: Err(message),
                        });
                        return Ok(more.then_some((line + 1, rest)));
                    }
                    // A row that is no document still names its id, when it has one.
                    let payload =
                        columns
                            .row_text(&record)
                            .map(Payload::CsvRow)
                            .or_else(|message| match id_cell(columns.headers(), &record) {
                                Some(id) => Ok(Payload::Unreadable { id, message }),
                                None => Err(message),
                            });
                    (line, payload)
                }
                Err(e) => {
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        // The row being read is not a record: it may have been
                        // cut short by the failure, not by its writer.
                        return Err(super::unreadable_input(line(e.position()), &e));
                    }
                    (line(e.position()), Err(format!("unreadable CSV row: {e}")))
                }
            };
            if !emit(Input { line, payload }) {
                return Ok(None);
            }
        }
    }
}

/// What a row that ends the input in an open quote took in after the first line
/// of its last cell, as the input wrote it: within the open quote every quote of
/// the input was doubled (a single one would have closed it), and the cell's
/// text has each pair as one.
fn swallowed(row: &csv::StringRecord, open_quote: bool) -> Option<String> {
    let after_first_line = row.iter().next_back()?.split_once('\n')?.1;
    open_quote.then(|| after_first_line.replace('"', "\"\""))
}

/// The row's id, if the header has the column and the cell is one line of text.
fn id_cell(headers: &csv::StringRecord, row: &csv::StringRecord) -> Option<String> {
    let at = headers
        .iter()
        .position(|name| name == crate::facts::ID_FIELD)?;
    let cell = row
        .get(at)
        .filter(|c| !c.is_empty() && !c.contains(['\n', '\r']))?;
    Some(cell.to_string())
}

/// Why a column of the header names nothing `program` declares, for the
/// first such column: a fact (`size`), a field of a record fact
/// (`size.staff`) or the id.
fn undeclared_column(program: &Program, headers: &csv::StringRecord) -> Option<String> {
    headers.iter().find_map(|name| {
        let wrong = undeclared_part(program, name)?;
        let help = crate::suggest::did_you_mean(
            &wrong.part,
            wrong.allowed.iter().map(String::as_str),
            "`lexnis schema` lists the facts and their fields",
        );
        Some(format!(
            "the CSV header names the column `{name}`, but {}: rename or remove the \
             column ({help})",
            wrong.what
        ))
    })
}

/// The part of a column's name that the rules do not declare.
struct Undeclared {
    /// What is wrong, in words.
    what: String,
    part: String,
    /// The names the rules declare in its place.
    allowed: Vec<String>,
}

/// Where the column `name` leaves what `program` declares; `None` if it
/// names a fact, a field of one, or the id.
fn undeclared_part(program: &Program, name: &str) -> Option<Undeclared> {
    if name == crate::facts::ID_FIELD {
        return None;
    }
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    let Some(fact) = program.fact_by_name(first) else {
        return Some(Undeclared {
            what: format!("the rules declare no fact `{first}`"),
            part: first.to_string(),
            allowed: program.facts.iter().map(|f| f.spec.name.clone()).collect(),
        });
    };
    let mut ty = &program.facts[fact.index()].spec.ty;
    let mut path = first.to_string();
    for part in parts {
        let fields: &[FieldSpec] = match ty.required() {
            Type::Record(id) => &program.records[id.index()].fields,
            _ => &[],
        };
        let Some(field) = fields.iter().find(|f| f.name == part) else {
            return Some(Undeclared {
                what: match fields.is_empty() {
                    true => format!("`{path}` is not a record, so it has no field `{part}`"),
                    false => format!("`{path}` has no field `{part}`"),
                },
                part: part.to_string(),
                allowed: fields.iter().map(|f| f.name.clone()).collect(),
            });
        };
        ty = &field.ty;
        path = format!("{path}.{part}");
    }
    None
}

/// A column the header names twice.
fn repeated(headers: &csv::StringRecord) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    headers.iter().find(|name| !seen.insert(*name))
}

/// The line ends (`\r`, `\n`) read so far and not yet passed: line numbers for
/// offsets that only grow, in memory bounded by what the CSV reader buffers.
#[derive(Debug, Default)]
struct LineIndex {
    /// Newlines before the last offset asked about.
    passed: u64,
    /// Offset of each line-end byte ahead, and whether it ends a line (a `\n`,
    /// or a `\r` without one after it).
    ahead: VecDeque<(u64, bool)>,
}

impl LineIndex {
    /// The line (from 1) of the record the CSV reader places at `offset`. The
    /// reader places a record right after the one before, so the blank lines and
    /// the `\n` of a `\r\n` in between are skipped first.
    fn line_at(&mut self, mut offset: u64) -> u64 {
        while let Some(&(at, newline)) = self.ahead.front() {
            if at > offset {
                break;
            }
            if at == offset {
                offset += 1;
            }
            self.ahead.pop_front();
            self.passed += u64::from(newline);
        }
        self.passed + 1
    }
}

/// The CSV input, noting where its lines end as the CSV reader reads it.
struct NewlinesSeen {
    inner: Box<dyn BufRead + Send>,
    lines: Rc<RefCell<LineIndex>>,
    offset: u64,
    /// The input has no more bytes.
    ended: bool,
    /// The last byte read that is not a blank.
    last_visible: Option<u8>,
}

impl Read for NewlinesSeen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ended |= n == 0 && !buf.is_empty();
        if let Some(&b) = buf[..n].iter().rev().find(|b| !b.is_ascii_whitespace()) {
            self.last_visible = Some(b);
        }
        // A `\r` ends a line unless a `\n` follows it (old Mac files end
        // lines with `\r` alone); the byte after the last one read is peeked.
        let after = match buf[..n].last() {
            Some(b'\r') => self.inner.fill_buf()?.first().copied(),
            _ => None,
        };
        let ends = memchr::memchr2_iter(b'\r', b'\n', &buf[..n]).map(|i| {
            let next = buf[..n].get(i + 1).copied().or(after);
            (
                self.offset + i as u64,
                buf[i] == b'\n' || next != Some(b'\n'),
            )
        });
        self.lines.borrow_mut().ahead.extend(ends);
        self.offset += n as u64;
        Ok(n)
    }
}

/// The facts errors of a CSV row, with the help a CSV user can follow: a missing
/// field is a column to add (or a cell to fill), not a JSON key.
pub(super) fn in_csv_terms(mut errors: Vec<FactError>) -> Vec<FactError> {
    for e in errors.iter_mut() {
        let column = e.path.strip_prefix("$.").filter(|c| !c.contains('['));
        if let (FactErrorKind::MissingField, Some(column)) = (&e.kind, column) {
            e.help = Some(format!(
                "add a column `{column}` to the header, or fill its cell in this row"
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, row or error) of each record of a CSV text.
    fn rows(text: &'static str) -> Vec<(u64, Result<String, String>)> {
        rows_read_by(Box::new(text.as_bytes()))
    }

    fn rows_read_by(input: Box<dyn BufRead + Send>) -> Vec<(u64, Result<String, String>)> {
        let mut out = Vec::new();
        read_csv(input, None, &mut |r| {
            let row = r.payload.map(|p| match p {
                Payload::CsvRow(t) => {
                    serde_json::from_str::<serde_json::Value>(&t).unwrap()["id"].to_string()
                }
                Payload::Text(t) => t.into_owned(),
                Payload::Unreadable { id, message } => format!("{id}: {message}"),
            });
            out.push((r.line, row));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn rows_keep_their_lines_through_crlf_blank_lines_and_quoted_newlines() {
        let lines = |text| rows(text).into_iter().map(|(l, _)| l).collect::<Vec<_>>();
        assert_eq!(lines("id,n\r\na,1\r\nb,2\r\n"), [2, 3]);
        assert_eq!(lines("id,n\na,1\n\nb,2\n\n\nc,3\n"), [2, 4, 7]);
        assert_eq!(lines("id,n\n\"a\nstill a\",1\nb,2"), [2, 4]);
        assert_eq!(lines("\u{feff}id,n\na,1\n"), [2]);
    }

    /// Lines ended by `\r` alone are lines, whether a read ends between a
    /// `\r` and what follows it or not.
    #[test]
    fn rows_keep_their_lines_where_lines_end_with_a_carriage_return_alone() {
        let lines = |text: &'static str, read: usize| {
            let input = std::io::BufReader::with_capacity(read, text.as_bytes());
            let rows = rows_read_by(Box::new(input));
            rows.into_iter().map(|(l, _)| l).collect::<Vec<_>>()
        };
        for read in [1, 2, 3, 64] {
            assert_eq!(lines("id,n\ra,1\rb,2\r", read), [2, 3], "reads of {read}");
            assert_eq!(
                lines("id,n\ra,1\r\rb,2\r\nc,3", read),
                [2, 4, 5],
                "reads of {read}"
            );
        }
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let input: Box<dyn BufRead + Send> = Box::new(&b"id,size.staff,size.staff\na,1,2\n"[..]);
        let error = read_csv(input, None, &mut |_| true).unwrap_err();
        assert!(error.contains("`size.staff` twice"), "{error}");
    }

    #[test]
    fn a_missing_field_of_a_csv_row_is_a_column_to_add() {
        let missing = |path: &str| FactError {
            kind: FactErrorKind::MissingField,
            path: path.into(),
            message: "missing field".into(),
            help: Some("add `\"x\": ...` to the facts".into()),
        };
        let errors = in_csv_terms(vec![
            missing("$.size.balance_sheet_eur"),
            missing("$.partners[0].staff"),
        ]);
        assert_eq!(
            errors[0].help.as_deref(),
            Some(
                "add a column `size.balance_sheet_eur` to the header, or fill its cell in this row"
            )
        );
        // Inside a list, which a CSV cell holds as JSON: the JSON help stands.
        assert_eq!(
            errors[1].help.as_deref(),
            Some("add `\"x\": ...` to the facts")
        );
    }
}
