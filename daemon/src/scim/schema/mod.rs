//! The SCIM schemas this server implements (RFC 7643 §4, §8.7): User, Group
//! and the enterprise User extension.
//!
//! The attribute tables (the private `tables` module) are the single source of truth: the
//! discovery documents are generated from them, and the filter, PATCH,
//! projection and normalisation code ask them for an attribute's type,
//! plurality, `caseExact`, mutability and `returned` characteristics. This
//! module knows nothing of storage or HTTP.

mod documents;
mod tables;

pub use documents::{
    MAX_RESULTS, resource_types, schema_document, schemas, service_provider_config,
};

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the PATCH request message (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// URN of the list response message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The resource types this server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`, core schema plus the enterprise extension.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The resource type name used in `meta.resourceType` and ResourceTypes.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint path segment, such as `Users`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The core schema of this resource type.
    pub fn core_schema(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &tables::USER,
            ResourceKind::Group => &tables::GROUP,
        }
    }

    /// The schema extensions this resource type accepts.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: [&SchemaDef; 1] = [&tables::ENTERPRISE_USER];
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }

    /// The extension schema whose URN equals `urn` (case-insensitively).
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The schema (core or extension) whose URN equals `urn`.
    pub fn schema(self, urn: &str) -> Option<&'static SchemaDef> {
        let core = self.core_schema();
        if core.id.eq_ignore_ascii_case(urn) {
            Some(core)
        } else {
            self.extension(urn)
        }
    }

    /// Every schema URN this resource type knows, core first.
    pub fn schema_urns(self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.core_schema().id).chain(self.extensions().iter().map(|s| s.id))
    }

    /// An attribute that can appear at the top level of this resource: the
    /// common attributes (`id`, `externalId`, `meta`) and the core schema's.
    pub fn core_attribute(self, name: &str) -> Option<&'static AttributeDef> {
        find(tables::COMMON, name).or_else(|| self.core_schema().attribute(name))
    }
}

/// One schema: its URN and its attributes.
#[derive(Debug)]
pub struct SchemaDef {
    /// The schema URN.
    pub id: &'static str,
    /// A human-readable name.
    pub name: &'static str,
    /// A human-readable description.
    pub description: &'static str,
    /// The attributes, in document order.
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    /// The attribute called `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.attributes, name)
    }
}

/// SCIM attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A JSON number with a fraction.
    Decimal,
    /// A JSON number without a fraction.
    Integer,
    /// An `xsd:dateTime` string, compared as an instant.
    DateTime,
    /// A base64 string.
    Binary,
    /// A URI string.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

impl AttrType {
    /// The type name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Who may change an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the server only; client values are ignored or refused.
    ReadOnly,
    /// Clients may change it freely.
    ReadWrite,
    /// Clients may set it once and never change it.
    Immutable,
    /// Clients may set it; it is never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always, even when `excludedAttributes` names it.
    Always,
    /// Never.
    Never,
    /// Unless excluded, or unless `attributes` names others only.
    Default,
    /// Only when `attributes` names it.
    Request,
}

/// The uniqueness an attribute's value must have (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No constraint.
    None,
    /// Unique among this server's resources of the same type.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug)]
pub struct AttributeDef {
    /// The canonical attribute name.
    pub name: &'static str,
    /// The data type.
    pub kind: AttrType,
    /// Whether the value is an array.
    pub multi_valued: bool,
    /// Whether a resource must carry a value.
    pub required: bool,
    /// Whether string comparisons respect case.
    pub case_exact: bool,
    /// Who may change the attribute.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// The uniqueness constraint on the value.
    pub uniqueness: Uniqueness,
    /// A human-readable description.
    pub description: &'static str,
    /// Suggested values, such as `work` and `home`.
    pub canonical_values: &'static [&'static str],
    /// For references, what they may point to.
    pub reference_types: &'static [&'static str],
    /// For complex attributes, the sub-attributes.
    pub sub_attributes: &'static [AttributeDef],
}

impl AttributeDef {
    /// The sub-attribute called `name`, compared case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }

    /// Whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.kind == AttrType::Complex
    }

    /// Whether clients may not change this attribute once it has a value.
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }

    /// Whether clients may set this attribute but never read it back (`password`).
    pub fn is_write_only(&self) -> bool {
        self.mutability == Mutability::WriteOnly
    }
}

fn find(attributes: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_carry_rfc_characteristics() {
        let user = ResourceKind::User;
        let id = user.core_attribute("ID");
        assert!(id.is_some_and(|a| a.case_exact && a.returned == Returned::Always));
        let user_name = user.core_attribute("username");
        assert!(user_name.is_some_and(|a| !a.case_exact && a.required));
        let external_id = user.core_attribute("externalId");
        assert!(external_id.is_some_and(|a| a.case_exact));
        let emails = user.core_attribute("emails");
        assert!(emails.is_some_and(|a| a.multi_valued && a.sub_attribute("PRIMARY").is_some()));
        let ext = user.extension("URN:ietf:params:scim:schemas:extension:enterprise:2.0:user");
        assert!(ext.is_some_and(|s| s.attribute("manager").is_some()));
        assert!(ResourceKind::Group.core_attribute("members").is_some());
        assert!(ResourceKind::Group.core_attribute("userName").is_none());
    }
}
