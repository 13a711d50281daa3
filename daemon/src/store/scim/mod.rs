//! SCIM's view of users and groups: the stored resource JSON beside the columns the rest of
//! provisiond reads, lookups by indexed keys, and paging.
//!
//! The SCIM domain layer decides what the columns hold (which email, which key); this module
//! only reads and writes them, in the caller's transaction. A user SCIM deleted keeps its row
//! (`scim_deleted_at` set, inactive) and is left out of every "visible" query here.
//!
//! Cost of the queries: lookups by id, userName key, SCIM externalId and email key use
//! indexes; [`Tx::scim_users_page`] and [`Tx::scim_groups_page`] read one page in creation
//! order; [`Tx::scim_users_all`] and [`Tx::scim_groups_all`] load a connection's every
//! visible resource and are only for filters no index answers.

mod groups;
mod users;

pub use groups::{GroupKey, ScimGroupColumns, ScimGroupRow};
pub use users::{ScimUserColumns, ScimUserRow, UserKey};

/// A member of a group as a SCIM response shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The group.
    pub group_id: String,
    /// The member user's id.
    pub user_id: String,
}

/// A group a user belongs to, as the user's read-only `groups` attribute shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    /// The member user's id.
    pub user_id: String,
    /// The group.
    pub group_id: String,
    /// The group's display name.
    pub group_display_name: String,
}

/// Whether a lookup includes resources SCIM deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only resources SCIM can see.
    Visible,
    /// Deleted ones too (to restore a deleted account on a new POST).
    IncludingDeleted,
}

impl Visibility {
    fn admits(self, row: &ScimUserRow) -> bool {
        self == Visibility::IncludingDeleted || row.deleted_at.is_none()
    }
}
