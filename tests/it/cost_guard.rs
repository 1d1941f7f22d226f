//! Cheap regression guards for start-up cost, as generous bounds on counts
//! (never on time): the number of kernel rules the default policy needs,
//! and that lifting the blocklist removes the per-file execute rules.
//! The timings themselves come from benches/bench.sh.

use crate::common;

use common::*;

fn rule_count(env: &TestEnv, extra: &[&str]) -> usize {
    let mut args = vec!["run", "--dry-run", "--json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "/bin/true"]);
    let run = env.nono(args);
    run.expect_ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    doc["rules"].as_array().unwrap().len()
}

#[test]
fn default_policy_rule_count_stays_bounded() {
    let env = TestEnv::new();
    let default = rule_count(&env, &[]);
    // A distribution's /usr/bin holds a few thousand programs at most.
    assert!(default < 6000, "{default} rules");
    let doc: serde_json::Value = serde_json::from_str(
        &env.nono(["run", "--dry-run", "--json", "--", "/bin/true"])
            .stdout(),
    )
    .unwrap();
    let mut lift: Vec<String> = Vec::new();
    for n in doc["blocklist"]["names"].as_array().unwrap() {
        lift.push("--allow-command".into());
        lift.push(n["name"].as_str().unwrap().into());
    }
    let lift: Vec<&str> = lift.iter().map(String::as_str).collect();
    let lifted = rule_count(&env, &lift);
    // Without the blocklist only the system defaults remain.
    assert!(lifted < 200, "{lifted} rules with the blocklist lifted");
    assert!(lifted <= default);
}
