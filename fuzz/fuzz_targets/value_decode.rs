//! Cell values: a `ColumnType` decoded from the input's prefix (any nesting
//! of collections, tuples and UDTs), then the rest decoded as a cell of
//! that type under each protocol version.
//!
//! Checks: no panic (including rendering the value as a CQL literal); a
//! value that decodes re-encodes for that version (unless the type does not
//! exist in it: decoding does not police versions, encoding does) and
//! decodes again to the same value. Bytes may differ: a boolean byte other
//! than 0/1 and a varint with redundant sign bytes are normalized.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{EncodeError, ProtocolVersion, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(Bytes::copy_from_slice(data));
    let Ok(ty) = ColumnType::decode(&mut r) else {
        return;
    };
    let cell = r.rest();
    for version in ProtocolVersion::ALL {
        let Ok(value) = CqlValue::decode(&ty, &cell, version) else {
            continue;
        };
        let _ = value.cql_literal_typed(&ty);
        let _ = value.cql_literal();
        let mut buf = BytesMut::new();
        match value.encode(&ty, &mut buf, version) {
            Ok(()) => {
                let again = CqlValue::decode(&ty, &buf.freeze(), version)
                    .expect("a re-encoded value must decode");
                assert_eq!(again, value, "{ty} in v{}", version.number());
            }
            Err(EncodeError::UnsupportedInVersion { .. }) => {}
            Err(e) => panic!(
                "{ty} decoded in v{} but does not re-encode: {e}",
                version.number()
            ),
        }
    }
});
