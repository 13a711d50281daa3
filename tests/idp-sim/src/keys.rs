//! Signing keys of the simulated IdP: RSA-2048 keys with self-signed X.509 certificates.
//!
//! Keys are generated fresh, or kept in a directory so that the metadata (and an SP configured
//! from it) stays valid across restarts. This module only makes, loads and stores keys; it does
//! not sign anything itself.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

/// The subject common name Entra puts on its SAML signing certificates.
const ENTRA_CERT_NAME: &str = "Microsoft Azure Federated SSO Certificate";

/// Entra issues SAML signing certificates for three years.
const VALIDITY_DAYS: u32 = 3 * 365;

/// Why keys could not be made, loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// OpenSSL failed to generate or encode a key or certificate.
    #[error("cannot {action}")]
    Crypto {
        /// What was being done.
        action: &'static str,
        /// The OpenSSL error.
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// A key file could not be read or written: check the directory and its permissions.
    #[error("cannot {action} {path}")]
    Io {
        /// Read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A stored key or certificate is not valid PEM, or the two do not belong together:
    /// delete both files to have them generated again.
    #[error("{path} is not usable: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One RSA private key and its self-signed certificate, with their encodings ready to use.
#[derive(Clone)]
pub struct SigningKey {
    private_key: PKey<Private>,
    private_key_der: Vec<u8>,
    cert_der: Vec<u8>,
    cert_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningKey")
            .field("private_key", &"[redacted]")
            .field("cert_der_len", &self.cert_der.len())
            .finish()
    }
}

impl SigningKey {
    /// Generates a new RSA-2048 key and a self-signed certificate with the given common name.
    pub fn generate(common_name: &str) -> Result<Self, KeyError> {
        let crypto = |action| move |source| KeyError::Crypto { action, source };

        let rsa = Rsa::generate(2048).map_err(crypto("generate an RSA key"))?;
        let private_key = PKey::from_rsa(rsa).map_err(crypto("wrap the RSA key"))?;
        let cert = self_signed(&private_key, common_name).map_err(crypto("make a certificate"))?;

        Self::from_parts(private_key, &cert)
    }

    /// An unrelated key pair, for tests that sign with a key the SP must not trust.
    pub fn generate_attacker() -> Result<Self, KeyError> {
        Self::generate(ENTRA_CERT_NAME)
    }

    /// Builds a key from PEM text (PKCS#8 or traditional RSA key; X.509 certificate).
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<Self, KeyError> {
        let crypto = |action| move |source| KeyError::Crypto { action, source };

        let private_key = PKey::private_key_from_pem(key_pem).map_err(crypto("read the key"))?;
        let cert = X509::from_pem(cert_pem).map_err(crypto("read the certificate"))?;
        let matches = cert
            .public_key()
            .map(|public| public.public_eq(&private_key))
            .map_err(crypto("read the certificate's public key"))?;
        if !matches {
            return Err(KeyError::Invalid {
                path: PathBuf::from("<pem>"),
                reason: "the certificate does not belong to the private key".to_owned(),
            });
        }

        Self::from_parts(private_key, &cert)
    }

    /// The certificate, DER encoded.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate as plain base64 of the DER, as it appears in `X509Certificate`.
    pub fn cert_base64(&self) -> String {
        STANDARD.encode(&self.cert_der)
    }

    /// The certificate as samael expects it for verification.
    pub fn certificate(&self) -> samael::crypto::CertificateDer {
        samael::crypto::CertificateDer::from(self.cert_der.clone())
    }

    /// The private key, DER encoded (what xmlsec loads for signing).
    pub fn private_key_der(&self) -> &[u8] {
        &self.private_key_der
    }

    /// The private key as PKCS#8 PEM.
    pub fn private_key_pem(&self) -> Result<Vec<u8>, KeyError> {
        self.private_key
            .private_key_to_pem_pkcs8()
            .map_err(|source| KeyError::Crypto {
                action: "encode the key",
                source,
            })
    }

    fn from_parts(private_key: PKey<Private>, cert: &X509) -> Result<Self, KeyError> {
        let crypto = |action| move |source| KeyError::Crypto { action, source };

        let private_key_der = private_key
            .private_key_to_der()
            .map_err(crypto("encode the key"))?;
        let cert_der = cert.to_der().map_err(crypto("encode the certificate"))?;
        let cert_pem = cert.to_pem().map_err(crypto("encode the certificate"))?;
        let cert_pem = String::from_utf8(cert_pem).map_err(|error| KeyError::Invalid {
            path: PathBuf::from("<pem>"),
            reason: error.to_string(),
        })?;

        Ok(Self {
            private_key,
            private_key_der,
            cert_der,
            cert_pem,
        })
    }
}

/// The IdP's signing keys: one, or two during a certificate rollover.
#[derive(Debug, Clone)]
pub struct IdpKeys {
    keys: Vec<SigningKey>,
}

impl IdpKeys {
    /// Generates `count` fresh keys (at least one).
    pub fn generate(count: usize) -> Result<Self, KeyError> {
        let keys = (0..count.max(1))
            .map(|_| SigningKey::generate(ENTRA_CERT_NAME))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// Uses the given keys; `None` when the list is empty.
    pub fn from_keys(keys: Vec<SigningKey>) -> Option<Self> {
        if keys.is_empty() {
            None
        } else {
            Some(Self { keys })
        }
    }

    /// Loads `count` keys from `dir` (`signing-N.key.pem`, `signing-N.crt.pem`), generating and
    /// storing the ones that are missing. The directory is created when absent.
    pub fn load_or_generate(dir: &Path, count: usize) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            action: "create",
            path: dir.to_owned(),
            source,
        })?;

        let mut keys = Vec::new();
        for number in 1..=count.max(1) {
            let key_path = dir.join(format!("signing-{number}.key.pem"));
            let cert_path = dir.join(format!("signing-{number}.crt.pem"));

            let key = if key_path.exists() && cert_path.exists() {
                let key_pem = read(&key_path)?;
                let cert_pem = read(&cert_path)?;
                SigningKey::from_pem(&key_pem, &cert_pem).map_err(|error| KeyError::Invalid {
                    path: key_path.clone(),
                    reason: error.to_string(),
                })?
            } else {
                let key = SigningKey::generate(ENTRA_CERT_NAME)?;
                write_private(&key_path, &key.private_key_pem()?)?;
                write(&cert_path, key.cert_pem().as_bytes())?;
                key
            };
            keys.push(key);
        }

        Ok(Self { keys })
    }

    /// All keys, in metadata order.
    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key at a 0-based index, falling back to the first one.
    pub fn key(&self, index: usize) -> &SigningKey {
        self.keys.get(index).unwrap_or(&self.keys[0])
    }

    /// The first key's certificate, DER encoded.
    pub fn cert_der(&self) -> &[u8] {
        self.keys[0].cert_der()
    }

    /// The first key's certificate, PEM encoded.
    pub fn cert_pem(&self) -> &str {
        self.keys[0].cert_pem()
    }

    /// The first key's private key, DER encoded.
    pub fn private_key_der(&self) -> &[u8] {
        self.keys[0].private_key_der()
    }
}

fn self_signed(
    private_key: &PKey<Private>,
    common_name: &str,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();

    let mut serial = BigNum::new()?;
    serial.rand(128, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;

    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(private_key)?;
    builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    builder.set_not_after(Asn1Time::days_from_now(VALIDITY_DAYS)?.as_ref())?;
    builder.sign(private_key, MessageDigest::sha256())?;
    Ok(builder.build())
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    std::fs::write(path, contents).map_err(|source| KeyError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    use std::io::Write as _;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }

    let io_error = |source| KeyError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(contents).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_are_loaded_again_unchanged() {
        let dir = std::env::temp_dir().join(format!("idp-sim-keys-{}", uuid::Uuid::new_v4()));

        let first = IdpKeys::load_or_generate(&dir, 2).unwrap();
        let second = IdpKeys::load_or_generate(&dir, 2).unwrap();

        assert_eq!(first.all().len(), 2);
        assert_ne!(first.all()[0].cert_der(), first.all()[1].cert_der());
        assert_eq!(first.all()[1].cert_der(), second.all()[1].cert_der());
        assert_eq!(first.private_key_der(), second.private_key_der());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_certificate_of_another_key_is_refused() {
        let one = SigningKey::generate("one").unwrap();
        let other = SigningKey::generate("other").unwrap();

        let result =
            SigningKey::from_pem(&one.private_key_pem().unwrap(), other.cert_pem().as_bytes());

        assert!(matches!(result, Err(KeyError::Invalid { .. })));
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let key = SigningKey::generate("debug").unwrap();

        assert!(format!("{key:?}").contains("[redacted]"));
    }
}
