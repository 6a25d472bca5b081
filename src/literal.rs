//! Constants written in rule files (defaults, table cells, example facts) are read
//! through the facts loader: they are first turned into the JSON a facts document
//! would carry, so that a rule file and a facts file can never disagree on what a
//! valid value is.

use crate::ast::Literal;
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
