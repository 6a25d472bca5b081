//! The JSON Schema (draft 2020-12) of facts documents, generated from the fact
//! declarations, so that the published schema can never drift from the rules.

use crate::program::{show_decimal, FieldSpec, Program, Type};
use serde_json::{json, Map, Value as Json};

pub fn facts_schema(p: &Program) -> Json {
    let mut properties = Map::new();
    properties.insert(
        "id".into(),
        json!({"type": ["string", "number", "null"], "description": "Identifier of the entity, echoed in the result (null, as when it is left out, for none)"}),
    );
    let mut required = Vec::new();
    for f in &p.facts {
        properties.insert(f.spec.name.clone(), field_schema(p, &f.spec));
        if is_required(&f.spec) {
            required.push(Json::String(f.spec.name.clone()));
        }
    }
    let mut defs = Map::new();
    for r in &p.records {
        defs.insert(
            r.name.clone(),
            record_schema(p, &r.fields, r.description.as_deref()),
        );
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lexnis facts document",
        "description": format!("Facts of one entity for the acts in force on {}: {}", p.as_of.map(|d| d.to_string()).unwrap_or_default(), p.acts.iter().map(|a| a.cited_as.as_str()).collect::<Vec<_>>().join(", ")),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
        "$defs": defs,
    })
}

fn is_required(f: &FieldSpec) -> bool {
    f.default.is_none() && !matches!(f.ty, Type::Optional(_))
}

fn record_schema(p: &Program, fields: &[FieldSpec], description: Option<&str>) -> Json {
    let properties: Map<String, Json> = fields
        .iter()
        .map(|f| (f.name.clone(), field_schema(p, f)))
        .collect();
    let required: Vec<Json> = fields
        .iter()
        .filter(|f| is_required(f))
        .map(|f| Json::String(f.name.clone()))
        .collect();
    let mut s = json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
    if let Some(d) = description {
        s["description"] = Json::String(d.to_string());
    }
    s
}

/// A decimal's text as a JSON number (whole numbers stay exact).
fn json_number(text: &str) -> Option<Json> {
    serde_json::from_str::<serde_json::Number>(text)
        .ok()
        .map(Json::Number)
}

fn field_schema(p: &Program, f: &FieldSpec) -> Json {
    let mut s = type_schema(p, &f.ty);
    if let (Some(r), Some(obj)) = (&f.range, s.as_object_mut()) {
        // Standard keywords, so that any validator checks the bounds; they
        // hold for numbers, and an amount written as text is checked by
        // lexnis alone.
        for (keyword, bound) in [("minimum", r.min), ("maximum", r.max)] {
            if let Some(number) = bound.and_then(|b| json_number(&show_decimal(b))) {
                obj.insert(keyword.into(), number);
            }
        }
        if let Some(mut only) = listed_values(f.ty.required(), r) {
            // `optional int one of ...`: null stays allowed beside the list.
            if let (Type::Optional(_), Json::Array(choices)) = (&f.ty, &mut only) {
                choices.push(json!({"type": "null"}));
            }
            obj.insert("oneOf".into(), only);
        }
    }
    if let (Some(d), Some(obj)) = (&f.description, s.as_object_mut()) {
        obj.insert("description".into(), Json::String(d.clone()));
    }
    s
}

/// The values of an int's `one of`, as a number or as text, in place of any
/// integer (a decimal's list is left to lexnis: its text forms are many).
fn listed_values(ty: &Type, range: &crate::ast::Range) -> Option<Json> {
    let numbers: Option<Vec<Json>> = (range.only.iter())
        .map(|n| json_number(&show_decimal(*n)))
        .collect();
    let texts: Vec<String> = range.only.iter().map(|n| show_decimal(*n)).collect();
    match (ty, numbers) {
        (Type::Int, Some(numbers)) if !numbers.is_empty() => Some(json!([
            {"type": "integer", "enum": numbers},
            {"type": "string", "enum": texts}
        ])),
        _ => None,
    }
}

fn type_schema(p: &Program, ty: &Type) -> Json {
    let number = json!({"oneOf": [{"type": "number"}, {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}]});
    match ty {
        Type::Bool => json!({"type": "boolean"}),
        Type::Int => {
            json!({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]})
        }
        Type::Decimal => number,
        Type::Money => {
            let mut m = number;
            m["x-unit"] = json!("EUR");
            m
        }
        Type::Date => json!({"type": "string", "format": "date"}),
        Type::Text | Type::Nothing => json!({"type": "string"}),
        Type::Enum(id) => {
            json!({"enum": p.enums[id.index()].variants.iter().map(|v| v.0.clone()).collect::<Vec<_>>()})
        }
        Type::Table(id) => {
            let t = &p.tables[id.index()];
            json!({"enum": t.rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), "description": format!("a key of table {}: see `lexnis catalog --table {}`", t.name, t.name)})
        }
        Type::Record(id) => json!({"$ref": format!("#/$defs/{}", p.records[id.index()].name)}),
        Type::Set(t) => json!({"type": "array", "items": type_schema(p, t), "uniqueItems": true}),
        Type::List(t) => json!({"type": "array", "items": type_schema(p, t)}),
        Type::Optional(t) => json!({"anyOf": [type_schema(p, t), {"type": "null"}]}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{compile, PolicySource};

    const RULES: &str = r#"act nis {
  title "Decreto NIS (estratto per i test)"
  cited as "D.Lgs. 138/2024"
  in force from 2024-10-16
  articles 1 to 45
}
fact comma: int one of 6, 8, 9 or 10 "comma dell'art. 3"
fact level: optional int one of 1, 2 or 3 "livello"
"#;

    fn property(name: &str) -> Json {
        let mut source = PolicySource::default();
        source.add("policies/nis/facts.law", RULES);
        let as_of = crate::date::Date::parse("2025-06-01").unwrap();
        let compiled = compile(&source, as_of).unwrap();
        facts_schema(&compiled.program)["properties"][name].clone()
    }

    #[test]
    fn the_values_of_one_of_are_the_schemas_list_and_an_optional_one_takes_null() {
        let listed = json!([
            {"type": "integer", "enum": [6, 8, 9, 10]},
            {"type": "string", "enum": ["6", "8", "9", "10"]}
        ]);
        assert_eq!(property("comma")["oneOf"], listed);
        let optional = json!([
            {"type": "integer", "enum": [1, 2, 3]},
            {"type": "string", "enum": ["1", "2", "3"]},
            {"type": "null"}
        ]);
        let level = property("level");
        assert_eq!(level["oneOf"], optional, "{level}");
        assert_eq!(
            (&level["minimum"], &level["maximum"]),
            (&json!(1), &json!(3))
        );
    }
}
