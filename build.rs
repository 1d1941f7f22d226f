//! Compiles the built-in TOML data into Rust tables, so that no run parses
//! TOML for data that is the same in every run.
//!
//! Each file is read into the types of `src/builtin_schema.rs` (the same
//! types the unit tests parse it into), checked, and written to `OUT_DIR`
//! as one Rust expression of `&'static` tables, which the module that owns
//! the data includes with `include!`. A malformed file (bad TOML, an unknown
//! key, a missing field, an unknown access letter) fails the build with the
//! file's name and the parser's message; it can no longer fail a run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/builtin_schema.rs"]
mod schema;

#[allow(dead_code)]
#[path = "src/profile/format.rs"]
mod format;

/// The built-in profiles, as `src/profile/mod.rs` lists them in `BUILTIN`.
const PROFILES: &[&str] = &[
    "claude-code",
    "codex",
    "gemini-cli",
    "go",
    "node",
    "opencode",
    "python",
    "rust",
];

fn main() {
    if let Err(e) = run() {
        // A build script reports by failing; the message is the whole report.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let system: schema::SystemFile = read("src/policy/data/system.toml")?;
    write(&out, "system.rs", &system_rs(&system)?)?;
    let protected: schema::ProtectedFile = read("src/policy/data/protected.toml")?;
    write(&out, "protected.rs", &protected_rs(&protected))?;
    let blocklist: schema::BlocklistFile = read("src/policy/data/blocklist.toml")?;
    write(&out, "blocklist.rs", &blocklist_rs(&blocklist))?;
    let env: schema::EnvFile = read("src/policy/data/env.toml")?;
    write(&out, "env.rs", &env_rs(&env))?;
    let hosts: schema::HostsFile = read("src/proxy/data/hosts.toml")?;
    write(&out, "hosts.rs", &hosts_rs(&hosts))?;
    let skip: schema::SkipFile = read("src/undo/data/skip.toml")?;
    write(&out, "skip.rs", &strs(&skip.names))?;
    let mut profiles = String::from("match name {\n");
    for name in PROFILES {
        let path = format!("src/profile/builtin/{name}.toml");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let file = format::parse(&text).map_err(|e| format!("{path}:{e}"))?;
        let _ = writeln!(profiles, "{} => Some({}),", lit(name), profile_rs(&file));
    }
    profiles.push_str("_ => None,\n}");
    write(&out, "profiles.rs", &profiles)?;
    println!("cargo:rerun-if-changed=src/profile/format.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/builtin_schema.rs");
    Ok(())
}

/// Reads and parses one data file, and asks for a rebuild when it changes.
fn read<T: serde::de::DeserializeOwned>(path: &str) -> Result<T, String> {
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn write(out: &Path, name: &str, code: &str) -> Result<(), String> {
    let path = out.join(name);
    std::fs::write(&path, code).map_err(|e| format!("{}: {e}", path.display()))
}

/// A string literal (Rust's `Debug` of a string is a valid literal).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `&["a", "b"]`.
fn strs(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| lit(s)).collect();
    format!("&[{}]", items.join(", "))
}

/// The access letters as a constant expression of `Access`.
fn access(s: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for c in s.chars() {
        parts.push(match c {
            'r' => "Access::READ",
            'x' => "Access::EXECUTE",
            'w' => "Access::WRITE",
            'd' => "Access::DELETE",
            'i' => "Access::IOCTL",
            other => {
                return Err(format!(
                    "src/policy/data/system.toml: unknown access letter {other:?} in {s:?}"
                ))
            }
        });
    }
    let mut expr = String::from("Access::NONE");
    for p in parts {
        expr = format!("{expr}.union({p})");
    }
    Ok(expr)
}

fn system_rs(f: &schema::SystemFile) -> Result<String, String> {
    let mut s = String::from("&[\n");
    for r in &f.rule {
        let _ = writeln!(
            s,
            "SystemRow {{ why: {}, access: {}, paths: {} }},",
            lit(&r.why),
            access(&r.access)?,
            strs(&r.paths)
        );
    }
    s.push(']');
    Ok(s)
}

fn protected_rs(f: &schema::ProtectedFile) -> String {
    let mut s = String::from("&[\n");
    for g in &f.group {
        let _ = writeln!(
            s,
            "ProtectedRow {{ category: {}, paths: {}, read_only: {} }},",
            lit(&g.category),
            strs(&g.paths),
            g.read_only
        );
    }
    s.push(']');
    s
}

fn blocklist_rs(f: &schema::BlocklistFile) -> String {
    let mut s = format!(
        "BlocklistData {{\nprogram_dirs: {},\ncategory: &[\n",
        strs(&f.program_dirs)
    );
    for c in &f.category {
        let _ = writeln!(
            s,
            "CategoryRow {{ name: {}, commands: {} }},",
            lit(&c.name),
            strs(&c.commands)
        );
    }
    s.push_str("],\nmulticall: &[\n");
    for m in &f.multicall {
        let _ = writeln!(
            s,
            "MulticallRow {{ names: {}, provides: {} }},",
            strs(&m.names),
            strs(&m.provides)
        );
    }
    s.push_str("],\n}");
    s
}

fn env_rs(f: &schema::EnvFile) -> String {
    let mut s = format!(
        "EnvTables {{\nnot_secret: {},\nkeep: {},\nsecret: &[\n",
        strs(&f.not_secret),
        strs(&f.clear.keep)
    );
    for g in &f.secret {
        let _ = writeln!(
            s,
            "SecretRow {{ category: {}, patterns: {} }},",
            lit(&g.category),
            strs(&g.patterns)
        );
    }
    s.push_str("],\n}");
    s
}

fn hosts_rs(f: &schema::HostsFile) -> String {
    let mut s = String::from("&[\n");
    for g in &f.group {
        let _ = write!(
            s,
            "GroupRow {{ name: {}, description: {}, hosts: &[",
            lit(&g.name),
            lit(&g.description)
        );
        for h in &g.hosts {
            let _ = write!(s, "({}, {}), ", lit(&h.host), lit(&h.why));
        }
        s.push_str("] },\n");
    }
    s.push(']');
    s
}

// Built-in profiles: a Rust expression that builds the same `ProfileFile`
// the TOML parser would, spans included (errors about a built-in profile
// still name its line). Every struct is taken apart field by field, so a
// field added to the format is a build error here until it is compiled too.

fn string(s: &str) -> String {
    format!("String::from({})", lit(s))
}

fn spanned_str(v: &toml::Spanned<String>) -> String {
    let r = v.span();
    format!(
        "Spanned::new({}..{}, {})",
        r.start,
        r.end,
        string(v.get_ref())
    )
}

fn spanned_strs(v: &[toml::Spanned<String>]) -> String {
    let items: Vec<String> = v.iter().map(spanned_str).collect();
    format!("vec![{}]", items.join(", "))
}

fn spanned_ints(v: &[toml::Spanned<i64>]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|n| {
            let r = n.span();
            format!("Spanned::new({}..{}, {}i64)", r.start, r.end, n.get_ref())
        })
        .collect();
    format!("vec![{}]", items.join(", "))
}

fn strings(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| string(s)).collect();
    format!("vec![{}]", items.join(", "))
}

fn spanned_map(m: &std::collections::BTreeMap<String, toml::Spanned<String>>) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("({}, {})", string(k), spanned_str(v)))
        .collect();
    format!("BTreeMap::from([{}])", items.join(", "))
}

fn option<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
    match v {
        Some(x) => format!("Some({})", f(x)),
        None => "None".into(),
    }
}

fn profile_rs(p: &format::ProfileFile) -> String {
    let format::ProfileFile {
        name,
        description,
        extends,
        filesystem,
        network,
        commands,
        env,
        snapshot,
        agent,
    } = p;
    let format::Filesystem {
        create,
        allow,
        read,
        write,
        allow_delete,
        protect,
        allow_git_config,
        overlay,
    } = filesystem;
    let format::Network {
        block,
        connect,
        bind,
        allow_hosts,
    } = network;
    let format::Commands {
        allow: commands_allow,
        block: commands_block,
    } = commands;
    let format::Env {
        allow: env_allow,
        set,
        clear,
    } = env;
    let format::Agent {
        commands: agent_commands,
        packages,
        state_env,
        args,
    } = agent;
    let extends = option(extends, |e| {
        let r = e.span();
        format!(
            "Spanned::new({}..{}, OneOrMany({}))",
            r.start,
            r.end,
            strings(&e.get_ref().0)
        )
    });
    format!(
        "ProfileFile {{ name: {}, description: {}, extends: {extends}, \
         filesystem: Filesystem {{ create: {}, allow: {}, read: {}, write: {}, allow_delete: {}, \
         protect: {}, allow_git_config: {allow_git_config:?}, overlay: {} }}, \
         network: Network {{ block: {block:?}, connect: {}, bind: {}, allow_hosts: {} }}, \
         commands: Commands {{ allow: {}, block: {} }}, \
         env: Env {{ allow: {}, set: {}, clear: {clear:?} }}, \
         snapshot: {snapshot:?}, \
         agent: Agent {{ commands: {}, packages: {}, state_env: {}, args: {} }} }}",
        option(name, spanned_str),
        option(description, |d| string(d)),
        spanned_strs(create),
        spanned_strs(allow),
        spanned_strs(read),
        spanned_strs(write),
        spanned_strs(allow_delete),
        spanned_strs(protect),
        spanned_strs(overlay),
        spanned_ints(connect),
        spanned_ints(bind),
        spanned_strs(allow_hosts),
        spanned_strs(commands_allow),
        spanned_strs(commands_block),
        spanned_strs(env_allow),
        spanned_map(set),
        strings(agent_commands),
        strings(packages),
        spanned_map(state_env),
        strings(args),
    )
}
