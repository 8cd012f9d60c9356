//! The warm workers that wait for their next run, oldest first. A worker belongs to one pool
//! key (code digest and start environment) of one action; it is taken back by the next run
//! with the same key, retired when its action was redeployed with other code, evicted (oldest
//! first) when the pool is full, and expires after the idle period. Dropping a worker kills
//! its process.

use std::time::Duration;

use tokio::time::Instant;

use super::worker::Worker;

/// An idle worker and what it is for.
#[derive(Debug)]
struct Entry {
    worker: Worker,
    key: String,
    action: String,
    digest: String,
    since: Instant,
}

/// Idle workers, oldest first.
#[derive(Debug, Default)]
pub struct IdleWorkers {
    entries: Vec<Entry>,
}

impl IdleWorkers {
    /// How many workers wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The most recently used live worker for `key` (the warmest), if any.
    pub fn take(&mut self, key: &str) -> Option<Worker> {
        while let Some(pos) = self.entries.iter().rposition(|e| e.key == key) {
            let mut entry = self.entries.remove(pos);
            if entry.worker.is_alive() {
                return Some(entry.worker);
            }
        }
        None
    }

    /// Keeps `worker` warm, unless `key` already has `per_key` idle workers. When `total`
    /// would be exceeded, the oldest idle worker goes. Returns the workers to kill.
    pub fn put(
        &mut self,
        worker: Worker,
        key: String,
        action: String,
        digest: String,
        per_key: usize,
        total: usize,
    ) -> Vec<Worker> {
        if self.entries.iter().filter(|e| e.key == key).count() >= per_key {
            return vec![worker];
        }
        let mut out = Vec::new();
        while self.entries.len() >= total.max(1) {
            out.push(self.entries.remove(0).worker);
        }
        self.entries.push(Entry {
            worker,
            key,
            action,
            digest,
            since: Instant::now(),
        });
        out
    }

    /// Removes the oldest idle worker whose key is not `key` (to make room for a new one).
    pub fn evict_other(&mut self, key: &str) -> Option<Worker> {
        let pos = self.entries.iter().position(|e| e.key != key)?;
        Some(self.entries.remove(pos).worker)
    }

    /// Removes the idle workers of `action` that run code other than `digest`: the action was
    /// redeployed, they will never be used again.
    pub fn retire(&mut self, action: &str, digest: &str) -> Vec<Worker> {
        self.drain_where(|e| e.action == action && e.digest != digest)
    }

    /// Removes the workers idle for `ttl` or longer.
    pub fn expire(&mut self, ttl: Duration) -> Vec<Worker> {
        let now = Instant::now();
        self.drain_where(|e| now.duration_since(e.since) >= ttl)
    }

    /// Removes every worker.
    pub fn clear(&mut self) -> Vec<Worker> {
        self.entries.drain(..).map(|e| e.worker).collect()
    }

    fn drain_where(&mut self, pred: impl Fn(&Entry) -> bool) -> Vec<Worker> {
        let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(pred);
        self.entries = kept;
        gone.into_iter().map(|e| e.worker).collect()
    }
}
