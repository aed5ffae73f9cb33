//! When a failed request is tried again, where, and after how long.
//!
//! The session classifies each failure ([`ErrorClass`]) and asks the
//! [`RetryPolicy`]. The rule that matters most: a request that may already
//! have been applied (the connection died or timed out after it was sent, a
//! replica timed out) is retried only if it is *idempotent*; running a
//! non-idempotent one twice (a counter increment, an append to a list, a
//! lightweight transaction) would corrupt data. Errors that prove the
//! request was not applied — the coordinator refused it before doing
//! anything (Overloaded, IsBootstrapping, Unavailable), or it was never
//! sent — are safe to retry for any request.

use std::fmt;
use std::time::Duration;

use ferry_wire::response::ErrorDetails;

use crate::error::ConnError;

/// What kind of failure a request met, as far as retrying is concerned.
///
/// ```
/// use ferry_conn::ConnError;
/// use ferry_conn::session::ErrorClass;
/// use ferry_wire::response::{ErrorDetails, ErrorResponse};
/// let overloaded = ConnError::Server(ErrorResponse::new(ErrorDetails::Overloaded, "busy"));
/// assert_eq!(ErrorClass::of(&overloaded), ErrorClass::Overloaded);
/// assert!(ErrorClass::Overloaded.proves_not_applied());
/// assert!(!ErrorClass::ClientTimeout.proves_not_applied());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The request never left the client (no connection could be opened or
    /// none was usable).
    NotSent,
    /// Overloaded (0x1001): the coordinator shed the request.
    Overloaded,
    /// IsBootstrapping (0x1002): the coordinator is still joining the ring.
    IsBootstrapping,
    /// Unavailable (0x1000): too few replicas alive, nothing was attempted.
    Unavailable,
    /// The coordinator's read timed out waiting for replicas (0x1200).
    ServerReadTimeout,
    /// The coordinator's write timed out waiting for replicas (0x1100);
    /// some replicas may have applied it.
    ServerWriteTimeout,
    /// No answer within the client's request timeout.
    ClientTimeout,
    /// The connection broke while the request was in flight.
    ConnectionLost,
    /// Anything else: syntax, invalid request, authorization, a server
    /// error... Retrying would fail the same way.
    Other,
}

impl ErrorClass {
    /// Classifies a connection-layer error.
    pub fn of(error: &ConnError) -> Self {
        match error {
            ConnError::Server(e) => match &e.details {
                ErrorDetails::Overloaded => Self::Overloaded,
                ErrorDetails::IsBootstrapping => Self::IsBootstrapping,
                ErrorDetails::Unavailable { .. } => Self::Unavailable,
                ErrorDetails::ReadTimeout { .. } => Self::ServerReadTimeout,
                ErrorDetails::WriteTimeout { .. } => Self::ServerWriteTimeout,
                _ => Self::Other,
            },
            ConnError::Timeout { .. } => Self::ClientTimeout,
            // Opening a connection failed: nothing was sent on it.
            ConnError::Connect { .. } | ConnError::Tls(_) | ConnError::Negotiation { .. } => {
                Self::NotSent
            }
            ConnError::Io { .. } | ConnError::Closed { .. } => Self::ConnectionLost,
            _ => Self::Other,
        }
    }

    /// Whether the error shows the request was certainly not applied, so
    /// retrying cannot apply it twice.
    pub fn proves_not_applied(self) -> bool {
        matches!(
            self,
            Self::NotSent | Self::Overloaded | Self::IsBootstrapping | Self::Unavailable
        )
    }
}

/// What the policy is told about a failed attempt.
///
/// ```
/// use ferry_conn::ConnError;
/// use ferry_conn::session::{ErrorClass, RetryContext};
/// let lost = ConnError::Closed { address: "10.0.0.1:9042".into(), reason: "reset".into() };
/// let ctx = RetryContext { error: &lost, class: ErrorClass::of(&lost), attempts: 1, idempotent: false };
/// assert_eq!(ctx.class, ErrorClass::ConnectionLost);
/// ```
#[derive(Debug)]
pub struct RetryContext<'a> {
    /// The attempt's error.
    pub error: &'a ConnError,
    /// Its class.
    pub class: ErrorClass,
    /// Attempts made so far, the failed one included (1 after the first).
    pub attempts: u32,
    /// Whether the request may safely run more than once.
    pub idempotent: bool,
}

/// What to do after a failed attempt.
///
/// ```
/// use std::time::Duration;
/// use ferry_conn::session::RetryDecision;
/// let d = RetryDecision::Retry { next_node: true, delay: Duration::from_millis(10) };
/// assert_ne!(d, RetryDecision::Fail);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after `delay`, on the next node of the query plan if
    /// `next_node` (wrapping round to the first), else on the same node.
    Retry {
        /// Move on to the next node of the plan.
        next_node: bool,
        /// Wait this long first.
        delay: Duration,
    },
    /// Give up and return the error.
    Fail,
}

/// Decides whether and how failed requests are retried.
///
/// ```
/// use ferry_conn::session::{ErrorClass, RetryContext, RetryDecision, RetryPolicy};
/// /// Never retries anything.
/// #[derive(Debug)]
/// struct NoRetry;
/// impl RetryPolicy for NoRetry {
///     fn decide(&self, _: &RetryContext<'_>) -> RetryDecision {
///         RetryDecision::Fail
///     }
/// }
/// # let _ = NoRetry;
/// ```
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// What to do after the attempt described by `context` failed.
    fn decide(&self, context: &RetryContext<'_>) -> RetryDecision;
}

/// The default policy: bounded attempts with exponential backoff.
///
/// - Errors that prove the request was not applied (never sent,
///   Overloaded, IsBootstrapping, Unavailable) are retried on the next node
///   for every request.
/// - Client timeouts, lost connections and the coordinator's read or write
///   timeouts are retried on the next node only for idempotent requests.
/// - Nothing else is retried.
///
/// The n-th retry waits `base_delay * 2^(n-1)`, at most `max_delay`
/// (a request that was never sent is retried at once).
///
/// ```
/// use std::time::Duration;
/// use ferry_conn::ConnError;
/// use ferry_conn::session::{DefaultRetryPolicy, ErrorClass, RetryContext, RetryDecision, RetryPolicy};
/// let policy = DefaultRetryPolicy::default();
/// let timeout = ConnError::Timeout { what: "request".into(), after: Duration::from_secs(1) };
/// let ctx = |idempotent, attempts| RetryContext {
///     error: &timeout, class: ErrorClass::of(&timeout), attempts, idempotent,
/// };
/// assert!(matches!(policy.decide(&ctx(true, 1)), RetryDecision::Retry { next_node: true, .. }));
/// assert_eq!(policy.decide(&ctx(false, 1)), RetryDecision::Fail); // may have been applied
/// assert_eq!(policy.decide(&ctx(true, policy.max_attempts)), RetryDecision::Fail); // bounded
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRetryPolicy {
    /// Attempts allowed in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for DefaultRetryPolicy {
    /// 4 attempts, 50 ms doubling up to 2 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl DefaultRetryPolicy {
    /// The wait before the retry that follows attempt number `attempts`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.base_delay
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

impl RetryPolicy for DefaultRetryPolicy {
    fn decide(&self, context: &RetryContext<'_>) -> RetryDecision {
        if context.attempts >= self.max_attempts {
            return RetryDecision::Fail;
        }
        let retry = |delay| RetryDecision::Retry {
            next_node: true,
            delay,
        };
        match context.class {
            ErrorClass::NotSent => retry(Duration::ZERO),
            class if class.proves_not_applied() => retry(self.backoff(context.attempts)),
            ErrorClass::ClientTimeout
            | ErrorClass::ConnectionLost
            | ErrorClass::ServerReadTimeout
            | ErrorClass::ServerWriteTimeout
                if context.idempotent =>
            {
                retry(self.backoff(context.attempts))
            }
            _ => RetryDecision::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::response::ErrorResponse;
    use ferry_wire::Consistency;

    fn server(details: ErrorDetails) -> ConnError {
        ConnError::Server(ErrorResponse::new(details, "x"))
    }

    fn decide(error: &ConnError, idempotent: bool, attempts: u32) -> RetryDecision {
        DefaultRetryPolicy::default().decide(&RetryContext {
            error,
            class: ErrorClass::of(error),
            attempts,
            idempotent,
        })
    }

    #[test]
    fn refusals_are_retried_even_when_not_idempotent() {
        let unavailable = server(ErrorDetails::Unavailable {
            consistency: Consistency::Quorum,
            required: 2,
            alive: 1,
        });
        for e in [
            server(ErrorDetails::Overloaded),
            server(ErrorDetails::IsBootstrapping),
            unavailable,
        ] {
            assert!(
                matches!(
                    decide(&e, false, 1),
                    RetryDecision::Retry {
                        next_node: true,
                        ..
                    }
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn ambiguous_failures_are_retried_only_when_idempotent() {
        let lost = ConnError::Closed {
            address: "a".into(),
            reason: "reset".into(),
        };
        let write_timeout = server(ErrorDetails::WriteTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            write_type: ferry_wire::response::WriteType::Simple,
            contentions: None,
        });
        for e in [lost, write_timeout] {
            assert_eq!(decide(&e, false, 1), RetryDecision::Fail, "{e}");
            assert!(matches!(decide(&e, true, 1), RetryDecision::Retry { .. }));
        }
    }

    #[test]
    fn request_errors_are_never_retried() {
        for d in [
            ErrorDetails::Syntax,
            ErrorDetails::Invalid,
            ErrorDetails::Server,
        ] {
            assert_eq!(decide(&server(d), true, 1), RetryDecision::Fail);
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = DefaultRetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(65),
        };
        let waits: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 65, 65]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(65));
    }
}
