//! Arbitrary text as an InfluxQL query: statements or a parse error naming a line and
//! character, never a panic; every SELECT parsed prints (exactly) as text that parses back
//! to the same statement, and prints in InfluxDB's form without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_influxql::ast::Statement;
use strata_influxql::print::{self, Numbers};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let statements = match strata_influxql::parse_query(text, &Default::default()) {
        Ok(statements) => statements,
        Err(e) => {
            assert!(e.to_string().contains(" at line "), "{e}");
            return;
        }
    };
    for statement in statements {
        let Statement::Select(select) = statement else { continue };
        let _ = print::select(&select, Numbers::Influx);
        let exact = print::select(&select, Numbers::Exact);
        let again = strata_influxql::parse_query(&exact, &Default::default())
            .unwrap_or_else(|e| panic!("{exact:?} does not parse back: {e}"));
        assert_eq!(again, vec![Statement::Select(select)], "{exact:?}");
    }
});
