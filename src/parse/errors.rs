//! Syntax errors in a drafter's words: what was expected, named as the
//! language's constructs and keywords, at the place a mistake most likely is.

use super::{hints, is_keyword, keyword_of_field, LexnisParser, Rule};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use pest::Parser as _;

/// The syntax error of a file that does not parse, with what pest records of
/// the furthest place it reached: the words it would have taken there, `,` and
/// `}` included, which its rule-level error leaves out. Parsing so costs more,
/// so only a file already known to fail is parsed again this way.
pub(super) fn parse_in_detail(
    text: &str,
    error: pest::error::Error<Rule>,
) -> pest::error::Error<Rule> {
    // The setting is read when a parse starts: other threads' parses may pick
    // it up and run slower for a moment, with the same result.
    pest::set_error_detail(true);
    let parsed = LexnisParser::parse(Rule::file, text);
    pest::set_error_detail(false);
    parsed.err().unwrap_or(error)
}

/// Where the furthest attempt stopped, and the fixed words (`,`, `}`, `=`,
/// `when`) it would have taken there, when that is past `pos`.
fn furthest_attempt(
    text: &str,
    e: &pest::error::Error<Rule>,
    pos: usize,
) -> Option<(usize, Vec<String>)> {
    let attempts = e.parse_attempts()?;
    let at = skip_blanks_and_comments(text, attempts.max_position);
    if at <= pos {
        return None;
    }
    let mut tokens: Vec<String> = (attempts.expected_tokens().into_iter())
        .map(|t| t.to_string())
        // Blanks, comments, character ranges and built-in rules are never the
        // word a drafter left out.
        .filter(|t| !t.trim().is_empty() && t != "#" && !t.contains("..") && t != "BUILTIN_RULE")
        .map(|t| format!("`{t}`"))
        .collect();
    tokens.dedup();
    // A long list says nothing a drafter can act on.
    (!tokens.is_empty() && tokens.len() <= 6).then_some((at, tokens))
}

/// Past the blanks and comments the grammar skips (ASCII blanks only: a
/// no-break space is a character the grammar does not take).
fn skip_blanks_and_comments(text: &str, mut at: usize) -> usize {
    loop {
        let rest = &text[at.min(text.len())..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}']);
        at += rest.len() - trimmed.len();
        if !trimmed.starts_with('#') {
            return at.min(text.len());
        }
        at += trimmed.find('\n').unwrap_or(trimmed.len());
    }
}

pub(super) fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let positives = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut described: Vec<&str> = positives.iter().map(|r| describe_rule(*r)).collect();
    described.sort();
    described.dedup();
    let keywords: Vec<&str> = positives.iter().filter_map(|r| keyword_of(*r)).collect();
    // A recognised mistake at pest's place is the best account; failing one, the
    // furthest place pest reached, and the words it would have taken there,
    // usually point at a missing `,`, `}` or `=`.
    let specific = hints::specific_help(&described, &keywords, text, pos);
    let further = match specific {
        Some(_) => None,
        None => furthest_attempt(text, &e, pos),
    };
    let (pos, expected, help) = match &further {
        Some((at, tokens)) => {
            let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
            let help = hints::specific_help(&tokens, &[], text, *at)
                .unwrap_or_else(|| format!("is {} missing before this?", join_words(&tokens)));
            (*at, tokens, help)
        }
        None => {
            let help = specific
                .or_else(|| hints::expectation_help(&described, &keywords, text, pos))
                .unwrap_or_else(|| hints::GENERIC.into());
            (pos, described, help)
        }
    };
    // The offending word: up to the next white space, and at least one character.
    let rest = &text[pos..];
    let first = rest.chars().next().map_or(0, char::len_utf8);
    let end = pos
        + rest
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(rest.len(), |(i, _)| i)
            .max(first);
    let found = if pos >= text.len() {
        "the end of the file".to_string()
    } else {
        format!("`{}`", &text[pos..end])
    };
    let expected_text = join_words(&expected);
    let message = if expected_text.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {expected_text}, found {found}")
    };
    Diagnostic::error("lexnis::parse::syntax", message)
        .label(Span::new(file, pos, end), "here")
        .help(help)
}

fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// Grammar rules in a drafter's words.
pub(super) fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::header | Rule::act_header | Rule::part_header | Rule::kw_act | Rule::kw_part => {
            "a header (`act ID { ... }` or `part of ID`)"
        }
        Rule::import_decl
        | Rule::report_decl
        | Rule::enum_decl
        | Rule::record_decl
        | Rule::table_decl
        | Rule::fact_decl
        | Rule::define_decl
        | Rule::outcome_decl
        | Rule::rule_decl
        | Rule::example_decl => {
            "a declaration (import, enum, record, table, fact, define, outcome, rule or example)"
        }
        Rule::title_field
        | Rule::cited_field
        | Rule::kind_field
        | Rule::adopted_field
        | Rule::in_force_field
        | Rule::gazette_field
        | Rule::supersedes_field
        | Rule::review_field
        | Rule::refers_field
        | Rule::articles_field
        | Rule::annexes_field => "an act field (title, cited as, kind, adopted, in force from, gazette, supersedes, review every, refers to, articles, annexes)",
        Rule::roman => "a Roman numeral (I, II, IV ...)",
        Rule::citation | Rule::kw_cite => "a citation (cite \"art. N, c. N, lett. x)\")",
        Rule::description => "a description in double quotes",
        Rule::string => "a text in double quotes",
        Rule::date => "a date like 2024-10-16",
        Rule::integer => "a whole number",
        Rule::number | Rule::number_lit | Rule::signed_number | Rule::neg_number => "a number",
        Rule::money => "an amount like 50_000_000 EUR",
        Rule::ident | Rule::name_ref | Rule::enum_lit => "a name",
        Rule::arguments => "arguments in parentheses",
        Rule::params | Rule::param => "parameters (name: type, ...)",
        Rule::type_name | Rule::type_expr | Rule::base_type => "a type (bool, int, decimal, money, date, text, or a declared type)",
        Rule::field_name => "a field name",
        Rule::field_lit => "a field of the record (name: value)",
        Rule::optional_type | Rule::set_type | Rule::list_type => "a type (bool, int, decimal, money, date, text, or a declared type)",
        Rule::column => "a column (name: type)",
        Rule::reported_as => "`reported as \"key\"`",
        Rule::assignment => "a fact and its value (name = value)",
        Rule::if_expr => "`if C then A else B`",
        Rule::is_test => "`is given` or `is absent`",
        Rule::neg => "an expression",
        Rule::today => "`today`",
        Rule::call | Rule::builtin => "a function call such as `date(2025, 1, 1)`",
        Rule::set_literal => "a list of values in brackets",
        Rule::aggregate | Rule::agg_kind | Rule::quantifier | Rule::quant_kind => "an aggregate (sum, count, any, all, largest, smallest)",
        Rule::where_clause => "`where` and a condition",
        Rule::boolean => "true or false",
        Rule::none_lit => "`none`",
        Rule::rule_name => "a rule name",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::comparison
        | Rule::sum_expr | Rule::product | Rule::unary | Rule::postfix | Rule::paren => "an expression",
        Rule::compare_op | Rule::not_in => "a comparison (=, !=, <, <=, >, >=, in, contains)",
        Rule::add_op | Rule::mul_op => "an arithmetic operator",
        Rule::literal | Rule::record_lit | Rule::list_lit => "a value",
        Rule::kw_when => "`when` followed by the rule's condition",
        Rule::kw_then => "`then` followed by the rule's conclusion",
        Rule::overrides | Rule::kw_overrides => "`overrides`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_else => "`else`",
        Rule::kw_for => "`for`",
        Rule::kw_in => "`in`",
        Rule::kw_of => "`of`",
        Rule::kw_is => "`is`",
        Rule::kw_where => "`where`",
        Rule::default_clause | Rule::kw_default => "`default`",
        Rule::otherwise_clause | Rule::kw_otherwise => "`otherwise`",
        Rule::range | Rule::between_range | Rule::at_least_range | Rule::one_of_range => {
            "a range (between A and B, at least A, one of A, B or C)"
        }
        Rule::given | Rule::expect | Rule::as_of => "`given`, `as of` or `expect`",
        Rule::because => "`because`",
        Rule::columns => "`columns`",
        Rule::row => "a table row (\"key\": value, ...)",
        Rule::field_decl => "a field (name: type)",
        Rule::variant => "an enum variant",
        Rule::conclusion => "a conclusion (outcome = value)",
        Rule::conclude_op | Rule::kw_includes => "`=` or `includes`",
        Rule::kw_title => "`title`",
        Rule::kw_cited => "`cited`",
        Rule::kw_as => "`as`",
        Rule::kw_kind => "`kind`",
        Rule::kw_adopted => "`adopted`",
        Rule::kw_force => "`force`",
        Rule::kw_from => "`from`",
        Rule::kw_gazette => "`gazette`",
        Rule::kw_supersedes => "`supersedes`",
        Rule::kw_review => "`review`",
        Rule::kw_every => "`every`",
        Rule::kw_years => "`years`",
        Rule::kw_refers => "`refers`",
        Rule::kw_to => "`to`",
        Rule::kw_articles => "`articles`",
        Rule::kw_annexes => "`annexes`",
        Rule::kw_import => "`import`",
        Rule::kw_enum => "`enum`",
        Rule::kw_record => "`record`",
        Rule::kw_optional => "`optional`",
        Rule::kw_set => "`set`",
        Rule::kw_list => "`list`",
        Rule::kw_between => "`between`",
        Rule::kw_at => "`at`",
        Rule::kw_least => "`least`",
        Rule::kw_one => "`one`",
        Rule::kw_table => "`table`",
        Rule::kw_columns => "`columns`",
        Rule::kw_fact => "`fact`",
        Rule::kw_define => "`define`",
        Rule::kw_outcome => "`outcome`",
        Rule::kw_rule => "`rule`",
        Rule::kw_example => "`example`",
        Rule::kw_given => "`given`",
        Rule::kw_expect => "`expect`",
        Rule::kw_because => "`because`",
        Rule::kw_if => "`if`",
        Rule::kw_not => "`not`",
        Rule::kw_contains => "`contains`",
        Rule::kw_absent => "`absent`",
        Rule::kw_sum => "`sum`",
        Rule::kw_max_of => "`largest`",
        Rule::kw_min_of => "`smallest`",
        Rule::kw_any => "`any`",
        Rule::kw_all => "`all`",
        Rule::kw_count => "`count`",
        Rule::kw_today => "`today`",
        Rule::kw_report => "`report`",
        Rule::kw_reported => "`reported`",
        _ => "something else",
    }
}

/// The word that starts what a grammar rule reads, when it is a fixed word: the
/// candidates for a misspelt keyword.
fn keyword_of(rule: Rule) -> Option<&'static str> {
    let word = match rule {
        Rule::import_decl => "import",
        Rule::report_decl => "report",
        Rule::enum_decl => "enum",
        Rule::record_decl => "record",
        Rule::table_decl => "table",
        Rule::fact_decl => "fact",
        Rule::define_decl => "define",
        Rule::outcome_decl => "outcome",
        Rule::rule_decl => "rule",
        Rule::example_decl => "example",
        Rule::given => "given",
        Rule::expect => "expect",
        Rule::as_of => "as of",
        Rule::citation => "cite",
        Rule::overrides => "overrides",
        Rule::default_clause => "default",
        Rule::otherwise_clause => "otherwise",
        Rule::because => "because",
        Rule::columns => "columns",
        r if format!("{r:?}").ends_with("_field") => keyword_of_field(r),
        r if is_keyword(r) => describe_rule(r).split('`').nth(1)?,
        _ => return None,
    };
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule pest can name in an error is said in words: none is left to
    /// the catch-all "something else".
    #[test]
    fn every_rule_an_error_can_name_is_described() {
        // The file itself, the parts of tokens, and the silent rules (`_{ }`),
        // which pest never names.
        let internal = [
            "file",
            "string_inner",
            "ident_raw",
            "ident_char",
            "keyword",
            "WHITESPACE",
            "COMMENT",
            "act_field",
            "item",
            "example_part",
            "primary",
            "scalar",
            "literal_atom",
        ];
        let undescribed: Vec<String> = Rule::all_rules()
            .iter()
            .filter(|r| describe_rule(**r) == "something else")
            .map(|r| format!("{r:?}"))
            .filter(|r| !internal.contains(&r.as_str()))
            .collect();
        assert!(undescribed.is_empty(), "{undescribed:?}");
    }
}
