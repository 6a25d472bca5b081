//! Facts documents (JSON) checked against the declared schema and turned into values.
//! Entry point: [`load_facts`]. The same conversion reads table rows, defaults and
//! the `given` lines of inline examples, so that there is one notion of a valid value.

use crate::program::{show_decimal, FactId, Program, Type};
use crate::value::Value;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::str::FromStr;
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
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub id: Option<String>,
    pub values: Vec<Value>,
}

impl Facts {
    pub fn get(&self, id: FactId) -> &Value {
        &self.values[id.index()]
    }
}

/// Checks a facts document against the program's fact declarations.
pub fn load_facts(program: &Program, doc: &Json) -> Result<Facts, Vec<FactError>> {
    let mut errors = Vec::new();
    let Json::Object(map) = doc else {
        return Err(vec![FactError {
            kind: FactErrorKind::WrongType,
            path: "$".into(),
            message: format!("expected an object of facts, found {}", json_kind(doc)),
            help: Some("a facts document is a JSON object: {\"entity_types\": [...], ...}".into()),
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
        return d.clone();
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

fn convert_checked(
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
    let below = range.min.is_some_and(|m| n < m);
    let above = range.max.is_some_and(|m| n > m);
    if below || above {
        let bounds = match (range.min, range.max) {
            (Some(a), Some(b)) => format!("between {} and {}", show_decimal(a), show_decimal(b)),
            (Some(a), None) => format!("at least {}", show_decimal(a)),
            (None, Some(b)) => format!("at most {}", show_decimal(b)),
            (None, None) => String::new(),
        };
        errors.push(FactError {
            kind: FactErrorKind::OutOfRange,
            path: path.to_string(),
            message: format!(
                "value {} is out of range: it must be {bounds}",
                show_decimal(n)
            ),
            help: None,
        });
    }
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
                Some(s) => match def.variants.iter().position(|v| v.0 == s) {
                    Some(i) => Value::Enum(i as u32),
                    None => fail(errors, unknown_entry(path, s, &def.name, names())),
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
                Some(s) => match table.index.get(s) {
                    Some(i) => Value::Key(*i),
                    None => fail(
                        errors,
                        unknown_entry(
                            path,
                            s,
                            &table.name,
                            table.rows.iter().map(|r| r.key.as_str()),
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
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        convert_inner(program, elem, item, &JsonPath::Index(path, i), errors)
                    })
                    .collect();
                if matches!(ty, Type::Set(_)) {
                    Value::set(values)
                } else {
                    Value::List(Arc::new(values))
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
    let fields = def
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
    Value::Record(Arc::new(fields))
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
                // decimal the writer meant is recovered digit for digit.
                let text = n.to_string();
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .ok()
            }
        }
        Json::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
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
    FactError {
        kind: FactErrorKind::WrongType,
        path: path.to_string(),
        message: format!(
            "wrong type: expected {expected}, found {}",
            json_kind(found)
        ),
        help: None,
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

fn unknown_entry<'a>(
    path: &JsonPath<'_>,
    found: &str,
    of: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> FactError {
    let listed: Vec<&str> = known.clone().take(12).collect();
    FactError {
        kind: FactErrorKind::UnknownEntry,
        path: path.to_string(),
        message: format!("\"{found}\" is not an entry of {of}"),
        help: Some(crate::suggest::did_you_mean(
            found,
            known,
            &format!(
                "entries include {}; `lexnis catalog` lists them all",
                quoted_list(listed.into_iter())
            ),
        )),
    }
}

fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
