//! The common facts record read in one pass over its bytes, its schema telling
//! the reader what comes next: keys matched against the declared fields as they
//! are met, numbers parsed as their digits go by, values built straight from the
//! text. serde_json, which [`super::load_facts_from_str`] falls back on, spends
//! about half of a record's time on the generic work this skips (a visitor per
//! value, each number scanned twice to keep it exact).
//!
//! The reader accepts only what it knows the serde_json reading would accept,
//! with the same values: plain JSON without escapes in strings, numbers that are
//! whole or written with a point, every value of its declared type and in range,
//! no key unknown or repeated, no required field missing, lists and objects
//! nested no deeper than [`MAX_DEPTH`]. Anything else (bad
//! JSON, a wrong type, an exponent, `-0`, a record for an error message) gives
//! the reading up, and the document is read again by the reading whose values
//! and errors are the document's. Give up when in doubt: it costs one reading.

use super::{entry, put_thread_own_copy, takes_number, Facts, Specs, ID_FIELD};
use crate::program::{FieldSpec, Program, Type};
use crate::value::{sort_finding_repeats, Value};
use rust_decimal::Decimal;
use std::cell::Cell;
use std::sync::Arc;

thread_local! {
    /// [`Scanner::buffers`], from the last record this thread read.
    static BUFFERS: Cell<Vec<Vec<Value>>> = const { Cell::new(Vec::new()) };
}

/// The document's facts, or `None` for the reader to give up.
pub(super) fn read(program: &Program, text: &str) -> Option<Facts> {
    let mut facts = Facts::default();
    read_into(program, text, &mut facts)?;
    Some(facts)
}

/// The document's facts written over `facts` (those of an earlier record, or
/// none), its records' and lists' allocations reused where no one else holds
/// them and the shapes agree; `None` for the reader to give up, `facts` then
/// holding a mix of both records (list items taken out of their lists), to be
/// replaced, not read.
pub(super) fn read_into(program: &Program, text: &str, facts: &mut Facts) -> Option<()> {
    let read = read_record(program, text.as_bytes(), Within::Document, facts)?;
    (read == text.len()).then_some(())
}

/// The record that opens `bytes`, a JSON line's text and what follows it (the
/// next lines of a chunk), written over `facts` as [`read_into`] does: how
/// many bytes its line takes, its `\n` included. The record must end its
/// line: a newline before its end, or anything but blanks after it, gives
/// the reading up (and so does a byte that is not UTF-8 in any string it
/// reads), for the line to be cut and read the usual way. The line is not
/// checked for UTF-8 as a whole first: every byte the reader takes outside a
/// string is ASCII by its grammar (2% of a batch's time, sampled).
pub(super) fn read_line_into(program: &Program, bytes: &[u8], facts: &mut Facts) -> Option<usize> {
    let read = read_record(program, bytes, Within::Line, facts)?;
    match bytes.get(read) {
        None => Some(read),
        Some(b'\n') => Some(read + 1),
        Some(_) => None,
    }
}

/// Where a record is read: the whole text, or one line of it.
#[derive(Clone, Copy, PartialEq)]
enum Within {
    Document,
    /// A newline is not a blank: it ends the record's line.
    Line,
}

/// The record at the start of `bytes` and the blanks after it: how many
/// bytes they take.
fn read_record(
    program: &Program,
    bytes: &[u8],
    within: Within,
    facts: &mut Facts,
) -> Option<usize> {
    let mut scan = Scanner {
        program,
        text: bytes,
        at: 0,
        depth: 0,
        buffers: BUFFERS.take(),
        within,
    };
    facts
        .values
        .resize_with(program.facts.len(), || Value::Absent);
    let specs = Specs::Facts(&program.facts);
    let read = scan.object(specs, &mut facts.values, Some(&mut facts.id));
    BUFFERS.set(std::mem::take(&mut scan.buffers));
    read?;
    scan.skip_space();
    Some(scan.at)
}

/// A key of an object.
enum Key {
    /// The field of this index in the object's declaration.
    Field(usize),
    /// The document's `id`.
    Id,
}

struct Scanner<'a> {
    program: &'a Program,
    /// The text read, UTF-8 or not: see [`read_line_into`].
    text: &'a [u8],
    /// The byte the reading is at.
    at: usize,
    /// How many lists and objects the reading is in.
    depth: usize,
    /// The vectors the lists at each depth are read into before they are
    /// moved into their shared slices: kept from one record to the next (by
    /// the thread), so that a list costs one allocation, as a record does.
    buffers: Vec<Vec<Value>>,
    within: Within,
}

/// The deepest a reading goes: a record type may hold itself, and serde_json
/// refuses more than 128 nested lists and objects; past this, the reader gives
/// up before its own recursion can run out of stack.
const MAX_DEPTH: usize = 100;

/// The longest list buffer a thread keeps for its next record (a facts record
/// lists a few partners or types; thousands is an outlier).
const KEPT_LIST_ITEMS: usize = 4096;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(byte) = self.peek() {
            let blank = matches!(byte, b' ' | b'\r' | b'\t')
                || (byte == b'\n' && self.within == Within::Document);
            if !blank {
                break;
            }
            self.at += 1;
        }
    }

    /// The next byte after any space, taken if it is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self
            .text
            .get(self.at..)
            .is_some_and(|t| t.starts_with(word.as_bytes()));
        self.at += if found { word.len() } else { 0 };
        found
    }

    /// A string without escapes or control characters, after any space.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = self.text.get(start..)?;
        let end = plain_len(rest);
        (rest.get(end) == Some(&b'"')).then_some(())?;
        self.at = start + end + 1;
        text_of(&rest[..end])
    }

    /// A number after any space (see [`number`]).
    fn number(&mut self) -> Option<(i64, u32)> {
        self.skip_space();
        let (mantissa, scale, length) = number(self.text.get(self.at..)?)?;
        self.at += length;
        Some((mantissa, scale))
    }

    /// A value of a declared type, written into `out` (absent, or the value
    /// of an earlier record, whose record or list allocation is reused where
    /// it can be): in place, as a value built aside and then moved is read
    /// back from memory before its last bytes are written, and the processor
    /// stalls on it (a third of the reader's time, sampled).
    fn value(&mut self, ty: &Type, spec: Option<&FieldSpec>, out: &mut Value) -> Option<()> {
        self.skip_space();
        match ty {
            Type::Optional(inner) => match self.word("null") {
                true => put(out, Value::Absent),
                false => self.value(inner, spec, out),
            },
            Type::Bool if self.word("true") => put(out, Value::Bool(true)),
            Type::Bool if self.word("false") => put(out, Value::Bool(false)),
            Type::Int | Type::Decimal | Type::Money => {
                let (mantissa, scale) = match self.peek()? {
                    // The exact reading takes a decimal or an amount written as text.
                    b'"' if *ty != Type::Int => {
                        let text = self.string()?.as_bytes();
                        let (mantissa, scale, length) = number(text)?;
                        (length == text.len()).then_some((mantissa, scale))?
                    }
                    _ => self.number()?,
                };
                if !takes_digits(ty, spec, mantissa, scale) {
                    return None;
                }
                // Made again from its parts, not copied: see `value`.
                put(out, Value::Num(decimal(mantissa, scale)))
            }
            Type::Text => put(out, Value::Text(Arc::from(self.string()?))),
            Type::Date => put(
                out,
                Value::Date(crate::date::Date::parse(self.string()?).ok()?),
            ),
            Type::Enum(_) | Type::Table(_) => put(out, entry(self.program, ty, self.string()?)?),
            Type::Set(element) => self.items(element, true, out),
            Type::List(element) => self.items(element, false, out),
            Type::Record(id) => {
                let specs = Specs::Record(&self.program.records[id.index()].fields);
                if let Some(slots) = unique_record(out, specs.len()) {
                    return self.object(specs, slots, None);
                }
                // Read in place into its one allocation, its size known.
                let mut fields: Arc<[Value]> = (0..specs.len()).map(|_| Value::Absent).collect();
                let slots = Arc::get_mut(&mut fields).expect("a new slice is not shared");
                self.object(specs, slots, None)?;
                put(out, Value::Record(fields))
            }
            _ => None,
        }
    }

    /// The items of a list into `out`; `as_set`, of a set: sorted, and a
    /// repeated entry (an error of the facts) gives the reading up. The
    /// items of the list `out` holds, if no one else holds it, are read over
    /// (their records reused), and so is its allocation if the lengths agree.
    fn items(&mut self, element: &Type, as_set: bool, out: &mut Value) -> Option<()> {
        self.expect(b'[')?;
        self.enter()?;
        // A reading given up deeper down leaves `self.depth` there.
        let depth = self.depth;
        let mut items = self.buffer();
        let mut earlier = unique_items(out, as_set);
        let read = self.read_items(element, as_set, &mut items, earlier.as_deref_mut());
        // Into the list `out` holds if its length is theirs (its items were
        // taken by the reading), else into a list of their own.
        let stored = match (read, earlier.filter(|e| e.len() == items.len())) {
            (None, _) => None,
            (Some(()), Some(slots)) => {
                for (slot, item) in slots.iter_mut().zip(items.drain(..)) {
                    put(slot, item);
                }
                Some(())
            }
            (Some(()), None) => put(out, list_of(as_set, share(&mut items))),
        };
        // Kept for the next list at this depth, whether this one was read or
        // given up: a record given up on is read again, and would pay anew.
        items.clear();
        self.keep(depth, items);
        self.depth = depth - 1;
        stored
    }

    /// The items of a list into `items`, after its `[`; a set's sorted. Item
    /// `k` is read over item `k` of `earlier`, which it takes.
    fn read_items(
        &mut self,
        element: &Type,
        as_set: bool,
        items: &mut Vec<Value>,
        mut earlier: Option<&mut [Value]>,
    ) -> Option<()> {
        if !self.eat(b']') {
            loop {
                // The element is read into its place at the end of the list.
                let k = items.len();
                let start = (earlier.as_deref_mut().and_then(|e| e.get_mut(k)))
                    .map_or(Value::Absent, |v| std::mem::replace(v, Value::Absent));
                items.push(start);
                self.value(element, None, &mut items[k])?;
                if self.eat(b']') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        // A set with a repeated entry is an error of the facts.
        (!(as_set && sort_finding_repeats(items))).then_some(())
    }

    /// The buffer to read the items of a list at this depth into (empty).
    fn buffer(&mut self) -> Vec<Value> {
        if self.buffers.len() <= self.depth {
            self.buffers.resize_with(self.depth + 1, Vec::new);
        }
        std::mem::take(&mut self.buffers[self.depth])
    }

    /// Keeps the (empty) buffer of `depth` for the thread's next list there,
    /// unless a list of unusual length grew it: a thread that reads records for
    /// hours should not hold the memory of its longest list all along.
    fn keep(&mut self, depth: usize, buffer: Vec<Value>) {
        if buffer.capacity() <= KEPT_LIST_ITEMS {
            self.buffers[depth] = buffer;
        }
    }

    /// One level deeper, within [`MAX_DEPTH`].
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// An object of declared fields, each once, the missing ones taking their
    /// defaults, written over `values` (absent values, or an earlier record's:
    /// every one is written); with `id`, the document's own `id` key too,
    /// `None` if the document has none.
    fn object(
        &mut self,
        specs: Specs<'_>,
        values: &mut [Value],
        mut id: Option<&mut Option<String>>,
    ) -> Option<()> {
        if specs.len() > 64 || values.len() != specs.len() {
            return None;
        }
        self.expect(b'{')?;
        self.enter()?;
        let mut seen = 0u64;
        let mut id_seen = false;
        let mut next = 0;
        if !self.eat(b'}') {
            loop {
                let key = self.key(specs, next, id.is_some())?;
                self.expect(b':')?;
                match (key, id.as_deref_mut()) {
                    (Key::Id, Some(id)) => {
                        self.id(id)?;
                        if std::mem::replace(&mut id_seen, true) {
                            return None;
                        }
                    }
                    (Key::Field(i), _) => {
                        if seen >> i & 1 == 1 {
                            return None;
                        }
                        let field = specs.get(i);
                        self.value(&field.ty, Some(field), &mut values[i])?;
                        seen |= 1 << i;
                        next = i + 1;
                    }
                    (Key::Id, None) => return None,
                }
                if self.eat(b'}') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        // The fields left out, by their bits: a record states most of its
        // fields, and a loop over all of them took a twentieth of this
        // function's time (sampled).
        let fields = u64::MAX.checked_shr(64 - specs.len() as u32).unwrap_or(0);
        let mut missing = !seen & fields;
        while missing != 0 {
            let i = missing.trailing_zeros() as usize;
            missing &= missing - 1;
            let field = specs.get(i);
            match (&field.default, &field.ty) {
                (Some(default), _) => put_thread_own_copy(&mut values[i], default),
                (None, Type::Optional(_)) => put(&mut values[i], Value::Absent)?,
                (None, _) => return None,
            }
        }
        // An earlier record's id must not outlive a record without one.
        if let (Some(id), false) = (id, id_seen) {
            *id = None;
        }
        self.depth -= 1;
        Some(())
    }

    /// The key that comes next, after any space: one of the declared fields
    /// (looked for from `from` on, where the last field read left off, as an
    /// object's keys usually come in one order) or, if `with_id`, the id. The
    /// key is compared in place with each name: it is that name if the text
    /// has the name and then a quote.
    fn key(&mut self, specs: Specs<'_>, from: usize, with_id: bool) -> Option<Key> {
        self.expect(b'"')?;
        let rest = self.text.get(self.at..)?;
        if with_id && is_key(rest, ID_FIELD.as_bytes()) {
            // As the exact reading does: `id` is the id, whatever is declared.
            self.at += ID_FIELD.len() + 1;
            return Some(Key::Id);
        }
        // The matched name's length kept as it is compared, not looked up again.
        let mut length = 0;
        let i = specs.find_from(from, |name| {
            length = name.len();
            is_key(rest, name.as_bytes())
        })?;
        self.at += length + 1;
        Some(Key::Field(i))
    }

    /// The document's id: a text, a whole number as written, or `null`.
    fn id(&mut self, out: &mut Option<String>) -> Option<()> {
        self.skip_space();
        let text = match self.peek()? {
            b'"' => self.string()?,
            b'n' if self.word("null") => {
                *out = None;
                return Some(());
            }
            b'1'..=b'9' => {
                let start = self.at;
                self.at += digits(self.text.get(start..)?)?.1;
                let ends_well = !matches!(self.peek(), Some(b'.' | b'e' | b'E'));
                ends_well.then_some(())?;
                text_of(self.text.get(start..self.at)?)?
            }
            _ => return None,
        };
        // Written over the earlier record's id, in its allocation.
        match out {
            Some(id) => {
                id.clear();
                id.push_str(text);
            }
            None => *out = Some(text.to_string()),
        }
        Some(())
    }
}

/// Whether `text` starts with `name` and then a quote. Compared in place, a
/// word at a time: the slices' `==` calls `memcmp`, whose call cost more than
/// the comparison of a key of a few bytes (3% of a batch's time, sampled).
#[inline(always)]
fn is_key(text: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    if text.get(n) != Some(&b'"') {
        return false;
    }
    let text = &text[..n];
    let same_8 = |at: usize| bytes_at::<8>(text, at) == bytes_at::<8>(name, at);
    let same_4 = |at: usize| bytes_at::<4>(text, at) == bytes_at::<4>(name, at);
    // Words that overlap where the name's length is not a multiple of theirs.
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if !same_8(at) {
                return false;
            }
            at += 8;
        }
        return same_8(n - 8);
    }
    if n >= 4 {
        return same_4(0) && same_4(n - 4);
    }
    text.iter().zip(name).all(|(a, b)| a == b)
}

/// The `N` bytes of `bytes` from `at`, to compare as one word; zeros past its
/// end, which [`is_key`] never reads.
#[inline(always)]
fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    (bytes.get(at..at + N))
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// [`takes_number`] for a number read as its digits, `mantissa` and `scale`:
/// a whole one checked against the field's whole bounds as it is, with no
/// `Decimal` made; a list's item (no `spec`) has no bounds.
#[inline(always)]
fn takes_digits(ty: &Type, spec: Option<&FieldSpec>, mantissa: i64, scale: u32) -> bool {
    const EVERY_WHOLE: std::ops::RangeInclusive<i64> = i64::MIN..=i64::MAX;
    match (
        scale,
        spec.map_or(Some(&EVERY_WHOLE), |s| s.whole_bounds.as_ref()),
    ) {
        (0, Some(bounds)) => bounds.contains(&mantissa),
        _ => takes_number(
            ty,
            spec.and_then(|s| s.range.as_ref()),
            decimal(mantissa, scale),
        ),
    }
}

/// The items of `buffer`, moved into a slice of their own (one allocation);
/// the buffer is left empty, its room kept. A copy of the bytes: `collect`
/// moved each value through the stack, where reading it back stalled (a tenth
/// of the reader's time, sampled).
fn share(buffer: &mut Vec<Value>) -> Arc<[Value]> {
    let mut shared = Arc::<[Value]>::new_uninit_slice(buffer.len());
    let slots = Arc::get_mut(&mut shared).expect("a new slice is not shared");
    // SAFETY: the values are moved, bytes and all, into as many slots of
    // their own, which are then all set; the buffer forgets them (its length
    // is 0 before anything else can run).
    unsafe {
        std::ptr::copy_nonoverlapping(buffer.as_ptr(), slots.as_mut_ptr().cast(), slots.len());
        buffer.set_len(0);
        shared.assume_init()
    }
}

/// Writes `value` into `out`, dropping an earlier record's value there.
#[inline(always)]
fn put(out: &mut Value, value: Value) -> Option<()> {
    match out.is_absent() {
        // Nothing to drop: no call to drop the absent value.
        true => std::mem::forget(std::mem::replace(out, value)),
        false => *out = value,
    }
    Some(())
}

/// The fields of the record `out` holds, to be read over, if it is a record
/// of `fields` fields that no one else holds.
fn unique_record(out: &mut Value, fields: usize) -> Option<&mut [Value]> {
    match out {
        Value::Record(r) => Arc::get_mut(r).filter(|slots| slots.len() == fields),
        _ => None,
    }
}

/// The items of the list (`as_set`, set) `out` holds, to be read over, if
/// no one else holds it.
fn unique_items(out: &mut Value, as_set: bool) -> Option<&mut [Value]> {
    match out {
        Value::Set(items) if as_set => Arc::get_mut(items),
        Value::List(items) if !as_set => Arc::get_mut(items),
        _ => None,
    }
}

/// A list's items as a set (`as_set`) or a list.
fn list_of(as_set: bool, items: Arc<[Value]>) -> Value {
    match as_set {
        true => Value::Set(items),
        false => Value::List(items),
    }
}

/// The decimal of `mantissa` and `scale` (at most 18), built from its parts
/// where it is needed rather than in memory by a call.
#[inline(always)]
fn decimal(mantissa: i64, scale: u32) -> Decimal {
    let magnitude = mantissa.unsigned_abs();
    let (lo, mid) = (magnitude as u32, (magnitude >> 32) as u32);
    Decimal::from_parts(lo, mid, 0, mantissa < 0, scale)
}

/// The number `bytes` start with, as a mantissa and a scale, and how many
/// bytes it takes: digits, with a sign and a point at most, read as the exact
/// reading reads them (a fraction's last zeros hold no digit). `None` for what
/// that reading would read otherwise or not at all: more than 18 digits, a
/// leading zero (not JSON), an exponent, `-0`.
#[inline(always)]
fn number(bytes: &[u8]) -> Option<(i64, u32, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let mut at = usize::from(negative);
    let (whole, whole_digits) = digits(&bytes[at..])?;
    let leading_zero = whole_digits > 1 && bytes[at] == b'0';
    at += whole_digits;
    let (mut mantissa, mut scale) = (whole, 0u32);
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let (mut fraction, digits) = digits(&bytes[at..])?;
        at += digits;
        if whole_digits + digits > 18 {
            return None;
        }
        let mut fraction_digits = digits as u32;
        while fraction_digits > 0 && fraction % 10 == 0 {
            fraction /= 10;
            fraction_digits -= 1;
        }
        mantissa = whole * 10u64.pow(fraction_digits) + fraction;
        scale = fraction_digits;
    }
    let exponent = matches!(bytes.get(at), Some(b'e' | b'E'));
    if leading_zero || exponent || (negative && mantissa == 0) {
        return None;
    }
    let signed = if negative {
        -(mantissa as i64)
    } else {
        mantissa as i64
    };
    Some((signed, scale, at))
}

/// One digit or more at the start of `bytes`, as a number and a count; `None`
/// past 18 digits, which might not fit. The first eight bytes, where there
/// are eight, are read as one word ([`leading_digits`]): the digits of an
/// amount (`25878606`) were a loop of a byte a turn, 3% of a stream's time.
#[inline(always)]
pub(super) fn digits(bytes: &[u8]) -> Option<(u64, usize)> {
    match bytes.first_chunk::<8>() {
        Some(word) => match leading_digits(u64::from_le_bytes(*word)) {
            (_, 0) => None,
            (n, 8) => digits_from(bytes, n, 8),
            (n, count) => Some((n, count)),
        },
        None => digits_from(bytes, 0, 0),
    }
}

/// The digits that come first in the eight bytes of `word` (the first byte
/// the lowest), as a number and a count, 0 to 8: all eight at once, in the
/// way of Lemire's "parse eight digits" (SWAR), without a branch a byte.
#[inline(always)]
fn leading_digits(word: u64) -> (u64, usize) {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    // Each byte less '0': a byte below '0' borrows from the bytes after it
    // only, and a byte past '9' carries into them only, so the bytes before
    // the first that is no digit hold their digits.
    let less_zero = word.wrapping_sub(ZEROS);
    let no_digit = (less_zero | less_zero.wrapping_add(0x7676_7676_7676_7676)) & HIGH_BITS;
    let count = (no_digit.trailing_zeros() / 8) as usize;
    if count == 0 {
        return (0, 0);
    }
    // The digits moved to the top, zeros before them: `123` is `00000123`.
    let d = less_zero << (8 * (8 - count));
    let pairs = d.wrapping_mul(10).wrapping_add(d >> 8);
    const EVERY_FOURTH: u64 = 0x0000_00FF_0000_00FF;
    let high = (pairs & EVERY_FOURTH).wrapping_mul(100 + (1_000_000 << 32));
    let low = ((pairs >> 16) & EVERY_FOURTH).wrapping_mul(1 + (10_000 << 32));
    (high.wrapping_add(low) >> 32, count)
}

/// [`digits`] from byte `from` on, `n` the number the bytes before it make.
#[inline(always)]
fn digits_from(bytes: &[u8], mut n: u64, from: usize) -> Option<(u64, usize)> {
    for (count, byte) in bytes.iter().enumerate().skip(from) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return (count > 0).then_some((n, count));
        }
        if count == 18 {
            return None;
        }
        n = n * 10 + u64::from(digit);
    }
    (!bytes.is_empty()).then_some((n, bytes.len()))
}

/// The bytes as text, if they are UTF-8. A string of a facts record is
/// nearly always ASCII (an id, a type's code): checked as such inline, where
/// a call of `str::from_utf8` for each string cost as much as checking the
/// whole line (some 170 instructions a record, counted).
#[inline(always)]
fn text_of(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// How many bytes come before the first quote, backslash or control character:
/// eight at a time, as serde_json scans its strings (a byte-by-byte loop was a
/// tenth of a record's instructions).
fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    // Sets the high bit of the bytes of `word` below `limit` (and of none
    // before the first): the classic test for a zero byte, after a subtraction.
    let below =
        |word: u64, limit: u8| word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGH_BITS;
    let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = equal(word, b'"') | equal(word, b'\\') | below(word, 0x20);
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    let tail = bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
    at + tail.unwrap_or(bytes.len() - at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::lower::Compiled;
    use crate::policy::{compile, PolicySource};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn bundled() -> &'static Compiled {
        static COMPILED: OnceLock<Compiled> = OnceLock::new();
        COMPILED.get_or_init(|| {
            let date = Date::parse("2025-06-01").unwrap();
            compile(&PolicySource::bundled(), date).unwrap()
        })
    }

    /// The facts as Debug writes them, which shows a decimal's scale (`1.50`
    /// and `1.5` are equal numbers but are written differently).
    fn scanned(text: &str) -> Option<String> {
        read(&bundled().program, text).map(|f| format!("{f:?}"))
    }

    fn by_serde(text: &str) -> Option<String> {
        let read = super::super::read_with_serde(&bundled().program, text);
        read.ok().map(|f| format!("{f:?}"))
    }

    /// The entities of tests/corpus and examples/, and a generated population,
    /// one JSON line each.
    fn documents() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut lines = Vec::new();
        for dir in ["tests/corpus", "examples"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy();
                if name.ends_with(".json") && name != "expected.json" {
                    let doc: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    lines.push(doc.to_string());
                }
            }
        }
        let catalogue = crate::generate::Catalogue::from_program(&bundled().program).unwrap();
        let mut out = Vec::new();
        crate::generate::generate(&catalogue, 500, 11, &mut out).unwrap();
        lines.extend(String::from_utf8(out).unwrap().lines().map(str::to_string));
        lines
    }

    #[test]
    fn a_key_is_its_name_and_then_a_quote() {
        let expected = |text: &[u8], name: &[u8]| {
            text.get(name.len()) == Some(&b'"') && text.starts_with(name)
        };
        // Every length the comparison's words split differently, and past them.
        for n in 0usize..40 {
            let name: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let quoted = [&name[..], b"\":1"].concat();
            let mut texts = vec![
                quoted.clone(),
                name.clone(),
                [&name[..], b"s\""].concat(),
                quoted[..n.saturating_sub(1)].to_vec(),
                [&name[..n.saturating_sub(1)], b"\""].concat(),
            ];
            for i in 0..n {
                let mut changed = quoted.clone();
                changed[i] ^= 0x20;
                texts.push(changed);
            }
            for text in &texts {
                assert_eq!(
                    is_key(text, &name),
                    expected(text, &name),
                    "{:?} against {:?}",
                    String::from_utf8_lossy(text),
                    String::from_utf8_lossy(&name)
                );
            }
            assert!(is_key(&quoted, &name), "length {n}");
        }
    }

    #[test]
    fn reads_every_record_of_the_corpus_and_a_population_as_serde_json_does() {
        let documents = documents();
        assert!(documents.len() > 500);
        for text in &documents {
            let scanned = scanned(text);
            assert!(scanned.is_some(), "the reader gave up on {text}");
            assert_eq!(scanned, by_serde(text), "{text}");
        }
    }

    const RECORD: &str = r#"{"id": "r-1", "entity_types": ["I.1.a.2"],
        "size": {"staff": 120, "turnover_eur": 30000000, "balance_sheet_eur": 20000000},
        "partners": [{"share_pct": 30, "staff": 4, "turnover_eur": 8, "balance_sheet_eur": 6}],
        "identified_by_authority": {"comma": 9, "criteria": ["a"]}}"#;

    /// A generated entity's record with `field` set to `value`.
    fn record_with(field: &str, value: serde_json::Value) -> String {
        let catalogue = crate::generate::Catalogue::from_program(&bundled().program).unwrap();
        let mut rng = crate::generate::Rng::new(7);
        let mut doc = crate::generate::entity(&mut rng, &catalogue, "e".into());
        doc[field] = value;
        doc.to_string()
    }

    #[test]
    fn a_thread_keeps_no_list_buffer_grown_by_an_unusually_long_list() {
        let partner = serde_json::json!({"balance_sheet_eur": 1, "share_pct": 30,
            "staff": 1, "turnover_eur": 1});
        let text = record_with("partners", serde_json::Value::Array(vec![partner; 5000]));
        let facts = read(&bundled().program, &text).expect("read");
        let partners = facts.values.iter().find_map(|v| match v {
            Value::List(items) if items.len() == 5000 => Some(items.len()),
            _ => None,
        });
        assert_eq!(partners, Some(5000));
        let kept = BUFFERS.take();
        assert!(kept
            .iter()
            .all(|b| b.is_empty() && b.capacity() <= KEPT_LIST_ITEMS));
    }

    #[test]
    fn a_list_given_up_on_leaves_its_buffer_empty_for_the_next_record() {
        let text = record_with("entity_types", serde_json::json!(["I.9.2", "I.9.2"]));
        assert!(
            read(&bundled().program, &text).is_none(),
            "a set with a repeat"
        );
        let kept = BUFFERS.take();
        assert!(kept.iter().all(Vec::is_empty));
        assert!(kept.iter().any(|b| b.capacity() >= 2), "{kept:?}");
    }

    #[test]
    fn reads_numbers_with_a_point_exactly() {
        for (written, read) in [("1234.50", "1234.5"), ("250.000", "250"), ("0.05", "0.05")] {
            let text = RECORD.replace("30000000", written);
            let facts = read_with_check(&text);
            let size = &facts.values[bundled().program.fact_by_name("size").unwrap().index()];
            let Value::Record(fields) = size else {
                panic!("{size:?}")
            };
            assert_eq!(fields[1], Value::Num(read.parse().unwrap()), "{written}");
        }
    }

    fn read_with_check(text: &str) -> Facts {
        assert_eq!(scanned(text), by_serde(text), "{text}");
        read(&bundled().program, text).unwrap()
    }

    /// The digits read eight at a time are those a byte-at-a-time reading
    /// finds: every count of digits from 0 to 20, followed by each kind of
    /// byte that ends a number (or by nothing), at each length of input.
    #[test]
    fn digits_read_as_a_word_are_those_read_a_byte_at_a_time() {
        let one_at_a_time = |bytes: &[u8]| -> Option<(u64, usize)> {
            let count = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            let n =
                (bytes[..count].iter()).fold(0u64, |n, b| n.wrapping_mul(10) + u64::from(b - b'0'));
            (1..=18).contains(&count).then_some((n, count))
        };
        for count in 0..=20 {
            let number: String = (0..count)
                .map(|i| char::from(b"9081726354"[i % 10]))
                .collect();
            for end in [
                "",
                ",",
                "}",
                ".5",
                "e3",
                " ",
                "/",
                ":",
                "\u{ff}",
                "\"",
                "0123456789",
            ] {
                let text = format!("{number}{end}");
                let expected = one_at_a_time(text.as_bytes());
                assert_eq!(digits(text.as_bytes()), expected, "{text:?}");
            }
        }
        for word in [
            *b"00000000",
            *b"99999999",
            *b"1/2:3;4<",
            *b"5\xff6\x007\x8f89",
        ] {
            assert_eq!(digits(&word), one_at_a_time(&word), "{word:?}");
        }
    }

    /// A whole number is compared with whole bounds as an integer
    /// (`ast::Range::contains`): the bounds themselves are in (`between 0
    /// and 100`, `at least 0`), the numbers next to them out, and a fraction
    /// still goes by the decimal comparison; each as serde_json's reading
    /// reads it.
    #[test]
    fn numbers_at_their_bounds_are_in_and_past_them_out() {
        for share in ["0", "100", "100.0", "99.5", "0.01"] {
            let text = RECORD.replacen("30, ", &format!("{share}, "), 1);
            assert!(scanned(&text).is_some(), "{text}");
            read_with_check(&text);
        }
        for share in ["101", "100.5", "-1", "-0.5", "9223372036854775807"] {
            let text = RECORD.replacen("30, ", &format!("{share}, "), 1);
            assert_eq!(scanned(&text), None, "{text}");
        }
        // `comma: int one of 6, 8, 9 or 10`: its listed values only.
        for (comma, taken) in [("6", true), ("10", true), ("7", false), ("8.5", false)] {
            let text = RECORD.replacen("\"comma\": 9", &format!("\"comma\": {comma}"), 1);
            assert_eq!(scanned(&text).is_some(), taken, "{text}");
        }
    }

    /// Each of these is a case the serde_json reading answers, with a value or
    /// an error, in a way this reader does not attempt.
    #[test]
    fn gives_up_on_what_it_does_not_read() {
        assert!(scanned(RECORD).is_some());
        let edits = [
            ("\"r-1\"", "\"r\\u002d1\""),                         // an escape
            ("120", "1.2e2"),                                     // an exponent
            ("120", "-0"),                                        // a negative zero
            ("120", "0120"),                                      // a leading zero: not JSON
            ("120", "120."),                // a point without digits: not JSON
            ("120", "-5"),                  // out of range: at least 0
            ("30, ", "101, "),              // out of range: between 0 and 100
            ("9,", "9.5,"),                 // a fraction for an int
            ("9,", "\"9\","),               // an int written as text
            ("120", "1234567890123456789"), // more than 18 digits
            ("[\"a\"]", "[\"a\", \"a\"]"),  // a repeated entry of a set
            ("\"I.1.a.2\"", "\"I.99\""),    // no such table key
            ("\"id\"", "\"ID\""),           // an unknown key
            ("\"staff\": 120, ", ""),       // a required field missing
            ("\"staff\": 120", "\"staff\": 120, \"staff\": 120"), // a repeated key
            ("\"r-1\"", "true"),            // an id that is not a text or a number
            ("\"r-1\"", "\"r\u{1}\""),      // a control character
        ];
        for (from, to) in edits {
            assert!(RECORD.contains(from), "{from}");
            let text = RECORD.replacen(from, to, 1);
            assert_eq!(scanned(&text), None, "{text}");
        }
        for text in [
            format!("{RECORD} x"),
            format!("[{RECORD}]"),
            RECORD.replacen("{", "{\"critical_entity\": null, ", 1),
            String::new(),
        ] {
            assert_eq!(scanned(&text), None, "{text}");
        }
    }

    /// A record type may hold itself: the reader goes as deep as serde_json
    /// (128 lists and objects), and gives up deeper, where its recursion could
    /// run out of stack (found by review).
    #[test]
    fn gives_up_on_records_nested_deeper_than_serde_json_reads() {
        let mut source = PolicySource::default();
        let policy = "act t {\n  cited as \"L. 1/2024\"\n  in force from 2024-01-01\n}\n\
                      record Node { children: list of Node default [] }\n\
                      fact node: optional Node\n";
        source.add("policies/t/act.law", policy);
        let c = compile(&source, Date::parse("2024-06-01").unwrap()).unwrap();
        let nested = |levels: usize| {
            let open = "{\"children\": [".repeat(levels);
            format!("{{\"node\": {open}{}}}", "]}".repeat(levels))
        };
        for levels in [1, 40, 49, 50, 63, 64, 100, 5000] {
            let text = nested(levels);
            let serde = super::super::read_with_serde(&c.program, &text).ok();
            let scanned = read(&c.program, &text);
            match levels {
                ..=49 => assert!(scanned.is_some(), "{levels}"),
                _ => assert!(scanned.is_none(), "{levels}"),
            }
            if let Some(facts) = scanned {
                assert_eq!(Some(format!("{facts:?}")), serde.map(|f| format!("{f:?}")));
            }
        }
    }

    /// Edits that a record may meet: the bytes of JSON's syntax, of numbers,
    /// escapes, control and non-ASCII characters.
    fn edit() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "", "\"", "\\", ",", ":", "{", "}", "[", "]", "-", ".", "0", "7", "e", " ", "\n",
            "null", "true", "\u{1}", "é", "\"a\"", "1.50", "-3",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        /// Whatever the reader accepts, serde_json reads to the same facts.
        #[test]
        fn accepts_nothing_that_serde_json_reads_otherwise(
            line in 0usize..500,
            at in 0.0f64..1.0,
            cut in 0usize..4,
            insert in edit(),
        ) {
            let documents = documents_once();
            let base = &documents[line % documents.len()];
            let mut at = (at * base.len() as f64) as usize;
            while !base.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(base.len());
            while !base.is_char_boundary(end) {
                end += 1;
            }
            let text = format!("{}{insert}{}", &base[..at], &base[end..]);
            if let Some(facts) = scanned(&text) {
                prop_assert_eq!(Some(facts), by_serde(&text), "{}", text);
            }
        }

        /// Numbers of every shape in a money field.
        #[test]
        fn reads_numbers_as_serde_json_does(
            number in "-?[0-9]{1,21}(\\.[0-9]{0,21})?([eE]-?[0-9]{1,2})?"
        ) {
            let text = RECORD.replace("30000000", &number);
            if let Some(facts) = scanned(&text) {
                prop_assert_eq!(Some(facts), by_serde(&text), "{}", text);
            }
        }
    }

    /// The buffers lists are read into are kept from one record to the next:
    /// a record given up on inside a list leaves nothing in them for the next.
    #[test]
    fn reads_a_record_right_after_giving_up_inside_a_list() {
        let repeated = RECORD.replacen("[\"a\"]", "[\"a\", \"a\"]", 1);
        let cut = &RECORD[..RECORD.find("\"staff\": 4").unwrap()];
        let bad_entry = RECORD.replacen("\"I.1.a.2\"", "\"I.1.a.2\", \"I.99\"", 1);
        for text in [repeated.as_str(), cut, &bad_entry] {
            assert_eq!(scanned(text), None, "{text}");
            assert_eq!(scanned(RECORD), by_serde(RECORD));
        }
    }

    /// The text of `documents[i]`, or of one of the edits that make the
    /// reading give up or change the record's shape: a field or the id left
    /// out, a list cut to `cut` items, an optional record null, a value of the
    /// wrong type, a line cut in two, and two that this reader leaves to
    /// serde_json (an escaped id, a number with an exponent).
    fn variant(documents: &[String], i: usize, edit: usize, cut: usize) -> String {
        let mut doc: serde_json::Value =
            serde_json::from_str(&documents[i % documents.len()]).unwrap();
        let object = doc.as_object_mut().unwrap();
        match edit {
            0 => drop(object.remove("id")),
            1 => drop(object.insert("id".into(), serde_json::json!(i))),
            2 => drop(object.remove("previous_size")),
            3 => drop(object.insert("safeguard_clause".into(), serde_json::Value::Null)),
            4 => {
                if let Some(list) = object.get_mut("partners").and_then(|p| p.as_array_mut()) {
                    list.truncate(cut);
                }
            }
            5 => drop(object.insert("size".into(), serde_json::json!({"staff": "x"}))),
            6 => {
                let text = doc.to_string();
                return text[..text.len() / 2].to_string();
            }
            7 => {
                object.insert("id".into(), serde_json::json!("r-1"));
                return doc.to_string().replace("\"r-1\"", "\"r\\u002d1\"");
            }
            8 => {
                if let Some(size) = object.get_mut("size").and_then(|s| s.as_object_mut()) {
                    size.insert("staff".into(), serde_json::json!(123456789));
                }
                return doc.to_string().replace("123456789", "1.23456789e8");
            }
            _ => {}
        }
        doc.to_string()
    }

    proptest! {
        /// Records read one over another, as a stream reads them into the
        /// facts a results-only evaluator gives back, are read as each alone
        /// is: the same values, the same errors, the same results, nothing of
        /// an earlier record left, and nothing that someone else holds (a
        /// value kept by the caller, a result) changed.
        #[test]
        fn a_record_read_over_another_is_read_as_it_is_alone(
            picks in prop::collection::vec((0usize..1000, 0usize..10, 0usize..3, any::<bool>()), 2..12),
        ) {
            let documents = documents_once();
            let compiled = bundled();
            let program = &compiled.program;
            let mut evaluator = crate::eval::Evaluator::new(compiled).results_only();
            let mut facts = Facts::default();
            let mut kept: Vec<(Value, String)> = Vec::new();
            for (i, edit, cut, keep) in picks {
                let text = variant(documents, i, edit, cut);
                let over = super::super::load_facts_from_str_into(program, &text, &mut facts);
                let alone = super::super::load_facts_from_str(program, &text);
                let alone = match alone {
                    Ok(alone) => alone,
                    Err(e) => {
                        let over = over.map_err(|e| format!("{e:?}"));
                        prop_assert_eq!(over, Err(format!("{e:?}")), "{}", text);
                        prop_assert_eq!(&facts, &Facts::default(), "left empty on an error");
                        continue;
                    }
                };
                prop_assert!(over.is_ok(), "{}", text);
                prop_assert_eq!(format!("{facts:?}"), format!("{alone:?}"), "{}", text);
                if keep {
                    let value = facts.values[i % facts.values.len()].clone();
                    kept.push((value.clone(), format!("{value:?}")));
                }
                evaluator.run_in_place(facts).unwrap();
                let mut fresh = crate::eval::Evaluator::new(compiled).results_only();
                let want = fresh.run(alone).unwrap();
                let got: Vec<Value> = (0..want.len()).map(|k| evaluator.result(k).clone()).collect();
                prop_assert_eq!(got, want, "{}", text);
                facts = evaluator.take_facts().unwrap_or_default();
            }
            for (value, was) in kept {
                prop_assert_eq!(format!("{value:?}"), was);
            }
        }
    }

    /// A record read over another of the same shape is read into its
    /// allocations; one that someone else holds (an evaluator's result, a
    /// clone kept by the caller) is left as it was, and a new one is made.
    #[test]
    fn a_record_is_read_into_the_last_ones_allocations_that_no_one_else_holds() {
        let program = &bundled().program;
        let fact = |name: &str| {
            program
                .facts
                .iter()
                .position(|f| f.spec.name == name)
                .unwrap()
        };
        let (size, types, partners) = (fact("size"), fact("entity_types"), fact("partners"));
        let address = |v: &Value| match v {
            Value::Record(r) | Value::Set(r) | Value::List(r) => Arc::as_ptr(r) as *const u8,
            _ => panic!("not a record or list: {v:?}"),
        };
        // The record `size`, the set of types, the list of partners and the
        // record in it.
        let allocations = |facts: &Facts| {
            let Value::List(list) = &facts.values[partners] else {
                panic!("partners is a list")
            };
            let v = &facts.values;
            [&v[size], &v[types], &v[partners], &list[0]].map(address)
        };
        let mut facts = read(program, RECORD).unwrap();
        let before = allocations(&facts);
        let size_at = before[0];
        let other = RECORD.replacen("\"staff\": 120", "\"staff\": 121", 1);
        read_into(program, &other, &mut facts).unwrap();
        assert_eq!(allocations(&facts), before, "each in its own allocation");
        assert_eq!(
            format!("{facts:?}"),
            format!("{:?}", read(program, &other).unwrap())
        );

        let kept = facts.values[size].clone();
        read_into(program, RECORD, &mut facts).unwrap();
        assert_ne!(
            address(&facts.values[size]),
            size_at,
            "a record held elsewhere is not written over"
        );
        assert_eq!(
            kept,
            read(program, &other).unwrap().values[size],
            "and is as it was"
        );
        assert_eq!(
            format!("{facts:?}"),
            format!("{:?}", read(program, RECORD).unwrap())
        );
    }

    /// What a line's reading took and read, as Debug writes the facts.
    fn line_read(bytes: &[u8]) -> Option<(usize, String)> {
        let mut facts = Facts::default();
        let taken = read_line_into(&bundled().program, bytes, &mut facts)?;
        Some((taken, format!("{facts:?}")))
    }

    #[test]
    fn a_line_is_read_as_its_text_alone_and_ends_at_its_newline() {
        let next = "{\"id\": \"next\"}\n";
        for text in documents_once() {
            let alone = scanned(text).unwrap();
            for end in ["\n", " \t\r\n", "\r\n"] {
                let line = format!("{text}{end}");
                let bytes = format!("{line}{next}");
                let read = line_read(bytes.as_bytes());
                assert_eq!(read, Some((line.len(), alone.clone())), "{text:?}{end:?}");
            }
            // The last line of the input, without a newline.
            assert_eq!(line_read(text.as_bytes()), Some((text.len(), alone)));
        }
    }

    #[test]
    fn a_line_is_given_up_where_its_record_does_not_end_it() {
        let doc: serde_json::Value = serde_json::from_str(RECORD).unwrap();
        let one_line = doc.to_string();
        assert!(line_read(one_line.as_bytes()).is_some());
        let given_up = [
            // A record over two lines is two bad lines, not one record.
            serde_json::to_string_pretty(&doc).unwrap(),
            one_line.replacen(',', ",\n", 1),
            // Something after the record on its line.
            format!("{one_line} x\n"),
            format!("{one_line}{one_line}\n"),
            // A control character in a string.
            one_line.replacen("r-1", "r-\u{1}", 1),
            // Blanks only: the batch's own reading skips them.
            " \r\n".to_string(),
        ];
        for text in &given_up {
            assert_eq!(line_read(text.as_bytes()), None, "{text:?}");
        }
        // A byte that is not UTF-8, in a string or outside one.
        let at = one_line.find("r-1").unwrap();
        let mut in_string = one_line.clone().into_bytes();
        in_string[at + 1] = 0xff;
        assert_eq!(line_read(&in_string), None);
        let outside = [&[0xffu8][..], one_line.as_bytes()].concat();
        assert_eq!(line_read(&outside), None);
    }

    #[test]
    fn a_line_reads_text_beyond_ascii_as_the_document_reading_does() {
        let text = RECORD
            .replacen("r-1", "r-\u{e0}-\u{1F600}", 1)
            .replace('\n', " ");
        let (taken, read) = line_read(text.as_bytes()).unwrap();
        assert_eq!((taken, Some(read)), (text.len(), scanned(&text)));
        assert!(scanned(&text).unwrap().contains("r-\u{e0}-\u{1F600}"));
    }

    fn documents_once() -> &'static [String] {
        static DOCUMENTS: OnceLock<Vec<String>> = OnceLock::new();
        DOCUMENTS.get_or_init(documents)
    }
}
