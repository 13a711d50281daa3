//! The discovery documents of RFC 7644 §4: `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, generated from the attribute tables.
//!
//! Every function takes the SCIM base URL (such as
//! `https://app.example.com/scim/v2/conn-1`, no trailing slash) so `meta.location`
//! is absolute; none reads configuration itself.

use serde_json::{Map, Value, json};

use super::{AttributeDef, Mutability, ResourceKind, Returned, SchemaDef, Uniqueness, tables};

/// The maximum number of results one query returns (`filter.maxResults`).
pub const MAX_RESULTS: usize = 200;

/// The ServiceProviderConfig document (RFC 7643 §5): PATCH, filter and
/// ETags supported; bulk, sort and password change not; bearer tokens.
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A per-connection bearer token in the Authorization header.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// The ResourceType documents (RFC 7643 §6) for User and Group.
pub fn resource_types(base_url: &str) -> Vec<Value> {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .map(|kind| {
            let extensions: Vec<Value> = kind
                .extensions()
                .iter()
                .map(|s| json!({ "schema": s.id, "required": false }))
                .collect();
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": kind.name(),
                "name": kind.name(),
                "endpoint": format!("/{}", kind.endpoint()),
                "description": kind.core_schema().description,
                "schema": kind.core_schema().id,
                "schemaExtensions": extensions,
                "meta": {
                    "resourceType": "ResourceType",
                    "location": format!("{base_url}/ResourceTypes/{}", kind.name()),
                },
            })
        })
        .collect()
}

/// The Schema documents (RFC 7643 §7) for User, EnterpriseUser and Group.
pub fn schemas(base_url: &str) -> Vec<Value> {
    [&tables::USER, &tables::ENTERPRISE_USER, &tables::GROUP]
        .into_iter()
        .map(|s| schema_json(s, base_url))
        .collect()
}

/// The Schema document whose URN is `id` (case-insensitive), if known.
pub fn schema_document(base_url: &str, id: &str) -> Option<Value> {
    [&tables::USER, &tables::ENTERPRISE_USER, &tables::GROUP]
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema_json(s, base_url))
}

fn schema_json(schema: &SchemaDef, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.attributes.iter().map(attribute_json).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{}", schema.id),
        },
    })
}

fn attribute_json(a: &AttributeDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), a.name.into());
    out.insert("type".into(), a.kind.as_str().into());
    out.insert("multiValued".into(), a.multi_valued.into());
    out.insert("description".into(), a.description.into());
    out.insert("required".into(), a.required.into());
    if !a.is_complex() {
        out.insert("caseExact".into(), a.case_exact.into());
    }
    if !a.canonical_values.is_empty() {
        out.insert("canonicalValues".into(), a.canonical_values.into());
    }
    if !a.reference_types.is_empty() {
        out.insert("referenceTypes".into(), a.reference_types.into());
    }
    if a.is_complex() {
        let subs: Vec<Value> = a.sub_attributes.iter().map(attribute_json).collect();
        out.insert("subAttributes".into(), subs.into());
    }
    out.insert("mutability".into(), mutability_str(a.mutability).into());
    out.insert("returned".into(), returned_str(a.returned).into());
    out.insert("uniqueness".into(), uniqueness_str(a.uniqueness).into());
    Value::Object(out)
}

fn mutability_str(m: Mutability) -> &'static str {
    match m {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

fn returned_str(r: Returned) -> &'static str {
    match r {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

fn uniqueness_str(u: Uniqueness) -> &'static str {
    match u {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
        Uniqueness::Global => "global",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_provider_config_advertises_what_is_implemented() {
        let doc = service_provider_config("https://sp.test/scim/v2");
        assert_eq!(doc["patch"]["supported"], true);
        assert_eq!(doc["filter"]["maxResults"], 200);
        assert_eq!(doc["bulk"]["supported"], false);
        assert_eq!(doc["sort"]["supported"], false);
        assert_eq!(doc["etag"]["supported"], true);
        assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    }

    #[test]
    fn user_resource_type_lists_enterprise_extension() {
        let types = resource_types("https://sp.test/scim/v2");
        assert_eq!(types.len(), 2);
        assert_eq!(types[0]["endpoint"], "/Users");
        assert_eq!(
            types[0]["schemaExtensions"][0]["schema"],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        );
        assert_eq!(types[1]["schemaExtensions"], json!([]));
    }

    #[test]
    fn schema_documents_come_from_the_tables() {
        let user = schema_document("x", "urn:ietf:params:scim:schemas:core:2.0:user");
        let user = user.unwrap_or_default();
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let password = user["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == "password"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(password["returned"], "never");
        assert_eq!(schemas("x").len(), 3);
    }
}
