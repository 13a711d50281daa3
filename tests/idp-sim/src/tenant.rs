//! The simulated Entra ID tenant: one enterprise application and its users, read from YAML.
//!
//! This module owns the file format and its validation. It knows nothing about HTTP or XML;
//! the response builder and the routes read the typed [`Tenant`] it produces.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::response::{SignatureAlgorithm, Signing};

/// A tenant with one SAML enterprise application, as an admin would configure it in Entra ID.
///
/// The struct is meant to grow (groups, app role assignments, Graph settings); every field that
/// is not essential has a serde default so existing tenant files keep loading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// The Entra tenant (directory) id; part of every URL and of the issuer.
    pub tenant_id: Uuid,
    /// The application (client) id of the enterprise application.
    pub app_id: Uuid,
    /// The application's "Identifier (Entity ID)": the only accepted AuthnRequest issuer and
    /// the audience of every assertion.
    pub sp_entity_id: String,
    /// The application's "Reply URL (Assertion Consumer Service URL)".
    pub reply_url: String,
    /// Entra's "Signing Option": which element carries the signature.
    #[serde(default)]
    pub signing: SigningOption,
    /// Entra's "Signing Algorithm".
    #[serde(default)]
    pub signature_algorithm: SignatureAlgorithm,
    /// How many signing certificates the metadata lists (1, or 2 during a rollover).
    #[serde(default = "default_certificates")]
    pub certificates: u8,
    /// Which certificate (1-based) signs responses; the first one unless set.
    #[serde(default)]
    pub signing_certificate: Option<u8>,
    /// Whether the federation metadata starts with a UTF-8 byte order mark, as Entra's does.
    #[serde(default = "default_true")]
    pub metadata_bom: bool,
    /// Users in the directory; the same people sign in by SAML and are listed by Graph.
    #[serde(default)]
    pub users: Vec<TenantUser>,
    /// Groups in the directory (Graph side).
    #[serde(default)]
    pub groups: Vec<TenantGroup>,
    /// Ids of the users and groups assigned to the application (Graph side); every user when
    /// absent.
    #[serde(default)]
    pub assignments: Option<Vec<Uuid>>,
    /// The client id the token endpoint accepts; the `app_id` when absent.
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// The client secret the token endpoint accepts; `idp-sim-secret` when absent.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The object id of the application's service principal; derived from `app_id` when absent.
    #[serde(default)]
    pub service_principal_id: Option<Uuid>,
    /// Adds a generated directory (see `GraphTenant::generate`) to the users and groups above.
    #[serde(default)]
    pub generate: Option<GenerateSpec>,
}

/// A directory group; `members` are user or group ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantGroup {
    /// Object id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Direct members: user or group ids.
    #[serde(default)]
    pub members: Vec<Uuid>,
}

/// `generate:` in a tenant file: a deterministic directory of any size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// Users.
    pub users: usize,
    /// Groups.
    #[serde(default)]
    pub groups: usize,
    /// About this many user-in-group memberships.
    #[serde(default)]
    pub memberships: usize,
    /// Seed: the same seed gives the same directory.
    #[serde(default)]
    pub seed: u64,
    /// Assign every generated user directly (otherwise every fifth, and the even groups).
    #[serde(default)]
    pub assign_all_users: bool,
}

/// A directory user, with the Microsoft Graph property names in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantUser {
    /// The objectId: the stable key of the user.
    pub id: Uuid,
    /// The user principal name (sign-in name); the `name` claim.
    pub user_principal_name: String,
    /// The primary email address; the NameID.
    pub mail: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// Display name; "given_name surname" when absent.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether the user may sign in; a disabled user gets AADSTS50057.
    #[serde(default = "default_true")]
    pub account_enabled: bool,
}

/// Entra's "Signing Option" for a SAML application.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningOption {
    /// "Sign SAML assertion" (Entra's default).
    #[default]
    Assertion,
    /// "Sign SAML response".
    Response,
    /// "Sign SAML response and assertion".
    Both,
}

impl From<SigningOption> for Signing {
    fn from(option: SigningOption) -> Self {
        match option {
            SigningOption::Assertion => Signing::Assertion,
            SigningOption::Response => Signing::Response,
            SigningOption::Both => Signing::Both,
        }
    }
}

/// Why a tenant file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The file could not be read: check the path and permissions.
    #[error("cannot read tenant file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not match the format; the message names the key and the line.
    #[error("tenant file {path}: {error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error, naming the key (part of the message, so not a separate source).
        error: serde_yaml::Error,
    },
    /// The YAML is well formed but some values are not usable; all problems are listed.
    #[error("tenant file {path}: {}", problems.join("; "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// One line per problem, each naming the key.
        problems: Vec<String>,
    },
}

impl Tenant {
    /// Reads and checks a tenant file.
    pub fn load(path: &Path) -> Result<Self, TenantError> {
        let text = std::fs::read_to_string(path).map_err(|source| TenantError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text).map_err(|error| match error {
            TenantError::Parse { error, .. } => TenantError::Parse {
                path: path.to_owned(),
                error,
            },
            TenantError::Invalid { problems, .. } => TenantError::Invalid {
                path: path.to_owned(),
                problems,
            },
            other => other,
        })
    }

    /// Parses and checks a tenant from YAML text (error paths read `<inline>`).
    pub fn from_yaml(text: &str) -> Result<Self, TenantError> {
        let inline = PathBuf::from("<inline>");
        let mut tenant: Tenant =
            serde_yaml::from_str(text).map_err(|error| TenantError::Parse {
                path: inline.clone(),
                error,
            })?;
        if let Some(spec) = tenant.generate {
            crate::directory::expand(&mut tenant, spec);
        }

        let problems = tenant.problems();
        if problems.is_empty() {
            Ok(tenant)
        } else {
            Err(TenantError::Invalid {
                path: inline,
                problems,
            })
        }
    }

    /// The IdP entity id and the issuer of every response: `https://sts.windows.net/{tenant}/`.
    pub fn entity_id(&self) -> String {
        format!("https://sts.windows.net/{}/", self.tenant_id)
    }

    /// The 0-based index of the certificate that signs responses.
    pub fn signing_certificate_index(&self) -> usize {
        usize::from(self.signing_certificate.unwrap_or(1).saturating_sub(1))
    }

    /// Finds a user by user principal name or mail, ignoring ASCII case, like Entra's sign-in.
    pub fn find_user(&self, login: &str) -> Option<&TenantUser> {
        let login = login.trim();
        self.users.iter().find(|user| {
            user.user_principal_name.eq_ignore_ascii_case(login)
                || user.mail.eq_ignore_ascii_case(login)
        })
    }

    /// Lists every value that cannot work, naming its key.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();

        if self.sp_entity_id.trim().is_empty() {
            problems.push("sp_entity_id: must not be empty".to_owned());
        }
        if let Err(error) = url::Url::parse(&self.reply_url) {
            problems.push(format!(
                "reply_url: `{}` is not a URL ({error})",
                self.reply_url
            ));
        }
        if !(1..=2).contains(&self.certificates) {
            problems.push(format!(
                "certificates: expected 1 or 2, got {}",
                self.certificates
            ));
        }
        if let Some(index) = self.signing_certificate
            && (index == 0 || index > self.certificates)
        {
            problems.push(format!(
                "signing_certificate: expected 1..={}, got {index}",
                self.certificates
            ));
        }

        let mut ids = HashSet::new();
        let mut logins: HashMap<String, usize> = HashMap::new();
        for (position, user) in self.users.iter().enumerate() {
            if !ids.insert(user.id) {
                problems.push(format!("users[{position}].id: {} is used twice", user.id));
            }
            for (key, login) in [
                ("user_principal_name", &user.user_principal_name),
                ("mail", &user.mail),
            ] {
                if !login.contains('@') {
                    problems.push(format!("users[{position}].{key}: `{login}` has no `@`"));
                }
                // The UPN and the mail of one user may be equal; across users they must not be.
                let owner = *logins.entry(login.to_ascii_lowercase()).or_insert(position);
                if owner != position {
                    problems.push(format!(
                        "users[{position}].{key}: `{login}` already names another user"
                    ));
                }
            }
        }
        for (position, group) in self.groups.iter().enumerate() {
            if !ids.insert(group.id) {
                problems.push(format!("groups[{position}].id: {} is used twice", group.id));
            }
        }
        for (position, group) in self.groups.iter().enumerate() {
            for (index, member) in group.members.iter().enumerate() {
                if !ids.contains(member) {
                    problems.push(format!(
                        "groups[{position}].members[{index}]: {member} is no user or group"
                    ));
                }
            }
        }
        for (index, id) in self.assignments.iter().flatten().enumerate() {
            if !ids.contains(id) {
                problems.push(format!("assignments[{index}]: {id} is no user or group"));
            }
        }

        problems
    }
}

impl TenantUser {
    /// The display name, or "given_name surname" when none is set.
    pub fn display_name(&self) -> String {
        match &self.display_name {
            Some(name) => name.clone(),
            None => format!("{} {}", self.given_name, self.surname),
        }
    }
}

fn default_certificates() -> u8 {
    1
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
tenant_id: 9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11
app_id: 3f0b8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b
sp_entity_id: http://localhost:8080/saml/acme/metadata
reply_url: http://localhost:8080/saml/acme/acs
users:
  - id: 5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d
    user_principal_name: alice@acme.example
    mail: Alice@acme.example
    given_name: Alice
    surname: Smith
";

    #[test]
    fn defaults_follow_entra() {
        let tenant = Tenant::from_yaml(MINIMAL).unwrap();

        assert_eq!(tenant.signing, SigningOption::Assertion);
        assert_eq!(tenant.signature_algorithm, SignatureAlgorithm::RsaSha256);
        assert_eq!(tenant.certificates, 1);
        assert!(tenant.metadata_bom);
        assert!(tenant.users[0].account_enabled);
        assert_eq!(tenant.users[0].display_name(), "Alice Smith");
        assert_eq!(
            tenant.entity_id(),
            "https://sts.windows.net/9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11/"
        );
    }

    #[test]
    fn users_are_found_by_upn_or_mail_ignoring_case() {
        let tenant = Tenant::from_yaml(MINIMAL).unwrap();

        assert!(tenant.find_user("ALICE@acme.example").is_some());
        assert!(tenant.find_user("alice@ACME.example ").is_some());
        assert!(tenant.find_user("bob@acme.example").is_none());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let text = MINIMAL.replace("    surname: Smith", "    surname: Smith\n    nickname: al");
        let error = Tenant::from_yaml(&text).unwrap_err().to_string();

        assert!(error.contains("nickname"), "{error}");
    }

    #[test]
    fn every_bad_value_is_listed_at_once() {
        let text = format!("{MINIMAL}certificates: 3\nsigning_certificate: 4\n").replace(
            "reply_url: http://localhost:8080/saml/acme/acs",
            "reply_url: acs",
        );
        let error = Tenant::from_yaml(&text).unwrap_err().to_string();

        assert!(error.contains("reply_url"), "{error}");
        assert!(
            error.contains("certificates: expected 1 or 2, got 3"),
            "{error}"
        );
        assert!(error.contains("signing_certificate"), "{error}");
    }

    #[test]
    fn a_login_shared_by_two_users_is_refused() {
        let second = "  - id: 6e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d
    user_principal_name: alice@acme.example
    mail: other@acme.example
    given_name: Al
    surname: Ice
";
        let error = Tenant::from_yaml(&format!("{MINIMAL}{second}"))
            .unwrap_err()
            .to_string();

        assert!(error.contains("users[1].user_principal_name"), "{error}");
    }
}
