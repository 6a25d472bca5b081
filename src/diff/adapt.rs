//! A facts document as one revision reads it, in a comparison with another: what
//! only the other revision declares is left out, so that an amendment that adds or
//! removes a fact, a record field or a table row is compared on the entities it
//! moves rather than reported as a mistake in every record.

use crate::program::{KeyIndex, Program, Type};
use serde_json::Value as Json;
use std::borrow::Cow;

/// Built once for a pair of programs, applied to every record.
pub struct Adapter<'p> {
    /// Facts only the other revision declares.
    other_facts: Vec<&'p str>,
    /// Fields only the other revision declares, of a record (or list of records)
    /// fact both declare: (fact, field).
    other_fields: Vec<(&'p str, &'p str)>,
    /// Where both revisions read table keys.
    key_sites: Vec<KeySite<'p>>,
}

/// A document as one revision reads it ([`Adapter::read`]).
pub struct Read<'a> {
    /// What the revision reads.
    pub doc: Cow<'a, Json>,
    original: &'a Json,
    key_sites: &'a [KeySite<'a>],
}

impl Read<'_> {
    /// A path into what the revision reads as a path into the document as written:
    /// a key left out shifts the indices of the keys after it.
    pub fn original_path(&self, path: &str) -> String {
        if let Cow::Borrowed(_) = self.doc {
            return path.to_string();
        }
        for site in self.key_sites {
            let (prefix, written) = match site.field {
                None => (format!("$.{}", site.fact), self.original.get(site.fact)),
                Some(field) => (
                    format!("$.{}.{field}", site.fact),
                    (self.original.get(site.fact)).and_then(|o| o.get(field)),
                ),
            };
            let (Some(Json::Array(keys)), Some(rest)) =
                (written, path.strip_prefix(&format!("{prefix}[")))
            else {
                continue;
            };
            let Some((index, rest)) = rest.split_once(']') else {
                continue;
            };
            let kept = (keys.iter().enumerate()).filter(|(_, k)| site.kept(k));
            if let Some((i, _)) = index.parse().ok().and_then(|n| kept.clone().nth(n)) {
                return format!("{prefix}[{i}]{rest}");
            }
        }
        path.to_string()
    }
}

/// A fact, or a field of a record fact, that holds a table key or a set or list
/// of them in both revisions, with the tables in which this revision and the
/// other look its keys up.
struct KeySite<'p> {
    fact: &'p str,
    field: Option<&'p str>,
    mine: &'p KeyIndex,
    theirs: &'p KeyIndex,
}

impl KeySite<'_> {
    /// Whether a value written here holds a key only the other revision knows.
    fn drops(&self, value: &Json) -> bool {
        match value {
            Json::Array(keys) => keys.iter().any(|k| !self.kept(k)),
            key => !self.kept(key),
        }
    }

    /// The value of `container[name]` without the keys only the other revision
    /// knows: a single such key leaves the fact or field out.
    fn prune(&self, container: &mut serde_json::Map<String, Json>, name: &str) {
        match container.get_mut(name) {
            Some(Json::Array(keys)) => keys.retain(|k| self.kept(k)),
            Some(key) if !self.kept(key) => {
                container.remove(name);
            }
            _ => {}
        }
    }

    /// A key stays unless only the other revision knows it.
    fn kept(&self, key: &Json) -> bool {
        key.as_str()
            .is_none_or(|k| self.mine.contains_key(k) || !self.theirs.contains_key(k))
    }
}

impl<'p> Adapter<'p> {
    /// How `p` reads documents written for a comparison with `other`: a fact,
    /// field or table key that only `other` knows is dropped (an entity type that
    /// the other revision's annex adds is no annex type for `p`). What neither
    /// revision knows stays, so that reading the document reports it, as a batch
    /// does.
    pub fn new(p: &'p Program, other: &'p Program) -> Adapter<'p> {
        let mut adapter = Adapter {
            other_facts: Vec::new(),
            other_fields: Vec::new(),
            key_sites: Vec::new(),
        };
        for theirs in &other.facts {
            let name = theirs.spec.name.as_str();
            let Some(mine) = p.facts.iter().find(|f| f.spec.name == name) else {
                adapter.other_facts.push(name);
                continue;
            };
            let (mine, theirs) = (&mine.spec.ty, &theirs.spec.ty);
            let site = |field, mine: &Type, theirs: &Type| {
                let (mine, theirs) = (key_table(p, mine)?, key_table(other, theirs)?);
                Some(KeySite {
                    fact: name,
                    field,
                    mine,
                    theirs,
                })
            };
            adapter.key_sites.extend(site(None, mine, theirs));
            let (Some(mine), Some(theirs)) = (record_of(p, mine), record_of(other, theirs)) else {
                continue;
            };
            for t in theirs {
                match mine.iter().find(|m| m.name == t.name) {
                    Some(m) => adapter.key_sites.extend(site(Some(&t.name), &m.ty, &t.ty)),
                    None => adapter.other_fields.push((name, &t.name)),
                }
            }
        }
        adapter
    }

    /// The document as this revision reads it, with the way back to its paths.
    pub fn read<'a>(&'a self, doc: &'a Json) -> Read<'a> {
        Read {
            doc: self.adapt(doc),
            original: doc,
            key_sites: &self.key_sites,
        }
    }

    /// The document as this revision reads it: borrowed when nothing is dropped.
    pub fn adapt<'d>(&self, doc: &'d Json) -> Cow<'d, Json> {
        let Json::Object(facts) = doc else {
            return Cow::Borrowed(doc);
        };
        let drops_fact = self.other_facts.iter().any(|f| facts.contains_key(*f));
        let drops_field = (self.other_fields.iter())
            .any(|(fact, field)| objects(facts.get(*fact)).any(|o| o.contains_key(*field)));
        let drops_key = self.key_sites.iter().any(|site| match site.field {
            None => facts.get(site.fact).is_some_and(|v| site.drops(v)),
            Some(field) => {
                objects(facts.get(site.fact)).any(|o| o.get(field).is_some_and(|v| site.drops(v)))
            }
        });
        if !(drops_fact || drops_field || drops_key) {
            return Cow::Borrowed(doc);
        }
        let mut out = facts.clone();
        for fact in &self.other_facts {
            out.remove(*fact);
        }
        for (fact, field) in &self.other_fields {
            for object in objects_mut(out.get_mut(*fact)) {
                object.remove(*field);
            }
        }
        for site in &self.key_sites {
            match site.field {
                None => site.prune(&mut out, site.fact),
                Some(field) => {
                    for object in objects_mut(out.get_mut(site.fact)) {
                        site.prune(object, field);
                    }
                }
            }
        }
        Cow::Owned(Json::Object(out))
    }
}

/// The fields of a record fact, or of the records of a list fact.
fn record_of<'p>(p: &'p Program, ty: &Type) -> Option<&'p [crate::program::FieldSpec]> {
    match ty.element().unwrap_or(ty.required()) {
        Type::Record(r) => Some(&p.records[r.index()].fields),
        _ => None,
    }
}

/// The table a fact or field of this type looks its keys up in: a table key, or a
/// set or list of them.
fn key_table<'p>(p: &'p Program, ty: &Type) -> Option<&'p KeyIndex> {
    match ty.element().unwrap_or(ty.required()) {
        Type::Table(t) => Some(&p.tables[t.index()].index),
        _ => None,
    }
}

/// The object a fact holds, or the objects of the list it holds.
fn objects(value: Option<&Json>) -> impl Iterator<Item = &serde_json::Map<String, Json>> {
    let items = match value {
        Some(Json::Array(items)) => items.as_slice(),
        Some(v) => std::slice::from_ref(v),
        None => &[],
    };
    items.iter().filter_map(Json::as_object)
}

fn objects_mut(
    value: Option<&mut Json>,
) -> impl Iterator<Item = &mut serde_json::Map<String, Json>> {
    let items = match value {
        Some(Json::Array(items)) => items.as_mut_slice(),
        Some(v) => std::slice::from_mut(v),
        None => &mut [],
    };
    items.iter_mut().filter_map(Json::as_object_mut)
}

#[cfg(test)]
mod tests {
    use super::Adapter;
    use crate::date::Date;
    use crate::policy::{compile, PolicySource};
    use serde_json::json;

    fn program(text: &str) -> crate::program::Program {
        let mut source = PolicySource::default();
        source.add("policies/t/act.law", text);
        compile(&source, Date::parse("2025-01-01").unwrap())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .program
    }

    const HEAD: &str = "act t {\n  cited as \"L. 1/2024\"\n  in force from 2024-01-01\n}\n";
    const RULE: &str =
        "outcome big: bool otherwise false\nrule r cite \"art. 1\" when size.staff > 10 then big\n";

    #[test]
    fn what_only_the_other_revision_declares_is_dropped() {
        let old = program(&format!(
            "{HEAD}record Size {{ staff: int }}\nfact size: Size\nfact listed: bool\n{RULE}"
        ));
        let new = program(&format!(
            "{HEAD}record Size {{ staff: int, turnover: money }}\nfact size: Size\n{RULE}"
        ));
        let doc = json!({"size": {"staff": 3, "turnover": 5}, "listed": true, "typo": 1});
        let for_old = Adapter::new(&old, &new);
        assert_eq!(
            *for_old.adapt(&doc),
            json!({"size": {"staff": 3}, "listed": true, "typo": 1})
        );
        let for_new = Adapter::new(&new, &old);
        assert_eq!(
            *for_new.adapt(&doc),
            json!({"size": {"staff": 3, "turnover": 5}, "typo": 1})
        );
        let plain = json!({"size": {"staff": 3}});
        assert!(matches!(
            for_old.adapt(&plain),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
