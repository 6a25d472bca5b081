//! Runtime values. Numbers are exact decimals (int, decimal and money alike);
//! enum variants and table keys are indices, named again only when rendered.

use crate::date::Date;
use crate::program::{Program, Type};
use rust_decimal::Decimal;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// An optional fact or field that the facts leave out.
    Absent,
    Bool(bool),
    Num(Decimal),
    Date(Date),
    Text(Arc<str>),
    Enum(u32),
    Key(u32),
    /// Sorted and without repeats, so that equality is set equality.
    Set(Arc<[Value]>),
    List(Arc<[Value]>),
    Record(Arc<[Value]>),
}

impl Value {
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_num(&self) -> Option<Decimal> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Builds a set value: sorts and removes repeats.
    pub fn set(mut items: Vec<Value>) -> Value {
        if sort_finding_repeats(&mut items) {
            items.dedup();
        }
        Value::Set(Arc::from(items))
    }

    /// A copy that shares no allocation with `self`: what one thread keeps of a
    /// value all threads read, so that counting references to it does not make
    /// the threads wait on one another's caches.
    pub fn unshared(&self) -> Value {
        let copy = |items: &Arc<[Value]>| items.iter().map(Value::unshared).collect();
        match self {
            Value::Text(t) => Value::Text(Arc::from(&**t)),
            Value::Set(items) => Value::Set(copy(items)),
            Value::List(items) => Value::List(copy(items)),
            Value::Record(fields) => Value::Record(copy(fields)),
            other => other.clone(),
        }
    }

    pub fn items(&self) -> &[Value] {
        match self {
            Value::Set(v) | Value::List(v) => v,
            _ => &[],
        }
    }
}

/// Sorts the entries of a set into the order its equality relies on
/// ([`compare`]); whether an entry repeats another (a set has no repeats: the
/// caller removes them or refuses the set).
pub fn sort_finding_repeats(items: &mut [Value]) -> bool {
    items.sort_by(compare);
    items.windows(2).any(|pair| pair[0] == pair[1])
}

/// A total order, used to keep sets sorted; values of one type compare as expected.
pub fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    use Value::*;
    match (a, b) {
        (Bool(x), Bool(y)) => x.cmp(y),
        (Num(x), Num(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Text(x), Text(y)) => x.cmp(y),
        (Enum(x), Enum(y)) | (Key(x), Key(y)) => x.cmp(y),
        (Set(x), Set(y)) | (List(x), List(y)) | (Record(x), Record(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Absent => 0,
        Value::Bool(_) => 1,
        Value::Num(_) => 2,
        Value::Date(_) => 3,
        Value::Text(_) => 4,
        Value::Enum(_) => 5,
        Value::Key(_) => 6,
        Value::Set(_) => 7,
        Value::List(_) => 8,
        Value::Record(_) => 9,
    }
}

/// A value as JSON, with enum variants and table keys by name.
pub fn to_json(program: &Program, ty: &Type, value: &Value) -> serde_json::Value {
    serde_json::to_value(Typed { program, ty, value }).unwrap_or(serde_json::Value::Null)
}

/// A value with its type, serialised straight to JSON: results are written with no
/// intermediate document. Decimals and money go out as strings, exact whatever the
/// reader's floats; whole numbers of type `int` as numbers.
pub struct Typed<'a> {
    pub program: &'a Program,
    pub ty: &'a Type,
    pub value: &'a Value,
}

impl serde::Serialize for Typed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let p = self.program;
        let typed = |ty, value| Typed {
            program: p,
            ty,
            value,
        };
        match (self.ty, self.value) {
            (_, Value::Absent) => s.serialize_none(),
            (Type::Optional(t), v) => typed(t, v).serialize(s),
            (_, Value::Bool(b)) => s.serialize_bool(*b),
            (Type::Int, Value::Num(n)) => match i64::try_from(*n) {
                Ok(i) => s.serialize_i64(i),
                Err(_) => s.collect_str(&n.normalize()),
            },
            (_, Value::Num(n)) => s.collect_str(&n.normalize()),
            (_, Value::Date(d)) => s.collect_str(d),
            (_, Value::Text(t)) => s.serialize_str(t),
            (Type::Enum(e), Value::Enum(i)) => {
                s.serialize_str(&p.enums[e.index()].variants[*i as usize].0)
            }
            (Type::Table(t), Value::Key(i)) => {
                s.serialize_str(&p.tables[t.index()].rows[*i as usize].key)
            }
            (Type::Set(t) | Type::List(t), Value::Set(items) | Value::List(items)) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items.iter() {
                    seq.serialize_element(&typed(t, v))?;
                }
                seq.end()
            }
            (Type::Record(r), Value::Record(fields)) => {
                let def = &p.records[r.index()];
                let mut map = s.serialize_map(Some(def.fields.len()))?;
                for (f, v) in def.fields.iter().zip(fields.iter()) {
                    map.serialize_entry(&f.name, &typed(&f.ty, v))?;
                }
                map.end()
            }
            (_, other) => s.collect_str(&format_args!("{other:?}")),
        }
    }
}

/// A value as a drafter would write it in a rule file.
pub fn display(program: &Program, ty: &Type, value: &Value) -> String {
    match (ty.required(), value) {
        (_, Value::Absent) => "none".into(),
        (Type::Money, Value::Num(n)) => format!("{} EUR", group_thousands(*n)),
        (_, Value::Num(n)) => n.normalize().to_string(),
        (_, Value::Text(t)) => format!("\"{t}\""),
        (Type::Table(_), _) => to_json(program, ty, value).to_string(),
        (Type::Set(t) | Type::List(t), Value::Set(items) | Value::List(items)) => {
            let parts: Vec<_> = items.iter().map(|v| display(program, t, v)).collect();
            format!("[{}]", parts.join(", "))
        }
        (Type::Record(r), Value::Record(fields)) => {
            let def = &program.records[r.index()];
            let parts: Vec<_> = def
                .fields
                .iter()
                .zip(fields.iter())
                .map(|(f, v)| format!("{}: {}", f.name, display(program, &f.ty, v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        _ => match to_json(program, ty, value) {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
    }
}

fn group_thousands(n: Decimal) -> String {
    let text = n.normalize().to_string();
    let (sign, rest) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('_');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_set_is_sorted_and_its_repeats_found_or_removed() {
        let mut items = vec![Value::Enum(3), Value::Enum(1), Value::Enum(2)];
        assert!(!sort_finding_repeats(&mut items));
        assert_eq!(items, [Value::Enum(1), Value::Enum(2), Value::Enum(3)]);
        let mut repeated = vec![Value::Key(7), Value::Key(2), Value::Key(7)];
        assert!(sort_finding_repeats(&mut repeated));
        let set = Value::set(vec![Value::Key(7), Value::Key(2), Value::Key(7)]);
        assert_eq!(set, Value::Set(Arc::from([Value::Key(2), Value::Key(7)])));
    }

    #[test]
    fn money_is_grouped_like_the_source() {
        assert_eq!(group_thousands(Decimal::from(50_000_000)), "50_000_000");
        assert_eq!(
            group_thousands(Decimal::from_str("-1234.50").unwrap()),
            "-1_234.5"
        );
        assert_eq!(group_thousands(Decimal::from(999)), "999");
    }

    #[test]
    fn sets_are_canonical() {
        let a = Value::set(vec![Value::Key(2), Value::Key(1), Value::Key(2)]);
        let b = Value::set(vec![Value::Key(1), Value::Key(2)]);
        assert_eq!(a, b);
    }
}
