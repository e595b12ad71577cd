//! Names with simple wildcards: `disk.*.used_pct`, `*`, `/camera/*`.
//!
//! `*` matches any run of characters, including none and including dots, so
//! `disk.*.used_pct` matches `disk./home.used_pct` and `disk./var/lib.used_pct`.
//! There are no other special characters: everything else matches itself.
//! Written by hand because a glob crate brings path semantics (`/` and `**`)
//! that series names do not have, and this is a dozen lines.

use std::fmt;

/// A name, or a name with `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    /// A pattern from its text; `*` is the only wildcard.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has a wildcard; a literal matches one name only.
    #[must_use]
    pub fn is_literal(&self) -> bool {
        !self.text.contains('*')
    }

    /// Whether `name` matches the whole pattern.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        // No allocation: this runs for every (series, rule) pair the first
        // time a series is seen.
        let Some((head, last)) = self.text.rsplit_once('*') else {
            return self.text == name;
        };
        let (first, middle) = head.split_once('*').unwrap_or((head, ""));
        let Some(rest) = name.strip_prefix(first) else {
            return false;
        };
        if rest.len() < last.len() || !rest.ends_with(last) {
            return false;
        }
        let mut rest = &rest[..rest.len() - last.len()];
        for part in middle.split('*') {
            match rest.find(part) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
        true
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn wildcards_match_any_run_of_characters() {
        let p = Pattern::new("disk.*.used_pct");
        assert!(p.matches("disk./home.used_pct"));
        assert!(p.matches("disk./var/lib.docker.used_pct"));
        assert!(!p.matches("disk./home.free_pct"));
        assert!(!p.matches("xdisk./home.used_pct"));
        assert!(Pattern::new("*").matches(""));
        assert!(Pattern::new("*").matches("anything"));
        assert!(Pattern::new("a*").matches("a"));
        assert!(!Pattern::new("a*b").matches("ab_"));
        assert!(Pattern::new("a*b*c").matches("abxbc"));
        assert!(
            !Pattern::new("aa*aa").matches("aaa"),
            "the ends may not overlap"
        );
        assert!(Pattern::new("cpu").matches("cpu") && !Pattern::new("cpu").matches("cpu0"));
        assert!(Pattern::new("cpu").is_literal() && !Pattern::new("c*").is_literal());
    }

    /// The reference: a regex with `*` as `.*` and everything else escaped.
    fn reference(pattern: &str, name: &str) -> bool {
        let parts: Vec<String> = pattern.split('*').map(regex::escape).collect();
        regex::Regex::new(&format!("^(?s:{})$", parts.join(".*")))
            .unwrap()
            .is_match(name)
    }

    proptest! {
        #[test]
        fn agrees_with_a_regex(pattern in "[ab.*]{0,8}", name in "[ab.]{0,10}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&name), reference(&pattern, &name));
        }
    }
}
