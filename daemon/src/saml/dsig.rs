//! Verification of an enveloped XML signature (XML-DSig core validation, §3.2) on the parsed
//! document, as SAML signs (core §5.4): one Reference to the enveloping element by its ID, the
//! enveloped-signature transform optionally followed by a canonicalization (Canonical XML 1.0
//! or Exclusive 1.0, with or without comments), and SignedInfo canonicalised by one of those.
//!
//! The signature covers bytes canonicalised from the very tree every later check reads: no
//! second XML parser is involved, so no document can mean one thing to the verifier and
//! another to the checks (the root of signature wrapping). Keys come from the connection's
//! certificates (parsed once, then kept), never from the message. Anything else XML-DSig
//! allows (XPath, XSLT, Canonical XML 1.1, transforms in another order) is refused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::x509::X509;
use roxmltree::Node;

use super::c14n::{Mode, Subtree, canonicalize};
use super::validate::{DSIG_NS, child, is};

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// More than any IdP lists (they name two or three prefixes, if any); each listed prefix is
/// looked up on every element, before any key is involved.
const MAX_INCLUSIVE_PREFIXES: usize = 16;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    /// The signature does not verify, or its structure or algorithms are not the ones SAML
    /// signatures use.
    #[error("{0}")]
    Invalid(String),
}

/// The canonicalization a URI names, and whether it keeps comments.
fn canonicalization(uri: &str) -> Option<(Mode, bool)> {
    match uri {
        EXC_C14N => Some((Mode::Exclusive, false)),
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => Some((Mode::Exclusive, true)),
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => Some((Mode::Inclusive, false)),
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => {
            Some((Mode::Inclusive, true))
        }
        _ => None,
    }
}

fn invalid(reason: impl Into<String>) -> DsigError {
    DsigError::Invalid(reason.into())
}

/// Verifies `signature`, an enveloped signature whose one Reference names its parent element,
/// with any one of `certificates` (DER). Algorithms must already be allow-listed by the caller.
pub fn verify(signature: Node<'_, '_>, certificates: &[Vec<u8>]) -> Result<(), DsigError> {
    let signed = signature
        .parent_element()
        .ok_or_else(|| invalid("signature has no parent element"))?;
    let info = child(&signature, DSIG_NS, "SignedInfo")
        .ok_or_else(|| invalid("signature has no SignedInfo"))?;
    let c14n_method = child(&info, DSIG_NS, "CanonicalizationMethod")
        .ok_or_else(|| invalid("SignedInfo has no CanonicalizationMethod"))?;
    let c14n_uri = c14n_method.attribute("Algorithm").unwrap_or_default();
    let (info_mode, info_comments) = canonicalization(c14n_uri).ok_or_else(|| {
        invalid(format!(
            "SignedInfo canonicalization {c14n_uri:?} is not supported"
        ))
    })?;
    let method = child(&info, DSIG_NS, "SignatureMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| invalid("SignedInfo has no SignatureMethod"))?;
    let (key_type, signature_digest) = signature_algorithm(method)?;

    let references: Vec<_> = info
        .children()
        .filter(|n| is(n, DSIG_NS, "Reference"))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(invalid("SignedInfo must have exactly one Reference"));
    };
    let id = signed.attribute("ID").unwrap_or_default();
    if id.is_empty() || reference.attribute("URI").and_then(|u| u.strip_prefix('#')) != Some(id) {
        return Err(invalid("the Reference does not name the signed element"));
    }
    let transforms: Vec<_> = child(reference, DSIG_NS, "Transforms")
        .map(|t| t.children().filter(|n| n.is_element()).collect::<Vec<_>>())
        .unwrap_or_default();
    // Without a canonicalization transform, the node-set becomes octets by Canonical XML 1.0
    // (XML-DSig §4.3.3.2). A reference by ID never includes comments (§4.3.3.3), so a
    // WithComments transform here canonicalises without them.
    let is_transform = |t: &Node<'_, '_>, uri: &str| {
        is(t, DSIG_NS, "Transform") && t.attribute("Algorithm") == Some(uri)
    };
    let (reference_mode, reference_prefixes) = match transforms.as_slice() {
        [only] if is_transform(only, ENVELOPED) => (Mode::Inclusive, ""),
        [first, second] if is_transform(first, ENVELOPED) && is(second, DSIG_NS, "Transform") => {
            let uri = second.attribute("Algorithm").unwrap_or_default();
            let (mode, _) = canonicalization(uri)
                .ok_or_else(|| invalid(format!("transform {uri:?} is not supported")))?;
            (mode, inclusive_prefixes(second))
        }
        _ => {
            let names: Vec<&str> = transforms
                .iter()
                .map(|t| t.attribute("Algorithm").unwrap_or_default())
                .collect();
            return Err(invalid(format!(
                "transforms {names:?}; SAML signatures use enveloped-signature then a \
                 canonicalization"
            )));
        }
    };
    let digest_method = child(reference, DSIG_NS, "DigestMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| invalid("Reference has no DigestMethod"))?;
    let digest = digest_algorithm(digest_method)?;
    let expected_digest = child(reference, DSIG_NS, "DigestValue")
        .map(|n| base64_content(&n))
        .transpose()?
        .ok_or_else(|| invalid("Reference has no DigestValue"))?;

    // The Reference: the signed element, this signature left out, canonicalised, digested.
    let mut canonical = Vec::with_capacity(signed.range().len());
    let prefixes = prefix_list(reference_mode, reference_prefixes)?;
    canonicalize(
        &Subtree {
            apex: signed,
            exclude: Some(signature.id()),
            mode: reference_mode,
            with_comments: false,
            inclusive_prefixes: &prefixes,
        },
        &mut canonical,
    )
    .map_err(|err| invalid(err.to_string()))?;
    let actual =
        openssl::hash::hash(digest, &canonical).map_err(|err| invalid(format!("digest: {err}")))?;
    if actual.len() != expected_digest.len() || !openssl::memcmp::eq(&actual, &expected_digest) {
        return Err(invalid("the digest of the signed element does not match"));
    }

    // SignedInfo, canonicalised, against SignatureValue with the connection's keys.
    let prefixes = prefix_list(info_mode, inclusive_prefixes(&c14n_method))?;
    canonical.clear();
    canonicalize(
        &Subtree {
            apex: info,
            exclude: None,
            mode: info_mode,
            with_comments: info_comments,
            inclusive_prefixes: &prefixes,
        },
        &mut canonical,
    )
    .map_err(|err| invalid(err.to_string()))?;
    let value = child(&signature, DSIG_NS, "SignatureValue")
        .map(|n| base64_content(&n))
        .transpose()?
        .ok_or_else(|| invalid("signature has no SignatureValue"))?;

    let mut last = String::from("no certificate configured");
    for der in certificates {
        let key = match public_key(der) {
            Ok(key) => key,
            Err(reason) => {
                last = reason;
                continue;
            }
        };
        if key.id() != key_type {
            last = format!("the certificate's key is not of the {method} kind");
            continue;
        }
        match check(der, &key, key_type, signature_digest, &canonical, &value) {
            Ok(true) => return Ok(()),
            Ok(false) => last = "the signature does not verify with the configured keys".into(),
            Err(reason) => last = reason,
        }
    }
    Err(DsigError::Invalid(last))
}

fn signature_algorithm(uri: &str) -> Result<(Id, MessageDigest), DsigError> {
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => (Id::RSA, MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (Id::RSA, MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => (Id::RSA, MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (Id::RSA, MessageDigest::sha512()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => (Id::EC, MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (Id::EC, MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => (Id::EC, MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => (Id::EC, MessageDigest::sha512()),
        other => {
            return Err(invalid(format!(
                "signature method {other:?} is not supported"
            )));
        }
    })
}

fn digest_algorithm(uri: &str) -> Result<MessageDigest, DsigError> {
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => MessageDigest::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => MessageDigest::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => MessageDigest::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => MessageDigest::sha512(),
        other => return Err(invalid(format!("digest method {other:?} is not supported"))),
    })
}

/// The PrefixList of an `ec:InclusiveNamespaces` child, or "".
fn inclusive_prefixes<'a>(parent: &Node<'a, '_>) -> &'a str {
    parent
        .children()
        .find(|n| is(n, EXC_C14N, "InclusiveNamespaces"))
        .and_then(|n| n.attribute("PrefixList"))
        .unwrap_or_default()
}

/// The prefixes of an exclusive canonicalization's PrefixList (none for the inclusive one).
fn prefix_list(mode: Mode, list: &str) -> Result<Vec<&str>, DsigError> {
    if mode == Mode::Inclusive {
        return Ok(Vec::new());
    }
    let prefixes: Vec<&str> = list.split_ascii_whitespace().collect();
    if prefixes.len() > MAX_INCLUSIVE_PREFIXES {
        return Err(invalid(format!(
            "InclusiveNamespaces lists {} prefixes (at most {MAX_INCLUSIVE_PREFIXES})",
            prefixes.len()
        )));
    }
    Ok(prefixes)
}

/// Base64 text content (line breaks and spaces allowed, as XML-DSig writes it).
fn base64_content(node: &Node<'_, '_>) -> Result<Vec<u8>, DsigError> {
    let mut text = Vec::new();
    for part in node.children().filter_map(|n| n.text()) {
        for piece in part.split_ascii_whitespace() {
            text.extend_from_slice(piece.as_bytes());
        }
    }
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|_| invalid(format!("{} is not base64", node.tag_name().name())))
}

/// The public key of a DER certificate, parsed once per certificate.
fn public_key(der: &[u8]) -> Result<PKey<Public>, String> {
    /// A handful of connections with a certificate or two each; the bound only stops growth
    /// when metadata refreshes keep bringing new certificates.
    const CACHED_KEYS: usize = 64;
    static KEYS: OnceLock<Mutex<HashMap<Vec<u8>, PKey<Public>>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Mutex::default);
    if let Some(key) = keys.lock().unwrap_or_else(|p| p.into_inner()).get(der) {
        return Ok(key.clone());
    }
    let key = X509::from_der(der)
        .and_then(|cert| cert.public_key())
        .map_err(|err| format!("the configured certificate is unusable: {err}"))?;
    let mut keys = keys.lock().unwrap_or_else(|p| p.into_inner());
    if keys.len() >= CACHED_KEYS {
        keys.clear();
    }
    keys.insert(der.to_vec(), key.clone());
    Ok(key)
}

fn check(
    certificate: &[u8],
    key: &PKey<Public>,
    key_type: Id,
    digest: MessageDigest,
    signed_info: &[u8],
    value: &[u8],
) -> Result<bool, String> {
    // XML-DSig ECDSA values are r || s, each exactly as long as the curve's order (RFC 4050,
    // RFC 6931 §3.3); OpenSSL wants DER.
    let der;
    let value = if key_type == Id::EC {
        let order_bytes = key
            .ec_key()
            .map(|ec| (ec.group().degree() as usize).div_ceil(8))
            .map_err(|err| format!("the certificate's EC key is unusable: {err}"))?;
        if value.len() != 2 * order_bytes {
            return Err(format!(
                "the ECDSA signature value has {} bytes, not {}",
                value.len(),
                2 * order_bytes
            ));
        }
        let (r, s) = value.split_at(value.len() / 2);
        let sig = BigNum::from_slice(r)
            .and_then(|r| BigNum::from_slice(s).map(|s| (r, s)))
            .and_then(|(r, s)| EcdsaSig::from_private_components(r, s))
            .and_then(|sig| sig.to_der())
            .map_err(|err| format!("the ECDSA signature value is unusable: {err}"))?;
        der = sig;
        der.as_slice()
    } else {
        value
    };
    // What EVP_DigestVerify does in two steps: the digest here, then the same verification
    // of it (for RSA the whole PKCS#1 v1.5 DigestInfo encoding is compared) by a context kept
    // for this key and digest.
    let hashed =
        openssl::hash::hash(digest, signed_info).map_err(|err| format!("digest: {err}"))?;
    verify_digest(certificate, key, digest, &hashed, value)
}

/// A verification context set up for one certificate's key and one digest.
struct KeptContext {
    certificate: Vec<u8>,
    digest: Nid,
    context: PkeyCtx<Public>,
}

/// Verifies `value` over the precomputed `hashed` with a context kept per thread for this
/// certificate and digest: setting one up costs OpenSSL algorithm fetches, an eighth of an
/// RSA-2048 verification, and one context verifies any number of signatures.
fn verify_digest(
    certificate: &[u8],
    key: &PKey<Public>,
    digest: MessageDigest,
    hashed: &[u8],
    value: &[u8],
) -> Result<bool, String> {
    /// A few connections' certificates times the digests in use; the bound only stops growth.
    const KEPT_CONTEXTS: usize = 16;
    thread_local! {
        static CONTEXTS: RefCell<Vec<KeptContext>> = const { RefCell::new(Vec::new()) };
    }

    let kept = CONTEXTS.try_with(|contexts| {
        let mut contexts = contexts.try_borrow_mut().ok()?;
        let found = contexts
            .iter()
            .position(|c| c.digest == digest.type_() && c.certificate == certificate);
        let at = match found {
            Some(at) => at,
            None => {
                let context = match verify_context(key, digest) {
                    Ok(context) => context,
                    Err(reason) => return Some(Err(reason)),
                };
                if contexts.len() >= KEPT_CONTEXTS {
                    contexts.clear();
                }
                contexts.push(KeptContext {
                    certificate: certificate.to_vec(),
                    digest: digest.type_(),
                    context,
                });
                contexts.len() - 1
            }
        };
        // A malformed value is an OpenSSL error, which is a failed verification too.
        Some(Ok(contexts[at]
            .context
            .verify(hashed, value)
            .unwrap_or(false)))
    });
    match kept {
        Ok(Some(outcome)) => outcome,
        // The thread is ending, or its contexts are in use: a context for this call alone.
        Ok(None) | Err(_) => Ok(verify_context(key, digest)?
            .verify(hashed, value)
            .unwrap_or(false)),
    }
}

/// A context that verifies signatures by `key` over `digest` digests: PKCS#1 v1.5 padding for
/// RSA (what EVP_DigestVerifyInit sets), the digest's length enforced for ECDSA.
fn verify_context(key: &PKey<Public>, digest: MessageDigest) -> Result<PkeyCtx<Public>, String> {
    let md = Md::from_nid(digest.type_()).ok_or("the digest is not available")?;
    let mut context = PkeyCtx::new(key).map_err(|err| err.to_string())?;
    context.verify_init().map_err(|err| err.to_string())?;
    if key.id() == Id::RSA {
        context
            .set_rsa_padding(Padding::PKCS1)
            .map_err(|err| err.to_string())?;
    }
    context
        .set_signature_md(md)
        .map_err(|err| err.to_string())?;
    Ok(context)
}

#[cfg(test)]
mod tests;
