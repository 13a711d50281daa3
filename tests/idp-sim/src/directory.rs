//! Joins the SAML tenant and the Graph directory: the people who sign in are the people Graph
//! lists, with the same object ids.

use std::collections::HashMap;

use uuid::Uuid;

use crate::graph::{
    AppRoleAssignment, DEFAULT_ACCESS_ROLE, GraphGroup, GraphTenant, GraphUser, PrincipalType,
};
use crate::tenant::{GenerateSpec, Tenant, TenantGroup, TenantUser};

/// The client secret when the tenant file names none.
pub const DEFAULT_CLIENT_SECRET: &str = "idp-sim-secret";

impl Tenant {
    /// The Graph directory of this tenant: its users, groups and assignments, and the
    /// application's credentials.
    pub fn directory(&self) -> GraphTenant {
        let users: Vec<GraphUser> = self
            .users
            .iter()
            .map(|user| GraphUser {
                id: user.id.to_string(),
                user_principal_name: user.user_principal_name.clone(),
                mail: Some(user.mail.clone()),
                given_name: Some(user.given_name.clone()),
                surname: Some(user.surname.clone()),
                display_name: Some(user.display_name()),
                account_enabled: user.account_enabled,
                department: None,
                job_title: None,
            })
            .collect();
        let groups: Vec<GraphGroup> = self
            .groups
            .iter()
            .map(|group| GraphGroup {
                id: group.id.to_string(),
                display_name: group.display_name.clone(),
                members: group.members.iter().map(Uuid::to_string).collect(),
            })
            .collect();
        let assigned: Vec<Uuid> = match &self.assignments {
            Some(ids) => ids.clone(),
            None => self.users.iter().map(|user| user.id).collect(),
        };
        let users_by_id: HashMap<Uuid, &TenantUser> =
            self.users.iter().map(|user| (user.id, user)).collect();
        let groups_by_id: HashMap<Uuid, &TenantGroup> =
            self.groups.iter().map(|group| (group.id, group)).collect();
        let assignments = assigned
            .iter()
            .enumerate()
            .filter_map(|(index, id)| {
                let (principal_type, name) = if let Some(user) = users_by_id.get(id) {
                    (PrincipalType::User, user.display_name())
                } else {
                    let group = groups_by_id.get(id)?;
                    (PrincipalType::Group, group.display_name.clone())
                };
                Some(AppRoleAssignment {
                    id: Uuid::from_u128(self.app_id.as_u128() ^ (index as u128 + 1)).to_string(),
                    principal_id: id.to_string(),
                    principal_type,
                    principal_display_name: name,
                    app_role_id: DEFAULT_ACCESS_ROLE.to_owned(),
                })
            })
            .collect();
        GraphTenant {
            tenant_id: self.tenant_id.to_string(),
            client_id: self.client_id.unwrap_or(self.app_id).to_string(),
            client_secret: self
                .client_secret
                .clone()
                .unwrap_or_else(|| DEFAULT_CLIENT_SECRET.to_owned()),
            app_id: self.app_id.to_string(),
            service_principal_id: self
                .service_principal_id
                .unwrap_or_else(|| Uuid::from_u128(!self.app_id.as_u128()))
                .to_string(),
            users,
            groups,
            assignments,
        }
    }
}

/// Adds a generated directory to `tenant`: users (who can sign in too), groups and assignments.
pub fn expand(tenant: &mut Tenant, spec: GenerateSpec) {
    let mut generated = GraphTenant::generate(spec.users, spec.groups, spec.memberships, spec.seed);
    if spec.assign_all_users {
        generated.assign_all_users();
    }
    let parse = |id: &str| Uuid::parse_str(id).ok();
    let explicit = tenant.assignments.take();
    let everyone = explicit.is_none();

    tenant
        .users
        .extend(generated.users.iter().filter_map(|user| {
            Some(TenantUser {
                id: parse(&user.id)?,
                mail: user
                    .mail
                    .clone()
                    .unwrap_or_else(|| user.user_principal_name.clone()),
                user_principal_name: user.user_principal_name.clone(),
                given_name: user.given_name.clone().unwrap_or_default(),
                surname: user.surname.clone().unwrap_or_default(),
                display_name: user.display_name.clone(),
                account_enabled: user.account_enabled,
            })
        }));
    tenant
        .groups
        .extend(generated.groups.iter().filter_map(|group| {
            Some(TenantGroup {
                id: parse(&group.id)?,
                display_name: group.display_name.clone(),
                members: group
                    .members
                    .iter()
                    .filter_map(|member| parse(member))
                    .collect(),
            })
        }));

    // Explicit assignments (or every explicit user) plus the generated ones.
    let mut assigned = explicit.unwrap_or_default();
    if everyone {
        let generated_count = generated.users.len();
        let explicit_users = tenant.users.len() - generated_count.min(tenant.users.len());
        assigned.extend(tenant.users[..explicit_users].iter().map(|user| user.id));
    }
    assigned.extend(
        generated
            .assignments
            .iter()
            .filter(|entry| entry.principal_type != PrincipalType::ServicePrincipal)
            .filter_map(|entry| parse(&entry.principal_id)),
    );
    tenant.assignments = Some(assigned);
}
