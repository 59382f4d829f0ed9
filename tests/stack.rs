//! The shipped binaries under the soak (issue 23, "test what we ship"): the six function
//! binaries run by the local stack as template.yaml wires them — SQS event source mappings
//! with partial batch responses, the HTTP API in payload format 2.0, the nightly
//! reconciliation started by its Schedule event — on moto at `CTPVX_TEST_AWS_ENDPOINT`, against
//! both simulators with every fault on. Every invariant must hold, every binary must have
//! handled events, and some invocation must have been killed at its (scaled) Timeout: a share
//! of the queue-fed functions' settling SQS calls stall past it.
//!
//! The binaries are built by the test (`cargo build -p …`, debug), or taken from
//! `CTPVX_TEST_FUNCTION_BIN_DIR`; the template is the workspace's template.yaml, or
//! `CTPVX_TEST_TEMPLATE`.

use std::path::{Path, PathBuf};

use ctpvx_infra::soak::on_stack::StackSource;
use ctpvx_infra::soak::{self, FaultRates, SoakBackend, SoakOptions};
use ctpvx_infra::stack::FUNCTIONS;
use ctpvx_tests::moto_endpoint;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory of the function binaries: built now (a no-op when they are fresh), unless
/// one is named.
async fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("CTPVX_TEST_FUNCTION_BIN_DIR") {
        return dir.into();
    }
    ctpvx_infra::stack::build::build_functions(&root(), &FUNCTIONS, false)
        .await
        .expect("the function binaries build")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_soak_through_the_shipped_binaries_breaks_no_invariant() {
    let aws = moto_endpoint()
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see infra/dev/test-all.sh");
    let log_dir = std::env::temp_dir().join(format!("ctpvx-stack-test-{}", uuid::Uuid::new_v4()));
    let source = StackSource {
        aws: aws.clone(),
        template: std::env::var_os("CTPVX_TEST_TEMPLATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("template.yaml")),
        bin_dir: binaries().await,
        log_dir: Some(log_dir.clone()),
    };
    let options = SoakOptions {
        seed: 7,
        orders: 40,
        movements: 150,
        despatches: 15,
        items: 30,
        // template.yaml's Timeouts / 30, as the budget window: 4–6.7 s per batch.
        compress: 30,
        settle_limit_s: 240,
        // Few batches settle in a run this small: stall a good share of their SQS calls, so
        // that some invocation is killed at its Timeout.
        faults: FaultRates {
            settle_stalls: 0.15,
            ..FaultRates::default()
        },
        ..SoakOptions::default()
    };
    let outcome = soak::run(options, SoakBackend::Stack(source))
        .await
        .expect("the soak runs");
    let f = &outcome.figures;
    assert!(
        outcome.passed(),
        "invariants broken: {:#?}\n{f:#}\nfunction logs: {}",
        outcome.invariants,
        log_dir.display()
    );
    assert_eq!(outcome.backend, format!("stack (moto at {aws})"));
    for binary in FUNCTIONS {
        let invoked = &f["stack"]["functions"][binary];
        assert!(
            invoked["invocations"].as_u64() > Some(0),
            "{binary} was never invoked: {invoked:#}"
        );
    }
    // Every queue-fed binary reported the events it handled (its EMF lines).
    for binary in &FUNCTIONS[1..] {
        let events = f["stack"]["functions"][binary]["metrics"]["Events"].as_f64();
        assert!(events > Some(0.0), "{binary} handled no events: {f:#}");
    }
    assert!(f["faults"]["deadline_kills"].as_u64() > Some(0), "{f:#}");
    assert!(f["orders"]["placed"].as_u64() >= Some(40), "{f:#}");
    assert!(f["net"]["reconcile_failed"].as_u64() == Some(0), "{f:#}");
    let _ = std::fs::remove_dir_all(&log_dir);
}
