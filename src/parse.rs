//! Stage 1: rule-file text to syntax tree. Entry point: [`parse_file`].

use crate::ast::*;
use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use pest::iterators::Pair;
use pest::Parser as _;
use rust_decimal::Decimal;
use std::str::FromStr;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/lexnis.pest"]
struct LexnisParser;

mod commas;
mod errors;
mod hints;

use errors::{parse_in_detail, syntax_error};

/// A rule file that could not be read; each diagnostic points at the place.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one rule file.
pub fn parse_file(file: FileId, text: &str) -> Result<File, ParseError> {
    if let Some(d) = too_deep(file, text) {
        return Err(ParseError {
            diagnostics: vec![d],
        });
    }
    let mut pairs = LexnisParser::parse(Rule::file, text).map_err(|e| ParseError {
        diagnostics: vec![syntax_error(file, text, parse_in_detail(text, e))],
    })?;
    let mut builder = Builder {
        file,
        errors: Vec::new(),
    };
    let ast = builder.file(pairs.next().expect("the file rule always yields one pair"));
    if builder.errors.is_empty() {
        Ok(ast)
    } else {
        Err(ParseError {
            diagnostics: builder.errors,
        })
    }
}

const MAX_DEPTH: usize = 64;

/// How many `if` and `not` one declaration may hold: each nests the rest of
/// its expression one level deeper in the parser and in every later stage,
/// whose recursion a chain of many hundreds would overflow. (A count, not a
/// depth: it needs no parse, and no rule of the law comes near it.)
const MAX_NESTING_WORDS: usize = 128;

/// A file nested deeper than the parser and the later stages can recurse: the
/// first bracket past [`MAX_DEPTH`], or the first `if` or `not` past
/// [`MAX_NESTING_WORDS`] in one declaration (a line that begins at its first
/// column begins one). Found without parsing, outside strings and comments.
fn too_deep(file: FileId, text: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let (mut depth, mut words) = (0usize, 0usize);
    for (i, b) in code_bytes(text) {
        if (i == 0 || bytes[i - 1] == b'\n') && !b.is_ascii_whitespace() {
            words = 0;
        }
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'i' | b'n' if is_nesting_word(bytes, i) => words += 1,
            _ => continue,
        }
        if depth > MAX_DEPTH {
            let d = Diagnostic::error(
                "lexnis::parse::too_deep",
                format!("brackets nested more than {MAX_DEPTH} deep"),
            );
            return Some(
                d.label(Span::new(file, i, i + 1), "this bracket")
                    .help("split the expression with `define` into named steps"),
            );
        }
        if words > MAX_NESTING_WORDS {
            let d = Diagnostic::error(
                "lexnis::parse::too_deep",
                format!("more than {MAX_NESTING_WORDS} `if` and `not` in one declaration"),
            );
            return Some(d.label(Span::new(file, i, i + 2), "this one").help(
                "each `else if` and `not` nests what follows in it, and lexnis reads at most \
                 that many in one declaration: split the expression with `define` into named steps",
            ));
        }
    }
    None
}

/// The bytes of a rule file outside its strings and comments, with their
/// offsets. (A string ends at its line's end, as the grammar has it.)
fn code_bytes(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped, mut in_comment) = (false, false, false);
    text.bytes().enumerate().filter(move |&(_, b)| {
        if b == b'\n' {
            (in_string, escaped, in_comment) = (false, false, false);
            return true;
        }
        match b {
            _ if in_comment => {}
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'#' if !in_string => in_comment = true,
            _ if !in_string => return true,
            _ => {}
        }
        false
    })
}

/// Whether the word at `i` is `if` or `not`.
fn is_nesting_word(bytes: &[u8], i: usize) -> bool {
    let part_of_name = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    if i > 0 && part_of_name(&bytes[i - 1]) {
        return false;
    }
    let rest = &bytes[i..];
    [&b"if"[..], &b"not"[..]]
        .iter()
        .any(|w| rest.starts_with(w) && !rest.get(w.len()).is_some_and(part_of_name))
}

struct Builder {
    file: FileId,
    errors: Vec<Diagnostic>,
}

fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner()
}

/// The keyword rules (`kw_*`) are the last ones of the grammar, so pest numbers
/// them after every other rule (a unit test keeps this true).
fn is_keyword(rule: Rule) -> bool {
    rule as usize >= Rule::kw_act as usize
}

/// The keyword of a header field, as a drafter writes it.
fn keyword_of_field(rule: Rule) -> &'static str {
    match rule {
        Rule::title_field => "title",
        Rule::cited_field => "cited as",
        Rule::kind_field => "kind",
        Rule::adopted_field => "adopted",
        Rule::in_force_field => "in force from",
        Rule::gazette_field => "gazette",
        Rule::supersedes_field => "supersedes",
        Rule::review_field => "review every",
        Rule::articles_field => "articles",
        Rule::annexes_field => "annexes",
        _ => "refers to",
    }
}

/// A number whose `_` do not separate groups of three digits (`2_000_0000`),
/// written again as its digits read (`20_000_000`).
fn misgrouped(number: &str) -> Option<String> {
    let whole = number.split('.').next().unwrap_or(number);
    let groups: Vec<&str> = whole.split('_').collect();
    let well = groups.len() == 1
        || ((1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3));
    if well {
        return None;
    }
    let digits: String = whole.chars().filter(|c| *c != '_').collect();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('_');
        }
        grouped.push(c);
    }
    let fraction = number.strip_prefix(whole).unwrap_or("");
    Some(grouped + fraction)
}

/// `43.000`, or `1.500` where `suspect` says the fraction of three digits is
/// more likely a group of thousands: the number as thousands (`43_000`).
fn thousands_point(number: &str, suspect: impl Fn(&str) -> bool) -> Option<String> {
    let (whole, fraction) = number.split_once('.')?;
    let digits = whole.trim_start_matches('-');
    let looks_grouped =
        (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    (looks_grouped && fraction.len() == 3 && suspect(fraction))
        .then(|| format!("{whole}_{fraction}"))
}

/// Drops keyword tokens, which carry no meaning once parsed.
fn significant(pair: Pair<'_, Rule>) -> Vec<Pair<'_, Rule>> {
    inner(pair).filter(|p| !is_keyword(p.as_rule())).collect()
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn string(&self, pair: &Pair<'_, Rule>) -> String {
        let raw = pair.as_str();
        let body = &raw[1..raw.len() - 1];
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn date(&mut self, pair: &Pair<'_, Rule>) -> Date {
        match Date::parse(pair.as_str()) {
            Ok(d) => d,
            Err(e) => {
                self.errors.push(
                    Diagnostic::error("lexnis::parse::malformed_date", format!("malformed date `{}`", pair.as_str()))
                        .label(self.span(pair), e.0)
                        .help("write dates as YYYY-MM-DD with a day that exists in that month, e.g. 2025-02-28"),
                );
                Date {
                    year: 1970,
                    month: 1,
                    day: 1,
                }
            }
        }
    }

    /// The years of `review every N years`: a cadence the law could set (art.
    /// 40 sets 2 and 3), so that a deadline is a date a result can carry.
    fn review_years(&mut self, pair: &Pair<'_, Rule>) -> u32 {
        match pair.as_str().parse::<u32>() {
            Ok(years @ 1..=100) => years,
            _ => {
                self.errors.push(
                    Diagnostic::error(
                        "lexnis::parse::review_years",
                        format!("`review every {} years` is not a review cadence", pair.as_str()),
                    )
                    .label(self.span(pair), "a number of years from 1 to 100")
                    .help("write the years the act sets for its update, e.g. `review every 3 years` (art. 40, c. 10)"),
                );
                3
            }
        }
    }

    fn thousands_error(&mut self, pair: &Pair<'_, Rule>, meant: &str) {
        let written = pair.as_str();
        let value =
            Decimal::from_str(written).map_or(written.to_string(), |d| d.normalize().to_string());
        self.errors.push(
            Diagnostic::error(
                "lexnis::parse::thousands_point",
                format!("`{written}` is {value}: the point is the decimal point, not a thousands separator"),
            )
            .label(self.span(pair), "a point is the decimal point")
            .help(format!(
                "digits are grouped by three with `_`: write `{meant}` for thousands, or `{value}` if {value} is meant"
            )),
        );
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> Decimal {
        let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        if let Some(grouped) = misgrouped(pair.as_str()) {
            // `2_000_0000 EUR` is ten times the threshold that was meant.
            self.errors.push(
                Diagnostic::error(
                    "lexnis::parse::digit_groups",
                    format!("`{}`: digits are grouped by three with `_`", pair.as_str()),
                )
                .label(self.span(pair), "this number")
                .help(format!(
                    "these digits read as {grouped}; write the amount meant grouped by three from the right"
                )),
            );
        }
        if let Some(meant) = thousands_point(pair.as_str(), |fraction| fraction == "000") {
            self.thousands_error(pair, &meant);
        }
        match Decimal::from_str(&text) {
            Ok(d) => d,
            Err(_) => {
                self.errors.push(
                    Diagnostic::error(
                        "lexnis::parse::number",
                        format!("`{}` is too large or too precise", pair.as_str()),
                    )
                    .label(self.span(pair), "this number")
                    .help("numbers are exact decimals of at most 28 digits"),
                );
                Decimal::ZERO
            }
        }
    }

    fn file(&mut self, pair: Pair<'_, Rule>) -> File {
        let mut header = None;
        let mut items = Vec::new();
        for p in inner(pair) {
            match p.as_rule() {
                Rule::header => header = Some(self.header(p)),
                Rule::EOI => {}
                _ => {
                    if let Some(item) = self.item(p) {
                        items.push(item)
                    }
                }
            }
        }
        File {
            header: header.expect("grammar requires a header"),
            items,
        }
    }

    fn header(&mut self, pair: Pair<'_, Rule>) -> Header {
        let p = inner(pair).next().expect("header has one child");
        match p.as_rule() {
            Rule::part_header => {
                let id = significant(p).into_iter().next().expect("part of ID");
                Header::PartOf(self.name(&id))
            }
            _ => Header::Act(Box::new(self.act_header(p))),
        }
    }

    fn act_header(&mut self, pair: Pair<'_, Rule>) -> ActHeader {
        let span = self.span(&pair);
        let mut parts = significant(pair).into_iter();
        let id = self.name(&parts.next().expect("act id"));
        let mut h = ActHeader {
            id,
            span,
            ..ActHeader::default()
        };
        let mut given: Vec<(Rule, Span)> = Vec::new();
        for field in parts {
            let fspan = self.span(&field);
            let rule = field.as_rule();
            match given.iter().find(|(r, _)| *r == rule) {
                // `refers to` lists the acts referred to, one a line.
                Some((_, first)) if rule != Rule::refers_field => {
                    self.field_given_twice(&h.id.text, rule, *first, fspan);
                    continue;
                }
                _ => given.push((rule, fspan)),
            }
            let vals = significant(field);
            match rule {
                Rule::title_field => h.title = Some(self.string(&vals[0])),
                Rule::cited_field => h.cited_as = Some((self.string(&vals[0]), fspan)),
                Rule::kind_field => h.kind = Some(self.name(&vals[0])),
                Rule::adopted_field => h.adopted = Some((self.date(&vals[0]), fspan)),
                Rule::in_force_field => h.in_force = Some((self.date(&vals[0]), fspan)),
                Rule::gazette_field => h.gazette = Some(self.string(&vals[0])),
                Rule::supersedes_field => h.supersedes = Some((self.date(&vals[0]), fspan)),
                Rule::refers_field => h.refers_to.push((self.string(&vals[0]), fspan)),
                Rule::review_field => {
                    h.review = Some(Review {
                        every_years: self.review_years(&vals[0]),
                        citation: self.citation(vals[1].clone()),
                        span: fspan,
                    })
                }
                Rule::articles_field => {
                    // Too large for a u32 is too large for `resolve`'s limit too.
                    let a = vals[0].as_str().parse().unwrap_or(u32::MAX);
                    let b = vals[1].as_str().parse().unwrap_or(u32::MAX);
                    h.articles = Some((a, b, fspan));
                }
                Rule::annexes_field => {
                    let a = crate::roman::value(vals[0].as_str());
                    let b = crate::roman::value(vals[1].as_str());
                    h.annexes = Some((a, b, fspan));
                }
                _ => {}
            }
        }
        h
    }

    /// A field of an act's header written a second time: an error, since which
    /// of the two the drafter meant cannot be told (the later one would
    /// otherwise silently replace the first).
    fn field_given_twice(&mut self, act: &str, rule: Rule, first: Span, again: Span) {
        let field = keyword_of_field(rule);
        self.errors.push(
            Diagnostic::error(
                "lexnis::parse::field_given_twice",
                format!("`{field}` is given twice in the header of act `{act}`"),
            )
            .label(again, "given again here")
            .label(first, "first given here")
            .help(format!(
                "keep one `{field}` line; a new text of the act is a new version in its own folder"
            )),
        );
    }

    fn citation(&self, pair: Pair<'_, Rule>) -> Citation {
        let s = significant(pair).into_iter().next().expect("cite string");
        Citation {
            text: self.string(&s),
            span: self.span(&s),
        }
    }

    fn description(&self, pair: Pair<'_, Rule>) -> String {
        let s = inner(pair).next().expect("description string");
        self.string(&s)
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let rule = pair.as_rule();
        let span = self.span(&pair);
        let parts = significant(pair);
        Some(match rule {
            Rule::import_decl => Item::Import(self.name(&parts[0])),
            Rule::report_decl => Item::Report(parts.iter().map(|p| self.name(p)).collect()),
            Rule::enum_decl => Item::Enum(self.enum_decl(parts)),
            Rule::record_decl => Item::Record(self.record_decl(parts)),
            Rule::table_decl => Item::Table(self.table_decl(parts)),
            Rule::fact_decl => Item::Fact(self.fact_decl(parts)),
            Rule::define_decl => Item::Define(self.define_decl(parts)),
            Rule::outcome_decl => Item::Outcome(self.outcome_decl(parts)),
            Rule::rule_decl => Item::Rule(self.rule_decl(parts, span)),
            Rule::example_decl => Item::Example(self.example_decl(parts, span)),
            _ => return None,
        })
    }

    fn enum_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> EnumDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("enum name"));
        let mut description = None;
        let mut variants = Vec::new();
        for p in it {
            match p.as_rule() {
                Rule::description => description = Some(self.description(p)),
                Rule::variant => {
                    let mut v = inner(p);
                    let vname = self.name(&v.next().expect("variant name"));
                    let vdesc = v.next().map(|d| self.description(d));
                    variants.push((vname, vdesc));
                }
                _ => {}
            }
        }
        EnumDecl {
            name,
            description,
            variants,
        }
    }

    fn record_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> RecordDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("record name"));
        let mut description = None;
        let mut fields = Vec::new();
        for p in it {
            match p.as_rule() {
                Rule::description => description = Some(self.description(p)),
                Rule::field_decl => fields.push(self.field_decl(p)),
                _ => {}
            }
        }
        RecordDecl {
            name,
            description,
            fields,
        }
    }

    fn field_decl(&mut self, pair: Pair<'_, Rule>) -> FieldDecl {
        let mut it = significant(pair).into_iter();
        let name = self.name(&it.next().expect("field name"));
        let ty = self.type_expr(it.next().expect("field type"));
        let (default, description) = self.default_and_description(it);
        FieldDecl {
            name,
            ty,
            default,
            description,
        }
    }

    fn default_and_description<'a>(
        &mut self,
        rest: impl Iterator<Item = Pair<'a, Rule>>,
    ) -> (Option<Literal>, Option<String>) {
        let mut default = None;
        let mut description = None;
        for p in rest {
            match p.as_rule() {
                Rule::default_clause => {
                    let lit = significant(p).into_iter().next().expect("default value");
                    default = Some(self.literal(lit));
                }
                Rule::description => description = Some(self.description(p)),
                _ => {}
            }
        }
        (default, description)
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let p = inner(pair).next().expect("type_expr has one child");
        match p.as_rule() {
            Rule::optional_type | Rule::set_type | Rule::list_type => {
                let rule = p.as_rule();
                let inner_ty = significant(p).into_iter().next().expect("element type");
                let boxed = Box::new(self.type_expr(inner_ty));
                match rule {
                    Rule::optional_type => TypeExpr::Optional(boxed, span),
                    Rule::set_type => TypeExpr::Set(boxed, span),
                    _ => TypeExpr::List(boxed, span),
                }
            }
            _ => {
                let mut it = inner(p);
                let name = self.name(&it.next().expect("type name"));
                let range = it.next().map(|r| self.range(r));
                TypeExpr::Named { name, range }
            }
        }
    }

    fn range(&mut self, pair: Pair<'_, Rule>) -> Range {
        let span = self.span(&pair);
        let p = inner(pair).next().expect("range kind");
        let rule = p.as_rule();
        let nums: Vec<_> = significant(p);
        let values: Vec<Decimal> = nums.iter().map(|n| self.number(n)).collect();
        match rule {
            Rule::between_range => Range {
                min: Some(values[0]),
                max: Some(values[1]),
                only: Vec::new(),
                span,
            },
            Rule::one_of_range => {
                let mut only = values;
                only.sort();
                Range {
                    min: only.first().copied(),
                    max: only.last().copied(),
                    only,
                    span,
                }
            }
            _ => Range {
                min: Some(values[0]),
                max: None,
                only: Vec::new(),
                span,
            },
        }
    }

    fn table_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> TableDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("table name"));
        let mut description = None;
        let mut citation = None;
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        for p in it {
            match p.as_rule() {
                Rule::description => description = Some(self.description(p)),
                Rule::citation => citation = Some(self.citation(p)),
                Rule::columns => {
                    for c in significant(p) {
                        let mut ci = inner(c);
                        let cname = self.name(&ci.next().expect("column name"));
                        let cty = self.type_expr(ci.next().expect("column type"));
                        columns.push((cname, cty));
                    }
                }
                Rule::row => {
                    let mut ri = inner(p);
                    let key_pair = ri.next().expect("row key");
                    rows.push(TableRow {
                        key: self.string(&key_pair),
                        key_span: self.span(&key_pair),
                        cells: ri.map(|c| self.literal(c)).collect(),
                    });
                }
                _ => {}
            }
        }
        TableDecl {
            name,
            description,
            citation: citation.expect("grammar requires a table citation"),
            columns,
            rows,
        }
    }

    fn fact_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> FactDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("fact name"));
        let ty = self.type_expr(it.next().expect("fact type"));
        let (default, description) = self.default_and_description(it);
        FactDecl {
            name,
            ty,
            default,
            description,
        }
    }

    fn define_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> DefineDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("define name"));
        let mut next = it.next().expect("define type");
        let mut params = Vec::new();
        if next.as_rule() == Rule::params {
            for param in inner(next) {
                let mut pi = inner(param);
                let pname = self.name(&pi.next().expect("parameter name"));
                params.push((pname, self.type_expr(pi.next().expect("parameter type"))));
            }
            next = it.next().expect("define type");
        }
        let ty = self.type_expr(next);
        let mut description = None;
        let mut citation = None;
        let mut body = None;
        for p in it {
            match p.as_rule() {
                Rule::description => description = Some(self.description(p)),
                Rule::citation => citation = Some(self.citation(p)),
                Rule::expr => body = Some(self.expr(p)),
                _ => {}
            }
        }
        DefineDecl {
            name,
            params,
            ty,
            description,
            citation,
            body: body.expect("grammar requires a body"),
        }
    }

    fn outcome_decl(&mut self, parts: Vec<Pair<'_, Rule>>) -> OutcomeDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("outcome name"));
        let ty = self.type_expr(it.next().expect("outcome type"));
        let mut description = None;
        let mut otherwise = None;
        let mut reported_as = None;
        for p in it {
            match p.as_rule() {
                Rule::reported_as => {
                    let s = significant(p).into_iter().next().expect("reported as key");
                    reported_as = Some((self.string(&s), self.span(&s)));
                }
                Rule::description => description = Some(self.description(p)),
                Rule::otherwise_clause => {
                    let e = significant(p).into_iter().next().expect("otherwise value");
                    otherwise = Some(self.expr(e));
                }
                _ => {}
            }
        }
        OutcomeDecl {
            name,
            ty,
            reported_as,
            description,
            otherwise,
        }
    }

    fn rule_decl(&mut self, parts: Vec<Pair<'_, Rule>>, span: Span) -> RuleDecl {
        let mut it = parts.into_iter();
        let name = self.name(&it.next().expect("rule name"));
        let mut description = None;
        let mut citation = None;
        let mut overrides = Vec::new();
        let mut condition = None;
        let mut conclusion = None;
        for p in it {
            match p.as_rule() {
                Rule::description => description = Some(self.description(p)),
                Rule::citation => citation = Some(self.citation(p)),
                Rule::overrides => {
                    overrides = significant(p).iter().map(|n| self.name(n)).collect()
                }
                Rule::expr => condition = Some(self.expr(p)),
                Rule::conclusion => conclusion = Some(self.conclusion(p)),
                _ => {}
            }
        }
        RuleDecl {
            name,
            description,
            citation,
            overrides,
            condition: condition.expect("grammar requires a condition"),
            conclusion: conclusion.expect("grammar requires a conclusion"),
            span,
        }
    }

    fn conclusion(&mut self, pair: Pair<'_, Rule>) -> Conclusion {
        let mut it = inner(pair);
        let outcome = self.name(&it.next().expect("outcome name"));
        match it.next() {
            None => Conclusion {
                outcome,
                value: None,
                includes: false,
            },
            Some(op) => {
                let includes = op.as_str() != "=";
                let value = self.expr(it.next().expect("conclusion value"));
                Conclusion {
                    outcome,
                    value: Some(value),
                    includes,
                }
            }
        }
    }

    fn example_decl(&mut self, parts: Vec<Pair<'_, Rule>>, span: Span) -> ExampleDecl {
        let mut it = parts.into_iter();
        let name_pair = it.next().expect("example name");
        let mut ex = ExampleDecl {
            name: self.string(&name_pair),
            span,
            given: Vec::new(),
            as_of: None,
            expects: Vec::new(),
        };
        for p in it {
            match p.as_rule() {
                Rule::given => {
                    for a in significant(p) {
                        let mut ai = inner(a);
                        let n = self.name(&ai.next().expect("given name"));
                        let v = self.literal(ai.next().expect("given value"));
                        ex.given.push((n, v));
                    }
                }
                Rule::as_of => {
                    let d = significant(p).into_iter().next().expect("as of date");
                    let span = self.span(&d);
                    if let Some((_, first)) = ex.as_of {
                        self.errors.push(
                            Diagnostic::error(
                                "lexnis::parse::as_of_twice",
                                format!("example \"{}\" gives `as of` twice", ex.name),
                            )
                            .label(span, "second")
                            .label(first, "first")
                            .help("an example runs on one date: keep one `as of`, or split the example in two"),
                        );
                    }
                    ex.as_of = Some((self.date(&d), span));
                }
                Rule::expect => {
                    let mut ei = significant(p).into_iter();
                    let outcome = self.name(&ei.next().expect("expect name"));
                    let value = self.literal(ei.next().expect("expect value"));
                    let because = ei.next().map(|b| {
                        let s = significant(b).into_iter().next().expect("because text");
                        (self.string(&s), self.span(&s))
                    });
                    ex.expects.push(Expectation {
                        outcome,
                        value,
                        because,
                    });
                }
                _ => {}
            }
        }
        ex
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Literal {
        let span = self.span(&pair);
        let p = if pair.as_rule() == Rule::literal {
            inner(pair).next().expect("literal has one child")
        } else {
            pair
        };
        match p.as_rule() {
            Rule::record_lit => Literal::Record(
                inner(p)
                    .map(|f| {
                        let mut fi = inner(f);
                        let n = self.name(&fi.next().expect("field name"));
                        let v = self.literal(fi.next().expect("field value"));
                        (n, v)
                    })
                    .collect(),
                span,
            ),
            Rule::list_lit => Literal::List(inner(p).map(|l| self.literal(l)).collect(), span),
            _ => self.scalar(p),
        }
    }

    fn scalar(&mut self, p: Pair<'_, Rule>) -> Literal {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::money => {
                let n = inner(p).next().expect("money amount");
                // Cents have two digits: `1.500 EUR` is 1,500 euros written
                // the Italian way (`1.000 EUR` is caught by `number`).
                if let Some(meant) = thousands_point(n.as_str(), |f| f != "000") {
                    self.thousands_error(&n, &meant);
                }
                Literal::Money(self.number(&n), span)
            }
            Rule::date => Literal::Date(self.date(&p), span),
            Rule::number_lit => Literal::Number(self.number(&p), span),
            Rule::neg_number => {
                let n = inner(p).next().expect("negated number");
                Literal::Number(-self.number(&n), span)
            }
            Rule::string => Literal::Text(self.string(&p), span),
            Rule::boolean => Literal::Bool(p.as_str() == "true", span),
            Rule::none_lit => Literal::None(span),
            _ => Literal::Word(p.as_str().to_string(), span),
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::not_expr | Rule::unary | Rule::where_clause => {
                self.wrapper(pair, span)
            }
            Rule::if_expr => {
                let mut e: Vec<Expr> = significant(pair)
                    .into_iter()
                    .map(|p| self.expr(p))
                    .collect();
                let otherwise = e.pop().expect("else");
                let then = e.pop().expect("then");
                let cond = e.pop().expect("if");
                Expr {
                    kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                    span,
                }
            }
            Rule::or_expr | Rule::and_expr => {
                let op = if pair.as_rule() == Rule::or_expr {
                    BinOp::Or
                } else {
                    BinOp::And
                };
                let operands: Vec<Expr> = significant(pair)
                    .into_iter()
                    .map(|p| self.expr(p))
                    .collect();
                self.fold_left(operands, op)
            }
            Rule::comparison => self.comparison(pair, span),
            Rule::sum_expr | Rule::product => self.arith(pair),
            Rule::postfix => {
                let mut it = inner(pair);
                let mut e = self.expr(it.next().expect("postfix primary"));
                for f in it {
                    let fname = self.name(&f);
                    let fspan = e.span.join(fname.span);
                    e = Expr {
                        kind: ExprKind::Field(Box::new(e), fname),
                        span: fspan,
                    };
                }
                e
            }
            Rule::name_ref => self.name_ref(pair, span),
            Rule::paren => Expr {
                span,
                ..self.expr(inner(pair).next().expect("an expression in parentheses"))
            },
            Rule::today => Expr {
                kind: ExprKind::Today,
                span,
            },
            Rule::set_literal => Expr {
                kind: ExprKind::SetLiteral(inner(pair).map(|p| self.expr(p)).collect()),
                span,
            },
            Rule::call => self.call(pair, span),
            Rule::aggregate | Rule::quantifier => self.aggregate(pair, span),
            _ => Expr {
                kind: ExprKind::Literal(self.scalar(pair)),
                span,
            },
        }
    }

    /// A name, or a definition applied to arguments.
    fn name_ref(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let mut it = inner(pair);
        let name = self.name(&it.next().expect("the name"));
        match it.next() {
            Some(arguments) => Expr {
                kind: ExprKind::Apply(name, inner(arguments).map(|p| self.expr(p)).collect()),
                span,
            },
            // The pair also spans the blanks after the name, where arguments
            // were looked for.
            None => Expr {
                span: name.span,
                kind: ExprKind::Name(name.text),
            },
        }
    }

    /// `not x`, `-x` and single-child wrappers.
    fn wrapper(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let children: Vec<_> = inner(pair).collect();
        match children.first().map(|p| p.as_rule()) {
            Some(Rule::kw_not) => {
                let operand = self.expr(children[1].clone());
                Expr {
                    kind: ExprKind::Not(Box::new(operand)),
                    span,
                }
            }
            Some(Rule::kw_where) => self.expr(children[1].clone()),
            Some(Rule::neg) => {
                let operand = self.expr(children[1].clone());
                Expr {
                    kind: ExprKind::Neg(Box::new(operand)),
                    span,
                }
            }
            _ => self.expr(children.into_iter().next().expect("wrapper has a child")),
        }
    }

    fn fold_left(&mut self, operands: Vec<Expr>, op: BinOp) -> Expr {
        let mut it = operands.into_iter();
        let mut acc = it.next().expect("at least one operand");
        for rhs in it {
            let span = acc.span.join(rhs.span);
            acc = Expr {
                kind: ExprKind::Binary(op, Box::new(acc), Box::new(rhs)),
                span,
            };
        }
        acc
    }

    fn comparison(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let children: Vec<_> = inner(pair).collect();
        let lhs = self.expr(children[0].clone());
        if children.len() == 1 {
            return lhs;
        }
        if children[1].as_rule() == Rule::is_test {
            let given =
                inner(children[1].clone()).nth(1).map(|p| p.as_rule()) == Some(Rule::kw_given);
            return Expr {
                kind: ExprKind::IsGiven(Box::new(lhs), given),
                span,
            };
        }
        let op_text: String = children[1]
            .as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let op = match op_text.as_str() {
            "<=" => BinOp::Le,
            ">=" => BinOp::Ge,
            "!=" => BinOp::Ne,
            "=" => BinOp::Eq,
            "<" => BinOp::Lt,
            ">" => BinOp::Gt,
            "in" => BinOp::In,
            "contains" => BinOp::Contains,
            _ => BinOp::NotIn,
        };
        let rhs = self.expr(children[2].clone());
        Expr {
            kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
            span,
        }
    }

    fn arith(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let mut it = inner(pair);
        let mut acc = self.expr(it.next().expect("first operand"));
        while let (Some(op), Some(rhs)) = (it.next(), it.next()) {
            let rhs = self.expr(rhs);
            let op = match op.as_str() {
                "+" => BinOp::Add,
                "-" => BinOp::Sub,
                "*" => BinOp::Mul,
                _ => BinOp::Div,
            };
            let span = acc.span.join(rhs.span);
            acc = Expr {
                kind: ExprKind::Binary(op, Box::new(acc), Box::new(rhs)),
                span,
            };
        }
        acc
    }

    fn call(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let mut it = inner(pair);
        let builtin = match it.next().expect("builtin name").as_str() {
            "max" => Builtin::Max,
            "min" => Builtin::Min,
            "date" => Builtin::Date,
            "year" => Builtin::Year,
            "days_between" => Builtin::DaysBetween,
            "add_days" => Builtin::AddDays,
            _ => Builtin::AddYears,
        };
        Expr {
            kind: ExprKind::Call(builtin, it.map(|p| self.expr(p)).collect()),
            span,
        }
    }

    fn aggregate(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let is_quantifier = pair.as_rule() == Rule::quantifier;
        let mut it = significant(pair).into_iter();
        let kind = match it.next().expect("aggregate kind").as_str() {
            "sum" => AggKind::Sum,
            "largest" => AggKind::Largest,
            "smallest" => AggKind::Smallest,
            "any" => AggKind::Any,
            "all" => AggKind::All,
            _ => AggKind::Count,
        };
        let body = if is_quantifier {
            None
        } else {
            Some(Box::new(self.expr(it.next().expect("aggregate body"))))
        };
        let var = self.name(&it.next().expect("aggregate variable"));
        let collection = Box::new(self.expr(it.next().expect("aggregate collection")));
        let filter = it.next().map(|w| Box::new(self.expr(w)));
        Expr {
            kind: ExprKind::Aggregate {
                kind,
                var,
                collection,
                body,
                filter,
            },
            span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<File, ParseError> {
        parse_file(FileId(0), text)
    }

    #[test]
    fn parses_act_header_and_rule() {
        let f = parse(
            r#"act nis {
                 title "Decreto NIS"
                 in force from 2024-10-16
               }
               fact staff: decimal at least 0 "effettivi"
               outcome in_scope: bool otherwise false
               rule scope.by_size cite "art. 3, c. 2"
                 when staff >= 50 and not (staff > 1000)
                 then in_scope"#,
        )
        .unwrap();
        assert_eq!(f.items.len(), 3);
        match &f.items[2] {
            Item::Rule(r) => {
                assert_eq!(r.name.text, "scope.by_size");
                assert!(matches!(
                    r.condition.kind,
                    ExprKind::Binary(BinOp::And, _, _)
                ));
            }
            other => panic!("expected a rule, got {other:?}"),
        }
    }

    #[test]
    fn aggregate_filter_binds_tighter_than_and() {
        let f = parse(
            r#"part of nis
               define x: bool cite "art. 1" = any t in types where t.annex = "I" and flag"#,
        )
        .unwrap();
        let Item::Define(d) = &f.items[0] else {
            panic!()
        };
        assert!(matches!(d.body.kind, ExprKind::Binary(BinOp::And, _, _)));
    }

    #[test]
    fn an_expression_in_parentheses_is_placed_with_them() {
        let text = "part of nis\nrule r cite \"art. 1\" when a and (b or c) then o\n";
        let f = parse(text).unwrap();
        let Item::Rule(r) = &f.items[0] else { panic!() };
        let quoted = &text[r.condition.span.start as usize..r.condition.span.end as usize];
        assert_eq!(quoted, "a and (b or c)");
    }

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(super::misgrouped("2_000_000"), None);
        assert_eq!(super::misgrouped("20000000"), None);
        assert_eq!(super::misgrouped("43_000_000.50"), None);
        assert_eq!(
            super::misgrouped("2_000_0000").as_deref(),
            Some("20_000_000")
        );
        assert_eq!(super::misgrouped("1_2.5").as_deref(), Some("12.5"));
        assert_eq!(super::misgrouped("1000_000").as_deref(), Some("1_000_000"));
    }

    #[test]
    fn syntax_errors_speak_in_words() {
        let err = parse("act nis { title 'x' }").unwrap_err();
        let d = &err.diagnostics[0];
        assert!(!d.message.contains("kw_"), "{}", d.message);
        assert!(d.help.as_deref().unwrap().contains("double quotes"));
    }

    #[test]
    fn keyword_rules_come_last_in_the_grammar() {
        let text = include_str!("../grammar/lexnis.pest");
        let rules: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            .collect();
        let first_keyword = rules.iter().position(|r| *r == "kw_act").unwrap();
        assert!(
            rules[first_keyword..].iter().all(|r| r.starts_with("kw_")),
            "every rule after kw_act is a keyword"
        );
        assert!(
            rules[..first_keyword].iter().all(|r| !r.starts_with("kw_")),
            "no keyword before kw_act"
        );
    }

    /// The reserved words as docs/language.md lists them for drafters.
    fn documented_reserved_words() -> Vec<&'static str> {
        let doc = include_str!("../docs/language.md");
        let section = doc.split("## Reserved words").nth(1).expect("the section");
        let list = section.split('`').nth(1).expect("the list in backquotes");
        list.split_whitespace().collect()
    }

    #[test]
    fn every_documented_reserved_word_is_refused_as_a_name() {
        let words = documented_reserved_words();
        assert_eq!(words.len(), 50);
        for word in words {
            let text = format!("act a {{ }}\nfact {word}: bool\n");
            assert!(parse(&text).is_err(), "`{word}` named a fact");
            // A name that only begins with a reserved word is a name.
            for name in [format!("{word}x"), format!("{word}_2")] {
                let text = format!("act a {{ }}\nfact {name}: bool\n");
                assert!(parse(&text).is_ok(), "`{name}` was refused");
            }
        }
    }

    #[test]
    fn impossible_date_is_reported() {
        let err = parse("act nis { in force from 2025-02-29 }").unwrap_err();
        assert_eq!(err.diagnostics[0].code, "lexnis::parse::malformed_date");
    }

    #[test]
    fn a_header_field_given_twice_is_an_error_at_the_second() {
        let text = "act nis {\n  in force from 2025-02-11\n  in force from 2026-02-11\n}";
        let err = parse(text).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(d.code, "lexnis::parse::field_given_twice");
        assert_eq!(
            d.message,
            "`in force from` is given twice in the header of act `nis`"
        );
        assert_eq!(
            d.primary_span().map(|s| s.start),
            text.rfind("in force").map(|i| i as u32)
        );
        // `refers to` is a list, one act a line.
        let text = "act nis {\n  refers to \"a\"\n  refers to \"b\"\n}";
        assert!(parse(text).is_ok());
    }

    #[test]
    fn a_long_else_if_chain_is_refused_before_it_overflows_the_stack() {
        let chain = "if false then true else ".repeat(600);
        let text = format!("act a {{ }}\ndefine x: bool cite \"art. 1\" = {chain}true\n");
        let err = parse(&text).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(d.code, "lexnis::parse::too_deep");
        let at = d.primary_span().unwrap().start as usize;
        assert_eq!(&text[at..at + 2], "if");
        // The 129th: the count starts again at each declaration.
        assert_eq!(text[..at].matches("if ").count(), 128);
        let many =
            "define y: bool cite \"art. 1\" = not false and not (if true then true else false)\n";
        assert!(parse(&format!("act a {{ }}\n{}", many.repeat(100))).is_ok());
        // Words that hold `if` or `not`, and what strings and comments hold, do
        // not count; a blank line does not end a declaration.
        let names = "  and notify_iff and iffy and not_ok and \"if not\" # if not (\n\n";
        let one = format!(
            "define x: bool cite \"art. 1\"\n  = true\n{}",
            names.repeat(200)
        );
        assert!(too_deep(FileId(0), &one).is_none());
        let nots = format!(
            "define x: bool cite \"art. 1\"\n  = true\n{}",
            "  and not x\n\n".repeat(129)
        );
        assert!(too_deep(FileId(0), &nots).is_some());
    }
}
