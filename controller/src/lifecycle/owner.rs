//! One item, one owner (pure): of the ProtectedMachines that name the same protected item, the oldest acts and
//! every other is blocked (`item-owner`), in any watched namespace.

use jiff::Timestamp;
use reprotect_facts::{ArmId, ProtectedItemFacts, VaultRef};

/// What decides whether another ProtectedMachine claims an item, and which of two is older.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    /// `namespace/name`, for messages and as the tie-breaker.
    pub key: String,
    pub created: Option<Timestamp>,
    /// The vault of its policy (`None`: the policy is not in the store).
    pub vault: Option<VaultRef>,
    pub item_name: Option<String>,
    pub friendly_name: Option<String>,
    /// The item id its status recorded once it resolved its item.
    pub status_item_id: Option<ArmId>,
}

fn same_vault(a: &VaultRef, b: &VaultRef) -> bool {
    a.subscription_id.eq_ignore_ascii_case(&b.subscription_id)
        && a.resource_group.eq_ignore_ascii_case(&b.resource_group)
        && a.vault_name.eq_ignore_ascii_case(&b.vault_name)
}

fn eq(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// Whether a machine with these recorded/declared names can name `item` at all, in any vault: a cheap,
/// allocation-free first cut over every machine of the watched scopes (a pass builds a [`Claimant`] only for the
/// few that pass it; building one for each of 10,000 machines per pass was most of a pass's memory and time).
pub fn may_claim(status_item_id: Option<&ArmId>, item_name: Option<&str>, friendly_name: Option<&str>, item: &ProtectedItemFacts) -> bool {
    status_item_id.is_some_and(|id| id.eq_ignore_ascii_case(&item.id)) || names(item_name, friendly_name, item)
}

fn names(item_name: Option<&str>, friendly_name: Option<&str>, item: &ProtectedItemFacts) -> bool {
    match item_name {
        Some(name) => name.eq_ignore_ascii_case(&item.name),
        None => eq(friendly_name, item.friendly_name.as_deref()),
    }
}

impl Claimant {
    /// Whether this machine names `item` of `vault`: by the item id in its status, or by the name or friendly name
    /// in its spec (ARM names are case-insensitive).
    pub fn claims(&self, vault: &VaultRef, item: &ProtectedItemFacts) -> bool {
        if self.status_item_id.as_ref().is_some_and(|id| id.eq_ignore_ascii_case(&item.id)) {
            return true;
        }
        self.vault.as_ref().is_some_and(|v| same_vault(v, vault)) && names(self.item_name.as_deref(), self.friendly_name.as_deref(), item)
    }

    /// Oldest first; same second (creation times have one-second resolution): by `namespace/name`.
    fn order(&self) -> (bool, Option<Timestamp>, &str) {
        (self.created.is_none(), self.created, self.key.as_str())
    }
}

/// The machine that owns `item` when it is not `me`: the oldest of `me` and the `others` that claim it.
pub fn earlier_owner<'a>(
    me: &Claimant,
    vault: &VaultRef,
    item: &ProtectedItemFacts,
    others: impl IntoIterator<Item = &'a Claimant>,
) -> Option<String> {
    others
        .into_iter()
        .filter(|c| c.key != me.key && c.claims(vault, item))
        .filter(|c| c.order() < me.order())
        .min_by(|a, b| a.order().cmp(&b.order()))
        .map(|c| c.key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(name: &str) -> VaultRef {
        VaultRef {
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            vault_name: name.into(),
            fabric_name: "cs".into(),
            container_name: None,
        }
    }

    fn item() -> ProtectedItemFacts {
        ProtectedItemFacts {
            id: "/subscriptions/sub/.../replicationProtectedItems/item-1".into(),
            name: "item-1".into(),
            friendly_name: Some("app-01".into()),
            ..ProtectedItemFacts::default()
        }
    }

    fn claimant(key: &str, created: i64) -> Claimant {
        Claimant {
            key: key.into(),
            created: Timestamp::from_second(1_800_000_000 + created).ok(),
            vault: Some(vault("v")),
            item_name: Some("ITEM-1".into()),
            friendly_name: None,
            status_item_id: None,
        }
    }

    #[test]
    fn the_cheap_first_cut_keeps_every_machine_that_claims_the_item_and_drops_those_naming_another() {
        let it = item();
        let cases = [
            claimant("ns/by-name", 0),
            Claimant { item_name: None, friendly_name: Some("APP-01".into()), ..claimant("ns/by-friendly", 0) },
            Claimant {
                item_name: Some("other".into()),
                status_item_id: Some(ArmId::new(&it.id.text().to_uppercase())),
                ..claimant("ns/by-id", 0)
            },
            Claimant { vault: Some(vault("elsewhere")), ..claimant("ns/other-vault", 0) },
            Claimant { item_name: Some("item-2".into()), ..claimant("ns/other-item", 0) },
            Claimant { item_name: None, friendly_name: Some("app-02".into()), ..claimant("ns/other-friendly", 0) },
        ];
        for c in &cases {
            let cut = may_claim(c.status_item_id.as_ref(), c.item_name.as_deref(), c.friendly_name.as_deref(), &it);
            assert!(cut || !c.claims(&vault("v"), &it), "{} claims the item but the first cut dropped it", c.key);
            assert_eq!(cut, !c.key.contains("other-item") && !c.key.contains("other-friendly"), "{}", c.key);
        }
    }

    #[test]
    fn the_younger_of_two_machines_naming_the_same_item_is_not_its_owner_and_the_older_is() {
        let (old, young) = (claimant("team-a/app", 0), claimant("team-b/app", 5));
        assert_eq!(earlier_owner(&young, &vault("v"), &item(), [&old]).as_deref(), Some("team-a/app"));
        assert_eq!(earlier_owner(&old, &vault("V"), &item(), [&young]), None);
    }

    #[test]
    fn machines_created_in_the_same_second_are_ordered_by_namespace_and_name_so_exactly_one_owns_the_item() {
        let (a, b) = (claimant("ns/a", 0), claimant("ns/b", 0));
        assert_eq!(earlier_owner(&b, &vault("v"), &item(), [&a]).as_deref(), Some("ns/a"));
        assert_eq!(earlier_owner(&a, &vault("v"), &item(), [&b]), None);
    }

    #[test]
    fn a_friendly_name_or_a_recorded_item_id_claims_the_item_too_but_another_vault_does_not() {
        let me = claimant("ns/z", 9);
        let by_friendly = Claimant { item_name: None, friendly_name: Some("APP-01".into()), ..claimant("ns/f", 1) };
        assert_eq!(earlier_owner(&me, &vault("v"), &item(), [&by_friendly]).as_deref(), Some("ns/f"));
        let by_status = Claimant {
            vault: None,
            item_name: None,
            status_item_id: Some(ArmId::new(&item().id.text().to_uppercase())),
            ..claimant("ns/s", 1)
        };
        assert_eq!(earlier_owner(&me, &vault("v"), &item(), [&by_status]).as_deref(), Some("ns/s"));
        let other_vault = Claimant { vault: Some(vault("other")), ..claimant("ns/o", 1) };
        assert_eq!(earlier_owner(&me, &vault("v"), &item(), [&other_vault]), None);
    }
}
