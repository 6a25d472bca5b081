//! Using lexnis as a library: compile the bundled NIS rules once, evaluate a
//! population from several threads, and explain one entity.
//!
//!     cargo run --release --example library

use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::policy::{compile, PolicySource};

fn main() {
    let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap())
        .expect("the bundled rules compile");
    let catalogue =
        lexnis::generate::Catalogue::from_program(&compiled.program).expect("NIS tables");
    let mut rng = lexnis::generate::Rng::new(1);
    let population: Vec<serde_json::Value> = (0..20_000)
        .map(|i| lexnis::generate::entity(&mut rng, &catalogue, format!("e{i}")))
        .collect();

    // One evaluator per thread; the compiled policy is shared.
    let essential: usize = std::thread::scope(|s| {
        let handles: Vec<_> = population
            .chunks(population.len() / 4)
            .map(|part| {
                let compiled = &compiled;
                s.spawn(move || {
                    let mut ev = Evaluator::new(compiled);
                    let at = compiled
                        .results
                        .iter()
                        .position(|r| r.key == "classification")
                        .unwrap();
                    part.iter()
                        .filter(|doc| {
                            let facts = load_facts(&compiled.program, doc)
                                .expect("generated facts are valid");
                            let values = ev.run(facts).expect("the rules decide");
                            lexnis::value::to_json(
                                &compiled.program,
                                &compiled.results[at].ty,
                                &values[at],
                            ) == "essential"
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!(
        "{essential} of {} generated entities are essential",
        population.len()
    );

    // The explanation of one entity, as a lawyer reads it.
    let mut ev = Evaluator::new(&compiled);
    let values = ev
        .run(load_facts(&compiled.program, &population[0]).unwrap())
        .unwrap();
    let trace = lexnis::trace::build_trace(&ev);
    print!("{}", lexnis::render::explain_text(&ev, &values, &trace));
}
