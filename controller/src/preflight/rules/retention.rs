//! The retention volume rule: the drive that stores recovery points on the master target, and how volume names compare.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::Blocking;
use crate::preflight::context::{Ctx, Seen};
use crate::preflight::ids::{RuleId, RuleInfo};
use reprotect_facts::is_fat_family;

pub(super) const RETENTION_VOLUME: Rule = Rule {
    info: RuleInfo::new(
        RuleId::RetentionVolume,
        Blocking,
        "The retention volume (default R: on Windows, /mnt/retention on Linux) is listed for the master target, has nonzero capacity and is not FAT-formatted (FAT, FAT16, FAT32, vfat, exFAT).",
        "Add a new disk to the master target and format it as the retention drive (not FAT-formatted, not a cache, lock-mode or replication-target volume, nonzero capacity); it takes up to 15 minutes to be listed, refresh the configuration server if it does not appear.",
        src::MT_CHECKS,
    ),
    eval: retention_volume,
};

fn retention_volume(c: &Ctx<'_>) -> Outcome {
    let Some(wanted) = c.retention_volume() else {
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
    let Some(volume) = mt.retention_volume(wanted) else {
        let listed: Vec<&str> = mt.retention_volumes.iter().map(|v| v.volume_name.as_str()).collect();
        return Outcome::unknown(format!(
            "retention volume {wanted} is not listed for master target {} (listed: {}); a newly added drive can take up to 15 minutes to be listed",
            mt.name,
            list(&listed, 5)
        ))
        .remedy(format!(
            "Add and format a retention drive {wanted} on master target {} (not FAT-formatted, not the install/cache volume, nonzero capacity); wait up to 15 minutes, then refresh the configuration server.",
            mt.name
        ));
    };
    if volume.capacity_bytes.is_some_and(|b| b <= 0) {
        return Outcome::fail(format!("retention volume {} on master target {} has zero capacity", volume.volume_name, mt.name));
    }
    if let Some(fs) = volume.file_system.as_deref().filter(|fs| is_fat_family(fs)) {
        return Outcome::fail(format!("retention volume {} on master target {} is formatted {fs}", volume.volume_name, mt.name))
            .remedy("Reformat the retention drive with NTFS (Windows) or ext4/xfs (Linux); no FAT-family file system (FAT, FAT16, FAT32, vfat, exFAT) is eligible.");
    }
    // ASR lists only eligible volumes, so a listed volume without reported capacity is still acceptable.
    let capacity = volume.capacity_bytes.map_or_else(|| "capacity unreported".to_owned(), |b| format!("{} GiB", b / (1 << 30)));
    Outcome::pass(format!("retention volume {} listed for master target {} ({capacity})", volume.volume_name, mt.name))
}
