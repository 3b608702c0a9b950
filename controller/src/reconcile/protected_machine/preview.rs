//! The read-only halves of a pass for the CLI: `check` (observe once, evaluate every preflight check) and
//! `plan` (observe, evaluate and decide as in `Plan` mode: what `Apply` would do now). They never act.

use super::{evaluate, failback, lookup::Lookup, observe};
use crate::context::{Settings, SubmittedJobs};
use crate::crd::{Mode, Phase, ProtectedMachine, condition_types};
use crate::error::Error;
use crate::lifecycle;
use crate::preflight::CheckResult;
use crate::reconcile::Connection;
use jiff::Timestamp;

/// Observe and preflight one machine once.
pub async fn check_once(pm: &ProtectedMachine, lookup: &Lookup, conn: &Connection) -> Result<Vec<CheckResult>, Error> {
    let now = Timestamp::now();
    let obs = observe::observe(pm, lookup, conn, &SubmittedJobs::default(), None, now).await?;
    Ok(evaluate::evaluate(pm, lookup, &obs, now).results)
}

/// What `Apply` would do for a machine now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// The phase the machine would be in (`Validating` when steps are ready to run).
    pub phase: Phase,
    /// The Ready reason and message: why nothing would happen, or that the steps are ready.
    pub reason: String,
    pub message: String,
    /// The steps `Apply` would take now, in order (empty: nothing to do now).
    pub actions: Vec<String>,
}

/// Decide as the reconciler would with the policy in `Plan` mode, whatever its mode: the steps are listed,
/// none is taken. A machine on its way home (an approved failback) gets the failback plan.
pub async fn plan_once(pm: &ProtectedMachine, lookup: &Lookup, conn: &Connection, settings: &Settings) -> Result<Preview, Error> {
    let now = Timestamp::now();
    let obs = observe::observe(pm, lookup, conn, &SubmittedJobs::default(), None, now).await?;
    let eval = evaluate::evaluate(pm, lookup, &obs, now);
    if let Some(item) = obs.facts.item.as_ref()
        && let Some(approval) = failback::route(pm, item)
    {
        let fobs = failback::observe(pm, conn, item, now).await?;
        let mut input = failback::input(pm, lookup, &obs, &eval, &fobs, item, &approval, now);
        input.mode = Mode::Plan;
        let d = lifecycle::failback::decide(&input);
        return Ok(preview(d.phase, &d.conditions, d.planned_actions));
    }
    let mut input = evaluate::lifecycle_input(pm, lookup, &obs, &eval, settings, now);
    input.mode = Mode::Plan;
    let d = lifecycle::decide(&input);
    Ok(preview(d.phase, &d.conditions, d.planned_actions))
}

fn preview(phase: Phase, conditions: &[crate::conditions::ConditionSpec], actions: Vec<String>) -> Preview {
    let ready = conditions.iter().find(|c| c.type_ == condition_types::READY);
    Preview {
        phase,
        reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
        message: ready.map(|c| c.message.clone()).unwrap_or_default(),
        actions,
    }
}
