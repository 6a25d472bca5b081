//! The syntax tree of one rule file, with spans, as the parser builds it.

use crate::date::Date;
use crate::source::Span;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct File {
    pub header: Header,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Header {
    /// `act ID { ... }`: the file that carries an act version's metadata.
    Act(Box<ActHeader>),
    /// `part of ID`: a further file of the act version in the same folder.
    PartOf(Name),
}

#[derive(Debug, Clone, Default)]
pub struct ActHeader {
    pub id: Name,
    pub span: Span,
    pub title: Option<String>,
    pub cited_as: Option<(String, Span)>,
    pub kind: Option<Name>,
    pub adopted: Option<(Date, Span)>,
    pub in_force: Option<(Date, Span)>,
    pub gazette: Option<String>,
    pub supersedes: Option<(Date, Span)>,
    pub review: Option<Review>,
    pub refers_to: Vec<(String, Span)>,
    pub articles: Option<(u32, u32, Span)>,
    /// The annexes, by their Roman numerals read as numbers.
    pub annexes: Option<(u32, u32, Span)>,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub every_years: u32,
    pub citation: Citation,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Citation {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Item {
    Import(Name),
    /// `report a, b`: definitions shown in results beside the outcomes.
    Report(Vec<Name>),
    Enum(EnumDecl),
    Record(RecordDecl),
    Table(TableDecl),
    Fact(FactDecl),
    Define(DefineDecl),
    Outcome(OutcomeDecl),
    Rule(RuleDecl),
    Example(ExampleDecl),
}

#[derive(Debug, Clone)]
pub struct EnumDecl {
    pub name: Name,
    pub description: Option<String>,
    pub variants: Vec<(Name, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct RecordDecl {
    pub name: Name,
    pub description: Option<String>,
    pub fields: Vec<FieldDecl>,
}

#[derive(Debug, Clone)]
pub struct FieldDecl {
    pub name: Name,
    pub ty: TypeExpr,
    pub default: Option<Literal>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub enum TypeExpr {
    Named { name: Name, range: Option<Range> },
    Optional(Box<TypeExpr>, Span),
    Set(Box<TypeExpr>, Span),
    List(Box<TypeExpr>, Span),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named { name, .. } => name.span,
            TypeExpr::Optional(_, s) | TypeExpr::Set(_, s) | TypeExpr::List(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    /// `one of 6, 8, 9 or 10`: the values allowed, sorted (`min` and `max`
    /// their ends); empty when every value within the bounds is.
    pub only: Vec<Decimal>,
    pub span: Span,
}

impl Range {
    /// `between 100 and 0`: no value is in it.
    pub fn runs_backwards(&self) -> bool {
        matches!((self.min, self.max), (Some(min), Some(max)) if min > max)
    }

    /// The smallest range holding both: a bound either lacks, the union
    /// lacks; a list joined with a range of every value is no list.
    pub fn union(&self, other: &Range) -> Range {
        let only = match (self.only.is_empty(), other.only.is_empty()) {
            (false, false) => {
                let mut both = [&self.only[..], &other.only[..]].concat();
                both.sort();
                both.dedup();
                both
            }
            _ => Vec::new(),
        };
        Range {
            min: self.min.zip(other.min).map(|(a, b)| a.min(b)),
            max: self.max.zip(other.max).map(|(a, b)| a.max(b)),
            only,
            span: self.span,
        }
    }

    /// Whether `n` is within the bounds and, for a list, one of its values.
    pub fn contains(&self, n: Decimal) -> bool {
        self.min.is_none_or(|m| compare(n, m).is_ge())
            && self.max.is_none_or(|m| compare(n, m).is_le())
            && (self.only.is_empty() || self.only.binary_search(&n).is_ok())
    }
}

impl Range {
    /// The range as bounds of whole numbers, `lowest..=highest`, for a range
    /// that a whole number is in exactly when it is within them: whole bounds
    /// (or none), each within `i64`, and no list of values. A facts reader
    /// checks each whole number it reads against these, worked out once, with
    /// no call and no `Decimal` (the call of [`Range::contains`] took a
    /// fortieth of a batch's reading and deciding, sampled).
    pub fn whole_bounds(&self) -> Option<std::ops::RangeInclusive<i64>> {
        let whole = |bound: Option<Decimal>, none: i64| match bound {
            None => Some(none),
            Some(b) if b.fract().is_zero() => i64::try_from(b.trunc()).ok(),
            Some(_) => None,
        };
        let lowest = whole(self.min, i64::MIN)?;
        let highest = whole(self.max, i64::MAX)?;
        self.only.is_empty().then_some(lowest..=highest)
    }
}

/// Two decimals compared; two whole ones (the usual case: a facts record
/// holds a dozen numbers, nearly all whole, against bounds such as `at least
/// 0`) as integers, as `Decimal`'s comparison first brings both sides to one
/// scale (a facts reader's time, sampled).
#[inline]
fn compare(a: Decimal, b: Decimal) -> std::cmp::Ordering {
    match (a.scale(), b.scale()) {
        (0, 0) => a.mantissa().cmp(&b.mantissa()),
        _ => a.cmp(&b),
    }
}

#[derive(Debug, Clone)]
pub struct TableDecl {
    pub name: Name,
    pub description: Option<String>,
    pub citation: Citation,
    pub columns: Vec<(Name, TypeExpr)>,
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Clone)]
pub struct TableRow {
    pub key: String,
    pub key_span: Span,
    pub cells: Vec<Literal>,
}

#[derive(Debug, Clone)]
pub struct FactDecl {
    pub name: Name,
    pub ty: TypeExpr,
    pub default: Option<Literal>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DefineDecl {
    pub name: Name,
    /// Parameters, for a definition used as a function: `define f(x: int): ...`.
    pub params: Vec<(Name, TypeExpr)>,
    pub ty: TypeExpr,
    pub description: Option<String>,
    pub citation: Option<Citation>,
    pub body: Expr,
}

#[derive(Debug, Clone)]
pub struct OutcomeDecl {
    pub name: Name,
    pub ty: TypeExpr,
    /// The key in result documents, when it differs from the name.
    pub reported_as: Option<(String, Span)>,
    pub description: Option<String>,
    pub otherwise: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct RuleDecl {
    pub name: Name,
    pub description: Option<String>,
    pub citation: Option<Citation>,
    pub overrides: Vec<Name>,
    pub condition: Expr,
    pub conclusion: Conclusion,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Conclusion {
    pub outcome: Name,
    /// `None` for the bare form `then in_scope`, meaning `= true`.
    pub value: Option<Expr>,
    /// `includes` adds to a set outcome; `=` sets a single one.
    pub includes: bool,
}

#[derive(Debug, Clone)]
pub struct ExampleDecl {
    pub name: String,
    pub span: Span,
    pub given: Vec<(Name, Literal)>,
    pub as_of: Option<(Date, Span)>,
    pub expects: Vec<Expectation>,
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub outcome: Name,
    pub value: Literal,
    pub because: Option<(String, Span)>,
}

/// A constant written in the file: in examples, defaults and table rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Bool(bool, Span),
    Number(Decimal, Span),
    Money(Decimal, Span),
    Date(Date, Span),
    Text(String, Span),
    /// A bare word: an enum variant, checked against the expected type.
    Word(String, Span),
    None(Span),
    List(Vec<Literal>, Span),
    Record(Vec<(Name, Literal)>, Span),
}

impl Literal {
    pub fn span(&self) -> Span {
        match self {
            Literal::Bool(_, s)
            | Literal::Number(_, s)
            | Literal::Money(_, s)
            | Literal::Date(_, s)
            | Literal::Text(_, s)
            | Literal::Word(_, s)
            | Literal::None(s)
            | Literal::List(_, s)
            | Literal::Record(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Contains,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Contains => "contains",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggKind {
    Sum,
    Largest,
    Smallest,
    Any,
    All,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    Max,
    Min,
    Date,
    Year,
    DaysBetween,
    AddDays,
    AddYears,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Max => "max",
            Builtin::Min => "min",
            Builtin::Date => "date",
            Builtin::Year => "year",
            Builtin::DaysBetween => "days_between",
            Builtin::AddDays => "add_days",
            Builtin::AddYears => "add_years",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Literal(Literal),
    Today,
    Name(String),
    Field(Box<Expr>, Name),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IsGiven(Box<Expr>, bool),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    SetLiteral(Vec<Expr>),
    Call(Builtin, Vec<Expr>),
    /// A call of a definition with parameters.
    Apply(Name, Vec<Expr>),
    /// `sum BODY for VAR in LIST where FILTER`, `any VAR in LIST where FILTER`, ...
    Aggregate {
        kind: AggKind,
        var: Name,
        collection: Box<Expr>,
        body: Option<Box<Expr>>,
        filter: Option<Box<Expr>>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: Option<&str>, max: Option<&str>, only: &[&str]) -> Range {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        Range {
            min: min.map(d),
            max: max.map(d),
            only: only.iter().copied().map(d).collect(),
            span: Span::default(),
        }
    }

    #[test]
    fn whole_bounds_hold_the_whole_numbers_the_range_holds() {
        let ranges = [
            range(Some("0"), None, &[]),
            range(None, Some("100"), &[]),
            range(Some("-5"), Some("5"), &[]),
            range(None, None, &[]),
            range(Some("100"), Some("0"), &[]),
        ];
        for r in &ranges {
            let bounds = r.whole_bounds().expect("whole bounds");
            for n in [
                i64::MIN,
                -101,
                -6,
                -5,
                -1,
                0,
                1,
                5,
                6,
                99,
                100,
                101,
                i64::MAX,
            ] {
                assert_eq!(
                    bounds.contains(&n),
                    r.contains(Decimal::from(n)),
                    "{n} in {r:?}"
                );
            }
        }
    }

    #[test]
    fn a_range_whole_bounds_cannot_stand_for_has_none() {
        // A fractional bound, a list of values, a bound past i64.
        assert_eq!(range(Some("0.5"), None, &[]).whole_bounds(), None);
        assert_eq!(
            range(Some("6"), Some("10"), &["6", "8", "10"]).whole_bounds(),
            None
        );
        assert_eq!(
            range(None, Some("100000000000000000000"), &[]).whole_bounds(),
            None
        );
    }
}
