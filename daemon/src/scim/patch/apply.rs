//! The operation semantics of RFC 7644 §3.5.2.1-3 on a resource's JSON
//! object, one operation at a time.

use serde_json::{Map, Value};

use super::{PatchOpKind, PatchOperation, PatchPath};
use crate::scim::error::ScimError;
use crate::scim::filter::{AttrExp, CompValue, CompareOp, Filter, Test};
use crate::scim::path::{AttrPath, Resolved, Target, get_ci, key_ci};
use crate::scim::schema::{AttributeDef, Mutability, ResourceKind, SchemaDef};
use crate::scim::value::{coerce, coerce_single, keep_one_primary, same_element};

type Doc = Map<String, Value>;

pub(super) fn apply_one(
    doc: &mut Doc,
    kind: ResourceKind,
    operation: &PatchOperation,
) -> Result<(), ScimError> {
    let value = operation.value.clone().unwrap_or(Value::Null);
    match &operation.path {
        None => apply_without_path(doc, kind, operation.op, value),
        Some(path) => apply_at(doc, kind, operation.op, path, value),
    }
}

/// `add`/`replace` with no path: each key of the value object is a path
/// of its own (`name.givenName`, URN-qualified keys, extension objects).
fn apply_without_path(
    doc: &mut Doc,
    kind: ResourceKind,
    op: PatchOpKind,
    value: Value,
) -> Result<(), ScimError> {
    let Value::Object(object) = value else {
        return Err(ScimError::invalid_value(format!(
            "{} without a path needs an object value",
            op_name(op)
        )));
    };
    let mut named = crate::scim::resource::Named::default();
    for (key, v) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path = PatchPath::parse(&key).map_err(|_| {
            ScimError::invalid_value(format!("value key {key:?} is not an attribute path"))
        })?;
        if let PatchPath::Attr(attr) = &path {
            claim_keys(&mut named, kind, attr, &v)?;
        }

        // Entra repeats `id` in a no-path replace; an unchanged read-only
        // value is not a change.
        if let PatchPath::Attr(attr) = &path
            && let Some(Target::Attribute(r)) = attr.resolve(kind)
            && r.sub.is_none()
            && r.attr.is_read_only()
        {
            let current = r.container_in(doc).and_then(|c| get_ci(c, r.attr.name));
            if current == Some(&v) {
                continue;
            }
        }
        apply_at(doc, kind, op, &path, v)?;
    }
    Ok(())
}

/// Records the attributes a key of a no-path value names (an extension's object names those
/// of its keys): one named twice, in two spellings, is refused.
fn claim_keys(
    named: &mut crate::scim::resource::Named,
    kind: ResourceKind,
    attr: &AttrPath,
    value: &Value,
) -> Result<(), ScimError> {
    match attr.resolve(kind) {
        Some(Target::Attribute(r)) => named.claim(&r),
        Some(Target::Extension(ext)) => {
            let Value::Object(inner) = value else {
                return Ok(());
            };
            for name in inner.keys() {
                if let Some(r) = AttrPath::in_extension(ext, name, kind) {
                    named.claim(&r)?;
                }
            }
            Ok(())
        }
        None => Ok(()),
    }
}

fn apply_at(
    doc: &mut Doc,
    kind: ResourceKind,
    op: PatchOpKind,
    path: &PatchPath,
    value: Value,
) -> Result<(), ScimError> {
    let (attr_path, filter, sub_attr) = match path {
        PatchPath::Attr(attr) => (attr, None, None),
        PatchPath::Value {
            attr,
            filter,
            sub_attr,
        } => (attr, Some(filter.as_ref()), sub_attr.as_deref()),
    };

    let resolved = match attr_path.resolve(kind) {
        // Attributes outside the schema are ignored, as on create.
        None => return Ok(()),
        Some(Target::Extension(ext)) if filter.is_none() => {
            return apply_extension(doc, kind, ext, op, value);
        }
        Some(Target::Extension(ext)) => {
            return Err(ScimError::invalid_path(format!(
                "{} is not multi-valued",
                ext.id
            )));
        }
        Some(Target::Attribute(r)) => r,
    };
    // The write-only `password` is discarded, as on create: nothing may store it.
    if resolved.is_write_only() {
        return Ok(());
    }
    check_mutability(&resolved, attr_path, op)?;

    match filter {
        None => apply_attribute(doc, op, &resolved, value),
        Some(filter) => {
            if resolved.sub.is_some() || !resolved.attr.multi_valued || !resolved.attr.is_complex()
            {
                return Err(ScimError::invalid_path(format!(
                    "`{attr_path}` is not a multi-valued complex attribute; it cannot take a filter"
                )));
            }
            let sub = match sub_attr {
                None => None,
                Some(name) => Some(resolved.attr.sub_attribute(name).ok_or_else(|| {
                    ScimError::invalid_path(format!("`{attr_path}` has no sub-attribute `{name}`"))
                })?),
            };
            if let Some(sub) = sub.filter(|s| s.is_read_only()) {
                return Err(ScimError::mutability(format!(
                    "`{attr_path}.{}` is read-only",
                    sub.name
                )));
            }
            apply_filtered(doc, op, &resolved, filter, sub, value)
        }
    }
}

fn check_mutability(r: &Resolved, path: &AttrPath, op: PatchOpKind) -> Result<(), ScimError> {
    let read_only = r.attr.is_read_only() || r.sub.is_some_and(|s| s.is_read_only());
    if read_only {
        return Err(ScimError::mutability(format!(
            "`{path}` is read-only and cannot be the target of {}",
            op_name(op)
        )));
    }
    if op == PatchOpKind::Replace && r.sub.is_some_and(|s| s.mutability == Mutability::Immutable) {
        return Err(ScimError::mutability(format!("`{path}` is immutable")));
    }
    Ok(())
}

/// A path naming a whole extension object, such as the enterprise User.
fn apply_extension(
    doc: &mut Doc,
    kind: ResourceKind,
    ext: &'static SchemaDef,
    op: PatchOpKind,
    value: Value,
) -> Result<(), ScimError> {
    if op == PatchOpKind::Remove {
        if let Some(key) = key_ci(doc, ext.id).map(str::to_string) {
            doc.remove(&key);
        }
        return Ok(());
    }
    let Value::Object(object) = value else {
        return Err(ScimError::invalid_value(format!(
            "{} must be an object",
            ext.id
        )));
    };
    for (key, v) in object {
        let path = AttrPath {
            uri: Some(ext.id.to_string()),
            name: key,
            sub_attr: None,
        };
        apply_at(doc, kind, op, &PatchPath::Attr(path), v)?;
    }
    Ok(())
}

/// Operations on `attr` or `attr.sub`, with no filter.
fn apply_attribute(
    doc: &mut Doc,
    op: PatchOpKind,
    r: &Resolved,
    value: Value,
) -> Result<(), ScimError> {
    let attr = r.attr;
    if op == PatchOpKind::Remove && r.sub.is_none() {
        return remove_attribute(doc, r, value);
    }

    r.with_container(doc, |container| {
        let key = key_ci(container, attr.name).map(str::to_string);
        let current = key.as_ref().and_then(|k| container.remove(k));

        let updated = match (r.sub, attr.multi_valued) {
            (None, true) => {
                let mut items = as_items(current);
                let incoming = crate::scim::value::coerce_multi(attr, value)?;
                if op == PatchOpKind::Replace {
                    items.clear();
                }
                for item in incoming {
                    match items.iter().position(|e| same_element(e, &item)) {
                        Some(i) if op == PatchOpKind::Add => {
                            merge_into(&mut items[i], item);
                            keep_one_primary(&mut items, i);
                        }
                        _ => {
                            items.push(item);
                            let last = items.len() - 1;
                            keep_one_primary(&mut items, last);
                        }
                    }
                }
                (!items.is_empty()).then_some(Value::Array(items))
            }
            (None, false) if attr.is_complex() => {
                let incoming = coerce(attr, value)?;
                match (current, incoming) {
                    (_, None) => None,
                    (Some(Value::Object(mut old)), Some(Value::Object(new))) => {
                        // A different `value` (a new manager) replaces the whole
                        // object so stale `displayName`/`$ref` do not linger.
                        if new
                            .get("value")
                            .is_some_and(|v| old.get("value") != Some(v))
                        {
                            old.clear();
                        }
                        old.extend(new);
                        Some(Value::Object(old))
                    }
                    (_, Some(new)) => Some(new),
                }
            }
            (None, false) => coerce(attr, value)?,
            (Some(sub), _) => set_sub_everywhere(current, attr, sub, op, value)?,
        };

        if let Some(v) = updated {
            container.insert(attr.name.to_string(), v);
        }
        Ok(())
    })
}

/// `remove` of a whole attribute; with a value list on a multi-valued
/// attribute, only the listed elements (Entra's member removal).
fn remove_attribute(doc: &mut Doc, r: &Resolved, value: Value) -> Result<(), ScimError> {
    r.with_container(doc, |container| {
        let Some(key) = key_ci(container, r.attr.name).map(str::to_string) else {
            return Ok(());
        };
        if !r.attr.multi_valued || value.is_null() {
            container.remove(&key);
            return Ok(());
        }
        let listed = crate::scim::value::coerce_multi(r.attr, value)?;
        let mut items = as_items(container.remove(&key));
        items.retain(|e| !listed.iter().any(|l| same_element(e, l)));
        if !items.is_empty() {
            container.insert(key, Value::Array(items));
        }
        Ok(())
    })
}

/// `attr.sub` without a filter: on a single complex attribute set or remove
/// the sub-attribute; on a multi-valued one, in every element.
fn set_sub_everywhere(
    current: Option<Value>,
    attr: &AttributeDef,
    sub: &AttributeDef,
    op: PatchOpKind,
    value: Value,
) -> Result<Option<Value>, ScimError> {
    let incoming = match op {
        PatchOpKind::Remove => None,
        _ => coerce_single(sub, value)?,
    };
    if attr.multi_valued {
        let mut items = as_items(current);
        if items.is_empty() && incoming.is_some() {
            items.push(Value::Object(Map::new()));
        }
        for item in &mut items {
            set_sub(item, sub, incoming.clone());
        }
        drop_valueless(&mut items, attr);
        return Ok((!items.is_empty()).then_some(Value::Array(items)));
    }
    let mut object = match current {
        Some(Value::Object(o)) => Value::Object(o),
        _ => Value::Object(Map::new()),
    };
    set_sub(&mut object, sub, incoming);
    let empty = object.as_object().is_none_or(Map::is_empty);
    Ok((!empty).then_some(object))
}

/// Operations on `attr[filter]` or `attr[filter].sub`.
fn apply_filtered(
    doc: &mut Doc,
    op: PatchOpKind,
    r: &Resolved,
    filter: &Filter,
    sub: Option<&'static AttributeDef>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = r.attr;
    let incoming = match (op, sub) {
        (PatchOpKind::Remove, _) => None,
        (_, Some(sub)) => coerce_single(sub, value)?,
        (_, None) => coerce_single(attr, value)?,
    };
    let op = if incoming.is_none() {
        PatchOpKind::Remove
    } else {
        op
    };

    r.with_container(doc, |container| {
        let key = key_ci(container, attr.name).map(str::to_string);
        let mut items = as_items(key.as_ref().and_then(|k| container.remove(k)));
        let matched: Vec<usize> = (0..items.len())
            .filter(|&i| {
                items
                    .get(i)
                    .is_some_and(|e| filter.matches_element(e, Some(attr)))
            })
            .collect();

        match (op, sub, incoming) {
            (PatchOpKind::Remove, None, _) => {
                let mut index = 0;
                items.retain(|_| {
                    index += 1;
                    !matched.contains(&(index - 1))
                });
            }
            (PatchOpKind::Remove, Some(sub), _) => {
                for &i in &matched {
                    if let Some(item) = items.get_mut(i) {
                        set_sub(item, sub, None);
                    }
                }
                drop_valueless(&mut items, attr);
            }
            (_, _, Some(new)) if matched.is_empty() => {
                // Entra sets `emails[type eq "work"].value` on users that have
                // no work email yet: create the element the filter describes.
                let mut element = element_from_filter(filter, attr).ok_or_else(|| {
                ScimError::no_target(format!(
                    "no `{}` value matches [{filter}], and the filter does not describe a new one",
                    attr.name
                ))
            })?;
                match sub {
                    Some(sub) => set_sub(&mut element, sub, Some(new)),
                    None => merge_into(&mut element, new),
                }
                items.push(element);
                let last = items.len() - 1;
                keep_one_primary(&mut items, last);
            }
            (_, _, Some(new)) => {
                for &i in &matched {
                    if let Some(item) = items.get_mut(i) {
                        match sub {
                            Some(sub) => set_sub(item, sub, Some(new.clone())),
                            None => merge_into(item, new.clone()),
                        }
                    }
                    keep_one_primary(&mut items, i);
                }
            }
            (_, _, None) => {}
        }

        if !items.is_empty() {
            container.insert(attr.name.to_string(), Value::Array(items));
        }
        Ok(())
    })
}

/// The element a filter of `eq` comparisons joined by `and` describes,
/// such as `{"type": "work"}` for `type eq "work"`.
fn element_from_filter(filter: &Filter, attr: &AttributeDef) -> Option<Value> {
    fn collect(filter: &Filter, attr: &AttributeDef, out: &mut Map<String, Value>) -> Option<()> {
        match filter {
            Filter::And(items) => items.iter().try_for_each(|f| collect(f, attr, out)),
            Filter::Attr(AttrExp {
                path:
                    AttrPath {
                        uri: None,
                        name,
                        sub_attr: None,
                    },
                test: Test::Compare(CompareOp::Eq, value),
            }) => {
                let sub = attr.sub_attribute(name)?;
                let json = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Null => return None,
                };
                out.insert(sub.name.to_string(), coerce_single(sub, json).ok()??);
                Some(())
            }
            _ => None,
        }
    }
    let mut object = Map::new();
    collect(filter, attr, &mut object)?;
    Some(Value::Object(object))
}

fn set_sub(item: &mut Value, sub: &AttributeDef, value: Option<Value>) {
    let Some(object) = item.as_object_mut() else {
        return;
    };
    if let Some(key) = key_ci(object, sub.name).map(str::to_string) {
        object.remove(&key);
    }
    if let Some(v) = value {
        object.insert(sub.name.to_string(), v);
    }
}

fn merge_into(target: &mut Value, new: Value) {
    match (target.as_object_mut(), new) {
        (Some(object), Value::Object(new)) => object.extend(new),
        (_, new) => *target = new,
    }
}

fn as_items(value: Option<Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single],
    }
}

/// Elements of an attribute with a `value` sub-attribute are meaningless
/// without it; drop those a removal emptied.
fn drop_valueless(items: &mut Vec<Value>, attr: &AttributeDef) {
    if attr.sub_attribute("value").is_some() {
        items.retain(|e| e.get("value").is_some_and(|v| !v.is_null()));
    } else {
        items.retain(|e| e.as_object().is_some_and(|o| !o.is_empty()));
    }
}

fn op_name(op: PatchOpKind) -> &'static str {
    match op {
        PatchOpKind::Add => "add",
        PatchOpKind::Replace => "replace",
        PatchOpKind::Remove => "remove",
    }
}
