//! Validation of a SAML Response posted to the ACS (SAML core §3.2.2, profiles §4.1.4).
//!
//! A pure function of the message, the connection's expectations and `now`. Order matters:
//! DTDs and any declared encoding but UTF-8 are refused before the parser sees the bytes; the
//! message shape is checked on the parsed document (exactly one assertion, a direct child of
//! the Response, whose Advice is not looked into; no comments in values; allow-listed
//! algorithms; every signature enveloped by the Response or the Assertion and referencing
//! exactly its parent; unique IDs). Only then is the signature verified, on that same parse
//! (`dsig`), with the connection's certificates only (never the message's own KeyInfo), and
//! every later check reads only the element that signature covers. Checks that need the store
//! (InResponseTo issued and unanswered, replay) are left to the caller, which gets the values
//! in [`ValidatedAssertion`].

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};

use super::error::LoginError;
use super::metadata::IdpDescriptor;
use shape::{
    check_algorithms, check_signature_placement, check_status, check_unique_ids,
    refuse_comments_in_values, refuse_repeated_children, survey,
};

pub(super) const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(super) const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(super) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub(super) const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Larger than any real response (Entra's are a few KiB, with many groups ~100 KiB).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The base64 length of [`MAX_RESPONSE_BYTES`], padding included.
const MAX_BASE64_BYTES: usize = MAX_RESPONSE_BYTES * 4 / 3 + 4;

/// What a response must match for one connection.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The IdP: entity ID (Issuer) and the certificates that may sign.
    pub idp: &'a IdpDescriptor,
    /// This SP's entity ID (Audience).
    pub sp_entity_id: &'a str,
    /// This connection's ACS URL (Destination, Recipient).
    pub acs_url: &'a str,
    /// Tolerance for clock differences.
    pub clock_skew: chrono::Duration,
    /// Accept SHA-1 signatures and digests.
    pub allow_sha1: bool,
}

/// The signed facts of an accepted assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAssertion {
    /// Assertion ID, for the replay cache.
    pub assertion_id: String,
    /// The IdP's entity ID.
    pub issuer: String,
    /// NameID value and format.
    pub name_id: String,
    /// NameID format, when given.
    pub name_id_format: Option<String>,
    /// The request this answers (signed), or `None` for an unsolicited response.
    pub in_response_to: Option<String>,
    /// Until when the assertion id must be remembered to stop replays (skew included).
    pub replay_until: DateTime<Utc>,
    /// SessionIndex of the AuthnStatement.
    pub session_index: Option<String>,
    /// When the IdP says the session this sign-in starts must have ended (the earliest
    /// `SessionNotOnOrAfter` of the AuthnStatements, skew included): the SP's session ends
    /// by then too.
    pub session_until: Option<DateTime<Utc>>,
    /// Attribute name -> values, in document order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Decodes the base64 `SAMLResponse` form value and validates it.
pub fn validate_base64(
    saml_response: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<ValidatedAssertion, LoginError> {
    let bytes = decode_base64(saml_response)?;
    let xml =
        String::from_utf8(bytes).map_err(|_| LoginError::Malformed("not UTF-8 text".into()))?;
    validate_xml(&xml, expect, now)
}

/// The bytes a posted base64 value stands for, line breaks and spaces ignored.
fn decode_base64(saml_response: &str) -> Result<Vec<u8>, LoginError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    // Most values carry no whitespace, which base64 refuses: a value that decodes as it is
    // decodes to what its compacted copy would.
    if !saml_response.is_empty()
        && saml_response.len() <= MAX_BASE64_BYTES
        && let Ok(bytes) = engine.decode(saml_response)
    {
        return Ok(bytes);
    }

    // Line breaks are common in posted base64; copy only when there are some.
    let compact: std::borrow::Cow<'_, [u8]> =
        if saml_response.bytes().any(|b| b.is_ascii_whitespace()) {
            saml_response
                .bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<u8>>()
                .into()
        } else {
            saml_response.as_bytes().into()
        };
    if compact.is_empty() {
        return Err(LoginError::Malformed("empty SAMLResponse".into()));
    }
    if compact.len() > MAX_BASE64_BYTES {
        return Err(LoginError::Malformed(
            "SAMLResponse is larger than 1 MiB".into(),
        ));
    }
    engine
        .decode(&compact)
        .map_err(|err| LoginError::Malformed(format!("not base64: {err}")))
}

/// Validates a decoded response document.
pub fn validate_xml(
    xml: &str,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<ValidatedAssertion, LoginError> {
    let xml = xml.trim_start_matches('\u{feff}');
    if has_dtd(xml) {
        return Err(LoginError::Dtd);
    }
    // The text is UTF-8 (the caller decoded it so) and roxmltree reads it as such, but other
    // XML readers honour the declared encoding (under UTF-7 `+ADw-` is `<`): a message that
    // means something else to them is refused.
    if let Some(encoding) = declared_encoding(xml)
        && !encoding.eq_ignore_ascii_case("utf-8")
        && !encoding.eq_ignore_ascii_case("utf8")
    {
        return Err(LoginError::Malformed(format!(
            "declares encoding {:?}; only UTF-8 is accepted",
            encoding.chars().take(40).collect::<String>()
        )));
    }

    // Shape checks on the whole message, before any signature work.
    let raw = super::xml::parse(xml).map_err(|err| LoginError::Malformed(err.to_string()))?;
    let root = raw.root_element();
    if !is(&root, SAMLP_NS, "Response") {
        return Err(LoginError::Malformed(format!(
            "root element is {}, not samlp:Response",
            root.tag_name().name()
        )));
    }
    check_status(&root)?;
    let survey = survey(&raw);
    if let Some(element) = survey.encrypted {
        return Err(LoginError::Encrypted(element.to_string()));
    }
    if survey.assertions != 1 {
        return Err(LoginError::AssertionCount(survey.assertions));
    }
    // Core §3.3.3: the assertion is a child of the Response, not hidden deeper in the tree.
    if child(&root, SAML_NS, "Assertion").is_none() {
        return Err(LoginError::Malformed(
            "the assertion is not a direct child of the Response".into(),
        ));
    }
    refuse_comments_in_values(&survey)?;
    check_algorithms(&survey.signatures, expect.allow_sha1)?;
    check_signature_placement(&raw, &survey.signatures)?;
    let response_destination = root.attribute("Destination").map(str::to_string);
    let response_in_response_to = root.attribute("InResponseTo").map(str::to_string);

    check_unique_ids(&survey)?;
    refuse_repeated_children(&survey)?;

    // Placement is checked above: every signature is enveloped by the Response or the
    // Assertion and references exactly its parent. The Response's own signature, when there
    // is one, covers everything; otherwise the assertion's signature covers the assertion.
    let assertion = child(&root, SAML_NS, "Assertion")
        .ok_or_else(|| LoginError::Malformed("response has no assertion".into()))?;
    let response_signature = child(&root, DSIG_NS, "Signature");
    let response_signed = response_signature.is_some();
    let Some(covering) = response_signature.or_else(|| child(&assertion, DSIG_NS, "Signature"))
    else {
        return Err(LoginError::AssertionNotSigned);
    };
    // The first signature in document order must be the covering one (what generic
    // verifiers check), so no reader of this message can be pointed at another.
    if survey.signatures.first() != Some(&covering) {
        return Err(LoginError::SignaturePlacement(
            "the first signature in the document is not the Response's or the Assertion's".into(),
        ));
    }
    // Verified on this very tree: what the signature covers is what the checks below read.
    super::dsig::verify(covering, &expect.idp.certificates)
        .map_err(|super::dsig::DsigError::Invalid(reason)| LoginError::BadSignature(reason))?;
    let signed_root = root;
    let assertion = &assertion;
    check_issuer(assertion, expect)?;
    if response_signed && let Some(issuer) = child(&signed_root, SAML_NS, "Issuer") {
        check_issuer_text(&text_of(&issuer), expect)?;
    }
    // Destination is checked even when unsigned: refusing on it never trusts it.
    if let Some(destination) = response_destination
        && destination != expect.acs_url
    {
        return Err(LoginError::Recipient {
            what: "Destination",
            expected: expect.acs_url.to_string(),
            got: destination,
        });
    }
    let not_on_or_after = check_conditions(assertion, expect, now)?;
    let (name_id, name_id_format, bearer) = check_subject(assertion, expect, now)?;
    if child(assertion, SAML_NS, "AuthnStatement").is_none() {
        return Err(LoginError::NoAuthnStatement);
    }

    let signed_response_irt = if response_signed {
        signed_root.attribute("InResponseTo").map(str::to_string)
    } else {
        None
    };
    let in_response_to = match (bearer.in_response_to, signed_response_irt) {
        (Some(a), Some(r)) if a != r => {
            return Err(LoginError::InResponseToMismatch {
                response: r,
                assertion: a,
            });
        }
        (Some(a), _) => Some(a),
        (None, r) => r,
    };
    if let (Some(unsigned), Some(signed)) = (&response_in_response_to, &in_response_to)
        && unsigned != signed
    {
        return Err(LoginError::InResponseToMismatch {
            response: unsigned.clone(),
            assertion: signed.clone(),
        });
    }

    let assertion_id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| LoginError::Malformed("assertion has no ID".into()))?
        .to_string();
    let latest = [not_on_or_after, bearer.not_on_or_after]
        .into_iter()
        .flatten()
        .max();
    let replay_until = latest.unwrap_or(now + chrono::Duration::hours(1)) + expect.clock_skew;
    let statements = || {
        assertion
            .children()
            .filter(|n| is(n, SAML_NS, "AuthnStatement"))
    };
    let session_index = statements().find_map(|n| n.attribute("SessionIndex").map(str::to_string));
    // Core §2.7.2: at SessionNotOnOrAfter the session "MUST be considered ended"; one that
    // has already ended starts nothing.
    let mut session_not_on_or_after: Option<DateTime<Utc>> = None;
    for statement in statements() {
        if let Some(at) = time_attr(&statement, "SessionNotOnOrAfter")? {
            session_not_on_or_after = Some(session_not_on_or_after.map_or(at, |s| s.min(at)));
        }
    }
    check_window(None, session_not_on_or_after, expect.clock_skew, now)?;
    let session_until = session_not_on_or_after.map(|at| at + expect.clock_skew);

    Ok(ValidatedAssertion {
        assertion_id,
        issuer: expect.idp.entity_id.clone(),
        name_id,
        name_id_format,
        in_response_to,
        replay_until,
        session_index,
        session_until,
        attributes: attributes(assertion),
    })
}

/// True when the text declares a DTD or entity anywhere (SAML messages never do).
pub fn has_dtd(xml: &str) -> bool {
    let bytes = xml.as_bytes();
    memchr::memmem::find_iter(bytes, b"<!").any(|at| {
        let after = &bytes[at + 2..];
        let starts = |word: &[u8]| {
            after
                .get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
        };
        starts(b"doctype") || starts(b"entity")
    })
}

/// The `encoding` of the XML declaration, when the document starts with one that names it.
fn declared_encoding(xml: &str) -> Option<&str> {
    let declaration = xml.strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let rest = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let value = &rest[1..];
    Some(value.find(quote).map_or(value, |end| &value[..end]))
}

fn check_issuer(assertion: &roxmltree::Node, expect: &Expectations<'_>) -> Result<(), LoginError> {
    let issuer = child(assertion, SAML_NS, "Issuer")
        .map(|n| text_of(&n))
        .unwrap_or_default();
    check_issuer_text(&issuer, expect)
}

fn check_issuer_text(issuer: &str, expect: &Expectations<'_>) -> Result<(), LoginError> {
    if issuer.trim() != expect.idp.entity_id {
        return Err(LoginError::Issuer {
            expected: expect.idp.entity_id.clone(),
            got: issuer.trim().to_string(),
        });
    }
    Ok(())
}

/// Checks Conditions; returns its NotOnOrAfter.
fn check_conditions(
    assertion: &roxmltree::Node,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, LoginError> {
    let conditions = child(assertion, SAML_NS, "Conditions")
        .ok_or_else(|| LoginError::Malformed("assertion has no Conditions".into()))?;
    let not_before = time_attr(&conditions, "NotBefore")?;
    let not_on_or_after = time_attr(&conditions, "NotOnOrAfter")?;
    check_window(not_before, not_on_or_after, expect.clock_skew, now)?;

    // Every AudienceRestriction must include us (core §2.5.1.4).
    let restrictions: Vec<_> = conditions
        .children()
        .filter(|n| is(n, SAML_NS, "AudienceRestriction"))
        .collect();
    if restrictions.is_empty() {
        return Err(LoginError::Audience {
            expected: expect.sp_entity_id.to_string(),
            got: String::new(),
        });
    }
    for restriction in restrictions {
        let audiences: Vec<String> = restriction
            .children()
            .filter(|n| is(n, SAML_NS, "Audience"))
            .map(|n| text_of(&n))
            .collect();
        if !audiences.iter().any(|a| a == expect.sp_entity_id) {
            return Err(LoginError::Audience {
                expected: expect.sp_entity_id.to_string(),
                got: audiences.join(" "),
            });
        }
    }

    // Core §2.5.1.1: a condition not understood leaves the assertion's validity Indeterminate,
    // and such an assertion MUST be rejected. OneTimeUse is kept by the replay cache;
    // ProxyRestriction limits assertions this SP would issue on the strength of this one,
    // and it issues none.
    let unknown = conditions.children().filter(|n| n.is_element()).find(|n| {
        !(is(n, SAML_NS, "AudienceRestriction")
            || is(n, SAML_NS, "OneTimeUse")
            || is(n, SAML_NS, "ProxyRestriction"))
    });
    if let Some(condition) = unknown {
        let name = condition.tag_name();
        let kind = condition
            .attribute((XSI_NS, "type"))
            .map(|kind| format!(" of type {kind}"))
            .unwrap_or_default();
        return Err(LoginError::UnknownCondition(format!(
            "{{{}}}{}{kind}",
            name.namespace().unwrap_or_default(),
            name.name()
        )));
    }
    Ok(not_on_or_after)
}

fn check_window(
    not_before: Option<DateTime<Utc>>,
    not_on_or_after: Option<DateTime<Utc>>,
    skew: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<(), LoginError> {
    if let Some(not_before) = not_before
        && now + skew < not_before
    {
        return Err(LoginError::NotYetValid {
            not_before: not_before.to_rfc3339(),
            now: now.to_rfc3339(),
            skew_seconds: skew.num_seconds(),
        });
    }
    if let Some(not_on_or_after) = not_on_or_after
        && now - skew >= not_on_or_after
    {
        return Err(LoginError::Expired {
            not_on_or_after: not_on_or_after.to_rfc3339(),
            now: now.to_rfc3339(),
            skew_seconds: skew.num_seconds(),
        });
    }
    Ok(())
}

struct Bearer {
    in_response_to: Option<String>,
    not_on_or_after: Option<DateTime<Utc>>,
}

fn check_subject(
    assertion: &roxmltree::Node,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<(String, Option<String>, Bearer), LoginError> {
    let subject = child(assertion, SAML_NS, "Subject").ok_or(LoginError::NoNameId)?;
    let name_id_node = child(&subject, SAML_NS, "NameID").ok_or(LoginError::NoNameId)?;
    let name_id = text_of(&name_id_node);
    if name_id.is_empty() {
        return Err(LoginError::NoNameId);
    }
    let format = name_id_node.attribute("Format").map(str::to_string);
    // A NameID minted for another SP is not this SP's identifier for the person.
    if let Some(qualifier) = name_id_node.attribute("SPNameQualifier")
        && qualifier != expect.sp_entity_id
    {
        return Err(LoginError::NameIdQualifier {
            expected: expect.sp_entity_id.to_string(),
            got: qualifier.to_string(),
        });
    }

    // Profiles §4.1.4.3: at least one bearer confirmation with Recipient and NotOnOrAfter,
    // within its window. The first that passes is used; when none does, the first reason.
    let mut refusal: Option<LoginError> = None;
    for confirmation in subject
        .children()
        .filter(|n| is(n, SAML_NS, "SubjectConfirmation"))
    {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        match check_bearer(&confirmation, expect, now) {
            Ok(bearer) => return Ok((name_id, format, bearer)),
            Err(err) => {
                refusal.get_or_insert(err);
            }
        }
    }
    Err(refusal.unwrap_or_else(|| LoginError::NoBearer("none present".into())))
}

/// One bearer `SubjectConfirmation`, checked.
fn check_bearer(
    confirmation: &roxmltree::Node,
    expect: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<Bearer, LoginError> {
    let Some(data) = child(confirmation, SAML_NS, "SubjectConfirmationData") else {
        return Err(LoginError::NoBearer(
            "bearer confirmation without SubjectConfirmationData".into(),
        ));
    };
    let recipient = data.attribute("Recipient").unwrap_or_default();
    if recipient != expect.acs_url {
        return Err(LoginError::Recipient {
            what: "Recipient",
            expected: expect.acs_url.to_string(),
            got: recipient.to_string(),
        });
    }
    let not_on_or_after = time_attr(&data, "NotOnOrAfter")?;
    if not_on_or_after.is_none() {
        return Err(LoginError::NoBearer(
            "bearer confirmation without NotOnOrAfter".into(),
        ));
    }
    check_window(
        time_attr(&data, "NotBefore")?,
        not_on_or_after,
        expect.clock_skew,
        now,
    )?;
    Ok(Bearer {
        in_response_to: data.attribute("InResponseTo").map(str::to_string),
        not_on_or_after,
    })
}

fn attributes(assertion: &roxmltree::Node) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in assertion
        .children()
        .filter(|n| is(n, SAML_NS, "AttributeStatement"))
    {
        for attribute in statement.children().filter(|n| is(n, SAML_NS, "Attribute")) {
            let Some(name) = attribute.attribute("Name") else {
                continue;
            };
            let values = attribute
                .children()
                .filter(|n| is(n, SAML_NS, "AttributeValue"))
                .map(|n| text_of(&n));
            out.entry(name.to_string()).or_default().extend(values);
        }
    }
    out
}

fn time_attr(node: &roxmltree::Node, name: &str) -> Result<Option<DateTime<Utc>>, LoginError> {
    match node.attribute(name) {
        None => Ok(None),
        Some(text) => instant(text)
            .map(Some)
            .ok_or_else(|| LoginError::Malformed(format!("{name} {text:?} is not an xs:dateTime"))),
    }
}

/// An xs:dateTime. SAML core §1.3.3 asks for times "in UTC form, with no time zone
/// component": most IdPs write `Z`; some read the sentence literally and write no zone at
/// all, which can then only mean UTC. An explicit offset names its instant as well.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let (_, time) = text.split_once('T')?;
    let zoned = time.ends_with('Z') || time.contains(['+', '-']);
    let parsed = if zoned {
        DateTime::parse_from_rfc3339(text)
    } else {
        DateTime::parse_from_rfc3339(&format!("{text}Z"))
    };
    parsed.ok().map(|time| time.with_timezone(&Utc))
}

pub(super) fn is(node: &roxmltree::Node, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(namespace)
}

pub(super) fn child<'a, 'input>(
    node: &roxmltree::Node<'a, 'input>,
    namespace: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|n| is(n, namespace, name))
}

/// All text directly inside an element, trimmed.
fn text_of(node: &roxmltree::Node) -> String {
    let mut texts = node
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text());
    let Some(first) = texts.next() else {
        return String::new();
    };
    // Values are one text node unless comments split them: join only then.
    let Some(second) = texts.next() else {
        return first.trim().to_string();
    };
    let mut text = [first, second].concat();
    text.extend(texts);
    text.trim().to_string()
}

mod shape;

#[cfg(test)]
mod tests;
