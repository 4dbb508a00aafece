//! The JSON dialect spoken with the Host Compute Service.
//!
//! Encoding follows Go's `encoding/json` as hcsshim v0.6.3 used it: fields in
//! declaration order, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u` codes,
//! control characters other than `\n`, `\r` and `\t` written as `\u00XX`.
//!
//! Decoding follows HCS (and Go): object keys match struct fields without
//! regard to case, unknown keys are ignored, `null` leaves a field at its
//! zero value and a repeated key overrides the earlier one.

use std::io;

use serde::{
    de::{
        self,
        value::{MapDeserializer, SeqDeserializer},
        IntoDeserializer, Visitor,
    },
    forward_to_deserialize_any, Serialize,
};
use serde_json::{
    ser::{CharEscape, CompactFormatter, Formatter},
    Map, Value,
};

/// Encodes `value` as hcsshim v0.6.3 would.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    to_writer(&mut out, value)?;
    // The formatter writes only UTF-8: serde_json checks string fragments and
    // every escape it adds is ASCII.
    Ok(String::from_utf8(out).expect("JSON output is UTF-8"))
}

/// Encodes `value` into `writer` as hcsshim v0.6.3 would.
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoFormatter);
    value.serialize(&mut ser)
}

/// Decodes a document the way HCS reads one.
pub fn from_str<T: de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let value: Value = serde_json::from_str(text)?;
    from_value(value)
}

/// Decodes an already parsed document the way HCS reads one.
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> serde_json::Result<T> {
    T::deserialize(Folded(value))
}

/// Rewrites a JSON text compactly with Go's escaping, as Go does when it
/// encodes a `json.RawMessage`. `raw` must be valid JSON.
pub(crate) fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            if escaped {
                escaped = false;
                out.push(c);
                continue;
            }
            match c {
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                c => match go_escape(c) {
                    Some(esc) => out.push_str(esc),
                    None => out.push(c),
                },
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The characters Go escapes beyond what JSON requires.
fn go_escape(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        _ => None,
    }
}

/// serde_json's compact output with Go's choice of escapes.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if let Some(esc) = go_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                writer.write_all(esc.as_bytes())?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // Go has short escapes only for `\n`, `\r` and `\t`.
        match char_escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(writer, other),
        }
    }
}

/// A parsed document whose objects match struct fields regardless of case.
struct Folded(Value);

impl Folded {
    /// Renames the keys of `map` to the struct field they fold to, drops
    /// `null`s and keeps the last of repeated keys.
    fn fold_keys(
        map: Map<String, Value>,
        fields: &'static [&'static str],
    ) -> Vec<(String, Folded)> {
        let mut entries: Vec<(String, Folded)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            if value.is_null() {
                continue;
            }
            let key = match fields.iter().find(|f| **f == key) {
                Some(field) => (*field).to_owned(),
                None => fields
                    .iter()
                    .find(|f| eq_fold(f, &key))
                    .map_or(key, |f| (*f).to_owned()),
            };
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = Folded(value),
                None => entries.push((key, Folded(value))),
            }
        }
        entries
    }
}

/// Case-insensitive comparison with Unicode simple case folding, as Go's
/// `bytes.EqualFold` which `encoding/json` uses for field names.
fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Folded {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Folded {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Folded));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let mut access = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Folded(v))));
                let value = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(value)
            }
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Object(map) => {
                let mut access = MapDeserializer::new(Self::fold_keys(map, fields).into_iter());
                let value = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(value)
            }
            other => de::Deserializer::deserialize_struct(other, name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

/// `skip_serializing_if` for Go's `omitempty` on scalars.
pub(crate) fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[test]
    fn escapes_like_go() {
        let s = "<a> & \u{2028}\u{2029} \u{8}\u{c}\n\r\t\u{1} \"q\" \\ é";
        assert_eq!(
            to_string(s).unwrap(),
            r#""\u003ca\u003e \u0026 \u2028\u2029 \u0008\u000c\n\r\t\u0001 \"q\" \\ é""#
        );
    }

    #[test]
    fn map_keys_are_escaped_and_sorted() {
        let map: BTreeMap<String, String> = [("b&", "1"), ("a<", "2"), ("B", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            to_string(&map).unwrap(),
            r#"{"B":"3","a\u003c":"2","b\u0026":"1"}"#
        );
    }

    #[test]
    fn compact_strips_space_and_escapes_like_go() {
        let raw = "{ \"a\" : [1, 2],\n \"b\": \"x <y> \\\" & z\u{2028}\" }";
        assert_eq!(
            compact(raw),
            r#"{"a":[1,2],"b":"x \u003cy\u003e \" \u0026 z\u2028"}"#
        );
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, rename_all = "PascalCase")]
    struct Sample {
        name: String,
        read_only: bool,
        inner: Option<Inner>,
        list: Vec<Inner>,
        env: BTreeMap<String, String>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, rename_all = "PascalCase")]
    struct Inner {
        count: u32,
    }

    #[test]
    fn keys_match_fields_regardless_of_case() {
        let s: Sample = from_str(
            r#"{"NAME":"n","readonly":true,"inner":{"COUNT":3},"lIsT":[{"count":1}],"Env":{"Path":"x","path":"y"}}"#,
        )
        .unwrap();
        assert_eq!(s.name, "n");
        assert!(s.read_only);
        assert_eq!(s.inner, Some(Inner { count: 3 }));
        assert_eq!(s.list, vec![Inner { count: 1 }]);
        // Map keys are data, not field names: they keep their case.
        assert_eq!(s.env.len(), 2);
        assert_eq!(s.env["Path"], "x");
    }

    #[test]
    fn unknown_keys_are_ignored_and_null_leaves_zero() {
        let s: Sample =
            from_str(r#"{"Name":null,"Whatever":{"deep":[1]},"List":null,"ReadOnly":null}"#)
                .unwrap();
        assert_eq!(s, Sample::default());
    }

    #[test]
    fn last_repeated_key_wins_even_across_case() {
        let s: Sample = from_str(r#"{"Name":"first","name":"second"}"#).unwrap();
        assert_eq!(s.name, "second");
    }

    #[test]
    fn exact_match_is_preferred_over_folded_match() {
        #[derive(Deserialize)]
        struct Two {
            #[serde(rename = "Key")]
            upper: Option<u32>,
            #[serde(rename = "key")]
            lower: Option<u32>,
        }
        let t: Two = from_str(r#"{"key":1,"Key":2}"#).unwrap();
        assert_eq!((t.upper, t.lower), (Some(2), Some(1)));
    }

    #[test]
    fn type_errors_are_reported() {
        assert!(from_str::<Sample>(r#"{"ReadOnly":"yes"}"#).is_err());
        assert!(from_str::<Inner>(r#"{"Count":-1}"#).is_err());
        assert!(from_str::<Inner>(r#"{"Count":4294967296}"#).is_err());
    }
}
