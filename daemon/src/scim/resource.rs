//! Turning a client's User or Group body into the stored JSON shape, and
//! building `meta` (RFC 7643 §3.1).
//!
//! [`normalize`] is for POST, [`normalize_replacement`] for PUT. Both
//! return the resource without `id` and `meta`; the caller assigns the id,
//! stores, and adds them with [`with_meta`]. Names become canonical,
//! booleans sent as `"True"`/`"False"` become booleans, read-only
//! attributes and attributes outside the schemas are dropped (RFC 7643 §7:
//! read-only values from clients are ignored), and the write-only
//! `password` is discarded, since this server authenticates by SSO only.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::path::{AttrPath, Target, get_ci, key_ci};
use super::schema::ResourceKind;
use super::value::{coerce, coerce_single};
use crate::store::MAX_KEY_BYTES;

/// What `meta` says about a stored resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaInfo<'a> {
    /// The SCIM base URL, without a trailing slash, for `meta.location`.
    pub base_url: &'a str,
    /// When the resource was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub last_modified: DateTime<Utc>,
    /// A counter bumped on every change; becomes the weak ETag.
    pub version: u64,
}

/// The weak ETag for a version: `W/"7"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version in an `If-Match` value (`W/"7"` or `"7"`). Only the tag
/// [`etag`] writes names a version: another spelling of the number (`"07"`, `"+7"`) or a
/// lower-case `w/` is another entity tag (RFC 7232 compares tags character by character).
/// The weak prefix is accepted: every tag given out is weak, and SCIM clients send them
/// back as they came (RFC 7644 §3.14).
pub fn parse_etag(value: &str) -> Option<u64> {
    let value = value.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    let digits = value.strip_prefix('"')?.strip_suffix('"')?;
    let version: u64 = digits.parse().ok()?;
    (version.to_string() == digits).then_some(version)
}

/// Normalise a POST body for `kind`; see the module docs.
///
/// Fails with `invalidSyntax` when `schemas` does not name the core schema,
/// and `invalidValue` for a missing `userName`/`displayName`, a value of
/// the wrong type, more than one `primary` value, or a NUL character
/// anywhere in the body (in any string or key; PostgreSQL cannot store it).
pub fn normalize(kind: ResourceKind, body: &Value) -> Result<Value, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    check_schemas(kind, object)?;
    if let Some(at) = nul_location(body) {
        return Err(ScimError::invalid_value(nul_detail(&attribute_name(&at))));
    }

    let mut out = Map::new();
    let mut named = Named::default();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(path) = AttrPath::parse(key) else {
            continue;
        };
        match path.resolve(kind) {
            None => {}
            Some(Target::Extension(ext)) => {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object",
                        ext.id
                    )));
                };
                for (name, v) in inner {
                    if let Some(r) = AttrPath::in_extension(ext, name, kind) {
                        named.claim(&r)?;
                        insert(&mut out, r, v.clone())?;
                    }
                }
            }
            Some(Target::Attribute(r)) => {
                named.claim(&r)?;
                insert(&mut out, r, value.clone())?;
            }
        }
    }

    tidy_extensions(&mut out, kind);
    check_required(&out, kind)?;
    check_key_lengths(&out, kind)?;
    check_single_primary(&out)?;
    Ok(Value::Object(out))
}

/// Normalise a PUT body replacing `existing`: as [`normalize`], and an `id`
/// in the body must equal the stored one (`mutability` otherwise). The
/// result carries `existing`'s `id`, `meta` and read-only `groups`.
pub fn normalize_replacement(
    kind: ResourceKind,
    body: &Value,
    existing: &Value,
) -> Result<Value, ScimError> {
    let stored_id = existing.get("id").and_then(Value::as_str);
    let sent_id = body.as_object().and_then(|o| get_ci(o, "id"));
    if let (Some(sent), Some(stored)) = (sent_id, stored_id)
        && sent.as_str() != Some(stored)
    {
        return Err(ScimError::mutability(format!(
            "`id` is read-only: the body says {sent}, the resource is {stored:?}"
        )));
    }

    let mut out = normalize(kind, body)?;
    if let (Some(out), Some(existing)) = (out.as_object_mut(), existing.as_object()) {
        for attr in ["id", "meta", "groups"] {
            if let Some(v) = existing.get(attr) {
                out.insert(attr.into(), v.clone());
            }
        }
    }
    Ok(out)
}

/// The resource with `id` and a fresh `meta` (resourceType, created,
/// lastModified, location, version as a weak ETag).
pub fn with_meta(mut resource: Value, kind: ResourceKind, id: &str, meta: &MetaInfo<'_>) -> Value {
    if let Some(object) = resource.as_object_mut() {
        object.insert("id".into(), Value::from(id));
        object.insert(
            "meta".into(),
            json!({
                "resourceType": kind.name(),
                "created": meta.created.to_rfc3339_opts(SecondsFormat::Millis, true),
                "lastModified": meta.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
                "location": format!("{}/{}/{id}", meta.base_url, kind.endpoint()),
                "version": etag(meta.version),
            }),
        );
    }
    resource
}

/// One step from a JSON value into a part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// A member of an object.
    Key(&'a str),
    /// An element of an array.
    Index(usize),
}

/// Where the first string or object key holding a NUL character (U+0000) is in `value`, as
/// the steps to it from the top; `None` when there is none.
///
/// Bodies with one are refused whatever attribute holds it: PostgreSQL cannot store the
/// character in text, SQLite could, and both backends must answer alike; no SCIM attribute
/// needs it. (serde_json's parser limits nesting, so the walk's recursion is bounded.)
pub(crate) fn nul_location(value: &Value) -> Option<Vec<Step<'_>>> {
    fn walk<'a>(value: &'a Value, at: &mut Vec<Step<'a>>) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
                at.push(Step::Index(index));
                let found = walk(item, at);
                if !found {
                    at.pop();
                }
                found
            }),
            Value::Object(object) => object.iter().any(|(key, item)| {
                at.push(Step::Key(key));
                let found = key.contains('\0') || walk(item, at);
                if !found {
                    at.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut at = Vec::new();
    walk(value, &mut at).then_some(at)
}

/// The attribute the object keys among `steps` name: `name.givenName`, `emails.value`, or
/// `urn:…:User:department` inside an extension (array positions are left out).
pub(crate) fn attribute_name(steps: &[Step<'_>]) -> String {
    let mut name = String::new();
    let mut in_extension = false;
    for step in steps {
        let Step::Key(key) = step else { continue };
        if !name.is_empty() {
            name.push(if in_extension { ':' } else { '.' });
        }
        let is_urn = key.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:"));
        in_extension = name.is_empty() && is_urn;
        name.push_str(key);
    }
    name
}

/// What an `invalidValue` error for a NUL character in `attribute` says.
pub(crate) fn nul_detail(attribute: &str) -> String {
    let shown: String = attribute.escape_debug().take(100).collect();
    format!("`{shown}` contains a NUL character (U+0000), which no value may hold")
}

/// The attributes a body has named so far, by the schema's spelling: one attribute may be
/// named in several ways (`userName`, `urn:…:core:2.0:User:userName`; `name` and
/// `name.givenName`; an extension's object and `urn:…:User:department`), and a body naming one
/// twice (or a PATCH value without a path, whose keys are paths too) is refused like a member
/// named twice (see `body`), rather than let the order of its keys decide which value counts.
#[derive(Default)]
pub(crate) struct Named {
    /// (extension, attribute) named whole.
    whole: HashSet<(Option<&'static str>, &'static str)>,
    /// (extension, attribute) with a sub-attribute named on its own, and those sub-attributes.
    parts: HashSet<(Option<&'static str>, &'static str)>,
    subs: HashSet<(Option<&'static str>, &'static str, &'static str)>,
}

impl Named {
    /// Records that the body names `r`; an error when it named it already.
    pub(crate) fn claim(&mut self, r: &super::path::Resolved) -> Result<(), ScimError> {
        let attribute = (r.extension.map(|ext| ext.id), r.attr.name);
        let fresh = match r.sub {
            None => !self.parts.contains(&attribute) && self.whole.insert(attribute),
            Some(sub) => {
                let fresh = !self.whole.contains(&attribute)
                    && self.subs.insert((attribute.0, attribute.1, sub.name));
                self.parts.insert(attribute);
                fresh
            }
        };
        if fresh {
            return Ok(());
        }
        Err(ScimError::invalid_syntax(format!(
            "the body names attribute `{}` twice (in two spellings, or whole and in part)",
            r.attr.name
        )))
    }
}

fn check_schemas(kind: ResourceKind, object: &Map<String, Value>) -> Result<(), ScimError> {
    let core = kind.core_schema().id;
    let listed = get_ci(object, "schemas").and_then(Value::as_array);
    let names_core = listed.is_some_and(|l| {
        l.iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core)))
    });
    if names_core {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "`schemas` must be an array containing {core}"
        )))
    }
}

fn insert(
    out: &mut Map<String, Value>,
    r: super::path::Resolved,
    value: Value,
) -> Result<(), ScimError> {
    let attr = r.attr;
    if attr.is_read_only() || attr.is_write_only() {
        return Ok(());
    }
    r.with_container(out, |container| {
        match r.sub {
            None => {
                if let Some(v) = coerce(attr, value)? {
                    container.insert(attr.name.into(), v);
                }
            }
            // A dotted key such as "name.givenName" in a body.
            Some(sub) if !attr.multi_valued && !sub.is_read_only() => {
                if let Some(v) = coerce_single(sub, value)? {
                    let slot = container.entry(attr.name).or_insert_with(|| json!({}));
                    if let Some(object) = slot.as_object_mut() {
                        object.insert(sub.name.into(), v);
                    }
                }
            }
            Some(_) => {}
        }
        Ok(())
    })
}

/// Removes write-only attributes (`password`) from a stored or patched resource: this
/// server signs users in by SSO only, so it keeps no password, and a filter can never
/// probe one.
pub(crate) fn drop_write_only(doc: &mut Map<String, Value>, kind: ResourceKind) {
    let write_only = |attrs: &'static [super::schema::AttributeDef]| {
        attrs.iter().filter(|a| a.is_write_only()).map(|a| a.name)
    };
    for name in write_only(kind.core_schema().attributes) {
        if let Some(key) = key_ci(doc, name).map(str::to_string) {
            doc.remove(&key);
        }
    }
    for ext in kind.extensions() {
        let Some(Value::Object(inner)) = key_ci(doc, ext.id)
            .map(str::to_string)
            .and_then(|key| doc.get_mut(&key))
        else {
            continue;
        };
        for name in write_only(ext.attributes) {
            if let Some(key) = key_ci(inner, name).map(str::to_string) {
                inner.remove(&key);
            }
        }
    }
}

/// RFC 7643 §2.4: `primary: true` appears at most once per attribute.
fn check_single_primary(doc: &Map<String, Value>) -> Result<(), ScimError> {
    for (key, value) in doc {
        let Some(items) = value.as_array() else {
            continue;
        };
        let primaries = items
            .iter()
            .filter(|v| v.get("primary") == Some(&Value::Bool(true)));
        if primaries.count() > 1 {
            return Err(ScimError::invalid_value(format!(
                "`{key}` has more than one primary value"
            )));
        }
    }
    Ok(())
}

/// Remove empty extension objects and set `schemas` to the core schema
/// plus the extensions the resource has values for.
pub(crate) fn tidy_extensions(doc: &mut Map<String, Value>, kind: ResourceKind) {
    let mut schemas = vec![Value::from(kind.core_schema().id)];
    for ext in kind.extensions() {
        let Some(key) = key_ci(doc, ext.id).map(str::to_string) else {
            continue;
        };
        let empty = doc
            .get(&key)
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if empty {
            doc.remove(&key);
        } else {
            schemas.push(Value::from(ext.id));
        }
    }
    doc.insert("schemas".into(), Value::Array(schemas));
}

/// The values the store indexes (userName, externalId and email addresses of a User; the
/// displayName and externalId of a Group) are at most [`MAX_KEY_BYTES`] long: a longer one
/// is an `invalidValue` naming the attribute, on every backend.
pub(crate) fn check_key_lengths(
    doc: &Map<String, Value>,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    let too_long = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .is_some_and(|text| text.len() > MAX_KEY_BYTES)
    };
    let mut keys: Vec<(&str, Option<&Value>)> = vec![("externalId", get_ci(doc, "externalId"))];
    match kind {
        ResourceKind::User => {
            keys.push(("userName", get_ci(doc, "userName")));
            let emails = get_ci(doc, "emails").and_then(Value::as_array);
            for email in emails.into_iter().flatten() {
                keys.push(("emails.value", email.get("value")));
            }
        }
        ResourceKind::Group => keys.push(("displayName", get_ci(doc, "displayName"))),
    }
    match keys.into_iter().find(|(_, value)| too_long(*value)) {
        Some((attribute, _)) => Err(ScimError::invalid_value(format!(
            "`{attribute}` is longer than {MAX_KEY_BYTES} bytes"
        ))),
        None => Ok(()),
    }
}

/// RFC 7643 §4.1/§4.2: a User needs `userName`, a Group `displayName`.
pub(crate) fn check_required(
    doc: &Map<String, Value>,
    kind: ResourceKind,
) -> Result<(), ScimError> {
    for attr in kind.core_schema().attributes.iter().filter(|a| a.required) {
        let present = get_ci(doc, attr.name).is_some_and(|v| match v {
            Value::String(s) => !s.trim().is_empty(),
            Value::Null => false,
            _ => true,
        });
        if !present {
            return Err(ScimError::invalid_value(format!(
                "`{}` is required for a {}",
                attr.name,
                kind.name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
