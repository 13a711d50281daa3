//! Shared fixtures: a simulated tenant, a connection that trusts it, a store, a fixed clock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use idp_sim::{IdpKeys, ResponseSpec, Simulator, Tenant, TenantUser};
use provisiond::config::{self, Config};
use provisiond::saml::{Providers, ServiceProvider};
use provisiond::session::SessionKeys;
use provisiond::store::{Store, StoreError, Tx};

/// The fixed "now" of library-level tests.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap()
}

pub use provisiond::testing::TempDir;

pub fn tenant_yaml(base_url: &str, certificates: u8) -> String {
    format!(
        r#"
tenant_id: 9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11
app_id: 3f0b8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b
sp_entity_id: {base_url}/saml/acme/metadata
reply_url: {base_url}/saml/acme/acs
certificates: {certificates}
users:
  - id: 5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d
    user_principal_name: alice@acme.example
    mail: alice@acme.example
    given_name: Alice
    surname: Smith
    display_name: Alice Smith
  - id: 0b6d2a4e-8c1f-4e7a-9b3d-5f2c6e8a1d40
    user_principal_name: bob@acme.example
    mail: bob@acme.example
    given_name: Bob
    surname: Jones
  - id: 7d1e0f3a-5b6c-4d8e-9f0a-1b2c3d4e5f60
    user_principal_name: eve@elsewhere.example
    mail: eve@elsewhere.example
    given_name: Eve
    surname: Outside
"#
    )
}

/// A tenant, its keys, and a provisiond configured (by hand-entered values) to trust it.
pub struct Fixture {
    pub _dir: TempDir,
    pub tenant: Tenant,
    pub keys: IdpKeys,
    pub config: Arc<Config>,
    pub store: Store,
    pub providers: Providers,
    pub session_keys: SessionKeys,
}

pub const BASE_URL: &str = "http://sp.test";

impl Fixture {
    pub fn new(allow_idp_initiated: bool) -> Self {
        let dir = TempDir::new("fixture");
        let tenant = Tenant::from_yaml(&tenant_yaml(BASE_URL, 1)).unwrap();
        let keys = IdpKeys::generate(1).unwrap();
        let simulator = Simulator::new(tenant.clone(), keys.clone()).unwrap();
        let yaml = format!(
            r#"
server:
  base_url: {BASE_URL}
  session_key: "test-session-key-0123456789abcdef"
database:
  url: "{database}"
connections:
  - name: acme
    domains: [acme.example]
    saml:
      idp_entity_id: "{entity}"
      sso_url: "{BASE_URL}/idp/saml2"
      certificates: ["{cert}"]
      allow_idp_initiated: {allow_idp_initiated}
"#,
            database = provisiond::testing::fresh_database_url(&dir.0),
            entity = simulator.entity_id(),
            cert = keys.key(0).cert_base64(),
        );
        let path = dir.0.join("provisiond.yaml");
        std::fs::write(&path, yaml).unwrap();
        let config = Arc::new(config::load(&path).unwrap());
        let store = Store::open(&config.database).unwrap();
        let providers = Providers::from_config(&config);
        let session_keys = SessionKeys::new(config.server.session_key.clone());
        Self {
            _dir: dir,
            tenant,
            keys,
            config,
            store,
            providers,
            session_keys,
        }
    }

    pub fn sp(&self) -> Arc<ServiceProvider> {
        self.providers.get("acme").unwrap()
    }

    pub fn user(&self, mail: &str) -> &TenantUser {
        self.tenant.users.iter().find(|u| u.mail == mail).unwrap()
    }

    /// A spec for a valid, solicited response for `mail`, answering a freshly issued request.
    pub fn solicited(&self, mail: &str) -> ResponseSpec {
        let request = provisiond::saml::login::start_login(
            &self.sp(),
            &self.config.server,
            None,
            None,
            fixed_now(),
        )
        .unwrap();
        ResponseSpec::for_user(
            &self.tenant,
            self.user(mail),
            Some(&request.id),
            fixed_now(),
        )
    }

    pub fn sign(&self, spec: &ResponseSpec) -> String {
        idp_sim::build_signed_response(spec, self.keys.key(0)).unwrap()
    }

    /// Posts an XML response to the ACS logic with the fixed clock.
    pub fn post(
        &self,
        xml: &str,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        self.post_at(xml, fixed_now())
    }

    pub fn post_at(
        &self,
        xml: &str,
        now: DateTime<Utc>,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
        self.post_form(Some(&encoded), now)
    }

    /// Posts the ACS form fields as they arrived (`SAMLResponse` possibly missing).
    pub fn post_form(
        &self,
        saml_response: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        self.post_fields(saml_response, None, now)
    }

    /// Posts a response with the RelayState the IdP sent back.
    pub fn post_with_relay(
        &self,
        xml: &str,
        relay_state: &str,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
        self.post_fields(Some(&encoded), Some(relay_state), fixed_now())
    }

    fn post_fields(
        &self,
        saml_response: Option<&str>,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        provisiond::saml::login::complete_login(
            &self.store,
            &self.sp(),
            self.config.connection("acme").unwrap(),
            &self.config.server,
            &self.session_keys,
            saml_response,
            relay_state,
            now,
        )
    }
}

/// Runs `first` in a write transaction that stays open half a second after it returns, and
/// `second` on this thread as soon as `first` has written; checks that `second` finished only
/// after that transaction committed, and gives back its outcome.
pub fn while_a_write_is_open<T>(
    store: &provisiond::store::Store,
    mut first: impl FnMut(&mut Tx<'_>) -> Result<(), StoreError> + Send,
    second: impl FnOnce() -> T,
) -> T {
    use std::sync::mpsc;
    use std::time::Duration;

    let (written, first_wrote) = mpsc::channel();
    let (finished, second_finished) = mpsc::channel();
    std::thread::scope(|threads| {
        let holder = threads.spawn(move || {
            store
                .write(|tx| {
                    first(tx)?;
                    written.send(()).unwrap();
                    // Held open while the second write starts: it cannot finish before this
                    // one commits.
                    let held = second_finished.recv_timeout(Duration::from_millis(500));
                    assert!(held.is_err(), "the second write did not wait for the first");
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        });
        first_wrote.recv().unwrap();
        let outcome = second();
        let _ = finished.send(());
        holder.join().unwrap();
        outcome
    })
}
