//! Planning a listing's groups: creates, renames, memberships and deletions, once the users
//! are planned (memberships name users by their place in the plan).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use provisiond_plugin_api::AdapterGroup;

use super::{
    CurrentState, GroupCreate, GroupDelete, GroupRef, GroupUpdate, MemberAdd, MemberRemove,
    ObjectKind, ReconcilePlan, RejectReason, Rejection, UserIndex, UserRef,
};
use crate::store::Group;

/// Plans the groups of a listing: `listed` ones are created or updated with their members,
/// `removed` ones (a delta) and, with `delete_unlisted`, stored ones missing from a complete
/// listing are deleted.
pub(super) fn plan_groups(
    current: &CurrentState,
    users: &UserIndex<'_>,
    listed: &[AdapterGroup],
    removed: &[String],
    delete_unlisted: bool,
    rejected: &[Rejection],
    out: &mut ReconcilePlan,
) {
    let by_external_id: HashMap<&str, &Group> = current
        .groups
        .iter()
        .filter_map(|group| group.external_id.as_deref().map(|id| (id, group)))
        .collect();
    let mut members: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (group, user) in &current.memberships {
        members.entry(group).or_default().insert(user);
    }
    let user_email: HashMap<&str, &str> = current
        .users
        .iter()
        .map(|user| (user.id.as_str(), user.email.as_str()))
        .collect();

    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<&AdapterGroup> = Vec::new();
    let mut times: Vec<usize> = Vec::new();
    for group in listed {
        match seen.get(group.id.as_str()) {
            Some(&at) => {
                unique[at] = group;
                times[at] += 1;
            }
            None => {
                seen.insert(&group.id, unique.len());
                unique.push(group);
                times.push(1);
            }
        }
    }
    for (group, times) in unique.iter().zip(times) {
        if times > 1 {
            out.rejected
                .push(Rejection::group(group, RejectReason::Listed { times }));
        }
    }

    let empty = HashSet::new();
    for group in unique {
        let (group_ref, before) = match by_external_id.get(group.id.as_str()) {
            Some(stored) => {
                if stored.display_name != group.display_name || stored.deleted_at.is_some() {
                    out.update_groups.push(GroupUpdate {
                        group_id: stored.id.clone(),
                        previous_name: stored.display_name.clone(),
                        display_name: group.display_name.clone(),
                    });
                }
                let before = match stored.deleted_at {
                    Some(_) => &empty,
                    None => members.get(stored.id.as_str()).unwrap_or(&empty),
                };
                (GroupRef::Existing(stored.id.clone()), before)
            }
            None => {
                out.create_groups.push(GroupCreate {
                    external_id: group.id.clone(),
                    display_name: group.display_name.clone(),
                });
                (GroupRef::New(group.id.clone()), &empty)
            }
        };

        let mut wanted: HashSet<&str> = HashSet::new();
        for member in &group.members {
            let Some((user_ref, email)) = users.refs.get(member) else {
                out.unknown_members += 1;
                continue;
            };
            let label = format!("{} += {email}", group.display_name);
            match user_ref {
                UserRef::Existing(id) => {
                    if wanted.insert(id) && !before.contains(id.as_str()) {
                        out.add_members.push(MemberAdd {
                            group: group_ref.clone(),
                            user: user_ref.clone(),
                            label,
                        });
                    }
                }
                UserRef::New(external_id) => {
                    if wanted.insert(external_id) {
                        out.add_members.push(MemberAdd {
                            group: group_ref.clone(),
                            user: user_ref.clone(),
                            label,
                        });
                    }
                }
            }
        }
        if let GroupRef::Existing(group_id) = &group_ref {
            let mut gone: Vec<&str> = before
                .iter()
                .copied()
                .filter(|user| !wanted.contains(user))
                .collect();
            gone.sort_unstable();
            for user_id in gone {
                let email = user_email.get(user_id).copied().unwrap_or(user_id);
                out.remove_members.push(MemberRemove {
                    group_id: group_id.clone(),
                    user_id: user_id.to_owned(),
                    label: format!("{} -= {email}", group.display_name),
                });
            }
        }
    }

    let listed_ids: HashSet<&str> = seen.keys().copied().collect();
    let mut delete = |group: &Group| {
        if group.deleted_at.is_none() {
            out.delete_groups.push(GroupDelete {
                group_id: group.id.clone(),
                display_name: group.display_name.clone(),
            });
        }
    };
    if delete_unlisted {
        // A group listed but rejected is still listed: it is not deleted (see the module
        // docs). A delta says itself what became of such a group.
        let rejected_ids: HashSet<&str> = rejected
            .iter()
            .filter(|rejection| rejection.kind == ObjectKind::Group)
            .map(|rejection| rejection.id.as_str())
            .collect();
        for group in &current.groups {
            if group
                .external_id
                .as_deref()
                .is_some_and(|id| !listed_ids.contains(id) && !rejected_ids.contains(id))
            {
                delete(group);
            }
        }
    }
    for id in removed {
        if !listed_ids.contains(id.as_str())
            && let Some(group) = by_external_id.get(id.as_str())
        {
            delete(group);
        }
    }
}
