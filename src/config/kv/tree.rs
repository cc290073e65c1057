//! Store pairs → a tree of key segments, as Traefik's KV decoder builds it:
//! keys below `rootKey/`, split on `/` (empty segments dropped), siblings that
//! differ only in case merged into the first one seen (pairs are sorted), and
//! only the dynamic configuration's top-level sections kept (`http`, `tcp`,
//! `udp`, `tls`): other tools keep their own keys under the same root, and
//! Traefik skips them too.

use rustc_hash::FxHashMap;

/// The dynamic configuration's top-level sections; keys under any other first
/// segment are not ours.
const SECTIONS: &[&str] = &["http", "tcp", "udp", "tls"];

/// One key segment: its value if a pair ends here, its children if longer keys
/// go through it.
#[derive(Debug, Default, PartialEq)]
pub struct Node {
    /// The segment as first written (map keys such as router names keep it).
    pub name: String,
    /// The full store key down to this segment, for error messages.
    pub key: String,
    pub value: Option<String>,
    pub children: Vec<Node>,
    /// Lowercased child name → its index in `children`: finding a sibling to
    /// merge into is a lookup, not a scan (10,000 routers under `routers`
    /// would make the build quadratic).
    pub(super) index: FxHashMap<String, usize>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        // Pairs come sorted, so the child wanted is most often the last one.
        let last = self.children.len().checked_sub(1);
        let at = match last.filter(|&i| self.children[i].name == name) {
            Some(i) => i,
            None => {
                let n = self.children.len();
                *self.index.entry(name.to_ascii_lowercase()).or_insert(n)
            }
        };
        if at == self.children.len() {
            self.children.push(Node {
                name: name.to_string(),
                key: format!("{}/{name}", self.key),
                ..Node::default()
            });
        }
        &mut self.children[at]
    }

    /// Removes the node at `key` (a full store key); true if one was found.
    pub fn remove(&mut self, key: &str) -> bool {
        if let Some(at) = self.children.iter().position(|c| c.key == key) {
            self.children.remove(at);
            self.index.retain(|_, i| *i != at);
            self.index
                .values_mut()
                .filter(|i| **i > at)
                .for_each(|i| *i -= 1);
            return true;
        }
        self.children.iter_mut().any(|c| {
            key.strip_prefix(c.key.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
                && c.remove(key)
        })
    }
}

/// Builds the tree of the pairs under `root` (sorted by key first, so that the
/// spelling kept for case-merged segments does not depend on the store's order).
pub fn build(root: &str, pairs: &[(String, String)]) -> Node {
    let root = root.trim_end_matches('/');
    let mut tree = Node {
        name: root.to_string(),
        key: root.to_string(),
        ..Node::default()
    };
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    for (key, value) in sorted {
        let Some(rest) = key.strip_prefix(root).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let mut segments = rest.split('/').filter(|s| !s.is_empty()).peekable();
        let Some(first) = segments.peek() else {
            continue;
        };
        if !SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(first)) {
            continue;
        }
        let mut node = &mut tree;
        for segment in segments {
            node = node.child(segment);
        }
        node.value = Some(value.clone());
    }
    tree
}
