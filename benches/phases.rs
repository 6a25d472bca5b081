//! Where the time of one record goes: a quick split for profiling.
use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::policy::{compile, PolicySource};
use std::time::Instant;

// The allocator the `lexnis` binary runs with, for the references and lexnis alike.
#[global_allocator]
static ALLOCATOR: lexnis::allocator::Mimalloc = lexnis::allocator::Mimalloc;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/pop.jsonl".into());
    if std::env::args().any(|a| a == "--compile") {
        return compile_times();
    }
    let text = std::fs::read_to_string(&path).expect("population file");
    let lines: Vec<&str> = text.lines().collect();
    let c = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    if std::env::args().any(|a| a == "--stream") {
        return stream(&c, &lines);
    }
    if std::env::args().any(|a| a == "--read-only") {
        // Reading facts as a batch does: straight from the text to the values.
        let mut best = f64::MAX;
        for _ in 0..10 {
            let t = Instant::now();
            for l in &lines {
                let facts = lexnis::facts::load_facts_from_str(&c.program, l).unwrap();
                std::hint::black_box(facts);
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64);
        }
        println!("facts read from the text {best:8.3} us/record, best of 10 rounds");
        let mut best = f64::MAX;
        for _ in 0..10 {
            let t = Instant::now();
            for l in &lines {
                let v: serde::de::IgnoredAny = serde_json::from_str(l).unwrap();
                std::hint::black_box(v);
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64);
        }
        println!("JSON syntax alone (IgnoredAny) {best:8.3} us/record, best of 10 rounds");
        return;
    }
    let t = Instant::now();
    let docs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let parse = t.elapsed();
    let t = Instant::now();
    let facts: Vec<_> = docs
        .iter()
        .map(|d| lexnis::facts::load_facts(&c.program, d).unwrap())
        .collect();
    let load = t.elapsed();
    let mut ev = Evaluator::new(&c);
    if std::env::args().any(|a| a == "--plan") {
        let mut kinds = std::collections::BTreeMap::new();
        for step in &c.plan.steps {
            let k = match step {
                lexnis::eval::plan::Step::General(n) => format!("{:?}", c.node(*n).op),
                other => format!("{other:?}"),
            };
            let k: String = k.chars().take_while(|ch| ch.is_alphanumeric()).collect();
            *kinds.entry(k).or_insert(0) += 1;
        }
        println!("{kinds:?}");
        return;
    }
    if std::env::args().any(|a| a == "--eval-only") {
        let interpreted = std::env::args().any(|a| a == "--interpreted");
        let mut ev = if interpreted {
            Evaluator::new(&c).interpreted()
        } else if std::env::args().any(|a| a == "--results-only") {
            Evaluator::new(&c).results_only()
        } else {
            Evaluator::new(&c)
        };
        println!("native plan: {}", ev.is_native());
        let t = Instant::now();
        let mut kept = 0usize;
        for _ in 0..20 {
            for f in &facts {
                let g = f.clone();
                kept += g.values.len();
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / (20 * facts.len()) as f64;
        println!("facts cloned and dropped {per:8.3} us/record ({kept})");
        // For a profiler: evaluation alone, many times over.
        // The best of ten rounds: the machine's speed varies from one to the next.
        let mut best = f64::MAX;
        let mut values = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            for f in &facts {
                ev.run_into(f.clone(), &mut values).unwrap();
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / facts.len() as f64);
        }
        println!("eval (facts cloned) {best:8.3} us/record, best of 10 rounds");
        let lean = (facts.iter())
            .filter(|f| {
                ev.run_into((*f).clone(), &mut values).unwrap();
                ev.ran_lean()
            })
            .count();
        println!(
            "records decided by the lean plan: {lean} of {}",
            facts.len()
        );
        return;
    }
    let t = Instant::now();
    let mut outs = Vec::with_capacity(facts.len());
    for f in facts {
        outs.push(ev.run(f).unwrap());
    }
    let eval = t.elapsed();
    let filled = (0..c.node_count() as u32)
        .filter(|n| ev.memo(*n).is_some())
        .count();
    println!(
        "nodes {}, scheduled for the eager pass {}, reached in the last run {}",
        c.node_count(),
        c.schedule.len(),
        filled
    );
    let mut kinds = std::collections::BTreeMap::new();
    for n in 0..c.node_count() as u32 {
        if ev.memo(n).is_some() {
            let k = format!("{:?}", c.node(n).op);
            let k = k
                .split(|ch: char| !ch.is_alphanumeric())
                .next()
                .unwrap_or("")
                .to_string();
            *kinds.entry(k).or_insert(0) += 1;
        }
    }
    println!("{kinds:?}");
    let t = Instant::now();
    let mut bytes = 0;
    for o in &outs {
        let j = lexnis::render::result_json(&ev, o, None);
        bytes += serde_json::to_string(&j).unwrap().len();
    }
    let render = t.elapsed();
    let n = lines.len() as f64;
    for (name, d) in [
        ("parse Value", parse),
        ("load_facts", load),
        ("eval", eval),
        ("render+serialize", render),
    ] {
        println!("{name:18} {:8.3} us/record", d.as_secs_f64() * 1e6 / n);
    }
    println!("{bytes}");
}

/// A stream of records as the library reads them (each over the last one's
/// facts) and decides them, no trace: the reading alone, then with the
/// evaluation; the best of ten rounds of each, in turn.
fn stream(c: &lexnis::lower::Compiled, lines: &[&str]) {
    let mut ev = Evaluator::new(c).results_only();
    let (mut read, mut decided) = (f64::MAX, f64::MAX);
    let mut facts = lexnis::facts::Facts::default();
    let mut sink = 0usize;
    for _ in 0..10 {
        let t = Instant::now();
        for l in lines {
            lexnis::facts::load_facts_from_str_into(&c.program, l, &mut facts).unwrap();
            sink += facts.values.len();
        }
        read = read.min(t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64);
        let t = Instant::now();
        for l in lines {
            let mut facts = ev.take_facts().unwrap_or_default();
            lexnis::facts::load_facts_from_str_into(&c.program, l, &mut facts).unwrap();
            ev.run_in_place(facts).unwrap();
            sink += usize::from(ev.result(0) == &lexnis::value::Value::Bool(true));
        }
        decided = decided.min(t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64);
    }
    println!("facts read over the last record's {read:8.3} us/record");
    println!("read and decided, no trace        {decided:8.3} us/record ({sink})");
}

/// The fastest of many compiles of the bundled rules, split as the compile bench
/// splits it: less sensitive than a mean to the other work of a shared machine.
fn compile_times() {
    let source = PolicySource::bundled();
    let as_of = Date::parse("2025-06-01").unwrap();
    let fastest = |f: &mut dyn FnMut()| {
        (0..300)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min)
    };
    let compile_ms = fastest(&mut || drop(compile(&source, as_of).unwrap()));
    let parse_ms = fastest(&mut || drop(lexnis::policy::parse_all(&source).unwrap()));
    let parsed = lexnis::policy::parse_all(&source).unwrap();
    let rest_ms = fastest(&mut || {
        drop(lexnis::policy::compile_parsed(&source, &parsed, as_of, None).unwrap())
    });
    println!("fastest of 300: compile {compile_ms:.3} ms, parse {parse_ms:.3} ms, resolve+check+lower {rest_ms:.3} ms");
}
