//! Each tenant's share of the server (SPEC §5): one tenant cannot starve the others.
//!
//! A tenant runs at most `max_in_flight` requests at a time; that also bounds the database
//! connections it holds (a request holds at most two at once, and only while it runs). Past
//! that, up to `max_queued` requests wait their turn, each for at most `wait`; a request that
//! waits its time out, or finds the queue full (it is answered after `wait` all the same), is
//! turned away (HTTP 429 `RATE_LIMITED`, with `Retry-After`). A burst (a board loading its panels, a benchmark's clients) queues and is
//! served; only a sustained flood is refused — and it never takes more than its share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How large a tenant's share is.
#[derive(Debug, Clone, Copy)]
pub struct ShareLimits {
    pub max_in_flight: usize,
    pub max_queued: usize,
    pub wait: Duration,
}

/// The shares of every tenant seen lately.
pub struct TenantShares {
    limits: ShareLimits,
    tenants: Mutex<HashMap<String, Arc<Share>>>,
}

struct Share {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
}

/// A request's turn; the next one in the tenant's queue goes when it is dropped.
pub struct Turn(#[allow(dead_code)] OwnedSemaphorePermit);

/// The tenant is over its share: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverShare {
    pub retry_after: Duration,
}

/// Tenants whose share is idle are forgotten once this many are remembered.
const REMEMBERED_TENANTS: usize = 1024;

impl TenantShares {
    pub fn new(limits: ShareLimits) -> TenantShares {
        TenantShares {
            limits: ShareLimits {
                max_in_flight: limits.max_in_flight.max(1),
                ..limits
            },
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the tenant's turn (briefly), or says it is over its share.
    pub async fn enter(&self, tenant: &str) -> Result<Turn, OverShare> {
        let share = self.share(tenant);
        if let Ok(permit) = Arc::clone(&share.running).try_acquire_owned() {
            return Ok(Turn(permit));
        }
        let over = OverShare {
            retry_after: self.limits.wait.max(Duration::from_secs(1)),
        };
        let Some(_in_queue) = Queued::join(&share.queued, self.limits.max_queued) else {
            // Turned away all the same after the wait, so that a flood's clients that retry at
            // once cannot spin the server on refusals.
            tokio::time::sleep(self.limits.wait).await;
            return Err(over);
        };
        match tokio::time::timeout(self.limits.wait, Arc::clone(&share.running).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn(permit)),
            _ => Err(over),
        }
    }

    fn share(&self, tenant: &str) -> Arc<Share> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(share) = tenants.get(tenant) {
            return Arc::clone(share);
        }
        if tenants.len() >= REMEMBERED_TENANTS {
            // A share nobody runs in or waits for holds nothing worth keeping.
            tenants.retain(|_, share| Arc::strong_count(&share.running) > 1 || Arc::strong_count(share) > 1);
        }
        let share = Arc::new(Share {
            running: Arc::new(Semaphore::new(self.limits.max_in_flight)),
            queued: AtomicUsize::new(0),
        });
        tenants.insert(tenant.to_owned(), Arc::clone(&share));
        share
    }
}

/// A place in a tenant's queue, given back when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(queued: &'a AtomicUsize, max: usize) -> Option<Queued<'a>> {
        let place = Queued(queued);
        (queued.fetch_add(1, Ordering::AcqRel) < max).then_some(place)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(max_in_flight: usize, max_queued: usize, wait_ms: u64) -> TenantShares {
        TenantShares::new(ShareLimits {
            max_in_flight,
            max_queued,
            wait: Duration::from_millis(wait_ms),
        })
    }

    #[tokio::test]
    async fn a_tenant_over_its_share_waits_then_is_turned_away_while_others_go_on() {
        let shares = shares(2, 1, 50);
        let first = shares.enter("a").await.expect("first turn");
        let _second = shares.enter("a").await.expect("second turn");
        // The third waits its time out; the others tenants are not affected.
        assert!(shares.enter("a").await.is_err());
        let _other = shares.enter("b").await.expect("another tenant runs");
        // A waiting request gets the turn a finished one gives back.
        let waiting = shares.enter("a");
        drop(first);
        assert!(waiting.await.is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_turns_requests_away_after_the_wait() {
        let shares = Arc::new(shares(1, 1, 300));
        let _running = shares.enter("a").await.expect("turn");
        let queued = {
            let shares = Arc::clone(&shares);
            tokio::spawn(async move { shares.enter("a").await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        let refused = shares.enter("a").await;
        assert!(refused.is_err(), "the queue holds one");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(refused.err().is_some_and(|o| o.retry_after >= Duration::from_secs(1)));
        queued.abort();
    }

    #[tokio::test]
    async fn idle_tenants_are_forgotten() {
        let shares = shares(1, 0, 0);
        for i in 0..REMEMBERED_TENANTS + 10 {
            let _turn = shares.enter(&format!("t{i}")).await.expect("turn");
        }
        let remembered = shares.tenants.lock().map(|t| t.len()).unwrap_or_default();
        assert!(remembered <= REMEMBERED_TENANTS, "{remembered}");
    }
}
