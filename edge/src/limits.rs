//! Rate limits: a fixed window per key (a user, an IP address), counted in memory.
//!
//! Per user the count is exact: every request of a user is served by that user's Durable
//! Object (see `glue`), so one counter sees them all. Per IP it is per isolate, a first line
//! of defence against a flood from one address, not an exact quota.

use std::cell::RefCell;
use std::collections::HashMap;

/// Keys remembered before expired windows are swept.
const SWEEP_ABOVE: usize = 10_000;

/// At most `limit` requests per key in each window of `window_ms`.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_ms: u64,
    windows: RefCell<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per `window_ms`.
    pub fn new(limit: u32, window_ms: u64) -> Self {
        Self { limit, window_ms, windows: RefCell::default() }
    }

    /// Counts a request for `key` at `now_ms`: `Err(seconds to wait)` once over the limit.
    pub fn check(&self, key: &str, now_ms: u64) -> Result<(), u64> {
        let mut windows = self.windows.borrow_mut();
        if windows.len() > SWEEP_ABOVE {
            let window_ms = self.window_ms;
            windows.retain(|_, (start, _)| now_ms < *start + window_ms);
        }
        let (start, count) = windows.entry(key.to_owned()).or_insert((now_ms, 0));
        if now_ms >= *start + self.window_ms {
            *start = now_ms;
            *count = 0;
        }
        if *count >= self.limit {
            return Err((*start + self.window_ms - now_ms).div_ceil(1000).max(1));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_asks_to_wait_until_the_window_ends() {
        let limiter = RateLimiter::new(3, 60_000);
        for _ in 0..3 {
            assert_eq!(limiter.check("a", 1_000), Ok(()));
        }
        assert_eq!(limiter.check("a", 1_500), Err(60));
        assert_eq!(limiter.check("b", 1_500), Ok(()), "keys are counted apart");
        assert_eq!(limiter.check("a", 59_000), Err(2));
        assert_eq!(limiter.check("a", 61_000), Ok(()), "a new window");
    }
}
