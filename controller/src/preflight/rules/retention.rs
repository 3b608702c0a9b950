//! The retention volume rule: the drive that stores recovery points on the master target, and how volume names compare.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::Blocking;
use crate::preflight::catalog::RuleInfo;
use crate::preflight::context::{Ctx, Seen};

pub(super) const RETENTION_VOLUME: Rule = Rule {
    info: RuleInfo {
        id: "retention-volume",
        severity: Blocking,
        description: "The retention volume (default R: on Windows, /mnt/retention on Linux) is listed for the master target, has nonzero capacity and is not FAT/FAT32.",
        remedy: "Add a new disk to the master target and format it as the retention drive (not FAT/FAT32, not a cache, lock-mode or replication-target volume, nonzero capacity); it takes up to 15 minutes to be listed, refresh the configuration server if it does not appear.",
        source: src::MT_CHECKS,
    },
    eval: retention_volume,
};

fn retention_volume(c: &Ctx<'_>) -> Outcome {
    let Some(wanted) = c.d.master_target.retention_volume_for(c.mt_os) else {
        return Outcome::unknown(format!(
            "no retention volume given and the OS of master target {} is unknown, so no default applies",
            c.mt_name()
        ));
    };
    let mt = match c.mt_asr {
        Seen::Found(mt) => mt,
        Seen::Unobserved => {
            return Outcome::unknown(format!("configuration server fabric not observed; retention volume {wanted} unverified"));
        }
        Seen::Missing => {
            return Outcome::unknown(format!(
                "master target {} is not registered, so retention volume {wanted} cannot be listed",
                c.mt_name()
            ));
        }
    };
    let Some(volume) = mt.retention_volumes.iter().find(|v| same_volume(&v.volume_name, wanted)) else {
        let listed: Vec<&str> = mt.retention_volumes.iter().map(|v| v.volume_name.as_str()).collect();
        return Outcome::unknown(format!(
            "retention volume {wanted} is not listed for master target {} (listed: {}); a newly added drive can take up to 15 minutes to be listed",
            mt.name,
            list(&listed, 5)
        ))
        .remedy(format!(
            "Add and format a retention drive {wanted} on master target {} (not FAT/FAT32, not the install/cache volume, nonzero capacity); wait up to 15 minutes, then refresh the configuration server.",
            mt.name
        ));
    };
    if volume.capacity_bytes.is_some_and(|b| b <= 0) {
        return Outcome::fail(format!("retention volume {} on master target {} has zero capacity", volume.volume_name, mt.name));
    }
    if let Some(fs) = volume.file_system.as_deref().filter(|fs| fs.eq_ignore_ascii_case("fat") || fs.eq_ignore_ascii_case("fat32")) {
        return Outcome::fail(format!("retention volume {} on master target {} is formatted {fs}", volume.volume_name, mt.name))
            .remedy("Reformat the retention drive with NTFS (Windows) or ext4/xfs (Linux); FAT and FAT32 are not eligible.");
    }
    // ASR lists only eligible volumes, so a listed volume without reported capacity is still acceptable.
    let capacity = volume.capacity_bytes.map_or_else(|| "capacity unreported".to_owned(), |b| format!("{} GiB", b / (1 << 30)));
    Outcome::pass(format!("retention volume {} listed for master target {} ({capacity})", volume.volume_name, mt.name))
}

/// Compare volume names: Windows drive letters case-insensitively and tolerant of `R`, `R:`, `R:\`; paths exactly, ignoring a trailing `/`.
pub(crate) fn same_volume(a: &str, b: &str) -> bool {
    match (drive_letter(a), drive_letter(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
        (None, None) => trim_path(a) == trim_path(b),
        _ => false,
    }
}

fn drive_letter(v: &str) -> Option<char> {
    let v = v.trim().trim_end_matches(['\\', '/']);
    let v = v.strip_suffix(':').unwrap_or(v);
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(l), None) if l.is_ascii_alphabetic() => Some(l),
        _ => None,
    }
}

fn trim_path(v: &str) -> &str {
    let t = v.trim();
    let trimmed = t.trim_end_matches('/');
    if trimmed.is_empty() { t } else { trimmed }
}
