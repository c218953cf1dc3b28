//! Arbitrary bytes as a block directory — `meta.json`, `index` and `chunks/000001`, each
//! preceded in the input by its length (u32, little-endian; cut to what is left), then
//! `tombstones`, the rest — opened and read whole (every series, every chunk decoded): the
//! data or an error naming the file, never a panic. `scripts/fuzz_seeds.py` frames a real
//! block this way for the seed corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_storage::block::BlockReader;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut next = || {
        let (len, tail) = match rest.split_first_chunk::<4>() {
            Some((len, tail)) => (u32::from_le_bytes(*len) as usize, tail),
            None => (0, &[][..]),
        };
        let (part, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        part
    };
    let (meta, index, chunks) = (next(), next(), next());
    let tombstones = rest;
    let Ok(dir) = tempfile::tempdir() else { return };
    let block = dir.path();
    if std::fs::create_dir(block.join("chunks")).is_err() {
        return;
    }
    for (name, bytes) in [("meta.json", meta), ("index", index), ("chunks/000001", chunks), ("tombstones", tombstones)] {
        if std::fs::write(block.join(name), bytes).is_err() {
            return;
        }
    }
    let Ok(reader) = BlockReader::open(block) else { return };
    let Ok(refs) = reader.series_refs() else { return };
    let mut samples = Vec::new();
    for r in refs.into_iter().take(10_000) {
        let Ok((_labels, chunk_refs)) = reader.series(r) else { continue };
        for chunk in chunk_refs.iter().take(1_000) {
            samples.clear();
            let _ = reader.decode_chunk_into(chunk.chunk_ref, &mut samples);
        }
    }
});
