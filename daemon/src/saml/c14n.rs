//! Canonical XML 1.0 (W3C REC xml-c14n-20010315) and Exclusive XML Canonicalization 1.0
//! (REC xml-exc-c14n-20020718), with or without comments, of one element's subtree in a parsed
//! document, optionally leaving out one descendant element (the enveloped-signature
//! transform).
//!
//! It works on the same roxmltree document every later check reads, so the bytes a signature
//! covers and the values provisiond uses come from one parse. Input normalisation (line ends,
//! attribute values, character and predefined entity references, CDATA) is the parser's; the
//! rules here are the output ones: namespace declarations (the exclusive form: only where
//! visibly used or named in the InclusiveNamespaces prefix list; the inclusive form: every one
//! in scope) when not already in force from an output ancestor, the apex inheriting the
//! `xml:` attributes of its ancestors in the inclusive form, declarations sorted by prefix,
//! attributes by namespace URI then local name, empty elements as start-end pairs, and the
//! escaping of the recommendation's section 2.3 of Canonical XML.

use roxmltree::{Node, NodeId, NodeType};

/// The prefix bound to the XML namespace; never declared in canonical output.
const XML_PREFIX: &str = "xml";
const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Which canonicalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Canonical XML 1.0: every namespace in scope.
    Inclusive,
    /// Exclusive XML Canonicalization 1.0: only the namespaces an element uses.
    Exclusive,
}

/// What to canonicalise: the apex element, the element left out, the prefix list.
pub struct Subtree<'a, 'input> {
    /// The element whose subtree is canonicalised.
    pub apex: Node<'a, 'input>,
    /// A descendant element left out with its subtree (the enveloped signature).
    pub exclude: Option<NodeId>,
    /// Inclusive or exclusive.
    pub mode: Mode,
    /// Whether comments are kept.
    pub with_comments: bool,
    /// Exclusive mode's InclusiveNamespaces PrefixList: prefixes rendered like inclusive c14n
    /// does; `#default` names the default namespace.
    pub inclusive_prefixes: &'a [&'a str],
}

/// Why a subtree could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    /// An element or attribute uses a prefix with no namespace in scope.
    #[error("prefix {0:?} is not bound to a namespace")]
    UnboundPrefix(String),
}

/// Appends the canonical form of `subtree` to `out`.
pub fn canonicalize<'d>(subtree: &Subtree<'d, 'd>, out: &mut Vec<u8>) -> Result<(), C14nError> {
    let input: &'d str = subtree.apex.document().input_text();
    let mut rendered: Vec<(&'d str, &'d str)> = Vec::new();
    // Depth is bounded by the parser (crate::saml::xml::MAX_DEPTH), so recursion is safe.
    element(subtree, input, subtree.apex, &mut rendered, out)
}

fn element<'d>(
    subtree: &Subtree<'d, 'd>,
    input: &'d str,
    node: Node<'d, 'd>,
    rendered: &mut Vec<(&'d str, &'d str)>,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    let qname = element_qname(input, &node);
    let own_prefix = prefix_of(qname);

    // Namespace axis. Exclusive: the prefixes this element visibly uses, plus the listed ones.
    // Inclusive: every prefix in scope, and the default namespace (perhaps to undo it).
    let mut used: Vec<&str> = Vec::new();
    let mut attributes: Vec<(&str, &str, &str, &str)> = Vec::new();
    for attribute in node.attributes() {
        let name = &input[attribute.range_qname()];
        let prefix = prefix_of(name);
        if !prefix.is_empty() && prefix != XML_PREFIX {
            used.push(prefix);
        }
        attributes.push((
            attribute.namespace().unwrap_or(""),
            attribute.name(),
            name,
            attribute.value(),
        ));
    }
    match subtree.mode {
        Mode::Exclusive => {
            used.push(own_prefix);
            for prefix in subtree.inclusive_prefixes {
                if *prefix == "#default" {
                    used.push("");
                } else if in_scope(&node, prefix).is_some() {
                    used.push(prefix);
                }
            }
        }
        Mode::Inclusive => {
            used.clear();
            used.push("");
            used.extend(node.namespaces().filter_map(|ns| ns.name()));
            if node == subtree.apex {
                inherit_xml_attributes(&node, input, &mut attributes);
            }
        }
    }
    used.sort_unstable();
    used.dedup();

    let mut declarations: Vec<(&str, &str)> = Vec::new();
    for prefix in used {
        if prefix == XML_PREFIX {
            continue;
        }
        let uri = match in_scope(&node, prefix) {
            Some(uri) => uri,
            // An unprefixed element outside any default namespace uses "no namespace".
            None if prefix.is_empty() => "",
            None => return Err(C14nError::UnboundPrefix(prefix.to_string())),
        };
        let in_force = rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u);
        // The default namespace starts out empty: `xmlns=""` is only needed to undo one.
        let needed = match in_force {
            Some(current) => current != uri,
            None => !(prefix.is_empty() && uri.is_empty()),
        };
        if needed {
            declarations.push((prefix, uri));
        }
    }

    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attribute(uri, out);
        out.push(b'"');
    }
    attributes.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, name, value) in &attributes {
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attribute(value, out);
        out.push(b'"');
    }
    out.push(b'>');

    let mark = rendered.len();
    rendered.extend(declarations);
    for child in node.children() {
        match child.node_type() {
            NodeType::Element if Some(child.id()) == subtree.exclude => {}
            NodeType::Element => element(subtree, input, child, rendered, out)?,
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target.as_bytes());
                    if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(b' ');
                        out.extend_from_slice(value.as_bytes());
                    }
                    out.extend_from_slice(b"?>");
                }
            }
            NodeType::Comment if subtree.with_comments => {
                out.extend_from_slice(b"<!--");
                out.extend_from_slice(child.text().unwrap_or_default().as_bytes());
                out.extend_from_slice(b"-->");
            }
            NodeType::Comment | NodeType::Root => {}
        }
    }
    rendered.truncate(mark);

    out.extend_from_slice(b"</");
    out.extend_from_slice(qname.as_bytes());
    out.push(b'>');
    Ok(())
}

/// Canonical XML on a document subset: the apex carries the `xml:` attributes (`xml:lang`,
/// `xml:space`, ...) in force from its ancestors, unless it sets them itself.
fn inherit_xml_attributes<'d>(
    apex: &Node<'d, 'd>,
    input: &'d str,
    attributes: &mut Vec<(&'d str, &'d str, &'d str, &'d str)>,
) {
    for ancestor in apex.ancestors().skip(1).filter(|n| n.is_element()) {
        for attribute in ancestor.attributes() {
            if attribute.namespace() != Some(XML_NAMESPACE) {
                continue;
            }
            let local = attribute.name();
            if attributes
                .iter()
                .any(|(ns, name, _, _)| *ns == XML_NAMESPACE && *name == local)
            {
                continue;
            }
            attributes.push((
                XML_NAMESPACE,
                local,
                &input[attribute.range_qname()],
                attribute.value(),
            ));
        }
    }
}

/// The element's qualified name as written in the document (roxmltree keeps the namespace
/// URI, not the prefix, and two prefixes may name the same URI).
fn element_qname<'d>(input: &'d str, node: &Node<'_, 'd>) -> &'d str {
    let start = node.range().start + 1;
    let rest = &input[start..];
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(prefix, _)| prefix)
}

/// The namespace URI bound to `prefix` (empty: the default namespace) at `node`.
fn in_scope<'a>(node: &Node<'a, '_>, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        node.default_namespace().filter(|uri| !uri.is_empty())
    } else {
        node.lookup_namespace_uri(Some(prefix))
    }
}

fn escape_text(text: &str, out: &mut Vec<u8>) {
    for byte in text.bytes() {
        match byte {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            other => out.push(other),
        }
    }
}

fn escape_attribute(value: &str, out: &mut Vec<u8>) {
    for byte in value.bytes() {
        match byte {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests;
