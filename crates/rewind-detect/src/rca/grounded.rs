//! Is a text grounded in the evidence? Every number and every name it
//! states must appear in the evidence.
//!
//! The check an explanation written by a language model must pass before
//! anyone reads it, and the property the deterministic explainer keeps.
//!
//! - **Names** are `backticked` spans and words that look like identifiers:
//!   those holding a digit or one of `. _ / : @ = < >` (series, processes,
//!   versions, times, paths). Each must equal a name in the evidence.
//!   Ordinary words, hyphenated or not, are not checked: they cannot be.
//! - **Numbers** (`91.5`, `-3`, `72%`, `12.0 s`, `30Hz`) must equal a number
//!   of the evidence rounded to as many decimals as the text gives (`91.5`
//!   matches 91.4832); the sign is ignored ("fell by 12" states -12), and a
//!   percentage may also be a fraction of the evidence (`78%` for 0.78).
//! - **Quotes** ("…") are accepted whole when they are part of a text of
//!   the evidence (a log line); otherwise their words are checked as above.
//!
//! What the evidence is: the values of the analysis and of the timeline
//! that the analysis refers to ([`Facts::of`]) — the trigger, the deploys,
//! every evidence item's values, the scores, the correlated changes, and the
//! matched chains' own text (titles, causes, actions, risks), which is rule
//! knowledge rather than a measurement. Small integers are not exempt: a
//! step number or a count must be in the evidence like any other number.

use std::collections::BTreeSet;

use super::{Analysis, EvidenceItem, Timeline};

/// `text` safe to put inside backticks or double quotes: control characters
/// dropped, backticks and double quotes turned into single quotes. Values
/// from the input are written this way; [`Facts`] knows both forms.
pub(crate) fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '`' | '"') { '\'' } else { c })
        .collect()
}

/// `text`, or [`plain`] of it when its backticks or double quotes do not
/// pair up (so that it cannot unbalance the text it is written into).
pub(crate) fn balanced(text: &str) -> String {
    let odd = |mark| text.matches(mark).count() % 2 == 1;
    if odd('`') || odd('"') || text.chars().any(char::is_control) {
        plain(text)
    } else {
        text.to_owned()
    }
}

/// Words with dots that are not names.
const ABBREVIATIONS: &[&str] = &["e.g", "i.e", "etc", "vs", "cf"];

/// The numbers, names and texts a grounded text may cite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    numbers: Vec<f64>,
    names: BTreeSet<String>,
    texts: Vec<String>,
}

impl Facts {
    /// The evidence of `analysis` over `timeline` (see the module doc).
    #[must_use]
    pub fn of(timeline: &Timeline, analysis: &Analysis) -> Self {
        let mut f = Self::default();
        let t = &timeline.trigger;
        f.add_text(&t.rule);
        f.add_name(&t.rule_type);
        f.add_name(t.severity.as_str());
        f.add_text(&t.summary);
        f.add_name(&t.fired_at.to_string());
        for (k, v) in &t.labels {
            f.add_name(k);
            f.add_text(v);
        }
        for e in &t.evidence {
            f.add_name(e.series.as_str());
            f.add_number(e.observed);
            f.add_number(e.peak);
            f.add_name(&e.since.to_string());
            f.add_count(e.samples);
            if let Some(b) = e.baseline {
                f.add_number(b.level);
                f.add_number(b.spread);
                f.add_count(b.samples);
                f.add_number(super::eval::seconds(b.window_nanos));
            }
            if let Some(p) = e.predicted_at {
                f.add_name(&p.to_string());
            }
            if let Some(text) = &e.text {
                f.add_text(text);
            }
        }
        for d in &timeline.deploys {
            for text in [&d.service, &d.version, &d.environment] {
                f.add_text(text);
            }
            f.add_name(&d.id.to_string());
            f.add_name(&d.at.to_string());
            f.add_number(super::eval::seconds(d.at.nanos_since(t.fired_at)));
            for text in d.commit.iter().chain(&d.actor) {
                f.add_text(text);
            }
        }
        f.add_count(analysis.chains_checked);
        f.add_number(analysis.recorded_before_s);
        f.add_number(analysis.recorded_after_s);
        for c in &analysis.causes {
            f.add_count(c.rank);
            f.add_name(&c.chain);
            for text in [&c.title, &c.primary]
                .into_iter()
                .chain(&c.actions)
                .chain(&c.risk)
            {
                f.add_text(text);
            }
            for n in [c.confidence, c.prior, c.coverage, c.timing] {
                f.add_number(n);
            }
            f.add_count(c.steps_seen);
            f.add_count(c.steps_total);
            c.missing.iter().for_each(|m| f.add_text(m));
            c.evidence.iter().for_each(|i| f.add_item(i));
        }
        for p in &analysis.partial {
            f.add_name(&p.chain);
            f.add_text(&p.title);
            f.add_text(&p.missing);
            p.seen.iter().for_each(|i| f.add_item(i));
        }
        for n in &analysis.notable {
            f.add_name(&n.at.to_string());
            f.add_number(n.offset_s);
            f.add_text(&n.source);
            f.add_name(&n.kind);
            f.add_name(&n.level);
            f.add_text(&n.message);
        }
        for c in &analysis.correlated {
            f.add_name(&c.series);
            f.add_number(c.before);
            f.add_number(c.after);
            f.add_number(c.spreads);
        }
        f
    }

    fn add_item(&mut self, item: &EvidenceItem) {
        self.add_name(&item.step);
        self.add_text(&item.what);
        self.add_text(&item.subject);
        self.add_name(&item.at.to_string());
        self.add_number(item.offset_s);
        if let Some(gap) = item.gap_s {
            self.add_number(gap);
        }
        for (k, v) in &item.values {
            self.add_name(k);
            self.add_text(v);
        }
    }

    /// Adds a number.
    pub fn add_number(&mut self, n: f64) {
        if n.is_finite() {
            self.numbers.push(n.abs());
        }
    }

    fn add_count(&mut self, n: impl TryInto<u32>) {
        if let Ok(n) = n.try_into() {
            self.add_number(f64::from(n));
        }
    }

    /// Adds a name (and the numbers inside it: `gpu.0.temp_c` has 0).
    pub fn add_name(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        for n in embedded_numbers(name) {
            self.add_number(n);
        }
        self.names.insert(name.to_owned());
    }

    /// Adds a text: itself (for quotes and backticks), and every number
    /// and name in it.
    pub fn add_text(&mut self, text: &str) {
        let plain = plain(text);
        if plain != text {
            self.add_name(&plain);
            self.texts.push(plain);
        }
        self.add_name(text);
        for span in split_spans(text) {
            if let Span::Backticked(inner) | Span::Quoted(inner) = span {
                self.add_name(inner);
            }
        }
        for token in tokens(text) {
            match classify(&token) {
                Token::Number(n, _) => self.add_number(n),
                Token::Name => self.add_name(&token),
                Token::Word => {}
            }
        }
        self.texts.push(text.to_owned());
    }

    /// Whether `name` is a name of the evidence.
    #[must_use]
    pub fn has_name(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether `number`, written with `decimals` decimals, is a number of
    /// the evidence (see the module doc for percentages).
    #[must_use]
    pub fn has_number(&self, number: f64, decimals: usize) -> bool {
        // Rounded the way `format!` rounds, which is how numbers are written.
        let d = decimals.min(9);
        let want = format!("{:.d$}", number.abs());
        self.numbers.iter().any(|n| format!("{n:.d$}") == want)
    }

    fn quoted(&self, text: &str) -> bool {
        !text.trim().is_empty() && self.texts.iter().any(|t| t.contains(text.trim()))
    }
}

/// Checks that every number and name in `text` is in `evidence`; `Err`
/// lists those that are not, in order, each once.
///
/// # Errors
/// The numbers and names of `text` not found in `evidence`.
pub fn grounded(text: &str, evidence: &Facts) -> Result<(), Vec<String>> {
    let mut missing: Vec<String> = Vec::new();
    let mut flag = |s: String| {
        if !missing.contains(&s) {
            missing.push(s);
        }
    };
    let mut rest = String::with_capacity(text.len());
    for piece in split_spans(text) {
        match piece {
            Span::Plain(p) => {
                rest.push_str(p);
                rest.push(' ');
            }
            Span::Backticked(name) => {
                if !evidence.has_name(name.trim()) {
                    flag(format!("`{name}`"));
                }
            }
            Span::Quoted(q) => {
                if !evidence.quoted(q) {
                    rest.push_str(q);
                    rest.push(' ');
                }
            }
        }
    }
    for token in tokens(&rest) {
        match classify(&token) {
            Token::Number(n, decimals) => {
                let percent = token.ends_with('%');
                let ok = evidence.has_number(n, decimals)
                    || (percent && evidence.has_number(n / 100.0, decimals + 2));
                if !ok {
                    flag(token);
                }
            }
            Token::Name => {
                if !evidence.has_name(&token) {
                    flag(token);
                }
            }
            Token::Word => {}
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

enum Span<'a> {
    Plain(&'a str),
    Backticked(&'a str),
    Quoted(&'a str),
}

/// `text` cut into plain text, `backticked` and "quoted" spans; an
/// unclosed mark is plain text.
fn split_spans(text: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['`', '"']) {
        let mark = &rest[i..=i];
        let after = &rest[i + 1..];
        let Some(end) = after.find(mark) else {
            break;
        };
        out.push(Span::Plain(&rest[..i]));
        let inner = &after[..end];
        out.push(if mark == "`" {
            Span::Backticked(inner)
        } else {
            Span::Quoted(inner)
        });
        rest = &after[end + 1..];
    }
    out.push(Span::Plain(rest));
    out
}

/// Whitespace-separated words with surrounding punctuation trimmed.
fn tokens(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            let mut w = w;
            loop {
                let trimmed = w
                    .trim_matches(|c: char| {
                        matches!(
                            c,
                            '(' | ')'
                                | '['
                                | ']'
                                | '{'
                                | '}'
                                | ','
                                | ';'
                                | '!'
                                | '?'
                                | '"'
                                | '\''
                                | '*'
                                | '→'
                                | '—'
                                | '–'
                        )
                    })
                    // A sentence's full stop or colon is not part of the word.
                    .trim_end_matches(['.', ':']);
                if trimmed.len() == w.len() {
                    break w.to_owned();
                }
                w = trimmed;
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

enum Token {
    /// A number and how many decimals it was written with.
    Number(f64, usize),
    Name,
    Word,
}

fn classify(token: &str) -> Token {
    let unsigned = token.trim_start_matches(['-', '+', '−', '~', '≈']);
    let digits = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (num, unit) = unsigned.split_at(digits);
    let unit_ok = unit
        .chars()
        .all(|c| c.is_alphabetic() || c == '%' || c == '°')
        && unit.chars().count() <= 4;
    if num.starts_with(|c: char| c.is_ascii_digit())
        && num.matches('.').count() <= 1
        && !num.ends_with('.')
        && unit_ok
        && let Ok(n) = num.parse::<f64>()
    {
        let decimals = num.split_once('.').map_or(0, |(_, d)| d.len());
        return Token::Number(n, decimals);
    }
    let lower = token.to_ascii_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return Token::Word;
    }
    let name_like = token.chars().any(|c| c.is_ascii_digit())
        || token
            .chars()
            .any(|c| matches!(c, '.' | '_' | '/' | ':' | '@' | '=' | '<' | '>'));
    if name_like { Token::Name } else { Token::Word }
}

/// The numbers written inside a name (`v1.4.2` has 1.4 and 2).
fn embedded_numbers(name: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut run = String::new();
    for c in name.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !run.is_empty() && !run.contains('.')) {
            run.push(c);
        } else if !run.is_empty() {
            if let Ok(n) = run.trim_end_matches('.').parse() {
                out.push(n);
            }
            run.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut f = Facts::default();
        f.add_name("gpu.0.temp_c");
        f.add_number(91.4832);
        f.add_number(-12.0);
        f.add_number(0.78);
        f.add_text("watched process planner restarted (pid 812 -> 907)");
        f
    }

    #[test]
    fn numbers_match_at_the_precision_written() {
        let f = facts();
        assert_eq!(grounded("peak 91.5, then 91.48 and 91", &f), Ok(()));
        assert_eq!(grounded("fell by 12 to 78%", &f), Ok(()));
        assert_eq!(
            grounded("peak 91.6 after 13 s", &f),
            Err(vec!["91.6".into(), "13".into()])
        );
    }

    #[test]
    fn names_must_be_in_the_evidence() {
        let f = facts();
        assert_eq!(grounded("`gpu.0.temp_c` rose; GPU 0 hot.", &f), Ok(()));
        assert_eq!(
            grounded("`gpu.1.temp_c` and cpu.total.busy_pct rose", &f),
            Err(vec!["`gpu.1.temp_c`".into(), "cpu.total.busy_pct".into()])
        );
        assert_eq!(
            grounded("a well-known, crash-looping process, e.g. this one.", &f),
            Ok(())
        );
    }

    #[test]
    fn quotes_of_evidence_are_accepted_whole() {
        let f = facts();
        assert_eq!(
            grounded("it said \"restarted (pid 812 -> 907)\"", &f),
            Ok(())
        );
        assert_eq!(
            grounded("it said \"restarted (pid 999)\"", &f),
            Err(vec!["999".into()])
        );
    }
}
