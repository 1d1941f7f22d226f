//! Policy building against real directories: carve-outs, refusals, merges.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::test_support::{spec_with_grants as spec, TempTree};

struct Tree {
    _dir: TempTree,
    ctx: Context,
}

fn tree() -> Tree {
    let dir = TempTree::new();
    dir.dirs(&[
        "home/.ssh",
        "home/.config/gh",
        "home/.config/app",
        "home/proj/src",
    ])
    .files(&[
        ("home/.ssh/id_rsa", "k"),
        ("home/.bashrc", "b"),
        ("home/notes.txt", "n"),
    ]);
    let home = dir.path("home");
    std::os::unix::fs::symlink("/etc", home.join("etc-link")).unwrap();
    Tree {
        ctx: Context {
            home: home.clone(),
            cwd: home.join("proj"),
        },
        _dir: dir,
    }
}

fn rule<'a>(p: &'a Policy, path: &Path) -> Option<&'a Rule> {
    p.rules.iter().find(|r| r.path == path)
}

#[test]
fn relative_grant_resolves_against_cwd() {
    let t = tree();
    let p = Policy::build(&spec(&[(".", Access::READ_WRITE)]), &t.ctx).unwrap();
    let r = rule(&p, &t.ctx.cwd).expect("rule for cwd");
    assert_eq!(r.access(), Access::READ_WRITE);
    assert_eq!(r.kind, Kind::Dir);
}

#[test]
fn home_grant_is_carved_around_protected_paths() {
    let t = tree();
    let home = t.ctx.home.clone();
    let p = Policy::build(&spec(&[("~", Access::READ_WRITE)]), &t.ctx).unwrap();
    assert!(rule(&p, &home).is_none(), "home itself must not be granted");
    assert!(rule(&p, &home.join(".ssh")).is_none());
    assert!(rule(&p, &home.join(".bashrc")).is_none());
    assert!(
        rule(&p, &home.join(".config")).is_none(),
        "split, not granted"
    );
    assert!(rule(&p, &home.join(".config/gh")).is_none());
    assert!(
        rule(&p, &home.join("etc-link")).is_none(),
        "symlinks get no rule"
    );
    let app = rule(&p, &home.join(".config/app")).expect("sibling granted");
    assert_eq!(app.access(), Access::READ_WRITE);
    assert!(matches!(app.parts[0].1, Origin::CarveOut { .. }));
    assert!(rule(&p, &home.join("proj")).is_some());
    assert!(rule(&p, &home.join("notes.txt")).is_some());
    let carved: Vec<&PathBuf> = p.carved.iter().map(|c| &c.dir).collect();
    assert!(carved.contains(&&home) && carved.contains(&&home.join(".config")));
    for r in &p.rules {
        assert!(
            protected::find(&p.protected, &r.path).is_none(),
            "{:?} is protected",
            r.path
        );
    }
}

#[test]
fn naming_a_protected_path_is_refused_even_when_absent_or_via_symlink() {
    let t = tree();
    for given in ["~/.ssh", "~/.ssh/id_rsa", "~/.aws", "~/.config/gh"] {
        let e = Policy::build(&spec(&[(given, Access::READ_EXEC)]), &t.ctx).unwrap_err();
        assert!(matches!(e, PolicyError::Protected { .. }), "{given}: {e}");
    }
    std::os::unix::fs::symlink(t.ctx.home.join(".ssh"), t.ctx.cwd.join("keys")).unwrap();
    let e = Policy::build(&spec(&[("keys", Access::READ_EXEC)]), &t.ctx).unwrap_err();
    assert!(matches!(e, PolicyError::Protected { .. }), "{e}");
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let t = tree();
    let e = Policy::build(&spec(&[("nope", Access::READ_EXEC)]), &t.ctx).unwrap_err();
    assert_eq!(e.to_string(), "path does not exist: nope");
}

#[test]
fn overlapping_grants_merge_per_path() {
    let t = tree();
    let mut s = spec(&[(".", Access::READ_EXEC)]);
    s.grant(".", Access::WRITE, Source::Flag("--write"));
    s.grant("./src", Access::READ_EXEC, Source::Flag("--read"));
    let p = Policy::build(&s, &t.ctx).unwrap();
    assert_eq!(rule(&p, &t.ctx.cwd).unwrap().access(), Access::READ_WRITE);
    assert_eq!(rule(&p, &t.ctx.cwd).unwrap().parts.len(), 2);
    // Rights add up along the hierarchy, as in the kernel.
    assert_eq!(p.rights_at(&t.ctx.cwd.join("src/x")).0, Access::READ_WRITE);
}

#[test]
fn allow_delete_must_lie_in_a_write_grant() {
    let t = tree();
    let mut s = spec(&[(".", Access::READ_EXEC)]);
    s.allow_delete.push(DeleteRequest {
        path: "src".into(),
        source: Source::Flag("--allow-delete"),
    });
    assert!(matches!(
        Policy::build(&s, &t.ctx).unwrap_err(),
        PolicyError::DeleteOutsideWrite(_)
    ));
    s.grant(".", Access::READ_WRITE, Source::Flag("--allow"));
    let p = Policy::build(&s, &t.ctx).unwrap();
    assert!(p
        .rights_at(&t.ctx.cwd.join("src/f"))
        .0
        .contains(Access::DELETE));
    assert!(!p.rights_at(&t.ctx.cwd.join("f")).0.contains(Access::DELETE));
}

#[test]
fn no_default_rule_reaches_home_or_shared_tmp() {
    let t = tree();
    let p = Policy::build(&PolicySpec::default(), &t.ctx).unwrap();
    for probe in [
        "/tmp/x",
        "/var/tmp/x",
        "/dev/shm/x",
        "/etc/shadow",
        "/root/.ssh/id_rsa",
    ] {
        assert_eq!(p.rights_at(Path::new(probe)).0, Access::NONE, "{probe}");
    }
    assert_eq!(p.rights_at(&t.ctx.home.join("notes.txt")).0, Access::NONE);
    assert!(p
        .rights_at(Path::new("/usr/bin/env"))
        .0
        .contains(Access::EXECUTE));
}

#[test]
fn read_only_paths_keep_read_inside_a_write_grant() {
    let t = tree();
    let home = t.ctx.home.clone();
    for d in [".local/bin", ".local/share", ".config/git"] {
        fs::create_dir_all(home.join(d)).unwrap();
    }
    fs::write(home.join(".gitconfig"), "[user]\n").unwrap();
    fs::write(home.join(".config/git/credentials"), "secret").unwrap();
    fs::write(home.join(".config/git/ignore"), "*.o").unwrap();
    let p = Policy::build(&spec(&[("~", Access::READ_WRITE)]), &t.ctx).unwrap();
    let at = |rel: &str| p.rights_at(&home.join(rel)).0;
    assert_eq!(at(".gitconfig"), Access::READ_EXEC);
    assert_eq!(at(".local/bin/tool"), Access::READ_EXEC);
    assert_eq!(at(".config/git/ignore"), Access::READ_EXEC);
    assert_eq!(
        at(".config/git/credentials"),
        Access::NONE,
        "protected inside read-only"
    );
    assert_eq!(
        at(".config/app/x"),
        Access::READ_WRITE,
        "siblings keep write"
    );
    assert_eq!(at("proj/x"), Access::READ_WRITE);

    // A read grant keeps read on read-only paths, never on protected ones.
    let r = Policy::build(&spec(&[("~/.config", Access::READ_EXEC)]), &t.ctx).unwrap();
    assert_eq!(
        r.rights_at(&home.join(".config/git/ignore")).0,
        Access::READ_EXEC
    );
    assert_eq!(
        r.rights_at(&home.join(".config/git/credentials")).0,
        Access::NONE
    );
}

#[test]
fn write_grant_naming_a_read_only_path_is_refused_read_is_not() {
    let t = tree();
    fs::create_dir_all(t.ctx.home.join(".local/bin")).unwrap();
    let e = Policy::build(&spec(&[("~/.local/bin", Access::READ_WRITE)]), &t.ctx).unwrap_err();
    assert!(matches!(e, PolicyError::ReadOnly { .. }), "{e}");
    let p = Policy::build(&spec(&[("~/.local/bin", Access::READ_EXEC)]), &t.ctx).unwrap();
    assert_eq!(
        p.rights_at(&t.ctx.home.join(".local/bin/x")).0,
        Access::READ_EXEC
    );
}
