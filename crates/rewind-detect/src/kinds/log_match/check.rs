//! The fields of `log_match` rules, checked.

use regex::RegexBuilder;
use rewind_model::Level;
use serde_saphyr::Location;

use super::{DEFAULT_COUNT, DEFAULT_WINDOW_NANOS, LogMatch, Matcher};
use crate::Pattern;
use crate::kinds::RuleKind;
use crate::rules::check::{Checker, Fields};
use crate::rules::raw::{Node, Value, sanitize};
use crate::rules::suggest;

/// The values of `level:`, lowest first.
const LEVELS: &[(&str, Level)] = &[
    ("debug", Level::Debug),
    ("info", Level::Info),
    ("notice", Level::Notice),
    ("warning", Level::Warning),
    ("error", Level::Error),
    ("critical", Level::Critical),
];
/// The longest `regex:` or `literal:`, in characters.
const MAX_PATTERN_CHARS: usize = 1000;
/// The most memory a compiled regex (and its lazy DFA cache) may take.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The most lines `count:` may ask for (the state keeps that many times).
const MAX_COUNT: u32 = 1000;

/// Checks a `log_match` rule's fields.
pub(super) fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let source = fields
        .get_some("source")
        .map_or(Some(Pattern::new("*")), |n| {
            ck.pattern(n, "source", "journal")
        });
    let matcher = matcher(ck, fields, at, require);
    let level = fields
        .get_some("level")
        .map_or(Some(None), |n| level(ck, n).map(Some));
    let count = fields
        .get_some("count")
        .map_or(Some(DEFAULT_COUNT), |n| ck.count(n, "count", 1, MAX_COUNT));
    let window_nanos = fields
        .get_some("window")
        .map_or(Some(DEFAULT_WINDOW_NANOS), |n| {
            ck.seconds(n, "window", "window: 60", false)
        });
    Some(RuleKind::LogMatch(LogMatch {
        source: source?,
        matcher: matcher?,
        level: level?,
        count: count?,
        window_nanos: window_nanos?,
    }))
}

/// The name of a level as `level:` takes it.
pub(super) fn level_name(level: Level) -> &'static str {
    LEVELS
        .iter()
        .find(|(_, l)| *l == level)
        .map_or("info", |(name, _)| name)
}

/// Exactly one of `regex:` and `literal:`.
fn matcher(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<Matcher> {
    match (fields.get("regex"), fields.get("literal")) {
        (Some(_), Some(literal)) => {
            ck.report(
                &literal.referenced,
                "a `log_match` rule has both `regex` and `literal`",
                "keep one: `regex:` is a regular expression, `literal:` is text looked for as written",
            );
            None
        }
        (Some(node), None) => regex(ck, node),
        (None, Some(node)) => literal(ck, node),
        (None, None) => {
            if require && !fields.was_suggested("regex") && !fields.was_suggested("literal") {
                ck.report(
                    at,
                    "missing required field `regex` or `literal`",
                    "say what to look for, e.g. `regex: \"segfault|core dumped\"` or \
                     `literal: \"Out of memory\"`",
                );
            }
            None
        }
    }
}

/// Text of 1 to 1000 characters for `field`.
fn pattern_text<'n>(
    ck: &mut Checker<'_>,
    node: &'n Node,
    field: &str,
    example: &str,
) -> Option<&'n str> {
    if matches!(node.value, Value::Null) {
        ck.report(
            &node.referenced,
            format!("field `{field}` has no value"),
            format!("say what to look for, e.g. `{field}: {example}`"),
        );
        return None;
    }
    let text = ck.text(node, field)?;
    if text.is_empty() {
        ck.report(
            &node.referenced,
            format!("`{field}` is empty: it would match every line"),
            format!("say what to look for, e.g. `{field}: {example}`"),
        );
        return None;
    }
    let chars = text.chars().count();
    if chars > MAX_PATTERN_CHARS {
        ck.report(
            &node.referenced,
            format!("`{field}` is too long: {chars} characters"),
            format!("use at most {MAX_PATTERN_CHARS} characters"),
        );
        return None;
    }
    Some(text)
}

fn literal(ck: &mut Checker<'_>, node: &Node) -> Option<Matcher> {
    let text = pattern_text(ck, node, "literal", "\"Out of memory\"")?;
    Some(Matcher::Literal(text.to_owned()))
}

fn regex(ck: &mut Checker<'_>, node: &Node) -> Option<Matcher> {
    let text = pattern_text(ck, node, "regex", "\"segfault|core dumped\"")?;
    let built = RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build();
    let err = match built {
        Ok(re) => return Some(Matcher::Regex(re)),
        Err(err) => err,
    };
    let (message, hint) = match err {
        regex::Error::CompiledTooBig(limit) => (
            format!(
                "`regex` `{}` is too large once compiled (over {limit} bytes)",
                sanitize(text)
            ),
            "simplify it: large repetition counts such as `{1000}`, nested repetitions and \
             Unicode classes such as `\\w` multiply its size (`(?-u:\\w)` is smaller)"
                .to_owned(),
        ),
        other => (
            format!(
                "invalid regex `{}`: {}",
                sanitize(text),
                syntax_error(&other)
            ),
            "see the syntax at https://docs.rs/regex/latest/regex/#syntax; to find text as \
             written, use `literal:` instead"
                .to_owned(),
        ),
    };
    ck.report(&node.referenced, message, hint);
    None
}

/// The regex crate's message on one line: what is wrong and, for a
/// one-line pattern, at which character (1-based).
///
/// Its syntax errors read "regex parse error:", the pattern indented by 4,
/// a line of `^` under the offending part, then "error: <what>".
fn syntax_error(err: &regex::Error) -> String {
    let full = err.to_string();
    let lines: Vec<&str> = full.lines().collect();
    match lines.as_slice() {
        [_, _, carets, what] if what.starts_with("error: ") => {
            let what = what.trim_start_matches("error: ");
            match carets.find('^').and_then(|i| i.checked_sub(3)) {
                Some(column) => format!("{what} (at character {column})"),
                None => what.to_owned(),
            }
        }
        _ => match lines.last() {
            Some(last) if last.starts_with("error: ") => {
                last.trim_start_matches("error: ").to_owned()
            }
            _ => lines.join(" "),
        },
    }
}

fn level(ck: &mut Checker<'_>, node: &Node) -> Option<Level> {
    let text = ck.text(node, "level")?;
    if let Some((_, level)) = LEVELS.iter().find(|(name, _)| *name == text) {
        return Some(*level);
    }
    let names: Vec<&str> = LEVELS.iter().map(|(name, _)| *name).collect();
    let close = suggest::closest(text, &names)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    ck.report(
        &node.referenced,
        format!("unknown level `{}` in `level`", sanitize(text)),
        format!(
            "{close}use one of {}: a line counts at that level or above",
            names.join(", ")
        ),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
    }

    #[test]
    fn syntax_errors_fit_on_one_line_with_their_place() {
        let err = compile("ab(cd").unwrap_err();
        assert_eq!(syntax_error(&err), "unclosed group (at character 3)");
        let err = compile("a{2,1}").unwrap_err();
        assert!(
            syntax_error(&err).starts_with("invalid repetition count range"),
            "{err}"
        );
        let err = compile("x\n(").unwrap_err();
        assert!(!syntax_error(&err).contains('\n'), "{err}");
    }

    #[test]
    fn huge_regexes_are_refused_by_the_size_limit() {
        assert!(matches!(
            compile("(a{1000}){1000}"),
            Err(regex::Error::CompiledTooBig(_))
        ));
        assert!(compile("segfault|core dumped").is_ok());
    }

    #[test]
    fn every_level_has_a_name() {
        for (name, level) in LEVELS {
            assert_eq!(level_name(*level), *name);
        }
    }
}
