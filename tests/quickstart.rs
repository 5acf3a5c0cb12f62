//! The README's quickstart, run as a user would: converge, converge again
//! (nothing changes), then a dry run with a changed variable (the change is
//! reported, nothing is touched).

mod common;

use common::{Scratch, tend, tree};

#[test]
fn quickstart_converges_then_stays_converged_and_check_tells_the_truth() {
    let dir = Scratch::new("quickstart");
    let base = format!("base={}/qs", dir.str());
    let first = tend([
        "run",
        "playbooks/quickstart.yml",
        "-i",
        "inventory.example",
        "-e",
        &base,
    ]);
    first.assert_ok();
    assert!(first.changed("localhost") >= 5, "{}", first.stdout);
    assert!(
        first.stdout.contains("RUNNING HANDLER [reload app]"),
        "{}",
        first.stdout
    );
    assert!(dir.path().join("qs/log/reloaded").exists());
    let conf =
        std::fs::read_to_string(dir.path().join("qs/etc/shop.conf")).expect("config written");
    assert!(conf.contains("listen = 127.0.0.1:8080"), "{conf}");

    let second = tend([
        "run",
        "playbooks/quickstart.yml",
        "-i",
        "inventory.example",
        "-e",
        &base,
    ]);
    second.assert_ok();
    assert_eq!(second.changed("localhost"), 0, "{}", second.stdout);

    let before = tree(dir.path());
    let check = tend([
        "run",
        "playbooks/quickstart.yml",
        "-i",
        "inventory.example",
        "-e",
        &base,
        "-e",
        "app_port=9090",
        "--check",
        "--diff",
        "--detailed-exitcodes",
    ]);
    assert_eq!(check.code, 2, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("-listen = 127.0.0.1:8080"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("+listen = 127.0.0.1:9090"),
        "{}",
        check.stdout
    );
    assert!(check.changed("localhost") >= 2, "{}", check.stdout);
    assert_eq!(tree(dir.path()), before, "--check must not touch any file");
}
