//! Arbitrary bytes as a Prometheus XOR chunk: decoding must end in samples or an error,
//! never a panic; the fast whole-chunk decoder must agree with the checked iterator; and
//! whatever decodes must re-encode to bytes that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::xor;

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fuzz_target!(|data: &[u8]| {
    let checked: Result<Vec<_>, _> = xor::XorIter::new(data).and_then(|it| it.collect());
    let mut fast = Vec::new();
    let fast_result = xor::decode_chunk_into(data, &mut fast);
    assert_eq!(checked.is_ok(), fast_result.is_ok());
    let Ok(samples) = checked else {
        assert!(fast.is_empty());
        return;
    };
    assert_eq!(bits(&samples), bits(&fast));
    let (again, _) = xor::encode_chunk(samples.iter().copied()).expect("decoded samples fit a chunk");
    let back: Vec<_> = xor::XorIter::new(&again).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(bits(&samples), bits(&back));
});
