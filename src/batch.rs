//! Batch evaluation: a stream of facts records in, one result per record out, in
//! input order, on every core, in flat memory. Entry point: [`run_batch`].
//!
//! The input is cut into chunks of records: JSON lines by the worker threads
//! themselves, in turn; a JSON array or CSV by a reader thread, which sends them
//! over a bounded channel. Each worker (with its own evaluator) turns a chunk
//! into output lines; the calling thread writes the chunks back in order. A
//! window over the chunks' numbers keeps at most a few chunks per worker in
//! memory, however long the input.
//! A record that cannot be read or evaluated becomes an error record with its line
//! number: the output always has exactly one record per input record.

use crate::eval::Evaluator;
use crate::facts::{FactError, Facts};
use crate::lower::Compiled;
use crate::program::Program;
use crate::value::{to_json, Value};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::mpsc::{sync_channel, Receiver};

mod array_input;
mod csv_input;
mod recycle;
mod window;
use array_input::read_json_array;
pub(crate) use array_input::ArrayElements;
use csv_input::read_csv;
use recycle::Recycled;
use window::Window;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line
    Jsonl,
    /// A JSON array of objects
    Json,
    /// A header row, then one row per entity; nested fields as `size.staff`
    Csv,
}

impl InputFormat {
    /// The format a file's name says: `.csv` is CSV, `.json` a JSON array,
    /// anything else (`.jsonl`, `.ndjson`, standard input) JSON lines.
    /// A `.json` file is an array only if it opens with `[` (after any
    /// blanks), as `lexnis diff --facts` decides: JSON lines are often saved
    /// as `.json` too.
    pub fn of_file(path: &std::path::Path) -> InputFormat {
        match extension(path).as_deref() {
            Some("csv") => InputFormat::Csv,
            Some("json") if file_opens_an_array(path) => InputFormat::Json,
            _ => InputFormat::Jsonl,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Jsonl,
    Csv,
}

impl OutputFormat {
    /// The format a file's name says: `.csv` is CSV, anything else JSON lines.
    pub fn of_file(path: &std::path::Path) -> OutputFormat {
        match extension(path).as_deref() {
            Some("csv") => OutputFormat::Csv,
            _ => OutputFormat::Jsonl,
        }
    }
}

/// Whether the file at `path` opens with `[`; false if it cannot be read
/// (opening it again to read the records says why).
fn file_opens_an_array(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 4096];
    let read = std::fs::File::open(path).and_then(|mut f| f.read(&mut start));
    read.is_ok_and(|n| opens_an_array(&start[..n]))
}

/// Whether a JSON input that starts with `start` is an array: `[` after any
/// blanks and byte-order mark.
pub(crate) fn opens_an_array(start: &[u8]) -> bool {
    let start = without_bom(1, start);
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

fn extension(path: &std::path::Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceMode {
    /// Outcomes only
    None,
    /// The rules that applied, with their citations
    Compact,
    /// Every step of the explanation
    Full,
}

#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub input: InputFormat,
    pub output: OutputFormat,
    pub trace: TraceMode,
    /// Worker threads, 1 to [`MAX_JOBS`] (a value outside is brought inside).
    pub jobs: usize,
    /// Records per chunk handed to a worker; `None` lets [`BatchOptions::records_per_chunk`]
    /// choose by the trace asked.
    pub chunk: Option<usize>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            input: InputFormat::Jsonl,
            output: OutputFormat::Jsonl,
            trace: TraceMode::None,
            jobs: 1,
            chunk: None,
        }
    }
}

impl BatchOptions {
    /// The records a worker is handed at a time: the chunk asked for, or as
    /// many as make about a megabyte of results. Each chunk costs a few
    /// threads' wake-ups (some 20 µs), so larger chunks go faster, up to about
    /// a thousand records (3% faster than 512 on two cores); but a full trace
    /// is some 28 KB a record, and the few chunks in flight per worker must
    /// stay megabytes, not hundreds of them (131 MB at its peak with 512).
    pub fn records_per_chunk(&self) -> usize {
        let by_trace = match self.trace {
            TraceMode::Full => 64,
            TraceMode::None | TraceMode::Compact => 1024,
        };
        self.chunk.unwrap_or(by_trace).max(1)
    }
}

/// What the batch did, for the summary line and the exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    pub records: u64,
    pub errors: u64,
    /// For every bool or enum outcome, how many records got each value.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
}

impl BatchSummary {
    fn merge(&mut self, other: BatchSummary) {
        self.records += other.records;
        self.errors += other.errors;
        for (k, counts) in other.outcomes {
            let mine = self.outcomes.entry(k).or_default();
            for (v, n) in counts {
                *mine.entry(v).or_default() += n;
            }
        }
    }

    /// One line per outcome: `classification: essential 12, important 40, none 3`.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} record(s) read, {} error(s)\n",
            self.records, self.errors
        );
        for (k, counts) in &self.outcomes {
            let parts: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
            out.push_str(&format!("  {k}: {}\n", parts.join(", ")));
        }
        out
    }
}

/// One record as read: its first line in the input, and its text or what was wrong.
#[derive(Debug)]
struct Input {
    line: u64,
    payload: Result<Payload<'static>, String>,
}

#[derive(Debug)]
enum Payload<'a> {
    Text(Cow<'a, str>),
    /// A CSV row as the text of a JSON object: its facts errors are told in
    /// columns.
    CsvRow(String),
    /// A CSV row that cannot be made a document, and its id, which it gives.
    Unreadable {
        id: String,
        message: String,
    },
}

/// The rows of a CSV input, each as the text of the JSON object its cells
/// make, as a batch reads them: for readers that take records one by one
/// (`diff --facts`). The CSV reader pushes rows; it runs on a thread of its
/// own, a few rows ahead, so that the rows are pulled without the whole input
/// in memory. An error of the input as a whole (a header naming a column
/// twice, a read that fails) is the last item.
pub(crate) fn csv_records(
    input: Box<dyn BufRead + Send>,
) -> impl Iterator<Item = (u64, Result<String, String>)> {
    let (tx, rx) = sync_channel(64);
    std::thread::spawn(move || {
        let emit = &mut |record: Input| {
            let text = record.payload.and_then(|payload| match payload {
                Payload::Text(text) => Ok(text.into_owned()),
                Payload::CsvRow(text) => Ok(text),
                Payload::Unreadable { id, message } => Err(format!("{message} (id {id})")),
            });
            tx.send((record.line, text)).is_ok()
        };
        // Told at line 1, the header's: most such errors are the header's.
        if let Err(message) = read_csv(input, None, emit) {
            let _ = tx.send((1, Err(message)));
        }
    });
    rx.into_iter()
}

/// What a worker evaluates at a time.
enum Chunk {
    /// Whole lines of JSONL input from line `first_line` on, copied as they
    /// are: the worker reads each where it lies.
    Lines { first_line: u64, text: Vec<u8> },
    /// Records the reader had to cut itself (a JSON array, CSV rows).
    Records(Vec<Input>),
}

/// The most worker threads a batch runs: more gain nothing on any machine and
/// only cost memory (two chunks in flight per thread).
pub const MAX_JOBS: usize = 1024;

/// The number of worker threads `--jobs` gives, 1 to [`MAX_JOBS`].
pub fn jobs_from_flag(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs) if (1..=MAX_JOBS).contains(&jobs) => Ok(jobs),
        _ => Err(format!(
            "not a number of threads: give 1 to {MAX_JOBS} (default: one per core)"
        )),
    }
}

/// Why the batch could not run at all, or not to the end of its input (as
/// opposed to a record that failed).
#[derive(Debug)]
pub struct BatchError {
    pub message: String,
    /// What was written before the input or the output failed, when the input
    /// was read (the records before an array left open at the end; none, when
    /// it is no array at all).
    pub summary: Option<BatchSummary>,
    /// The output's reader closed it (`lexnis batch | head`): the batch stopped
    /// writing because nobody reads what it writes, not because of a record
    /// (`summary` says whether a record written before failed).
    pub output_closed: bool,
    /// The output could not be written (closed or not): what it holds may end
    /// before the results `summary` counts, the last of them cut short.
    pub output_failed: bool,
    /// The input could not be read to its end, or is not of its format (an
    /// array left open, a CSV header naming no fact): the message is about
    /// the input, which the caller may name.
    pub input_failed: bool,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BatchError {}

impl BatchError {
    fn new(message: impl Into<String>, summary: Option<BatchSummary>) -> BatchError {
        BatchError {
            message: message.into(),
            summary,
            output_closed: false,
            output_failed: false,
            input_failed: false,
        }
    }

    /// The output could not be written to, after what `written` sums up.
    fn writing(e: std::io::Error, written: &BatchSummary) -> BatchError {
        BatchError {
            output_closed: e.kind() == std::io::ErrorKind::BrokenPipe,
            output_failed: true,
            ..BatchError::new(
                format!(
                    "cannot write the results: {e}; the output is incomplete, its last \
                     result perhaps cut short"
                ),
                Some(written.clone()),
            )
        }
    }
}

/// Evaluates every record of `input` and writes one result per record to `output`.
/// `progress` is called from the writing thread after each chunk with the count so far.
pub fn run_batch(
    compiled: &Compiled,
    input: Box<dyn BufRead + Send>,
    output: &mut dyn Write,
    options: &BatchOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<BatchSummary, BatchError> {
    let jobs = options.jobs.clamp(1, MAX_JOBS);
    let chunk = options.records_per_chunk();
    let (chunk_tx, chunk_rx) = sync_channel::<(u64, Chunk)>(jobs * 2);
    // For the reader thread of JSON arrays and CSV. Owned by the workers alone:
    // when the writer fails, they stop, the last one drops the receiver, and the
    // reader's next send fails, so every thread ends (the receiver kept here
    // would leave the reader waiting on a full channel).
    let chunk_rx = std::sync::Arc::new(std::sync::Mutex::new(chunk_rx));
    let (out_tx, out_rx) = sync_channel::<(u64, Vec<u8>, BatchSummary)>(jobs * 2);
    let format = options.input;
    let csv_columns = csv_columns(compiled, options.trace);
    let buffers = &Buffers::new(jobs);
    // More than the channels and the workers hold at once, so that the window
    // only closes behind a chunk slow to evaluate.
    let window = &Window::new(6 * jobs as u64 + 2);
    // JSON lines are cut by the workers; other formats by a reader thread.
    let (jsonl, input) = match format {
        InputFormat::Jsonl => {
            let lines = JsonlChunks::new(input, chunk, &buffers.texts);
            (Some(std::sync::Mutex::new(lines)), None)
        }
        _ => (None, Some(input)),
    };
    let jsonl = &jsonl;
    std::thread::scope(|scope| {
        let reader = input.map(|input| {
            scope.spawn(move || {
                let program = &compiled.program;
                let send = |seq, batch| window.wait_for(seq) && chunk_tx.send((seq, batch)).is_ok();
                read_records(input, format, program, chunk, send)
            })
        });
        for _ in 0..jobs {
            let out_tx = out_tx.clone();
            let source = match jsonl {
                Some(lines) => ChunkSource::Jsonl(lines, window),
                None => ChunkSource::Sent(std::sync::Arc::clone(&chunk_rx)),
            };
            let csv_columns = &csv_columns;
            scope.spawn(move || {
                let mut worker = Worker::new(compiled, options, csv_columns, buffers);
                while let Some((seq, records)) = source.take() {
                    let (bytes, summary) = worker.chunk(records);
                    if out_tx.send((seq, bytes, summary)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((out_tx, chunk_rx));
        let written = write_in_order(
            out_rx,
            output,
            options,
            &csv_columns,
            buffers,
            window,
            progress,
        );
        window.close();
        let read = match (reader, jsonl) {
            (Some(reader), _) => reader
                .join()
                .map_err(|_| BatchError::new("the reader thread stopped unexpectedly", None))?,
            // Poisoned only by a worker's panic, which the scope raises again.
            (None, Some(lines)) => (lines.lock())
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .outcome(),
            (None, None) => Ok(()),
        };
        let input_failed = |message, summary| BatchError {
            input_failed: true,
            ..BatchError::new(message, summary)
        };
        match (read, written) {
            (Err(message), Ok(summary)) => Err(input_failed(message, Some(summary))),
            (Err(message), Err(_)) => Err(input_failed(message, None)),
            (Ok(()), written) => written,
        }
    })
}

/// Where a worker takes its next chunk from.
enum ChunkSource<'s, 'b> {
    /// JSON lines, cut by the worker that takes them (in turn with the
    /// others), no further ahead of the writer than the window lets them.
    Jsonl(
        &'s std::sync::Mutex<JsonlChunks<'b, InputStream>>,
        &'s Window,
    ),
    /// Records cut by the reader thread and sent over.
    Sent(std::sync::Arc<std::sync::Mutex<Receiver<(u64, Chunk)>>>),
}

/// The records' input, as `run_batch` takes it.
type InputStream = Box<dyn BufRead + Send>;

impl ChunkSource<'_, '_> {
    /// The next chunk and its number; `None` once there are no more, or the
    /// batch has stopped.
    fn take(&self) -> Option<(u64, Chunk)> {
        match self {
            // The lock is held while waiting on the window: the chunks before
            // are all taken, by workers that do not wait on it, so the window
            // moves; and the input is read for a chunk only once the window
            // lets it out, so that a batch whose writer has stopped reads no
            // more (from a producer that may write again only minutes later).
            ChunkSource::Jsonl(lines, window) => {
                let mut lines = lines.lock().ok()?;
                if lines.stopped || !window.wait_for(lines.next_seq()) {
                    lines.stopped = true;
                    return None;
                }
                lines.next_chunk()
            }
            ChunkSource::Sent(rx) => rx.lock().ok()?.recv().ok(),
        }
    }
}

/// The buffers that go round: chunks' texts from the cutting of JSON lines to
/// the workers and back, chunks' results from the workers to the writer and
/// back. Each keeps as
/// many as can be in flight: two per worker in each channel, one in each
/// worker, one at each end.
struct Buffers {
    texts: Recycled,
    results: Recycled,
}

impl Buffers {
    fn new(jobs: usize) -> Buffers {
        Buffers {
            texts: Recycled::new(jobs * 3 + 2),
            results: Recycled::new(jobs * 3 + 2),
        }
    }
}

/// Writes chunks in sequence order, holding back those that arrive early
/// (never more than `window` lets out).
fn write_in_order(
    rx: Receiver<(u64, Vec<u8>, BatchSummary)>,
    output: &mut dyn Write,
    options: &BatchOptions,
    csv_columns: &[String],
    buffers: &Buffers,
    window: &Window,
    progress: &mut dyn FnMut(u64),
) -> Result<BatchSummary, BatchError> {
    let io = BatchError::writing;
    let mut summary = BatchSummary::default();
    if options.output == OutputFormat::Csv {
        output
            .write_all(csv_header(csv_columns).as_bytes())
            .map_err(|e| io(e, &summary))?;
    }
    let mut pending: BTreeMap<u64, (Vec<u8>, BatchSummary)> = BTreeMap::new();
    let mut next = 0u64;
    for (seq, bytes, part) in rx {
        pending.insert(seq, (bytes, part));
        while let Some((bytes, part)) = pending.remove(&next) {
            // Counted before it is written: a record the output's reader may
            // have seen counts for the exit status even if the rest of the
            // chunk cannot be written.
            summary.merge(part);
            output.write_all(&bytes).map_err(|e| io(e, &summary))?;
            buffers.results.give(bytes);
            if pending.is_empty() {
                // Nothing else is ready: what is written goes out now, to a
                // reader that waits for it (a chunk is hundreds of lines, or the
                // few a slow producer gave).
                output.flush().map_err(|e| io(e, &summary))?;
            }
            next += 1;
            window.written(next);
            progress(summary.records);
        }
    }
    output.flush().map_err(|e| io(e, &summary))?;
    Ok(summary)
}

/// Cuts the input into records and hands them over in chunks; stops early if the
/// receiver hangs up. Returns an error only if the input itself cannot be read.
fn read_records(
    mut input: Box<dyn BufRead + Send>,
    format: InputFormat,
    program: &Program,
    chunk: usize,
    mut send: impl FnMut(u64, Chunk) -> bool,
) -> Result<(), String> {
    let mut seq = 0u64;
    let mut batch = Vec::with_capacity(chunk);
    let mut emit = |record: Input, batch: &mut Vec<Input>| -> bool {
        batch.push(record);
        if batch.len() == chunk {
            let full = std::mem::replace(batch, Vec::with_capacity(chunk));
            let ok = send(seq, Chunk::Records(full));
            seq += 1;
            return ok;
        }
        true
    };
    let result = match format {
        InputFormat::Csv => read_csv(input, Some(program), &mut |r| emit(r, &mut batch)),
        _ => read_json_array(&mut input, &mut |r| emit(r, &mut batch)),
    };
    if !batch.is_empty() {
        send(seq, Chunk::Records(batch));
    }
    result
}

/// JSONL: `chunk` lines at a time, copied as they are; fewer when the input has
/// nothing more at hand (a producer that writes a record now and then is not
/// kept waiting for a full chunk of results). A line still without its end
/// past [`MAX_RECORD_BYTES`] is an error record, skipped to its end; if the input
/// cannot be read, the whole lines before are still evaluated and written, but
/// not the line it stopped in. The workers take turns at it, each cutting the
/// chunk it evaluates next, into its own processor's cache: a reading thread
/// of its own, woken for every chunk, took 6% of a two-worker batch's time.
struct JsonlChunks<'b, R> {
    input: R,
    lines: Lines<'b>,
    cut: Cut,
    /// How the input ended, once it has.
    ended: Option<Result<(), String>>,
    /// The batch has stopped taking chunks (its writer has stopped).
    stopped: bool,
}

impl<'b, R: BufRead> JsonlChunks<'b, R> {
    fn new(input: R, chunk: usize, texts: &'b Recycled) -> Self {
        JsonlChunks {
            input,
            lines: Lines::new(chunk, texts),
            cut: Cut {
                chunks: std::collections::VecDeque::new(),
                seq: 0,
                line: 1,
            },
            ended: None,
            stopped: false,
        }
    }

    /// The number of the chunk [`Self::next_chunk`] gives next, if any.
    fn next_seq(&self) -> u64 {
        self.cut
            .chunks
            .front()
            .map_or(self.cut.seq, |(seq, _)| *seq)
    }

    /// The next chunk and its number, or `None` when the input has ended.
    fn next_chunk(&mut self) -> Option<(u64, Chunk)> {
        loop {
            if let Some(chunk) = self.cut.chunks.pop_front() {
                return Some(chunk);
            }
            if self.ended.is_some() {
                return None;
            }
            self.ended = self.read_more();
        }
    }

    /// Reads what the input has at hand, cutting the chunks it completes;
    /// how the input ended, if it has.
    fn read_more(&mut self) -> Option<Result<(), String>> {
        let at_hand = match self.input.fill_buf() {
            Ok([]) => {
                self.cut.lines(self.lines.take_all());
                return Some(Ok(()));
            }
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return None,
            Err(e) => {
                self.cut.lines(self.lines.take_whole());
                return Some(Err(unreadable_input(self.cut.line, &e)));
            }
        };
        let taken = self.lines.add(at_hand);
        let drained = taken == at_hand.len();
        self.input.consume(taken);
        if self.lines.unended_len() > MAX_RECORD_BYTES {
            self.cut.lines(self.lines.take_whole());
            self.cut.error(line_too_long());
            // The rest of the line, up to and including its end.
            let skipped = self.input.skip_until(b'\n');
            return skipped
                .err()
                .map(|e| Err(unreadable_input(self.cut.line - 1, &e)));
        }
        if let Some(ready) = self.lines.take_ready(drained) {
            self.cut.lines(ready);
        }
        None
    }

    /// How the input ended: `Ok` at its end, the error that stopped it, or
    /// `Ok` if it was left before its end (the batch stopped).
    fn outcome(&mut self) -> Result<(), String> {
        self.ended.take().unwrap_or(Ok(()))
    }
}

/// The chunks cut and not yet taken (a line too long makes two: the lines
/// before it, then its error record), the next one's number, and the line
/// it begins with.
struct Cut {
    chunks: std::collections::VecDeque<(u64, Chunk)>,
    seq: u64,
    line: u64,
}

impl Cut {
    /// Whole lines, `count` of them, unless there are none.
    fn lines(&mut self, (count, text): (u64, Vec<u8>)) {
        if count > 0 {
            let first_line = self.line;
            self.push(count, Chunk::Lines { first_line, text });
        }
    }

    /// The error record of the next line.
    fn error(&mut self, message: String) {
        let line = self.line;
        let record = Input {
            line,
            payload: Err(message),
        };
        self.push(1, Chunk::Records(vec![record]));
    }

    fn push(&mut self, lines: u64, chunk: Chunk) {
        self.chunks.push_back((self.seq, chunk));
        self.seq += 1;
        self.line += lines;
    }
}

/// The error record of a line longer than any record should be.
fn line_too_long() -> String {
    format!(
        "this line is over {} long, far more than a facts record (a few hundred bytes): \
         it is skipped, not read. A JSON array written on one line is read with --input json",
        record_limit_text()
    )
}

/// The lines of the chunk being read.
struct Lines<'b> {
    chunk: usize,
    text: Vec<u8>,
    /// Lines ended by a `\n` in `text`.
    ended: usize,
    /// Where in `text` the line being read begins (after the last `\n`).
    unended_from: usize,
    /// Where the next chunk's buffer comes from.
    texts: &'b Recycled,
}

impl<'b> Lines<'b> {
    fn new(chunk: usize, texts: &'b Recycled) -> Lines<'b> {
        Lines {
            chunk,
            text: texts.take(Lines::room(chunk)),
            ended: 0,
            unended_from: 0,
            texts,
        }
    }

    /// Room for a chunk of records of a few hundred bytes (a longer one grows it).
    fn room(chunk: usize) -> usize {
        chunk * 320
    }

    /// Copies `bytes` up to the end of the chunk's last line; returns how many.
    /// Lines are counted a block at a time (a vectorised count, where finding
    /// each line's end was a call per line on the reading thread, which two
    /// workers on two cores wait for), and found one by one only in the block
    /// where the chunk ends.
    fn add(&mut self, bytes: &[u8]) -> usize {
        const BLOCK: usize = 16 * 1024;
        let mut taken = 0;
        while self.ended < self.chunk && taken < bytes.len() {
            let block = &bytes[taken..bytes.len().min(taken + BLOCK)];
            let count = memchr::memchr_iter(b'\n', block).count();
            if self.ended + count < self.chunk {
                taken += block.len();
                self.ended += count;
                continue;
            }
            for end in memchr::memchr_iter(b'\n', block) {
                self.ended += 1;
                if self.ended == self.chunk {
                    taken += end + 1;
                    break;
                }
            }
        }
        if let Some(end) = memchr::memrchr(b'\n', &bytes[..taken]) {
            self.unended_from = self.text.len() + end + 1;
        }
        self.text.extend_from_slice(&bytes[..taken]);
        taken
    }

    /// The chunk, when it is full, or when the input had nothing more at hand
    /// and the chunk's last line is whole: its line count and text.
    fn take_ready(&mut self, drained: bool) -> Option<(u64, Vec<u8>)> {
        let whole = self.text.last() == Some(&b'\n');
        let ready = self.ended == self.chunk || (drained && whole && self.ended > 0);
        ready.then(|| {
            let next = self.texts.take(Lines::room(self.chunk));
            self.replace_text(next)
        })
    }

    /// How long the line being read has grown, without its end so far.
    fn unended_len(&self) -> usize {
        self.text.len() - self.unended_from
    }

    /// The chunk's whole lines, the line being read left out and dropped: the
    /// lines' count and text.
    fn take_whole(&mut self) -> (u64, Vec<u8>) {
        self.text.truncate(self.unended_from);
        let next = self.texts.take(Lines::room(self.chunk));
        self.replace_text(next)
    }

    /// What is left at the end of the input, a last line without its `\n`
    /// included.
    fn take_all(&mut self) -> (u64, Vec<u8>) {
        self.replace_text(Vec::new())
    }

    /// The chunk's line count and text, `next` taking the text's place.
    fn replace_text(&mut self, next: Vec<u8>) -> (u64, Vec<u8>) {
        let partial = u64::from(self.text.last().is_some_and(|b| *b != b'\n'));
        let count = self.ended as u64 + partial;
        self.ended = 0;
        self.unended_from = 0;
        (count, std::mem::replace(&mut self.text, next))
    }
}

/// The CSV columns after `line`, `id` and `error`: the results in order, then
/// what else a JSON line carries (the date, the act versions and their review
/// warnings, the trace asked for), so that a CSV output leaves nothing out. New
/// columns are added at the end, so that existing readers keep their positions.
fn csv_columns(compiled: &Compiled, trace: TraceMode) -> Vec<String> {
    let results = compiled.results.iter().map(|r| r.key.clone());
    let context = ["as_of", "policy_versions", "warnings"].map(String::from);
    let trace = (trace != TraceMode::None).then(|| "trace".to_string());
    results.chain(context).chain(trace).collect()
}

fn csv_header(columns: &[String]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fixed = ["line", "id", "error"].iter().map(|s| s.to_string());
    let _ = w.write_record(fixed.chain(columns.iter().cloned()));
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// What a worker has made of a chunk so far.
struct ChunkOutput {
    out: Vec<u8>,
    summary: BatchSummary,
    /// Per counted result, records by value: none, false, true, then enum variants.
    counts: Vec<Vec<u64>>,
    csv: Option<csv::Writer<Vec<u8>>>,
}

/// One worker's evaluator and buffers.
struct Worker<'c> {
    ev: Evaluator<'c>,
    options: &'c BatchOptions,
    csv_columns: &'c [String],
    /// The results counted in the summary, by index.
    counted: Vec<usize>,
    header: crate::render::ResultHeader,
    /// JSON lines written without a serialiser (all but full traces), and CSV rows.
    lines: crate::render::line::LineWriter,
    /// Room for a CSV cell's JSON before it is quoted, and for a CSV row's trace.
    cell: Vec<u8>,
    trace_json: Vec<u8>,
    /// The rules that applied to the record being written (by index; `reached`
    /// is the scratch space that finds them): reused from one record to the
    /// next.
    applied: Vec<u32>,
    reached: Vec<bool>,
    /// With a full trace, the steps of the record being written.
    steps: Vec<crate::trace::Step>,
    /// The largest chunk output so far: the next one is made that large at once.
    out_capacity: usize,
    buffers: &'c Buffers,
    /// The records read ahead of their evaluation (see [`READ_AHEAD`]): each
    /// one's line and whether it was read, its facts in `read_facts` at the
    /// same place.
    read_ahead: Vec<(u64, Result<(), ErrorRecord>)>,
    read_facts: Vec<Facts>,
}

/// How many records a worker reads before it evaluates and writes them. A
/// record runs through some 69 KB of code (the facts reader, the rules' plan,
/// the line writer), twice the processor's 32 KB first-level instruction
/// cache: one record at a time, each stage evicted the others' code for the
/// next record. Records read in a row keep the reader's code in the cache
/// from one to the next, and so does evaluating and writing them in a row.
/// cachegrind, 20,000 records, first-level misses a record (instruction +
/// data): one at a time 354, 16 at a time 188, 64 at a time 148; the 64
/// records' facts (some 100 KB) stay in the second-level cache.
const READ_AHEAD: usize = 64;

impl<'c> Worker<'c> {
    fn new(
        compiled: &'c Compiled,
        options: &'c BatchOptions,
        csv_columns: &'c [String],
        buffers: &'c Buffers,
    ) -> Self {
        use crate::program::Type;
        let counted = compiled
            .results
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.ty.required(), Type::Bool | Type::Enum(_)))
            .map(|(i, _)| i)
            .collect();
        // A full trace explains every value read; anything less needs the
        // results and the rules that applied only.
        let ev = match options.trace {
            TraceMode::Full => Evaluator::new(compiled),
            _ => Evaluator::new(compiled).results_only(),
        };
        let header = crate::render::ResultHeader::new(&compiled.program);
        let lines = crate::render::line::LineWriter::new(&ev, &header);
        Worker {
            ev,
            options,
            csv_columns,
            counted,
            header,
            lines,
            applied: Vec::new(),
            reached: Vec::new(),
            steps: Vec::new(),
            cell: Vec::new(),
            trace_json: Vec::new(),
            out_capacity: options.records_per_chunk() * 512,
            buffers,
            read_ahead: Vec::with_capacity(READ_AHEAD),
            read_facts: (0..READ_AHEAD).map(|_| Facts::default()).collect(),
        }
    }

    fn chunk(&mut self, chunk: Chunk) -> (Vec<u8>, BatchSummary) {
        let bytes = self.buffers.results.take(self.out_capacity);
        // CSV is written through its writer, into the same recycled bytes.
        let (out, csv) = match self.options.output {
            OutputFormat::Csv => {
                let mut writer = csv::WriterBuilder::new();
                let writer = writer.has_headers(false).from_writer(bytes);
                (Vec::new(), Some(writer))
            }
            OutputFormat::Jsonl => (bytes, None),
        };
        let mut acc = ChunkOutput {
            out,
            summary: BatchSummary::default(),
            counts: vec![Vec::new(); self.counted.len()],
            csv,
        };
        match chunk {
            Chunk::Lines { first_line, text } => {
                self.lines(&mut acc, first_line, &text);
                self.decide_read(&mut acc);
                self.buffers.texts.give(text);
            }
            Chunk::Records(records) => {
                for r in records {
                    self.read(&mut acc, r.line, r.payload);
                }
                self.decide_read(&mut acc);
            }
        }
        let (bytes, summary) = self.finish(acc);
        self.out_capacity = self.out_capacity.max(bytes.len());
        (bytes, summary)
    }

    /// Reads the JSON lines of `text`, the first numbered `first_line`. A
    /// line is read where it lies, its end found by the reading
    /// ([`crate::facts::read_line_into`]); one that reading is not sure of is
    /// cut at its `\n`, checked for UTF-8 and read as any record's text.
    fn lines(&mut self, acc: &mut ChunkOutput, first_line: u64, text: &[u8]) {
        let program = &self.ev.compiled.program;
        let mut rest = text;
        let mut line = first_line;
        while !rest.is_empty() {
            // A byte-order mark may open the file; it is not part of the record.
            let bytes = without_bom(line, rest);
            let k = self.read_ahead.len();
            match crate::facts::read_line_into(program, bytes, &mut self.read_facts[k]) {
                Some(taken) => {
                    rest = &bytes[taken..];
                    self.push_read(acc, line, Ok(()));
                }
                None => {
                    let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
                    let (this, next) = rest.split_at(end);
                    rest = next;
                    self.text_line(acc, line, without_bom(line, this));
                }
            }
            line += 1;
        }
    }

    /// One JSON line (its `\n` included) read as text.
    fn text_line(&mut self, acc: &mut ChunkOutput, line: u64, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            // Only JSON's own blanks make a blank line.
            Ok(t) => match t.trim_matches(JSON_BLANKS) {
                "" => {}
                t => self.read(acc, line, Ok(Payload::Text(Cow::Borrowed(t)))),
            },
            Err(e) => self.read(acc, line, Err(not_utf8(&e))),
        }
    }

    /// Reads one record's facts, and evaluates and writes the records read
    /// so far once there are [`READ_AHEAD`] of them.
    fn read(&mut self, acc: &mut ChunkOutput, line: u64, payload: Result<Payload<'_>, String>) {
        let k = self.read_ahead.len();
        let read = self.read_facts(line, payload, k);
        self.push_read(acc, line, read);
    }

    /// Keeps a record read (into `read_facts` at its place) for its turn.
    fn push_read(&mut self, acc: &mut ChunkOutput, line: u64, read: Result<(), ErrorRecord>) {
        self.read_ahead.push((line, read));
        if self.read_ahead.len() == READ_AHEAD {
            self.decide_read(acc);
        }
    }

    /// Evaluates and writes the records read ahead, in their order.
    fn decide_read(&mut self, acc: &mut ChunkOutput) {
        let mut read_ahead = std::mem::take(&mut self.read_ahead);
        for (k, (line, read)) in read_ahead.drain(..).enumerate() {
            let decided = read.and_then(|()| self.decide(line, k));
            self.one(acc, line, decided);
            // The facts back into their place, for the record read there next.
            if let Some(facts) = self.ev.take_facts() {
                self.read_facts[k] = facts;
            }
        }
        self.read_ahead = read_ahead;
    }

    /// Writes one record into the chunk's output: its result or its error record.
    fn one(&mut self, acc: &mut ChunkOutput, line: u64, decided: Result<(), ErrorRecord>) {
        acc.summary.records += 1;
        let error = match decided {
            Ok(()) => {
                for (slot, &i) in acc.counts.iter_mut().zip(&self.counted) {
                    let k = count_index(self.ev.result(i));
                    if slot.len() <= k {
                        slot.resize(k + 1, 0);
                    }
                    slot[k] += 1;
                }
                if self.options.trace == TraceMode::Compact {
                    (self.ev).applied_rule_indices_into(&mut self.reached, &mut self.applied);
                }
                return self.write(&mut acc.out, acc.csv.as_mut(), line);
            }
            Err(error) => error,
        };
        acc.summary.errors += 1;
        match &mut acc.csv {
            Some(w) => {
                let json = serde_json::to_value(&error).unwrap_or(Json::Null);
                let _ = w.write_record(csv_cells(&json, self.csv_columns));
            }
            None => {
                let _ = serde_json::to_writer(&mut acc.out, &error);
                acc.out.push(b'\n');
            }
        }
    }

    /// The chunk's bytes, and its summary with the counted values named.
    fn finish(&self, acc: ChunkOutput) -> (Vec<u8>, BatchSummary) {
        let ChunkOutput {
            mut out,
            mut summary,
            counts,
            csv,
        } = acc;
        if let Some(w) = csv {
            out = w.into_inner().unwrap_or_default();
        }
        let c = self.ev.compiled;
        let counted = counts
            .iter()
            .zip(&self.counted)
            .flat_map(|(slot, &i)| slot.iter().enumerate().map(move |(k, n)| (i, k, *n)))
            .filter(|(_, _, n)| *n > 0);
        for (i, k, n) in counted {
            let r = &c.results[i];
            let value = counted_value(k);
            let label = match to_json(&c.program, &r.ty, &value) {
                Json::String(s) => s,
                Json::Null => "none".into(),
                other => other.to_string(),
            };
            *summary
                .outcomes
                .entry(r.key.clone())
                .or_default()
                .entry(label)
                .or_default() += n;
        }
        (out, summary)
    }

    /// Writes the result of the record just evaluated (its values where the
    /// evaluator left them, and `applied` for a compact trace), as a JSON line
    /// or a CSV row.
    fn write(&mut self, out: &mut Vec<u8>, csv: Option<&mut csv::Writer<Vec<u8>>>, line: u64) {
        let trace = self.options.trace;
        let Some(w) = csv else {
            if trace == TraceMode::Full {
                return self.write_full_trace(out, line);
            }
            let applied = (trace == TraceMode::Compact).then_some(&self.applied[..]);
            return self.lines.write(out, &self.ev, line, applied);
        };
        self.trace_json.clear();
        match trace {
            TraceMode::None => {}
            TraceMode::Compact => (self.lines).write_applied(&mut self.trace_json, &self.applied),
            TraceMode::Full => {
                let view = crate::trace::TraceView::Steps(&self.steps);
                let _ = serde_json::to_writer(&mut self.trace_json, &view);
            }
        }
        let trace = (trace != TraceMode::None).then_some(&self.trace_json[..]);
        let _ = (self.lines).write_csv(w, &mut self.cell, &self.ev, line, trace);
    }

    /// A JSON line with every step of the trace, through the serialiser.
    fn write_full_trace(&self, out: &mut Vec<u8>, line: u64) {
        let values: Vec<Value> = (0..self.ev.compiled.results.len())
            .map(|i| self.ev.result(i).clone())
            .collect();
        let record = crate::render::ResultRecord {
            line: Some(line),
            trace: Some(crate::trace::TraceView::Steps(&self.steps)),
            compact: true,
            ..crate::render::ResultRecord::of_run(&self.header, &self.ev, &values)
        };
        let _ = serde_json::to_writer(&mut *out, &record);
        out.push(b'\n');
    }

    /// With a full trace, the explanation of the record just evaluated, kept
    /// in `steps` for its line.
    fn explain(&mut self, line: u64) -> Result<(), ErrorRecord> {
        if self.options.trace != TraceMode::Full {
            return Ok(());
        }
        match crate::trace::build_trace(&self.ev) {
            Ok(trace) => {
                self.steps = trace.steps;
                Ok(())
            }
            Err(e) => Err(self.evaluation_error(line, &e.to_string())),
        }
    }

    /// The error record of a record read but not decided (or not explained).
    fn evaluation_error(&self, line: u64, message: &str) -> ErrorRecord {
        let id = self.ev.facts_id().map(|id| Json::String(id.to_string()));
        error_record(line, id, "evaluation", message, Vec::new())
    }

    /// Reads one record's facts into `read_facts[k]` (over the facts of the
    /// record read there before: their records and lists are reused, not freed
    /// and allocated again, some 590 instructions a record), or makes its
    /// error record.
    fn read_facts(
        &mut self,
        line: u64,
        payload: Result<Payload<'_>, String>,
        k: usize,
    ) -> Result<(), ErrorRecord> {
        use crate::facts::TextFactsError;
        let program = &self.ev.compiled.program;
        let invalid = |id, errors| {
            error_record(
                line,
                id,
                "invalid_facts",
                "the facts do not match the schema",
                errors,
            )
        };
        // Text is read straight into values, without a document tree.
        let (text, from_csv) = match payload {
            Ok(Payload::Text(t)) => (t, false),
            Ok(Payload::CsvRow(t)) => (Cow::Owned(t), true),
            Ok(Payload::Unreadable { id, message }) => {
                let id = Some(Json::String(id));
                return Err(error_record(line, id, "unreadable", &message, Vec::new()));
            }
            Err(message) => {
                return Err(error_record(line, None, "unreadable", &message, Vec::new()))
            }
        };
        match crate::facts::load_facts_from_str_into(program, &text, &mut self.read_facts[k]) {
            Ok(()) => Ok(()),
            Err(TextFactsError::NotJson(e)) => {
                let message = not_json_record(&e, &text, self.options.input);
                Err(error_record(line, None, "not_json", &message, Vec::new()))
            }
            // A CSV row's missing fields are columns to add.
            Err(TextFactsError::Invalid(id, errors)) => match from_csv {
                true => Err(invalid(id, csv_input::in_csv_terms(errors))),
                false => Err(invalid(id, errors)),
            },
        }
    }

    /// Evaluates the facts read into `read_facts[k]`, leaving the results in
    /// the evaluator for the record's line, or makes its error record.
    fn decide(&mut self, line: u64, k: usize) -> Result<(), ErrorRecord> {
        let facts = std::mem::take(&mut self.read_facts[k]);
        match self.ev.run_in_place(facts) {
            Ok(()) => self.explain(line),
            Err(e) => Err(self.evaluation_error(line, &e.to_string())),
        }
    }
}

/// Where a bool or enum value is counted: none, false, true, then the variants.
fn count_index(v: &Value) -> usize {
    match v {
        Value::Bool(b) => 1 + usize::from(*b),
        Value::Enum(i) => 3 + *i as usize,
        _ => 0,
    }
}

fn counted_value(index: usize) -> Value {
    match index {
        0 => Value::Absent,
        1 | 2 => Value::Bool(index == 2),
        i => Value::Enum(i as u32 - 3),
    }
}

/// The output record of an input record that failed: where, which, and why.
#[derive(Debug, serde::Serialize)]
struct ErrorRecord {
    line: u64,
    id: Option<Json>,
    error: RecordError,
}

#[derive(Debug, serde::Serialize)]
struct RecordError {
    kind: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<FactError>,
}

fn error_record(
    line: u64,
    id: Option<Json>,
    kind: &'static str,
    message: &str,
    details: Vec<FactError>,
) -> ErrorRecord {
    ErrorRecord {
        line,
        // An id of another kind is itself one of the errors listed: the record
        // carries none (the result schema allows a text or a number).
        id: id.filter(|id| matches!(id, Json::String(_) | Json::Number(_))),
        error: RecordError {
            kind,
            message: message.to_string(),
            details,
        },
    }
}

fn csv_cells(result: &Json, columns: &[String]) -> Vec<String> {
    // As a result's cells are written (`LineWriter::write_csv`).
    let cell = |v: Option<&Json>| {
        let json = v.map_or_else(String::new, Json::to_string);
        String::from_utf8_lossy(&crate::render::line::csv_text(json.as_bytes())).into_owned()
    };
    let error = result.get("error").map(|e| {
        let mut text = e
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(Json::Array(details)) = e.get("details") {
            let parts: Vec<String> = details
                .iter()
                .map(|d| format!("{}: {}", cell(d.get("path")), cell(d.get("message"))))
                .collect();
            text = format!("{text}: {}", parts.join("; "));
        }
        text
    });
    let mut cells = vec![
        cell(result.get("line")),
        cell(result.get("id")),
        error.unwrap_or_default(),
    ];
    cells.extend(columns.iter().map(|c| cell(result.get(c))));
    cells
}

/// What is wrong with a record that is not JSON, placed within the record (serde
/// counts from the record's first line, which the error record's `line` gives).
pub(crate) fn not_json(e: &serde_json::Error) -> String {
    let what = crate::facts::without_position(e);
    let message = match e.line() {
        0 => format!("not valid JSON: {what}"),
        1 => format!(
            "not valid JSON: {what} (column {} of the record)",
            e.column()
        ),
        n => format!(
            "not valid JSON: {what} (line {n} of the record, column {})",
            e.column()
        ),
    };
    match crate::facts::help_for_serde_error(&what) {
        Some(help) => format!("{message}: {help}"),
        None => message,
    }
}

/// [`not_json`], with what the record's first bytes suggest went wrong: a
/// byte-order mark where files were joined, or a line of CSV.
fn not_json_record(e: &serde_json::Error, text: &str, input: InputFormat) -> String {
    let message = not_json(e);
    let jsonl = input == InputFormat::Jsonl;
    let trimmed = text.trim_matches(JSON_BLANKS);
    // A document written over several lines, read a line at a time: a piece.
    let piece_of_a_document = jsonl && (trimmed.starts_with(['"', '}', ']']) || trimmed == "{");
    let csv_like = jsonl && !text.starts_with(['{', '[']) && text.contains(',');
    if jsonl && trimmed.starts_with('[') {
        format!(
            "{message}; this line opens a JSON array, where JSON lines hold one record a line: \
             read an array of records with --input json (or from a file named .json)"
        )
    } else if piece_of_a_document {
        format!(
            "{message}; this line reads like a piece of a record written over several lines, \
             where JSON lines hold one whole record a line: write each record on one line, or \
             put the records in a JSON array and read it with --input json"
        )
    } else if text.starts_with('\u{feff}') {
        format!(
            "{message}; a byte-order mark (U+FEFF) opens this record, where only the start of \
             the file may have one (files joined with `cat`?): remove it"
        )
    } else if csv_like {
        format!("{message}; this line reads like CSV: read a CSV file with --input csv")
    } else {
        message
    }
}

/// The byte-order mark some editors write at the start of a UTF-8 file.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The blanks JSON allows around a value; only these make a line blank.
pub(crate) const JSON_BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];

/// `bytes` without a byte-order mark if they are the input's first line.
pub(crate) fn without_bom(line: u64, bytes: &[u8]) -> &[u8] {
    match line {
        1 => bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes),
        _ => bytes,
    }
}

/// Why the input stopped, for the batch's last word: the input named as
/// such (the system's own words, `Is a directory`, say nothing of what).
pub(crate) fn unreadable_input(line: u64, e: &dyn std::fmt::Display) -> String {
    format!(
        "the facts input could not be read at line {line}: {e}; the records before it \
         were evaluated and written, none from it on"
    )
}

/// The longest a record may be, in JSON lines as in a JSON array: a facts
/// record is a few hundred bytes, and a longer one held whole would make
/// memory grow with the input where a line end or a `}` is missing.
pub(crate) const MAX_RECORD_BYTES: usize = if cfg!(test) {
    64 * 1024
} else {
    16 * 1024 * 1024
};

/// [`MAX_RECORD_BYTES`] as the error records say it.
pub(crate) fn record_limit_text() -> String {
    match MAX_RECORD_BYTES % (1024 * 1024) {
        0 => format!("{} MB", MAX_RECORD_BYTES / (1024 * 1024)),
        _ => format!("{} KB", MAX_RECORD_BYTES / 1024),
    }
}

/// The error of a record that is not UTF-8 text: read with replacement
/// characters, its values (an id, a key) would no longer be the sender's.
pub(crate) fn not_utf8(e: &std::str::Utf8Error) -> String {
    format!(
        "the record is not valid UTF-8 text (its byte {} is not): facts are read as UTF-8; \
         convert the file, e.g. with iconv",
        e.valid_up_to() + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cuts `input` into chunks as the workers do, handing each to `take`
    /// in turn; how the input ended.
    fn read_jsonl(
        input: &mut dyn BufRead,
        chunk: usize,
        texts: &Recycled,
        mut take: impl FnMut(u64, Chunk) -> bool,
    ) -> Result<(), String> {
        let mut chunks = JsonlChunks::new(input, chunk, texts);
        while let Some((seq, chunk)) = chunks.next_chunk() {
            if !take(seq, chunk) {
                break;
            }
        }
        chunks.outcome()
    }

    proptest::proptest! {
        /// JSONL input is handed over in chunks of `chunk` whole lines,
        /// numbered on from one chunk to the next, however the input's reads
        /// cut it: blocks of lines counted at once end each chunk where
        /// counting line by line would. A chunk holds fewer only at the end of
        /// the input or where the input paused (a buffer of `read_size` bytes
        /// used up, its last line whole).
        #[test]
        fn jsonl_chunks_hold_whole_lines_numbered_on(
            // Empty lines, short ones and lines longer than a block of the
            // count, mixed.
            lengths in proptest::collection::vec(
                proptest::strategy::Strategy::prop_map(0usize..40_000, |n| match n % 3 {
                    0 => 0,
                    1 => n / 2_000,
                    _ => n,
                }),
                0..40,
            ),
            chunk in 1usize..20,
            read_size in 1usize..50_000,
            ended in proptest::bool::ANY,
        ) {
            let lines: Vec<String> = lengths.iter().map(|n| "x".repeat(*n)).collect();
            let mut input_text = lines.join("\n");
            if ended && !lines.is_empty() {
                input_text.push('\n');
            }
            let mut input = std::io::BufReader::with_capacity(read_size, input_text.as_bytes());
            let mut chunks = Vec::new();
            let read = read_jsonl(&mut input, chunk, &Recycled::new(4), |seq, c| {
                if let Chunk::Lines { first_line, text } = c {
                    chunks.push((seq, first_line, text));
                }
                true
            });
            proptest::prop_assert!(read.is_ok());
            let (mut expected_line, mut offset) = (1u64, 0usize);
            for (i, (seq, first_line, chunk_text)) in chunks.iter().enumerate() {
                proptest::prop_assert_eq!(*seq, i as u64);
                proptest::prop_assert_eq!(*first_line, expected_line);
                let count = chunk_text.split_inclusive(|b| *b == b'\n').count();
                offset += chunk_text.len();
                let last = i + 1 == chunks.len();
                let paused = offset % read_size == 0 && chunk_text.ends_with(b"\n");
                proptest::prop_assert!(count == chunk || (count < chunk && (last || paused)),
                    "chunk {} of {} lines, {} asked for", i, count, chunk);
                expected_line += count as u64;
            }
            let joined: Vec<u8> = chunks.iter().flat_map(|(_, _, t)| t.clone()).collect();
            proptest::prop_assert_eq!(&joined, input_text.as_bytes());
            // Every line in exactly one chunk: a line split across two would
            // be counted twice.
            let lines_in_input = input_text.as_bytes().split_inclusive(|b| *b == b'\n').count() as u64;
            proptest::prop_assert_eq!(expected_line - 1, lines_in_input);
        }
    }

    /// Lines or records, each with its line: the lines' text, or a record's
    /// error message.
    type Numbered = Vec<(u64, String)>;

    /// The chunks `read_jsonl` hands over: lines as (first line, text),
    /// records as (line, error message), and its result.
    fn jsonl_chunks(
        input: &mut dyn BufRead,
        chunk: usize,
    ) -> (Numbered, Numbered, Result<(), String>) {
        let (mut lines, mut records) = (Vec::new(), Vec::new());
        let mut expected_seq = 0;
        let read = read_jsonl(input, chunk, &Recycled::new(4), |seq, c| {
            assert_eq!(seq, expected_seq, "chunks numbered in turn");
            expected_seq += 1;
            match c {
                Chunk::Lines { first_line, text } => {
                    lines.push((first_line, String::from_utf8(text).unwrap()))
                }
                Chunk::Records(r) => records
                    .extend((r.into_iter()).map(|r| (r.line, r.payload.err().unwrap_or_default()))),
            }
            true
        });
        (lines, records, read)
    }

    #[test]
    fn a_line_past_the_record_limit_is_an_error_record_and_the_lines_after_it_are_read() {
        let long = "x".repeat(3 * MAX_RECORD_BYTES);
        for (tail, after) in [("\nb\nc", vec![(3, "b\nc".to_string())]), ("", vec![])] {
            let text = format!("a\n{long}{tail}");
            for read_size in [1000, 70_000] {
                let mut input = std::io::BufReader::with_capacity(read_size, text.as_bytes());
                let (lines, records, read) = jsonl_chunks(&mut input, 10);
                assert_eq!(read, Ok(()));
                let mut expected = vec![(1, "a\n".to_string())];
                expected.extend(after.iter().cloned());
                let shown =
                    |l: &[(u64, String)]| l.iter().map(|(n, t)| (*n, t.len())).collect::<Vec<_>>();
                assert!(
                    lines == expected,
                    "reads of {read_size} bytes: {:?}",
                    shown(&lines)
                );
                assert_eq!(records.len(), 1);
                assert_eq!(records[0].0, 2);
                assert!(records[0].1.contains("over 64 KB long"), "{}", records[0].1);
            }
        }
    }

    #[test]
    fn a_read_error_hands_on_the_whole_lines_before_it_and_not_the_line_it_cut() {
        /// Gives its text, then fails.
        struct Failing(&'static [u8]);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("the disk is gone"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for text in [&b"a\nb\npartial"[..], b"a\nb\n"] {
            let mut input = std::io::BufReader::with_capacity(4, Failing(text));
            let (lines, records, read) = jsonl_chunks(&mut input, 10);
            assert_eq!(lines, vec![(1, "a\nb\n".to_string())]);
            assert!(records.is_empty());
            let message = read.unwrap_err();
            assert!(message.contains("at line 3: the disk is gone"), "{message}");
        }
    }

    #[test]
    fn a_full_trace_goes_in_smaller_chunks_and_a_chunk_asked_for_is_kept() {
        let with = |trace, chunk| BatchOptions {
            trace,
            chunk,
            ..BatchOptions::default()
        };
        assert_eq!(with(TraceMode::None, None).records_per_chunk(), 1024);
        assert_eq!(with(TraceMode::Compact, None).records_per_chunk(), 1024);
        assert_eq!(with(TraceMode::Full, None).records_per_chunk(), 64);
        assert_eq!(with(TraceMode::Full, Some(7)).records_per_chunk(), 7);
        assert_eq!(with(TraceMode::None, Some(0)).records_per_chunk(), 1);
    }
}
