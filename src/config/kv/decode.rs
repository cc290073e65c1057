//! A serde `Deserializer` over the key tree, so the file provider's raw structs
//! (and their `deny_unknown_fields`) read a KV store unchanged. The rules are
//! Traefik's (its shared key-value decoder, paerser):
//! - a segment names a struct field case-insensitively (`loadbalancer` →
//!   `loadBalancer`); map keys (router names, header names) stay as written;
//! - numbered segments (`servers/0/url`, `entryPoints/1`) make a list, in index
//!   order; a list of scalars may also be one value, comma-separated;
//! - every value is text, parsed when the field asks for a type (`true`, `1`,
//!   `10s`), booleans as Go's `strconv.ParseBool`;
//! - a struct given as a value (`tls = true` or empty) is an empty struct.
//!
//! Errors carry the store key of the node they arose at.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::tree::Node;

/// A refused value, with the full store key it was found at.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// Empty until the error bubbles up through the node it arose at.
    pub key: String,
    pub reason: String,
}

impl DecodeError {
    fn at(mut self, key: &str) -> Self {
        if self.key.is_empty() {
            self.key = key.to_string();
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError {
            key: String::new(),
            reason: msg.to_string(),
        }
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

/// Deserializes one node (and what is below it).
pub struct NodeDe<'a>(pub &'a Node);

impl<'a> NodeDe<'a> {
    fn value(&self) -> Result<&'a str> {
        match (&self.0.value, self.0.children.is_empty()) {
            (Some(v), true) => Ok(v),
            _ => Err(de::Error::custom("expected a value, found a table of keys")),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T> {
        let v = self.value()?;
        v.parse()
            .map_err(|_| de::Error::custom(format!("invalid {what} {v:?}")))
    }

    /// Whether the node's children are all numbered (a list).
    fn is_list(&self) -> bool {
        !self.0.children.is_empty() && self.0.children.iter().all(|c| is_index(&c.name))
    }

    /// A value standing for an empty table: `""` or `true`, as Traefik allows
    /// for options without keys (`tls = true`).
    fn empty_table(&self) -> Result<()> {
        match self.0.value.as_deref() {
            Some(v) if v.is_empty() || v.eq_ignore_ascii_case("true") => Ok(()),
            Some(v) => Err(de::Error::custom(format!(
                "expected a table of keys (or `true` for an empty one), found {v:?}"
            ))),
            None => Ok(()),
        }
    }
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

macro_rules! number {
    ($($method:ident $visit:ident $ty:ty, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.$visit(self.parse::<$ty>($what)?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DecodeError;

    /// Self-describing only as far as text goes: a value is a string, numbered
    /// children a list, other children a table.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0.children.is_empty() {
            visitor.visit_str(self.0.value.as_deref().unwrap_or(""))
        } else if self.is_list() {
            self.deserialize_seq(visitor)
        } else {
            self.deserialize_map(visitor)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.value()?;
        let b = parse_bool(v)
            .ok_or_else(|| de::Error::custom(format!("invalid boolean {v:?} (true or false)")))?;
        visitor.visit_bool(b)
    }

    number! {
        deserialize_i8 visit_i8 i8, "integer";
        deserialize_i16 visit_i16 i16, "integer";
        deserialize_i32 visit_i32 i32, "integer";
        deserialize_i64 visit_i64 i64, "integer";
        deserialize_u8 visit_u8 u8, "unsigned integer";
        deserialize_u16 visit_u16 u16, "unsigned integer";
        deserialize_u32 visit_u32 u32, "unsigned integer";
        deserialize_u64 visit_u64 u64, "unsigned integer";
        deserialize_f32 visit_f32 f32, "number";
        deserialize_f64 visit_f64 f64, "number";
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_str(self.value()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bytes(self.value()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    /// A key that exists is a value given.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0.children.is_empty() {
            // One value, comma-separated (Traefik joins numbered scalars this way).
            let v = self.0.value.as_deref().unwrap_or("");
            let items: Vec<&str> = if v.is_empty() {
                Vec::new()
            } else {
                v.split(',').collect()
            };
            return visitor.visit_seq(de::value::SeqDeserializer::new(
                items.into_iter().map(ScalarDe),
            ));
        }
        if !self.is_list() {
            let first = self.0.children.iter().find(|c| !is_index(&c.name));
            let name = first.map_or("", |c| c.name.as_str());
            return Err(de::Error::custom(format!(
                "expected a list (numbered keys 0, 1, …), found key `{name}`"
            )));
        }
        let mut items: Vec<(u64, &Node)> = self
            .0
            .children
            .iter()
            .map(|c| (c.name.parse().unwrap_or(u64::MAX), c))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        visitor.visit_seq(Items(items.into_iter().map(|(_, n)| n)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.empty_table()?;
        visitor.visit_map(Entries {
            nodes: self.0.children.iter(),
            fields: &[],
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.empty_table()?;
        visitor.visit_map(Entries {
            nodes: self.0.children.iter(),
            fields,
            value: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self.value()?.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

/// A list's numbered nodes, in index order.
struct Items<I>(I);

impl<'de, 'a, I: Iterator<Item = &'a Node>> SeqAccess<'de> for Items<I> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let Some(node) = self.0.next() else {
            return Ok(None);
        };
        seed.deserialize(NodeDe(node))
            .map(Some)
            .map_err(|e| e.at(&node.key))
    }
}

/// A table's children as map entries. For a struct, a key is given as the
/// field it names case-insensitively, or as written (so `deny_unknown_fields`
/// refuses it).
struct Entries<'a, I> {
    nodes: I,
    fields: &'static [&'static str],
    value: Option<&'a Node>,
}

impl<'de, 'a, I: Iterator<Item = &'a Node>> MapAccess<'de> for Entries<'a, I> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(node) = self.nodes.next() else {
            return Ok(None);
        };
        self.value = Some(node);
        let field = self
            .fields
            .iter()
            .find(|f| f.eq_ignore_ascii_case(&node.name));
        let key = field.copied().unwrap_or(node.name.as_str());
        seed.deserialize(ScalarDe(key))
            .map(Some)
            .map_err(|e| e.at(&node.key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let node = self.value.take().expect("serde asks a value after its key");
        seed.deserialize(NodeDe(node)).map_err(|e| e.at(&node.key))
    }
}

/// One piece of text: a map key, or an item of a comma-separated list.
struct ScalarDe<'a>(&'a str);

impl<'de> IntoDeserializer<'de, DecodeError> for ScalarDe<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for ScalarDe<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    /// List items are scalars of any type: reuse the node's parsing.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        NodeDe(&leaf(self.0)).deserialize_bool(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        NodeDe(&leaf(self.0)).deserialize_i64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        NodeDe(&leaf(self.0)).deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        NodeDe(&leaf(self.0)).deserialize_u32(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        NodeDe(&leaf(self.0)).deserialize_u16(visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

fn leaf(v: &str) -> Node {
    Node {
        value: Some(v.to_string()),
        ..Node::default()
    }
}
