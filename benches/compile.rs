//! Criterion micro-benchmarks: compile time (the bundled NIS set, and synthetic
//! sets of 1,000 and 10,000 rules, to show that it grows linearly: in one file,
//! and in files of 100 rules as the law is written, an article a file) and the
//! latency of one evaluation with and without its trace.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lexnis::date::Date;
use lexnis::eval::Evaluator;
use lexnis::facts::load_facts;
use lexnis::policy::{compile, PolicySource};
use std::hint::black_box;

// The allocator the `lexnis` binary compiles with: under the system allocator
// a large set's compile spends its added time giving memory back to the kernel
// and taking it again (docs/performance.md, session of 2026-12-05 from 21:27).
#[global_allocator]
static ALLOCATOR: lexnis::allocator::Mimalloc = lexnis::allocator::Mimalloc;

/// A policy of `n` rules over ten facts, each rule with its own outcome, in
/// files of `per_file` rules after the act's own.
fn synthetic(n: usize, per_file: usize) -> PolicySource {
    let mut s = PolicySource::default();
    let mut act =
        String::from("act synthetic {\n  cited as \"L. 1/2025\"\n  in force from 2025-01-01\n}\n");
    for f in 0..10 {
        act.push_str(&format!("fact x{f}: decimal\n"));
    }
    s.add("policies/synthetic/act.law", &act);
    let rules: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "outcome o{i}: bool otherwise false\nrule r{i} cite \"art. 1\" when x{} > {i} and (x{} <= {} or x{} = 7) then o{i}\n",
                i % 10,
                (i + 1) % 10,
                i * 2,
                (i + 2) % 10
            )
        })
        .collect();
    for (k, part) in rules.chunks(per_file.max(1)).enumerate() {
        let text = format!("part of synthetic\n{}", part.concat());
        s.add(&format!("policies/synthetic/rules-{k}.law"), &text);
    }
    s
}

fn bench_compile(c: &mut Criterion) {
    let as_of = Date::parse("2025-06-01").unwrap();
    let bundled = PolicySource::bundled();
    c.bench_function("compile the bundled NIS set", |b| {
        b.iter(|| compile(black_box(&bundled), as_of).unwrap())
    });
    // The same, split: parsing (on every core), and the stages after it.
    c.bench_function("parse the bundled NIS set", |b| {
        b.iter(|| lexnis::policy::parse_all(black_box(&bundled)).unwrap())
    });
    let parsed = lexnis::policy::parse_all(&bundled).unwrap();
    c.bench_function("resolve, check and lower the parsed NIS set", |b| {
        b.iter(|| {
            lexnis::policy::compile_parsed(&bundled, black_box(&parsed), as_of, None).unwrap()
        })
    });
    for (group, per_file) in [
        ("compile synthetic", usize::MAX),
        ("compile synthetic, 100 rules a file", 100),
    ] {
        let mut group = c.benchmark_group(group);
        group.sample_size(10);
        for n in [1_000, 10_000] {
            let source = synthetic(n, per_file);
            group.bench_with_input(BenchmarkId::from_parameter(n), &source, |b, s| {
                b.iter(|| compile(s, as_of).unwrap())
            });
        }
        group.finish();
    }
}

fn bench_eval(c: &mut Criterion) {
    let compiled = compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../examples/acme-energia.json")).unwrap();
    let facts = load_facts(&compiled.program, &doc).unwrap();
    let mut ev = Evaluator::new(&compiled);
    c.bench_function("evaluate one entity", |b| {
        b.iter(|| ev.run(black_box(facts.clone())).unwrap())
    });
    c.bench_function("evaluate one entity and build its trace", |b| {
        b.iter(|| {
            ev.run(black_box(facts.clone())).unwrap();
            lexnis::trace::build_trace(&ev).unwrap()
        })
    });
}

criterion_group!(benches, bench_compile, bench_eval);
criterion_main!(benches);
