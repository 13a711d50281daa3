//! The JSON shapes that cross the boundary: directory objects, pages, requests, HTTP messages.
//!
//! Every type here is plain serde data. Optional fields default when absent, so an adapter may
//! omit them and a newer daemon can add fields without breaking older adapters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What an adapter says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Short lowercase name, such as `entra`.
    pub name: String,
    /// The adapter's own version, such as `0.1.0`.
    pub version: String,
    /// A JSON Schema (draft 2020-12) describing the config object; informational for admins.
    #[serde(default)]
    pub config_schema: Value,
    /// Whether [`Adapter::delta`](crate::Adapter::delta) is implemented.
    #[serde(default)]
    pub supports_delta: bool,
}

/// One problem with an adapter config, named by its key path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// Dotted key path with indices, such as `tenant_id` or `extra_user_attributes[2]`.
    pub path: String,
    /// What is wrong and what is expected; never the value of a secret.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A user assigned to the application in the IdP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterUser {
    /// The IdP's stable, immutable id for the user (Entra: the object id).
    pub external_id: String,
    /// The sign-in name (Entra: userPrincipalName).
    pub user_name: String,
    /// Primary email address, if any.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name, if any.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name, if any.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Display name, if any.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether the account may sign in.
    pub active: bool,
    /// Further attributes the adapter was configured to pass through.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl AdapterUser {
    /// An active user with only its ids; set the other fields as the IdP gives them.
    pub fn new(external_id: impl Into<String>, user_name: impl Into<String>) -> Self {
        Self {
            external_id: external_id.into(),
            user_name: user_name.into(),
            email: None,
            given_name: None,
            family_name: None,
            display_name: None,
            active: true,
            extra: Map::new(),
        }
    }
}

/// A group assigned to the application, with the ids of its member users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterGroup {
    /// The IdP's stable id for the group.
    pub id: String,
    /// The group's display name.
    pub display_name: String,
    /// `external_id`s of member users.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Asks for one page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// `None` for the first page, else the `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` on the last page. A cursor already returned in
    /// the same listing fails the daemon's run (the listing would loop).
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Asks for one page of an incremental (delta) listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaRequest {
    /// `None` to start from scratch; else a `cursor` from [`DeltaNext::More`] or a
    /// `delta_token` from [`DeltaNext::Complete`] of an earlier round.
    #[serde(default)]
    pub token: Option<String>,
}

/// One page of changes since a delta token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaPage {
    /// Users created or changed, in their current state.
    #[serde(default)]
    pub users: Vec<AdapterUser>,
    /// `external_id`s of users deleted or no longer assigned.
    #[serde(default)]
    pub removed_users: Vec<String>,
    /// Groups created or changed, with their full current member list.
    #[serde(default)]
    pub groups: Vec<AdapterGroup>,
    /// Ids of groups deleted or no longer assigned.
    #[serde(default)]
    pub removed_groups: Vec<String>,
    /// How to continue.
    pub next: DeltaNext,
}

/// What follows a [`DeltaPage`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeltaNext {
    /// More pages in this round: call `delta` again with this cursor.
    More {
        /// Opaque cursor.
        cursor: String,
    },
    /// The round is complete: store the token and pass it to start the next round.
    Complete {
        /// Opaque delta token.
        delta_token: String,
    },
}

/// An HTTP request an adapter asks the host to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Method, such as `GET` or `POST`.
    pub method: String,
    /// Absolute `http` or `https` URL.
    pub url: String,
    /// Header names and values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// UTF-8 request body, if any.
    #[serde(default)]
    pub body: Option<String>,
    /// Milliseconds the host waits, by its clock, before the first attempt. For a wait the
    /// host cannot see itself, such as the `Retry-After` of a throttled sub-request inside a
    /// JSON batch response; the host caps it at its total retry wait. A host that predates
    /// this field sends at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_millis: Option<u64>,
}

impl HttpRequest {
    /// A `GET` request without headers.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            delay_millis: None,
        }
    }

    /// A `POST` request with a body and its content type.
    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<String>) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_owned(), content_type.to_owned());
        Self {
            method: "POST".into(),
            url: url.into(),
            headers,
            body: Some(body.into()),
            delay_millis: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.to_owned(), value.into());
        self
    }

    /// Asks the host to wait `millis` before sending (see [`HttpRequest::delay_millis`]).
    pub fn delayed(mut self, millis: u64) -> Self {
        self.delay_millis = (millis > 0).then_some(millis);
        self
    }
}

/// The response the host received (after its retries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values; repeated headers are joined with `, `.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body decoded as UTF-8 (invalid sequences replaced).
    #[serde(default)]
    pub body: String,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Severity of a log message sent to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something looks wrong but work continues.
    Warn = 2,
    /// Lifecycle and outcomes.
    Info = 3,
    /// Decisions, for troubleshooting.
    Debug = 4,
    /// Very detailed tracing.
    Trace = 5,
}

impl LogLevel {
    /// Decodes the wire value; unknown values read as `Info`.
    pub fn from_u32(value: u32) -> Self {
        match value {
            1 => Self::Error,
            2 => Self::Warn,
            4 => Self::Debug,
            5 => Self::Trace,
            _ => Self::Info,
        }
    }
}
