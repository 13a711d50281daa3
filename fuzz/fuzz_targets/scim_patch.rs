//! Fuzz the SCIM PATCH engine with arbitrary JSON bodies against a User and
//! a Group: it must answer a result or an error, never panic, and a
//! successful PATCH must leave a resource the engine accepts again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use provisiond::scim::ResourceKind;
use provisiond::scim::patch::apply_patch;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let user = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "u1",
        "userName": "jdoe",
        "active": true,
        "name": { "givenName": "J" },
        "emails": [{ "value": "j@x.test", "type": "work", "primary": true }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": { "value": "m" }
        }
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "G",
        "members": [{ "value": "u1" }, { "value": "u2" }]
    });
    for (resource, kind) in [(user, ResourceKind::User), (group, ResourceKind::Group)] {
        if let Ok(outcome) = apply_patch(&resource, kind, &body) {
            let again = apply_patch(&outcome.resource, kind, &body);
            // Replaying the same body is allowed to fail (e.g. a remove of a
            // required attribute), but not to panic.
            let _ = again;
        }
    }
});
