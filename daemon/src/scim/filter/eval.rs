//! Evaluating a [`Filter`] against one JSON resource.
//!
//! Semantics (RFC 7644 §3.4.2.2): attribute names ignore case; strings
//! compare ignoring the case of ASCII letters unless the schema marks the
//! attribute `caseExact` (with [`fold_case`], as the stored keys of the
//! indexed lookups are made; other characters compare exactly); `dateTime`
//! attributes compare as instants; a multi-valued attribute matches when any
//! of its values does; a comparison on a multi-valued complex attribute
//! without a sub-attribute applies to its `value`. `ne` is the negation of
//! `eq`, so `ne` matches a resource lacking the attribute; `eq null` matches
//! exactly when `pr` does not.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::{CompValue, CompareOp, Filter, Test, ValuePath};
use crate::fold::fold_case;
use crate::scim::path::{AttrPath, Target, get_ci};
use crate::scim::schema::{AttrType, AttributeDef, ResourceKind};

impl Filter {
    /// Whether `resource` (a User or Group as JSON) satisfies this filter.
    pub fn matches(&self, resource: &Value, kind: ResourceKind) -> bool {
        match self {
            Filter::Attr(exp) => {
                let (values, def) = resource_values(resource, kind, &exp.path);
                run_test(&exp.test, &values, def)
            }
            Filter::ValuePath(vp) => value_path_matches(resource, kind, vp),
            Filter::Not(inner) => !inner.matches(resource, kind),
            Filter::And(items) => items.iter().all(|f| f.matches(resource, kind)),
            Filter::Or(items) => items.iter().any(|f| f.matches(resource, kind)),
        }
    }

    /// Whether one element of a multi-valued complex attribute satisfies
    /// this filter, its paths naming sub-attributes of `parent`.
    pub fn matches_element(&self, element: &Value, parent: Option<&AttributeDef>) -> bool {
        match self {
            Filter::Attr(exp) => {
                let def = parent.and_then(|p| p.sub_attribute(&exp.path.name));
                let value = element.as_object().and_then(|o| get_ci(o, &exp.path.name));
                let mut values = Vec::new();
                if let Some(v) = value {
                    flatten(v, &mut values);
                }
                run_test(&exp.test, &values, def)
            }
            Filter::ValuePath(_) => false,
            Filter::Not(inner) => !inner.matches_element(element, parent),
            Filter::And(items) => items.iter().all(|f| f.matches_element(element, parent)),
            Filter::Or(items) => items.iter().any(|f| f.matches_element(element, parent)),
        }
    }
}

fn value_path_matches(resource: &Value, kind: ResourceKind, vp: &ValuePath) -> bool {
    let (parent, value) = match vp.attr.resolve(kind) {
        Some(Target::Attribute(r)) if r.sub.is_none() => (Some(r.attr), r.value(resource)),
        Some(_) => return false,
        None => (None, unknown_value(resource, &vp.attr)),
    };
    let elements: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    elements
        .into_iter()
        .filter(|e| vp.filter.matches_element(e, parent))
        .any(|e| {
            let Some(then) = &vp.then else { return true };
            let def = parent.and_then(|p| p.sub_attribute(&then.name));
            let mut values = Vec::new();
            if let Some(v) = e.as_object().and_then(|o| get_ci(o, &then.name)) {
                flatten(v, &mut values);
            }
            run_test(&then.test, &values, def)
        })
}

/// The values a path addresses, flattened, with the governing definition.
fn resource_values<'a>(
    resource: &'a Value,
    kind: ResourceKind,
    path: &AttrPath,
) -> (Vec<&'a Value>, Option<&'static AttributeDef>) {
    let mut values = Vec::new();
    match path.resolve(kind) {
        Some(Target::Attribute(r)) => {
            let Some(top) = r.value(resource) else {
                return (values, Some(r.leaf()));
            };
            match r.sub {
                Some(sub) => collect_sub(top, sub.name, &mut values),
                None => flatten(top, &mut values),
            }
            (values, Some(r.leaf()))
        }
        Some(Target::Extension(ext)) => {
            if let Some(v) = resource.as_object().and_then(|o| get_ci(o, ext.id)) {
                values.push(v);
            }
            (values, None)
        }
        None => {
            if let Some(top) = unknown_value(resource, path) {
                match &path.sub_attr {
                    Some(sub) => collect_sub(top, sub, &mut values),
                    None => flatten(top, &mut values),
                }
            }
            (values, None)
        }
    }
}

/// Best-effort lookup of an attribute the schema does not define.
fn unknown_value<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let object = resource.as_object()?;
    let container: &Map<String, Value> = match &path.uri {
        None => object,
        Some(uri) => get_ci(object, uri)?.as_object()?,
    };
    get_ci(container, &path.name)
}

fn collect_sub<'a>(top: &'a Value, sub: &str, out: &mut Vec<&'a Value>) {
    match top {
        Value::Array(items) => items.iter().for_each(|item| collect_sub(item, sub, out)),
        Value::Object(object) => {
            if let Some(v) = get_ci(object, sub) {
                flatten(v, out);
            }
        }
        _ => {}
    }
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => out.extend(items.iter().filter(|v| !v.is_null())),
        Value::Null => {}
        other => out.push(other),
    }
}

fn run_test(test: &Test, values: &[&Value], def: Option<&AttributeDef>) -> bool {
    match test {
        Test::Present => values.iter().any(|v| is_present(v)),
        Test::Compare(CompareOp::Eq, CompValue::Null) => !values.iter().any(|v| is_present(v)),
        Test::Compare(CompareOp::Ne, value) => {
            !run_test(&Test::Compare(CompareOp::Eq, value.clone()), values, def)
        }
        Test::Compare(op, expected) => {
            // A comparison on a complex value applies to its `value`.
            let def = match def {
                Some(d) if d.is_complex() => d.sub_attribute("value"),
                other => other,
            };
            values.iter().any(|actual| {
                let actual = match actual {
                    Value::Object(o) => get_ci(o, "value"),
                    other => Some(*other),
                };
                actual.is_some_and(|a| compare(*op, a, expected, def))
            })
        }
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

fn compare(
    op: CompareOp,
    actual: &Value,
    expected: &CompValue,
    def: Option<&AttributeDef>,
) -> bool {
    let kind = def.map(|d| d.kind);
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) if kind == Some(AttrType::DateTime) => {
            match (
                DateTime::parse_from_rfc3339(a),
                DateTime::parse_from_rfc3339(e),
            ) {
                (Ok(a), Ok(e)) => ordered(op, a.cmp(&e)),
                _ => compare_str(op, a, e, true),
            }
        }
        (Value::String(a), CompValue::Str(e)) => {
            compare_str(op, a, e, def.is_some_and(|d| d.case_exact))
        }
        (Value::Bool(a), CompValue::Bool(e)) => op == CompareOp::Eq && a == e,
        (Value::Bool(a), CompValue::Str(e)) => {
            op == CompareOp::Eq && e.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        (Value::Number(a), CompValue::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|o| ordered(op, o)),
            _ => false,
        },
        _ => false,
    }
}

fn compare_str(op: CompareOp, actual: &str, expected: &str, case_exact: bool) -> bool {
    let (a, e) = if case_exact {
        (actual.to_string(), expected.to_string())
    } else {
        (fold_case(actual), fold_case(expected))
    };
    match op {
        CompareOp::Co => a.contains(&e),
        CompareOp::Sw => a.starts_with(&e),
        CompareOp::Ew => a.ends_with(&e),
        _ => ordered(op, a.cmp(&e)),
    }
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
