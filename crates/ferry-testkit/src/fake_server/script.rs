//! What the fake server does with a request: [`Action`]s, chosen by
//! [`Rule`]s or a handler closure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_wire::response::{ErrorDetails, ErrorResponse, Response};
use ferry_wire::{Consistency, Opcode};

use super::record::ReceivedRequest;

/// What to do with one request.
///
/// ```
/// use std::time::Duration;
/// use ferry_testkit::fake_server::Action;
/// let stall = Action::respond_after(Duration::from_millis(50), Action::overloaded());
/// assert!(matches!(stall, Action::Delay(_, _)));
/// ```
#[derive(Debug, Clone)]
pub enum Action {
    /// What a well-behaved server would answer (see the module docs).
    Default,
    /// Answer with this message on the request's stream.
    Respond(Response),
    /// Wait, then do the inner action.
    Delay(Duration, Box<Action>),
    /// Never answer (the request stays outstanding).
    NoResponse,
    /// Write the first half of the answer the inner action would give
    /// (`Default` if `None`), then close the connection.
    DropMidResponse(Option<Response>),
    /// Write these bytes as they are, outside any framing.
    Garbage(Bytes),
    /// Close the connection without answering.
    Close,
}

impl Action {
    /// `Respond` with an ERROR.
    pub fn error(details: ErrorDetails, message: impl Into<String>) -> Action {
        Action::Respond(Response::Error(ErrorResponse::new(details, message)))
    }

    /// An Overloaded (0x1001) error.
    pub fn overloaded() -> Action {
        Action::error(ErrorDetails::Overloaded, "Server is in overloaded state")
    }

    /// An Unavailable (0x1000) error for QUORUM with 1 of 2 replicas alive.
    pub fn unavailable() -> Action {
        Action::error(
            ErrorDetails::Unavailable {
                consistency: Consistency::Quorum,
                required: 2,
                alive: 1,
            },
            "Cannot achieve consistency level QUORUM",
        )
    }

    /// A protocol error (0x000A).
    pub fn protocol_error(message: impl Into<String>) -> Action {
        Action::error(ErrorDetails::Protocol, message)
    }

    /// A server error (0x0000).
    pub fn server_error(message: impl Into<String>) -> Action {
        Action::error(ErrorDetails::Server, message)
    }

    /// `action` after `delay`.
    pub fn respond_after(delay: Duration, action: Action) -> Action {
        Action::Delay(delay, Box::new(action))
    }
}

impl From<Response> for Action {
    fn from(r: Response) -> Self {
        Action::Respond(r)
    }
}

/// Which requests a [`Rule`] applies to. All set conditions must hold.
///
/// ```
/// use ferry_testkit::fake_server::Matcher;
/// use ferry_wire::Opcode;
/// let m = Matcher::query_contains("FROM slow_table");
/// let heartbeats = Matcher::opcode(Opcode::Options).after_ready();
/// # let _ = (m, heartbeats);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    opcode: Option<Opcode>,
    query_contains: Option<String>,
    after_ready: bool,
}

impl Matcher {
    /// Every request.
    pub fn any() -> Matcher {
        Matcher::default()
    }

    /// Requests with this opcode.
    pub fn opcode(opcode: Opcode) -> Matcher {
        Matcher {
            opcode: Some(opcode),
            ..Matcher::default()
        }
    }

    /// QUERY or PREPARE requests whose CQL contains `text`.
    pub fn query_contains(text: impl Into<String>) -> Matcher {
        Matcher {
            query_contains: Some(text.into()),
            ..Matcher::default()
        }
    }

    /// Only requests after the connection's handshake finished.
    #[must_use]
    pub fn after_ready(mut self) -> Matcher {
        self.after_ready = true;
        self
    }

    /// Whether `request` matches.
    pub fn matches(&self, request: &ReceivedRequest) -> bool {
        if self.opcode.is_some_and(|op| op != request.opcode) {
            return false;
        }
        if self.after_ready && !request.after_ready {
            return false;
        }
        match &self.query_contains {
            Some(text) => request
                .query_text()
                .is_some_and(|q| q.contains(text.as_str())),
            None => true,
        }
    }
}

/// A matcher, an action, and how many times it may fire.
///
/// ```
/// use ferry_testkit::fake_server::{Action, Matcher, Rule};
/// let once = Rule::new(Matcher::query_contains("INSERT"), Action::overloaded()).times(1);
/// # let _ = once;
/// ```
#[derive(Debug, Clone)]
pub struct Rule {
    matcher: Matcher,
    action: Action,
    remaining: Option<Arc<AtomicUsize>>,
}

impl Rule {
    /// `action` for every request matching `matcher`.
    pub fn new(matcher: Matcher, action: Action) -> Rule {
        Rule {
            matcher,
            action,
            remaining: None,
        }
    }

    /// Fires at most `n` times (across all connections), then stops matching.
    #[must_use]
    pub fn times(mut self, n: usize) -> Rule {
        self.remaining = Some(Arc::new(AtomicUsize::new(n)));
        self
    }

    /// The action, if this rule applies to `request` (using up one firing).
    pub(crate) fn fire(&self, request: &ReceivedRequest) -> Option<Action> {
        if !self.matcher.matches(request) {
            return None;
        }
        if let Some(remaining) = &self.remaining {
            remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .ok()?;
        }
        Some(self.action.clone())
    }
}

/// A closure consulted before the rules: `Some(action)` decides, `None`
/// falls through to the rules and then to the default.
pub type Handler = Arc<dyn Fn(&ReceivedRequest) -> Option<Action> + Send + Sync>;
