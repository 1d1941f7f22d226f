//! Built-in data: system defaults and protected paths, kept as TOML next to
//! this file and embedded in the binary.

use serde::Deserialize;

use super::access::Access;

const SYSTEM_TOML: &str = include_str!("data/system.toml");
const PROTECTED_TOML: &str = include_str!("data/protected.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemFile {
    rule: Vec<SystemRule>,
}

/// One group of system default paths that share a reason and rights.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemRule {
    pub why: String,
    #[serde(deserialize_with = "de_access")]
    pub access: Access,
    pub paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectedFile {
    group: Vec<ProtectedGroup>,
}

/// One category of protected paths.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectedGroup {
    pub category: String,
    pub paths: Vec<String>,
    /// Readable (and executable) when granted, never writable: places
    /// whose contents run outside the sandbox later.
    #[serde(default)]
    pub read_only: bool,
}

/// Parses an access string such as `rwx`: r read, x execute, w write,
/// d delete, i ioctl.
pub fn parse_access(s: &str) -> Result<Access, String> {
    let mut a = Access::NONE;
    for c in s.chars() {
        a |= match c {
            'r' => Access::READ,
            'x' => Access::EXECUTE,
            'w' => Access::WRITE,
            'd' => Access::DELETE,
            'i' => Access::IOCTL,
            other => return Err(format!("unknown access letter {other:?} in {s:?}")),
        };
    }
    Ok(a)
}

fn de_access<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Access, D::Error> {
    let s = String::deserialize(d)?;
    parse_access(&s).map_err(serde::de::Error::custom)
}

/// The system defaults. The embedded file is checked by a unit test, so a
/// parse failure here is a build defect; it still fails closed (no rules,
/// and the caller reports the error) rather than panicking.
pub fn system_rules() -> Result<Vec<SystemRule>, toml::de::Error> {
    toml::from_str::<SystemFile>(SYSTEM_TOML).map(|f| f.rule)
}

/// The protected path groups.
pub fn protected_groups() -> Result<Vec<ProtectedGroup>, toml::de::Error> {
    toml::from_str::<ProtectedFile>(PROTECTED_TOML).map(|f| f.group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses() {
        let sys = system_rules().unwrap();
        assert!(sys.iter().any(|r| r.paths.iter().any(|p| p == "/usr")));
        let prot = protected_groups().unwrap();
        let all: Vec<&String> = prot.iter().flat_map(|g| &g.paths).collect();
        for must in [
            "~/.ssh",
            "~/.gnupg",
            "~/.aws",
            "~/.azure",
            "~/.config/gcloud",
            "~/.kube",
            "~/.docker",
            "~/.netrc",
            "~/.git-credentials",
            "~/.npmrc",
            "~/.pypirc",
            "~/.config/gh",
            "~/.password-store",
            "~/.bash_history",
            "~/.bashrc",
            "/etc/shadow",
            "/etc/gshadow",
            "/etc/sudoers",
            "/etc/ssh/ssh_host_*",
            "~/Library/Keychains",
            "~/Library/LaunchAgents",
        ] {
            assert!(all.iter().any(|p| *p == must), "{must} not protected");
        }
    }

    #[test]
    fn system_defaults_never_name_protected_or_shared_tmp() {
        let sys = system_rules().unwrap();
        for r in &sys {
            for p in &r.paths {
                assert!(!p.starts_with('~'), "{p}: no home paths by default");
                for bad in [
                    "/tmp",
                    "/var/tmp",
                    "/dev/shm",
                    "/etc/shadow",
                    "/etc/ssh",
                    "/home",
                    "/root",
                ] {
                    assert!(
                        p != bad && !p.starts_with(&format!("{bad}/")),
                        "{p} must not be a default"
                    );
                }
            }
        }
    }

    #[test]
    fn access_letters() {
        assert_eq!(parse_access("rx").unwrap(), Access::READ_EXEC);
        assert_eq!(parse_access("rxwdi").unwrap(), Access::ALL);
        assert!(parse_access("q").is_err());
    }
}
