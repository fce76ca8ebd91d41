//! The content-defined chunker the server uses: FastCDC 2020 with normalized chunking level 1 and
//! the "llmspell-gear-v1" gear table, so that a client cuts content exactly where the server does
//! and can skip the chunks the server already holds.
//!
//! The reference definition is the server's `hotpath/_pure.py`; `tests/vectors/chunking.json` holds
//! golden vectors this module is tested against.

use std::sync::OnceLock;

use crate::Error;

/// The algorithm name the server announces in `GetCapabilities`.
pub const ALGORITHM: &str = "fastcdc-2020";

/// The gear table name the server announces in `GetCapabilities`.
pub const GEAR_TABLE: &str = "llmspell-gear-v1";

/// The largest `max_size` the chunker accepts: 16 MiB.
pub const SIZE_LIMIT: usize = 16 * 1024 * 1024;

/// The fastcdc crate's v2020 masks: entry k has k one bits; entries 0-4 are unused.
const MASKS: [u64; 26] = [
    0,
    0,
    0,
    0,
    0,
    0x0000_0000_0180_4110,
    0x0000_0000_0180_3110,
    0x0000_0000_1803_5100,
    0x0000_0018_0003_5300,
    0x0000_0190_0035_3000,
    0x0000_5900_0353_0000,
    0x0000_d900_0353_0000,
    0x0000_d901_0353_0000,
    0x0000_d903_0353_0000,
    0x0000_d903_1353_0000,
    0x0000_d90f_0353_0000,
    0x0000_d903_0353_7000,
    0x0000_d907_0353_7000,
    0x0000_d907_0753_7000,
    0x0000_d917_0753_7000,
    0x0000_d917_4753_7000,
    0x0000_d917_6753_7000,
    0x0000_d937_6753_7000,
    0x0000_d937_7753_7000,
    0x0000_d937_7757_7000,
    0x0000_db37_7757_7000,
];

/// The "llmspell-gear-v1" table: entry i is the first 8 bytes (little-endian) of
/// `blake3(b"llmspell-sessions/gear/v1" + [i])`.
pub fn gear_table() -> &'static [u64; 256] {
    static TABLE: OnceLock<[u64; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0u64; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut hasher = blake3::Hasher::new();
            hasher.update(b"llmspell-sessions/gear/v1");
            hasher.update(&[i as u8]);
            let digest = hasher.finalize();
            *entry = u64::from_le_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"));
        }
        table
    })
}

/// `round(log2(avg_size))`, computed with integers exactly as the server does.
fn mask_bits(avg_size: usize) -> usize {
    let b = (usize::BITS - 1 - avg_size.leading_zeros()) as usize;
    let square = (avg_size as u128) * (avg_size as u128);
    if square > 1u128 << (2 * b + 1) {
        b + 1
    } else {
        b
    }
}

/// Validated chunk sizes with the masks derived from `avg_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunker {
    min_size: usize,
    avg_size: usize,
    max_size: usize,
    mask_s: u64,
    mask_l: u64,
}

impl Chunker {
    /// A chunker for these sizes: 64 <= min_size <= avg_size <= max_size <= 16 MiB.
    pub fn new(min_size: usize, avg_size: usize, max_size: usize) -> Result<Self, Error> {
        if min_size < 64 || !(min_size <= avg_size && avg_size <= max_size) || max_size > SIZE_LIMIT {
            return Err(Error::InvalidArgument(format!(
                "chunk sizes must satisfy 64 <= min <= avg <= max <= 16 MiB, got {min_size}, {avg_size}, {max_size}"
            )));
        }
        let bits = mask_bits(avg_size);
        Ok(Chunker { min_size, avg_size, max_size, mask_s: MASKS[bits + 1], mask_l: MASKS[bits - 1] })
    }

    /// The chunker the server describes in its capabilities, if it is one this client implements.
    pub fn from_capabilities(caps: &crate::pb::GetCapabilitiesResponse) -> Result<Self, Error> {
        let params = caps.chunking.as_ref().ok_or_else(|| Error::Protocol("no chunking parameters".into()))?;
        if params.algorithm != ALGORITHM || params.gear_table != GEAR_TABLE || caps.digest_function != "blake3" {
            return Err(Error::Protocol(format!(
                "the server chunks with {:?}/{:?}/{:?}, this client with {ALGORITHM}/{GEAR_TABLE}/blake3",
                params.algorithm, params.gear_table, caps.digest_function
            )));
        }
        let size = |n: i64| usize::try_from(n).map_err(|_| Error::Protocol(format!("bad chunk size {n}")));
        Chunker::new(size(params.min_size)?, size(params.avg_size)?, size(params.max_size)?)
    }

    /// The masks used before and after `avg_size` (for the golden vectors).
    pub fn masks(&self) -> (u64, u64) {
        (self.mask_s, self.mask_l)
    }

    /// The largest chunk this chunker makes.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The length of the chunk that starts at `data[0]`.
    fn cut(&self, data: &[u8]) -> usize {
        let mut n = data.len();
        if n <= self.min_size {
            return n;
        }
        n = n.min(self.max_size);
        let center = self.avg_size.min(n);
        let gear = gear_table();
        let mut h: u64 = 0;
        for (i, &byte) in data.iter().enumerate().take(center).skip(self.min_size) {
            h = (h << 1).wrapping_add(gear[byte as usize]);
            if h & self.mask_s == 0 {
                return i;
            }
        }
        for (i, &byte) in data.iter().enumerate().take(n).skip(center) {
            h = (h << 1).wrapping_add(gear[byte as usize]);
            if h & self.mask_l == 0 {
                return i;
            }
        }
        n
    }

    /// Chunk end offsets in `data`, ascending. With `last` false, a final chunk that more data
    /// could still extend is left out (the caller keeps it and appends what comes next).
    pub fn cuts(&self, data: &[u8], last: bool) -> Vec<usize> {
        let mut cuts = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let remaining = data.len() - start;
            let size = self.cut(&data[start..]);
            if !last && size == remaining && remaining < self.max_size {
                break;
            }
            start += size;
            cuts.push(start);
        }
        cuts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sizes_give_the_documented_masks() {
        let chunker = Chunker::new(16384, 65536, 262144).unwrap();
        assert_eq!(chunker.masks(), (0x0000_d907_0353_7000, 0x0000_d90f_0353_0000));
    }

    #[test]
    fn invalid_sizes_are_refused() {
        assert!(Chunker::new(63, 64, 64).is_err());
        assert!(Chunker::new(100, 99, 200).is_err());
        assert!(Chunker::new(64, 64, SIZE_LIMIT + 1).is_err());
    }

    #[test]
    fn streaming_cuts_hold_back_a_tail_that_could_grow() {
        let chunker = Chunker::new(64, 256, 1024).unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let all = chunker.cuts(&data, true);
        assert_eq!(*all.last().unwrap(), data.len());
        let partial = chunker.cuts(&data, false);
        assert!(partial.len() < all.len() || all.last() == partial.last());
        assert_eq!(&all[..partial.len()], &partial[..]);
    }
}
