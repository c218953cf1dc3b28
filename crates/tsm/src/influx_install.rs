//! A whole InfluxDB 1.x install read as Strata series: what `strata import --from-influxdb`
//! brings over.
//!
//! An install keeps `data/<database>/<retention policy>/<shard id>/*.tsm` (with tombstones)
//! and `wal/<database>/<retention policy>/<shard id>/_NNNNN.wal`. A shard is read whole:
//! its TSM files oldest first (tombstones applied), then its WAL segments in order — writes
//! added, deletes applied to everything read so far — and of points with one timestamp the
//! last kept, as influxd would answer. Series are named by decision 2 (`cpu` + `usage_idle`
//! → `cpu_usage_idle`) and gain the labels `db` and `rp` (a tag of that name wins); integer,
//! unsigned and boolean fields become floats; string fields are counted and left out;
//! timestamps become milliseconds. Memory holds one shard at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use strata_model::Labels;

use crate::block::BlockType;
use crate::cache::sort_last_wins;
use crate::error::{Result, TsmError};
use crate::file_set;
use crate::key::labels_of;
use crate::wal::{self, Entry};

/// One shard of an install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub database: String,
    pub retention_policy: String,
    pub id: String,
    pub data_dir: PathBuf,
    pub wal_dir: PathBuf,
    /// Bytes of its TSM files and WAL segments (for progress).
    pub bytes: u64,
}

/// What a shard holds, as Strata series.
#[derive(Debug, Default)]
pub struct ShardPoints {
    /// Series with their points (ms, sorted, each timestamp once).
    pub series: Vec<(Labels, Vec<(i64, f64)>)>,
    /// String field values left out.
    pub strings_skipped: u64,
    /// Keys that do not name a series (why, per key), left out.
    pub bad_keys: Vec<String>,
    /// Where WAL replay stopped early (a torn tail), if it did.
    pub wal_damage: Option<String>,
}

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TsmError::io(dir, e)),
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| Some((p.file_name()?.to_str()?.to_string(), p)))
        .collect();
    out.sort();
    Ok(out)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// The shards of the install at `root` (the dir holding `data/` and `wal/`), by database,
/// retention policy and id. `_internal` (influxd's own monitoring) is left out unless
/// `internal`.
pub fn shards(root: &Path, internal: bool) -> Result<Vec<Shard>> {
    let data = root.join("data");
    if !data.is_dir() {
        return Err(TsmError::io(
            &data,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no data/ dir: not an InfluxDB 1.x install"),
        ));
    }
    let mut out = Vec::new();
    for (database, db_dir) in subdirs(&data)? {
        if database == "_internal" && !internal {
            continue;
        }
        for (retention_policy, rp_dir) in subdirs(&db_dir)? {
            if retention_policy == "_series" {
                continue; // the database's series file (tsi), not a retention policy
            }
            for (id, data_dir) in subdirs(&rp_dir)? {
                let wal_dir = root.join("wal").join(&database).join(&retention_policy).join(&id);
                let bytes = dir_bytes(&data_dir) + dir_bytes(&wal_dir);
                out.push(Shard {
                    database: database.clone(),
                    retention_policy: retention_policy.clone(),
                    id,
                    data_dir,
                    wal_dir,
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

/// Reads one shard (see the module docs). A damaged TSM file is an error naming it.
pub fn read_shard(shard: &Shard) -> Result<ShardPoints> {
    let mut out = ShardPoints::default();
    let mut by_key: HashMap<Vec<u8>, Vec<(i64, f64)>> = HashMap::new();
    let (files, skipped) = file_set::open_dir(&shard.data_dir)?;
    if let Some((path, why)) = skipped.into_iter().next() {
        return Err(TsmError::Corrupt { path, offset: 0, detail: why });
    }
    for file in &files {
        for i in 0..file.reader.key_count() {
            let (ts, values) = file.key_values(i)?;
            if file.reader.block_type(i) == BlockType::String {
                out.strings_skipped += ts.len() as u64;
                continue;
            }
            let Some(values) = values.into_floats() else { continue };
            by_key.entry(file.reader.key(i).to_vec()).or_default().extend(ts.into_iter().zip(values));
        }
    }
    for (_, path) in wal::segments(&shard.wal_dir)? {
        let read = wal::read_segment(&path)?;
        for entry in read.entries {
            apply(&mut by_key, &mut out, entry);
        }
        if let Some(damage) = read.damage {
            out.wal_damage = Some(damage.to_string());
        }
    }
    for (key, mut points) in by_key {
        let labels = match labels_of(&key) {
            Ok(l) => with_db_rp(&l, &shard.database, &shard.retention_policy),
            Err(why) => {
                out.bad_keys.push(format!("{}: {why}", String::from_utf8_lossy(&key)));
                continue;
            }
        };
        sort_last_wins(&mut points);
        for p in &mut points {
            p.0 = p.0.div_euclid(1_000_000);
        }
        sort_last_wins(&mut points);
        if !points.is_empty() {
            out.series.push((labels, points));
        }
    }
    out.series.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn apply(by_key: &mut HashMap<Vec<u8>, Vec<(i64, f64)>>, out: &mut ShardPoints, entry: Entry) {
    match entry {
        Entry::Write(points) => {
            for kp in points {
                let n = kp.timestamps.len() as u64;
                match kp.values.into_floats() {
                    Some(values) => {
                        by_key.entry(kp.key).or_default().extend(kp.timestamps.into_iter().zip(values))
                    }
                    None => out.strings_skipped += n,
                }
            }
        }
        Entry::Delete(keys) => delete(by_key, &keys, i64::MIN, i64::MAX),
        Entry::DeleteRange { keys, min_time, max_time } => delete(by_key, &keys, min_time, max_time),
    }
}

/// Deletes `[mint, maxt]` of `keys`; a key without a field (a series) deletes every field.
fn delete(by_key: &mut HashMap<Vec<u8>, Vec<(i64, f64)>>, keys: &[Vec<u8>], mint: i64, maxt: i64) {
    for (key, points) in by_key.iter_mut() {
        let hit = keys.iter().any(|k| {
            key == k || (key.starts_with(k) && key[k.len()..].starts_with(crate::key::FIELD_SEPARATOR))
        });
        if hit {
            points.retain(|p| !(mint..=maxt).contains(&p.0));
        }
    }
}

/// `labels` with `db` and `rp` added (a tag already named so is kept).
fn with_db_rp(labels: &Labels, db: &str, rp: &str) -> Labels {
    let mut pairs: Vec<(String, String)> = labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
    for (name, value) in [("db", db), ("rp", rp)] {
        if labels.get(name).is_none() {
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    Labels::from_pairs(pairs).unwrap_or_else(|_| labels.clone())
}
