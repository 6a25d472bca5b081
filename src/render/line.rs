//! A batch result as one JSON line, written straight into the output buffer: the
//! keys, enum variants and table keys are escaped once per program, and the values
//! the NIS results hold (booleans, numbers, dates, variants, keys, sets of them)
//! are written without going through a serialiser. The bytes are exactly those of
//! [`super::ResultRecord`] serialised compactly (a test checks it); other values
//! go through [`crate::value::Typed`].

use super::ResultHeader;
use crate::eval::Evaluator;
use crate::program::{Program, Type};
use crate::value::{Typed, Value};
use serde_json::value::RawValue;
use std::io::Write as _;

/// The pieces of a result line that are the same for every record of a program.
pub struct LineWriter {
    /// `,"key":` of each result, in order.
    keys: Vec<Vec<u8>>,
    /// Each enum's variants and each table's keys as JSON strings, by id.
    variants: Vec<Vec<Vec<u8>>>,
    table_keys: Vec<Vec<Vec<u8>>>,
    /// `,"policy_versions":...,"warnings":...`
    tail: Vec<u8>,
    /// Each rule as a compact trace lists it, by rule id.
    pub applied: Vec<Box<RawValue>>,
}

fn json_string(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

impl LineWriter {
    pub fn new(ev: &Evaluator<'_>, header: &ResultHeader) -> LineWriter {
        let c = ev.compiled;
        let p = &c.program;
        let keys = (c.results.iter())
            .map(|r| [&b","[..], &json_string(&r.key), b":"].concat())
            .collect();
        let variants = (p.enums.iter())
            .map(|e| e.variants.iter().map(|(v, _)| json_string(v)).collect())
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
        let applied = (0..p.rules.len() as u32)
            .map(|r| {
                let rule = crate::trace::AppliedRule::of(p, crate::program::RuleId(r));
                serde_json::value::to_raw_value(&rule).unwrap_or_else(|_| Box::default())
            })
            .collect();
        LineWriter {
            applied,
            keys,
            variants,
            table_keys,
            tail,
        }
    }

    /// Writes the result of the run `ev` last made, with its line number and, if
    /// given, its compact trace (the rules that applied, by rule index, as
    /// [`Evaluator::applied_rules`] says); ends with a newline.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        ev: &Evaluator<'_>,
        values: &[Value],
        line: u64,
        trace: Option<&[bool]>,
    ) {
        let p = &ev.compiled.program;
        let _ = write!(out, "{{\"line\":{line},\"id\":");
        match ev.facts_id() {
            Some(id) => {
                let _ = serde_json::to_writer(&mut *out, id);
            }
            None => out.extend_from_slice(b"null"),
        }
        let _ = write!(out, ",\"as_of\":\"{}\"", ev.as_of());
        for ((key, r), v) in self.keys.iter().zip(&ev.compiled.results).zip(values) {
            out.extend_from_slice(key);
            self.value(out, p, &r.ty, v);
        }
        out.extend_from_slice(&self.tail);
        if let Some(trace) = trace {
            out.extend_from_slice(b",\"trace\":[");
            let applied = (trace.iter().zip(&self.applied)).filter(|(a, _)| **a);
            for (i, (_, entry)) in applied.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(entry.get().as_bytes());
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}\n");
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
            (_, Value::Date(d)) => {
                let _ = write!(out, "\"{d}\"");
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::policy::{compile, PolicySource};

    #[test]
    fn lines_are_the_bytes_of_the_serialised_result() {
        let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
        let catalogue = crate::generate::Catalogue::from_program(&c.program).unwrap();
        let mut rng = crate::generate::Rng::new(3);
        let mut ev = Evaluator::new(&c);
        let header = ResultHeader::new(&c.program);
        let lines = LineWriter::new(&ev, &header);
        for i in 0..2_000 {
            let doc = crate::generate::entity(&mut rng, &catalogue, format!("e-{i}"));
            let facts = crate::facts::load_facts(&c.program, &doc).unwrap();
            let values = ev.run(facts).unwrap();
            let applied: Vec<&RawValue> = crate::trace::applied_rule_ids(&ev)
                .map(|r| &*lines.applied[r.index()])
                .collect();
            let mut fast = Vec::new();
            lines.write(&mut fast, &ev, &values, i, Some(&ev.applied_rules()));
            let record = super::super::ResultRecord {
                header: &header,
                ev: &ev,
                values: &values,
                line: Some(i),
                trace: Some(crate::trace::TraceView::Serialized(&applied)),
                compact: true,
            };
            let mut slow = serde_json::to_vec(&record).unwrap();
            slow.push(b'\n');
            assert_eq!(String::from_utf8(fast), String::from_utf8(slow));
        }
    }
}
