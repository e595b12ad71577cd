//! The Drain template miner (He, Zhu, Zheng and Lyu, "Drain: An Online Log
//! Parsing Approach with Fixed Depth Tree", ICWS 2017).
//!
//! A masked line is split at spaces. The tree's first level is keyed by the
//! number of tokens, the next `depth - 2` levels by the line's first tokens
//! (a token with a digit, or one arriving at a node that already has
//! `max_children` children, goes down the `<*>` branch instead), and a leaf
//! holds templates. The line joins the leaf's most similar template — the
//! share of positions where the template's token equals the line's, `<*>`
//! positions not counting; ties go to the template with more `<*>`, then to
//! the older one — if that share reaches `similarity`, and the positions
//! that differ become `<*>`. Otherwise it starts a new template.
//!
//! ## Identity
//!
//! A [`TemplateId`] is the template's creation number in this miner: 1, 2,
//! 3, … It never changes while the template generalises, is never reused
//! (not even after an eviction), and is the same on every run that feeds
//! the same lines in the same order (the tree uses ordered maps and every
//! tie is broken by age, so nothing depends on hashing or the clock). A hash
//! of the template text would change every time a position became `<*>`;
//! [`template_key`] hashes the *final* text, for matching the templates of
//! one report against another's.
//!
//! ## Memory
//!
//! At most [`DrainConfig::max_templates`] templates are kept. When full, a
//! line that matches none is refused and counted ([`WhenFull::RefuseNew`]),
//! or the least recently matched template is evicted and counted
//! ([`WhenFull::EvictLeastRecent`]); the tree nodes that only led to it are
//! removed with it. Lines are bounded by the masker, so tokens are too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The token that stands for any one token in a template.
pub const WILDCARD: &str = "<*>";

/// The shape of the tree and the bound on templates.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainConfig {
    /// Depth of the tree, counting the root and the token-count level, so
    /// `depth - 2` first tokens select the leaf. At least 3; default 4.
    pub depth: usize,
    /// The share of equal tokens (0 to 1) for a line to join a template.
    /// Default 0.5: masked lines have fewer variable tokens than raw ones,
    /// so a little above Drain3's 0.4 keeps apart messages that share a
    /// prefix.
    pub similarity: f64,
    /// Children of a tree node before new tokens go down `<*>`. At least 1;
    /// default 100.
    pub max_children: usize,
    /// Templates kept. At least 1; default 1000.
    pub max_templates: usize,
}

impl Default for DrainConfig {
    fn default() -> Self {
        Self {
            depth: 4,
            similarity: 0.5,
            max_children: 100,
            max_templates: 1000,
        }
    }
}

impl DrainConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// The first field out of range, with its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.depth < 3 {
            return Err(ConfigError::Depth { value: self.depth });
        }
        if !(0.0..=1.0).contains(&self.similarity) {
            return Err(ConfigError::Similarity {
                value: self.similarity,
            });
        }
        if self.max_children == 0 {
            return Err(ConfigError::MaxChildren);
        }
        if self.max_templates == 0 {
            return Err(ConfigError::MaxTemplates);
        }
        Ok(())
    }
}

/// What to do with a line that matches no template when the miner is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenFull {
    /// Refuse the line and count it: templates already mined keep their
    /// counts. What a comparison needs.
    #[default]
    RefuseNew,
    /// Evict the template matched longest ago and count it: what a miner
    /// that runs for days needs.
    EvictLeastRecent,
}

/// A template's creation number in its miner (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateId(pub u64);

impl std::fmt::Display for TemplateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T{}", self.0)
    }
}

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It started a new template.
    Created(TemplateId),
    /// It matched a template and changed nothing in it.
    Matched(TemplateId),
    /// It matched a template and turned some of its tokens into `<*>`.
    Generalised(TemplateId),
    /// It matched nothing and the miner was full ([`WhenFull::RefuseNew`]).
    Refused,
    /// It had no tokens.
    Empty,
}

impl Outcome {
    /// The template the line went to, if any.
    #[must_use]
    pub const fn template(self) -> Option<TemplateId> {
        match self {
            Self::Created(id) | Self::Matched(id) | Self::Generalised(id) => Some(id),
            Self::Refused | Self::Empty => None,
        }
    }
}

/// One template: its tokens and how many lines it has taken.
#[derive(Debug, Clone)]
struct Cluster {
    tokens: Vec<Box<str>>,
    count: u64,
    /// The keys from the token-count node down to its leaf.
    path: Vec<Box<str>>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<Box<str>, Node>,
    templates: Vec<TemplateId>,
}

/// The tree, the templates and their bound; lines in, template ids out.
#[derive(Debug)]
pub struct Drain {
    config: DrainConfig,
    when_full: WhenFull,
    by_length: BTreeMap<usize, Node>,
    clusters: BTreeMap<TemplateId, Cluster>,
    /// (last used, id) for every template, when evicting.
    recency: BTreeSet<(u64, TemplateId)>,
    next_id: u64,
    tick: u64,
    refused: u64,
    evicted: u64,
}

impl Drain {
    /// An empty miner.
    ///
    /// # Errors
    /// When `config` has a field out of range.
    pub fn new(config: DrainConfig, when_full: WhenFull) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            when_full,
            by_length: BTreeMap::new(),
            clusters: BTreeMap::new(),
            recency: BTreeSet::new(),
            next_id: 1,
            tick: 0,
            refused: 0,
            evicted: 0,
        })
    }

    /// Adds one masked line (tokens separated by single spaces).
    pub fn add(&mut self, masked: &str) -> Outcome {
        let tokens: Vec<&str> = masked.split_ascii_whitespace().collect();
        if tokens.is_empty() {
            return Outcome::Empty;
        }
        self.tick += 1;
        if let Some(id) = self.best_match(&tokens) {
            return self.join(id, &tokens);
        }
        if self.clusters.len() >= self.config.max_templates {
            match self.when_full {
                WhenFull::RefuseNew => {
                    self.refused += 1;
                    return Outcome::Refused;
                }
                WhenFull::EvictLeastRecent => self.evict_oldest(),
            }
        }
        self.create(&tokens)
    }

    /// The template a masked line would join, without changing anything.
    #[must_use]
    pub fn find(&self, masked: &str) -> Option<TemplateId> {
        let tokens: Vec<&str> = masked.split_ascii_whitespace().collect();
        if tokens.is_empty() {
            return None;
        }
        self.best_match(&tokens)
    }

    /// A template's text, tokens joined by spaces.
    #[must_use]
    pub fn template_text(&self, id: TemplateId) -> Option<String> {
        self.clusters.get(&id).map(|c| c.tokens.join(" "))
    }

    /// Lines a template has taken.
    #[must_use]
    pub fn template_count(&self, id: TemplateId) -> Option<u64> {
        self.clusters.get(&id).map(|c| c.count)
    }

    /// Every template kept, oldest first: id, text, lines taken.
    pub fn templates(&self) -> impl Iterator<Item = (TemplateId, String, u64)> + '_ {
        self.clusters
            .iter()
            .map(|(&id, c)| (id, c.tokens.join(" "), c.count))
    }

    /// Templates kept now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether no template is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Lines refused because the miner was full.
    #[must_use]
    pub const fn refused(&self) -> u64 {
        self.refused
    }

    /// Templates evicted because the miner was full.
    #[must_use]
    pub const fn evicted(&self) -> u64 {
        self.evicted
    }

    fn prefix_len(&self, tokens: usize) -> usize {
        tokens.min(self.config.depth - 2)
    }

    /// Walks down without creating anything: the exact child, else `<*>`.
    fn leaf(&self, tokens: &[&str]) -> Option<&Node> {
        let mut node = self.by_length.get(&tokens.len())?;
        for &token in &tokens[..self.prefix_len(tokens.len())] {
            node = node
                .children
                .get(token)
                .or_else(|| node.children.get(WILDCARD))?;
        }
        Some(node)
    }

    fn best_match(&self, tokens: &[&str]) -> Option<TemplateId> {
        let leaf = self.leaf(tokens)?;
        let mut best: Option<(f64, usize, TemplateId)> = None;
        for &id in &leaf.templates {
            let Some(cluster) = self.clusters.get(&id) else {
                continue;
            };
            let (sim, wild) = similarity(&cluster.tokens, tokens);
            let better = best.is_none_or(|(s, w, _)| sim > s || (sim == s && wild > w));
            if better {
                best = Some((sim, wild, id));
            }
        }
        best.filter(|&(sim, _, _)| sim >= self.config.similarity)
            .map(|(_, _, id)| id)
    }

    fn join(&mut self, id: TemplateId, tokens: &[&str]) -> Outcome {
        let Some(cluster) = self.clusters.get_mut(&id) else {
            return Outcome::Refused;
        };
        let mut changed = false;
        for (slot, &token) in cluster.tokens.iter_mut().zip(tokens) {
            if &**slot != token && &**slot != WILDCARD {
                *slot = WILDCARD.into();
                changed = true;
            }
        }
        cluster.count += 1;
        if self.when_full == WhenFull::EvictLeastRecent {
            self.recency.remove(&(cluster.last_used, id));
            self.recency.insert((self.tick, id));
        }
        cluster.last_used = self.tick;
        if changed {
            Outcome::Generalised(id)
        } else {
            Outcome::Matched(id)
        }
    }

    fn create(&mut self, tokens: &[&str]) -> Outcome {
        let id = TemplateId(self.next_id);
        self.next_id += 1;
        let max_children = self.config.max_children;
        let mut node = self.by_length.entry(tokens.len()).or_default();
        let mut path = Vec::with_capacity(self.config.depth - 2);
        for &token in &tokens[..tokens.len().min(self.config.depth - 2)] {
            let key: Box<str> = if node.children.contains_key(token) {
                token.into()
            } else if token.bytes().any(|b| b.is_ascii_digit())
                || node.children.keys().filter(|k| &***k != WILDCARD).count() >= max_children
            {
                WILDCARD.into()
            } else {
                token.into()
            };
            path.push(key.clone());
            node = node.children.entry(key).or_default();
        }
        node.templates.push(id);
        let cluster = Cluster {
            tokens: tokens.iter().map(|&t| t.into()).collect(),
            count: 1,
            path,
            last_used: self.tick,
        };
        if self.when_full == WhenFull::EvictLeastRecent {
            self.recency.insert((self.tick, id));
        }
        self.clusters.insert(id, cluster);
        Outcome::Created(id)
    }

    fn evict_oldest(&mut self) {
        let Some((_, id)) = self.recency.pop_first() else {
            return;
        };
        let Some(cluster) = self.clusters.remove(&id) else {
            return;
        };
        self.evicted += 1;
        let len = cluster.tokens.len();
        if let Some(node) = self.by_length.get_mut(&len)
            && remove(node, &cluster.path, id)
        {
            self.by_length.remove(&len);
        }
    }
}

/// Removes `id` from the leaf at `path` under `node`, and every node left
/// empty on the way; returns whether `node` itself is now empty.
fn remove(node: &mut Node, path: &[Box<str>], id: TemplateId) -> bool {
    match path.split_first() {
        None => node.templates.retain(|&t| t != id),
        Some((key, rest)) => {
            if let Some(child) = node.children.get_mut(key)
                && remove(child, rest, id)
            {
                node.children.remove(key);
            }
        }
    }
    node.children.is_empty() && node.templates.is_empty()
}

/// The share of positions where the template's token equals the line's
/// (`<*>` never counts as equal), and the number of `<*>` in the template.
#[allow(clippy::cast_precision_loss)] // token counts are far below 2^52
fn similarity(template: &[Box<str>], tokens: &[&str]) -> (f64, usize) {
    let mut same = 0usize;
    let mut wild = 0usize;
    for (slot, &token) in template.iter().zip(tokens) {
        if &**slot == WILDCARD {
            wild += 1;
        } else if &**slot == token {
            same += 1;
        }
    }
    (same as f64 / tokens.len() as f64, wild)
}

/// A stable key for a final template text: FNV-1a (64 bits) of its UTF-8
/// bytes, as 16 hex digits. The same text gives the same key on every
/// machine and every Rust version (unlike `std`'s hasher).
#[must_use]
pub fn template_key(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in text.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests;
