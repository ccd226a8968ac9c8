//! The `nft` action: the planned commands, and (in a network namespace of its
//! own, where `nft` and `unshare` allow) applied to a real set and undone.

use super::*;

fn nft_config() -> ActionsConfig {
    ActionsConfig {
        actions: vec![ActionSpec {
            on: DecisionAction::BlockIp,
            kind: ActionKind::Nft(NftSpec {
                program: "nft".into(),
                family: "inet".into(),
                table: "loginwatch_test".into(),
                set: "block".into(),
            }),
            undo: None,
            timeout: Duration::from_secs(10),
        }],
    }
}

#[test]
fn nft_plans_add_with_timeout_and_delete_on_unlock() {
    let d = decision(
        DecisionAction::BlockIp,
        Target::ip("192.0.2.7".parse().unwrap()),
    );
    let now = t0() + chrono::TimeDelta::minutes(20);
    let add = action::plan(&d, &nft_config(), Phase::Apply, now);
    let del = action::plan(&d, &nft_config(), Phase::Undo, now);
    let argv = |p: &action::Plan| match &p.actions[0].step {
        Step::Exec { argv, via } => {
            assert_eq!(*via, "nft");
            argv.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        argv(&add),
        [
            "nft",
            "add",
            "element",
            "inet",
            "loginwatch_test",
            "block",
            "{ 192.0.2.7 timeout 600s }"
        ]
    );
    assert_eq!(
        argv(&del),
        [
            "nft",
            "delete",
            "element",
            "inet",
            "loginwatch_test",
            "block",
            "{ 192.0.2.7 }"
        ]
    );
    // Run it for real, but never on the host's ruleset: the test runs again in a
    // child of this binary inside a network namespace of its own (`unshare -rn`:
    // a user namespace too, so it needs no root), whose ruleset starts empty and
    // dies with it.
    if std::env::var_os(IN_NETNS).is_some() {
        apply_and_undo_with_real_nft(&add.actions[0], &del.actions[0]);
        return;
    }
    let test = "nft_plans_add_with_timeout_and_delete_on_unlock";
    if !crate::util::runs("nft", &["--version"]) {
        crate::util::skip(
            "nft",
            test,
            "nft is not installed (apt-get install nftables)",
        );
        return;
    }
    if !crate::util::runs("unshare", &["-rn", "true"]) {
        // Root may always create a namespace; others need user namespaces,
        // which some hosts turn off: only then is this skip legitimate.
        let root = nix::unistd::Uid::effective().is_root();
        let tool = if root { "nft" } else { "nft-unprivileged" };
        crate::util::skip(
            tool,
            test,
            "cannot create a network namespace (unshare -rn)",
        );
        return;
    }
    // The harness names tests by module path without the crate's name.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    crate::util::rerun_test_in_child(&["unshare", "-rn"], &format!("{module}::{test}"), IN_NETNS);
}

/// Set in the child that runs in its own network namespace.
const IN_NETNS: &str = "LOGINWATCH_TEST_IN_NETNS";

/// Creates the table and set, runs the planned add and delete through
/// `action::run`, and checks the set's contents after each.
fn apply_and_undo_with_real_nft(add: &action::PlannedAction, del: &action::PlannedAction) {
    let nft = |args: &[&str]| {
        let o = std::process::Command::new("nft")
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(nft(&["list", "tables"]), "", "not a fresh namespace");
    nft(&["add", "table", "inet", "loginwatch_test"]);
    let set = "{ type ipv4_addr; flags timeout; }";
    nft(&["add", "set", "inet", "loginwatch_test", "block", set]);
    let list = || nft(&["list", "set", "inet", "loginwatch_test", "block"]);
    let r = action::run(add);
    assert!(r.ok, "{r:?}");
    let listed = list();
    assert!(listed.contains("192.0.2.7 timeout 10m"), "{listed}");
    let r = action::run(del);
    assert!(r.ok, "{r:?}");
    let listed = list();
    assert!(!listed.contains("192.0.2.7"), "{listed}");
}
