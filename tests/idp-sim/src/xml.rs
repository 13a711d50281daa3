//! XML helpers shared by the response and metadata builders: escaping, Entra's timestamp
//! format, and enveloped XML signatures through samael's xmlsec binding.
//!
//! Documents are written as text so that their shape follows Entra's byte for byte where it
//! matters (namespace prefixes, element order); xmlsec then fills in the signature templates.

use chrono::{DateTime, SecondsFormat, Utc};
use samael::crypto::{Crypto, CryptoProvider};

use crate::keys::SigningKey;
use crate::response::SignatureAlgorithm;

/// The XML Signature namespace.
pub(crate) const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

const EXCLUSIVE_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Escapes text for use in element content or a double-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// An instant as Entra writes it: UTC with milliseconds, `2018-04-14T09:58:58.457Z`.
pub(crate) fn instant(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An enveloped signature template over the element with `ID="{reference_id}"`: exclusive
/// c14n, the given algorithm, and optionally the signer's certificate in `KeyInfo`.
pub(crate) fn signature_template(
    reference_id: &str,
    algorithm: SignatureAlgorithm,
    key_info: Option<&SigningKey>,
) -> String {
    let key_info = key_info
        .map(|key| {
            format!(
                "<KeyInfo><X509Data><X509Certificate>{}</X509Certificate></X509Data></KeyInfo>",
                key.cert_base64()
            )
        })
        .unwrap_or_default();

    format!(
        concat!(
            "<Signature xmlns=\"{ns}\"><SignedInfo>",
            "<CanonicalizationMethod Algorithm=\"{c14n}\"/>",
            "<SignatureMethod Algorithm=\"{method}\"/>",
            "<Reference URI=\"#{id}\"><Transforms>",
            "<Transform Algorithm=\"{enveloped}\"/><Transform Algorithm=\"{c14n}\"/>",
            "</Transforms><DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference>",
            "</SignedInfo><SignatureValue/>{key_info}</Signature>"
        ),
        ns = XMLDSIG_NS,
        c14n = EXCLUSIVE_C14N,
        enveloped = ENVELOPED,
        method = algorithm.signature_uri(),
        digest = algorithm.digest_uri(),
        id = escape(reference_id),
        key_info = key_info,
    )
}

/// Fills in the first signature template of `xml` (in document order) with `key`.
///
/// Elements are referenced by their `ID` attribute. The XML declaration libxml adds is removed,
/// so the result can be embedded in a larger document.
pub(crate) fn sign_first_template(xml: &str, key: &SigningKey) -> anyhow::Result<String> {
    let signed = Crypto::sign_xml(xml, key.private_key_der())
        .map_err(|error| anyhow::anyhow!("xmlsec could not sign the document: {error}"))?;
    Ok(strip_declaration(&signed).trim_end().to_owned())
}

/// Removes a leading `<?xml ...?>` declaration and the whitespace after it.
pub(crate) fn strip_declaration(xml: &str) -> &str {
    let trimmed = xml.trim_start_matches('\u{feff}');
    if trimmed.starts_with("<?xml")
        && let Some(end) = trimmed.find("?>")
    {
        return trimmed[end + 2..].trim_start();
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn instants_have_milliseconds_and_zulu() {
        let time = DateTime::parse_from_rfc3339("2018-04-14T09:58:58.457123Z").unwrap();

        assert_eq!(
            instant(time.with_timezone(&Utc)),
            "2018-04-14T09:58:58.457Z"
        );
    }

    #[test]
    fn the_declaration_is_stripped() {
        assert_eq!(strip_declaration("<?xml version=\"1.0\"?>\n<a/>"), "<a/>");
        assert_eq!(strip_declaration("<a/>"), "<a/>");
    }
}
