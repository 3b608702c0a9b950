//! The ARM client's failback, commit, forward reprotect and recovery-plan calls against the asr-sim simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::time::Duration;

use asr_sim::{RunningSim, Scenario, SimOptions, scenario::LroHeaders};
use reprotect_azure::failback::{failback_body, forward_reprotect_body, plan_failback_body};
use reprotect_azure::{ArmClient, ArmClientConfig, ArmLimits, AzureAuth, BudgetConfig, CloudConfig, RetryConfig};
use reprotect_facts::*;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

async fn sim_with(variants: bool, lro: LroHeaders) -> RunningSim {
    let mut sc = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/asr-sim/scenarios/failback.yaml")).unwrap();
    sc.defaults.state_variants = variants;
    sc.defaults.lro_headers = lro;
    asr_sim::start(sc, SimOptions { listen: "127.0.0.1:0".parse().unwrap(), time_scale: 1.0 }).await.unwrap()
}

fn client(sim: &RunningSim) -> ArmClient {
    let (tenant_id, client_id, client_secret) = sim.credentials();
    let auth = AzureAuth::ClientSecret { tenant_id, client_id, client_secret: client_secret.as_str().into() };
    let cloud = CloudConfig::custom(sim.base_url.clone(), sim.authority_url.clone(), None).unwrap();
    let mut c = ArmClientConfig::new(cloud, auth);
    c.extra_ca_pem = Some(sim.ca_pem.clone());
    c.retry = RetryConfig {
        max_retries: 2,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(1),
    };
    let fast = BudgetConfig { rate_per_second: 1000.0, burst: 1000 };
    c.limits = ArmLimits { reads: fast, writes: fast };
    ArmClient::new(c).unwrap()
}

fn dr() -> VaultRef {
    VaultRef {
        subscription_id: SUB.into(),
        resource_group: "rg-dr".into(),
        vault_name: "vault-dr".into(),
        fabric_name: "cs-fabric-01".into(),
        container_name: Some("cs-container-01".into()),
    }
}

/// Jump past the scenario's 10 s job duration and read the job.
async fn finish(sim: &RunningSim, c: &ArmClient, job: &JobRef) -> JobFacts {
    sim.advance_time(Duration::from_secs(11));
    let j = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert!(j.is_finished(), "{j:?}");
    j
}

async fn forward_request(c: &ArmClient, item: &str) -> ForwardReprotectRequest {
    let fabric = c.get_fabric(&dr()).await.unwrap();
    let policy = c.list_policies(&dr()).await.unwrap().into_iter().find(|p| p.provider.as_deref() == Some("InMageAzureV2")).unwrap();
    ForwardReprotectRequest {
        item_name: item.into(),
        process_server_id: fabric.process_server("ps-01").unwrap().id.clone(),
        master_target_id: None,
        run_as_account_id: fabric.run_as_accounts[0].account_id.clone(),
        policy_id: policy.id,
        ..ForwardReprotectRequest::default()
    }
}

fn item_failback(item: &str, rp: RecoveryPointType) -> FailbackRequest {
    FailbackRequest { item_name: item.into(), recovery_point_type: rp, ..FailbackRequest::default() }
}

#[tokio::test]
async fn an_item_goes_the_whole_way_home_with_one_post_per_step_and_a_retry_inside_the_agent_window() {
    let sim = sim_with(true, LroHeaders::Both).await;
    let c = client(&sim);
    let before = c.get_protected_item(&dr(), "app-01").await.unwrap();
    assert_eq!((before.failback_stage(), before.running_site()), (FailbackStage::ReadyToFailBack, Some(Site::Azure)));

    let job = c.fail_back(&dr(), &item_failback("app-01", RecoveryPointType::LatestTime)).await.unwrap();
    let running = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert_eq!((running.scenario_name.as_deref(), running.is_finished()), (Some("UnplannedFailover"), false));
    assert_eq!(c.get_protected_item(&dr(), "app-01").await.unwrap().failback_stage(), FailbackStage::Busy);
    assert!(finish(&sim, &c, &job).await.succeeded());
    let adoptable = c.list_jobs_for(&dr(), &before.id.text()).await.unwrap();
    assert_eq!(adoptable.first().map(|j| j.name.as_str()), Some(job.job_name.as_str()), "the item's jobs list it (adoption after a crash)");
    let failed_back = c.get_protected_item(&dr(), "app-01").await.unwrap();
    assert_eq!((failed_back.failback_stage(), failed_back.running_site()), (FailbackStage::CommitPending, Some(Site::OnPremises)));

    let job = c.commit_failover(&dr(), "app-01").await.unwrap();
    assert_eq!(c.get_job(&dr(), &job.job_name).await.unwrap().scenario_name.as_deref(), Some("CommitFailover"));
    assert!(finish(&sim, &c, &job).await.succeeded());
    let committed = c.get_protected_item(&dr(), "app-01").await.unwrap();
    assert_eq!(committed.failback_stage(), FailbackStage::ReadyForForwardReprotect);
    assert_eq!(committed.agent_registered_after_failover(), Some(false), "the on-premises agent has not registered yet");
    assert_eq!(sim.azure_vm_exists("app-01"), Some(false));

    let request = forward_request(&c, "app-01").await;
    let job = c.forward_reprotect(&dr(), &request).await.unwrap();
    let failed = finish(&sim, &c, &job).await;
    assert!(!failed.succeeded());
    assert_eq!(classify_job_errors(&failed.errors), AsrErrorClass::AgentNotRegistered, "{:?}", failed.errors);
    assert_eq!(c.get_protected_item(&dr(), "app-01").await.unwrap().failback_stage(), FailbackStage::ReadyForForwardReprotect);
    sim.advance_time(Duration::from_secs(60)); // the on-premises agent registers
    assert_eq!(c.get_protected_item(&dr(), "app-01").await.unwrap().agent_registered_after_failover(), Some(true));
    let job = c.forward_reprotect(&dr(), &request).await.unwrap();
    assert!(finish(&sim, &c, &job).await.succeeded());
    let home = c.get_protected_item(&dr(), "app-01").await.unwrap();
    assert_eq!((home.failback_stage(), home.provider.as_deref()), (FailbackStage::ProtectedToAzure, Some("InMageAzureV2")));
    assert_eq!(
        (sim.count("POST", "/unplannedFailover"), sim.count("POST", "/failoverCommit"), sim.count("POST", "/reProtect")),
        (1, 1, 2),
        "one POST per step, the forward reprotect once more after the agent registered"
    );
}

#[tokio::test]
async fn a_replication_group_fails_back_and_commits_through_its_recovery_plan() {
    let sim = sim_with(true, LroHeaders::Both).await;
    let c = client(&sim);
    let plans = c.list_recovery_plans(&dr()).await.unwrap();
    assert_eq!(plans.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["web-group"]);
    let plan = c.get_recovery_plan(&dr(), "web-group").await.unwrap();
    assert_eq!(plan.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["web-01", "web-02", "web-03"]);
    assert!(plan.allows("UnplannedFailover") && !plan.is_busy());
    let web = c.get_protected_item(&dr(), "web-01").await.unwrap();
    assert!(web.in_named_replication_group() && plan.contains(&web.id.text()));

    let request =
        PlanFailbackRequest { plan_name: "web-group".into(), recovery_point_type: RecoveryPointType::LatestTag, ..Default::default() };
    let job = c.fail_back_plan(&dr(), &request).await.unwrap();
    let busy = c.get_recovery_plan(&dr(), "web-group").await.unwrap();
    assert!(busy.is_busy());
    assert_eq!(busy.current_scenario.and_then(|s| s.job_id).map(|j| arm_name(&j).to_string()), Some(job.job_name.clone()));
    let member = c.get_protected_item(&dr(), "web-02").await.unwrap();
    assert_eq!(
        member.current_scenario.and_then(|s| s.job_id).map(|j| arm_name(&j).to_string()),
        Some(job.job_name.clone()),
        "members show the plan's job"
    );
    let jobs = c.list_jobs_for(&dr(), &plan.id).await.unwrap();
    assert_eq!(
        jobs.first().map(|j| (j.name.as_str(), j.target_instance_type.as_deref())),
        Some((job.job_name.as_str(), Some("RecoveryPlan")))
    );
    assert!(finish(&sim, &c, &job).await.succeeded());
    for m in ["web-01", "web-02", "web-03"] {
        assert_eq!(c.get_protected_item(&dr(), m).await.unwrap().failback_stage(), FailbackStage::CommitPending, "{m}");
    }
    let job = c.commit_plan_failover(&dr(), "web-group").await.unwrap();
    assert!(finish(&sim, &c, &job).await.succeeded());
    for m in ["web-01", "web-02", "web-03"] {
        assert_eq!(c.get_protected_item(&dr(), m).await.unwrap().failback_stage(), FailbackStage::ReadyForForwardReprotect, "{m}");
    }
    assert_eq!((sim.count("POST", "/unplannedFailover"), sim.count("POST", "/failoverCommit")), (1, 1), "one POST per plan and step");
}

#[tokio::test]
async fn refusals_come_back_as_blocking_service_errors_with_asrs_codes_and_empty_fields_send_nothing() {
    let sim = sim_with(true, LroHeaders::Both).await;
    let c = client(&sim);
    let code = |e: SiteRecoveryError| match e {
        SiteRecoveryError::Service(s) => (s.status, s.inner_code.unwrap_or_default()),
        other => panic!("{other}"),
    };
    let e = c.fail_back(&dr(), &item_failback("db-01", RecoveryPointType::LatestTime)).await.unwrap_err();
    assert_eq!(e.class(), AsrErrorClass::Blocking);
    assert_eq!(code(e), (400, "OperationNotAllowedInCurrentState".into()), "an item still in Azure cannot fail back");
    let e = c.fail_back(&dr(), &item_failback("web-01", RecoveryPointType::LatestTime)).await.unwrap_err();
    assert_eq!(code(e), (400, "OperationNotAllowedForReplicationGroup".into()));
    let e = c.commit_failover(&dr(), "app-02").await.unwrap_err();
    assert_eq!(code(e), (400, "OperationNotAllowedInCurrentState".into()), "commit before failover");
    let e = c.forward_reprotect(&dr(), &forward_request(&c, "app-02").await).await.unwrap_err();
    assert_eq!(code(e), (400, "OperationNotAllowedInCurrentState".into()), "forward reprotect before failback");
    let posts = sim.count("POST", "/replication");
    let mut empty = forward_request(&c, "app-02").await;
    empty.policy_id = " ".into();
    assert!(matches!(c.forward_reprotect(&dr(), &empty).await.unwrap_err(), SiteRecoveryError::Invalid(_)));
    assert!(matches!(c.commit_plan_failover(&dr(), "").await.unwrap_err(), SiteRecoveryError::Invalid(_)));
    assert_eq!(sim.count("POST", "/replication"), posts);
    let e = c.get_recovery_plan(&dr(), "nope").await.unwrap_err();
    assert_eq!(e.class(), AsrErrorClass::NotFound);
}

#[tokio::test]
async fn the_job_is_taken_from_azure_async_operation_when_location_is_absent() {
    let sim = sim_with(false, LroHeaders::AsyncOperation).await;
    let c = client(&sim);
    let job = c.fail_back(&dr(), &item_failback("app-02", RecoveryPointType::LatestTime)).await.unwrap();
    assert_eq!(c.get_job(&dr(), &job.job_name).await.unwrap().scenario_name.as_deref(), Some("UnplannedFailover"));
    let request = PlanFailbackRequest { plan_name: "web-group".into(), ..Default::default() };
    let job = c.fail_back_plan(&dr(), &request).await.unwrap();
    assert!(finish(&sim, &c, &job).await.succeeded());
}

#[tokio::test]
async fn item_facts_carry_the_active_site_rpo_retention_window_and_group() {
    let sim = sim_with(true, LroHeaders::Both).await;
    let c = client(&sim);
    let it = c.get_protected_item(&dr(), "app-01").await.unwrap();
    assert_eq!(it.active_site_type.as_deref(), Some("Azure"));
    assert_eq!((it.rpo_seconds, it.rpo_within(15)), (Some(30), Some(true)));
    assert!(it.retention_window_start.unwrap() < it.retention_window_end.unwrap());
    assert!(it.allows("UnplannedFailover"));
    assert!(!it.in_named_replication_group());
    let web = c.get_protected_item(&dr(), "web-03").await.unwrap();
    assert_eq!(web.multi_vm_group_name.as_deref(), Some("web-group"));
    assert!(web.multi_vm_group_id.is_some());
}

#[test]
fn the_bodies_are_what_az_powershell_sends() {
    let item = serde_json::to_string(&failback_body(&item_failback("x", RecoveryPointType::LatestTime))).unwrap();
    assert_eq!(
        item,
        r#"{"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired","providerSpecificDetails":{"instanceType":"InMage","recoveryPointType":"LatestTime"}}}"#
    );
    let plan = PlanFailbackRequest { plan_name: "p".into(), recovery_point_type: RecoveryPointType::LatestTag, ..Default::default() };
    assert_eq!(
        serde_json::to_string(&plan_failback_body(&plan)).unwrap(),
        r#"{"properties":{"failoverDirection":"RecoveryToPrimary","sourceSiteOperations":"NotRequired","providerSpecificDetails":[{"instanceType":"InMage","recoveryPointType":"LatestTag"}]}}"#
    );
    let id = "30AE6187-5869-8E44-B8AF6AA66E3ECC8F";
    let policy =
        "/Subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.RecoveryServices/vaults/<vault>/replicationPolicies/Policyv2a";
    let fwd = ForwardReprotectRequest {
        item_name: "x".into(),
        process_server_id: id.into(),
        master_target_id: None,
        run_as_account_id: "2".into(),
        policy_id: policy.into(),
        storage_account_id: Some(String::new()),
        log_storage_account_id: None,
    };
    assert_eq!(
        serde_json::to_string(&forward_reprotect_body(&fwd)).unwrap(),
        format!(
            r#"{{"properties":{{"failoverDirection":"RecoveryToPrimary","providerSpecificDetails":{{"instanceType":"InMageAzureV2","masterTargetId":"{id}","processServerId":"{id}","runAsAccountId":"2","policyId":"{policy}"}}}}}}"#
        )
    );
}

#[tokio::test]
async fn azure_compute_says_whether_the_failed_over_vm_exists_until_the_commit_removes_it() {
    let sim = sim_with(true, LroHeaders::Both).await;
    let c = client(&sim);
    let vm = format!("/subscriptions/{SUB}/resourceGroups/rg-dr-asr/providers/Microsoft.Compute/virtualMachines/app-01");
    assert!(c.azure_vm_exists(&dr(), &vm).await.unwrap());
    assert!(
        c.azure_vm_exists(&dr(), &vm.to_ascii_uppercase().replace("SUBSCRIPTIONS", "subscriptions")).await.unwrap(),
        "ARM ids are case-insensitive"
    );
    let other_group = vm.replace("rg-dr-asr", "rg-gone");
    assert!(!c.azure_vm_exists(&dr(), &other_group).await.unwrap(), "ResourceGroupNotFound: gone too");

    let job = c.fail_back(&dr(), &item_failback("app-01", RecoveryPointType::LatestTime)).await.unwrap();
    finish(&sim, &c, &job).await;
    assert!(c.azure_vm_exists(&dr(), &vm).await.unwrap(), "failback shuts the Azure VM down; only the commit removes it");
    let job = c.commit_failover(&dr(), "app-01").await.unwrap();
    finish(&sim, &c, &job).await;
    assert!(!c.azure_vm_exists(&dr(), &vm).await.unwrap(), "ResourceNotFound after the commit");

    let before = sim.count("GET", "Microsoft.Compute");
    let not_a_vm = format!("/subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr");
    assert!(matches!(c.azure_vm_exists(&dr(), &not_a_vm).await, Err(SiteRecoveryError::Invalid(_))));
    assert_eq!(sim.count("GET", "Microsoft.Compute"), before, "nothing is requested for an id that is not a VM's");
}
