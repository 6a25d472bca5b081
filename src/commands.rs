//! What each `lexnis` subcommand does; `main.rs` only parses flags and calls these.
//! Every function returns the process exit status: 0 success, 1 a check or test
//! failed, 2 bad input.

use crate::date::Date;
use crate::diagnostic::{render_all, Diagnostic, RenderOptions};
use crate::eval::Evaluator;
use crate::lower::Compiled;
use crate::policy::{compile, compile_parsed, parse_all, CompileError, PolicySource};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EvalFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// Where the rules come from and which day they are read on.
#[derive(Debug, Clone, Default)]
pub struct PolicyArgs {
    pub policies: Option<PathBuf>,
    pub as_of: Option<String>,
}

/// Prints an error about the input and gives the exit status for it.
fn bad_input(message: impl std::fmt::Display) -> u8 {
    crate::say!("{message}");
    EXIT_BAD_INPUT
}

fn stderr_options() -> RenderOptions {
    RenderOptions {
        color: std::io::stderr().is_terminal(),
    }
}

fn print_compile_error(e: &CompileError) {
    crate::say_raw!(
        "{}",
        render_all(&e.diagnostics, &e.sources, stderr_options())
    );
}

/// Today's date from the system clock (UTC).
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days((secs / 86_400) as i64)
}

/// Reads `--as-of`; a malformed date is bad input.
pub fn parse_as_of(as_of: Option<&str>) -> Result<Date, String> {
    match as_of {
        None => Ok(today()),
        Some(text) => {
            Date::parse(text).map_err(|e| format!("error: invalid value for --as-of: {e}"))
        }
    }
}

fn load_source(paths: &[PathBuf]) -> Result<PolicySource, String> {
    if paths.is_empty() {
        return Ok(PolicySource::bundled());
    }
    PolicySource::from_paths(paths).map_err(|e| format!("error: cannot read rule files: {e}"))
}

/// Loads and compiles the policies named by the flags; prints the errors if any.
pub fn compiled_policies(args: &PolicyArgs) -> Result<Compiled, u8> {
    let as_of = parse_as_of(args.as_of.as_deref()).map_err(|m| {
        crate::say!("{m}");
        EXIT_BAD_INPUT
    })?;
    // Several folders may be joined with `,` (an act and an amendment beside it).
    let paths: Vec<PathBuf> = args
        .policies
        .iter()
        .flat_map(|p| {
            p.to_string_lossy()
                .split(',')
                .map(PathBuf::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let source = load_source(&paths).map_err(|m| {
        crate::say!("{m}");
        EXIT_BAD_INPUT
    })?;
    compile(&source, as_of).map_err(|e| {
        print_compile_error(&e);
        EXIT_BAD_INPUT
    })
}

/// `lexnis check`: compiles the rules on every date on which an act version comes
/// into force, so that every version is checked with the others it meets.
pub fn check(paths: &[PathBuf]) -> u8 {
    let source = match load_source(paths) {
        Ok(s) => s,
        Err(m) => return bad_input(m),
    };
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut versions = 0;
    match parse_all(&source) {
        Err(e) => diagnostics.extend(e.diagnostics),
        Ok(parsed) => match crate::resolve::act_versions(&parsed) {
            Err(e) => diagnostics.extend(e.diagnostics),
            Ok(acts) => {
                versions = acts.values().map(Vec::len).sum();
                for date in crate::resolve::in_force_dates(&acts) {
                    let found = match compile_parsed(&source, &parsed, date, None) {
                        Ok(c) => {
                            let mut found = crate::lower::unguarded_reads(&c);
                            found.splice(0..0, c.warnings);
                            found
                        }
                        Err(e) => e.diagnostics,
                    };
                    for d in found {
                        if !diagnostics.contains(&d) {
                            diagnostics.push(d);
                        }
                    }
                }
                // The examples are read against the rules only once these compile.
                if !diagnostics.iter().any(Diagnostic::is_error) {
                    match crate::example::check_examples(&source, &parsed) {
                        Ok(found) => diagnostics.extend(found),
                        Err(e) => diagnostics.extend(e.diagnostics),
                    }
                }
            }
        },
    }
    crate::say_raw!(
        "{}",
        render_all(&diagnostics, &source.sources, stderr_options())
    );
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        return EXIT_BAD_INPUT;
    }
    print_out(&format!(
        "ok: {} file(s), {} act version(s) checked, {} warning(s)\n",
        source.files.len(),
        versions,
        diagnostics.len()
    ))
}

fn read_facts(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("error: cannot read standard input: {e}"))?;
        return Ok(text_without_bom(s));
    }
    std::fs::read_to_string(path)
        .map(text_without_bom)
        .map_err(|e| format!("error: cannot read facts file {}: {e}", path.display()))
}

/// The text without the byte-order mark some editors write at its start.
fn text_without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// `lexnis eval`: one entity, its outcome and the explanation.
pub fn eval(facts_path: &Path, args: PolicyArgs, format: EvalFormat) -> u8 {
    let compiled = match compiled_policies(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match read_facts(facts_path) {
        Ok(t) => t,
        Err(m) => return bad_input(m),
    };
    let name = facts_path.display().to_string();
    // Read as a batch reads a record, so that both report the same errors (a key
    // given twice among them, which a JSON document tree would hide).
    let facts = match crate::facts::load_facts_from_str(&compiled.program, &text) {
        Ok(f) => f,
        Err(crate::facts::TextFactsError::NotJson(e)) => {
            crate::say!("error: {name}: not valid JSON: {e}");
            return EXIT_BAD_INPUT;
        }
        Err(crate::facts::TextFactsError::Invalid(_, errors)) => {
            crate::say_raw!("{}", crate::render::fact_errors_text(&name, &errors));
            return EXIT_BAD_INPUT;
        }
    };
    let mut ev = Evaluator::new(&compiled);
    let outcomes = match ev.run(facts) {
        Ok(o) => o,
        Err(e) => {
            crate::say!("error: {name}: cannot decide: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let trace = match crate::trace::build_trace(&ev) {
        Ok(t) => t,
        Err(e) => {
            crate::say!("error: {name}: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let out = match format {
        EvalFormat::Text => crate::render::explain_text(&ev, &outcomes, &trace),
        EvalFormat::Markdown => crate::render::explain_markdown(&ev, &outcomes, &trace),
        EvalFormat::Json => crate::render::result_text(
            &ev,
            &outcomes,
            Some(crate::trace::TraceView::Steps(&trace.steps)),
        ),
    };
    print_out(&out)
}

fn print_out(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => EXIT_OK,
        // A closed pipe (`lexnis ... | head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        // A full disk is: the output is not all there.
        Err(e) => bad_input(format!("error: cannot write the output: {e}")),
    }
}

/// `lexnis graph`.
pub fn graph(args: PolicyArgs, format: GraphFormat) -> u8 {
    match compiled_policies(&args) {
        Ok(c) => print_out(&match format {
            GraphFormat::Dot => crate::render::graph_dot(&c),
            GraphFormat::Mermaid => crate::render::graph_mermaid(&c),
        }),
        Err(code) => code,
    }
}

/// `lexnis test`: runs every inline example; fails if any does.
pub fn test(paths: &[PathBuf], as_of: Option<&str>) -> u8 {
    let as_of = match as_of.map(|d| parse_as_of(Some(d))).transpose() {
        Ok(d) => d,
        Err(m) => return bad_input(m),
    };
    let source = match load_source(paths) {
        Ok(s) => s,
        Err(m) => return bad_input(m),
    };
    let results = match crate::example::run_examples(&source, as_of) {
        Ok(r) => r,
        Err(crate::example::ExampleError::Compile(e)) => {
            print_compile_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let mut out = String::new();
    for r in &results {
        let mark = if r.passed { "ok  " } else { "FAIL" };
        out.push_str(&format!(
            "{mark} {} :: {} ({}, as of {})\n",
            r.act, r.name, r.source, r.as_of
        ));
        for f in &r.failures {
            out.push_str(&format!("       {f}\n"));
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    out.push_str(&format!(
        "\n{} passed, {} failed\n",
        results.len() - failed,
        failed
    ));
    match print_out(&out) {
        EXIT_OK if failed > 0 => EXIT_FAILED,
        code => code,
    }
}

/// `lexnis catalog`: the rows of every table (the annexes).
pub fn catalog(args: PolicyArgs, table: Option<&str>, format: ListFormat) -> u8 {
    let compiled = match compiled_policies(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let p = &compiled.program;
    if let Some(name) = table {
        if !p.tables.iter().any(|t| t.name == name) {
            let hint = crate::suggest::did_you_mean(
                name,
                p.tables.iter().map(|t| t.name.as_str()),
                "run `lexnis catalog` to see every table",
            );
            crate::say!("error: no table named `{name}`: {hint}");
            return EXIT_BAD_INPUT;
        }
    }
    let tables: Vec<_> = p
        .tables
        .iter()
        .filter(|t| table.is_none_or(|n| n == t.name))
        .collect();
    let out = match format {
        ListFormat::Json => {
            let json: Vec<serde_json::Value> = tables
                .iter()
                .map(|t| {
                    let rows: Vec<serde_json::Value> = t
                        .rows
                        .iter()
                        .map(|r| {
                            let mut m = serde_json::Map::new();
                            m.insert("id".into(), r.key.clone().into());
                            for ((c, ty), v) in t.columns.iter().zip(&r.cells) {
                                m.insert(c.clone(), crate::value::to_json(p, ty, v));
                            }
                            serde_json::Value::Object(m)
                        })
                        .collect();
                    serde_json::json!({"table": t.name, "description": t.description, "citation": p.full_citation(t.act, &t.citation), "rows": rows})
                })
                .collect();
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        ListFormat::Text => {
            let mut s = String::new();
            for t in tables {
                s.push_str(&format!(
                    "{} — {} [{}]\n",
                    t.name,
                    t.description.as_deref().unwrap_or(""),
                    p.full_citation(t.act, &t.citation)
                ));
                for r in &t.rows {
                    let cells: Vec<String> = t
                        .columns
                        .iter()
                        .zip(&r.cells)
                        .map(|((_, ty), v)| crate::value::display(p, ty, v))
                        .collect();
                    s.push_str(&format!("  {:<12} {}\n", r.key, cells.join(" | ")));
                }
                s.push('\n');
            }
            s
        }
    };
    print_out(&out)
}

/// `lexnis schema`: the JSON Schema of facts documents.
pub fn schema(args: PolicyArgs) -> u8 {
    match compiled_policies(&args) {
        Ok(c) => print_out(
            &(serde_json::to_string_pretty(&crate::schema::facts_schema(&c.program))
                .unwrap_or_default()
                + "\n"),
        ),
        Err(code) => code,
    }
}

/// `lexnis codegen`: the plans of the rules as Rust (see [`crate::codegen`]).
pub fn codegen(paths: &[PathBuf], out: &Path) -> u8 {
    let source = match load_source(paths) {
        Ok(s) => s,
        Err(m) => return bad_input(m),
    };
    let code = match crate::codegen::native_source(&[source], &[]) {
        Ok(code) => code,
        Err(e) => {
            print_compile_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    if out == Path::new("-") {
        return print_out(&code);
    }
    match std::fs::write(out, code) {
        Ok(()) => EXIT_OK,
        Err(e) => bad_input(format!("error: cannot write {}: {e}", out.display())),
    }
}

/// The entity `diff --entity` compares, as a JSON tree. A document the tree
/// reader refuses (a number no decimal holds, such as `1e400`) is reported as
/// `lexnis eval` reports it, a line a problem at its path, where it can be.
fn entity_document(old: &Compiled, text: &str) -> Result<serde_json::Value, String> {
    use crate::facts::TextFactsError;
    crate::facts::parse_document_naming_places(&old.program, text).map_err(|e| match e {
        TextFactsError::Invalid(_, problems) => {
            let lines = problems.iter().map(|p| format!("\n  - {p}"));
            lines.collect::<String>()
        }
        TextFactsError::NotJson(e) => e.to_string(),
    })
}

/// `lexnis batch`: many records, one result each, in input order.
pub fn batch(
    facts: &Path,
    out: &Path,
    args: PolicyArgs,
    options: &crate::batch::BatchOptions,
) -> u8 {
    let compiled = match compiled_policies(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Bytes read so far, for the progress bar's ETA when the input has a known size.
    let consumed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let size;
    if facts.is_dir() {
        crate::say!(
            "error: cannot read facts file {}: it is a folder; give a file of records",
            facts.display()
        );
        return EXIT_BAD_INPUT;
    }
    let input: Box<dyn std::io::BufRead + Send> = if facts == Path::new("-") {
        size = size_of_stdin();
        let counted = Counted {
            inner: std::io::stdin(),
            consumed: consumed.clone(),
        };
        Box::new(std::io::BufReader::with_capacity(1 << 16, counted))
    } else {
        match std::fs::File::open(facts) {
            Ok(f) => {
                size = size_of_file(&f);
                let counted = Counted {
                    inner: f,
                    consumed: consumed.clone(),
                };
                Box::new(std::io::BufReader::with_capacity(1 << 16, counted))
            }
            Err(e) => {
                crate::say!("error: cannot read facts file {}: {e}", facts.display());
                return EXIT_BAD_INPUT;
            }
        }
    };
    if same_file(facts, out) {
        crate::say!(
            "error: --out {} is the facts file: writing the results would erase the records \
             before they are read; write them to another file",
            out.display()
        );
        return EXIT_BAD_INPUT;
    }
    let bar = std::io::stderr().is_terminal().then(|| progress_bar(size));
    // Results written to the terminal the bar is drawn on go out with the bar
    // cleared, and it is drawn again below them.
    let below_bar = (bar.as_ref())
        .filter(|_| out == Path::new("-") && std::io::stdout().is_terminal())
        .cloned();
    let mut output = match below_bar {
        Some(bar) => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            BelowTheBar {
                bar,
                inner: std::io::stdout().lock(),
            },
        )),
        None => match open_output(out) {
            Ok(o) => o,
            Err(code) => return code,
        },
    };
    let started = std::time::Instant::now();
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!("{n} records, {rate:.0} records/s"));
            b.set_position(if size.is_some() {
                consumed.load(std::sync::atomic::Ordering::Relaxed)
            } else {
                n
            });
        }
    };
    let result = crate::batch::run_batch(&compiled, input, &mut output, options, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(summary) => {
            crate::say_raw!("{}", summary.text());
            if summary.errors > 0 {
                EXIT_FAILED
            } else {
                EXIT_OK
            }
        }
        // A reader that stops early (`| head`) is not an error, as for every
        // command that writes to standard output; a record written before that
        // failed still is.
        Err(e) if e.output_closed => match e.summary.is_some_and(|s| s.errors > 0) {
            true => EXIT_FAILED,
            false => EXIT_OK,
        },
        Err(e) => {
            // Outcomes counted for results that never reached the output
            // would read as a batch done.
            let written = e.summary.as_ref().filter(|_| !e.output_failed);
            if let Some(summary) = written.filter(|s| s.records > 0) {
                crate::say_raw!("{}", summary.text());
            }
            match e.input_failed {
                true if facts == Path::new("-") => {
                    crate::say!("error: standard input: {}", e.message)
                }
                true => crate::say!("error: {}: {}", facts.display(), e.message),
                false => crate::say!("error: {}", e.message),
            }
            EXIT_BAD_INPUT
        }
    }
}

/// Whether two paths name one existing file (`-`, standard input or output, is none).
fn same_file(a: &Path, b: &Path) -> bool {
    let dash = Path::new("-");
    if a == dash || b == dash {
        return false;
    }
    // The same file under two names (a hard link, a bind mount) is the same
    // device and inode; elsewhere, the same canonical path.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `lexnis generate`: a synthetic population.
pub fn generate(count: u64, seed: u64, out: &Path, args: PolicyArgs) -> u8 {
    let compiled = match compiled_policies(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalogue = match crate::generate::Catalogue::from_program(&compiled.program) {
        Ok(c) => c,
        Err(m) => {
            crate::say!("error: {m}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut output = match open_output(out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match crate::generate::generate(&catalogue, count, seed, &mut output) {
        Ok(()) => EXIT_OK,
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            crate::say!("error: cannot write the population: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// `lexnis lint`: review deadlines of every act version.
pub fn lint(paths: &[PathBuf], as_of: Option<&str>, strict: bool, format: ListFormat) -> u8 {
    let as_of = match parse_as_of(as_of) {
        Ok(d) => d,
        Err(m) => return bad_input(m),
    };
    let source = match load_source(paths) {
        Ok(s) => s,
        Err(m) => return bad_input(m),
    };
    let acts = match parse_all(&source).and_then(|parsed| {
        crate::resolve::act_versions(&parsed).map_err(|e| CompileError {
            stage: crate::policy::Stage::Resolve,
            diagnostics: e.diagnostics,
            sources: source.sources.clone(),
        })
    }) {
        Ok(a) => a,
        Err(e) => {
            print_compile_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let entries = crate::review::review_report(&acts, as_of);
    let diagnostics = crate::review::overdue_diagnostics(&entries, as_of, strict);
    let written = match format {
        ListFormat::Text => print_out(&format!(
            "Review deadlines as of {as_of}\n{}",
            crate::review::review_text(&entries)
        )),
        ListFormat::Json => print_out(
            &(serde_json::to_string_pretty(&serde_json::json!({"as_of": as_of, "acts": entries}))
                .unwrap_or_default()
                + "\n"),
        ),
    };
    if written != EXIT_OK {
        return written;
    }
    if !diagnostics.is_empty() {
        crate::say_raw!(
            "{}",
            render_all(&diagnostics, &source.sources, stderr_options())
        );
    }
    // An overdue review under --strict is a check that failed, not bad input.
    if diagnostics.iter().any(Diagnostic::is_error) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The flags of `lexnis diff`.
pub struct DiffArgs {
    pub old: String,
    pub new: String,
    pub as_of: Option<String>,
    pub facts: Option<PathBuf>,
    pub entity: Option<PathBuf>,
    pub semantic: bool,
    pub format: EvalFormat,
}

fn compile_spec(spec: &str, as_of: Date) -> Result<Compiled, u8> {
    let source = PolicySource::from_spec(spec).map_err(|e| {
        crate::say!("error: cannot read rules `{spec}`: {e}");
        EXIT_BAD_INPUT
    })?;
    compile(&source, as_of).map_err(|e| {
        print_compile_error(&e);
        EXIT_BAD_INPUT
    })
}

/// A facts record with its line number, or why it could not be read.
pub type NumberedRecord = (u64, Result<serde_json::Value, String>);

/// A facts record's text with its line number, or why it could not be read.
pub type NumberedText = (u64, Result<crate::diff::Record, String>);

/// Records of a facts file: a JSON array or JSON lines, each with its line number.
pub fn read_records(path: &Path) -> Result<Vec<NumberedRecord>, String> {
    Ok(stream_records(path)?.collect())
}

/// The records of a facts file as JSON documents, one at a time (see
/// [`stream_texts`]); a record that is not JSON is an error record.
pub fn stream_records(path: &Path) -> Result<Box<dyn Iterator<Item = NumberedRecord>>, String> {
    let texts = stream_texts(path)?;
    Ok(Box::new(texts.map(|(line, record)| {
        (line, record.and_then(crate::diff::Record::into_document))
    })))
}

/// The records of a facts file, one at a time: JSON lines and the elements of a
/// JSON array are read as they come, so that a population of millions is never in
/// memory at once. A line that is not UTF-8 is an error record, as in a batch; a
/// read that fails ends the records with one. Each record is its text, read as
/// JSON by whoever takes it.
pub fn stream_texts(path: &Path) -> Result<Box<dyn Iterator<Item = NumberedText>>, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    if path.is_dir() {
        return Err(format!("cannot read {}: it is a folder", path.display()));
    }
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(cannot)?);
    // Read as `batch` reads it, by its name: a header and rows of cells.
    if crate::batch::InputFormat::of_file(path) == crate::batch::InputFormat::Csv {
        let rows = crate::batch::csv_records(Box::new(reader));
        let read = |text: String| Ok(crate::diff::Record::Text(text));
        return Ok(Box::new(
            rows.map(move |(line, row)| (line, row.and_then(read))),
        ));
    }
    let start = std::io::BufRead::fill_buf(&mut reader).map_err(cannot)?;
    if crate::batch::opens_an_array(start) {
        return json_array_records(reader).map_err(cannot);
    }
    Ok(jsonl_records(reader))
}

/// The records of JSON lines, read as they are asked for.
fn jsonl_records(
    mut reader: impl std::io::BufRead + 'static,
) -> Box<dyn Iterator<Item = NumberedText>> {
    let mut line = 0u64;
    let mut ended = false;
    let mut bytes = Vec::new();
    Box::new(std::iter::from_fn(move || {
        while !ended {
            bytes.clear();
            line += 1;
            match std::io::BufRead::read_until(&mut reader, b'\n', &mut bytes) {
                Ok(0) => ended = true,
                Ok(_) => {
                    if let Some(record) = jsonl_record(line, &bytes) {
                        return Some(record);
                    }
                }
                Err(e) => {
                    ended = true;
                    return Some((line, Err(format!("cannot read further: {e}"))));
                }
            }
        }
        None
    }))
}

/// One line of a JSON-lines file: `None` if it is blank.
fn jsonl_record(line: u64, bytes: &[u8]) -> Option<NumberedText> {
    use crate::batch::{not_utf8, without_bom, JSON_BLANKS};
    let record = match std::str::from_utf8(without_bom(line, bytes)) {
        Ok(text) => match text.trim_matches(JSON_BLANKS) {
            "" => return None,
            text => Ok(crate::diff::Record::Text(text.to_string())),
        },
        Err(e) => Err(not_utf8(&e)),
    };
    Some((line, record))
}

/// A file that starts with `[`: a JSON array, unless its first line is a whole
/// value followed by more lines (JSON lines whose first record is an array, which
/// is then that record's error, not the whole file's). An array is cut into its
/// elements as a batch cuts it, as they are asked for, each with the line it
/// starts on.
fn json_array_records(
    mut reader: impl std::io::BufRead + 'static,
) -> std::io::Result<Box<dyn Iterator<Item = NumberedText>>> {
    // The first two lines with text: a first line that is a whole document
    // followed by another makes JSON lines, whose first record is an array.
    let (mut head, mut texts, mut number) = (Vec::new(), Vec::new(), 0);
    while texts.len() < 2 {
        let start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            break;
        }
        number += 1;
        let line = crate::batch::without_bom(number, &head[start..]);
        if !line.trim_ascii().is_empty() {
            texts.push(line.to_vec());
        }
    }
    let whole =
        |t: &Vec<u8>| std::str::from_utf8(t).is_ok_and(|t| crate::facts::parse_document(t).is_ok());
    let input = std::io::BufReader::new(std::io::Cursor::new(head).chain(reader));
    if texts.len() == 2 && whole(&texts[0]) {
        return Ok(jsonl_records(input));
    }
    let read = |text: String| Ok(crate::diff::Record::Text(text));
    let mut elements = crate::batch::ArrayElements::new(input);
    let mut ended = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if let Some((line, element)) = elements.next() {
            return Some((line, element.and_then(read)));
        }
        // An array left open: its last record says so.
        let open = elements
            .end()
            .err()
            .filter(|_| !std::mem::replace(&mut ended, true));
        open.map(|e| (elements.lines_read(), Err(e)))
    })))
}

/// `lexnis diff`.
pub fn diff(args: &DiffArgs) -> u8 {
    let as_of = match parse_as_of(args.as_of.as_deref()) {
        Ok(d) => d,
        Err(m) => return bad_input(m),
    };
    // One revision at a time: two that share their files would report the same
    // errors twice.
    let old = match compile_spec(&args.old, as_of) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let new = match compile_spec(&args.new, as_of) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let style = crate::render::diff::Style {
        color: std::io::stdout().is_terminal(),
    };
    let changes = crate::diff::diff_rules(&old.program, &new.program);
    let mut report = serde_json::json!({"old": args.old, "new": args.new, "as_of": as_of, "rule_changes": changes});
    let mut text = format!(
        "lexnis diff {} -> {} (as of {as_of})\n\n",
        args.old, args.new
    );
    let mut markdown = format!(
        "# lexnis diff `{}` → `{}` (as of {as_of})\n\n",
        args.old, args.new
    );
    let left_out = crate::diff::left_out(&old.program, &new.program);
    for line in crate::render::diff::left_out_lines(&left_out) {
        text.push_str(&format!("{line}\n\n"));
        markdown.push_str(&format!("> {line}\n\n"));
    }
    if !left_out.is_empty() {
        report["left_out"] = serde_json::to_value(&left_out).unwrap_or_default();
    }
    text.push_str(&crate::render::diff::rules_text(&changes, style));
    markdown.push_str(&crate::render::diff::rules_markdown(&changes));
    let mut records_failed = false;
    if let Some(path) = &args.facts {
        let records = match stream_texts(path) {
            Ok(r) => r,
            Err(m) => {
                crate::say!("error: {m}");
                return EXIT_BAD_INPUT;
            }
        };
        let population = crate::diff::diff_population(&old, &new, records);
        // As in a batch: the report covers every record, the status says that
        // some could not be evaluated.
        records_failed = !population.errors.is_empty();
        text.push_str(&crate::render::diff::population_text(&population, style));
        markdown.push_str(&crate::render::diff::population_markdown(&population));
        report["population"] = serde_json::to_value(&population).unwrap_or_default();
    }
    if args.semantic {
        let semantic = crate::semantic::semantic_diff(&old, &new);
        text.push_str(&crate::render::diff::semantic_text(&semantic, style));
        markdown.push_str(&crate::render::diff::semantic_markdown(&semantic));
        report["semantic"] = serde_json::to_value(&semantic).unwrap_or_default();
    }
    if let Some(path) = &args.entity {
        let doc = match std::fs::read_to_string(path)
            .map(text_without_bom)
            .map_err(|e| e.to_string())
            .and_then(|t| entity_document(&old, &t))
        {
            Ok(d) => d,
            Err(e) => {
                // A list of problems starts on the next line.
                let gap = if e.starts_with('\n') { "" } else { " " };
                crate::say!("error: cannot read entity {}:{gap}{e}", path.display());
                return EXIT_BAD_INPUT;
            }
        };
        match crate::diff::diff_entity(&old, &new, &doc) {
            Ok(d) => {
                text.push_str(&crate::render::diff::entity_text(&d, style));
                markdown.push_str(&format!(
                    "\n```\n{}```\n",
                    crate::render::diff::entity_text(
                        &d,
                        crate::render::diff::Style { color: false }
                    )
                ));
                report["entity"] = serde_json::to_value(&d).unwrap_or_default();
            }
            Err(e) => {
                crate::say!("error: {}: {e}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    let written = print_out(&match args.format {
        EvalFormat::Text => text,
        EvalFormat::Markdown => markdown,
        EvalFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    });
    if written != EXIT_OK {
        return written;
    }
    match records_failed {
        true => EXIT_FAILED,
        false => EXIT_OK,
    }
}

/// A reader that counts the bytes it hands out.
struct Counted<R> {
    inner: R,
    consumed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// The size of a regular file; none for a pipe, a terminal or a device, whose
/// size says nothing of what will be read from it.
fn size_of_file(file: &std::fs::File) -> Option<u64> {
    let metadata = file.metadata().ok()?;
    metadata.is_file().then_some(metadata.len())
}

/// The size of standard input, when it is a regular file (`< population.jsonl`).
fn size_of_stdin() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        size_of_file(&std::fs::File::from(fd))
    }
    #[cfg(not(unix))]
    None
}

/// A writer to the terminal a progress bar is drawn on: the bar is cleared
/// while it writes, and drawn again after.
struct BelowTheBar<W> {
    bar: indicatif::ProgressBar,
    inner: W,
}

impl<W: Write> Write for BelowTheBar<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bar.suspend(|| self.inner.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.bar.suspend(|| self.inner.flush())
    }
}

/// A bar with percentage and ETA when the input's size is known; a spinner with
/// the count and the rate otherwise (a pipe).
fn progress_bar(size: Option<u64>) -> indicatif::ProgressBar {
    let (bar, template) = match size {
        Some(len) => (
            indicatif::ProgressBar::new(len),
            "{bar:30} {percent:>3}%  {msg}  ETA {eta}",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {msg}  {elapsed_precise}",
        ),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Standard output for `-`, else the file (created or truncated), buffered.
fn open_output(out: &Path) -> Result<Box<dyn Write>, u8> {
    if out == Path::new("-") {
        return Ok(Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        )));
    }
    match std::fs::File::create(out) {
        Ok(f) => Ok(Box::new(std::io::BufWriter::with_capacity(1 << 16, f))),
        Err(e) => {
            crate::say!("error: cannot write {}: {e}", out.display());
            Err(EXIT_BAD_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{same_file, size_of_file, stream_records};
    use std::path::Path;

    /// The size of a pipe or a device (0) is no size: the bar would show
    /// 100% from the start.
    #[test]
    fn a_regular_file_has_a_size_for_the_bar_and_a_device_has_none() {
        let path = std::env::temp_dir().join(format!("lexnis-size-{}", std::process::id()));
        std::fs::write(&path, "{}\n{}\n").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(size_of_file(&file), Some(6));
        std::fs::remove_file(&path).unwrap();
        #[cfg(unix)]
        {
            let device = std::fs::File::open("/dev/null").unwrap();
            assert_eq!(size_of_file(&device), None);
        }
    }

    #[test]
    fn a_population_is_read_a_line_at_a_time_with_every_line_accounted_for() {
        let dir = std::env::temp_dir().join(format!("lexnis-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("population.jsonl");
        let text = b"\xEF\xBB\xBF{\"id\": 1}\r\n\n{\"id\": \"\xff\"}\nnot json\n  \n{\"id\": 5}";
        std::fs::write(&path, text).unwrap();
        let records: Vec<_> = stream_records(&path).unwrap().collect();
        let shapes: Vec<(u64, bool)> = records.iter().map(|(l, r)| (*l, r.is_ok())).collect();
        assert_eq!(shapes, [(1, true), (3, false), (4, false), (6, true)]);
        assert!(records[1].1.as_ref().unwrap_err().contains("UTF-8"));
        // JSON lines whose first record is an array are still JSON lines; a JSON
        // array over several lines is an array.
        std::fs::write(&path, "[1, 2]\n{\"id\": 2}\n").unwrap();
        let records: Vec<_> = stream_records(&path).unwrap().collect();
        assert_eq!(records.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2]);
        std::fs::write(&path, "[\n  {\"id\": 1},\n  {\"id\": 2}\n]\n").unwrap();
        let records: Vec<_> = stream_records(&path).unwrap().collect();
        assert!(records
            .iter()
            .all(|(_, r)| r.as_ref().is_ok_and(|d| d.is_object())));
        // Each element on the line where it starts, as a batch numbers it.
        assert_eq!(records.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_output_is_refused_when_it_is_the_facts_file() {
        let dir = std::env::temp_dir().join(format!("lexnis-same-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let facts = dir.join("facts.jsonl");
        std::fs::write(&facts, "{}\n").unwrap();
        assert!(same_file(&facts, &facts));
        assert!(same_file(&facts, &dir.join(".").join("facts.jsonl")));
        assert!(!same_file(&facts, &dir.join("results.jsonl")));
        assert!(!same_file(Path::new("-"), Path::new("-")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
