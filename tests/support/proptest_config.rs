//! The proptest configuration every parser's property tests share (included with `#[path]` by
//! crates/logs, providers/nginx and crates/audit): a bounded number of cases and a visible,
//! replayable seed; failing inputs kept next to the including test file.

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// A bounded config with a visible seed: `PROPTEST_RNG_SEED` if set, else one from the clock.
pub fn config(cases: u32) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(cases);
    eprintln!("proptest: {cases} cases, seed {seed} (replay with PROPTEST_RNG_SEED={seed})");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        // next to this file (the default looks for a lib.rs, which a tests/ file has not)
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/prop.proptest-regressions"
        )))),
        ..Config::default()
    }
}
