//! Continuous queries, kept per database as InfluxDB keeps them in its meta store: a name
//! and the statement's text. Each is stored twice over: as InfluxDB writes it (what SHOW
//! CONTINUOUS QUERIES shows; its float literals have three decimals) and exactly (what the
//! scheduler parses and runs), with the sources' databases and retention policies filled in
//! when it was created. DROP DATABASE drops its queries with it.

use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError};

/// A continuous query as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredQuery {
    pub name: String,
    /// `CREATE CONTINUOUS QUERY … END` as InfluxDB writes it.
    pub query: String,
    /// The SELECT, written exactly.
    pub select: String,
    /// `RESAMPLE EVERY`, ns (0: the GROUP BY interval).
    pub every: i64,
    /// `RESAMPLE FOR`, ns (0: the GROUP BY interval).
    pub for_: i64,
}

impl Catalog {
    /// Every database's continuous queries: `(database, queries)` in creation order.
    pub fn continuous_queries(&self) -> Vec<(String, Vec<StoredQuery>)> {
        let guard = self.read();
        guard.state.databases.iter().map(|d| (d.name.clone(), d.continuous_queries.clone())).collect()
    }

    /// Whether any database has a continuous query (cheap: the scheduler asks each second).
    pub fn has_continuous_queries(&self) -> bool {
        self.read().state.databases.iter().any(|d| !d.continuous_queries.is_empty())
    }

    /// CREATE CONTINUOUS QUERY: a no-op when the same query exists under the name; `Err`
    /// is the statement's error text.
    pub fn create_continuous_query(
        &self,
        database: &str,
        query: StoredQuery,
    ) -> Result<Result<(), String>, CatalogError> {
        self.change_database(database, |db| {
            match db.continuous_queries.iter().find(|q| q.name == query.name) {
                Some(existing) if existing.query == query.query => Ok(false),
                Some(_) => Err("continuous query already exists".into()),
                None => {
                    db.continuous_queries.push(query);
                    Ok(true)
                }
            }
        })
    }

    /// DROP CONTINUOUS QUERY; `Err` is the statement's error text.
    pub fn drop_continuous_query(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Result<(), String>, CatalogError> {
        self.change_database(database, |db| {
            let before = db.continuous_queries.len();
            db.continuous_queries.retain(|q| q.name != name);
            if db.continuous_queries.len() == before {
                return Err("continuous query not found".into());
            }
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, text: &str) -> StoredQuery {
        StoredQuery { name: name.into(), query: text.into(), select: text.into(), every: 0, for_: 0 }
    }

    #[test]
    fn queries_are_kept_per_database_and_go_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        assert_eq!(
            catalog.create_continuous_query("db0", query("cq", "a")).unwrap(),
            Err("database not found: db0".to_string())
        );
        catalog.create_database("db0", None).unwrap().unwrap();
        catalog.create_continuous_query("db0", query("cq", "a")).unwrap().unwrap();
        catalog.create_continuous_query("db0", query("cq", "a")).unwrap().unwrap();
        assert_eq!(
            catalog.create_continuous_query("db0", query("cq", "b")).unwrap(),
            Err("continuous query already exists".to_string())
        );
        catalog.create_continuous_query("db0", query("cq2", "b")).unwrap().unwrap();
        drop(catalog);
        let again = Catalog::open(dir.path()).unwrap();
        let names: Vec<String> = again.continuous_queries()[0].1.iter().map(|q| q.name.clone()).collect();
        assert_eq!(names, ["cq", "cq2"]);
        assert_eq!(again.drop_continuous_query("db0", "cq").unwrap(), Ok(()));
        assert_eq!(
            again.drop_continuous_query("db0", "cq").unwrap(),
            Err("continuous query not found".into())
        );
        again.drop_database("db0").unwrap();
        again.create_database("db0", None).unwrap().unwrap();
        assert!(again.continuous_queries()[0].1.is_empty(), "dropped with the database");
    }
}
