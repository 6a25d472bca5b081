//! The `lexnis` command: flags only; the work is in the library's `commands` module.

use clap::{Parser, Subcommand};
use lexnis::commands::{self, EvalFormat, GraphFormat, ListFormat, PolicyArgs};
use std::path::PathBuf;
use std::process::ExitCode;

// A batch allocates and frees a few small values per record on every thread:
// see `lexnis::allocator`.
#[global_allocator]
static ALLOCATOR: lexnis::allocator::Mimalloc = lexnis::allocator::Mimalloc;

#[derive(Parser)]
#[command(
    name = "lexnis",
    version,
    about = "Compile, evaluate and explain the Italian NIS rules (D.Lgs. 138/2024, DPCM 221/2024)",
    long_about = "lexnis compiles rule files (.law) that encode the NIS decree and its implementing acts, \
evaluates the facts of an entity against them, and explains every outcome with the article, comma \
and lettera that decided it. Without --policies it uses the rules built into the binary.",
    after_help = "Exit status: 0 success, 1 a check, a test or some records of a batch or diff failed, 2 bad input (rule file, facts, or flags)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Policies {
    /// Folder of rule files to use instead of the bundled policies (several joined with `,`)
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// Use the act versions in force on this date (YYYY-MM-DD); default: today
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
}

impl Policies {
    fn args(self) -> PolicyArgs {
        PolicyArgs {
            policies: self.policies,
            as_of: self.as_of,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check rule files; print every error and warning
    #[command(
        after_help = "Examples:\n  lexnis check\n  lexnis check policies/it/dlgs-138-2024\n  lexnis check my-draft.law"
    )]
    Check {
        /// Rule files or folders (default: the bundled policies)
        paths: Vec<PathBuf>,
    },
    /// Evaluate one entity's facts and explain the outcome
    #[command(
        after_help = "Examples:\n  lexnis eval examples/acme-energia.json\n  lexnis eval examples/acme-energia.json --format json --as-of 2025-06-01\n  cat facts.json | lexnis eval -"
    )]
    Eval {
        /// Facts document (JSON); `-` reads standard input
        facts: PathBuf,
        #[command(flatten)]
        policies: Policies,
        /// text: numbered steps with citations; json: the result schema (docs/schema/result.schema.json); markdown: for reports
        #[arg(long, value_enum, default_value = "text")]
        format: EvalFormat,
    },
    /// Print the compiled decision graph
    #[command(
        after_help = "Examples:\n  lexnis graph > nis.dot && dot -Tsvg nis.dot > nis.svg\n  lexnis graph --format mermaid"
    )]
    Graph {
        #[command(flatten)]
        policies: Policies,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Run the inline examples of rule files as tests
    #[command(after_help = "Examples:\n  lexnis test\n  lexnis test policies/it")]
    Test {
        /// Rule files or folders (default: the bundled policies)
        paths: Vec<PathBuf>,
        /// Run the examples that name no date on this date (YYYY-MM-DD), each against its own act version
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
    },
    /// List the entries of the annex tables (sectors, entity types, administrations)
    #[command(
        after_help = "Examples:\n  lexnis catalog\n  lexnis catalog --table EntityType --format json"
    )]
    Catalog {
        #[command(flatten)]
        policies: Policies,
        /// Only this table
        #[arg(long)]
        table: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Evaluate a stream of facts records on all cores, one result per record, in order
    #[command(
        after_help = "Examples:\n  lexnis batch --facts entities.jsonl --out results.jsonl\n  lexnis batch --facts entities.csv --out results.csv --jobs 2\n  lexnis generate --count 1000000 | lexnis batch --trace none > results.jsonl\n\nEvery input record gives exactly one output record; a record that fails gives an error\nrecord with its line number, and the batch goes on. A blank line is no record: it gives\nnothing, and the lines after it keep their numbers. A summary goes to stderr.\nThe formats go by the files' names (.csv; .json, an array if it opens with `[`; else\nJSON lines) unless --input or --output says otherwise.\nA CSV header that names a column twice, or a column that is no fact of the rules nor a\nfield of one, stops the batch before any row.\nExit status: 0 all records evaluated, 1 some records failed, 2 bad flags, rules or input\nas a whole."
    )]
    Batch {
        /// Facts records; `-` (the default) reads standard input
        #[arg(long, value_name = "FILE", default_value = "-")]
        facts: PathBuf,
        /// Format of the records [default: by the file's name: .csv is csv, .json
        /// json if it opens with `[`, anything else and standard input jsonl]
        #[arg(long, value_enum)]
        input: Option<lexnis::batch::InputFormat>,
        /// Where to write the results; `-` (the default) is standard output
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
        /// Format of the results [default: by the file's name: .csv is csv,
        /// anything else and standard output jsonl]
        #[arg(long, value_enum)]
        output: Option<lexnis::batch::OutputFormat>,
        /// How much of the explanation each result carries
        #[arg(long, value_enum, default_value = "none")]
        trace: lexnis::batch::TraceMode,
        /// Worker threads (default: one per core)
        // Negative numbers are taken as values, so that `--jobs -1` is told it
        // is not a number of threads rather than that `-1` is an unknown flag.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = lexnis::batch::jobs_from_flag)]
        jobs: Option<usize>,
        #[command(flatten)]
        policies: Policies,
    },
    /// Write a synthetic population of NIS entities (JSON lines), the same for the same seed
    #[command(
        after_help = "Examples:\n  lexnis generate --count 10000 --seed 42 --out population.jsonl\n  lexnis generate --count 1000000 | lexnis batch > results.jsonl\n\nProportions: docs/regulators.md."
    )]
    Generate {
        /// How many entities
        #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
        count: u64,
        /// Seed of the pseudo-random stream
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        seed: u64,
        /// Output file; `-` (the default) is standard output
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
        #[command(flatten)]
        policies: Policies,
    },
    /// List every act version with its review deadline (art. 40, c. 10-11); flag the overdue
    #[command(
        after_help = "Examples:\n  lexnis lint\n  lexnis lint --as-of 2028-01-01 --strict\n\nExit status: 0; 1 when --strict and a version in force is overdue; 2 bad input (rule files, flags)."
    )]
    Lint {
        /// Rule files or folders (default: the bundled policies)
        paths: Vec<PathBuf>,
        /// The date to judge on (YYYY-MM-DD); default: today
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// Treat an overdue review as an error
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Compare two revisions of the rules: what changed, who changes outcome, and why
    #[command(
        after_help = "OLD and NEW are folders of rule files (several joined with `,`) or git revisions.\n\nExamples:\n  lexnis diff HEAD~1 HEAD\n  lexnis diff policies/it policies/it,policies/amendments/a-large-200 --as-of 2026-06-01 --facts population.jsonl\n  lexnis diff policies/it policies/it,policies/amendments/c-repeal-safeguard --entity examples/acme-energia.json\n  lexnis diff policies/it policies/it,policies/amendments/b-annex-ii-type --semantic --format markdown\n\nExit status: 0, or 1 when some --facts records could not be evaluated (each is listed), 2 bad input."
    )]
    Diff {
        old: String,
        new: String,
        /// The date on which both revisions are read (YYYY-MM-DD); default: today
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// A population to evaluate under both revisions (JSON array, JSON lines, or CSV for a .csv file)
        #[arg(long, value_name = "FILE")]
        facts: Option<PathBuf>,
        /// One entity whose two traces are shown side by side
        #[arg(long, value_name = "FILE")]
        entity: Option<PathBuf>,
        /// Search the fact space for every kind of entity the revisions decide differently
        #[arg(long)]
        semantic: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: EvalFormat,
    },
    /// Write the plans of the rules as Rust, for the bundled rules' native evaluation
    #[command(
        after_help = "Examples:\n  lexnis codegen --out src/native/bundled.rs   (after editing a bundled rule file; then rebuild)\n  lexnis codegen policies/it > plans.rs"
    )]
    Codegen {
        /// Rule files or folders (default: the bundled policies)
        paths: Vec<PathBuf>,
        /// Where to write the Rust source; `-` is standard output
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
    },
    /// Print the JSON Schema of facts documents for the policies in force
    #[command(after_help = "Examples:\n  lexnis schema > facts.schema.json")]
    Schema {
        #[command(flatten)]
        policies: Policies,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested rule expressions recurse in the compiler: give it room.
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || run(cli))
        .map(|h| h.join());
    match worker {
        Ok(Ok(code)) => ExitCode::from(code),
        _ => {
            lexnis::say!("error: lexnis stopped unexpectedly; please report this with the input that caused it");
            ExitCode::from(70)
        }
    }
}

fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check { paths } => commands::check(&paths),
        Command::Eval {
            facts,
            policies,
            format,
        } => commands::eval(&facts, policies.args(), format),
        Command::Graph { policies, format } => commands::graph(policies.args(), format),
        Command::Test { paths, as_of } => commands::test(&paths, as_of.as_deref()),
        Command::Catalog {
            policies,
            table,
            format,
        } => commands::catalog(policies.args(), table.as_deref(), format),
        Command::Schema { policies } => commands::schema(policies.args()),
        Command::Codegen { paths, out } => commands::codegen(&paths, &out),
        Command::Diff {
            old,
            new,
            as_of,
            facts,
            entity,
            semantic,
            format,
        } => commands::diff(&commands::DiffArgs {
            old,
            new,
            as_of,
            facts,
            entity,
            semantic,
            format,
        }),
        Command::Lint {
            paths,
            as_of,
            strict,
            format,
        } => commands::lint(&paths, as_of.as_deref(), strict, format),
        Command::Generate {
            count,
            seed,
            out,
            policies,
        } => commands::generate(count, seed, &out, policies.args()),
        Command::Batch {
            facts,
            input,
            out,
            output,
            trace,
            jobs,
            policies,
        } => {
            let options = lexnis::batch::BatchOptions {
                input: input.unwrap_or_else(|| lexnis::batch::InputFormat::of_file(&facts)),
                output: output.unwrap_or_else(|| lexnis::batch::OutputFormat::of_file(&out)),
                trace,
                // One per core, within what `--jobs` takes.
                jobs: jobs.unwrap_or_else(|| {
                    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                    cores.min(lexnis::batch::MAX_JOBS)
                }),
                ..Default::default()
            };
            commands::batch(&facts, &out, policies.args(), &options)
        }
    }
}
