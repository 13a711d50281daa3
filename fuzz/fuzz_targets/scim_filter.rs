//! Fuzz the SCIM filter parser and evaluator: any input must parse or fail
//! with an error, a parsed filter must print to text that parses back to
//! the same tree, and evaluating it must not panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use provisiond::scim::ResourceKind;
use provisiond::scim::filter::Filter;
use provisiond::scim::patch::PatchPath;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = PatchPath::parse(input);
    let Ok(filter) = Filter::parse(input) else { return };

    let printed = filter.to_string();
    assert_eq!(Filter::parse(&printed).ok(), Some(filter.clone()), "{printed}");

    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "jdoe",
        "active": true,
        "emails": [{ "value": "j@x.test", "type": "work", "primary": true }],
        "meta": { "lastModified": "2024-05-13T04:42:34Z" }
    });
    let _ = filter.check(ResourceKind::User);
    let _ = filter.matches(&user, ResourceKind::User);
    let _ = filter.as_simple_eq();
});
