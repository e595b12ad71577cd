//! Redaction: secrets and personal data scrubbed from text (log lines, the
//! agent config, stack dumps) before it goes into a bundle.
//!
//! A [`Redactor`] is built once from [`Config`] (`redaction:` in the agent
//! config) and applied with [`Redactor::redact`], which returns the scrubbed
//! text and adds to per-pattern [`Counts`]; [`Counts::to_vec`] is what the
//! bundle manifest lists as `redactions: [{name, count}]`.
//!
//! A match becomes `<redacted:NAME>`. When a pattern has a capture group named
//! `value`, only that group is replaced (`password=<redacted:key_value>`
//! keeps the key, so a reader still sees what was there).
//!
//! Built-in patterns ([`DEFAULTS`], all on unless `defaults:` lists fewer):
//!
//! | Name | Matches |
//! | --- | --- |
//! | `bearer_token` | `Bearer X` and `Authorization: [scheme] X` (X at least 8 characters) |
//! | `api_token` | well-known token shapes: GitHub `ghp_…`, GitLab `glpat-…`, Slack `xox?-…`, AWS `AKIA…`, `sk-…` keys, JWTs `eyJ….eyJ….…` |
//! | `url_credentials` | the password of `scheme://user:password@host` |
//! | `key_value` | the value after a key ending in `password`, `passwd`, `secret`, `token`, `api_key`, `apikey`, `access_key`, `private_key` or `credentials`, then `=` or `:` (quotes allowed): `db_password=x`, `"token": "x"`, `secret: x` |
//! | `email` | `local@domain.tld` |
//! | `ipv4` | dotted quads with every octet 0–255 (version strings like `1.2.3.4` match too) |
//! | `ipv6` | full and `::`-compressed forms with at least two groups, not inside identifiers such as `std::fs` |
//!
//! Guarantees, checked by a property test: redaction never panics, and no
//! built-in pattern matches its output. Patterns are applied in order and
//! the whole list again while a pass still changed something (a replacement
//! can expose a match, e.g. by creating a word boundary); after
//! [`MAX_PASSES`] the whole text is replaced, which no real text reaches.
//!
//! Regexes are compiled once, with a size limit; a user pattern that is
//! invalid or too large is a config error naming the pattern.

use std::{borrow::Cow, collections::BTreeMap};

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
pub use rewind_bundle::Redaction;
use serde::Deserialize;

/// Compiled size limit of one pattern, bytes.
const SIZE_LIMIT: usize = 1024 * 1024;
/// Lazy-DFA cache of one pattern, bytes.
const DFA_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// Longest user pattern, characters.
const MAX_PATTERN_LEN: usize = 2048;
/// Passes over one text before giving up and replacing all of it.
pub const MAX_PASSES: usize = 16;
/// What replaces a text that would not settle in [`MAX_PASSES`].
const UNSETTLED: &str = "<redacted:unredactable>";

/// The built-in patterns, in the order they are applied: `(name, regex)`.
pub const DEFAULTS: &[(&str, &str)] = &[
    (
        "bearer_token",
        r"(?i)(?-u:\b)(?:bearer\s+|authorization[ \t]*[=:][ \t]*(?:[a-z0-9-]+[ \t]+)?)(?P<value>[A-Za-z0-9._~+/=-]{8,})",
    ),
    (
        "api_token",
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
    ),
    (
        "url_credentials",
        r"(?i)(?-u:\b)[a-z][a-z0-9+.-]*://[^\s/:@<>]+:(?P<value>[^\s/@<>]+)@",
    ),
    (
        "key_value",
        r#"(?i)(?-u:\b)[A-Za-z0-9_.-]*?(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials)["']?[ \t]*[=:][ \t]*["']?(?P<value>[^\s"'<>,;&]+)"#,
    ),
    (
        "email",
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    ),
    (
        "ipv4",
        r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?-u:\b)",
    ),
    ("ipv6", IPV6),
];

/// IPv6 with at least two groups (or `::` plus one), not glued to an
/// identifier, a colon or a dot on either side.
const IPV6: &str = concat!(
    r"(?i)(?:^|[^0-9A-Za-z_:.])(?P<value>",
    r"(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}",
    r"|(?:[0-9a-f]{1,4}:){1,7}:",
    r"|(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}",
    r"|(?:[0-9a-f]{1,4}:){1,5}(?::[0-9a-f]{1,4}){1,2}",
    r"|(?:[0-9a-f]{1,4}:){1,4}(?::[0-9a-f]{1,4}){1,3}",
    r"|(?:[0-9a-f]{1,4}:){1,3}(?::[0-9a-f]{1,4}){1,4}",
    r"|(?:[0-9a-f]{1,4}:){1,2}(?::[0-9a-f]{1,4}){1,5}",
    r"|[0-9a-f]{1,4}:(?::[0-9a-f]{1,4}){1,6}",
    r"|:(?::[0-9a-f]{1,4}){1,7}",
    r")(?:$|[^0-9A-Za-z_:.])",
);

/// `redaction` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether anything is redacted at all.
    pub enabled: bool,
    /// The built-in patterns to apply, by name (see the module docs); remove one to turn it off.
    pub defaults: Vec<String>,
    /// More patterns, applied after the built-in ones.
    pub patterns: Vec<PatternConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            defaults: DEFAULTS
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect(),
            patterns: Vec::new(),
        }
    }
}

/// One entry of `redaction.patterns`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternConfig {
    /// Its name in the manifest's counts and in `<redacted:NAME>`: `a-z`, `0-9`, `_`, `-`, unique.
    pub name: String,
    /// The regex (Rust syntax); a capture group named `value` limits what is replaced.
    pub regex: String,
}

impl Config {
    /// Compiles the patterns.
    ///
    /// # Errors
    /// Every problem, joined by `; `: an unknown default, a bad or duplicate
    /// name, a regex that does not compile or is too large (named).
    pub fn build(&self) -> Result<Redactor, String> {
        let mut problems = Vec::new();
        let mut patterns = Vec::new();
        for name in &self.defaults {
            match DEFAULTS.iter().find(|(n, _)| n == name) {
                Some((n, re)) if !patterns.iter().any(|p: &Pattern| p.name == *n) => {
                    patterns.push(compile(n, re).map_err(|e| format!("redaction: {e}"))?);
                }
                Some(_) => problems.push(format!(
                    "redaction.defaults: {name:?} is listed twice; list each once"
                )),
                None => problems.push(format!(
                    "redaction.defaults: {name:?} is not a built-in pattern; use one of {}",
                    default_names()
                )),
            }
        }
        for (i, p) in self.patterns.iter().enumerate() {
            let at = format!("redaction.patterns[{i}] ({:?})", p.name);
            if let Err(e) = check_name(&p.name, i, &self.patterns) {
                problems.push(format!("{at}: {e}"));
                continue;
            }
            if p.regex.is_empty() || p.regex.chars().count() > MAX_PATTERN_LEN {
                problems.push(format!(
                    "{at}: `regex` must be 1 to {MAX_PATTERN_LEN} characters"
                ));
                continue;
            }
            match compile(&p.name, &p.regex) {
                Ok(pattern) => patterns.push(pattern),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        if !self.enabled {
            patterns.clear();
        }
        Redactor::from_patterns(patterns)
    }
}

fn default_names() -> String {
    DEFAULTS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_name(name: &str, i: usize, all: &[PatternConfig]) -> Result<(), String> {
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if name.is_empty() || name.len() > 64 || !name.bytes().all(valid) {
        return Err("give it a `name` of 1 to 64 characters from a-z, 0-9, `_`, `-`".into());
    }
    if DEFAULTS.iter().any(|(n, _)| *n == name) || name == "unredactable" {
        return Err(format!(
            "the name {name:?} is taken by a built-in pattern; pick another"
        ));
    }
    if all.iter().take(i).any(|p| p.name == name) {
        return Err(format!(
            "the name {name:?} is used twice; give each pattern its own"
        ));
    }
    Ok(())
}

/// One compiled pattern.
#[derive(Debug, Clone)]
struct Pattern {
    name: String,
    regex: Regex,
    /// Index of the `value` group, when there is one.
    value: Option<usize>,
    replacement: String,
}

fn compile(name: &str, re: &str) -> Result<Pattern, String> {
    let regex = RegexBuilder::new(re)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let why = e
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            format!("the regex of {name:?} does not compile ({why}); fix or shorten it")
        })?;
    if regex.is_match("") {
        return Err(format!(
            "the regex of {name:?} matches empty text; make it match at least one character"
        ));
    }
    let value = regex.capture_names().position(|n| n == Some("value"));
    Ok(Pattern {
        name: name.to_owned(),
        regex,
        value,
        replacement: format!("<redacted:{name}>"),
    })
}

/// Compiled redaction patterns; cheap to share (`Clone` shares the regexes' programs).
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<Pattern>,
    /// All patterns at once: the fast "nothing to do" check.
    any: RegexSet,
}

impl Redactor {
    /// A redactor that changes nothing.
    #[must_use]
    pub fn none() -> Self {
        Self {
            patterns: Vec::new(),
            any: RegexSet::empty(),
        }
    }

    fn from_patterns(patterns: Vec<Pattern>) -> Result<Self, String> {
        let any = RegexSetBuilder::new(patterns.iter().map(|p| p.regex.as_str()))
            .size_limit(SIZE_LIMIT * patterns.len().max(1))
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                format!("redaction: the patterns together are too large ({e}); use fewer")
            })?;
        Ok(Self { patterns, any })
    }

    /// The names of the patterns applied, in order.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.patterns.iter().map(|p| p.name.as_str()).collect()
    }

    /// `text` with every match replaced by `<redacted:NAME>`; what was
    /// replaced is added to `counts`. Borrows when nothing matched.
    #[must_use]
    pub fn redact<'a>(&self, text: &'a str, counts: &mut Counts) -> Cow<'a, str> {
        if self.patterns.is_empty() || !self.any.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut current = text.to_owned();
        let mut found: Vec<u64> = vec![0; self.patterns.len()];
        for _ in 0..MAX_PASSES {
            let mut changed = false;
            for (pattern, n) in self.patterns.iter().zip(&mut found) {
                if let Some((next, hits)) = pattern.apply(&current) {
                    current = next;
                    *n += hits;
                    changed = true;
                }
            }
            if !changed {
                for (pattern, n) in self.patterns.iter().zip(found) {
                    counts.add(&pattern.name, n);
                }
                return Cow::Owned(current);
            }
        }
        counts.add("unredactable", 1);
        Cow::Borrowed(UNSETTLED)
    }

    /// [`redact`](Self::redact) over bytes that are UTF-8 text; other bytes
    /// (a binary profile) are returned unchanged.
    #[must_use]
    pub fn redact_bytes(&self, bytes: Vec<u8>, counts: &mut Counts) -> Vec<u8> {
        match std::str::from_utf8(&bytes) {
            Ok(text) => match self.redact(text, counts) {
                Cow::Borrowed(_) => bytes,
                Cow::Owned(s) => s.into_bytes(),
            },
            Err(_) => bytes,
        }
    }
}

impl Pattern {
    /// The text with this pattern's matches replaced, and how many; `None` when none.
    fn apply(&self, text: &str) -> Option<(String, u64)> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut hits = 0u64;
        for caps in self.regex.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let span = self
                .value
                .and_then(|i| caps.get(i))
                .filter(|m| !m.is_empty())
                .unwrap_or(whole);
            if span.is_empty() {
                continue;
            }
            out.push_str(text.get(last..span.start())?);
            out.push_str(&self.replacement);
            last = span.end();
            hits += 1;
        }
        if hits == 0 {
            return None;
        }
        out.push_str(text.get(last..)?);
        Some((out, hits))
    }
}

/// How many matches each pattern replaced, summed over every text redacted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<String, u64>);

impl Counts {
    /// Adds `n` replacements by `name` (nothing when `n` is 0).
    pub fn add(&mut self, name: &str, n: u64) {
        if n > 0 {
            let slot = self.0.entry(name.to_owned()).or_default();
            *slot = slot.saturating_add(n);
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Self) {
        for (name, n) in &other.0 {
            self.add(name, *n);
        }
    }

    /// Replacements by `name` so far.
    #[must_use]
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Whether nothing was replaced.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counts sorted by name, for the manifest.
    #[must_use]
    pub fn to_vec(&self) -> Vec<Redaction> {
        self.0
            .iter()
            .map(|(name, count)| Redaction {
                name: name.clone(),
                count: *count,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn redact(text: &str) -> (String, Counts) {
        let r = Config::default().build().unwrap();
        let mut counts = Counts::default();
        let out = r.redact(text, &mut counts).into_owned();
        (out, counts)
    }

    #[test]
    fn every_default_compiles_and_the_default_config_lists_them_all() {
        let r = Config::default().build().unwrap();
        assert_eq!(
            r.names(),
            DEFAULTS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }

    #[test]
    fn tokens_and_key_values_keep_their_key() {
        let cases = [
            (
                "GET / Authorization: Bearer abcdefgh.ijk-LMN",
                "GET / Authorization: Bearer <redacted:bearer_token>",
            ),
            (
                "authorization=Basic dXNlcjpwYXNzd29yZA==",
                "authorization=Basic <redacted:bearer_token>",
            ),
            (
                "using ghp_0123456789abcdefghijABCDEFGHIJ0123 now",
                "using <redacted:api_token> now",
            ),
            (
                "db_password=hunter2 user=bob",
                "db_password=<redacted:key_value> user=bob",
            ),
            (
                r#"{"api_key": "s3cr3t", "n": 1}"#,
                r#"{"api_key": "<redacted:key_value>", "n": 1}"#,
            ),
            ("secret: abc", "secret: <redacted:key_value>"),
            (
                "server: http://bob:pa55@rewind.example:8420",
                "server: http://bob:<redacted:url_credentials>@rewind.example:8420",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input).0, want, "{input}");
        }
        // Any scheme: the credential goes (a long scheme name may go too).
        let (out, _) = redact("Authorization: Negotiate YIIabcdefgh");
        assert!(!out.contains("YIIabcdefgh"), "{out}");
    }

    #[test]
    fn emails_and_addresses_are_replaced_and_counted() {
        let (out, counts) =
            redact("from ops@robots.example.com at 10.1.2.3 and fe80::1:2, again 10.1.2.3");
        assert_eq!(
            out,
            "from <redacted:email> at <redacted:ipv4> and <redacted:ipv6>, again <redacted:ipv4>"
        );
        assert_eq!(
            counts.to_vec(),
            [
                Redaction {
                    name: "email".into(),
                    count: 1
                },
                Redaction {
                    name: "ipv4".into(),
                    count: 2
                },
                Redaction {
                    name: "ipv6".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(
            redact("2001:db8:0:0:0:0:2:1 ::ffff:abcd 1::").0,
            "<redacted:ipv6> <redacted:ipv6> <redacted:ipv6>"
        );
    }

    #[test]
    fn ordinary_text_is_left_alone_and_borrowed() {
        let r = Config::default().build().unwrap();
        let mut counts = Counts::default();
        for text in [
            "rewind_agent::collect::processes: tick 12:30:45",
            "std::fs::read failed; mac aa:bb:cc:dd:ee:ff; 999.1.2.3; v1.2.3",
            "token count 5 of 10, password reset requested",
            "Foo::bar::baz() at ::new",
        ] {
            assert!(
                matches!(r.redact(text, &mut counts), Cow::Borrowed(_)),
                "{text} became {}",
                r.redact(text, &mut Counts::default())
            );
        }
        assert!(counts.is_empty());
    }

    #[test]
    fn user_patterns_apply_after_the_defaults_and_defaults_can_be_turned_off() {
        let config = Config {
            enabled: true,
            defaults: vec!["email".into()],
            patterns: vec![PatternConfig {
                name: "serial".into(),
                regex: r"SN-(?P<value>[0-9]{6})".into(),
            }],
        };
        let r = config.build().unwrap();
        let mut counts = Counts::default();
        let out = r.redact("robot SN-123456 at 10.0.0.1 by a@b.io", &mut counts);
        assert_eq!(
            out,
            "robot SN-<redacted:serial> at 10.0.0.1 by <redacted:email>"
        );
        assert_eq!(counts.get("serial"), 1);
        let off = Config {
            enabled: false,
            ..config
        };
        let r = off.build().unwrap();
        assert_eq!(r.redact("a@b.io", &mut counts), "a@b.io");
    }

    #[test]
    fn bad_patterns_are_config_errors_naming_the_pattern() {
        let config = Config {
            enabled: true,
            defaults: vec!["email".into(), "emails".into(), "email".into()],
            patterns: vec![
                PatternConfig {
                    name: "broken".into(),
                    regex: "(unclosed".into(),
                },
                PatternConfig {
                    name: "huge".into(),
                    regex: r"\w{1000}\w{1000}".into(),
                },
                PatternConfig {
                    name: "empty-match".into(),
                    regex: "x*".into(),
                },
                PatternConfig {
                    name: "ipv4".into(),
                    regex: "x".into(),
                },
                PatternConfig {
                    name: "Bad Name".into(),
                    regex: "x".into(),
                },
                PatternConfig {
                    name: "dup".into(),
                    regex: String::new(),
                },
            ],
        };
        let err = config.build().unwrap_err();
        for want in [
            "\"emails\" is not a built-in pattern",
            "\"email\" is listed twice",
            "redaction.patterns[0] (\"broken\"): the regex of \"broken\" does not compile",
            "redaction.patterns[1] (\"huge\"): the regex of \"huge\" does not compile",
            "\"empty-match\" matches empty text",
            "\"ipv4\" is taken by a built-in pattern",
            "redaction.patterns[4] (\"Bad Name\"): give it a `name`",
            "redaction.patterns[5] (\"dup\"): `regex` must be 1 to",
        ] {
            assert!(err.contains(want), "missing {want:?} in {err}");
        }
    }

    #[test]
    fn the_config_section_parses_and_bad_entries_are_located() {
        let yaml = "version: 1\nredaction:\n  defaults: [email]\n  patterns:\n    - { name: serial, regex: \"SN-[0-9]+\" }\n";
        let file = crate::AgentFile::parse(yaml, "a.yaml").unwrap();
        let r = file.redaction.build().unwrap();
        assert_eq!(r.names(), ["email", "serial"]);
        let err = crate::AgentFile::parse("version: 1\nredaction:\n  default: []\n", "a.yaml")
            .unwrap_err();
        assert!(
            err.starts_with("a.yaml:3:") && err.contains("default"),
            "{err}"
        );
        let yaml = "version: 1\nredaction:\n  patterns:\n    - { name: serial, regex: \"(\" }\n";
        let err = crate::AgentFile::parse(yaml, "a.yaml")
            .unwrap()
            .redaction
            .build()
            .unwrap_err();
        assert!(err.contains("\"serial\" does not compile"), "{err}");
    }

    #[test]
    fn bytes_that_are_not_text_pass_unchanged() {
        let r = Config::default().build().unwrap();
        let mut counts = Counts::default();
        let binary = vec![0x1f, 0x8b, 0xff, b'1', b'.', b'2'];
        assert_eq!(r.redact_bytes(binary.clone(), &mut counts), binary);
        assert_eq!(
            r.redact_bytes(b"to a@b.io".to_vec(), &mut counts),
            b"to <redacted:email>"
        );
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("password=".to_owned()),
            Just("token: ".to_owned()),
            Just("Bearer ".to_owned()),
            Just("Authorization: Basic ".to_owned()),
            Just("http://u:".to_owned()),
            Just("@".to_owned()),
            Just("::".to_owned()),
            Just(".".to_owned()),
            Just("eyJ".to_owned()),
            Just("<redacted:ipv4>".to_owned()),
            "[0-9]{1,3}".prop_map(|s| s),
            "[a-f0-9]{1,4}:".prop_map(|s| s),
            "[A-Za-z0-9._%+-]{1,12}".prop_map(|s| s),
            "[ \t\n=:\"',;<>/_-]".prop_map(|s| s),
            any::<char>().prop_map(String::from),
        ]
    }

    /// The default redactor and each default regex alone, compiled once.
    fn compiled() -> &'static (Redactor, Vec<(&'static str, Regex)>) {
        static COMPILED: std::sync::OnceLock<(Redactor, Vec<(&'static str, Regex)>)> =
            std::sync::OnceLock::new();
        COMPILED.get_or_init(|| {
            let each = DEFAULTS
                .iter()
                .map(|(name, re)| (*name, Regex::new(re).unwrap()))
                .collect();
            (Config::default().build().unwrap(), each)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn redaction_never_panics_and_leaves_no_default_match(
            parts in proptest::collection::vec(fragment(), 0..40)
        ) {
            let text = parts.concat();
            let (r, each) = compiled();
            let mut counts = Counts::default();
            let out = r.redact(&text, &mut counts);
            for (name, re) in each {
                prop_assert!(
                    !re.is_match(&out),
                    "{name} still matches {out:?} (from {text:?})"
                );
            }
            prop_assert_eq!(counts.is_empty(), out == text);
        }
    }
}
