//! Named host groups (`@registries`, `@github`, ...) for profiles'
//! `[network] allow_hosts`, kept as data in `data/hosts.toml` with the
//! reason for every host.

use serde::Deserialize;

const DATA: &str = include_str!("data/hosts.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    group: Vec<Group>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub description: String,
    pub hosts: Vec<Host>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub host: String,
    pub why: String,
}

/// Every built-in group. The data is compiled in and checked by a unit
/// test, so an error here is a build defect; it is still reported, not
/// panicked on.
pub fn all() -> Result<Vec<Group>, String> {
    toml::from_str::<File>(DATA)
        .map(|f| f.group)
        .map_err(|e| format!("built-in host groups: {e}"))
}

/// The group called `name` (without `@`).
#[cfg(test)]
pub fn find(name: &str) -> Result<Option<Group>, String> {
    Ok(all()?.into_iter().find(|g| g.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_parses_and_every_host_is_a_valid_entry_with_a_reason() {
        let groups = all().unwrap();
        assert!(groups.len() >= 5);
        for g in &groups {
            assert!(!g.hosts.is_empty(), "{}", g.name);
            for h in &g.hosts {
                crate::proxy::allow::parse_rule(&h.host).unwrap();
                assert!(!h.why.is_empty(), "{}", h.host);
            }
        }
        assert!(find("github").unwrap().is_some());
        assert!(find("nope").unwrap().is_none());
    }
}
