//! "Did you mean …?" for misspelt field names, types and severities.

/// The candidate closest to `typed`, if it is close enough to be a likely typo:
/// equal ignoring case, or at most a third of its length in edits (and at
/// most 3).
pub(crate) fn closest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    const MAX_LEN: usize = 64; // longer input is not a typo, and keeps the work bounded
    if typed.chars().count() > MAX_LEN {
        return None;
    }
    let typed = typed.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&typed, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters, with a swap of two neighbours
/// counted as one edit (for "did you mean" suggestions).
#[must_use]
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; only three rows are kept.
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        before = std::mem::replace(&mut prev, row);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("severty", "severity"), 1);
        assert_eq!(edit_distance("hgih", "high"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_only_close_names() {
        let fields = ["name", "type", "severity", "threshold"];
        assert_eq!(closest("severty", &fields), Some("severity"));
        assert_eq!(closest("Name", &fields), Some("name"));
        assert_eq!(closest("treshold", &fields), Some("threshold"));
        assert_eq!(closest("colour", &fields), None);
        assert_eq!(closest(&"x".repeat(500), &fields), None);
    }
}
