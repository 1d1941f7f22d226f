//! `nono why`, `--json`, `nono setup`, completions and the man page.
//!
//! The central test: for a table of grants, paths and operations, `why`
//! predicts the outcome and the real sandbox (`nono run ... -- sh -c PROBE`)
//! must agree, in both directions. Every denial is also checked for its
//! effect (file intact, content not printed) and against a control that
//! shows the probe can succeed (without nono, or with the suggestion `why`
//! offers).

// Linux-only: the reality table, `setup` and the dry-run documents
// describe Landlock and seccomp. The macOS suite is tests/it/macos.rs.
#![cfg(target_os = "linux")]

use crate::common;
use crate::json_doc;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const OK: &str = "PROBE-OK";

/// How a case is tried in the real sandbox.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Probe {
    /// cat the file
    Cat,
    /// list the directory
    Ls,
    /// append to an existing file (no truncation)
    Append,
    /// create a new file
    Create,
    /// os.unlink (python3: not `rm`, which the blocklist may block)
    Unlink,
    /// execute it
    Exec,
}

impl Probe {
    fn op(self) -> &'static str {
        match self {
            Probe::Cat | Probe::Ls => "read",
            Probe::Append | Probe::Create => "write",
            Probe::Unlink => "delete",
            Probe::Exec => "exec",
        }
    }

    /// `p` is embedded in double quotes so that `$TMPDIR` expands inside
    /// the sandbox; test paths contain no other shell specials.
    fn script(self, p: &str) -> String {
        let body = match self {
            Probe::Cat => format!("cat \"{p}\""),
            Probe::Ls => format!("ls -a \"{p}\" >/dev/null"),
            Probe::Append => format!("printf appended >> \"{p}\""),
            Probe::Create => format!(": >> \"{p}\""),
            Probe::Unlink => {
                format!("/usr/bin/python3 -c 'import os,sys; os.unlink(sys.argv[1])' \"{p}\"")
            }
            Probe::Exec => format!("\"{p}\""),
        };
        format!("{body} && echo {OK}")
    }
}

struct Case {
    name: &'static str,
    grants: Vec<String>,
    /// As given to `why`; `$TMPDIR/...` is passed literally.
    path: String,
    probe: Probe,
    /// Run before the probe, in the same shell (inside the sandbox).
    pre: &'static str,
    expect_allowed: bool,
    /// The unsandboxed control only works as root (e.g. /etc/shadow).
    control_needs_root: bool,
}

fn env_with_extras() -> TestEnv {
    let env = TestEnv::new();
    std::os::unix::fs::symlink(env.outside.join("marker.txt"), env.work.join("link-out")).unwrap();
    fs::copy("/bin/true", env.work.join("tool")).unwrap();
    fs::copy("/bin/true", env.outside.join("tool")).unwrap();
    fs::write(env.work.join("script.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(
        env.work.join("script.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::write(env.home.join("readme.txt"), "readme\n").unwrap();
    env
}

fn cases(env: &TestEnv) -> Vec<Case> {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let work = |r: &str| s(&env.work.join(r));
    let home = |r: &str| s(&env.home.join(r));
    let outside = |r: &str| s(&env.outside.join(r));
    let g = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let case = |name, grants: Vec<String>, path: String, probe, expect_allowed| Case {
        name,
        grants,
        path,
        probe,
        pre: "",
        expect_allowed,
        control_needs_root: false,
    };
    vec![
        case(
            "granted file",
            g(&["--allow", "."]),
            work("keep.txt"),
            Probe::Cat,
            true,
        ),
        case(
            "outside every grant",
            g(&["--allow", "."]),
            outside("marker.txt"),
            Probe::Cat,
            false,
        ),
        case(
            "protected under --allow ~",
            g(&["--allow", "~"]),
            home(".ssh/id_ed25519"),
            Probe::Cat,
            false,
        ),
        case(
            "protected start-up file",
            g(&["--allow", "~"]),
            home(".bashrc"),
            Probe::Cat,
            false,
        ),
        case(
            "carve-out sibling",
            g(&["--allow", "~"]),
            home("notes/todo.txt"),
            Probe::Cat,
            true,
        ),
        case(
            "nested carve-out sibling",
            g(&["--allow", "~"]),
            home(".config/app/settings"),
            Probe::Cat,
            true,
        ),
        case(
            "listing the carved home",
            g(&["--allow", "~"]),
            home(""),
            Probe::Ls,
            // The mount layer masks the protected entries instead, so the
            // home lists as a whole.
            mount_layer_active(),
        ),
        case(
            "new entry in the carved home",
            g(&["--allow", "~"]),
            home("new.txt"),
            Probe::Create,
            false,
        ),
        case(
            "new entry in a carve-out sibling",
            g(&["--allow", "~"]),
            home("notes/new.txt"),
            Probe::Create,
            true,
        ),
        case(
            "delete protection",
            g(&["--allow", "."]),
            work("keep.txt"),
            Probe::Unlink,
            false,
        ),
        case(
            "--allow-delete",
            g(&["--allow", ".", "--allow-delete", "."]),
            work("keep.txt"),
            Probe::Unlink,
            true,
        ),
        case(
            "delete in a carved home",
            g(&["--allow", "~", "--allow-delete", "~"]),
            home("readme.txt"),
            Probe::Unlink,
            false,
        ),
        case(
            "delete in a carve-out sibling",
            g(&["--allow", "~", "--allow-delete", "~"]),
            home("notes/todo.txt"),
            Probe::Unlink,
            true,
        ),
        case(
            "delete a symlink removes the link",
            g(&["--allow", ".", "--allow-delete", "."]),
            work("link-out"),
            Probe::Unlink,
            true,
        ),
        case(
            "symlink to outside",
            g(&["--allow", "."]),
            work("link-out"),
            Probe::Cat,
            false,
        ),
        case(
            "symlink to a granted target",
            g(&["--allow", ".", "--read", &outside("")]),
            work("link-out"),
            Probe::Cat,
            true,
        ),
        case(
            "append under --read",
            g(&["--read", "."]),
            work("keep.txt"),
            Probe::Append,
            false,
        ),
        case(
            "append under --allow",
            g(&["--allow", "."]),
            work("keep.txt"),
            Probe::Append,
            true,
        ),
        case(
            "create outside",
            g(&["--allow", "."]),
            outside("new.txt"),
            Probe::Create,
            false,
        ),
        case(
            "create in TMPDIR",
            g(&[]),
            "$TMPDIR/new.txt".into(),
            Probe::Create,
            true,
        ),
        Case {
            pre: ": > \"$TMPDIR/f\" && ",
            ..case(
                "delete in TMPDIR",
                g(&[]),
                "$TMPDIR/f".into(),
                Probe::Unlink,
                true,
            )
        },
        case(
            "exec granted",
            g(&["--allow", "."]),
            work("tool"),
            Probe::Exec,
            true,
        ),
        case(
            "exec under --write",
            g(&["--write", "."]),
            work("tool"),
            Probe::Exec,
            false,
        ),
        case(
            "exec outside",
            g(&["--allow", "."]),
            outside("tool"),
            Probe::Exec,
            false,
        ),
        case(
            "exec a script under --read",
            g(&["--read", "."]),
            work("script.sh"),
            Probe::Exec,
            true,
        ),
        case(
            "system default",
            g(&[]),
            "/etc/passwd".into(),
            Probe::Cat,
            true,
        ),
        Case {
            control_needs_root: true,
            ..case(
                "system secret",
                g(&["--allow", "."]),
                "/etc/shadow".into(),
                Probe::Cat,
                false,
            )
        },
    ]
}

/// `nono why --json GRANTS --op OP PATH`: the document and the exit status.
fn why_json(env: &TestEnv, grants: &[String], op: &str, path: &str) -> (Value, i32) {
    let mut args: Vec<String> = vec!["why".into(), "--json".into()];
    args.extend(grants.iter().cloned());
    args.extend(["--op".into(), op.into(), path.into()]);
    let run = env.nono(&args);
    let code = run.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "why failed\n{run}");
    let doc = run.json();
    assert_eq!(
        doc["allowed"].as_bool(),
        Some(code == 0),
        "exit status vs verdict\n{run}"
    );
    (doc, code)
}

fn probe_run(env: &TestEnv, grants: &[String], case: &Case) -> Run {
    let script = format!("{}{}", case.pre, case.probe.script(&case.path));
    let g: Vec<&str> = grants.iter().map(String::as_str).collect();
    env.sandboxed_sh(&g, &script)
}

fn succeeded(r: &Run) -> bool {
    r.code() == Some(0) && r.stdout().contains(OK)
}

/// With the mount layer a protected file is masked, not denied: reading it
/// succeeds and yields nothing, so a read that succeeded without the
/// file's content counts as denied (its content is what why speaks of).
fn masked(case: &Case, run: &Run, before: Option<&[u8]>) -> bool {
    if !mount_layer_active() || !matches!(case.probe, Probe::Cat) {
        return false;
    }
    let content = String::from_utf8_lossy(before.unwrap_or_default());
    let content = content.trim();
    !content.is_empty() && !run.stdout().contains(content)
}

/// Checks that a denied probe left no effect.
fn assert_no_effect(case: &Case, run: &Run, before: Option<&[u8]>) {
    let p = Path::new(&case.path);
    match case.probe {
        Probe::Cat => {
            if let Some(b) = before {
                let content = String::from_utf8_lossy(b);
                let content = content.trim();
                if !content.is_empty() {
                    assert!(
                        !run.stdout().contains(content),
                        "{}: content leaked\n{run}",
                        case.name
                    );
                }
            }
        }
        Probe::Append | Probe::Unlink => {
            let after = fs::read(p).ok();
            assert_eq!(
                after.as_deref(),
                before,
                "{}: file changed\n{run}",
                case.name
            );
        }
        Probe::Create => assert!(
            fs::symlink_metadata(p).is_err(),
            "{}: file was created\n{run}",
            case.name
        ),
        Probe::Ls | Probe::Exec => {}
    }
}

#[test]
fn why_agrees_with_the_real_sandbox() {
    let mut allowed_seen = 0;
    let mut denied_seen = 0;
    let names: Vec<&str> = cases(&env_with_extras()).iter().map(|c| c.name).collect();
    for (i, name) in names.iter().enumerate() {
        // A fresh tree per case: probes change files.
        let env = env_with_extras();
        let case = &cases(&env)[i];
        assert_eq!(case.name, *name);
        let (doc, _) = why_json(&env, &case.grants, case.probe.op(), &case.path);
        let predicted = doc["allowed"].as_bool().unwrap();
        assert_eq!(
            predicted, case.expect_allowed,
            "{}: unexpected prediction\n{doc:#}",
            case.name
        );

        let before = fs::read(&case.path).ok();
        let run = probe_run(&env, &case.grants, case);
        assert_eq!(
            succeeded(&run) && !masked(case, &run, before.as_deref()),
            predicted,
            "{}: why predicted allowed={predicted}, the sandbox disagrees\nwhy: {doc:#}\n{run}",
            case.name
        );
        if predicted {
            allowed_seen += 1;
            continue;
        }
        denied_seen += 1;
        assert_no_effect(case, &run, before.as_deref());

        // The probe must be able to succeed: with the suggestion when why
        // offers one (which must then really allow it), else without nono.
        if let Some(args) = doc["suggestion"]["args"].as_array() {
            let mut grants = case.grants.clone();
            grants.extend(args.iter().map(|a| a.as_str().unwrap().to_string()));
            let (again, code) = why_json(&env, &grants, case.probe.op(), &case.path);
            assert_eq!(
                code, 0,
                "{}: the suggestion does not allow it\n{again:#}",
                case.name
            );
            let run = probe_run(&env, &grants, case);
            assert!(
                succeeded(&run),
                "{}: the suggestion does not work in the sandbox\n{run}",
                case.name
            );
        } else {
            assert!(
                doc["no_suggestion"].is_string(),
                "{}: denied without a suggestion must say why\n{doc:#}",
                case.name
            );
            if case.control_needs_root && !is_root() {
                continue;
            }
            let control = env.plain_sh(&format!("{}{}", case.pre, case.probe.script(&case.path)));
            assert!(
                succeeded(&control),
                "{}: control failed\n{control}",
                case.name
            );
        }
    }
    assert!(allowed_seen >= 10 && denied_seen >= 10);
}

#[test]
fn why_names_the_deciding_rule() {
    let env = env_with_extras();
    let grants = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let code = |g: &[&str], op: &str, p: &Path| {
        let (doc, _) = why_json(&env, &grants(g), op, p.to_str().unwrap());
        doc["reason"]["code"].as_str().unwrap().to_string()
    };
    assert_eq!(
        code(&["--allow", "~"], "read", &env.home.join(".ssh/id_ed25519")),
        "protected"
    );
    // With the mount layer the carved home is listable as a whole (its
    // protected entries are masked).
    let listable = if mount_layer_active() {
        "granted"
    } else {
        "carve_out"
    };
    assert_eq!(code(&["--allow", "~"], "read", &env.home), listable);
    assert_eq!(
        code(&["--allow", "~"], "write", &env.home.join("later.txt")),
        "carve_out"
    );
    assert_eq!(
        code(&["--allow", "."], "delete", &env.work.join("keep.txt")),
        "delete_protected"
    );
    assert_eq!(
        code(&["--allow", "."], "read", &env.work.join("keep.txt")),
        "granted"
    );
    assert_eq!(
        code(&[], "read", &env.outside.join("marker.txt")),
        "not_granted"
    );
    let (doc, _) = why_json(&env, &[], "write", "$TMPDIR/x");
    assert_eq!(doc["reason"]["code"], "temp_dir");
    assert_eq!(doc["path"]["in_temp_dir"], true);

    // The deciding grant and flag are named, in text too.
    let run = env.nono(["why", "--allow", ".", "keep.txt"]);
    run.expect_code(0)
        .expect_stdout_has("ALLOWED: read keep.txt")
        .expect_stdout_has("--allow .");
    let run = env.nono(["why", "--allow", ".", "link-out"]);
    run.expect_code(1)
        .expect_stdout_has("symlink")
        .expect_stdout_has("the kernel follows symlinks")
        .expect_stdout_has(&format!(
            "--read {}",
            env.outside.join("marker.txt").display()
        ));
    let run = env.nono(["why", "--allow", "~"]);
    assert_eq!(
        run.code(),
        Some(125),
        "missing PATH is a usage error\n{run}"
    );
    env.nono(["why", "--allow", "/nonexistent-nono", "x"])
        .expect_code(125)
        .expect_stderr_has("nono: path does not exist");
}

// ---------------------------------------------------------------------------
// JSON against docs/json.md

/// Checks documents of one kind against the documentation, both ways, and
/// returns the keys seen.
fn check_against_docs(marker: &str, docs: &[Value]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for doc in docs {
        assert_eq!(doc["schema_version"], 1);
        seen.extend(json_doc::check_keys(marker, doc));
    }
    seen
}

#[test]
fn json_documents_match_the_documentation() {
    let env = env_with_extras();
    let p = |x: PathBuf| x.to_str().unwrap().to_string();
    let mut whys = Vec::new();
    for args in [
        vec![
            "why".to_string(),
            "--json".into(),
            "--allow".into(),
            "~".into(),
            p(env.home.join(".ssh/id_ed25519")),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow".into(),
            "~".into(),
            p(env.home.join("notes/todo.txt")),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow".into(),
            "~".into(),
            "--op".into(),
            "write".into(),
            p(env.home.join("x")),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow".into(),
            ".".into(),
            "link-out".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow".into(),
            ".".into(),
            "--op".into(),
            "delete".into(),
            "keep.txt".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--op".into(),
            "exec".into(),
            "/usr/bin/env".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--command".into(),
            "rm".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--command".into(),
            "ls".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--net-block".into(),
            "--connect".into(),
            "443".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--connect".into(),
            "443".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--env".into(),
            "GITHUB_TOKEN".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow-env".into(),
            "GITHUB_*".into(),
            "--env".into(),
            "GITHUB_TOKEN".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow-host".into(),
            "*.example.com".into(),
            "--host".into(),
            "api.example.com".into(),
        ],
        vec![
            "why".into(),
            "--json".into(),
            "--allow-host".into(),
            "api.example.com".into(),
            "--host".into(),
            "evil.example:8443".into(),
        ],
    ] {
        let run = env.nono(&args);
        assert!(matches!(run.code(), Some(0 | 1)), "{run}");
        whys.push(run.json());
    }
    let seen = check_against_docs("nono why", &whys);
    // The documentation is not stale: every key it lists shows up.
    for spec in json_doc::documented_keys("nono why") {
        // Nested origins (a carve-out of a system default, an execute split
        // of a carve-out) need a particular machine layout to show up.
        let rare = spec.path.ends_with("from.why") || spec.path.contains(".from.");
        assert!(
            rare || seen.contains(&spec.path),
            "documented why key {} never printed",
            spec.path
        );
    }

    // The work directory on PATH and granted: a writable PATH directory.
    // Planted secrets, one kept and one set: every `env` key shows up.
    let mut cmd = env.command([
        "run",
        "--dry-run",
        "--json",
        "--allow",
        "~",
        "--allow",
        ".",
        "--allow-delete",
        ".",
        "--allow-env",
        "FOO_*",
        "--env",
        "BAR=1",
        "--",
        "true",
    ]);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", env.work.display()));
    cmd.env("GITHUB_TOKEN", "t").env("FOO_API_KEY", "k");
    let run = Run::from(cmd);
    run.expect_ok();
    let dry = run.json();
    // A profile that sets an agent's variables fills the `agent` section.
    let agent = env.nono(["run", "--dry-run", "--json", "-p", "codex", "--", "true"]);
    agent.expect_ok();
    let hosts = env.nono([
        "run",
        "--dry-run",
        "--json",
        "--allow-host",
        "@github",
        "--allow-host",
        "localhost:5432",
        "--",
        "true",
    ]);
    hosts.expect_ok();
    let hosts = hosts.json();
    assert_eq!(hosts["host_allowlist"]["proxy"], "http://127.0.0.1:41080");
    // A blocked COMMAND that is not installed: the same document.
    let absent = env.nono([
        "run",
        "--dry-run",
        "--json",
        "--block-command",
        "nono-no-such-tool",
        "--",
        "nono-no-such-tool",
    ]);
    absent.expect_ok();
    let absent = absent.json();
    assert!(absent["blocked"].is_string(), "{absent:#}");
    // The agent profile also asks for a snapshot: its plan has a section
    // of its own in docs/json.md, checked with the undo documents.
    let mut agent = agent.json();
    agent["snapshot"] = serde_json::Value::Null;
    // A port grant fills the Landlock port rules (ABI >= 4 only).
    let ports = env.nono([
        "run",
        "--dry-run",
        "--json",
        "--allow-connect",
        "443",
        "--",
        "true",
    ]);
    ports.expect_ok();
    let ports = ports.json();
    let no_ports = ports["kernel_rules"]["landlock"]["ports"]
        .as_array()
        .is_none_or(|a| a.is_empty());
    let seen = check_against_docs("dry-run", &[dry.clone(), agent, hosts, ports, absent]);
    // The mount plan is empty where the layer is unavailable (or forced
    // off for the fallback run of the suite).
    let no_plan = dry["mount_layer"]["active"] != serde_json::json!(true);
    for spec in json_doc::documented_keys("dry-run") {
        let rare = spec.path.ends_with("from.why")
            || spec.path.contains(".from.")
            || (no_plan && spec.path.starts_with("mount_layer.plan[]"))
            || (no_ports && spec.path.starts_with("kernel_rules.landlock.ports[]"));
        assert!(
            rare || seen.contains(&spec.path),
            "documented dry-run key {} never printed",
            spec.path
        );
    }
    assert!(!dry["carved"].as_array().unwrap().is_empty());

    let run = env.nono(["setup", "--json"]);
    let setup = run.json();
    assert_eq!(
        run.code(),
        Some(if setup["usable"] == true { 0 } else { 1 })
    );
    check_against_docs("setup --json", std::slice::from_ref(&setup));
    assert_eq!(setup["landlock"]["features"].as_array().unwrap().len(), 10);
}

// ---------------------------------------------------------------------------
// setup

#[test]
fn setup_reports_this_kernel_and_what_older_kernels_get() {
    let env = TestEnv::new();
    let run = env.nono(["setup"]);
    run.expect_ok()
        .expect_stdout_has("Landlock features")
        .expect_stdout_has("truncate")
        .expect_stdout_has("Guarantees here")
        .expect_stdout_has("delete protection")
        .expect_stdout_has("nono can run commands here");
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    run.expect_stdout_has(release.trim());
    let doc = env.nono(["setup", "--json"]).json();
    assert_eq!(doc["kernel_release"], release.trim());

    // ABI 2 lacks truncation control: seccomp stands in (bluntly), so nono
    // still runs and setup says what holds.
    let mut cmd = Command::new(nono_bin());
    cmd.args(["setup", "--json"]).env("NONO_TEST_ABI_CAP", "2");
    let capped = Run::from(cmd);
    let doc = capped.json();
    if doc["landlock"]["test_cap"].is_null() {
        return skip("binary built without test-abi-cap: no capped check");
    }
    assert_eq!(capped.code(), Some(0), "{capped}");
    assert_eq!(doc["usable"], true);
    let level = |id: &str| {
        doc["guarantees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap()["level"]
            .clone()
    };
    assert_eq!(level("truncation_protection"), "full");
    assert!(doc["guarantees"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == "truncation_protection"
            && g["detail"].as_str().unwrap().contains("seccomp")));

    // ABI 0: nothing can be enforced; nono refuses and setup says so.
    let mut cmd = Command::new(nono_bin());
    cmd.args(["setup", "--json"]).env("NONO_TEST_ABI_CAP", "0");
    let none = Run::from(cmd);
    assert_eq!(none.code(), Some(1), "{none}");
    let doc0 = none.json();
    assert_eq!(doc0["usable"], false);
    for g in doc0["guarantees"].as_array().unwrap() {
        assert_eq!(g["level"], "none", "{g}");
    }

    // ABI 4: usable, but no scopes.
    let mut cmd = Command::new(nono_bin());
    cmd.args(["setup", "--json"]).env("NONO_TEST_ABI_CAP", "4");
    let run = Run::from(cmd);
    run.expect_ok();
    let doc = run.json();
    let level = |id: &str| {
        doc["guarantees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap()["level"]
            .clone()
    };
    assert_eq!(level("delete_protection"), "full");
    assert_eq!(level("scopes"), "partial");
    assert_eq!(doc["landlock"]["abi"], 4);
}

// ---------------------------------------------------------------------------
// Hostile names, colour

fn hostile_name() -> OsString {
    OsString::from_vec(b"evil\n\x1b[31mRED\xff.txt".to_vec())
}

fn assert_escaped(run: &Run) {
    let out = &run.out.stdout;
    assert!(!out.contains(&0x1b), "raw ESC in output\n{run}");
    let text = String::from_utf8(out.clone()).expect("text output is UTF-8");
    assert!(
        text.contains("evil\\n\\u{1b}[31mRED\\xff.txt"),
        "name not escaped\n{run}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("\u{1b}") || l.starts_with("[31mRED")),
        "{run}"
    );
}

#[test]
fn hostile_file_names_are_escaped_in_text_and_valid_in_json() {
    let env = TestEnv::new();
    let name = hostile_name();
    fs::write(env.work.join(&name), "x").unwrap();
    let why = |json: bool| {
        let mut args: Vec<OsString> = vec!["why".into(), "--allow".into(), ".".into()];
        if json {
            args.push("--json".into());
        }
        args.push(name.clone());
        env.nono(args)
    };
    let run = why(false);
    run.expect_ok();
    assert_escaped(&run);
    let doc = why(true).expect_ok().json();
    assert!(doc["path"]["given"]
        .as_str()
        .unwrap()
        .contains("evil\n\u{1b}[31mRED\u{fffd}"));

    let dry = |json: bool| {
        let mut args: Vec<OsString> = vec![
            "run".into(),
            "--dry-run".into(),
            "--allow".into(),
            name.clone(),
        ];
        if json {
            args.push("--json".into());
        }
        args.extend(["--".into(), "true".into()]);
        env.nono(args)
    };
    let run = dry(false);
    run.expect_ok();
    assert_escaped(&run);
    let doc = dry(true).expect_ok().json();
    let rules = doc["rules"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["path"].as_str().unwrap().ends_with("RED\u{fffd}.txt")));
}

/// Runs nono under a pseudo-terminal (util-linux `script`), so that stdout
/// is a tty.
fn under_tty(env: &TestEnv, args: &str, no_color: bool) -> Run {
    let line = format!("{} {args}", nono_bin().display());
    let mut cmd = env.in_tree("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    Run::from(cmd)
}

#[test]
fn colour_only_on_a_tty_and_never_with_no_color_or_json() {
    let env = TestEnv::new();
    if Command::new("script").arg("--version").output().is_err() {
        panic!("util-linux `script` is needed for the tty test");
    }
    let has_esc = |r: &Run| r.out.stdout.contains(&0x1b);
    let tty = under_tty(&env, "why --allow . keep.txt", false);
    assert!(has_esc(&tty), "no colour on a tty\n{tty}");
    let tty_setup = under_tty(&env, "setup", false);
    assert!(has_esc(&tty_setup), "no colour on a tty\n{tty_setup}");
    let no_color = under_tty(&env, "why --allow . keep.txt", true);
    assert!(no_color.stdout().contains("ALLOWED"), "{no_color}");
    assert!(!has_esc(&no_color), "colour despite NO_COLOR\n{no_color}");
    let json = under_tty(&env, "why --json --allow . keep.txt", false);
    assert!(json.stdout().contains("\"allowed\""), "{json}");
    assert!(!has_esc(&json), "colour in JSON\n{json}");
    let mut cmd = env.command(["why", "--allow", ".", "keep.txt"]);
    cmd.env_remove("NO_COLOR");
    let piped = Run::from(cmd);
    piped.expect_ok();
    assert!(!has_esc(&piped), "colour when piped\n{piped}");
}

// ---------------------------------------------------------------------------
// completions, man page, usage

#[test]
fn completions_and_man_page_are_generated() {
    let env = TestEnv::new();
    for (shell, needle) in [
        ("bash", "complete"),
        ("zsh", "#compdef nono"),
        ("fish", "complete -c nono"),
    ] {
        let run = env.nono(["completions", shell]);
        run.expect_ok()
            .expect_stdout_has(needle)
            .expect_stdout_has("allow-delete");
    }
    env.nono(["completions", "tcsh"]).expect_code(125);
    let run = env.nono(["man"]);
    run.expect_ok()
        .expect_stdout_has(".TH nono 1")
        .expect_stdout_has("NONO WHY")
        .expect_stdout_has("EXIT STATUS")
        .expect_stdout_has("allow\\-delete");
}

#[test]
fn json_on_run_requires_dry_run() {
    let env = TestEnv::new();
    env.nono(["run", "--json", "--", "true"]).expect_code(125);
    let run = env.nono(["run", "--dry-run", "--json", "--", "true"]);
    run.expect_ok();
    assert_eq!(run.json()["document"], "dry_run");
}

#[test]
fn tmpdir_through_a_symlink_is_granted_as_why_says() {
    // TMPDIR reached through a symlink: the rule must bind the real
    // directory (rules are opened without following symlinks).
    let env = TestEnv::new();
    let real = env.root.join("tmp-real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    let link = env.root.join("tmp-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let with_tmp = |args: &[&str]| {
        let mut cmd = env.command(args);
        cmd.env("TMPDIR", &link);
        Run::from(cmd)
    };
    let why = with_tmp(&["why", "--json", "--op", "write", "$TMPDIR/x"]);
    assert_eq!(why.expect_ok().json()["allowed"], true);
    let run = with_tmp(&[
        "run",
        "--",
        "/bin/sh",
        "-c",
        "echo hi > \"$TMPDIR/x\" && cat \"$TMPDIR/x\"",
    ]);
    run.expect_ok().expect_stdout_has("hi");
}

#[test]
fn another_runs_tmpdir_is_denied_as_why_says() {
    let env = TestEnv::new();
    // A live run that publishes its private TMPDIR and keeps it alive.
    let mut first = env
        .command(["run", "--allow", ".", "--", "/bin/sh", "-c"])
        .arg("echo \"$TMPDIR\" > tmpdir.txt && echo held > \"$TMPDIR/held.txt\" && exec sleep 20")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn first run");
    let published = env.work.join("tmpdir.txt");
    let mut other = String::new();
    for _ in 0..100 {
        if let Ok(s) = fs::read_to_string(&published) {
            if s.ends_with('\n') && Path::new(s.trim()).join("held.txt").exists() {
                other = s.trim().to_string();
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let result = std::panic::catch_unwind(|| {
        assert!(!other.is_empty(), "first run did not publish its TMPDIR");
        let target = format!("{other}/held.txt");
        let grants = vec!["--allow".to_string(), ".".to_string()];
        let (doc, code) = why_json(&env, &grants, "read", &target);
        assert_eq!(code, 1, "{doc:#}");
        assert!(doc["suggestion"].is_null());
        assert!(
            doc["notes"].to_string().contains("another nono run"),
            "{doc:#}"
        );
        // Reality: a second run cannot read it; without nono it can.
        let run = env.sandboxed_sh(&["--allow", "."], &format!("cat \"{target}\""));
        run.expect_fail().expect_stdout_lacks("held");
        env.plain_sh(&format!("cat \"{target}\""))
            .expect_ok()
            .expect_stdout_has("held");
    });
    let _ = first.kill();
    let _ = first.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// `..` after `$TMPDIR` climbs out of the run directory, for `why` as for
/// the kernel: `$TMPDIR/../../FILE` is the shared temporary directory (not
/// granted), and deleting `$TMPDIR/..` (the base holding every run) is
/// denied. Each is checked against the real sandbox, with a control.
#[test]
fn why_resolves_dotdot_after_the_tmpdir_placeholder() {
    let env = env_with_extras();
    // The base nono uses: <TMPDIR or /tmp>/nono-<uid>; two levels up is
    // the TMPDIR root, shared.
    let root = std::env::var_os("TMPDIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| "/tmp".into());
    let root = fs::canonicalize(&root).unwrap();
    let name = format!("nono-why-dotdot-{}.txt", std::process::id());
    let target = root.join(&name);
    fs::write(&target, SECRET).unwrap();
    let rel = format!("$TMPDIR/../../{name}");

    let (doc, code) = why_json(&env, &[], "read", &rel);
    assert_eq!(
        code, 1,
        "why allows reading outside the run directory\n{doc:#}"
    );
    assert_eq!(doc["path"]["absolute"].as_str(), target.to_str(), "{doc:#}");
    let run = env.sandboxed_sh(&[], &format!("cat \"{rel}\" && echo {OK}"));
    assert!(!succeeded(&run), "{run}");
    run.expect_stdout_lacks(SECRET);
    // Control: the same file is readable without nono.
    assert_eq!(read(&target), SECRET);

    let (doc, code) = why_json(&env, &[], "delete", "$TMPDIR/..");
    assert_eq!(code, 1, "why allows deleting the base directory\n{doc:#}");
    // The kernel refuses it too: renaming the base away is a delete of its
    // name (rmdir would fail anyway, the base is not empty).
    let run = env.sandboxed_sh(
        &[],
        &format!(
            "{PYTHON} -c 'import os,sys; os.rename(sys.argv[1], sys.argv[1] + \".moved\")' \"$TMPDIR/..\" && echo {OK}"
        ),
    );
    assert!(!succeeded(&run), "{run}");
    // Inside the run directory, `..` that stays inside is still TMPDIR.
    let (doc, code) = why_json(&env, &[], "write", "$TMPDIR/a/../b");
    assert_eq!(code, 0, "{doc:#}");
    let _ = fs::remove_file(&target);
}
