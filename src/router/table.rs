//! The compiled router table: routes in global priority order plus an index from
//! canonical host to the routes that can only match that host.
//!
//! `find` must return exactly what a linear scan over the sorted routes would. A
//! route whose rule requires the request host to be in a finite set (see
//! `Expr::required_hosts`) cannot match any other host, so skipping it for other
//! hosts is invisible; every other route sits in `fallback`. Both lists hold
//! positions in the global order, ascending, and `find` merges them, so the first
//! match is the globally first one. Cost per request: one hash lookup plus the
//! host's bucket plus the fallback list, independent of the number of Host rules.

use std::collections::HashMap;

use super::host::HostKey;
use super::rule::{Ctx, Expr};
use super::{RequestInfo, RouteEntry};

#[derive(Debug)]
pub struct RouterTable {
    /// Rules and ids in global order (priority desc, name asc, input order).
    routes: Vec<(Expr, u32)>,
    /// Canonical host → ascending positions in `routes`.
    by_host: HashMap<Box<[u8]>, Vec<u32>>,
    /// Ascending positions of routes not bound to a host set.
    fallback: Vec<u32>,
}

impl RouterTable {
    pub fn build(mut routes: Vec<RouteEntry>) -> RouterTable {
        // Stable sort: entries equal on (priority, name) keep the caller's order.
        routes.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut by_host: HashMap<Box<[u8]>, Vec<u32>> = HashMap::new();
        let mut fallback = Vec::new();
        let mut compiled = Vec::with_capacity(routes.len());
        for (pos, entry) in routes.into_iter().enumerate() {
            let pos = u32::try_from(pos).expect("more than u32::MAX routes");
            match entry.rule.expr.required_hosts() {
                // An empty set (contradictory Host requirements) lands in no list:
                // the route can never match, exactly as a scan would find.
                Some(hosts) => {
                    for h in hosts {
                        by_host.entry(h).or_default().push(pos);
                    }
                }
                None => fallback.push(pos),
            }
            compiled.push((entry.rule.expr, entry.id));
        }
        RouterTable {
            routes: compiled,
            by_host,
            fallback,
        }
    }

    /// Id of the first route (in priority order) whose rule matches `req`.
    pub fn find(&self, req: &RequestInfo<'_>) -> Option<u32> {
        let key = HostKey::new(req.host);
        let bucket = key
            .canonical()
            .and_then(|h| self.by_host.get(h))
            .map_or(&[][..], Vec::as_slice);
        let cx = Ctx::new(req, &key);
        merged(bucket, &self.fallback)
            .map(|pos| &self.routes[pos as usize])
            .find(|(expr, _)| expr.eval(&cx))
            .map(|&(_, id)| id)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Merges two ascending position lists into one ascending sequence. The lists are
/// disjoint (a route is either indexed or in the fallback), so no dedup is needed.
fn merged<'l>(a: &'l [u32], b: &'l [u32]) -> impl Iterator<Item = u32> + 'l {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x < y => x,
            (_, Some(&y)) => y,
            (Some(&x), None) => x,
            (None, None) => return None,
        };
        if a.get(i) == Some(&next) {
            i += 1;
        } else {
            j += 1;
        }
        Some(next)
    })
}

#[cfg(test)]
mod tests {
    use super::merged;

    #[test]
    fn merge_is_ascending_union() {
        let got: Vec<u32> = merged(&[1, 4, 5], &[0, 2, 3, 9]).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5, 9]);
        assert_eq!(merged(&[], &[]).count(), 0);
        assert_eq!(merged(&[7], &[]).collect::<Vec<_>>(), vec![7]);
    }
}
