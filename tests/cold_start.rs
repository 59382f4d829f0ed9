//! A shipped function binary, run as Lambda runs it: a fake Runtime API hands it SQS events
//! with their deadline (`Lambda-Runtime-Deadline-Ms`), AWS is the moto server at
//! `CTPVX_TEST_AWS_ENDPOINT`, commercetools and Peoplevox are simulated. Started while
//! commercetools is down, `stock-delta` starts all the same, answers its first batch with the
//! record to retry (back after the flow's backoff, not the visibility timeout), ends a batch
//! whose Peoplevox read hangs before its deadline, and works once both are back.
//!
//! The binary is built by the test (`cargo build -p stock-delta`), or taken from
//! `CTPVX_TEST_FUNCTION_BIN`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use ctpvx_infra::local::runtime_api::{Answer, ApiEvent, RuntimeApi};
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::aws::provision::emulator_sdk_config;
use ctpvx_shared::domain::StockMessage;
use ctpvx_shared::store::{Queue, QueueMessage, now_epoch_ms};
use ctpvx_tests::{STOCK_QUEUE, moto_endpoint, testbed};

const FUNCTION: &str = "stock-delta";
const SITE: &str = "UK-DC";
const SKU: &str = "SKU-0001";

/// The function binary: built now (a no-op when it is fresh), unless one is named.
async fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CTPVX_TEST_FUNCTION_BIN") {
        return path.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    ctpvx_infra::stack::build::build_functions(&root, &[FUNCTION], false)
        .await
        .expect("the function binary builds")
        .join(FUNCTION)
}

fn moved(at_ms: i64) -> String {
    StockMessage::Moved {
        id: format!("mv-{at_ms}"),
        site: SITE.into(),
        item: SKU.into(),
        quantity_changed: 5,
        update_timestamp: None,
        reason: Some("Goods in".into()),
        received_at_ms: at_ms,
    }
    .to_json()
}

/// The SQS event Lambda's event source mapping hands the function for `messages`.
fn sqs_event(messages: &[QueueMessage]) -> String {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:stock",
                "awsRegion": "eu-west-1",
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// The message ids an answer reports as batch item failures.
fn failures(answer: &Answer) -> Vec<String> {
    assert!(!answer.error, "the invocation failed: {}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).expect("a JSON answer");
    body["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
        .collect()
}

/// One message of `queue`, received within `limit` (a visibility timeout of 120 s, the
/// function's own for the stock queue).
async fn receive(queue: &SqsQueue, limit: Duration) -> Option<QueueMessage> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let got = queue
            .receive(STOCK_QUEUE, 1, Duration::from_secs(120))
            .await
            .expect("receive");
        if let Some(message) = got.into_iter().next() {
            return Some(message);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_delta_started_while_commercetools_is_down_retries_until_it_is_back() {
    let endpoint = moto_endpoint()
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see tests/contract_stores.rs");
    let bed = testbed(&[SKU.to_string()]).await;
    bed.pvx.set_stock(SITE, SKU, 17, 20);
    let secrets = bed.secret_values();
    let env = ctpvx_infra::aws_emulator::function_env(&endpoint, &bed.config_text, &secrets)
        .await
        .expect("tables, queues, the configuration and the secrets on moto");
    let url = env
        .iter()
        .find(|(k, _)| k == "CTPVX_STOCK_QUEUE_URL")
        .map(|(_, v)| v.clone())
        .expect("the stock queue");
    let sdk = emulator_sdk_config(&endpoint).await;
    let queue = SqsQueue::from_conf(&sdk, BTreeMap::from([(STOCK_QUEUE.to_string(), url)]));
    let exe = binary().await;

    // commercetools is down when the function starts.
    bed.ct.faults().set_error_rate(1.0);
    let mut api = RuntimeApi::start().await.expect("runtime API");
    let log = std::env::temp_dir().join(format!("ctpvx-cold-start-{}.log", uuid::Uuid::new_v4()));
    let mut child = tokio::process::Command::new(&exe)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("ctpvx-{FUNCTION}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/ctpvx-{FUNCTION}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("log file"))
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the function");
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    tokio::select! {
        started = api.wait(Duration::from_secs(60)) => match started {
            Some(ApiEvent::Ready(_)) => {}
            other => panic!("the function did not start: {other:?}\n{}", logged()),
        },
        exited = child.wait() => panic!("the function exited at its init: {exited:?}\n{}", logged()),
    }

    // Its first batch: the flow cannot be built, the record is retried with the reason.
    queue
        .send(STOCK_QUEUE, &moved(1_000), &BTreeMap::new())
        .await
        .unwrap();
    let first = receive(&queue, Duration::from_secs(10))
        .await
        .expect("sent");
    api.invoke(
        &sqs_event(std::slice::from_ref(&first)),
        now_epoch_ms() + 60_000,
    );
    let answer = api
        .answer(Duration::from_secs(70))
        .await
        .expect("an answer");
    assert_eq!(failures(&answer), vec![first.id.clone()]);
    assert!(logged().contains("flow not built"), "{}", logged());
    // Back after the flow's first retry delay (5 s), not the 120 s it was received for.
    let again = receive(&queue, Duration::from_secs(20))
        .await
        .expect("the retry came back after its backoff");
    assert_eq!(
        (again.id.as_str(), again.receive_count),
        (first.id.as_str(), 2)
    );

    // commercetools is back; Peoplevox hangs: the batch ends before its deadline.
    bed.ct.faults().clear();
    bed.pvx.faults().set_hang(Duration::from_secs(120));
    bed.pvx.faults().set_timeout_rate(1.0);
    let started = Instant::now();
    api.invoke(
        &sqs_event(std::slice::from_ref(&again)),
        now_epoch_ms() + 10_000,
    );
    let answer = api
        .answer(Duration::from_secs(30))
        .await
        .expect("an answer");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered after the deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(failures(&answer), vec![again.id.clone()]);

    // Both are back: a batch goes through.
    bed.pvx.faults().clear();
    queue
        .send(STOCK_QUEUE, &moved(2_000), &BTreeMap::new())
        .await
        .unwrap();
    let last = receive(&queue, Duration::from_secs(10))
        .await
        .expect("sent");
    api.invoke(&sqs_event(&[last]), now_epoch_ms() + 60_000);
    let answer = api
        .answer(Duration::from_secs(70))
        .await
        .expect("an answer");
    assert_eq!(failures(&answer), Vec::<String>::new(), "{}", logged());
    let channel = bed.site_channels[SITE].clone();
    let on_stock = bed
        .ct
        .inventory_entry(SKU, Some(&channel))
        .map(|e| e.quantity_on_stock);
    assert_eq!(on_stock, Some(17));
    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = std::fs::remove_file(&log);
}
