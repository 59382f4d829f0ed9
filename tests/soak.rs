//! The soak at a small size, on the embedded store and on DynamoDB + SQS (moto): every fault
//! on at once, then the invariant checker over the two simulated systems must count 0 of
//! every broken promise — and the faults must really have happened, invocations killed at
//! their function's timeout among them.
//!
//! Lost Peoplevox callbacks are on (2 %): the nightly reconciliation's stock, order, despatch
//! and status sweeps (statuses, cancellations and returns) are the net that must catch them.

use ctpvx_infra::soak::{self, FaultRates, SoakBackend, SoakOptions, SoakOutcome};
use ctpvx_tests::moto_endpoints;

fn small(seed: u64) -> SoakOptions {
    SoakOptions {
        seed,
        orders: 300,
        movements: 1_500,
        despatches: 150,
        items: 60,
        // No more than template.yaml's Timeouts / 30 fit the soak's worst request paths.
        compress: 30,
        settle_limit_s: 240,
        // A small run settles few batches: stall more of their calls, so that some
        // invocations are killed at their function timeout.
        faults: FaultRates {
            settle_stalls: 0.03,
            ..FaultRates::default()
        },
        ..SoakOptions::default()
    }
}

fn assert_passed(outcome: &SoakOutcome) {
    let f = &outcome.figures;
    assert!(
        outcome.passed(),
        "invariants broken on {}: {:#?}\n{f:#}",
        outcome.backend,
        outcome.invariants
    );
    // The run proves something only if the faults and the work happened.
    let options = &outcome.options;
    assert!(
        f["orders"]["placed"].as_u64() >= Some(options.orders as u64),
        "{f:#}"
    );
    assert!(
        f["warehouse"]["despatches"].as_u64() >= Some(options.despatches as u64),
        "{f:#}"
    );
    if options.faults.worker_kills > 0.0 {
        assert!(
            f["faults"]["worker_batches_killed"].as_u64() > Some(0),
            "{f:#}"
        );
    }
    // Lambda's limits (issue 21 item 9): batches ran under their function's Timeout and some
    // were killed there, mid-settle.
    assert!(options.function_timeouts);
    assert!(f["faults"]["deadline_kills"].as_u64() > Some(0), "{f:#}");
    assert!(
        f["faults"]["peoplevox_sessions_expired"].as_u64() > Some(0),
        "{f:#}"
    );
    assert!(f["stock"]["callbacks_repeated"].as_u64() > Some(0), "{f:#}");
    assert!(f["stock"]["conflicts"].as_u64() > Some(0), "{f:#}");
    assert!(
        f["queues"]["sent"].as_u64() > Some(options.movements as u64),
        "{f:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_soak_on_the_embedded_store_breaks_no_invariant() {
    let outcome = soak::run(small(11), SoakBackend::Embedded).await.unwrap();
    assert_passed(&outcome);
    // Issue 22: the warehouse made every hard shape.
    let w = &outcome.figures["warehouse"];
    for shape in [
        "pack_orders_despatched",
        "delivered_by_hand",
        "tracking_lost",
        "held_released_out_of_order",
        "returns_advised_first",
        "other_channel_orders",
        "cancelled_after_despatch",
    ] {
        assert!(w[shape].as_u64() > Some(0), "no {shape}: {w:#}");
    }
}

/// The same promises on DynamoDB + SQS (moto, started by infra/dev/test-all.sh with its SQS and
/// DynamoDB calls made atomic; the queues on a second moto server when the test command started
/// one, as a default-size run has them). Smaller, with fewer workers and a longer visibility timeout:
/// every call is an HTTP round trip to one Python process, and on a loaded machine a batch that
/// outlives a short timeout is received again. Worker kills are on: SQS's redrive policy,
/// which parks a message without a reason, acts only after three kills in a row on one
/// message (`queues::CRASH_RECEIVES`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_soak_on_dynamodb_and_sqs_breaks_no_invariant() {
    let endpoints = moto_endpoints()
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see infra/dev/test-all.sh");
    // Smaller and with fewer workers: every call is an HTTP round trip to one Python process.
    let options = SoakOptions {
        orders: 40,
        movements: 150,
        despatches: 15,
        items: 30,
        workers: (2, 3),
        visibility_s: 30,
        // Fewer batches still: stall more of their settling calls, so that some invocation is
        // killed at its Timeout (at 3 % a run of this size saw none).
        faults: FaultRates {
            settle_stalls: 0.2,
            ..small(12).faults
        },
        ..small(12)
    };
    let outcome = soak::run(options, SoakBackend::Aws(endpoints.clone()))
        .await
        .unwrap();
    assert_eq!(outcome.backend, format!("aws ({endpoints})"));
    assert_passed(&outcome);
}
