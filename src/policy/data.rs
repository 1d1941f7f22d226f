//! Built-in data: system defaults and protected paths, kept as TOML next to
//! this file (`data/*.toml`, the source of truth) and compiled by `build.rs`
//! into the static tables below: no run parses them.

use super::access::Access;

/// One group of system default paths that share a reason and rights.
#[derive(Debug)]
pub struct SystemRule {
    pub why: String,
    pub access: Access,
    pub paths: Vec<String>,
}

/// One category of protected paths.
#[derive(Debug)]
pub struct ProtectedGroup {
    pub category: String,
    pub paths: Vec<String>,
    /// Readable (and executable) when granted, never writable: places
    /// whose contents run outside the sandbox later.
    pub read_only: bool,
}

/// A `[[rule]]` of `data/system.toml` as compiled by `build.rs`.
struct SystemRow {
    why: &'static str,
    access: Access,
    paths: &'static [&'static str],
}

/// A `[[group]]` of `data/protected.toml` as compiled by `build.rs`.
struct ProtectedRow {
    category: &'static str,
    paths: &'static [&'static str],
    read_only: bool,
}

static SYSTEM: &[SystemRow] = include!(concat!(env!("OUT_DIR"), "/system.rs"));
static PROTECTED: &[ProtectedRow] = include!(concat!(env!("OUT_DIR"), "/protected.rs"));

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// Parses an access string such as `rwx`: r read, x execute, w write,
/// d delete, i ioctl. `build.rs` does the same for the compiled tables;
/// the tests check that both agree.
#[cfg(test)]
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

/// The system defaults. Compiled from `data/system.toml` by `build.rs`
/// (a malformed file fails the build), so this cannot fail; the `Result`
/// keeps the callers' error path for data that could.
pub fn system_rules() -> Result<Vec<SystemRule>, std::convert::Infallible> {
    Ok(SYSTEM
        .iter()
        .map(|r| SystemRule {
            why: r.why.to_string(),
            access: r.access,
            paths: owned(r.paths),
        })
        .collect())
}

/// The protected path groups, compiled from `data/protected.toml`.
pub fn protected_groups() -> Result<Vec<ProtectedGroup>, std::convert::Infallible> {
    Ok(PROTECTED
        .iter()
        .map(|g| ProtectedGroup {
            category: g.category.to_string(),
            paths: owned(g.paths),
            read_only: g.read_only,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::schema;

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

    /// The compiled tables are exactly the TOML files, parsed afresh.
    #[test]
    fn compiled_data_equals_the_toml() {
        let sys: schema::SystemFile = toml::from_str(include_str!("data/system.toml")).unwrap();
        let compiled = system_rules().unwrap();
        assert_eq!(sys.rule.len(), compiled.len());
        for (t, c) in sys.rule.iter().zip(&compiled) {
            assert_eq!(t.why, c.why);
            assert_eq!(parse_access(&t.access).unwrap(), c.access, "{}", t.why);
            assert_eq!(t.paths, c.paths);
        }
        let prot: schema::ProtectedFile =
            toml::from_str(include_str!("data/protected.toml")).unwrap();
        let compiled = protected_groups().unwrap();
        assert_eq!(prot.group.len(), compiled.len());
        for (t, c) in prot.group.iter().zip(&compiled) {
            assert_eq!(t.category, c.category);
            assert_eq!(t.paths, c.paths);
            assert_eq!(t.read_only, c.read_only, "{}", t.category);
        }
    }

    #[test]
    fn access_letters() {
        assert_eq!(parse_access("rx").unwrap(), Access::READ_EXEC);
        assert_eq!(parse_access("rxwdi").unwrap(), Access::ALL);
        assert!(parse_access("q").is_err());
    }
}
