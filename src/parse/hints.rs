//! The help line of a syntax error: what a drafter most likely wrote, from the
//! text at the error and what the grammar expected there.

use super::{LexnisParser, Rule};
use pest::Parser;

pub(super) fn syntax_help(expected: &[&str], text: &str, pos: usize) -> String {
    let pos = pos.min(text.len());
    let rest = &text[pos..];
    if rest.starts_with('\'') {
        return "strings are written between double quotes: \"like this\"".into();
    }
    if let Some(help) = unclosed_quote(rest)
        .or_else(|| unclosed_bracket(text, pos))
        .or_else(|| accented_name(text, pos))
        .or_else(|| reserved_name(expected, rest))
        .or_else(|| grouped_number(text, pos))
    {
        return help;
    }
    if expected.contains(&"a citation (cite \"art. N, c. N, lett. x)\")") {
        return "every rule and definition must say which provision it encodes: add a line `cite \"art. N, c. N\"` before `when` or `=`".into();
    }
    if expected.iter().any(|w| w.starts_with("a header")) {
        return "a rule file starts with `act ID { ... }` or `part of ID`".into();
    }
    "check the line against the examples in docs/language.md; a keyword may be misspelt or a quote, comma or brace missing".into()
}

/// `cite "art. 3, c. 2` with the closing quote left out.
fn unclosed_quote(rest: &str) -> Option<String> {
    let line = rest.lines().next()?;
    let after = line.strip_prefix('"')?;
    (!after.contains('"')).then(|| {
        "this double quote is not closed: a text in double quotes ends on the line it \
         starts; add the closing `\"`"
            .into()
    })
}

/// In a file whose brackets do not balance, the innermost bracket still open
/// where the error is: the place pest stops at is often far from it.
fn unclosed_bracket(text: &str, pos: usize) -> Option<String> {
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut open_at_error = None;
    for (i, b) in super::code_bytes(text) {
        if i >= pos && open_at_error.is_none() {
            open_at_error = open.last().copied();
        }
        match b {
            b'(' | b'[' | b'{' => open.push((b, i)),
            b')' | b']' | b'}' => {
                let opener = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if open.last().is_some_and(|(o, _)| *o == opener) {
                    open.pop();
                }
            }
            _ => {}
        }
    }
    if open.is_empty() {
        return None;
    }
    let (bracket, at) = open_at_error.or(open.last().copied())?;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..at].matches('\n').count() + 1;
    let column = text[line_start..at].chars().count() + 1;
    let closing = match bracket {
        b'(' => ')',
        b'[' => ']',
        _ => '}',
    };
    Some(format!(
        "the `{}` opened on line {line}, column {column} is never closed: add `{closing}` \
         where what it encloses ends",
        bracket as char
    ))
}

/// The word around `pos`: letters of any alphabet, digits and `_`.
fn word_around(text: &str, pos: usize) -> &str {
    let in_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = text[..pos]
        .char_indices()
        .rev()
        .take_while(|(_, c)| in_word(*c))
        .last()
        .map_or(pos, |(i, _)| i);
    let end = text[pos..]
        .char_indices()
        .find(|(_, c)| !in_word(*c))
        .map_or(text.len(), |(i, _)| pos + i);
    &text[start..end]
}

/// `qualità`: names are ASCII, as the facts documents' keys that match them.
fn accented_name(text: &str, pos: usize) -> Option<String> {
    let word = word_around(text, pos);
    if word.is_ascii() || !word.chars().any(char::is_alphabetic) {
        return None;
    }
    let plain: String = word.chars().map(plain_letter).collect();
    Some(format!(
        "names are written with the letters a-z and A-Z, digits and `_`, without accents: \
         write `{plain}` for `{word}` (descriptions in double quotes may use any letter)"
    ))
}

fn plain_letter(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'À' | 'Á' | 'Â' | 'Ä' => 'A',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'Ò' | 'Ó' | 'Ô' | 'Ö' => 'O',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ç' => 'c',
        'ñ' => 'n',
        c if c.is_ascii_alphanumeric() => c,
        _ => '_',
    }
}

/// `define when: ...`: a reserved word where a name was expected.
fn reserved_name(expected: &[&str], rest: &str) -> Option<String> {
    if !expected
        .iter()
        .any(|w| w.contains("name") || w.starts_with("parameters"))
    {
        return None;
    }
    let word = &rest[..rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len())];
    let keyword = LexnisParser::parse(Rule::keyword, word).ok()?;
    if keyword.as_str() != word {
        return None;
    }
    Some(format!(
        "`{word}` is a reserved word of the language and cannot be a name: choose another, \
         e.g. `{word}_date` or a word from the provision (docs/language.md, \"Reserved words\")"
    ))
}

/// `43.000.000 EUR` or `1.234,50`: thousands grouped the Italian way.
fn grouped_number(text: &str, pos: usize) -> Option<String> {
    let start = text[..pos]
        .rfind(|c: char| c.is_whitespace() || "=(,[{:".contains(c))
        .map_or(0, |i| i + 1);
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    let groups: Vec<&str> = token.split('.').collect();
    let grouped = groups.len() >= 2
        && groups.len() + usize::from(token.contains(',')) >= 3
        && groups[1..]
            .iter()
            .all(|g| g.split(',').next().is_some_and(|d| d.len() == 3));
    if !grouped {
        return None;
    }
    let (whole, cents) = token.split_once(',').unwrap_or((&token, ""));
    let digits = whole.replace('.', "_");
    let written = if cents.is_empty() {
        digits
    } else {
        format!("{digits}.{cents}")
    };
    Some(format!(
        "numbers group thousands with `_` and take `.` as the decimal point: write `{written}` \
         for `{token}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_a_drafter_wrote() {
        let text = "define qualità: decimal";
        assert!(accented_name(text, 13).unwrap().contains("`qualita`"));
        assert!(reserved_name(&["a name"], "when: decimal")
            .unwrap()
            .contains("`when` is a reserved word"));
        assert_eq!(reserved_name(&["a name"], "whenever: x"), None);
        let text = "  = 43.000.000 EUR";
        assert!(grouped_number(text, 11).unwrap().contains("`43_000_000`"));
        let text = "  = 1.234,50 EUR";
        assert!(grouped_number(text, 6).unwrap().contains("`1_234.50`"));
        assert_eq!(grouped_number("  = 12.5 EUR", 6), None);
        assert!(unclosed_quote("\"art. 3, c. 2\n").is_some());
        assert_eq!(unclosed_quote("\"art. 3\" when\n"), None);
        let text = "given size = {staff: 1,\n  x = 2\nexpect y = 1 # (\n";
        let help = unclosed_bracket(text, 30).unwrap();
        assert!(help.contains("`{` opened on line 1, column 14"), "{help}");
        let text = "example \"x\" {\n  given s = {a: 1,\n  expect y = 1\n}\n";
        let help = unclosed_bracket(text, 35).unwrap();
        assert!(help.contains("`{` opened on line 2, column 13"), "{help}");
        assert_eq!(unclosed_bracket("f(x) = [1]\n", 5), None);
    }
}
