//! The `tombstones` file: `BE32` magic `0x0130BA30`, version `1`, entries, `BE32` CRC-32C of
//! the entries. Blocks are written without deletions for now, so this is always the 9-byte
//! empty file (deletion comes with the block engine's second part).

const MAGIC: u32 = 0x0130_BA30;

/// The bytes of a tombstones file with no entries.
pub(crate) fn empty_file() -> Vec<u8> {
    let mut out = MAGIC.to_be_bytes().to_vec();
    out.push(1);
    out.extend_from_slice(&crc32c::crc32c(&[]).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_file_is_the_nine_bytes_prometheus_writes() {
        assert_eq!(super::empty_file(), [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]);
    }
}
