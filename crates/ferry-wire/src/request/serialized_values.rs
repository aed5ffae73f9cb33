//! Bound values laid out once, the way the protocol sends them.
//!
//! A client that binds the same statement many times (a bulk copier, a load
//! generator) can serialize each row's values straight into one buffer of
//! back-to-back `[value]`s; encoding the request is then a single copy
//! instead of one length-and-bytes write per value.

use bytes::{BufMut, BytesMut};

use crate::error::{EncodeError, EncodeResult};
use crate::reader::{RawValue, Reader};

/// `n` bound values as `[value]`s back to back, ready to be copied into a
/// QUERY, EXECUTE or BATCH body.
///
/// ```
/// use ferry_wire::request::SerializedValues;
/// use ferry_wire::RawValue;
/// let mut values = SerializedValues::new();
/// values.push_cell(Some(&7i32.to_be_bytes())).unwrap();
/// values.push(&RawValue::Null).unwrap();
/// assert_eq!(values.len(), 2);
/// assert_eq!(values.as_bytes(), &[0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]);
/// assert_eq!(values.to_raw_values()[1], RawValue::Null);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SerializedValues {
    count: u16,
    has_unset: bool,
    bytes: BytesMut,
}

impl SerializedValues {
    /// No values yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// No values yet, with room for `bytes` bytes of them.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: BytesMut::with_capacity(bytes),
            ..Self::default()
        }
    }

    fn count_one(&mut self) -> EncodeResult<()> {
        self.count = self.count.checked_add(1).ok_or(EncodeError::TooLong {
            field: "values",
            length: usize::from(u16::MAX) + 1,
            max: usize::from(u16::MAX),
        })?;
        Ok(())
    }

    /// Appends a serialized cell (`None` is null).
    pub fn push_cell(&mut self, cell: Option<&[u8]>) -> EncodeResult<()> {
        let len = match cell {
            None => -1,
            Some(c) => i32::try_from(c.len()).map_err(|_| EncodeError::TooLong {
                field: "values",
                length: c.len(),
                max: i32::MAX as usize,
            })?,
        };
        self.count_one()?;
        self.bytes.put_i32(len);
        if let Some(c) = cell {
            self.bytes.extend_from_slice(c);
        }
        Ok(())
    }

    /// Appends a value, null or unset.
    pub fn push(&mut self, value: &RawValue) -> EncodeResult<()> {
        match value {
            RawValue::Bytes(b) => self.push_cell(Some(b)),
            RawValue::Null => self.push_cell(None),
            RawValue::Unset => {
                self.count_one()?;
                self.has_unset = true;
                self.bytes.put_i32(-2);
                Ok(())
            }
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether an unset value is among them (illegal before protocol v4).
    pub fn has_unset(&self) -> bool {
        self.has_unset
    }

    /// The `[value]`s as they go on the wire, without the count.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The values one by one (copies them; meant for inspection and tests).
    pub fn to_raw_values(&self) -> Vec<RawValue> {
        let mut r = Reader::new(bytes::Bytes::copy_from_slice(&self.bytes));
        (0..self.count)
            .map_while(|_| r.read_value("values").ok())
            .collect()
    }
}

impl From<&[RawValue]> for SerializedValues {
    fn from(values: &[RawValue]) -> Self {
        let mut out = SerializedValues::new();
        for v in values.iter().take(usize::from(u16::MAX)) {
            // Cannot fail: the count is bounded above and a RawValue's
            // length always fits the [int] prefix it was decoded from.
            let _ = out.push(v);
        }
        out
    }
}
