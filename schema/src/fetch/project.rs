//! Parsing only what a query reads. A response loaded for one query (and not cached) is
//! parsed keeping only the object keys the query's fields below it read; the rest (an
//! order's line items when only its payment is asked for) is skipped by the parser instead
//! of being built and dropped. Parsing and dropping upstream JSON was a third of the
//! gateway's CPU on the n-plus-one benchmark.

use std::{borrow::Cow, collections::BTreeSet, fmt};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The object keys to keep, at any depth. Keeping a key that is not needed only costs
/// memory, so a set over all depths is safe.
pub type KeySet = BTreeSet<String>;

/// Parses `bytes` keeping only the object keys in `keep`.
pub fn parse(bytes: &[u8], keep: &KeySet) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Keep(keep).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Keep<'k>(&'k KeySet);

impl<'de> DeserializeSeed<'de> for Keep<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keep<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if self.0.contains(key.as_ref()) {
                let value = map.next_value_seed(self)?;
                fields.insert(key.into_owned(), value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(fields))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(names: &[&str]) -> KeySet {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn keeps_only_the_named_keys_at_every_depth() {
        let text = br#"{"items":[{"id":1,"userId":7,"items":[{"sku":"a"}],"note":"x\"y"},{"id":2}],"total":2}"#;
        let parsed = parse(text, &keys(&["items", "id", "sku"])).unwrap();
        assert_eq!(
            parsed,
            json!({"items": [{"id": 1, "items": [{"sku": "a"}]}, {"id": 2}]})
        );
    }

    #[test]
    fn scalars_and_escaped_keys_parse_like_serde_json() {
        let text = br#"{"a\u0062":[1,-2,3.5,true,null,"s"],"skip":{"deep":[1,{"x":2}]}}"#;
        let parsed = parse(text, &keys(&["ab"])).unwrap();
        assert_eq!(parsed, json!({"ab": [1, -2, 3.5, true, null, "s"]}));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse(br#"{"a": [1, 2"#, &keys(&["a"])).is_err());
        assert!(parse(br#"{"a": 1} trailing"#, &keys(&["a"])).is_err());
    }
}
