//! Stage 3: names and types of every expression, citations, precedence between
//! rules, unused facts. Entry point: [`check`]. Produces typed expressions for `lower`.

use crate::ast::{self, AggKind, BinOp, Builtin, ExprKind, Literal};
use crate::diagnostic::Diagnostic;
use crate::program::*;
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::value::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct CheckError {
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// An expression whose names are resolved and whose type is known.
#[derive(Debug, Clone, PartialEq)]
pub struct TExpr {
    pub kind: TKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TKind {
    Const(Value),
    Today,
    Fact(FactId),
    Define(DefineId),
    Outcome(OutcomeId),
    /// The variable of the enclosing aggregate at this nesting depth (0 = outermost).
    Local(u32),
    Field(Box<TExpr>, u32),
    Column(Box<TExpr>, TableId, u32),
    Not(Box<TExpr>),
    Neg(Box<TExpr>),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Compare(CmpOp, Box<TExpr>, Box<TExpr>),
    Arith(ArithOp, Box<TExpr>, Box<TExpr>),
    /// `elem in collection` (negated for `not in`).
    Member(Box<TExpr>, Box<TExpr>, bool),
    IsGiven(Box<TExpr>, bool),
    If(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    SetLit(Vec<TExpr>),
    Call(Builtin, Vec<TExpr>),
    /// A definition with parameters applied to arguments; inlined by `lower`.
    Apply(DefineId, Vec<TExpr>),
    Aggregate {
        kind: AggKind,
        depth: u32,
        collection: Box<TExpr>,
        body: Option<Box<TExpr>>,
        filter: Option<Box<TExpr>>,
    },
}

impl TExpr {
    /// Calls `f` on this expression and every sub-expression.
    pub fn walk(&self, f: &mut impl FnMut(&TExpr)) {
        f(self);
        match &self.kind {
            TKind::Field(e, _)
            | TKind::Column(e, _, _)
            | TKind::Not(e)
            | TKind::Neg(e)
            | TKind::IsGiven(e, _) => e.walk(f),
            TKind::And(a, b)
            | TKind::Or(a, b)
            | TKind::Compare(_, a, b)
            | TKind::Arith(_, a, b)
            | TKind::Member(a, b, _) => {
                a.walk(f);
                b.walk(f);
            }
            TKind::If(a, b, c) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            TKind::SetLit(items) | TKind::Call(_, items) | TKind::Apply(_, items) => {
                items.iter().for_each(|e| e.walk(f))
            }
            TKind::Aggregate {
                collection,
                body,
                filter,
                ..
            } => {
                collection.walk(f);
                body.iter().chain(filter.iter()).for_each(|e| e.walk(f));
            }
            _ => {}
        }
    }
}

/// A rule with typed condition and conclusion.
#[derive(Debug, Clone)]
pub struct CheckedRule {
    pub condition: TExpr,
    pub value: TExpr,
    /// Every rule that overrides this one, directly or through a chain.
    pub overridden_by: Vec<RuleId>,
}

/// The checked program: the resolved declarations plus typed expressions.
#[derive(Debug, Clone)]
pub struct Checked {
    pub program: Program,
    pub defines: Vec<TExpr>,
    pub rules: Vec<CheckedRule>,
    pub outcome_defaults: Vec<Option<TExpr>>,
    pub warnings: Vec<Diagnostic>,
}

/// Type-checks every expression and the relations between rules.
pub fn check(program: Program) -> Result<Checked, CheckError> {
    let mut c = Checker {
        p: &program,
        diags: Vec::new(),
        locals: Vec::new(),
        act: ActId(0),
    };
    let defines: Vec<TExpr> = program.defines.iter().map(|d| c.define(d)).collect();
    let rules: Vec<(TExpr, TExpr)> = program.rules.iter().map(|r| c.rule(r)).collect();
    let outcome_defaults: Vec<Option<TExpr>> = program
        .outcomes
        .iter()
        .map(|o| c.outcome_default(o))
        .collect();
    c.citations();
    let overridden_by = c.precedence();
    // An expression in error may have stopped reading a fact it uses.
    if !c.diags.iter().any(Diagnostic::is_error) {
        c.unused_facts(&defines, &rules, &outcome_defaults);
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = c.diags.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        let mut all = errors;
        all.extend(warnings);
        return Err(CheckError { diagnostics: all });
    }
    let rules = rules
        .into_iter()
        .zip(overridden_by)
        .map(|((condition, value), overridden_by)| CheckedRule {
            condition,
            value,
            overridden_by,
        })
        .collect();
    Ok(Checked {
        program,
        defines,
        rules,
        outcome_defaults,
        warnings,
    })
}

struct Checker<'p> {
    p: &'p Program,
    diags: Vec<Diagnostic>,
    /// Names bound by enclosing aggregates, innermost last.
    locals: Vec<(String, Type)>,
    /// The act whose expression is being checked, for import visibility.
    act: ActId,
}

fn texpr(kind: TKind, ty: Type, span: Span) -> TExpr {
    TExpr { kind, ty, span }
}

/// Two types that may be compared or unified; `optional` and int/decimal differences aside.
fn compatible(a: &Type, b: &Type) -> bool {
    let (a, b) = (a.required(), b.required());
    match (a, b) {
        (Type::Nothing, _) | (_, Type::Nothing) => true,
        (Type::Int | Type::Decimal, Type::Int | Type::Decimal) => true,
        (Type::Set(x) | Type::List(x), Type::Set(y) | Type::List(y)) => compatible(x, y),
        _ => a == b,
    }
}

impl<'p> Checker<'p> {
    fn error(
        &mut self,
        code: &'static str,
        message: String,
        span: Span,
        label: String,
        help: String,
    ) {
        self.diags.push(
            Diagnostic::error(code, message)
                .label(span, label)
                .help(help),
        );
    }

    fn mismatch(&mut self, span: Span, expected: &str, found: &Type, help: Option<String>) {
        let found_name = self.p.type_name(found);
        let help = help.unwrap_or_else(|| format!("this must be {expected}"));
        self.error(
            "lexnis::check::type_mismatch",
            format!("type mismatch: expected {expected}, found {found_name}"),
            span,
            format!("this is {found_name}"),
            help,
        );
    }

    fn expect_type(&mut self, e: &TExpr, want: &Type) {
        if !compatible(&e.ty, want) {
            let expected = self.p.type_name(want);
            let help = money_help(want, &e.ty);
            self.mismatch(e.span, &expected, &e.ty, help);
        }
    }

    fn define(&mut self, d: &DefineDef) -> TExpr {
        self.act = d.act;
        // Parameters are the first locals, so the body refers to them as `Local(i)`.
        self.locals = d.params.clone();
        let body = self.expr(&d.body, Some(&d.ty));
        self.locals.clear();
        self.expect_type(&body, &d.ty);
        body
    }

    fn apply(&mut self, name: &ast::Name, args: &[ast::Expr], span: Span) -> TExpr {
        let p = self.p;
        let def = match p.symbols.get(&name.text) {
            Some(Symbol::Define(id)) if !p.defines[id.index()].params.is_empty() => Some(*id),
            _ => None,
        };
        let Some(id) = def else {
            let functions = p
                .defines
                .iter()
                .filter(|d| !d.params.is_empty())
                .map(|d| d.name.as_str());
            let help = did_you_mean(&name.text, functions, "only definitions declared with parameters, `define f(x: T): T = ...`, can be called");
            self.error(
                "lexnis::check::not_a_function",
                format!("`{}` cannot be called", name.text),
                name.span,
                "not a definition with parameters".into(),
                help,
            );
            return texpr(TKind::Const(Value::Absent), Type::Nothing, span);
        };
        self.check_visible(&name.text, name.span);
        let d = &p.defines[id.index()];
        if args.len() != d.params.len() {
            let list = d
                .params
                .iter()
                .map(|(n, t)| format!("{n}: {}", p.type_name(t)))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                "lexnis::check::arity",
                format!(
                    "`{}` takes {} argument(s), found {}",
                    d.name,
                    d.params.len(),
                    args.len()
                ),
                span,
                "this call".into(),
                format!("call it as {}({list})", d.name),
            );
        }
        let targs = args
            .iter()
            .zip(&d.params)
            .map(|(a, (_, ty))| {
                let t = self.expr(a, Some(ty));
                self.expect_type(&t, ty);
                t
            })
            .collect();
        texpr(TKind::Apply(id, targs), d.ty.clone(), span)
    }

    fn rule(&mut self, r: &RuleDef) -> (TExpr, TExpr) {
        self.act = r.act;
        let cond = self.expr(&r.condition, Some(&Type::Bool));
        self.expect_type(&cond, &Type::Bool);
        let outcome = &self.p.outcomes[r.outcome.index()];
        let target = match (&outcome.ty, r.includes) {
            (Type::Set(elem), true) => (**elem).clone(),
            (ty, true) => {
                let tn = self.p.type_name(ty);
                self.error(
                    "lexnis::check::includes_on_single",
                    format!(
                        "`includes` needs a set outcome, but `{}` is {tn}",
                        outcome.name
                    ),
                    r.span,
                    "this rule".into(),
                    format!("write `then {} = VALUE`", outcome.name),
                );
                ty.clone()
            }
            (Type::Set(_), false) if r.value.is_some() => {
                self.error(
                    "lexnis::check::set_outcome_needs_includes",
                    format!(
                        "`{}` is a set: rules add to it with `includes`",
                        outcome.name
                    ),
                    r.span,
                    "this rule".into(),
                    format!("write `then {} includes VALUE`", outcome.name),
                );
                outcome.ty.clone()
            }
            (ty, false) => ty.clone(),
        };
        let value = match &r.value {
            Some(v) => {
                let v = self.expr(v, Some(&target));
                self.expect_type(&v, &target);
                v
            }
            None => {
                if outcome.ty != Type::Bool {
                    let tn = self.p.type_name(&outcome.ty);
                    self.error(
                        "lexnis::check::bare_conclusion",
                        format!(
                            "`then {}` alone means true, but the outcome is {tn}",
                            outcome.name
                        ),
                        r.span,
                        "this rule".into(),
                        format!("write `then {} = VALUE`", outcome.name),
                    );
                }
                texpr(TKind::Const(Value::Bool(true)), Type::Bool, r.span)
            }
        };
        (cond, value)
    }

    fn outcome_default(&mut self, o: &OutcomeDef) -> Option<TExpr> {
        self.act = o.act;
        match &o.otherwise {
            Some(e) => {
                let t = self.expr(e, Some(&o.ty));
                self.expect_type(&t, &o.ty);
                Some(t)
            }
            None if matches!(o.ty, Type::Set(_) | Type::Optional(_)) => None,
            None => {
                self.error(
                    "lexnis::check::missing_otherwise",
                    format!(
                        "outcome `{}` does not say what holds when no rule applies",
                        o.name
                    ),
                    o.span,
                    "no `otherwise`".into(),
                    format!(
                        "add `otherwise VALUE`, e.g. `outcome {}: {} otherwise ...`",
                        o.name,
                        self.p.type_name(&o.ty)
                    ),
                );
                None
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr, expected: Option<&Type>) -> TExpr {
        let span = e.span;
        match &e.kind {
            ExprKind::Literal(lit) => self.literal(lit, expected),
            ExprKind::Today => texpr(TKind::Today, Type::Date, span),
            ExprKind::Name(n) => self.name(n, span, expected),
            ExprKind::Field(base, field) => self.field(base, field, span),
            ExprKind::Neg(inner) => {
                let t = self.expr(inner, expected);
                if !t.ty.required().is_numeric() {
                    self.mismatch(t.span, "a number", &t.ty, None);
                }
                let ty = t.ty.required().clone();
                texpr(TKind::Neg(Box::new(t)), ty, span)
            }
            ExprKind::Not(inner) => {
                let t = self.expr(inner, Some(&Type::Bool));
                self.expect_type(&t, &Type::Bool);
                texpr(TKind::Not(Box::new(t)), Type::Bool, span)
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, span),
            ExprKind::IsGiven(inner, given) => {
                let t = self.expr(inner, None);
                texpr(TKind::IsGiven(Box::new(t), *given), Type::Bool, span)
            }
            ExprKind::If(c, a, b) => {
                let c = self.expr(c, Some(&Type::Bool));
                self.expect_type(&c, &Type::Bool);
                let a = self.expr(a, expected);
                let b = self.expr(b, expected.or(Some(&a.ty)));
                let ty = self.unify(&a, &b);
                texpr(TKind::If(Box::new(c), Box::new(a), Box::new(b)), ty, span)
            }
            ExprKind::SetLiteral(items) => {
                let elem_expected = expected.and_then(Type::element).cloned();
                let items: Vec<TExpr> = items
                    .iter()
                    .map(|i| self.expr(i, elem_expected.as_ref()))
                    .collect();
                let mut elem = elem_expected.unwrap_or(Type::Nothing);
                for i in &items {
                    if elem == Type::Nothing {
                        elem = i.ty.required().clone();
                    }
                    self.expect_type(i, &elem);
                }
                texpr(TKind::SetLit(items), Type::Set(Box::new(elem)), span)
            }
            ExprKind::Call(b, args) => self.call(*b, args, span),
            ExprKind::Apply(name, args) => self.apply(name, args, span),
            ExprKind::Aggregate {
                kind,
                var,
                collection,
                body,
                filter,
            } => self.aggregate(
                *kind,
                var,
                collection,
                body.as_deref(),
                filter.as_deref(),
                span,
            ),
        }
    }

    fn unify(&mut self, a: &TExpr, b: &TExpr) -> Type {
        if !compatible(&a.ty, &b.ty) {
            let an = self.p.type_name(&a.ty);
            self.mismatch(
                b.span,
                &an,
                &b.ty,
                Some("both branches of `if` must give the same type".into()),
            );
        }
        match (&a.ty, &b.ty) {
            (Type::Nothing, t) | (t, Type::Nothing) => {
                Type::Optional(Box::new(t.required().clone()))
            }
            (Type::Int, Type::Decimal) | (Type::Decimal, Type::Int) => Type::Decimal,
            (Type::Optional(_), _) => a.ty.clone(),
            (_, Type::Optional(_)) => b.ty.clone(),
            _ => a.ty.clone(),
        }
    }

    fn literal(&mut self, lit: &Literal, expected: Option<&Type>) -> TExpr {
        let span = lit.span();
        match (lit, expected.map(Type::required)) {
            (Literal::Text(s, _), Some(Type::Table(id))) => self.table_key(*id, s, span),
            (Literal::Text(s, _), Some(Type::Enum(id))) => {
                let def = &self.p.enums[id.index()];
                match def.variants.iter().position(|v| &v.0 == s) {
                    Some(i) => texpr(TKind::Const(Value::Enum(i as u32)), Type::Enum(*id), span),
                    None => {
                        let help = did_you_mean(
                            s,
                            def.variants.iter().map(|v| v.0.as_str()),
                            "use one of the enum's variants",
                        );
                        self.error(
                            "lexnis::check::unknown_variant",
                            format!("\"{s}\" is not a variant of {}", def.name),
                            span,
                            "unknown variant".into(),
                            help,
                        );
                        texpr(TKind::Const(Value::Absent), Type::Enum(*id), span)
                    }
                }
            }
            (Literal::Bool(b, _), _) => texpr(TKind::Const(Value::Bool(*b)), Type::Bool, span),
            (Literal::Number(n, _), _) => {
                let ty = if n.fract().is_zero() {
                    Type::Int
                } else {
                    Type::Decimal
                };
                texpr(TKind::Const(Value::Num(*n)), ty, span)
            }
            (Literal::Money(n, _), _) => texpr(TKind::Const(Value::Num(*n)), Type::Money, span),
            (Literal::Date(d, _), _) => texpr(TKind::Const(Value::Date(*d)), Type::Date, span),
            (Literal::Text(s, _), _) => texpr(
                TKind::Const(Value::Text(s.as_str().into())),
                Type::Text,
                span,
            ),
            (Literal::None(_), _) => texpr(TKind::Const(Value::Absent), Type::Nothing, span),
            (Literal::Word(w, _), _) => self.name(w, span, expected),
            (Literal::List(..) | Literal::Record(..), _) => {
                self.error(
                    "lexnis::check::literal",
                    "lists and records cannot be written inside expressions".into(),
                    span,
                    "here".into(),
                    "write a set as [a, b, c]; records come from facts".into(),
                );
                texpr(TKind::Const(Value::Absent), Type::Nothing, span)
            }
        }
    }

    fn table_key(&mut self, id: TableId, key: &str, span: Span) -> TExpr {
        let table = &self.p.tables[id.index()];
        match table.index.get(key) {
            Some(i) => texpr(TKind::Const(Value::Key(*i)), Type::Table(id), span),
            None => {
                let help = did_you_mean(
                    key,
                    table.rows.iter().map(|r| r.key.as_str()),
                    "`lexnis catalog` lists the entries of every table",
                );
                self.error(
                    "lexnis::check::unknown_table_entry",
                    format!("\"{key}\" is not an entry of table {}", table.name),
                    span,
                    "no row has this key".into(),
                    help,
                );
                texpr(TKind::Const(Value::Absent), Type::Table(id), span)
            }
        }
    }

    fn name(&mut self, n: &str, span: Span, expected: Option<&Type>) -> TExpr {
        if let Some(depth) = self.locals.iter().rposition(|(name, _)| name == n) {
            let ty = self.locals[depth].1.clone();
            return texpr(TKind::Local(depth as u32), ty, span);
        }
        let Some(symbol) = self.p.symbols.get(n).copied() else {
            self.unknown_name(n, span, expected);
            return texpr(
                TKind::Const(Value::Absent),
                expected.cloned().unwrap_or(Type::Nothing),
                span,
            );
        };
        self.check_visible(n, span);
        match symbol {
            Symbol::Fact(id) => texpr(
                TKind::Fact(id),
                self.p.facts[id.index()].spec.ty.clone(),
                span,
            ),
            Symbol::Define(id) if !self.p.defines[id.index()].params.is_empty() => {
                let d = &self.p.defines[id.index()];
                self.error(
                    "lexnis::check::missing_arguments",
                    format!("`{n}` needs {} argument(s)", d.params.len()),
                    span,
                    "a definition with parameters".into(),
                    format!("call it with its arguments: {n}(...)"),
                );
                texpr(TKind::Const(Value::Absent), d.ty.clone(), span)
            }
            Symbol::Define(id) => texpr(
                TKind::Define(id),
                self.p.defines[id.index()].ty.clone(),
                span,
            ),
            Symbol::Outcome(id) => texpr(
                TKind::Outcome(id),
                self.p.outcomes[id.index()].ty.clone(),
                span,
            ),
            Symbol::Variant(e, i) => texpr(TKind::Const(Value::Enum(i)), Type::Enum(e), span),
        }
    }

    fn unknown_name(&mut self, n: &str, span: Span, expected: Option<&Type>) {
        if let Some(Type::Table(_)) = expected.map(Type::required) {
            let help = format!("table keys are written in double quotes: \"{n}\"");
            self.error(
                "lexnis::check::unknown_name",
                format!("unknown name `{n}`"),
                span,
                "not declared".into(),
                help,
            );
            return;
        }
        let mut candidates: Vec<&str> = self.p.symbols.keys().map(String::as_str).collect();
        candidates.extend(self.locals.iter().map(|(l, _)| l.as_str()));
        let help = did_you_mean(
            n,
            candidates,
            "declare it with `fact`, `define` or `outcome`, or check the spelling",
        );
        self.error(
            "lexnis::check::unknown_name",
            format!("unknown name `{n}`"),
            span,
            "not declared in any act in force".into(),
            help,
        );
    }

    /// A name of another act is visible only through `import`.
    fn check_visible(&mut self, n: &str, span: Span) {
        let Some(owner) = self.p.symbol_acts.get(n).copied() else {
            return;
        };
        let here = self.p.act(self.act);
        if owner != self.act && !here.imports.contains(&owner) {
            let owner_id = self.p.act(owner).id.clone();
            self.error(
                "lexnis::check::not_imported",
                format!(
                    "`{n}` belongs to act `{owner_id}`, which `{}` does not import",
                    here.id
                ),
                span,
                "declared in another act".into(),
                format!("add `import {owner_id}` to the files of act `{}`", here.id),
            );
        }
    }

    fn field(&mut self, base: &ast::Expr, field: &ast::Name, span: Span) -> TExpr {
        let b = self.expr(base, None);
        let optional = matches!(b.ty, Type::Optional(_));
        let wrap = |t: Type| {
            if optional && !matches!(t, Type::Optional(_)) {
                Type::Optional(Box::new(t))
            } else {
                t
            }
        };
        match b.ty.required().clone() {
            Type::Record(id) => {
                let def = &self.p.records[id.index()];
                match def.fields.iter().position(|f| f.name == field.text) {
                    Some(i) => {
                        let ty = wrap(def.fields[i].ty.clone());
                        texpr(TKind::Field(Box::new(b), i as u32), ty, span)
                    }
                    None => {
                        let help = did_you_mean(
                            &field.text,
                            def.fields.iter().map(|f| f.name.as_str()),
                            &format!(
                                "the fields of {} are: {}",
                                def.name,
                                def.fields
                                    .iter()
                                    .map(|f| f.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        self.error(
                            "lexnis::check::unknown_field",
                            format!("record {} has no field `{}`", def.name, field.text),
                            field.span,
                            "unknown field".into(),
                            help,
                        );
                        texpr(TKind::Const(Value::Absent), Type::Nothing, span)
                    }
                }
            }
            Type::Table(id) => {
                let def = &self.p.tables[id.index()];
                match def.columns.iter().position(|c| c.0 == field.text) {
                    Some(i) => {
                        let ty = wrap(def.columns[i].1.clone());
                        texpr(TKind::Column(Box::new(b), id, i as u32), ty, span)
                    }
                    None => {
                        let help = did_you_mean(
                            &field.text,
                            def.columns.iter().map(|c| c.0.as_str()),
                            &format!(
                                "the columns of {} are: {}",
                                def.name,
                                def.columns
                                    .iter()
                                    .map(|c| c.0.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        self.error(
                            "lexnis::check::unknown_field",
                            format!("table {} has no column `{}`", def.name, field.text),
                            field.span,
                            "unknown column".into(),
                            help,
                        );
                        texpr(TKind::Const(Value::Absent), Type::Nothing, span)
                    }
                }
            }
            other => {
                let tn = self.p.type_name(&other);
                self.error(
                    "lexnis::check::field_of_non_record",
                    format!(
                        "`.{}` needs a record or a table entry, but this is {tn}",
                        field.text
                    ),
                    b.span,
                    format!("this is {tn}"),
                    "only records and table entries have fields".into(),
                );
                texpr(TKind::Const(Value::Absent), Type::Nothing, span)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> TExpr {
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.expr(a, Some(&Type::Bool));
                let r = self.expr(b, Some(&Type::Bool));
                self.expect_type(&l, &Type::Bool);
                self.expect_type(&r, &Type::Bool);
                let kind = if op == BinOp::And {
                    TKind::And(Box::new(l), Box::new(r))
                } else {
                    TKind::Or(Box::new(l), Box::new(r))
                };
                texpr(kind, Type::Bool, span)
            }
            BinOp::In | BinOp::NotIn | BinOp::Contains => {
                let (elem, coll) = if op == BinOp::Contains {
                    (b, a)
                } else {
                    (a, b)
                };
                // A quoted key (`"I.1.a.1" in entity_types`) takes its type from the collection.
                let (e, c) = if matches!(elem.kind, ExprKind::Literal(Literal::Text(..))) {
                    let c = self.expr(coll, None);
                    (self.expr(elem, c.ty.element()), c)
                } else {
                    let e = self.expr(elem, None);
                    let set_of_elem = Type::Set(Box::new(e.ty.required().clone()));
                    (e, self.expr(coll, Some(&set_of_elem)))
                };
                match c.ty.element().cloned() {
                    Some(t) => self.expect_type(&e, &t),
                    None => self.mismatch(
                        c.span,
                        "a set or a list",
                        &c.ty,
                        Some(format!(
                            "`{}` tests membership in a set, e.g. x in [\"a\", \"b\"]",
                            op.symbol()
                        )),
                    ),
                }
                texpr(
                    TKind::Member(Box::new(e), Box::new(c), op == BinOp::NotIn),
                    Type::Bool,
                    span,
                )
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.compare(op, a, b, span)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => self.arith(op, a, b, span),
        }
    }

    fn compare(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> TExpr {
        let l = self.expr(a, None);
        let r = self.expr(b, Some(&l.ty));
        let l = if l.ty == Type::Text && !matches!(r.ty.required(), Type::Text | Type::Nothing) {
            self.expr(a, Some(&r.ty))
        } else {
            l
        };
        if !compatible(&l.ty, &r.ty) {
            let lt = self.p.type_name(&l.ty);
            let help = money_help(&l.ty, &r.ty).unwrap_or_else(|| {
                format!("both sides of `{}` must have the same type", op.symbol())
            });
            self.mismatch(r.span, &lt, &r.ty, Some(help));
        }
        let ordered = matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge);
        let known = *l.ty.required() != Type::Nothing;
        if ordered && known && !(l.ty.required().is_numeric() || *l.ty.required() == Type::Date) {
            self.mismatch(
                l.span,
                "a number, an amount or a date",
                &l.ty,
                Some(format!("`{}` orders numbers and dates only", op.symbol())),
            );
        }
        let cmp = match op {
            BinOp::Eq => CmpOp::Eq,
            BinOp::Ne => CmpOp::Ne,
            BinOp::Lt => CmpOp::Lt,
            BinOp::Le => CmpOp::Le,
            BinOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        texpr(
            TKind::Compare(cmp, Box::new(l), Box::new(r)),
            Type::Bool,
            span,
        )
    }

    fn arith(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> TExpr {
        let l = self.expr(a, None);
        let r = self.expr(b, None);
        for side in [&l, &r] {
            if !side.ty.required().is_numeric() {
                self.mismatch(
                    side.span,
                    "a number or an amount",
                    &side.ty,
                    Some(format!(
                        "`{}` works on numbers and amounts of money",
                        op.symbol()
                    )),
                );
                return texpr(TKind::Const(Value::Absent), Type::Decimal, span);
            }
        }
        let (lt, rt) = (l.ty.required().clone(), r.ty.required().clone());
        let ty = match (op, &lt, &rt) {
            (BinOp::Add | BinOp::Sub, Type::Money, Type::Money) => Type::Money,
            (BinOp::Add | BinOp::Sub, Type::Money, _)
            | (BinOp::Add | BinOp::Sub, _, Type::Money) => {
                let help =
                    "add amounts to amounts: write the number with EUR, e.g. 1_000 EUR".to_string();
                self.mismatch(
                    span,
                    "money on both sides",
                    if lt == Type::Money { &rt } else { &lt },
                    Some(help),
                );
                Type::Money
            }
            (BinOp::Mul, Type::Money, Type::Money) => {
                self.mismatch(
                    r.span,
                    "a number",
                    &rt,
                    Some("an amount can be multiplied by a number, not by another amount".into()),
                );
                Type::Money
            }
            (BinOp::Mul, Type::Money, _) | (BinOp::Mul, _, Type::Money) => Type::Money,
            (BinOp::Div, Type::Money, Type::Money) => Type::Decimal,
            (BinOp::Div, Type::Money, _) => Type::Money,
            (BinOp::Div, _, Type::Money) => {
                self.mismatch(
                    r.span,
                    "a number",
                    &rt,
                    Some("divide an amount by a number, or an amount by an amount".into()),
                );
                Type::Decimal
            }
            (BinOp::Div, _, _) => Type::Decimal,
            (_, Type::Int, Type::Int) => Type::Int,
            _ => Type::Decimal,
        };
        let aop = match op {
            BinOp::Add => ArithOp::Add,
            BinOp::Sub => ArithOp::Sub,
            BinOp::Mul => ArithOp::Mul,
            _ => ArithOp::Div,
        };
        if aop == ArithOp::Div && is_literal_zero(&r) {
            self.error(
                "lexnis::check::division_by_zero",
                "this divides by zero: the result has no value for any entity".into(),
                r.span,
                "zero".into(),
                "divide by a number other than 0, or by a value that the facts give".into(),
            );
        }
        texpr(TKind::Arith(aop, Box::new(l), Box::new(r)), ty, span)
    }

    fn call(&mut self, b: Builtin, args: &[ast::Expr], span: Span) -> TExpr {
        let targs: Vec<TExpr> = args.iter().map(|a| self.expr(a, None)).collect();
        let (params, ret): (Vec<Type>, Type) = match b {
            Builtin::Max | Builtin::Min => {
                let t = targs
                    .first()
                    .map_or(Type::Decimal, |a| a.ty.required().clone());
                (vec![t.clone(), t.clone()], t)
            }
            Builtin::Date => (vec![Type::Int, Type::Int, Type::Int], Type::Date),
            Builtin::Year => (vec![Type::Date], Type::Int),
            Builtin::DaysBetween => (vec![Type::Date, Type::Date], Type::Int),
            Builtin::AddDays | Builtin::AddYears => (vec![Type::Date, Type::Int], Type::Date),
        };
        if targs.len() != params.len() {
            self.error(
                "lexnis::check::arity",
                format!(
                    "`{}` takes {} argument(s), found {}",
                    b.name(),
                    params.len(),
                    targs.len()
                ),
                span,
                "this call".into(),
                "see docs/language.md, section Built-in functions".into(),
            );
        } else {
            for (a, p) in targs.iter().zip(params.iter()) {
                self.expect_type(a, p);
            }
            if b == Builtin::Date {
                self.impossible_date(&targs);
            }
        }
        texpr(TKind::Call(b, targs), ret, span)
    }

    /// `date(year(today), 2, 30)`: a month and day written as numbers that no
    /// year has (29 February is left to the year, which may be a leap year).
    fn impossible_date(&mut self, args: &[TExpr]) {
        let number = |e: &TExpr| match &e.kind {
            TKind::Const(Value::Num(n)) if n.fract().is_zero() => i64::try_from(*n).ok(),
            _ => None,
        };
        let year = number(&args[0]).and_then(|y| i32::try_from(y).ok());
        let (Some(month), Some(day)) = (number(&args[1]), number(&args[2])) else {
            return;
        };
        let days = match (u8::try_from(month), year) {
            (Ok(m @ 1..=12), Some(y)) => i64::from(crate::date::days_in_month(y, m)),
            (Ok(2), None) => 29,
            (Ok(m @ 1..=12), None) => i64::from(crate::date::days_in_month(2001, m)),
            _ => {
                let what = format!("month {month} does not exist");
                let help = "months are numbered 1 to 12".to_string();
                return self.error(
                    "lexnis::check::impossible_date",
                    what,
                    args[1].span,
                    "this month".into(),
                    help,
                );
            }
        };
        if !(1..=days).contains(&day) {
            self.error(
                "lexnis::check::impossible_date",
                format!("day {day} does not exist in month {month}: it has {days} days"),
                args[2].span,
                "this day".into(),
                "no entity's evaluation could build this date: check the day against the provision"
                    .into(),
            );
        }
    }

    fn aggregate(
        &mut self,
        kind: AggKind,
        var: &ast::Name,
        collection: &ast::Expr,
        body: Option<&ast::Expr>,
        filter: Option<&ast::Expr>,
        span: Span,
    ) -> TExpr {
        let coll = self.expr(collection, None);
        let elem = match coll.ty.element() {
            Some(t) => t.clone(),
            None => {
                self.mismatch(
                    coll.span,
                    "a set or a list",
                    &coll.ty,
                    Some(
                        "aggregates run over a set or a list, e.g. `sum p.staff for p in partners`"
                            .into(),
                    ),
                );
                Type::Nothing
            }
        };
        let depth = self.locals.len() as u32;
        self.locals.push((var.text.clone(), elem));
        let tfilter = filter.map(|f| {
            let t = self.expr(f, Some(&Type::Bool));
            self.expect_type(&t, &Type::Bool);
            Box::new(t)
        });
        let tbody = body.map(|b| Box::new(self.expr(b, None)));
        self.locals.pop();
        let ty = match (kind, &tbody) {
            (AggKind::Any | AggKind::All, _) => Type::Bool,
            (AggKind::Count, _) => Type::Int,
            (_, Some(b)) => {
                if !b.ty.required().is_numeric() {
                    self.mismatch(
                        b.span,
                        "a number or an amount",
                        &b.ty,
                        Some("`sum`, `largest` and `smallest` add up or compare numbers".into()),
                    );
                }
                match kind {
                    AggKind::Sum => b.ty.required().clone(),
                    _ => Type::Optional(Box::new(b.ty.required().clone())),
                }
            }
            (_, None) => Type::Decimal,
        };
        texpr(
            TKind::Aggregate {
                kind,
                depth,
                collection: Box::new(coll),
                body: tbody,
                filter: tfilter,
            },
            ty,
            span,
        )
    }

    /// Citations must name a provision (an article or an annex) of a known act.
    fn citations(&mut self) {
        let p = self.p;
        let cites = p
            .rules
            .iter()
            // A rule or definition without its citation was reported by `resolve`.
            .filter(|r| !r.citation.is_empty())
            .map(|r| (r.act, r.citation.as_str(), r.citation_span))
            .chain(
                p.defines
                    .iter()
                    .filter(|d| !d.citation.is_empty())
                    .map(|d| (d.act, d.citation.as_str(), d.span)),
            )
            .chain(
                p.tables
                    .iter()
                    .map(|t| (t.act, t.citation.as_str(), t.citation_span)),
            )
            .chain(p.acts.iter().enumerate().filter_map(|(i, a)| {
                a.review
                    .as_ref()
                    .map(|r| (ActId(i as u32), r.citation.as_str(), r.span))
            }));
        let problems: Vec<(ActId, Span, CitationProblem)> = cites
            .filter_map(|(act, text, span)| citation_problem(p, act, text).map(|c| (act, span, c)))
            .collect();
        let mut outside: std::collections::BTreeMap<u32, usize> = Default::default();
        for (act, span, problem) in problems {
            let (message, help) = match problem {
                CitationProblem::OutsideArticles(message) => {
                    let seen = outside.entry(act.0).or_default();
                    *seen += 1;
                    if *seen > CITATIONS_SHOWN {
                        continue;
                    }
                    let help = "check the article number against the text of the act";
                    (message, help.to_string())
                }
                CitationProblem::Other(message, help) => (message, help),
            };
            self.error(
                "lexnis::check::citation",
                message,
                span,
                "this citation".into(),
                help,
            );
        }
        for (act, count) in outside.into_iter().filter(|(_, n)| *n > CITATIONS_SHOWN) {
            let a = p.act(ActId(act));
            self.error(
                "lexnis::check::citations_outside_articles",
                format!(
                    "{} more citations in the rules of {} name articles outside the range their act's header declares",
                    count - CITATIONS_SHOWN,
                    a.cited_as
                ),
                a.header_span,
                "this act".into(),
                "so many suggest the header's `articles A to B` is wrong: check it against the act".into(),
            );
        }
    }

    /// Checks `overrides`: same outcome, no cycles, and no two unordered rules that may
    /// conclude different values. Returns, for each rule, all rules that override it.
    fn precedence(&mut self) -> Vec<Vec<RuleId>> {
        let p = self.p;
        let n = p.rules.len();
        let mut graph = petgraph::graphmap::DiGraphMap::<u32, ()>::new();
        for (i, r) in p.rules.iter().enumerate() {
            graph.add_node(i as u32);
            for o in &r.overrides {
                let target = &p.rules[o.index()];
                if target.outcome != r.outcome {
                    self.error("lexnis::check::override_other_outcome", format!("rule `{}` overrides `{}`, but they conclude different outcomes ({} and {})", r.name, target.name, p.outcomes[r.outcome.index()].name, p.outcomes[target.outcome.index()].name), r.span, "this rule".into(), "a rule can only take precedence over rules that conclude the same outcome".into());
                }
                graph.add_edge(i as u32, o.0, ());
            }
        }
        if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
            // A rule on the cycle, which the node toposort stopped at need not be.
            let on_cycle = (petgraph::algo::tarjan_scc(&graph).into_iter())
                .find(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))
                .map_or(cycle.node_id(), |c| c[0]);
            let chain = overrides_cycle(&graph, on_cycle);
            let names: Vec<&str> = (chain.iter().chain(chain.first()))
                .map(|i| p.rules[*i as usize].name.as_str())
                .collect();
            let first = &p.rules[chain[0] as usize];
            let mut d = Diagnostic::error(
                "lexnis::check::precedence_cycle",
                format!(
                    "rule `{}` takes precedence over itself: {}",
                    first.name,
                    names.join(" overrides ")
                ),
            );
            for (k, i) in chain.iter().enumerate() {
                let next = names[k + 1];
                d = d.label(p.rules[*i as usize].span, format!("overrides `{next}`"));
            }
            self.diags.push(
                d.help("precedence must go one way: remove one of the `overrides` in the chain"),
            );
            return vec![Vec::new(); n];
        }
        let mut overridden_by = vec![Vec::new(); n];
        // Only rules that override others start a search: the others reach nothing.
        for i in (0..n).filter(|i| graph.neighbors(*i as u32).next().is_some()) {
            let mut dfs = petgraph::visit::Dfs::new(&graph, i as u32);
            while let Some(j) = dfs.next(&graph) {
                if j != i as u32 {
                    overridden_by[j as usize].push(RuleId(i as u32));
                }
            }
        }
        self.ambiguity(&overridden_by);
        overridden_by
    }

    fn ambiguity(&mut self, overridden_by: &[Vec<RuleId>]) {
        let p = self.p;
        for same_outcome in &p.rules_by_outcome {
            for (k, ra) in same_outcome.iter().enumerate() {
                let (i, a) = (ra.index(), &p.rules[ra.index()]);
                if a.includes {
                    continue;
                }
                for rb in &same_outcome[k + 1..] {
                    let (j, b) = (rb.index(), &p.rules[rb.index()]);
                    let ordered = overridden_by[i].contains(rb) || overridden_by[j].contains(ra);
                    if ordered || same_constant(a.value.as_ref(), b.value.as_ref()) {
                        continue;
                    }
                    let outcome = &p.outcomes[a.outcome.index()].name;
                    self.diags.push(
                    Diagnostic::error("lexnis::check::ambiguous_precedence", format!("rules `{}` and `{}` may both apply and conclude different values for `{outcome}`", a.name, b.name))
                        .label(b.span, "this rule")
                        .label(a.span, "and this rule")
                        .help(format!("say which prevails: add `overrides {}` to the more specific rule (lex specialis), or the reverse", a.name)),
                );
                }
            }
        }
    }

    fn unused_facts(
        &mut self,
        defines: &[TExpr],
        rules: &[(TExpr, TExpr)],
        defaults: &[Option<TExpr>],
    ) {
        let mut used = HashSet::new();
        let mut mark = |e: &TExpr| {
            if let TKind::Fact(id) = e.kind {
                used.insert(id);
            }
        };
        for e in defines
            .iter()
            .chain(rules.iter().flat_map(|(c, v)| [c, v]))
            .chain(defaults.iter().flatten())
        {
            e.walk(&mut mark);
        }
        for (i, f) in self.p.facts.iter().enumerate() {
            if !used.contains(&FactId(i as u32)) {
                self.diags.push(
                    Diagnostic::warning("lexnis::check::unused_fact", format!("fact `{}` is declared but no rule or definition uses it", f.spec.name))
                        .label(f.spec.span, "unused")
                        .help("use it in a rule, or remove it from the schema (facts documents will still be checked against it)"),
                );
            }
        }
    }
}

/// The rules of one cycle of `overrides` through `start`, in the order each
/// overrides the next (the last overrides `start`): the shortest such cycle.
fn overrides_cycle(graph: &petgraph::graphmap::DiGraphMap<u32, ()>, start: u32) -> Vec<u32> {
    let mut came_from = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in graph.neighbors(at) {
            if next == start {
                let mut chain = vec![at];
                while let Some(&before) = came_from.get(chain.last().expect("not empty")) {
                    chain.push(before);
                }
                chain.reverse();
                return chain;
            }
            if next != at && !came_from.contains_key(&next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

fn same_constant(a: Option<&ast::Expr>, b: Option<&ast::Expr>) -> bool {
    fn key(e: Option<&ast::Expr>) -> Option<String> {
        match e.map(|e| &e.kind) {
            None => Some("true".into()),
            Some(ExprKind::Name(n)) => Some(n.clone()),
            Some(ExprKind::Literal(l)) => Some(format!("{:?}", crate::literal::to_json(l))),
            _ => None,
        }
    }
    matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

/// A zero written as such (`0`, `0.0`, `0 EUR`), not a value that may be zero.
fn is_literal_zero(e: &TExpr) -> bool {
    matches!(&e.kind, TKind::Const(Value::Num(n)) if n.is_zero())
}

fn money_help(want: &Type, found: &Type) -> Option<String> {
    match (want.required(), found.required()) {
        (Type::Money, Type::Int | Type::Decimal) => Some("amounts of money are written with their currency: add EUR, e.g. 50_000_000 EUR".into()),
        (Type::Int | Type::Decimal, Type::Money) => Some("this compares a number with an amount of money: write the number with EUR, or compare with a number field".into()),
        _ => None,
    }
}

/// What is wrong with a citation.
enum CitationProblem {
    /// The article is outside the range the cited act's header declares:
    /// counted, since many of them point at the header rather than the rules.
    OutsideArticles(String),
    /// Anything else: `(message, help)`.
    Other(String, String),
}

/// What is wrong with a citation, if anything.
fn citation_problem(p: &Program, act: ActId, text: &str) -> Option<CitationProblem> {
    if let Some(c) = (text.chars()).find(|c| crate::source::unseen_character(*c).is_some()) {
        return Some(CitationProblem::Other(
            format!(
                "citation \"{text}\" holds an invisible character, U+{:04X}",
                c as u32
            ),
            "retype the citation with plain spaces: a pasted character no one sees makes it \
             match no explanation's"
                .into(),
        ));
    }
    let a = p.act(act);
    let provision_at = [
        "art.",
        "Art.",
        "allegato",
        "Allegato",
        "allegati",
        "considerando",
    ]
    .iter()
    .filter_map(|w| text.find(w))
    .min();
    let Some(at) = provision_at else {
        return Some(CitationProblem::Other(
            format!("citation \"{text}\" does not name a provision"),
            "cite an article or an annex, e.g. \"art. 3, c. 5, lett. c)\" or \"allegato I, punto 1\"".into(),
        ));
    };
    let prefix = text[..at].trim().trim_end_matches(',').trim();
    let target = if prefix.is_empty() {
        Some(a)
    } else {
        std::iter::once(act)
            .chain(a.imports.iter().copied())
            .map(|i| p.act(i))
            .find(|x| x.cited_as == prefix)
    };
    if target.is_none() && !a.refers_to.iter().any(|r| r == prefix) {
        let mut known = vec![a.cited_as.as_str()];
        known.extend(a.imports.iter().map(|i| p.act(*i).cited_as.as_str()));
        known.extend(a.refers_to.iter().map(String::as_str));
        return Some(CitationProblem::Other(
            format!("citation \"{text}\" names \"{prefix}\", which act `{}` neither is, imports nor refers to", a.id),
            // A close name may be a typo, or another act altogether (two regulations
            // differ only in their numbers): both ways out are given.
            match crate::suggest::closest(prefix, known.iter().copied()) {
                Some(close) => format!("did you mean `{close}`? If \"{prefix}\" is another act, add `refers to \"{prefix}\"` to the act header"),
                None => format!("cite one of: {}; or add `refers to \"{prefix}\"` to the act header", known.join(", ")),
            },
        ));
    }
    // An act only referred to is checked too when its rules are read with these.
    let target = target.or_else(|| p.acts.iter().find(|x| x.cited_as == prefix))?;
    if let Some((message, help)) = annex_problem(target, text, &text[at..]) {
        return Some(CitationProblem::Other(message, help));
    }
    if let Some((message, help)) = provision_shape_problem(text, &text[at..]) {
        return Some(CitationProblem::Other(message, help));
    }
    let article = article_number(&text[at..])?;
    match target.articles {
        Some((lo, hi)) if article < lo || article > hi => {
            Some(CitationProblem::OutsideArticles(format!(
                "citation \"{text}\" names art. {article}, but {} has articles {lo} to {hi}",
                target.cited_as
            )))
        }
        _ => None,
    }
}

/// A part of the provision not written as the law numbers it: `art.`, `c.`,
/// `par.` and `n.` take a number from 1 (`bis`, `ter` ... may follow), `lett.`
/// a letter and its parenthesis.
fn provision_shape_problem(text: &str, provision: &str) -> Option<(String, String)> {
    const LATIN: [&str; 9] = [
        "bis",
        "ter",
        "quater",
        "quinquies",
        "sexies",
        "septies",
        "octies",
        "novies",
        "decies",
    ];
    let numbered = |rest: &str| {
        let rest = rest.trim_end_matches(')');
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let suffix = rest[digits..].trim_start_matches(['-', ' ']);
        digits > 0
            && rest[..digits].parse::<u32>().is_ok_and(|n| n >= 1)
            && (suffix.is_empty() || LATIN.contains(&suffix))
    };
    let lettered = |rest: &str| {
        let letters = rest.chars().take_while(char::is_ascii_lowercase).count();
        (1..=3).contains(&letters) && rest[letters..].starts_with(')')
    };
    let number = "a number from 1, which bis, ter ... may follow";
    for part in provision.split(", ") {
        let (label, ok, takes, example) = if let Some(rest) = part.strip_prefix("art. ") {
            ("art.", numbered(rest), number, "art. 6")
        } else if let Some(rest) = part.strip_prefix("c. ") {
            ("c.", numbered(rest), number, "c. 3")
        } else if let Some(rest) = part.strip_prefix("par. ") {
            ("par.", numbered(rest), number, "par. 2")
        } else if let Some(rest) = part.strip_prefix("n. ") {
            ("n.", numbered(rest), number, "n. 1)")
        } else if let Some(rest) = part.strip_prefix("lett. ") {
            (
                "lett.",
                lettered(rest),
                "a letter and its parenthesis",
                "lett. a)",
            )
        } else {
            continue;
        };
        if !ok {
            return Some((
                format!("citation \"{text}\" writes `{part}`, but `{label}` takes {takes}"),
                format!("write it as the text does, e.g. `{example}`"),
            ));
        }
    }
    None
}

/// Citations reported one by one for an act whose article range they fall
/// outside; past this many, the range itself is the likelier mistake.
const CITATIONS_SHOWN: usize = 3;

/// An annex the act does not have: `allegato IX` of an act with `annexes I to IV`.
fn annex_problem(target: &Act, text: &str, provision: &str) -> Option<(String, String)> {
    let (first, last) = target.annexes?;
    let range = crate::roman::numeral;
    let numerals = annex_numerals(provision);
    if numerals.is_empty() && provision.to_lowercase().starts_with("allegat") {
        return Some((
            format!("citation \"{text}\" names no annex by its number"),
            format!(
                "write the annex in Roman numerals, as {} numbers them ({} to {}), e.g. \"allegato I, punto 1\"",
                target.cited_as,
                range(first),
                range(last)
            ),
        ));
    }
    let outside = numerals
        .into_iter()
        .find(|n| !(first..=last).contains(&crate::roman::value(n)))?;
    Some((
        format!(
            "citation \"{text}\" names annex {outside}, but {} has annexes {} to {}",
            target.cited_as,
            range(first),
            range(last)
        ),
        "check the annex against the text of the act".into(),
    ))
}

/// The Roman numerals of `allegato IV` or `allegati I, II e IV`.
fn annex_numerals(provision: &str) -> Vec<&str> {
    let Some(rest) = ["allegato ", "Allegato ", "allegati ", "Allegati "]
        .iter()
        .find_map(|w| provision.strip_prefix(w))
    else {
        return Vec::new();
    };
    rest.split([',', ' '])
        .map_while(|w| match w {
            "" | "e" => Some(None),
            w if w.chars().all(|c| "IVXLCDM".contains(c)) => Some(Some(w)),
            _ => None,
        })
        .flatten()
        .collect()
}

fn article_number(provision: &str) -> Option<u32> {
    let rest = provision
        .strip_prefix("art.")
        .or_else(|| provision.strip_prefix("Art."))?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_article_numbers() {
        assert_eq!(super::article_number("art. 3, c. 2"), Some(3));
        assert_eq!(super::article_number("art. 40, c. 10"), Some(40));
        assert_eq!(super::article_number("allegato I"), None);
        assert_eq!(super::annex_numerals("allegato IV, punto 1"), ["IV"]);
        assert_eq!(
            super::annex_numerals("allegati I, II e IV"),
            ["I", "II", "IV"]
        );
        assert!(super::annex_numerals("allegato, art. 6").is_empty());
    }
}
