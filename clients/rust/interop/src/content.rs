//! Scenario content: the xorshift32 generator and BLAKE3 digests.

use serde_json::Value as Json;

#[cfg(test)]
use serde_json::json;

/// Content given as `{"generate": "xorshift32", "seed": S, "size": N, "edits": [...]}`.
#[derive(Clone, Debug)]
pub struct Spec {
    pub seed: u32,
    pub size: usize,
    pub edits: Vec<Edit>,
}

/// One change applied to generated content, in order.
#[derive(Clone, Copy, Debug)]
pub enum Edit {
    /// Every byte of `[offset, offset+size)` XORed with `byte`.
    Xor { byte: u8, offset: usize, size: usize },
    /// xorshift32(seed, size) inserted before byte `offset`.
    Insert { size: usize, offset: usize, seed: u32 },
}

fn uint(value: &Json, what: &str) -> Result<u64, String> {
    match value {
        Json::Number(n) => n.as_u64().ok_or_else(|| format!("{what}: not an unsigned integer")),
        Json::String(s) => s.parse().map_err(|_| format!("{what}: not an unsigned integer")),
        _ => Err(format!("{what} is missing")),
    }
}

impl Spec {
    /// Reads a content spec (after substitution); only the xorshift32 generator exists.
    pub fn parse(value: &Json) -> Result<Spec, String> {
        if value["generate"] != "xorshift32" {
            return Err(format!("unknown content generator in {value}"));
        }
        let seed = u32::try_from(uint(&value["seed"], "content seed")?).map_err(|_| "content seed over u32")?;
        let size = uint(&value["size"], "content size")? as usize;
        let edits = value["edits"].as_array().map(Vec::as_slice).unwrap_or_default();
        let edits = edits.iter().map(Edit::parse).collect::<Result<_, _>>()?;
        Ok(Spec { seed, size, edits })
    }

    /// The content's bytes, edits applied.
    pub fn generate(&self) -> Vec<u8> {
        let mut bytes = xorshift32(self.seed, self.size);
        for edit in &self.edits {
            edit.apply(&mut bytes);
        }
        bytes
    }
}

impl Edit {
    fn parse(value: &Json) -> Result<Edit, String> {
        let offset = uint(&value["offset"], "edit offset")? as usize;
        if !value["xor"].is_null() {
            let byte = u8::try_from(uint(&value["xor"], "xor")?).map_err(|_| "xor over 255")?;
            return Ok(Edit::Xor { byte, offset, size: uint(&value["size"], "edit size")? as usize });
        }
        let size = uint(&value["insert"], "insert")? as usize;
        let seed = u32::try_from(uint(&value["seed"], "insert seed")?).map_err(|_| "insert seed over u32")?;
        Ok(Edit::Insert { size, offset, seed })
    }

    fn apply(&self, bytes: &mut Vec<u8>) {
        match *self {
            Edit::Xor { byte, offset, size } => {
                let end = (offset + size).min(bytes.len());
                bytes[offset.min(end)..end].iter_mut().for_each(|b| *b ^= byte);
            }
            Edit::Insert { size, offset, seed } => {
                let at = offset.min(bytes.len());
                bytes.splice(at..at, xorshift32(seed, size));
            }
        }
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
    fn edits_xor_in_place_and_insert_generated_bytes() {
        let spec = json!({"generate": "xorshift32", "seed": 1, "size": 6,
            "edits": [{"xor": 255, "offset": 0, "size": 2}, {"insert": 2, "offset": 1, "seed": 1}]});
        let bytes = Spec::parse(&spec).unwrap().generate();
        assert_eq!(bytes, vec![0xde, 0x21, 0x20, 0xdf, 0x04, 0x00, 0x01, 0x06]);
        assert!(Spec::parse(&json!({"generate": "xorshift32", "seed": "7", "size": 3})).is_ok());
    }

    #[test]
    fn digests_are_lowercase_hex_blake3() {
        assert_eq!(digest(b""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }
}
