//! The README's troubleshooting table is generated from the preflight catalog and must not drift.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::path::Path;

#[test]
fn readme_troubleshooting_table_matches_the_preflight_catalog() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- BEGIN TROUBLESHOOTING -->\n", "<!-- END TROUBLESHOOTING -->");
    let start = readme.find(begin).expect("begin marker") + begin.len();
    let stop = readme.find(end).expect("end marker");
    let expected = reprotect_controller::preflight::troubleshooting_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{}{}", &readme[..start], expected, &readme[stop..])).unwrap();
        return;
    }
    assert_eq!(&readme[start..stop], expected, "README troubleshooting table is stale: run UPDATE_DOCS=1 cargo test --test readme");
}

#[test]
fn readme_starts_with_exactly_the_two_setup_commands() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("first shell block");
    let commands: Vec<&str> = block.lines().map(|l| l.split('#').next().unwrap().trim()).filter(|l| !l.is_empty()).collect();
    assert_eq!(commands, ["make demo", "make test"]);
}
