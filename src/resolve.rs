//! Stage 2: parsed files to a [`Program`]. Entry point: [`resolve`].
//!
//! Groups files into act versions, picks for every act the version in force on the
//! evaluation date, links imports, and builds the tables of declarations: types,
//! tables, facts, definitions, outcomes and rules, each name declared once.
//! Names inside expressions are resolved by `check`, which walks them anyway.

use crate::ast::{self, Header, Item};
use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::program::*;
use crate::source::{FileId, SourceMap, Span};
use crate::suggest::did_you_mean;
use std::collections::{BTreeMap, HashMap};

mod header;

/// One parsed rule file and the folder it came from (its act version).
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub file: FileId,
    pub folder: String,
    pub ast: ast::File,
}

#[derive(Debug, Clone)]
pub struct ResolveError {
    pub diagnostics: Vec<Diagnostic>,
}

/// All versions of one act found in the policy folders.
#[derive(Debug, Clone)]
pub struct ActVersion {
    pub header: ast::ActHeader,
    pub folder: String,
    pub files: Vec<usize>,
}

impl ActVersion {
    /// The act's metadata, as the program and `lexnis lint` see it.
    pub fn act(&self) -> Act {
        let h = &self.header;
        Act {
            id: h.id.text.clone(),
            title: h.title.clone(),
            cited_as: h
                .cited_as
                .as_ref()
                .map_or_else(|| h.id.text.clone(), |c| c.0.clone()),
            kind: h.kind.as_ref().map(|k| k.text.clone()),
            adopted: h.adopted.map(|d| d.0),
            in_force: h.in_force.map(|d| d.0).unwrap_or(Date {
                year: 1970,
                month: 1,
                day: 1,
            }),
            gazette: h.gazette.clone(),
            supersedes: h.supersedes.map(|d| d.0),
            review: h.review.as_ref().map(|r| ReviewCadence {
                every_years: r.every_years,
                citation: r.citation.text.clone(),
                span: r.span,
            }),
            refers_to: h.refers_to.iter().map(|r| r.0.clone()).collect(),
            articles: h.articles.map(|(a, b, _)| (a, b)),
            annexes: h.annexes.map(|(a, b, _)| (a, b)),
            imports: Vec::new(),
            header_span: h.id.span,
            folder: self.folder.clone(),
        }
    }
}

/// An act whose review deadline falls after 9999-12-31, which no result can
/// write as a date.
fn review_past_9999(h: &crate::ast::ActHeader) -> Option<Diagnostic> {
    let review = h.review.as_ref()?;
    let adopted = h.adopted.map(|d| d.0);
    let deadline = crate::program::review_due(adopted, h.in_force?.0, review.every_years);
    deadline.written_as_yyyy_mm_dd().err()?;
    Some(
        Diagnostic::error(
            "lexnis::resolve::review_past_9999",
            format!(
                "the review of act `{}` falls on {deadline}, after 9999-12-31",
                h.id.text
            ),
        )
        .label(
            review.span,
            "counted from the adoption, or else the entry into force",
        )
        .help("check the adoption and in-force dates: a date is written YYYY-MM-DD"),
    )
}

/// Groups files into act versions, keyed by act id, oldest first.
pub fn act_versions(
    files: &[ParsedFile],
) -> Result<BTreeMap<String, Vec<ActVersion>>, ResolveError> {
    let mut acts: BTreeMap<String, Vec<ActVersion>> = BTreeMap::new();
    let mut diags = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if let Header::Act(h) = &f.ast.header {
            let versions = acts.entry(h.id.text.clone()).or_default();
            if let Some(other) = versions.iter().find(|v| v.folder == f.folder) {
                diags.push(
                    Diagnostic::error("lexnis::resolve::duplicate_act_header", format!("act `{}` is declared twice in folder {}", h.id.text, f.folder))
                        .label(h.id.span, "second declaration")
                        .label(other.header.id.span, "first declaration")
                        .help("an act version has one file with `act ID { ... }`; its other files start with `part of ID`"),
                );
                continue;
            }
            versions.push(ActVersion {
                header: (**h).clone(),
                folder: f.folder.clone(),
                files: vec![i],
            });
        }
    }
    for (i, f) in files.iter().enumerate() {
        if let Header::PartOf(id) = &f.ast.header {
            match acts.get_mut(&id.text).and_then(|vs| vs.iter_mut().find(|v| v.folder == f.folder)) {
                Some(v) => v.files.push(i),
                None => diags.push(
                    Diagnostic::error("lexnis::resolve::orphan_part", format!("`part of {}`, but no file in {} declares that act", id.text, f.folder))
                        .label(id.span, "unknown act in this folder")
                        .help(did_you_mean(&id.text, acts.keys().map(String::as_str), &format!("put the file in the folder of the act version it belongs to, beside the file that starts with `act ID {{ ... }}`; to check one file of an act version, check its whole folder: `lexnis check {}`", f.folder))),
                ),
            }
        }
    }
    for versions in acts.values_mut() {
        for v in versions.iter() {
            if v.header.in_force.is_none() {
                diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::missing_in_force",
                        format!(
                            "act `{}` does not say when it comes into force",
                            v.header.id.text
                        ),
                    )
                    .label(v.header.id.span, "this act version")
                    .help("add `in force from YYYY-MM-DD` to the act header"),
                );
            }
            if let Some(d) = review_past_9999(&v.header) {
                diags.push(d);
            }
        }
        versions.sort_by_key(|v| v.header.in_force.map(|d| d.0));
        diags.extend(header::header_problems(versions));
        for pair in versions.windows(2) {
            if pair[0].header.in_force.map(|d| d.0) == pair[1].header.in_force.map(|d| d.0) {
                let (date, span) = pair[1].header.in_force.expect("checked above");
                diags.push(
                    Diagnostic::error("lexnis::resolve::same_day_versions", format!("two versions of act `{}` come into force on the same day, {date}", pair[1].header.id.text))
                        .label(span, format!("in {}", pair[1].folder))
                        .label(pair[0].header.in_force.expect("checked above").1, format!("in {}", pair[0].folder))
                        .help("give the later version a later `in force from` date, or remove one of them"),
                );
            }
        }
    }
    if diags.is_empty() {
        Ok(acts)
    } else {
        Err(ResolveError { diagnostics: diags })
    }
}

/// Every day on which a version of some act comes into force, in order: the days
/// on which the set of versions in force changes.
pub fn in_force_dates(acts: &BTreeMap<String, Vec<ActVersion>>) -> Vec<Date> {
    let mut dates: Vec<Date> = (acts.values().flatten())
        .filter_map(|v| v.header.in_force.map(|(d, _)| d))
        .collect();
    dates.sort();
    dates.dedup();
    dates
}

/// Resolves the versions in force on `as_of` into one program.
/// `pin` names an act and the folder of the version to use for it, whatever the
/// date says: an inline example is always run against its own version.
pub fn resolve(
    sources: SourceMap,
    files: &[ParsedFile],
    as_of: Date,
    pin: Option<(&str, &str)>,
) -> Result<Program, ResolveError> {
    let versions = act_versions(files)?;
    let mut r = Resolver {
        not_yet_in_force: BTreeMap::new(),
        p: Program {
            sources,
            as_of: Some(as_of),
            ..Program::default()
        },
        diags: Vec::new(),
    };
    let chosen = r.choose_versions(&versions, as_of, pin);
    let act_files: Vec<(ActId, &ActVersion)> = chosen
        .iter()
        .enumerate()
        .map(|(i, v)| (ActId(i as u32), *v))
        .collect();
    for (_, v) in &act_files {
        r.add_act(v);
    }
    for (act, v) in &act_files {
        r.link_imports(*act, v, files);
    }
    let items: Vec<(ActId, &Item)> = act_files
        .iter()
        .flat_map(|(act, v)| {
            v.files
                .iter()
                .flat_map(move |f| files[*f].ast.items.iter().map(move |i| (*act, i)))
        })
        .collect();
    r.declare_types(&items);
    r.declare_records_and_tables(&items);
    r.declare_values(&items);
    r.declare_rules(&items);
    r.declare_reports(&items);
    r.p.not_yet_in_force = r
        .not_yet_in_force
        .iter()
        .filter_map(|(id, (first, _))| Some((id.clone(), (*first)?)))
        .collect();
    r.p.rules_by_outcome = vec![Vec::new(); r.p.outcomes.len()];
    for (i, rule) in r.p.rules.iter().enumerate() {
        r.p.rules_by_outcome[rule.outcome.index()].push(RuleId(i as u32));
    }
    r.check_result_keys(&items);
    if r.diags.iter().any(Diagnostic::is_error) {
        Err(ResolveError {
            diagnostics: r.diags,
        })
    } else {
        Ok(r.p)
    }
}

struct Resolver {
    p: Program,
    diags: Vec<Diagnostic>,
    /// Acts whose first version comes into force after the date: first date, header.
    not_yet_in_force: BTreeMap<String, (Option<Date>, Span)>,
}

impl Resolver {
    /// For each act, the latest version in force on `as_of`. An act whose first
    /// version is later is left out (the law did not yet exist); it is remembered so
    /// that an import of it can say when it comes into force.
    fn choose_versions<'a>(
        &mut self,
        versions: &'a BTreeMap<String, Vec<ActVersion>>,
        as_of: Date,
        pin: Option<(&str, &str)>,
    ) -> Vec<&'a ActVersion> {
        let mut chosen = Vec::new();
        for (id, vs) in versions {
            let in_force = |v: &&ActVersion| v.header.in_force.is_some_and(|(d, _)| d <= as_of);
            let pinned = pin.filter(|(act, _)| act == id).map(|(_, folder)| folder);
            let found = match pinned {
                Some(folder) => vs.iter().find(|v| v.folder == folder).filter(in_force),
                None => vs.iter().rev().find(in_force),
            };
            let next = (vs.iter())
                .filter_map(|v| v.header.in_force.map(|(d, _)| d))
                .filter(|d| *d > as_of)
                .min();
            match found {
                Some(v) => {
                    if let Some(next) = next.filter(|_| pinned.is_none()) {
                        self.p.later_versions.push((id.clone(), next));
                    }
                    chosen.push(v)
                }
                None => {
                    let first = vs[0].header.in_force.map(|d| d.0);
                    self.not_yet_in_force
                        .insert(id.clone(), (first, vs[0].header.id.span));
                }
            }
        }
        if chosen.is_empty() {
            if let Some((id, (first, span))) = self.not_yet_in_force.iter().next() {
                let first = first.map_or_else(String::new, |d| d.to_string());
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::not_in_force",
                        format!("no act is in force on {as_of}"),
                    )
                    .label(
                        *span,
                        format!("`{id}`: its first version is in force from {first}"),
                    )
                    .help(format!("evaluate with `--as-of {first}` or later")),
                );
            }
        }
        chosen
    }

    fn add_act(&mut self, v: &ActVersion) {
        self.p.acts.push(v.act());
    }

    fn link_imports(&mut self, act: ActId, v: &ActVersion, files: &[ParsedFile]) {
        for f in &v.files {
            for item in &files[*f].ast.items {
                let Item::Import(name) = item else { continue };
                match self.p.acts.iter().position(|a| a.id == name.text) {
                    Some(i) if i == act.index() => self.diags.push(
                        Diagnostic::error(
                            "lexnis::resolve::self_import",
                            format!("act `{}` imports itself", name.text),
                        )
                        .label(name.span, "here")
                        .help("remove this line: an act always sees its own declarations"),
                    ),
                    Some(i) => self.p.acts[act.index()].imports.push(ActId(i as u32)),
                    None if self.not_yet_in_force.contains_key(&name.text) => {
                        let first = self.not_yet_in_force[&name.text]
                            .0
                            .map_or_else(String::new, |d| d.to_string());
                        let as_of = self.p.as_of.map_or_else(String::new, |d| d.to_string());
                        self.diags.push(
                            Diagnostic::error("lexnis::resolve::import_not_in_force", format!("act `{}` imports `{}`, which is not yet in force on {as_of}", self.p.acts[act.index()].id, name.text))
                                .label(name.span, format!("in force from {first}"))
                                .help(format!("evaluate with `--as-of {first}` or later, or give the importing act a version in force from {first}")),
                        );
                    }
                    None => {
                        let known: Vec<&str> = self.p.acts.iter().map(|a| a.id.as_str()).collect();
                        self.diags.push(
                            Diagnostic::error(
                                "lexnis::resolve::unknown_act",
                                format!("import of unknown act `{}`", name.text),
                            )
                            .label(
                                name.span,
                                "no act with this id is in force on the evaluation date",
                            )
                            .help(did_you_mean(
                                &name.text,
                                known.iter().copied(),
                                &format!("the acts in force are: {}", known.join(", ")),
                            )),
                        );
                    }
                }
            }
        }
    }

    fn declare_name(
        &mut self,
        act: ActId,
        name: &ast::Name,
        what: &str,
        symbol: Option<Symbol>,
        spans: &mut HashMap<String, (Span, String)>,
    ) -> bool {
        if let Some((first, kind)) = spans.get(&name.text) {
            self.diags.push(
                Diagnostic::error(
                    "lexnis::resolve::duplicate",
                    format!("`{}` is declared twice", name.text),
                )
                .label(name.span, format!("this {what}"))
                .label(
                    *first,
                    format!("first declared here as {}", with_article(kind)),
                )
                .help("every name is declared once across the acts in force: rename one of them"),
            );
            return false;
        }
        spans.insert(name.text.clone(), (name.span, what.to_string()));
        if let Some(s) = symbol {
            self.p.symbols.insert(name.text.clone(), s);
            self.p.symbol_acts.insert(name.text.clone(), act);
        }
        true
    }

    fn declare_types(&mut self, items: &[(ActId, &Item)]) {
        let mut spans = HashMap::new();
        for (act, item) in items {
            let (name, ty) = match item {
                Item::Enum(e) => (&e.name, Type::Enum(EnumId(self.p.enums.len() as u32))),
                Item::Record(r) => (&r.name, Type::Record(RecordId(self.p.records.len() as u32))),
                Item::Table(t) => (&t.name, Type::Table(TableId(self.p.tables.len() as u32))),
                _ => continue,
            };
            if is_builtin_type(&name.text) {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::builtin_type",
                        format!("`{}` is a built-in type", name.text),
                    )
                    .label(name.span, "cannot be redeclared")
                    .help("choose another name, e.g. starting with a capital letter"),
                );
                continue;
            }
            if !self.declare_name(*act, name, "type", None, &mut spans) {
                continue;
            }
            self.p.types.insert(name.text.clone(), ty.clone());
            self.p
                .symbol_acts
                .insert(format!("type {}", name.text), *act);
            match item {
                Item::Enum(e) => self.p.enums.push(EnumDef {
                    name: e.name.text.clone(),
                    act: *act,
                    description: e.description.clone(),
                    variants: e
                        .variants
                        .iter()
                        .map(|(n, d)| (n.text.clone(), d.clone()))
                        .collect(),
                    variant_spans: e.variants.iter().map(|(n, _)| n.span).collect(),
                    span: e.name.span,
                }),
                Item::Record(r) => self.p.records.push(RecordDef {
                    name: r.name.text.clone(),
                    act: *act,
                    description: r.description.clone(),
                    fields: Vec::new(),
                    span: r.name.span,
                }),
                Item::Table(t) => self.p.tables.push(TableDef {
                    name: t.name.text.clone(),
                    act: *act,
                    description: t.description.clone(),
                    citation: t.citation.text.clone(),
                    citation_span: t.citation.span,
                    columns: Vec::new(),
                    rows: Vec::new(),
                    index: KeyIndex::default(),
                    span: t.name.span,
                }),
                _ => {}
            }
        }
    }

    /// Resolves a written type; reports unknown names.
    fn type_of(&mut self, te: &ast::TypeExpr) -> Type {
        match te {
            ast::TypeExpr::Optional(t, _) => Type::Optional(Box::new(self.type_of(t))),
            ast::TypeExpr::Set(t, _) => Type::Set(Box::new(self.type_of(t))),
            ast::TypeExpr::List(t, _) => Type::List(Box::new(self.type_of(t))),
            ast::TypeExpr::Named { name, range } => {
                let ty = match name.text.as_str() {
                    "bool" => Type::Bool,
                    "int" => Type::Int,
                    "decimal" => Type::Decimal,
                    "money" => Type::Money,
                    "date" => Type::Date,
                    "text" => Type::Text,
                    other => match self.p.types.get(other) {
                        Some(t) => t.clone(),
                        None => {
                            let mut known: Vec<&str> = BUILTIN_TYPES.to_vec();
                            known.extend(self.p.types.keys().map(String::as_str));
                            let help = did_you_mean(other, known.iter().copied(), "declare it with `enum`, `record` or `table`, or use a built-in type: bool, int, decimal, money, date, text");
                            self.diags.push(
                                Diagnostic::error(
                                    "lexnis::resolve::unknown_type",
                                    format!("unknown type `{other}`"),
                                )
                                .label(name.span, "not a declared type")
                                .help(help),
                            );
                            Type::Text
                        }
                    },
                };
                if let (Some(r), false) = (range, ty.is_numeric()) {
                    self.diags.push(
                        Diagnostic::error(
                            "lexnis::resolve::range_on_non_number",
                            "a range only applies to numbers",
                        )
                        .label(r.span, format!("`{}` is not a number type", name.text))
                        .help("remove the range, or change the type to int, decimal or money"),
                    );
                }
                ty
            }
        }
    }

    fn range_of(te: &ast::TypeExpr) -> Option<ast::Range> {
        match te {
            ast::TypeExpr::Named { range, .. } => range.clone(),
            ast::TypeExpr::Optional(t, _) => Self::range_of(t),
            _ => None,
        }
    }

    /// A field or fact declaration; its default is read later, once all types are known.
    fn field_spec(
        &mut self,
        name: &ast::Name,
        te: &ast::TypeExpr,
        description: &Option<String>,
    ) -> FieldSpec {
        let range = Self::range_of(te);
        if let Some(r) = &range {
            self.backwards_range(r);
            self.value_listed_twice(r);
        }
        let whole_bounds = match &range {
            Some(range) => range.whole_bounds(),
            None => Some(i64::MIN..=i64::MAX),
        };
        FieldSpec {
            name: name.text.clone(),
            ty: self.type_of(te),
            whole_bounds,
            range,
            default: None,
            description: description.clone(),
            span: name.span,
        }
    }

    /// `between 100 and 0`: no value could be given.
    fn backwards_range(&mut self, r: &ast::Range) {
        if !r.runs_backwards() {
            return;
        }
        let (min, max) = (r.min.unwrap_or_default(), r.max.unwrap_or_default());
        self.diags.push(
            Diagnostic::error(
                "lexnis::resolve::backwards_range",
                format!("the range between {min} and {max} runs backwards: no value is in it"),
            )
            .label(r.span, "this range")
            .help(format!(
                "write the smaller bound first: `between {max} and {min}`"
            )),
        );
    }

    /// `one of 6, 8, 8`: a slip, most likely for another value.
    fn value_listed_twice(&mut self, r: &ast::Range) {
        let Some(twice) = r.only.windows(2).find(|w| w[0] == w[1]) else {
            return;
        };
        let value = crate::program::show_decimal(twice[0]);
        self.diags.push(
            Diagnostic::error(
                "lexnis::resolve::value_listed_twice",
                format!("the value {value} is listed twice in `one of`"),
            )
            .label(r.span, "this list")
            .help(format!(
                "list {value} once; if another value was meant, write that one"
            )),
        );
    }

    /// Reads a constant of a known type through the facts loader, within the
    /// declared range if any; reports at its span.
    fn constant(
        &mut self,
        ty: &Type,
        range: Option<&ast::Range>,
        lit: &ast::Literal,
        what: &str,
    ) -> crate::value::Value {
        let mut errors = Vec::new();
        // A backwards range is reported once, by `backwards_range`.
        let range = range.filter(|r| !r.runs_backwards());
        let v = crate::facts::convert_checked(
            &self.p,
            ty,
            range,
            &crate::literal::to_json(lit),
            &crate::facts::JsonPath::Root,
            &mut errors,
        );
        for e in errors {
            // The part of a list or record that is wrong, rather than all of it.
            let wrong = crate::literal::literal_at(&[], Some(lit), &e.path).unwrap_or(lit);
            let span = wrong.span();
            let label = if span == lit.span() {
                format!("expected {}", self.p.type_name(ty))
            } else {
                "this value".to_string()
            };
            let code = if e.kind == crate::facts::FactErrorKind::UnknownEntry {
                "lexnis::resolve::unknown_table_entry"
            } else {
                "lexnis::resolve::bad_constant"
            };
            let message = crate::literal::as_written(wrong, &e.message);
            let mut d = Diagnostic::error(
                code,
                format!("{what}: {}", message.replace("wrong type: ", "")),
            )
            .label(span, label);
            let whole = (span == lit.span()).then(|| self.p.type_name(ty));
            let help = match e.kind {
                _ if e.help.is_some() => e.help,
                crate::facts::FactErrorKind::OutOfRange => Some(
                    "a default obeys the range declared with it: change one or the other".into(),
                ),
                crate::facts::FactErrorKind::WrongType => {
                    crate::literal::wrong_literal_help(wrong, whole.as_deref())
                }
                _ => None,
            };
            if let Some(h) = help {
                d = d.help(h);
            }
            self.diags.push(d);
        }
        v
    }

    /// Reports each name declared a second time within one record or table,
    /// at both places; returns the places of the second declarations.
    fn declared_twice<'n>(
        &mut self,
        names: impl Iterator<Item = &'n ast::Name>,
        what: &str,
        container: &str,
        container_name: &str,
    ) -> Vec<Span> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut repeated = Vec::new();
        for name in names {
            if let Some(&first) = seen.get(name.text.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::duplicate",
                        format!(
                            "{what} `{}` is declared twice in {container} {container_name}",
                            name.text
                        ),
                    )
                    .label(name.span, "second declaration")
                    .label(first, "first declaration")
                    .help("remove or rename one of them"),
                );
                repeated.push(name.span);
            } else {
                seen.insert(&name.text, name.span);
            }
        }
        repeated
    }

    fn declare_records_and_tables(&mut self, items: &[(ActId, &Item)]) {
        let (mut record, mut table) = (0, 0);
        for (_, item) in items {
            match item {
                Item::Record(r)
                    if self
                        .p
                        .records
                        .get(record)
                        .is_some_and(|d| d.span == r.name.span) =>
                {
                    let mut fields = Vec::new();
                    let names = r.fields.iter().map(|f| &f.name);
                    let twice = self.declared_twice(names, "field", "record", &r.name.text);
                    for f in r.fields.iter().filter(|f| !twice.contains(&f.name.span)) {
                        fields.push(self.field_spec(&f.name, &f.ty, &f.description));
                    }
                    self.p.records[record].fields = fields;
                    record += 1;
                }
                Item::Table(t)
                    if self
                        .p
                        .tables
                        .get(table)
                        .is_some_and(|d| d.span == t.name.span) =>
                {
                    let names = t.columns.iter().map(|(n, _)| n);
                    // The rows are still read against every column declared.
                    self.declared_twice(names, "column", "table", &t.name.text);
                    let columns: Vec<(String, Type)> = t
                        .columns
                        .iter()
                        .map(|(n, te)| (n.text.clone(), self.type_of(te)))
                        .collect();
                    self.p.tables[table].columns = columns;
                    table += 1;
                }
                _ => {}
            }
        }
        // Defaults and rows are read once every type is known.
        let mut record = 0;
        let mut table = 0;
        for (_, item) in items {
            match item {
                Item::Record(r)
                    if self
                        .p
                        .records
                        .get(record)
                        .is_some_and(|d| d.span == r.name.span) =>
                {
                    for f in &r.fields {
                        if let Some(lit) = &f.default {
                            let Some(i) = self.p.records[record]
                                .fields
                                .iter()
                                .position(|s| s.span == f.name.span)
                            else {
                                continue;
                            };
                            let field = &self.p.records[record].fields[i];
                            let (ty, range) = (field.ty.clone(), field.range.clone());
                            let v = self.constant(
                                &ty,
                                range.as_ref(),
                                lit,
                                &format!("default of field `{}`", f.name.text),
                            );
                            self.p.records[record].fields[i].default = Some(v);
                        }
                    }
                    record += 1;
                }
                Item::Table(t)
                    if self
                        .p
                        .tables
                        .get(table)
                        .is_some_and(|d| d.span == t.name.span) =>
                {
                    self.table_rows(TableId(table as u32), t);
                    table += 1;
                }
                _ => {}
            }
        }
    }

    fn table_rows(&mut self, id: TableId, t: &ast::TableDecl) {
        let columns = self.p.tables[id.index()].columns.clone();
        for row in &t.rows {
            if let Some(&first) = self.p.tables[id.index()].index.get(&row.key) {
                let first_span = self.p.tables[id.index()].rows[first as usize].span;
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::duplicate",
                        format!(
                            "table {} has two rows with key \"{}\"",
                            t.name.text, row.key
                        ),
                    )
                    .label(row.key_span, "second row")
                    .label(first_span, "first row")
                    .help("every row key must be unique: it is how facts and rules name the entry"),
                );
                continue;
            }
            if row.cells.len() != columns.len() {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::row_width",
                        format!(
                            "row \"{}\" has {} values but table {} has {} columns",
                            row.key,
                            row.cells.len(),
                            t.name.text,
                            columns.len()
                        ),
                    )
                    .label(row.key_span, "this row")
                    .help(format!(
                        "give one value for each column, in order: {}",
                        columns
                            .iter()
                            .map(|c| c.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                continue;
            }
            let cells = row
                .cells
                .iter()
                .zip(columns.iter())
                .map(|(lit, (cname, cty))| {
                    self.constant(
                        cty,
                        None,
                        lit,
                        &format!("column `{cname}` of row \"{}\"", row.key),
                    )
                })
                .collect();
            let table = &mut self.p.tables[id.index()];
            table.index.insert(row.key.clone(), table.rows.len() as u32);
            table.rows.push(TableRowDef {
                key: row.key.clone(),
                cells,
                span: row.key_span,
            });
        }
    }

    fn declare_values(&mut self, items: &[(ActId, &Item)]) {
        let mut spans: HashMap<String, (Span, String)> = HashMap::new();
        for (e, def) in self.p.enums.clone().iter().enumerate() {
            for (i, (variant, _)) in def.variants.iter().enumerate() {
                let name = ast::Name {
                    text: variant.clone(),
                    span: def.variant_spans[i],
                };
                let symbol = Symbol::Variant(EnumId(e as u32), i as u32);
                self.declare_name(def.act, &name, "enum variant", Some(symbol), &mut spans);
            }
        }
        for (act, item) in items {
            match item {
                Item::Fact(f) => {
                    let id = FactId(self.p.facts.len() as u32);
                    if self.declare_name(*act, &f.name, "fact", Some(Symbol::Fact(id)), &mut spans)
                    {
                        let mut spec = self.field_spec(&f.name, &f.ty, &f.description);
                        if let Some(lit) = &f.default {
                            spec.default = Some(self.constant(
                                &spec.ty,
                                spec.range.as_ref(),
                                lit,
                                &format!("default of fact `{}`", f.name.text),
                            ));
                        }
                        self.p.facts.push(FactDef { act: *act, spec });
                    }
                }
                Item::Define(d) => {
                    let id = DefineId(self.p.defines.len() as u32);
                    if self.declare_name(
                        *act,
                        &d.name,
                        "definition",
                        Some(Symbol::Define(id)),
                        &mut spans,
                    ) {
                        let ty = self.type_of(&d.ty);
                        let params = d
                            .params
                            .iter()
                            .map(|(n, t)| (n.text.clone(), self.type_of(t)))
                            .collect();
                        let citation =
                            self.require_citation(d.citation.as_ref(), &d.name, "definition");
                        self.p.defines.push(DefineDef {
                            name: d.name.text.clone(),
                            params,
                            act: *act,
                            ty,
                            description: d.description.clone(),
                            citation,
                            body: d.body.clone(),
                            span: d.name.span,
                        });
                    }
                }
                Item::Outcome(o) => {
                    let id = OutcomeId(self.p.outcomes.len() as u32);
                    if self.declare_name(
                        *act,
                        &o.name,
                        "outcome",
                        Some(Symbol::Outcome(id)),
                        &mut spans,
                    ) {
                        let ty = self.type_of(&o.ty);
                        self.p.outcomes.push(OutcomeDef {
                            name: o.name.text.clone(),
                            key: o
                                .reported_as
                                .as_ref()
                                .map_or_else(|| o.name.text.clone(), |k| k.0.clone()),
                            act: *act,
                            ty,
                            description: o.description.clone(),
                            otherwise: o.otherwise.clone(),
                            span: o.name.span,
                        });
                    }
                }
                Item::Example(e) => self.p.examples.push(ExampleDef {
                    act: *act,
                    decl: e.clone(),
                }),
                _ => {}
            }
        }
    }

    fn declare_reports(&mut self, items: &[(ActId, &Item)]) {
        for (_, item) in items {
            let Item::Report(names) = item else { continue };
            for n in names {
                match self.p.symbols.get(&n.text) {
                    Some(Symbol::Define(id)) if !self.p.defines[id.index()].params.is_empty() => {
                        self.diags.push(
                            Diagnostic::error("lexnis::resolve::report_function", format!("`report {}`: a definition with parameters has no single value to report", n.text))
                                .label(n.span, "has parameters")
                                .help("report a definition that applies it, e.g. `define x: T cite \"...\" = f(...)`"),
                        )
                    }
                    Some(Symbol::Define(id)) if !self.p.reports.contains(id) => {
                        self.p.reports.push(*id)
                    }
                    Some(Symbol::Define(_)) => {}
                    _ => {
                        let defines = self.p.defines.iter().map(|d| d.name.as_str());
                        let help = did_you_mean(&n.text, defines, "`report` lists definitions (declared with `define`) to show in results; outcomes are always shown");
                        self.diags.push(
                            Diagnostic::error(
                                "lexnis::resolve::unknown_report",
                                format!("`report {}`: no definition has this name", n.text),
                            )
                            .label(n.span, "not a definition")
                            .help(help),
                        );
                    }
                }
            }
        }
    }

    /// Result documents hold outcomes and reports by key beside their own fields.
    fn check_result_keys(&mut self, items: &[(ActId, &Item)]) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let outcome_keys = items.iter().filter_map(|(_, i)| match i {
            Item::Outcome(o) => Some(
                o.reported_as
                    .clone()
                    .unwrap_or_else(|| (o.name.text.clone(), o.name.span)),
            ),
            _ => None,
        });
        let report_keys = self.p.reports.iter().map(|d| {
            (
                self.p.defines[d.index()].name.clone(),
                self.p.defines[d.index()].span,
            )
        });
        let keys: Vec<(String, Span)> = outcome_keys.chain(report_keys).collect();
        for (key, span) in keys {
            if crate::program::RESERVED_KEYS.contains(&key.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::reserved_key",
                        format!("`{key}` is a field of every result and cannot name an outcome"),
                    )
                    .label(span, "reserved")
                    .help(format!(
                        "rename it, or add `reported as \"...\"`; reserved: {}",
                        crate::program::RESERVED_KEYS.join(", ")
                    )),
                );
            } else if let Some(first) = seen.insert(key.clone(), span) {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::duplicate_result_key",
                        format!("two results are reported as `{key}`"),
                    )
                    .label(span, "second")
                    .label(first, "first")
                    .help("give one of them another name with `reported as \"...\"`"),
                );
            }
        }
    }

    fn require_citation(
        &mut self,
        citation: Option<&ast::Citation>,
        name: &ast::Name,
        what: &str,
    ) -> String {
        match citation {
            Some(c) if c.text.trim().is_empty() => {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::empty_citation",
                        format!("the citation of {what} `{}` is empty", name.text),
                    )
                    .label(c.span, "no provision named")
                    .help("write the provision it encodes, e.g. `cite \"art. 3, c. 5, lett. c)\"`"),
                );
                String::new()
            }
            Some(c) => c.text.clone(),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "lexnis::resolve::missing_citation",
                        format!("{what} `{}` has no citation", name.text),
                    )
                    .label(
                        name.span,
                        "every rule and definition must cite the provision it encodes",
                    )
                    .help(format!(
                        "add a line `cite \"art. N, c. N, lett. x)\"` after the name of `{}`",
                        name.text
                    )),
                );
                String::new()
            }
        }
    }

    fn declare_rules(&mut self, items: &[(ActId, &Item)]) {
        let mut names: HashMap<String, (Span, String)> = HashMap::new();
        let mut pending = Vec::new();
        for (act, item) in items {
            let Item::Rule(r) = item else { continue };
            if !self.declare_name(*act, &r.name, "rule", None, &mut names) {
                continue;
            }
            let citation = self.require_citation(r.citation.as_ref(), &r.name, "rule");
            let outcome = match self.p.symbols.get(&r.conclusion.outcome.text) {
                Some(Symbol::Outcome(o)) => *o,
                _ => {
                    let outcomes: Vec<&str> =
                        self.p.outcomes.iter().map(|o| o.name.as_str()).collect();
                    self.diags.push(
                        Diagnostic::error(
                            "lexnis::resolve::unknown_outcome",
                            format!(
                                "rule `{}` concludes `{}`, which is not an outcome",
                                r.name.text, r.conclusion.outcome.text
                            ),
                        )
                        .label(r.conclusion.outcome.span, "not declared with `outcome`")
                        .help(did_you_mean(
                            &r.conclusion.outcome.text,
                            outcomes.iter().copied(),
                            "declare it first: `outcome NAME: TYPE otherwise VALUE`",
                        )),
                    );
                    continue;
                }
            };
            pending.push(r);
            self.p.rules.push(RuleDef {
                name: r.name.text.clone(),
                act: *act,
                description: r.description.clone(),
                citation,
                citation_span: r.citation.as_ref().map_or(r.name.span, |c| c.span),
                overrides: Vec::new(),
                condition: r.condition.clone(),
                outcome,
                value: r.conclusion.value.clone(),
                includes: r.conclusion.includes,
                span: r.name.span,
            });
        }
        let by_name: HashMap<String, RuleId> = self
            .p
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), RuleId(i as u32)))
            .collect();
        for (i, r) in pending.iter().enumerate() {
            for o in &r.overrides {
                match by_name.get(&o.text) {
                    Some(id) => self.p.rules[i].overrides.push(*id),
                    // Declared, but left out for an error already reported
                    // (its conclusion names no outcome): one mistake, one error.
                    None if names.contains_key(&o.text) => {}
                    None => self.diags.push(
                        Diagnostic::error(
                            "lexnis::resolve::unknown_rule",
                            format!(
                                "rule `{}` overrides `{}`, which is not a rule in force",
                                r.name.text, o.text
                            ),
                        )
                        .label(o.span, "unknown rule")
                        .help(did_you_mean(
                            &o.text,
                            by_name.keys().map(String::as_str),
                            "name a rule declared with `rule`",
                        )),
                    ),
                }
            }
        }
    }
}

const BUILTIN_TYPES: [&str; 6] = ["bool", "int", "decimal", "money", "date", "text"];

fn is_builtin_type(name: &str) -> bool {
    BUILTIN_TYPES.contains(&name)
}

/// `a rule`, `an enum variant`, `an outcome`.
fn with_article(kind: &str) -> String {
    let vowel = kind.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {kind}", if vowel { "an" } else { "a" })
}
