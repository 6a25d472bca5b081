//! The help line of a syntax error: what a drafter most likely wrote, from the
//! text at the error and what the grammar expected there.

use super::{LexnisParser, Rule};
use pest::Parser;

/// The help when nothing more specific is known.
pub(super) const GENERIC: &str = "check the line against the examples in docs/language.md; a keyword may be misspelt or a quote, comma or brace missing";

/// A help that names the likely mistake at `pos`, if one is recognised.
/// `keywords`: the fixed words the grammar would have taken at `pos`.
pub(super) fn specific_help(
    expected: &[&str],
    keywords: &[&str],
    text: &str,
    pos: usize,
) -> Option<String> {
    let pos = pos.min(text.len());
    let rest = &text[pos..];
    if rest.starts_with('\'') {
        return Some("strings are written between double quotes: \"like this\"".into());
    }
    // An operator of two characters is found at its second one.
    let operator_start = pos - usize::from(text[..pos].ends_with(['=', '&', '|']));
    if let Some(help) = odd_character(rest)
        .or_else(|| operand_missing(text, pos))
        .or_else(|| other_language_operator(expected, text, operator_start))
        .or_else(|| hyphen_in_name(text, pos))
        .or_else(|| misspelt_keyword(keywords, rest))
        .or_else(|| unclosed_quote(rest))
        .or_else(|| unclosed_bracket(text, pos))
        .or_else(|| accented_name(text, pos))
        .or_else(|| reserved_name(expected, rest))
        .or_else(|| grouped_number(text, pos))
        .or_else(|| misplaced_overrides(rest, text, pos))
        .or_else(|| super::commas::missing_comma(expected, text, pos))
    {
        return Some(help);
    }
    None
}

/// A help from what the grammar expected alone, when no mistake is recognised
/// in the text and the furthest place pest reached says nothing better.
pub(super) fn expectation_help(
    expected: &[&str],
    keywords: &[&str],
    text: &str,
    pos: usize,
) -> Option<String> {
    let pos = pos.min(text.len());
    if expected.contains(&"a citation (cite \"art. N, c. N, lett. x)\")") && !cites(text, pos) {
        return Some("every rule and definition must say which provision it encodes: add a line `cite \"art. N, c. N\"` before `when` or `=`".into());
    }
    if expected.iter().any(|w| w.starts_with("a header")) {
        return Some("a rule file starts with `act ID { ... }` or `part of ID`".into());
    }
    if !keywords.is_empty() && keywords.len() == expected.len() {
        let words: Vec<String> = keywords.iter().map(|k| format!("`{k}`")).collect();
        return Some(format!("write one of: {}", words.join(", ")));
    }
    None
}

/// `when in_scope and` then `then …`: an operator whose right side is missing,
/// found where the next keyword, or the end, comes instead of it.
fn operand_missing(text: &str, pos: usize) -> Option<String> {
    const OPERATORS: [&str; 15] = [
        // The longer first: `<=` is not `=`.
        "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "and", "or", "not", "in", "where",
    ];
    let before = text[..pos].trim_end();
    let operator = OPERATORS.iter().find(|op| {
        before.ends_with(*op) && {
            let ahead = &before[..before.len() - op.len()];
            // A word operator stands alone (`and`, not the end of `brand`).
            !op.starts_with(|c: char| c.is_ascii_alphabetic())
                || !ahead.ends_with(|c: char| c.is_alphanumeric() || c == '_')
        }
    })?;
    let next = text[pos..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()?;
    let ends_here = next.is_empty() && text[pos..].trim().is_empty();
    if !(ends_here
        || matches!(
            next,
            "then" | "else" | "overrides" | "cite" | "rule" | "define" | "example"
        ))
    {
        return None;
    }
    let place = match next {
        "" => "the end of the file".to_string(),
        word => format!("`{word}`"),
    };
    Some(format!(
        "an expression is missing after `{operator}`, before {place}: complete the condition, \
         or remove `{operator}`"
    ))
}

/// `… then o overrides r`, or `overrides r` before `cite`: a rule cites its
/// provision first, then names the rules it prevails over before its
/// condition, as a lawyer states the exception before applying it.
fn misplaced_overrides(rest: &str, text: &str, pos: usize) -> Option<String> {
    let word = rest.split(|c: char| !c.is_ascii_alphanumeric()).next()?;
    // The declaration the error is in starts on the last line not indented.
    let start = (text[..pos].match_indices('\n'))
        .map(|(i, _)| i + 1)
        .rfind(|i| *i < pos && text[*i..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(0);
    let declaration = &text[start..pos];
    if word == "overrides" && declaration.starts_with("define ") {
        return Some(
            "`overrides` belongs to a rule, before its `when`: a definition has one value \
             and prevails over nothing"
                .into(),
        );
    }
    if word == "cite" && declaration.starts_with("rule ") && declaration.contains("overrides ") {
        return Some(
            "`cite` comes first, after the rule's name and description: move it above \
             `overrides`"
                .into(),
        );
    }
    if word != "overrides" || !declaration.starts_with("rule ") || !declaration.contains(" then ") {
        return None;
    }
    Some(match declaration.contains("overrides ") {
        true => "a rule names the rules it overrides once, before `when`: add these to its \
                 `overrides` line"
            .into(),
        false => {
            "`overrides` comes before `when`: move it to the line after the rule's `cite`".into()
        }
    })
}

/// Whether `word` is a reserved word of the language.
pub(super) fn is_reserved(word: &str) -> bool {
    LexnisParser::parse(Rule::keyword, word).is_ok_and(|k| k.as_str() == word)
}

/// A character a drafter cannot see, or one a word processor put in.
fn odd_character(rest: &str) -> Option<String> {
    // In the word at the error: `an\u{200B}d` fails at `an`.
    let mut word = rest.chars().take_while(|c| !c.is_ascii_whitespace());
    let c = word.find(|c| !c.is_ascii_alphanumeric() && !"_.,:;()[]{}=<>!+-*/\"#".contains(*c))?;
    let what = match (crate::source::unseen_character(c), c) {
        (Some(unseen), _) => unseen,
        (None, '\0') => "a NUL byte",
        (None, '\u{201C}' | '\u{201D}' | '\u{201E}') => {
            return Some(
                "write straight double quotes (\") around texts, not typographic ones (“ ”)".into(),
            )
        }
        (None, '\u{2018}' | '\u{2019}') => {
            return Some(
                "write straight double quotes (\") around texts; an apostrophe belongs inside them"
                    .into(),
            )
        }
        (None, '\u{2013}' | '\u{2014}' | '\u{2212}') => "a typographic dash; the minus sign is `-`",
        _ => return None,
    };
    Some(format!(
        "here is {what}: delete it, or retype the text around it"
    ))
}

/// `==`, `&&`, `AND` in an expression, `EURO` after an amount: the words of
/// other languages.
fn other_language_operator(expected: &[&str], text: &str, pos: usize) -> Option<String> {
    let rest = &text[pos..];
    let in_expression = expected.iter().any(|w| {
        ["expression", "comparison", "arithmetic", "`and`", "`or`"]
            .iter()
            .any(|k| w.contains(k))
    });
    let after_amount = text[..pos]
        .trim_end()
        .ends_with(|c: char| c.is_ascii_digit());
    let meant = [
        ("==", "="),
        ("&&", "and"),
        ("||", "or"),
        ("AND", "and"),
        ("OR", "or"),
        ("NOT", "not"),
        ("EURO", "EUR"),
        ("eur", "EUR"),
        ("€", "EUR"),
    ]
    .into_iter()
    .find(|(written, meant)| {
        let fits = if *meant == "EUR" {
            after_amount
        } else {
            in_expression
        };
        fits && rest.starts_with(written)
            && !rest[written.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })?;
    Some(format!("write `{}` for `{}`", meant.1, meant.0))
}

/// `in force form`, `gazzetta`, `rlue`: a word close to one the grammar takes here.
fn misspelt_keyword(keywords: &[&str], rest: &str) -> Option<String> {
    let word = &rest[..rest
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(rest.len())];
    let reserved = is_reserved(word);
    if word.is_empty() || reserved || keywords.iter().any(|k| k.split(' ').next() == Some(word)) {
        return None;
    }
    let first_words = keywords.iter().map(|k| k.split(' ').next().unwrap_or(k));
    let meant = crate::suggest::closest(word, first_words)?;
    let full = keywords.iter().find(|k| k.starts_with(meant))?;
    Some(format!("did you mean `{full}`?"))
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

/// Whether the rule or definition the error is in has its `cite`, before or
/// after the error: then a missing citation is not what stopped the parser.
fn cites(text: &str, pos: usize) -> bool {
    let before = &text[..pos];
    let start = ["\nrule ", "\ndefine "]
        .iter()
        .filter_map(|w| before.rfind(w))
        .max()
        .unwrap_or(0);
    // The declaration runs on over the lines that start with a blank.
    let after = &text[pos..];
    let end = (after.match_indices('\n'))
        .map(|(i, _)| i)
        .find(|i| !after[i + 1..].starts_with([' ', '\t']))
        .unwrap_or(after.len());
    text[start..pos + end].contains("cite \"")
}

/// `scope.c5-a`: a hyphen glued to a name.
fn hyphen_in_name(text: &str, pos: usize) -> Option<String> {
    // At the hyphen, or at the start of the word it follows (`not-applicable`
    // fails at the reserved `not`).
    let word_end = text[pos..]
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .map_or(text.len(), |i| pos + i);
    let pos = if word_end > pos && text[word_end..].starts_with('-') {
        word_end
    } else {
        pos
    };
    let rest = &text[pos..];
    let glued = pos > 0 && text[..pos].ends_with(|c: char| c.is_ascii_alphanumeric());
    if !rest.starts_with('-')
        || !glued
        || !rest[1..].starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let (left, right) = (word_around(text, pos - 1), word_around(text, pos + 1));
    if !left.is_empty() && left.bytes().all(|b| b.is_ascii_digit()) {
        return Some(date_hint(text, pos - left.len()));
    }
    Some(format!(
        "`-` is the minus sign and cannot be part of a name: write `{left}_{right}` for `{left}-{right}`"
    ))
}

/// Digits joined by `-` from `start` on (`2026-1-10`): a date, whose month
/// and day need two digits each.
fn date_hint(text: &str, start: usize) -> String {
    let written: &str = text[start..]
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .next()
        .unwrap_or_default();
    let parts: Vec<&str> = written.split('-').collect();
    match parts[..] {
        // Day first, as Italian texts write dates (16-10-2024).
        [d, m, y] if (1..=2).contains(&d.len()) && (1..=2).contains(&m.len()) && y.len() == 4 => {
            format!(
                "a date is written year-month-day: write `{y}-{m:0>2}-{d:0>2}` for `{written}` \
                 (read as day-month-year)"
            )
        }
        [y, m, d] if !y.is_empty() && !m.is_empty() && !d.is_empty() => format!(
            "a date is written year-month-day with two digits for the month and the day: \
             write `{y:0>4}-{m:0>2}-{d:0>2}` for `{written}`"
        ),
        _ => "a date is written year-month-day, as `2026-01-10`; `-` cannot join a number \
              to a name"
            .to_string(),
    }
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
    // Greek and Cyrillic letters that look Latin (`а`, `о`, `е`) come from pasting.
    if let Some(c) = word.chars().find(|c| ('\u{0370}'..='\u{04FF}').contains(c)) {
        return Some(format!(
            "`{word}` has the letter `{c}` (U+{:04X}) of another alphabet, which looks like a \
             Latin one: retype the name with the letters a-z",
            u32::from(c)
        ));
    }
    let plain: String = word.chars().map(plain_letter).collect();
    if plain.matches('_').count() > word.matches('_').count() {
        // No Latin letter stands for it: no spelling is proposed.
        return Some(
            "names are written with the letters a-z and A-Z, digits and `_` (descriptions in \
             double quotes may use any letter)"
                .into(),
        );
    }
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
    // Back over the digits, points and commas before the error: `24,99` inside
    // a record fails at `99`, `43.000.000` at its last group.
    let start = (text[..pos].char_indices().rev())
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    if let Some((whole, cents)) = token.split_once(',') {
        let decimal_comma = !whole.is_empty()
            && !whole.contains('.')
            && (1..=2).contains(&cents.len())
            && cents.chars().all(|c| c.is_ascii_digit());
        if decimal_comma {
            return Some(format!(
                "the decimal point is `.`: write `{whole}.{cents}` for `{token}`"
            ));
        }
    }
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
        assert!(grouped_number("{staff: 24,99}", 11)
            .unwrap()
            .contains("`24.99`"));
        assert!(grouped_number("  = 24,99 EUR", 6)
            .unwrap()
            .contains("`24.99`"));
        let expression = ["an expression"];
        assert!(other_language_operator(&expression, "a == 3", 2)
            .unwrap()
            .contains("`=`"));
        assert_eq!(other_language_operator(&expression, "ORDER", 0), None);
        assert_eq!(other_language_operator(&["`:`"], "z == bool", 2), None);
        assert!(odd_character("\u{00A0}x")
            .unwrap()
            .contains("no-break space"));
        assert!(!accented_name("foo_中", 4).unwrap().contains("write `"));
        assert!(accented_name("critic\u{0430}l", 6)
            .unwrap()
            .contains("another alphabet"));
        assert!(misspelt_keyword(&["from"], "form 2024")
            .unwrap()
            .contains("`from`"));
        assert_eq!(misspelt_keyword(&["from"], "from 2024"), None);
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
