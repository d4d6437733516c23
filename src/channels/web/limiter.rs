//! Per-address rate limit for everything the public can send (governor).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

pub struct PublicLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl PublicLimiter {
    pub fn per_minute(n: u32) -> PublicLimiter {
        let n = NonZeroU32::new(n.max(1)).expect("at least one");
        PublicLimiter(RateLimiter::keyed(Quota::per_minute(n)))
    }

    /// 429 when this address has sent too much lately.
    pub fn check(&self, ip: IpAddr) -> AppResult<()> {
        self.0.check_key(&ip).map_err(|_| {
            AppError::TooManyRequests(
                "too many requests from this address; try again in a minute".into(),
            )
        })
    }
}
