//! Uncached lookups waiting for the database (PostgreSQL), so that those waiting at the same moment share one
//! statement (`services::verify` drains them). A few drainers at most run at once, each on the blocking pool
//! only while there is something to drain: under load the queue fills while a statement runs, and the next
//! one takes everything that came meanwhile.

use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::error::Result;
use crate::memory::verify_cache::Cached;

/// Statements running at once, at most.
pub const DRAINERS: usize = 4;
/// Digests in one statement, at most.
pub const BATCH: usize = 128;

/// A lookup waiting for its answer.
#[derive(Debug)]
pub struct Waiting {
    pub digest: [u8; 32],
    pub reply: oneshot::Sender<Result<Cached>>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Waiting>,
    drainers: usize,
}

#[derive(Debug, Default)]
pub struct Lookups {
    queue: Mutex<Queue>,
}

impl Lookups {
    /// Queues a digest; the answer comes on the receiver. True when the caller must start a drainer
    /// (fewer than `DRAINERS` run; it is counted as running from now).
    pub fn ask(&self, digest: [u8; 32]) -> (oneshot::Receiver<Result<Cached>>, bool) {
        let (reply, answer) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.waiting.push(Waiting { digest, reply });
        let start = queue.drainers < DRAINERS;
        if start {
            queue.drainers += 1;
        }
        (answer, start)
    }

    /// The next batch for a drainer; empty when there is none, and the drainer is then no longer counted
    /// (in the same critical section as `ask`'s check, so nothing queued is left without a drainer).
    pub fn next(&self) -> Vec<Waiting> {
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if queue.waiting.is_empty() {
            queue.drainers = queue.drainers.saturating_sub(1);
            return Vec::new();
        }
        let take = queue.waiting.len().min(BATCH);
        queue.waiting.drain(..take).collect()
    }

    /// A drainer that ends without emptying the queue (a panic) is no longer counted.
    pub fn stopped(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.drainers = queue.drainers.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_queued_is_left_without_a_drainer() {
        let lookups = Lookups::default();
        let started: usize = (0..10).map(|i| usize::from(lookups.ask([i; 32]).1)).sum();
        assert_eq!(started, DRAINERS, "at most DRAINERS start");
        assert_eq!(lookups.next().len(), 10);
        for _ in 0..DRAINERS {
            assert!(lookups.next().is_empty());
        }
        assert!(lookups.ask([0; 32]).1, "every drainer stopped: the next ask starts one");
    }
}
