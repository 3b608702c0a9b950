//! Ids the simulator makes up: stable GUID-shaped ones derived from names, and random GUIDs.

use crate::scenario::MasterTargetSpec;

/// A stable GUID-shaped id derived from a name (FNV-1a).
pub fn stable_id(seed: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in seed.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let s = format!("{h:032x}");
    format!("{}-{}-{}-{}-{}", &s[0..8], &s[8..12], &s[12..16], &s[16..20], &s[20..32])
}

/// A random GUID.
pub fn new_guid() -> String {
    let v: u128 = rand::random();
    let s = format!("{v:032x}");
    format!("{}-{}-4{}-a{}-{}", &s[0..8], &s[8..12], &s[13..16], &s[17..20], &s[20..32])
}

pub fn mt_id(fabric: &str, mt: &MasterTargetSpec) -> String {
    mt.id.clone().unwrap_or_else(|| stable_id(&format!("mt/{fabric}/{}", mt.name)))
}
