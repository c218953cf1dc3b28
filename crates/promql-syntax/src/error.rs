//! A query that does not parse: what was wrong and where, printed as Prometheus prints it
//! (`1:7: parse error: unexpected end of input`; line and byte column, both from 1).

/// A parse or type error, with the byte span it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong, in Prometheus' words.
    pub message: String,
    /// First byte the error is about.
    pub start: usize,
    /// Byte after the last one it is about.
    pub end: usize,
    /// Line (from 1) of `start`.
    pub line: usize,
    /// Byte column (from 1) of `start` within its line.
    pub column: usize,
}

impl ParseError {
    /// An error about `input[start..end]`.
    pub fn at(input: &str, start: usize, end: usize, message: String) -> ParseError {
        let start = start.min(input.len());
        let before = &input.as_bytes()[..start];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        ParseError { message, start, end: end.max(start), line, column: start - line_start + 1 }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: parse error: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_bytes_from_one() {
        assert_eq!(ParseError::at("abc", 2, 3, "x".into()).to_string(), "1:3: parse error: x");
        assert_eq!(ParseError::at("a\nbc", 3, 4, "x".into()).to_string(), "2:2: parse error: x");
    }
}
