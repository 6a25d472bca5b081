//! A CSV row as the text of a JSON object, for the facts reader to read as it
//! reads a JSON line: what the header says of each column is worked out once.

use serde_json::Value as Json;

/// The header's columns, and what follows from their names for every row.
pub(super) struct Columns {
    headers: csv::StringRecord,
    /// Each column's name split at its dots (`size.staff`: a nested field).
    paths: Vec<Vec<String>>,
    /// The columns in the order of their paths: those of one nested object
    /// side by side, wherever the header has them.
    by_path: Vec<usize>,
    /// Pairs of columns (whole, part) where `part` is nested in `whole`
    /// (`size`, `size.staff`), in the header's order: a row may fill only one.
    nested: Vec<(usize, usize)>,
    id: Option<usize>,
}

impl Columns {
    pub(super) fn new(headers: csv::StringRecord) -> Columns {
        let paths: Vec<Vec<String>> = (headers.iter())
            .map(|name| name.split('.').map(str::to_string).collect())
            .collect();
        let mut by_path: Vec<usize> = (0..paths.len()).collect();
        by_path.sort_by(|a, b| paths[*a].cmp(&paths[*b]));
        let within = |whole: &str, part: &str| {
            part.strip_prefix(whole)
                .is_some_and(|rest| rest.starts_with('.'))
        };
        let names: Vec<&str> = headers.iter().collect();
        let nested = (0..names.len())
            .flat_map(|w| (0..names.len()).map(move |p| (w, p)))
            .filter(|(w, p)| within(names[*w], names[*p]))
            .collect();
        let id = names.iter().position(|n| *n == crate::facts::ID_FIELD);
        Columns {
            paths,
            by_path,
            nested,
            id,
            headers,
        }
    }

    pub(super) fn headers(&self) -> &csv::StringRecord {
        &self.headers
    }

    /// The row as the text of a JSON object ([`Columns::object_text`]), or why
    /// it is none.
    pub(super) fn row_text(&self, row: &csv::StringRecord) -> Result<String, String> {
        let headers = &self.headers;
        // A cell that spans lines shaped like rows: a quote opened in it was
        // closed only further on, and the rows between are in it.
        let row_shaped = |line: &str| line.matches(',').count() + 1 >= headers.len();
        let swallowing = (headers.iter().zip(row.iter()))
            .find(|(_, cell)| cell.contains('\n') && cell.lines().skip(1).any(row_shaped));
        if let Some((name, _)) = swallowing {
            return Err(format!(
                "the cell of column `{name}` runs over lines that look like rows of their own: \
                 a quote opened in it is closed only on a later line, and the rows between are \
                 not read; close the quote where the cell ends"
            ));
        }
        if row.len() != headers.len() {
            return Err(format!(
                "the row has {} cells but the header names {} columns",
                row.len(),
                headers.len()
            ));
        }
        let filled = |i: usize| row.get(i).is_some_and(|cell| !cell.is_empty());
        if let Some(&(whole, part)) = (self.nested.iter()).find(|(w, p)| filled(*w) && filled(*p)) {
            let (whole, part) = (&headers[whole], &headers[part]);
            return Err(format!(
                "the columns `{whole}` and `{part}` both give `{part}` (a cell of `{whole}` \
                 holds all of it): which value would count? Fill one of them"
            ));
        }
        Ok(self.object_text(row))
    }

    /// The filled cells of a row as the text of one JSON object, each dotted
    /// column a field of a nested object. Rows where a column and one nested in
    /// it are both filled are refused before.
    fn object_text(&self, row: &csv::StringRecord) -> String {
        let mut text = Vec::with_capacity(row.as_slice().len() * 2 + 16);
        text.push(b'{');
        // The nested objects open, outermost first; whether the innermost has
        // no field yet.
        let mut open: Vec<&str> = Vec::new();
        let mut first = true;
        for &i in &self.by_path {
            let cell = &row[i];
            if cell.is_empty() {
                continue;
            }
            let (last, parents) = self.paths[i].split_last().expect("a split has a part");
            let shared = (open.iter().zip(parents))
                .take_while(|(a, b)| *a == b)
                .count();
            if shared < open.len() {
                // The objects this column is not in have all their fields.
                text.resize(text.len() + open.len() - shared, b'}');
                open.truncate(shared);
                first = false;
            }
            for part in &parents[shared..] {
                field_name(&mut text, &mut first, part);
                text.push(b'{');
                first = true;
                open.push(part);
            }
            field_name(&mut text, &mut first, last);
            match Some(i) != self.id && reads_as_json(cell) {
                true => text.extend_from_slice(cell.as_bytes()),
                false => {
                    let _ = serde_json::to_writer(&mut text, cell);
                }
            }
        }
        text.resize(text.len() + open.len() + 1, b'}');
        // Written from strings and JSON escapes only: always UTF-8.
        String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// `"name":`, after a comma unless it is the object's first field.
fn field_name(text: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        text.push(b',');
    }
    let _ = serde_json::to_writer(&mut *text, name);
    text.push(b':');
}

/// Whether a cell is taken as JSON, as written (a number, a list, an object,
/// true, false, null), not as text. The id is not asked: it is echoed as
/// written (`1.10` is not `1.1`, `null` is a name). A number a float would
/// round is JSON too (`parse_document` keeps it as its text), and the facts
/// reader reads it digit for digit, as in a JSON line.
fn reads_as_json(cell: &str) -> bool {
    match cell.as_bytes() {
        b"true" | b"false" => return true,
        // No JSON value starts otherwise (blanks, then one of these).
        [first, ..] if !b"{[\"-0123456789tfn \t\n\r".contains(first) => return false,
        _ => {}
    }
    if is_short_number(cell) {
        return true;
    }
    match crate::facts::parse_document(cell) {
        Ok(Json::String(_)) => !cell.trim_start().starts_with('"'),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// A JSON number of at most 15 digits, without an exponent (`-12`, `0.5`),
/// which a float holds exactly: JSON without parsing it.
fn is_short_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(all_digits)
        && whole.len() + fraction.map_or(0, str::len) <= 15
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Columns {
        Columns::new(csv::StringRecord::from(names.to_vec()))
    }

    #[test]
    fn csv_rows_nest_dotted_columns() {
        let c = columns(&[
            "id",
            "size.staff",
            "entity_types",
            "flag",
            "size.x",
            "empty",
        ]);
        let row = csv::StringRecord::from(vec!["acme", "120", "[\"I.1.a.1\"]", "true", "a", ""]);
        let v: Json = serde_json::from_str(&c.row_text(&row).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "acme", "size": {"staff": 120, "x": "a"},
                "entity_types": ["I.1.a.1"], "flag": true})
        );
    }

    #[test]
    fn a_row_filling_a_column_and_one_nested_in_it_is_refused() {
        let c = columns(&["size.staff", "id", "size"]);
        let both = csv::StringRecord::from(vec!["1", "a", "{\"staff\": 2}"]);
        let error = c.row_text(&both).unwrap_err();
        assert!(error.contains("`size` and `size.staff`"), "{error}");
        let one = csv::StringRecord::from(vec!["", "a", "{\"staff\": 2}"]);
        assert!(c.row_text(&one).is_ok());
    }

    /// The quick answers agree with parsing the cell.
    #[test]
    fn a_cell_is_json_as_parsing_it_says() {
        let parsed = |cell: &str| match crate::facts::parse_document(cell) {
            Ok(Json::String(_)) => !cell.trim_start().starts_with('"'),
            Ok(_) => true,
            Err(_) => false,
        };
        let cells = [
            "0",
            "-0",
            "7",
            "120",
            "-12.5",
            "0.5",
            "007",
            "1.",
            ".5",
            "-",
            "1e3",
            "1.5e-3",
            "123456789012345",
            "1234567890123456",
            "12345678901234567890123",
            "249.99999999999999999",
            "true",
            "false",
            "null",
            "nul",
            "tru",
            "\"300\"",
            " 300 ",
            "I.9.2",
            "gen-7-0",
            "[1]",
            "{\"a\":1}",
            "[",
            "x",
            "é",
            "-a",
            "0x10",
            "+1",
            "1 2",
        ];
        for cell in cells {
            assert_eq!(reads_as_json(cell), parsed(cell), "{cell:?}");
        }
        assert!(
            reads_as_json("12345678901234567890123"),
            "a long number is JSON"
        );
        assert!(!reads_as_json("I.9.2"));
    }
}
