//! Just enough of the zip format to build hostile workbooks by hand: stored entries, one
//! deflated entry, and a deflate stream of zeros with the best ratio deflate allows.

/// CRC-32 (IEEE, as zip uses it) of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// CRC-32 of `n` zero bytes without touching them: processing a zero byte is a linear map of
/// the CRC register, so `n` of them are that map raised to the `n`th power (square and
/// multiply over 32×32 bit matrices, as zlib's `crc32_combine` does). Checksumming 2 GiB of
/// zeros byte by byte would take seconds.
pub(crate) fn crc32_of_zeros(n: u64) -> u32 {
    // A matrix is the images of the 32 basis vectors.
    type Matrix = [u32; 32];
    fn apply(m: &Matrix, v: u32) -> u32 {
        (0..32)
            .filter(|bit| v & (1 << bit) != 0)
            .fold(0, |acc, bit| acc ^ m[bit])
    }
    fn compose(a: &Matrix, b: &Matrix) -> Matrix {
        let mut out = [0u32; 32];
        for (o, col) in out.iter_mut().zip(b) {
            *o = apply(a, *col);
        }
        out
    }
    let mut zero_byte: Matrix = [0; 32];
    for (bit, m) in zero_byte.iter_mut().enumerate() {
        let mut reg = 1u32 << bit;
        for _ in 0..8 {
            reg = (reg >> 1) ^ (0xEDB8_8320 & (reg & 1).wrapping_neg());
        }
        *m = reg;
    }
    let mut result: Matrix = std::array::from_fn(|bit| 1u32 << bit);
    let mut power = zero_byte;
    let mut n = n;
    while n > 0 {
        if n & 1 == 1 {
            result = compose(&power, &result);
        }
        power = compose(&power, &power);
        n >>= 1;
    }
    !apply(&result, !0)
}

/// Writes bits least-significant first, as deflate packs everything but Huffman codes.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn new(capacity: usize) -> BitWriter {
        BitWriter {
            out: Vec::with_capacity(capacity),
            acc: 0,
            bits: 0,
        }
    }

    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.bits;
        self.bits += count;
        while self.bits >= 8 {
            self.out.push((self.acc & 0xFF) as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// Huffman codes go most-significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = (0..len).fold(0, |acc, i| (acc << 1) | ((code >> i) & 1));
        self.put(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            self.out.push((self.acc & 0xFF) as u8);
        }
        self.out
    }
}

/// A raw deflate stream (one dynamic-Huffman block) that inflates to `1 + 258 * repeats` zero
/// bytes: a literal zero, then `repeats` copies of <length 258, distance 1>, each coded in two
/// bits. About 1030:1, the most deflate can reach. Returns the stream and its inflated size.
pub(crate) fn deflate_zeros(repeats: u64) -> (Vec<u8>, u64) {
    let mut w = BitWriter::new(usize::try_from(repeats / 4 + 64).unwrap_or(64));
    w.put(1, 1); // BFINAL
    w.put(2, 2); // BTYPE = dynamic Huffman
    w.put(286 - 257, 5); // HLIT: literal/length codes 0..=285
    w.put(2 - 1, 5); // HDIST: distance codes 0 and 1
    w.put(18 - 4, 4); // HCLEN: code-length code lengths up to symbol 1 in the order below
    // Code-length alphabet: symbol 18 (run of zeros) 1 bit, symbols 1 and 2 two bits each.
    let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
    for symbol in order {
        let len = match symbol {
            18 => 1,
            1 | 2 => 2,
            _ => 0,
        };
        w.put(len, 3);
    }
    // Canonical codes of that alphabet: 18 → 0, 1 → 10, 2 → 11.
    let cl_one = |w: &mut BitWriter| w.code(0b10, 2);
    let cl_two = |w: &mut BitWriter| w.code(0b11, 2);
    let cl_zeros = |w: &mut BitWriter, run: u32| {
        w.code(0, 1);
        w.put(run - 11, 7);
    };
    // Literal/length lengths: 0 → 2 bits, 1..=255 unused, 256 (end) → 2 bits,
    // 257..=284 unused, 285 (length 258) → 1 bit. Then distances 0 and 1 → 1 bit each.
    cl_two(&mut w);
    cl_zeros(&mut w, 138);
    cl_zeros(&mut w, 117);
    cl_two(&mut w);
    cl_zeros(&mut w, 28);
    cl_one(&mut w);
    cl_one(&mut w);
    cl_one(&mut w);
    // Canonical literal/length codes: 285 → 0, 0 → 10, 256 → 11; distance 0 → 0.
    w.code(0b10, 2); // the literal zero byte
    for _ in 0..repeats {
        w.code(0, 1); // length 258
        w.code(0, 1); // distance 1
    }
    w.code(0b11, 2); // end of block
    (w.finish(), 1 + 258 * repeats)
}

/// One entry of a hand-built zip archive.
pub(crate) struct Entry<'a> {
    pub name: &'a str,
    /// 0 = stored, 8 = deflated.
    pub method: u16,
    pub data: &'a [u8],
    pub crc: u32,
    pub uncompressed: u32,
}

impl<'a> Entry<'a> {
    pub(crate) fn stored(name: &'a str, data: &'a [u8]) -> Entry<'a> {
        Entry {
            name,
            method: 0,
            data,
            crc: crc32(data),
            uncompressed: u32::try_from(data.len()).unwrap_or(u32::MAX),
        }
    }
}

/// Lays out local headers, data, central directory and end record (no zip64: every size must
/// fit in 32 bits, which the callers' sizes do).
pub(crate) fn archive(entries: &[Entry<'_>]) -> Vec<u8> {
    const DOS_DATE_1980_01_01: u16 = 0x21;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(e.name.len()).unwrap_or(u16::MAX);
        let compressed = u32::try_from(e.data.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        out.extend_from_slice(&e.crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&e.uncompressed.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(e.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&20u16.to_le_bytes()); // version needed
        central.extend_from_slice(&0u16.to_le_bytes()); // flags
        central.extend_from_slice(&e.method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // time
        central.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        central.extend_from_slice(&e.crc.to_le_bytes());
        central.extend_from_slice(&compressed.to_le_bytes());
        central.extend_from_slice(&e.uncompressed.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk start, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let central_size = u32::try_from(central.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // this disk, disk with the central directory
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// The parts of a minimal XLSX package around one worksheet entry.
pub(crate) const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

pub(crate) const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

pub(crate) const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Risks" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

pub(crate) const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_check_value_and_the_zero_shortcut() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        for n in [0u64, 1, 2, 7, 258, 1000, 4097] {
            let zeros = vec![0u8; usize::try_from(n).unwrap()];
            assert_eq!(crc32_of_zeros(n), crc32(&zeros), "{n}");
        }
    }

    #[test]
    fn zero_stream_is_tiny_for_its_size() {
        let (stream, size) = deflate_zeros(8_400_000);
        assert!(size > 2 * 1024 * 1024 * 1024, "{size}");
        assert!(stream.len() < 2_200_000, "{}", stream.len());
        // 109 bits of block header, code tables, first literal and end code; 2 bits per copy.
        assert_eq!(stream.len() as u64, (109 + 2 * 8_400_000u64).div_ceil(8));
    }

    #[test]
    fn archive_has_its_end_record_where_readers_look() {
        let bytes = archive(&[Entry::stored("a.txt", b"hello")]);
        assert!(bytes.starts_with(b"PK\x03\x04"));
        let end = &bytes[bytes.len() - 22..];
        assert!(end.starts_with(b"PK\x05\x06"));
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 1);
    }
}
