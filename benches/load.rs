//! Start-up cost: compiling every built-in provider spec and parsing the
//! whole pricing catalog (aim: under 50 ms together).

// A benchmark: unwrap, expect and panic are how a test fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use criterion::{Criterion, criterion_group, criterion_main};
use switchboard::{Catalog, Registry};

fn load(c: &mut Criterion) {
    let catalog = Catalog::parse_builtin().expect("catalog parses");
    let registry = Registry::builtin().expect("specs compile");
    eprintln!(
        "{} provider specs, {} priced models",
        registry.specs().len(),
        catalog.priced_count()
    );
    c.bench_function("load/specs", |b| {
        b.iter(|| Registry::builtin().expect("specs"))
    });
    c.bench_function("load/catalog", |b| {
        b.iter(|| Catalog::parse_builtin().expect("catalog"))
    });
    c.bench_function("load/specs_and_catalog", |b| {
        b.iter(|| {
            (
                Registry::builtin().expect("specs"),
                Catalog::parse_builtin().expect("catalog"),
            )
        })
    });
}

criterion_group!(benches, load);
criterion_main!(benches);
