//! The bundled NIS rules written by hand in Rust: the compute limit that lexnis is
//! measured against. Same facts schema (typed with serde), every result lexnis
//! decides (scope, classification, DORA, art. 7 obligations and deadlines, sector
//! authorities, notes, safeguard clause, size classes), and a compact trace: the
//! rules that applied among those a left-to-right reading reaches, as lexnis lists
//! them. Checked against lexnis, result by result and trace by trace, before any
//! timing. Texts that are data, not logic (citations, the procedure's wording, the
//! policy versions), are taken from the compiled rules once.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

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
pub struct LinkedToNisEntity {
    pub criteria: Vec<String>,
    #[serde(default)]
    pub entity_types: Vec<String>,
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
    pub linked_to_nis_entity: Option<LinkedToNisEntity>,
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

/// The rules, in the order lexnis declares them (a compact trace lists them so).
pub const RULES: [&str; 58] = [
    "scope.c2",
    "scope.c5_a",
    "scope.c5_b",
    "scope.c5_c",
    "scope.c5_d",
    "scope.c5_e",
    "scope.c6",
    "scope.c8",
    "scope.c9",
    "scope.c10",
    "scope.c1_jurisdiction",
    "scope.c15",
    "c14.dora",
    "c14.art17",
    "c14.chapter_IV",
    "c14.chapter_V",
    "class.c3",
    "class.c1_a",
    "class.c1_b",
    "class.c1_c",
    "class.c1_d",
    "class.c1_e",
    "class.c2",
    "art7.c1",
    "art7.c4",
    "art7.c5",
    "art7.c7",
    "art7.c1.deadline",
    "art7.c4.deadline",
    "authority.pcm_ict",
    "authority.pcm_space",
    "authority.pcm_pa",
    "authority.pcm_in_house",
    "authority.mef",
    "authority.mimit_digital",
    "authority.mimit_postal",
    "authority.mimit_chemicals",
    "authority.mimit_manufacturing",
    "authority.mimit_vehicles",
    "authority.mimit_digital_providers",
    "authority.mimit_registrars",
    "authority.masaf",
    "authority.mase_energy",
    "authority.mase_water",
    "authority.mase_waste_water",
    "authority.mase_waste",
    "authority.mit_transport",
    "authority.mit_local_transport",
    "authority.mur_research",
    "authority.mic",
    "authority.salute_health",
    "authority.salute_devices",
    "note.public_control",
    "note.two_year_rule",
    "clause.available",
    "clause.criteria_met",
    "clause.excluded",
    "clause.procedure",
];

const SCOPE: usize = 0;
const C1_JURISDICTION: usize = 10;
const C15: usize = 11;
const DORA: usize = 12;
const CLASS_C3: usize = 16;
const ART7: usize = 23;
const AUTHORITIES: usize = 29;
const NOTES: usize = 52;
const CLAUSE: usize = 54;

const AUTHORITY_NAMES: [&str; 9] = [
    "pcm", "mef", "mimit", "masaf", "mase", "mit", "mur", "mic", "salute",
];
const OBLIGATION_NAMES: [&str; 4] = [
    "register_on_platform",
    "update_information",
    "additional_information",
    "notify_changes",
];
const NOTE_NAMES: [&str; 2] = ["public_control_disregarded", "two_year_rule_applied"];
const PROVISIONS: [&str; 3] = ["art_17", "chapter_IV", "chapter_V"];

#[derive(Debug, Default)]
pub struct Decision {
    pub in_scope: bool,
    pub dora_applies: bool,
    pub classification: Option<&'static str>,
    /// Bits by `OBLIGATION_NAMES`.
    pub obligations: u8,
    pub registration_deadline: Option<(i32, u8, u8)>,
    pub information_deadline: Option<(i32, u8, u8)>,
    /// Bits by `AUTHORITY_NAMES`.
    pub authorities: u16,
    /// Bits by `NOTE_NAMES`.
    pub notes: u8,
    pub safeguard: &'static str,
    pub size_class: Option<Class>,
    pub size_class_without_aggregation: Option<Class>,
    /// Indices in `RULES` of the rules that applied and were reached, in order.
    pub trace: Vec<u8>,
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

/// An entity type key: (annex, sector, subsector).
fn parse_type(key: &str) -> (&str, u32, &str) {
    let mut parts = key.split('.');
    let annex = parts.next().unwrap_or("");
    let sector = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let third = parts.next().unwrap_or("");
    let sub = if parts.next().is_some() { third } else { "" };
    (annex, sector, sub)
}

/// The letter of art. 3, c. 5 under which a type is in scope whatever its size.
fn size_independent(key: &str) -> Option<char> {
    match key {
        "I.8.2" | "I.8.3" => Some('d'),
        "I.8.7" => Some('c'),
        "I.8.8" | "I.8.9" => Some('b'),
        _ => None,
    }
}

/// The digital providers of art. 7, c. 5.
fn art7_c5(key: &str) -> bool {
    matches!(
        key,
        "I.8.2"
            | "I.8.3"
            | "I.8.4"
            | "I.8.5"
            | "I.8.6"
            | "I.9.1"
            | "I.9.2"
            | "II.6.1"
            | "II.6.2"
            | "II.6.3"
    )
}

/// The sector authorities (bits by `AUTHORITY_NAMES`) of the rules of art. 11, c.
/// 2 that one entity type meets, each with the index of its rule.
fn authority_rules(annex: &str, sector: u32, sub: &str) -> &'static [(usize, u16)] {
    match (annex, sector, sub) {
        ("I", 9, _) => &[(29, 0)],
        ("I", 10, _) => &[(30, 0)],
        ("IV", 4, _) => &[(32, 0)],
        ("I", 3 | 4, _) => &[(33, 1)],
        ("I", 8, _) => &[(34, 2)],
        ("II", 1, _) => &[(35, 2)],
        ("II", 3, _) => &[(36, 2)],
        ("II", 5, "b" | "c" | "d") => &[(37, 2)],
        ("II", 5, "e" | "f") => &[(38, 2)],
        ("II", 6, _) => &[(39, 2)],
        ("II", 4, _) => &[(41, 3)],
        ("I", 1, _) => &[(42, 4)],
        ("I", 6, _) => &[(43, 4)],
        ("I", 7, _) => &[(44, 4)],
        ("II", 2, _) => &[(45, 4)],
        ("I", 2, _) => &[(46, 5)],
        ("IV", 1, _) => &[(47, 5)],
        ("II", 7, _) | ("IV", 2, _) => &[(48, 6)],
        ("IV", 3, _) => &[(49, 7)],
        ("I", 5, _) => &[(50, 8)],
        ("II", 5, "a") => &[(51, 8)],
        _ => &[],
    }
}

/// The end of the window of art. 7 (`month`/`day` of this year, or of the next
/// once passed), on the evaluation date.
fn window_end(today: (i32, u8, u8), month: u8, day: u8) -> (i32, u8, u8) {
    let year = if (today.1, today.2) <= (month, day) {
        today.0
    } else {
        today.0 + 1
    };
    (year, month, day)
}

pub fn decide(f: &Facts, today: (i32, u8, u8)) -> Decision {
    let mut d = Decision::default();
    let hundred = Decimal::ONE_HUNDRED;
    let quarter = Decimal::from(25);
    let (mut ps, mut pt, mut pb) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for p in f.partners.iter().filter(|p| p.share_pct >= quarter) {
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
    let (with_now, without_now) = (with(&f.size), without(&f.size));
    let size_class = two_years(with_now, f.previous_size.as_ref().map(with));
    let size_alone = two_years(without_now, f.previous_size.as_ref().map(without));
    d.size_class = Some(size_class);
    d.size_class_without_aggregation = Some(size_alone);

    let linked_to = f.linked_to_nis_entity.as_ref();
    let c10 = linked_to
        .is_some_and(|l| (l.criteria.iter()).any(|k| matches!(k.as_str(), "a" | "b" | "c" | "d")));
    let clause = f.safeguard_clause.as_ref();
    let granted = clause.is_some_and(|s| s.granted) && !c10;
    let (size, size_now) = match granted {
        true => (size_alone, without_now),
        false => (size_class, with_now),
    };
    let types: Vec<(&str, u32, &str)> = f.entity_types.iter().map(|t| parse_type(t)).collect();
    let annex_i_ii = types.iter().any(|t| t.0 == "I" || t.0 == "II");
    let annex_iv = types.iter().any(|t| t.0 == "IV");
    let letter = |l: char| {
        f.entity_types
            .iter()
            .any(|t| size_independent(t) == Some(l))
    };
    let ident = f.identified_by_authority.as_ref();
    let c8 = ident.is_some_and(|i| i.comma == 8);
    let c9 = ident.is_some_and(|i| i.comma == 9 && !i.criteria.is_empty());
    let pa = f.public_administration.as_deref();

    // Art. 3: the in_scope outcome reads its rules in order up to the first that
    // applies; a rule whose condition holds reads c. 1 and c. 15, which override it.
    let scope_conditions = [
        annex_i_ii && size >= Class::Medium,
        f.critical_entity,
        letter('b'),
        f.qualified_trust_service_provider || letter('c'),
        letter('d'),
        f.domain_name_registration_provider,
        pa.is_some(),
        annex_iv && c8,
        c9 && (annex_i_ii || annex_iv || pa.is_some()),
        c10,
    ];
    // The rule that applies is the first whose condition holds, unless c. 1 or c.
    // 15 overrides them all: then that one.
    let (outside, exempt) = (!f.italian_jurisdiction, f.dora_exempt);
    let first = scope_conditions.iter().position(|holds| *holds);
    match first {
        Some(i) if !outside && !exempt => d.trace.push((SCOPE + i) as u8),
        _ if outside => d.trace.push(C1_JURISDICTION as u8),
        _ if exempt => d.trace.push(C15 as u8),
        _ => {}
    }
    d.in_scope = first.is_some() && !outside && !exempt;

    // Art. 6: c. 3 holds for every entity in scope unless one of c. 1 and c. 2,
    // read in order, applies; the outcome stops at the first rule that applies.
    let designated = ident.is_some_and(|i| {
        i.designation.as_deref() == Some("essential")
            && ((i.comma == 6 && pa.is_some()) || (annex_iv && c8) || c9 || (i.comma == 10 && c10))
    });
    if d.in_scope {
        let essential = [
            types.iter().any(|t| t.0 == "I") && size == Class::Large,
            f.critical_entity,
            size == Class::Medium && letter('b'),
            f.qualified_trust_service_provider || letter('d'),
            pa == Some("III.1.a"),
            designated,
        ];
        match essential.iter().position(|e| *e) {
            Some(i) => {
                d.classification = Some("essential");
                d.trace.push((CLASS_C3 + 1 + i) as u8);
            }
            None => {
                d.classification = Some("important");
                d.trace.push(CLASS_C3 as u8);
            }
        }
    }
    // Art. 3, c. 14.
    let dora_sector = types.iter().any(|t| t.0 == "I" && matches!(t.1, 3 | 4));
    if d.classification.is_some() && dora_sector {
        d.dora_applies = true;
        d.trace.extend((DORA..DORA + 4).map(|r| r as u8));
    }

    // Art. 7: the classified entities are the listed ones.
    if d.in_scope {
        let digital =
            f.domain_name_registration_provider || f.entity_types.iter().any(|t| art7_c5(t));
        d.obligations = 0b1011 | (u8::from(digital) << 2);
        let rules = [0, 1, 3, 4, 5].into_iter().chain(digital.then_some(2));
        d.trace.extend(rules.map(|r| (ART7 + r) as u8));
        d.registration_deadline = Some(window_end(today, 2, 28));
        d.information_deadline = Some(window_end(today, 5, 31));
    }

    // Art. 11: the sectors of the entity and, for an entity in scope under art. 3,
    // c. 10, those of the entity it is linked to (c. 3).
    if d.in_scope {
        let mut rules = 0u32;
        let linked_types = linked_to
            .filter(|_| c10)
            .map_or(&[][..], |l| &l.entity_types[..]);
        for t in f.entity_types.iter().chain(linked_types) {
            let (annex, sector, sub) = parse_type(t);
            for (rule, authority) in authority_rules(annex, sector, sub) {
                rules |= 1 << (rule - AUTHORITIES);
                d.authorities |= 1 << authority;
            }
        }
        if pa.is_some() {
            rules |= 1 << 2;
            d.authorities |= 1;
        }
        if f.domain_name_registration_provider {
            rules |= 1 << 11;
            d.authorities |= 1 << 2;
        }
        d.trace.extend(
            (0..23)
                .filter(|r| rules >> r & 1 == 1)
                .map(|r| (AUTHORITIES + r) as u8),
        );
    }

    // Notes.
    if f.public_bodies_share_pct >= quarter {
        d.notes |= 1;
        d.trace.push(NOTES as u8);
    }
    if size != size_now {
        d.notes |= 2;
        d.trace.push(NOTES as u8 + 1);
    }

    // DPCM 221/2024: the clause can be requested by an entity with partner or
    // linked enterprises whose size class aggregation changes, but not by one in
    // scope under art. 3, c. 10; criteria met with both joint declarations.
    let has_linked = f.partners.iter().any(|p| p.share_pct >= quarter) || !f.linked.is_empty();
    let available = has_linked && size_class != size_alone;
    let criteria_met = available
        && clause.is_some_and(|s| s.requested && s.systems_independent && s.services_independent);
    d.safeguard = if c10 {
        d.trace.push(CLAUSE as u8 + 2);
        "excluded"
    } else if criteria_met {
        d.trace.push(CLAUSE as u8 + 1);
        "criteria_met"
    } else if available {
        d.trace.push(CLAUSE as u8);
        "available"
    } else {
        "not_applicable"
    };
    if matches!(d.safeguard, "available" | "criteria_met") {
        d.trace.push(CLAUSE as u8 + 3);
    }
    // A compact trace lists the rules in the order they are declared.
    d.trace.sort_unstable();
    d
}

/// What a result line holds besides the decision: texts that are data (the
/// citations, the wording of the procedure, the policy versions), prepared once.
pub struct Texts {
    /// Each rule as a compact trace lists it, by index in `RULES`.
    pub rules: Vec<Box<RawValue>>,
    pub procedure: String,
    pub versions: Box<RawValue>,
    pub as_of: String,
}

impl Texts {
    pub fn new(c: &lexnis::lower::Compiled, as_of: &str) -> Texts {
        use lexnis::{lower::Op, program::RuleId, value::Value};
        let p = &c.program;
        let id = |name: &str| RuleId(p.rules.iter().position(|r| r.name == name).unwrap() as u32);
        assert!(
            RULES.windows(2).all(|w| id(w[0]) < id(w[1])),
            "RULES lists the rules in lexnis's order"
        );
        let rules = (RULES.iter())
            .map(|name| {
                let rule = lexnis::trace::AppliedRule::of(p, id(name));
                serde_json::value::to_raw_value(&rule).unwrap()
            })
            .collect();
        let procedure_rule = &p.rules[id("clause.procedure").index()];
        let outcome = c.outcome_nodes[procedure_rule.outcome.index()];
        let Op::Outcome { rules: pairs, .. } = &c.node(outcome).op else {
            panic!("an outcome")
        };
        let procedure = match &c.node(pairs[0].1).op {
            Op::Const(Value::Text(t)) => t.to_string(),
            other => panic!("the procedure is a text, not {other:?}"),
        };
        let versions = lexnis::render::policy_versions(p);
        Texts {
            rules,
            procedure,
            versions: serde_json::value::to_raw_value(&versions).unwrap(),
            as_of: as_of.to_string(),
        }
    }
}

/// A decision as a result line with lexnis's keys, in lexnis's order.
#[derive(serde::Serialize)]
pub struct ResultLine<'a> {
    line: usize,
    id: Option<&'a str>,
    as_of: &'a str,
    in_scope: bool,
    dora_applies: bool,
    provisions_not_applicable: &'a [&'static str],
    classification: Option<&'static str>,
    obligations: Vec<&'static str>,
    next_registration_deadline: Option<String>,
    next_information_update_deadline: Option<String>,
    sector_authorities: Vec<&'static str>,
    notes: Vec<&'static str>,
    safeguard_clause: &'static str,
    safeguard_procedure: Option<&'a str>,
    size_class: Option<&'static str>,
    size_class_without_aggregation: Option<&'static str>,
    policy_versions: &'a RawValue,
    warnings: [(); 0],
    trace: Vec<&'a RawValue>,
}

fn names(bits: u32, names: &[&'static str]) -> Vec<&'static str> {
    (0..names.len())
        .filter(|i| bits >> i & 1 == 1)
        .map(|i| names[i])
        .collect()
}

fn date((y, m, d): (i32, u8, u8)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

impl<'a> ResultLine<'a> {
    pub fn new(line: usize, f: &'a Facts, d: &'a Decision, texts: &'a Texts) -> Self {
        let procedure = matches!(d.safeguard, "available" | "criteria_met");
        ResultLine {
            line,
            id: f.id.as_deref(),
            as_of: &texts.as_of,
            in_scope: d.in_scope,
            dora_applies: d.dora_applies,
            provisions_not_applicable: if d.dora_applies { &PROVISIONS } else { &[] },
            classification: d.classification,
            obligations: names(u32::from(d.obligations), &OBLIGATION_NAMES),
            next_registration_deadline: d.registration_deadline.map(date),
            next_information_update_deadline: d.information_deadline.map(date),
            sector_authorities: names(u32::from(d.authorities), &AUTHORITY_NAMES),
            notes: names(u32::from(d.notes), &NOTE_NAMES),
            safeguard_clause: d.safeguard,
            safeguard_procedure: procedure.then_some(texts.procedure.as_str()),
            size_class: d.size_class.map(Class::name),
            size_class_without_aggregation: d.size_class_without_aggregation.map(Class::name),
            policy_versions: &texts.versions,
            warnings: [],
            trace: d.trace.iter().map(|r| &*texts.rules[*r as usize]).collect(),
        }
    }
}
