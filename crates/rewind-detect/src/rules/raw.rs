//! First pass: YAML text to a lenient tree in which every node remembers
//! where it came from.
//!
//! The tree accepts any well-formed YAML, whatever its shape, so that the
//! second pass ([`super::validate`]) can report every wrong field, value and
//! type in one go instead of stopping at the first one, as a derived
//! `Deserialize` with `deny_unknown_fields` would. Positions come from
//! serde-saphyr's [`Spanned`], which records the line and column of each
//! node (keys included); YAML syntax errors carry their own location.
//!
//! Hostile input is bounded by serde-saphyr's budget: at most [`MAX_DEPTH`]
//! levels of nesting (so the recursion here cannot exhaust the stack), and
//! its default limits on the number of nodes, events and alias expansions.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Error as YamlError, Location, Spanned};

use crate::Problem;

/// The deepest nesting accepted. A rules file needs 4 levels (top → `triggers`
/// → rule → `threshold`); the limit bounds the recursion of deserialization,
/// which serde-saphyr's default (64) does not keep within a 2 MiB thread stack
/// in debug builds.
const MAX_DEPTH: usize = 16;

/// A YAML node with its position.
pub(crate) type Node = Spanned<Value>;

/// The value of one YAML node, whatever its shape.
#[derive(Debug)]
pub(crate) enum Value {
    /// `~`, `null` or nothing at all.
    Null,
    /// `true` or `false` (YAML 1.2: `yes`, `on`, `y` stay text).
    Bool(bool),
    /// An integer too large for `i128` arrives as [`Value::Float`].
    Int(i128),
    /// A float, possibly NaN or infinite (`.nan`, `.inf`, `1e400`): validation
    /// reports those with the field's name.
    Float(f64),
    /// A string.
    Text(String),
    /// A sequence.
    List(Vec<Node>),
    /// A mapping, in file order, keys with their own positions.
    Map(Vec<(Node, Node)>),
}

/// Parses `yaml` into a tree, or returns the YAML syntax error as a problem.
pub(crate) fn parse(yaml: &str) -> Result<Node, Problem> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    let options = serde_saphyr::options! {
        budget: Some(budget),
        // `yes`/`no`/`on`/`off` are text, not booleans (the "Norway problem").
        strict_booleans: true,
        // Let `.nan` and `1e400` through, so validation reports them with the field name.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Node>(yaml, options).map_err(|e| syntax_problem(&e))
}

/// 1-based `(line, column)` of a location; `(0, 0)` when unknown.
pub(crate) fn position(at: &Location) -> (usize, usize) {
    let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    (clamp(at.line()), clamp(at.column()))
}

fn syntax_problem(err: &YamlError) -> Problem {
    use serde_saphyr::MessageFormatter as _;

    let (line, column) = err.location().map_or((0, 0), |at| position(&at));
    let inner = original(err);
    let (message, hint) = match inner {
        YamlError::Budget { .. } => (
            "the YAML is too large or nests too deeply for a rules file".to_owned(),
            "a rules file needs only a few levels of nesting: look for runaway brackets or anchors",
        ),
        YamlError::MultipleDocuments { .. } => (
            "the file holds more than one YAML document".to_owned(),
            "a rules file is one document: remove the extra `---` line",
        ),
        YamlError::DuplicateMappingKey { .. } => (
            escape(
                &serde_saphyr::UserMessageFormatter.format_message(inner),
                300,
            ),
            "each field may appear once: remove or rename the repeated one",
        ),
        _ => (
            format!(
                "invalid YAML: {}",
                escape(
                    &serde_saphyr::UserMessageFormatter.format_message(inner),
                    300
                )
            ),
            "fix the YAML syntax here: check the indentation, colons, brackets and quotes",
        ),
    };
    Problem::new(line, column, message).with_hint(hint)
}

/// The error beneath serde-saphyr's snippet and alias wrappers.
fn original(mut err: &YamlError) -> &YamlError {
    while let YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } = err {
        err = error;
    }
    err
}

/// Quotes user text for a message: control characters escaped, long text cut.
pub(crate) fn sanitize(text: &str) -> String {
    escape(text, 80)
}

/// `text` with control characters escaped, cut after `max_chars` characters.
fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    #[allow(clippy::cast_precision_loss)] // beyond i128, a float is as good as it gets
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Text(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
        Err(de::Error::custom(
            "tagged values are not supported in a rules file",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let root = parse("triggers:\n  - name: x\n").unwrap();
        let Value::Map(top) = &root.value else {
            panic!("{root:?}")
        };
        let (key, list) = &top[0];
        assert_eq!(position(&key.referenced), (1, 1));
        let Value::List(items) = &list.value else {
            panic!("{list:?}")
        };
        let Value::Map(rule) = &items[0].value else {
            panic!("{items:?}")
        };
        assert_eq!(position(&rule[0].1.referenced), (2, 11));
    }

    #[test]
    fn yaml_1_1_booleans_stay_text_and_non_finite_floats_pass() {
        let root = parse("a: yes\nb: .nan\nc: 1e400\n").unwrap();
        let Value::Map(top) = &root.value else {
            panic!("{root:?}")
        };
        assert!(matches!(&top[0].1.value, Value::Text(t) if t == "yes"));
        assert!(matches!(&top[1].1.value, Value::Float(f) if f.is_nan()));
        assert!(matches!(&top[2].1.value, Value::Float(f) if f.is_infinite()));
    }

    #[test]
    fn sanitize_escapes_and_cuts() {
        assert_eq!(sanitize("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize(&"x".repeat(100)).chars().count(), 81);
    }
}
