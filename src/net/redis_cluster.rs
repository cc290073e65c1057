//! Redis Cluster for rateLimit's buckets, as go-redis' `ClusterClient` (what
//! Traefik's `UniversalClient` becomes with several endpoints): the slot map
//! read with `CLUSTER SLOTS` from a known node or a seed, each key's slot by
//! CRC16 of the key (or of its `{hash tag}`), the command sent to the slot's
//! master over that node's per-worker pool (`redis_client::Client`), `-MOVED`
//! (the map is stale: re-read it, send again to the named node) and `-ASK`
//! (the slot is migrating: `ASKING` then the command, on the named node)
//! followed at most [`MAX_REDIRECTS`] times.
//!
//! All of it is per worker (`Rc`, `RefCell`, no lock): each worker reads its
//! own map, lazily: on first use it waits for it; after a redirect or a
//! failed node it goes on with the map it has and reads it again behind the
//! requests, one read at a time and at most every [`REFRESH_GAP`] (go-redis'
//! `LazyReload`), asking the nodes that just failed last — so one dead
//! master costs its own slots' requests a dial timeout each, not every
//! request a map read through it. Replicas are
//! not used (go-redis reads from masters unless `ReadOnly`, which Traefik
//! does not set). Node addresses come from the map as IP and port.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::redis_client::{Client, RedisError, Settings};
use super::resp::Reply;

/// Hash slots of a cluster.
pub const SLOTS: usize = 16384;
/// go-redis' `ClusterOptions.MaxRedirects` default.
pub const MAX_REDIRECTS: usize = 3;
/// The least time between the starts of two map reads behind the requests
/// (go-redis waits 200 ms after a lazy reload before allowing the next).
pub const REFRESH_GAP: Duration = Duration::from_millis(200);

/// The slot of `key`: CRC16 (XMODEM) of its hash tag (the bytes between the
/// first `{` and the next `}`, when not empty) or of the whole key.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS as u16
}

fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    match key[open + 1..].iter().position(|&b| b == b'}') {
        Some(len) if len > 0 => &key[open + 1..open + 1 + len],
        _ => key,
    }
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = match crc & 0x8000 {
                0 => crc << 1,
                _ => (crc << 1) ^ 0x1021,
            };
        }
    }
    crc
}

/// A reply that sends the command elsewhere.
#[derive(Debug, PartialEq, Eq)]
pub enum Redirect {
    /// `-MOVED <slot> <ip:port>`: the slot lives there now.
    Moved(u16, SocketAddr),
    /// `-ASK <slot> <ip:port>`: this key is there, for this command only.
    Ask(SocketAddr),
}

/// The redirect in `reply`, if it is one; `asked` stands for an empty host
/// (a node that does not know its own address names only the port).
pub fn redirect(reply: &Reply, asked: SocketAddr) -> Option<Redirect> {
    let Reply::Error(text) = reply else {
        return None;
    };
    let text = std::str::from_utf8(text).ok()?;
    let mut words = text.split(' ');
    let (kind, slot, addr) = (words.next()?, words.next()?, words.next()?);
    let addr = node_addr(addr, asked)?;
    match kind {
        "MOVED" => Some(Redirect::Moved(slot.parse().ok()?, addr)),
        "ASK" => Some(Redirect::Ask(addr)),
        _ => None,
    }
}

fn node_addr(text: &str, asked: SocketAddr) -> Option<SocketAddr> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match host {
        "" | "?" => asked.ip(),
        h => h.parse::<IpAddr>().ok()?,
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

/// The masters' slot ranges from a `CLUSTER SLOTS` reply (`asked`: the node
/// that answered, for an empty host); `None` when it is not one.
pub fn parse_slots(reply: &Reply, asked: SocketAddr) -> Option<Vec<(u16, u16, SocketAddr)>> {
    let Reply::Array(Some(ranges)) = reply else {
        return None;
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Reply::Array(Some(items)) = range else {
            return None;
        };
        let (Some(Reply::Integer(start)), Some(Reply::Integer(end))) =
            (items.first(), items.get(1))
        else {
            return None;
        };
        let Some(Reply::Array(Some(master))) = items.get(2) else {
            return None;
        };
        let (Some(host), Some(Reply::Integer(port))) = (master.first(), master.get(1)) else {
            return None;
        };
        let host = std::str::from_utf8(host.as_bytes()?).ok()?;
        let addr = node_addr(&format!("{host}:{port}"), asked)?;
        let (start, end) = (u16::try_from(*start).ok()?, u16::try_from(*end).ok()?);
        if start > end || usize::from(end) >= SLOTS {
            return None;
        }
        out.push((start, end, addr));
    }
    Some(out)
}

/// One worker's way to the store: one server, or a cluster of them.
#[derive(Debug)]
pub enum Store {
    One(Rc<Client>),
    Cluster(Rc<Cluster>),
}

impl Store {
    pub fn new(settings: Arc<Settings>) -> Store {
        match settings.seeds.len() > 1 {
            true => Store::Cluster(Rc::new(Cluster::new(settings))),
            false => Store::One(Client::new(settings)),
        }
    }

    /// Sends one command about `key` and reads its reply.
    pub async fn call(&self, key: &[u8], args: &[&[u8]]) -> Result<Reply, RedisError> {
        match self {
            Store::One(c) => c.call(args).await,
            Store::Cluster(c) => c.call(key, args).await,
        }
    }
}

/// One worker's view of a cluster: its nodes' pools and the slot map.
#[derive(Debug)]
pub struct Cluster {
    base: Arc<Settings>,
    /// The nodes of the map (and seeds being asked), each with its pool.
    nodes: RefCell<Vec<(SocketAddr, Rc<Client>)>>,
    /// Per slot, the index of its master in `nodes` plus one; 0: unknown.
    slots: RefCell<Box<[u16]>>,
    /// A redirect or a failure said the map may be wrong: read it again.
    stale: Cell<bool>,
    /// A read of the map is under way behind the requests (or just ended:
    /// held for [`REFRESH_GAP`]).
    refreshing: Cell<bool>,
    /// Nodes whose last command failed: asked last for the map.
    suspects: RefCell<Vec<SocketAddr>>,
}

impl Cluster {
    pub fn new(base: Arc<Settings>) -> Cluster {
        Cluster {
            base,
            nodes: RefCell::default(),
            slots: RefCell::new(vec![0; SLOTS].into_boxed_slice()),
            stale: Cell::new(true),
            refreshing: Cell::new(false),
            suspects: RefCell::default(),
        }
    }

    /// Sends `args` to the master of `key`'s slot, following redirects.
    pub async fn call(self: &Rc<Self>, key: &[u8], args: &[&[u8]]) -> Result<Reply, RedisError> {
        let slot = key_slot(key);
        if self.master(slot).is_none() {
            // Nothing to go on: wait for a map.
            self.refresh().await?;
        } else if self.stale.get() {
            self.refresh_behind();
        }
        let Some((mut addr, mut node)) = self.master(slot) else {
            return Err(RedisError::NoSlot(self.base.endpoint.clone(), slot));
        };
        let mut asking = false;
        for _ in 0..=MAX_REDIRECTS {
            let reply = match asking {
                true => node.call_asking(args).await,
                false => node.call(args).await,
            };
            let reply = reply.inspect_err(|_| self.suspect(addr, true))?;
            self.suspect(addr, false);
            (addr, asking) = match redirect(&reply, addr) {
                None => return Ok(reply),
                Some(Redirect::Moved(moved, to)) => {
                    // Sent on at once; the whole map is read again next time.
                    self.stale.set(true);
                    let (index, _) = self.node(to);
                    self.slots.borrow_mut()[usize::from(moved) % SLOTS] = index as u16 + 1;
                    (to, false)
                }
                Some(Redirect::Ask(to)) => (to, true),
            };
            node = self.node(addr).1;
        }
        Err(RedisError::Redirects(
            self.base.endpoint.clone(),
            MAX_REDIRECTS,
        ))
    }

    /// Reads the map again in a task of its own, unless one is under way or
    /// ended less than [`REFRESH_GAP`] ago; a failed read leaves the map
    /// stale for the next request to try again.
    fn refresh_behind(self: &Rc<Self>) {
        if self.refreshing.replace(true) {
            return;
        }
        let me = Rc::clone(self);
        monoio::spawn(async move {
            if let Err(e) = me.refresh().await {
                log::debug!("redis cluster: reading the slot map: {e}");
            }
            monoio::time::sleep(REFRESH_GAP).await;
            me.refreshing.set(false);
        });
    }

    /// Marks `addr` as failed (asked last for the map) or as answering.
    fn suspect(&self, addr: SocketAddr, failed: bool) {
        let mut suspects = self.suspects.borrow_mut();
        let at = suspects.iter().position(|a| *a == addr);
        match (failed, at) {
            (true, None) => suspects.push(addr),
            (false, Some(i)) => {
                suspects.swap_remove(i);
            }
            _ => {}
        }
        if failed {
            self.stale.set(true);
        }
    }

    fn master(&self, slot: u16) -> Option<(SocketAddr, Rc<Client>)> {
        let index = self.slots.borrow()[usize::from(slot)];
        let nodes = self.nodes.borrow();
        let (addr, client) = nodes.get(usize::from(index).checked_sub(1)?)?;
        Some((*addr, client.clone()))
    }

    /// The node at `addr` and its index, added (with an empty pool) if new.
    fn node(&self, addr: SocketAddr) -> (usize, Rc<Client>) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(i) = nodes.iter().position(|(a, _)| *a == addr) {
            return (i, nodes[i].1.clone());
        }
        let client = self.client_for(addr);
        nodes.push((addr, client.clone()));
        (nodes.len() - 1, client)
    }

    fn client_for(&self, addr: SocketAddr) -> Rc<Client> {
        // As go-redis: a cluster has no databases to SELECT.
        let settings = Settings {
            endpoint: addr.to_string(),
            addr: Ok(addr),
            db: 0,
            seeds: Vec::new(),
            ..(*self.base).clone()
        };
        Client::new(Arc::new(settings))
    }

    /// Reads the slot map from the first node that gives it: the known
    /// nodes, then the seeds, those whose last command failed last of all.
    async fn refresh(&self) -> Result<(), RedisError> {
        let known = self.nodes.borrow().iter().map(|(a, _)| *a).collect();
        let seeds = self.base.seeds.iter().filter_map(|(_, a)| a.as_ref().ok());
        let mut order = dedup(known, seeds);
        {
            let suspects = self.suspects.borrow();
            // Stable: the map's order otherwise, the failed ones at the end.
            order.sort_by_key(|a| suspects.contains(a));
        }
        let mut last = None;
        for addr in order {
            let (_, client) = self.node(addr);
            let asked = client.call(&[b"CLUSTER", b"SLOTS"]).await;
            self.suspect(addr, asked.is_err());
            match asked {
                Ok(reply) => match parse_slots(&reply, addr) {
                    Some(map) => {
                        self.install(&map);
                        return Ok(());
                    }
                    None => last = Some(not_slots(&client, reply)),
                },
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.unresolved()))
    }

    /// Makes `map` the slot map, keeping only its nodes (with their pools;
    /// a node gone from the cluster closes its connections once the last
    /// request using it is done).
    fn install(&self, map: &[(u16, u16, SocketAddr)]) {
        let old = std::mem::take(&mut *self.nodes.borrow_mut());
        let mut nodes: Vec<(SocketAddr, Rc<Client>)> = Vec::new();
        let mut slots = self.slots.borrow_mut();
        slots.fill(0);
        for &(start, end, addr) in map {
            let index = match nodes.iter().position(|(a, _)| *a == addr) {
                Some(i) => i,
                None => {
                    let client = match old.iter().find(|(a, _)| *a == addr) {
                        Some((_, c)) => c.clone(),
                        None => self.client_for(addr),
                    };
                    nodes.push((addr, client));
                    nodes.len() - 1
                }
            };
            slots[usize::from(start)..=usize::from(end)].fill(index as u16 + 1);
        }
        *self.nodes.borrow_mut() = nodes;
        self.stale.set(false);
    }

    fn unresolved(&self) -> RedisError {
        let (endpoint, why) = self
            .base
            .seeds
            .iter()
            .find_map(|(e, a)| a.as_ref().err().map(|w| (e.clone(), w.clone())))
            .unwrap_or_else(|| (self.base.endpoint.clone(), "no seed".into()));
        RedisError::Unresolved(endpoint, why)
    }
}

/// `known` then `seeds`, each address once.
fn dedup<'a>(
    mut known: Vec<SocketAddr>,
    seeds: impl Iterator<Item = &'a SocketAddr>,
) -> Vec<SocketAddr> {
    for s in seeds {
        if !known.contains(s) {
            known.push(*s);
        }
    }
    known
}

fn not_slots(client: &Client, reply: Reply) -> RedisError {
    let text = match reply {
        Reply::Error(e) => String::from_utf8_lossy(&e).into_owned(),
        r => format!("unexpected reply {r:?}"),
    };
    RedisError::Refused(client.endpoint().to_string(), "CLUSTER SLOTS", text)
}

#[cfg(test)]
#[path = "redis_cluster_tests.rs"]
mod tests;
