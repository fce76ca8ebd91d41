//! Scenario content: the xorshift32 generator and BLAKE3 digests.

use serde_json::Value as Json;

/// Content given as `{"generate": "xorshift32", "seed": S, "size": N}`.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub seed: u32,
    pub size: usize,
}

impl Spec {
    /// Reads a content spec; only the xorshift32 generator exists.
    pub fn parse(value: &Json) -> Result<Spec, String> {
        if value["generate"] != "xorshift32" {
            return Err(format!("unknown content generator in {value}"));
        }
        let seed = value["seed"].as_u64().and_then(|s| u32::try_from(s).ok()).ok_or("content needs a u32 seed")?;
        let size = value["size"].as_u64().ok_or("content needs a size")? as usize;
        Ok(Spec { seed, size })
    }

    /// The content's bytes.
    pub fn generate(&self) -> Vec<u8> {
        xorshift32(self.seed, self.size)
    }
}

/// `size` bytes of xorshift32 output from state `seed`, each word little-endian, the last one truncated.
pub fn xorshift32(seed: u32, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 3);
    let mut x = seed;
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// BLAKE3 of `bytes` as lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift32_emits_little_endian_words_and_truncates_the_last() {
        // From state 1 the words are 0x00042021, then 0x04080601.
        assert_eq!(xorshift32(1, 6), vec![0x21, 0x20, 0x04, 0x00, 0x01, 0x06]);
        assert_eq!(xorshift32(7, 1_048_576).len(), 1_048_576);
    }

    #[test]
    fn digests_are_lowercase_hex_blake3() {
        assert_eq!(digest(b""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }
}
