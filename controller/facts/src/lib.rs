//! Plain observed-state types and client traits shared by the controller, the preflight rules and the external clients.
//!
//! Nothing here knows about Kubernetes, SOAP or HTTP: the vCenter crate and the Azure crate fill
//! these structs, the preflight module reads them. Every fact that an observation may fail to
//! produce is an `Option`, so a partial observation is representable and checks can say `Unknown`.

/// `JsonSchema` for a type whose JSON is another type's (an interned form of it): the other's schema, unchanged.
#[macro_export]
macro_rules! schema_as {
    ($ty:ty => $wire:ty) => {
        impl $crate::schemars::JsonSchema for $ty {
            fn inline_schema() -> bool {
                <$wire as $crate::schemars::JsonSchema>::inline_schema()
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$wire as $crate::schemars::JsonSchema>::schema_name()
            }
            fn json_schema(generator: &mut $crate::schemars::SchemaGenerator) -> $crate::schemars::Schema {
                <$wire as $crate::schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

#[doc(hidden)]
pub use schemars;

pub mod arm_id;
pub mod failback;
pub mod names;
pub mod resolve;
pub mod shared_text;
pub mod shared_text_list;
pub mod site_recovery;
pub mod vcenter;

pub use arm_id::ArmId;
pub use failback::*;
pub use names::*;
pub use resolve::*;
pub use shared_text::SharedText;
pub use shared_text_list::SharedTextList;
pub use site_recovery::*;
pub use vcenter::*;

/// Case-insensitive comparison of Azure resource ids (Azure returns both `/subscriptions/` and `/Subscriptions/`).
pub fn same_arm_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Last path segment of an ARM id (the resource's name), or the input when it has no `/`.
pub fn arm_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_ids_differing_only_in_case_are_the_same() {
        assert!(same_arm_id("/Subscriptions/a/resourceGroups/B", "/subscriptions/a/resourcegroups/b/"));
        assert!(!same_arm_id("/subscriptions/a", "/subscriptions/b"));
    }

    #[test]
    fn arm_name_is_the_last_segment() {
        assert_eq!(arm_name("/subscriptions/a/replicationJobs/job-1"), "job-1");
        assert_eq!(arm_name("plain"), "plain");
    }
}
