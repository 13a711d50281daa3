//! Reading a request body as JSON in which no object names one member twice.
//!
//! SCIM attribute names ignore case (RFC 7643 §2.1), so `active` and `Active` in one object
//! give one attribute two values; so does a name written twice, which JSON parsers resolve
//! differently (RFC 8259 §4; I-JSON, RFC 7493 §2.3, forbids it). Either is refused here rather
//! than letting the order the keys happen to sort in decide which value counts.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as JSON, refusing an object that names a member twice (ignoring ASCII case).
/// The error names the member; serde_json adds where it was found.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let Strict(value) = serde_json::from_slice(bytes)?;
    Ok(value)
}

/// A JSON value read by [`StrictVisitor`].
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

/// Builds a `Value` as serde_json's own does, checking each object's member names.
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        // Folded names in a set: a body of 1 MiB may hold tens of thousands of members.
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(de::Error::custom(format!(
                    "member {:?} appears twice in one object (names ignore case)",
                    name.chars().take(64).collect::<String>()
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = r#"{"a":[1,-2,3.5,"s",true,null,{"b":{}}],"B":18446744073709551615}"#;
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text.as_bytes()).unwrap(), expected);
        assert_eq!(parse(b" 7 ").unwrap(), json!(7));
    }

    #[test]
    fn a_member_named_twice_in_any_letter_case_is_refused() {
        for text in [
            r#"{"userName":"a","userName":"b"}"#,
            r#"{"active":true,"Active":false}"#,
            r#"{"x":[{"name":{"givenName":"a","GIVENNAME":"b"}}]}"#,
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(err.is_data(), "{text}: {err}");
        }
        // The same name in two objects is two members.
        assert!(parse(br#"{"a":{"v":1},"b":{"v":2},"c":[{"v":1},{"v":2}]}"#).is_ok());
    }
}
