//! The configuration file as a YAML tree, read without a schema: the only place YAML is parsed.
//!
//! Reading never stops at a wrong type, an unknown key or a number too large for 64 bits (those
//! are for the reader of the tree to report, all at once); only text that is not YAML at all
//! is refused. Each scalar keeps its text as written next to what YAML makes of it, so a value
//! given where text is expected is taken exactly as written (`0123`, `1e3` or a 30-digit
//! number stay what the admin typed).
//!
//! The file is read twice: once for the shape and kinds (`deserialize_any`), once more for the
//! text of each scalar (`deserialize_str`, which YAML answers for any scalar), led by the shape.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, `~`, or nothing after the colon.
    Null,
    /// A value: what YAML makes of it, and its text.
    Scalar { kind: Scalar, text: String },
    /// A sequence.
    List(Vec<Node>),
    /// A mapping, in file order; duplicate keys are kept for the reader to report.
    Map(Vec<(Node, Node)>),
    /// A node with an application tag (`!name ...`), which no setting takes.
    Tagged(String),
}

/// What YAML makes of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number of at most 128 bits (signed).
    Int(i128),
    /// A whole number beyond 128 bits.
    HugeInt,
    /// A number with a fraction or exponent, or one too large for the whole numbers.
    Float(f64),
    /// Anything else, quoted or not.
    Text,
}

impl Node {
    /// What the node is, for messages that must not quote values.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Null => "nothing",
            Self::Scalar {
                kind: Scalar::Bool(_),
                ..
            } => "true/false",
            Self::Scalar {
                kind: Scalar::Int(_) | Scalar::HugeInt | Scalar::Float(_),
                ..
            } => "a number",
            Self::Scalar {
                kind: Scalar::Text, ..
            } => "text",
            Self::List(_) => "a list",
            Self::Map(_) => "a mapping",
            Self::Tagged(_) => "a tagged value",
        }
    }

    /// The text of a scalar.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Self::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Parses a document; an empty one is [`Node::Null`].
///
/// The error names the place in the file and never a value (YAML reports a value that does
/// not fit its `!!int`-style tag by quoting it, so that message is replaced).
pub fn parse(text: &str) -> Result<Node, String> {
    // YAML allows a byte-order mark before the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    NODES.with(|nodes| nodes.set(0));
    let mut node = Node::deserialize_shape(serde_yaml::Deserializer::from_str(text))
        .map_err(|err| describe(&err))?;
    if node != Node::Null {
        Fill(&mut node)
            .deserialize(serde_yaml::Deserializer::from_str(text))
            .map_err(|err| describe(&err))?;
    }
    Ok(node)
}

fn describe(err: &serde_yaml::Error) -> String {
    let message = err.to_string();
    // serde's type and value errors quote the value; the YAML syntax errors do not.
    if !message.contains("invalid type") && !message.contains("invalid value") {
        return message;
    }
    let place = match err.location() {
        Some(at) => format!(" at line {} column {}", at.line(), at.column()),
        None => String::new(),
    };
    format!(
        "a value{place} does not match its tag (such as !!int or !!bool); remove the tag or \
         fix the value"
    )
}

/// The most nodes a configuration may hold once its aliases are expanded: far more than any
/// real file (a thousand connections are some thirty thousand), far fewer than one anchor
/// named thousands of times would expand to.
pub const MAX_NODES: usize = 200_000;

thread_local! {
    /// Nodes read so far by [`parse`] on this thread.
    static NODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Node {
    fn deserialize_shape<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let read = NODES.with(|nodes| {
            nodes.set(nodes.get() + 1);
            nodes.get()
        });
        if read > MAX_NODES {
            return Err(de::Error::custom(format!(
                "the file expands to more than {MAX_NODES} values (aliases repeat what their \
                 anchor holds); write it out without so many aliases"
            )));
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
}

/// First pass: the shape and the kind of every scalar (text is filled in by [`Fill`]).
struct ShapeVisitor;

impl<'de> de::Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Node::deserialize_shape(deserializer)
    }
}

fn scalar(kind: Scalar) -> Node {
    Node::Scalar {
        kind,
        text: String::new(),
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
        Ok(scalar(Scalar::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
        Ok(scalar(Scalar::Int(value.into())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
        Ok(scalar(Scalar::Int(value.into())))
    }

    fn visit_i128<E>(self, value: i128) -> Result<Node, E> {
        Ok(scalar(Scalar::Int(value)))
    }

    fn visit_u128<E>(self, value: u128) -> Result<Node, E> {
        Ok(scalar(
            i128::try_from(value).map_or(Scalar::HugeInt, Scalar::Int),
        ))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Node, E> {
        Ok(scalar(Scalar::Float(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Scalar {
            kind: Scalar::Text,
            text: value.to_owned(),
        })
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize_shape(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let (tag, content) = data.variant::<String>()?;
        content.newtype_variant::<IgnoredAny>()?;
        Ok(Node::Tagged(tag))
    }
}

/// Second pass: walks the document along the shape of the first and stores each scalar's text.
struct Fill<'a>(&'a mut Node);

impl<'de> DeserializeSeed<'de> for Fill<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.0 {
            Node::Scalar { text, .. } => {
                *text = deserializer.deserialize_str(TextVisitor)?;
                Ok(())
            }
            Node::List(items) => deserializer.deserialize_seq(FillList(items)),
            Node::Map(entries) => deserializer.deserialize_map(FillMap(entries)),
            Node::Null | Node::Tagged(_) => {
                deserializer.deserialize_ignored_any(IgnoredAny)?;
                Ok(())
            }
        }
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_str<E>(self, value: &str) -> Result<String, E> {
        Ok(value.to_owned())
    }
}

fn shape_changed<E: de::Error>() -> E {
    E::custom("the document changed between two readings")
}

struct FillList<'a>(&'a mut [Node]);

impl<'de> Visitor<'de> for FillList<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for item in self.0.iter_mut() {
            seq.next_element_seed(Fill(item))?
                .ok_or_else(shape_changed::<A::Error>)?;
        }
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(shape_changed()),
        }
    }
}

struct FillMap<'a>(&'a mut [(Node, Node)]);

impl<'de> Visitor<'de> for FillMap<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        for (key, value) in self.0.iter_mut() {
            map.next_key_seed(Fill(key))?
                .ok_or_else(shape_changed::<A::Error>)?;
            map.next_value_seed(Fill(value))?;
        }
        match map.next_key::<IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(shape_changed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(node: &Node) -> (&'static str, &str) {
        (node.kind_name(), node.scalar_text().unwrap_or("-"))
    }

    #[test]
    fn scalars_keep_their_text_and_kind() {
        let doc = parse(
            "a: 0x1F\nb: 918273645546372819283746556473\nc: 3.14159265358979323846\n\
             d: true\ne: \"x\"\nf:\ng: 340282366920938463463374607431768211455\nh: -7\n",
        )
        .unwrap();
        let Node::Map(entries) = doc else {
            panic!("{doc:?}")
        };
        let found: Vec<_> = entries.iter().map(|(_, value)| text(value)).collect();
        assert_eq!(
            found,
            [
                ("a number", "0x1F"),
                ("a number", "918273645546372819283746556473"),
                ("a number", "3.14159265358979323846"),
                ("true/false", "true"),
                ("text", "x"),
                ("nothing", "-"),
                ("a number", "340282366920938463463374607431768211455"),
                ("a number", "-7"),
            ]
        );
        assert!(matches!(
            entries[1].1,
            Node::Scalar {
                kind: Scalar::Int(918273645546372819283746556473),
                ..
            }
        ));
        assert!(matches!(
            entries[6].1,
            Node::Scalar {
                kind: Scalar::HugeInt,
                ..
            }
        ));
    }

    #[test]
    fn aliases_expanding_past_the_bound_are_refused_quickly() {
        let items = vec!["x"; 2000].join(", ");
        let refs = vec!["*b"; 2000].join(", ");
        let text = format!("big: &b [{items}]\nrefs: [{refs}]\n");
        let started = std::time::Instant::now();
        let err = parse(&text).unwrap_err();
        assert!(err.contains("aliases"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // A few aliases are fine, and a byte-order mark before the document too.
        let text = "\u{feff}a: &k [1, 2]\nb: *k\n";
        assert!(parse(text).is_ok());
    }

    #[test]
    fn aliases_lists_tags_and_duplicates_are_kept_for_the_reader() {
        let doc = parse("a: &k [1, {x: y}]\nb: *k\nc: !custom value\na: again\n").unwrap();
        let Node::Map(entries) = doc else {
            panic!("{doc:?}")
        };
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].1, entries[1].1);
        assert_eq!(entries[2].1, Node::Tagged("custom".into()));
        assert_eq!(entries[3].0.scalar_text(), Some("a"));
    }

    #[test]
    fn empty_documents_are_null_and_broken_yaml_is_refused_without_its_values() {
        assert_eq!(parse("").unwrap(), Node::Null);
        assert_eq!(parse("# only a comment\n").unwrap(), Node::Null);
        assert!(parse("server:\n\tlisten: x\n").is_err());
        let err = parse("server:\n  session_key: !!int hunter2-secret-value\n").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }
}
