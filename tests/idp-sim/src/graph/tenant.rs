//! The directory the Graph simulator serves: users, groups, app role assignments and the
//! application's credentials, plus a deterministic generator for tenants of any size.

use std::collections::{BTreeSet, HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A user object with the Graph v1.0 fields the simulator serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphUser {
    /// Object id.
    pub id: String,
    /// `userPrincipalName`.
    pub user_principal_name: String,
    /// `mail`, absent for some users.
    pub mail: Option<String>,
    /// `givenName`.
    pub given_name: Option<String>,
    /// `surname`.
    pub surname: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// `department`.
    pub department: Option<String>,
    /// `jobTitle`.
    pub job_title: Option<String>,
}

/// A security group; `members` holds user and group ids (groups nest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphGroup {
    /// Object id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// Direct member ids, users or groups.
    pub members: Vec<String>,
}

/// What kind of principal an app role assignment names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    /// A user.
    User,
    /// A group.
    Group,
    /// Another application.
    ServicePrincipal,
}

/// An entry of `servicePrincipals/{id}/appRoleAssignedTo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRoleAssignment {
    /// Assignment id.
    pub id: String,
    /// The assigned user, group or service principal.
    pub principal_id: String,
    /// Its kind.
    pub principal_type: PrincipalType,
    /// Its display name.
    pub principal_display_name: String,
    /// The app role; all zeros is "default access".
    pub app_role_id: String,
}

/// One simulated tenant with one enterprise application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphTenant {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// The client id allowed at the token endpoint.
    pub client_id: String,
    /// The matching client secret.
    pub client_secret: String,
    /// The application's app id (what the adapter config names).
    pub app_id: String,
    /// The object id of the application's service principal.
    pub service_principal_id: String,
    /// All users of the tenant.
    pub users: Vec<GraphUser>,
    /// All groups of the tenant.
    pub groups: Vec<GraphGroup>,
    /// Users, groups and service principals assigned to the application.
    pub assignments: Vec<AppRoleAssignment>,
}

/// The default-access app role id.
pub const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

const GIVEN_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
];
const SURNAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance", "Support", "Research"];

impl GraphTenant {
    /// A tenant with `users` users, `groups` groups and about `memberships` user-in-group
    /// memberships, always the same for the same arguments.
    ///
    /// Assignment rules, so tests can reason about them: groups with an even index are
    /// assigned, users whose index is a multiple of 5 are assigned directly, and one service
    /// principal is assigned (adapters must ignore it). With 2 or more groups, group 1
    /// (unassigned) is nested in group 0 (assigned). Every tenth user has no `mail`; every
    /// 25th is disabled.
    pub fn generate(users: usize, groups: usize, memberships: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let tenant_id = guid(&mut rng);
        let client_id = guid(&mut rng);
        let client_secret = format!("sim~{:032x}", rng.r#gen::<u128>());
        let app_id = guid(&mut rng);
        let service_principal_id = guid(&mut rng);

        let users: Vec<GraphUser> = (0..users)
            .map(|index| generate_user(&mut rng, index))
            .collect();
        let mut groups: Vec<GraphGroup> = (0..groups)
            .map(|index| GraphGroup {
                id: guid(&mut rng),
                display_name: format!("{} {index:04}", DEPARTMENTS[index % DEPARTMENTS.len()]),
                members: Vec::new(),
            })
            .collect();

        // Random memberships, without duplicates; a bounded number of tries keeps tiny
        // tenants from looping forever.
        let mut seen = HashSet::new();
        let mut tries = 0;
        while seen.len() < memberships && tries < memberships.saturating_mul(4) && !users.is_empty()
        {
            tries += 1;
            let (group, user) = (
                rng.gen_range(0..groups.len().max(1)),
                rng.gen_range(0..users.len()),
            );
            if let Some(target) = groups.get_mut(group)
                && seen.insert((group, user))
            {
                target.members.push(users[user].id.clone());
            }
        }
        if groups.len() >= 2 {
            let nested = groups[1].id.clone();
            groups[0].members.push(nested);
        }

        let mut assignments = Vec::new();
        for group in groups.iter().step_by(2) {
            assignments.push(assignment(
                &mut rng,
                &group.id,
                PrincipalType::Group,
                &group.display_name,
            ));
        }
        for user in users.iter().step_by(5) {
            let name = user.display_name.clone().unwrap_or_default();
            assignments.push(assignment(&mut rng, &user.id, PrincipalType::User, &name));
        }
        let robot = guid(&mut rng);
        assignments.push(assignment(
            &mut rng,
            &robot,
            PrincipalType::ServicePrincipal,
            "robot",
        ));

        Self {
            tenant_id,
            client_id,
            client_secret,
            app_id,
            service_principal_id,
            users,
            groups,
            assignments,
        }
    }

    /// Assigns every user directly who is not yet: a tenant where everyone uses the app.
    pub fn assign_all_users(&mut self) {
        let direct: HashSet<String> = self
            .assignments
            .iter()
            .filter(|entry| entry.principal_type == PrincipalType::User)
            .map(|entry| entry.principal_id.clone())
            .collect();
        let mut rng = StdRng::seed_from_u64(self.users.len() as u64);
        let missing: Vec<(String, String)> = self
            .users
            .iter()
            .filter(|user| !direct.contains(&user.id))
            .map(|user| {
                (
                    user.id.clone(),
                    user.display_name.clone().unwrap_or_default(),
                )
            })
            .collect();
        for (id, name) in missing {
            let entry = assignment(&mut rng, &id, PrincipalType::User, &name);
            self.assignments.push(entry);
        }
    }

    /// Ids of users assigned directly or through an assigned group (direct members only, or
    /// members of nested groups too when `transitive`): what an adapter must return.
    pub fn assigned_user_ids(&self, transitive: bool) -> BTreeSet<String> {
        let mut assigned = BTreeSet::new();
        let users: HashSet<&str> = self.users.iter().map(|user| user.id.as_str()).collect();
        for entry in &self.assignments {
            match entry.principal_type {
                PrincipalType::User if users.contains(entry.principal_id.as_str()) => {
                    assigned.insert(entry.principal_id.clone());
                }
                PrincipalType::Group => {
                    assigned.extend(self.user_members(&entry.principal_id, transitive));
                }
                _ => {}
            }
        }
        assigned
    }

    /// Assigned groups with their user member ids (direct, or transitive when asked).
    pub fn assigned_groups(&self, transitive: bool) -> Vec<(String, String, BTreeSet<String>)> {
        let groups = self.group_index();
        self.assignments
            .iter()
            .filter(|entry| entry.principal_type == PrincipalType::Group)
            .filter_map(|entry| groups.get(entry.principal_id.as_str()))
            .map(|group| {
                let members = self.user_members(&group.id, transitive);
                (group.id.clone(), group.display_name.clone(), members)
            })
            .collect()
    }

    /// User ids in group `group_id`, following nested groups when `transitive`.
    pub fn user_members(&self, group_id: &str, transitive: bool) -> BTreeSet<String> {
        self.members(group_id, transitive)
            .into_iter()
            .filter(|id| self.users.iter().any(|user| &user.id == id))
            .collect()
    }

    /// Member ids (users and groups) of `group_id`, following nesting when `transitive`.
    pub fn members(&self, group_id: &str, transitive: bool) -> Vec<String> {
        let groups = self.group_index();
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = vec![group_id.to_owned()];
        while let Some(current) = queue.pop() {
            let Some(group) = groups.get(current.as_str()) else {
                continue;
            };
            for member in &group.members {
                if !seen.insert(member.clone()) {
                    continue;
                }
                found.push(member.clone());
                if transitive && groups.contains_key(member.as_str()) {
                    queue.push(member.clone());
                }
            }
        }
        found
    }

    fn group_index(&self) -> HashMap<&str, &GraphGroup> {
        self.groups
            .iter()
            .map(|group| (group.id.as_str(), group))
            .collect()
    }
}

fn generate_user(rng: &mut StdRng, index: usize) -> GraphUser {
    let given = GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())];
    let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    let upn = format!("user{index:06}@contoso.test");
    GraphUser {
        id: guid(rng),
        mail: (index % 10 != 9).then(|| upn.clone()),
        user_principal_name: upn,
        given_name: Some(given.to_owned()),
        surname: Some(surname.to_owned()),
        display_name: Some(format!("{given} {surname}")),
        account_enabled: index % 25 != 24,
        department: Some(DEPARTMENTS[index % DEPARTMENTS.len()].to_owned()),
        job_title: Some("Engineer".to_owned()),
    }
}

fn assignment(
    rng: &mut StdRng,
    principal_id: &str,
    principal_type: PrincipalType,
    name: &str,
) -> AppRoleAssignment {
    AppRoleAssignment {
        id: guid(rng),
        principal_id: principal_id.to_owned(),
        principal_type,
        principal_display_name: name.to_owned(),
        app_role_id: DEFAULT_ACCESS_ROLE.to_owned(),
    }
}

/// A random but seed-determined GUID in the usual 8-4-4-4-12 form.
pub(crate) fn guid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.r#gen();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
