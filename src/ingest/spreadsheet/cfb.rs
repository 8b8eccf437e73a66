//! Just enough of the Compound File Binary format (MS-CFB) to read one stream of an `.xls` file,
//! so that its cell records can be counted before calamine parses (and allocates for) them.
//!
//! Owns: [`stream`]. Must not: interpret the stream. Every offset is bounds-checked and every
//! sector chain is cut at the number of sectors in the file, so a malformed file yields `None`
//! (calamine then refuses it) rather than a loop or a panic.

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

struct File<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    fat: Vec<u32>,
}

impl<'a> File<'a> {
    fn sector(&self, n: u32) -> Option<&'a [u8]> {
        let start = (n as usize).checked_add(1)?.checked_mul(self.sector_size)?;
        self.bytes.get(start..start.checked_add(self.sector_size)?)
    }

    /// The sectors of the chain starting at `first`, by `table` (the FAT or the mini FAT).
    fn chain(table: &[u32], first: u32, limit: usize) -> Option<Vec<u32>> {
        let mut out = Vec::new();
        let mut next = first;
        while next != END_OF_CHAIN {
            if out.len() > limit {
                return None;
            }
            out.push(next);
            next = *table.get(next as usize)?;
        }
        Some(out)
    }

    /// A chain longer than the file has sectors loops: refused.
    fn read_chain(&self, first: u32) -> Option<Vec<u8>> {
        let sectors = Self::chain(&self.fat, first, self.bytes.len() / self.sector_size)?;
        let mut out = Vec::with_capacity(sectors.len() * self.sector_size);
        for s in sectors {
            out.extend_from_slice(self.sector(s)?);
        }
        Some(out)
    }
}

/// The bytes of the first stream named in `names` (e.g. `Workbook`, then `Book`), or `None`
/// when the file is not a readable compound file or has no such stream.
pub(crate) fn stream(bytes: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    if !bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return None;
    }
    let sector_size = match u16_at(bytes, 0x1E)? {
        9 => 512,
        12 => 4096,
        _ => return None,
    };
    let mini_size = 1usize << u16_at(bytes, 0x20)?.min(12);
    let sectors = bytes.len() / sector_size;
    let mut file = File {
        bytes,
        sector_size,
        fat: Vec::new(),
    };
    // The FAT sectors: 109 listed in the header, the rest in the DIFAT chain.
    let fat_count = (u32_at(bytes, 0x2C)? as usize).min(sectors);
    let mut fat_sectors: Vec<u32> = (0..109)
        .filter_map(|i| u32_at(bytes, 0x4C + 4 * i))
        .take(fat_count)
        .collect();
    let mut difat = u32_at(bytes, 0x44)?;
    let per_difat = sector_size / 4 - 1;
    while fat_sectors.len() < fat_count && difat < END_OF_CHAIN {
        let sector = file.sector(difat)?;
        fat_sectors.extend((0..per_difat).filter_map(|i| u32_at(sector, 4 * i)));
        difat = u32_at(sector, 4 * per_difat)?;
    }
    fat_sectors.truncate(fat_count);
    for s in fat_sectors {
        let sector = file.sector(s)?;
        file.fat
            .extend((0..sector_size / 4).filter_map(|i| u32_at(sector, 4 * i)));
    }
    let directory = file.read_chain(u32_at(bytes, 0x30)?)?;
    let entry = |i: usize| directory.get(i * 128..(i + 1) * 128);
    let root = entry(0)?;
    let wanted = names.iter().find_map(|name| {
        (0..directory.len() / 128).find_map(|i| {
            let e = entry(i)?;
            let len = (u16_at(e, 64)? as usize).min(64);
            let units: Vec<u16> = (0..len.saturating_sub(2) / 2)
                .filter_map(|k| u16_at(e, 2 * k))
                .collect();
            (e[66] == 2 && String::from_utf16(&units).ok()? == *name).then_some(e)
        })
    })?;
    let start = u32_at(wanted, 116)?;
    let size = u32_at(wanted, 120)? as usize;
    let cutoff = u32_at(bytes, 0x38)? as usize;
    let mut data = if size < cutoff {
        // A small stream lives in the mini stream, in mini sectors chained by the mini FAT.
        let mini_stream = file.read_chain(u32_at(root, 116)?)?;
        let mini_fat = file.read_chain(u32_at(bytes, 0x3C)?).unwrap_or_default();
        let mini_fat: Vec<u32> = (0..mini_fat.len() / 4)
            .filter_map(|i| u32_at(&mini_fat, 4 * i))
            .collect();
        let chain = File::chain(&mini_fat, start, mini_stream.len() / mini_size)?;
        let mut out = Vec::with_capacity(chain.len() * mini_size);
        for s in chain {
            let at = (s as usize).checked_mul(mini_size)?;
            out.extend_from_slice(mini_stream.get(at..at.checked_add(mini_size)?)?);
        }
        out
    } else {
        file.read_chain(start)?
    };
    data.truncate(size);
    Some(data)
}
