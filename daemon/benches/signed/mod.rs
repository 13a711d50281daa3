//! Signed responses for the SAML benchmarks: an Entra-shaped tenant of `count` users and one
//! response per user, each signed up front (the benchmarks measure the SP, not the IdP).

use base64::Engine;
use chrono::{DateTime, Utc};
use idp_sim::{IdpKeys, ResponseSpec, Simulator, Tenant};

/// The SP's base URL in the benchmarks.
pub const BASE_URL: &str = "http://sp.bench";

/// A tenant, its signing key and one signed response per user.
pub struct SignedResponses {
    /// The IdP, for its entity ID.
    pub simulator: Simulator,
    /// The IdP's signing key.
    pub keys: IdpKeys,
    /// One base64 `SAMLResponse` per user, signed for the ACS at [`BASE_URL`].
    pub responses: Vec<String>,
}

/// `count` users, each with a response issued at `now`.
pub fn signed_responses(count: usize, now: DateTime<Utc>) -> SignedResponses {
    let mut users = String::new();
    for i in 0..count {
        users.push_str(&format!(
            "  - id: {}\n    user_principal_name: user{i}@acme.example\n    \
             mail: user{i}@acme.example\n    given_name: User\n    surname: N{i}\n",
            uuid::Uuid::new_v4()
        ));
    }
    let tenant = Tenant::from_yaml(&format!(
        "tenant_id: 9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11\n\
         app_id: 3f0b8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b\n\
         sp_entity_id: {BASE_URL}/saml/acme/metadata\nreply_url: {BASE_URL}/saml/acme/acs\n\
         users:\n{users}"
    ))
    .expect("the benchmark tenant parses");
    let keys = IdpKeys::generate(1).expect("a signing key");
    let simulator = Simulator::new(tenant.clone(), keys.clone()).expect("the simulator");
    let responses = tenant
        .users
        .iter()
        .map(|user| {
            let spec = ResponseSpec::for_user(&tenant, user, None, now);
            let xml = idp_sim::build_signed_response(&spec, keys.key(0)).expect("a signature");
            base64::engine::general_purpose::STANDARD.encode(xml)
        })
        .collect();
    SignedResponses {
        simulator,
        keys,
        responses,
    }
}
