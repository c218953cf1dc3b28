//! Every query of InfluxDB 1.6's own HTTP tests (../shared/conformance/influxql) that parses
//! has each SELECT printed exactly and parsed back to the same statement — what continuous
//! queries rely on, since the scheduler runs the text the catalog keeps. The corpus' path
//! comes from STRATA_INFLUXQL_CONFORMANCE (set by .ci/run); without it: SKIPPED.

use strata_influxql::ast::{Source, Statement};
use strata_influxql::print::{self, Numbers};

#[test]
fn every_corpus_select_prints_and_parses_back() {
    let Some(dir) = std::env::var_os("STRATA_INFLUXQL_CONFORMANCE") else {
        eprintln!("SKIPPED: STRATA_INFLUXQL_CONFORMANCE is not set; the corpus' queries were not printed");
        return;
    };
    let path = std::path::Path::new(&dir).join("cases.json");
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut checked = 0;
    for group in cases["groups"].as_array().unwrap() {
        for step in group["steps"].as_array().unwrap() {
            let Some(command) = step["command"].as_str() else { continue };
            let Ok(statements) = strata_influxql::parse_query(command, &Default::default()) else { continue };
            for statement in statements {
                let select = match statement {
                    Statement::Select(s) => *s,
                    Statement::CreateContinuousQuery(cq) => cq.select,
                    _ => continue,
                };
                let mut selects = vec![select];
                while let Some(select) = selects.pop() {
                    let text = print::select(&select, Numbers::Exact);
                    let again = strata_influxql::parse_query(&text, &Default::default())
                        .unwrap_or_else(|e| panic!("{command}\n  printed {text}\n  does not parse: {e}"));
                    assert_eq!(
                        again,
                        vec![Statement::Select(Box::new(select.clone()))],
                        "{command}\n  printed {text}"
                    );
                    checked += 1;
                    for source in &select.sources {
                        if let Source::Subquery(inner) = source {
                            selects.push((**inner).clone());
                        }
                    }
                }
            }
        }
    }
    eprintln!("{checked} SELECTs printed and parsed back");
    assert!(checked > 300, "only {checked} SELECTs found in the corpus");
}
