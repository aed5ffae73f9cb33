//! Decoding a cell's bytes into a [`CqlValue`] of a known [`ColumnType`].
//!
//! The decoder walks the cell with byte positions rather than slicing a new
//! [`Bytes`] for every element: a `Bytes` slice costs an atomic reference
//! count increment and decrement, which would dominate decoding a
//! `list<int>`. Only the values that keep their bytes (text, blobs, varints,
//! custom values) take a slice of the cell, so strings and blobs are never
//! copied and scalars never allocate.
//!
//! Error offsets count from the first byte of the cell (nested errors point
//! into the element that failed); a caller decoding a cell inside a frame can
//! move them with [`DecodeError::shifted`].

use bytes::Bytes;

use super::column_type::{ColumnType, MAX_TYPE_DEPTH};
use super::date_time::is_valid_time;
use super::decimal::Decimal;
use super::duration::CqlDuration;
use super::layout::CollectionLengths;
use super::text::CqlText;
use super::value::CqlValue;
use super::varint::Varint;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::reader::{ip_from_bytes, Reader};
use crate::version::ProtocolVersion;

/// A byte range of the cell being decoded; positions are offsets in the cell.
#[derive(Clone, Copy)]
struct Span<'a> {
    cell: &'a Bytes,
    start: usize,
    end: usize,
}

impl<'a> Span<'a> {
    fn data(&self) -> &'a [u8] {
        self.cell.get(self.start..self.end).unwrap_or_default()
    }

    /// The span as its own `Bytes` handle: zero-copy (a reference count).
    fn to_bytes(self) -> Bytes {
        self.cell.slice(self.start..self.end)
    }

    fn error(&self, field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(field, self.start, kind)
    }
}

/// Reads length-prefixed elements out of a span.
struct Cursor<'a> {
    cell: &'a Bytes,
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(span: Span<'a>) -> Self {
        Self {
            cell: span.cell,
            pos: span.start,
            end: span.end,
        }
    }

    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn take(&mut self, len: usize, field: &'static str) -> DecodeResult<Span<'a>> {
        let available = self.remaining();
        if len > available {
            return Err(DecodeError::new(
                field,
                self.pos,
                DecodeErrorKind::Truncated {
                    needed: len - available,
                },
            ));
        }
        let span = Span {
            cell: self.cell,
            start: self.pos,
            end: self.pos + len,
        };
        self.pos += len;
        Ok(span)
    }

    /// An element count.
    fn count(&mut self, lengths: CollectionLengths, field: &'static str) -> DecodeResult<usize> {
        let at = self.pos;
        match lengths {
            CollectionLengths::Short => Ok(usize::from(u16::from_be_bytes(fixed(
                self.take(2, field)?,
                field,
            )?))),
            CollectionLengths::Int => {
                let n = i32::from_be_bytes(fixed(self.take(4, field)?, field)?);
                usize::try_from(n).map_err(|_| {
                    DecodeError::new(field, at, DecodeErrorKind::NegativeLength(i64::from(n)))
                })
            }
        }
    }

    /// One length-prefixed element; `None` for a null (`[int]` length -1).
    fn element(
        &mut self,
        lengths: CollectionLengths,
        field: &'static str,
    ) -> DecodeResult<Option<Span<'a>>> {
        let at = self.pos;
        let len = match lengths {
            CollectionLengths::Short => {
                usize::from(u16::from_be_bytes(fixed(self.take(2, field)?, field)?))
            }
            CollectionLengths::Int => match i32::from_be_bytes(fixed(self.take(4, field)?, field)?)
            {
                -1 => return Ok(None),
                // Only -1 is null; other negative lengths are rejected so that
                // what decodes re-encodes to the same bytes.
                n if n < 0 => {
                    return Err(DecodeError::new(
                        field,
                        at,
                        DecodeErrorKind::NegativeLength(i64::from(n)),
                    ))
                }
                n => n as usize,
            },
        };
        self.take(len, field).map(Some)
    }

    fn finish(&self, field: &'static str) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::new(
                field,
                self.pos,
                DecodeErrorKind::TrailingBytes(n),
            )),
        }
    }
}

/// The span's bytes as a fixed-size array, or an error naming the size.
fn fixed<const N: usize>(span: Span<'_>, field: &'static str) -> DecodeResult<[u8; N]> {
    span.data().try_into().map_err(|_| {
        span.error(
            field,
            DecodeErrorKind::Invalid(format!(
                "expected {N} byte(s), got {}",
                span.end - span.start
            )),
        )
    })
}

/// Whether a zero-length cell of this type is the legacy "empty" value rather
/// than an ordinary value (an empty string, blob, tuple or UDT).
fn zero_length_is_empty(ty: &ColumnType) -> bool {
    !matches!(
        ty,
        ColumnType::Ascii
            | ColumnType::Text
            | ColumnType::Varchar
            | ColumnType::Blob
            | ColumnType::Custom(_)
            | ColumnType::Tuple(_)
            | ColumnType::Udt { .. }
    )
}

impl CqlValue {
    /// Decodes the bytes of a non-null cell (without its `[bytes]` length)
    /// as a value of type `ty`. `version` only matters for collections (v2
    /// uses `[short]` counts and lengths).
    ///
    /// The value must fill the cell exactly. A zero-length cell of a type
    /// that cannot otherwise be empty gives [`CqlValue::Empty`]. Error
    /// offsets count from the cell's first byte.
    ///
    /// Versions are not policed: a `duration` decodes under v4 too, since
    /// what the server sent is what it sent.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ferry_wire::types::{ColumnType, CqlValue};
    /// use ferry_wire::ProtocolVersion;
    /// let v = CqlValue::decode(&ColumnType::Int, &Bytes::from_static(&[0, 0, 1, 0]), ProtocolVersion::V4);
    /// assert_eq!(v.unwrap(), CqlValue::Int(256));
    /// let e = CqlValue::decode(&ColumnType::Int, &Bytes::from_static(&[0, 1]), ProtocolVersion::V4);
    /// assert_eq!(e.unwrap_err().field, "value.int");
    /// ```
    pub fn decode(ty: &ColumnType, cell: &Bytes, version: ProtocolVersion) -> DecodeResult<Self> {
        let span = Span {
            cell,
            start: 0,
            end: cell.len(),
        };
        if let Some(value) = decode_scalar(ty, cell) {
            return Ok(value);
        }
        decode_span(ty, span, CollectionLengths::top_level(version), 0)
    }
}

/// Decodes a possibly-null cell: `None` (null) stays `None`.
///
/// ```
/// use ferry_wire::types::{decode_cell, ColumnType};
/// use ferry_wire::ProtocolVersion;
/// assert_eq!(decode_cell(&ColumnType::Int, None, ProtocolVersion::V4).unwrap(), None);
/// ```
pub fn decode_cell(
    ty: &ColumnType,
    cell: Option<&Bytes>,
    version: ProtocolVersion,
) -> DecodeResult<Option<CqlValue>> {
    cell.map(|c| CqlValue::decode(ty, c, version)).transpose()
}

/// Decodes the non-null cell that occupies `frame[range]`, without first
/// slicing it out of `frame`.
///
/// This is [`CqlValue::decode`] for a cell still inside the buffer it
/// arrived in (a Rows result, say). It exists for speed: handing each cell
/// over as its own [`Bytes`] costs an atomic reference-count increment and
/// decrement, which costs more than decoding a scalar. Here only the values
/// that keep their bytes (text, blobs, varints, custom) take a slice of
/// `frame`, as they would anyway.
///
/// Error offsets count from the start of `frame`, not of the cell. A range
/// outside `frame` is a `Truncated` error.
///
/// ```
/// use bytes::Bytes;
/// use ferry_wire::types::{decode_cell_in, ColumnType, CqlValue};
/// use ferry_wire::ProtocolVersion;
/// let frame = Bytes::from_static(&[0xff, 0, 0, 1, 0, 0xff]);
/// let v = decode_cell_in(&ColumnType::Int, &frame, 1..5, ProtocolVersion::V4);
/// assert_eq!(v.unwrap(), CqlValue::Int(256));
/// let e = decode_cell_in(&ColumnType::Int, &frame, 4..6, ProtocolVersion::V4).unwrap_err();
/// assert_eq!((e.field, e.offset), ("value.int", 4));
/// assert!(decode_cell_in(&ColumnType::Int, &frame, 4..8, ProtocolVersion::V4).is_err());
/// ```
// Inlined so that the scalar fast path writes its value straight into the
// caller's slot: returned through memory, the value was read back before
// the callee's narrower stores had landed, and that stall cost as much as
// the decoding.
#[inline]
pub fn decode_cell_in(
    ty: &ColumnType,
    frame: &Bytes,
    range: std::ops::Range<usize>,
    version: ProtocolVersion,
) -> DecodeResult<CqlValue> {
    // `Span` trusts its bounds (it reads through `get`, so bad bounds would
    // quietly read as empty): check them here, once.
    if range.start > range.end || range.end > frame.len() {
        return Err(DecodeError::new(
            "value",
            range.start.min(frame.len()),
            DecodeErrorKind::Truncated {
                needed: range.end.saturating_sub(frame.len()).max(1),
            },
        ));
    }
    let span = Span {
        cell: frame,
        start: range.start,
        end: range.end,
    };
    if let Some(value) = decode_scalar(ty, span.data()) {
        return Ok(value);
    }
    decode_span(ty, span, CollectionLengths::top_level(version), 0)
}

/// The value of a fixed-width scalar whose bytes have exactly the right
/// width, or `None` for anything else (other types, empty or mis-sized
/// cells, `time`, which needs a range check), which then takes the general
/// path in `decode_span`, where errors are made.
///
/// Why a second path: in `decode_span` every value travels up through a
/// `DecodeResult` (the error type is several words), and a list or a row of
/// small scalars spent more time moving those results around than reading
/// the numbers. This function has no error path and inlines into its
/// callers. It must agree with `decode_span` on every input it accepts (the
/// `scalar_fast_path_agrees_with_general_path` test checks this).
#[inline(always)]
fn decode_scalar(ty: &ColumnType, data: &[u8]) -> Option<CqlValue> {
    Some(match ty {
        ColumnType::Int => CqlValue::Int(i32::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Bigint => CqlValue::Bigint(i64::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Timestamp => CqlValue::Timestamp(i64::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Counter => CqlValue::Counter(i64::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Double => CqlValue::Double(f64::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Float => CqlValue::Float(f32::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Smallint => CqlValue::Smallint(i16::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Tinyint => CqlValue::Tinyint(i8::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Date => CqlValue::Date(u32::from_be_bytes(data.try_into().ok()?)),
        ColumnType::Boolean => match data {
            [b] => CqlValue::Boolean(*b != 0),
            _ => return None,
        },
        ColumnType::Uuid => CqlValue::Uuid(data.try_into().ok()?),
        ColumnType::Timeuuid => CqlValue::Timeuuid(data.try_into().ok()?),
        _ => return None,
    })
}

fn decode_span(
    ty: &ColumnType,
    span: Span<'_>,
    lengths: CollectionLengths,
    depth: usize,
) -> DecodeResult<CqlValue> {
    let data = span.data();
    if data.is_empty() && zero_length_is_empty(ty) {
        return Ok(CqlValue::Empty);
    }
    Ok(match ty {
        ColumnType::Ascii => CqlValue::Ascii(decode_ascii(span)?),
        ColumnType::Text | ColumnType::Varchar => CqlValue::Text(decode_text(span, "value.text")?),
        ColumnType::Blob => CqlValue::Blob(span.to_bytes()),
        ColumnType::Custom(_) => CqlValue::Custom(span.to_bytes()),
        // The spec: 0 is false, anything else true (re-encoded as 1).
        ColumnType::Boolean => CqlValue::Boolean(fixed::<1>(span, "value.boolean")? != [0]),
        ColumnType::Bigint => CqlValue::Bigint(i64::from_be_bytes(fixed(span, "value.bigint")?)),
        ColumnType::Counter => CqlValue::Counter(i64::from_be_bytes(fixed(span, "value.counter")?)),
        ColumnType::Timestamp => {
            CqlValue::Timestamp(i64::from_be_bytes(fixed(span, "value.timestamp")?))
        }
        ColumnType::Int => CqlValue::Int(i32::from_be_bytes(fixed(span, "value.int")?)),
        ColumnType::Smallint => {
            CqlValue::Smallint(i16::from_be_bytes(fixed(span, "value.smallint")?))
        }
        ColumnType::Tinyint => CqlValue::Tinyint(i8::from_be_bytes(fixed(span, "value.tinyint")?)),
        ColumnType::Float => CqlValue::Float(f32::from_be_bytes(fixed(span, "value.float")?)),
        ColumnType::Double => CqlValue::Double(f64::from_be_bytes(fixed(span, "value.double")?)),
        ColumnType::Date => CqlValue::Date(u32::from_be_bytes(fixed(span, "value.date")?)),
        ColumnType::Time => {
            let nanos = i64::from_be_bytes(fixed(span, "value.time")?);
            if !is_valid_time(nanos) {
                return Err(span.error(
                    "value.time",
                    DecodeErrorKind::Invalid(format!(
                        "time {nanos} is outside 0..=86399999999999 nanoseconds"
                    )),
                ));
            }
            CqlValue::Time(nanos)
        }
        ColumnType::Uuid => CqlValue::Uuid(fixed(span, "value.uuid")?),
        ColumnType::Timeuuid => CqlValue::Timeuuid(fixed(span, "value.timeuuid")?),
        ColumnType::Inet => CqlValue::Inet(ip_from_bytes(data).ok_or_else(|| {
            span.error(
                "value.inet",
                DecodeErrorKind::Invalid(format!(
                    "address of {} bytes, expected 4 or 16",
                    data.len()
                )),
            )
        })?),
        ColumnType::Varint => CqlValue::Varint(decode_varint(span, "value.varint")?),
        ColumnType::Decimal => CqlValue::Decimal(decode_decimal(span)?),
        ColumnType::Duration => CqlValue::Duration(decode_duration(span)?),
        ColumnType::List(elem) => {
            CqlValue::List(decode_elements(elem, span, lengths, depth, "value.list")?)
        }
        ColumnType::Set(elem) => {
            CqlValue::Set(decode_elements(elem, span, lengths, depth, "value.set")?)
        }
        ColumnType::Map(k, v) => CqlValue::Map(decode_map(k, v, span, lengths, depth)?),
        ColumnType::Tuple(types) => CqlValue::Tuple(decode_tuple(types, span, depth)?),
        ColumnType::Udt { fields, .. } => CqlValue::Udt(decode_udt(fields, span, depth)?),
    })
}

fn decode_text(span: Span<'_>, field: &'static str) -> DecodeResult<CqlText> {
    CqlText::from_utf8(span.to_bytes()).map_err(|e| {
        DecodeError::new(
            field,
            span.start + e.valid_up_to(),
            DecodeErrorKind::InvalidUtf8,
        )
    })
}

fn decode_ascii(span: Span<'_>) -> DecodeResult<CqlText> {
    let data = span.data();
    if !data.is_ascii() {
        let at = data.iter().position(|b| !b.is_ascii()).unwrap_or(0);
        return Err(DecodeError::new(
            "value.ascii",
            span.start + at,
            DecodeErrorKind::Invalid(format!(
                "byte 0x{:02x} is not ASCII",
                data.get(at).copied().unwrap_or(0)
            )),
        ));
    }
    decode_text(span, "value.ascii")
}

fn decode_varint(span: Span<'_>, field: &'static str) -> DecodeResult<Varint> {
    Varint::from_signed_bytes_be(span.to_bytes()).ok_or_else(|| {
        span.error(
            field,
            DecodeErrorKind::Invalid("a varint needs at least one byte".into()),
        )
    })
}

fn decode_decimal(span: Span<'_>) -> DecodeResult<Decimal> {
    let mut cur = Cursor::new(span);
    let scale = i32::from_be_bytes(fixed(
        cur.take(4, "value.decimal.scale")?,
        "value.decimal.scale",
    )?);
    let rest = cur.take(cur.remaining(), "value.decimal.unscaled")?;
    let unscaled = decode_varint(rest, "value.decimal.unscaled")?;
    Ok(Decimal { scale, unscaled })
}

fn decode_duration(span: Span<'_>) -> DecodeResult<CqlDuration> {
    // Vints are rare enough that the Reader's own parser is worth one Bytes
    // handle.
    let mut r = Reader::with_base_offset(span.to_bytes(), span.start);
    let month_at = r.offset();
    let months = r.read_vint("value.duration.months")?;
    let day_at = r.offset();
    let days = r.read_vint("value.duration.days")?;
    let nanoseconds = r.read_vint("value.duration.nanoseconds")?;
    r.finish("value.duration")?;
    let to_i32 = |v: i64, field: &'static str, at: usize| {
        i32::try_from(v).map_err(|_| {
            DecodeError::new(
                field,
                at,
                DecodeErrorKind::Invalid(format!("{v} does not fit a 32-bit integer")),
            )
        })
    };
    let duration = CqlDuration {
        months: to_i32(months, "value.duration.months", month_at)?,
        days: to_i32(days, "value.duration.days", day_at)?,
        nanoseconds,
    };
    if !duration.is_valid() {
        return Err(span.error(
            "value.duration",
            DecodeErrorKind::Invalid("duration components have different signs".into()),
        ));
    }
    Ok(duration)
}

fn check_depth(span: Span<'_>, depth: usize, field: &'static str) -> DecodeResult<()> {
    if depth > MAX_TYPE_DEPTH {
        return Err(span.error(
            field,
            DecodeErrorKind::Invalid(format!("value nested deeper than {MAX_TYPE_DEPTH} levels")),
        ));
    }
    Ok(())
}

/// Decodes one element of a collection, tuple or UDT. Anything nested uses
/// the v3 layout whatever the protocol version (see `CollectionLengths`).
fn decode_nested(
    ty: &ColumnType,
    elem: Option<Span<'_>>,
    depth: usize,
) -> DecodeResult<Option<CqlValue>> {
    let Some(span) = elem else {
        return Ok(None);
    };
    // Fast path, see `decode_scalar`.
    if let Some(value) = decode_scalar(ty, span.data()) {
        return Ok(Some(value));
    }
    decode_span(ty, span, CollectionLengths::Int, depth + 1).map(Some)
}

fn decode_elements(
    elem_ty: &ColumnType,
    span: Span<'_>,
    lengths: CollectionLengths,
    depth: usize,
    field: &'static str,
) -> DecodeResult<Vec<Option<CqlValue>>> {
    check_depth(span, depth, field)?;
    let mut cur = Cursor::new(span);
    let n = cur.count(lengths, field)?;
    // Each element takes at least its length prefix: caps a hostile count.
    let mut out = Vec::with_capacity(n.min(cur.remaining() / lengths.prefix_len()));
    for _ in 0..n {
        let elem = cur.element(lengths, field)?;
        out.push(decode_nested(elem_ty, elem, depth)?);
    }
    cur.finish(field)?;
    Ok(out)
}

type Pairs = Vec<(Option<CqlValue>, Option<CqlValue>)>;

fn decode_map(
    key_ty: &ColumnType,
    value_ty: &ColumnType,
    span: Span<'_>,
    lengths: CollectionLengths,
    depth: usize,
) -> DecodeResult<Pairs> {
    const F: &str = "value.map";
    check_depth(span, depth, F)?;
    let mut cur = Cursor::new(span);
    let n = cur.count(lengths, F)?;
    let mut out = Vec::with_capacity(n.min(cur.remaining() / (2 * lengths.prefix_len())));
    for _ in 0..n {
        let k = cur.element(lengths, F)?;
        let k = decode_nested(key_ty, k, depth)?;
        let v = cur.element(lengths, F)?;
        let v = decode_nested(value_ty, v, depth)?;
        out.push((k, v));
    }
    cur.finish(F)?;
    Ok(out)
}

fn decode_tuple(
    types: &[ColumnType],
    span: Span<'_>,
    depth: usize,
) -> DecodeResult<Vec<Option<CqlValue>>> {
    const F: &str = "value.tuple";
    check_depth(span, depth, F)?;
    let mut cur = Cursor::new(span);
    let mut out = Vec::with_capacity(types.len().min(cur.remaining() / 4));
    for ty in types {
        // Trailing elements may be absent altogether (Cassandra reads
        // tuples and UDTs "while bytes remain").
        if cur.remaining() == 0 {
            break;
        }
        let elem = cur.element(CollectionLengths::Int, F)?;
        out.push(decode_nested(ty, elem, depth)?);
    }
    cur.finish(F)?;
    Ok(out)
}

fn decode_udt(
    fields: &[(String, ColumnType)],
    span: Span<'_>,
    depth: usize,
) -> DecodeResult<Vec<(String, Option<CqlValue>)>> {
    const F: &str = "value.udt";
    check_depth(span, depth, F)?;
    let mut cur = Cursor::new(span);
    let mut out = Vec::with_capacity(fields.len().min(cur.remaining() / 4));
    for (name, ty) in fields {
        if cur.remaining() == 0 {
            break;
        }
        let elem = cur.element(CollectionLengths::Int, F)?;
        out.push((name.clone(), decode_nested(ty, elem, depth)?));
    }
    cur.finish(F)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    const V2: ProtocolVersion = ProtocolVersion::V2;
    const V4: ProtocolVersion = ProtocolVersion::V4;

    fn list(t: ColumnType) -> ColumnType {
        ColumnType::List(Box::new(t))
    }

    /// Decodes `bytes`, checks the value, and checks it re-encodes to `bytes`.
    fn check(ty: &ColumnType, version: ProtocolVersion, bytes: &[u8], expected: CqlValue) {
        let cell = Bytes::copy_from_slice(bytes);
        let value = CqlValue::decode(ty, &cell, version).unwrap();
        assert_eq!(value, expected);
        let mut buf = BytesMut::new();
        value.encode(ty, &mut buf, version).unwrap();
        assert_eq!(&buf[..], bytes);
    }

    fn err(ty: &ColumnType, version: ProtocolVersion, bytes: &[u8]) -> DecodeError {
        CqlValue::decode(ty, &Bytes::copy_from_slice(bytes), version).unwrap_err()
    }

    #[test]
    fn scalars_from_hand_written_bytes() {
        use CqlValue as V;
        check(&ColumnType::Int, V4, &[0xff, 0xff, 0xff, 0xfe], V::Int(-2));
        check(
            &ColumnType::Bigint,
            V4,
            &[0, 0, 0, 0, 0, 0, 1, 0],
            V::Bigint(256),
        );
        check(
            &ColumnType::Smallint,
            V4,
            &[0x80, 0x00],
            V::Smallint(i16::MIN),
        );
        check(&ColumnType::Tinyint, V4, &[0x7f], V::Tinyint(127));
        check(
            &ColumnType::Double,
            V4,
            &[0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
            V::Double(1.0),
        );
        check(&ColumnType::Float, V4, &[0xc0, 0x00, 0, 0], V::Float(-2.0));
        check(&ColumnType::Boolean, V4, &[0], V::Boolean(false));
        check(&ColumnType::Date, V4, &[0x80, 0, 0, 0], V::Date(1 << 31));
        check(&ColumnType::Time, V4, &[0, 0, 0, 0, 0, 0, 0, 5], V::Time(5));
        check(
            &ColumnType::Inet,
            V4,
            &[10, 0, 0, 1],
            V::Inet([10, 0, 0, 1].into()),
        );
        // 12345 = 0x3039, scale 2: 123.45
        check(
            &ColumnType::Decimal,
            V4,
            &[0, 0, 0, 2, 0x30, 0x39],
            V::Decimal(Decimal::new(Varint::from(12345i64), 2)),
        );
        // Zig-zag vints: 1 -> 2, 2 -> 4, 3 -> 6; -65 -> 129 = 0x80 0x81
        // (two bytes: one leading 1 bit announces one extra byte); -1 -> 1.
        check(
            &ColumnType::Duration,
            ProtocolVersion::V5,
            &[2, 4, 6],
            V::Duration(CqlDuration::new(1, 2, 3)),
        );
        check(
            &ColumnType::Duration,
            ProtocolVersion::V5,
            &[0x80, 0x81, 0, 1],
            V::Duration(CqlDuration::new(-65, 0, -1)),
        );
    }

    #[test]
    fn lenient_inputs_decode_to_canonical_values() {
        // Any non-zero byte is true; a padded varint is the same number.
        let t = CqlValue::decode(&ColumnType::Boolean, &Bytes::from_static(&[2]), V4).unwrap();
        assert_eq!(t, CqlValue::Boolean(true));
        let v = CqlValue::decode(&ColumnType::Varint, &Bytes::from_static(&[0, 0, 1]), V4);
        assert_eq!(v.unwrap(), CqlValue::Varint(Varint::from(1i32)));
    }

    #[test]
    fn empty_values_are_not_empty_strings() {
        check(&ColumnType::Int, V4, &[], CqlValue::Empty);
        check(&ColumnType::Uuid, V4, &[], CqlValue::Empty);
        check(&ColumnType::Text, V4, &[], CqlValue::Text(CqlText::new()));
        check(&ColumnType::Blob, V4, &[], CqlValue::Blob(Bytes::new()));
        check(
            &ColumnType::Tuple(vec![ColumnType::Int]),
            V4,
            &[],
            CqlValue::Tuple(vec![]),
        );
    }

    #[test]
    fn collections_v4_and_v2() {
        let ints = CqlValue::List(vec![Some(CqlValue::Int(1)), Some(CqlValue::Int(2))]);
        check(
            &list(ColumnType::Int),
            V4,
            &[0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2],
            ints.clone(),
        );
        check(
            &list(ColumnType::Int),
            V2,
            &[0, 2, 0, 4, 0, 0, 0, 1, 0, 4, 0, 0, 0, 2],
            ints,
        );
        check(
            &list(ColumnType::Int),
            V4,
            &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff],
            CqlValue::List(vec![None]),
        );
    }

    #[test]
    fn v2_nested_collections_use_v3_layout() {
        // map<text, list<int>> {'a': [7]} in v2: outer [short]s, inner [int]s.
        let ty = ColumnType::Map(
            Box::new(ColumnType::Varchar),
            Box::new(list(ColumnType::Int)),
        );
        let value = CqlValue::Map(vec![(
            Some("a".into()),
            Some(CqlValue::List(vec![Some(CqlValue::Int(7))])),
        )]);
        check(
            &ty,
            V2,
            &[0, 1, 0, 1, b'a', 0, 12, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7],
            value,
        );
    }

    #[test]
    fn tuples_and_udts_may_stop_early() {
        let tuple = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]);
        check(
            &tuple,
            V4,
            &[0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff],
            CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None]),
        );
        let udt = ColumnType::Udt {
            keyspace: "ks".into(),
            name: "t".into(),
            fields: vec![
                ("a".into(), ColumnType::Int),
                ("b".into(), ColumnType::Varchar),
            ],
        };
        // Only field `a` present: distinct from `b` being null.
        let short = CqlValue::Udt(vec![("a".into(), Some(CqlValue::Int(42)))]);
        check(&udt, V4, &[0, 0, 0, 4, 0, 0, 0, 42], short.clone());
        let with_null = CqlValue::Udt(vec![
            ("a".into(), Some(CqlValue::Int(42))),
            ("b".into(), None),
        ]);
        assert_ne!(short, with_null);
        check(
            &udt,
            V4,
            &[0, 0, 0, 4, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xff],
            with_null,
        );
    }

    #[test]
    fn wrong_sizes_name_field_and_offset() {
        let e = err(&ColumnType::Int, V4, &[0, 0, 1]);
        assert_eq!((e.field, e.offset), ("value.int", 0));
        assert!(e.to_string().contains("expected 4 byte(s), got 3"), "{e}");
        assert_eq!(err(&ColumnType::Uuid, V4, &[0; 15]).field, "value.uuid");
        assert_eq!(err(&ColumnType::Inet, V4, &[0; 5]).field, "value.inet");
        assert_eq!(
            err(&ColumnType::Boolean, V4, &[0; 2]).field,
            "value.boolean"
        );
        let e = err(&ColumnType::Time, V4, &86_400_000_000_000i64.to_be_bytes());
        assert_eq!(e.field, "value.time");
        assert_eq!(
            err(&ColumnType::Decimal, V4, &[0, 0, 0, 1]).field,
            "value.decimal.unscaled"
        );
    }

    #[test]
    fn bad_text_points_at_the_byte() {
        let e = err(&ColumnType::Varchar, V4, b"ab\xffc");
        assert_eq!((e.kind, e.offset), (DecodeErrorKind::InvalidUtf8, 2));
        let e = err(&ColumnType::Ascii, V4, "abé".as_bytes());
        assert_eq!((e.field, e.offset), ("value.ascii", 2));
    }

    #[test]
    fn nested_errors_point_into_the_cell() {
        // list<int> whose second element is 3 bytes long: its data starts at 16.
        let bytes = [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 2];
        let e = err(&list(ColumnType::Int), V4, &bytes);
        assert_eq!((e.field, e.offset), ("value.int", 16));
        // An element length running past the end.
        let e = err(&list(ColumnType::Int), V4, &[0, 0, 0, 1, 0, 0, 0, 9, 1]);
        assert_eq!(e.kind, DecodeErrorKind::Truncated { needed: 8 });
        assert_eq!(e.offset, 8);
    }

    #[test]
    fn framing_errors() {
        let l = list(ColumnType::Int);
        let e = err(&l, V4, &[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(e.kind, DecodeErrorKind::NegativeLength(-2));
        let e = err(&l, V4, &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!((e.kind, e.offset), (DecodeErrorKind::NegativeLength(-2), 4));
        let e = err(&l, V4, &[0, 0, 0, 0, 7]);
        assert_eq!((e.kind, e.offset), (DecodeErrorKind::TrailingBytes(1), 4));
        // More tuple elements than the type has.
        let e = err(
            &ColumnType::Tuple(vec![ColumnType::Int]),
            V4,
            &[0, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes(4));
        // A hostile count does not allocate: it fails on the first element.
        let e = err(&l, V4, &[0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }));
    }

    #[test]
    fn duration_rules() {
        // months 1, days -1 (zig-zag 1), nanos 0: mixed signs.
        assert_eq!(
            err(&ColumnType::Duration, V4, &[2, 1, 0]).field,
            "value.duration"
        );
        // months = 2^31 does not fit an i32: zig-zag 2^32 = 0xf0 + 4 bytes.
        let e = err(&ColumnType::Duration, V4, &[0xf1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(e.field, "value.duration.months");
        assert_eq!(
            err(&ColumnType::Duration, V4, &[2, 4]).field,
            "value.duration.nanoseconds"
        );
        assert!(matches!(
            err(&ColumnType::Duration, V4, &[2, 4, 6, 0]).kind,
            DecodeErrorKind::TrailingBytes(1)
        ));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut ty = ColumnType::Int;
        let mut bytes = vec![0, 0, 0, 0];
        for _ in 0..MAX_TYPE_DEPTH + 5 {
            ty = list(ty);
            let mut outer = vec![0, 0, 0, 1];
            outer.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        let e = err(&list(ty), V4, &bytes);
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }

    #[test]
    fn strings_and_blobs_are_not_copied() {
        let cell = Bytes::from_static(b"\x00\x00\x00\x01\x00\x00\x00\x03abc");
        let range = cell.as_ptr() as usize..cell.as_ptr() as usize + cell.len();
        let v = CqlValue::decode(&list(ColumnType::Varchar), &cell, V4).unwrap();
        let CqlValue::List(items) = v else {
            panic!("not a list")
        };
        let Some(Some(CqlValue::Text(t))) = items.first() else {
            panic!("no text")
        };
        assert!(range.contains(&(t.as_ptr() as usize)));
        let blob = Bytes::from(vec![1u8, 2, 3]);
        let CqlValue::Blob(b) = CqlValue::decode(&ColumnType::Blob, &blob, V4).unwrap() else {
            panic!("not a blob")
        };
        assert_eq!(b.as_ptr(), blob.as_ptr());
    }

    #[test]
    fn scalar_fast_path_agrees_with_general_path() {
        let types = [
            ColumnType::Int,
            ColumnType::Bigint,
            ColumnType::Timestamp,
            ColumnType::Counter,
            ColumnType::Double,
            ColumnType::Float,
            ColumnType::Smallint,
            ColumnType::Tinyint,
            ColumnType::Date,
            ColumnType::Boolean,
            ColumnType::Uuid,
            ColumnType::Timeuuid,
            ColumnType::Time,
            ColumnType::Varchar,
            ColumnType::Blob,
        ];
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut fast = 0;
        for ty in &types {
            for len in 0..=17 {
                for round in 0..8 {
                    let bytes: Vec<u8> = (0..len)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            // Zeros and 0xff often, to hit false, -1, NaN patterns.
                            match round {
                                0 => 0,
                                1 => 0xff,
                                _ => state as u8,
                            }
                        })
                        .collect();
                    let cell = Bytes::from(bytes);
                    let span = Span {
                        cell: &cell,
                        start: 0,
                        end: cell.len(),
                    };
                    let general = decode_span(ty, span, CollectionLengths::Int, 0);
                    if let Some(value) = decode_scalar(ty, &cell) {
                        fast += 1;
                        assert_eq!(general.as_ref().ok(), Some(&value), "{ty:?} {cell:?}");
                    }
                    // The public entry points agree with the general path
                    // whichever path they take.
                    assert_eq!(CqlValue::decode(ty, &cell, V4), general);
                    assert_eq!(decode_cell_in(ty, &cell, 0..cell.len(), V4), general);
                }
            }
        }
        // 12 fast types x 8 rounds, at their one width each.
        assert_eq!(fast, 12 * 8);
    }

    #[test]
    fn decode_cell_keeps_null() {
        let cell = Bytes::from_static(&[0, 0, 0, 9]);
        assert_eq!(
            decode_cell(&ColumnType::Int, Some(&cell), V4).unwrap(),
            Some(CqlValue::Int(9))
        );
        assert_eq!(decode_cell(&ColumnType::Int, None, V4).unwrap(), None);
    }
}
