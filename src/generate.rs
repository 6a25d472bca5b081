//! Synthetic populations of NIS entities for simulations and benchmarks.
//! Entry point: [`generate`]. Deterministic for a seed; the proportions and why
//! they were chosen are in docs/regulators.md.

use crate::program::Program;
use serde_json::{json, Map, Value as Json};
use std::io::Write;

/// SplitMix64: tiny, fast, and its stream never changes with a dependency update,
/// so a seed gives the same population on every machine and every version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 10_000 < percent * 100
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance_per_mille(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next_u64() as usize % items.len()]
    }
}

/// What the generator needs from the policies: the keys of the annex tables.
pub struct Catalogue {
    entity_types: Vec<String>,
    annex_iv_types: Vec<String>,
    public_administrations: Vec<String>,
}

impl Catalogue {
    /// Reads the `EntityType` and `PublicAdministration` tables of the policies.
    pub fn from_program(p: &Program) -> Result<Catalogue, String> {
        let keys = |name: &str| -> Result<Vec<String>, String> {
            p.tables
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.rows.iter().map(|r| r.key.clone()).collect())
                .ok_or_else(|| format!("the policies have no table `{name}`: `generate` makes NIS entities and needs the annex tables"))
        };
        let entity_types = keys("EntityType")?;
        let annex_iv_types = entity_types
            .iter()
            .filter(|k| k.starts_with("IV."))
            .cloned()
            .collect();
        Ok(Catalogue {
            entity_types: entity_types
                .into_iter()
                .filter(|k| !k.starts_with("IV."))
                .collect(),
            annex_iv_types,
            public_administrations: keys("PublicAdministration")?,
        })
    }
}

#[derive(Clone, Copy)]
enum Band {
    Micro,
    Small,
    Medium,
    Large,
}

/// Headcount, turnover and balance sheet inside a size band; now and then exactly
/// on a ceiling, where the law's `<` and `<=` matter.
fn size_in(rng: &mut Rng, band: Band) -> Json {
    let (staff, turnover, balance) = match band {
        Band::Micro => (
            rng.range(1, 9),
            rng.range(50_000, 2_000_000),
            rng.range(50_000, 2_000_000),
        ),
        Band::Small => (
            rng.range(10, 49),
            rng.range(2_000_001, 10_000_000),
            rng.range(1_000_000, 10_000_000),
        ),
        Band::Medium => (
            rng.range(50, 249),
            rng.range(10_000_001, 50_000_000),
            rng.range(5_000_000, 43_000_000),
        ),
        Band::Large => (
            rng.range(250, 5_000),
            rng.range(50_000_001, 900_000_000),
            rng.range(43_000_001, 800_000_000),
        ),
    };
    let (staff, turnover, balance) = if rng.chance(5) {
        let ceilings = [
            (10, 2_000_000, 2_000_000),
            (50, 10_000_000, 10_000_000),
            (250, 50_000_000, 43_000_000),
        ];
        let (s, t, b) = *rng.pick(&ceilings);
        let above = rng.range(0, 1);
        (s - 1 + above, t + above, b + above)
    } else {
        (staff, turnover, balance)
    };
    json!({"staff": staff, "turnover_eur": turnover, "balance_sheet_eur": balance})
}

fn band(rng: &mut Rng) -> Band {
    match rng.range(0, 99) {
        0..=39 => Band::Micro,
        40..=69 => Band::Small,
        70..=89 => Band::Medium,
        _ => Band::Large,
    }
}

fn enterprise(rng: &mut Rng) -> Map<String, Json> {
    let b = band(rng);
    match size_in(rng, b) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// One synthetic entity.
pub fn entity(rng: &mut Rng, cat: &Catalogue, id: String) -> Json {
    let mut e = Map::new();
    e.insert("id".into(), Json::String(id));
    let is_pa = rng.chance(5);
    let mut types: Vec<String> = Vec::new();
    if !is_pa {
        types.push(rng.pick(&cat.entity_types).clone());
        if rng.chance(15) {
            // A second type, another one: a set lists each entry once.
            let second = rng.pick(&cat.entity_types).clone();
            if second != types[0] {
                types.push(second);
            }
        }
        if rng.chance(4) && !cat.annex_iv_types.is_empty() {
            types = vec![rng.pick(&cat.annex_iv_types).clone()];
        }
    }
    e.insert("entity_types".into(), json!(types));
    let b = band(rng);
    e.insert("size".into(), size_in(rng, b));
    if rng.chance(60) {
        let previous = if rng.chance(80) { b } else { band(rng) };
        e.insert("previous_size".into(), size_in(rng, previous));
    }
    if rng.chance(20) {
        let partners: Vec<Json> = (0..rng.range(1, 2))
            .map(|_| {
                let mut p = enterprise(rng);
                p.insert("share_pct".into(), json!(rng.range(10, 50)));
                Json::Object(p)
            })
            .collect();
        e.insert("partners".into(), Json::Array(partners));
    }
    let has_linked = rng.chance(25);
    if has_linked {
        let linked: Vec<Json> = (0..rng.range(1, 3))
            .map(|_| {
                let mut l = enterprise(rng);
                l.insert("consolidated".into(), json!(rng.chance(50)));
                Json::Object(l)
            })
            .collect();
        e.insert("linked".into(), Json::Array(linked));
    }
    if is_pa {
        e.insert(
            "public_administration".into(),
            json!(rng.pick(&cat.public_administrations)),
        );
    }
    if rng.chance(5) {
        e.insert("public_bodies_share_pct".into(), json!(rng.range(25, 100)));
    }
    if rng.chance_per_mille(10) {
        e.insert("qualified_trust_service_provider".into(), json!(true));
    }
    if rng.chance(2) {
        e.insert("critical_entity".into(), json!(true));
    }
    let annex_iv = types.iter().any(|t| t.starts_with("IV."));
    if annex_iv || rng.chance(2) {
        let letters = ["a", "b", "c", "d", "e", "f"];
        let (comma, criteria) = if annex_iv {
            (8, vec![])
        } else {
            (9, vec![*rng.pick(&letters)])
        };
        let classification = if rng.chance(30) {
            json!("essential")
        } else {
            json!("important")
        };
        e.insert(
            "identified_by_authority".into(),
            json!({"comma": comma, "criteria": criteria, "as": classification}),
        );
    }
    if rng.chance(3) {
        e.insert(
            "linked_to_nis_entity".into(),
            json!({"criteria": [rng.pick(&["a", "b", "c", "d"])]}),
        );
    }
    if has_linked && rng.chance(30) {
        let full = rng.chance(70);
        e.insert(
            "safeguard_clause".into(),
            json!({"requested": true, "systems_independent": true, "services_independent": full}),
        );
    }
    if rng.chance_per_mille(5) {
        e.insert("dora_exempt".into(), json!(true));
    }
    Json::Object(e)
}

/// Writes `count` entities as JSON lines.
pub fn generate(
    cat: &Catalogue,
    count: u64,
    seed: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let e = entity(&mut rng, cat, format!("gen-{seed}-{i}"));
        serde_json::to_writer(&mut *out, &e)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn the_stream_is_fixed_for_a_seed() {
        let a: Vec<u64> = (0..3)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..3)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], Rng::new(8).next_u64());
    }
}
