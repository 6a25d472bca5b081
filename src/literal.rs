//! Constants written in rule files (defaults, table cells, example facts) are read
//! through the facts loader: they are first turned into the JSON a facts document
//! would carry, so that a rule file and a facts file can never disagree on what a
//! valid value is.

use crate::ast::{Literal, Name};
use crate::source::Span;
use serde_json::Value as Json;

pub fn to_json(lit: &Literal) -> Json {
    match lit {
        Literal::Bool(b, _) => Json::Bool(*b),
        Literal::Number(n, _) | Literal::Money(n, _) => Json::String(n.to_string()),
        Literal::Date(d, _) => Json::String(d.to_string()),
        Literal::Text(s, _) | Literal::Word(s, _) => Json::String(s.clone()),
        Literal::None(_) => Json::Null,
        Literal::List(items, _) => Json::Array(items.iter().map(to_json).collect()),
        Literal::Record(fields, _) => Json::Object(
            fields
                .iter()
                .map(|(n, v)| (n.text.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// Where the value at a facts error's JSON path (`$.size.staff`,
/// `$.partners[0].share_pct`, `$[1]`) is written, in `fields` (an example's
/// `given`, the top of the path) or in `root` (a default or a cell, `$` itself):
/// the deepest literal the path reaches, so that a missing field points at the
/// record that lacks it.
pub fn span_at(fields: &[(Name, Literal)], root: Option<&Literal>, path: &str) -> Option<Span> {
    literal_at(fields, root, path).map(Literal::span)
}

/// The literal [`span_at`] finds.
pub fn literal_at<'a>(
    fields: &'a [(Name, Literal)],
    root: Option<&'a Literal>,
    path: &str,
) -> Option<&'a Literal> {
    let mut rest = path.strip_prefix('$')?;
    let mut at: Option<&Literal> = root;
    loop {
        let step = if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, tail) = after.split_at(end);
            rest = tail;
            let fields = match at {
                None => fields,
                Some(Literal::Record(fields, _)) => fields,
                Some(_) => break,
            };
            fields.iter().find(|(n, _)| n.text == name).map(|(_, v)| v)
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index: usize = after[..end].parse().ok()?;
            rest = &after[end + 1..];
            match at {
                Some(Literal::List(items, _)) => items.get(index),
                _ => break,
            }
        } else {
            break;
        };
        match step {
            Some(lit) => at = Some(lit),
            None => break,
        }
    }
    at
}

/// The facts loader's message about `lit`, said of the literal as written: the
/// loader sees a number as a text (numbers travel as exact decimal strings).
pub fn as_written(lit: &Literal, message: &str) -> String {
    match lit {
        Literal::Number(n, _) | Literal::Money(n, _) => {
            message.replace(&format!("the text \"{n}\""), &format!("the number {n}"))
        }
        _ => message.to_string(),
    }
}

/// What a literal of the wrong type most likely means; `expected` names the
/// type, when the literal is the whole constant rather than a part of it.
pub fn wrong_literal_help(lit: &Literal, expected: Option<&str>) -> Option<String> {
    match lit {
        Literal::Number(..) | Literal::Money(..) => {
            expected.map(|ty| format!("write a value of type {ty} here"))
        }
        Literal::Word(w, _) if ["null", "nil", "None", "NULL"].contains(&w.as_str()) => {
            Some("write `none` for no value".into())
        }
        Literal::Text(t, _) if ["true", "false"].contains(&t.as_str()) => {
            Some(format!("write {t} without quotes: in quotes it is a text"))
        }
        Literal::Text(t, _) if t.parse::<rust_decimal::Decimal>().is_ok() => {
            Some(format!("write {t} without quotes: in quotes it is a text"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn span(n: u32) -> Span {
        Span {
            file: FileId(0),
            start: n,
            end: n + 1,
        }
    }

    #[test]
    fn finds_the_literal_a_path_names() {
        let partner = Literal::Record(
            vec![(
                Name {
                    text: "share_pct".into(),
                    span: span(1),
                },
                Literal::Text("x".into(), span(2)),
            )],
            span(3),
        );
        let given = vec![(
            Name {
                text: "partners".into(),
                span: span(4),
            },
            Literal::List(vec![partner], span(5)),
        )];
        assert_eq!(
            span_at(&given, None, "$.partners[0].share_pct"),
            Some(span(2))
        );
        assert_eq!(span_at(&given, None, "$.partners[0].staff"), Some(span(3)));
        assert_eq!(span_at(&given, None, "$.partners[7]"), Some(span(5)));
        assert_eq!(span_at(&given, None, "$.size"), None);
        let list = Literal::List(vec![Literal::None(span(6))], span(7));
        assert_eq!(span_at(&[], Some(&list), "$[0]"), Some(span(6)));
        assert_eq!(span_at(&[], Some(&list), "$"), Some(span(7)));
    }
}
