//! A minimal OLE2 compound file shaped like a password-protected OOXML workbook: Office stores
//! such a workbook not as a zip but as a compound file whose streams are `EncryptionInfo`
//! (the key derivation parameters) and `EncryptedPackage` (the encrypted zip).

const SECTOR: usize = 512;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FREESECT: u32 = 0xFFFF_FFFF;
const FATSECT: u32 = 0xFFFF_FFFD;
const NOSTREAM: u32 = 0xFFFF_FFFF;
/// Streams of at least this size live in regular sectors, so no mini stream is needed.
const STREAM_LEN: usize = 4096;

/// Builds the compound file. Layout: sector 0 FAT, sector 1 directory, sectors 2–9
/// `EncryptionInfo`, sectors 10–17 `EncryptedPackage`.
pub(crate) fn encrypted_workbook() -> Vec<u8> {
    let info = encryption_info();
    let package = encrypted_package();
    let sectors_per_stream = STREAM_LEN / SECTOR;
    let info_start = 2u32;
    let package_start = info_start + sectors_per_stream as u32;
    let total_sectors = package_start as usize + sectors_per_stream;

    let mut out = Vec::with_capacity(SECTOR * (total_sectors + 1));
    // Header.
    out.extend_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    out.extend_from_slice(&[0; 16]); // CLSID
    out.extend_from_slice(&0x003Eu16.to_le_bytes()); // minor version
    out.extend_from_slice(&0x0003u16.to_le_bytes()); // major version 3: 512-byte sectors
    out.extend_from_slice(&0xFFFEu16.to_le_bytes()); // byte order: little-endian
    out.extend_from_slice(&9u16.to_le_bytes()); // sector shift: 2^9
    out.extend_from_slice(&6u16.to_le_bytes()); // mini sector shift: 2^6
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&0u32.to_le_bytes()); // directory sectors (always 0 in version 3)
    out.extend_from_slice(&1u32.to_le_bytes()); // FAT sectors
    out.extend_from_slice(&1u32.to_le_bytes()); // first directory sector
    out.extend_from_slice(&0u32.to_le_bytes()); // transaction signature
    out.extend_from_slice(&(STREAM_LEN as u32).to_le_bytes()); // mini stream cutoff
    out.extend_from_slice(&ENDOFCHAIN.to_le_bytes()); // first mini FAT sector: none
    out.extend_from_slice(&0u32.to_le_bytes()); // mini FAT sectors
    out.extend_from_slice(&ENDOFCHAIN.to_le_bytes()); // first DIFAT sector: none
    out.extend_from_slice(&0u32.to_le_bytes()); // DIFAT sectors
    out.extend_from_slice(&0u32.to_le_bytes()); // DIFAT[0]: the FAT is sector 0
    for _ in 1..109 {
        out.extend_from_slice(&FREESECT.to_le_bytes());
    }
    debug_assert_eq!(out.len(), SECTOR);

    // Sector 0: the FAT.
    let mut fat = vec![FREESECT; SECTOR / 4];
    fat[0] = FATSECT;
    fat[1] = ENDOFCHAIN;
    for start in [info_start as usize, package_start as usize] {
        let end = start + sectors_per_stream;
        for (s, next) in fat.iter_mut().enumerate().take(end).skip(start) {
            *next = if s + 1 == end {
                ENDOFCHAIN
            } else {
                s as u32 + 1
            };
        }
    }
    for entry in fat {
        out.extend_from_slice(&entry.to_le_bytes());
    }

    // Sector 1: the directory. Siblings form a red-black tree ordered by name length first, so
    // "EncryptionInfo" (14) is left of "EncryptedPackage" (16).
    out.extend(dir_entry(
        "Root Entry",
        5,
        1,
        NOSTREAM,
        NOSTREAM,
        1,
        ENDOFCHAIN,
        0,
    ));
    out.extend(dir_entry(
        "EncryptionInfo",
        2,
        1,
        NOSTREAM,
        2,
        NOSTREAM,
        info_start,
        STREAM_LEN as u64,
    ));
    out.extend(dir_entry(
        "EncryptedPackage",
        2,
        0,
        NOSTREAM,
        NOSTREAM,
        NOSTREAM,
        package_start,
        STREAM_LEN as u64,
    ));
    out.extend(dir_entry("", 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, 0, 0));

    out.extend_from_slice(&info);
    out.extend_from_slice(&package);
    out
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per field of the on-disk entry"
)]
fn dir_entry(
    name: &str,
    kind: u8,
    color: u8,
    left: u32,
    right: u32,
    child: u32,
    start: u32,
    size: u64,
) -> Vec<u8> {
    let mut e = Vec::with_capacity(128);
    let mut utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let name_len = if name.is_empty() { 0 } else { utf16.len() + 2 };
    utf16.resize(64, 0);
    e.extend_from_slice(&utf16);
    e.extend_from_slice(&(name_len as u16).to_le_bytes());
    e.push(kind);
    e.push(color);
    e.extend_from_slice(&left.to_le_bytes());
    e.extend_from_slice(&right.to_le_bytes());
    e.extend_from_slice(&child.to_le_bytes());
    e.extend_from_slice(&[0; 16]); // CLSID
    e.extend_from_slice(&0u32.to_le_bytes()); // state bits
    e.extend_from_slice(&[0; 16]); // creation and modification times
    e.extend_from_slice(&start.to_le_bytes());
    e.extend_from_slice(&size.to_le_bytes());
    e
}

/// An "agile encryption" header as Office writes it: version 4.4, flags, then an XML key
/// descriptor. The salts and key values are made up.
fn encryption_info() -> Vec<u8> {
    let mut s = Vec::with_capacity(STREAM_LEN);
    s.extend_from_slice(&4u16.to_le_bytes());
    s.extend_from_slice(&4u16.to_le_bytes());
    s.extend_from_slice(&0x40u32.to_le_bytes());
    s.extend_from_slice(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="c3ludGhldGljc2FsdDAwMQ=="/><keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><p:encryptedKey spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="bm90LWEtcmVhbC1zYWx0MQ=="/></keyEncryptor></keyEncryptors></encryption>"#,
    );
    s.resize(STREAM_LEN, 0);
    s
}

/// The encrypted package: the plaintext size, then ciphertext (here: reproducible noise).
fn encrypted_package() -> Vec<u8> {
    let mut s = Vec::with_capacity(STREAM_LEN);
    s.extend_from_slice(&9_216u64.to_le_bytes());
    let mut rng = crate::registers::Rng::new(0x0E1E);
    while s.len() < STREAM_LEN {
        s.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    s.truncate(STREAM_LEN);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_file_is_well_formed() {
        let bytes = encrypted_workbook();
        assert_eq!(bytes.len(), SECTOR * 19);
        assert!(bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]));
        // The directory (sector 1, at file offset 2 * 512) names the encryption stream.
        let dir = &bytes[2 * SECTOR..3 * SECTOR];
        let name: Vec<u16> = dir[128..128 + 28]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&name).unwrap(), "EncryptionInfo");
        // Its FAT chain starts at sector 2 and ends at 9.
        let fat = &bytes[SECTOR..2 * SECTOR];
        let at = |i: usize| u32::from_le_bytes(fat[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(at(2), 3);
        assert_eq!(at(9), ENDOFCHAIN);
        assert_eq!(at(17), ENDOFCHAIN);
        assert_eq!(at(18), FREESECT);
    }
}
