//! Checks on the shape of the raw message, made before any signature work: status, comments
//! inside values, allow-listed algorithms, where signatures sit, unique IDs.

use super::{DSIG_NS, SAML_NS, SAMLP_NS, SUCCESS, child, is};
use crate::saml::error::LoginError;

// Algorithm URIs are allow-listed: anything unknown (including look-alike URIs such as
// `xmldsig-more#rsa-sha1`, which no specification defines) is refused before any signature work.
const STRONG_SIGNATURES: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const SHA1_SIGNATURES: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
];
/// Digest URIs of RFC 6931 (SHA-384 lives in `xmldsig-more`, not `xmlenc`).
const STRONG_DIGESTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const SHA1_DIGEST: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// Canonicalization and transforms SAML signatures use (SAML core §5.4.3, §5.4.4); XPath,
/// XPointer and XSLT transforms are refused.
const TRANSFORMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
];

/// A Success status, or the IdP's refusal as it states it. The top-level code says only whose
/// fault it was (core §3.2.2.2); what happened is in the nested code (`NoPassive`,
/// `AuthnFailed`, `RequestDenied`) and the StatusMessage (Entra's `AADSTS` errors), which the
/// admin reading the log needs. Control characters are blanked: the text is unsigned.
pub(super) fn check_status(root: &roxmltree::Node) -> Result<(), LoginError> {
    let status = child(root, SAMLP_NS, "Status");
    let code = status.and_then(|status| child(&status, SAMLP_NS, "StatusCode"));
    match code.and_then(|code| code.attribute("Value")) {
        Some(SUCCESS) => Ok(()),
        Some(top) => {
            let mut text = top.to_string();
            if let Some(nested) = code
                .and_then(|code| child(&code, SAMLP_NS, "StatusCode"))
                .and_then(|nested| nested.attribute("Value"))
            {
                text.push_str(" / ");
                text.push_str(nested);
            }
            if let Some(message) = status
                .and_then(|status| child(&status, SAMLP_NS, "StatusMessage"))
                .map(|message| super::text_of(&message))
                .filter(|message| !message.is_empty())
            {
                text.push_str(": ");
                text.push_str(&message);
            }
            let text = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            Err(LoginError::IdpStatus(text))
        }
        None => Err(LoginError::Malformed("response has no StatusCode".into())),
    }
}

/// What one walk over the whole message finds for the shape checks, each in document order.
pub(super) struct Survey<'a, 'input> {
    /// The first encrypted SAML element (EncryptedAssertion, EncryptedID, EncryptedAttribute)
    /// anywhere: none can be read without a decryption key.
    pub encrypted: Option<&'a str>,
    /// Assertions anywhere in the message but the Advice of the Response's own assertion.
    pub assertions: usize,
    /// The first value element (NameID, AttributeValue, Issuer, Audience) holding a comment.
    pub comment_in: Option<&'a str>,
    /// Every ds:Signature but those in the Advice of the Response's own assertion.
    pub signatures: Vec<roxmltree::Node<'a, 'input>>,
    /// The first ID, Id or id value seen a second time.
    pub duplicate_id: Option<&'a str>,
    /// The first element the schema allows once under its parent but found more often there,
    /// with that parent's name.
    pub repeated: Option<(&'a str, &'a str)>,
}

/// Children the SAML schema allows at most once, by parent: the checks read the first, so a
/// second one would be content nobody looked at (and readers disagreeing on which counts).
const SINGLE_CHILDREN: &[(&str, &[(&str, &str)])] = &[
    (
        "Response",
        &[
            (SAML_NS, "Issuer"),
            (DSIG_NS, "Signature"),
            (SAMLP_NS, "Status"),
        ],
    ),
    (
        "Assertion",
        &[
            (SAML_NS, "Issuer"),
            (DSIG_NS, "Signature"),
            (SAML_NS, "Subject"),
            (SAML_NS, "Conditions"),
            (SAML_NS, "Advice"),
        ],
    ),
    (
        "Subject",
        &[
            (SAML_NS, "NameID"),
            (SAML_NS, "BaseID"),
            (SAML_NS, "EncryptedID"),
        ],
    ),
    (
        "SubjectConfirmation",
        &[(SAML_NS, "SubjectConfirmationData")],
    ),
    // Core §2.5.1.5 and §2.5.1.6: at most one of each in a Conditions.
    (
        "Conditions",
        &[(SAML_NS, "OneTimeUse"), (SAML_NS, "ProxyRestriction")],
    ),
    ("Status", &[(SAMLP_NS, "StatusCode")]),
];

/// Walks the message once, for [`Survey`].
pub(super) fn survey<'a, 'input>(doc: &'a roxmltree::Document<'input>) -> Survey<'a, 'input> {
    let mut survey = Survey {
        encrypted: None,
        assertions: 0,
        comment_in: None,
        signatures: Vec::new(),
        duplicate_id: None,
        repeated: None,
    };
    let mut ids = std::collections::HashSet::new();
    let root = doc.root_element();
    // The Advice of an assertion that is a child of the Response is the IdP's aside (core
    // §2.6.1): covered by whatever signature covers that assertion, never read, and to be
    // ignorable "without affecting either the semantics or the validity of the assertion".
    // What it holds (other assertions, their signatures, encrypted ones) is not surveyed;
    // only IDs stay unique across the whole message.
    let mut advice_end = 0;
    for node in doc.descendants() {
        let in_advice = node.range().start < advice_end;
        if node.is_element() {
            for attribute in node.attributes() {
                if matches!(attribute.name(), "ID" | "Id" | "id")
                    && !ids.insert(attribute.value())
                    && survey.duplicate_id.is_none()
                {
                    survey.duplicate_id = Some(attribute.value());
                }
            }
        }
        if in_advice {
            continue;
        }
        if is(&node, SAML_NS, "Advice")
            && node.parent_element().is_some_and(|assertion| {
                is(&assertion, SAML_NS, "Assertion") && assertion.parent_element() == Some(root)
            })
        {
            advice_end = node.range().end;
        }
        if node.is_comment() {
            if survey.comment_in.is_none()
                && let Some(parent) = node.parent_element()
            {
                let name = parent.tag_name().name();
                if parent.tag_name().namespace() == Some(SAML_NS)
                    && matches!(name, "NameID" | "AttributeValue" | "Issuer" | "Audience")
                {
                    survey.comment_in = Some(name);
                }
            }
            continue;
        }
        if !node.is_element() {
            continue;
        }
        if is(&node, SAML_NS, "Assertion") {
            survey.assertions += 1;
        } else if is(&node, DSIG_NS, "Signature") {
            survey.signatures.push(node);
        } else if node.tag_name().namespace() == Some(SAML_NS)
            && node.tag_name().name().starts_with("Encrypted")
        {
            survey.encrypted.get_or_insert(node.tag_name().name());
        }
        if survey.repeated.is_none() {
            survey.repeated = repeated_child(&node);
        }
    }
    survey
}

/// The first child of `node` that [`SINGLE_CHILDREN`] allows once but `node` holds again.
fn repeated_child<'a>(node: &roxmltree::Node<'a, '_>) -> Option<(&'a str, &'a str)> {
    let parent = node.tag_name();
    if !matches!(parent.namespace(), Some(SAML_NS | SAMLP_NS)) {
        return None;
    }
    let (_, singles) = SINGLE_CHILDREN
        .iter()
        .find(|(name, _)| *name == parent.name())?;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for child in node.children().filter(roxmltree::Node::is_element) {
        let tag = child.tag_name();
        let Some(&(namespace, name)) = singles
            .iter()
            .find(|(ns, name)| tag.namespace() == Some(*ns) && tag.name() == *name)
        else {
            continue;
        };
        // NameID, BaseID and EncryptedID are one choice: one identifier per subject.
        let identifier = parent.name() == "Subject";
        if seen
            .iter()
            .any(|&(ns, n)| identifier || (ns, n) == (namespace, name))
        {
            return Some((tag.name(), parent.name()));
        }
        seen.push((namespace, name));
    }
    None
}

/// Comments inside values are how an IdP-signed value is made to read differently.
pub(super) fn refuse_comments_in_values(survey: &Survey<'_, '_>) -> Result<(), LoginError> {
    match survey.comment_in {
        Some(name) => Err(LoginError::CommentInValue(name.to_string())),
        None => Ok(()),
    }
}

pub(super) fn check_algorithms(
    signatures: &[roxmltree::Node],
    allow_sha1: bool,
) -> Result<(), LoginError> {
    if signatures.is_empty() {
        return Err(LoginError::Unsigned);
    }
    for signature in signatures {
        for node in signature
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().namespace() == Some(DSIG_NS))
        {
            let algorithm = node.attribute("Algorithm").unwrap_or_default();
            let (element, strong, sha1) = match node.tag_name().name() {
                "SignatureMethod" => (
                    "SignatureMethod",
                    STRONG_SIGNATURES.contains(&algorithm),
                    SHA1_SIGNATURES.contains(&algorithm),
                ),
                "DigestMethod" => (
                    "DigestMethod",
                    STRONG_DIGESTS.contains(&algorithm),
                    algorithm == SHA1_DIGEST,
                ),
                "CanonicalizationMethod" => (
                    "CanonicalizationMethod",
                    TRANSFORMS.contains(&algorithm),
                    false,
                ),
                "Transform" => ("Transform", TRANSFORMS.contains(&algorithm), false),
                _ => continue,
            };
            let allowed = strong || (sha1 && allow_sha1);
            if !allowed {
                return Err(LoginError::WeakAlgorithm {
                    element,
                    algorithm: algorithm.to_string(),
                    why: if sha1 {
                        "SHA-1 is accepted only with allow_sha1"
                    } else {
                        "not one SAML signatures use"
                    },
                });
            }
        }
    }
    Ok(())
}

/// Every signature must be enveloped by the element it signs: a direct child of the root
/// Response or of the one Assertion (itself a direct child of the root), right after its Issuer
/// as the schema orders it, with one Reference to that parent's ID (SAML core §5.4.1, §5.4.2).
/// A signature anywhere else (Status, Extensions, ds:Object, a Response nested inside the
/// message) is how wrapping attacks smuggle a valid signature next to content it does not
/// cover: generic verifiers check the first signature in document order, so a signed element hidden
/// before the assertion would otherwise be the only one checked.
pub(super) fn check_signature_placement(
    doc: &roxmltree::Document,
    signatures: &[roxmltree::Node],
) -> Result<(), LoginError> {
    let root = doc.root_element();
    let assertion = child(&root, SAML_NS, "Assertion");
    for signature in signatures {
        let parent = signature
            .parent_element()
            .filter(|p| *p == root || Some(*p) == assertion)
            .ok_or_else(|| {
                let inside = signature.parent_element().map_or_else(
                    || "the document".to_string(),
                    |p| {
                        let nested = if is(&p, SAMLP_NS, "Response") || is(&p, SAML_NS, "Assertion")
                        {
                            "a nested "
                        } else {
                            ""
                        };
                        format!("{nested}{}", p.tag_name().name())
                    },
                );
                LoginError::SignaturePlacement(format!(
                    "ds:Signature inside {inside}, not directly in the Response or its Assertion"
                ))
            })?;
        // Schema order: the signature comes right after the parent's Issuer (or first).
        let previous = signature.prev_sibling_element();
        if previous.is_some_and(|p| !is(&p, SAML_NS, "Issuer")) {
            return Err(LoginError::SignaturePlacement(format!(
                "signature of {} is not right after its Issuer",
                parent.tag_name().name()
            )));
        }
        let parent_id = parent.attribute("ID").unwrap_or_default();
        let references: Vec<_> = child(signature, DSIG_NS, "SignedInfo")
            .map(|info| {
                info.children()
                    .filter(|n| is(n, DSIG_NS, "Reference"))
                    .collect()
            })
            .unwrap_or_default();
        let [reference] = references.as_slice() else {
            return Err(LoginError::SignaturePlacement(format!(
                "signature of {} has {} References, not one",
                parent.tag_name().name(),
                references.len()
            )));
        };
        let uri = reference.attribute("URI").unwrap_or_default();
        if parent_id.is_empty() || uri.strip_prefix('#') != Some(parent_id) {
            return Err(LoginError::SignaturePlacement(format!(
                "signature of {} {parent_id:?} references {uri:?}",
                parent.tag_name().name()
            )));
        }
    }
    Ok(())
}

/// IDs must be unique: a signature reference resolves an ID, and a duplicate would let the
/// verified element and the element read differ.
/// Refuses a message holding twice an element its schema allows once ([`SINGLE_CHILDREN`]).
pub(super) fn refuse_repeated_children(survey: &Survey<'_, '_>) -> Result<(), LoginError> {
    match survey.repeated {
        Some((name, parent)) => Err(LoginError::Malformed(format!(
            "{parent} holds more than one {name}"
        ))),
        None => Ok(()),
    }
}

pub(super) fn check_unique_ids(survey: &Survey<'_, '_>) -> Result<(), LoginError> {
    match survey.duplicate_id {
        Some(id) => Err(LoginError::SignaturePlacement(format!(
            "ID {id:?} appears more than once"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_walk_finds_what_each_shape_check_needs_in_document_order() {
        let xml = concat!(
            r#"<p:Response xmlns:p="urn:oasis:names:tc:SAML:2.0:protocol" ID="r" "#,
            r#"xmlns="urn:oasis:names:tc:SAML:2.0:assertion" "#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            r#"<Issuer>i<!--c--></Issuer><ds:Signature Id="s1"/>"#,
            r#"<Assertion ID="a"><NameID><!--n-->x</NameID><ds:Signature/></Assertion>"#,
            r#"<Assertion ID="s1"/><Assertion id="a"/><EncryptedAssertion/>"#,
            r#"<x:Audience xmlns:x="urn:other"><!--not SAML--></x:Audience></p:Response>"#,
        );
        let doc = roxmltree::Document::parse(xml).unwrap();
        let found = survey(&doc);

        assert_eq!(found.encrypted, Some("EncryptedAssertion"));
        assert_eq!(found.assertions, 3);
        assert_eq!(found.comment_in, Some("Issuer"));
        let parents: Vec<_> = found
            .signatures
            .iter()
            .map(|s| s.parent_element().unwrap().tag_name().name())
            .collect();
        assert_eq!(parents, ["Response", "Assertion"]);
        assert_eq!(found.duplicate_id, Some("s1"));
        assert!(matches!(
            refuse_comments_in_values(&found),
            Err(LoginError::CommentInValue(name)) if name == "Issuer"
        ));
        assert!(matches!(
            check_unique_ids(&found),
            Err(LoginError::SignaturePlacement(message)) if message.contains("\"s1\"")
        ));

        let clean = r#"<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="r"/>"#;
        let doc = roxmltree::Document::parse(clean).unwrap();
        let found = survey(&doc);
        assert_eq!(found.encrypted, None);
        assert_eq!(found.assertions, 0);
        assert!(found.signatures.is_empty());
        assert_eq!(refuse_comments_in_values(&found), Ok(()));
        assert_eq!(check_unique_ids(&found), Ok(()));
        assert_eq!(
            check_algorithms(&found.signatures, true),
            Err(LoginError::Unsigned)
        );
    }
}
