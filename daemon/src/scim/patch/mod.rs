//! SCIM PATCH (RFC 7644 §3.5.2) applied to a JSON resource.
//!
//! [`apply_patch`] takes the stored resource and a PatchOp body and returns
//! the new resource and whether anything changed; it never touches `meta`
//! (the caller bumps the version only when `changed`). It accepts both
//! shapes Microsoft Entra ID sends, with and without the
//! `aadOptscim062020` flag: op names in any case, `"True"`/`"False"`
//! booleans, `add` on single-valued attributes, no-path `replace` whose
//! value uses dotted and URN-qualified keys, and member removal either as
//! `path: members` with a value list or as `members[value eq "id"]`.
//! Attributes outside the schemas are ignored, as on create.

mod apply;

use std::fmt;

use serde_json::Value;

use super::error::ScimError;
use super::filter::{Filter, parse_patch_path};
use super::path::{AttrPath, get_ci};
use super::resource::{
    Step, attribute_name, check_key_lengths, check_required, drop_write_only, nul_detail,
    nul_location, tidy_extensions,
};
use super::schema::{PATCH_OP_SCHEMA, ResourceKind};

/// A PATCH `path` (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `attrPath`, such as `userName`, `name.givenName` or a URN-qualified
    /// enterprise attribute.
    Attr(AttrPath),
    /// `attrPath[valFilter]` with an optional `.subAttr`, such as
    /// `emails[type eq "work"].value` or `members[value eq "id"]`.
    Value {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// Which of its elements the operation targets.
        filter: Box<Filter>,
        /// The sub-attribute of those elements, if any.
        sub_attr: Option<String>,
    },
}

impl PatchPath {
    /// Parse a path; failures are `invalidPath`.
    pub fn parse(input: &str) -> Result<PatchPath, ScimError> {
        parse_patch_path(input)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => write!(f, "{path}"),
            PatchPath::Value {
                attr,
                filter,
                sub_attr,
            } => {
                write!(f, "{attr}[{filter}]")?;
                match sub_attr {
                    Some(sub) => write!(f, ".{sub}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `remove`
    Remove,
}

/// One parsed PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What to do.
    pub op: PatchOpKind,
    /// Where; `None` means the whole resource.
    pub path: Option<PatchPath>,
    /// The value, as sent (coercion happens when applying).
    pub value: Option<Value>,
}

/// The result of applying a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The resource after every operation.
    pub resource: Value,
    /// Whether it differs from the resource before.
    pub changed: bool,
}

/// Parse a PatchOp request body: `schemas` must name the PatchOp message,
/// `Operations` (any case) must be an array of `{op, path?, value?}`.
pub fn parse_patch_body(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;

    let schemas = get_ci(object, "schemas").and_then(Value::as_array);
    let names_patch_op = schemas.is_some_and(|s| {
        s.iter().any(|u| {
            u.as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        })
    });
    if !names_patch_op {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must contain {PATCH_OP_SCHEMA}"
        )));
    }
    if let Some(at) = nul_location(body) {
        return Err(nul_in_patch(object, &at));
    }

    let operations = get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("`Operations` must be an array"))?;
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

/// The error for a NUL character in a PatchOp body, naming the attribute it was for: the
/// operation's `path` followed by the keys inside its `value` (or those keys alone without a
/// path), or the member of the operation holding it.
fn nul_in_patch(body: &serde_json::Map<String, Value>, at: &[Step<'_>]) -> ScimError {
    let [
        Step::Key(_),
        Step::Index(index),
        Step::Key(member),
        inside @ ..,
    ] = at
    else {
        return ScimError::invalid_value(nul_detail(&attribute_name(at)));
    };
    let operation = get_ci(body, "Operations")
        .and_then(|ops| ops.get(*index))
        .and_then(Value::as_object);
    let attribute = if member.eq_ignore_ascii_case("value") {
        let path = operation
            .and_then(|op| get_ci(op, "path"))
            .and_then(Value::as_str)
            .filter(|path| !path.trim().is_empty());
        match (path, attribute_name(inside)) {
            (Some(path), inner) if inner.is_empty() => path.to_string(),
            (Some(path), inner) => format!("{path}.{inner}"),
            (None, inner) => inner,
        }
    } else {
        attribute_name(&at[2..])
    };
    ScimError::invalid_value(format!("operation {index}: {}", nul_detail(&attribute)))
}

fn parse_operation(index: usize, op: &Value) -> Result<PatchOperation, ScimError> {
    let object = op.as_object().ok_or_else(|| {
        ScimError::invalid_syntax(format!("operation {index} must be a JSON object"))
    })?;

    let name = get_ci(object, "op")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => PatchOpKind::Add,
        "replace" => PatchOpKind::Replace,
        "remove" => PatchOpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "operation {index}: op {name:?} is not add, replace or remove"
            )));
        }
    };

    let path = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(PatchPath::parse(p).map_err(|e| {
            ScimError::invalid_path(format!("operation {index}: path {p:?}: {}", detail(&e)))
        })?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "operation {index}: path must be a string"
            )));
        }
    };

    let value = get_ci(object, "value").cloned();
    if kind != PatchOpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "operation {index}: {name} needs a value"
        )));
    }
    if kind == PatchOpKind::Remove && path.is_none() {
        return Err(ScimError::no_target(format!(
            "operation {index}: remove needs a path"
        )));
    }
    Ok(PatchOperation {
        op: kind,
        path,
        value,
    })
}

fn detail(error: &ScimError) -> String {
    match error {
        ScimError::Bad { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

/// Apply a PatchOp body to `resource` (a User or Group as JSON).
///
/// All operations apply or none do: the first failing operation's error is
/// returned and `resource` is untouched. The result keeps required
/// attributes (`userName`, `displayName`) or the PATCH is refused with
/// `invalidValue`.
pub fn apply_patch(
    resource: &Value,
    kind: ResourceKind,
    body: &Value,
) -> Result<PatchOutcome, ScimError> {
    let operations = parse_patch_body(body)?;
    apply_operations(resource, kind, &operations)
}

/// Apply already-parsed operations; see [`apply_patch`].
pub fn apply_operations(
    resource: &Value,
    kind: ResourceKind,
    operations: &[PatchOperation],
) -> Result<PatchOutcome, ScimError> {
    let mut doc = resource
        .as_object()
        .cloned()
        .ok_or_else(|| ScimError::invalid_value("the stored resource is not a JSON object"))?;

    for operation in operations {
        apply::apply_one(&mut doc, kind, operation)?;
    }
    drop_write_only(&mut doc, kind);
    tidy_extensions(&mut doc, kind);
    check_required(&doc, kind)?;
    check_key_lengths(&doc, kind)?;

    let resource_after = Value::Object(doc);
    let changed = &resource_after != resource;
    Ok(PatchOutcome {
        resource: resource_after,
        changed,
    })
}

#[cfg(test)]
mod tests;
