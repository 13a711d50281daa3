//! The attribute tables of RFC 7643 §3.1 (common attributes), §4.1 (User),
//! §4.2 (Group) and §4.3 (enterprise User), written with small `const`
//! builders so each attribute reads as one line of its characteristics.

use super::{
    AttrType, AttributeDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, Returned, SchemaDef,
    USER_SCHEMA, Uniqueness,
};

const fn attr(name: &'static str, kind: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        kind,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::Boolean, description)
}

const fn reference(
    name: &'static str,
    types: &'static [&'static str],
    description: &'static str,
) -> AttributeDef {
    let mut a = attr(name, AttrType::Reference, description);
    a.reference_types = types;
    a
}

const fn complex(
    name: &'static str,
    subs: &'static [AttributeDef],
    description: &'static str,
) -> AttributeDef {
    let mut a = attr(name, AttrType::Complex, description);
    a.sub_attributes = subs;
    a
}

const fn multi(mut a: AttributeDef) -> AttributeDef {
    a.multi_valued = true;
    a
}

const fn required(mut a: AttributeDef) -> AttributeDef {
    a.required = true;
    a
}

const fn case_exact(mut a: AttributeDef) -> AttributeDef {
    a.case_exact = true;
    a
}

const fn mutability(mut a: AttributeDef, m: Mutability) -> AttributeDef {
    a.mutability = m;
    a
}

const fn returned(mut a: AttributeDef, r: Returned) -> AttributeDef {
    a.returned = r;
    a
}

const fn unique(mut a: AttributeDef) -> AttributeDef {
    a.uniqueness = Uniqueness::Server;
    a
}

const fn canonical(mut a: AttributeDef, values: &'static [&'static str]) -> AttributeDef {
    a.canonical_values = values;
    a
}

const fn read_only(a: AttributeDef) -> AttributeDef {
    mutability(a, Mutability::ReadOnly)
}

/// The sub-attributes shared by `emails`, `phoneNumbers`, `ims`, ... : a
/// value, a display form, a type label and a primary flag.
macro_rules! plural_subs {
    ($value:expr, $types:expr) => {
        &[
            $value,
            string(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            canonical(
                string("type", "A label indicating the attribute's function."),
                $types,
            ),
            boolean(
                "primary",
                "Whether this is the preferred value of the attribute.",
            ),
        ]
    };
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1), part of every resource.
pub(super) static COMMON: &[AttributeDef] = &[
    returned(
        unique(read_only(case_exact(string(
            "id",
            "Unique identifier for the resource, assigned by the service provider.",
        )))),
        Returned::Always,
    ),
    case_exact(string(
        "externalId",
        "Identifier for the resource as defined by the client.",
    )),
    read_only(complex(
        "meta",
        &[
            read_only(case_exact(string(
                "resourceType",
                "The name of the resource type.",
            ))),
            read_only(attr(
                "created",
                AttrType::DateTime,
                "When the resource was added.",
            )),
            read_only(attr(
                "lastModified",
                AttrType::DateTime,
                "When it was last changed.",
            )),
            read_only(reference("location", &["uri"], "The URI of the resource.")),
            read_only(case_exact(string(
                "version",
                "The version (ETag) of the resource.",
            ))),
        ],
        "Resource metadata maintained by the service provider.",
    )),
];

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub(super) static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        unique(required(string(
            "userName",
            "Unique identifier for the User, used to sign in.",
        ))),
        complex(
            "name",
            &[
                string("formatted", "The full name, formatted for display."),
                string("familyName", "The family name of the User."),
                string("givenName", "The given name of the User."),
                string("middleName", "The middle name(s) of the User."),
                string("honorificPrefix", "The honorific prefix(es) of the User."),
                string("honorificSuffix", "The honorific suffix(es) of the User."),
            ],
            "The components of the user's real name.",
        ),
        string(
            "displayName",
            "The name of the User, suitable for display to end-users.",
        ),
        string("nickName", "The casual way to address the user."),
        reference(
            "profileUrl",
            &["external"],
            "A URI of the User's online profile.",
        ),
        string("title", "The user's title, such as \"Vice President\"."),
        string(
            "userType",
            "The relationship between the organization and the user.",
        ),
        string(
            "preferredLanguage",
            "The User's preferred written or spoken language.",
        ),
        string("locale", "The User's default location for localisation."),
        string(
            "timezone",
            "The User's time zone in the IANA database format.",
        ),
        boolean("active", "The User's administrative status."),
        returned(
            mutability(
                string("password", "The User's cleartext password."),
                Mutability::WriteOnly,
            ),
            Returned::Never,
        ),
        multi(complex(
            "emails",
            plural_subs!(
                string("value", "Email address."),
                &["work", "home", "other"]
            ),
            "Email addresses for the user.",
        )),
        multi(complex(
            "phoneNumbers",
            plural_subs!(
                string("value", "Phone number."),
                &["work", "home", "mobile", "fax", "pager", "other"]
            ),
            "Phone numbers for the User.",
        )),
        multi(complex(
            "ims",
            plural_subs!(
                string("value", "Instant messaging address."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
            ),
            "Instant messaging addresses for the User.",
        )),
        multi(complex(
            "photos",
            plural_subs!(
                reference("value", &["external"], "URL of a photo of the User."),
                &["photo", "thumbnail"]
            ),
            "URLs of photos of the User.",
        )),
        multi(complex(
            "addresses",
            &[
                string(
                    "formatted",
                    "The full mailing address, formatted for display.",
                ),
                string("streetAddress", "The full street address component."),
                string("locality", "The city or locality component."),
                string("region", "The state or region component."),
                string("postalCode", "The zip code or postal code component."),
                string("country", "The country name component."),
                canonical(
                    string("type", "A label indicating the address's function."),
                    &["work", "home", "other"],
                ),
                boolean("primary", "Whether this is the preferred mailing address."),
            ],
            "A physical mailing address for this User.",
        )),
        read_only(multi(complex(
            "groups",
            &[
                read_only(string("value", "The identifier of the User's group.")),
                read_only(reference(
                    "$ref",
                    &["User", "Group"],
                    "The URI of the Group.",
                )),
                read_only(string("display", "A human-readable name of the Group.")),
                read_only(canonical(
                    string("type", "How the membership was derived."),
                    &["direct", "indirect"],
                )),
            ],
            "The groups the user belongs to, maintained by the service provider.",
        ))),
        multi(complex(
            "entitlements",
            plural_subs!(string("value", "The value of an entitlement."), &[]),
            "Entitlements of the User.",
        )),
        multi(complex(
            "roles",
            plural_subs!(string("value", "The value of a role."), &[]),
            "Roles of the User.",
        )),
        multi(complex(
            "x509Certificates",
            plural_subs!(
                attr(
                    "value",
                    AttrType::Binary,
                    "The value of an X.509 certificate."
                ),
                &[]
            ),
            "X.509 certificates issued to the User.",
        )),
    ],
};

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub(super) static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        required(string(
            "displayName",
            "A human-readable name for the Group.",
        )),
        multi(complex(
            "members",
            &[
                mutability(
                    case_exact(string("value", "Identifier of the member of this Group.")),
                    Mutability::Immutable,
                ),
                mutability(
                    reference(
                        "$ref",
                        &["User", "Group"],
                        "The URI of the member resource.",
                    ),
                    Mutability::Immutable,
                ),
                mutability(
                    canonical(
                        string("type", "The type of the member."),
                        &["User", "Group"],
                    ),
                    Mutability::Immutable,
                ),
                read_only(string("display", "A human-readable name of the member.")),
            ],
            "A list of members of the Group.",
        )),
    ],
};

/// The enterprise User extension (RFC 7643 §4.3, §8.7.1).
pub(super) static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person.",
        ),
        string("costCenter", "Identifies the name of a cost center."),
        string("organization", "Identifies the name of an organization."),
        string("division", "Identifies the name of a division."),
        string("department", "Identifies the name of a department."),
        complex(
            "manager",
            &[
                string(
                    "value",
                    "The id of the SCIM resource representing the User's manager.",
                ),
                reference("$ref", &["User"], "The URI of the manager's SCIM resource."),
                read_only(string(
                    "displayName",
                    "The displayName of the User's manager.",
                )),
            ],
            "The User's manager.",
        ),
    ],
};
