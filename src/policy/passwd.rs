//! Home directories from the password database, without the cost of the
//! C library's name service on every start when it is not needed.
//!
//! glibc's first `getpwuid` reads `/etc/nsswitch.conf`, tries the nscd
//! socket and loads (or fails to load) every module the `passwd:` line
//! names: about 0.1 ms, on every `nono run`. When that line starts with
//! `files` (as on nearly every system), glibc answers from `/etc/passwd`
//! whenever the user is found there (the default action on success is to
//! return), so nono reads the file itself and gives the same answer. Any
//! other case (another first source, `compat` entries with `+`/`-`, no
//! nsswitch.conf, the user not in the file) asks the C library, as before.

use std::path::PathBuf;

/// Which user to find.
#[derive(Clone, Copy)]
pub enum Who<'a> {
    Uid(u32),
    Name(&'a str),
}

/// The user's home directory from the password database, if the user is
/// known.
pub fn home(who: Who) -> Option<PathBuf> {
    let nss = std::fs::read_to_string("/etc/nsswitch.conf").ok();
    if nss.as_deref().is_some_and(files_first) {
        if let Ok(text) = std::fs::read_to_string("/etc/passwd") {
            match from_file(&text, who) {
                Found::Home(h) => return Some(h),
                Found::Ask => {}
            }
        }
    }
    from_libc(who)
}

fn from_libc(who: Who) -> Option<PathBuf> {
    use nix::unistd::{Uid, User};
    match who {
        Who::Uid(uid) => User::from_uid(Uid::from_raw(uid)),
        Who::Name(name) => User::from_name(name),
    }
    .ok()
    .flatten()
    .map(|u| u.dir)
}

/// True if the `passwd:` line of an nsswitch.conf names `files` first.
fn files_first(conf: &str) -> bool {
    conf.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .find_map(|l| l.strip_prefix("passwd:"))
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|first| first == "files")
}

enum Found {
    Home(PathBuf),
    /// Not answered by the file alone: ask the C library.
    Ask,
}

/// The first entry of an `/etc/passwd` text for `who`, as glibc's `files`
/// module finds it (the first matching line wins).
fn from_file(text: &str, who: Who) -> Found {
    for line in text.lines() {
        // NIS inclusions and exclusions: only the C library knows them.
        if line.starts_with('+') || line.starts_with('-') {
            return Found::Ask;
        }
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 7 {
            continue;
        }
        let hit = match who {
            Who::Uid(uid) => f[2].parse::<u32>().ok() == Some(uid),
            Who::Name(name) => f[0] == name,
        };
        if hit {
            return Found::Home(PathBuf::from(f[5]));
        }
    }
    Found::Ask
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        bad line\n\
        alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n\
        alias:x:1000:1000::/srv/other:/bin/sh\n";

    fn home_of(text: &str, who: Who) -> Option<PathBuf> {
        match from_file(text, who) {
            Found::Home(h) => Some(h),
            Found::Ask => None,
        }
    }

    #[test]
    fn the_first_matching_line_answers() {
        assert_eq!(home_of(PASSWD, Who::Uid(1000)), Some("/home/alice".into()));
        assert_eq!(
            home_of(PASSWD, Who::Name("alias")),
            Some("/srv/other".into())
        );
        assert_eq!(home_of(PASSWD, Who::Uid(0)), Some("/root".into()));
        assert_eq!(home_of(PASSWD, Who::Uid(4242)), None);
    }

    #[test]
    fn nis_entries_leave_the_answer_to_the_c_library() {
        let t = "root:x:0:0:root:/root:/bin/bash\n+@admins::::::\nbob:x:7:7::/b:/bin/sh\n";
        assert_eq!(home_of(t, Who::Uid(7)), None);
        assert_eq!(home_of(t, Who::Uid(0)), Some("/root".into()));
    }

    #[test]
    fn only_a_passwd_line_starting_with_files_is_trusted() {
        assert!(files_first("passwd:         files systemd\ngroup: files\n"));
        assert!(files_first("# c\npasswd: files # local first\n"));
        assert!(!files_first("passwd: sss files\n"));
        assert!(!files_first("passwd: compat\n"));
        assert!(!files_first("group: files\n"));
        assert!(!files_first(""));
    }

    /// The same answer as the C library for the user running the tests.
    #[test]
    fn agrees_with_the_c_library_here() {
        let uid = nix::unistd::getuid().as_raw();
        assert_eq!(home(Who::Uid(uid)), from_libc(Who::Uid(uid)));
    }
}
