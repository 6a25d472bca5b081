//! A JSON array read as a stream of records: [`ArrayElements`] tracks strings
//! and nesting to cut each element where it ends, a block of a long line at a
//! time, so that an array of millions of records written on one line reads in
//! flat memory; a flaw of the array (a missing comma, an element never closed)
//! becomes an error record where it is, and the reading starts again after it.

use super::{not_utf8, recycle, without_bom, Input, Payload, JSON_BLANKS};
use std::borrow::Cow;
use std::io::BufRead;

/// Streams the elements of a top-level JSON array without reading it whole: it
/// tracks strings and nesting to find where each element ends. Every element
/// gives one record; a flaw of the array itself (a missing or extra comma, text
/// after the closing bracket) gives an error record where it is, so that nothing
/// is dropped or merged without a word.
pub(super) fn read_json_array(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(Input) -> bool,
) -> Result<(), String> {
    let mut elements = ArrayElements::new(input);
    for (line, element) in elements.by_ref() {
        let payload = element.map(|text| Payload::Text(Cow::Owned(text)));
        if !emit(Input { line, payload }) {
            return Ok(());
        }
    }
    elements.end()
}

/// The elements of a JSON array as text, each with the line it starts on (or why
/// it is not an element), cut as a batch cuts them and read from the input as
/// they are asked for; once they are all read, [`ArrayElements::end`] says whether
/// the array was left open. For `lexnis diff`, whose records are JSON trees.
pub(crate) struct ArrayElements<R> {
    input: R,
    scan: ArrayScan,
    ready: std::collections::VecDeque<(u64, Result<String, String>)>,
    line: u64,
    /// The last bytes read ended inside a line (a block of a long line).
    line_open: bool,
    end: Option<Result<(), String>>,
}

/// The most of a line read at once: an array written on one line, as most
/// tools write it, is read a block at a time, so that memory stays flat
/// however long it is.
const ARRAY_BLOCK_BYTES: usize = 64 * 1024;

/// The longest an element of an array may grow before it is taken to be
/// never closed: memory stays flat where a `}` is missing, rather than
/// holding the rest of the input.
use super::MAX_RECORD_BYTES as MAX_ELEMENT_BYTES;

/// How much of the input after the place an element stopped reading as JSON
/// is read before the reading tries to start again after it: some records'
/// worth, so that [`elements_read_whole`] has elements to check.
const RESUME_WINDOW_BYTES: usize = if cfg!(test) { 8 * 1024 } else { 64 * 1024 };

impl<R: BufRead> ArrayElements<R> {
    pub(crate) fn new(input: R) -> Self {
        ArrayElements {
            input,
            scan: ArrayScan::default(),
            ready: Default::default(),
            line: 0,
            line_open: false,
            end: None,
        }
    }

    /// After the last element: `Err` if the array was left open or the input
    /// could not be read to its end.
    pub(crate) fn end(&self) -> Result<(), String> {
        self.end.clone().unwrap_or(Ok(()))
    }

    /// How many lines were read.
    pub(crate) fn lines_read(&self) -> u64 {
        self.line.max(1)
    }

    fn take(&mut self, record: Input) {
        let text = record.payload.and_then(|p| match p {
            Payload::Text(t) => Ok(t.into_owned()),
            Payload::CsvRow(t) => Ok(t),
            Payload::Unreadable { message, .. } => Err(message),
        });
        self.ready.push_back((record.line, text));
    }

    /// Reads one more line, or block of a long line, into `ready`, or ends.
    fn read_line(&mut self) {
        let block = match self.input.fill_buf() {
            Ok(block) => block,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return,
            Err(e) => {
                // An element begun and not yet handed on is not evaluated.
                let stopped_at = match self.scan.current.iter().all(u8::is_ascii_whitespace) {
                    true => self.line + u64::from(!self.line_open),
                    false => self.scan.start_line,
                };
                return self.end = Some(Err(super::unreadable_input(stopped_at, &e)));
            }
        };
        if block.is_empty() {
            let mut last = Vec::new();
            let end = self.scan.finish(self.line.max(1), &mut |r| {
                last.push(r);
                true
            });
            last.into_iter().for_each(|r| self.take(r));
            self.end = Some(end);
            return;
        }
        let line_end = memchr::memchr(b'\n', block).map(|i| i + 1);
        let taken = line_end.unwrap_or(block.len()).min(ARRAY_BLOCK_BYTES);
        let starts_line = !self.line_open;
        self.line += u64::from(starts_line);
        self.line_open = block[taken - 1] != b'\n';
        // A byte-order mark before the array is not part of it.
        let bytes = match starts_line {
            true => without_bom(self.line, &block[..taken]),
            false => &block[..taken],
        };
        let mut found = Vec::new();
        self.scan.push_line(bytes, self.line, &mut found);
        self.input.consume(taken);
        found.into_iter().for_each(|r| self.take(r));
        if self.scan.not_an_array.is_some() {
            // Nothing after can be read as elements: stop here.
            self.end = Some(self.scan.finish(self.line, &mut |_| true));
        } else if !self.scan.complete && self.scan.current.len() > MAX_ELEMENT_BYTES {
            self.give_up_on_element();
        } else if let Some(at) = self.scan.broken_at {
            self.resume_after_broken(at);
        }
    }

    /// An element that stopped reading as JSON at `broken_at`: once enough
    /// of the text after it is read to tell the array's next element from
    /// what the flawed one holds, the reading starts again there; if it cannot
    /// yet, it tries again a window later.
    fn resume_after_broken(&mut self, broken_at: usize) {
        if self.scan.current.len() - broken_at < RESUME_WINDOW_BYTES {
            return;
        }
        match self
            .scan
            .resume_after_unclosed("into the elements after it")
        {
            Some(resumed) => resumed.into_iter().for_each(|r| self.take(r)),
            None => self.scan.broken_at = Some(self.scan.current.len()),
        }
    }

    /// An element grown past [`MAX_ELEMENT_BYTES`] was never closed: an
    /// error record, and the array read again from the next line that opens
    /// an element as it does; or, where no line does, the batch fails.
    fn give_up_on_element(&mut self) {
        let limit = super::record_limit_text();
        if let Some(resumed) = self
            .scan
            .resume_after_unclosed(&format!("for over {limit}"))
        {
            return resumed.into_iter().for_each(|r| self.take(r));
        }
        let line = self.scan.start_line;
        let message = format!(
            "this element of the JSON array runs on for over {limit} without closing (a \
             `}}` or `]` is missing, or a string is not ended), and no line after it opens an \
             element where the scan could start again"
        );
        let flawed = self.scan.skip_flawed(&message);
        self.take(flawed);
        self.end = Some(Err(format!(
            "the JSON array cannot be read past the element at line {line}, which is never \
             closed; the records before were evaluated"
        )));
    }
}

impl<R: BufRead> Iterator for ArrayElements<R> {
    type Item = (u64, Result<String, String>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(element) = self.ready.pop_front() {
                return Some(element);
            }
            if self.end.is_some() {
                return None;
            }
            self.read_line();
        }
    }
}

#[derive(Default)]
struct ArrayScan {
    started: bool,
    ended: bool,
    /// Text after the closing bracket was reported.
    trailing: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The element being read is a whole value (its closing bracket or quote met).
    complete: bool,
    /// A comma was met since the opening bracket.
    comma: bool,
    current: Vec<u8>,
    start_line: u64,
    /// The input's first character, when it is not `[`.
    not_an_array: Option<u8>,
    /// Whether the elements read so far were each on one line (`None` before the
    /// first): then an element still open at the end of its line is flawed.
    one_a_line: Option<bool>,
    /// The last byte outside strings that is not a blank (`"` for a string
    /// just closed): what may come next is known from it.
    last_token: u8,
    /// Where in `current` the element stopped reading as JSON (a string left
    /// open turns what follows inside out: strings read as structure), if it
    /// did; from there on, its bytes are only kept until the reading can
    /// start again after it ([`ArrayScan::resume_after_unclosed`]).
    broken_at: Option<usize>,
    /// What the search for a place to read again learnt of the element so far.
    resume: ResumeSearch,
}

/// What earlier tries to read again after a flawed element found, kept so
/// that a try a window later goes on from there instead of reading all of
/// the element again (which made an element of megabytes cost minutes).
#[derive(Default)]
struct ResumeSearch {
    /// Where (from the element's first byte) JSON stops reading it: a flaw
    /// more text will not mend.
    flaw: Option<usize>,
    /// The candidates before this offset (from the element's first byte)
    /// were tried and are not elements of the array.
    tried_to: usize,
}

/// Whether `b`, outside strings, may come after `last` in JSON as far as
/// strings go: after a string, a colon, a comma or a closing bracket; a string
/// after an opening bracket, a colon or a comma. A string never ended turns
/// the text after it inside out, and this is where it shows first.
fn may_follow(last: u8, b: u8) -> bool {
    match (last, b) {
        (b'"', _) => matches!(b, b':' | b',' | b'}' | b']'),
        (_, b'"') => matches!(last, b'{' | b'[' | b',' | b':'),
        _ => true,
    }
}

/// An error record at `line`.
fn flawed(line: u64, message: &str) -> Input {
    Input {
        line,
        payload: Err(message.to_string()),
    }
}

impl ArrayScan {
    /// Reads a line of the input (with its `\n`, if it has one) into `found`,
    /// the records it completes. Byte by byte, the reader took longer than the
    /// workers and the batch waited on it; but within an element most bytes
    /// cannot change the scan, and runs of them are copied at once (see
    /// [`ArrayScan::plain_run`]).
    fn push_line(&mut self, bytes: &[u8], line: u64, found: &mut Vec<Input>) {
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let plain = self.plain_run(rest);
            if plain > 0 && !self.in_string && self.broken_at.is_none() {
                self.check_run(&rest[..plain]);
            }
            self.current.extend_from_slice(&rest[..plain]);
            at += plain;
            if at < bytes.len() {
                self.push(bytes[at], line, found);
                at += 1;
            }
        }
    }

    /// How many of the bytes `rest` starts with [`ArrayScan::push`] would only
    /// add to the element: within a string, all but a quote, a backslash and a
    /// line's end; within an object or a list, all but those that open or
    /// close one or a string, and a line's end.
    fn plain_run(&self, rest: &[u8]) -> usize {
        if !self.started || self.ended {
            return 0;
        }
        if self.broken_at.is_some() {
            return memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        }
        let next = match (self.in_string, self.escaped, self.depth) {
            (true, false, _) => memchr::memchr3(b'"', b'\\', b'\n', rest),
            (false, _, 1..) => {
                (rest.iter()).position(|b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']' | b'\n'))
            }
            _ => Some(0),
        };
        next.unwrap_or(rest.len())
    }

    /// Reads one byte; adds to `found` the records it completes (at most two).
    fn push(&mut self, b: u8, line: u64, found: &mut Vec<Input>) {
        if !self.started {
            return found.extend(self.opening(b, line));
        }
        if self.ended {
            return found.extend(self.after_end(b, line));
        }
        let open = self.depth > 0 || self.in_string || self.broken_at.is_some();
        if b == b'\n' && open && self.one_a_line == Some(true) {
            return found.push(self.skip_flawed(
                "this element of the JSON array is never closed on its line, as the elements \
                 before it are (a `}` or `]` is missing, or a string is not ended): it is left \
                 out, and the array is read again from the next line",
            ));
        }
        if self.broken_at.is_some() {
            return self.current.push(b);
        }
        if self.in_string {
            self.current.push(b);
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => {
                    self.in_string = false;
                    self.complete = self.depth == 0;
                    self.last_token = b'"';
                }
                _ => {}
            }
            return;
        }
        if !b.is_ascii_whitespace() {
            if self.depth > 0 && !may_follow(self.last_token, b) {
                return self.break_here(b);
            }
            self.last_token = b;
        }
        if self.depth == 0 && (b == b',' || b == b']') {
            return found.extend(self.separator(b, line));
        }
        if !b.is_ascii_whitespace() && self.current.iter().all(u8::is_ascii_whitespace) {
            self.start_line = line;
        }
        if self.complete && self.depth == 0 && !b.is_ascii_whitespace() {
            // A value right after a whole one: the comma between them is missing.
            self.current.clear();
            self.complete = false;
            found.push(flawed(
                self.start_line,
                "a comma is missing after this element of the JSON array",
            ));
            self.start_line = line;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                self.complete = self.depth == 0;
            }
            _ => {}
        }
        self.current.push(b);
    }

    /// Whether the bytes of a run ([`ArrayScan::plain_run`]) may follow the
    /// last token, as [`ArrayScan::push`] checks them one by one: only the
    /// first that is not blank can break the element (none is a quote).
    fn check_run(&mut self, run: &[u8]) {
        let mut tokens = run
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_ascii_whitespace());
        let Some((at, &first)) = tokens.next() else {
            return;
        };
        if self.depth > 0 && !may_follow(self.last_token, first) {
            self.broken_at = Some(self.current.len() + at);
            self.complete = false;
            return;
        }
        self.last_token = tokens.next_back().map_or(first, |(_, b)| *b);
    }

    /// The element stops reading as JSON at `b`: kept as it comes from here
    /// on, until the reading can start again after it.
    fn break_here(&mut self, b: u8) {
        self.broken_at = Some(self.current.len());
        self.complete = false;
        self.current.push(b);
    }

    /// Before the array: blanks, then `[`. Anything else is no array at all (a
    /// file of JSON lines, most likely): the batch fails as for a wrong flag, at
    /// the end, with nothing evaluated, since its records cannot even be counted.
    fn opening(&mut self, b: u8, _line: u64) -> Option<Input> {
        if b == b'[' {
            self.started = true;
        } else if !b.is_ascii_whitespace() {
            self.not_an_array = Some(b);
            (self.started, self.ended, self.trailing) = (true, true, true);
        }
        None
    }

    /// After the closing bracket: only blanks may follow.
    fn after_end(&mut self, b: u8, line: u64) -> Option<Input> {
        if self.trailing || b.is_ascii_whitespace() {
            return None;
        }
        self.trailing = true;
        Some(flawed(
            line,
            "text after the end of the JSON array: the input must be one array (use --input \
             jsonl for one object per line)",
        ))
    }

    /// The element being read is flawed: an error record at its first line, and
    /// the scan goes on as if it had not been there.
    fn skip_flawed(&mut self, message: &str) -> Input {
        self.current.clear();
        (self.broken_at, self.last_token) = (None, b',');
        self.resume = ResumeSearch::default();
        (self.depth, self.in_string, self.escaped) = (0, false, false);
        (self.complete, self.comma) = (false, false);
        flawed(self.start_line, message)
    }

    /// A top-level `,` or `]`: the element read so far is complete.
    fn separator(&mut self, b: u8, line: u64) -> Option<Input> {
        let after_comma = self.comma;
        let text = self.current.trim_ascii();
        if !text.is_empty() {
            let one_line = !text.contains(&b'\n');
            self.one_a_line = Some(self.one_a_line.unwrap_or(true) && one_line);
        }
        let element = self.take_element();
        self.comma |= b == b',';
        self.ended = b == b']';
        if let Some(payload) = element {
            return Some(Input {
                line: self.start_line,
                payload,
            });
        }
        match (b, after_comma) {
            // `[]`: an empty array.
            (b']', false) => None,
            (b']', true) => Some(flawed(
                line,
                "a comma before `]` ends the JSON array: remove it",
            )),
            _ => Some(flawed(
                line,
                "an empty element in the JSON array (two commas, or a comma after `[`): remove \
                 the extra comma",
            )),
        }
    }

    /// The element read so far, as text without its blanks (`None` if it is
    /// empty); the scan starts the next one.
    fn take_element(&mut self) -> Option<Result<Payload<'static>, String>> {
        self.complete = false;
        // One copy, of the element without its blanks; `current` keeps its
        // room for the next element instead of growing anew.
        let element = match std::str::from_utf8(&self.current) {
            Ok(text) => match text.trim_matches(JSON_BLANKS) {
                "" => None,
                t => Some(Ok(Payload::Text(Cow::Owned(t.to_string())))),
            },
            Err(e) => Some(Err(not_utf8(&e))),
        };
        self.current.clear();
        if self.current.capacity() > recycle::KEEP_UP_TO_BYTES {
            // An outsized element does not hold its memory for the rest of the run.
            self.current = Vec::new();
        }
        element
    }

    /// The input ends. An element cut short is an error record; an array left
    /// open after whole elements fails the batch, once they are written, since
    /// the input may have been cut.
    fn finish(&mut self, line: u64, emit: &mut dyn FnMut(Input) -> bool) -> Result<(), String> {
        if let Some(first) = self.not_an_array {
            return Err(format!(
                "the input is not a JSON array: it begins with `{}`, not `[`; for one object \
                 per line use --input jsonl",
                char::from(first).escape_default()
            ));
        }
        while !self.ended && self.started {
            let Some(resumed) = self.resume_after_unclosed("to the end of the input") else {
                break;
            };
            if !resumed.into_iter().all(&mut *emit) {
                return Ok(());
            }
        }
        if self.ended || !self.started {
            return Ok(());
        }
        let complete = self.complete;
        let rest = match self.take_element() {
            Some(payload) if complete => payload,
            // An element the input cut short is a record that failed.
            Some(_) => {
                let message = "the input ends inside this element of the JSON array: the input \
                               was cut, or a bracket or a quote of the element is never closed \
                               (then what follows it was read as part of it)";
                emit(flawed(self.start_line, message));
                return Ok(());
            }
            // No element is pending (the input ends after `[` or a comma): no
            // record failed, the input as a whole did, as when it ends after an
            // element.
            None => {
                return Err(format!(
                    "the JSON array is not closed: the input ends after line {line} without \
                     `]`; the records before were evaluated, but the input may have been cut"
                ))
            }
        };
        let start = self.start_line;
        emit(Input {
            line: start,
            payload: rest,
        });
        Err(format!(
            "the JSON array is not closed: the input ends after line {line} without `]`, or \
             the element at line {start} is never closed and took the rest of the input into \
             it (then its error record says it is not JSON); the records before were \
             evaluated, but the input may have been cut"
        ))
    }
}

impl ArrayScan {
    /// At the end of the input inside the array, or when an element has grown
    /// past [`MAX_ELEMENT_BYTES`] (`runs_on` says which): if the element being read spans
    /// several lines and is no JSON value, one of its brackets or quotes was never
    /// closed and it ran on through the elements after it. It becomes an error
    /// record at its first line, and the scan reads again from the next line that
    /// opens an element as it does ([`next_element_line`]); returns the records
    /// that gives (`None`: nothing to resume). Arrays of one element a line do not
    /// come here: their flawed element ends at its line ([`ArrayScan::push`]).
    fn resume_after_unclosed(&mut self, runs_on: &str) -> Option<Vec<Input>> {
        let text = &self.current;
        let first = text.iter().position(|b| !b.is_ascii_whitespace())?;
        let flaw = match self.resume.flaw {
            Some(at) => Some(at),
            None => match json_error_offset(&text[first..]) {
                None if self.complete => return None,
                Some((at, for_want_of_text)) => {
                    // A flaw more text will not mend is kept for the next try.
                    if !for_want_of_text {
                        self.resume.flaw = Some(at);
                    }
                    Some(at)
                }
                None => None,
            },
        };
        let line = self.start_line;
        let lines_to =
            |at: usize| line + memchr::memchr_iter(b'\n', &text[first..at]).count() as u64;
        let (resume, from) = match next_element_line(text, first) {
            Some((_, at)) => (
                at,
                format!(
                    "line {}, the next that opens an element as it does",
                    lines_to(at)
                ),
            ),
            None => {
                let at = next_whole_element(text, first, flaw?, &mut self.resume.tried_to)?;
                (
                    at,
                    format!("the next element on line {} that reads whole", lines_to(at)),
                )
            }
        };
        let at_line = lines_to(resume);
        let text = std::mem::take(&mut self.current);
        let message = format!(
            "this element of the JSON array is never closed (a `}}` or `]` is missing, or a \
             string is not ended), so it runs on {runs_on}: it is left out, and the array is \
             read again from {from}"
        );
        let mut out = vec![self.skip_flawed(&message)];
        let mut at = at_line;
        for &b in &text[resume..] {
            self.push(b, at, &mut out);
            at += u64::from(b == b'\n');
        }
        Some(out)
    }
}

/// How many elements after a place to read again must read whole, at most,
/// for the reading to start again there: enough to tell the array's elements
/// from a list of records inside the flawed one, little enough that a flaw
/// costs no second reading of the whole input.
const ELEMENTS_CHECKED_TO_RESUME: usize = 64;

/// Where to read again, within the text an element never closed took in, when
/// no line opens an element (an array written on one line): the first `{` (or
/// `[`, as the element opens) after a comma, from where the element stops
/// being JSON on (`flaw`, from `first`), from which the elements read whole
/// ([`elements_read_whole`]); the candidates before `tried_to` (from `first`)
/// are known not to, and it moves past those found not to.
fn next_whole_element(
    text: &[u8],
    first: usize,
    flaw: usize,
    tried_to: &mut usize,
) -> Option<usize> {
    let opening = text[first];
    if !matches!(opening, b'{' | b'[') {
        return None;
    }
    let broken_at = first + flaw;
    let mut from = (broken_at.saturating_sub(1).max(first + 1)).max(first + *tried_to);
    loop {
        let at = from + memchr::memchr(opening, text.get(from..)?)?;
        from = at + 1;
        let before = text[..at].iter().rposition(|b| !b.is_ascii_whitespace());
        if before.is_none_or(|i| text[i] != b',') {
            continue;
        }
        match elements_read_whole(&text[at..]) {
            Some(true) => return Some(at),
            Some(false) => *tried_to = from - first,
            // Cut short by the end of the text read: tried again with more.
            None => return None,
        }
    }
}

/// Whether `text` reads as the elements of an array from its first on: whole
/// values and commas between them, up to the array's `]` with only blanks
/// after it, up to the end of `text`, up to a value that is not whole (a flaw
/// of its own, after one whole element at least), or for
/// [`ELEMENTS_CHECKED_TO_RESUME`] elements. A record after a comma in a list
/// of the flawed element fails: its list's `]` has more text after it. `None`
/// when the first value runs to the end of `text`: more text will tell.
fn elements_read_whole(text: &[u8]) -> Option<bool> {
    let mut at = 0;
    for checked in 0..ELEMENTS_CHECKED_TO_RESUME {
        let mut values =
            serde_json::Deserializer::from_slice(&text[at..]).into_iter::<serde::de::IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => at += values.byte_offset(),
            // The first value cut by the end of the text: not known yet.
            Some(Err(e)) if checked == 0 && e.is_eof() => return None,
            _ => return Some(checked > 0),
        }
        let next = text[at..].iter().position(|b| !b.is_ascii_whitespace());
        match next.map(|i| (at + i, text[at + i])) {
            None => return Some(true),
            Some((i, b',')) => at = i + 1,
            Some((i, b']')) => return Some(text[i + 1..].iter().all(u8::is_ascii_whitespace)),
            Some(_) => return Some(false),
        }
    }
    Some(true)
}

/// Where in `text` a JSON reading of it fails (`None`: it does not), and
/// whether it fails only for want of more text.
fn json_error_offset(text: &[u8]) -> Option<(usize, bool)> {
    let error = serde_json::from_slice::<serde::de::IgnoredAny>(text).err()?;
    let line_start = match error.line() {
        0 | 1 => 0,
        n => memchr::memchr_iter(b'\n', text)
            .nth(n - 2)
            .map_or(text.len(), |i| i + 1),
    };
    let at = (line_start + error.column().saturating_sub(1)).min(text.len());
    Some((at, error.is_eof()))
}

/// Where to read again after an element that starts at `first` in `text` and is
/// never closed: the next line that opens an object or a list no further right
/// than it does (a pretty-printed array indents its elements alike, and what they
/// hold further), or that closes the array left of it. The lines skipped from the
/// element's first, and the offset.
fn next_element_line(text: &[u8], first: usize) -> Option<(u64, usize)> {
    let line_start = text[..first]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let indent = first - line_start;
    let mut skipped = 0;
    let mut at = first;
    loop {
        at += memchr::memchr(b'\n', &text[at..])? + 1;
        skipped += 1;
        let line = &text[at..];
        let blanks = line
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let opens = blanks <= indent && matches!(line.get(blanks), Some(b'{' | b'['));
        // Or the array's own `]`, left of its elements: the flawed one was last.
        let closes_array = blanks < indent && line.get(blanks) == Some(&b']');
        if opens || closes_array {
            return Some((skipped, at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Scanned = Vec<(u64, Result<String, String>)>;

    /// A try to read again remembers the candidates it rejected for good,
    /// and leaves one cut by the end of the text for the next try.
    #[test]
    fn a_search_for_where_to_read_again_goes_on_where_the_last_left_off() {
        let flawed = r#"{"id":"a","x":"broken}, {"id":"q", {"id":"r0"]], {"id":"r1","s":{"#;
        let (flaw, more_mends_it) = json_error_offset(flawed.as_bytes()).unwrap();
        assert!(!more_mends_it);
        let mut tried_to = 0;
        assert_eq!(
            next_whole_element(flawed.as_bytes(), 0, flaw, &mut tried_to),
            None
        );
        // r0 is no element (a flaw of its own); r1 runs to the end: not known yet.
        let (r0, r1) = (flawed.find(r#"{"id":"r0""#), flawed.find(r#"{"id":"r1""#));
        assert_eq!(Some(tried_to), r0.map(|at| at + 1));
        let more = format!(r#"{flawed}"n":1}}}}, {{"id":"r2"}}]"#);
        let found = next_whole_element(more.as_bytes(), 0, flaw, &mut tried_to);
        assert_eq!(found, r1);
    }

    /// The records `ArrayScan` makes of `text` fed a line at a time, by
    /// `push_line` or (`by_bytes`) a byte at a time, and at its end.
    fn array_records(text: &[u8], by_bytes: bool) -> Vec<(u64, Result<String, String>)> {
        let mut scan = ArrayScan::default();
        let (mut found, mut line) = (Vec::new(), 0);
        for bytes in text.split_inclusive(|b| *b == b'\n') {
            line += 1;
            match by_bytes {
                true => bytes.iter().for_each(|b| scan.push(*b, line, &mut found)),
                false => scan.push_line(bytes, line, &mut found),
            }
            if scan.not_an_array.is_some() {
                break;
            }
        }
        let end = scan.finish(line.max(1), &mut |r| {
            found.push(r);
            true
        });
        let text_of = |p: Payload<'_>| match p {
            Payload::Text(t) => Ok(t.into_owned()),
            other => Err(format!("{other:?}")),
        };
        let mut records: Vec<_> = (found.into_iter())
            .map(|r| (r.line, r.payload.and_then(text_of)))
            .collect();
        records.push((0, end.map(|()| "end".to_string())));
        records
    }

    proptest::proptest! {
        /// Runs of bytes copied at once make the records that reading them one
        /// by one makes, flaws and all.
        #[test]
        fn a_line_read_at_once_gives_the_records_of_its_bytes_read_one_by_one(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                &b"{"[..], b"}", b"[", b"]", b"\"", b"\\", b",", b":", b"\n", b"\r", b"\t",
                b" ", b"a", b"1", "é".as_bytes(), b"\xff", b"{\"id\": \"x\", \"n\": [1, 2]}",
                b"\"a \\\" b\"",
            ]), 0..60),
            open in proptest::bool::ANY,
        ) {
            let text = [&b"["[..open as usize], &pieces.concat()].concat();
            proptest::prop_assert_eq!(array_records(&text, false), array_records(&text, true));
        }
    }

    /// The records of a JSON array input, and whether reading it failed.
    fn scan_all(text: &str) -> (Scanned, Result<(), String>) {
        let mut elements = ArrayElements::new(text.as_bytes());
        let out = elements.by_ref().collect();
        (out, elements.end())
    }

    fn scan(text: &str) -> Scanned {
        let (out, result) = scan_all(text);
        result.unwrap();
        out
    }

    /// Each record as its text, or `error: ` and the first four words of its error.
    fn shapes(out: &Scanned) -> Vec<String> {
        (out.iter())
            .map(|(_, r)| match r {
                Ok(t) => t.clone(),
                Err(e) => format!(
                    "error: {}",
                    e.split(' ').take(4).collect::<Vec<_>>().join(" ")
                ),
            })
            .collect()
    }

    #[test]
    fn flaws_of_the_array_are_error_records_where_they_are() {
        let cases: [(&str, &[&str]); 6] = [
            ("[]", &[]),
            ("\u{feff}[{\"a\": 1}]", &["{\"a\": 1}"]),
            (
                "[\n{\"a\": 1}\n{\"b\": 2},\n{\"c\": 3}\n]",
                &["error: a comma is missing", "{\"b\": 2}", "{\"c\": 3}"],
            ),
            (
                "[{\"a\": 1},,{\"c\": 3}]",
                &["{\"a\": 1}", "error: an empty element in", "{\"c\": 3}"],
            ),
            (
                "[{\"a\": 1},{\"c\": 3},]",
                &["{\"a\": 1}", "{\"c\": 3}", "error: a comma before `]`"],
            ),
            (
                "[{\"a\": 1}]\n[{\"b\": 2}] junk",
                &["{\"a\": 1}", "error: text after the end"],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(shapes(&scan(text)), expected.to_vec(), "{text}");
        }
        // The missing comma is reported at the element before it.
        assert_eq!(scan("[\n{\"a\": 1}\n{\"b\": 2}]")[0].0, 2);
    }

    #[test]
    fn an_array_left_open_after_whole_elements_fails_once_they_are_read() {
        // After an element or a comma alike: the input failed, no record did.
        for end in ["\n", ",\n", ", "] {
            let (out, result) = scan_all(&format!("[{{\"a\": 1}},\n{{\"b\": 2}}{end}"));
            assert_eq!(shapes(&out), ["{\"a\": 1}", "{\"b\": 2}"], "{end:?}");
            assert!(result.unwrap_err().contains("not closed"), "{end:?}");
        }
        let (out, result) = scan_all("[\n");
        assert!(out.is_empty());
        assert!(result.unwrap_err().contains("not closed"));
    }

    #[test]
    fn json_arrays_are_cut_at_top_level_commas() {
        let out = scan("[\n {\"a\": [1, 2], \"s\": \"x,]\\\"\"},\n {\"b\": {}}\n]");
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            (2, Ok("{\"a\": [1, 2], \"s\": \"x,]\\\"\"}".to_string()))
        );
        assert_eq!(out[1].0, 3);
    }

    /// A pretty-printed array of `count` elements, element `flawed` (if any)
    /// missing its last `}`.
    fn pretty_array(count: usize, flawed: Option<usize>) -> String {
        let element = |i: usize| {
            let close = if Some(i) == flawed { "" } else { "\n  }" };
            format!("  {{\n    \"id\": \"e{i}\",\n    \"size\": {{\"staff\": {i}}}{close}")
        };
        format!(
            "[\n{}\n]\n",
            (0..count).map(element).collect::<Vec<_>>().join(",\n")
        )
    }

    #[test]
    fn an_element_never_closed_is_given_up_on_past_the_limit_and_the_rest_is_read() {
        let text = pretty_array(3000, Some(1));
        assert!(text.len() > 2 * MAX_ELEMENT_BYTES);
        let mut elements = ArrayElements::new(text.as_bytes());
        let first_two: Scanned = Iterator::take(elements.by_ref(), 2).collect();
        // Given up on while the input is still being read, not at its end.
        assert!(elements.lines_read() * 2 < text.lines().count() as u64);
        let error = first_two[1].1.as_ref().unwrap_err();
        assert!(error.contains("runs on for over 64 KB"), "{error}");
        assert_eq!(first_two[1].0, 6, "the element's first line");
        let rest: Scanned = elements.by_ref().collect();
        assert_eq!(elements.end(), Ok(()));
        assert_eq!(first_two.len() + rest.len(), 3000);
        assert!(rest.iter().all(|(_, r)| r.is_ok()));
        assert!(rest[0].1.as_ref().unwrap().contains("\"e2\""));
    }

    #[test]
    fn an_element_never_closed_with_nowhere_to_start_again_fails_the_input() {
        let deep = "      \"x\": 1,\n".repeat(MAX_ELEMENT_BYTES / 10);
        let text = format!("[\n  {{\n    \"id\": \"a\"\n  }},\n  {{\n    \"y\": {{\n{deep}");
        let (out, end) = scan_all(&text);
        assert_eq!(out.len(), 2);
        assert!(out[1]
            .1
            .as_ref()
            .unwrap_err()
            .contains("no line after it opens"));
        assert!(end.unwrap_err().contains("past the element at line 5"));
    }

    #[test]
    fn an_array_on_one_line_is_read_in_blocks_with_every_element() {
        let elements: Vec<String> = (0..20_000)
            .map(|i| format!("{{\"id\": \"e{i}\", \"note\": \"{}\"}}", "x".repeat(i % 50)))
            .collect();
        let text = format!("\u{feff}[{}]", elements.join(","));
        assert!(text.len() > 4 * ARRAY_BLOCK_BYTES);
        let out = scan(&text);
        assert_eq!(out.len(), elements.len());
        for ((line, record), element) in out.iter().zip(&elements) {
            assert_eq!((*line, record.as_deref()), (1, Ok(element.as_str())));
        }
    }

    #[test]
    fn an_unclosed_array_is_one_error_record() {
        let out = scan("[{\"a\": 1}, {\"b\": ");
        assert_eq!(out.len(), 2);
        assert!(out[1].1.is_err());
    }

    /// `count` records on one line, each with a list of records; `flaws`
    /// say which record is spoilt and how (its text replaced).
    fn one_line_array(count: usize, flaws: &[(usize, &str, &str)]) -> String {
        let element = |i: usize| {
            let text = format!(
                "{{\"id\": \"e{i}\", \"size\": {{\"staff\": 1}}, \"partners\": [{{\"share_pct\": 1}}, {{\"share_pct\": 2}}, {{\"share_pct\": 3}}]}}"
            );
            match flaws.iter().find(|f| f.0 == i) {
                Some((_, from, to)) => text.replacen(from, to, 1),
                None => text,
            }
        };
        format!(
            "[{}]",
            (0..count).map(element).collect::<Vec<_>>().join(", ")
        )
    }

    #[test]
    fn a_flawed_element_of_an_array_on_one_line_costs_only_its_own_record() {
        let string_not_ended = ("\"size\"", "\"size");
        let brace_missing = ("]}", "]");
        let cases: [&[(usize, &str, &str)]; 4] = [
            &[(10, string_not_ended.0, string_not_ended.1)],
            // In a record of the list inside the element.
            &[(10, "\"share_pct\": 2", "\"share_pct: 2")],
            &[(10, brace_missing.0, brace_missing.1)],
            &[
                (3, string_not_ended.0, string_not_ended.1),
                (600, brace_missing.0, brace_missing.1),
            ],
        ];
        for flaws in cases {
            let (out, end) = scan_all(&one_line_array(1000, flaws));
            assert_eq!(out.len(), 1000, "{flaws:?}");
            for (i, (line, record)) in out.iter().enumerate() {
                assert_eq!(*line, 1);
                match flaws.iter().any(|f| f.0 == i) {
                    true => assert!(record.as_ref().unwrap_err().contains("never closed"), "{i}"),
                    false => assert!(
                        record.as_ref().unwrap().contains(&format!("\"e{i}\"")),
                        "{i}"
                    ),
                }
            }
            assert!(end.is_ok(), "{flaws:?}: {end:?}");
        }
    }

    #[test]
    fn the_last_element_never_closed_on_one_line_is_the_only_record_lost() {
        let text = one_line_array(50, &[(49, "\"size\"", "\"size")]);
        let out = scan(&text);
        assert_eq!(out.len(), 50);
        assert!(out[49]
            .1
            .as_ref()
            .unwrap_err()
            .contains("the input ends inside"));
    }
}
