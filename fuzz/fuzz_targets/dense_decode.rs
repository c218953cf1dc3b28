//! Arbitrary bytes as a dense (cold) column, stored or zstd-framed: decoding must end in
//! values or an error, never a panic or an unbounded allocation; whatever decodes must
//! re-encode to a column that decodes to the same bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::dense;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = dense::decode_values(data) {
        let again = dense::encode_values(&values).expect("decoded values fit a column");
        let back = dense::decode_values(&again).expect("a fresh column decodes");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&values), bits(&back));
    }
    if let Ok(ts) = dense::decode_timestamps(data) {
        let again = dense::encode_timestamps(&ts).expect("decoded timestamps fit a column");
        assert_eq!(dense::decode_timestamps(&again).expect("a fresh column decodes"), ts);
    }
});
