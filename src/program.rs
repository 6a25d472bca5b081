//! The policy set after name resolution: every declaration of every act version
//! in force, indexed by id. Built by `resolve`, typed by `check`, lowered by `lower`.

use crate::ast;
use crate::date::Date;
use crate::source::{SourceMap, Span};
use crate::value::Value;
use rust_decimal::Decimal;
use std::collections::HashMap;

macro_rules! ids {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub struct $name(pub u32);
        impl $name { pub fn index(self) -> usize { self.0 as usize } }
    )*};
}
ids!(ActId, EnumId, RecordId, TableId, FactId, DefineId, OutcomeId, RuleId);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Int,
    Decimal,
    Money,
    Date,
    Text,
    Enum(EnumId),
    /// A key of a table: one of its rows.
    Table(TableId),
    Record(RecordId),
    Set(Box<Type>),
    List(Box<Type>),
    Optional(Box<Type>),
    /// The type of the literal `none` before it meets an optional type.
    Nothing,
}

impl Type {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal | Type::Money)
    }

    /// The type with any `optional` wrapper removed.
    pub fn required(&self) -> &Type {
        match self {
            Type::Optional(t) => t.required(),
            t => t,
        }
    }

    pub fn element(&self) -> Option<&Type> {
        match self.required() {
            Type::Set(t) | Type::List(t) => Some(t),
            _ => None,
        }
    }
}

/// An act version in force on the evaluation date.
#[derive(Debug, Clone)]
pub struct Act {
    pub id: String,
    pub title: Option<String>,
    /// How citations name this act, e.g. "D.Lgs. 138/2024".
    pub cited_as: String,
    pub kind: Option<String>,
    pub adopted: Option<Date>,
    pub in_force: Date,
    pub gazette: Option<String>,
    pub supersedes: Option<Date>,
    pub review: Option<ReviewCadence>,
    /// External acts this one may cite without encoding them.
    pub refers_to: Vec<String>,
    pub articles: Option<(u32, u32)>,
    /// The annexes, numbered as their Roman numerals (`I to IV`: 1 to 4).
    pub annexes: Option<(u32, u32)>,
    pub imports: Vec<ActId>,
    pub header_span: Span,
    /// Folder holding this version's files.
    pub folder: String,
}

#[derive(Debug, Clone)]
pub struct ReviewCadence {
    pub every_years: u32,
    pub citation: String,
    pub span: Span,
}

impl Act {
    /// The act's [`review_due`] date; none past 9999-12-31, where no date is
    /// written (see `resolve`, which says so to the drafter).
    pub fn review_deadline(&self) -> Option<Date> {
        let review = self.review.as_ref()?;
        review_due(self.adopted, self.in_force, review.every_years)
            .written_as_yyyy_mm_dd()
            .ok()
    }
}

/// The day by which an act must have been revised (D.Lgs. 138/2024, art. 40,
/// c. 10 and 11): its adoption (or, failing that, in-force) date plus the
/// declared cadence in years.
pub fn review_due(adopted: Option<Date>, in_force: Date, every_years: u32) -> Date {
    adopted.unwrap_or(in_force).add_years(every_years as i32)
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub act: ActId,
    pub description: Option<String>,
    pub variants: Vec<(String, Option<String>)>,
    /// Where each variant is written, for diagnostics.
    pub variant_spans: Vec<Span>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub ty: Type,
    pub range: Option<ast::Range>,
    /// `range` as whole bounds, where it can be ([`ast::Range::whole_bounds`]);
    /// with no range, every whole number.
    pub whole_bounds: Option<std::ops::RangeInclusive<i64>>,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RecordDef {
    pub name: String,
    pub act: ActId,
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: String,
    pub act: ActId,
    pub description: Option<String>,
    pub citation: String,
    pub citation_span: Span,
    pub columns: Vec<(String, Type)>,
    pub rows: Vec<TableRowDef>,
    pub index: KeyIndex,
    pub span: Span,
}

/// A table's row numbers by key. Looked up for every table key a facts record
/// names, so hashed with Fx rather than SipHash: the map is built from the rule
/// files, and no facts record can fill it with colliding keys.
pub type KeyIndex = HashMap<String, u32, rustc_hash::FxBuildHasher>;

#[derive(Debug, Clone)]
pub struct TableRowDef {
    pub key: String,
    pub cells: Vec<Value>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FactDef {
    pub act: ActId,
    pub spec: FieldSpec,
}

#[derive(Debug, Clone)]
pub struct DefineDef {
    pub name: String,
    /// Non-empty for a definition used as a function.
    pub params: Vec<(String, Type)>,
    pub act: ActId,
    pub ty: Type,
    pub description: Option<String>,
    pub citation: String,
    pub body: ast::Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct OutcomeDef {
    pub name: String,
    /// The key of this outcome in result documents.
    pub key: String,
    pub act: ActId,
    pub ty: Type,
    pub description: Option<String>,
    pub otherwise: Option<ast::Expr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    pub act: ActId,
    pub description: Option<String>,
    pub citation: String,
    pub citation_span: Span,
    pub overrides: Vec<RuleId>,
    pub condition: ast::Expr,
    pub outcome: OutcomeId,
    /// `None` means `true` (the bare form `then in_scope`).
    pub value: Option<ast::Expr>,
    pub includes: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ExampleDef {
    pub act: ActId,
    pub decl: ast::ExampleDecl,
}

/// What a name in an expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbol {
    Fact(FactId),
    Define(DefineId),
    Outcome(OutcomeId),
    Variant(EnumId, u32),
}

/// The whole policy set in force on one date.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub sources: SourceMap,
    pub as_of: Option<Date>,
    pub acts: Vec<Act>,
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    pub tables: Vec<TableDef>,
    pub facts: Vec<FactDef>,
    pub defines: Vec<DefineDef>,
    pub outcomes: Vec<OutcomeDef>,
    pub rules: Vec<RuleDef>,
    pub examples: Vec<ExampleDef>,
    /// Definitions reported in results beside the outcomes.
    pub reports: Vec<DefineId>,
    /// The rules that conclude each outcome, in declaration order.
    pub rules_by_outcome: Vec<Vec<RuleId>>,
    /// Acts found in the policy folders whose first version comes into force after
    /// the evaluation date, with that first date: they are left out, and results say so.
    pub not_yet_in_force: Vec<(String, Date)>,
    /// Acts in force whose folders also hold a later version, with the date
    /// the next one comes into force: what the evaluation date leaves out.
    pub later_versions: Vec<(String, Date)>,
    pub symbols: HashMap<String, Symbol>,
    pub types: HashMap<String, Type>,
    /// Which act declared each expression-level name, for import checks.
    pub symbol_acts: HashMap<String, ActId>,
}

impl Program {
    pub fn act(&self, id: ActId) -> &Act {
        &self.acts[id.index()]
    }

    pub fn fact_by_name(&self, name: &str) -> Option<FactId> {
        match self.symbols.get(name) {
            Some(Symbol::Fact(id)) => Some(*id),
            _ => None,
        }
    }

    /// A type as a drafter writes it.
    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::Int => "int".into(),
            Type::Decimal => "decimal".into(),
            Type::Money => "money".into(),
            Type::Date => "date".into(),
            Type::Text => "text".into(),
            Type::Enum(id) => self.enums[id.index()].name.clone(),
            Type::Table(id) => self.tables[id.index()].name.clone(),
            Type::Record(id) => self.records[id.index()].name.clone(),
            Type::Set(t) => format!("set of {}", self.type_name(t)),
            Type::List(t) => format!("list of {}", self.type_name(t)),
            Type::Optional(t) => format!("optional {}", self.type_name(t)),
            Type::Nothing => "none".into(),
        }
    }

    /// The full citation of a provision: the act's name, then the text as written.
    pub fn full_citation(&self, act: ActId, citation: &str) -> String {
        let act = self.act(act);
        let known_prefix = std::iter::once(&act.cited_as)
            .chain(act.refers_to.iter())
            .chain(act.imports.iter().map(|i| &self.acts[i.index()].cited_as))
            .any(|p| citation.starts_with(p.as_str()));
        if known_prefix {
            citation.to_string()
        } else {
            format!("{}, {}", act.cited_as, citation)
        }
    }
}

/// A decimal bound for messages: `250`, not `250.000`.
pub fn show_decimal(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A range as the rule files write it: `between 0 and 100`, `at least 1`; empty
/// for no bound.
pub fn range_text(range: &crate::ast::Range) -> String {
    if let [first @ .., last] = &range.only[..] {
        let first: Vec<String> = first.iter().map(|n| show_decimal(*n)).collect();
        return match first.is_empty() {
            true => show_decimal(*last),
            false => format!("one of {} or {}", first.join(", "), show_decimal(*last)),
        };
    }
    match (range.min, range.max) {
        (Some(a), Some(b)) => format!("between {} and {}", show_decimal(a), show_decimal(b)),
        (Some(a), None) => format!("at least {}", show_decimal(a)),
        (None, Some(b)) => format!("at most {}", show_decimal(b)),
        (None, None) => String::new(),
    }
}

/// Fields every result document has; outcomes may not be reported under these keys.
pub const RESERVED_KEYS: [&str; 7] = [
    "line",
    "id",
    "as_of",
    "policy_versions",
    "warnings",
    "trace",
    "error",
];
