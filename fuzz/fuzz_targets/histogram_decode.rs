//! Arbitrary bytes as Prometheus integer and float histogram chunks (block encodings 2
//! and 3): decoding must end in samples or an error, never a panic or a huge allocation.
//! Whatever decodes as valid histograms must append to a fresh chunk and decode again to
//! the same counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::histogram::{
    Appended, CounterResetHeader, FloatHistogramChunkEncoder, FloatHistogramChunkIter, HistogramChunkEncoder,
    HistogramChunkIter,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(iter) = HistogramChunkIter::new(data) {
        let mut enc = HistogramChunkEncoder::new(CounterResetHeader::Unknown);
        for (t, h) in iter.map_while(Result::ok) {
            if h.validate().is_err() || h.is_stale() {
                break;
            }
            match enc.append(t, &h) {
                Ok(Appended::Cut(_)) | Err(_) => break,
                Ok(_) => {
                    let back = HistogramChunkIter::new(&enc.to_bytes()).unwrap().last().unwrap().unwrap();
                    assert_eq!((back.0, back.1.count, back.1.zero_count), (t, h.count, h.zero_count));
                }
            }
        }
    }
    if let Ok(iter) = FloatHistogramChunkIter::new(data) {
        let mut enc = FloatHistogramChunkEncoder::new(CounterResetHeader::Unknown);
        for (t, h) in iter.map_while(Result::ok) {
            if h.validate().is_err() || h.is_stale() || h.count.is_nan() {
                break;
            }
            match enc.append(t, &h) {
                Ok(Appended::Cut(_)) | Err(_) => break,
                Ok(_) => {
                    let back = FloatHistogramChunkIter::new(&enc.to_bytes()).unwrap().last().unwrap().unwrap();
                    assert_eq!((back.0, back.1.count.to_bits()), (t, h.count.to_bits()));
                }
            }
        }
    }
});
