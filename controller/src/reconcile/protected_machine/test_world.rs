//! The whole-pass fixture: one machine of `examples/` against fakes of Site Recovery and vCenter, each pass's status recorded.

use super::lookup::Lookup;
use super::{Outcome, Pass, forget_recorded_submission, run_pass};
use crate::context::{Settings, SubmittedJobs};
use crate::crd::{MasterTarget, Mode, ProtectedMachine, ProtectedMachineStatus, ReprotectPolicy};
use crate::metrics::Metrics;
use crate::preflight::fixtures;
use crate::reconcile::Connection;
use crate::testing::{FakeSiteRecovery, FakeVault, FakeVcenter, example};
use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use std::sync::Arc;

/// One machine of `examples/` against a vault and a vCenter where every prerequisite holds.
pub(super) struct World {
    pub(super) sr: Arc<FakeSiteRecovery>,
    pub(super) vc: Arc<FakeVcenter>,
    pub(super) submitted: SubmittedJobs,
    pub(super) settings: Settings,
    pub(super) metrics: Metrics,
    pub(super) policy: ReprotectPolicy,
    pub(super) mt: MasterTarget,
    pub(super) pm: ProtectedMachine,
    pub(super) peers: Vec<Arc<ProtectedMachine>>,
    /// Other ProtectedMachines of the watched scopes, with their policies.
    pub(super) others: Vec<(Arc<ProtectedMachine>, Option<Arc<ReprotectPolicy>>)>,
    pub(super) now: Timestamp,
}

impl World {
    pub(super) fn new(machine: &str) -> Self {
        let mut policy: ReprotectPolicy = example(include_str!("../../../../examples/01-policy.yaml"), "dr-failback");
        policy.spec.mode = Mode::Apply;
        let mt: MasterTarget = example(include_str!("../../../../examples/02-master-targets.yaml"), "mt-win-01");
        let mut pm: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), machine);
        pm.metadata.generation = Some(1);
        // The healthy preflight fixture, named as the examples name things.
        let mut facts = fixtures::healthy_observed();
        fixtures::ps(&mut facts).friendly_name = policy.spec.defaults.process_server.clone().unwrap_or_default();
        if let Some(vcs) = facts.discovered_vcenters.as_mut() {
            vcs[0].name = policy.spec.vcenter.server.clone();
        }
        let vault = FakeVault {
            fabric: facts.fabric.clone().unwrap_or_default(),
            items: facts.item.clone().into_iter().collect(),
            policies: facts.policies.clone().unwrap_or_default(),
            vcenters: facts.discovered_vcenters.clone().unwrap_or_default(),
            now: Some(fixtures::now()),
            azure_vms: facts.item.iter().filter_map(|i| i.target_vm_id.as_ref()).map(|id| id.text().to_ascii_lowercase()).collect(),
            ..FakeVault::default()
        };
        World {
            sr: Arc::new(FakeSiteRecovery::new(vault)),
            vc: Arc::new(FakeVcenter::new(facts.vcenter.clone().unwrap_or_default())),
            submitted: SubmittedJobs::default(),
            settings: Settings::default(),
            metrics: Metrics::default(),
            policy,
            mt,
            pm,
            peers: Vec::new(),
            others: Vec::new(),
            now: fixtures::now(),
        }
    }

    /// A machine outside any replication group.
    pub(super) fn single() -> Self {
        let mut w = World::new("app-01");
        w.pm.spec.replication_group = None;
        w
    }

    /// One pass; its status is recorded on the machine as the apply step would.
    pub(super) async fn pass(&mut self) -> Outcome {
        let master_target_asr_names = [(self.mt.name_any(), self.mt.spec.asr_name.clone())].into();
        let lookup = Lookup {
            policy: Arc::new(self.policy.clone()),
            master_target: Arc::new(self.mt.clone()),
            peers: self.peers.clone(),
            master_target_asr_names,
            others: super::lookup::OtherMachines::Listed(self.others.iter().map(|(m, _)| m.clone()).collect()),
            policies_in_scope: self.others.iter().filter_map(|(_, p)| p.clone()).collect(),
        };
        let conn =
            Connection { vault: crate::reconcile::vault_ref(&self.policy), site_recovery: self.sr.clone(), vcenter: self.vc.clone() };
        let leader = crate::leader::LeaderGuard::unconditional();
        let pass = Pass {
            pm: &self.pm,
            lookup: &lookup,
            conn: &conn,
            submitted: &self.submitted,
            settings: &self.settings,
            metrics: &self.metrics,
            leader: &leader,
        };
        let outcome = run_pass(&pass, self.now).await;
        forget_recorded_submission(&self.submitted, &self.pm);
        if let Some(status) = &outcome.status {
            // As the API server keeps it (times in whole seconds), as the next pass reads it from the store.
            let stored = serde_json::to_value(status).and_then(serde_json::from_value).expect("status round-trips");
            self.pm.status = Some(stored);
        }
        self.now += SignedDuration::from_secs(30);
        outcome
    }

    pub(super) fn status(&self) -> &ProtectedMachineStatus {
        self.pm.status.as_ref().expect("a pass wrote status")
    }

    pub(super) fn reason(&self) -> String {
        self.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.reason.to_string()).unwrap_or_default()
    }

    pub(super) fn reason_message(&self) -> String {
        self.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.to_string()).unwrap_or_default()
    }

    pub(super) fn item(&self, f: impl FnOnce(&mut reprotect_facts::ProtectedItemFacts)) {
        self.sr.with(|v| f(&mut v.items[0]));
    }
}
