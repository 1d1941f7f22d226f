//! Named host groups (`@registries`, `@github`, ...) for profiles'
//! `[network] allow_hosts`, kept as data in `data/hosts.toml` with the
//! reason for every host.

use std::sync::OnceLock;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub description: String,
    pub hosts: Vec<Host>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub host: String,
    pub why: String,
}

/// A `[[group]]` of `data/hosts.toml` as compiled by `build.rs`; hosts are
/// `(host, why)`.
struct GroupRow {
    name: &'static str,
    description: &'static str,
    hosts: &'static [(&'static str, &'static str)],
}

static GROUPS: &[GroupRow] = include!(concat!(env!("OUT_DIR"), "/hosts.rs"));

/// Every built-in group, compiled from `data/hosts.toml` by `build.rs` (a
/// malformed file fails the build) and built once per process: only runs
/// whose host rules name a group ever ask. Nothing here fails; the
/// `Result` keeps the callers' error path.
pub fn all() -> Result<&'static [Group], String> {
    static ALL: OnceLock<Vec<Group>> = OnceLock::new();
    Ok(ALL.get_or_init(|| {
        GROUPS
            .iter()
            .map(|g| Group {
                name: g.name.to_string(),
                description: g.description.to_string(),
                hosts: g
                    .hosts
                    .iter()
                    .map(|(host, why)| Host {
                        host: (*host).to_string(),
                        why: (*why).to_string(),
                    })
                    .collect(),
            })
            .collect()
    }))
}

/// The group called `name` (without `@`).
#[cfg(test)]
pub fn find(name: &str) -> Result<Option<Group>, String> {
    Ok(all()?.iter().find(|g| g.name == name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_parses_and_every_host_is_a_valid_entry_with_a_reason() {
        let groups = all().unwrap();
        assert!(groups.len() >= 5);
        for g in groups {
            assert!(!g.hosts.is_empty(), "{}", g.name);
            for h in &g.hosts {
                crate::proxy::allow::parse_rule(&h.host).unwrap();
                assert!(!h.why.is_empty(), "{}", h.host);
            }
        }
        assert!(find("github").unwrap().is_some());
        assert!(find("nope").unwrap().is_none());
    }

    /// The compiled groups are exactly `data/hosts.toml`, parsed afresh.
    #[test]
    fn compiled_data_equals_the_toml() {
        let f: crate::test_support::schema::HostsFile =
            toml::from_str(include_str!("data/hosts.toml")).unwrap();
        let parsed: Vec<Group> = f
            .group
            .into_iter()
            .map(|g| Group {
                name: g.name,
                description: g.description,
                hosts: g
                    .hosts
                    .into_iter()
                    .map(|h| Host {
                        host: h.host,
                        why: h.why,
                    })
                    .collect(),
            })
            .collect();
        assert_eq!(parsed, all().unwrap());
    }
}
