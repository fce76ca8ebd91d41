//! The client's chunker against the golden vectors shared by every language
//! (`tests/vectors/chunking.json`, `tests/vectors/gear_table.json`).

mod common;

use llmspell_sessions_client::chunking::{gear_table, Chunker, ALGORITHM, GEAR_TABLE};
use serde_json::Value as Json;

fn vectors(name: &str) -> Json {
    let path = common::repo_root().join("tests/vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_gear_table_matches_the_published_one() {
    let doc = vectors("gear_table.json");
    assert_eq!(doc["id"], GEAR_TABLE);
    let published: Vec<u64> = doc["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| u64::from_str_radix(h.as_str().unwrap(), 16).unwrap())
        .collect();
    assert_eq!(published.len(), 256);
    assert_eq!(&published[..], &gear_table()[..]);
}

#[test]
fn cuts_masks_and_chunk_digests_match_every_golden_vector() {
    let doc = vectors("chunking.json");
    assert_eq!(doc["chunking"]["algorithm"], ALGORITHM);
    assert_eq!(doc["chunking"]["gear_table"], GEAR_TABLE);
    let list = doc["vectors"].as_array().unwrap();
    assert!(list.len() >= 5);
    for v in list {
        let name = v["name"].as_str().unwrap();
        let length = v["length"].as_u64().unwrap() as usize;
        let data = match v["input"].as_str().unwrap() {
            "zeros" => vec![0u8; length],
            "blake3-xof" => {
                let mut out = vec![0u8; length];
                let mut hasher = blake3::Hasher::new();
                hasher.update(v["seed"].as_str().unwrap().as_bytes());
                hasher.finalize_xof().fill(&mut out);
                out
            }
            other => panic!("{name}: unknown input {other}"),
        };
        assert_eq!(blake3::hash(&data).to_hex().as_str(), v["content_blake3"], "{name}: input");
        let size = |k: &str| v[k].as_u64().unwrap() as usize;
        let chunker = Chunker::new(size("min_size"), size("avg_size"), size("max_size")).unwrap();
        let (mask_s, mask_l) = chunker.masks();
        assert_eq!(format!("{mask_s:016x}"), v["mask_s"], "{name}: mask_s");
        assert_eq!(format!("{mask_l:016x}"), v["mask_l"], "{name}: mask_l");
        let cuts = chunker.cuts(&data, true);
        let expected: Vec<usize> = v["cuts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as usize).collect();
        assert_eq!(cuts, expected, "{name}: cuts");
        let mut start = 0;
        let digests: Vec<String> = cuts
            .iter()
            .map(|&end| {
                let d = blake3::hash(&data[start..end]).to_hex().to_string();
                start = end;
                d
            })
            .collect();
        let want: Vec<String> =
            v["chunk_blake3"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
        assert_eq!(digests, want, "{name}: chunk digests");
    }
}
