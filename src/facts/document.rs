//! A facts document read into a JSON tree, refusing a key an object gives twice:
//! `serde_json::Value` keeps the last value without a word, where the streaming
//! reader of a batch reports it (`duplicate_field`).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use std::borrow::Cow;

/// Parses `text` as one JSON value; a key given twice in an object is an error.
pub fn parse_document(text: &str) -> Result<Json, serde_json::Error> {
    serde_json::from_str::<Document>(text).map(|d| d.0)
}

/// Parses `text` as a JSON array of such documents.
pub fn parse_documents(text: &str) -> Result<Vec<Json>, serde_json::Error> {
    let documents: Vec<Document> = serde_json::from_str(text)?;
    Ok(documents.into_iter().map(|d| d.0).collect())
}

struct Document(Json);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocumentVisitor).map(Document)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
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
        while let Some(Document(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let Document(value) = map.next_value()?;
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
    use super::{parse_document, parse_documents};

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
    fn numbers_read_as_serde_json_reads_them() {
        let text = r#"{"i": -3, "u": 18446744073709551615, "f": 0.1, "s": "x"}"#;
        let tree: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse_document(text).unwrap(), tree);
    }
}
