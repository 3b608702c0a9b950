//! reprotect-controller: declarative Azure Site Recovery reprotect for VMware VMs failed over to Azure.

pub mod preflight;
