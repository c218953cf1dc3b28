//! Request parameters as Prometheus' API takes them: from the URL's query string and, for
//! POST, from an `application/x-www-form-urlencoded` body; repeated names (`match[]`) kept
//! in order. Times are Unix seconds (with a fraction, rounded to milliseconds) or RFC 3339;
//! durations are seconds or Prometheus durations (`1m30s`).

use crate::api_error::ApiError;

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    /// The tenant the request is for (`tenancy`; `None`: the whole store).
    tenant: Option<strata_tenant::TenantId>,
}

impl Params {
    /// The pairs of a query string and a form body (either may be empty).
    /// These parameters, for `tenant`.
    pub(crate) fn for_tenant(mut self, tenant: Option<strata_tenant::TenantId>) -> Params {
        self.tenant = tenant;
        self
    }

    /// The tenant the request is for.
    pub(crate) fn tenant(&self) -> Option<&strata_tenant::TenantId> {
        self.tenant.as_ref()
    }

    /// The parameters of a query string and a form body; a name or value that is not UTF-8
    /// once decoded has its bad bytes replaced (see [`Params::parse_checked`]).
    pub(crate) fn parse(query: Option<&str>, form: &[u8]) -> Params {
        let pairs = raw_pairs(query, form)
            .map(|(name, value)| {
                (String::from_utf8_lossy(&name).into_owned(), String::from_utf8_lossy(&value).into_owned())
            })
            .collect();
        Params { pairs, tenant: None }
    }

    /// As [`Params::parse`], but a parameter that is not UTF-8 once decoded is an error
    /// naming it and the byte where its UTF-8 breaks.
    pub(crate) fn parse_checked(query: Option<&str>, form: &[u8]) -> Result<Params, ApiError> {
        let mut pairs = Vec::new();
        for (name, value) in raw_pairs(query, form) {
            let name = String::from_utf8(name).map_err(|e| {
                ApiError::bad_data(format!(
                    "a parameter name is not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to() + 1
                ))
            })?;
            let value = String::from_utf8(value).map_err(|e| {
                ApiError::bad_param(
                    &name,
                    format!("not valid UTF-8 (byte {} of the value)", e.utf8_error().valid_up_to() + 1),
                )
            })?;
            pairs.push((name, value));
        }
        Ok(Params { pairs, tenant: None })
    }

    /// The first value of `name`, if given and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    /// `name` as a time in ms; `default` when absent.
    pub(crate) fn time(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => parse_time(text).map_err(|e| ApiError::bad_param(name, e)),
        }
    }

    /// `name` as a time in ms; missing is an error, as an unparsable value is.
    pub(crate) fn required_time(&self, name: &str) -> Result<i64, ApiError> {
        parse_time(self.get(name).unwrap_or("")).map_err(|e| ApiError::bad_param(name, e))
    }

    /// `name` as a duration in ms, if given.
    pub(crate) fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name).map(|text| parse_duration(text).map_err(|e| ApiError::bad_param(name, e))).transpose()
    }

    /// `name` as a non-negative integer (`0` when absent).
    pub(crate) fn limit(&self, name: &str) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(0),
            Some(text) => text.parse().map_err(|_| {
                ApiError::bad_param(name, format!("cannot parse {text:?} as a non-negative integer"))
            }),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Every `name=value` pair of a query string then a form body, percent-decoded to bytes.
fn raw_pairs<'a>(query: Option<&'a str>, form: &'a [u8]) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + 'a {
    [query.unwrap_or("").as_bytes(), form].into_iter().flat_map(|text| {
        text.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|part| {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            (percent_decode_bytes(name), percent_decode_bytes(value))
        })
    })
}

/// `+` is a space, `%XX` a byte.
fn percent_decode_bytes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => match (text.get(i + 1).copied().and_then(hex), text.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The earliest and latest times the API accepts (Prometheus' `MinTime`/`MaxTime` in ms).
pub(crate) const MIN_TIME: i64 = i64::MIN / 2;
/// See [`MIN_TIME`].
pub(crate) const MAX_TIME: i64 = i64::MAX / 2;

/// Unix seconds (`1703001800`, `1703001800.123`) or RFC 3339, to ms.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {text:?} to a valid timestamp");
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return Err(invalid());
        }
        let ms = (seconds * 1000.0).round();
        return if (MIN_TIME as f64..=MAX_TIME as f64).contains(&ms) {
            Ok(ms as i64)
        } else {
            Err(invalid())
        };
    }
    // What Prometheus prints for its own min and max times (Grafana sends them back).
    match text {
        "-292273086-05-16T16:47:06Z" => return Ok(MIN_TIME),
        "292277025-08-18T07:12:54.999999999Z" => return Ok(MAX_TIME),
        _ => {}
    }
    parse_rfc3339(text).ok_or_else(invalid)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` to ms.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = text.get(from..to)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
        }
    };
    let days = strata_model::calendar::days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Seconds (`15`, `0.5`) or a Prometheus duration (`1h30m`, `15s`, `100ms`) to ms.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {text:?} to a valid duration");
    if let Ok(seconds) = text.parse::<f64>() {
        let ms = (seconds * 1000.0).round();
        return if ms.is_finite() && ms.abs() < 9e15 { Ok(ms as i64) } else { Err(invalid()) };
    }
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(invalid)?;
        rest = &rest[unit.len()..];
        let factor = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => 365 * 86_400_000,
        };
        total = n.checked_mul(factor).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_that_is_not_utf8_is_named_with_its_byte() {
        let e = Params::parse_checked(Some("time=1&query=up%FF"), b"").unwrap_err();
        assert!(e.message.contains("\"query\"") && e.message.contains("byte 3"), "{}", e.message);
        assert!(Params::parse_checked(Some("query=%E2%9C%93"), b"").is_ok());
        let e = Params::parse_checked(None, b"%C3=1").unwrap_err();
        assert!(e.message.contains("parameter name"), "{}", e.message);
    }

    fn percent_decode(text: &[u8]) -> String {
        String::from_utf8_lossy(&percent_decode_bytes(text)).into_owned()
    }
    use proptest::prelude::*;

    #[test]
    fn times_in_seconds_and_rfc3339() {
        assert_eq!(parse_time("1703001800"), Ok(1_703_001_800_000));
        assert_eq!(parse_time("1703001800.123"), Ok(1_703_001_800_123));
        assert_eq!(parse_time("2023-12-19T16:03:20Z"), Ok(1_703_001_800_000));
        assert_eq!(parse_time("2023-12-19T17:03:20.5+01:00"), Ok(1_703_001_800_500));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert!(parse_time("yesterday").unwrap_err().contains("cannot parse \"yesterday\""));
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("100ms"), Ok(100));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn query_and_form_pairs_are_decoded_in_order() {
        let p =
            Params::parse(Some("match%5B%5D=up&match[]=a%7Bb%3D%22c%22%7D&x="), b"query=rate(x[5m])+%2B+1");
        assert_eq!(p.all("match[]"), vec!["up", "a{b=\"c\"}"]);
        assert_eq!(p.get("query"), Some("rate(x[5m]) + 1"));
        assert_eq!(p.get("x"), None);
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%4"), "%4");
    }

    proptest! {
        /// RFC 3339 in UTC agrees with the seconds form for any time from 1970 to 2200.
        #[test]
        fn rfc3339_agrees_with_seconds(secs in 0i64..7_258_118_400) {
            let (days, rem) = (secs / 86_400, secs % 86_400);
            let (y, m, d) = strata_model::calendar::civil_from_days(days);
            let text = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
            prop_assert_eq!(parse_time(&text), Ok(secs * 1000));
        }

        /// Arbitrary text never panics.
        #[test]
        fn junk_never_panics(text in ".{0,40}") {
            let _ = parse_time(&text);
            let _ = parse_duration(&text);
            let _ = percent_decode(text.as_bytes());
        }
    }
}
