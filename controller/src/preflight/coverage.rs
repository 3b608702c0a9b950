//! Traceability from the source document to the rules: every prerequisite, FAQ, note and common problem maps to rule ids.

/// `(distinctive phrase quoted verbatim from the source document, rule ids that enforce or report it)`.
///
/// The tests below read the document and fail when a phrase is no longer in it, an id is not in
/// the catalog, or a bullet, FAQ or admonition of the document is not covered by any phrase.
pub const SOURCE_COVERAGE: &[(&str, &[&str])] = &[
    // Overview
    ("You cannot fail back after you [complete migration]", &["failback-possible"]),
    ("move a virtual machine to another resource group, or delete an Azure virtual machine", &["failback-possible"]),
    ("when you're ready to fail back your VMware virtual machines or Windows/Linux physical servers", &["supported-provider"]),
    // Prerequisites
    ("for discovery of virtual machines on vCenter servers", &["vcenter-permissions", "vcenter-discovered", "run-as-account"]),
    (
        "If snapshots are present on the on-premises master target or the virtual machine, reprotection fails",
        &["mt-no-snapshots", "vm-snapshots-merged"],
    ),
    ("the snapshots on the virtual machine are automatically merged during a reprotect job", &["vm-snapshots-merged"]),
    ("create two additional components", &["ps-heartbeat", "mt-heartbeat"]),
    (
        "A low-latency network is required between the process server and the protected virtual machine",
        &["ps-placement", "replication-network"],
    ),
    ("you might need to create a separate master target server for failback", &["mt-heartbeat"]),
    ("A Linux virtual machine needs a Linux master target server", &["os-match", "group-os-match"]),
    ("A Windows virtual machine needs a Windows master target server", &["os-match", "group-os-match"]),
    ("Common things to check on a master target before reprotect", &["mt-vm-found", "mt-asr-health"]),
    ("the virtual machine must exist in the configuration server database", &["cs-knows-vm", "cs-heartbeat"]),
    ("Make sure that you take regularly scheduled backups of your configuration server", &["cs-heartbeat", "cs-knows-vm"]),
    ("Set the `disk.EnableUUID=true` setting", &["mt-disk-enable-uuid"]),
    ("You cannot use Storage vMotion on the master target server", &["mt-storage-vmotion"]),
    ("Add a new drive to the master target server: a retention drive", &["retention-volume"]),
    // FAQ
    ("reprotection and failback require a site-to-site (S2S) VPN to replicate data", &["replication-network"]),
    (
        "the failed-over virtual machines in Azure can reach (ping) the on-premises configuration server",
        &["replication-network", "agent-registered"],
    ),
    ("This process server should also be able to communicate with the on-premises configuration server", &["ps-heartbeat"]),
    ("Set up your network so that the virtual machines on Azure can reach the process server", &["ps-placement", "replication-network"]),
    ("if you have only an S2S VPN, we recommend deploying the process server in Azure", &["ps-placement"]),
    ("Ensure that enough bandwidth is available over that network channel", &["replication-network"]),
    ("We recommend using an Azure-based process server during failback", &["ps-placement"]),
    (
        "What ports should I open on different components so that reprotection can work?",
        &["cs-heartbeat", "ps-heartbeat", "agent-registered"],
    ),
    ("If you are protecting Windows virtual machines, you need a Windows master target server", &["os-match"]),
    ("For Linux virtual machines, you need to set up an additional on-premises Linux master target", &["os-match"]),
    ("How to install Windows master target server", &["mt-heartbeat", "os-match"]),
    ("How to install Linux master target server", &["mt-heartbeat", "os-match"]),
    ("supports failing back only to a virtual machine file system (VMFS) or vSAN datastore", &["datastore-type", "mt-vmfs-datastore"]),
    ("A NFS datastore is not supported", &["datastore-type", "datastore-visible"]),
    ("you can create a VMFS datastore on-premises and fail back to it", &["datastore-type"]),
    // Common things to check after completing installation of the master target server
    ("the master target server needs access to the on-premises virtual machine's VMDK", &["vm-datastore-access"]),
    (
        "Ensure that the on-premises virtual machine's datastore is mounted on the master target's host with read/write access",
        &["vm-datastore-access", "vm-unambiguous"],
    ),
    ("the Site Recovery service needs to create a new virtual machine during reprotection", &["alternate-location"]),
    ("Choose the ESX host carefully", &["alternate-location"]),
    ("You cannot use Storage vMotion for the master target server", &["mt-storage-vmotion"]),
    ("If a master target undergoes a Storage vMotion task after reprotection", &["mt-storage-vmotion"]),
    ("Add a retention drive to your existing Windows master target server", &["retention-volume"]),
    ("the volume is not used for any other purpose", &["retention-volume"]),
    ("the volume is not in lock mode", &["retention-volume"]),
    ("the volume is not a cache volume", &["retention-volume"]),
    ("the file system type of the volume is not FAT or FAT32", &["retention-volume"]),
    ("the volume capacity is nonzero", &["retention-volume"]),
    ("the default retention volume for Windows is the R volume", &["retention-volume"]),
    ("the default retention volume for Linux is /mnt/retention", &["retention-volume"]),
    ("You need to add a new drive if you're using an existing process server/configuration server machine", &["retention-volume"]),
    ("it takes up to 15 minutes for the drive to appear in the selection on the portal", &["retention-volume"]),
    ("A Linux failed-over virtual machine requires a Linux master target server", &["os-match"]),
    ("Install VMware tools on the master target server", &["mt-vmware-tools"]),
    ("Enable the `disk.EnableUUID=true` parameter", &["mt-disk-enable-uuid"]),
    ("the master target should have at least one VMFS datastore attached", &["mt-vmfs-datastore", "datastore-writable"]),
    ("the master target server cannot have snapshots on the disks", &["mt-no-snapshots"]),
    ("the master target cannot have a Paravirtual SCSI controller", &["mt-scsi-controller"]),
    // Failback policy (commented out in the document, still stated)
    ("This policy get automatically created when you create a forward direction policy", &["failback-policy"]),
    ("This policy is not editable", &["failback-policy"]),
    (
        "RPO Threshold = 15 Mins, Recovery Point Retention = 24 Hours, App Consistency Snapshot Frequency = 60 Mins",
        &["failback-policy", "fb-rpo-within-threshold", "fb-recovery-point"],
    ),
    // Steps to reprotect
    ("it takes some time for the agent to register back to the configuration server (up to 15 minutes)", &["agent-registered"]),
    ("right-click the virtual machine that's been failed over", &["failed-over", "item-unique", "item-owner"]),
    ("select the on-premises master target server and the process server", &["mt-heartbeat", "ps-heartbeat"]),
    ("This option is ignored if the disks already exist, but you still need to specify a value", &["datastore-specified"]),
    ("Choose the retention drive", &["retention-volume"]),
    ("the failback policy is automatically selected", &["failback-policy"]),
    ("If you want to recover to an alternate location", &["alternate-location", "datastore-specified"]),
    (
        "mount the on-premises virtual machine's datastores with read/write access on the master target server's ESXi host",
        &["vm-datastore-access", "datastore-writable"],
    ),
    ("A replication group can be reprotected only through a recovery plan", &["group-recovery-plan", "group-complete"]),
    ("you need to provide the values for every protected machine", &["group-recovery-plan"]),
    ("Use the same master target server to reprotect a replication group", &["group-same-master-target", "group-os-match"]),
    ("the on-premises virtual machine is turned off during reprotection", &["vm-powered-off"]),
    // Next steps
    ("After the virtual machine has entered a protected state", &["fb-item-healthy"]),
    // Common problems
    ("ensure that each virtual machine has its own UUID for the disks", &["disk-uuid-unique"]),
    ("If you perform a read-only user vCenter discovery", &["vcenter-permissions", "datastore-visible"]),
    ("the Network Manager package has been uninstalled from the machine", &["linux-failback-notes"]),
    ("configured with a static IP address and is failed over to Azure", &["linux-failback-notes"]),
    ("ESXi 5.5 free edition or vSphere 6 Hypervisor free edition", &["esxi-edition"]),
    ("use Telnet to check connectivity to the configuration server on port 443", &["ps-heartbeat", "cs-heartbeat"]),
    ("A process server should also have a heartbeat when it is connected to the configuration server", &["ps-heartbeat"]),
    (
        "make sure that your new vCenter and the master target server are discovered",
        &["vcenter-discovered", "mt-heartbeat", "datastore-visible"],
    ),
    ("A Windows Server 2008 R2 SP1 server that is protected as a physical on-premises server", &["unsupported-source"]),
];

#[cfg(test)]
mod tests {
    use super::SOURCE_COVERAGE;
    use crate::preflight::catalog;
    use std::collections::BTreeSet;

    const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/reference/seed/reprotect-azure-to-on-premises.md");

    fn document() -> String {
        std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("cannot read the source document {DOC}: {e}"))
    }

    fn covered(text: &str) -> bool {
        SOURCE_COVERAGE.iter().any(|(phrase, _)| text.contains(phrase))
    }

    /// Lines of the `## heading` section (up to the next `## ` heading).
    fn section<'a>(doc: &'a str, heading: &str) -> Vec<&'a str> {
        doc.lines().skip_while(|l| l.trim_end() != heading).skip(1).take_while(|l| !l.starts_with("## ")).collect()
    }

    #[test]
    fn every_coverage_phrase_is_in_the_source_document_and_every_id_is_a_rule() {
        let doc = document();
        let ids: BTreeSet<&str> = catalog().iter().map(|r| r.id.as_str()).collect();
        for (phrase, rules) in SOURCE_COVERAGE {
            assert!(doc.contains(phrase), "phrase not in the source document: {phrase:?}");
            assert!(!rules.is_empty(), "phrase maps to no rule: {phrase:?}");
            for id in *rules {
                assert!(ids.contains(id), "unknown rule id {id} for {phrase:?}");
            }
        }
    }

    #[test]
    fn every_bullet_under_prerequisites_and_common_problems_is_covered() {
        let doc = document();
        let mut bullets = 0;
        for heading in ["## Prerequisites", "## Common problems"] {
            let lines = section(&doc, heading);
            assert!(!lines.is_empty(), "heading {heading} not found");
            for line in lines.iter().map(|l| l.trim()).filter(|l| l.starts_with("* ")) {
                bullets += 1;
                assert!(covered(line), "bullet under {heading} not covered by SOURCE_COVERAGE: {line}");
            }
        }
        assert!(bullets >= 30, "expected the document's bullets, found {bullets}");
    }

    #[test]
    fn every_faq_answer_is_covered() {
        let doc = document();
        let lines: Vec<&str> = doc.lines().collect();
        let mut faqs = 0;
        for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("#### ")) {
            faqs += 1;
            // The question and its answer, up to the next heading.
            let answer: Vec<&str> = lines[i + 1..].iter().take_while(|l| !l.starts_with('#')).copied().collect();
            assert!(covered(line) || covered(&answer.join("\n")), "FAQ not covered by SOURCE_COVERAGE: {line}");
        }
        assert_eq!(faqs, 5, "the document has five FAQs");
    }

    #[test]
    fn every_warning_note_and_tip_is_covered() {
        let doc = document();
        let lines: Vec<&str> = doc.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("> [!") && !l.starts_with("> [!VIDEO")) {
            let body: Vec<&str> = lines[i + 1..].iter().take_while(|l| l.starts_with('>')).copied().collect();
            assert!(covered(&body.join(" ")), "admonition {line} not covered: {body:?}");
        }
    }

    #[test]
    fn every_rule_is_traced_to_the_source_document() {
        let traced: BTreeSet<&str> = SOURCE_COVERAGE.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        for rule in catalog() {
            assert!(traced.contains(rule.id.as_str()), "rule {} has no phrase in SOURCE_COVERAGE", rule.id);
        }
    }
}
