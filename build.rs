//! Embeds every `providers/*.toml`, `pricing/*.toml` and `ingress/*.toml`
//! in the binary, so built-in specs, prices and front doors need no files
//! at run time.

use std::{env, fs, path::Path};

fn main() {
    embed("providers", "BUILTIN", "builtin_specs.rs");
    embed("pricing", "BUILTIN_PRICING", "builtin_pricing.rs");
    embed("ingress", "BUILTIN_INGRESS", "builtin_ingress.rs");
}

/// Writes `OUT_DIR/<out>`: a `const <name>: &[(&str, &str)]` of every `<dir>/*.toml`.
fn embed(dir: &str, name: &str, out_file: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let mut files: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let root = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut out = format!("pub(crate) const {name}: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={dir}/{f}");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("{dir}/{f}"),
            format!("{root}/{dir}/{f}")
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join(out_file);
    if let Err(e) = fs::write(&dest, out) {
        // A build script fails by saying why and exiting non-zero.
        eprintln!("cannot write {}: {e}", dest.display());
        std::process::exit(1);
    }
}
