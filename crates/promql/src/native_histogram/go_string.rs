//! A histogram as Prometheus' `FloatHistogram.String()` writes it, which is what
//! `count_values` puts in its label for a histogram sample:
//! `{count:20, sum:10, [-2,-1):2, [-0.001,0.001]:2, (0.5,1]:1}` — the count and sum, then
//! every non-empty bucket from the most negative (negative buckets closed below, positive
//! and custom ones closed above, the zero bucket closed both ways), numbers as Go's `%g`.

use strata_model::gofmt::format_g;
use strata_model::histogram::FloatHistogram;

use super::buckets::all_buckets;

/// `h` in Prometheus' `String()` form.
pub(crate) fn go_string(h: &FloatHistogram) -> String {
    let mut out = format!("{{count:{}, sum:{}", format_g(h.count), format_g(h.sum));
    for b in all_buckets(h).into_iter().filter(|b| b.count != 0.0) {
        let (open, close) = if b.zero {
            ('[', ']')
        } else if b.upper <= 0.0
            && b.lower < 0.0
            && h.schema != strata_model::histogram::CUSTOM_BUCKETS_SCHEMA
        {
            ('[', ')')
        } else {
            ('(', ']')
        };
        out.push_str(&format!(
            ", {open}{},{}{close}:{}",
            format_g(b.lower),
            format_g(b.upper),
            format_g(b.count)
        ));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native_histogram::parse_histogram;

    #[test]
    fn buckets_print_from_the_most_negative_with_their_closed_ends() {
        let h = parse_histogram(
            "{{schema:0 sum:10 count:20 z_bucket_w:0.001 z_bucket:2 buckets:[1 2] n_buckets:[1 2]}}",
        )
        .unwrap();
        assert_eq!(
            go_string(&h),
            "{count:20, sum:10, [-2,-1):2, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:2}"
        );
        let custom = parse_histogram("{{schema:-53 sum:3 count:3 custom_values:[5] buckets:[1 2]}}").unwrap();
        assert_eq!(go_string(&custom), "{count:3, sum:3, (-Inf,5]:1, (5,+Inf]:2}");
    }
}
