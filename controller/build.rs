//! Release links of the controller binary place the functions it runs first in `.text` (issue 13: resident text).
//!
//! `hot-symbols.txt` lists every function of the binary that a scale run executed (valgrind's callgrind on the
//! release controller; `tests/hot-symbols.sh`, `make hot-symbols`, regenerates it). LLD, rustc's default linker on
//! x86_64-unknown-linux-gnu, puts them at the start of `.text` in that order (`--symbol-ordering-file`). Scattered,
//! those ~4.7 MB of code keep most of the 21 MB of `.text` resident, because the kernel maps the 64 KiB around
//! each page fault (README, benchmark section, session 28). Names the binary does not contain (after a change of
//! toolchain or dependencies) are skipped; the layout is then partly the default one, never wrong.
//! `REPROTECT_SYMBOL_ORDER=0` turns it off; other targets and debug builds link as before.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=REPROTECT_SYMBOL_ORDER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    // Other targets may link with GNU ld, which has no `--symbol-ordering-file`.
    let lld_by_default = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    let opted_out = env::var("REPROTECT_SYMBOL_ORDER").is_ok_and(|v| v == "0");
    if release && lld_by_default && !opted_out {
        let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        let bin = "reprotect-controller";
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,--symbol-ordering-file={dir}/hot-symbols.txt");
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,--no-warn-symbol-ordering");
    }
}
