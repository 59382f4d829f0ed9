//! The README's "Try it by hand" walk, run as written: its shell block is read from README.md
//! and each line run in a fresh directory, `ctpvx` being this build's binary. `source` loads
//! the environment file into the commands that follow, a line ending in `&` runs in the
//! background until the end, and every other command must exit 0. A person types slower than
//! the flows settle, so a command that fails is tried again for a while (an order is only
//! there to pick once `ctpvx serve` has exported it, its story tells of the delivery once the
//! despatch callbacks are through); what each finally printed is then checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may keep failing before the walk is broken.
const PATIENCE: Duration = Duration::from_secs(120);

/// The shell lines of the README's "Try it by hand" section, comments dropped.
fn walk() -> Vec<String> {
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
    block
        .lines()
        .map(|line| {
            line.split(" #")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// `export NAME='value'` lines, as `ctpvx sim` writes them.
fn read_env_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).expect("the environment file");
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name != "PATH")
        .map(|(name, value)| {
            let value = value.trim_matches('\'').replace(r"'\''", "'");
            (name.to_string(), value)
        })
        .collect()
}

/// A line's words, `ctpvx` (or `cargo run … -- `) replaced by this build's binary.
fn command(line: &str, dir: &Path, env: &BTreeMap<String, String>) -> Command {
    let line = match line.split_once(" -- ") {
        Some((cargo, rest)) if cargo.starts_with("cargo run") => format!("ctpvx {rest}"),
        _ => line.to_string(),
    };
    let mut words = line.split_whitespace();
    assert_eq!(
        words.next(),
        Some("ctpvx"),
        "a walk line runs ctpvx: {line}"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctpvx"));
    cmd.args(words).current_dir(dir).envs(env);
    cmd
}

struct Background(Vec<(String, Child)>);

impl Drop for Background {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_of(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("background-{n}.log"))
}

/// What a line's output shows once the flows have done their part, beyond exiting 0: the
/// delivered despatch in the order's story, the written movement in the SKU's trail.
fn shows(line: &str) -> &'static str {
    if line.starts_with("ctpvx audit order") {
        "delivered"
    } else if line.starts_with("ctpvx audit stock") {
        "written"
    } else {
        ""
    }
}

/// Runs `line` until it exits 0 showing what it should; its output.
fn run_until_ok(line: &str, dir: &Path, env: &BTreeMap<String, String>) -> String {
    let started = Instant::now();
    loop {
        let out = command(line, dir, env).output().expect("ctpvx runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && text.contains(shows(line)) {
            return text;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "`{line}` still fails after {PATIENCE:?} ({}; expected to show {:?}):\n{text}",
            out.status,
            shows(line)
        );
        std::thread::sleep(Duration::from_millis(1500));
    }
}

#[test]
fn the_readme_walk_runs_against_the_sandbox() {
    let lines = walk();
    assert!(lines.len() >= 8, "{lines:?}");
    let dir = std::env::temp_dir().join(format!("ctpvx-try-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut env = BTreeMap::new();
    let mut background = Background(Vec::new());
    let mut outputs: Vec<(String, String)> = Vec::new();
    for line in &lines {
        if let Some(file) = line.strip_prefix("source ") {
            let file = dir.join(file.trim());
            let started = Instant::now();
            while !file.exists() {
                assert!(
                    started.elapsed() < PATIENCE,
                    "{} never appeared",
                    file.display()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            env = read_env_file(&file);
        } else if let Some(line) = line.strip_suffix('&').map(str::trim) {
            let log = std::fs::File::create(log_of(&dir, background.0.len())).unwrap();
            let child = command(line, &dir, &env)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .expect("ctpvx starts");
            background.0.push((line.to_string(), child));
            if line.starts_with("ctpvx serve") {
                wait_listening(&env["CTPVX_LISTEN"]);
            }
        } else {
            let text = run_until_ok(line, &dir, &env);
            outputs.push((line.clone(), text));
        }
    }
    for (n, (line, child)) in background.0.iter_mut().enumerate() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "`{line}` stopped early:\n{}",
            std::fs::read_to_string(log_of(&dir, n)).unwrap_or_default()
        );
    }
    check_outputs(&outputs);
    drop(background);
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_listening(addr: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < PATIENCE, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the walk shows a person, command by command.
fn check_outputs(outputs: &[(String, String)]) {
    let of = |wanted: &str| -> &str {
        outputs
            .iter()
            .find(|(line, _)| line == wanted)
            .map(|(_, text)| text.as_str())
            .unwrap_or_else(|| panic!("the walk runs `{wanted}`"))
    };
    assert!(
        of("ctpvx setup").contains("created"),
        "{}",
        of("ctpvx setup")
    );
    assert!(
        !of("ctpvx check-config").contains("FAIL"),
        "{}",
        of("ctpvx check-config")
    );
    assert!(
        of("ctpvx subscribe").contains("created"),
        "{}",
        of("ctpvx subscribe")
    );
    let order = of("ctpvx sim order");
    assert!(order.contains("taken by ctpvx serve"), "{order}");
    let number = order
        .split_whitespace()
        .nth(1)
        .expect("`order NUMBER placed …`");
    let story = outputs
        .iter()
        .find(|(line, _)| line.starts_with("ctpvx audit order") && line.contains(number))
        .map(|(_, text)| text.as_str())
        .unwrap_or_else(|| panic!("the walk tells the story of {number}"));
    for step in ["exported", "delivered"] {
        assert!(
            story.to_lowercase().contains(step),
            "{number}'s story lacks {step}:\n{story}"
        );
    }
}
