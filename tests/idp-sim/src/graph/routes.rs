//! The warp routes: the token endpoint and the Graph v1.0 endpoints the Entra adapter uses,
//! with `$select`, `$top`, `@odata.nextLink` paging, delta queries and fault injection.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::batch::{BatchRequest, batch_endpoint};
use super::reply::{GraphReply, apply_fault, graph_error, not_found, percent_decode, token_error};
use super::state::{GraphState, Inner, ObjectKind};
use super::tenant::{GraphUser, PrincipalType};

/// Where the Graph endpoints live on the simulator.
pub const GRAPH_PREFIX: &str = "/graph/v1.0";

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 999;
const USER_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "givenName",
    "surname",
    "displayName",
    "accountEnabled",
    "department",
    "jobTitle",
];
const DEFAULT_USER_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "givenName",
    "surname",
    "displayName",
    "jobTitle",
];

/// The token endpoint (`POST /{tenant}/oauth2/v2.0/token`) and the Graph endpoints under
/// [`GRAPH_PREFIX`].
pub fn routes(state: Arc<GraphState>) -> BoxedFilter<(Response,)> {
    let token_state = state.clone();
    let token = warp::post()
        .and(warp::path!(String / "oauth2" / "v2.0" / "token"))
        .and(warp::body::form::<HashMap<String, String>>())
        .then(move |tenant: String, form: HashMap<String, String>| {
            token_endpoint(token_state.clone(), tenant, form)
        });

    let state_for_batch = state.clone();
    let graph = warp::get()
        .and(warp::path("graph"))
        .and(warp::path("v1.0"))
        .and(warp::path::tail())
        .and(warp::query::<Vec<(String, String)>>())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("host"))
        .and(warp::header::optional::<String>("prefer"))
        .then(
            move |tail: warp::path::Tail,
                  query,
                  authorization,
                  host: Option<String>,
                  prefer: Option<String>| {
                let request = GraphRequest {
                    path: percent_decode(tail.as_str()),
                    query,
                    authorization,
                    host: host.unwrap_or_else(|| "localhost".to_owned()),
                    max_page_size: prefer.as_deref().and_then(max_page_size),
                };
                graph_endpoint(state.clone(), request)
            },
        );

    let batch_state = state_for_batch;
    let batch = warp::post()
        .and(warp::path!("graph" / "v1.0" / "$batch"))
        .and(warp::body::content_length_limit(MAX_BATCH_BYTES))
        .and(warp::body::bytes())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("host"))
        .then(
            move |body: bytes::Bytes, authorization, host: Option<String>| {
                let request = BatchRequest {
                    body: body.to_vec(),
                    authorization,
                    host: host.unwrap_or_else(|| "localhost".to_owned()),
                };
                batch_endpoint(batch_state.clone(), request)
            },
        );

    token.or(batch).unify().or(graph).unify().boxed()
}

/// Largest `$batch` body accepted (20 sub-requests fit easily).
const MAX_BATCH_BYTES: u64 = 1024 * 1024;

/// One Graph GET, top-level or a `$batch` sub-request.
pub(crate) struct GraphRequest {
    /// Path below `/v1.0`, percent-decoded, without a leading slash.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub host: String,
    /// `Prefer: odata.maxpagesize=N`, which Graph honours where `$top` is not given.
    pub max_page_size: Option<usize>,
}

pub(crate) fn max_page_size(prefer: &str) -> Option<usize> {
    prefer.split(',').find_map(|part| {
        let size = part.trim().strip_prefix("odata.maxpagesize=")?;
        size.trim()
            .parse::<usize>()
            .ok()
            .map(|n| n.clamp(1, MAX_PAGE))
    })
}

async fn token_endpoint(
    state: Arc<GraphState>,
    tenant: String,
    form: HashMap<String, String>,
) -> Response {
    let fault = {
        let mut inner = state.lock();
        inner.count("POST /token");
        inner.take_fault(&format!("/{tenant}/oauth2/v2.0/token"), true)
    };
    if let Some(reply) = apply_fault(fault).await {
        return reply.into_response();
    }

    let mut inner = state.lock();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let tenant_matches = tenant == inner.tenant.tenant_id;
    if !tenant_matches {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS90002: Tenant not found.",
        );
    }
    if field("grant_type") != "client_credentials" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: only client_credentials is simulated.",
        );
    }
    if field("scope") != "https://graph.microsoft.com/.default" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: invalid scope.",
        );
    }
    if field("client_id") != inner.tenant.client_id {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
        );
    }
    if field("client_secret") != inner.tenant.client_secret {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }

    let (token, lifetime) = inner.issue_token();
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    });
    warp::reply::json(&body).into_response()
}

async fn graph_endpoint(state: Arc<GraphState>, request: GraphRequest) -> Response {
    let fault = {
        let mut inner = state.lock();
        inner.count(&route_name(&request.path));
        inner.take_fault(&format!("{GRAPH_PREFIX}/{}", request.path), false)
    };
    if let Some(reply) = apply_fault(fault).await {
        return reply.into_response();
    }

    let mut inner = state.lock();
    if let Err(reply) = authorize(&mut inner, request.authorization.as_deref()) {
        return reply.into_response();
    }
    dispatch(&mut inner, &request).into_response()
}

/// Checks the bearer token of a top-level request (a batch's sub-requests share it).
pub(crate) fn authorize(inner: &mut Inner, authorization: Option<&str>) -> Result<(), GraphReply> {
    let token = authorization.and_then(|value| value.strip_prefix("Bearer "));
    if token.is_some_and(|token| inner.check_token(token)) {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        ))
    }
}

/// Answers an authorized GET.
pub(crate) fn dispatch(inner: &mut Inner, request: &GraphRequest) -> GraphReply {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let query = match Query::parse(&request.query) {
        Ok(mut query) => {
            if let (false, Some(size)) = (query.top_given, request.max_page_size) {
                query.top = size;
            }
            query
        }
        Err(message) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let base = format!("http://{}{GRAPH_PREFIX}/{}", request.host, request.path);
    match segments.as_slice() {
        [sp] if sp.starts_with("servicePrincipals(") => service_principal(inner, sp),
        ["servicePrincipals", id, "appRoleAssignedTo"] => assigned_to(inner, id, &query, &base),
        ["groups", "delta"] => groups_delta(inner, &query, &base),
        ["groups", id, "members"] => members(inner, id, false, &query, &base),
        ["groups", id, "transitiveMembers"] => members(inner, id, true, &query, &base),
        ["users"] => users(inner, &query, &base),
        ["users", "delta"] => users_delta(inner, &query, &base),
        ["users", id] => match inner.user(id) {
            Some(user) => match render_user(user, query.select.as_deref()) {
                Ok(body) => GraphReply::ok(body),
                Err(message) => graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
            },
            None => not_found(id),
        },
        _ => {
            inner.count("GET unknown");
            graph_error(
                StatusCode::NOT_FOUND,
                "BadRequest",
                "Resource not found for the segment.",
            )
        }
    }
}

/// A route name for request counting, from a path below `/v1.0`.
pub(crate) fn route_name(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let name = match segments.as_slice() {
        [sp] if sp.starts_with("servicePrincipals(") => "servicePrincipals(appId)",
        ["servicePrincipals", _, "appRoleAssignedTo"] => "servicePrincipals/{id}/appRoleAssignedTo",
        ["groups", "delta"] => "groups/delta",
        ["groups", _, "members"] => "groups/{id}/members",
        ["groups", _, "transitiveMembers"] => "groups/{id}/transitiveMembers",
        ["users"] => "users",
        ["users", "delta"] => "users/delta",
        ["users", _] => "users/{id}",
        _ => "other",
    };
    format!("GET /{name}")
}

/// The OData query options the simulator understands.
struct Query {
    select: Option<Vec<String>>,
    top: usize,
    top_given: bool,
    skip: usize,
    delta: Option<DeltaPosition>,
    /// Options kept in nextLinks (everything but paging).
    kept: Vec<(String, String)>,
}

/// Where a delta round stands: changes after `since` up to `upto`, from `offset`.
#[derive(Clone, Copy)]
struct DeltaPosition {
    since: u64,
    upto: u64,
    offset: usize,
}

impl Query {
    fn parse(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut query = Query {
            select: None,
            top: DEFAULT_PAGE,
            top_given: false,
            skip: 0,
            delta: None,
            kept: Vec::new(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "$select" => {
                    query.select = Some(value.split(',').map(|f| f.trim().to_owned()).collect());
                    query.kept.push((key.clone(), value.clone()));
                }
                "$top" => {
                    let top: usize = value
                        .parse()
                        .map_err(|_| format!("Invalid $top '{value}'."))?;
                    if top == 0 || top > MAX_PAGE {
                        return Err(format!(
                            "Invalid page size specified: '{top}'. \
                             Must be between 1 and {MAX_PAGE} inclusive."
                        ));
                    }
                    query.top = top;
                    query.top_given = true;
                    query.kept.push((key.clone(), value.clone()));
                }
                "$skiptoken" => match parse_delta_position(value) {
                    Some(position) => query.delta = Some(position),
                    None => {
                        query.skip = value
                            .parse()
                            .map_err(|_| "Invalid $skiptoken.".to_owned())?
                    }
                },
                "$deltatoken" => {
                    let since: u64 = value
                        .parse()
                        .map_err(|_| "Invalid $deltatoken.".to_owned())?;
                    query.delta = Some(DeltaPosition {
                        since,
                        upto: u64::MAX,
                        offset: 0,
                    });
                }
                _ => query.kept.push((key.clone(), value.clone())),
            }
        }
        Ok(query)
    }

    fn link(&self, base: &str, extra: (&str, String)) -> String {
        let mut pairs = self.kept.clone();
        pairs.push((extra.0.to_owned(), extra.1));
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{base}?{encoded}")
    }
}

fn parse_delta_position(value: &str) -> Option<DeltaPosition> {
    let mut parts = value.strip_prefix('d')?.split('.');
    let since = parts.next()?.parse().ok()?;
    let upto = parts.next()?.parse().ok()?;
    let offset = parts.next()?.parse().ok()?;
    Some(DeltaPosition {
        since,
        upto,
        offset,
    })
}

/// One page of `items`, with a nextLink when more remain.
fn paged(items: Vec<Value>, query: &Query, base: &str) -> GraphReply {
    let total = items.len();
    let end = query.skip.saturating_add(query.top).min(total);
    let value: Vec<Value> = items
        .into_iter()
        .skip(query.skip)
        .take(end.saturating_sub(query.skip))
        .collect();
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(value));
    if end < total {
        body.insert(
            "@odata.nextLink".into(),
            Value::String(query.link(base, ("$skiptoken", end.to_string()))),
        );
    }
    GraphReply::ok(Value::Object(body))
}

fn service_principal(inner: &Inner, segment: &str) -> GraphReply {
    let app_id = segment
        .strip_prefix("servicePrincipals(appId='")
        .and_then(|rest| rest.strip_suffix("')"))
        .unwrap_or_default();
    if app_id != inner.tenant.app_id {
        return not_found(app_id);
    }
    GraphReply::ok(json!({
        "id": inner.tenant.service_principal_id,
        "appId": inner.tenant.app_id,
        "displayName": "provisiond",
    }))
}

fn assigned_to(inner: &Inner, id: &str, query: &Query, base: &str) -> GraphReply {
    if id != inner.tenant.service_principal_id {
        return not_found(id);
    }
    // Only the page is rendered: large tenants have an assignment per user.
    let all = &inner.tenant.assignments;
    let end = query.skip.saturating_add(query.top).min(all.len());
    let value: Vec<Value> = all
        .get(query.skip.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            let principal_type = match entry.principal_type {
                PrincipalType::User => "User",
                PrincipalType::Group => "Group",
                PrincipalType::ServicePrincipal => "ServicePrincipal",
            };
            json!({
                "id": entry.id,
                "appRoleId": entry.app_role_id,
                "principalDisplayName": entry.principal_display_name,
                "principalId": entry.principal_id,
                "principalType": principal_type,
                "resourceDisplayName": "provisiond",
                "resourceId": inner.tenant.service_principal_id,
            })
        })
        .collect();
    let mut body = json!({ "value": value });
    if end < all.len() {
        body["@odata.nextLink"] = Value::String(query.link(base, ("$skiptoken", end.to_string())));
    }
    GraphReply::ok(body)
}

fn members(inner: &Inner, id: &str, transitive: bool, query: &Query, base: &str) -> GraphReply {
    if !inner.is_group(id) {
        return not_found(id);
    }
    let items = inner
        .tenant
        .members(id, transitive)
        .into_iter()
        .map(|member| {
            let kind = if inner.is_group(&member) {
                "#microsoft.graph.group"
            } else {
                "#microsoft.graph.user"
            };
            json!({"@odata.type": kind, "id": member})
        })
        .collect();
    paged(items, query, base)
}

fn users(inner: &Inner, query: &Query, base: &str) -> GraphReply {
    let end = query
        .skip
        .saturating_add(query.top)
        .min(inner.tenant.users.len());
    let mut value = Vec::new();
    for user in inner.tenant.users.get(query.skip..end).unwrap_or_default() {
        match render_user(user, query.select.as_deref()) {
            Ok(rendered) => value.push(rendered),
            Err(message) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
        }
    }
    let mut body = json!({ "value": value });
    if end < inner.tenant.users.len() {
        body["@odata.nextLink"] = Value::String(query.link(base, ("$skiptoken", end.to_string())));
    }
    GraphReply::ok(body)
}

fn users_delta(inner: &Inner, query: &Query, base: &str) -> GraphReply {
    let position = query.delta.unwrap_or(DeltaPosition {
        since: 0,
        upto: u64::MAX,
        offset: 0,
    });
    let position = fix_upto(position, inner.version);
    // Only the page is rendered: a round over a large tenant stays linear.
    let changed: Vec<&GraphUser> = inner
        .tenant
        .users
        .iter()
        .filter(|user| inner.version_of(&user.id) > position.since)
        .collect();
    let removed = removed(inner, ObjectKind::User, position.since);
    let total = changed.len() + removed.len();
    let (start, end) = page_bounds(position, query, total);
    let mut items = Vec::with_capacity(end - start);
    for index in start..end {
        match changed.get(index) {
            Some(user) => match render_user(user, query.select.as_deref()) {
                Ok(rendered) => items.push(rendered),
                Err(message) => {
                    return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
                }
            },
            None => items.extend(removed.get(index - changed.len()).cloned()),
        }
    }
    delta_page(items, position, query, base, total)
}

fn groups_delta(inner: &Inner, query: &Query, base: &str) -> GraphReply {
    let position = query.delta.unwrap_or(DeltaPosition {
        since: 0,
        upto: u64::MAX,
        offset: 0,
    });
    let position = fix_upto(position, inner.version);
    let changed: Vec<_> = inner
        .tenant
        .groups
        .iter()
        .filter(|group| inner.version_of(&group.id) > position.since)
        .collect();
    let removed = removed(inner, ObjectKind::Group, position.since);
    let total = changed.len() + removed.len();
    let (start, end) = page_bounds(position, query, total);
    let mut items = Vec::with_capacity(end - start);
    for index in start..end {
        let Some(group) = changed.get(index) else {
            items.extend(removed.get(index - changed.len()).cloned());
            continue;
        };
        let members: Vec<Value> = group
            .members
            .iter()
            .map(|member| {
                let kind = if inner.is_group(member) {
                    "#microsoft.graph.group"
                } else {
                    "#microsoft.graph.user"
                };
                json!({"@odata.type": kind, "id": member})
            })
            .collect();
        items.push(
            json!({"id": group.id, "displayName": group.display_name, "members@delta": members}),
        );
    }
    delta_page(items, position, query, base, total)
}

/// The `[start, end)` of a delta page within `total` items.
fn page_bounds(position: DeltaPosition, query: &Query, total: usize) -> (usize, usize) {
    let end = position.offset.saturating_add(query.top).min(total);
    (position.offset.min(end), end)
}

/// A new round pins `upto` to the current version, so its deltaLink starts after it.
fn fix_upto(position: DeltaPosition, version: u64) -> DeltaPosition {
    if position.upto == u64::MAX {
        DeltaPosition {
            upto: version,
            ..position
        }
    } else {
        position
    }
}

fn removed(inner: &Inner, kind: ObjectKind, since: u64) -> Vec<Value> {
    inner
        .tombstones
        .iter()
        .filter(|tombstone| tombstone.kind == kind && tombstone.version > since)
        .map(|tombstone| json!({"id": tombstone.id, "@removed": {"reason": "deleted"}}))
        .collect()
}

/// A delta page holding `items` (already the page's slice) of `total`.
fn delta_page(
    items: Vec<Value>,
    position: DeltaPosition,
    query: &Query,
    base: &str,
    total: usize,
) -> GraphReply {
    let end = position.offset.saturating_add(query.top).min(total);
    let mut body = json!({ "value": items });
    if end < total {
        let token = format!("d{}.{}.{end}", position.since, position.upto);
        body["@odata.nextLink"] = Value::String(query.link(base, ("$skiptoken", token)));
    } else {
        body["@odata.deltaLink"] =
            Value::String(query.link(base, ("$deltatoken", position.upto.to_string())));
    }
    GraphReply::ok(body)
}

/// A user as Graph renders it with `$select` (or the default property set).
fn render_user(user: &GraphUser, select: Option<&[String]>) -> Result<Value, String> {
    let full = json!({
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "mail": user.mail,
        "givenName": user.given_name,
        "surname": user.surname,
        "displayName": user.display_name,
        "accountEnabled": user.account_enabled,
        "department": user.department,
        "jobTitle": user.job_title,
    });
    let default: Vec<String> = DEFAULT_USER_FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    let mut rendered = Map::new();
    rendered.insert("id".into(), Value::String(user.id.clone()));
    for field in select.unwrap_or(&default) {
        if !USER_FIELDS.contains(&field.as_str()) {
            return Err(format!(
                "Could not find a property named '{field}' on type 'microsoft.graph.user'."
            ));
        }
        rendered.insert(field.clone(), full[field.as_str()].clone());
    }
    Ok(Value::Object(rendered))
}
