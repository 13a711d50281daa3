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
    let mut scratch = Scratch::default();
    // Depth is bounded by the parser (crate::saml::xml::MAX_DEPTH), so recursion is safe.
    element(
        subtree,
        input,
        subtree.apex,
        &mut rendered,
        &mut scratch,
        out,
    )
}

/// An attribute of the element being written: namespace URI and local name (the sort key),
/// the name as written, the value.
struct Attribute<'d> {
    namespace: &'d str,
    local: &'d str,
    qname: &'d str,
    value: &'d str,
}

/// One element's working lists, emptied for each element so all of them reuse one allocation:
/// both are done with before the element's children are written.
#[derive(Default)]
struct Scratch<'d> {
    /// Prefixes whose declarations the element may need.
    used: Vec<&'d str>,
    /// The element's attributes.
    attributes: Vec<Attribute<'d>>,
}

fn element<'d>(
    subtree: &Subtree<'d, 'd>,
    input: &'d str,
    node: Node<'d, 'd>,
    rendered: &mut Vec<(&'d str, &'d str)>,
    scratch: &mut Scratch<'d>,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    let qname = element_qname(input, &node);
    let own_prefix = prefix_of(qname);

    // Namespace axis. Exclusive: the prefixes this element visibly uses, plus the listed ones.
    // Inclusive: every prefix in scope, and the default namespace (perhaps to undo it). Below
    // the apex, the parent's bindings are all in force (it is output, with its namespace
    // axis), so of what is rendered as Canonical XML renders it (the inclusive form, the
    // listed prefixes) only the bindings this element's own start tag declares can change:
    // the others are not looked at, or a few hundred namespaces in scope would cost their
    // square at every one of a hundred thousand elements.
    let apex = node == subtree.apex;
    let declared = || super::xml::declared_prefixes(&input[node.range().start..]);
    let Scratch { used, attributes } = scratch;
    used.clear();
    attributes.clear();
    for attribute in node.attributes() {
        let name = &input[attribute.range_qname()];
        let prefix = prefix_of(name);
        if !prefix.is_empty() && !same(prefix, XML_PREFIX) {
            used.push(prefix);
        }
        attributes.push(Attribute {
            namespace: attribute.namespace().unwrap_or(""),
            local: attribute.name(),
            qname: name,
            value: attribute.value(),
        });
    }
    match subtree.mode {
        Mode::Exclusive => {
            used.push(own_prefix);
            let listed = if apex || declared().next().is_some() {
                subtree.inclusive_prefixes
            } else {
                &[]
            };
            for prefix in listed {
                if *prefix == "#default" {
                    used.push("");
                } else if in_scope(&node, prefix).is_some() {
                    used.push(prefix);
                }
            }
        }
        Mode::Inclusive => {
            used.clear();
            if apex {
                used.push("");
                used.extend(node.namespaces().filter_map(|ns| ns.name()));
                inherit_xml_attributes(&node, input, attributes);
            } else {
                used.extend(declared());
            }
        }
    }
    if used.len() > 1 {
        used.sort_unstable();
        used.dedup();
    }

    // The declarations this element renders go on top of those in force from its ancestors,
    // and stay there while its children are written.
    let mark = rendered.len();
    for &prefix in used.iter() {
        if same(prefix, XML_PREFIX) {
            continue;
        }
        let uri = match in_scope(&node, prefix) {
            Some(uri) => uri,
            // An unprefixed element outside any default namespace uses "no namespace".
            None if prefix.is_empty() => "",
            None => return Err(C14nError::UnboundPrefix(prefix.to_string())),
        };
        let in_force = rendered[..mark]
            .iter()
            .rev()
            .find(|(p, _)| same(p, prefix))
            .map(|(_, u)| *u);
        // The default namespace starts out empty: `xmlns=""` is only needed to undo one.
        let needed = match in_force {
            Some(current) => !same(current, uri),
            None => !(prefix.is_empty() && uri.is_empty()),
        };
        if needed {
            rendered.push((prefix, uri));
        }
    }

    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());
    for (prefix, uri) in &rendered[mark..] {
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
    if attributes.len() > 1 {
        attributes.sort_unstable_by(|a, b| {
            let namespace = if same(a.namespace, b.namespace) {
                std::cmp::Ordering::Equal
            } else {
                a.namespace.cmp(b.namespace)
            };
            namespace.then_with(|| a.local.cmp(b.local))
        });
    }
    for attribute in attributes.iter() {
        out.push(b' ');
        out.extend_from_slice(attribute.qname.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attribute(attribute.value, out);
        out.push(b'"');
    }
    out.push(b'>');

    for child in node.children() {
        match child.node_type() {
            NodeType::Element if Some(child.id()) == subtree.exclude => {}
            NodeType::Element => element(subtree, input, child, rendered, scratch, out)?,
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
    attributes: &mut Vec<Attribute<'d>>,
) {
    for ancestor in apex.ancestors().skip(1).filter(|n| n.is_element()) {
        for attribute in ancestor.attributes() {
            if attribute.namespace() != Some(XML_NAMESPACE) {
                continue;
            }
            let local = attribute.name();
            if attributes
                .iter()
                .any(|a| a.namespace == XML_NAMESPACE && a.local == local)
            {
                continue;
            }
            attributes.push(Attribute {
                namespace: XML_NAMESPACE,
                local,
                qname: &input[attribute.range_qname()],
                value: attribute.value(),
            });
        }
    }
}

/// The element's qualified name as written in the document (roxmltree keeps the namespace
/// URI, not the prefix, and two prefixes may name the same URI).
fn element_qname<'d>(input: &'d str, node: &Node<'_, 'd>) -> &'d str {
    let start = node.range().start + 1;
    let rest = &input[start..];
    // The delimiters are ASCII, so the name ends on a character boundary.
    let end = rest
        .bytes()
        .position(|b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> &str {
    // Names are short: a plain scan beats a call to a vectorised search.
    qname
        .bytes()
        .position(|b| b == b':')
        .map_or("", |colon| &qname[..colon])
}

/// String equality that compares no bytes when both sides are one string (roxmltree keeps one
/// copy of each namespace URI and prefix) or empty.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// The namespace URI bound to `prefix` (empty: the default namespace) at `node`.
fn in_scope<'a>(node: &Node<'a, '_>, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        node.default_namespace().filter(|uri| !uri.is_empty())
    } else {
        node.lookup_namespace_uri(Some(prefix))
    }
}

/// Text as section 2.3 of Canonical XML writes it.
fn escape_text(text: &str, out: &mut Vec<u8>) {
    escape(text, out, |byte| match byte {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// An attribute value as section 2.3 of Canonical XML writes it.
fn escape_attribute(value: &str, out: &mut Vec<u8>) {
    escape(value, out, |byte| match byte {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Appends `text` with each byte `reference` names replaced by it; the runs of bytes between
/// them are copied whole. Every byte replaced is ASCII, so a run never splits a character.
fn escape(text: &str, out: &mut Vec<u8>, reference: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = text.as_bytes();
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if let Some(escaped) = reference(byte) {
            out.extend_from_slice(&bytes[run..at]);
            out.extend_from_slice(escaped);
            run = at + 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

#[cfg(test)]
mod tests;
