//! Arbitrary text as a PromQL query through Strata's parser: a tree or an error naming a
//! position inside the text, never a panic; a tree prints as text that parses again to a
//! tree printing the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    match strata_promql_syntax::parse(query) {
        Ok(tree) => {
            let printed = tree.to_string();
            let again = strata_promql_syntax::parse(&printed)
                .unwrap_or_else(|e| panic!("{query:?} printed as {printed:?}, which does not parse: {e}"));
            assert_eq!(again.to_string(), printed, "{query:?}");
        }
        Err(e) => assert!(e.start <= query.len(), "{query:?}: error at {} past the end", e.start),
    }
});
