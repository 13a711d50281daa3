//! Incremental sync with Graph delta queries (`/users/delta`, `/groups/delta`).
//!
//! A round reads the users delta to its `@odata.deltaLink`, then the groups delta. Cursors and
//! the final token are JSON holding the Graph links, returned verbatim on the next call.
//! Changed users are reported when assigned, and as removed when deleted (`@removed`) or no
//! longer assigned; changed assigned groups come with their full current member list.
//!
//! Known shortcoming: an assignment change alone does not show in Graph's user or group delta,
//! so a user newly assigned without any other change appears at the next full listing.

use provisiond_plugin_api::{AdapterError, DeltaNext, DeltaPage};
use serde::{Deserialize, Serialize};

use crate::EntraAdapter;
use crate::directory::to_adapter_user;
use crate::graph::{items, next_link, required_text};

/// What a delta cursor or token holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum DeltaState {
    /// Between rounds: where each delta continues.
    Token { users: String, groups: String },
    /// Within a round.
    Cursor {
        phase: Phase,
        next: String,
        /// Where the groups phase starts (`None`: from scratch).
        groups_start: Option<String>,
        /// The users deltaLink, once the users phase is done.
        users_link: Option<String>,
        /// First round: nothing to report as removed.
        initial: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Users,
    Groups,
}

/// One page of the delta round; see the module docs.
pub fn delta_page(
    adapter: &mut EntraAdapter,
    token: Option<&str>,
) -> Result<DeltaPage, AdapterError> {
    let graph = adapter.client.config().graph_base_url.clone();
    let state = match token {
        None => None,
        Some(token) => Some(serde_json::from_str::<DeltaState>(token).map_err(|_| {
            AdapterError::InvalidCursor {
                message: "not a delta token of this adapter".into(),
            }
        })?),
    };

    // A new round re-reads the assignments; pages within a round reuse them.
    let (phase, url, groups_start, users_link, initial) = match state {
        None => {
            adapter.reload_assignments()?;
            let url = format!(
                "{graph}/users/delta?$select={}",
                adapter.client.config().user_select()
            );
            (Phase::Users, url, None, None, true)
        }
        Some(DeltaState::Token { users, groups }) => {
            adapter.reload_assignments()?;
            (Phase::Users, users, Some(groups), None, false)
        }
        Some(DeltaState::Cursor {
            phase,
            next,
            groups_start,
            users_link,
            initial,
        }) => {
            adapter.assignments()?;
            (phase, next, groups_start, users_link, initial)
        }
    };

    let page = adapter.client.get(&url, "delta")?;
    let extra = adapter.client.config().extra_user_attributes.clone();
    // Borrowed, not cloned: a large tenant has an assignment per user.
    let assignments = adapter.assignments()?;
    let mut result = DeltaPage {
        users: Vec::new(),
        removed_users: Vec::new(),
        groups: Vec::new(),
        removed_groups: Vec::new(),
        next: DeltaNext::Complete {
            delta_token: String::new(),
        },
    };

    for item in items(&page, "delta")? {
        let id = required_text(item, "id", "delta")?;
        let removed = item.get("@removed").is_some();
        match phase {
            Phase::Users if removed || !assignments.users.contains(&id) => {
                if !initial {
                    result.removed_users.push(id);
                }
            }
            Phase::Users => result.users.extend(to_adapter_user(item, &extra)),
            Phase::Groups if removed => {
                if !initial {
                    result.removed_groups.push(id);
                }
            }
            Phase::Groups => result.groups.extend(assignments.groups.get(&id).cloned()),
        }
    }

    let delta_link = page
        .get("@odata.deltaLink")
        .and_then(|link| link.as_str())
        .map(str::to_owned);
    let next_state = match (next_link(&page), delta_link, phase) {
        (Some(next), _, phase) => DeltaState::Cursor {
            phase,
            next,
            groups_start,
            users_link,
            initial,
        },
        (None, Some(link), Phase::Users) => DeltaState::Cursor {
            phase: Phase::Groups,
            next: groups_start
                .clone()
                .unwrap_or_else(|| format!("{graph}/groups/delta?$select=id,displayName,members")),
            groups_start,
            users_link: Some(link),
            initial,
        },
        (None, Some(link), Phase::Groups) => {
            let users = users_link
                .ok_or_else(|| AdapterError::internal("groups delta finished before users"))?;
            DeltaState::Token {
                users,
                groups: link,
            }
        }
        (None, None, _) => {
            return Err(AdapterError::remote(
                None,
                "delta page has neither nextLink nor deltaLink",
            ));
        }
    };

    let encoded = serde_json::to_string(&next_state)
        .map_err(|err| AdapterError::internal(format!("cannot encode delta state: {err}")))?;
    result.next = match next_state {
        DeltaState::Token { .. } => DeltaNext::Complete {
            delta_token: encoded,
        },
        DeltaState::Cursor { .. } => DeltaNext::More { cursor: encoded },
    };
    Ok(result)
}
