//! Byte sizes as people write them: `16MiB`, `128MB`, `32KiB`, `1GiB`, `4096`.

use anyhow::{bail, Context};

/// Parses a size in bytes (binary units KiB/MiB/GiB, decimal KB/MB/GB, or none).
pub(crate) fn parse_size(text: &str) -> anyhow::Result<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        bail!("invalid size {text:?}: expected a number, e.g. 16MiB");
    }
    let n: u64 = text[..digits].parse().with_context(|| format!("size {text:?} is too large"))?;
    let unit: u64 = match text[digits..].trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => bail!("invalid size {text:?}: unknown unit {other:?} (B, KiB, MiB, GiB, KB, MB, GB)"),
    };
    n.checked_mul(unit).with_context(|| format!("size {text:?} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("128MB").unwrap(), 128_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "MiB", "12XB", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
