//! Fuzz IdP metadata parsing: any input is parsed into a descriptor or refused with an error;
//! a descriptor always has at least one signing certificate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use provisiond::saml::metadata::parse_metadata;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(descriptor) = parse_metadata(text, None) {
        assert!(!descriptor.certificates.is_empty());
    }
});
