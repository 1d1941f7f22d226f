//! The macOS credential and autostart locations are protected on every
//! platform (the protected list is platform-neutral): planted in a fake
//! home, they stay unreadable and unwritable under `--allow ~`.

use crate::common;

use std::fs;

use common::*;

#[test]
fn keychains_and_launch_agents_stay_out_of_a_home_grant() {
    let env = TestEnv::new();
    let keychains = env.home.join("Library/Keychains");
    let agents = env.home.join("Library/LaunchAgents");
    let prefs = env.home.join("Library/Preferences");
    for d in [&keychains, &agents, &prefs] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(keychains.join("login.keychain-db"), SECRET).unwrap();
    fs::write(prefs.join("app.plist"), "prefs\n").unwrap();

    let read = "cat \"$HOME/Library/Keychains/login.keychain-db\"; cat \"$HOME/Library/Preferences/app.plist\"";
    env.plain_sh(read).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "~"], read)
        .expect_stdout_lacks(SECRET)
        .expect_stdout_has("prefs");

    let plant = "echo '<plist/>' > \"$HOME/Library/LaunchAgents/evil.plist\"";
    env.sandboxed_sh(&["--allow", "~"], plant).expect_fail();
    assert!(!agents.join("evil.plist").exists());
    env.plain_sh(plant).expect_ok();
    assert!(agents.join("evil.plist").exists());
}

#[test]
fn naming_a_keychain_directly_is_refused() {
    let env = TestEnv::new();
    fs::create_dir_all(env.home.join("Library/Keychains")).unwrap();
    env.nono(["run", "--read", "~/Library/Keychains", "--", "/bin/true"])
        .expect_code(125)
        .expect_stderr_has("protected");
}
