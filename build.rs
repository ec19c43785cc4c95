//! Embeds every `providers/*.toml` in the binary, so built-in specs need no files at run time.

use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=providers");
    let mut files: Vec<String> = fs::read_dir("providers")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let root = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut out = String::from("pub(crate) const BUILTIN: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed=providers/{f}");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("providers/{f}"),
            format!("{root}/providers/{f}")
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("builtin_specs.rs");
    if let Err(e) = fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
