//! The code order the release link uses (`controller/hot-symbols.txt`, `controller/build.rs`) is a usable symbol list.

use std::collections::{BTreeSet, HashSet};
use std::process::Command;

const HOT_SYMBOLS: &str = include_str!("../hot-symbols.txt");
const BUILD_SCRIPT: &str = include_str!("../build.rs");
const MANIFEST: &str = include_str!("../Cargo.toml");

#[test]
fn the_hot_symbol_list_names_each_function_once_one_per_line_without_spaces() {
    let mut seen = HashSet::new();
    for (n, line) in HOT_SYMBOLS.lines().enumerate() {
        assert!(!line.is_empty() && !line.contains(char::is_whitespace), "line {}: {line:?} is no symbol name", n + 1);
        // callgrind's recursion marks ('2) and placeholders ("(below main)", "0x…") are not symbols LLD knows.
        assert!(!line.contains('\'') && !line.starts_with('(') && !line.starts_with("0x"), "line {}: {line:?}", n + 1);
        assert!(seen.insert(line), "line {}: {line} listed twice", n + 1);
    }
}

#[test]
fn the_hot_symbol_list_was_taken_from_the_controller_and_covers_its_reconcile_and_its_clients() {
    // A list taken from another object (valgrind's preload, libc) or from a run that never reconciled would name
    // none of these; each is a function the scale run must have executed.
    for needle in ["reprotect_controller", "reprotect_azure", "reprotect_vcenter", "reprotect_facts", "kube_runtime"] {
        let count = HOT_SYMBOLS.lines().filter(|l| l.contains(needle)).count();
        assert!(count >= 10, "hot-symbols.txt names {count} functions of {needle}; regenerate it (make hot-symbols)");
    }
    assert!(HOT_SYMBOLS.lines().any(|l| l == "main"), "the run's first function is missing");
}

#[test]
fn the_build_script_orders_the_binary_the_manifest_declares_by_the_list_in_this_crate() {
    assert!(MANIFEST.contains("name = \"reprotect-controller\""), "the binary's name changed; update build.rs");
    assert!(BUILD_SCRIPT.contains("let bin = \"reprotect-controller\""));
    assert!(BUILD_SCRIPT.contains("--symbol-ordering-file={dir}/hot-symbols.txt"));
}

/// `cargo tree`'s packages with their resolved features, for a build of `packages` on the image's target.
fn resolved_features(packages: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").ok().or(option_env!("CARGO").map(String::from)).unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["tree", "--locked", "--offline", "-e", "normal,build", "-f", "{p} {f}", "--prefix", "none"]);
    command.args(["--target", "x86_64-unknown-linux-gnu", "--manifest-path", concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")]);
    for package in packages {
        command.args(["-p", package]);
    }
    let out = command.output().unwrap_or_else(|e| panic!("cargo tree: {e}"));
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim_end_matches(" (*)").to_owned()).collect()
}

#[test]
fn the_image_build_resolves_each_dependency_with_the_features_the_bench_build_gives_it() {
    let image = resolved_features(&["reprotect-controller"]);
    let bench = resolved_features(&["reprotect-controller", "reprotect-e2e"]);
    assert!(image.iter().any(|l| l.starts_with("serde_json ")), "cargo tree listed no serde_json: {image:?}");
    let differing: Vec<&String> = image.difference(&bench).collect();
    assert!(differing.is_empty(), "the bench build resolves these otherwise; pin their features in controller/Cargo.toml: {differing:?}");
}
