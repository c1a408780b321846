//! Replays the fuzz targets' seeds and every input a fuzzer once failed on
//! (`fuzz/seeds/TARGET/`, `fuzz/regressions/TARGET/`) through the same entry points the fuzz
//! targets call (`scanwatch::fuzzing`), on the stable toolchain, in every `cargo test`.

use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn every_seed_and_past_failure_passes_its_target() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, entry) in scanwatch::fuzzing::TARGETS {
        let seeds = files_in(&fuzz_dir().join("seeds").join(name));
        assert!(!seeds.is_empty(), "fuzz/seeds/{name} has no seeds");
        let regressions = files_in(&fuzz_dir().join("regressions").join(name));
        for file in seeds.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            replayed += 1;
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "failing inputs: {failures:#?}");
    assert!(replayed > scanwatch::fuzzing::TARGETS.len());
}

#[test]
fn every_entry_point_has_a_fuzz_target() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in scanwatch::fuzzing::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no target {name}"
        );
        let source =
            std::fs::read_to_string(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")))
                .unwrap();
        assert!(
            source.contains(&format!("scanwatch::fuzzing::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call scanwatch::fuzzing::{name}"
        );
    }
}
