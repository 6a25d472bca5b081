//! A batch result as one JSON line, written straight into the output buffer: the
//! keys, enum variants and table keys are escaped once per program, and the values
//! the NIS results hold (booleans, numbers, dates, variants, keys, sets of them)
//! are written without going through a serialiser. The bytes are exactly those of
//! [`super::ResultRecord`] serialised compactly (a test checks it); other values
//! go through [`crate::value::Typed`].

use super::ResultHeader;
use crate::eval::Evaluator;
use crate::lower::Compiled;
use crate::program::{Program, Type};
use crate::value::{Typed, Value};
use serde_json::value::RawValue;
use std::io::Write as _;

/// The pieces of a result line that are the same for every record of a program.
pub struct LineWriter {
    /// `,"key":` of each result, in order.
    keys: Vec<Vec<u8>>,
    /// `,"key":value` of each result, for its values that are one of a few.
    keyed: Vec<KeyedValues>,
    /// Each enum's variants and each table's keys as JSON strings, by id.
    variants: Vec<Vec<Vec<u8>>>,
    table_keys: Vec<Vec<Vec<u8>>>,
    /// `,"policy_versions":...,"warnings":...`
    tail: Vec<u8>,
    /// The values of `policy_versions` and `warnings`, for CSV cells.
    versions: Vec<u8>,
    warnings: Vec<u8>,
    /// Each rule as a compact trace lists it, by rule id.
    applied: Vec<Box<RawValue>>,
    /// `,"as_of":"..."`: the evaluator's date is the same for every record.
    as_of: Vec<u8>,
    /// The texts the rules conclude (a procedure's wording), escaped once, by the
    /// address of the text they share with every result that holds them.
    texts: Vec<(usize, Vec<u8>)>,
}

/// A result's key and value as one run of bytes, for each of the values it
/// takes most often: null, the booleans and its enum's variants. Written with
/// one copy, where the key and the value were two calls of `memcpy` (a result
/// line made some thirty, each costing more than its few bytes).
struct KeyedValues {
    null: Vec<u8>,
    bools: [Vec<u8>; 2],
    /// Empty unless the result is of an enum.
    variants: Vec<Vec<u8>>,
}

impl KeyedValues {
    fn new(key: &[u8], ty: &Type, variants: &[Vec<Vec<u8>>]) -> KeyedValues {
        let keyed = |value: &[u8]| [key, value].concat();
        let variants = match ty.required() {
            Type::Enum(e) => variants[e.index()].iter().map(|v| keyed(v)).collect(),
            _ => Vec::new(),
        };
        KeyedValues {
            null: keyed(b"null"),
            bools: [keyed(b"false"), keyed(b"true")],
            variants,
        }
    }

    /// The key and `value`, if `value` is one of those kept (as
    /// [`LineWriter::value`] writes it).
    #[inline(always)]
    fn of(&self, value: &Value) -> Option<&[u8]> {
        match value {
            Value::Absent => Some(&self.null),
            Value::Bool(b) => Some(&self.bools[usize::from(*b)]),
            Value::Enum(i) => self.variants.get(*i as usize).map(Vec::as_slice),
            _ => None,
        }
    }
}

fn json_string(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

impl LineWriter {
    pub fn new(ev: &Evaluator<'_>, header: &ResultHeader) -> LineWriter {
        let c = ev.compiled;
        let p = &c.program;
        let keys: Vec<Vec<u8>> = (c.results.iter())
            .map(|r| [&b","[..], &json_string(&r.key), b":"].concat())
            .collect();
        let variants: Vec<Vec<Vec<u8>>> = (p.enums.iter())
            .map(|e| e.variants.iter().map(|(v, _)| json_string(v)).collect())
            .collect();
        let keyed = (keys.iter().zip(&c.results))
            .map(|(key, r)| KeyedValues::new(key, &r.ty, &variants))
            .collect();
        let table_keys = (p.tables.iter())
            .map(|t| t.rows.iter().map(|r| json_string(&r.key)).collect())
            .collect();
        let tail = [
            &b",\"policy_versions\":"[..],
            header.raw_versions.get().as_bytes(),
            b",\"warnings\":",
            header.raw_warnings.get().as_bytes(),
        ]
        .concat();
        let applied = (crate::trace::entries_by_rule(p))
            .map(|rule| serde_json::value::to_raw_value(&rule).unwrap_or_else(|_| Box::default()))
            .collect();
        let as_of = format!(",\"as_of\":\"{}\"", ev.as_of()).into_bytes();
        let versions = header.raw_versions.get().as_bytes().to_vec();
        let warnings = header.raw_warnings.get().as_bytes().to_vec();
        // The evaluator's copies, which its results share: the graph's own
        // constants are other allocations.
        let texts = (0..c.node_count() as u32)
            .filter_map(|n| match ev.constant(n) {
                Some(Value::Text(t)) => Some((address(t), json_string(t))),
                _ => None,
            })
            .collect();
        LineWriter {
            applied,
            keys,
            keyed,
            variants,
            table_keys,
            tail,
            versions,
            warnings,
            as_of,
            texts,
        }
    }

    /// Writes the result of the run `ev` last made, with its line number and, if
    /// given, its compact trace (the indices of the rules that applied, as
    /// [`Evaluator::applied_rule_indices_into`] lists them); ends with a newline.
    pub fn write(&self, out: &mut Vec<u8>, ev: &Evaluator<'_>, line: u64, trace: Option<&[u32]>) {
        let results = |i| ev.result(i);
        self.write_document(out, ev.compiled, Some(line), ev.facts_id(), results, trace);
        out.push(b'\n');
    }

    /// A result document of `compiled`'s results (`result(i)` the value of
    /// result `i`), with a line number if given: [`Self::write`]'s, with no
    /// newline after it.
    pub fn write_document<'v>(
        &self,
        out: &mut Vec<u8>,
        compiled: &Compiled,
        line: Option<u64>,
        id: Option<&str>,
        result: impl Fn(usize) -> &'v Value,
        trace: Option<&[u32]>,
    ) {
        let p = &compiled.program;
        out.push(b'{');
        if let Some(line) = line {
            out.extend_from_slice(b"\"line\":");
            write_number(out, line);
            out.push(b',');
        }
        out.extend_from_slice(b"\"id\":");
        match id {
            Some(id) => {
                let _ = serde_json::to_writer(&mut *out, id);
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(&self.as_of);
        for (i, (key, r)) in self.keys.iter().zip(&compiled.results).enumerate() {
            let value = result(i);
            match self.keyed[i].of(value) {
                Some(keyed) => out.extend_from_slice(keyed),
                None => {
                    out.extend_from_slice(key);
                    self.value(out, p, &r.ty, value);
                }
            }
        }
        out.extend_from_slice(&self.tail);
        if let Some(trace) = trace {
            out.extend_from_slice(b",\"trace\":");
            self.write_applied(out, trace);
        }
        out.push(b'}');
    }

    /// A writer for results that outlive the evaluator it is made from: it
    /// knows none of the evaluator's texts by their address (an address freed
    /// may be taken by another text), and escapes each text it writes.
    pub fn outliving(mut self) -> LineWriter {
        self.texts.clear();
        self
    }

    /// A compact trace as JSON: the entries of the rules that applied.
    pub fn write_applied(&self, out: &mut Vec<u8>, applied: &[u32]) {
        out.push(b'[');
        for (i, entry) in self.applied_entries(applied).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(entry.get().as_bytes());
        }
        out.push(b']');
    }

    /// The same result as a CSV row: `line`, `id`, an empty `error`, each
    /// result, `as_of`, `policy_versions`, `warnings` and, if given, the trace
    /// (as JSON). A cell holds a JSON string's text, nothing for null, and any
    /// other value as the JSON line writes it, so that a cell parses as the
    /// line's value does. `cell` is room to write a value in before it is
    /// quoted.
    pub fn write_csv(
        &self,
        w: &mut csv::Writer<Vec<u8>>,
        cell: &mut Vec<u8>,
        ev: &Evaluator<'_>,
        line: u64,
        trace: Option<&[u8]>,
    ) -> csv::Result<()> {
        let p = &ev.compiled.program;
        let mut field = |w: &mut csv::Writer<Vec<u8>>, write: &dyn Fn(&mut Vec<u8>)| {
            cell.clear();
            write(cell);
            w.write_field(csv_text(cell))
        };
        field(w, &|out| write_number(out, line))?;
        w.write_field(ev.facts_id().unwrap_or_default())?;
        w.write_field(b"")?;
        for (i, r) in ev.compiled.results.iter().enumerate() {
            field(w, &|out| self.value(out, p, &r.ty, ev.result(i)))?;
        }
        field(w, &|out| write_date(out, ev.as_of()))?;
        w.write_field(&self.versions)?;
        w.write_field(&self.warnings)?;
        if let Some(trace) = trace {
            w.write_field(trace)?;
        }
        w.write_record(None::<&[u8]>)
    }

    /// The compact-trace entries of the rules that applied (by rule index).
    pub fn applied_entries<'a>(&'a self, applied: &'a [u32]) -> impl Iterator<Item = &'a RawValue> {
        applied.iter().map(|r| &*self.applied[*r as usize])
    }

    /// One value, as [`Typed`] writes it.
    fn value(&self, out: &mut Vec<u8>, p: &Program, ty: &Type, v: &Value) {
        match (ty, v) {
            (_, Value::Absent) => out.extend_from_slice(b"null"),
            (Type::Optional(t), v) => self.value(out, p, t, v),
            (_, Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            (Type::Int, Value::Num(n)) => match i64::try_from(*n) {
                Ok(i) => {
                    let _ = write!(out, "{i}");
                }
                Err(_) => {
                    let _ = write!(out, "\"{}\"", n.normalize());
                }
            },
            (_, Value::Num(n)) => {
                let _ = write!(out, "\"{}\"", n.normalize());
            }
            (_, Value::Date(d)) => write_date(out, *d),
            (_, Value::Text(t)) => match self.texts.iter().find(|(a, _)| *a == address(t)) {
                Some((_, escaped)) => out.extend_from_slice(escaped),
                None => {
                    let _ = serde_json::to_writer(&mut *out, &**t);
                }
            },
            (Type::Enum(e), Value::Enum(i)) => {
                out.extend_from_slice(&self.variants[e.index()][*i as usize])
            }
            (Type::Table(t), Value::Key(i)) => {
                out.extend_from_slice(&self.table_keys[t.index()][*i as usize])
            }
            (Type::Set(t) | Type::List(t), Value::Set(items) | Value::List(items)) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.value(out, p, t, item);
                }
                out.push(b']');
            }
            _ => {
                let typed = Typed {
                    program: p,
                    ty,
                    value: v,
                };
                let _ = serde_json::to_writer(&mut *out, &typed);
            }
        }
    }
}

/// A JSON value as a CSV cell: a string's text (unescaped), nothing for null,
/// anything else as it is.
pub(crate) fn csv_text(json: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    match json {
        b"null" => Cow::Borrowed(b""),
        [b'"', text @ .., b'"'] if !text.contains(&b'\\') => Cow::Borrowed(text),
        [b'"', ..] => match serde_json::from_slice::<String>(json) {
            Ok(text) => Cow::Owned(text.into_bytes()),
            Err(_) => Cow::Borrowed(json),
        },
        _ => Cow::Borrowed(json),
    }
}

/// Where a text is held: results that copy a rule's text share it.
fn address(text: &std::sync::Arc<str>) -> usize {
    std::sync::Arc::as_ptr(text) as *const u8 as usize
}

/// A whole number in decimal, without the formatting machinery.
fn write_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A date as a JSON string, as `Date`'s `Display` writes it.
fn write_date(out: &mut Vec<u8>, d: crate::date::Date) {
    let Ok(year @ 0..=9999) = u32::try_from(d.year) else {
        let _ = write!(out, "\"{d}\"");
        return;
    };
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (m, day) = (u32::from(d.month), u32::from(d.day));
    out.extend_from_slice(&[
        b'"',
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
        b'"',
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::facts::Facts;
    use crate::policy::{compile, PolicySource};

    #[test]
    fn numbers_and_dates_are_written_as_display_writes_them() {
        for n in [0, 7, 10, 512, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            write_number(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        for (year, month, day) in [
            (2025, 6, 1),
            (0, 1, 1),
            (9999, 12, 31),
            (10000, 1, 1),
            (-1, 2, 3),
        ] {
            let d = Date { year, month, day };
            let mut out = Vec::new();
            write_date(&mut out, d);
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{d}\""));
        }
    }

    /// The bundled rules on 2025-06-01, and the facts of `count` generated
    /// entities (from `seed`).
    fn bundled_and_entities(seed: u64, count: u64) -> (crate::lower::Compiled, Vec<Facts>) {
        let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
        let catalogue = crate::generate::Catalogue::from_program(&c.program).unwrap();
        let mut rng = crate::generate::Rng::new(seed);
        let facts = (0..count)
            .map(|i| {
                let doc = crate::generate::entity(&mut rng, &catalogue, format!("e-{i}"));
                crate::facts::load_facts(&c.program, &doc).unwrap()
            })
            .collect();
        (c, facts)
    }

    #[test]
    fn the_texts_results_conclude_are_escaped_once() {
        let (c, entities) = bundled_and_entities(5, 500);
        let mut ev = Evaluator::new(&c);
        let lines = LineWriter::new(&ev, &ResultHeader::new(&c.program));
        let mut texts = 0;
        for facts in entities {
            for v in ev.run(facts).unwrap() {
                let items = std::iter::once(&v).chain(v.items());
                for t in items.filter_map(|v| match v {
                    Value::Text(t) => Some(t),
                    _ => None,
                }) {
                    assert!(lines.texts.iter().any(|(a, _)| *a == address(t)), "{t}");
                    texts += 1;
                }
            }
        }
        assert!(texts > 0, "no result concluded a text");
    }

    #[test]
    fn a_csv_cell_holds_a_strings_text_and_any_other_value_as_json() {
        let cell = |json: &str| String::from_utf8(csv_text(json.as_bytes()).into_owned()).unwrap();
        assert_eq!(cell("null"), "");
        assert_eq!(cell("\"important\""), "important");
        assert_eq!(cell(r#""a \"quoted\" name\u00e8""#), "a \"quoted\" nameè");
        assert_eq!(cell("[\"pcm\"]"), "[\"pcm\"]");
        assert_eq!(cell(r#""a\\""#), "a\\");
        assert_eq!(cell(r#""a\"""#), "a\"");
        assert_eq!(cell(r#""""#), "");
        assert_eq!(cell("\""), "\"");
        assert_eq!(cell("42"), "42");
        assert_eq!(cell("true"), "true");
    }

    /// Each cell of a CSV row is the value of the same key in the JSON line:
    /// a string's text, nothing for null, any other value as JSON that parses
    /// to the line's.
    #[test]
    fn csv_rows_hold_the_values_of_the_json_line() {
        let (c, entities) = bundled_and_entities(4, 500);
        let mut ev = Evaluator::new(&c);
        let lines = LineWriter::new(&ev, &ResultHeader::new(&c.program));
        let fixed = ["line", "id", "error"].map(String::from);
        let results = c.results.iter().map(|r| r.key.clone());
        let context = ["as_of", "policy_versions", "warnings", "trace"].map(String::from);
        let columns: Vec<String> = fixed.into_iter().chain(results).chain(context).collect();
        let (mut reached, mut applied, mut cell, mut trace) = (vec![], vec![], vec![], vec![]);
        for (i, facts) in (1..).zip(entities) {
            ev.run(facts).unwrap();
            ev.applied_rule_indices_into(&mut reached, &mut applied);
            let mut line = Vec::new();
            lines.write(&mut line, &ev, i, Some(&applied));
            let line: serde_json::Value = serde_json::from_slice(&line).unwrap();
            trace.clear();
            lines.write_applied(&mut trace, &applied);
            let mut w = csv::Writer::from_writer(Vec::new());
            lines
                .write_csv(&mut w, &mut cell, &ev, i, Some(&trace))
                .unwrap();
            let row = w.into_inner().unwrap();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&row[..]);
            let row = reader.records().next().unwrap().unwrap();
            assert_eq!(row.len(), columns.len());
            for (column, cell) in columns.iter().zip(row.iter()) {
                match line.get(column).unwrap_or(&serde_json::Value::Null) {
                    serde_json::Value::Null => assert_eq!(cell, "", "{column}"),
                    serde_json::Value::String(text) => assert_eq!(cell, text, "{column}"),
                    value => {
                        let cell: serde_json::Value = serde_json::from_str(cell).unwrap();
                        assert_eq!(&cell, value, "{column}")
                    }
                }
            }
        }
    }

    #[test]
    fn lines_are_the_bytes_of_the_serialised_result() {
        let (c, entities) = bundled_and_entities(3, 2_000);
        let mut ev = Evaluator::new(&c);
        let header = ResultHeader::new(&c.program);
        let lines = LineWriter::new(&ev, &header);
        for (i, facts) in (0..).zip(entities) {
            let values = ev.run(facts).unwrap();
            let applied: Vec<&RawValue> = crate::trace::applied_rule_ids(&ev)
                .map(|r| &*lines.applied[r.index()])
                .collect();
            let mut fast = Vec::new();
            let (mut reached, mut indices) = (Vec::new(), Vec::new());
            ev.applied_rule_indices_into(&mut reached, &mut indices);
            lines.write(&mut fast, &ev, i, Some(&indices));
            let record = super::super::ResultRecord {
                line: Some(i),
                trace: Some(crate::trace::TraceView::Serialized(&applied)),
                compact: true,
                ..super::super::ResultRecord::of_run(&header, &ev, &values)
            };
            let mut slow = serde_json::to_vec(&record).unwrap();
            slow.push(b'\n');
            assert_eq!(String::from_utf8(fast), String::from_utf8(slow));
        }
    }
}
