//! The way home (pure): from a machine reprotected to on-premises to one running on-premises and protected to
//! Azure again: failback (unplanned failover) → commit → forward reprotect. `decide` looks at the item's
//! `FailbackStage`, the step's tracked job, the failback gates and the group's recovery plan, and returns the
//! next phase and at most one action; `after_act` folds in what the guarded POST found.

use super::Gate;
use super::decide::kstate;
use crate::conditions::{ConditionSpec, KState, kstatus};
use crate::crd::{FailbackStep, Mode, Phase, condition_types};
use crate::reasons;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{
    AsrErrorClass, FailbackRequest, FailbackStage, ForwardReprotectRequest, JobErrorFacts, JobFacts, JobRef, PlanFailbackRequest,
    ProtectedItemFacts, RecoveryPlanFacts, classify_job_errors,
};
use std::time::Duration;

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

/// The one action to take now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    FailBack(FailbackRequest),
    FailBackPlan(PlanFailbackRequest),
    Commit { item_name: String },
    CommitPlan { plan_name: String },
    ForwardReprotect(ForwardReprotectRequest),
}

impl Action {
    pub fn step(&self) -> FailbackStep {
        match self {
            Action::FailBack(_) | Action::FailBackPlan(_) => FailbackStep::FailBack,
            Action::Commit { .. } | Action::CommitPlan { .. } => FailbackStep::Commit,
            Action::ForwardReprotect(_) => FailbackStep::ForwardReprotect,
        }
    }
    /// Metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::FailBack(_) => "fail-back",
            Action::FailBackPlan(_) => "fail-back-plan",
            Action::Commit { .. } => "commit",
            Action::CommitPlan { .. } => "commit-plan",
            Action::ForwardReprotect(_) => "forward-reprotect",
        }
    }
    /// The recovery plan a plan action targets.
    pub fn plan(&self) -> Option<&str> {
        match self {
            Action::FailBackPlan(r) => Some(&r.plan_name),
            Action::CommitPlan { plan_name } => Some(plan_name),
            _ => None,
        }
    }
}

/// What `decide` concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub phase: Phase,
    pub conditions: Vec<ConditionSpec>,
    pub action: Option<Action>,
    pub requeue_after: Duration,
    pub planned_actions: Vec<String>,
    /// The approval has been carried out to the end.
    pub completed: bool,
    /// Group member whose failback checks pass for the approval (its peers may go ahead).
    pub ready: bool,
    /// After the commit: `Some(true)` once Azure Compute says the VM is gone, `Some(false)` while it exists.
    pub azure_vm_removed: Option<bool>,
}

const SLOW: Duration = Duration::from_secs(300);
const BLOCKED_RECHECK: Duration = Duration::from_secs(120);
const WAIT_POLL: Duration = Duration::from_secs(10);
const JOB_POLL: Duration = Duration::from_secs(15);
const SOON: Duration = Duration::from_secs(2);

fn decision(phase: Phase, reason: &str, message: impl Into<String>, requeue_after: Duration) -> Decision {
    let message = message.into();
    Decision {
        phase,
        conditions: kstatus(kstate(phase), reason, &message),
        action: None,
        requeue_after,
        planned_actions: Vec::new(),
        completed: false,
        ready: false,
        azure_vm_removed: None,
    }
}

/// The phase of a running step.
pub fn running_phase(step: FailbackStep) -> Phase {
    match step {
        FailbackStep::FailBack => Phase::FailingBack,
        FailbackStep::Commit => Phase::Committing,
        FailbackStep::ForwardReprotect => Phase::ReprotectingToAzure,
    }
}

fn step_word(step: FailbackStep) -> &'static str {
    match step {
        FailbackStep::FailBack => "failback",
        FailbackStep::Commit => "commit",
        FailbackStep::ForwardReprotect => "forward reprotect",
    }
}

/// Decide the next step of the way home for one machine.
pub fn decide(input: &Input<'_>) -> Decision {
    if input.paused {
        return decision(Phase::Paused, reasons::PAUSED, "paused by the policy or an annotation", SLOW);
    }
    let stage = input.item.failback_stage();
    if stage == FailbackStage::ProtectedToAzure {
        let mut d = decision(
            Phase::ProtectedToAzure,
            reasons::PROTECTED_TO_AZURE,
            format!("{} runs on-premises and replicates to Azure (approval {} carried out)", input.item.name, input.approval),
            SLOW,
        );
        d.completed = true;
        return after_commit(d, input);
    }
    if let Some(job) = &input.job
        && let Some(d) = follow_job(input, stage, job)
    {
        return d;
    }
    let mut d = match stage {
        FailbackStage::ReadyToFailBack => ready_to_fail_back(input),
        FailbackStage::CommitPending => commit_pending(input),
        FailbackStage::ReadyForForwardReprotect => after_commit(forward(input), input),
        FailbackStage::Busy => {
            let scenario = input.item.current_scenario.as_ref().and_then(|s| s.scenario_name.clone()).unwrap_or_default();
            decision(
                Phase::Validating,
                reasons::ITEM_BUSY,
                format!("operation {scenario} runs on {}; waiting for it", input.item.display_name()),
                JOB_POLL,
            )
        }
        FailbackStage::FailedOverToAzure | FailbackStage::Other => decision(
            Phase::Blocked,
            reasons::NOT_READY_TO_FAIL_BACK,
            format!(
                "item {} is in state {} (provider {}); it must be reprotected to on-premises and Protected before it can fail back",
                input.item.name,
                input.item.protection_state.as_deref().unwrap_or("unknown"),
                input.item.provider.as_deref().unwrap_or("unknown")
            ),
            BLOCKED_RECHECK,
        ),
        FailbackStage::ProtectedToAzure => decision(Phase::ProtectedToAzure, reasons::PROTECTED_TO_AZURE, "", SLOW),
    };
    if input.mode == Mode::Plan && d.action.is_some() {
        let ready = d.ready;
        d = planned(input, stage);
        d.ready = ready;
    }
    d
}

/// Plan mode: the rest of the way home, from this stage on; nothing is sent.
fn planned(input: &Input<'_>, stage: FailbackStage) -> Decision {
    let ds = &input.descriptions;
    let steps: Vec<String> = match stage {
        FailbackStage::ReadyToFailBack => vec![ds.fail_back.clone(), ds.commit.clone(), ds.forward.clone()],
        FailbackStage::CommitPending => vec![ds.commit.clone(), ds.forward.clone()],
        _ => vec![ds.forward.clone()],
    };
    let message = "plan mode: the failback checks pass; see status.plannedActions for the way home";
    let mut d = decision(Phase::Validating, reasons::PLANNED, message, SLOW);
    d.conditions = kstatus(KState::Idle, reasons::PLANNED, message);
    d.planned_actions = steps;
    d
}

/// Follow the step's job; `None` when the stage decides (the job succeeded and the item shows it, or a failed
/// job may be retried).
fn follow_job(input: &Input<'_>, stage: FailbackStage, job: &StepJob<'_>) -> Option<Decision> {
    let word = step_word(job.step);
    let phase = running_phase(job.step);
    let Some(facts) = job.observed else {
        return Some(decision(
            phase,
            reasons::JOB_SUBMITTED,
            format!("{word} job {} submitted; waiting for it to appear", job.name),
            JOB_POLL,
        ));
    };
    let state = facts.state.as_deref().unwrap_or("Unknown");
    if !facts.is_finished() {
        let (done, total) = facts.progress();
        return Some(decision(phase, reasons::JOB_RUNNING, format!("{word} job {} is {state} ({done}/{total} tasks)", job.name), JOB_POLL));
    }
    if facts.succeeded() {
        // The item list may lag behind the job: never act on a stage the job already left.
        let left = match job.step {
            FailbackStep::FailBack => stage != FailbackStage::ReadyToFailBack,
            FailbackStep::Commit => stage != FailbackStage::CommitPending,
            FailbackStep::ForwardReprotect => stage != FailbackStage::ReadyForForwardReprotect,
        };
        return (!left).then(|| {
            decision(phase, reasons::JOB_RUNNING, format!("{word} job {} succeeded; waiting for the item to show it", job.name), JOB_POLL)
        });
    }
    let first = facts.errors.first().cloned().unwrap_or_default();
    let asr = format!(
        "ASR error {}: {} Possible causes: {} Recommended action: {}",
        first.code.as_deref().unwrap_or("unknown"),
        first.message.as_deref().unwrap_or(""),
        first.possible_causes.as_deref().unwrap_or("not given"),
        first.recommended_action.as_deref().unwrap_or("not given"),
    );
    if job.step == FailbackStep::ForwardReprotect && classify_job_errors(&facts.errors) == AsrErrorClass::AgentNotRegistered {
        if job.attempt >= input.max_attempts.max(1) {
            return Some(decision(
                Phase::Blocked,
                reasons::RETRIES_EXHAUSTED,
                format!(
                    "forward reprotect failed {} time(s) because the on-premises mobility agent was not registered (last: job {}, {asr}); set a new failback.approval to try again",
                    job.attempt, job.name
                ),
                BLOCKED_RECHECK,
            ));
        }
        let failed_at = facts.end_time.or(job.submitted_at);
        let registered_since = matches!((input.item.agent_last_heartbeat, failed_at), (Some(hb), Some(at)) if hb > at);
        if registered_since || input.retry_approved {
            return None;
        }
        return Some(decision(
            Phase::WaitingForForwardAgent,
            reasons::AGENT_NOT_REGISTERED,
            format!(
                "forward reprotect job {} failed because the on-premises mobility agent has not registered yet; retrying once it does ({asr})",
                job.name
            ),
            WAIT_POLL,
        ));
    }
    if input.retry_approved {
        return None;
    }
    Some(decision(
        Phase::Blocked,
        reasons::FAILBACK_STEP_FAILED,
        format!("{word} job {} failed with {asr}; fix the cause and set a new failback.approval to retry", job.name),
        BLOCKED_RECHECK,
    ))
}

/// Report what Azure Compute says of the failed-over VM once the commit is done; a VM still there is named in the
/// Ready message (the commit should have removed it, and it keeps costing money).
fn after_commit(mut d: Decision, input: &Input<'_>) -> Decision {
    d.azure_vm_removed = match input.azure_vm {
        AzureVm::Unchecked => None,
        AzureVm::Exists => Some(false),
        AzureVm::Removed => Some(true),
    };
    if input.azure_vm == AzureVm::Exists
        && let Some(ready) = d.conditions.iter_mut().find(|c| c.type_ == condition_types::READY)
    {
        ready.message.push_str(&format!(
            "; the failed-over Azure VM of {} still exists after the commit: check the commit job in the vault and delete the VM if ASR left it",
            input.item.display_name()
        ));
    }
    d
}

fn blocked_by_gates(gates: &[Gate]) -> Decision {
    let ids: Vec<&str> = gates.iter().map(|g| g.id.as_str()).collect();
    let details: Vec<String> = gates.iter().map(|g| format!("[{}] {} Remedy: {}", g.id, g.message, g.remedy)).collect();
    decision(
        Phase::Blocked,
        reasons::FAILBACK_PREFLIGHT_FAILED,
        format!("failback blocked by {}: {}", ids.join(", "), details.join(" | ")),
        BLOCKED_RECHECK,
    )
}

fn ready_to_fail_back(input: &Input<'_>) -> Decision {
    if !input.gates.is_empty() {
        return blocked_by_gates(&input.gates);
    }
    let Some(group) = &input.group else {
        return act(Action::FailBack(input.fail_back.clone()), &input.descriptions.fail_back);
    };
    let Some(plan) = group.plan else {
        return decision(
            Phase::Blocked,
            reasons::RECOVERY_PLAN_NOT_FOUND,
            format!(
                "{} is in a replication group, which fails back through a recovery plan, and no recovery plan contains it; create one with every member of the group",
                input.item.name
            ),
            BLOCKED_RECHECK,
        );
    };
    let mut d = if !group.waiting_for.is_empty() {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("failback of recovery plan {} waits for: {}", plan.name, group.waiting_for.join(", ")),
            WAIT_POLL,
        )
    } else if !group.is_sender {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("every member is ready; {} fails back recovery plan {}", group.sender, plan.name),
            WAIT_POLL,
        )
    } else if !plan.allows("UnplannedFailover") {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("recovery plan {} does not allow UnplannedFailover yet (a member is not ready in ASR)", plan.name),
            WAIT_POLL,
        )
    } else {
        let request = PlanFailbackRequest {
            plan_name: plan.name.clone(),
            recovery_point_type: input.fail_back.recovery_point_type,
            source_site_operations: input.fail_back.source_site_operations,
        };
        act(Action::FailBackPlan(request), &input.descriptions.fail_back)
    };
    d.ready = true;
    if input.mode == Mode::Plan {
        // Each member lists the way home; only the sender would act.
        d.action = Some(Action::FailBack(input.fail_back.clone()));
    }
    d
}

fn commit_pending(input: &Input<'_>) -> Decision {
    if let OnPremisesVm::NotYet(why) = &input.on_premises_vm {
        return decision(
            Phase::CommitPending,
            reasons::WAITING_FOR_ON_PREMISES_VM,
            format!("failed back; the commit waits until the on-premises VM runs: {why}"),
            WAIT_POLL,
        );
    }
    let mut d = commit_when_ready(input);
    d.ready = true;
    d
}

fn commit_when_ready(input: &Input<'_>) -> Decision {
    let Some(group) = &input.group else {
        return act(Action::Commit { item_name: input.item.name.clone() }, &input.descriptions.commit);
    };
    let plan = group.plan.map(|p| p.name.clone()).unwrap_or_default();
    let wait = |msg: String| decision(Phase::CommitPending, reasons::WAITING_FOR_GROUP, msg, WAIT_POLL);
    if !group.waiting_for.is_empty() {
        return wait(format!("commit of recovery plan {plan} waits for: {}", group.waiting_for.join(", ")));
    }
    if !group.is_sender {
        return wait(format!("every member runs on-premises; {} commits recovery plan {plan}", group.sender));
    }
    if !group.plan.is_some_and(|p| p.allows("Commit")) {
        return wait(format!("recovery plan {plan} does not allow Commit yet"));
    }
    act(Action::CommitPlan { plan_name: plan }, &input.descriptions.commit)
}

/// A heartbeat this recent counts as registered when the item has no failover time.
const FRESH_AGENT_HEARTBEAT: SignedDuration = SignedDuration::from_mins(15);

fn forward(input: &Input<'_>) -> Decision {
    let item = input.item;
    let registered = item
        .agent_registered_after_failover()
        .unwrap_or_else(|| item.agent_last_heartbeat.is_some_and(|hb| input.now.duration_since(hb) <= FRESH_AGENT_HEARTBEAT));
    if !registered {
        let deadline = item.last_successful_failover_time.and_then(|t| t.checked_add(input.agent_registration_window).ok());
        let open = deadline.is_none_or(|d| input.now < d);
        let (phase, when) = if open { (Phase::WaitingForForwardAgent, "yet") } else { (Phase::Blocked, "within the registration window") };
        return decision(
            phase,
            reasons::WAITING_FOR_AGENT,
            format!(
                "committed; the on-premises mobility agent of {} has not registered with the configuration server {when}; the forward reprotect starts once it does",
                item.name
            ),
            if open { WAIT_POLL } else { BLOCKED_RECHECK },
        );
    }
    match &input.forward {
        Ok(request) => act(Action::ForwardReprotect(request.clone()), &input.descriptions.forward),
        Err(why) => decision(
            Phase::Blocked,
            reasons::INPUT_INCOMPLETE,
            format!("the forward reprotect input could not be resolved: {why}"),
            BLOCKED_RECHECK,
        ),
    }
}

fn act(action: Action, description: &str) -> Decision {
    let mut d = decision(running_phase(action.step()), reasons::ACTING, description.to_string(), SOON);
    d.action = Some(action);
    d
}

/// What the guarded POST turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    /// No action.
    Done,
    /// The step was submitted; ASR tracks it with this job.
    Submitted { step: FailbackStep, job: JobRef, at: Timestamp },
    /// A job of this step already ran or runs for the item (or plan): followed instead.
    Adopted { step: FailbackStep, job: JobFacts },
    /// The fresh read shows the item (or plan) past this step: nothing sent, look again.
    Moved,
    /// ASR refused the POST (not transient): remembered like a failed job of the step.
    Rejected { step: FailbackStep, error: JobErrorFacts },
}

/// Fold what the action found into the decision (pure).
pub fn after_act(d: Decision, acted: &Acted) -> Decision {
    let with = |phase: Phase, reason: &str, message: String, requeue_after: Duration, d: Decision| Decision {
        phase,
        conditions: kstatus(kstate(phase), reason, &message),
        action: None,
        requeue_after,
        ..d
    };
    match acted {
        Acted::Done | Acted::Submitted { .. } => d,
        Acted::Adopted { step, job } => {
            let state = job.state.as_deref().unwrap_or("Unknown");
            let message = format!("adopted {} job {} ({state}) instead of submitting another", step_word(*step), job.name);
            with(running_phase(*step), reasons::JOB_ADOPTED, message, SOON, d)
        }
        Acted::Moved => with(d.phase, reasons::JOB_ADOPTED, "Azure shows the step already done; looking again".into(), SOON, d),
        Acted::Rejected { step, error } => {
            let message = format!(
                "ASR rejected the {}: {} {}",
                step_word(*step),
                error.code.as_deref().unwrap_or("unknown"),
                error.message.as_deref().unwrap_or("")
            );
            with(Phase::Validating, reasons::FAILBACK_REJECTED, message, SOON, d)
        }
    }
}
