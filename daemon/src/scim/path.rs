//! Attribute paths (RFC 7644 §3.10, §3.4.2.2) and their resolution against
//! the schema tables.
//!
//! An [`AttrPath`] is what a client wrote: an optional schema URN, a name and
//! an optional sub-attribute. [`AttrPath::resolve`] turns it into a
//! [`Target`] naming the schema definitions, so callers work with canonical
//! names. A path that is the bare URN of an extension (such as the enterprise
//! User schema) is kept as `name` = the URN, which is also the JSON key of
//! the extension object in a resource.

use std::fmt;

use serde_json::{Map, Value};

use super::schema::{AttributeDef, ResourceKind, SchemaDef};

/// An attribute path as written by the client: `[URN ":"] name ["." sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, if the path was qualified.
    pub uri: Option<String>,
    /// The attribute name (or an extension URN, for a bare extension path).
    pub name: String,
    /// The sub-attribute after the dot.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A plain, unqualified path.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// A path with a sub-attribute, such as `name.familyName`.
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: Some(sub.into()),
        }
    }

    /// Split a path token such as `name.givenName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    ///
    /// Known schema URNs are matched first (they contain dots themselves);
    /// other URNs are split at the last colon. Returns `None` when a segment
    /// is not an RFC 7644 `ATTRNAME`.
    pub fn parse(token: &str) -> Option<AttrPath> {
        if let Some(urn) = known_urns().find(|urn| urn.eq_ignore_ascii_case(token)) {
            return Some(AttrPath::new(urn));
        }
        let (uri, rest) = match known_urns().find(|urn| has_urn_prefix(token, urn)) {
            Some(urn) => (Some(urn.to_string()), &token[urn.len() + 1..]),
            None => match token.rsplit_once(':') {
                Some((uri, rest)) if !uri.is_empty() => (Some(uri.to_string()), rest),
                Some(_) => return None,
                None => (None, token),
            },
        };
        let (name, sub_attr) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(name) || sub_attr.is_some_and(|s| !is_attr_name(s)) {
            return None;
        }
        Some(AttrPath {
            uri,
            name: name.into(),
            sub_attr: sub_attr.map(str::to_string),
        })
    }

    /// The attribute `name` inside extension `ext`, as a key of the extension's object in a
    /// resource names it; `None` when the extension has no such attribute.
    pub fn in_extension(ext: &SchemaDef, name: &str, kind: ResourceKind) -> Option<Resolved> {
        let path = AttrPath {
            uri: Some(ext.id.into()),
            name: name.to_owned(),
            sub_attr: None,
        };
        match path.resolve(kind) {
            Some(Target::Attribute(r)) => Some(r),
            _ => None,
        }
    }

    /// Resolve against the schemas of `kind`; `None` when the schema does not
    /// define the attribute (or the URN prefix names a foreign schema).
    pub fn resolve(&self, kind: ResourceKind) -> Option<Target> {
        if self.uri.is_none()
            && self.sub_attr.is_none()
            && let Some(ext) = kind.extension(&self.name)
        {
            return Some(Target::Extension(ext));
        }
        let (extension, attr) = match &self.uri {
            None => (None, kind.core_attribute(&self.name)?),
            Some(uri) => match kind.schema(uri)? {
                schema if std::ptr::eq(schema, kind.core_schema()) => {
                    (None, kind.core_attribute(&self.name)?)
                }
                ext => (Some(ext), ext.attribute(&self.name)?),
            },
        };
        let sub = match &self.sub_attr {
            None => None,
            Some(sub) => Some(attr.sub_attribute(sub)?),
        };
        Some(Target::Attribute(Resolved {
            extension,
            attr,
            sub,
        }))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// What an [`AttrPath`] denotes in the schema.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// An attribute, possibly inside an extension, possibly a sub-attribute.
    Attribute(Resolved),
    /// A whole extension object, such as the enterprise User.
    Extension(&'static SchemaDef),
}

/// A schema attribute located in a resource.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The extension holding the attribute; `None` for core attributes.
    pub extension: Option<&'static SchemaDef>,
    /// The attribute.
    pub attr: &'static AttributeDef,
    /// The sub-attribute, if the path named one.
    pub sub: Option<&'static AttributeDef>,
}

impl Resolved {
    /// The definition that governs the addressed values: the
    /// sub-attribute's if there is one, else the attribute's.
    pub fn leaf(&self) -> &'static AttributeDef {
        self.sub.unwrap_or(self.attr)
    }

    /// Whether the path addresses a write-only value (the attribute or its sub-attribute).
    pub fn is_write_only(&self) -> bool {
        self.attr.is_write_only() || self.sub.is_some_and(AttributeDef::is_write_only)
    }

    /// The object holding the attribute: the resource itself, or its
    /// extension object (absent when the extension has no values).
    pub fn container<'a>(&self, resource: &'a Value) -> Option<&'a Map<String, Value>> {
        self.container_in(resource.as_object()?)
    }

    /// [`container`](Resolved::container) for a resource's JSON object.
    pub fn container_in<'a>(&self, doc: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
        match self.extension {
            None => Some(doc),
            Some(ext) => get_ci(doc, ext.id).and_then(Value::as_object),
        }
    }

    /// Run `f` on the object holding the attribute: the resource's own
    /// object, or its extension object, created empty if missing.
    pub fn with_container<T>(
        &self,
        doc: &mut Map<String, Value>,
        f: impl FnOnce(&mut Map<String, Value>) -> T,
    ) -> T {
        let Some(ext) = self.extension else {
            return f(doc);
        };
        let key = key_ci(doc, ext.id).unwrap_or(ext.id).to_string();
        let mut object = match doc.remove(&key) {
            Some(Value::Object(object)) => object,
            _ => Map::new(),
        };
        let out = f(&mut object);
        doc.insert(key, Value::Object(object));
        out
    }

    /// The attribute's value in `resource`, if it has one.
    pub fn value<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let container = self.container(resource)?;
        key_ci(container, self.attr.name).and_then(|k| container.get(k))
    }
}

/// The key of `object` equal to `name` ignoring ASCII case, preferring an
/// exact match.
pub fn key_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    if let Some((k, _)) = object.get_key_value(name) {
        return Some(k.as_str());
    }
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(String::as_str)
}

/// `object[name]`, with `name` compared ignoring ASCII case.
pub fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_ci(object, name).and_then(|k| object.get(k))
}

/// Every schema URN this server knows, for splitting qualified paths.
fn known_urns() -> impl Iterator<Item = &'static str> {
    ResourceKind::User
        .schema_urns()
        .chain(ResourceKind::Group.schema_urns())
}

fn has_urn_prefix(token: &str, urn: &str) -> bool {
    token.len() > urn.len() + 1
        && token.as_bytes().get(urn.len()) == Some(&b':')
        && token
            .get(..urn.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(urn))
}

/// RFC 7644 §3.4.2.2 `ATTRNAME = ALPHA *(nameChar)`; `$ref` is also allowed,
/// as RFC 7643 names the reference sub-attribute that way.
fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;

    #[test]
    fn enterprise_paths_split_at_the_known_urn() {
        let path = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        );
        assert_eq!(
            path,
            Some(AttrPath {
                uri: Some(ENTERPRISE_USER_SCHEMA.into()),
                name: "manager".into(),
                sub_attr: Some("value".into()),
            })
        );
        let bare = AttrPath::parse("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User");
        assert_eq!(bare, Some(AttrPath::new(ENTERPRISE_USER_SCHEMA)));
    }

    #[test]
    fn resolution_is_case_insensitive() {
        let path = AttrPath::parse("NAME.GivenName");
        let target = path.and_then(|p| p.resolve(ResourceKind::User));
        assert!(matches!(
            target,
            Some(Target::Attribute(Resolved { sub: Some(s), .. })) if s.name == "givenName"
        ));
        let core = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName");
        let target = core.and_then(|p| p.resolve(ResourceKind::User));
        assert!(matches!(target, Some(Target::Attribute(r)) if r.attr.name == "userName"));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert_eq!(AttrPath::parse("name."), None);
        assert_eq!(AttrPath::parse("1abc"), None);
        assert_eq!(AttrPath::parse("a.b.c"), None);
        assert_eq!(AttrPath::parse(":x"), None);
    }
}
