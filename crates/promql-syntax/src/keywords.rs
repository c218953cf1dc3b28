//! PromQL's reserved words, as the parser recognises them (any case).

/// Aggregation operators (`limitk` and `limit_ratio` are Prometheus' experimental ones).
pub const AGGREGATORS: [&str; 14] = [
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Words that are keywords somewhere in the grammar (besides the aggregators).
const KEYWORDS: [&str; 19] = [
    "and",
    "or",
    "unless",
    "atan2",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "start",
    "end",
    "anchored",
    "smoothed",
    "fill",
    "fill_left",
    "fill_right",
];

/// Whether `word` is a keyword or an aggregator, in any case.
pub fn is_keyword(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    KEYWORDS.contains(&lower.as_str()) || AGGREGATORS.contains(&lower.as_str())
}

/// Whether `word` is an aggregation operator, in any case.
pub fn is_aggregator(word: &str) -> bool {
    AGGREGATORS.contains(&word.to_ascii_lowercase().as_str())
}
