//! What the way home's `decide` looks at: the item, the approval, the step's job, the group's recovery plan, and both VMs.

use super::Gate;
use crate::crd::{FailbackStep, Mode};
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{FailbackRequest, ForwardReprotectRequest, JobFacts, ProtectedItemFacts, RecoveryPlanFacts};

/// A step's job and what we know of it.
#[derive(Clone, Debug)]
pub struct StepJob<'a> {
    pub step: FailbackStep,
    pub name: &'a str,
    pub observed: Option<&'a JobFacts>,
    pub submitted_at: Option<Timestamp>,
    /// Submissions of this step for the current approval, this one included.
    pub attempt: u32,
}

/// The group's part: the recovery plan and who sends its POSTs.
#[derive(Clone, Debug)]
pub struct PlanRole<'a> {
    /// The recovery plan that contains the item (`None`: no plan does).
    pub plan: Option<&'a RecoveryPlanFacts>,
    /// The member that sends the plan's POSTs (the alphabetically first).
    pub sender: String,
    /// Whether this machine is that member.
    pub is_sender: bool,
    /// Members not ready for the group's next step, with why.
    pub waiting_for: Vec<String>,
}

/// The on-premises VM after failback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnPremisesVm {
    /// Seen powered on in vCenter.
    PoweredOn,
    /// Not (yet) seen powered on: why.
    NotYet(String),
    /// Recovered to an alternate location: there is no VM to look at before the failback.
    NotApplicable,
}

/// What each step would do, in words (for `Plan` mode and messages).
#[derive(Clone, Debug, Default)]
pub struct Descriptions {
    pub fail_back: String,
    pub commit: String,
    pub forward: String,
}

/// Everything `decide` looks at.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub now: Timestamp,
    pub mode: Mode,
    pub paused: bool,
    pub item: &'a ProtectedItemFacts,
    /// The approval being carried out.
    pub approval: &'a str,
    /// A failed step may be retried: the approval changed since it was submitted.
    pub retry_approved: bool,
    pub job: Option<StepJob<'a>>,
    /// Failback preflight results that block the failback (not consulted for later steps).
    pub gates: Vec<Gate>,
    /// `Some` for a member of a replication group.
    pub group: Option<PlanRole<'a>>,
    pub fail_back: FailbackRequest,
    pub forward: Result<ForwardReprotectRequest, String>,
    pub on_premises_vm: OnPremisesVm,
    /// The failed-over Azure VM as Azure Compute answers after the commit.
    pub azure_vm: AzureVm,
    pub agent_registration_window: SignedDuration,
    pub max_attempts: u32,
    pub descriptions: Descriptions,
}

/// The failed-over Azure VM after the commit, as Azure Compute answers for `status.azureVmId`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AzureVm {
    /// Not asked: no VM id was recorded, or it is known to be gone already.
    #[default]
    Unchecked,
    /// Compute still has the VM (ASR's commit removes it).
    Exists,
    /// Compute answers 404: the commit removed it.
    Removed,
}
