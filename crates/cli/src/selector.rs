//! Series selectors as people type them on the command line: `metric`,
//! `metric{tag=value,...}` or `{tag=value,...}`, each test with `=`, `!=`, `=~` or `!~`
//! (PromQL's meaning), values bare or double-quoted (`\"`, `\\`, `\n` escapes).
//! Used by `strata mem` and `strata tsdb dump --match`.

use strata_model::{MatchOp, Matcher, METRIC_NAME_LABEL};

/// Parses `metric{tag=value,...}` into matchers.
pub(crate) fn parse_selector(text: &str) -> Result<Vec<Matcher>, String> {
    let (metric, body) = match text.find('{') {
        Some(open) => {
            let body = text[open + 1..]
                .strip_suffix('}')
                .ok_or_else(|| format!("selector {text:?} has '{{' without a closing '}}' at its end"))?;
            (text[..open].trim(), body)
        }
        None => (text.trim(), ""),
    };
    if metric.contains(char::is_whitespace) {
        return Err(format!("metric name {metric:?} contains a space"));
    }
    let mut matchers = Vec::new();
    if !metric.is_empty() {
        matchers.push(Matcher::equal(METRIC_NAME_LABEL, metric));
    }
    for item in split_outside_quotes(body)? {
        matchers.push(parse_tag_test(&item)?);
    }
    if matchers.is_empty() {
        return Err("empty selector: name a metric or at least one tag".into());
    }
    Ok(matchers)
}

fn parse_tag_test(item: &str) -> Result<Matcher, String> {
    let at =
        item.find(['=', '!']).ok_or_else(|| format!("tag test {item:?} has no operator (= != =~ !~)"))?;
    let name = item[..at].trim();
    let after = &item[at..];
    let (op, value) = [
        ("=~", MatchOp::RegexMatch),
        ("!~", MatchOp::RegexNoMatch),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(sym, op)| after.strip_prefix(sym).map(|v| (op, v)))
    .ok_or_else(|| format!("tag test {item:?} has no operator (= != =~ !~)"))?;
    if name.is_empty() {
        return Err(format!("tag test {item:?} has no tag name"));
    }
    Matcher::new(op, name, unquote(value.trim())?).map_err(|e| e.to_string())
}

fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"') else { return Ok(value.to_string()) };
    let inner = inner.strip_suffix('"').ok_or_else(|| format!("unterminated quoted value {value}"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(e) => out.push(e),
                None => return Err(format!("dangling backslash in {value}")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Splits on commas that are not inside double quotes; empty items are dropped.
fn split_outside_quotes(body: &str) -> Result<Vec<String>, String> {
    let (mut items, mut current, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in body.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if quoted {
        return Err(format!("unterminated quote in {{{body}}}"));
    }
    items.push(current);
    Ok(items.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}
