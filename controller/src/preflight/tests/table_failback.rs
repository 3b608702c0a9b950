//! Table-driven rule tests for the failback rules: evaluated only for an approved failback of a reprotected item.

use super::table::Row;
use crate::preflight::Status::{Fail, Pass, Unknown};
use crate::preflight::fixtures::*;
use crate::preflight::input::*;
use reprotect_facts::RecoveryPointType;

/// A failback approved for the fixture's machine, whose item is reprotected and ready to fail back: healthy, RPO
/// 2 minutes, three hours of recovery points, under the fixture's failback policy `p2`.
fn approved(d: &mut Desired, o: &mut Observed, point: RecoveryPointType) {
    d.failback = Some(DesiredFailback { recovery_point: point });
    let item = it(o);
    item.provider = Some("InMage".into());
    item.protection_state = Some("Protected".into());
    item.allowed_operations = vec!["UnplannedFailover", "DisableProtection"].into();
    item.replication_health = Some("Normal".into());
    item.policy_id = Some("p2".into());
    item.rpo_seconds = Some(120);
    item.retention_window_start = Some(ago(180));
    item.retention_window_end = Some(ago(1));
}

pub(super) const ROWS: &[Row] = &[
    ("failback approved for a healthy reprotected item", |d, o| approved(d, o, RecoveryPointType::LatestTag), "fb-item-healthy", Pass),
    (
        "failback approved, replication health Critical",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).replication_health = Some("Critical".into());
        },
        "fb-item-healthy",
        Fail,
    ),
    (
        "failback approved, item not observed",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            o.item = None;
        },
        "fb-item-healthy",
        Unknown,
    ),
    ("failback approved before the item is reprotected", |d, _| d.failback = Some(DesiredFailback::default()), "fb-item-healthy", Unknown),
    ("failback approved, RPO 2 minutes", |d, o| approved(d, o, RecoveryPointType::LatestTime), "fb-rpo-within-threshold", Pass),
    (
        "failback approved, RPO 20 minutes above the policy's 15",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).rpo_seconds = Some(20 * 60);
        },
        "fb-rpo-within-threshold",
        Fail,
    ),
    (
        "failback approved, RPO not reported",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).rpo_seconds = None;
        },
        "fb-rpo-within-threshold",
        Unknown,
    ),
    (
        "failback approved, no retention window reported",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).retention_window_start = None;
        },
        "fb-recovery-point",
        Fail,
    ),
    (
        "app-consistent failback with 30 minutes of points under a 60-minute app-consistent interval",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTag);
            it(o).retention_window_start = Some(ago(31));
        },
        "fb-recovery-point",
        Fail,
    ),
    (
        "crash-consistent failback with 30 minutes of points",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).retention_window_start = Some(ago(31));
        },
        "fb-recovery-point",
        Pass,
    ),
    (
        "failback approved while the failback runs",
        |d, o| {
            approved(d, o, RecoveryPointType::LatestTime);
            it(o).allowed_operations = vec!["Commit"].into();
        },
        "fb-recovery-point",
        Unknown,
    ),
];
