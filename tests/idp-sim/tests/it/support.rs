//! Fixtures shared by the tests: the quickstart tenant, simulators, and signature checks.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use idp_sim::{Simulator, Tenant};
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};

/// The example tenant shipped with the crate.
pub fn quickstart_tenant() -> Tenant {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tenants/quickstart.yaml");
    Tenant::load(&path).unwrap()
}

/// A simulator for the quickstart tenant, changed by `edit`, with fresh keys.
pub fn simulator(edit: impl FnOnce(&mut Tenant)) -> Simulator {
    let mut tenant = quickstart_tenant();
    edit(&mut tenant);
    Simulator::generate(tenant).unwrap()
}

/// A fixed instant, so tests never depend on the clock.
pub fn fixed_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Verifies every signature of `xml` against `certs` the way an SP would, returning only the
/// signed content.
pub fn reduce_to_signed(
    xml: &str,
    certs: &[CertificateDer],
    allowed: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<String, samael::crypto::CryptoError> {
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        allowed,
    )
}

/// The certificates an SP takes from the simulator's metadata.
pub fn metadata_certificates(simulator: &Simulator) -> Vec<CertificateDer> {
    simulator
        .keys()
        .all()
        .iter()
        .map(|key| key.certificate())
        .collect()
}
