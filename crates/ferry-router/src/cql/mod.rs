//! CQL statement text: lexing, classification, and rewriting of calls to
//! functions that each cluster would evaluate differently.
//!
//! - [`lexer`] / [`token`]: text to tokens with byte spans; never fails.
//! - [`ident`]: names as written and as Cassandra reads them.
//! - [`classify`](mod@classify) / [`statement`]: text to [`StatementInfo`]
//!   (kind, keyspace, table, write, LWT, counter, `USING TIMESTAMP`, calls).
//! - [`calls`]: finding `now()`, `uuid()` and friends.
//! - [`rewrite`]: replacing them with literals (QUERY) or bind markers
//!   (PREPARE).
//! - [`timestamp`](mod@timestamp): adding `USING TIMESTAMP` (protocol v2
//!   writes, which have no default timestamp).
//!
//! ```
//! use ferry_router::cql::{classify, replace_calls, StatementKind};
//! let text = "UPDATE ks.t SET seen = now() WHERE k = 1";
//! let info = classify(text);
//! assert_eq!(info.kind, StatementKind::Update);
//! assert!(info.may_add_timestamp() && info.calls_now);
//! let fixed = replace_calls(text, |_| Some("e6c4d2a0-0000-1000-8000-000000000000"));
//! assert_eq!(fixed, "UPDATE ks.t SET seen = e6c4d2a0-0000-1000-8000-000000000000 WHERE k = 1");
//! ```

pub mod calls;
pub mod classify;
pub mod ident;
pub mod lexer;
pub mod rewrite;
pub mod statement;
pub mod timestamp;
pub mod token;

pub use calls::{find_calls, FunctionCall, VolatileFunction};
pub use classify::{classify, Classifier};
pub use ident::Identifier;
pub use lexer::{Lexer, Significant};
pub use rewrite::{
    replace_calls, replace_calls_with_markers, InsertedMarker, MarkerStyle, PreparedRewrite,
    SpliceError,
};
pub use statement::{
    BatchInfo, BatchType, CounterUpdate, DclKind, DdlKind, DdlOp, SchemaObject, StatementInfo,
    StatementKind,
};
pub use timestamp::add_using_timestamp;
pub use token::{Token, TokenKind};
