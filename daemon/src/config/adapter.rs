//! `adapter` and `adapter_config`: the adapter's name, and its settings as the JSON it reads.
//!
//! Which settings are secret is the adapter's business, so every value is treated as one: no
//! message here quotes a value, and `${ENV}` and `file:` values are resolved anywhere in the
//! tree. A value that cannot be passed on or resolved is reported under its key and left out,
//! so that `check-config` can still ask the adapter about the rest.

use std::path::Path;

use serde_json::{Map, Number, Value};

use super::secret::{Secret, resolve};
use super::typed::AdapterConfig;
use super::yaml::{Node, Scalar};
use super::{AdapterCheck, Checker};

/// Reads `connections[i].adapter` (`name`) and `adapter_config`. Returns the adapter, when its
/// name is valid, and what `check-config` should ask it.
pub(super) fn build_adapter(
    name: &str,
    settings: Option<&Node>,
    key: &str,
    dir: Option<&Path>,
    check: &mut Checker,
) -> Option<(AdapterConfig, AdapterCheck)> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        check.add(
            format!("{key}.adapter"),
            format!("{name:?} must be lower-case letters, digits or '_'"),
        );
        return None;
    }

    let settings_key = format!("{key}.adapter_config");
    let json = match settings {
        None => Some(Value::Object(Map::new())),
        Some(node @ Node::Map(_)) => to_json(node, &settings_key, check),
        Some(other) => {
            check.unreadable(
                &settings_key,
                format!(
                    "expected a mapping of the adapter's settings, found {}",
                    other.kind_name()
                ),
            );
            None
        }
    };
    let settings = json.map(|json| Secret::new(json.to_string()));
    let adapter = AdapterConfig {
        name: name.to_owned(),
        settings: settings
            .clone()
            .unwrap_or_else(|| Secret::new("{}".to_owned())),
    };
    let to_check = AdapterCheck {
        key: key.to_owned(),
        name: name.to_owned(),
        dir: dir.map(Path::to_path_buf),
        settings,
    };
    Some((adapter, to_check))
}

const QUOTE_IT: &str = "quote it if it is text";

/// The JSON for `node`; `None` (reported) for a value that cannot be passed on.
fn to_json(node: &Node, key: &str, check: &mut Checker) -> Option<Value> {
    match node {
        Node::Null => Some(Value::Null),
        Node::Scalar { kind, text } => scalar_json(*kind, text, key, check),
        Node::List(items) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{key}[{i}]"), check))
                .map(|item| item.unwrap_or(Value::Null))
                .collect(),
        )),
        Node::Map(entries) => {
            let mut object = Map::new();
            for (name, value) in entries {
                let Some(name) = name.scalar_text() else {
                    check.add(
                        format!("{key}.?"),
                        format!("a key is {}; keys are names", name.kind_name()),
                    );
                    continue;
                };
                let path = format!("{key}.{name}");
                if object.contains_key(name) {
                    check.unreadable(path, "given more than once; keep one");
                    continue;
                }
                if let Some(value) = to_json(value, &path, check) {
                    object.insert(name.to_owned(), value);
                }
            }
            Some(Value::Object(object))
        }
        Node::Tagged(_) => {
            check.unreadable(key, "a tagged value cannot be passed on; remove the tag");
            None
        }
    }
}

fn scalar_json(kind: Scalar, text: &str, key: &str, check: &mut Checker) -> Option<Value> {
    let number = match kind {
        Scalar::Bool(flag) => return Some(Value::Bool(flag)),
        Scalar::Text if text.starts_with("${") || text.starts_with("file:") => {
            return match resolve(text) {
                Ok(resolved) => Some(Value::String(resolved)),
                Err(message) => {
                    check.unreadable(key, message);
                    None
                }
            };
        }
        Scalar::Text => return Some(Value::String(text.to_owned())),
        Scalar::Int(value) => u64::try_from(value)
            .map(Number::from)
            .or_else(|_| i64::try_from(value).map(Number::from))
            .ok(),
        Scalar::HugeInt => None,
        Scalar::Float(value) => Number::from_f64(value),
    };
    match number {
        Some(number) => Some(Value::Number(number)),
        None => {
            check.unreadable(
                key,
                format!("a number JSON cannot carry (too large, or not finite); {QUOTE_IT}"),
            );
            None
        }
    }
}
