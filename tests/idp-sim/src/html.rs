//! The pages a browser sees: the auto-submitting HTTP-POST form (SAML bindings 3.5.4), the
//! account picker, and Entra-style error pages; plus a parser for the form, for tests.
//!
//! Pages are small, dependency-free HTML. Every value placed in them is HTML-escaped.

use chrono::{DateTime, Utc};

use crate::request::LoginError;
use crate::tenant::Tenant;
use crate::xml::escape;

/// The page that posts `SAMLResponse` (and `RelayState` when present) to `action`.
///
/// Without JavaScript the user sees a Continue button; with it the form submits itself.
pub fn auto_post_form(action: &str, saml_response: &str, relay_state: Option<&str>) -> String {
    let relay_state = relay_state
        .map(|value| hidden_input("RelayState", value))
        .unwrap_or_default();

    format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Working...</title>",
            "</head><body>\n<form method=\"post\" action=\"{action}\">\n{response}\n{relay}\n",
            "<noscript><p>Script is disabled. Click Submit to continue.</p>",
            "<input type=\"submit\" value=\"Submit\"></noscript>\n</form>\n",
            "<script>document.forms[0].submit();</script>\n</body></html>\n"
        ),
        action = escape(action),
        response = hidden_input("SAMLResponse", saml_response),
        relay = relay_state,
    )
}

/// The "Pick an account" page: one button per user, posting the request on to `action`.
pub fn account_picker(
    tenant: &Tenant,
    action: &str,
    saml_request: &str,
    relay_state: Option<&str>,
    login_hint: Option<&str>,
) -> String {
    let hint = login_hint
        .map(|hint| format!("<p>No account matches <b>{}</b>.</p>\n", escape(hint)))
        .unwrap_or_default();
    let relay_state = relay_state
        .map(|value| hidden_input("RelayState", value))
        .unwrap_or_default();
    let users: String = tenant
        .users
        .iter()
        .map(|user| {
            let disabled = if user.account_enabled {
                ""
            } else {
                " (disabled)"
            };
            format!(
                concat!(
                    "<li><button type=\"submit\" name=\"user\" value=\"{}\">",
                    "{} &lt;{}&gt;{}</button></li>\n"
                ),
                escape(&user.user_principal_name),
                escape(&user.display_name()),
                escape(&user.user_principal_name),
                disabled,
            )
        })
        .collect();

    format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in to your ",
            "account</title></head><body>\n<h1>Pick an account</h1>\n{hint}",
            "<form method=\"post\" action=\"{action}\">\n{request}\n{relay}\n<ul>\n{users}</ul>\n",
            "</form>\n</body></html>\n"
        ),
        hint = hint,
        action = escape(action),
        request = hidden_input("SAMLRequest", saml_request),
        relay = relay_state,
        users = users,
    )
}

/// Entra's "Sorry, but we're having trouble signing you in." page for `error`.
pub fn error_page(error: &LoginError, request_id: &str, now: DateTime<Utc>) -> String {
    format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in to your ",
            "account</title></head><body>\n<h1>Sorry, but we're having trouble signing you ",
            "in.</h1>\n<p id=\"error\">{code}: {message}</p>\n<table>\n",
            "<tr><td>Request Id:</td><td>{request_id}</td></tr>\n",
            "<tr><td>Timestamp:</td><td>{timestamp}</td></tr>\n",
            "<tr><td>Message:</td><td>{code}: {message}</td></tr>\n</table>\n</body></html>\n"
        ),
        code = error.code(),
        message = escape(&error.to_string()),
        request_id = escape(request_id),
        timestamp = now.format("%Y-%m-%dT%H:%M:%SZ"),
    )
}

/// Extracts the `action` of the first form and its hidden inputs (name, value), unescaped.
///
/// Meant for tests of the pages this crate writes; it is not a general HTML parser.
pub fn parse_auto_post_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let form_start = html.find("<form")?;
    let form_tag = tag_at(html, form_start)?;
    let action = attribute(form_tag, "action")?;

    let form_end = html[form_start..]
        .find("</form>")
        .map_or(html.len(), |end| form_start + end);
    let form = &html[form_start..form_end];

    let mut inputs = Vec::new();
    let mut rest = form;
    while let Some(position) = rest.find("<input") {
        let Some(tag) = tag_at(rest, position) else {
            break;
        };
        let hidden = attribute(tag, "type").is_some_and(|kind| kind.eq_ignore_ascii_case("hidden"));
        if hidden && let Some(name) = attribute(tag, "name") {
            inputs.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        rest = &rest[position + tag.len()..];
    }

    Some((action, inputs))
}

fn hidden_input(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
        escape(name),
        escape(value)
    )
}

/// The tag starting at `start` (through its closing `>`).
fn tag_at(html: &str, start: usize) -> Option<&str> {
    let end = html[start..].find('>')?;
    Some(&html[start..=start + end])
}

/// A double- or single-quoted attribute value of a tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = 0;
    while let Some(found) = tag[search..].find(name) {
        let start = search + found;
        search = start + name.len();

        let preceded_by_space = tag[..start].ends_with(|c: char| c.is_ascii_whitespace());
        let after = tag[search..].trim_start();
        if !preceded_by_space || !after.starts_with('=') {
            continue;
        }
        let value = after[1..].trim_start();
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let end = value[1..].find(quote)?;
        return Some(unescape(&value[1..=end]));
    }
    None
}

/// Undoes HTML escaping of the named and numeric character references this crate writes.
fn unescape(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        output.push_str(&rest[..position]);
        rest = &rest[position..];
        let Some(end) = rest.find(';') else {
            break;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(character) => {
                output.push(character);
                rest = &rest[end + 1..];
            }
            None => {
                output.push('&');
                rest = &rest[1..];
            }
        }
    }
    output.push_str(rest);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_through_the_parser() {
        let relay = "https://app.example/?a=1&b=\"2\"<x>'";
        let html = auto_post_form("http://sp.example/acs?x=1&y=2", "PHNhbWw+", Some(relay));

        let (action, inputs) = parse_auto_post_form(&html).unwrap();

        assert_eq!(action, "http://sp.example/acs?x=1&y=2");
        assert_eq!(
            inputs,
            vec![
                ("SAMLResponse".to_owned(), "PHNhbWw+".to_owned()),
                ("RelayState".to_owned(), relay.to_owned()),
            ]
        );
        assert!(html.contains("<noscript>"));
        assert!(!html.contains("\"2\""), "relay state must be escaped");
    }

    #[test]
    fn relay_state_is_left_out_when_absent() {
        let html = auto_post_form("http://sp.example/acs", "PHNhbWw+", None);

        let (_, inputs) = parse_auto_post_form(&html).unwrap();

        assert_eq!(inputs.len(), 1);
    }

    #[test]
    fn numeric_references_are_unescaped() {
        assert_eq!(unescape("a&#39;b&#x27;c&amp;&bogus;"), "a'b'c&&bogus;");
    }
}
