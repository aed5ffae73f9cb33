//! The two checksums of v5 segments, as Cassandra computes them
//! (`org.apache.cassandra.net.Crc`).
//!
//! - CRC24 protects the segment header: polynomial 0x1974F0B (Koopman's
//!   choice, Hamming distance 8 up to 105 bits), initial value 0x875060, no
//!   reflection, no final xor, fed the header bytes in wire order (the
//!   header is a little-endian integer, read least significant byte first).
//! - CRC32 protects the payload: the ordinary (zlib/Ethernet) CRC32, but
//!   seeded by first feeding it the four bytes FA 2D 55 CA, so that an
//!   all-zero segment does not have a zero checksum.

/// CRC24 initial register value.
const CRC24_INIT: u32 = 0x87_5060;
/// CRC24 polynomial, including the x^24 term.
const CRC24_POLY: u32 = 0x197_4F0B;
/// The 24-bit register mask.
const CRC24_MASK: u32 = 0xFF_FFFF;

/// Bytes fed to CRC32 before the payload.
const CRC32_SEED_BYTES: [u8; 4] = [0xFA, 0x2D, 0x55, 0xCA];

/// `CRC24_TABLE[t]` is the register after shifting the byte `t`, placed in
/// the top 8 bits of an otherwise zero register, through 8 polynomial steps.
/// The CRC is linear, so a whole byte can be processed with one lookup.
const CRC24_TABLE: [u32; 256] = build_crc24_table();

const fn build_crc24_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut top = 0;
    while top < 256 {
        let mut reg = (top as u32) << 16;
        let mut bit = 0;
        while bit < 8 {
            reg <<= 1;
            if reg & (1 << 24) != 0 {
                reg ^= CRC24_POLY;
            }
            bit += 1;
        }
        table[top] = reg;
        top += 1;
    }
    table
}

/// CRC24 of a segment header's bytes, in wire order.
///
/// ```
/// use ferry_wire::segment::crc24;
/// // Header of an uncompressed, self-contained segment with a 50-byte payload.
/// assert_eq!(crc24(&[0x32, 0x00, 0x02]), 0xEE_FFA5);
/// ```
pub fn crc24(bytes: &[u8]) -> u32 {
    bytes.iter().fold(CRC24_INIT, |reg, &byte| {
        let top = ((reg >> 16) as u8) ^ byte;
        ((reg << 8) & CRC24_MASK) ^ CRC24_TABLE[usize::from(top)]
    })
}

/// CRC32 of a segment payload, seeded like Cassandra's.
///
/// ```
/// use ferry_wire::segment::crc32;
/// assert_ne!(crc32(b""), 0); // the seed bytes make the empty checksum non-zero
/// assert_ne!(crc32(b"a"), crc32fast::hash(b"a"));
/// ```
pub fn crc32(payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&CRC32_SEED_BYTES);
    hasher.update(payload);
    hasher.finalize()
}
