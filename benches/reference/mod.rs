//! The bundled NIS rules written by hand in Rust: the compute limit that lexnis is
//! measured against. Same facts schema (typed with serde), same decisions, and a
//! compact trace (the names of the rules that applied). Checked against lexnis on
//! the benchmark population before any timing.

use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Deserialize, Clone, Copy)]
pub struct Size {
    pub staff: Decimal,
    pub turnover_eur: Decimal,
    pub balance_sheet_eur: Decimal,
}

#[derive(Deserialize)]
pub struct Partner {
    pub share_pct: Decimal,
    pub staff: Decimal,
    pub turnover_eur: Decimal,
    pub balance_sheet_eur: Decimal,
}

#[derive(Deserialize)]
pub struct Linked {
    pub staff: Decimal,
    pub turnover_eur: Decimal,
    pub balance_sheet_eur: Decimal,
    #[serde(default)]
    pub consolidated: bool,
}

#[derive(Deserialize)]
pub struct Identification {
    pub comma: u8,
    #[serde(default)]
    pub criteria: Vec<String>,
    #[serde(rename = "as")]
    pub designation: Option<String>,
}

#[derive(Deserialize)]
pub struct Criteria {
    pub criteria: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct Safeguard {
    #[serde(default)]
    pub requested: bool,
    #[serde(default)]
    pub systems_independent: bool,
    #[serde(default)]
    pub services_independent: bool,
    #[serde(default)]
    pub granted: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    pub id: Option<String>,
    #[serde(default)]
    pub entity_types: Vec<String>,
    pub size: Size,
    pub previous_size: Option<Size>,
    #[serde(default)]
    pub partners: Vec<Partner>,
    #[serde(default)]
    pub linked: Vec<Linked>,
    #[serde(default)]
    pub public_bodies_share_pct: Decimal,
    #[serde(default)]
    pub qualified_trust_service_provider: bool,
    #[serde(default)]
    pub domain_name_registration_provider: bool,
    #[serde(default)]
    pub critical_entity: bool,
    pub public_administration: Option<String>,
    pub identified_by_authority: Option<Identification>,
    pub linked_to_nis_entity: Option<Criteria>,
    pub safeguard_clause: Option<Safeguard>,
    #[serde(default = "yes")]
    pub italian_jurisdiction: bool,
    #[serde(default)]
    pub dora_exempt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Micro,
    Small,
    Medium,
    Large,
}

impl Class {
    pub fn name(self) -> &'static str {
        ["micro", "small", "medium", "large"][self as usize]
    }
}

#[derive(Debug, Default)]
pub struct Decision {
    pub in_scope: bool,
    pub classification: Option<&'static str>,
    pub size_class: Option<Class>,
    pub size_class_without_aggregation: Option<Class>,
    pub safeguard: &'static str,
    pub authorities: u16,
    pub trace: Vec<&'static str>,
    pub has_id: bool,
    pub public_control_note: bool,
}

/// A decision as a result line, for the reference that writes its output.
#[derive(serde::Serialize)]
pub struct ResultLine<'a> {
    line: usize,
    id: Option<&'a str>,
    in_scope: bool,
    classification: Option<&'static str>,
    size_class: Option<&'static str>,
    size_class_without_aggregation: Option<&'static str>,
    safeguard_clause: &'static str,
    trace: &'a [&'static str],
}

impl<'a> ResultLine<'a> {
    pub fn new(line: usize, f: &'a Facts, d: &'a Decision) -> Self {
        ResultLine {
            line,
            id: f.id.as_deref(),
            in_scope: d.in_scope,
            classification: d.classification,
            size_class: d.size_class.map(Class::name),
            size_class_without_aggregation: d.size_class_without_aggregation.map(Class::name),
            safeguard_clause: d.safeguard,
            trace: &d.trace,
        }
    }
}

fn class_of(staff: Decimal, turnover: Decimal, balance: Decimal) -> Class {
    let m = Decimal::from(1_000_000);
    if staff < Decimal::from(10) && (turnover <= m * Decimal::TWO || balance <= m * Decimal::TWO) {
        Class::Micro
    } else if staff < Decimal::from(50)
        && (turnover <= m * Decimal::TEN || balance <= m * Decimal::TEN)
    {
        Class::Small
    } else if staff < Decimal::from(250)
        && (turnover <= m * Decimal::from(50) || balance <= m * Decimal::from(43))
    {
        Class::Medium
    } else {
        Class::Large
    }
}

/// (annex, sector, subsector, size-independent letter) of an entity type key.
fn parse_type(key: &str) -> (&str, u32, &str, u32) {
    let mut parts = key.split('.');
    let annex = parts.next().unwrap_or("");
    let sector = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let third = parts.next().unwrap_or("");
    let (sub, pos) = match parts.next() {
        Some(p) => (third, p.parse().unwrap_or(0)),
        None => ("", third.parse().unwrap_or(0)),
    };
    (annex, sector, sub, pos)
}

fn size_independent(key: &str) -> Option<char> {
    match parse_type(key) {
        ("I", 8, "", 2) | ("I", 8, "", 3) => Some('d'),
        ("I", 8, "", 7) => Some('c'),
        ("I", 8, "", 8) | ("I", 8, "", 9) => Some('b'),
        _ => None,
    }
}

pub fn decide(f: &Facts) -> Decision {
    let mut d = Decision {
        has_id: f.id.is_some(),
        public_control_note: f.public_bodies_share_pct >= Decimal::from(25),
        ..Decision::default()
    };
    let hundred = Decimal::ONE_HUNDRED;
    let quarter = Decimal::from(25);
    let partners = f.partners.iter().filter(|p| p.share_pct >= quarter);
    let (mut ps, mut pt, mut pb) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for p in partners {
        ps += p.staff * p.share_pct / hundred;
        pt += p.turnover_eur * p.share_pct / hundred;
        pb += p.balance_sheet_eur * p.share_pct / hundred;
    }
    let (mut ls, mut lt, mut lb) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for l in f.linked.iter().filter(|l| !l.consolidated) {
        ls += l.staff;
        lt += l.turnover_eur;
        lb += l.balance_sheet_eur;
    }
    let with = |s: &Size| {
        class_of(
            s.staff + ps + ls,
            s.turnover_eur + pt + lt,
            s.balance_sheet_eur + pb + lb,
        )
    };
    let without = |s: &Size| class_of(s.staff, s.turnover_eur, s.balance_sheet_eur);
    let two_years = |now: Class, before: Option<Class>| match before {
        Some(b) if b != now => b,
        _ => now,
    };
    let size_class = two_years(with(&f.size), f.previous_size.as_ref().map(with));
    let size_alone = two_years(without(&f.size), f.previous_size.as_ref().map(without));
    d.size_class = Some(size_class);
    d.size_class_without_aggregation = Some(size_alone);
    let safeguard = f.safeguard_clause.as_ref();
    let granted = safeguard.is_some_and(|s| s.granted);
    let size = if granted { size_alone } else { size_class };
    let types: Vec<(&str, u32, &str, u32)> = f.entity_types.iter().map(|t| parse_type(t)).collect();
    let annex_i_ii = types.iter().any(|t| t.0 == "I" || t.0 == "II");
    let annex_iv = types.iter().any(|t| t.0 == "IV");
    let letters: Vec<char> = f
        .entity_types
        .iter()
        .filter_map(|t| size_independent(t))
        .collect();
    let ident = f.identified_by_authority.as_ref();
    let c8 = ident.is_some_and(|i| i.comma == 8);
    let c9 = ident.is_some_and(|i| i.comma == 9 && !i.criteria.is_empty());
    let c10 = f
        .linked_to_nis_entity
        .as_ref()
        .is_some_and(|l| !l.criteria.is_empty());
    let mut scope = false;
    let mut apply = |cond: bool, name: &'static str, trace: &mut Vec<&'static str>| {
        if cond {
            trace.push(name);
            scope = true;
        }
    };
    apply(
        annex_i_ii && size >= Class::Medium,
        "scope.c2",
        &mut d.trace,
    );
    apply(f.critical_entity, "scope.c5_a", &mut d.trace);
    apply(letters.contains(&'b'), "scope.c5_b", &mut d.trace);
    apply(
        f.qualified_trust_service_provider || letters.contains(&'c'),
        "scope.c5_c",
        &mut d.trace,
    );
    apply(letters.contains(&'d'), "scope.c5_d", &mut d.trace);
    apply(
        f.domain_name_registration_provider,
        "scope.c5_e",
        &mut d.trace,
    );
    apply(f.public_administration.is_some(), "scope.c6", &mut d.trace);
    apply(annex_iv && c8, "scope.c8", &mut d.trace);
    apply(
        c9 && (annex_i_ii || annex_iv || f.public_administration.is_some()),
        "scope.c9",
        &mut d.trace,
    );
    apply(c10, "scope.c10", &mut d.trace);
    if !f.italian_jurisdiction || f.dora_exempt {
        d.trace.push(if f.dora_exempt {
            "scope.c15"
        } else {
            "scope.c1_jurisdiction"
        });
        scope = false;
    }
    d.in_scope = scope;
    if scope {
        let annex_i = types.iter().any(|t| t.0 == "I");
        let essential = [
            (annex_i && size == Class::Large, "class.c1_a"),
            (f.critical_entity, "class.c1_b"),
            (
                size == Class::Medium && letters.contains(&'b'),
                "class.c1_c",
            ),
            (
                f.qualified_trust_service_provider || letters.contains(&'d'),
                "class.c1_d",
            ),
            (
                f.public_administration.as_deref() == Some("III.1.a"),
                "class.c1_e",
            ),
            (
                ident.is_some_and(|i| {
                    i.designation.as_deref() == Some("essential")
                        && matches!(i.comma, 6 | 8 | 9 | 10)
                }),
                "class.c2",
            ),
        ];
        let winners: Vec<&'static str> = essential.iter().filter(|e| e.0).map(|e| e.1).collect();
        d.classification = Some(if winners.is_empty() {
            "important"
        } else {
            "essential"
        });
        d.trace.extend(if winners.is_empty() {
            vec!["class.c3"]
        } else {
            winners
        });
        for (annex, sector, sub, _) in &types {
            let bit = match (*annex, *sector, *sub) {
                ("I", 9 | 10, _) | ("IV", 4, _) => 0,
                ("I", 3 | 4, _) => 1,
                ("I", 8, _) | ("II", 1 | 3 | 6, _) | ("II", 5, "b" | "c" | "d" | "e" | "f") => 2,
                ("II", 4, _) => 3,
                ("I", 1 | 6 | 7, _) | ("II", 2, _) => 4,
                ("I", 2, _) | ("IV", 1, _) => 5,
                ("II", 7, _) | ("IV", 2, _) => 6,
                ("IV", 3, _) => 7,
                ("I", 5, _) | ("II", 5, "a") => 8,
                _ => continue,
            };
            d.authorities |= 1 << bit;
        }
        if f.public_administration.is_some() {
            d.authorities |= 1;
        }
    }
    let has_linked = f.partners.iter().any(|p| p.share_pct >= quarter) || !f.linked.is_empty();
    d.safeguard = if c10 {
        "excluded"
    } else if has_linked && size_class != size_alone {
        let s = safeguard;
        if s.is_some_and(|s| s.requested && s.systems_independent && s.services_independent) {
            "criteria_met"
        } else {
            "available"
        }
    } else {
        "not_applicable"
    };
    d
}
