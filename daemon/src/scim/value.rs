//! Coercing client-supplied JSON values to an attribute's schema type.
//!
//! Entra ID sends booleans as the strings `"True"`/`"False"` and the
//! manager as a bare id; RFC 7643 §2.5 says `null` means "no value". The
//! functions here turn such input into the stored shape (real booleans,
//! `{"value": id}`, canonical sub-attribute names, read-only
//! sub-attributes and unknown keys dropped) or refuse it with
//! `invalidValue`.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{AttrType, AttributeDef};

/// Coerce one (non-array) value for `def`. `Ok(None)` means the value was
/// `null` or an object with nothing left in it: the attribute is unassigned.
pub fn coerce_single(def: &AttributeDef, value: Value) -> Result<Option<Value>, ScimError> {
    let coerced = match (def.kind, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => true.into(),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => false.into(),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
        (AttrType::Decimal, Value::Number(n)) => Value::Number(n),
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            Value::String(s),
        ) => Value::String(s),
        (AttrType::String, Value::Number(n)) => Value::String(n.to_string()),
        (AttrType::Complex, Value::Object(object)) => {
            let object = coerce_complex(def, object)?;
            if object.is_empty() {
                return Ok(None);
            }
            Value::Object(object)
        }
        // A bare string for a complex attribute is its `value` (Entra sends
        // the enterprise manager this way).
        (AttrType::Complex, Value::String(s)) if def.sub_attribute("value").is_some() => {
            if s.is_empty() {
                return Ok(None);
            }
            let mut object = Map::new();
            object.insert("value".into(), Value::String(s));
            Value::Object(object)
        }
        (kind, other) => {
            return Err(ScimError::invalid_value(format!(
                "`{}` must be a {}{}, got {}",
                def.name,
                kind.as_str(),
                if def.multi_valued {
                    " (or an array of them)"
                } else {
                    ""
                },
                json_kind(&other)
            )));
        }
    };
    Ok(Some(coerced))
}

/// Coerce a value for a multi-valued attribute: an array (or, leniently, a
/// single element) becomes the list of its non-null coerced elements.
pub fn coerce_multi(def: &AttributeDef, value: Value) -> Result<Vec<Value>, ScimError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single => vec![single],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = coerce_single(def, item)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Coerce a value for `def`, single- or multi-valued; `None` = unassigned.
pub fn coerce(def: &AttributeDef, value: Value) -> Result<Option<Value>, ScimError> {
    if def.multi_valued {
        let items = coerce_multi(def, value)?;
        Ok(if items.is_empty() {
            None
        } else {
            Some(Value::Array(items))
        })
    } else {
        coerce_single(def, value)
    }
}

/// Canonicalise the sub-attributes of a complex value: canonical names,
/// coerced types, read-only and unknown keys dropped, nulls removed.
fn coerce_complex(
    def: &AttributeDef,
    object: Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (key, value) in object {
        let Some(sub) = def.sub_attribute(&key) else {
            continue;
        };
        if sub.is_read_only() && !def.is_read_only() {
            continue;
        }
        if let Some(v) = coerce_single(sub, value)? {
            out.insert(sub.name.to_string(), v);
        }
    }
    Ok(out)
}

/// Whether two elements of a multi-valued attribute denote the same value:
/// equal `value` sub-attributes where both have one (so a member added
/// twice, with or without `display`, is one member), else equal JSON.
pub fn same_element(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// RFC 7643 §2.4: at most one element may be `primary`. When `winner` is
/// primary, every other element loses the flag.
pub fn keep_one_primary(items: &mut [Value], winner: usize) {
    let winner_is_primary =
        items.get(winner).and_then(|v| v.get("primary")) == Some(&Value::Bool(true));
    if !winner_is_primary {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if i != winner
            && let Some(object) = item.as_object_mut()
            && object.get("primary") == Some(&Value::Bool(true))
        {
            object.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// How a JSON value is described in error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::ResourceKind;

    fn def(name: &str) -> &'static AttributeDef {
        ResourceKind::User
            .core_attribute(name)
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn entra_boolean_strings_become_booleans() {
        assert_eq!(
            coerce(def("active"), json!("False")),
            Ok(Some(json!(false)))
        );
        assert_eq!(coerce(def("active"), json!("TRUE")), Ok(Some(json!(true))));
        assert!(coerce(def("active"), json!("no")).is_err());
        let emails = coerce(
            def("emails"),
            json!([{"value": "a@b.c", "PRIMARY": "True"}]),
        );
        assert_eq!(
            emails,
            Ok(Some(json!([{"value": "a@b.c", "primary": true}])))
        );
    }

    #[test]
    fn read_only_and_unknown_sub_attributes_are_dropped() {
        let ext = ResourceKind::User
            .extension("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .and_then(|s| s.attribute("manager"))
            .unwrap_or_else(|| unreachable!());
        let got = coerce(ext, json!({"value": "m1", "displayName": "Boss", "x": 1}));
        assert_eq!(got, Ok(Some(json!({"value": "m1"}))));
        assert_eq!(coerce(ext, json!("m2")), Ok(Some(json!({"value": "m2"}))));
    }
}
