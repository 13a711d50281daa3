//! The HTTP routes, over a real socket on 127.0.0.1, driven by samael acting as the SP.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use idp_sim::{RunningSimulator, parse_auto_post_form};
use reqwest::StatusCode;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::EntityDescriptor;
use samael::schema::{AuthnRequest, Issuer, Subject, SubjectNameID};
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};
use samael::traits::ToXml as _;

use crate::support::simulator;

async fn running() -> RunningSimulator {
    let simulator = simulator(|_| {});
    idp_sim::start(simulator, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn get(url: &str) -> (StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// A samael SP configured from the simulator's metadata, as provisiond would be.
async fn service_provider(running: &RunningSimulator) -> ServiceProvider {
    let (status, metadata) = get(&running.metadata_url()).await;
    assert_eq!(status, StatusCode::OK);
    let idp_metadata: EntityDescriptor = metadata.trim_start_matches('\u{feff}').parse().unwrap();
    let tenant = running.simulator().tenant();

    ServiceProviderBuilder::default()
        .entity_id(tenant.sp_entity_id.clone())
        .acs_url(tenant.reply_url.clone())
        .idp_metadata(idp_metadata)
        .allowed_signature_algorithms(vec![AllowedSignatureAlgorithm::RsaSha256])
        .allow_idp_initiated(true)
        .build()
        .unwrap()
}

fn redirect_url(request: &AuthnRequest, relay_state: &str, login_hint: Option<&str>) -> String {
    let mut url = request.redirect(relay_state).unwrap().unwrap();
    if let Some(hint) = login_hint {
        url.query_pairs_mut().append_pair("login_hint", hint);
    }
    url.to_string()
}

fn form_field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn sp_initiated_sign_in_with_login_hint_posts_a_verifiable_response() {
    let running = running().await;
    let sp = service_provider(&running).await;
    let request = sp.make_authentication_request(&running.sso_url()).unwrap();
    let relay_state = "/after/login?tab=1&x=<y>";

    let (status, page) = get(&redirect_url(
        &request,
        relay_state,
        Some("ALICE@acme.example"),
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{page}");
    let (action, fields) = parse_auto_post_form(&page).unwrap();
    assert_eq!(action, "http://localhost:8080/saml/acme/acs");
    assert_eq!(form_field(&fields, "RelayState"), Some(relay_state));
    let encoded = form_field(&fields, "SAMLResponse").unwrap();
    let xml = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert!(xml.contains(&format!("InResponseTo=\"{}\"", request.id)));

    let assertion = sp
        .parse_base64_response(encoded, Some(&[request.id.as_str()]))
        .unwrap();
    let name_id = assertion.subject.unwrap().name_id.unwrap();
    assert_eq!(name_id.value, "alice@acme.example");
    running.stop().await;
}

#[tokio::test]
async fn without_a_hint_the_account_picker_leads_to_the_response() {
    let running = running().await;
    let sp = service_provider(&running).await;
    let request = sp.make_authentication_request(&running.sso_url()).unwrap();

    let (status, picker) = get(&redirect_url(&request, "", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(picker.contains("bob@acme.example"), "{picker}");
    let (action, mut fields) = parse_auto_post_form(&picker).unwrap();
    assert_eq!(action, format!("{}/login", running.sso_url()));
    assert_eq!(form_field(&fields, "RelayState"), None);
    fields.push(("user".to_owned(), "bob@acme.example".to_owned()));

    let response = reqwest::Client::new()
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();

    let (_, fields) = parse_auto_post_form(&page).unwrap();
    let encoded = form_field(&fields, "SAMLResponse").unwrap();
    let assertion = sp
        .parse_base64_response(encoded, Some(&[request.id.as_str()]))
        .unwrap();
    assert_eq!(
        assertion.subject.unwrap().name_id.unwrap().value,
        "bob@acme.example"
    );
}

#[tokio::test]
async fn idp_initiated_sign_in_is_unsolicited() {
    let running = running().await;
    let sp = service_provider(&running).await;
    let url = format!(
        "{}&relay_state=%2Fhome",
        running.idp_initiated_url("bob@acme.example")
    );

    let (status, page) = get(&url).await;

    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, fields) = parse_auto_post_form(&page).unwrap();
    assert_eq!(form_field(&fields, "RelayState"), Some("/home"));
    let encoded = form_field(&fields, "SAMLResponse").unwrap();
    let xml = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert!(!xml.contains("InResponseTo"), "{xml}");
    assert!(sp.parse_base64_response(encoded, None).is_ok());
}

#[tokio::test]
async fn refusals_are_entra_error_pages_with_http_400() {
    let running = running().await;
    let sp = service_provider(&running).await;
    let good = sp.make_authentication_request(&running.sso_url()).unwrap();

    let digit_id = AuthnRequest {
        id: "1abc".to_owned(),
        ..good.clone()
    };
    let wrong_issuer = AuthnRequest {
        issuer: Some(Issuer {
            value: Some("https://evil.example/metadata".to_owned()),
            ..Issuer::default()
        }),
        ..good.clone()
    };
    let with_subject = AuthnRequest {
        subject: Some(Subject {
            name_id: Some(SubjectNameID {
                format: None,
                value: "alice@acme.example".to_owned(),
            }),
            subject_confirmations: None,
        }),
        ..good.clone()
    };
    let wrong_acs = AuthnRequest {
        assertion_consumer_service_url: Some("http://localhost:8080/evil/acs".to_owned()),
        ..good.clone()
    };
    let cases = [
        (
            redirect_url(&digit_id, "", Some("alice@acme.example")),
            "AADSTS7500529",
        ),
        (
            redirect_url(&wrong_issuer, "", Some("alice@acme.example")),
            "AADSTS700016",
        ),
        (
            redirect_url(&with_subject, "", Some("alice@acme.example")),
            "AADSTS900236",
        ),
        (
            redirect_url(&wrong_acs, "", Some("alice@acme.example")),
            "AADSTS50011",
        ),
        (
            redirect_url(&good, "", Some("carol@acme.example")),
            "AADSTS50057",
        ),
        (running.sso_url(), "AADSTS750054"),
        (
            format!("{}?SAMLRequest=%25%25", running.sso_url()),
            "AADSTS750056",
        ),
        (
            running.idp_initiated_url("nobody@acme.example"),
            "AADSTS50034",
        ),
        (
            running.idp_initiated_url("carol@acme.example"),
            "AADSTS50057",
        ),
        (
            format!(
                "{}/00000000-0000-0000-0000-000000000000/saml2",
                running.base_url
            ),
            "AADSTS90002",
        ),
    ];

    for (url, code) in cases {
        let (status, page) = get(&url).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}: {page}");
        assert!(
            page.contains(&format!("{code}:")),
            "expected {code}: {page}"
        );
        assert!(
            parse_auto_post_form(&page).is_none(),
            "{code}: no response form on an error"
        );
    }
}

#[tokio::test]
async fn the_post_binding_is_accepted_too() {
    let running = running().await;
    let sp = service_provider(&running).await;
    let request = sp.make_authentication_request(&running.sso_url()).unwrap();
    let encoded = STANDARD.encode(request.to_string().unwrap());

    let response = reqwest::Client::new()
        .post(running.sso_url())
        .form(&[
            ("SAMLRequest", encoded.as_str()),
            ("login_hint", "alice@acme.example"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let (_, fields) = parse_auto_post_form(&response.text().await.unwrap()).unwrap();
    let encoded = form_field(&fields, "SAMLResponse").unwrap();
    assert!(
        sp.parse_base64_response(encoded, Some(&[request.id.as_str()]))
            .is_ok()
    );
}

#[tokio::test]
async fn stop_closes_the_listener() {
    let running = running().await;
    let url = running.metadata_url();
    assert_eq!(get(&url).await.0, StatusCode::OK);

    running.stop().await;

    assert!(reqwest::get(&url).await.is_err());
}
