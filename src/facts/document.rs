//! A facts document read into a JSON tree, refusing a key an object gives twice:
//! `serde_json::Value` keeps the last value without a word, where the streaming
//! reader of a batch reports it (`duplicate_field`). A number a float cannot hold
//! digit for digit is kept as its text, which the facts reader takes exactly.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::marker::PhantomData;

/// Parses `text` as one JSON value; a key given twice in an object is an error.
pub fn parse_document(text: &str) -> Result<Json, serde_json::Error> {
    // The exact reading parses each object twice: only for documents that need it.
    if has_long_number(text) {
        return serde_json::from_str::<Exact>(text).map(Json::from);
    }
    serde_json::from_str::<Document>(text).map(|d| d.0)
}

/// Whether a number outside the strings of `text` has more than 15 digits, as
/// many as a float holds for sure, or an exponent.
fn has_long_number(text: &str) -> bool {
    let mut digits = 0;
    outside_strings(text).any(|b| {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => {}
            b'e' | b'E' if digits > 0 => return true,
            _ => digits = 0,
        }
        digits > 15
    })
}

/// The bytes of JSON `text` outside its strings, each string's two quotes
/// included: what a scan for numbers or brackets looks at.
pub(crate) fn outside_strings(text: &str) -> impl Iterator<Item = u8> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.bytes().filter(move |&b| {
        let outside = !in_string || (b == b'"' && !escaped);
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            _ => {}
        }
        outside
    })
}

/// Whether [`parse_document`] reads `text`, a JSON array or object, without an
/// error: the same syntax, the same numbers (none out of range) and each key
/// given once in its object, but no tree built. A CSV cell that holds a list
/// or an object asks this of every row. The two agree up to serde_json's depth
/// of 128: deeper, a text with a number of more than 15 digits is read by
/// `parse_document` (its exact reading starts a reader at each level) and not
/// by this check; the CSV reader refuses such cells before asking.
pub(crate) fn reads_as_collection(text: &str) -> bool {
    serde_json::from_str::<Checked>(text).is_ok()
}

/// A JSON value read for its errors only.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut keys: Vec<FieldName<'de>> = Vec::new();
        while let Some(key) = map.next_key::<FieldName<'de>>()? {
            map.next_value::<Checked>()?;
            keys.push(key);
        }
        // The tree's reader (`DocumentVisitor::visit_map`) finds a repeat as it
        // inserts; with no map to insert into, the keys are sorted.
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        match keys.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            true => Err(serde::de::Error::custom("a key is given twice")),
            false => Ok(Checked),
        }
    }
}

/// An object's key, borrowed from the text when it has no escapes. (serde's
/// own `Cow<str>` always copies: a string allocated for every key read.)
pub(super) struct FieldName<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FieldNameVisitor)
    }
}

struct FieldNameVisitor;

impl<'de> Visitor<'de> for FieldNameVisitor {
    type Value = FieldName<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<FieldName<'de>, E> {
        Ok(FieldName(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<FieldName<'de>, E> {
        Ok(FieldName(Cow::Owned(v.to_string())))
    }
}

/// Parses `text` as a JSON array of such documents.
pub fn parse_documents(text: &str) -> Result<Vec<Json>, serde_json::Error> {
    let documents: Vec<Document> = serde_json::from_str(text)?;
    Ok(documents.into_iter().map(|d| d.0).collect())
}

struct Document(Json);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocumentVisitor::<Document>(PhantomData))
            .map(Document)
    }
}

impl From<Document> for Json {
    fn from(d: Document) -> Json {
        d.0
    }
}

/// A value read from its text: a number whose float is not the number written
/// (249.99999999999999999, 12345678901234567890123) stays that text.
struct Exact(Json);

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <&serde_json::value::RawValue>::deserialize(d)?.get();
        let value = match text.as_bytes().first() {
            Some(b'{' | b'[') => {
                let mut inner = serde_json::Deserializer::from_str(text);
                let visitor = DocumentVisitor::<Exact>(PhantomData);
                serde::Deserializer::deserialize_any(&mut inner, visitor)
            }
            _ => serde_json::from_str::<Json>(text).map(|json| match json {
                Json::Number(n) => exact_number(text, n),
                other => other,
            }),
        };
        value.map(Exact).map_err(super::without_place)
    }
}

/// A number as its float `n`, where that is the number `text` writes; else as
/// text the facts reader takes exactly or reports as out of range: a plain
/// decimal as written, one with an exponent written out
/// (`4.9999999999999999e1`, whose float is 50, as `49.999999999999999`), or
/// as written if no decimal comes near it (`1e-400`, whose float is 0).
fn exact_number(text: &str, n: serde_json::Number) -> Json {
    let float = super::decimal_text(&n.to_string());
    let exact = match super::without_exponent(text) {
        Some(Some(plain)) => plain,
        Some(None) => return Json::String(text.to_string()),
        None => text.to_string(),
    };
    // No decimal holds it (too many digits): the float would round it.
    let held = super::decimal_text(&exact);
    match super::is_decimal_text(&exact) && (held.is_none() || held != float) {
        true => Json::String(exact),
        false => Json::Number(n),
    }
}

impl From<Exact> for Json {
    fn from(d: Exact) -> Json {
        d.0
    }
}

/// Builds the tree, its values read as `N` reads them.
struct DocumentVisitor<N>(PhantomData<N>);

impl<'de, N: Deserialize<'de> + Into<Json>> Visitor<'de> for DocumentVisitor<N> {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<N>()? {
            items.push(item.into());
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: Json = map.next_value::<N>()?.into();
            if object.insert(key.to_string(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` is given twice in the same object; keep one"
                )));
            }
        }
        Ok(Json::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::reads_as_collection;
    use super::{has_long_number, outside_strings, parse_document, parse_documents};
    use proptest::prelude::*;

    #[test]
    fn strings_are_left_out_their_quotes_kept_escapes_and_all() {
        let outside = |t: &str| String::from_utf8(outside_strings(t).collect()).unwrap();
        assert_eq!(
            outside(r#"{"a[": [1, "x\"]"], "b": {}}"#),
            r#"{"": [1, ""], "": {}}"#
        );
        assert_eq!(outside(r#""\\" 12"#), r#""" 12"#);
        assert!(has_long_number("[1234567890123456]"));
        assert!(!has_long_number(r#"["1234567890123456", 123456789012345]"#));
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        assert!(parse_document(r#"{"a": {"b": 1, "c": [1, {"d": 2}]}, "e": null}"#).is_ok());
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": {"b": 1, "b": 1}}"#,
            r#"[{"x": [{"y": 1, "y": 2}]}]"#,
        ] {
            let error = parse_document(text).unwrap_err().to_string();
            assert!(error.contains("given twice"), "{text}: {error}");
        }
        assert!(parse_documents(r#"[{"a": 1}, {"a": 1, "a": 1}]"#).is_err());
    }

    #[test]
    fn a_number_a_float_would_round_is_kept_as_written() {
        let text =
            r#"{"staff": 249.99999999999999999, "ids": [12345678901234567890123, 1.5], "id": 7}"#;
        let tree = parse_document(text).unwrap();
        assert_eq!(tree["staff"], "249.99999999999999999");
        assert_eq!(
            tree["ids"],
            serde_json::json!(["12345678901234567890123", 1.5])
        );
        assert_eq!(tree["id"], 7);
        // With an exponent: a number where its float is exact, else written out.
        let exponent =
            parse_document(r#"{"n": [2.5e0, 4.9999999999999999e1, 1e-400, 1E2]}"#).unwrap();
        assert_eq!(
            exponent["n"],
            serde_json::json!([2.5, "49.999999999999999", "1e-400", 100.0])
        );
        // Too many digits for any decimal, where the float would round: text,
        // which the facts reader reports as out of range.
        let precise = parse_document(
            r#"[1.00000000000000000000000000000001e-10, 10000000000000000000000000000.001]"#,
        )
        .unwrap();
        assert_eq!(
            precise,
            serde_json::json!([
                "0.000000000100000000000000000000000000000001",
                "10000000000000000000000000000.001"
            ])
        );
        assert!(parse_document(r#"{"a": {"b": 12345678901234567890, "b": 1}}"#).is_err());
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        let text = r#"{"i": -3, "u": 18446744073709551615, "f": 0.1, "s": "x"}"#;
        let tree: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse_document(text).unwrap(), tree);
    }

    /// Cells a CSV user may write, read both ways: the check and the tree agree.
    #[test]
    fn a_collection_is_checked_as_the_tree_reads_it() {
        for text in [
            r#"[{"a": 1, "b": [1, 2]}, {"a": 2}]"#,
            r#"{"a": {"b": 1, "b": 1}}"#,
            r#"[{"x": [{"y": 1, "y": 2}]}]"#,
            r#"{"\u0061": 1, "a": 2}"#,
            r#"[12345678901234567890123, 249.99999999999999999]"#,
            r#"[1e400]"#,
            r#"[12345678901234567e400]"#,
            r#"["\ud800"]"#,
            "[\"a\tb\"]",
            r#"[1] x"#,
            "[1]  \n",
            r#"[1,]"#,
            r#"{"a" 1}"#,
            r#"[-0, 0.5e-3, true, false, null, "x"]"#,
        ] {
            assert_eq!(
                reads_as_collection(text),
                parse_document(text).is_ok(),
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_collection_is_checked_as_the_tree_reads_it_whatever_its_bytes(
            body in "[\\[\\]{}\",:aA1e.\\\\u -]{0,14}",
            // A long number sends parse_document down its exact reading.
            opening in prop::sample::select(vec!["[", "{", "[12345678901234567,", "{\"n\":12345678901234567,"]),
        ) {
            let text = format!("{opening}{body}");
            prop_assert_eq!(reads_as_collection(&text), parse_document(&text).is_ok(), "{}", text);
        }

        /// Well-formed texts, some with a key given twice or a long number.
        #[test]
        fn a_collection_is_checked_as_the_tree_reads_it_whatever_its_keys(text in collection()) {
            prop_assert_eq!(reads_as_collection(&text), parse_document(&text).is_ok(), "{}", text);
        }
    }

    /// JSON lists and objects of a few keys (`"a"` also written `"\u0061"`)
    /// and numbers, short and long.
    fn collection() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(vec![
            "1",
            "-2.5",
            "12345678901234567890",
            "1e400",
            "\"a\"",
            "null",
        ])
        .prop_map(str::to_string);
        leaf.prop_recursive(3, 16, 3, |inner| {
            let key = prop::sample::select(vec![r#""a""#, r#""b""#, r#""\u0061""#]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key, inner), 0..3).prop_map(|fields| {
                    let fields: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
        .prop_map(|v| format!("[{v}]"))
    }
}
