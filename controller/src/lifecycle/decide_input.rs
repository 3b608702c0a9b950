//! What `decide` looks at: one machine's facts, gates and settings, its tracked reprotect job, and the VMs it may write to.

use crate::crd::Mode;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{JobFacts, ProtectedItemFacts, ReprotectRequest, VmSelector};
use std::time::Duration;

/// A blocking prerequisite that failed (or could not be verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    pub id: String,
    pub message: String,
    pub remedy: String,
}

impl Gate {
    /// The gate a failed (or unverified) check makes.
    pub fn of(r: &crate::preflight::CheckResult) -> Gate {
        Gate { id: r.id.to_string(), message: r.message.clone(), remedy: r.remedy.to_string() }
    }
}

/// Whether the replication group lets this member go ahead.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum GroupGate {
    /// Not in a group, or every member is ready.
    #[default]
    Open,
    /// Members that are not ready yet.
    WaitingFor(Vec<String>),
}

/// Things a watchdog looks at once the machine is protected.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Watchdog {
    /// The on-premises VM is powered on while protected.
    pub on_premises_vm_powered_on: bool,
    /// Master target problems that will make failback fail (snapshots, moved disks).
    pub master_target_risks: Vec<String>,
}

/// Everything `decide` looks at.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub now: Timestamp,
    pub generation: Option<i64>,
    pub mode: Mode,
    pub paused: bool,
    pub power_off_on_premises_vm: bool,
    pub agent_registration_window: SignedDuration,
    /// How often a protected machine is looked at again (on-premises VM, master target, health).
    pub watchdog_interval: Duration,
    /// The protected item; `None` when the vault has no such item.
    pub item: Option<&'a ProtectedItemFacts>,
    /// The reprotect job known from status or adopted from Azure, with its latest observation.
    pub job: Option<TrackedJob<'a>>,
    /// Blocking preflight results other than agent registration and failover state.
    pub gates: Vec<Gate>,
    /// Failing checks that the controller may remediate itself (only `mt-disk-enable-uuid`): the master target VM.
    pub remediate_disk_uuid: Option<VmTarget>,
    /// The existing on-premises VM when it is powered on.
    pub powered_on_vm: Option<VmTarget>,
    pub group: GroupGate,
    pub watchdog: Watchdog,
    /// The reprotect input, when every value could be resolved.
    pub reprotect: Option<ReprotectRequest>,
    /// Likely causes to cite when the agent does not register.
    pub agent_causes: String,
    /// Human description of the reprotect, for plan mode ("reprotect app-01 with master target ...").
    pub reprotect_description: String,
    /// Automatic retries after an agent-not-registered failure stop after this many attempts.
    pub max_attempts: u32,
    /// An older ProtectedMachine (`namespace/name`) that owns the same protected item: this one does nothing.
    pub owned_by: Option<String>,
}

/// A job and what we know of it.
#[derive(Clone, Debug, Default)]
pub struct TrackedJob<'a> {
    pub name: &'a str,
    /// Spec generation the job was submitted for.
    pub generation: Option<i64>,
    pub observed: Option<&'a JobFacts>,
    /// Reprotect submissions for the current failover, this one included.
    pub attempt: u32,
    pub submitted_at: Option<Timestamp>,
}

/// A VM the controller may write to: the identity observed in vCenter (its moref, which cannot collide as a
/// name can) and its name for messages. Actions select it by moref, so a write lands on the VM that was judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmTarget {
    pub moref: String,
    pub name: String,
}

impl VmTarget {
    pub fn new(moref: impl Into<String>, name: impl Into<String>) -> VmTarget {
        VmTarget { moref: moref.into(), name: name.into() }
    }

    /// How the action selects it in vCenter.
    pub fn selector(&self) -> VmSelector {
        VmSelector::MoRef(self.moref.clone())
    }
}

impl std::fmt::Display for VmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.moref)
    }
}
