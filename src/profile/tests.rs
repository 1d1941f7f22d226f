//! Profiles against real directories: lookup, extends, merge order, the
//! built-in profiles against a home full of secrets, and a fuzzer.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::policy::{Policy, PolicyError};
use crate::test_support::TempTree;

struct Tree {
    _dir: TempTree,
    ctx: Context,
    config: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = TempTree::new();
        dir.dirs(&["home", "proj", "xdg/nono/profiles"]);
        Tree {
            ctx: Context {
                home: dir.path("home"),
                cwd: dir.path("proj"),
            },
            config: dir.path("xdg"),
            _dir: dir,
        }
    }

    fn user(&self, name: &str, text: &str) -> PathBuf {
        let p = self
            .config
            .join("nono/profiles")
            .join(format!("{name}.toml"));
        fs::write(&p, text).unwrap();
        p
    }

    fn load(&self, names: &[&str]) -> Result<(Vec<Loaded>, PolicySpec), ProfileError> {
        let config = self.config.clone();
        let env = move |n: &str| -> Option<OsString> {
            match n {
                "XDG_CONFIG_HOME" => Some(config.clone().into_os_string()),
                "SET" => Some("/set".into()),
                _ => None,
            }
        };
        let vars = Vars {
            ctx: &self.ctx,
            env: &env,
        };
        let values: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let loaded = load_all(&values, &vars)?;
        let mut spec = PolicySpec::default();
        apply(&loaded, &vars, &mut spec, CreateDirs::No, PathChecks::Now)?;
        Ok((loaded, spec))
    }
}

fn text_err(e: ProfileError) -> (String, TextError) {
    match e {
        ProfileError::Text { file, err } => (file, err),
        other => panic!("expected a text error, got {other:?}"),
    }
}

#[test]
fn user_profile_grants_with_source_attribution() {
    let t = Tree::new();
    fs::create_dir_all(t.ctx.home.join(".app")).unwrap();
    t.user(
        "mine",
        "description = \"d\"\n[filesystem]\nallow = [\"$CWD\"]\nread = [\"~/.app\", \"~/.nope?\"]\nallow_delete = [\"$CWD\"]\n",
    );
    let (_, spec) = t.load(&["mine"]).unwrap();
    assert_eq!(spec.profiles, vec!["mine"]);
    let paths: Vec<(&Path, Access, String)> = spec
        .grants
        .iter()
        .map(|g| (g.path.as_path(), g.access, g.source.to_string()))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                t.ctx.cwd.as_path(),
                Access::READ_WRITE,
                "profile mine (filesystem.allow)".to_string()
            ),
            (
                Path::new("~/.app"),
                Access::READ_EXEC,
                "profile mine (filesystem.read)".to_string()
            ),
        ],
        "the optional missing path is skipped"
    );
    assert_eq!(spec.allow_delete[0].path, t.ctx.cwd);
    let policy = Policy::build(&spec, &t.ctx).unwrap();
    let r = policy.rules.iter().find(|r| r.path == t.ctx.cwd).unwrap();
    assert!(r.access().contains(Access::DELETE));
}

#[test]
fn required_missing_path_and_unset_variable_name_file_and_line() {
    let t = Tree::new();
    let f = t.user(
        "m",
        "[filesystem]\nread = [\n  \"/usr\",\n  \"~/.missing\",\n]\n",
    );
    let (file, err) = text_err(t.load(&["m"]).unwrap_err());
    assert_eq!(file, f.display().to_string());
    assert_eq!((err.line, err.key.as_deref()), (4, Some("filesystem.read")));
    assert!(err.message.contains(".missing"), "{err}");

    t.user(
        "v",
        "[filesystem]\nallow = [\"$SET/x?\", \"$UNSET_THING/y\"]\n",
    );
    let e = t.load(&["v"]).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("v.toml:2:"), "{shown}");
    assert!(shown.contains("$UNSET_THING"), "{shown}");
}

#[test]
fn extends_merge_order_is_depth_first_then_self() {
    let t = Tree::new();
    t.user("a", "extends = [\"b\", \"c\"]\n");
    t.user("b", "extends = \"d\"\n");
    t.user("c", "extends = [\"d\"]\n");
    t.user("d", "");
    let (loaded, spec) = t.load(&["a"]).unwrap();
    let names: Vec<&str> = loaded.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["d", "b", "c", "a"], "each profile once");
    assert_eq!(spec.profiles, vec!["d", "b", "c", "a"]);
}

#[test]
fn later_profiles_and_extensions_add_up() {
    let t = Tree::new();
    fs::create_dir_all(t.ctx.cwd.join("x")).unwrap();
    t.user(
        "base",
        "[filesystem]\nread = [\"$CWD\"]\n[commands]\nblock = [\"curl\"]\n[network]\nconnect = [443]\n",
    );
    t.user(
        "top",
        "extends = \"base\"\n[filesystem]\nallow = [\"$CWD/x\"]\n[commands]\nallow = [\"rm\"]\n[network]\nconnect = [443, 22]\nbind = [8080]\n",
    );
    let (_, spec) = t.load(&["top"]).unwrap();
    assert_eq!(
        spec.grants[0].source.to_string(),
        "profile base (filesystem.read)"
    );
    assert_eq!(
        spec.grants[1].source.to_string(),
        "profile top (filesystem.allow)"
    );
    assert_eq!(spec.allow_connect, vec![443, 22]);
    assert_eq!(spec.allow_bind, vec![8080]);
    assert_eq!(spec.block_commands[0].name, "curl");
    assert_eq!(spec.allow_commands[0].name, "rm");
    assert!(!spec.net_block);
}

#[test]
fn network_block_is_sticky_and_conflicts_with_ports() {
    let t = Tree::new();
    t.user("blk", "[network]\nblock = true\n");
    t.user("open", "extends = \"blk\"\n[network]\nblock = false\n");
    let (_, spec) = t.load(&["open"]).unwrap();
    assert!(spec.net_block, "an extending profile cannot lift a block");
    t.user("both", "[network]\nblock = true\nconnect = [443]\n");
    let (_, err) = text_err(t.load(&["both"]).unwrap_err());
    assert_eq!(err.line, 3, "{err}");
    t.user("zero", "[network]\nbind = [0]\n");
    assert!(t.load(&["zero"]).is_err());
}

#[test]
fn cycles_are_errors_naming_the_cycle() {
    let t = Tree::new();
    t.user("x", "extends = \"y\"\n");
    t.user("y", "extends = [\"z\"]\n");
    t.user("z", "extends = [\"x\"]\n");
    let e = t.load(&["x"]).unwrap_err();
    let ProfileError::Cycle(chain) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(chain.len(), 4, "{e}");
    assert!(
        chain[0].ends_with("x.toml") && chain[3].ends_with("x.toml"),
        "{e}"
    );
    t.user("self", "extends = \"./self.toml\"\n");
    assert!(matches!(t.load(&["self"]), Err(ProfileError::Cycle(_))));
}

#[test]
fn user_profile_shadows_builtin_and_can_extend_it() {
    let t = Tree::new();
    t.user("rust", "extends = [\"rust\"]\ndescription = \"mine\"\n");
    let (loaded, _) = t.load(&["rust"]).unwrap();
    let origins: Vec<(&str, &str)> = loaded
        .iter()
        .map(|l| (l.name.as_str(), l.origin.label()))
        .collect();
    assert_eq!(origins, vec![("rust", "builtin"), ("rust", "user")]);
}

#[test]
fn lookup_errors() {
    let t = Tree::new();
    assert!(matches!(
        t.load(&["no-such-profile"]),
        Err(ProfileError::NotFound { .. })
    ));
    assert!(matches!(
        t.load(&[".hidden"]),
        Err(ProfileError::BadName(_))
    ));
    t.user("ext", "extends = \"nothing-here\"\n");
    let (_, err) = text_err(t.load(&["ext"]).unwrap_err());
    assert_eq!(err.line, 1);
    t.user("named", "name = \"other\"\n");
    let (_, err) = text_err(t.load(&["named"]).unwrap_err());
    assert!(err.message.contains("does not match"), "{err}");
    // A file named by path.
    let p = t.ctx.cwd.join("p.toml");
    fs::write(&p, "description = \"by path\"\n").unwrap();
    let (loaded, _) = t.load(&["./p.toml"]).unwrap();
    assert_eq!(loaded[0].origin, ProfileOrigin::File(p));
}

#[test]
fn hostile_files_are_refused_cleanly() {
    let t = Tree::new();
    let big = t.ctx.cwd.join("big.toml");
    let mut text = String::from("description = \"");
    text.push_str(&"a".repeat(MAX_PROFILE_BYTES));
    text.push_str("\"\n");
    fs::write(&big, text).unwrap();
    assert!(matches!(
        t.load(&["./big.toml"]),
        Err(ProfileError::TooLarge(_))
    ));
    assert!(matches!(
        t.load(&["/dev/zero.toml"]),
        Err(ProfileError::Io { .. })
    ));
    let dir = t.ctx.cwd.join("d.toml");
    fs::create_dir(&dir).unwrap();
    assert!(matches!(
        t.load(&["./d.toml"]),
        Err(ProfileError::NotAFile(_))
    ));
    let bin = t.ctx.cwd.join("bin.toml");
    fs::write(&bin, b"name = \"\xff\"\n").unwrap();
    assert!(matches!(
        t.load(&["./bin.toml"]),
        Err(ProfileError::NotUtf8(_))
    ));
    // A path with a newline: an ordinary missing path, reported on its line.
    t.user("nl", "[filesystem]\nread = [\"/tmp/a\\nb\"]\n");
    let e = t.load(&["nl"]).unwrap_err();
    assert!(e.to_string().contains("nl.toml:2:"), "{e}");
    t.user("nul", "[filesystem]\nread = [\"/tmp/a\\u0000b\"]\n");
    assert!(t.load(&["nul"]).unwrap_err().to_string().contains("NUL"));
    t.user("cmd", "[commands]\nblock = [\"/bin/rm\"]\n");
    assert!(t.load(&["cmd"]).is_err());
    t.user("cre", "[filesystem]\ncreate = [\"~/.ssh/x\"]\n");
    assert!(t
        .load(&["cre"])
        .unwrap_err()
        .to_string()
        .contains("protected"));
}

#[test]
fn create_dirs_only_when_asked() {
    let t = Tree::new();
    t.user(
        "c",
        "[filesystem]\ncreate = [\"~/.state/app\"]\nallow = [\"~/.state/app?\"]\n",
    );
    let (_, spec) = t.load(&["c"]).unwrap();
    assert!(spec.grants.is_empty(), "absent and not created: skipped");
    assert!(!t.ctx.home.join(".state").exists());

    let env = |_: &str| -> Option<OsString> { None };
    let vars = Vars {
        ctx: &t.ctx,
        env: &env,
    };
    let p = t.config.join("nono/profiles/c.toml");
    let loaded = load_all(&[p.display().to_string()], &vars).unwrap();
    let mut spec = PolicySpec::default();
    let made = apply(&loaded, &vars, &mut spec, CreateDirs::Yes, PathChecks::Now).unwrap();
    let dir = t.ctx.home.join(".state/app");
    assert_eq!(made, vec![dir.clone()]);
    assert!(dir.is_dir());
    assert_eq!(spec.grants.len(), 1);
}

/// A home with every protected path present (as files and directories), so
/// that a built-in profile reaching one would be refused or carved.
fn home_with_every_protected_path(t: &Tree) {
    let protected = crate::policy::protected::load(&t.ctx).unwrap();
    for p in protected
        .iter()
        .filter(|p| !p.read_only && p.path.starts_with(&t.ctx.home))
    {
        let rel = p.path.strip_prefix(&t.ctx.home).unwrap();
        let name = rel.to_string_lossy().trim_end_matches('*').to_string();
        let path = t.ctx.home.join(&name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Files for names that look like files, directories for the rest.
        let file = Path::new(&name).extension().is_some()
            || name.ends_with("history")
            || name.ends_with("rc")
            || name.starts_with(".bash_")
            || name.starts_with(".z")
            || name == ".profile"
            || name == ".netrc"
            || name == ".lesshst"
            || name == ".git-credentials"
            || name == ".vault-token"
            || name == ".pgpass";
        if file {
            fs::write(&path, "SECRET").unwrap();
        } else {
            fs::create_dir_all(&path).unwrap();
            fs::write(path.join("secret"), "SECRET").unwrap();
        }
    }
    // Everything the built-in profiles name, so no optional path is skipped.
    for d in [
        ".claude",
        ".codex",
        ".gemini",
        ".cargo/registry",
        ".cargo/git",
        ".rustup",
        ".npm",
        ".cache/pip",
        ".cache/go-build",
        ".cache/claude",
        ".cache/opencode",
        ".config/opencode",
        ".config/git",
        ".config/go",
        ".config/pip",
        ".local/share/opencode",
        ".local/state/opencode",
        ".local/state/nono-agents/claude-code",
        ".local/state/nono-agents/codex",
        ".local/state/nono-agents/gemini-cli",
        ".local/state/nono-agents/opencode",
        ".local/lib",
        ".pyenv",
        "go",
    ] {
        fs::create_dir_all(t.ctx.home.join(d)).unwrap();
    }
    fs::write(t.ctx.home.join(".cargo/credentials.toml"), "SECRET").unwrap();
    fs::write(t.ctx.home.join(".claude.json"), "{}").unwrap();
    fs::write(t.ctx.home.join(".gitconfig"), "").unwrap();
}

#[test]
fn every_builtin_profile_builds_and_reaches_nothing_protected() {
    let t = Tree::new();
    home_with_every_protected_path(&t);
    for (name, _) in BUILTIN {
        let (_, spec) = t
            .load(&[name])
            .unwrap_or_else(|e| panic!("built-in profile {name}: {e}"));
        assert!(!spec.grants.is_empty(), "{name} grants nothing");
        let policy = Policy::build(&spec, &t.ctx)
            .unwrap_or_else(|e: PolicyError| panic!("built-in profile {name}: {e}"));
        assert!(
            policy.protected.iter().filter(|p| p.exists).count() > 20,
            "the fake home must really hold the protected paths"
        );
        for r in &policy.rules {
            for p in &policy.protected {
                if p.read_only {
                    // Readable, never writable.
                    if r.path.starts_with(&p.path) || p.path.starts_with(&r.path) {
                        assert!(
                            !r.path.starts_with(&p.path)
                                || !r.access().intersects(Access::WRITE.union(Access::DELETE)),
                            "{name}: rule {} writes read-only {}",
                            r.path.display(),
                            p.path.display()
                        );
                    }
                    continue;
                }
                assert!(
                    !r.path.starts_with(&p.path),
                    "{name}: rule {} lies in protected {}",
                    r.path.display(),
                    p.path.display()
                );
                if r.kind == crate::policy::Kind::Dir && p.path.starts_with(&r.path) {
                    panic!(
                        "{name}: rule {} covers protected {}",
                        r.path.display(),
                        p.path.display()
                    );
                }
            }
        }
        // Nothing on PATH in the home is writable: a program planted there
        // would run outside the sandbox later.
        for bin in [".cargo/bin/x", ".local/bin/x", "go/bin/x"] {
            let a = policy.rights_at(&t.ctx.home.join(bin)).0;
            if *name != "go" || !bin.starts_with("go/") {
                assert!(!a.contains(Access::WRITE), "{name}: {bin} writable");
            }
        }
        // Delete rights only where the profile says so in allow_delete.
        let text = BUILTIN.iter().find(|(n, _)| n == name).unwrap().1;
        if text.contains("allow_delete") {
            assert!(
                policy
                    .rules
                    .iter()
                    .any(|r| r.path == t.ctx.cwd && r.access().contains(Access::DELETE)),
                "{name}: says allow_delete but the project has no delete right"
            );
        }
    }
}

/// The agents' own configuration in the user's home runs commands at
/// their next start outside nono (hooks, apiKeyHelper, MCP servers,
/// notify, plugins): no agent profile may make any of it writable, and
/// each agent's state variable points into a directory the profile grants
/// with delete rights (state is saved by rename there).
#[test]
fn agent_profiles_leave_the_agents_own_configuration_alone() {
    let t = Tree::new();
    home_with_every_protected_path(&t);
    let user_config = [
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".claude/plugins/x",
        ".claude.json",
        ".codex/config.toml",
        ".gemini/settings.json",
        ".config/opencode/opencode.json",
        ".config/opencode/node_modules/x",
        ".local/share/opencode/bin/x",
        ".cache/opencode/node_modules/x",
        ".npm/_npx/x",
    ];
    for name in ["claude-code", "codex", "gemini-cli", "opencode"] {
        let (_, spec) = t.load(&[name]).unwrap();
        let policy = Policy::build(&spec, &t.ctx).unwrap();
        for f in user_config {
            let a = policy.rights_at(&t.ctx.home.join(f)).0;
            assert!(
                !a.intersects(Access::WRITE.union(Access::DELETE)),
                "{name}: ~/{f} is writable ({a})"
            );
        }
        assert!(!spec.agent_env.is_empty(), "{name} sets no state variable");
        for e in &spec.agent_env {
            let a = policy.rights_at(&e.value.join("state.json")).0;
            assert!(
                a.contains(Access::READ_WRITE.union(Access::DELETE)),
                "{name}: {}={} lacks read, write and delete ({a})",
                e.name,
                e.value.display()
            );
        }
    }
}

#[test]
fn builtin_profiles_are_listed_with_descriptions() {
    let t = Tree::new();
    let env = |_: &str| -> Option<OsString> { None };
    let vars = Vars {
        ctx: &t.ctx,
        env: &env,
    };
    let l = list(&vars);
    for name in [
        "claude-code",
        "codex",
        "opencode",
        "gemini-cli",
        "rust",
        "node",
        "python",
        "go",
    ] {
        let item = l.iter().find(|i| i.name == name).expect(name);
        let d = item.description.as_ref().expect("parses");
        assert!(!d.is_empty(), "{name} has no description");
        // Every built-in grants delete rights in the project: say so.
        assert!(
            d.contains("delete"),
            "{name}: description must say it grants delete"
        );
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn parse_any(text: &str) {
        let _ = parse(
            "fuzz",
            ProfileOrigin::File("/fuzz.toml".into()),
            text.to_string(),
        )
        .map(|l| l.display());
        let _ = format::parse(text).map_err(|e| e.to_string());
    }

    fn atom() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("name".to_string()),
            Just("description".to_string()),
            Just("extends".to_string()),
            Just("[filesystem]".to_string()),
            Just("[network]".to_string()),
            Just("[commands]".to_string()),
            Just("allow".to_string()),
            Just("read".to_string()),
            Just("create".to_string()),
            Just("connect".to_string()),
            Just("block".to_string()),
            Just(" = ".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just("\n".to_string()),
            Just("\"".to_string()),
            Just("\"$CWD\"".to_string()),
            Just("\"${X:-~}\"".to_string()),
            Just("true".to_string()),
            Just("65536".to_string()),
            Just("-1".to_string()),
            Just("#".to_string()),
            Just("\\u0000".to_string()),
            "[ -~]{0,8}",
            "\\PC{0,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            parse_any(&s);
        }

        #[test]
        fn toml_like_text_never_panics(parts in proptest::collection::vec(atom(), 0..40)) {
            parse_any(&parts.concat());
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let s = String::from_utf8_lossy(&b);
            parse_any(&s);
        }

        #[test]
        fn arbitrary_paths_expand_or_fail_cleanly(s in "\\PC{0,40}") {
            let ctx = Context { home: "/h".into(), cwd: "/c".into() };
            let env = |_: &str| -> Option<OsString> { None };
            let _ = expand::expand(&s, &Vars { ctx: &ctx, env: &env });
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn valid_profiles_with_arbitrary_values_apply_cleanly(
            p in "\\PC{0,20}", port in any::<u16>(), cmd in "\\PC{0,10}"
        ) {
            let t = Tree::new();
            let text = format!(
                "[filesystem]\nread = [{}]\n[network]\nconnect = [{port}]\n[commands]\nblock = [{}]\n",
                toml::Value::String(p.clone()),
                toml::Value::String(cmd.clone())
            );
            t.user("f", &text);
            let _ = t
                .load(&["f"])
                .map_err(|e| (e.to_string(), crate::error::Diagnostic::hints(&e)));
        }
    }
}

/// Each built-in profile's compiled form (`build.rs`) is exactly what the
/// TOML parser makes of its text, spans included, and `build.rs` compiles
/// exactly the profiles `BUILTIN` lists.
#[test]
fn compiled_builtins_equal_a_fresh_parse() {
    for (name, text) in BUILTIN {
        let parsed = format::parse(text).unwrap();
        let compiled = super::compiled_builtin(name).unwrap();
        assert_eq!(format!("{parsed:?}"), format!("{compiled:?}"), "{name}");
    }
    assert!(super::compiled_builtin("nope").is_none());
    // The loader uses the compiled form only for the embedded text itself.
    let (name, text) = BUILTIN[0];
    let edited = text.replace("description =", "bogus = 1\ndescription =");
    assert!(parse(name, ProfileOrigin::Builtin, edited).is_err());
}
