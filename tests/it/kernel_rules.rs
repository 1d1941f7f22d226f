//! `--dry-run --json` lists every rule the kernel receives. A real run
//! logs (at -v) what it hands to Landlock and seccomp, from the very
//! values it installs; this test compares that log with the dry run of
//! the same options, both ways, for several policies and (through
//! scripts/test) Landlock ABI caps.

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
