//! SCIM filters (RFC 7644 §3.4.2.2): the syntax tree, parsing, checking
//! against the schema, and evaluation against a JSON resource.
//!
//! Use [`Filter::parse_for`] on a `filter` query parameter; it answers
//! `invalidFilter` errors ready for the response. [`Filter::matches`]
//! evaluates a filter against one stored resource, and
//! [`Filter::as_simple_eq`] recognises the equality lookups Entra ID sends
//! so the store can answer them from an index instead of scanning.

mod eval;
mod parser;

use std::fmt;

use serde_json::Number;

pub use parser::{MAX_DEPTH, MAX_LEN, MAX_TERMS, parse_patch_path};

use super::error::ScimError;
use super::path::{AttrPath, Target};
use super::schema::{AttrType, ResourceKind};

/// A parsed filter expression.
///
/// `And` and `Or` hold two or more operands; the parser flattens chains of
/// the same operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr` or `attrPath op value`.
    Attr(AttrExp),
    /// `attrPath[valFilter]`, optionally followed by `.sub op value`.
    ValuePath(ValuePath),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// All operands match.
    And(Vec<Filter>),
    /// At least one operand matches.
    Or(Vec<Filter>),
}

/// An attribute expression: a path and what to test on its values.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrExp {
    /// The attribute tested.
    pub path: AttrPath,
    /// The test.
    pub test: Test,
}

/// A value path filter such as `emails[type eq "work"].value eq "a@b.c"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePath {
    /// The multi-valued attribute whose elements are filtered.
    pub attr: AttrPath,
    /// The filter each element is tested with; its paths are sub-attributes.
    pub filter: Box<Filter>,
    /// A further test on a sub-attribute of the matching elements.
    pub then: Option<SubTest>,
}

/// The `.sub op value` part after a value path's closing bracket.
#[derive(Debug, Clone, PartialEq)]
pub struct SubTest {
    /// The sub-attribute name.
    pub name: String,
    /// The test on its value.
    pub test: Test,
}

/// What an attribute expression checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `pr`: the attribute has a non-empty value.
    Present,
    /// A comparison with a literal.
    Compare(CompareOp, CompValue),
}

/// The comparison operators of RFC 7644 §3.4.2.2, table 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The operator named `word`, ignoring case.
    pub fn parse(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// The operator's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A comparison literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// A quoted string, unescaped.
    Str(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// The attributes the store indexes for Entra ID's lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedAttribute {
    /// `id eq "…"`, case-exact.
    Id,
    /// `externalId eq "…"`, case-exact.
    ExternalId,
    /// `userName eq "…"`, ignoring the case of ASCII letters.
    UserName,
    /// `displayName eq "…"`, ignoring the case of ASCII letters.
    DisplayName,
    /// `emails[type eq "work"].value eq "…"`, ignoring the case of ASCII letters.
    WorkEmail,
}

impl IndexedAttribute {
    /// Whether the index must compare case-sensitively.
    pub fn case_exact(self) -> bool {
        matches!(self, IndexedAttribute::Id | IndexedAttribute::ExternalId)
    }
}

/// An equality lookup the store can answer from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleEq {
    /// The attribute compared.
    pub attribute: IndexedAttribute,
    /// The value it must equal (compare per [`IndexedAttribute::case_exact`]).
    pub value: String,
}

impl Filter {
    /// Parse a filter without reference to a schema.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        parser::parse_filter(input)
    }

    /// Parse a filter for resources of `kind` and [`check`](Filter::check) it.
    pub fn parse_for(input: &str, kind: ResourceKind) -> Result<Filter, ScimError> {
        let filter = Filter::parse(input)?;
        filter.check(kind)?;
        Ok(filter)
    }

    /// Refuse comparisons the RFC forbids: `gt`/`ge`/`lt`/`le` on boolean and
    /// binary attributes (RFC 7644 §3.4.2.2). Unknown attributes are allowed
    /// and match nothing, since resources never hold them.
    pub fn check(&self, kind: ResourceKind) -> Result<(), ScimError> {
        match self {
            Filter::Attr(exp) => {
                let leaf = match exp.path.resolve(kind) {
                    Some(Target::Attribute(r)) => Some(r.leaf()),
                    _ => None,
                };
                check_test(&exp.path.to_string(), leaf.map(|a| a.kind), &exp.test)
            }
            Filter::ValuePath(vp) => {
                let parent = match vp.attr.resolve(kind) {
                    Some(Target::Attribute(r)) if r.sub.is_none() => Some(r.attr),
                    _ => None,
                };
                vp.filter.check_inner(parent)?;
                if let Some(then) = &vp.then {
                    let leaf = parent.and_then(|p| p.sub_attribute(&then.name));
                    check_test(&then.name, leaf.map(|a| a.kind), &then.test)?;
                }
                Ok(())
            }
            Filter::Not(inner) => inner.check(kind),
            Filter::And(items) | Filter::Or(items) => {
                items.iter().try_for_each(|item| item.check(kind))
            }
        }
    }

    fn check_inner(
        &self,
        parent: Option<&'static super::schema::AttributeDef>,
    ) -> Result<(), ScimError> {
        match self {
            Filter::Attr(exp) => {
                let leaf = parent.and_then(|p| p.sub_attribute(&exp.path.name));
                check_test(&exp.path.to_string(), leaf.map(|a| a.kind), &exp.test)
            }
            Filter::ValuePath(_) => Err(ScimError::invalid_filter("nested value paths")),
            Filter::Not(inner) => inner.check_inner(parent),
            Filter::And(items) | Filter::Or(items) => {
                items.iter().try_for_each(|item| item.check_inner(parent))
            }
        }
    }

    /// Whether the filter tests the core attribute `name` of `kind` anywhere (written plain
    /// or URN-qualified, in any case): such a filter needs that attribute in the resources
    /// it is evaluated on.
    pub fn mentions(&self, kind: ResourceKind, name: &str) -> bool {
        let names = |path: &AttrPath| match path.resolve(kind) {
            Some(Target::Attribute(r)) => {
                r.extension.is_none() && r.attr.name.eq_ignore_ascii_case(name)
            }
            _ => false,
        };
        match self {
            Filter::Attr(exp) => names(&exp.path),
            Filter::ValuePath(vp) => names(&vp.attr),
            Filter::Not(inner) => inner.mentions(kind, name),
            Filter::And(items) | Filter::Or(items) => {
                items.iter().any(|item| item.mentions(kind, name))
            }
        }
    }

    /// Recognise `id`, `externalId`, `userName` or `displayName` `eq "x"`,
    /// and `emails[type eq "work"].value eq "x"`: the lookups Entra ID makes
    /// before creating a resource. Names are matched without regard to case.
    pub fn as_simple_eq(&self) -> Option<SimpleEq> {
        match self {
            Filter::Attr(AttrExp {
                path:
                    AttrPath {
                        uri: None,
                        name,
                        sub_attr: None,
                    },
                test: Test::Compare(CompareOp::Eq, CompValue::Str(value)),
            }) => {
                let attribute = [
                    ("id", IndexedAttribute::Id),
                    ("externalId", IndexedAttribute::ExternalId),
                    ("userName", IndexedAttribute::UserName),
                    ("displayName", IndexedAttribute::DisplayName),
                ]
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))?
                .1;
                Some(SimpleEq {
                    attribute,
                    value: value.clone(),
                })
            }
            Filter::ValuePath(ValuePath {
                attr:
                    AttrPath {
                        uri: None,
                        name,
                        sub_attr: None,
                    },
                filter,
                then:
                    Some(SubTest {
                        name: sub,
                        test: Test::Compare(CompareOp::Eq, CompValue::Str(value)),
                    }),
            }) if name.eq_ignore_ascii_case("emails") && sub.eq_ignore_ascii_case("value") => {
                match filter.as_ref() {
                    Filter::Attr(AttrExp {
                        path:
                            AttrPath {
                                uri: None,
                                name: type_name,
                                sub_attr: None,
                            },
                        test: Test::Compare(CompareOp::Eq, CompValue::Str(kind)),
                    }) if type_name.eq_ignore_ascii_case("type")
                        && kind.eq_ignore_ascii_case("work") =>
                    {
                        Some(SimpleEq {
                            attribute: IndexedAttribute::WorkEmail,
                            value: value.clone(),
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn check_test(path: &str, kind: Option<AttrType>, test: &Test) -> Result<(), ScimError> {
    match (kind, test) {
        (Some(t @ (AttrType::Boolean | AttrType::Binary)), Test::Compare(op, _))
            if op.is_ordering() =>
        {
            Err(ScimError::invalid_filter(format!(
                "`{op}` cannot compare `{path}`, a {} attribute",
                t.as_str()
            )))
        }
        _ => Ok(()),
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => write!(f, "{}", serde_json::Value::from(s.as_str())),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Present => f.write_str("pr"),
            Test::Compare(op, value) => write!(f, "{op} {value}"),
        }
    }
}

impl fmt::Display for Filter {
    /// Writes a filter that parses back to the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Attr(exp) => write!(f, "{} {}", exp.path, exp.test),
            Filter::ValuePath(vp) => {
                write!(f, "{}[{}]", vp.attr, vp.filter)?;
                match &vp.then {
                    Some(then) => write!(f, ".{} {}", then.name, then.test),
                    None => Ok(()),
                }
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    match item {
                        Filter::Or(_) | Filter::And(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
            Filter::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    match item {
                        Filter::Or(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
