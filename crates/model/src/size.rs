//! Byte sizes as people write them: `16MiB`, `128MB`, `50GB`, `1TiB`, `4096`. Binary units
//! (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (KB, MB, GB, TB) powers of 1000.
//! And the reverse for reports: [`format_bytes`] (`1.5 MiB`), [`format_count`] (`1,234,567`).

/// Bytes in the largest binary unit that keeps the number at least 1 (`512.0 B`, `1.5 MiB`).
pub fn format_bytes(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < units.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", units[unit])
}

/// A count with its thousands separated by commas (`1,234,567`).
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses a size in bytes; the error names the text and what was wrong with it.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("invalid size {text:?}: expected a number, e.g. 16MiB"));
    }
    let n: u64 = text[..digits].parse().map_err(|_| format!("size {text:?} is too large"))?;
    let unit: u64 = match text[digits..].trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" | "T" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {other:?} (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ))
        }
    };
    n.checked_mul(unit).ok_or_else(|| format!("size {text:?} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("128MB").unwrap(), 128_000_000);
        assert_eq!(parse_size("50GB").unwrap(), 50_000_000_000);
        assert_eq!(parse_size("1TiB").unwrap(), 1 << 40);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "MiB", "12XB", "99999999999999999999GiB", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
