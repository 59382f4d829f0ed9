//! `ctpvx reconcile` and `ctpvx audit reconcile` as an operator runs them: the real binary,
//! against both simulators, on a store file. A dry run writes its report file and changes
//! nothing; `--fail-on-drift` makes drift an exit code; the real run repairs and its drift
//! report is in the audit log.

use std::process::Command;

use ctpvx_infra::checks;
use ctpvx_infra::testbed::{STOCK_SITES, Testbed, TestbedOptions};

/// A test bed whose commercetools shows 30 items at 3 sites, every fourth entry off target.
async fn drifted() -> (Testbed, usize) {
    let bed = Testbed::start(TestbedOptions {
        budget_window: std::time::Duration::from_millis(300),
        ..TestbedOptions::default()
    })
    .await
    .unwrap();
    let mut stock = Vec::new();
    let mut entries = Vec::new();
    let mut off = 0;
    for (s, (site, _)) in STOCK_SITES.iter().enumerate() {
        for i in 0..30 {
            let item = format!("ITEM-{i:03}");
            let available = (i * 3 + s) as i64;
            let quantity = if (s * 30 + i) % 4 == 0 {
                off += 1;
                available + 2
            } else {
                available
            };
            stock.push((site.to_string(), item.clone(), available, available));
            entries.push((item, Some(bed.site_channels[*site].clone()), quantity));
        }
    }
    bed.pvx.set_stock_bulk(stock);
    bed.ct.insert_inventory_bulk(entries).unwrap();
    (bed, off)
}

/// Runs `ctpvx ARGS --store DIR/store.sqlite3`, with `--config` for the commands that take one.
fn ctpvx(bed: &Testbed, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let config = dir.join("ctpvx.toml");
    std::fs::write(&config, &bed.config_text).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ctpvx"));
    command.args(args);
    if args[0] != "audit" {
        command.arg("--config").arg(&config);
    }
    let out = command
        .arg("--store")
        .arg(dir.join("store.sqlite3"))
        .envs(bed.secret_env())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn off_target(bed: &Testbed) -> usize {
    checks::stock::mismatches(bed)
        .into_iter()
        .filter(|m| m.actual.is_some())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_previews_repairs_and_reads_the_report() {
    let (bed, off) = drifted().await;
    assert_eq!(off_target(&bed), off);
    let dir = TempDir::new();
    let dir = dir.0.as_path();
    let csv = dir.join("drift.csv");
    let (code, stdout, stderr) = ctpvx(
        &bed,
        dir,
        &[
            "reconcile",
            "--dry-run",
            "--fail-on-drift",
            "--no-orders",
            "--no-despatches",
            "--report",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("90 processed, {off} would update")),
        "{stdout}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        rows.lines()
            .filter(|l| l.starts_with("difference,"))
            .count(),
        off
    );
    assert!(rows.lines().all(|l| !l.contains(",updated")), "{rows}");
    assert_eq!(off_target(&bed), off, "a dry run changed commercetools");

    let md = dir.join("drift.md");
    let (code, stdout, stderr) = ctpvx(
        &bed,
        dir,
        &[
            "reconcile",
            "--run",
            "tonight",
            "--no-orders",
            "--no-despatches",
            "--report",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(off_target(&bed), 0);
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.starts_with("# ctpvx reconcile tonight"),
        "{markdown}"
    );
    assert_eq!(markdown.matches("| updated |").count(), off, "{markdown}");

    let (code, stdout, _) = ctpvx(&bed, dir, &["audit", "reconcile", "tonight"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("stock 90 processed, {off} updated, 0 failed")),
        "{stdout}"
    );
    let (code, stdout, _) = ctpvx(&bed, dir, &["audit", "reconcile"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let (code, _, stderr) = ctpvx(&bed, dir, &["audit", "reconcile", "no-such-run"]);
    assert_eq!(code, 1, "{stderr}");

    let (code, _, stderr) = ctpvx(&bed, dir, &["reconcile", "--site", "MOON", "--no-orders"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("site `MOON` is not in [stock.sites]"),
        "{stderr}"
    );
    let (code, _, stderr) = ctpvx(&bed, dir, &["reconcile", "--report", "x.txt"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("name a .csv or .md file"), "{stderr}");
}

/// A directory removed when the test ends, passed or not.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ctpvx-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
