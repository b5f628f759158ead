//! Uncached lookups waiting for the database (PostgreSQL), so that those waiting at the same moment share one
//! statement (`services::verify` drains them). One drainer runs, on the blocking pool, while there is something
//! to drain: under load the queue fills while its statement runs, and the next statement takes everything that
//! came meanwhile. Another starts only when one statement at a time cannot keep up: a whole batch is already
//! waiting, or no batch has been taken for `STALLED` (a statement that hangs — on a connection the network
//! dropped, say — then holds up only its own batch). More statements at once would split the same work into
//! smaller batches: on a machine of two cores, four drainers answered 24k uncached verifications a second
//! where one answered 48k (the per-statement work, the round trips and the thread wake-ups are paid per batch,
//! not per key).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::Result;
use crate::memory::verify_cache::Cached;

/// Statements running at once, at most (while one at a time cannot keep up).
pub const DRAINERS: usize = 4;
/// Digests in one statement, at most.
pub const BATCH: usize = 128;
/// With lookups waiting, no batch taken for this long: the running statements are stuck, another starts.
/// An uncached lookup's statement takes a millisecond or two.
pub const STALLED: Duration = Duration::from_millis(100);

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
    /// When a drainer last took a batch (while any runs).
    taken_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Lookups {
    queue: Mutex<Queue>,
}

impl Lookups {
    /// Queues a digest; the answer comes on the receiver. True when the caller must start a drainer (none
    /// runs, or fewer than `DRAINERS` run and they are behind: a whole batch waits, or none was taken for
    /// `STALLED`); it is counted as running from now.
    pub fn ask(&self, digest: [u8; 32]) -> (oneshot::Receiver<Result<Cached>>, bool) {
        let (reply, answer) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.waiting.push(Waiting { digest, reply });
        let behind = queue.waiting.len() > BATCH || queue.taken_at.is_some_and(|at| at.elapsed() >= STALLED);
        let start = queue.drainers == 0 || (queue.drainers < DRAINERS && behind);
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
            queue.stop_one();
            return Vec::new();
        }
        queue.taken_at = Some(Instant::now());
        let take = queue.waiting.len().min(BATCH);
        queue.waiting.drain(..take).collect()
    }

    /// A drainer that ends without emptying the queue (a panic) is no longer counted.
    pub fn stopped(&self) {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).stop_one();
    }
}

impl Queue {
    fn stop_one(&mut self) {
        self.drainers = self.drainers.saturating_sub(1);
        if self.drainers == 0 {
            self.taken_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_drainer_runs_until_a_whole_batch_waits() {
        let lookups = Lookups::default();
        let started: usize = (0..BATCH).map(|_| usize::from(lookups.ask([0; 32]).1)).sum();
        assert_eq!(started, 1, "one drainer for less than a batch");
        assert!(lookups.ask([1; 32]).1, "a whole batch waits: a second drainer");
        let more: usize = (0..10 * BATCH).map(|_| usize::from(lookups.ask([2; 32]).1)).sum();
        assert_eq!(more, DRAINERS - 2, "at most DRAINERS run");
    }

    #[test]
    fn a_statement_that_hangs_holds_up_only_its_own_batch() {
        let lookups = Lookups::default();
        assert!(lookups.ask([0; 32]).1);
        assert_eq!(lookups.next().len(), 1, "its statement starts, and hangs");
        assert!(!lookups.ask([1; 32]).1, "a statement that just started: the next lookup waits for it");
        std::thread::sleep(STALLED);
        assert!(lookups.ask([2; 32]).1, "no batch taken for STALLED: another drainer starts");
        assert_eq!(lookups.next().len(), 2, "and takes what waits");
        assert!(!lookups.ask([3; 32]).1, "it took a batch just now");
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
