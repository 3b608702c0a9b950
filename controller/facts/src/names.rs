//! How names and kinds spelled differently by vCenter, the configuration server and people compare: server addresses,
//! retention volumes, file systems and datastore types. One function per idea, used by the checks and the clients alike.

use std::fmt;

/// The port a vCenter listens on when none is given.
pub const DEFAULT_VCENTER_PORT: u16 = 443;

/// A server address reduced to what identifies it: a lower-case host (name or IP) and an optional port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    /// Lower case, without a trailing dot; IPv6 literals keep their brackets.
    pub host: String,
    pub port: Option<u16>,
}

impl ServerAddress {
    /// Parse `host`, `host:port`, `https://host/sdk`, `https://host:8443/sdk/`, `[::1]:443`, in any case.
    /// `None` when no host is left (blank input, or an unparsable port).
    pub fn parse(spelling: &str) -> Option<ServerAddress> {
        let s = spelling.trim();
        let s = match s.find("://") {
            Some(i) => s.get(i + 3..).unwrap_or_default(),
            None => s,
        };
        // Drop any path (`/sdk`) and user info (`user@host`).
        let authority = s.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            // IPv6 literal: `[addr]` or `[addr]:port`.
            let (addr, after) = rest.split_once(']')?;
            let port = after.strip_prefix(':').map(str::parse::<u16>).transpose().ok()?;
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                // More than one colon without brackets: a bare IPv6 address, no port.
                Some((h, _)) if h.contains(':') => (authority.to_owned(), None),
                Some((h, p)) => (h.to_owned(), Some(p.parse::<u16>().ok()?)),
                None => (authority.to_owned(), None),
            }
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        (!host.is_empty() && host != "[]").then_some(ServerAddress { host, port })
    }

    /// The port, or vCenter's default 443.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_VCENTER_PORT)
    }

    fn is_ip(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<std::net::IpAddr>().is_ok()
    }

    /// First DNS label of a host name (`vc01` of `vc01.contoso.local`); IPs have none.
    fn short_name(&self) -> Option<&str> {
        if self.is_ip() { None } else { self.host.split('.').next() }
    }

    /// The same server: same port (443 when unstated) and the same host, where a short name matches the FQDN it
    /// begins (`vc01` and `vc01.contoso.local`). A name and an IP never match here: compare the IP with an IP.
    pub fn same_server(&self, other: &ServerAddress) -> bool {
        if self.effective_port() != other.effective_port() {
            return false;
        }
        if self.host == other.host {
            return true;
        }
        let one_is_short = !self.host.contains('.') || !other.host.contains('.');
        one_is_short && self.short_name().is_some() && self.short_name() == other.short_name()
    }
}

impl fmt::Display for ServerAddress {
    /// `host` or `host:port`: what the SOAP client puts between `https://` and `/sdk`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The `host[:port]` a vCenter SOAP client needs from any accepted spelling (`https://host/sdk` included);
/// the input unchanged (trimmed) when it cannot be parsed, so the connection error names what was given.
pub fn vcenter_soap_server(spelling: &str) -> String {
    ServerAddress::parse(spelling).map_or_else(|| spelling.trim().to_owned(), |a| a.to_string())
}

/// Compare volume names: Windows drive letters case-insensitively and tolerant of `R`, `R:`, `R:\`; paths exactly,
/// ignoring a trailing `/`.
pub fn same_volume(a: &str, b: &str) -> bool {
    match (drive_letter(a), drive_letter(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
        (None, None) => trim_path(a) == trim_path(b),
        _ => false,
    }
}

/// The drive letter of a Windows volume spelling (`R`, `r:`, `R:\`), `None` for a path.
pub fn drive_letter(v: &str) -> Option<char> {
    let v = v.trim().trim_end_matches(['\\', '/']);
    let v = v.strip_suffix(':').unwrap_or(v);
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(l), None) if l.is_ascii_alphabetic() => Some(l),
        _ => None,
    }
}

fn trim_path(v: &str) -> &str {
    let t = v.trim();
    let trimmed = t.trim_end_matches('/');
    if trimmed.is_empty() { t } else { trimmed }
}

/// A FAT-family file system (`FAT`, `FAT12`, `FAT16`, `FAT32`, `vfat`, `exFAT`, `msdos`): not eligible for retention.
pub fn is_fat_family(file_system: &str) -> bool {
    let fs = file_system.trim().to_ascii_lowercase();
    matches!(fs.as_str(), "fat" | "fat12" | "fat16" | "fat32" | "vfat" | "exfat" | "msdos")
}

/// A datastore type as far as failback cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatastoreKind {
    Vmfs,
    Vsan,
    /// `NFS`, `NFS41`, `nfs`...: never usable for failback.
    Nfs,
    /// Anything else (`VVOL`, `PMEM`, `OTHER`, blank): not known to work.
    Other,
}

impl DatastoreKind {
    /// Classify `summary.type` (vCenter) or `type` (configuration server), in any case.
    pub fn classify(datastore_type: &str) -> DatastoreKind {
        let t = datastore_type.trim().to_ascii_lowercase();
        if t.starts_with("vmfs") {
            DatastoreKind::Vmfs
        } else if t == "vsan" {
            DatastoreKind::Vsan
        } else if t.starts_with("nfs") {
            DatastoreKind::Nfs
        } else {
            DatastoreKind::Other
        }
    }

    /// VMFS or vSAN: what ASR can fail back to.
    pub fn is_supported(self) -> bool {
        matches!(self, DatastoreKind::Vmfs | DatastoreKind::Vsan)
    }
}

/// VMFS or vSAN in any spelling: the only datastore types ASR can fail back to.
pub fn is_vmfs_or_vsan(datastore_type: &str) -> bool {
    DatastoreKind::classify(datastore_type).is_supported()
}

/// The hash of a text whatever its ASCII case (ARM names and ids compare so), after a one-byte `tag` that keeps kinds
/// of text apart: for indexes kept per machine or item, 8 bytes instead of the text. The same in every call of the
/// process (SipHash with fixed keys).
pub fn hash_ignoring_case(tag: u8, text: impl IntoIterator<Item = u8>) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    h.write_u8(tag);
    for b in text {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_hashes_alike_whatever_its_case_and_apart_under_another_tag() {
        assert_eq!(hash_ignoring_case(b'n', "VM-0001".bytes()), hash_ignoring_case(b'n', "vm-0001".bytes()));
        assert_ne!(hash_ignoring_case(b'n', "vm-0001".bytes()), hash_ignoring_case(b'f', "vm-0001".bytes()));
        assert_ne!(hash_ignoring_case(b'n', "vm-0001".bytes()), hash_ignoring_case(b'n', "vm-0002".bytes()));
    }

    fn addr(s: &str) -> ServerAddress {
        ServerAddress::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn every_accepted_server_spelling_reduces_to_host_and_port() {
        for (spelling, host, port) in [
            ("vc01.contoso.local", "vc01.contoso.local", None),
            ("VC01.Contoso.Local.", "vc01.contoso.local", None),
            ("vc01.contoso.local:8443", "vc01.contoso.local", Some(8443)),
            ("https://127.0.0.1/sdk", "127.0.0.1", None),
            ("HTTPS://127.0.0.1:443/sdk/", "127.0.0.1", Some(443)),
            ("https://user@vc01/sdk", "vc01", None),
            ("  127.0.0.1:443  ", "127.0.0.1", Some(443)),
            ("[fd00::1]:443", "[fd00::1]", Some(443)),
            ("https://[fd00::1]/sdk", "[fd00::1]", None),
            ("fd00::1", "fd00::1", None),
        ] {
            assert_eq!(ServerAddress::parse(spelling), Some(ServerAddress { host: host.into(), port }), "{spelling}");
        }
    }

    #[test]
    fn blank_hosts_and_bad_ports_do_not_parse() {
        for s in ["", "   ", "https://", "https:///sdk", "vc01:notaport", "vc01:99999", "[]:443"] {
            assert_eq!(ServerAddress::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn the_soap_server_of_an_sdk_url_is_its_host_only_once() {
        assert_eq!(vcenter_soap_server("https://127.0.0.1/sdk"), "127.0.0.1");
        assert_eq!(vcenter_soap_server("https://vc01:8443/sdk"), "vc01:8443");
        assert_eq!(vcenter_soap_server("127.0.0.1:443"), "127.0.0.1:443");
        assert_eq!(vcenter_soap_server("vc01.contoso.local"), "vc01.contoso.local");
        assert_eq!(vcenter_soap_server(" nonsense:port "), "nonsense:port");
    }

    #[test]
    fn servers_match_across_case_port_spelling_and_short_names() {
        assert!(addr("https://VC01.contoso.local/sdk").same_server(&addr("vc01.contoso.local")));
        assert!(addr("127.0.0.1:443").same_server(&addr("127.0.0.1")));
        assert!(addr("vc01").same_server(&addr("vc01.contoso.local")));
        assert!(addr("vc01.contoso.local").same_server(&addr("VC01")));
        assert!(!addr("vc01:8443").same_server(&addr("vc01")));
        assert!(!addr("vc01.contoso.local").same_server(&addr("vc01.fabrikam.local")));
        assert!(!addr("vc02").same_server(&addr("vc01.contoso.local")));
        assert!(!addr("10.0.0.1").same_server(&addr("10.0.0.10")));
        // The first octet of an IP is not a short name.
        assert!(!addr("10").same_server(&addr("10.0.0.1")));
    }

    #[test]
    fn volume_spellings_compare_like_the_configuration_server() {
        assert!(same_volume("R", "r:\\"));
        assert!(same_volume("R:", "R:\\"));
        assert!(same_volume("/mnt/retention/", "/mnt/retention"));
        assert!(!same_volume("R:", "S:"));
        assert!(!same_volume("R:", "/mnt/retention"));
        assert!(!same_volume("/mnt/Retention", "/mnt/retention"));
    }

    #[test]
    fn every_fat_family_name_is_fat_and_others_are_not() {
        for fs in ["FAT", "fat16", "FAT32", "vfat", "exFAT", "FAT12", "msdos"] {
            assert!(is_fat_family(fs), "{fs}");
        }
        for fs in ["NTFS", "ReFS", "ext4", "xfs", "", "fatal"] {
            assert!(!is_fat_family(fs), "{fs}");
        }
    }

    #[test]
    fn nfs_in_every_spelling_is_unsupported_and_vmfs_and_vsan_are_supported() {
        for t in ["NFS", "NFS41", "nfs", "nfs41"] {
            assert_eq!(DatastoreKind::classify(t), DatastoreKind::Nfs, "{t}");
            assert!(!is_vmfs_or_vsan(t));
        }
        for t in ["VMFS", "vmfs", "vsan", "vSAN"] {
            assert!(is_vmfs_or_vsan(t), "{t}");
        }
        for t in ["VVOL", "PMEM", "OTHER", ""] {
            assert_eq!(DatastoreKind::classify(t), DatastoreKind::Other, "{t}");
        }
    }
}
