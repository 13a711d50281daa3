//! Parsing untrusted XML (SAML responses, IdP metadata) into a read-only tree.
//!
//! roxmltree descends one call per nested element with no limit of its own, so a few
//! kilobytes of `<a><a><a>…` overflow a worker thread's stack and abort the whole daemon. The
//! nesting depth is therefore measured first with a flat scan, and the parser only ever sees
//! documents whose depth is bounded. DTDs stay refused (roxmltree's default).

/// Deeper than any SAML response or metadata document (they nest about ten elements deep),
/// shallow enough for the smallest thread stack the daemon runs on.
pub const MAX_DEPTH: usize = 100;

/// Why a document was not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Elements nest deeper than [`MAX_DEPTH`].
    #[error("elements nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The document is not well-formed (or declares a DTD).
    #[error("not well-formed XML: {0}")]
    NotWellFormed(String),
}

/// Parses `text` after checking that its elements nest at most [`MAX_DEPTH`] deep.
pub fn parse(text: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    if nesting_exceeds(text, MAX_DEPTH) {
        return Err(XmlError::TooDeep);
    }
    roxmltree::Document::parse(text).map_err(|err| XmlError::NotWellFormed(err.to_string()))
}

/// Whether elements nest deeper than `limit`, by a scan that reads markup the way an XML
/// parser does (comments, CDATA, processing instructions and quoted attribute values hide
/// `<` and `>`) without recursing. On a well-formed prefix it counts exactly the parser's
/// depth; past a syntax error the parser stops anyway.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let find = |from: usize, needle: &[u8]| {
        bytes
            .get(from..)
            .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
            .map(|at| from + at + needle.len())
    };
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'<' {
            at += 1;
            continue;
        }
        let rest = &bytes[at..];
        let skip_to = if rest.starts_with(b"<!--") {
            find(at + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(at + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            find(at + 2, b"?>")
        } else if rest.starts_with(b"<!") {
            find(at + 2, b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            find(at + 2, b">")
        } else {
            // A start tag: find its end outside quoted attribute values.
            let mut quote = None;
            let mut end = None;
            for (offset, &byte) in rest.iter().enumerate().skip(1) {
                match (quote, byte) {
                    (Some(open), _) if byte == open => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(byte),
                    (None, b'>') => {
                        end = Some(offset);
                        break;
                    }
                    (None, _) => {}
                }
            }
            match end {
                Some(offset) => {
                    if rest[offset - 1] != b'/' {
                        depth += 1;
                        if depth > limit {
                            return true;
                        }
                    }
                    Some(at + offset + 1)
                }
                None => None,
            }
        };
        match skip_to {
            Some(next) => at = next,
            None => break,
        }
    }
    false
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
            assert!(nesting_exceeds(&text, MAX_DEPTH), "{hiding}");
        }
        let ordinary = "<r a=\"1\" b='>'><x/><!-- <y> --><![CDATA[<z>]]><?p <q>?></r>";
        assert!(!nesting_exceeds(ordinary, 1));
    }
}
