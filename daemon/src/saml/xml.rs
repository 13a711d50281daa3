//! Parsing untrusted XML (SAML responses, IdP metadata) into a read-only tree.
//!
//! roxmltree descends one call per nested element with no limit of its own, so a few
//! kilobytes of `<a><a><a>…` overflow a worker thread's stack and abort the whole daemon; and
//! it copies the namespaces in scope into every element that declares one, so thousands of
//! declarations cost time that grows faster than the square of their number, as do an
//! element's attributes (each is compared with all the others). A flat scan therefore measures
//! the nesting depth and counts namespace declarations and attributes first, and the parser
//! only ever sees documents within these bounds. The scan also refuses what the
//! Namespaces recommendation forbids but roxmltree accepts (a prefix bound to the empty name,
//! the `xmlns` prefix declared): XML parsers disagree on such documents, and signature
//! wrapping lives on such disagreements. DTDs stay refused (roxmltree's default).

/// Deeper than any SAML response or metadata document (they nest about ten elements deep),
/// shallow enough for the smallest thread stack the daemon runs on.
pub const MAX_DEPTH: usize = 100;

/// Namespace declarations in one document: Entra's federation metadata has 36, responses
/// about a dozen.
pub const MAX_NAMESPACE_DECLARATIONS: usize = 256;

/// Attributes (namespace declarations included) on one element: SAML and metadata elements
/// carry a handful, an aggregate's root a few dozen.
pub const MAX_ATTRIBUTES: usize = 128;

/// Why a document was not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Elements nest deeper than [`MAX_DEPTH`].
    #[error("elements nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More than [`MAX_NAMESPACE_DECLARATIONS`] namespace declarations.
    #[error("more than {MAX_NAMESPACE_DECLARATIONS} namespace declarations")]
    TooManyNamespaces,
    /// An element carries more than [`MAX_ATTRIBUTES`] attributes.
    #[error("an element carries more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    /// The document is not well-formed (or declares a DTD).
    #[error("not well-formed XML: {0}")]
    NotWellFormed(String),
}

/// Parses `text` after checking its nesting depth and namespace declarations.
pub fn parse(text: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    prescan(text, MAX_DEPTH)?;
    roxmltree::Document::parse(text).map_err(|err| XmlError::NotWellFormed(err.to_string()))
}

/// Checks depth, namespace declarations and attributes by a scan that reads markup the way an
/// XML parser does (comments, CDATA, processing instructions and quoted attribute values hide
/// `<` and `>`) without recursing. On a well-formed prefix it sees exactly what the parser
/// will; past a syntax error the parser stops anyway.
fn prescan(text: &str, max_depth: usize) -> Result<(), XmlError> {
    let mut depth = 0usize;
    let mut declarations = 0usize;
    let xmlns = memchr::memmem::Finder::new(b"xmlns");
    for tag in tags(text.as_bytes()) {
        let Tag::Start { inside, values } = tag else {
            depth = depth.saturating_sub(1);
            continue;
        };
        // Every attribute has one quoted value.
        if values > MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes);
        }
        if !inside.ends_with(b"/") {
            depth += 1;
            if depth > max_depth {
                return Err(XmlError::TooDeep);
            }
        }
        // Most tags declare nothing: no attribute name starts with `xmlns` where it is absent.
        if xmlns.find(inside).is_some() {
            declarations += namespace_declarations(inside)?;
        }
        if declarations > MAX_NAMESPACE_DECLARATIONS {
            return Err(XmlError::TooManyNamespaces);
        }
    }
    Ok(())
}

/// The prefixes the start tag at the beginning of `markup` declares a namespace for, the
/// default namespace as "", as written. Only these bindings can differ from the parent
/// element's: declaring is the only way a namespace enters the scope.
pub(super) fn declared_prefixes(markup: &str) -> impl Iterator<Item = &str> {
    let bytes = markup.as_bytes();
    let inside = tag_end(bytes).map_or(&b""[..], |(end, _)| &bytes[1..end]);
    // Names are delimited by ASCII bytes, so each prefix is a whole UTF-8 string.
    attributes(inside).filter_map(|(name, _)| match name.strip_prefix(b"xmlns")? {
        [] => Some(""),
        [b':', prefix @ ..] => std::str::from_utf8(prefix).ok(),
        _ => None,
    })
}

/// How many namespaces a start tag declares; refuses the declarations the Namespaces
/// recommendation forbids.
fn namespace_declarations(inside: &[u8]) -> Result<usize, XmlError> {
    let mut count = 0;
    for (name, value) in attributes(inside) {
        match name.strip_prefix(b"xmlns") {
            Some([]) => {}
            Some([b':', prefix @ ..]) => {
                if value.is_empty() {
                    return Err(XmlError::NotWellFormed(format!(
                        "namespace prefix {:?} is bound to the empty name",
                        String::from_utf8_lossy(prefix)
                    )));
                }
                if prefix == b"xmlns" {
                    return Err(XmlError::NotWellFormed(
                        "the xmlns prefix must not be declared".into(),
                    ));
                }
            }
            _ => continue,
        }
        count += 1;
    }
    Ok(count)
}

/// A tag found by [`tags`].
enum Tag<'a> {
    /// A start or empty-element tag.
    Start {
        /// What lies between `<` and `>`, name included.
        inside: &'a [u8],
        /// How many quoted values it holds.
        values: usize,
    },
    /// An end tag.
    End,
}

/// The start and end tags of a document in order, skipping comments, CDATA sections,
/// processing instructions and declarations; stops at the first unterminated construct.
fn tags(bytes: &[u8]) -> impl Iterator<Item = Tag<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let start = at + memchr::memchr(b'<', bytes.get(at..)?)?;
            let rest = &bytes[start..];
            let past = |needle: &[u8], from: usize| {
                rest.get(from..)
                    .and_then(|r| memchr::memmem::find(r, needle))
                    .map(|p| start + from + p + needle.len())
            };
            let past_byte = |needle: u8, from: usize| {
                rest.get(from..)
                    .and_then(|r| memchr::memchr(needle, r))
                    .map(|p| start + from + p + 1)
            };
            if rest.starts_with(b"<!--") {
                at = past(b"-->", 4)?;
            } else if rest.starts_with(b"<![CDATA[") {
                at = past(b"]]>", 9)?;
            } else if rest.starts_with(b"<?") {
                at = past(b"?>", 2)?;
            } else if rest.starts_with(b"<!") {
                at = past_byte(b'>', 2)?;
            } else if rest.starts_with(b"</") {
                at = past_byte(b'>', 2)?;
                return Some(Tag::End);
            } else {
                let (end, values) = tag_end(rest)?;
                at = start + end + 1;
                return Some(Tag::Start {
                    inside: &rest[1..end],
                    values,
                });
            }
        }
    })
}

/// The offset of the `>` closing the start tag at the beginning of `rest`, outside quotes,
/// and how many quoted values lie before it.
fn tag_end(rest: &[u8]) -> Option<(usize, usize)> {
    let mut at = 1;
    let mut values = 0;
    loop {
        let found = at + memchr::memchr3(b'>', b'"', b'\'', rest.get(at..)?)?;
        match rest[found] {
            b'>' => return Some((found, values)),
            quote => {
                let value = found + 1;
                at = value + memchr::memchr(quote, &rest[value..])? + 1;
                values += 1;
            }
        }
    }
}

/// The `name="value"` pairs of a start tag's inside, as written (no unescaping).
fn attributes(tag: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let space = |b: &u8| b.is_ascii_whitespace();
    let mut at = tag
        .iter()
        .position(|b| space(b) || *b == b'/')
        .unwrap_or(tag.len());
    std::iter::from_fn(move || {
        while tag.get(at).is_some_and(space) {
            at += 1;
        }
        let name_start = at;
        while tag
            .get(at)
            .is_some_and(|b| !space(b) && *b != b'=' && *b != b'/')
        {
            at += 1;
        }
        let name = &tag[name_start..at];
        while tag.get(at).is_some_and(space) {
            at += 1;
        }
        if name.is_empty() || tag.get(at) != Some(&b'=') {
            return None;
        }
        at += 1;
        while tag.get(at).is_some_and(space) {
            at += 1;
        }
        let quote = *tag.get(at).filter(|q| matches!(q, b'"' | b'\''))?;
        let value_start = at + 1;
        let value_end = value_start + tag.get(value_start..)?.iter().position(|&b| b == quote)?;
        at = value_end + 1;
        Some((name, &tag[value_start..value_end]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn deeply_nested_documents_are_refused_without_overflowing_the_stack() {
        let deep = nested(200_000);
        // A small stack: the refusal must not depend on the thread it runs on.
        let result = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(&deep).map(|_| ()))
            .unwrap()
            .join()
            .unwrap();

        assert_eq!(result, Err(XmlError::TooDeep));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse(&nested(MAX_DEPTH + 1)).unwrap_err(),
            XmlError::TooDeep
        );
    }

    #[test]
    fn markup_hidden_in_comments_cdata_and_attributes_does_not_skew_the_depth() {
        // Closing tags inside comments, CDATA, PIs and attribute values must not cancel real
        // opening tags.
        let closers = "</a>".repeat(MAX_DEPTH);
        for hiding in [
            format!("<!--{closers}-->"),
            format!("<![CDATA[{closers}]]>"),
            format!("<?pi {closers}?>"),
            format!("<b x=\"{}\"/>", "/>".repeat(MAX_DEPTH)),
            format!("<b x='>{}'/>", "\"".repeat(3)),
        ] {
            let text = format!(
                "<r>{hiding}{}{}</r>",
                "<a>".repeat(MAX_DEPTH),
                "</a>".repeat(MAX_DEPTH)
            );
            assert_eq!(
                prescan(&text, MAX_DEPTH),
                Err(XmlError::TooDeep),
                "{hiding}"
            );
        }
        let ordinary = "<r a=\"1\" b='>'><x/><!-- <y> --><![CDATA[<z>]]><?p <q>?></r>";
        assert_eq!(prescan(ordinary, 1), Ok(()));
    }

    #[test]
    fn namespace_declarations_are_counted_and_bounded() {
        // Spread over two elements, as each may carry only so many attributes.
        let declare = |range: std::ops::Range<usize>| -> String {
            range.map(|i| format!(" xmlns:n{i}=\"urn:{i}\"")).collect()
        };
        let half = MAX_NAMESPACE_DECLARATIONS / 2;
        let (outer, inner) = (declare(0..half), declare(half..MAX_NAMESPACE_DECLARATIONS));
        assert!(parse(&format!("<r{outer}><s{inner}/></r>")).is_ok());
        let over = format!("<r{outer}><s{inner}><k xmlns=\"urn:k\"/></s></r>");
        assert_eq!(parse(&over).unwrap_err(), XmlError::TooManyNamespaces);
        // Text and attribute values that only look like declarations do not count.
        let lookalikes = format!(
            "<r a='{}'>{}<!--{}--></r>",
            " xmlns:x=\"u\"".repeat(300).replace('\'', ""),
            "xmlns:y=\"u\" ".repeat(300),
            " <e xmlns:z=\"u\"/>".repeat(300)
        );
        assert!(parse(&lookalikes).is_ok());
    }

    #[test]
    fn attributes_are_bounded_per_element_before_parsing() {
        let many = |n: usize| -> String { (0..n).map(|i| format!(" a{i}='{i}'")).collect() };
        assert!(parse(&format!("<r{}><x{}/></r>", many(MAX_ATTRIBUTES), many(3))).is_ok());
        for over in [
            format!("<r{}/>", many(MAX_ATTRIBUTES + 1)),
            format!("<r><x/><x{}></x></r>", many(100_000)),
        ] {
            assert_eq!(parse(&over).unwrap_err(), XmlError::TooManyAttributes);
        }
        // Quotes in text and comments are not attribute values.
        let quoted = format!(
            "<r a='1'>{}<!--{}--></r>",
            "\"x\" ".repeat(500),
            "'".repeat(500)
        );
        assert!(parse(&quoted).is_ok());
    }

    #[test]
    fn a_prefix_bound_to_the_empty_name_is_refused_before_parsing() {
        for xml in [
            "<a xmlns:p=\"urn:x\"><p:b xmlns:p=\"\"/></a>",
            "<a xmlns:p = ''/>",
            "<a\n xmlns:p=\"\"\n/>",
        ] {
            assert!(
                matches!(parse(xml), Err(XmlError::NotWellFormed(_))),
                "{xml}"
            );
        }
        assert!(matches!(
            parse("<a xmlns:xmlns=\"urn:x\"/>"),
            Err(XmlError::NotWellFormed(_))
        ));
        // Undoing the default namespace is allowed.
        assert!(parse("<a xmlns=\"urn:x\"><b xmlns=\"\"/></a>").is_ok());
    }
}
