//! Shared tools of the second pass: collecting problems, looking up fields,
//! and reading text and numbers out of the lenient tree.

use serde_saphyr::Location;

use super::raw::{Node, Value, position, sanitize};
use super::suggest;
use crate::{Pattern, Problem};

/// The longest duration that fits in `i64` nanoseconds (about 292 years).
const MAX_SECONDS: f64 = 9_223_372_036.0;

/// Collects problems while the tree is checked.
#[derive(Debug)]
pub(crate) struct Checker<'y> {
    yaml: &'y str,
    problems: Vec<Problem>,
}

/// The fields of one mapping, looked up by name.
#[derive(Debug)]
pub(crate) struct Fields<'n> {
    /// Known fields only: name, key node, value node.
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    /// Known names suggested for unknown fields ("did you mean"): such a
    /// field is not reported again as missing.
    suggested: Vec<String>,
}

impl<'n> Fields<'n> {
    /// The value of field `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
    }

    /// Whether an unknown field was reported as a likely typo of `name`.
    pub(crate) fn was_suggested(&self, name: &str) -> bool {
        self.suggested.iter().any(|s| s == name)
    }

    /// The known fields present, in file order: name, key node, value node.
    pub(crate) fn present(&self) -> &[(&'n str, &'n Node, &'n Node)] {
        &self.entries
    }

    /// The value of field `name`, unless it is absent or null.
    pub(crate) fn get_some(&self, name: &str) -> Option<&'n Node> {
        self.get(name).filter(|v| !matches!(v.value, Value::Null))
    }
}

impl<'y> Checker<'y> {
    /// A checker for the tree parsed from `yaml`.
    pub(crate) fn new(yaml: &'y str) -> Self {
        Self {
            yaml,
            problems: Vec::new(),
        }
    }

    /// The problems found, in file order.
    pub(crate) fn finish(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|p| (p.line, p.column));
        self.problems
    }

    /// Records a problem at `at`.
    pub(crate) fn report(
        &mut self,
        at: &Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let (line, column) = position(at);
        self.problems
            .push(Problem::new(line, column, message).with_hint(hint));
    }

    /// The fields of a mapping; reports keys that are not text or not in `known`.
    pub(crate) fn fields<'n>(&mut self, entries: &'n [(Node, Node)], known: &[&str]) -> Fields<'n> {
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
            suggested: Vec::new(),
        };
        for (key, value) in entries {
            let Value::Text(name) = &key.value else {
                let found = self.describe(key);
                self.report(
                    &key.referenced,
                    format!("a field name must be text, found {found}"),
                    list_hint(known),
                );
                continue;
            };
            if known.contains(&name.as_str()) {
                fields.entries.push((name.as_str(), key, value));
                continue;
            }
            let hint = match suggest::closest(name, known) {
                Some(close) => {
                    fields.suggested.push(close.to_owned());
                    format!("did you mean `{close}`? {}", list_hint(known))
                }
                None => list_hint(known),
            };
            self.report(
                &key.referenced,
                format!("unknown field `{}`", sanitize(name)),
                hint,
            );
        }
        fields
    }

    /// Field `name` of a mapping at `at`, reporting it as missing (or empty)
    /// when absent or null, unless a misspelling of it was already reported.
    pub(crate) fn required<'n>(
        &mut self,
        fields: &Fields<'n>,
        at: &Location,
        name: &str,
        hint: &str,
    ) -> Option<&'n Node> {
        match fields.get(name) {
            None if fields.was_suggested(name) => {}
            None => self.report(at, format!("missing required field `{name}`"), hint),
            Some(node) if matches!(node.value, Value::Null) => {
                self.report(
                    &node.referenced,
                    format!("field `{name}` has no value"),
                    hint,
                );
            }
            Some(node) => return Some(node),
        }
        None
    }

    /// The text of `node`, the value of field `field`; reports anything else.
    pub(crate) fn text<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n str> {
        if let Value::Text(text) = &node.value {
            return Some(text);
        }
        let found = self.describe(node);
        let hint = match self.source(node) {
            Some(src) if is_scalar(&node.value) => {
                format!("put it in quotes: `{field}: \"{}\"`", sanitize(src))
            }
            _ => format!("write `{field}:` followed by text on the same line"),
        };
        self.report(
            &node.referenced,
            format!("`{field}` must be text, found {found}"),
            hint,
        );
        None
    }

    /// The finite number in `node`, the value of field `field`; reports anything else.
    #[allow(clippy::cast_precision_loss)] // integers this large are beyond any sensible limit anyway
    pub(crate) fn number(&mut self, node: &Node, field: &str, example: &str) -> Option<f64> {
        match &node.value {
            Value::Int(i) => return Some(*i as f64),
            Value::Float(f) if f.is_finite() => return Some(*f),
            Value::Float(_) => {
                let src = self.snippet(node);
                self.report(
                    &node.referenced,
                    format!("`{field}` must be a finite number, found {src}"),
                    format!("write an ordinary number, e.g. `{example}`"),
                );
            }
            Value::Text(t) if t.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                let found = self.describe(node);
                self.report(
                    &node.referenced,
                    format!("`{field}` must be a number, found {found}"),
                    format!("remove the quotes: `{field}: {}`", sanitize(t.trim())),
                );
            }
            _ => {
                let found = self.describe(node);
                self.report(
                    &node.referenced,
                    format!("`{field}` must be a number, found {found}"),
                    format!("write a number, e.g. `{example}`"),
                );
            }
        }
        None
    }

    /// A duration in seconds (`field: 2.5`) as nanoseconds: a finite number,
    /// not negative (and above zero unless `zero_ok`), without a unit.
    pub(crate) fn seconds(
        &mut self,
        node: &Node,
        field: &str,
        example: &str,
        zero_ok: bool,
    ) -> Option<i64> {
        if let Value::Text(text) = &node.value
            && let Some(secs) = text
                .trim()
                .strip_suffix('s')
                .and_then(|n| n.trim().parse::<f64>().ok())
        {
            let message = format!(
                "`{field}` must be a number of seconds, found the text `{}`",
                sanitize(text)
            );
            let hint = format!("write the seconds without a unit: `{field}: {secs}`");
            self.report(&node.referenced, message, hint);
            return None;
        }
        let secs = self.number(node, field, example)?;
        if secs < 0.0 || (!zero_ok && secs == 0.0) {
            let what = if secs < 0.0 {
                "must not be negative"
            } else {
                "must be more than 0"
            };
            let message = format!("`{field}` {what}, found {}", self.snippet(node));
            let or_zero = if zero_ok { ", or 0" } else { "" };
            let hint = format!("give a number of seconds, e.g. `{example}`{or_zero}");
            self.report(&node.referenced, message, hint);
            return None;
        }
        if secs > MAX_SECONDS {
            let message = format!("`{field}` is too long: {} seconds", self.snippet(node));
            let hint = format!("use at most {MAX_SECONDS} seconds (about 292 years)");
            self.report(&node.referenced, message, hint);
            return None;
        }
        #[allow(clippy::cast_possible_truncation)] // range checked above
        Some((secs * 1e9).round() as i64)
    }

    /// A whole number in `min..=max`, the value of field `field`.
    pub(crate) fn count(&mut self, node: &Node, field: &str, min: u32, max: u32) -> Option<u32> {
        if let Value::Int(n) = node.value
            && let Ok(n) = u32::try_from(n)
            && (min..=max).contains(&n)
        {
            return Some(n);
        }
        let found = self.describe(node);
        self.report(
            &node.referenced,
            format!("`{field}` must be a whole number from {min} to {max}, found {found}"),
            format!("write e.g. `{field}: {}`", min.max(3).min(max)),
        );
        None
    }

    /// A boolean, the value of field `field`.
    pub(crate) fn boolean(&mut self, node: &Node, field: &str) -> Option<bool> {
        if let Value::Bool(b) = node.value {
            return Some(b);
        }
        let found = self.describe(node);
        self.report(
            &node.referenced,
            format!("`{field}` must be `true` or `false`, found {found}"),
            format!("write `{field}: true` or `{field}: false`"),
        );
        None
    }

    /// A name pattern (`disk.*.used_pct`): text of 1–200 characters without
    /// control characters or spaces.
    pub(crate) fn pattern(&mut self, node: &Node, field: &str, example: &str) -> Option<Pattern> {
        let text = self.text(node, field)?;
        if !text.is_empty()
            && text.len() <= 200
            && !text.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Some(Pattern::new(text));
        }
        self.report(
            &node.referenced,
            format!("invalid name pattern `{}` in `{field}`", sanitize(text)),
            format!(
                "write a name of at most 200 characters without spaces, where `*` matches \
                 anything, e.g. `{field}: {example}`"
            ),
        );
        None
    }

    /// A list of name patterns, or a single one.
    pub(crate) fn patterns(
        &mut self,
        node: &Node,
        field: &str,
        example: &str,
    ) -> Option<Vec<Pattern>> {
        match &node.value {
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.pattern(item, field, example) {
                        Some(p) => out.push(p),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => self.pattern(node, field, example).map(|p| vec![p]),
        }
    }

    /// The mapping's entries of `node`, the value of field `field`; reports anything else.
    pub(crate) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        field: &str,
        example: &str,
    ) -> Option<&'n [(Node, Node)]> {
        if let Value::Map(entries) = &node.value {
            return Some(entries);
        }
        let found = self.describe(node);
        self.report(
            &node.referenced,
            format!("`{field}` must be a mapping, found {found}"),
            format!("write e.g. `{example}`"),
        );
        None
    }

    /// A short phrase for what `node` is, quoting it, e.g. "the text `hot`".
    pub(crate) fn describe(&self, node: &Node) -> String {
        match &node.value {
            Value::Null => "nothing".to_owned(),
            Value::Bool(b) => format!("the boolean `{b}`"),
            Value::Int(_) | Value::Float(_) => {
                let src = self.source(node).map(sanitize).unwrap_or_default();
                format!("the number `{src}`")
            }
            Value::Text(t) => format!("the text `{}`", sanitize(t)),
            Value::List(_) => "a list".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }

    /// The node's source text for a message, e.g. `-1` or `"hot"`;
    /// a description when the source is not available.
    pub(crate) fn snippet(&self, node: &Node) -> String {
        match self.source(node) {
            Some(src) if is_scalar(&node.value) => format!("`{}`", sanitize(src)),
            _ => self.describe(node),
        }
    }

    /// The source text of a node, when it is known and not empty.
    fn source(&self, node: &Node) -> Option<&'y str> {
        let span = node.referenced.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        self.yaml
            .get(start..start.checked_add(len)?)
            .filter(|s| !s.is_empty())
    }
}

/// Field `name` of the rule at `at`: reported when missing if `require`
/// (the rule's type is spelt right), else only read when present.
pub(crate) fn field<'n>(
    ck: &mut Checker<'_>,
    fields: &Fields<'n>,
    at: &Location,
    require: bool,
    name: &str,
    hint: &str,
) -> Option<&'n Node> {
    if require {
        ck.required(fields, at, name, hint)
    } else {
        fields.get_some(name)
    }
}

/// "fields here are: a, b, c"
fn list_hint(known: &[&str]) -> String {
    format!("the fields here are: {}", known.join(", "))
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::List(_) | Value::Map(_) | Value::Null)
}
