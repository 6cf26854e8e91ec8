//! Just enough of the OLE2 compound file format (MS-CFB) to list the names
//! of the streams in a file.
//!
//! Excel stores a password-protected `.xlsx` as an OLE2 file holding
//! `EncryptionInfo` and `EncryptedPackage` streams — the same container as a
//! real `.xls`. Telling them apart needs the directory, and calamine keeps its
//! CFB parser private, so this reads the directory itself: header, FAT
//! (via the DIFAT), then the directory sector chain. Every chain walk is
//! bounded by the number of sectors in the file so a looping or truncated
//! file ends in an error, never a hang.

use std::io::{Read, Seek, SeekFrom};

const HEADER_LEN: usize = 512;
const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Sector ids above this are markers (free, end of chain, FAT, DIFAT).
const MAX_REGULAR_SECTOR: u32 = 0xFFFF_FFFA;
const DIRECTORY_ENTRY_LEN: usize = 128;
/// The header holds the first 109 FAT sector ids.
const HEADER_DIFAT_ENTRIES: usize = 109;

/// Lists the names of all storages and streams in a compound file.
///
/// Errors are plain descriptions; the caller turns them into a
/// [`ReadError`](super::ReadError) naming the file.
pub(super) fn stream_names<R: Read + Seek>(reader: &mut R) -> Result<Vec<String>, String> {
    let len = reader.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut header = [0u8; HEADER_LEN];
    reader
        .read_exact(&mut header)
        .map_err(|_| "the file is shorter than the 512-byte OLE2 header".to_owned())?;
    if header[..8] != SIGNATURE {
        return Err("the OLE2 signature is missing".to_owned());
    }
    let shift = u16_at(&header, 0x1E);
    if shift != 9 && shift != 12 {
        return Err(format!("unsupported sector size 2^{shift}"));
    }
    let file = CompoundFile {
        sector_size: 1u64 << shift,
        len,
    };
    // Sector n lives at (n + 1) * sector_size: the header occupies sector "-1".
    let sector_count = (len / file.sector_size).saturating_sub(1);

    let mut fat_sectors: Vec<u32> = (0..HEADER_DIFAT_ENTRIES)
        .map(|i| u32_at(&header, 0x4C + 4 * i))
        .filter(|&id| id < MAX_REGULAR_SECTOR)
        .collect();
    let mut difat = u32_at(&header, 0x44);
    let mut steps = 0u64;
    while difat < MAX_REGULAR_SECTOR {
        steps += 1;
        if steps > sector_count {
            return Err("the DIFAT chain loops".to_owned());
        }
        let sector = file.read_sector(reader, difat)?;
        let ids: Vec<u32> = sector.chunks_exact(4).map(le_u32).collect();
        let (next, ids) = ids.split_last().ok_or("empty DIFAT sector")?;
        fat_sectors.extend(ids.iter().copied().filter(|&id| id < MAX_REGULAR_SECTOR));
        difat = *next;
    }
    if fat_sectors.len() as u64 > sector_count {
        return Err("the FAT claims more sectors than the file has".to_owned());
    }

    let mut fat: Vec<u32> = Vec::new();
    for id in fat_sectors {
        let sector = file.read_sector(reader, id)?;
        fat.extend(sector.chunks_exact(4).map(le_u32));
    }

    let mut names = Vec::new();
    let mut sector_id = u32_at(&header, 0x30);
    let mut steps = 0u64;
    while sector_id < MAX_REGULAR_SECTOR {
        steps += 1;
        if steps > sector_count {
            return Err("the directory chain loops".to_owned());
        }
        let sector = file.read_sector(reader, sector_id)?;
        for entry in sector.chunks_exact(DIRECTORY_ENTRY_LEN) {
            // Object type 0 marks an unused slot.
            if entry[0x42] == 0 {
                continue;
            }
            // The length counts bytes including the terminating NUL; the name
            // field is 64 bytes, so clamp against lying lengths.
            let name_bytes = usize::from(u16_at(entry, 0x40)).min(64).saturating_sub(2);
            let units: Vec<u16> = entry[..name_bytes].chunks_exact(2).map(le_u16).collect();
            names.push(String::from_utf16_lossy(&units));
        }
        sector_id = *fat
            .get(sector_id as usize)
            .ok_or_else(|| format!("directory sector {sector_id} is not covered by the FAT"))?;
    }
    if names.is_empty() {
        return Err("the directory is empty".to_owned());
    }
    Ok(names)
}

struct CompoundFile {
    sector_size: u64,
    len: u64,
}

impl CompoundFile {
    fn read_sector<R: Read + Seek>(&self, reader: &mut R, id: u32) -> Result<Vec<u8>, String> {
        let offset = (u64::from(id) + 1) * self.sector_size;
        if offset.saturating_add(self.sector_size) > self.len {
            return Err(format!(
                "sector {id} lies beyond the end of the file (the file is truncated)"
            ));
        }
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        // sector_size is 512 or 4096, checked by the caller.
        let mut buf = vec![0u8; self.sector_size as usize];
        reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    bytes.get(at..at + 2).map(le_u16).unwrap_or(0)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map(le_u32).unwrap_or(0)
}

fn le_u16(bytes: &[u8]) -> u16 {
    match bytes {
        [a, b, ..] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    }
}

fn le_u32(bytes: &[u8]) -> u32 {
    match bytes {
        [a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal but well-formed version-3 compound file holding
    /// empty streams with the given names: header, one FAT sector, one
    /// directory sector. Good enough for our parser and for calamine's.
    pub(crate) fn build_compound_file(streams: &[&str]) -> Vec<u8> {
        assert!(streams.len() < 4, "one directory sector holds 4 entries");
        let mut header = vec![0u8; HEADER_LEN];
        header[..8].copy_from_slice(&SIGNATURE);
        header[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes()); // minor version
        header[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes()); // major version 3
        header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
        header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes()); // 512-byte sectors
        header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes()); // 64-byte mini sectors
        header[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes()); // one FAT sector
        header[0x30..0x34].copy_from_slice(&1u32.to_le_bytes()); // directory at sector 1
        header[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes()); // mini stream cutoff
        header[0x3C..0x40].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no mini FAT
        header[0x44..0x48].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no DIFAT sectors
        for i in 0..HEADER_DIFAT_ENTRIES {
            let id: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            header[0x4C + 4 * i..0x50 + 4 * i].copy_from_slice(&id.to_le_bytes());
        }

        let mut fat = vec![0xFFu8; 512];
        fat[0..4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes()); // sector 0: FAT
        fat[4..8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // sector 1: end of chain

        let mut dir = vec![0u8; 512];
        let entry = |dir: &mut Vec<u8>, slot: usize, name: &str, kind: u8, right: u32| {
            let base = slot * DIRECTORY_ENTRY_LEN;
            let units: Vec<u16> = name.encode_utf16().collect();
            for (i, unit) in units.iter().enumerate() {
                dir[base + 2 * i..base + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
            }
            let len = (units.len() as u16 + 1) * 2;
            dir[base + 0x40..base + 0x42].copy_from_slice(&len.to_le_bytes());
            dir[base + 0x42] = kind;
            dir[base + 0x43] = 1; // black
            dir[base + 0x44..base + 0x48].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // left
            dir[base + 0x48..base + 0x4C].copy_from_slice(&right.to_le_bytes()); // right sibling
            dir[base + 0x4C..base + 0x50].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // child
            dir[base + 0x74..base + 0x78].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // start
        };
        entry(&mut dir, 0, "Root Entry", 5, 0xFFFF_FFFF);
        // Root's child is the first stream; streams chain through right siblings.
        if !streams.is_empty() {
            dir[0x4C..0x50].copy_from_slice(&1u32.to_le_bytes());
        }
        for (i, name) in streams.iter().enumerate() {
            let right = if i + 1 < streams.len() {
                i as u32 + 2
            } else {
                0xFFFF_FFFF
            };
            entry(&mut dir, i + 1, name, 2, right);
        }

        let mut out = header;
        out.extend(fat);
        out.extend(dir);
        out
    }

    #[test]
    fn lists_stream_names_of_a_compound_file() {
        let bytes = build_compound_file(&["EncryptionInfo", "EncryptedPackage"]);
        let names = stream_names(&mut std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(names, ["Root Entry", "EncryptionInfo", "EncryptedPackage"]);
    }

    #[test]
    fn truncated_or_looping_files_are_errors_not_hangs() {
        let bytes = build_compound_file(&["Workbook"]);
        let cut = bytes[..1100].to_vec();
        let err = stream_names(&mut std::io::Cursor::new(cut)).unwrap_err();
        assert!(err.contains("beyond the end"), "{err}");

        // Directory sector pointing at itself through the FAT.
        let mut looping = build_compound_file(&["Workbook"]);
        looping[512 + 4..512 + 8].copy_from_slice(&1u32.to_le_bytes());
        let err = stream_names(&mut std::io::Cursor::new(looping)).unwrap_err();
        assert!(err.contains("loops"), "{err}");

        let err = stream_names(&mut std::io::Cursor::new(vec![0xD0u8; 100])).unwrap_err();
        assert!(err.contains("shorter"), "{err}");
    }
}
