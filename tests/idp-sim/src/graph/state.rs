//! The simulator's mutable state: the tenant, change versions for delta queries, issued tokens,
//! fault rules and request counts. Tests drive it through the methods here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::tenant::{AppRoleAssignment, GraphTenant, GraphUser, PrincipalType, guid};

/// A failure the simulator answers instead of the real response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 with an optional `Retry-After` in seconds.
    TooManyRequests {
        /// Seconds to put in `Retry-After`.
        retry_after_secs: Option<u64>,
    },
    /// 503 with an optional `Retry-After` in seconds.
    ServiceUnavailable {
        /// Seconds to put in `Retry-After`.
        retry_after_secs: Option<u64>,
    },
    /// 500.
    InternalServerError,
    /// Answers normally, after a delay (a slow page).
    Delay(Duration),
    /// 200 with this body instead of the real answer (a malformed or looping page).
    Body(serde_json::Value),
}

/// When a fault applies: the next `times` requests whose path contains `path_contains`
/// (any Graph API request when `None`; the token endpoint only when named explicitly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// Substring of the request path, such as `/users` or `/oauth2/`.
    pub path_contains: Option<String>,
    /// What to answer.
    pub fault: Fault,
    /// How many matching requests get it.
    pub times: u32,
}

/// Requests seen, by route (`GET /users`, `GET /users/{id}`, `POST /token`, `POST /$batch`,
/// ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Every HTTP request, faulted ones included; a `$batch` is one.
    pub total: u64,
    /// HTTP requests per route.
    pub by_route: BTreeMap<String, u64>,
    /// Sub-requests of `$batch` requests per route, faulted ones included.
    pub batched: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// The count of HTTP requests to `route`, 0 when never seen.
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// The count of `$batch` sub-requests to `route`, 0 when never seen.
    pub fn batched_route(&self, route: &str) -> u64 {
        self.batched.get(route).copied().unwrap_or(0)
    }
}

/// Kinds of directory object for delta queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    User,
    Group,
}

/// A deleted object, remembered for `@removed` entries.
#[derive(Clone, Debug)]
pub(crate) struct Tombstone {
    pub kind: ObjectKind,
    pub id: String,
    pub version: u64,
}

/// Shared state of one simulated Graph tenant.
#[derive(Debug)]
pub struct GraphState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub tenant: GraphTenant,
    pub version: u64,
    pub versions: HashMap<String, u64>,
    pub tombstones: Vec<Tombstone>,
    pub user_index: HashMap<String, usize>,
    pub group_index: HashMap<String, usize>,
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    expire_tokens_after: Option<u64>,
    faults: Vec<FaultRule>,
    counts: RequestCounts,
    rng: StdRng,
}

impl GraphState {
    /// State serving `tenant`; tokens live an hour.
    pub fn new(tenant: GraphTenant) -> Self {
        let mut inner = Inner {
            tenant,
            version: 1,
            versions: HashMap::new(),
            tombstones: Vec::new(),
            user_index: HashMap::new(),
            group_index: HashMap::new(),
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3599),
            expire_tokens_after: None,
            faults: Vec::new(),
            counts: RequestCounts::default(),
            rng: StdRng::seed_from_u64(7),
        };
        inner.reindex();
        Self {
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the tenant as it is now.
    pub fn tenant(&self) -> GraphTenant {
        self.lock().tenant.clone()
    }

    // ---- observation ----

    /// Requests seen so far.
    pub fn request_counts(&self) -> RequestCounts {
        self.lock().counts.clone()
    }

    /// Forgets the request counts.
    pub fn reset_counts(&self) {
        self.lock().counts = RequestCounts::default();
    }

    /// Number of access tokens issued so far (including expired ones).
    pub fn tokens_issued(&self) -> u64 {
        self.request_counts().route("POST /token")
    }

    // ---- faults and tokens ----

    /// Adds a fault rule; rules are consumed in the order added.
    pub fn push_fault(&self, rule: FaultRule) {
        self.lock().faults.push(rule);
    }

    /// Makes every issued token invalid now (the next Graph call answers 401).
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Makes every issued token invalid after `requests` more Graph API requests: a token that
    /// expires in the middle of a run.
    pub fn expire_tokens_after(&self, requests: u64) {
        self.lock().expire_tokens_after = Some(requests);
    }

    /// Sets the `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    // ---- mutations (each bumps the versions delta queries report) ----

    /// Assigns a user or group to the application.
    pub fn assign(&self, principal_id: &str) {
        let mut inner = self.lock();
        let (principal_type, name) = if let Some(user) = inner.user(principal_id) {
            (
                PrincipalType::User,
                user.display_name.clone().unwrap_or_default(),
            )
        } else if let Some(&index) = inner.group_index.get(principal_id) {
            (
                PrincipalType::Group,
                inner.tenant.groups[index].display_name.clone(),
            )
        } else {
            return;
        };
        let id = guid(&mut inner.rng);
        inner.tenant.assignments.push(AppRoleAssignment {
            id,
            principal_id: principal_id.to_owned(),
            principal_type,
            principal_display_name: name,
            app_role_id: super::tenant::DEFAULT_ACCESS_ROLE.to_owned(),
        });
    }

    /// Removes every assignment of `principal_id`.
    pub fn unassign(&self, principal_id: &str) {
        self.lock()
            .tenant
            .assignments
            .retain(|entry| entry.principal_id != principal_id);
    }

    /// Changes a user's display name.
    pub fn rename_user(&self, user_id: &str, display_name: &str) {
        let mut inner = self.lock();
        if let Some(user) = inner.user_mut(user_id) {
            user.display_name = Some(display_name.to_owned());
            inner.touch(user_id);
        }
    }

    /// Enables or disables a user's account.
    pub fn set_account_enabled(&self, user_id: &str, enabled: bool) {
        let mut inner = self.lock();
        if let Some(user) = inner.user_mut(user_id) {
            user.account_enabled = enabled;
            inner.touch(user_id);
        }
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, user: GraphUser) -> String {
        let mut inner = self.lock();
        let id = user.id.clone();
        inner.tenant.users.push(user);
        inner.reindex();
        inner.touch(&id);
        id
    }

    /// Deletes a user: gone from groups and assignments, reported as `@removed` by delta.
    pub fn delete_user(&self, user_id: &str) {
        let mut inner = self.lock();
        inner.tenant.users.retain(|user| user.id != user_id);
        inner
            .tenant
            .assignments
            .retain(|entry| entry.principal_id != user_id);
        let groups: Vec<String> = inner
            .tenant
            .groups
            .iter()
            .filter(|group| group.members.iter().any(|member| member == user_id))
            .map(|group| group.id.clone())
            .collect();
        for group in &groups {
            inner.remove_member_unchecked(group, user_id);
        }
        inner.version += 1;
        let version = inner.version;
        inner.tombstones.push(Tombstone {
            kind: ObjectKind::User,
            id: user_id.to_owned(),
            version,
        });
        inner.reindex();
    }

    /// Adds a user or group to a group.
    pub fn add_member(&self, group_id: &str, member_id: &str) {
        let mut inner = self.lock();
        if let Some(&index) = inner.group_index.get(group_id) {
            let group = &mut inner.tenant.groups[index];
            if !group.members.iter().any(|member| member == member_id) {
                group.members.push(member_id.to_owned());
            }
            inner.touch(group_id);
        }
    }

    /// Removes a member from a group.
    pub fn remove_member(&self, group_id: &str, member_id: &str) {
        self.lock().remove_member_unchecked(group_id, member_id);
    }
}

impl Inner {
    pub(crate) fn user(&self, id: &str) -> Option<&GraphUser> {
        self.user_index
            .get(id)
            .and_then(|&index| self.tenant.users.get(index))
    }

    fn user_mut(&mut self, id: &str) -> Option<&mut GraphUser> {
        let index = *self.user_index.get(id)?;
        self.tenant.users.get_mut(index)
    }

    pub(crate) fn is_group(&self, id: &str) -> bool {
        self.group_index.contains_key(id)
    }

    /// The version of an object (1 for objects never changed).
    pub(crate) fn version_of(&self, id: &str) -> u64 {
        self.versions.get(id).copied().unwrap_or(1)
    }

    fn touch(&mut self, id: &str) {
        self.version += 1;
        let version = self.version;
        self.versions.insert(id.to_owned(), version);
    }

    fn remove_member_unchecked(&mut self, group_id: &str, member_id: &str) {
        if let Some(&index) = self.group_index.get(group_id) {
            self.tenant.groups[index]
                .members
                .retain(|member| member != member_id);
            self.touch(group_id);
        }
    }

    fn reindex(&mut self) {
        self.user_index = self
            .tenant
            .users
            .iter()
            .enumerate()
            .map(|(i, user)| (user.id.clone(), i))
            .collect();
        self.group_index = self
            .tenant
            .groups
            .iter()
            .enumerate()
            .map(|(i, group)| (group.id.clone(), i))
            .collect();
    }

    pub(crate) fn count(&mut self, route: &str) {
        self.counts.total += 1;
        *self.counts.by_route.entry(route.to_owned()).or_insert(0) += 1;
    }

    pub(crate) fn count_batched(&mut self, route: &str) {
        *self.counts.batched.entry(route.to_owned()).or_insert(0) += 1;
    }

    /// Takes the fault for a request to `path`, if a rule matches.
    pub(crate) fn take_fault(&mut self, path: &str, is_token: bool) -> Option<Fault> {
        let position = self
            .faults
            .iter()
            .position(|rule| match &rule.path_contains {
                Some(fragment) => path.contains(fragment.as_str()),
                None => !is_token,
            })?;
        let rule = &mut self.faults[position];
        let fault = rule.fault.clone();
        rule.times = rule.times.saturating_sub(1);
        if rule.times == 0 {
            self.faults.remove(position);
        }
        Some(fault)
    }

    /// Issues a new access token; returns it with its lifetime in seconds.
    pub(crate) fn issue_token(&mut self) -> (String, u64) {
        let token = format!("simtok.{:032x}", self.rng.r#gen::<u128>());
        let lifetime = self.token_lifetime;
        self.tokens.insert(token.clone(), Instant::now() + lifetime);
        (token, lifetime.as_secs())
    }

    /// Whether `token` is valid now; counts down a pending mid-run expiry.
    pub(crate) fn check_token(&mut self, token: &str) -> bool {
        if let Some(remaining) = self.expire_tokens_after {
            if remaining == 0 {
                self.tokens.clear();
                self.expire_tokens_after = None;
            } else {
                self.expire_tokens_after = Some(remaining - 1);
            }
        }
        self.tokens
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }
}
