//! Whether two programs read facts documents alike, so that a diff of two
//! revisions can read each record once.

use crate::program::{FieldSpec, Program, Type};

/// Record types nest; a nesting deeper than this is taken as different (the
/// record is then read once per revision, which is only slower).
const MAX_DEPTH: usize = 32;

/// Whether `a` and `b` turn every facts document into the same facts and the same
/// errors: the same facts in the same order, each with the same name, type, range
/// and default. Records, enumerations and tables are compared by name and by
/// their fields, variants and row keys in order (a table key is read as its row
/// number, an enumeration value as its variant's).
pub fn read_alike(a: &Program, b: &Program) -> bool {
    let pair = Pair { a, b };
    a.facts.len() == b.facts.len()
        && (a.facts.iter().zip(&b.facts)).all(|(x, y)| pair.fields(&x.spec, &y.spec, 0))
}

/// Whether a value of type `x` in `a` and of type `y` in `b` are held alike:
/// the same kind, with enumerations, tables and records compared as
/// [`read_alike`] compares them, so that equal values mean the same.
pub fn types_alike(a: &Program, x: &Type, b: &Program, y: &Type) -> bool {
    Pair { a, b }.types(x, y, 0)
}

struct Pair<'p> {
    a: &'p Program,
    b: &'p Program,
}

impl Pair<'_> {
    fn fields(&self, x: &FieldSpec, y: &FieldSpec, depth: usize) -> bool {
        let bounds = |s: &FieldSpec| s.range.as_ref().map(|r| (r.min, r.max, r.only.clone()));
        x.name == y.name
            && bounds(x) == bounds(y)
            && x.default == y.default
            && self.types(&x.ty, &y.ty, depth)
    }

    fn types(&self, x: &Type, y: &Type, depth: usize) -> bool {
        let (a, b) = (self.a, self.b);
        match (x, y) {
            (Type::Enum(i), Type::Enum(j)) => {
                let (e, f) = (&a.enums[i.index()], &b.enums[j.index()]);
                e.name == f.name
                    && e.variants
                        .iter()
                        .map(|v| &v.0)
                        .eq(f.variants.iter().map(|v| &v.0))
            }
            (Type::Table(i), Type::Table(j)) => {
                let (s, t) = (&a.tables[i.index()], &b.tables[j.index()]);
                s.name == t.name
                    && s.rows
                        .iter()
                        .map(|r| &r.key)
                        .eq(t.rows.iter().map(|r| &r.key))
            }
            (Type::Record(i), Type::Record(j)) => {
                let (r, s) = (&a.records[i.index()], &b.records[j.index()]);
                depth < MAX_DEPTH
                    && r.name == s.name
                    && r.fields.len() == s.fields.len()
                    && (r.fields.iter().zip(&s.fields)).all(|(f, g)| self.fields(f, g, depth + 1))
            }
            (Type::Set(p), Type::Set(q))
            | (Type::List(p), Type::List(q))
            | (Type::Optional(p), Type::Optional(q)) => self.types(p, q, depth),
            _ => x == y && !matches!(x, Type::Enum(_) | Type::Table(_) | Type::Record(_)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_alike;
    use crate::date::Date;
    use crate::policy::{compile, PolicySource};
    use std::path::PathBuf;

    fn program(extra: Option<&str>, as_of: &str) -> crate::program::Program {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![root.join("policies/it")];
        paths.extend(extra.map(|a| root.join("policies/amendments").join(a)));
        let source = PolicySource::from_paths(&paths).unwrap();
        compile(&source, Date::parse(as_of).unwrap())
            .unwrap()
            .program
    }

    #[test]
    fn a_revision_that_moves_a_threshold_reads_facts_alike() {
        let base = program(None, "2026-06-01");
        assert!(read_alike(&base, &base));
        assert!(read_alike(
            &base,
            &program(Some("a-large-200"), "2026-06-01")
        ));
        assert!(read_alike(
            &base,
            &program(Some("c-repeal-safeguard"), "2026-06-01")
        ));
    }

    #[test]
    fn a_revision_that_adds_an_entity_type_does_not() {
        // The new row of the annex table changes what an entity type key reads as.
        let base = program(None, "2026-06-01");
        let amended = program(Some("b-annex-ii-type"), "2026-06-01");
        assert!(!read_alike(&base, &amended));
        assert!(!read_alike(&amended, &base));
    }

    #[test]
    fn values_are_held_alike_where_variants_and_keys_are_the_same() {
        use super::types_alike;
        use crate::program::Type;
        let base = program(None, "2026-06-01");
        let amended = program(Some("b-annex-ii-type"), "2026-06-01");
        let (Some(kind), Some(table)) = (
            base.enums.iter().position(|e| e.name == "Classification"),
            base.tables.iter().position(|t| t.name == "EntityType"),
        ) else {
            panic!("the bundled rules declare Classification and EntityType");
        };
        let kind = Type::Enum(crate::program::EnumId(kind as u32));
        let table = Type::Table(crate::program::TableId(table as u32));
        let set_of = |t: &Type| Type::Set(Box::new(t.clone()));
        assert!(types_alike(&base, &kind, &amended, &kind));
        assert!(types_alike(&base, &set_of(&kind), &amended, &set_of(&kind)));
        // The amendment adds a row: a key's number no longer says the same row.
        assert!(types_alike(&base, &table, &base, &table));
        assert!(!types_alike(&base, &table, &amended, &table));
        assert!(!types_alike(&base, &kind, &amended, &set_of(&kind)));
    }

    /// A one-file program: an act and the given declarations.
    fn declared(declarations: &str) -> crate::program::Program {
        let mut source = PolicySource::default();
        let text = format!("act t {{\n  in force from 2025-01-01\n}}\n{declarations}");
        source.add("policies/t/act.law", &text);
        compile(&source, Date::parse("2025-06-01").unwrap())
            .unwrap()
            .program
    }

    #[test]
    fn any_difference_in_how_a_fact_is_read_counts() {
        let base = "enum Kind { a, b }\nrecord Size { staff: int at least 0 }\n\
                    fact kind: Kind\nfact size: Size\nfact n: int default 1\n";
        assert!(read_alike(&declared(base), &declared(base)));
        for other in [
            // the variants' order: a value is read as its variant's number
            base.replace("{ a, b }", "{ b, a }"),
            base.replace("at least 0", "at least 1"),
            base.replace("default 1", "default 2"),
            base.replace("fact n: int default 1", "fact n: decimal default 1"),
            base.replace("record Size", "record Dimension")
                .replace("size: Size", "size: Dimension"),
            // the facts' order: a fact is read into its place
            base.replace(
                "fact kind: Kind\nfact size: Size",
                "fact size: Size\nfact kind: Kind",
            ),
            base.replace("staff: int", "staff: optional int"),
        ] {
            assert!(!read_alike(&declared(base), &declared(&other)), "{other}");
        }
    }
}
