//! Using lexnis as a library: compile the bundled NIS rules once, decide a
//! population of facts records (JSON text, as a service receives them) on
//! every core, and explain one entity.
//!
//!     cargo run --release --example library

use lexnis::date::Date;
use lexnis::{Decider, Rules, TraceMode};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let rules = Rules::bundled(Date::parse("2025-06-01")?)?;
    let mut records = population(&rules, 20_000)?;
    // A record a caller got wrong: it is reported, and the others go on.
    records.push(r#"{"id": "broken", "size": {"staff": "many"}}"#.to_string());

    // The rules are shared; each thread keeps its own decider.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tallies = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(records.len().div_ceil(threads).max(1))
            .map(|part| {
                let rules = &rules;
                s.spawn(move || tally(rules.decider(TraceMode::None), part))
            })
            .collect();
        let tallies = handles.into_iter().map(|h| h.join());
        tallies.collect::<Result<Vec<_>, _>>()
    })
    .map_err(|_| "an evaluating thread panicked")?;
    let essential: usize = tallies.iter().map(|t| t.essential).sum();
    let failed: usize = tallies.iter().map(|t| t.failed).sum();
    println!(
        "{essential} of {} records are essential entities; {failed} failed",
        records.len()
    );

    // One entity's decision, with the rules that applied and their citations.
    let decision = rules.decider(TraceMode::Compact).decide(&records[0])?;
    println!("{}", serde_json::to_string_pretty(&decision)?);

    // The lower-level API, for a lawyer's reading of every step.
    let compiled = rules.compiled();
    let mut evaluator = lexnis::eval::Evaluator::new(compiled);
    let facts = lexnis::facts::load_facts_from_str(&compiled.program, &records[0])?;
    let values = evaluator.run(facts)?;
    let trace = lexnis::trace::build_trace(&evaluator)?;
    print!(
        "{}",
        lexnis::render::explain_text(&evaluator, &values, &trace)
    );
    Ok(())
}

/// Generated facts records, the same on every run.
fn population(rules: &Rules, count: usize) -> Result<Vec<String>, Box<dyn Error>> {
    let catalogue = lexnis::generate::Catalogue::from_program(&rules.compiled().program)?;
    let mut rng = lexnis::generate::Rng::new(1);
    let entity = |i| lexnis::generate::entity(&mut rng, &catalogue, format!("e{i}")).to_string();
    Ok((0..count).map(entity).collect())
}

#[derive(Default)]
struct Tally {
    essential: usize,
    failed: usize,
}

fn tally(mut decider: Decider<'_>, records: &[String]) -> Tally {
    let mut tally = Tally::default();
    for record in records {
        match decider.decide(record) {
            Ok(decision) => {
                let essential = decision.get("classification") == Some("essential".into());
                tally.essential += usize::from(essential);
            }
            Err(error) => {
                eprintln!("a record failed:\n{error}");
                tally.failed += 1;
            }
        }
    }
    tally
}
