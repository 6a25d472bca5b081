//! The semantic diff: without any facts, search the fact space for the kinds of
//! entity that two revisions decide differently, and give one witness of each.
//! Entry point: [`semantic_diff`].
//!
//! The space is cut along the values the rules themselves compare against: every
//! numeric constant that appears in a comparison (and one unit either side), every
//! table key and enum value, both truth values, over the facts of both revisions.
//! From a base entity, the search sets one table- or enum-valued fact at a time
//! (each key alone), and for each of those varies every number of the required
//! records over the candidates their ranges admit, one field at a time and all
//! fields of a record together (those also with each optional record declared),
//! sets each numeric fact to each candidate, flips every yes/no fact, and puts
//! beside the smallest entity one partner or linked enterprise of each candidate
//! size, and of each share with each size (`elements`). It then puts one partner
//! or linked enterprise of each candidate size beside an entity of each candidate
//! size. A region is a set of result changes together with the rule
//! where the two revisions first diverge; the first entity found in it is its
//! witness. An entity a revision cannot evaluate is counted, not dropped.
//! Combinations beyond these (two table keys, a partner and a linked enterprise)
//! are found by `diff --facts` over a population.

use crate::diff::{Adapter, Divergence};
use crate::eval::Evaluator;
use crate::lower::{Compiled, Op};
use crate::program::{FieldSpec, Program, Type};
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
    /// Entities tried that one revision could not evaluate: the search says so
    /// rather than leave a part of the space out in silence.
    pub unevaluated: u64,
    /// The first of them, with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unevaluated_example: Option<Unevaluated>,
}

/// An entity the search built that a revision could not evaluate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unevaluated {
    pub reason: String,
    pub entity: Json,
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
    /// Numeric fields of required records, by fact.
    numbers: BTreeMap<String, Vec<NumberField>>,
    /// Yes/no facts.
    flags: Vec<String>,
    /// Numeric facts.
    scalars: Vec<NumberField>,
    /// Lists of records, probed with one element: (fact, element template, numeric fields).
    lists: Vec<(String, Json, Vec<NumberField>)>,
    /// Optional records, probed with every yes/no field true: (fact, value).
    options: Vec<(String, Json)>,
    /// The fields of optional records that are varied one at a time, the others
    /// as in `options`: (fact, field, how).
    option_fields: Vec<(String, String, Trial)>,
}

/// The search plan read off the facts schemas of both revisions: a fact, field or
/// table key that only one declares is tried too (the other revision does not
/// read it: see [`crate::diff::Adapter`]).
fn plan(programs: [&Program; 2]) -> Plan {
    let mut plan = Plan {
        base: Map::new(),
        seeds: Vec::new(),
        numbers: BTreeMap::new(),
        flags: Vec::new(),
        scalars: Vec::new(),
        lists: Vec::new(),
        options: Vec::new(),
        option_fields: Vec::new(),
    };
    for p in programs {
        for f in &p.facts {
            add_fact(&mut plan, p, &f.spec);
        }
    }
    // A fact both revisions declare is tried once, over the wider of its two
    // ranges: a value only one range admits is an entity the other revision
    // refuses, which the search reports.
    dedup(&mut plan.seeds, |seed| seed.clone());
    plan.numbers.values_mut().for_each(widen);
    dedup(&mut plan.flags, String::clone);
    widen(&mut plan.scalars);
    for (_, _, numbers) in &mut plan.lists {
        widen(numbers);
    }
    merge_trials(&mut plan.option_fields);
    plan
}

/// One trial per field of an optional record: the values of both revisions, the
/// wider range.
fn merge_trials(trials: &mut Vec<(String, String, Trial)>) {
    let mut kept: Vec<(String, String, Trial)> = Vec::with_capacity(trials.len());
    for (fact, field, trial) in trials.drain(..) {
        let known = kept.iter_mut().find(|(f, n, _)| *f == fact && *n == field);
        match (known, trial) {
            (Some((.., Trial::Values(known))), Trial::Values(values)) => {
                known.extend(values);
                dedup(known, Json::clone);
            }
            (Some((.., Trial::Number(known))), Trial::Number(n)) => known.widen(&n),
            (Some(_), _) => {}
            (None, trial) => kept.push((fact, field, trial)),
        }
    }
    *trials = kept;
}

/// Keeps one number field of each name, its range the union of theirs.
fn widen(fields: &mut Vec<NumberField>) {
    let mut kept: Vec<NumberField> = Vec::with_capacity(fields.len());
    for field in fields.drain(..) {
        match kept.iter_mut().find(|k| k.name == field.name) {
            Some(k) => k.widen(&field),
            None => kept.push(field),
        }
    }
    *fields = kept;
}

/// What the search tries of one fact of `p`, added to what it tries already.
fn add_fact(plan: &mut Plan, p: &Program, spec: &FieldSpec) {
    let FieldSpec { name, ty, .. } = spec;
    let required = spec.default.is_none() && !matches!(ty, Type::Optional(_));
    if required {
        if let Some(v) = base_value(p, ty, spec.range.as_ref().and_then(|r| r.min)) {
            merge(plan.base.entry(name.clone()).or_insert(Json::Null), v);
        }
    }
    let values = choices(p, ty).into_iter();
    plan.seeds.extend(values.map(|v| (name.clone(), v)));
    match ty.required() {
        Type::Bool => plan.flags.push(name.clone()),
        ty if ty.is_numeric() => plan.scalars.push(NumberField::of(spec)),
        Type::List(elem) if matches!(elem.as_ref(), Type::Record(_)) => {
            let Type::Record(r) = elem.as_ref() else {
                return;
            };
            let Some(template) = base_value(p, elem, None) else {
                return;
            };
            let numbers = numeric_fields(p, *r);
            match plan.lists.iter_mut().find(|(list, ..)| list == name) {
                Some((_, known, known_numbers)) => {
                    merge(known, template);
                    known_numbers.extend(numbers);
                }
                None => plan.lists.push((name.clone(), template, numbers)),
            }
        }
        Type::Record(r) if !required => {
            let Some(Json::Object(mut value)) = base_value(p, ty.required(), None) else {
                return;
            };
            for field in p.records[r.index()].fields.iter() {
                if field.ty == Type::Bool {
                    value.insert(field.name.clone(), json!(true));
                }
                let trial = match choices(p, &field.ty) {
                    values if !values.is_empty() => Trial::Values(values),
                    _ if field.ty.required().is_numeric() => Trial::Number(NumberField::of(field)),
                    _ => continue,
                };
                plan.option_fields
                    .push((name.clone(), field.name.clone(), trial));
            }
            match plan.options.iter_mut().find(|(option, _)| option == name) {
                Some((_, known)) => merge(known, Json::Object(value)),
                None => plan.options.push((name.clone(), Json::Object(value))),
            }
        }
        Type::Record(r) if required => {
            let fields = numeric_fields(p, *r);
            plan.numbers.entry(name.clone()).or_default().extend(fields);
        }
        _ => {}
    }
}

/// The values the search tries for a fact or field of a table, an enum, or a set
/// or list of them (one element at a time); none for other types.
fn choices(p: &Program, ty: &Type) -> Vec<Json> {
    let single = |ty: &Type| -> Vec<Json> {
        match ty.required() {
            Type::Table(t) => (p.tables[t.index()].rows.iter())
                .map(|r| json!(r.key))
                .collect(),
            Type::Enum(e) => (p.enums[e.index()].variants.iter())
                .map(|v| json!(v.0))
                .collect(),
            _ => Vec::new(),
        }
    };
    match ty.element() {
        Some(elem) => single(elem).into_iter().map(|v| json!([v])).collect(),
        None => single(ty),
    }
}

/// How the search varies one field of an optional record.
enum Trial {
    /// Each candidate number the field's range admits.
    Number(NumberField),
    /// Each of these values.
    Values(Vec<Json>),
}

/// A numeric field of a record, and the values its range admits.
#[derive(Debug, Clone)]
struct NumberField {
    name: String,
    /// `None`: every number.
    range: Option<crate::ast::Range>,
}

impl NumberField {
    fn of(spec: &FieldSpec) -> NumberField {
        NumberField {
            name: spec.name.clone(),
            range: spec.range.clone(),
        }
    }

    /// The range becomes the union of its own and `other`'s.
    fn widen(&mut self, other: &NumberField) {
        self.range = match (&self.range, &other.range) {
            (Some(a), Some(b)) => Some(a.union(b)),
            _ => None,
        };
    }

    /// A value out of the field's range makes no entity (a share of 249%): the
    /// search does not try it.
    fn admits(&self, n: Decimal) -> bool {
        self.range.as_ref().is_none_or(|r| r.contains(n))
    }
}

fn numeric_fields(p: &Program, r: crate::program::RecordId) -> Vec<NumberField> {
    let fields = p.records[r.index()].fields.iter();
    fields
        .filter(|f| f.ty.is_numeric())
        .map(NumberField::of)
        .collect()
}

/// Removes the items whose key an earlier item has, keeping the order.
fn dedup<T, K: PartialEq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen: Vec<K> = Vec::with_capacity(items.len());
    items.retain(|item| {
        let k = key(item);
        let new = !seen.contains(&k);
        if new {
            seen.push(k);
        }
        new
    });
}

/// Adds to `into` the fields of `from` it lacks (a record field only one revision
/// declares); anything else already in `into` stays.
fn merge(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(known) => merge(known, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (into @ Json::Null, from) => *into = from,
        _ => {}
    }
}

/// Every entity the search tries, in a fixed order, each handed to `try_one` (the
/// entities are not kept: there are tens of thousands).
fn candidates(plan: &Plan, thresholds: &[Decimal], try_one: &mut dyn FnMut(Map<String, Json>)) {
    let records: BTreeMap<&str, Vec<&NumberField>> = (plan.numbers.iter())
        .map(|(fact, fields)| (fact.as_str(), fields.iter().collect()))
        .collect();
    let with_record = |doc: &Map<String, Json>, record: &str, fields: &[&NumberField], n| {
        let mut doc = doc.clone();
        let value = doc.remove(record).unwrap_or(Json::Null);
        doc.insert(record.to_string(), sized(value, fields, n));
        doc
    };
    for seed in std::iter::once(None).chain(plan.seeds.iter().map(Some)) {
        let mut seeded = plan.base.clone();
        if let Some((fact, value)) = seed {
            seeded.insert(fact.clone(), value.clone());
        }
        for (record, fields) in &records {
            for &number in thresholds {
                for field in fields.iter().filter(|f| f.admits(number)) {
                    try_one(with_record(&seeded, record, &[field], number));
                }
                // What an optional record decides may turn on the size (the
                // safeguard clause of DPCM 221/2024 on a size class).
                with_each_option(plan, with_record(&seeded, record, fields, number), try_one);
            }
        }
        for flag in &plan.flags {
            let mut doc = seeded.clone();
            doc.insert(flag.clone(), json!(true));
            try_one(doc);
        }
        // One partner or linked enterprise of each candidate size (and share),
        // beside an entity of this kind and the smallest size.
        for (list, template, fields) in &plan.lists {
            for element in elements(template, fields, thresholds) {
                let mut doc = seeded.clone();
                doc.insert(list.clone(), json!([element]));
                try_one(doc);
            }
        }
        // Each field of an optional record varied in turn, the record declared.
        for (option, value) in &plan.options {
            let fields = plan.option_fields.iter().filter(|(o, ..)| o == option);
            for (_, field, trial) in fields {
                let values: Vec<Json> = match trial {
                    Trial::Values(values) => values.clone(),
                    Trial::Number(n) => (thresholds.iter())
                        .filter(|t| n.admits(**t))
                        .map(|t| json!(t.to_string()))
                        .collect(),
                };
                for v in values {
                    let mut doc = seeded.clone();
                    let mut declared = value.clone();
                    declared[field.as_str()] = v;
                    doc.insert(option.clone(), declared);
                    try_one(doc);
                }
            }
        }
        for &number in thresholds {
            for fact in plan.scalars.iter().filter(|f| f.admits(number)) {
                let mut doc = seeded.clone();
                doc.insert(fact.name.clone(), json!(number.to_string()));
                try_one(doc);
            }
        }
    }
    // Aggregation probes: one partner or linked enterprise of every candidate
    // size, beside an entity of every candidate size (aggregation moves an entity
    // across a threshold only from near it).
    let mut sizes = vec![plan.base.clone()];
    for (record, fields) in &records {
        sizes.extend((thresholds.iter()).map(|n| with_record(&plan.base, record, fields, *n)));
    }
    for (list, template, fields) in &plan.lists {
        let fields: Vec<&NumberField> = fields.iter().collect();
        for &number in thresholds {
            let element = sized(template.clone(), &fields, number);
            for size in &sizes {
                let mut doc = size.clone();
                doc.insert(list.clone(), json!([element]));
                with_each_option(plan, doc, try_one);
            }
        }
    }
}

/// The elements a list of records is probed with: every numeric field set to one
/// candidate; then, for a field of narrower range than the others (a partner's
/// share, at most 100), each value it admits with the other fields at each
/// candidate, so that a share and a size vary apart (20% of 250 persons).
fn elements(template: &Json, fields: &[NumberField], thresholds: &[Decimal]) -> Vec<Json> {
    let all: Vec<&NumberField> = fields.iter().collect();
    let mut out: Vec<Json> = (thresholds.iter())
        .map(|n| sized(template.clone(), &all, *n))
        .collect();
    // Narrower than the widest of the others: it admits fewer candidates.
    let admitted = |f: &NumberField| thresholds.iter().filter(|t| f.admits(**t)).count();
    let widest = fields.iter().map(admitted).max().unwrap_or(0);
    let narrow = fields.iter().filter(|f| admitted(f) < widest);
    for field in narrow {
        let rest: Vec<&NumberField> = all
            .iter()
            .copied()
            .filter(|f| f.name != field.name)
            .collect();
        for &value in thresholds.iter().filter(|t| field.admits(**t)) {
            let apart = thresholds.iter().filter(|n| **n != value);
            out.extend(apart.map(|n| sized(sized(template.clone(), &rest, *n), &[field], value)));
        }
    }
    out
}

/// An object with every field that admits it set to one candidate.
fn sized(mut object: Json, fields: &[&NumberField], number: Decimal) -> Json {
    for field in fields.iter().filter(|f| f.admits(number)) {
        object[field.name.as_str()] = json!(number.to_string());
    }
    object
}

/// The entity, then the entity with each optional record declared (the plain one
/// first, so that it is the witness of a region both fall in).
fn with_each_option(
    plan: &Plan,
    doc: Map<String, Json>,
    try_one: &mut dyn FnMut(Map<String, Json>),
) {
    let declared: Vec<Map<String, Json>> = (plan.options.iter())
        .map(|(option, value)| {
            let mut with = doc.clone();
            with.insert(option.clone(), value.clone());
            with
        })
        .collect();
    try_one(doc);
    declared.into_iter().for_each(try_one);
}

/// Searches for the regions where `old` and `new` decide differently.
pub fn semantic_diff(old: &Compiled, new: &Compiled) -> SemanticDiff {
    let plan = plan([&new.program, &old.program]);
    let mut ev_old = Evaluator::new(old);
    let mut ev_new = Evaluator::new(new);
    let mut regions: BTreeMap<String, Region> = BTreeMap::new();
    let mut out = SemanticDiff::default();
    let alike = crate::facts::read_alike(&old.program, &new.program);
    let for_old = Adapter::new(&old.program, &new.program);
    let for_new = Adapter::new(&new.program, &old.program);
    let comparison = crate::diff::Comparison::new(old, new);
    candidates(&plan, &thresholds(&[old, new]), &mut |doc| {
        out.entities_tried += 1;
        let doc = Json::Object(doc);
        let (old_read, new_read) = (for_old.read(&doc), for_new.read(&doc));
        let evaluators = (&mut ev_old, &mut ev_new);
        let (changes, diverging) = match crate::diff::compare_one(
            evaluators,
            (&old_read, &new_read),
            alike,
            &comparison,
        ) {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(reason) => {
                out.unevaluated += 1;
                out.unevaluated_example.get_or_insert_with(|| Unevaluated {
                    reason,
                    entity: doc.clone(),
                });
                return;
            }
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
    });
    out.regions = regions.into_values().collect();
    out.regions.sort_by(|a, b| {
        b.entities
            .cmp(&a.entities)
            .then_with(|| format!("{:?}", a.changes).cmp(&format!("{:?}", b.changes)))
    });
    out
}
