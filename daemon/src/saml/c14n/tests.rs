//! Exclusive c14n on small documents whose canonical form is worked out by hand from the
//! recommendation; `dsig`'s tests check agreement with xmlsec's canonicaliser on signed ones.

use super::*;

fn canonical(xml: &str, apex_name: &str, prefixes: &[&str]) -> String {
    canonical_with(xml, apex_name, Mode::Exclusive, false, prefixes)
}

fn canonical_with(
    xml: &str,
    apex_name: &str,
    mode: Mode,
    with_comments: bool,
    prefixes: &[&str],
) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let apex = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == apex_name)
        .unwrap();
    let exclude = apex
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Skip")
        .map(|n| n.id());
    let mut out = Vec::new();
    canonicalize(
        &Subtree {
            apex,
            exclude,
            mode,
            with_comments,
            inclusive_prefixes: prefixes,
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn only_visibly_used_namespaces_are_rendered_on_the_apex() {
    let xml = concat!(
        r#"<r:Root xmlns:r="urn:r" xmlns:unused="urn:u" xmlns="urn:d">"#,
        r#"<a:A xmlns:a="urn:a" b="1"/></r:Root>"#
    );
    assert_eq!(
        canonical(xml, "A", &[]),
        r#"<a:A xmlns:a="urn:a" b="1"></a:A>"#
    );
    assert_eq!(
        canonical(xml, "Root", &[]),
        r#"<r:Root xmlns:r="urn:r"><a:A xmlns:a="urn:a" b="1"></a:A></r:Root>"#
    );
}

#[test]
fn inherited_default_namespace_is_rendered_once() {
    let xml = r#"<Root xmlns="urn:d"><Child><Leaf/></Child></Root>"#;
    assert_eq!(
        canonical(xml, "Child", &[]),
        r#"<Child xmlns="urn:d"><Leaf></Leaf></Child>"#
    );
}

#[test]
fn an_undone_default_namespace_is_rendered_as_empty() {
    let xml = r#"<Root xmlns="urn:d"><Inner xmlns=""><Leaf/></Inner></Root>"#;
    assert_eq!(
        canonical(xml, "Root", &[]),
        r#"<Root xmlns="urn:d"><Inner xmlns=""><Leaf></Leaf></Inner></Root>"#
    );
    // Without a rendered default above it, no `xmlns=""` is needed.
    assert_eq!(
        canonical(xml, "Inner", &[]),
        r#"<Inner><Leaf></Leaf></Inner>"#
    );
}

#[test]
fn attributes_sort_by_namespace_then_name_and_declarations_by_prefix() {
    let xml = r#"<e xmlns:z="urn:a" xmlns:a="urn:z" z:b="1" a:a="2" c="3" b="4"/>"#;
    assert_eq!(
        canonical(xml, "e", &[]),
        r#"<e xmlns:a="urn:z" xmlns:z="urn:a" b="4" c="3" z:b="1" a:a="2"></e>"#
    );
}

#[test]
fn a_redeclared_prefix_is_rendered_again_only_when_its_value_changes() {
    let xml = r#"<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"><p:c xmlns:p="urn:2"/></p:b></p:a>"#;
    assert_eq!(
        canonical(xml, "a", &[]),
        r#"<p:a xmlns:p="urn:1"><p:b><p:c xmlns:p="urn:2"></p:c></p:b></p:a>"#
    );
}

#[test]
fn inclusive_prefixes_are_rendered_when_in_scope_though_unused() {
    let xml = r#"<Root xmlns:xs="urn:xs" xmlns:xsi="urn:xsi"><V xsi:type="xs:string">x</V></Root>"#;
    assert_eq!(
        canonical(xml, "V", &[]),
        r#"<V xmlns:xsi="urn:xsi" xsi:type="xs:string">x</V>"#
    );
    assert_eq!(
        canonical(xml, "V", &["xs"]),
        r#"<V xmlns:xs="urn:xs" xmlns:xsi="urn:xsi" xsi:type="xs:string">x</V>"#
    );
}

#[test]
fn text_and_attribute_values_are_escaped_as_the_recommendation_says() {
    let xml = "<e a=\"&lt;&amp;&quot;&#9;&#10;&#13;>'\">&lt;&amp;&gt;\"'&#13;<![CDATA[<x>&]]></e>";
    assert_eq!(
        canonical(xml, "e", &[]),
        "<e a=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;>'\">&lt;&amp;&gt;\"'&#xD;&lt;x&gt;&amp;</e>"
    );
}

#[test]
fn literal_whitespace_in_attributes_and_line_ends_are_normalised_by_the_parser() {
    let xml = "<e a=\"x\ty\nz\">one\r\ntwo\rthree</e>";
    assert_eq!(
        canonical(xml, "e", &[]),
        "<e a=\"x y z\">one\ntwo\nthree</e>"
    );
}

#[test]
fn comments_are_dropped_and_processing_instructions_kept() {
    let xml = "<e><!-- note --><?pi some data?><?bare?>t</e>";
    assert_eq!(canonical(xml, "e", &[]), "<e><?pi some data?><?bare?>t</e>");
}

#[test]
fn the_excluded_element_leaves_its_whitespace_neighbours() {
    let xml = "<e ID=\"x\">\n  <Skip><deep/></Skip>\n  <k/>\n</e>";
    assert_eq!(
        canonical(xml, "e", &[]),
        "<e ID=\"x\">\n  \n  <k></k>\n</e>"
    );
}

#[test]
fn xml_prefixed_attributes_are_kept_without_a_declaration() {
    let xml = r#"<e xml:lang="en"><f/></e>"#;
    assert_eq!(canonical(xml, "e", &[]), r#"<e xml:lang="en"><f></f></e>"#);
}

#[test]
fn default_in_the_prefix_list_undoes_a_rendered_default_on_a_prefixed_element() {
    let xml = r#"<R xmlns="urn:d" xmlns:p="urn:p"><S><p:e xmlns=""><p:f/></p:e></S></R>"#;
    assert_eq!(
        canonical(xml, "S", &["#default"]),
        r#"<S xmlns="urn:d"><p:e xmlns="" xmlns:p="urn:p"><p:f></p:f></p:e></S>"#
    );
}

#[test]
fn inclusive_mode_renders_every_namespace_in_scope_and_inherits_xml_attributes() {
    let xml = concat!(
        r#"<R xmlns="urn:d" xmlns:u="urn:u" xml:lang="en" xml:space="preserve">"#,
        r#"<S xml:lang="fr"><p:e xmlns:p="urn:p" xmlns=""/></S></R>"#
    );
    assert_eq!(
        canonical_with(xml, "S", Mode::Inclusive, false, &[]),
        concat!(
            r#"<S xmlns="urn:d" xmlns:u="urn:u" xml:lang="fr" xml:space="preserve">"#,
            r#"<p:e xmlns="" xmlns:p="urn:p"></p:e></S>"#
        )
    );
}

#[test]
fn comments_are_kept_only_when_asked() {
    let xml = "<e><!-- a --><f/><!--b--></e>";
    assert_eq!(canonical(xml, "e", &[]), "<e><f></f></e>");
    assert_eq!(
        canonical_with(xml, "e", Mode::Exclusive, true, &[]),
        "<e><!-- a --><f></f><!--b--></e>"
    );
}

#[test]
fn escaping_between_plain_runs_keeps_every_byte_in_place() {
    let xml = concat!(
        "<e a=\"&amp;x&lt;&lt;y&quot;&#9;z&#10;é&#13;\">",
        "&amp;ä&lt;&gt;b&#13;&#13;ü\t\n&gt;</e>"
    );
    assert_eq!(
        canonical(xml, "e", &[]),
        concat!(
            "<e a=\"&amp;x&lt;&lt;y&quot;&#x9;z&#xA;é&#xD;\">",
            "&amp;ä&lt;&gt;b&#xD;&#xD;ü\t\n&gt;</e>"
        )
    );
}

/// Section 2.3 of Canonical XML byte by byte, to check the run-copying escapes against.
fn escaped_byte_by_byte(text: &str, attribute: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for byte in text.bytes() {
        match (byte, attribute) {
            (b'&', _) => out.extend_from_slice(b"&amp;"),
            (b'<', _) => out.extend_from_slice(b"&lt;"),
            (b'>', false) => out.extend_from_slice(b"&gt;"),
            (b'"', true) => out.extend_from_slice(b"&quot;"),
            (b'\t', true) => out.extend_from_slice(b"&#x9;"),
            (b'\n', true) => out.extend_from_slice(b"&#xA;"),
            (b'\r', _) => out.extend_from_slice(b"&#xD;"),
            (other, _) => out.push(other),
        }
    }
    out
}

proptest::proptest! {
    #[test]
    fn escapes_match_the_recommendation_byte_by_byte(
        text in "[a&<>\"'\t\n\r é€😀]{0,40}",
        prefix in "[a-z]{0,3}",
    ) {
        let mut out = prefix.clone().into_bytes();
        escape_text(&text, &mut out);
        let mut expected = prefix.clone().into_bytes();
        expected.extend(escaped_byte_by_byte(&text, false));
        proptest::prop_assert_eq!(&out, &expected);

        let mut out = prefix.clone().into_bytes();
        escape_attribute(&text, &mut out);
        let mut expected = prefix.into_bytes();
        expected.extend(escaped_byte_by_byte(&text, true));
        proptest::prop_assert_eq!(out, expected);
    }
}
