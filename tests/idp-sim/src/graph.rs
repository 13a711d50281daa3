//! The Microsoft Graph side of the simulator: a tenant with users, groups and app role
//! assignments, the client-credentials token endpoint, and the Graph v1.0 endpoints the Entra
//! adapter calls, with paging, delta queries, request counting and injectable faults.
//!
//! Self-contained: nothing here depends on the SAML side of the simulator.
//!
//! Endpoints (Graph under [`GRAPH_PREFIX`]):
//!
//! - `POST /{tenant}/oauth2/v2.0/token` (client credentials, checks client id and secret)
//! - `GET servicePrincipals(appId='{app_id}')`
//! - `GET servicePrincipals/{id}/appRoleAssignedTo`
//! - `GET groups/{id}/members`, `GET groups/{id}/transitiveMembers`
//! - `GET users`, `GET users/{id}`, `GET users/delta`, `GET groups/delta`
//! - `POST $batch`: JSON batching of up to 20 of the GETs above, each answered (or faulted)
//!   on its own; see `batch`
//!
//! Lists honour `$top` (default 100, at most 999; `Prefer: odata.maxpagesize=N` where no `$top`
//! is given) and page with `@odata.nextLink`; `users`
//! honours `$select`. Delta rounds end with `@odata.deltaLink`; deleted users come back with
//! `@removed`. Assignment changes are not versioned, as in Graph.

mod batch;
mod reply;
mod routes;
mod server;
mod state;
mod tenant;

pub use batch::MAX_BATCH_REQUESTS;
pub use routes::{GRAPH_PREFIX, routes};
pub use server::{GraphServer, serve_graph};
pub use state::{Fault, FaultRule, GraphState, RequestCounts};
pub use tenant::{
    AppRoleAssignment, DEFAULT_ACCESS_ROLE, GraphGroup, GraphTenant, GraphUser, PrincipalType,
};
