//! Embeds `dist/` (the UI as `npm run build` in web/ writes it, committed) into the crate:
//! a table of every file with its content type, its bytes and a gzip copy made here, so the
//! server answers `Accept-Encoding: gzip` without compressing at request time.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    collect(&dist, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for (i, file) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", file.display());
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let gzip_path = out.join(format!("asset-{i}.gz"));
        std::fs::write(&gzip_path, gzip(&bytes))
            .unwrap_or_else(|e| panic!("writing {}: {e}", gzip_path.display()));
        let name = file.strip_prefix(&dist).expect("under dist").to_string_lossy().replace('\\', "/");
        writeln!(
            table,
            "    Asset {{ path: {name:?}, content_type: {:?}, body: include_bytes!({:?}), gzip: include_bytes!({:?}) }},",
            content_type(&name),
            file.display().to_string(),
            gzip_path.display().to_string(),
        )
        .expect("writing to a String");
    }
    table.push(']');
    std::fs::write(out.join("assets.rs"), table).expect("writing assets.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}
