//! The `attributes` and `excludedAttributes` query parameters (RFC 7644
//! §3.4.2.5, §3.9).
//!
//! Attributes whose schema says `returned: always` (`id`; `schemas` is
//! always kept too) survive both lists; `returned: never` (`password`) is
//! never output. Names are compared without regard to case and may be
//! sub-attributes (`name.givenName`, `emails.value`), URN-qualified
//! (`urn:…:enterprise:2.0:User:department`) or a whole extension URN.
//! Names the schema does not define are ignored.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::path::{AttrPath, Target, key_ci};
use super::schema::{AttributeDef, ResourceKind, Returned};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Option<Vec<AttrPath>>,
    excluded: Vec<AttrPath>,
}

/// One selected attribute in canonical names.
struct Selected {
    /// The extension URN holding it, if any.
    extension: Option<&'static str>,
    /// `None` selects the whole extension.
    attr: Option<&'static AttributeDef>,
    sub: Option<&'static str>,
}

impl Projection {
    /// Parse the comma-separated parameter values; an absent or empty
    /// parameter means "not given". Malformed names are `invalidValue`.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let attributes = attributes
            .map(parse_list)
            .transpose()?
            .filter(|l| !l.is_empty());
        let excluded = excluded.map(parse_list).transpose()?.unwrap_or_default();
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// Whether `excludedAttributes` names the Group `members` (Entra asks
    /// so on lookups): the store may skip loading members.
    pub fn excludes_members(&self) -> bool {
        let named = |p: &AttrPath| p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("members");
        self.excluded.iter().any(named)
            || self
                .attributes
                .as_ref()
                .is_some_and(|a| !a.iter().any(named))
    }

    /// The resource as it should be returned.
    pub fn apply(&self, resource: &Value, kind: ResourceKind) -> Value {
        let Some(object) = resource.as_object() else {
            return resource.clone();
        };
        let mut out = strip_never(object, kind);

        if let Some(attributes) = &self.attributes {
            let selected: Vec<Selected> =
                attributes.iter().filter_map(|p| select(p, kind)).collect();
            out = keep_only(out, kind, &selected);
        }
        for path in &self.excluded {
            if let Some(selected) = select(path, kind) {
                exclude(&mut out, &selected);
            }
        }
        Value::Object(out)
    }
}

fn parse_list(list: &str) -> Result<Vec<AttrPath>, ScimError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            AttrPath::parse(s)
                .ok_or_else(|| ScimError::invalid_value(format!("{s:?} is not an attribute name")))
        })
        .collect()
}

fn select(path: &AttrPath, kind: ResourceKind) -> Option<Selected> {
    match path.resolve(kind)? {
        Target::Extension(ext) => Some(Selected {
            extension: Some(ext.id),
            attr: None,
            sub: None,
        }),
        Target::Attribute(r) => Some(Selected {
            extension: r.extension.map(|e| e.id),
            attr: Some(r.attr),
            sub: r.sub.map(|s| s.name),
        }),
    }
}

fn strip_never(object: &Map<String, Value>, kind: ResourceKind) -> Map<String, Value> {
    let mut out = object.clone();
    for attr in kind
        .core_schema()
        .attributes
        .iter()
        .filter(|a| a.returned == Returned::Never)
    {
        if let Some(key) = key_ci(&out, attr.name).map(str::to_string) {
            out.remove(&key);
        }
    }
    out
}

fn keep_only(
    object: Map<String, Value>,
    kind: ResourceKind,
    selected: &[Selected],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key, value);
            continue;
        }
        if let Some(ext) = kind.extension(&key) {
            let whole = selected
                .iter()
                .any(|s| s.extension == Some(ext.id) && s.attr.is_none());
            let kept = match value {
                Value::Object(inner) if !whole => {
                    let mine: Vec<&Selected> = selected
                        .iter()
                        .filter(|s| s.extension == Some(ext.id))
                        .collect();
                    Value::Object(keep_attrs(inner, |name| ext.attribute(name), &mine))
                }
                other => other,
            };
            if kept.as_object().is_none_or(|o| !o.is_empty()) {
                out.insert(key, kept);
            }
            continue;
        }
        let mine: Vec<&Selected> = selected.iter().filter(|s| s.extension.is_none()).collect();
        let mut single = Map::new();
        single.insert(key, value);
        out.extend(keep_attrs(single, |name| kind.core_attribute(name), &mine));
    }
    out
}

/// Keep the attributes of `object` that are `returned: always` or selected,
/// trimming complex values to the selected sub-attributes.
fn keep_attrs(
    object: Map<String, Value>,
    lookup: impl Fn(&str) -> Option<&'static AttributeDef>,
    selected: &[&Selected],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let Some(def) = lookup(&key) else { continue };
        if def.returned == Returned::Always {
            out.insert(key, value);
            continue;
        }
        let picks: Vec<&Selected> = selected
            .iter()
            .copied()
            .filter(|s| s.attr.is_some_and(|a| std::ptr::eq(a, def)))
            .collect();
        if picks.is_empty() {
            continue;
        }
        if picks.iter().any(|s| s.sub.is_none()) {
            out.insert(key, value);
            continue;
        }
        let subs: Vec<&str> = picks.iter().filter_map(|s| s.sub).collect();
        let trimmed = trim_subs(value, &subs);
        if !is_empty(&trimmed) {
            out.insert(key, trimmed);
        }
    }
    out
}

fn trim_subs(value: Value, subs: &[&str]) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| trim_subs(v, subs))
                .filter(|v| !is_empty(v))
                .collect(),
        ),
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
    }
}

fn exclude(out: &mut Map<String, Value>, selected: &Selected) {
    let container = match selected.extension {
        None => Some(out as &mut Map<String, Value>),
        Some(ext) => {
            let Some(key) = key_ci(out, ext).map(str::to_string) else {
                return;
            };
            if selected.attr.is_none() {
                out.remove(&key);
                return;
            }
            out.get_mut(&key).and_then(Value::as_object_mut)
        }
    };
    let (Some(container), Some(attr)) = (container, selected.attr) else {
        return;
    };
    if attr.returned == Returned::Always {
        return;
    }
    let Some(key) = key_ci(container, attr.name).map(str::to_string) else {
        return;
    };
    match selected.sub {
        None => {
            container.remove(&key);
        }
        Some(sub) => {
            if let Some(value) = container.get_mut(&key) {
                remove_sub(value, sub);
                if is_empty(value) {
                    container.remove(&key);
                }
            }
        }
    }
    if let Some(ext) = selected.extension
        && let Some(key) = key_ci(out, ext).map(str::to_string)
        && out.get(&key).is_some_and(is_empty)
    {
        out.remove(&key);
    }
}

fn remove_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Array(items) => {
            items.iter_mut().for_each(|v| remove_sub(v, sub));
            items.retain(|v| !is_empty(v));
        }
        Value::Object(object) => {
            if let Some(key) = key_ci(object, sub).map(str::to_string) {
                object.remove(&key);
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(object) => object.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "u1",
            "userName": "jdoe",
            "password": "secret",
            "name": { "givenName": "John", "familyName": "Doe" },
            "emails": [{ "value": "j@x.test", "type": "work" }],
            ENTERPRISE: { "department": "Sales", "costCenter": "42" },
            "meta": { "resourceType": "User" }
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(attributes, excluded)
            .unwrap()
            .apply(&user(), ResourceKind::User)
    }

    #[test]
    fn password_is_never_returned() {
        assert!(project(None, None).get("password").is_none());
        assert!(project(Some("password"), None).get("password").is_none());
    }

    #[test]
    fn attributes_keep_always_returned_and_named_sub_attributes() {
        let got = project(Some("USERNAME, name.givenName, emails.value"), None);
        assert_eq!(
            got,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "id": "u1",
                "userName": "jdoe",
                "name": { "givenName": "John" },
                "emails": [{ "value": "j@x.test" }]
            })
        );
    }

    #[test]
    fn urn_qualified_attributes_and_whole_extensions() {
        let got = project(Some(&format!("{ENTERPRISE}:department")), None);
        assert_eq!(got[ENTERPRISE], json!({ "department": "Sales" }));
        let got = project(Some(ENTERPRISE), None);
        assert_eq!(
            got[ENTERPRISE],
            json!({ "department": "Sales", "costCenter": "42" })
        );
        assert!(got.get("userName").is_none());
    }

    #[test]
    fn excluded_attributes_cannot_remove_id() {
        let got = project(
            None,
            Some(&format!(
                "id,emails,name.familyName,{ENTERPRISE}:department"
            )),
        );
        assert_eq!(got["id"], "u1");
        assert!(got.get("emails").is_none());
        assert_eq!(got["name"], json!({ "givenName": "John" }));
        assert_eq!(got[ENTERPRISE], json!({ "costCenter": "42" }));
        let got = project(None, Some(ENTERPRISE));
        assert!(got.get(ENTERPRISE).is_none());
    }

    #[test]
    fn entra_group_lookup_excludes_members() {
        let projection = Projection::parse(None, Some("members")).unwrap();
        assert!(projection.excludes_members());
        let group =
            json!({ "schemas": [], "id": "g", "displayName": "G", "members": [{ "value": "u" }] });
        assert_eq!(
            projection.apply(&group, ResourceKind::Group),
            json!({ "schemas": [], "id": "g", "displayName": "G" })
        );
        assert!(!Projection::default().excludes_members());
    }
}
