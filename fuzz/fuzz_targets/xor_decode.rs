//! Arbitrary bytes as a Prometheus XOR chunk: decoding must end in samples or an error,
//! never a panic; and whatever decodes must re-encode to bytes that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::xor;

fuzz_target!(|data: &[u8]| {
    let Ok(iter) = xor::XorIter::new(data) else { return };
    let Ok(samples) = iter.collect::<Result<Vec<_>, _>>() else { return };
    let (again, _) = xor::encode_chunk(samples.iter().copied()).expect("decoded samples fit a chunk");
    let back: Vec<_> = xor::XorIter::new(&again).unwrap().collect::<Result<_, _>>().unwrap();
    let bits = |s: &[(i64, f64)]| s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
    assert_eq!(bits(&samples), bits(&back));
});
