//! Responses written the way other identity providers write them (Okta, ADFS, Keycloak,
//! Shibboleth, Google Workspace, SimpleSAMLphp, Auth0) and other readings of the SAML and
//! XML-DSig specifications: what a correct service provider accepts, and what it refuses and
//! why. Each response is built here as text, signed in place by xmlsec with the simulator's
//! key (or by hand, where xmlsec would not sign it), and posted to the ACS logic with the
//! fixture's fixed clock. `shapes` holds the responses as each IdP writes them, `acceptance`
//! signs and accepts them, `signatures` refuses what SAML signatures are not, and `messages`
//! reads the rest of what a response may hold.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use provisiond::saml::LoginError;
use provisiond::saml::login::LoginSuccess;
use samael::crypto::{Crypto, CryptoProvider};

use super::support::{Fixture, fixed_now};

mod acceptance;
mod messages;
mod shapes;
mod signatures;

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn code(result: Result<LoginSuccess, LoginError>) -> &'static str {
    match result {
        Ok(ok) => panic!("expected a refusal, but {} signed in", ok.user.email),
        Err(err) => err.code(),
    }
}

fn accepted(result: Result<LoginSuccess, LoginError>) -> LoginSuccess {
    result.unwrap_or_else(|err| panic!("refused: {err}"))
}

/// An instant as most IdPs write it: UTC, whole seconds, `Z`.
fn instant(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The values one response carries, taken from a request the fixture really issued.
struct Values {
    response_id: String,
    assertion_id: String,
    issuer: String,
    acs: String,
    audience: String,
    request: String,
}

impl Values {
    fn new(fx: &Fixture) -> Self {
        let spec = fx.solicited("alice@acme.example");
        Self {
            response_id: spec.response_id,
            assertion_id: spec.assertion_id,
            issuer: spec.issuer,
            acs: spec.recipient,
            audience: spec.audience,
            request: spec.in_response_to.expect("a solicited response"),
        }
    }

    /// `template` with every `{NAME}` placeholder filled in.
    fn fill(&self, template: &str) -> String {
        let now = fixed_now();
        template
            .replace("{RID}", &self.response_id)
            .replace("{AID}", &self.assertion_id)
            .replace("{ISSUER}", &self.issuer)
            .replace("{ACS}", &self.acs)
            .replace("{AUDIENCE}", &self.audience)
            .replace("{REQ}", &self.request)
            .replace("{NOW}", &instant(now))
            .replace("{BEFORE}", &instant(now - Duration::minutes(5)))
            .replace("{SOON}", &instant(now + Duration::minutes(5)))
            .replace("{LATER}", &instant(now + Duration::hours(1)))
    }
}

/// How one signature is written: prefix, algorithms, reference and extras.
#[derive(Clone)]
struct Sig {
    /// `ds`, `dsig`, or empty for the default namespace.
    prefix: &'static str,
    c14n: &'static str,
    method: &'static str,
    digest: &'static str,
    /// The Reference's URI attribute, as written.
    uri: String,
    /// The transforms' Algorithm URIs, in order.
    transforms: Vec<&'static str>,
    /// An InclusiveNamespaces PrefixList for the exclusive transform.
    prefix_list: Option<&'static str>,
    /// What goes inside KeyInfo (nothing: no KeyInfo).
    key_info: String,
    /// Whether the Signature declares its prefix (else an ancestor does).
    declares_prefix: bool,
    /// Pretty-printed: a line break and indentation between every two tags.
    indented: bool,
}

impl Sig {
    /// What most IdPs write: `ds:` prefix, exclusive c14n, RSA-SHA256, enveloped then
    /// exclusive c14n.
    fn to(id: &str) -> Self {
        Self {
            prefix: "ds",
            c14n: EXC_C14N,
            method: RSA_SHA256,
            digest: SHA256,
            uri: format!("#{id}"),
            transforms: vec![
                "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
                EXC_C14N,
            ],
            prefix_list: None,
            key_info: String::new(),
            declares_prefix: true,
            indented: false,
        }
    }

    fn template(&self) -> String {
        let p = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}:", self.prefix)
        };
        let declaration = if !self.declares_prefix {
            String::new()
        } else if self.prefix.is_empty() {
            format!(" xmlns=\"{DSIG}\"")
        } else {
            format!(" xmlns:{}=\"{DSIG}\"", self.prefix)
        };
        let transforms: String = self
            .transforms
            .iter()
            .map(|algorithm| match self.prefix_list {
                Some(list) if algorithm.starts_with(EXC_C14N) => format!(
                    "<{p}Transform Algorithm=\"{algorithm}\"><ec:InclusiveNamespaces \
                     xmlns:ec=\"{EXC_C14N}\" PrefixList=\"{list}\"/></{p}Transform>"
                ),
                _ => format!("<{p}Transform Algorithm=\"{algorithm}\"/>"),
            })
            .collect();
        let key_info = if self.key_info.is_empty() {
            String::new()
        } else {
            format!("<{p}KeyInfo>{}</{p}KeyInfo>", self.key_info)
        };
        let template = format!(
            "<{p}Signature{declaration}><{p}SignedInfo>\
             <{p}CanonicalizationMethod Algorithm=\"{c14n}\"/>\
             <{p}SignatureMethod Algorithm=\"{method}\"/>\
             <{p}Reference URI=\"{uri}\"><{p}Transforms>{transforms}</{p}Transforms>\
             <{p}DigestMethod Algorithm=\"{digest}\"/><{p}DigestValue/></{p}Reference>\
             </{p}SignedInfo><{p}SignatureValue/>{key_info}</{p}Signature>",
            c14n = self.c14n,
            method = self.method,
            digest = self.digest,
            uri = self.uri,
        );
        if self.indented {
            template.replace("><", ">\n      <")
        } else {
            template
        }
    }
}

/// Fills in the first signature template of `xml` (document order) with the fixture's key.
fn sign_first(fx: &Fixture, xml: &str) -> String {
    Crypto::sign_xml(xml, fx.keys.key(0).private_key_der()).expect("xmlsec signs")
}

/// `template` (with `{ASIG}` where the assertion's signature goes and `{RSIG}` where the
/// response's goes) filled in and signed: the assertion's signature first, in place, then the
/// response's around it.
fn signed(fx: &Fixture, template: &str, assertion: Option<Sig>, response: Option<Sig>) -> String {
    let mut xml = template.replace("{RSIG}", "<!--RSIG-->");
    xml = match assertion {
        Some(sig) => sign_first(fx, &xml.replace("{ASIG}", &sig.template())),
        None => xml.replace("{ASIG}", ""),
    };
    match response {
        Some(sig) => sign_first(fx, &xml.replace("<!--RSIG-->", &sig.template())),
        None => xml.replace("<!--RSIG-->", ""),
    }
}

/// An encrypted part as Shibboleth writes one: AES-GCM content, an RSA-OAEP key.
fn encrypted(element: &str) -> String {
    format!(
        "<saml2:{element} xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">\
         <xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" \
         Id=\"_{element}\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">\
         <xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes128-gcm\"/>\
         <ds:KeyInfo xmlns:ds=\"{DSIG}\"><xenc:EncryptedKey Recipient=\"{{AUDIENCE}}\">\
         <xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
         <xenc:CipherData><xenc:CipherValue>c2VjcmV0</xenc:CipherValue></xenc:CipherData>\
         </xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>c2VjcmV0\
         </xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml2:{element}>"
    )
}

/// A signature over `canonical`, computed here rather than by xmlsec (which resolves
/// references by `ID` only and signs with RSA keys only): `canonical` is the signed element
/// exactly as exclusive c14n writes it once the signature is left out (sorted attributes,
/// namespaces declared on it, start-end pairs), and the SignedInfo below is written in its
/// own canonical form; `sign` turns that SignedInfo into the SignatureValue.
fn signature_over(
    canonical: &str,
    uri: &str,
    method: &str,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> String {
    use base64::Engine;
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let digest = base64(&openssl::sha::sha256(canonical.as_bytes()));
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG}\"><ds:CanonicalizationMethod \
         Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod><ds:SignatureMethod \
         Algorithm=\"{method}\"></ds:SignatureMethod><ds:Reference URI=\"{uri}\">\
         <ds:Transforms><ds:Transform Algorithm=\"{DSIG}enveloped-signature\"></ds:Transform>\
         <ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{digest}\
         </ds:DigestValue></ds:Reference></ds:SignedInfo>"
    );
    let value = base64(&sign(signed_info.as_bytes()));
    format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\">{signed_info}<ds:SignatureValue>{value}\
         </ds:SignatureValue></ds:Signature>"
    )
}

/// RSA-SHA256 by the fixture's key, for [`signature_over`].
fn rsa_sha256(fx: &Fixture) -> impl Fn(&[u8]) -> Vec<u8> {
    let key = openssl::pkey::PKey::private_key_from_der(fx.keys.key(0).private_key_der()).unwrap();
    move |data| {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        signer.update(data).unwrap();
        signer.sign_to_vec().unwrap()
    }
}

/// An assertion in exclusive canonical form, its identifying attributes given as written
/// (sorted), `{SIG}` where its signature goes.
fn canonical_assertion(v: &Values, id_attributes: &str) -> String {
    v.fill(&format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" {ids} "#,
            r#"IssueInstant="{{NOW}}" Version="2.0"><saml:Issuer>{{ISSUER}}</saml:Issuer>{{SIG}}"#,
            r#"<saml:Subject><saml:NameID "#,
            r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">"#,
            r#"alice@acme.example</saml:NameID><saml:SubjectConfirmation "#,
            r#"Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData "#,
            r#"InResponseTo="{{REQ}}" NotOnOrAfter="{{SOON}}" Recipient="{{ACS}}">"#,
            r#"</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{{NOW}}" NotOnOrAfter="{{SOON}}">"#,
            r#"<saml:AudienceRestriction><saml:Audience>{{AUDIENCE}}</saml:Audience>"#,
            r#"</saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement "#,
            r#"AuthnInstant="{{NOW}}" SessionIndex="{{AID}}"><saml:AuthnContext>"#,
            r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password"#,
            r#"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            r#"</saml:Assertion>"#,
        ),
        ids = id_attributes
    ))
}

/// A Response in exclusive canonical form around `assertion`.
fn canonical_response(v: &Values, assertion: &str) -> String {
    v.fill(&format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"Destination="{{ACS}}" ID="{{RID}}" InResponseTo="{{REQ}}" IssueInstant="{{NOW}}" "#,
            r#"Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#,
            r#"{{ISSUER}}</saml:Issuer><samlp:Status><samlp:StatusCode "#,
            r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode>"#,
            r#"</samlp:Status>{assertion}</samlp:Response>"#,
        ),
        assertion = assertion
    ))
}
