//! Validation benchmark: one thread validating signed Entra-shaped responses (RSA-2048,
//! RSA-SHA256, exclusive c14n, assertion signed), nothing else, so a profile of it shows only
//! the validation path.
//!
//! `cargo bench -p provisiond --bench validate` (release build). `VALIDATE_BENCH_RESPONSES`
//! sets how many distinct responses are signed (default 500), `VALIDATE_BENCH_ROUNDS` how many
//! times each is validated (default 20); the best round is reported. `VALIDATE_BENCH_DUMP`
//! names a file to write the first response's XML to, to see what is being measured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use provisiond::saml::metadata::IdpDescriptor;
use provisiond::saml::validate::{Expectations, validate_base64};

mod signed;
use signed::{BASE_URL, SignedResponses, signed_responses};

fn main() {
    let count = env_number("VALIDATE_BENCH_RESPONSES", 500);
    let rounds = env_number("VALIDATE_BENCH_ROUNDS", 20);

    let now = Utc::now();
    let SignedResponses {
        simulator,
        keys,
        responses,
    } = signed_responses(count, now);
    if let Ok(path) = std::env::var("VALIDATE_BENCH_DUMP") {
        let xml = base64::engine::general_purpose::STANDARD
            .decode(&responses[0])
            .unwrap();
        std::fs::write(path, xml).unwrap();
    }

    let idp = IdpDescriptor {
        entity_id: simulator.entity_id(),
        sso_url: format!("{BASE_URL}/idp"),
        certificates: vec![keys.key(0).cert_der().to_vec()],
    };
    let sp_entity_id = format!("{BASE_URL}/saml/acme/metadata");
    let acs_url = format!("{BASE_URL}/saml/acme/acs");
    let expect = Expectations {
        idp: &idp,
        sp_entity_id: &sp_entity_id,
        acs_url: &acs_url,
        clock_skew: chrono::Duration::seconds(180),
        allow_sha1: false,
    };

    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let begun = Instant::now();
        for response in &responses {
            validate_base64(response, &expect, now).unwrap();
        }
        best = best.min(begun.elapsed() / responses.len() as u32);
    }
    println!(
        "validation, 1 thread, best of {rounds} rounds of {count}: {:.2} µs each",
        best.as_secs_f64() * 1e6
    );
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
