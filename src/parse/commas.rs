//! The help for a missing comma: two items of a list written one after the
//! other. pest reports what could have continued the first item (`and`, an
//! operator, the closing bracket), which is true but does not point at the
//! comma; the place and the enclosing construct say which list it is.

use super::hints::is_reserved;

/// The help when the item at `pos` follows another item with no `,` between
/// them, in a function's arguments, a list or record written in the rules, a
/// table row, a `given` continued on the next line, or `overrides`.
/// `expected`: what the grammar would have taken at `pos`; a `:` there (a
/// record's field without one) is not a missing comma.
pub(super) fn missing_comma(expected: &[&str], text: &str, pos: usize) -> Option<String> {
    let rest = &text[pos..];
    if expected.contains(&"`:`")
        || !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || "\"[{(-".contains(c))
    {
        return None;
    }
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let before_on_line = text[line_start..pos].trim_end();
    if before_on_line.trim().is_empty() {
        return given_continued(text, line_start, rest);
    }
    if !before_on_line.ends_with(|c: char| c.is_ascii_alphanumeric() || "_\")]}".contains(c)) {
        return None;
    }
    let item = first_item(rest);
    let bracket = innermost_open(text, pos);
    if let Some(help) = bracket.and_then(|b| in_brackets(text, b, item)) {
        return Some(help);
    }
    let line = before_on_line.trim_start();
    if line.starts_with('"') && line.contains("\":") {
        return Some(format!(
            "a comma is missing between the values of a table row: add `,` before `{item}`"
        ));
    }
    if line.starts_with("given ") && assigned_name(rest).is_some() {
        return Some(format!(
            "a comma is missing between the facts of a `given`: add `,` before `{item}`"
        ));
    }
    let last_keyword = line.split_whitespace().rev().find(|w| is_reserved(w));
    (last_keyword == Some("overrides")).then(|| {
        format!(
            "a comma is missing between the rules that `overrides` names: add `,` before `{item}`"
        )
    })
}

/// The help for a list inside the bracket at `bracket`.
fn in_brackets(text: &str, bracket: usize, item: &str) -> Option<String> {
    let before = text[..bracket].trim_end();
    match text.as_bytes()[bracket] {
        b'(' if before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') => {
            let function = before
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            // `when (`, `and (`, `not (`: brackets that group, not a call.
            if is_reserved(function) {
                return None;
            }
            Some(format!(
                "a comma is missing between the arguments of `{function}(…)`: add `,` before `{item}`"
            ))
        }
        b'[' => Some(format!(
            "a comma is missing between the entries of a list: add `,` before `{item}`"
        )),
        // A record or set written in a `given` or an expression, not a block.
        b'{' if before.ends_with(['=', ',', '[', ':']) => Some(format!(
            "a comma is missing between the fields of a record: add `,` before `{item}`"
        )),
        _ => None,
    }
}

/// A line that starts `name =` after lines of a `given`: the comma that would
/// have continued the `given` is missing at the end of the line before.
fn given_continued(text: &str, line_start: usize, rest: &str) -> Option<String> {
    let name = assigned_name(rest)?;
    if text.contains(&format!("outcome {name}:")) {
        return Some(format!(
            "`{name}` is an outcome, not a fact: write `expect {name} = …` to check its value"
        ));
    }
    let earlier = text[..line_start.saturating_sub(1)].lines().rev();
    let mut previous_line = None;
    for (back, line) in earlier.enumerate() {
        let words = line.split_whitespace().next().unwrap_or("");
        if words.is_empty() {
            continue;
        }
        previous_line.get_or_insert(back);
        if is_reserved(words) {
            if words != "given" {
                return None;
            }
            let number = text[..line_start].matches('\n').count() - previous_line?;
            return Some(format!(
                "a `given` goes on to the next line only after a comma: end line {number} with `,`"
            ));
        }
    }
    None
}

/// The name of `name = …` at the start of `rest`.
fn assigned_name(rest: &str) -> Option<&str> {
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let assigned = name_len > 0 && rest[name_len..].trim_start().starts_with('=');
    assigned.then(|| &rest[..name_len])
}

/// The start of the bracket still open at `pos`, outside texts and comments.
fn innermost_open(text: &str, pos: usize) -> Option<usize> {
    let mut open = Vec::new();
    for (i, b) in super::code_bytes(&text[..pos]) {
        match b {
            b'(' | b'[' | b'{' => open.push(i),
            b')' | b']' | b'}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

/// The item that starts `rest`, as it would follow the comma.
fn first_item(rest: &str) -> &str {
    let end = rest
        .find(|c: char| c.is_whitespace() || ",:()]}".contains(c))
        .unwrap_or(rest.len());
    &rest[..end.max(1)]
}

#[cfg(test)]
mod tests {
    use super::missing_comma;

    fn help(text: &str, at: &str) -> Option<String> {
        missing_comma(&[], text, text.find(at).expect("the place is in the text"))
    }

    #[test]
    fn names_the_list_a_comma_is_missing_from() {
        let call = help("  = max(m 2)", "2)").unwrap();
        assert!(call.contains("arguments of `max(…)`"), "{call}");
        let list = help("  when k in [a b]", "b]").unwrap();
        assert!(list.contains("entries of a list"), "{list}");
        let record = help("  given size = {staff: 5 turnover_eur: 1 EUR}", "turnover").unwrap();
        assert!(record.contains("fields of a record"), "{record}");
        let row = "table T \"t\" {\n  columns a: text, n: int\n  \"k\": \"v\" 1\n}\n";
        let row = help(row, "1\n").unwrap();
        assert!(row.contains("values of a table row"), "{row}");
        let overrides = help("  overrides r r2\n", "r2").unwrap();
        assert!(overrides.contains("before `r2`"), "{overrides}");
        let given = "example \"e\" {\n  given f = 2\n        g = 3\n}\n";
        let given = help(given, "g =").unwrap();
        assert!(given.contains("end line 2 with `,`"), "{given}");
    }

    #[test]
    fn tells_a_given_on_one_line_and_an_outcome_given_as_a_fact() {
        let one_line = help("  given a = 1 b = 2\n", "b =").unwrap();
        assert!(one_line.contains("facts of a `given`"), "{one_line}");
        let outcome =
            "outcome o: bool otherwise false\nexample \"e\" {\n  given a = 2\n  o = true\n}\n";
        let outcome = help(outcome, "o = true").unwrap();
        assert!(outcome.contains("`expect o = …`"), "{outcome}");
        let nested = help("  = max(a, 2 min(a, 3))", "min").unwrap();
        assert!(nested.contains("before `min`"), "{nested}");
    }

    #[test]
    fn says_nothing_where_no_comma_is_missing() {
        // Brackets after a keyword group; the mistake is the misspelt `and`.
        assert_eq!(help("  when (a > 1 adn b < 3)", "adn"), None);
        assert_eq!(help("  when not (a > 1 b > 2)", "b >"), None);
        // A record's field without its `:`.
        let record = "  given s = {staff: 5, t 1}";
        assert_eq!(
            missing_comma(&["`:`"], record, record.find("1}").unwrap()),
            None
        );
        assert_eq!(help("  when f > 1 then o\n", "then"), None);
        assert_eq!(help("act t {\n  cited as \"x\"\n", "cited"), None);
        let expect = "example \"e\" {\n  given f = 2,\n  expect o = true\n  g = 1\n}\n";
        assert_eq!(help(expect, "g = 1"), None);
        assert_eq!(help("  = f > 1 andd g", "g"), None);
    }
}
