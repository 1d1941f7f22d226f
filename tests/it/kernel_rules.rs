//! `--dry-run --json` lists every rule the kernel receives. A real run
//! logs (at -v) what it hands to Landlock (handled rights, port rules),
//! seccomp and the mount layer, from the very values it installs; this test compares that log with the dry run of
//! the same options, both ways, for several policies and (through
//! scripts/test) Landlock ABI caps.

#![cfg(target_os = "linux")]

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

/// What the run installed, from its -v log: the Landlock handled rights
/// (fs, net, scopes) and the seccomp rules as `syscall errno`.
fn installed(log: &str) -> (Vec<BTreeSet<String>>, BTreeSet<String>) {
    let mut handled = Vec::new();
    let mut seccomp = BTreeSet::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("DEBUG landlock handled ") {
            for key in ["fs=", "net=", "scopes="] {
                let start = rest.find(key).expect(key) + key.len();
                let list = &rest[start..];
                let end = list.find(']').expect("]");
                handled.push(
                    list[1..end]
                        .split(", ")
                        .filter(|s| !s.is_empty())
                        .map(|s| s.trim_matches('"').to_string())
                        .collect(),
                );
            }
        }
        if let Some(rest) = line.strip_prefix("DEBUG seccomp rule ") {
            let field = |k: &str| {
                let start = rest.find(k).expect(k) + k.len();
                rest[start..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_string()
            };
            seccomp.insert(format!("{} {}", field("syscall="), field("errno=")));
        }
    }
    (handled, seccomp)
}

fn planned(doc: &Value) -> (Vec<BTreeSet<String>>, BTreeSet<String>) {
    let k = &doc["kernel_rules"];
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let handled = vec![
        set(&k["landlock"]["fs"]),
        set(&k["landlock"]["net"]),
        set(&k["landlock"]["scopes"]),
    ];
    let seccomp = k["seccomp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["syscall"].as_str().unwrap(),
                r["errno"].as_str().unwrap()
            )
        })
        .collect();
    (handled, seccomp)
}

/// The Landlock port rules (`PORT Rights..`) and mount entries (`what
/// path`) a run set up, from its -v log.
fn installed_ports_mounts(log: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut ports = BTreeSet::new();
    let mut mounts = BTreeSet::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("DEBUG landlock port rule ") {
            let port = rest
                .strip_prefix("port=")
                .and_then(|r| r.split(' ').next())
                .expect("port=");
            let start = rest.find("rights=[").expect("rights=") + "rights=[".len();
            let end = rest[start..].find(']').expect("]") + start;
            let rights: Vec<&str> = rest[start..end]
                .split(", ")
                .map(|s| s.trim_matches('"'))
                .collect();
            ports.insert(format!("{port} {}", rights.join(" ")));
        }
        if let Some(rest) = line.strip_prefix("DEBUG mount entry path=") {
            let (path, what) = rest.rsplit_once(" what=").expect("what=");
            mounts.insert(format!("{} {path}", what.trim_matches('"')));
        }
    }
    (ports, mounts)
}

fn planned_ports_mounts(doc: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let ports = doc["kernel_rules"]["landlock"]["ports"]
        .as_array()
        .expect("kernel_rules.landlock.ports")
        .iter()
        .map(|r| {
            let rights: Vec<&str> = r["rights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            format!("{} {}", r["port"], rights.join(" "))
        })
        .collect();
    let mounts = doc["mount_layer"]["plan"]
        .as_array()
        .expect("mount_layer.plan")
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m["what"].as_str().unwrap(),
                m["path"].as_str().unwrap()
            )
        })
        .collect();
    (ports, mounts)
}

#[test]
fn dry_run_lists_every_installed_rule() {
    let env = TestEnv::new();
    let mut policies: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--net-block"],
        vec!["--allow-connect", "443"],
        vec!["--allow-connect", "443", "--allow-bind", "8080"],
    ];
    if abi() >= 3 {
        policies.push(vec!["--allow", ".", "--allow-delete", "."]);
    }
    for opts in policies {
        let mut dry = vec!["run", "--dry-run", "--json"];
        dry.extend(&opts);
        dry.extend(["--", "/bin/true"]);
        let d = env.nono(&dry);
        d.expect_ok();
        let doc: Value = d.json();
        if doc["kernel_rules"].is_null() {
            return skip("no Landlock here, nothing is installed");
        }
        if doc["kernel"]["enforceable"] == Value::Bool(false) {
            // This kernel cannot enforce it: run refuses, installs nothing.
            let mut run = vec!["run"];
            run.extend(&opts);
            run.extend(["--", "/bin/true"]);
            env.nono(&run).expect_code(125);
            continue;
        }
        let mut run = vec!["-v", "run"];
        run.extend(&opts);
        run.extend(["--", "/bin/true"]);
        let r = env.nono(&run);
        r.expect_ok();
        let (inst_handled, inst_seccomp) = installed(&r.stderr());
        let (plan_handled, plan_seccomp) = planned(&doc);
        assert_eq!(inst_handled.len(), 3, "no Landlock log line\n{r}");
        assert!(!inst_seccomp.is_empty(), "no seccomp log lines\n{r}");
        assert_eq!(
            inst_handled, plan_handled,
            "{opts:?}: Landlock rights installed vs listed by --dry-run\n{r}"
        );
        assert_eq!(
            inst_seccomp, plan_seccomp,
            "{opts:?}: seccomp rules installed vs listed by --dry-run\n{r}"
        );
        // The network rules and the mount entries too.
        let (inst_ports, mut inst_mounts) = installed_ports_mounts(&r.stderr());
        // The run's private directory is named at start: --dry-run shows
        // it as temp_dir (run-XXXXXX), not in the mount plan.
        let tmp_base = std::path::Path::new(doc["temp_dir"]["path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_path_buf();
        inst_mounts.retain(|m| {
            let path = std::path::Path::new(m.split_once(' ').map_or("", |(_, p)| p));
            path.parent() != Some(tmp_base.as_path())
        });
        let (plan_ports, plan_mounts) = planned_ports_mounts(&doc);
        assert_eq!(
            inst_ports, plan_ports,
            "{opts:?}: Landlock port rules installed vs listed by --dry-run\n{r}"
        );
        assert_eq!(
            inst_mounts, plan_mounts,
            "{opts:?}: mount entries set up vs listed by --dry-run\n{r}"
        );
        if opts.contains(&"--allow-connect") {
            assert!(
                plan_ports.contains("443 ConnectTcp"),
                "{opts:?}: {plan_ports:?}"
            );
        }
        // The rules the documentation names are among them.
        for must in [
            "openat2 ENOSYS",
            "fchmodat EPERM",
            "fallocate EPERM",
            "ioctl EPERM",
        ] {
            assert!(plan_seccomp.contains(must), "{opts:?}: {must} missing");
        }
        // And the text dry run shows them too.
        let mut text = vec!["run", "--dry-run"];
        text.extend(&opts);
        text.extend(["--", "/bin/true"]);
        let t = env.nono(&text);
        for rule in &plan_seccomp {
            let name = rule.split(' ').next().unwrap();
            t.expect_stdout_has(&format!("seccomp {name} "));
        }
    }
}

/// `nono setup` lists the seccomp rules of a sandbox without options: the
/// same set a run without options installs.
#[test]
fn setup_lists_the_rules_every_sandbox_gets() {
    let env = TestEnv::new();
    let s = env.nono(["setup", "--json"]);
    let doc: Value = s.json();
    let listed: BTreeSet<String> = doc["seccomp"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["syscall"].as_str().unwrap(),
                r["errno"].as_str().unwrap()
            )
        })
        .collect();
    let r = env.nono(["-v", "run", "--", "/bin/true"]);
    if r.code() != Some(0) {
        return skip(format!("nono cannot run here\n{r}"));
    }
    let (_, installed) = installed(&r.stderr());
    assert_eq!(listed, installed, "{r}");
    for must in ["openat2 ENOSYS", "fchmodat EPERM", "fallocate EPERM"] {
        assert!(listed.contains(must), "{must} missing from setup");
    }
    env.nono(["setup"])
        .expect_stdout_has("openat2")
        .expect_stdout_has("fallocate");
}
