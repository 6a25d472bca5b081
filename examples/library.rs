//! Using lexnis as a library: compile the bundled NIS rules once, evaluate a
//! population of facts records (JSON text, as a service receives them) on
//! every core, and explain one entity.
//!
//!     cargo run --release --example library

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts_from_str;
use lexnis::policy::{compile, PolicySource};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01")?)?;
    let catalogue = lexnis::generate::Catalogue::from_program(&compiled.program)?;
    let mut rng = lexnis::generate::Rng::new(1);
    let mut records: Vec<String> = (0..20_000)
        .map(|i| lexnis::generate::entity(&mut rng, &catalogue, format!("e{i}")).to_string())
        .collect();
    // A record a caller got wrong: it is reported, and the others go on.
    records.push(r#"{"id": "broken", "size": {"staff": "many"}}"#.to_string());

    // The compiled policy is shared; each thread keeps its own evaluator.
    let classification = compiled
        .result_index("classification")
        .ok_or("the rules have no classification")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (essential, failed) = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(records.len().div_ceil(threads).max(1))
            .map(|part| {
                let compiled = &compiled;
                s.spawn(move || {
                    let mut ev = Evaluator::new(compiled).results_only();
                    let (mut essential, mut failed) = (0, 0);
                    for text in part {
                        let decided = load_facts_from_str(&compiled.program, text)
                            .map_err(|e| e.to_string())
                            .and_then(|facts| ev.run_in_place(facts).map_err(|e| e.to_string()));
                        if let Err(e) = decided {
                            eprintln!("a record failed:\n{e}");
                            failed += 1;
                            continue;
                        }
                        let ty = &compiled.results[classification].ty;
                        let value = ev.result(classification);
                        essential += usize::from(
                            lexnis::value::to_json(&compiled.program, ty, value) == "essential",
                        );
                    }
                    (essential, failed)
                })
            })
            .collect();
        let counts =
            (handles.into_iter()).map(|h| h.join().expect("an evaluating thread panicked"));
        counts.fold((0, 0), |(e, f), (a, b)| (e + a, f + b))
    });
    println!(
        "{essential} of {} records are essential entities; {failed} failed",
        records.len()
    );

    // One entity's result as JSON, and its explanation, as a lawyer reads it.
    let mut ev = Evaluator::new(&compiled);
    let values = ev.run(load_facts_from_str(&compiled.program, &records[0])?)?;
    let trace = lexnis::trace::build_trace(&ev)?;
    let result = lexnis::render::result_json(&ev, &values, None);
    println!("{}", serde_json::to_string(&result)?);
    print!("{}", lexnis::render::explain_text(&ev, &values, &trace));
    Ok(())
}
