//! Uncached lookups waiting for the database (PostgreSQL), so that those waiting at the same moment share one
//! statement (`services::verify` drains them). One drainer runs, on the blocking pool, while there is something
//! to drain: under load the queue fills while its statement runs, and the next statement takes everything that
//! came meanwhile. Another starts only when a whole batch is already waiting — when one statement at a time
//! cannot keep up. More statements at once would split the same work into smaller batches: on a machine of
//! two cores, four drainers answered 24k uncached verifications a second where one answered 48k (the
//! per-statement work, the round trips and the thread wake-ups are paid per batch, not per key).

use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::error::Result;
use crate::memory::verify_cache::Cached;

/// Statements running at once, at most (while whole batches are waiting).
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
    /// Queues a digest; the answer comes on the receiver. True when the caller must start a drainer (none
    /// runs, or a whole batch is waiting and fewer than `DRAINERS` run); it is counted as running from now.
    pub fn ask(&self, digest: [u8; 32]) -> (oneshot::Receiver<Result<Cached>>, bool) {
        let (reply, answer) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.waiting.push(Waiting { digest, reply });
        let start = queue.drainers == 0 || (queue.drainers < DRAINERS && queue.waiting.len() > BATCH);
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
    fn one_drainer_runs_until_a_whole_batch_waits() {
        let lookups = Lookups::default();
        let started: usize = (0..BATCH).map(|_| usize::from(lookups.ask([0; 32]).1)).sum::<usize>();
        assert_eq!(started, 1, "one drainer for less than a batch");
        assert!(lookups.ask([1; 32]).1, "a whole batch waits: a second drainer");
        let more: usize = (0..10 * BATCH).map(|_| usize::from(lookups.ask([2; 32]).1)).sum();
        assert_eq!(more, DRAINERS - 2, "at most DRAINERS run");
    }

    #[test]
    fn nothing_queued_is_left_without_a_drainer() {
        let lookups = Lookups::default();
        assert!(lookups.ask([0; 32]).1);
        assert!(!lookups.ask([1; 32]).1);
        assert_eq!(lookups.next().len(), 2);
        assert!(lookups.next().is_empty(), "drained: the drainer stops");
        assert!(lookups.ask([0; 32]).1, "no drainer runs: the next ask starts one");
        lookups.stopped();
        assert!(lookups.ask([0; 32]).1, "a drainer that panicked is not counted");
    }
}
