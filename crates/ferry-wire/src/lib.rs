//! # ferry-wire
//!
//! A codec for the CQL native protocol, versions 2 to 5: frame envelopes,
//! v5 segments, body compression, every message in both directions and every
//! CQL value type. It does no I/O: callers hand it bytes and get typed
//! messages back, or hand it messages and get bytes.
//!
//! Decoding never panics on bytes from the network; a malformed input yields
//! a [`DecodeError`] that names the field and the byte offset.
//!
//! ```
//! use ferry_wire::{Opcode, ProtocolVersion, frame::FrameHeader};
//! let header = FrameHeader::decode(&[0x84, 0, 0, 1, 0x02, 0, 0, 0, 0]).unwrap();
//! assert_eq!(header.version, ProtocolVersion::V4);
//! assert_eq!(header.opcode, Opcode::Ready);
//! ```

pub mod compression;
pub mod consistency;
pub mod error;
pub mod frame;
pub mod message;
#[macro_use]
mod message_enum;
pub mod opcode;
pub mod peek;
pub mod reader;
pub mod request;
pub mod response;
pub mod segment;
pub mod types;
pub mod version;
pub mod writer;

pub use consistency::Consistency;
pub use error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
pub use opcode::Opcode;
pub use reader::{RawValue, Reader};
pub use version::ProtocolVersion;
