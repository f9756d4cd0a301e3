//! When and how long to wait before retrying a GitHub request.
//!
//! Retried: 5xx, 429, and 403s that are rate limits (secondary: the message says so; primary:
//! `x-ratelimit-remaining: 0`), and network errors. The wait honours `Retry-After`, else
//! `x-ratelimit-reset`, else grows exponentially; attempts and total waiting are both bounded,
//! and a wait that would overrun the budget is not started. Pure: the caller supplies the clock.

use std::time::Duration;

/// The limits of retrying.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Total time spent waiting between attempts, at most.
    pub max_total_wait: Duration,
    /// First backoff when the server gives no hint; doubles each attempt.
    pub base_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            max_total_wait: Duration::from_secs(60),
            base_backoff: Duration::from_millis(500),
        }
    }
}

/// The facts of one failed attempt.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// HTTP status; `None` for a network error or timeout.
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub ratelimit_remaining: Option<u64>,
    pub ratelimit_reset: Option<u64>,
    pub message: String,
}

impl Failure {
    pub fn is_retryable(&self) -> bool {
        match self.status {
            None => true,
            Some(s) if s >= 500 => true,
            Some(429) => true,
            Some(403) => self.is_rate_limit(),
            _ => false,
        }
    }

    fn is_rate_limit(&self) -> bool {
        self.retry_after.is_some()
            || self.ratelimit_remaining == Some(0)
            || self.message.to_ascii_lowercase().contains("rate limit")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// What to do after failed attempt number `attempt` (1-based), having waited `waited` so
    /// far; `now_epoch` is the current Unix time (for `x-ratelimit-reset`).
    pub fn decide(
        &self,
        failure: &Failure,
        attempt: u32,
        waited: Duration,
        now_epoch: u64,
    ) -> Decision {
        if !failure.is_retryable() || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        let wait = if let Some(secs) = failure.retry_after {
            Duration::from_secs(secs)
        } else if let (Some(0), Some(reset)) =
            (failure.ratelimit_remaining, failure.ratelimit_reset)
        {
            // One second of slack: the reset is a whole second and clocks differ.
            Duration::from_secs(reset.saturating_sub(now_epoch) + 1)
        } else {
            self.base_backoff * 2u32.saturating_pow(attempt - 1)
        };
        if waited + wait > self.max_total_wait {
            Decision::GiveUp
        } else {
            Decision::RetryAfter(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(status: Option<u16>) -> Failure {
        Failure {
            status,
            ..Failure::default()
        }
    }

    #[test]
    fn what_is_retried() {
        assert!(fail(Some(502)).is_retryable());
        assert!(fail(Some(429)).is_retryable());
        assert!(fail(None).is_retryable());
        assert!(!fail(Some(404)).is_retryable());
        assert!(!fail(Some(422)).is_retryable());
        assert!(
            !fail(Some(403)).is_retryable(),
            "a plain 403 is a permission problem"
        );
        let secondary = Failure {
            status: Some(403),
            message: "You have exceeded a secondary rate limit.".into(),
            ..Failure::default()
        };
        assert!(secondary.is_retryable());
    }

    #[test]
    fn waits_honour_the_server() {
        let p = RetryPolicy::default();
        let with_retry_after = Failure {
            status: Some(429),
            retry_after: Some(3),
            ..Failure::default()
        };
        assert_eq!(
            p.decide(&with_retry_after, 1, Duration::ZERO, 0),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        let primary = Failure {
            status: Some(403),
            ratelimit_remaining: Some(0),
            ratelimit_reset: Some(1_000_010),
            ..Failure::default()
        };
        assert_eq!(
            p.decide(&primary, 1, Duration::ZERO, 1_000_000),
            Decision::RetryAfter(Duration::from_secs(11))
        );
        assert_eq!(
            p.decide(&fail(Some(502)), 1, Duration::ZERO, 0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(
            p.decide(&fail(Some(502)), 3, Duration::ZERO, 0),
            Decision::RetryAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn budgets_are_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(&fail(Some(502)), 5, Duration::ZERO, 0),
            Decision::GiveUp
        );
        let long = Failure {
            status: Some(429),
            retry_after: Some(3600),
            ..Failure::default()
        };
        assert_eq!(
            p.decide(&long, 1, Duration::ZERO, 0),
            Decision::GiveUp,
            "never wait an hour"
        );
    }
}
