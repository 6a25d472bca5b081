//! Facts documents (JSON) checked against the declared schema and turned into values.
//! Entry point: [`load_facts`]. The same conversion reads table rows, defaults and
//! the `given` lines of inline examples, so that there is one notion of a valid value.

mod alike;
mod document;
mod scan;
pub use alike::{read_alike, types_alike};
pub(crate) use document::{outside_strings, reads_as_collection};
pub use document::{parse_document, parse_documents};

use crate::program::{show_decimal, FactDef, FactId, FieldSpec, Program, Type};
use crate::value::Value;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::sync::Arc;

/// The reserved top-level key that names a record; echoed in results.
pub const ID_FIELD: &str = "id";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactErrorKind {
    NotJson,
    MissingField,
    WrongType,
    UnknownField,
    OutOfRange,
    UnknownEntry,
    DuplicateField,
    /// An entry listed twice in a set.
    DuplicateEntry,
}

/// One problem with one value of a facts document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FactError {
    pub kind: FactErrorKind,
    /// JSON path of the offending value, e.g. `$.partners[0].share_pct`.
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl std::fmt::Display for FactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(h) = &self.help {
            write!(f, " (help: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FactError {}

/// Where a value sits in the document; turned into text (`$.partners[0].staff`)
/// only when there is an error to report, so that valid records cost no strings.
#[derive(Clone, Copy)]
pub enum JsonPath<'a> {
    Root,
    Field(&'a JsonPath<'a>, &'a str),
    Index(&'a JsonPath<'a>, usize),
}

impl std::fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonPath::Root => f.write_str("$"),
            JsonPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            JsonPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// The facts of one entity, one slot per declared fact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub id: Option<String>,
    pub values: Vec<Value>,
}

impl Facts {
    pub fn get(&self, id: FactId) -> &Value {
        &self.values[id.index()]
    }
}

/// What a facts document is, for an error about one that is not.
const FACTS_OBJECT: &str = "a facts document is a JSON object: {\"entity_types\": [...], ...}";

/// Checks a facts document against the program's fact declarations. The tree's
/// numbers are taken as serde_json parsed them; for text, prefer
/// [`load_facts_from_str`], which reads numbers digit for digit.
pub fn load_facts(program: &Program, doc: &Json) -> Result<Facts, Vec<FactError>> {
    let mut errors = Vec::new();
    let Json::Object(map) = doc else {
        return Err(vec![FactError {
            kind: FactErrorKind::WrongType,
            path: "$".into(),
            message: format!("expected an object of facts, found {}", json_kind(doc)),
            help: Some(match doc {
                Json::Array(_) => format!(
                    "{FACTS_OBJECT}; a JSON array of them is read by `lexnis batch --input json`"
                ),
                _ => FACTS_OBJECT.into(),
            }),
        }]);
    };
    let id = match map.get(ID_FIELD) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        Some(other) => {
            errors.push(wrong_type(
                &JsonPath::Field(&JsonPath::Root, ID_FIELD),
                "a text or a number",
                other,
            ));
            None
        }
    };
    for key in map.keys() {
        if key != ID_FIELD && program.fact_by_name(key).is_none() {
            errors.push(unknown_field(
                &JsonPath::Field(&JsonPath::Root, key),
                key,
                program.facts.iter().map(|f| f.spec.name.as_str()),
            ));
        }
    }
    let mut values = Vec::with_capacity(program.facts.len());
    for fact in &program.facts {
        let spec = &fact.spec;
        let path = JsonPath::Field(&JsonPath::Root, &spec.name);
        let value = match map.get(&spec.name) {
            Some(json) => convert_checked(
                program,
                &spec.ty,
                spec.range.as_ref(),
                json,
                &path,
                &mut errors,
            ),
            None => missing(program, &spec.ty, spec.default.as_ref(), &path, &mut errors),
        };
        values.push(value);
    }
    if errors.is_empty() {
        Ok(Facts { id, values })
    } else {
        Err(errors)
    }
}

/// Converts one JSON value to a value of `ty`, collecting every problem found.
pub fn convert(
    program: &Program,
    ty: &Type,
    json: &Json,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) -> Value {
    convert_checked(program, ty, None, json, path, errors)
}

fn missing(
    program: &Program,
    ty: &Type,
    default: Option<&Value>,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) -> Value {
    if let Some(d) = default {
        return thread_own_copy(d);
    }
    if matches!(ty, Type::Optional(_)) {
        return Value::Absent;
    }
    let name = match path {
        JsonPath::Field(_, name) => name.to_string(),
        other => other.to_string(),
    };
    errors.push(FactError {
        kind: FactErrorKind::MissingField,
        path: path.to_string(),
        message: format!(
            "missing field: a value of type {} is required",
            program.type_name(ty)
        ),
        help: Some(format!("add `\"{name}\": ...` to the facts")),
    });
    Value::Absent
}

/// A default as cheap to take as the program's own, without sharing it: the
/// program is read by every thread of a batch, and two threads changing the
/// count of one value's references wait on each other's caches (`perf`: the
/// code that takes and drops defaults ran 1.6 to 2.5 times as long on two
/// threads). The usual default that holds an allocation is an empty list or
/// set; each thread keeps one of its own.
fn thread_own_copy(default: &Value) -> Value {
    let mut copy = Value::Absent;
    put_thread_own_copy(&mut copy, default);
    copy
}

/// [`thread_own_copy`] written over `out`, in place: a
/// value returned by a call and then copied is read back before its last
/// bytes are written, and the processor stalls on it (4% of the facts
/// reader's samples in objects fell on that copy).
#[inline(always)]
fn put_thread_own_copy(out: &mut Value, default: &Value) {
    thread_local! {
        static EMPTY: Arc<[Value]> = Arc::new([]);
    }
    match default {
        // A flag or a number has nothing to share: a copy as it is, in place.
        Value::Absent => *out = Value::Absent,
        Value::Bool(b) => *out = Value::Bool(*b),
        Value::Num(n) => *out = Value::Num(*n),
        Value::Enum(e) => *out = Value::Enum(*e),
        Value::Set(items) if items.is_empty() => *out = Value::Set(EMPTY.with(Arc::clone)),
        Value::List(items) if items.is_empty() => *out = Value::List(EMPTY.with(Arc::clone)),
        other => *out = other.unshared(),
    }
}

/// [`convert`], and a number outside `range` an error too: how a default is
/// read, so that it obeys its own declaration.
pub fn convert_checked(
    program: &Program,
    ty: &Type,
    range: Option<&crate::ast::Range>,
    json: &Json,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) -> Value {
    let before = errors.len();
    let value = convert_inner(program, ty, json, path, errors);
    if let (Some(range), Value::Num(n), true) = (range, &value, errors.len() == before) {
        check_range(*n, range, path, errors);
    }
    value
}

fn check_range(
    n: Decimal,
    range: &crate::ast::Range,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) {
    if !range.contains(n) {
        let bounds = crate::program::range_text(range);
        // A list is not a range: its values are the law's, one by one.
        let not = match range.only.is_empty() {
            true => "out of range",
            false => "not a value the rules allow",
        };
        errors.push(FactError {
            kind: FactErrorKind::OutOfRange,
            path: path.to_string(),
            message: format!("value {} is {not}: it must be {bounds}", show_decimal(n)),
            help: None,
        });
    }
}

/// Whether a number as written is a value of numeric type `ty` in `range`: within
/// the range and, for an `int`, whole.
#[inline]
fn takes_number(ty: &Type, range: Option<&crate::ast::Range>, n: Decimal) -> bool {
    // A scale of 0 is a whole number without working out its fraction.
    let whole = || n.scale() == 0 || n.fract().is_zero();
    range.is_none_or(|r| r.contains(n)) && (*ty.required() != Type::Int || whole())
}

fn convert_inner(
    program: &Program,
    ty: &Type,
    json: &Json,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) -> Value {
    match ty {
        Type::Optional(inner) => match json {
            Json::Null => Value::Absent,
            _ => convert_inner(program, inner, json, path, errors),
        },
        Type::Bool => match json {
            Json::Bool(b) => Value::Bool(*b),
            other => fail(errors, wrong_type(path, "true or false", other)),
        },
        Type::Int | Type::Decimal | Type::Money => match number(json) {
            Some(n) if *ty == Type::Int && !n.fract().is_zero() => fail(
                errors,
                FactError {
                    kind: FactErrorKind::WrongType,
                    path: path.to_string(),
                    message: format!("expected a whole number, found {}", show_decimal(n)),
                    help: None,
                },
            ),
            Some(n) => Value::Num(n),
            // A number lexnis cannot hold exactly is out of range, not of a wrong type.
            // A text here is a number the reader kept as it was written.
            None if json.is_number() || json.as_str().is_some_and(is_number_beyond) => {
                let shown = match json {
                    Json::String(s) => s.clone(),
                    other => json_kind(other),
                };
                fail(errors, not_exact(path, &shown))
            }
            None => fail(
                errors,
                wrong_type(
                    path,
                    "a number (or a decimal string such as \"1234.50\")",
                    json,
                ),
            ),
        },
        Type::Date => match json.as_str().map(crate::date::Date::parse) {
            Some(Ok(d)) => Value::Date(d),
            Some(Err(e)) => fail(
                errors,
                FactError {
                    kind: FactErrorKind::WrongType,
                    path: path.to_string(),
                    message: e.0,
                    help: None,
                },
            ),
            None => fail(
                errors,
                wrong_type(path, "a date string \"YYYY-MM-DD\"", json),
            ),
        },
        Type::Text => match json {
            Json::String(s) => Value::Text(Arc::from(s.as_str())),
            other => fail(errors, wrong_type(path, "a text", other)),
        },
        Type::Enum(id) => {
            let def = &program.enums[id.index()];
            let names = || def.variants.iter().map(|v| v.0.as_str());
            match json.as_str() {
                Some(s) => match entry(program, ty, s) {
                    Some(v) => v,
                    None => fail(
                        errors,
                        unknown_entry(path, s, &def.name, names(), "lexnis schema"),
                    ),
                },
                None => fail(
                    errors,
                    wrong_type(path, &format!("one of {}", quoted_list(names())), json),
                ),
            }
        }
        Type::Table(id) => {
            let table = &program.tables[id.index()];
            match json.as_str() {
                Some(s) => match entry(program, ty, s) {
                    Some(v) => v,
                    None => fail(
                        errors,
                        unknown_entry(
                            path,
                            s,
                            &table.name,
                            table.rows.iter().map(|r| r.key.as_str()),
                            &format!("lexnis catalog --table {}", table.name),
                        ),
                    ),
                },
                None => fail(
                    errors,
                    wrong_type(path, &format!("a key of table {}", table.name), json),
                ),
            }
        }
        Type::Set(elem) | Type::List(elem) => match json {
            Json::Array(items) => {
                let values: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        convert_inner(program, elem, item, &JsonPath::Index(path, i), errors)
                    })
                    .collect();
                if matches!(ty, Type::Set(_)) {
                    errors.extend(repeated_entry(&values, path));
                    Value::set(values)
                } else {
                    Value::List(Arc::from(values))
                }
            }
            other => fail(errors, wrong_type(path, "a list [...]", other)),
        },
        Type::Record(id) => convert_record(program, *id, json, path, errors),
        Type::Nothing => match json {
            Json::Null => Value::Absent,
            other => fail(errors, wrong_type(path, "null", other)),
        },
    }
}

/// The enum variant or table key named `s`, for a value of that type.
#[inline]
fn entry(program: &Program, ty: &Type, s: &str) -> Option<Value> {
    match ty {
        Type::Table(id) => program.tables[id.index()]
            .index
            .get(s)
            .map(|k| Value::Key(*k)),
        Type::Enum(id) => program.enums[id.index()]
            .variants
            .iter()
            .position(|(name, _)| name == s)
            .map(|i| Value::Enum(i as u32)),
        _ => None,
    }
}

fn convert_record(
    program: &Program,
    id: crate::program::RecordId,
    json: &Json,
    path: &JsonPath<'_>,
    errors: &mut Vec<FactError>,
) -> Value {
    let def = &program.records[id.index()];
    let Json::Object(map) = json else {
        return fail(
            errors,
            wrong_type(path, &format!("an object ({})", def.name), json),
        );
    };
    for key in map.keys() {
        if !def.fields.iter().any(|f| &f.name == key) {
            errors.push(unknown_field(
                &JsonPath::Field(path, key),
                key,
                def.fields.iter().map(|f| f.name.as_str()),
            ));
        }
    }
    let fields: Vec<Value> = def
        .fields
        .iter()
        .map(|f| {
            let fpath = JsonPath::Field(path, &f.name);
            match map.get(&f.name) {
                Some(v) => convert_checked(program, &f.ty, f.range.as_ref(), v, &fpath, errors),
                None => missing(program, &f.ty, f.default.as_ref(), &fpath, errors),
            }
        })
        .collect();
    Value::Record(Arc::from(fields))
}

fn number(json: &Json) -> Option<Decimal> {
    match json {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(Decimal::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(Decimal::from(u))
            } else {
                // serde_json prints floats in their shortest exact form, so the
                // decimal the writer meant is recovered digit for digit, or
                // refused if no decimal holds it, as the reader of text does.
                let text = n.to_string();
                match without_exponent(&text) {
                    Some(plain) => plain.as_deref().and_then(exact_decimal),
                    None => exact_decimal(&text),
                }
            }
        }
        Json::String(s) => decimal_text(s),
        _ => None,
    }
}

/// A decimal written as text, as the facts schema allows it: digits, an optional
/// minus sign and an optional fraction (no blanks, exponent or bare point).
/// Exact or nothing: a digit beyond what a decimal holds is not rounded away
/// (zeros that end a fraction are no such digit).
fn decimal_text(s: &str) -> Option<Decimal> {
    is_decimal_text(s).then(|| exact_decimal(s)).flatten()
}

/// The decimal a text that [`is_decimal_text`] accepts writes, if an exact
/// decimal holds it.
fn exact_decimal(s: &str) -> Option<Decimal> {
    let significant = match s.contains('.') {
        true => s.trim_end_matches('0').trim_end_matches('.'),
        false => s,
    };
    Decimal::from_str_exact(significant).ok()
}

/// The error of a number no exact decimal holds, shown as `shown`.
fn not_exact(path: &JsonPath<'_>, shown: &str) -> FactError {
    FactError {
        kind: FactErrorKind::OutOfRange,
        path: path.to_string(),
        message: format!("{shown} is too large or too precise to compute with exactly"),
        help: Some(format!(
            "numbers are exact decimals of at most 28 digits (up to {})",
            Decimal::MAX
        )),
    }
}

/// A JSON number written with an exponent (`4.5e1`, `25E-1`) as the same
/// number written without one (`45`, `2.5`), so that it is read digit for
/// digit as any other number is, where serde_json would read it as a float
/// and round it (`4.9999999999999999e1` to 50). `None` for a text that is not
/// such a number; `Some(None)` for a number no exact decimal comes near (too
/// large, or too small and not zero).
pub(crate) fn without_exponent(text: &str) -> Option<Option<String>> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let (sign, unsigned) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let exponent_digits = exponent.trim_start_matches(['+', '-']);
    let well_formed = is_decimal_text(unsigned)
        && !unsigned.starts_with('-')
        && exponent.len() - exponent_digits.len() <= 1
        && !exponent_digits.is_empty()
        && exponent_digits.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    // Any exponent of more digits than an i64 holds is out of reach as well.
    let magnitude = exponent_digits
        .parse::<i64>()
        .map_or(1 << 40, |e| e.min(1 << 40));
    let exponent = if exponent.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = [whole, fraction].concat();
    let significant = digits.trim_start_matches('0');
    // The number is 0.`significant` times ten to the power `point`.
    let point = whole.len() as i64 - (digits.len() - significant.len()) as i64 + exponent;
    let significant = significant.trim_end_matches('0');
    if significant.is_empty() {
        return Some(Some(format!("{sign}0")));
    }
    // From 1e-28, the smallest decimal above zero (`point` -27), to
    // `Decimal::MAX`, of 29 digits.
    if !(-27..=29).contains(&point) {
        return Some(None);
    }
    let length = significant.len() as i64;
    let plain = if point <= 0 {
        format!("0.{}{significant}", "0".repeat(-point as usize))
    } else if point >= length {
        format!("{significant}{}", "0".repeat((point - length) as usize))
    } else {
        let (before, after) = significant.split_at(point as usize);
        format!("{before}.{after}")
    };
    Some(Some(format!("{sign}{plain}")))
}

/// A number written as text that no exact decimal holds: too many digits
/// (`is_decimal_text`, which `number` did not read) or an exponent out of reach.
fn is_number_beyond(s: &str) -> bool {
    is_decimal_text(s) || without_exponent(s) == Some(None)
}

fn is_decimal_text(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

fn fail(errors: &mut Vec<FactError>, e: FactError) -> Value {
    errors.push(e);
    Value::Absent
}

pub fn json_kind(json: &Json) -> String {
    match json {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the text \"{s}\""),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "an object".into(),
    }
}

fn wrong_type(path: &JsonPath<'_>, expected: &str, found: &Json) -> FactError {
    // A single value where a list is expected: say how a list is written (a CSV
    // cell holds one the same way).
    let help = (expected.starts_with("a list") && !found.is_array()).then(|| {
        format!(
            "a list is written in brackets, e.g. [{}]; in a CSV cell too",
            found
        )
    });
    FactError {
        kind: FactErrorKind::WrongType,
        path: path.to_string(),
        message: format!(
            "wrong type: expected {expected}, found {}",
            json_kind(found)
        ),
        help,
    }
}

fn unknown_field<'a>(
    path: &JsonPath<'_>,
    key: &str,
    known: impl Iterator<Item = &'a str>,
) -> FactError {
    let known: Vec<&str> = known.collect();
    FactError {
        kind: FactErrorKind::UnknownField,
        path: path.to_string(),
        message: format!("unknown field `{key}`"),
        help: Some(crate::suggest::did_you_mean(
            key,
            known.iter().copied(),
            &format!("the fields allowed here are: {}", known.join(", ")),
        )),
    }
}

/// A key an object gives twice: reading on would keep one of the values without
/// a word.
fn duplicate_field(path: &JsonPath<'_>, key: &str) -> FactError {
    FactError {
        kind: FactErrorKind::DuplicateField,
        path: path.to_string(),
        message: format!("the field `{key}` is given twice in the same object"),
        help: Some(format!("keep one `\"{key}\": ...`")),
    }
}

/// An entry `of` an enum or a table that it does not have; `listing` is the
/// command that lists them all, where they are too many to name here.
fn unknown_entry<'a>(
    path: &JsonPath<'_>,
    found: &str,
    of: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    listing: &str,
) -> FactError {
    const NAMED: usize = 12;
    let listed: Vec<&str> = known.clone().take(NAMED + 1).collect();
    let entries = match listed.len() {
        0..=NAMED => format!("the entries are {}", quoted_list(listed.into_iter())),
        _ => format!(
            "entries include {}; `{listing}` lists them all",
            quoted_list(listed.into_iter().take(NAMED))
        ),
    };
    FactError {
        kind: FactErrorKind::UnknownEntry,
        path: path.to_string(),
        message: format!("\"{found}\" is not an entry of {of}"),
        help: Some(crate::suggest::did_you_mean(found, known, &entries)),
    }
}

/// The first entry of a set that repeats an earlier one: the facts schema says a
/// set has no repeats, and a repeat is more likely a slip than a wish.
fn repeated_entry(items: &[Value], path: &JsonPath<'_>) -> Option<FactError> {
    // The usual set has a few entries: compared pairwise, without a table.
    let mut seen = std::collections::HashMap::new();
    // An entry that could not be read is reported already: it repeats nothing.
    let entries = items.iter().enumerate();
    entries
        .filter(|(_, item)| **item != Value::Absent)
        .find_map(|(i, item)| {
            let first = match items.len() {
                0..=16 => items[..i]
                    .iter()
                    .position(|earlier| earlier == item)
                    .unwrap_or(i),
                _ => *seen.entry(item).or_insert(i),
            };
            (first != i).then(|| FactError {
                kind: FactErrorKind::DuplicateEntry,
                path: JsonPath::Index(path, i).to_string(),
                message: format!(
                    "this entry is listed already, at [{first}]: a set lists each entry once"
                ),
                help: Some("remove the repeat".into()),
            })
        })
}

/// An error met reading a value cut out of a document's text, for the
/// document's reader: without its place in the value's text, which is not its
/// place in the document (the document's reader gives its own).
fn without_place<E: serde::de::Error>(e: serde_json::Error) -> E {
    E::custom(without_position(&e))
}

/// serde_json's message without the " at line L column C" it ends with, which
/// counts from the text serde_json was given rather than from the record.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let place = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&place).unwrap_or(&full).to_string()
}

/// What to do about a serde_json error, where its message says more than
/// the words a user can act on: "unexpected end of hex escape" or "lone
/// leading surrogate", an escape of half a character.
pub(crate) fn help_for_serde_error(message: &str) -> Option<&'static str> {
    let half_character = message.contains("hex escape") || message.contains("surrogate");
    half_character.then_some(
        "a \\u escape stands for one UTF-16 unit: a character beyond U+FFFF is written as a \
         pair of them (\\ud83d\\ude00), and \\ud800 to \\udfff alone stand for no character; \
         write the character itself, or its pair",
    )
}

fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The declared fields of an object: the facts of a document, or a record's.
#[derive(Clone, Copy)]
enum Specs<'a> {
    Facts(&'a [FactDef]),
    Record(&'a [FieldSpec]),
}

impl<'a> Specs<'a> {
    fn iter(self) -> impl Iterator<Item = &'a FieldSpec> + Clone {
        (0..self.len()).map(move |i| self.get(i))
    }

    fn get(self, i: usize) -> &'a FieldSpec {
        match self {
            Specs::Facts(f) => &f[i].spec,
            Specs::Record(r) => &r[i],
        }
    }

    /// The field named `name`, looked for first from `from`, where the last
    /// field read left off: an object's keys usually come in one order.
    fn position(self, name: &str, from: usize) -> Option<usize> {
        self.find_from(from, |field| field == name)
    }

    /// The first field, from `from` round to it, whose name `hit` accepts.
    /// An index that wraps, not a chain of two ranges: in the facts reader,
    /// which looks up every key of a record, the chain took 160 instructions
    /// a record.
    #[inline(always)]
    fn find_from(self, from: usize, mut hit: impl FnMut(&str) -> bool) -> Option<usize> {
        let count = self.len();
        let mut i = from.min(count);
        for _ in 0..count {
            if i == count {
                i = 0;
            }
            if hit(&self.get(i).name) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    fn len(self) -> usize {
        match self {
            Specs::Facts(f) => f.len(),
            Specs::Record(r) => r.len(),
        }
    }
}

/// A facts record's text as a JSON document, as [`parse_document`] reads it;
/// where it is none (a number past what a document holds, `1e400`), the
/// reasons the facts reader gives, each at its place in the record, if it
/// gives any.
pub fn parse_document_naming_places(program: &Program, text: &str) -> Result<Json, TextFactsError> {
    parse_document(text).map_err(|e| match load_facts_from_str(program, text) {
        Err(TextFactsError::Invalid(id, problems)) => TextFactsError::Invalid(id, problems),
        Err(TextFactsError::NotJson(_)) | Ok(_) => TextFactsError::NotJson(e),
    })
}

/// Why a facts document given as text could not be read.
#[derive(Debug)]
pub enum TextFactsError {
    /// Not JSON at all.
    NotJson(serde_json::Error),
    /// JSON, but not facts of this schema; the id, if the document had one.
    Invalid(Option<Json>, Vec<FactError>),
}

/// One line a problem: the place in the JSON (`$.size.staff`), what is wrong
/// and what to do.
impl std::fmt::Display for TextFactsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextFactsError::NotJson(e) => write!(f, "not valid JSON: {e}"),
            TextFactsError::Invalid(_, errors) => {
                let lines: Vec<String> = errors.iter().map(FactError::to_string).collect();
                f.write_str(&lines.join("\n"))
            }
        }
    }
}

impl std::error::Error for TextFactsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TextFactsError::NotJson(e) => Some(e),
            TextFactsError::Invalid(..) => None,
        }
    }
}

/// Reads a facts document straight from its text, with the result of
/// [`load_facts`] and without building a JSON tree. The common record is read by
/// a reader that follows the schema over its bytes (`scan`), which gives up on
/// anything it is not sure of; the document is then read with serde_json, whose
/// values and errors are the document's.
pub fn load_facts_from_str(program: &Program, text: &str) -> Result<Facts, TextFactsError> {
    match scan::read(program, text) {
        Some(facts) => Ok(facts),
        None => read_with_serde(program, text),
    }
}

/// [`load_facts_from_str`], written over the facts of an earlier record: a
/// stream of records read into one `Facts` (given back by
/// [`crate::eval::Evaluator::take_facts`] after a results-only run its lean
/// plan decided) reuses its records' and lists' allocations where the
/// evaluator holds none of them, instead of allocating and freeing them for
/// every record (a list only when its length is the last one's; texts are
/// always allocated). The values read are those
/// [`load_facts_from_str`] reads. On an error, `facts` is left empty (no id,
/// no values): an evaluator refuses it, rather than run on part of a record.
pub fn load_facts_from_str_into(
    program: &Program,
    text: &str,
    facts: &mut Facts,
) -> Result<(), TextFactsError> {
    if scan::read_into(program, text, facts).is_some() {
        return Ok(());
    }
    match read_with_serde(program, text) {
        Ok(read) => *facts = read,
        Err(e) => {
            facts.id = None;
            facts.values.clear();
            return Err(e);
        }
    }
    Ok(())
}

/// The common record that opens `bytes` (a JSON line and the lines after it,
/// not yet checked for UTF-8), written over `facts` as
/// [`load_facts_from_str_into`] does, and how many bytes its line takes with
/// its `\n`; `None` where the reader is not sure of the line (a wrong value,
/// a newline inside the record, anything after it), `facts` then holding
/// part of the line and to be read over, not evaluated: the caller cuts the
/// line and reads it with [`load_facts_from_str_into`], whose values and
/// errors are the line's (a blank line, or one that is not UTF-8, leaves it
/// as it is, for the next record read there).
pub(crate) fn read_line_into(program: &Program, bytes: &[u8], facts: &mut Facts) -> Option<usize> {
    scan::read_line_into(program, bytes, facts)
}

/// The document read by serde_json: objects and lists are walked as they are
/// parsed and only scalar leaves become JSON values, which then go through the
/// same conversion as [`load_facts`].
fn read_with_serde(program: &Program, text: &str) -> Result<Facts, TextFactsError> {
    use serde::de::DeserializeSeed;
    let errors = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = stream::DocumentSeed {
        program,
        errors: &errors,
    };
    let (id, values) = seed
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(TextFactsError::NotJson)?;
    let errors = errors.into_inner();
    if !errors.is_empty() {
        return Err(TextFactsError::Invalid(id, errors));
    }
    let id = id.and_then(|v| match v {
        Json::String(s) => Some(s),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    });
    Ok(Facts { id, values })
}

mod stream {
    use super::document::FieldName;
    use super::*;
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;

    type Errors<'e> = &'e RefCell<Vec<FactError>>;

    /// The whole document: the id and one value per declared fact.
    pub struct DocumentSeed<'a> {
        pub program: &'a Program,
        pub errors: Errors<'a>,
    }

    impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
        type Value = (Option<Json>, Vec<Value>);
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for DocumentSeed<'_> {
        type Value = (Option<Json>, Vec<Value>);
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of facts")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut id = None;
            let values = read_fields(
                map,
                self.program,
                Specs::Facts(&self.program.facts),
                &JsonPath::Root,
                self.errors,
                Some(&mut id),
            )?;
            Ok((id.filter(|v| !v.is_null()), values))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.not_an_object(Json::Array(Vec::new()))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            self.not_an_object(Json::String(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            self.not_an_object(Json::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            self.not_an_object(Json::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            self.not_an_object(Json::from(v))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            self.not_an_object(Json::Bool(v))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            self.not_an_object(Json::Null)
        }
    }

    impl DocumentSeed<'_> {
        fn not_an_object<E>(&self, found: Json) -> Result<(Option<Json>, Vec<Value>), E> {
            let e = load_facts(self.program, &found).err().unwrap_or_default();
            self.errors.borrow_mut().extend(e);
            Ok((None, Vec::new()))
        }
    }

    /// One value of a declared type, at a path.
    struct ValueSeed<'a> {
        program: &'a Program,
        ty: &'a Type,
        range: Option<&'a crate::ast::Range>,
        path: &'a JsonPath<'a>,
        errors: Errors<'a>,
    }

    impl ValueSeed<'_> {
        /// A scalar of the expected kind, converted as it is read; `None` leaves it
        /// to [`Self::leaf`], which says what is wrong.
        fn number(&self, n: impl Into<Decimal>) -> Option<Value> {
            if !self.ty.required().is_numeric() {
                return None;
            }
            let n = n.into();
            self.in_range(n).then_some(Value::Num(n))
        }

        /// A number written with a fraction or many digits, read digit for digit;
        /// what does not fit the type goes through the shared conversion, which
        /// says why (a fraction for an `int`, out of range, too precise).
        /// A number written as `is_decimal_text` accepts it.
        fn number_text(&self, text: &str) -> Value {
            match exact_decimal(text) {
                Some(n) if takes_number(self.ty, self.range, n) => Value::Num(n),
                _ => self.leaf(Json::String(text.to_string())),
            }
        }

        /// A number written with an exponent that no decimal holds, said as
        /// the tree's reading says it of its float.
        fn beyond_any_decimal(&self, text: &str) -> Value {
            let error = not_exact(self.path, &format!("the number {text}"));
            fail(&mut self.errors.borrow_mut(), error)
        }

        fn in_range(&self, n: Decimal) -> bool {
            self.range.is_none_or(|r| r.contains(n))
        }

        fn text(&self, v: &str) -> Option<Value> {
            let p = self.program;
            match self.ty.required() {
                ty @ (Type::Table(_) | Type::Enum(_)) => entry(p, ty, v),
                Type::Text => Some(Value::Text(Arc::from(v))),
                Type::Date => crate::date::Date::parse(v).ok().map(Value::Date),
                Type::Decimal | Type::Money => decimal_text(v)
                    .filter(|n| self.in_range(*n))
                    .map(Value::Num),
                _ => None,
            }
        }

        fn null(&self) -> Value {
            match self.ty {
                Type::Optional(_) => Value::Absent,
                _ => self.leaf(Json::Null),
            }
        }

        /// A scalar (or an unexpected container) goes through the shared conversion.
        fn leaf(&self, json: Json) -> Value {
            convert_checked(
                self.program,
                self.ty,
                self.range,
                &json,
                self.path,
                &mut self.errors.borrow_mut(),
            )
        }
    }

    impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
        type Value = Value;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            if !self.ty.required().is_numeric() {
                return d.deserialize_any(self);
            }
            // A number is read from its text: a fraction or a long integer would
            // reach the visitor as a float, and 249.99999999999999999 as 250.
            let text = <&serde_json::value::RawValue>::deserialize(d)?.get();
            if let Some(n) = whole_number(text) {
                return Ok(self.number(n).unwrap_or_else(|| self.leaf(Json::from(n))));
            }
            if is_decimal_text(text) {
                return Ok(self.number_text(text));
            }
            match without_exponent(text) {
                Some(Some(plain)) if exact_decimal(&plain).is_some() => {
                    return Ok(self.number_text(&plain))
                }
                Some(_) => return Ok(self.beyond_any_decimal(text)),
                None => {}
            }
            let mut value = serde_json::Deserializer::from_str(text);
            serde::Deserializer::deserialize_any(&mut value, self).map_err(without_place)
        }
    }

    /// The common number of a facts record: up to 18 digits, no sign, no fraction.
    fn whole_number(text: &str) -> Option<u64> {
        let (n, count) = super::scan::digits(text.as_bytes())?;
        (count == text.len()).then_some(n)
    }

    impl<'de> Visitor<'de> for ValueSeed<'_> {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a value of the declared type")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(match self.ty.required() {
                Type::Bool => Value::Bool(v),
                _ => self.leaf(Json::Bool(v)),
            })
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(self.number(v).unwrap_or_else(|| self.leaf(Json::from(v))))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(self.number(v).unwrap_or_else(|| self.leaf(Json::from(v))))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(self.leaf(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(self
                .text(v)
                .unwrap_or_else(|| self.leaf(Json::String(v.to_string()))))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(self.null())
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(self.null())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let (elem, is_set) = match self.ty.required() {
                Type::Set(e) => (e.as_ref(), true),
                Type::List(e) => (e.as_ref(), false),
                _ => {
                    let json =
                        Json::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                    return Ok(self.leaf(json));
                }
            };
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
            loop {
                let path = JsonPath::Index(self.path, items.len());
                let seed = ValueSeed {
                    program: self.program,
                    ty: elem,
                    range: None,
                    path: &path,
                    errors: self.errors,
                };
                match seq.next_element_seed(seed)? {
                    Some(v) => items.push(v),
                    None => break,
                }
            }
            Ok(if is_set {
                self.errors
                    .borrow_mut()
                    .extend(repeated_entry(&items, self.path));
                Value::set(items)
            } else {
                Value::List(Arc::from(items))
            })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
            let p = self.program;
            let Type::Record(id) = self.ty.required() else {
                let json = Json::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                return Ok(self.leaf(json));
            };
            let def = &p.records[id.index()];
            let fields = read_fields(
                map,
                p,
                Specs::Record(&def.fields),
                self.path,
                self.errors,
                None,
            )?;
            Ok(Value::Record(Arc::from(fields)))
        }
    }

    /// Reads an object field by field, each with its declared type; reports unknown
    /// keys and fills missing ones with their defaults. With `id`, the document's
    /// reserved `id` key is read into it.
    fn read_fields<'de, A: MapAccess<'de>>(
        mut map: A,
        program: &Program,
        specs: Specs<'_>,
        path: &JsonPath<'_>,
        errors: Errors<'_>,
        mut id: Option<&mut Option<Json>>,
    ) -> Result<Vec<Value>, A::Error> {
        // One vector, the fields read marked in `seen`; the others take their
        // defaults at the end.
        let mut values: Vec<Value> = Vec::with_capacity(specs.len());
        // Not `vec![Value::Absent; n]`, which clones the value n times.
        values.resize_with(specs.len(), || Value::Absent);
        let mut seen = Seen::new(specs.len());
        let mut next = 0;
        while let Some(FieldName(key)) = map.next_key::<FieldName<'de>>()? {
            if let (Some(id), true) = (id.as_deref_mut(), key == ID_FIELD) {
                let v = match id_as_written(map.next_value()?) {
                    Ok(v) => v,
                    Err(error) => {
                        errors.borrow_mut().push(not_an_id(path, error));
                        Json::Null
                    }
                };
                if id.is_some() {
                    let path = JsonPath::Field(path, ID_FIELD);
                    errors.borrow_mut().push(duplicate_field(&path, ID_FIELD));
                }
                if !matches!(v, Json::Null | Json::String(_) | Json::Number(_)) {
                    errors.borrow_mut().push(wrong_type(
                        &JsonPath::Field(path, ID_FIELD),
                        "a text or a number",
                        &v,
                    ));
                }
                // The first id names the record in its error record: the
                // one a reader of the input finds first.
                if id.is_none() {
                    *id = Some(v);
                }
                continue;
            }
            match specs.position(&key, next) {
                Some(i) => {
                    next = i + 1;
                    let f = specs.get(i);
                    let fpath = JsonPath::Field(path, &f.name);
                    if seen.has(i) {
                        errors.borrow_mut().push(duplicate_field(&fpath, &f.name));
                    }
                    let seed = ValueSeed {
                        program,
                        ty: &f.ty,
                        range: f.range.as_ref(),
                        path: &fpath,
                        errors,
                    };
                    values[i] = map.next_value_seed(seed)?;
                    seen.mark(i);
                }
                None => {
                    let names = specs.iter().map(|f| f.name.as_str());
                    errors.borrow_mut().push(unknown_field(
                        &JsonPath::Field(path, &key),
                        &key,
                        names,
                    ));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut errors = errors.borrow_mut();
        for (i, value) in values.iter_mut().enumerate().filter(|(i, _)| !seen.has(*i)) {
            let f = specs.get(i);
            *value = match &f.default {
                // The usual case, without building the field's path.
                Some(d) => thread_own_copy(d),
                None => missing(
                    program,
                    &f.ty,
                    None,
                    &JsonPath::Field(path, &f.name),
                    &mut errors,
                ),
            };
        }
        Ok(values)
    }

    /// The id as the record writes it: a number is kept as its text, since it is
    /// a key to join results on (as a float, 12345678901234567890123 and ...124
    /// would both be 1.2345678901234568e+22); anything else as JSON.
    /// A number beyond a float (`1e400`) is an id as written too; a text
    /// with an escape of half a character (`"\ud800"`) is an error.
    fn id_as_written(raw: &serde_json::value::RawValue) -> Result<Json, serde_json::Error> {
        let text = raw.get();
        let is_number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Number(_)) => Ok(Json::String(text.to_string())),
            Err(_) if is_number => Ok(Json::String(text.to_string())),
            read => read,
        }
    }

    /// The error of an id that serde_json passed over as JSON but does not
    /// read as a value (an escape of half a character).
    fn not_an_id(path: &JsonPath<'_>, e: serde_json::Error) -> FactError {
        let what = without_position(&e);
        FactError {
            kind: FactErrorKind::WrongType,
            path: JsonPath::Field(path, ID_FIELD).to_string(),
            help: help_for_serde_error(&what).map(str::to_string),
            message: format!("the id is not a valid text: {what}"),
        }
    }

    /// Which fields of an object were read: a bit each, in a word for the usual
    /// object of at most 64 fields (no allocation per object).
    enum Seen {
        Few(u64),
        Many(Vec<bool>),
    }

    impl Seen {
        fn new(fields: usize) -> Seen {
            match fields {
                0..=64 => Seen::Few(0),
                _ => Seen::Many(vec![false; fields]),
            }
        }

        fn mark(&mut self, i: usize) {
            match self {
                Seen::Few(bits) => *bits |= 1 << i,
                Seen::Many(flags) => flags[i] = true,
            }
        }

        fn has(&self, i: usize) -> bool {
            match self {
                Seen::Few(bits) => bits >> i & 1 == 1,
                Seen::Many(flags) => flags[i],
            }
        }
    }

    use serde::Deserialize as _;
}

#[cfg(test)]
mod tests {
    use super::{
        decimal_text, load_facts_from_str, without_exponent, FactErrorKind, TextFactsError,
    };
    use crate::value::Value;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn bundled_program() -> crate::program::Program {
        crate::policy::compile(
            &crate::policy::PolicySource::bundled(),
            crate::date::Date::parse("2025-06-01").unwrap(),
        )
        .unwrap()
        .program
    }

    fn with_staff(staff: &str) -> String {
        format!(r#"{{"size": {{"staff": {staff}, "turnover_eur": 1, "balance_sheet_eur": 1}}}}"#)
    }

    #[test]
    fn a_number_with_an_exponent_is_written_out_digit_for_digit() {
        let cases = [
            ("4.5e1", "45"),
            ("25E-1", "2.5"),
            ("-1.5e+2", "-150"),
            ("1.000e3", "1000"),
            ("0.0012e2", "0.12"),
            ("120e-2", "1.2"),
            ("4.9999999999999999e1", "49.999999999999999"),
            ("0e999999999999999999999", "0"),
            // The ends of what a decimal holds: 29 digits, 28 after the point.
            (
                "7.9228162514264337593543950335e28",
                "79228162514264337593543950335",
            ),
            ("1e-28", "0.0000000000000000000000000001"),
        ];
        for (written, plain) in cases {
            assert_eq!(
                without_exponent(written),
                Some(Some(plain.into())),
                "{written}"
            );
        }
        for beyond in ["1e29", "1e-29", "1e400", "-1e400", "1e99999999999999999999"] {
            assert_eq!(without_exponent(beyond), Some(None), "{beyond}");
        }
        for not_scientific in ["45", "1.5", "1e", "e5", "1e+-5", "1ee5", "--1e5", "1.e5"] {
            assert_eq!(without_exponent(not_scientific), None, "{not_scientific}");
        }
    }

    /// The staff a facts text with these sizes is read with.
    fn staff_read(program: &crate::program::Program, staff: &str) -> Value {
        let facts = load_facts_from_str(program, &with_staff(staff))
            .ok()
            .unwrap();
        let size = program.fact_by_name("size").unwrap();
        match facts.get(size) {
            Value::Record(fields) => fields[0].clone(),
            other => panic!("size read as {other:?}"),
        }
    }

    #[test]
    fn a_number_with_an_exponent_is_read_exactly_not_as_a_float() {
        let program = bundled_program();
        let size = &program.facts[program.fact_by_name("size").unwrap().index()];
        let crate::program::Type::Record(record) = size.spec.ty.required() else {
            panic!("size is a record");
        };
        assert_eq!(program.records[record.index()].fields[0].name, "staff");
        // As a float this is 50, a medium enterprise's staff; the text says less.
        let exact = Decimal::from_str("49.999999999999999").unwrap();
        assert_eq!(
            staff_read(&program, "4.9999999999999999e1"),
            Value::Num(exact)
        );
        assert_eq!(
            staff_read(&program, "1.00000000000000001e7"),
            staff_read(&program, "10000000.0000000001")
        );
    }

    #[test]
    fn a_number_beyond_any_decimal_is_out_of_range_whatever_its_exponent() {
        let program = bundled_program();
        for staff in ["1e400", "1e-400", "1.5e-29", "-1e400"] {
            let Err(TextFactsError::Invalid(_, errors)) =
                load_facts_from_str(&program, &with_staff(staff))
            else {
                panic!("{staff} was read, or read as no JSON");
            };
            assert_eq!(errors[0].kind, FactErrorKind::OutOfRange, "{staff}");
            assert_eq!(errors[0].path, "$.size.staff", "{staff}");
            assert!(errors[0].message.contains(staff), "{}", errors[0].message);
        }
    }

    #[test]
    fn an_id_with_an_escape_of_half_a_character_is_an_error_not_its_raw_text() {
        let program = bundled_program();
        let text = format!(r#"{{"id": "\ud800", {}"#, &with_staff("1")[1..]);
        let Err(TextFactsError::Invalid(id, errors)) = load_facts_from_str(&program, &text) else {
            panic!("an id of half a character was read");
        };
        assert_eq!(id, None);
        assert_eq!(errors[0].path, "$.id");
        assert!(
            errors[0].message.contains("hex escape"),
            "{}",
            errors[0].message
        );
        // A number beyond a float is still an id, as written.
        let text = format!(r#"{{"id": 1e400, {}"#, &with_staff("1")[1..]);
        let facts = load_facts_from_str(&program, &text).ok().unwrap();
        assert_eq!(facts.id.as_deref(), Some("1e400"));
    }

    #[test]
    fn decimal_text_is_what_the_facts_schema_allows() {
        for good in ["10", "-3", "1234.50", "0.5"] {
            assert!(decimal_text(good).is_some(), "{good}");
        }
        // Exact: zeros that end a fraction hold no digit, others are not rounded.
        let zeros = format!("250.{}", "0".repeat(30));
        assert_eq!(decimal_text(&zeros), Some(rust_decimal::Decimal::from(250)));
        assert_eq!(decimal_text(&format!("0.{}1", "0".repeat(30))), None);
        for bad in ["1e5", " 10", "10 ", "10.", ".5", "+1", "1_000", "", "-"] {
            assert!(decimal_text(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_number_too_large_to_hold_is_out_of_range() {
        let program = bundled_program();
        for staff in ["1e29", "\"99999999999999999999999999999999\""] {
            let Err(TextFactsError::Invalid(_, errors)) =
                load_facts_from_str(&program, &with_staff(staff))
            else {
                panic!("{staff} was read");
            };
            assert_eq!(errors[0].kind, FactErrorKind::OutOfRange, "{staff}");
        }
    }
}
