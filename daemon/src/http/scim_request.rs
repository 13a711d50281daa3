//! Reading a SCIM request: path segments, endpoint names, query parameters, and the name a
//! write is logged under.

use warp::http::Method;

/// Endpoint names compare without regard to case (`/users` is `/Users`).
pub(super) fn canonical_endpoint(segment: String) -> String {
    [
        "Users",
        "Groups",
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
    ]
    .into_iter()
    .find(|name| name.eq_ignore_ascii_case(&segment))
    .map_or(segment, str::to_string)
}

/// The name logged for a write, or `None` for a read.
pub(super) fn operation_name(method: &Method, segments: &[String]) -> Option<&'static str> {
    let endpoint = segments.first().map(String::as_str);
    let search = segments.get(1).is_some_and(|s| s == ".search");
    match (method, endpoint) {
        (&Method::POST, Some("Users")) if !search => Some("create_user"),
        (&Method::PUT, Some("Users")) => Some("replace_user"),
        (&Method::PATCH, Some("Users")) => Some("patch_user"),
        (&Method::DELETE, Some("Users")) => Some("delete_user"),
        (&Method::POST, Some("Groups")) if !search => Some("create_group"),
        (&Method::PUT, Some("Groups")) => Some("replace_group"),
        (&Method::PATCH, Some("Groups")) => Some("patch_group"),
        (&Method::DELETE, Some("Groups")) => Some("delete_group"),
        _ => None,
    }
}

pub(super) fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decodes `%XX` escapes in a path segment (schema URNs arrive as `urn%3Aietf%3A...`).
pub(super) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
