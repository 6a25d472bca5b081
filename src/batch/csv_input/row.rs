//! A CSV row as the text of a JSON object, for the facts reader to read as it
//! reads a JSON line: what the header says of each column is worked out once.

use serde_json::Value as Json;

/// The header's columns, and what follows from their names for every row.
pub(super) struct Columns {
    headers: csv::StringRecord,
    /// Each column's name split at its dots (`size.staff`: a nested field),
    /// each part written as a JSON string once for every row (one name, one
    /// quoted form: the parts compare as the names do).
    quoted_parts: Vec<Vec<String>>,
    /// The columns in the header's order, but those of one nested object side
    /// by side (where the first of them is): a row's text, and so its errors,
    /// follow the header.
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
        // Each column's key: for each of its path's prefixes, the first column
        // that has it.
        let first_with = |prefix: &[String]| {
            (paths.iter())
                .position(|p| p.starts_with(prefix))
                .unwrap_or(0)
        };
        let group_keys: Vec<Vec<usize>> = (paths.iter())
            .map(|p| (1..=p.len()).map(|n| first_with(&p[..n])).collect())
            .collect();
        let mut by_path: Vec<usize> = (0..paths.len()).collect();
        by_path.sort_by(|a, b| group_keys[*a].cmp(&group_keys[*b]).then(a.cmp(b)));
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
        let quoted_parts = (paths.iter())
            .map(|p| {
                p.iter()
                    .map(|part| Json::from(part.as_str()).to_string())
                    .collect()
            })
            .collect();
        Columns {
            quoted_parts,
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
        let multiline = memchr::memchr(b'\n', row.as_slice().as_bytes()).is_some();
        let swallowing = match multiline {
            true => (headers.iter().zip(row.iter()))
                .find(|(_, cell)| cell.contains('\n') && cell.lines().skip(1).any(row_shaped)),
            false => None,
        };
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
        if let Some(name) = self.too_deep(row) {
            return Err(format!(
                "the cell of column `{name}` nests lists and objects deeper than {MAX_NESTING} \
                 levels, with the column's dotted parts: more than a JSON reader takes"
            ));
        }
        Ok(self.object_text(row))
    }

    /// A column whose JSON cell, within the objects its dotted name opens,
    /// nests deeper than [`MAX_NESTING`].
    fn too_deep(&self, row: &csv::StringRecord) -> Option<&str> {
        let deep = |i: usize, cell: &str| {
            if !cell.trim_start().starts_with(['[', '{']) {
                return false;
            }
            // No deeper than its brackets are many: counted at once, most cells
            // need no reading of their strings.
            let brackets = cell.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
            let within = |depth: usize| 1 + self.quoted_parts[i].len() + depth <= MAX_NESTING;
            !within(brackets) && !within(nesting(cell))
        };
        // The row has a cell for each column: `row_text` checked it.
        (0..row.len())
            .find(|&i| Some(i) != self.id && deep(i, &row[i]))
            .map(|i| &self.headers[i])
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
            let (last, parents) = self.quoted_parts[i]
                .split_last()
                .expect("a split has a part");
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

/// The deepest a row's text may nest: serde_json, which reads what the facts
/// scanner gives up on, refuses more than 128 levels.
const MAX_NESTING: usize = 127;

/// How deep the lists and objects of a JSON text nest.
fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0);
    for b in crate::facts::outside_strings(json) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `"name":` (`key` is the name as a JSON string), after a comma unless it is
/// the object's first field.
fn field_name(text: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        text.push(b',');
    }
    text.extend_from_slice(key.as_bytes());
    text.push(b':');
}

/// Whether a cell is taken as JSON, as written (a number, a list, an object,
/// true, false, null), not as text. The id is not asked: it is echoed as
/// written (`1.10` is not `1.1`, `null` is a name). A number a float would
/// round stays text, as `parse_document` keeps it: a text fact takes it as
/// written, and a number fact reads a decimal string digit for digit.
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
    // A number with an exponent goes into the row as written, for the facts
    // reader to read digit for digit or say at its path that no decimal holds
    // it (the tree would keep it as text when its float is not exact).
    if crate::facts::without_exponent(cell).is_some() {
        return serde_json::from_str::<&serde_json::value::RawValue>(cell).is_ok();
    }
    // A list or an object is never a string: its check builds no tree.
    if cell
        .trim_start_matches(crate::batch::JSON_BLANKS)
        .starts_with(['[', '{'])
    {
        return crate::facts::reads_as_collection(cell);
    }
    match crate::facts::parse_document(cell) {
        Ok(Json::String(_)) | Err(_) => false,
        Ok(_) => true,
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
        // The rule of the JSON tree a row was made before: JSON unless it is
        // text, or parses to text (a quoted string, a number a float rounds).
        let parsed = |cell: &str| match crate::facts::parse_document(cell) {
            Ok(Json::String(_)) | Err(_) => false,
            Ok(_) => true,
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
            !reads_as_json("12345678901234567890123"),
            "a long number is text"
        );
        assert!(!reads_as_json("I.9.2"));
    }

    #[test]
    fn a_row_follows_the_header_its_nested_columns_side_by_side() {
        let c = columns(&["id", "a.x", "b", "a.y.z", "c", "a.w", "b2.q"]);
        let row = csv::StringRecord::from(vec!["i", "1", "2", "3", "4", "5", "6"]);
        assert_eq!(
            c.row_text(&row).unwrap(),
            r#"{"id":"i","a":{"x":1,"y":{"z":3},"w":5},"b":2,"c":4,"b2":{"q":6}}"#
        );
        let names = columns(&["we\"ird", "x..y", ".z"]);
        let row = csv::StringRecord::from(vec!["1", "2", "3"]);
        let text = names.row_text(&row).unwrap();
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"we\"ird": 1, "x": {"": {"y": 2}}, "": {"z": 3}})
        );
    }

    #[test]
    fn a_cell_nesting_deeper_than_a_json_reader_takes_is_refused_by_name() {
        let c = columns(&["id", "a.b"]);
        let deep = format!("{}{}", "[".repeat(125), "]".repeat(125));
        let row = csv::StringRecord::from(vec!["i", deep.as_str()]);
        let error = c.row_text(&row).unwrap_err();
        assert!(error.contains("column `a.b` nests"), "{error}");
        let fits = format!("{}{}", "[".repeat(124), "]".repeat(124));
        let row = csv::StringRecord::from(vec!["i", fits.as_str()]);
        let text = c.row_text(&row).unwrap();
        assert!(serde_json::from_str::<Json>(&text).is_ok());
    }
}
