//! How the shipped image tunes glibc's allocator for a controller that holds thousands of objects.

/// glibc reads these at exec, before `main` (the image sets them with `ENV`; the scale bench sets them for the
/// controller it measures). One arena instead of eight per core: a tokio runtime's threads otherwise each grow
/// their own arena and keep its freed memory (two arenas until session 27; one measured 1.2 MiB less heap at
/// 10,000 machines, at the peak and after the hold, for ~12% more CPU). A fixed mmap threshold of 128 KiB: large
/// transient buffers (ARM list pages, watch pages, the vectors of a 1,000-item vault) go to `mmap` and return to the system when freed,
/// where glibc's default raises the threshold after the first such free and then keeps them in the heap. Trimming at
/// 128 KiB returns the top of the heap sooner. At 1,000 machines the heap at its peak fell from 33.2 to 26.4 MiB
/// (issue 13; README, benchmark section). No fast bins and no per-thread caches (`mxfast=0`, `tcache_count=0`): a
/// freed small chunk is merged with its free neighbours at once instead of being kept for reuse by its size, so the
/// texts and lists of objects replaced by newer versions do not pin the heap in fragments; at 1,000 machines the
/// heap at its peak fell from 16.7 to 15.6 MiB, for more CPU per allocation, which the ARM budget, not the CPU,
/// bounds. Set `GLIBC_TUNABLES` to override.
pub const GLIBC_TUNABLES: &str = "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072:glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_runs_the_controller_with_the_allocator_settings_the_bench_measures() {
        let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap_or_default();
        let set: Vec<&str> = dockerfile.lines().filter_map(|l| l.trim().strip_prefix("ENV GLIBC_TUNABLES=")).collect();
        assert_eq!(set, [GLIBC_TUNABLES], "the Dockerfile sets GLIBC_TUNABLES once, to allocator::GLIBC_TUNABLES");
    }

    #[test]
    fn every_setting_is_a_malloc_tunable_glibc_knows() {
        for setting in GLIBC_TUNABLES.split(':') {
            let (name, value) = setting.split_once('=').unwrap_or((setting, ""));
            let known = ["arena_max", "mmap_threshold", "trim_threshold", "mxfast", "tcache_count"];
            assert!(name.strip_prefix("glibc.malloc.").is_some_and(|n| known.contains(&n)), "{name}");
            // Zero is meaningful only where it turns a cache off; a zero arena count or threshold is glibc's "unset".
            let may_be_zero = name.ends_with("mxfast") || name.ends_with("tcache_count");
            assert!(value.parse::<u64>().is_ok_and(|v| v > 0 || may_be_zero), "{setting}");
        }
    }
}
