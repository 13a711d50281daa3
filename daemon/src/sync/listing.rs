//! What one listing from an adapter may be: the checks every listed user and group passes
//! before a run uses it, and the guards that stop a listing which loops or outgrows its bound.
//!
//! A listed object that fails a check is skipped and reported as a [`Rejection`]; the run
//! goes on with the rest. An address must pass the rules a sign-in applies
//! ([`looks_like_email`] and [`ConnectionConfig::owns_email`]), so that sync never stores an
//! account a sign-in to the same connection would refuse. Values are checked for NUL
//! characters here, once, because PostgreSQL cannot store them and SQLite could: both
//! backends then see the same objects.
//!
//! A listing whose adapter hands back a next-page cursor it already returned, or which
//! holds more users, groups and memberships than the connection's `max_listing_items`,
//! fails the run before it holds anything more.

use std::fmt;

use foldhash::HashSet;
use provisiond_plugin_api::{AdapterGroup, AdapterUser};
use sha2::{Digest, Sha256};

use super::SyncError;
use super::plan::desired_email;
use crate::config::{ConnectionConfig, DEFAULT_MAX_LISTING_ITEMS};
use crate::saml::claims::looks_like_email;
use crate::store::MAX_KEY_BYTES;

/// The rules one connection's listings are read under.
#[derive(Debug, Clone, Copy)]
pub struct ListingRules<'a> {
    /// The connection: its name for messages, its domains for addresses.
    pub connection: &'a ConnectionConfig,
    /// Most users, groups and memberships one listing may hold.
    pub max_items: u64,
}

impl<'a> ListingRules<'a> {
    /// The rules of `connection`, with its `sync.max_listing_items` or the default.
    pub fn for_connection(connection: &'a ConnectionConfig) -> Self {
        let max_items = connection
            .sync
            .as_ref()
            .map_or(DEFAULT_MAX_LISTING_ITEMS, |sync| sync.max_listing_items);
        Self {
            connection,
            max_items,
        }
    }

    /// The connection's name.
    pub fn name(&self) -> &'a str {
        &self.connection.name
    }

    /// Why `user` cannot be synced, if it cannot.
    pub fn check_user(&self, user: &AdapterUser) -> Result<(), RejectReason> {
        let fields = [
            ("external id", Some(&user.external_id)),
            ("user name", Some(&user.user_name)),
            ("email", user.email.as_ref()),
            ("given name", user.given_name.as_ref()),
            ("family name", user.family_name.as_ref()),
            ("display name", user.display_name.as_ref()),
        ];
        if let Some((field, _)) = fields
            .iter()
            .find(|(_, value)| value.is_some_and(|value| value.contains('\0')))
        {
            return Err(RejectReason::NulCharacter { field });
        }
        // The address is bounded by the address rule below.
        if let Some((field, _)) = fields[..2]
            .iter()
            .find(|(_, value)| value.is_some_and(|value| value.len() > MAX_KEY_BYTES))
        {
            return Err(RejectReason::TooLong { field });
        }
        if user.external_id.trim().is_empty() {
            return Err(RejectReason::EmptyExternalId);
        }
        let email = desired_email(user);
        if !looks_like_email(email) {
            return Err(RejectReason::NotAnEmail);
        }
        if !self.connection.owns_email(email) {
            return Err(RejectReason::DomainNotRegistered);
        }
        Ok(())
    }

    /// Why `group` cannot be synced, if it cannot. A member id that names no valid user is
    /// not the group's fault: it is counted as an unknown member when planning.
    pub fn check_group(&self, group: &AdapterGroup) -> Result<(), RejectReason> {
        for (field, value) in [("id", &group.id), ("display name", &group.display_name)] {
            if value.contains('\0') {
                return Err(RejectReason::NulCharacter { field });
            }
            if value.len() > MAX_KEY_BYTES {
                return Err(RejectReason::TooLong { field });
            }
        }
        if group.id.trim().is_empty() {
            return Err(RejectReason::EmptyGroupId);
        }
        // RFC 7643 section 4.2: a group's displayName is required.
        if group.display_name.trim().is_empty() {
            return Err(RejectReason::EmptyGroupName);
        }
        Ok(())
    }

    /// The users of `listed` that pass [`ListingRules::check_user`]; the others are added to
    /// `rejected`.
    pub fn keep_users(
        &self,
        listed: Vec<AdapterUser>,
        rejected: &mut Vec<Rejection>,
    ) -> Vec<AdapterUser> {
        keep(
            listed,
            rejected,
            |user| self.check_user(user),
            Rejection::user,
        )
    }

    /// The groups of `listed` that pass [`ListingRules::check_group`]; the others are added to
    /// `rejected`.
    pub fn keep_groups(
        &self,
        listed: Vec<AdapterGroup>,
        rejected: &mut Vec<Rejection>,
    ) -> Vec<AdapterGroup> {
        keep(
            listed,
            rejected,
            |group| self.check_group(group),
            Rejection::group,
        )
    }
}

/// The objects of `listed` that pass `check`; the others are added to `rejected`.
fn keep<T>(
    listed: Vec<T>,
    rejected: &mut Vec<Rejection>,
    check: impl Fn(&T) -> Result<(), RejectReason>,
    rejection: impl Fn(&T, RejectReason) -> Rejection,
) -> Vec<T> {
    let mut kept = Vec::with_capacity(listed.len());
    for object in listed {
        match check(&object) {
            Ok(()) => kept.push(object),
            Err(reason) => rejected.push(rejection(&object, reason)),
        }
    }
    kept
}

/// What kind of object a rejection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A listed user.
    User,
    /// A listed group.
    Group,
}

impl ObjectKind {
    /// `user` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

/// Why a listed object was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// A value holds a NUL character, which PostgreSQL cannot store.
    NulCharacter {
        /// Which value.
        field: &'static str,
    },
    /// An id or name is longer than [`MAX_KEY_BYTES`], which the store cannot index.
    TooLong {
        /// Which value.
        field: &'static str,
    },
    /// The user has no external id to be matched by.
    EmptyExternalId,
    /// The user's address (`email`, else `user_name`) is not a plain `local@host.name`.
    NotAnEmail,
    /// The user's address is in no domain registered on the connection.
    DomainNotRegistered,
    /// The group has no id to be matched by.
    EmptyGroupId,
    /// The group has no display name.
    EmptyGroupName,
    /// The id was listed more than once in one listing; the last entry was used.
    Listed {
        /// How many times.
        times: usize,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NulCharacter { field } => {
                write!(
                    f,
                    "its {field} holds a NUL character, which cannot be stored"
                )
            }
            Self::TooLong { field } => {
                write!(f, "its {field} is longer than {MAX_KEY_BYTES} bytes")
            }
            Self::EmptyExternalId => f.write_str("its external id is empty"),
            Self::NotAnEmail => f.write_str("its email is not an address (local@host.name)"),
            Self::DomainNotRegistered => {
                f.write_str("its email is in no domain registered on the connection")
            }
            Self::EmptyGroupId => f.write_str("its id is empty"),
            Self::EmptyGroupName => f.write_str("its display name is empty"),
            Self::Listed { times } => {
                write!(
                    f,
                    "listed {times} times in one listing; the last entry was used"
                )
            }
        }
    }
}

/// A listed object a run skipped (or, for a repeated id, used only once), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// User or group.
    pub kind: ObjectKind,
    /// The external id (users) or id (groups) as listed, possibly empty.
    pub id: String,
    /// The address a user asked for, as listed (for display and for matching an account that
    /// has no external id); `None` for groups.
    pub email: Option<String>,
    /// Why.
    pub reason: RejectReason,
}

impl Rejection {
    /// A rejected user.
    pub fn user(user: &AdapterUser, reason: RejectReason) -> Self {
        Self {
            kind: ObjectKind::User,
            id: user.external_id.clone(),
            email: Some(desired_email(user).to_owned()),
            reason,
        }
    }

    /// A rejected group.
    pub fn group(group: &AdapterGroup, reason: RejectReason) -> Self {
        Self {
            kind: ObjectKind::Group,
            id: group.id.clone(),
            email: None,
            reason,
        }
    }
}

impl fmt::Display for Rejection {
    /// `user "id" <email>: reason`, with the listed values quoted and escaped (they may hold
    /// anything) and cut short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind.as_str(), shortened(&self.id))?;
        if let Some(email) = &self.email {
            write!(f, " <{:?}>", shortened(email))?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// At most 64 characters of a listed value, for display.
pub fn shortened(value: &str) -> String {
    const SHOWN: usize = 64;
    match value.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

/// Items (users, groups and memberships) one listing has read, against its bound.
#[derive(Debug)]
pub struct ItemBudget {
    max: u64,
    read: u64,
}

impl ItemBudget {
    /// A listing that may hold `max` items.
    pub fn new(max: u64) -> Self {
        Self { max, read: 0 }
    }

    /// Counts a page of `items` before anything of it is kept, failing when the listing
    /// would then hold more than the bound.
    pub fn admit(&mut self, connection: &str, items: u64) -> Result<(), SyncError> {
        let read = self.read.saturating_add(items);
        if read > self.max {
            return Err(SyncError::TooManyItems {
                connection: connection.to_owned(),
                max: self.max,
            });
        }
        self.read = read;
        Ok(())
    }

    /// How many more items the listing may read.
    pub fn remaining(&self) -> u64 {
        self.max - self.read
    }
}

/// The longest next-page cursor or delta token an adapter may return.
pub const MAX_CURSOR_BYTES: usize = 64 * 1024;

/// The next-page cursors one sequence of pages (the users, the groups, a delta round) has
/// returned, kept as digests: a cursor may be a long URL, and a listing has many pages.
#[derive(Debug, Default)]
pub struct CursorTrail {
    seen: HashSet<[u8; 16]>,
}

impl CursorTrail {
    /// Records `cursor` as the next page to ask for, failing when this sequence returned it
    /// before: asking again would read the same pages again, without end.
    pub fn follow(
        &mut self,
        connection: &str,
        listing: &'static str,
        cursor: &str,
    ) -> Result<(), SyncError> {
        if cursor.len() > MAX_CURSOR_BYTES {
            return Err(SyncError::CursorTooLong {
                connection: connection.to_owned(),
                listing,
                bytes: cursor.len(),
                max: MAX_CURSOR_BYTES,
            });
        }
        let digest = Sha256::digest(cursor.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        if self.seen.insert(key) {
            return Ok(());
        }
        Err(SyncError::CursorRepeated {
            connection: connection.to_owned(),
            listing,
            pages: self.seen.len() as u64 + 1,
        })
    }
}

/// Makes room in `items` for `additional` more, growing it as `Vec` would but never past what
/// the listing may still hold (`remaining` items after these): at the bound the run fails
/// instead of growing, so no allocation is ever larger than the bound needs.
pub fn reserve_within<T>(items: &mut Vec<T>, additional: usize, remaining: u64) {
    let needed = items.len().saturating_add(additional);
    if needed <= items.capacity() {
        return;
    }
    let ceiling = needed.saturating_add(usize::try_from(remaining).unwrap_or(usize::MAX));
    let target = items.capacity().saturating_mul(2).max(needed).min(ceiling);
    items.reserve_exact(target - items.len());
}

#[cfg(test)]
mod tests;
