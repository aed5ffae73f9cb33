//! The proxy's fast path: read only what a router needs from a request
//! frame, and patch a frame without re-serializing the bytes it leaves alone.
//!
//! A dual-write proxy looks at every request: is it a write, which
//! statement, at which consistency, does it carry a client timestamp? Fully
//! decoding bound values for that would cost an allocation per value, so
//! [`peek_request`] walks the body once, skipping values by their length
//! prefixes, and records the byte offsets of the fields a rewrite may touch.
//! [`add_default_timestamp`] then splices eight bytes into the body at the
//! recorded offset and flips one flag bit; everything else is copied as is.
//!
//! ```
//! use bytes::{BufMut, Bytes, BytesMut};
//! use ferry_wire::frame::FrameHeader;
//! use ferry_wire::peek::{add_default_timestamp, peek_request, PeekedRequest};
//! use ferry_wire::{Consistency, Opcode, ProtocolVersion};
//!
//! // QUERY "INSERT ..." at ONE, no flags, protocol v4.
//! let mut body = BytesMut::new();
//! body.put_i32(22);
//! body.put_slice(b"INSERT INTO t (k) VALUES (1)"[..22].as_ref());
//! body.put_u16(1); // consistency ONE
//! body.put_u8(0); // flags
//! let body = body.freeze();
//! let header = FrameHeader::request(ProtocolVersion::V4, 3, Opcode::Query, body.len() as u32);
//!
//! let peek = peek_request(&header, &body).unwrap();
//! assert!(matches!(peek.request, PeekedRequest::Query { .. }));
//! let params = peek.params().unwrap();
//! assert_eq!(params.consistency, Consistency::One);
//! assert_eq!(params.timestamp, None);
//!
//! let (new_header, new_body) = add_default_timestamp(&header, &body, &peek, 1_700_000_000_000_000)
//!     .unwrap()
//!     .expect("v4 QUERY without timestamp can take one");
//! assert_eq!(new_header.length as usize, body.len() + 8);
//! let again = peek_request(&new_header, &new_body).unwrap();
//! assert_eq!(again.params().unwrap().timestamp, Some(1_700_000_000_000_000));
//! ```

mod params_layout;
mod request_peek;
mod rewrite;

pub use params_layout::ParamsLayout;
pub use request_peek::{peek_request, BatchChildRef, PeekedRequest, RequestPeek};
pub use rewrite::add_default_timestamp;
