//! The semantic diff: without any facts, search the fact space for the kinds of
//! entity that two revisions decide differently, and give one witness of each.
//! Entry point: [`semantic_diff`].
//!
//! The space is cut along the values the rules themselves compare against: every
//! numeric constant that appears in a comparison (and one unit either side), every
//! table key and enum value, both truth values. From a base entity, the search sets
//! one table- or enum-valued fact at a time (each key alone), and for each of those
//! varies every number of the required records over the threshold candidates, one
//! field at a time and all fields of a record together, and flips every yes/no fact.
//! A region is a set of result changes together with the rule where the two
//! revisions first diverge; the first entity found in it is its witness.
//! Lists (partners, linked enterprises) are left empty: differences that only
//! aggregation reveals are found by `diff --facts` over a population.

use crate::diff::Divergence;
use crate::eval::Evaluator;
use crate::lower::{Compiled, Op};
use crate::program::{FieldSpec, KeyIndex, Program, Type};
use crate::value::Value;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// One kind of entity decided differently, with an entity that shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// Result key, old value, new value.
    pub changes: Vec<(String, Json, Json)>,
    pub diverging: Option<Divergence>,
    /// How many of the entities tried fall in this region.
    pub entities: u64,
    /// A facts document in the region.
    pub witness: Json,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SemanticDiff {
    pub entities_tried: u64,
    pub regions: Vec<Region>,
}

/// Numbers compared against in either revision, with their neighbours.
fn thresholds(programs: &[&Compiled]) -> Vec<Decimal> {
    let mut out = BTreeSet::new();
    out.insert(Decimal::ZERO);
    for c in programs {
        for n in 0..c.node_count() as u32 {
            let Op::Compare(_, a, b) = &c.node(n).op else {
                continue;
            };
            for operand in [a, b] {
                if let Op::Const(Value::Num(x)) = &c.node(*operand).op {
                    for candidate in [*x - Decimal::ONE, *x, *x + Decimal::ONE] {
                        if candidate >= Decimal::ZERO {
                            out.insert(candidate);
                        }
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// A value for a field that is neither the subject of a variation nor defaulted:
/// the smallest the schema allows.
fn base_value(p: &Program, ty: &Type, spec_min: Option<Decimal>) -> Option<Json> {
    Some(match ty {
        Type::Bool => json!(false),
        Type::Int | Type::Decimal | Type::Money => json!(spec_min
            .unwrap_or(Decimal::ZERO)
            .max(Decimal::ONE)
            .to_string()),
        Type::Date => json!("2025-01-01"),
        Type::Text => json!(""),
        Type::Set(_) | Type::List(_) => json!([]),
        Type::Enum(e) => json!(p.enums[e.index()].variants.first()?.0),
        Type::Table(t) => json!(p.tables[t.index()].rows.first()?.key),
        Type::Record(r) => {
            let fields: Map<String, Json> = p.records[r.index()]
                .fields
                .iter()
                .filter(|f| f.default.is_none() && !matches!(f.ty, Type::Optional(_)))
                .filter_map(|f| {
                    Some((
                        f.name.clone(),
                        base_value(p, &f.ty, f.range.as_ref().and_then(|r| r.min))?,
                    ))
                })
                .collect();
            Json::Object(fields)
        }
        Type::Optional(_) | Type::Nothing => return None,
    })
}

/// The search plan read off the facts schema.
struct Plan {
    base: Map<String, Json>,
    /// Alternative settings of one fact: (fact, value).
    seeds: Vec<(String, Json)>,
    /// Numeric fields of required records: (fact, field).
    numbers: Vec<(String, String)>,
    /// Yes/no facts.
    flags: Vec<String>,
    /// Lists of records, probed with one element: (fact, element template, numeric fields).
    lists: Vec<(String, Map<String, Json>, Vec<String>)>,
    /// Optional records, probed with every yes/no field true: (fact, value).
    options: Vec<(String, Json)>,
}

fn plan(p: &Program) -> Plan {
    let mut plan = Plan {
        base: Map::new(),
        seeds: Vec::new(),
        numbers: Vec::new(),
        flags: Vec::new(),
        lists: Vec::new(),
        options: Vec::new(),
    };
    for f in &p.facts {
        let FieldSpec { name, ty, .. } = &f.spec;
        let required = f.spec.default.is_none() && !matches!(ty, Type::Optional(_));
        if required {
            if let Some(v) = base_value(p, ty, f.spec.range.as_ref().and_then(|r| r.min)) {
                plan.base.insert(name.clone(), v);
            }
        }
        match ty.required() {
            Type::Bool => plan.flags.push(name.clone()),
            Type::Set(elem) | Type::List(elem) if matches!(elem.as_ref(), Type::Table(_)) => {
                if let Type::Table(t) = elem.as_ref() {
                    plan.seeds.extend(
                        p.tables[t.index()]
                            .rows
                            .iter()
                            .map(|r| (name.clone(), json!([r.key]))),
                    );
                }
            }
            Type::Table(t) => plan.seeds.extend(
                p.tables[t.index()]
                    .rows
                    .iter()
                    .map(|r| (name.clone(), json!(r.key))),
            ),
            Type::Enum(e) => plan.seeds.extend(
                p.enums[e.index()]
                    .variants
                    .iter()
                    .map(|v| (name.clone(), json!(v.0))),
            ),
            Type::List(elem) if matches!(elem.as_ref(), Type::Record(_)) => {
                let Type::Record(r) = elem.as_ref() else {
                    continue;
                };
                let Some(Json::Object(template)) = base_value(p, elem, None) else {
                    continue;
                };
                let numbers = p.records[r.index()]
                    .fields
                    .iter()
                    .filter(|f| f.ty.is_numeric())
                    .map(|f| f.name.clone())
                    .collect();
                plan.lists.push((name.clone(), template, numbers));
            }
            Type::Record(r) if !required => {
                let Some(Json::Object(mut value)) = base_value(p, ty.required(), None) else {
                    continue;
                };
                for field in p.records[r.index()]
                    .fields
                    .iter()
                    .filter(|f| f.ty == Type::Bool)
                {
                    value.insert(field.name.clone(), json!(true));
                }
                plan.options.push((name.clone(), Json::Object(value)));
            }
            Type::Record(r) if required => {
                for field in &p.records[r.index()].fields {
                    if field.ty.is_numeric() {
                        plan.numbers.push((name.clone(), field.name.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    plan
}

/// Every entity the search tries, in a fixed order.
fn candidates(plan: &Plan, thresholds: &[Decimal]) -> Vec<Json> {
    let mut out = Vec::new();
    let mut records: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (fact, field) in &plan.numbers {
        records
            .entry(fact.as_str())
            .or_default()
            .push(field.as_str());
    }
    for seed in std::iter::once(None).chain(plan.seeds.iter().map(Some)) {
        let mut seeded = plan.base.clone();
        if let Some((fact, value)) = seed {
            seeded.insert(fact.clone(), value.clone());
        }
        for (record, fields) in &records {
            for t in thresholds {
                let number = json!(t.to_string());
                for field in fields {
                    let mut doc = seeded.clone();
                    doc[*record][*field] = number.clone();
                    out.push(Json::Object(doc));
                }
                let mut doc = seeded.clone();
                for field in fields {
                    doc[*record][*field] = number.clone();
                }
                out.push(Json::Object(doc));
            }
        }
        for flag in &plan.flags {
            let mut doc = seeded.clone();
            doc.insert(flag.clone(), json!(true));
            out.push(Json::Object(doc));
        }
    }
    // Aggregation probes: one partner or linked enterprise of every size the
    // thresholds suggest, alone and with each optional record declared.
    for (list, template, numbers) in &plan.lists {
        for t in thresholds {
            let mut element = template.clone();
            for field in numbers {
                element.insert(field.clone(), json!(t.to_string()));
            }
            let mut doc = plan.base.clone();
            doc.insert(list.clone(), json!([element]));
            out.push(Json::Object(doc.clone()));
            for (option, value) in &plan.options {
                let mut with = doc.clone();
                with.insert(option.clone(), value.clone());
                out.push(Json::Object(with));
            }
        }
    }
    out
}

/// The document as the program `p` can read it, in a comparison with `other`:
/// the table keys that only `other` knows (an entity type added by the other
/// revision) are dropped, as an entity of a type the annex does not list is of no
/// annex type. A key neither revision knows stays, so that reading the document
/// reports it, as a batch does.
pub fn adapt<'d>(p: &'d Program, other: &'d Program, doc: &'d Json) -> std::borrow::Cow<'d, Json> {
    use std::borrow::Cow;
    // Per fact of `p` that is a set or list of table keys: its name, and the
    // tables in which `p` and `other` look its keys up.
    let key_table = |program: &'d Program, name: &str| {
        let fact = program.facts.iter().find(|f| f.spec.name == name)?;
        match fact.spec.ty.element() {
            Some(Type::Table(t)) => Some(&program.tables[t.index()].index),
            _ => None,
        }
    };
    let table_sets: Vec<(&str, &KeyIndex, &KeyIndex)> = (p.facts.iter())
        .filter_map(|f| {
            let name = f.spec.name.as_str();
            Some((name, key_table(p, name)?, key_table(other, name)?))
        })
        .collect();
    let kept = |mine: &KeyIndex, theirs: &KeyIndex, k: &Json| {
        k.as_str()
            .is_none_or(|k| mine.contains_key(k) || !theirs.contains_key(k))
    };
    let drops = |&(name, mine, theirs): &(&str, &KeyIndex, &KeyIndex)| {
        doc.get(name)
            .and_then(Json::as_array)
            .is_some_and(|items| items.iter().any(|k| !kept(mine, theirs, k)))
    };
    if !table_sets.iter().any(drops) {
        return Cow::Borrowed(doc);
    }
    let mut out = doc.clone();
    for (name, mine, theirs) in &table_sets {
        if let Some(Json::Array(items)) = out.get_mut(*name) {
            items.retain(|k| kept(mine, theirs, k));
        }
    }
    Cow::Owned(out)
}

/// Searches for the regions where `old` and `new` decide differently.
pub fn semantic_diff(old: &Compiled, new: &Compiled) -> SemanticDiff {
    let plan = plan(&new.program);
    let docs = candidates(&plan, &thresholds(&[old, new]));
    let mut ev_old = Evaluator::new(old);
    let mut ev_new = Evaluator::new(new);
    let mut regions: BTreeMap<String, Region> = BTreeMap::new();
    let alike = crate::facts::read_alike(&old.program, &new.program);
    for doc in &docs {
        let old_doc = adapt(&old.program, &new.program, doc);
        let evaluators = (&mut ev_old, &mut ev_new);
        let Some((changes, diverging)) = crate::diff::compare_one(evaluators, &old_doc, doc, alike)
        else {
            continue;
        };
        let key = format!("{changes:?}|{diverging:?}");
        regions
            .entry(key)
            .or_insert_with(|| Region {
                changes,
                diverging,
                entities: 0,
                witness: doc.clone(),
            })
            .entities += 1;
    }
    let mut regions: Vec<Region> = regions.into_values().collect();
    regions.sort_by(|a, b| {
        b.entities
            .cmp(&a.entities)
            .then_with(|| format!("{:?}", a.changes).cmp(&format!("{:?}", b.changes)))
    });
    SemanticDiff {
        entities_tried: docs.len() as u64,
        regions,
    }
}
