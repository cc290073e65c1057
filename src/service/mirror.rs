//! A mirroring service's choice of mirrors on one worker: as Traefik, a mirror
//! with `percent` p gets the request when its count so far is below p% of all
//! the requests the service saw, so over any run of requests each mirror gets
//! its share within one request (per worker here, as the rest of its state).

use std::cell::Cell;

use crate::config::Mirroring;

pub struct MirrorCounts {
    total: Cell<u64>,
    sent: Vec<Cell<u64>>,
}

impl MirrorCounts {
    pub fn new(m: &Mirroring) -> Self {
        MirrorCounts {
            total: Cell::new(0),
            sent: m.mirrors.iter().map(|_| Cell::new(0)).collect(),
        }
    }

    /// Counts one request; `pick(i)` is called for each mirror that gets it.
    pub fn choose(&self, m: &Mirroring, mut pick: impl FnMut(usize)) {
        let total = self.total.get() + 1;
        self.total.set(total);
        for (i, (mirror, sent)) in m.mirrors.iter().zip(&self.sent).enumerate() {
            if sent.get() * 100 < total * u64::from(mirror.percent) {
                sent.set(sent.get() + 1);
                pick(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mirror;

    #[test]
    fn each_mirror_gets_its_percent() {
        let mirror = |percent| Mirror {
            name: String::new(),
            service: 0,
            percent,
        };
        let m = Mirroring {
            service_name: String::new(),
            service: 0,
            mirrors: vec![mirror(10), mirror(50), mirror(100), mirror(0)],
            mirror_body: true,
            max_body_size: -1,
            health_check: false,
        };
        let counts = MirrorCounts::new(&m);
        let mut got = [0; 4];
        for _ in 0..1000 {
            counts.choose(&m, |i| got[i] += 1);
        }
        assert_eq!(got, [100, 500, 1000, 0]);
    }
}
