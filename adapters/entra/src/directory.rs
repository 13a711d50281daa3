//! Who is assigned to the application: the service principal's app role assignments, expanded
//! through group membership; and the mapping of Graph users to [`AdapterUser`].
//!
//! Cost: one request for the service principal, one per 999 assignments, and one `$batch` per
//! 20 assigned groups (a group with more than 999 members adds a sub-request per further
//! page). Users are then read in pages of 999 and filtered here, never fetched one by one
//! (Graph throttling budgets make per-user requests unaffordable).

use std::collections::{BTreeMap, HashSet};

use provisiond_plugin_api::{AdapterError, AdapterGroup, AdapterUser};
use serde_json::{Map, Value};

use crate::batch;
use crate::graph::{GraphClient, LinkTrail, items, next_link, required_text, text};

/// The assignment state at one moment.
#[derive(Debug, Clone)]
pub struct Assignments {
    /// When it was read, by the host clock.
    pub loaded_at_millis: i64,
    /// Every assigned user id: direct, or through an assigned group.
    pub users: HashSet<String>,
    /// Assigned groups with their user member ids, by group id.
    pub groups: BTreeMap<String, AdapterGroup>,
}

impl Assignments {
    /// Reads the assignments of the configured application.
    pub fn load(client: &mut GraphClient) -> Result<Self, AdapterError> {
        let graph = client.config().graph_base_url.clone();
        let app_id = client.config().app_id.clone();

        // The service principal of the application (Graph: servicePrincipals by appId).
        let url = format!("{graph}/servicePrincipals(appId='{app_id}')?$select=id");
        let principal = client
            .get(&url, "the service principal")
            .map_err(|err| match err {
                AdapterError::Remote {
                    status: Some(404), ..
                } => AdapterError::remote(
                    Some(404),
                    format!("no service principal for app_id {app_id}: check app_id"),
                ),
                other => other,
            })?;
        let principal_id = text(&principal, "id")
            .ok_or_else(|| AdapterError::remote(None, "service principal without an id"))?;

        // Direct assignments: users and groups (service principals are ignored).
        let mut users = HashSet::new();
        let mut group_names = BTreeMap::new();
        let mut next = Some(format!(
            "{graph}/servicePrincipals/{principal_id}/appRoleAssignedTo\
             ?$select=principalId,principalType,principalDisplayName&$top=999"
        ));
        let what = "app role assignments";
        let mut trail = LinkTrail::default();
        while let Some(url) = next {
            let page = client.get(&url, what)?;
            for item in items(&page, what)? {
                let id = required_text(item, "principalId", what)?;
                let kind = required_text(item, "principalType", what)?;
                match kind.as_str() {
                    "User" => {
                        users.insert(id);
                    }
                    "Group" => {
                        let name = text(item, "principalDisplayName").unwrap_or_default();
                        group_names.insert(id, name);
                    }
                    _ => {}
                }
            }
            next = next_link(&page);
            if let Some(link) = &next {
                trail.follow(link, what)?;
            }
        }

        // Members of each assigned group (direct, per Entra's assignment semantics, unless
        // transitive expansion is configured).
        let relation = if client.config().transitive_groups {
            "transitiveMembers"
        } else {
            "members"
        };
        let groups = group_members(client, &graph, group_names, relation)?;
        for group in groups.values() {
            users.extend(group.members.iter().cloned());
        }

        let loaded_at_millis = client.host().now_unix_millis();
        client.host().debug(&format!(
            "assignments: {} users (direct or by group), {} groups",
            users.len(),
            groups.len()
        ));
        Ok(Self {
            loaded_at_millis,
            users,
            groups,
        })
    }
}

/// The user members of every group in `names`, read through `$batch`: one sub-request per
/// group and per further page of 999 members.
fn group_members(
    client: &mut GraphClient,
    graph: &str,
    names: BTreeMap<String, String>,
    relation: &str,
) -> Result<BTreeMap<String, AdapterGroup>, AdapterError> {
    let urls: Vec<(String, String)> = names
        .keys()
        .map(|id| {
            let url = format!("{graph}/groups/{id}/{relation}?$select=id&$top=999");
            (id.clone(), url)
        })
        .collect();
    let mut groups: BTreeMap<String, AdapterGroup> = names
        .into_iter()
        .map(|(id, display_name)| {
            let group = AdapterGroup {
                id: id.clone(),
                display_name,
                members: Vec::new(),
            };
            (id, group)
        })
        .collect();

    let what = "group members";
    batch::get_pages(client, urls, what, |id, page| {
        let Some(group) = groups.get_mut(id) else {
            return Ok(());
        };
        for item in items(page, what)? {
            let member = required_text(item, "id", what)?;
            if item.get("@odata.type").and_then(Value::as_str) == Some("#microsoft.graph.user") {
                group.members.push(member);
            }
        }
        Ok(())
    })?;

    for group in groups.values_mut() {
        group.members.sort();
        group.members.dedup();
    }
    Ok(groups)
}

/// Maps a Graph user object to an [`AdapterUser`], passing `extra` attributes through.
pub fn to_adapter_user(item: &Value, extra: &[String]) -> Option<AdapterUser> {
    let external_id = text(item, "id")?;
    let mut extra_values = Map::new();
    for name in extra {
        if let Some(value) = item.get(name).filter(|value| !value.is_null()) {
            extra_values.insert(name.clone(), value.clone());
        }
    }
    Some(AdapterUser {
        user_name: text(item, "userPrincipalName").unwrap_or_else(|| external_id.clone()),
        external_id,
        email: text(item, "mail"),
        given_name: text(item, "givenName"),
        family_name: text(item, "surname"),
        display_name: text(item, "displayName"),
        active: item
            .get("accountEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        extra: extra_values,
    })
}
