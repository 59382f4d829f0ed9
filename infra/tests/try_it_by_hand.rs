//! The README's "Try it by hand" walk, run as written: its shell block, read from README.md,
//! runs under `bash -e` in a fresh directory with this build's `ctpvx` on PATH (the block's
//! `cargo run … --` is that binary). Every command must succeed, and what the walk promises a
//! person must show in what they would read: the Types created, no failed check, the
//! subscriptions, the seeded drift found and repaired, the new order exported, its delivery in
//! commercetools and in its story, the stock movement followed, nothing parked.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole walk; it takes about half a minute.
const LIMIT: Duration = Duration::from_secs(360);

/// The shell block of the README's "Try it by hand" section.
fn walk() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Try it by hand"))
        .expect("README has a \"Try it by hand\" section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a ```sh block");
    assert!(
        block.contains("cargo run --profile cli -p ctpvx-infra --bin ctpvx -- sim"),
        "the walk starts the sandbox as the first README command builds it:\n{block}"
    );
    block.replace(
        "cargo run --profile cli -p ctpvx-infra --bin ctpvx --",
        "ctpvx",
    )
}

#[test]
fn the_readme_walk_runs_against_the_sandbox() {
    let script = walk();
    let dir = std::env::temp_dir().join(format!("ctpvx-try-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ctpvx")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = dir.join("walk.log");
    let out_file = std::fs::File::create(&log).unwrap();
    let mut bash = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(&dir)
        .env("PATH", path)
        .env_remove("CTPVX_CONFIG")
        .env_remove("CTPVX_STORE")
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().unwrap())
        .stderr(out_file)
        // Its own process group: whatever the walk leaves running is stopped with it.
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let group = bash.id();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = bash.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .status();
    let mut out = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let serve_log = std::fs::read_to_string(dir.join(".ctpvx/sim/serve.log")).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("the walk still ran after {LIMIT:?}:\n{out}"));
    assert!(
        status.success(),
        "the walk failed ({status}):\n{out}\n--- serve.log:\n{serve_log}"
    );
    for shown in [
        // setup, check-config, subscribe
        "created type ctpvx-delivery",
        "0 failed",
        "created AvailabilityChanges at UK-DC",
        // the seeded drift, then its repair
        "(dry run)",
        "orders 5 unexported",
        "5 re-queued",
        // the order, exported; its despatch booked; its story
        "order D0000006 placed in commercetools; OrderCreated taken by ctpvx serve",
        "in Peoplevox at UK-DC",
        "commercetools shows delivery pvx-DSP-",
        "order-export         exported",
        "shipment-confirmed   delivered",
        // the stock movement, followed; nothing parked
        "on stock at UK-DC's channel after",
        "orders-dlq: 0 messages parked",
    ] {
        // Not inside a longer word or number where the phrase begins or ends with one: "0
        // failed" must not pass on "10 failed" ("pvx-DSP-" is a prefix on purpose).
        let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let whole = out.match_indices(shown).any(|(at, _)| {
            let (before, after) = (
                out[..at].chars().next_back(),
                out[at + shown.len()..].chars().next(),
            );
            let glued_before = alnum(shown.chars().next()) && alnum(before);
            let glued_after = alnum(shown.chars().next_back()) && alnum(after);
            !glued_before && !glued_after
        });
        assert!(whole, "the walk did not show {shown:?}:\n{out}");
    }
    // `audit stock`: a line of the movement at UK-DC, written to commercetools.
    assert!(
        out.lines().any(|l| l.contains("UK-DC")
            && l.split_whitespace().any(|w| w == "written")
            && l.contains(" -> ")),
        "the walk did not show the stock movement written:\n{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
