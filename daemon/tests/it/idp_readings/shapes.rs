//! Responses as identity providers write them, as templates: `{RID}`, `{AID}`, `{ISSUER}`,
//! `{ACS}`, `{AUDIENCE}`, `{REQ}` and the times are filled in by `Values::fill`, `{ASIG}` and
//! `{RSIG}` mark where the assertion's and the response's signatures go. Each reproduces the
//! habits of one IdP's output (prefixes, where namespaces are declared, attribute names,
//! NameID formats); none is a copy of a real message.

/// Okta's shape: `saml2p:`/`saml2:` prefixes, each declared where it is used, `xs` declared
/// on the Response and the Assertion for `xsi:type="xs:string"` values.
pub(super) const OKTA: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?><saml2p:Response "#,
    r#"xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{ACS}" ID="{RID}" "#,
    r#"InResponseTo="{REQ}" IssueInstant="{NOW}" Version="2.0" "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema">"#,
    r#"<saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" "#,
    r#"Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{ISSUER}</saml2:Issuer>"#,
    r#"{RSIG}<saml2p:Status xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol">"#,
    r#"<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>"#,
    r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AID}" "#,
    r#"IssueInstant="{NOW}" Version="2.0" xmlns:xs="http://www.w3.org/2001/XMLSchema">"#,
    r#"<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{ISSUER}"#,
    r#"</saml2:Issuer>{ASIG}<saml2:Subject><saml2:NameID "#,
    r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">alice@acme.example"#,
    r#"</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml2:SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" "#,
    r#"Recipient="{ACS}"/></saml2:SubjectConfirmation></saml2:Subject>"#,
    r#"<saml2:Conditions NotBefore="{BEFORE}" NotOnOrAfter="{SOON}"><saml2:AudienceRestriction>"#,
    r#"<saml2:Audience>{AUDIENCE}</saml2:Audience></saml2:AudienceRestriction>"#,
    r#"</saml2:Conditions><saml2:AuthnStatement AuthnInstant="{NOW}" SessionIndex="{AID}">"#,
    r#"<saml2:AuthnContext><saml2:AuthnContextClassRef>"#,
    r#"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"#,
    r#"</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"#,
    r#"<saml2:AttributeStatement><saml2:Attribute Name="firstName" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">"#,
    r#"<saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xsi:type="xs:string">Alice</saml2:AttributeValue></saml2:Attribute>"#,
    r#"<saml2:Attribute Name="lastName" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">"#,
    r#"<saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xsi:type="xs:string">Smith</saml2:AttributeValue></saml2:Attribute>"#,
    r#"</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>"#,
);

/// ADFS's shape: assertion in the default namespace, Issuer of the Response declaring it on
/// its own, a space before `/>`, milliseconds, a persistent NameID qualified by both sides,
/// claim URIs, the AuthnStatement after the AttributeStatement.
pub(super) const ADFS: &str = concat!(
    r#"<samlp:Response ID="{RID}" Version="2.0" IssueInstant="{NOW}" Destination="{ACS}" "#,
    r#"Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified" InResponseTo="{REQ}" "#,
    r#"xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">"#,
    r#"<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</Issuer>{RSIG}"#,
    r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success" />"#,
    r#"</samlp:Status><Assertion ID="{AID}" IssueInstant="{NOW}" Version="2.0" "#,
    r#"xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>{ISSUER}</Issuer>{ASIG}"#,
    r#"<Subject><NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" "#,
    r#"NameQualifier="{ISSUER}" SPNameQualifier="{AUDIENCE}">OWxq2QrC+5Vv0zT2yH0lGw==</NameID>"#,
    r#"<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" Recipient="{ACS}" />"#,
    r#"</SubjectConfirmation></Subject><Conditions NotBefore="{NOW}" NotOnOrAfter="{LATER}">"#,
    r#"<AudienceRestriction><Audience>{AUDIENCE}</Audience></AudienceRestriction></Conditions>"#,
    r#"<AttributeStatement><Attribute "#,
    r#"Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress">"#,
    r#"<AttributeValue>alice@acme.example</AttributeValue></Attribute><Attribute "#,
    r#"Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname">"#,
    r#"<AttributeValue>Alice</AttributeValue></Attribute><Attribute "#,
    r#"Name="http://schemas.xmlsoap.org/claims/Group"><AttributeValue>Domain Users"#,
    r#"</AttributeValue><AttributeValue>R&amp;D</AttributeValue></Attribute>"#,
    r#"</AttributeStatement><AuthnStatement AuthnInstant="{NOW}" SessionIndex="_{AID}">"#,
    r#"<AuthnContext><AuthnContextClassRef>urn:federation:authentication:windows"#,
    r#"</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion></samlp:Response>"#,
);

/// Keycloak's shape: `saml:` declared on the Response, the default namespace declared on the
/// Assertion too, `dsig:` signatures whose KeyInfo names the key and carries its value, the
/// user name as an unspecified NameID, X.500 attribute names with friendly names, and a
/// SessionNotOnOrAfter.
pub(super) const KEYCLOAK: &str = concat!(
    r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
    r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Destination="{ACS}" ID="{RID}" "#,
    r#"InResponseTo="{REQ}" IssueInstant="{NOW}" Version="2.0"><saml:Issuer>{ISSUER}"#,
    r#"</saml:Issuer>{RSIG}<samlp:Status><samlp:StatusCode "#,
    r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#,
    r#"<saml:Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AID}" "#,
    r#"IssueInstant="{NOW}" Version="2.0"><saml:Issuer>{ISSUER}</saml:Issuer>{ASIG}"#,
    r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">"#,
    r#"alice</saml:NameID><saml:SubjectConfirmation "#,
    r#"Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml:SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" "#,
    r#"Recipient="{ACS}"/></saml:SubjectConfirmation></saml:Subject>"#,
    r#"<saml:Conditions NotBefore="{BEFORE}" NotOnOrAfter="{SOON}"><saml:AudienceRestriction>"#,
    r#"<saml:Audience>{AUDIENCE}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
    r#"<saml:AuthnStatement AuthnInstant="{NOW}" SessionIndex="{AID}::{RID}" "#,
    r#"SessionNotOnOrAfter="{LATER}"><saml:AuthnContext><saml:AuthnContextClassRef>"#,
    r#"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef>"#,
    r#"</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>"#,
    r#"<saml:Attribute FriendlyName="email" Name="urn:oid:1.2.840.113549.1.9.1" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#,
    r#"alice@acme.example</saml:AttributeValue></saml:Attribute>"#,
    r#"<saml:Attribute FriendlyName="givenName" Name="urn:oid:2.5.4.42" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#,
    r#"Alice</saml:AttributeValue></saml:Attribute>"#,
    r#"<saml:Attribute FriendlyName="surname" Name="urn:oid:2.5.4.4" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#,
    r#"Smith</saml:AttributeValue></saml:Attribute>"#,
    r#"</saml:AttributeStatement></saml:Assertion></samlp:Response>"#,
);

/// Shibboleth's shape: `saml2p:`/`saml2:`, `xsd` declared on the Response only and named in
/// the assertion signature's PrefixList, a persistent NameID qualified by both sides, OID
/// attribute names with friendly names, a multi-valued affiliation, non-ASCII names and values.
pub(super) const SHIBBOLETH: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" "#,
    r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema" Destination="{ACS}" ID="{RID}" "#,
    r#"InResponseTo="{REQ}" IssueInstant="{NOW}" Version="2.0"><saml2:Issuer "#,
    r#"xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</saml2:Issuer>{RSIG}"#,
    r#"<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
    r#"</saml2p:Status><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" "#,
    r#"ID="{AID}" IssueInstant="{NOW}" Version="2.0"><saml2:Issuer>{ISSUER}</saml2:Issuer>"#,
    r#"{ASIG}<saml2:Subject><saml2:NameID "#,
    r#"Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" NameQualifier="{ISSUER}" "#,
    r#"SPNameQualifier="{AUDIENCE}">3QJ7GV4BKS2UTSIBHQ5VXQ2YCOXDKQZG</saml2:NameID>"#,
    r#"<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml2:SubjectConfirmationData Address="192.0.2.7" InResponseTo="{REQ}" "#,
    r#"NotOnOrAfter="{SOON}" Recipient="{ACS}"/></saml2:SubjectConfirmation></saml2:Subject>"#,
    r#"<saml2:Conditions NotBefore="{NOW}" NotOnOrAfter="{SOON}"><saml2:AudienceRestriction>"#,
    r#"<saml2:Audience>{AUDIENCE}</saml2:Audience></saml2:AudienceRestriction>"#,
    r#"</saml2:Conditions><saml2:AuthnStatement AuthnInstant="{NOW}" SessionIndex="_{AID}">"#,
    r#"<saml2:SubjectLocality Address="192.0.2.7"/><saml2:AuthnContext>"#,
    r#"<saml2:AuthnContextClassRef>"#,
    r#"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"#,
    r#"</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"#,
    r#"<saml2:AttributeStatement><saml2:Attribute FriendlyName="mail" "#,
    r#"Name="urn:oid:0.9.2342.19200300.100.1.3" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml2:AttributeValue "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string">"#,
    r#"alice@acme.example</saml2:AttributeValue></saml2:Attribute>"#,
    r#"<saml2:Attribute FriendlyName="eduPersonScopedAffiliation" "#,
    r#"Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.9" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml2:AttributeValue "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string">"#,
    r#"member@acme.example</saml2:AttributeValue><saml2:AttributeValue "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string">"#,
    r#"staff@acme.example</saml2:AttributeValue></saml2:Attribute>"#,
    r#"<saml2:Attribute FriendlyName="givenName" Name="urn:oid:2.5.4.42" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml2:AttributeValue "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string">"#,
    r#"Ålice</saml2:AttributeValue></saml2:Attribute>"#,
    r#"<saml2:Attribute Name="urn:example:répertoire:部署"><saml2:AttributeValue>"#,
    r#"Développement &amp; 研究</saml2:AttributeValue></saml2:Attribute>"#,
    r#"</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>"#,
);

/// Google Workspace's shape: a `standalone` declaration, `saml2p:`/`saml2:`, an unspecified
/// NameID holding the address, and a KeyInfo naming the certificate's subject.
pub(super) const GOOGLE: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><saml2p:Response "#,
    r#"xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{ACS}" ID="{RID}" "#,
    r#"InResponseTo="{REQ}" IssueInstant="{NOW}" Version="2.0"><saml2:Issuer "#,
    r#"xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</saml2:Issuer>{RSIG}"#,
    r#"<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
    r#"</saml2p:Status><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" "#,
    r#"ID="{AID}" IssueInstant="{NOW}" Version="2.0"><saml2:Issuer>{ISSUER}</saml2:Issuer>"#,
    r#"{ASIG}<saml2:Subject><saml2:NameID "#,
    r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">alice@acme.example"#,
    r#"</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml2:SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" "#,
    r#"Recipient="{ACS}"/></saml2:SubjectConfirmation></saml2:Subject>"#,
    r#"<saml2:Conditions NotBefore="{BEFORE}" NotOnOrAfter="{SOON}"><saml2:AudienceRestriction>"#,
    r#"<saml2:Audience>{AUDIENCE}</saml2:Audience></saml2:AudienceRestriction>"#,
    r#"</saml2:Conditions><saml2:AttributeStatement><saml2:Attribute Name="firstName">"#,
    r#"<saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:anyType">Alice"#,
    r#"</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>"#,
    r#"<saml2:AuthnStatement AuthnInstant="{NOW}" SessionIndex="{AID}"><saml2:AuthnContext>"#,
    r#"<saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"#,
    r#"</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"#,
    r#"</saml2:Assertion></saml2p:Response>"#,
);

/// SimpleSAMLphp's shape, pretty-printed: newlines and indentation between every element
/// and around values, a transient NameID, `xs`/`xsi` declared on the Assertion, basic
/// attribute names with several values.
pub(super) const SIMPLESAMLPHP: &str = r#"<samlp:Response
    xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
    xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
    ID="{RID}" Version="2.0" IssueInstant="{NOW}" Destination="{ACS}" InResponseTo="{REQ}">
  <saml:Issuer>
    {ISSUER}
  </saml:Issuer>{RSIG}
  <samlp:Status>
    <samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
  </samlp:Status>
  <saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AID}" Version="2.0" IssueInstant="{NOW}">
    <saml:Issuer>{ISSUER}</saml:Issuer>{ASIG}
    <saml:Subject>
      <saml:NameID SPNameQualifier="{AUDIENCE}"
          Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">
        _ce3d2948b4cf20146dee0a0b3dd6f69b6cf86f62d7
      </saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{SOON}" Recipient="{ACS}" InResponseTo="{REQ}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{BEFORE}" NotOnOrAfter="{SOON}">
      <saml:AudienceRestriction>
        <saml:Audience>
          {AUDIENCE}
        </saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{NOW}" SessionNotOnOrAfter="{LATER}" SessionIndex="_{AID}">
      <saml:AuthnContext>
        <saml:AuthnContextClassRef>
          urn:oasis:names:tc:SAML:2.0:ac:classes:Password
        </saml:AuthnContextClassRef>
      </saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="uid" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue xsi:type="xs:string">alice</saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="mail" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue xsi:type="xs:string">
          alice@acme.example
        </saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="eduPersonAffiliation"
          NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue xsi:type="xs:string">users</saml:AttributeValue>
        <saml:AttributeValue xsi:type="xs:string">examplerole1</saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="sn" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue xsi:type="xs:string"><![CDATA[Smith & <Sons>]]></saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>
"#;

/// Auth0's shape: a signature in the default namespace inside `saml:` elements, an opaque
/// NameID, the address in a claim URI.
pub(super) const AUTH0: &str = concat!(
    r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{RID}" "#,
    r#"InResponseTo="{REQ}" Version="2.0" IssueInstant="{NOW}" Destination="{ACS}">"#,
    r#"<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</saml:Issuer>"#,
    r#"{RSIG}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
    r#"</samlp:Status><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
    r#"Version="2.0" ID="{AID}" IssueInstant="{NOW}"><saml:Issuer>{ISSUER}</saml:Issuer>{ASIG}"#,
    r#"<saml:Subject><saml:NameID "#,
    r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">"#,
    r#"auth0|5f7c8ec7c33c6c004bbafe82"#,
    r#"</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml:SubjectConfirmationData NotOnOrAfter="{SOON}" Recipient="{ACS}" "#,
    r#"InResponseTo="{REQ}"/></saml:SubjectConfirmation></saml:Subject>"#,
    r#"<saml:Conditions NotBefore="{NOW}" NotOnOrAfter="{LATER}"><saml:AudienceRestriction>"#,
    r#"<saml:Audience>{AUDIENCE}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
    r#"<saml:AuthnStatement AuthnInstant="{NOW}" SessionIndex="_{AID}"><saml:AuthnContext>"#,
    r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"#,
    r#"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
    r#"<saml:AttributeStatement xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><saml:Attribute "#,
    r#"Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue "#,
    r#"xsi:type="xs:string">alice@acme.example</saml:AttributeValue></saml:Attribute>"#,
    r#"<saml:Attribute Name="http://schemas.auth0.com/nickname" "#,
    r#"NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue "#,
    r#"xsi:type="xs:string">alice</saml:AttributeValue></saml:Attribute>"#,
    r#"</saml:AttributeStatement></saml:Assertion></samlp:Response>"#,
);

/// Nothing prefixed: the protocol namespace the default on the Response, the assertion
/// namespace the default from each Issuer and the Assertion down, a signature in the
/// default namespace of XML-DSig, and `xs` declared on an attribute value.
pub(super) const UNPREFIXED: &str = concat!(
    r#"<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="{RID}" Version="2.0" "#,
    r#"IssueInstant="{NOW}" Destination="{ACS}" InResponseTo="{REQ}"><Issuer "#,
    r#"xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</Issuer>{RSIG}<Status>"#,
    r#"<StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></Status>"#,
    r#"<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AID}" Version="2.0" "#,
    r#"IssueInstant="{NOW}"><Issuer>{ISSUER}</Issuer>{ASIG}<Subject><NameID "#,
    r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@acme.example"#,
    r#"</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" Recipient="{ACS}"/>"#,
    r#"</SubjectConfirmation></Subject><Conditions NotBefore="{NOW}" NotOnOrAfter="{SOON}">"#,
    r#"<AudienceRestriction><Audience>{AUDIENCE}</Audience></AudienceRestriction></Conditions>"#,
    r#"<AuthnStatement AuthnInstant="{NOW}"><AuthnContext><AuthnContextClassRef>"#,
    r#"urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext>"#,
    r#"</AuthnStatement><AttributeStatement><Attribute Name="givenName"><AttributeValue "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">Alice"#,
    r#"</AttributeValue></Attribute></AttributeStatement></Assertion></Response>"#,
);

/// Every namespace, `ds` included, declared once on the Response (as some .NET signers write
/// it): the signatures do not declare their prefix.
pub(super) const DECLARED_ON_ROOT: &str = concat!(
    r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
    r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
    r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#" "#,
    r#"xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{RID}" Version="2.0" "#,
    r#"IssueInstant="{NOW}" Destination="{ACS}" InResponseTo="{REQ}"><saml:Issuer>{ISSUER}"#,
    r#"</saml:Issuer>{RSIG}<samlp:Status><samlp:StatusCode "#,
    r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion "#,
    r#"ID="{AID}" Version="2.0" IssueInstant="{NOW}"><saml:Issuer>{ISSUER}</saml:Issuer>"#,
    r#"{ASIG}<saml:Subject><saml:NameID>alice@acme.example</saml:NameID>"#,
    r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
    r#"<saml:SubjectConfirmationData InResponseTo="{REQ}" NotOnOrAfter="{SOON}" "#,
    r#"Recipient="{ACS}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions "#,
    r#"NotBefore="{NOW}" NotOnOrAfter="{SOON}"><saml:AudienceRestriction><saml:Audience>"#,
    r#"{AUDIENCE}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
    r#"<saml:AuthnStatement AuthnInstant="{NOW}"><saml:AuthnContext>"#,
    r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password"#,
    r#"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
    r#"<saml:AttributeStatement><saml:Attribute Name="givenName"><saml:AttributeValue "#,
    r#"xsi:type="xs:string">Alice</saml:AttributeValue></saml:Attribute>"#,
    r#"</saml:AttributeStatement></saml:Assertion></samlp:Response>"#,
);
