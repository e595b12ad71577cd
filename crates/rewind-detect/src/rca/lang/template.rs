//! Text with placeholders filled from the evidence: `{hot.series}`,
//! `{node.node|a node}`, `{trigger.rule}`. `{{` and `}}` are literal braces.

use crate::rules::check::Checker;
use crate::rules::raw::{Node, sanitize};

/// A sentence with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The text as written.
    pub text: String,
    /// The text split into literal parts and placeholders.
    pub parts: Vec<Part>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// `{step.key}` or `{step.key|fallback}`.
    Slot {
        /// The step id, or `trigger`.
        step: String,
        /// The value's key (`series`, `process`, …).
        key: String,
        /// Written when the step was not seen or has no such value.
        fallback: Option<String>,
    },
}

impl Template {
    /// Fills the placeholders with `lookup(step, key)`, each value made
    /// plain (backticks and double quotes become single quotes, so a value
    /// cannot unbalance the sentence); a missing value takes the fallback,
    /// or `?` without one.
    #[must_use]
    pub fn fill(&self, lookup: impl Fn(&str, &str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.text.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot {
                    step,
                    key,
                    fallback,
                } => match lookup(step, key) {
                    Some(v) => out.push_str(&crate::rca::grounded::plain(&v)),
                    None => out.push_str(fallback.as_deref().unwrap_or("?")),
                },
            }
        }
        out
    }
}

/// The keys of `{trigger.…}`; labels too (`*`).
const TRIGGER_KEYS: &[&str] = &["*"];

/// Splits `text`; `Err` says what is wrong.
pub(crate) fn split(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        literal.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            literal.push('{');
            rest = after;
            continue;
        }
        if let Some(after) = tail.strip_prefix("}}") {
            literal.push('}');
            rest = after;
            continue;
        }
        if tail.starts_with('}') {
            return Err("a `}` without its `{`; write `}}` for a brace".to_owned());
        }
        let Some(end) = tail.find('}') else {
            return Err("a `{` without its `}`; write `{{` for a brace".to_owned());
        };
        let inner = &tail[1..end];
        let (path, fallback) = match inner.split_once('|') {
            Some((p, f)) => (p, Some(f.to_owned())),
            None => (inner, None),
        };
        let Some((step, key)) = path.split_once('.') else {
            return Err(format!(
                "placeholder `{{{}}}` must be `{{step.key}}`",
                sanitize(inner)
            ));
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !word(step) || !word(key) {
            return Err(format!(
                "placeholder `{{{}}}` must be `{{step.key}}` with letters, digits and `_`",
                sanitize(inner)
            ));
        }
        if !literal.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut literal)));
        }
        parts.push(Part::Slot {
            step: step.to_owned(),
            key: key.to_owned(),
            fallback,
        });
        rest = &tail[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(parts)
}

/// Whether the backticks and the double quotes of `text` pair up; reports
/// them when not (an odd one would swallow the text around it where the
/// sentence is shown, and in the checks of [`grounded`](crate::rca::grounded())).
pub(crate) fn pairs_up(ck: &mut Checker<'_>, node: &Node, field: &str, text: &str) -> bool {
    for (mark, name) in [('`', "backticks"), ('"', "double quotes")] {
        if text.matches(mark).count() % 2 == 1 {
            ck.report(
                &node.referenced,
                format!("in `{field}`: the {name} do not pair up"),
                "close every one that is opened, or write a single quote instead",
            );
            return false;
        }
    }
    true
}

/// Checks a template field: text whose placeholders name steps of the chain
/// (`ids`, with the keys each fills; `None` when the steps are invalid and
/// references cannot be checked) and keys those steps fill.
pub(super) fn template(
    ck: &mut Checker<'_>,
    node: &Node,
    field: &str,
    ids: Option<&[(String, Vec<&'static str>)]>,
) -> Option<Template> {
    let text = ck.text(node, field)?;
    if text.trim().is_empty() {
        ck.report(
            &node.referenced,
            format!("`{field}` is empty"),
            "write a sentence, with placeholders such as `{hot.series}` for the evidence",
        );
        return None;
    }
    if !pairs_up(ck, node, field, text) {
        return None;
    }
    let parts = match split(text) {
        Ok(parts) => parts,
        Err(message) => {
            ck.report(
                &node.referenced,
                format!("in `{field}`: {message}"),
                "see docs/root-cause.md#placeholders",
            );
            return None;
        }
    };
    let mut ok = true;
    for part in &parts {
        let (Part::Slot { step, key, .. }, Some(ids)) = (part, ids) else {
            continue;
        };
        let keys = if step == "trigger" {
            Some(TRIGGER_KEYS)
        } else {
            ids.iter()
                .find(|(id, _)| id == step)
                .map(|(_, k)| k.as_slice())
        };
        let Some(keys) = keys else {
            let known: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
            ck.report(
                &node.referenced,
                format!("in `{field}`: `{{{step}.{key}}}` names no step of this chain"),
                format!("the steps are: {}, and `trigger`", known.join(", ")),
            );
            ok = false;
            continue;
        };
        if !keys.contains(&"*") && !keys.contains(&key.as_str()) {
            ck.report(
                &node.referenced,
                format!("in `{field}`: step `{step}` has no value `{key}`"),
                format!("its values are: {}", keys.join(", ")),
            );
            ok = false;
        }
    }
    ok.then(|| Template {
        text: text.to_owned(),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_slots() {
        let parts = split("{hot.series} hit {hot.peak|a peak} {{x}}").unwrap();
        assert_eq!(parts.len(), 4);
        let t = Template {
            text: String::new(),
            parts,
        };
        let filled = t.fill(|s, k| (s == "hot" && k == "series").then(|| "gpu.0.temp_c".into()));
        assert_eq!(filled, "gpu.0.temp_c hit a peak {x}");
        assert!(split("{oops").is_err());
        assert!(split("a } b").is_err());
        assert!(split("{nodot}").is_err());
    }
}
