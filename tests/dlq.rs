//! `ctpvx dlq list|show|redrive`: the operator's view of the dead-letter queues, driven through
//! `ctpvx_infra::operator::dlq` (what the command runs) against the embedded store and against
//! SQS + DynamoDB on moto. Messages are parked the way the flows park them (`settle`) or by the
//! queue's redrive policy.
//!
//! The AWS half needs `CTPVX_TEST_AWS_ENDPOINT` (see `tests/contract_stores.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ctpvx_infra::operator::dlq::{
    self, DEFAULT_LIMIT, QueuePair, RedriveOptions, RedriveStep, ShowOutcome,
};
use ctpvx_shared::flows::activity::{self, BatchCounts};
use ctpvx_shared::flows::batch::{InputRecord, REQUEUES_ATTRIBUTE, RecordOutcome, requeues_of};
use ctpvx_shared::flows::settle::{RetryPolicy, settle};
use ctpvx_shared::queues::{self, ORDERS_DLQ, ORDERS_MAX_RECEIVE_COUNT, ORDERS_QUEUE};
use ctpvx_shared::store::{AuditLog, Queue, QueueDepth, QueueMessage, StoreError, now_epoch_ms};

/// An OrderCreated Message with an address, an email, a phone number and a gift message.
const ORDER_CREATED: &str = include_str!("../shared/fixtures/order-created.json");
/// What of [`ORDER_CREATED`] must never appear in a listing.
const PERSONAL: [&str; 7] = [
    "jane@example.com",
    "Jane",
    "Doe",
    "High St",
    "SW1A 1AA",
    "+44 20 7946 0000",
    "Happy birthday",
];
/// Its commercetools order id, which a listing shows.
const ORDER_ID: &str = "3f1c2b7e-1d2a-4c55-9a77-8f1a2b3c4d5e";
const FLOW: &str = "order-export";
const LONG: Duration = Duration::from_secs(30);

/// A queue and an audit log of one backend, with `orders` and `orders-dlq`.
struct Backend {
    queue: Arc<dyn Queue>,
    audit: Arc<dyn AuditLog>,
}

fn orders() -> QueuePair {
    dlq::resolve(ORDERS_QUEUE).expect("orders is a queue")
}

/// A message on the orders queue, received and parked by `settle` as a flow parks it; returns
/// its source message id.
async fn park(b: &Backend, body: &str, reason: &str) -> String {
    b.queue
        .send(ORDERS_QUEUE, body, &BTreeMap::new())
        .await
        .unwrap();
    let m = receive_one(b.queue.as_ref(), ORDERS_QUEUE).await;
    let record = InputRecord {
        id: m.id.clone(),
        body: m.body.clone(),
        receive_count: m.receive_count,
        requeues: 0,
        receipt: None,
    };
    let outcomes = BTreeMap::from([(m.id.clone(), RecordOutcome::DeadLetter(reason.into()))]);
    let retry = settle(
        b.queue.as_ref(),
        b.audit.as_ref(),
        FLOW,
        &queues::retry_policy(ORDERS_QUEUE),
        &[record],
        &outcomes,
    )
    .await;
    assert!(retry.is_empty(), "not parked: {retry:?}");
    // The worker deletes what it settled.
    b.queue.delete(ORDERS_QUEUE, &m.receipt).await.unwrap();
    m.id
}

/// The one message on the orders queue, which must not be there yet but must be 3 s later.
async fn after_its_delay(q: &dyn Queue, what: &str) -> QueueMessage {
    let early = q.receive(ORDERS_QUEUE, 10, LONG).await.unwrap();
    assert!(early.is_empty(), "{what} came before its delay");
    tokio::time::sleep(Duration::from_secs(3)).await;
    receive_one(q, ORDERS_QUEUE).await
}

async fn receive_one(q: &dyn Queue, queue: &str) -> QueueMessage {
    let mut got = receive_all(q, queue).await;
    assert_eq!(got.len(), 1, "expected one message on {queue}: {got:#?}");
    got.remove(0)
}

/// Every visible message (hidden for [`LONG`]): receives until an answer is empty.
async fn receive_all(q: &dyn Queue, queue: &str) -> Vec<QueueMessage> {
    let mut got = Vec::new();
    loop {
        let batch = q.receive(queue, 10, LONG).await.unwrap();
        if batch.is_empty() {
            return got;
        }
        got.extend(batch);
    }
}

async fn list(b: &Backend) -> dlq::Listing {
    dlq::list(b.queue.as_ref(), orders(), DEFAULT_LIMIT)
        .await
        .unwrap()
}

fn options(ids: &[&str], dry_run: bool) -> RedriveOptions {
    RedriveOptions {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        dry_run,
        limit: DEFAULT_LIMIT,
    }
}

// ---------------------------------------------------------------------------------------------
// Checks, each against a fresh backend
// ---------------------------------------------------------------------------------------------

/// A retry on its last attempt is not left to the redrive policy: it comes back as a fresh
/// copy after the policy's delay (counting its re-queues), and when the re-queues are spent
/// it is parked with its last reason. Earlier attempts come back after the policy's retry
/// delay, not the visibility timeout they were received with.
async fn check_a_retry_on_its_last_attempt_is_requeued_then_parked(b: Backend) {
    let policy = RetryPolicy {
        requeues: 1,
        // Longer than the SQS adapter's long poll, so "not yet" is a real check.
        first_requeue_delay: Duration::from_secs(3),
        first_retry_delay: Duration::from_secs(3),
        ..queues::retry_policy(ORDERS_QUEUE)
    };
    let settle_retry = |m: QueueMessage, receive_count: u32| {
        let (queue, audit, policy) = (b.queue.clone(), b.audit.clone(), policy.clone());
        async move {
            let record = InputRecord {
                id: m.id.clone(),
                body: m.body.clone(),
                receive_count,
                requeues: requeues_of(m.attributes.get(REQUEUES_ATTRIBUTE).map(String::as_str)),
                receipt: Some(m.receipt.clone()),
            };
            let outcomes = BTreeMap::from([(
                m.id.clone(),
                RecordOutcome::Retry("Peoplevox answered 503".into()),
            )]);
            let failed = settle(
                queue.as_ref(),
                audit.as_ref(),
                FLOW,
                &policy,
                &[record],
                &outcomes,
            )
            .await;
            if failed.is_empty() {
                queue.delete(ORDERS_QUEUE, &m.receipt).await.unwrap();
            }
            failed
        }
    };
    let original = b
        .queue
        .send(ORDERS_QUEUE, ORDER_CREATED, &BTreeMap::new())
        .await
        .unwrap();
    let m = receive_one(b.queue.as_ref(), ORDERS_QUEUE).await;
    let retried_at = std::time::Instant::now();
    assert_eq!(
        settle_retry(m, 1).await,
        vec![original.clone()],
        "an early attempt is retried"
    );
    let m = after_its_delay(b.queue.as_ref(), "the retry").await;
    assert!(
        retried_at.elapsed() < LONG,
        "the retry waited out its visibility timeout"
    );
    assert!(settle_retry(m, policy.attempts).await.is_empty());

    // The copy is delayed, then arrives with the same body and its re-queue count.
    let copy = after_its_delay(b.queue.as_ref(), "the copy").await;
    assert_ne!(copy.id, original);
    assert_eq!(copy.body, ORDER_CREATED);
    assert_eq!(copy.attributes[REQUEUES_ATTRIBUTE], "1");
    let audit = b
        .audit
        .list(&format!("message#{original}"), 10)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.outcome == "requeued"
            && e.reason.as_deref() == Some("Peoplevox answered 503")
            && e.detail["copy"] == copy.id.as_str()),
        "{audit:#?}"
    );

    // Its re-queues spent, the copy is parked with the reason on its last attempt.
    let copy_id = copy.id.clone();
    assert!(settle_retry(copy, policy.attempts).await.is_empty());
    let listing = list(&b).await;
    assert_eq!(listing.messages.len(), 1, "{listing:#?}");
    let entry = listing.messages[0].entry(&orders());
    assert_eq!(entry.source_message_id, copy_id);
    assert_eq!(
        entry.reason.as_deref(),
        Some(
            format!(
                "Peoplevox answered 503 (given up after {} receives and 1 re-queues)",
                policy.attempts
            )
            .as_str()
        )
    );
    assert!(
        b.queue
            .receive(ORDERS_QUEUE, 10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "nothing left on the source queue"
    );
}

/// A message parked by a flow is listed with its reason, flow and source id, and only the kind
/// and ids of its body; the listing leaves it parked and receivable.
async fn check_list_shows_the_reason_and_no_personal_data(b: Backend) {
    let empty = list(&b).await;
    assert!(empty.messages.is_empty());
    assert!(
        dlq::list_lines(&empty, DEFAULT_LIMIT).starts_with("orders-dlq: 0 messages parked"),
        "{}",
        dlq::list_lines(&empty, DEFAULT_LIMIT)
    );

    let source_id = park(&b, ORDER_CREATED, "sku ABC-1 unknown").await;
    let listing = list(&b).await;
    assert_eq!(listing.messages.len(), 1);
    let entry = listing.messages[0].entry(&orders());
    assert_eq!(entry.source_message_id, source_id);
    assert_eq!(entry.flow.as_deref(), Some(FLOW));
    assert_eq!(entry.reason.as_deref(), Some("sku ABC-1 unknown"));
    assert_eq!(entry.why, "sku ABC-1 unknown");
    assert!(entry.summary.contains(ORDER_ID), "{}", entry.summary);

    let text = dlq::list_lines(&listing, DEFAULT_LIMIT);
    let json = dlq::list_json(&listing).to_string();
    assert!(
        text.starts_with("orders-dlq: 1 message parked from orders\n"),
        "{text}"
    );
    for out in [&text, &json] {
        assert!(out.contains("sku ABC-1 unknown"), "{out}");
        assert!(out.contains(&source_id) && out.contains(ORDER_ID), "{out}");
        for personal in PERSONAL {
            assert!(!out.contains(personal), "{personal:?} listed: {out}");
        }
    }

    // Listing changed nothing but the receive count: the message is there, visible, again.
    assert_eq!(
        b.queue.depth(ORDERS_DLQ).await.unwrap(),
        QueueDepth {
            visible: 1,
            in_flight: 0
        }
    );
    let again = list(&b).await;
    assert_eq!(again.messages.len(), 1);
    assert_eq!(again.messages[0].message_id, listing.messages[0].message_id);
    assert_eq!(
        again.messages[0].receive_count,
        listing.messages[0].receive_count + 1
    );
    let m = receive_one(b.queue.as_ref(), ORDERS_DLQ).await;
    assert_eq!(m.body, ORDER_CREATED);
}

/// `show` prints the body and the attributes and the audit entry of the source message, found
/// by either id; an unknown id is not found; everything stays parked.
async fn check_show_prints_the_body_and_the_audit_entry(b: Backend) {
    let source_id = park(&b, ORDER_CREATED, "shippingAddress.city is missing").await;
    park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"o-2"}}"#,
        "other",
    )
    .await;
    let dead_id = list(&b)
        .await
        .messages
        .iter()
        .find(|m| m.source_message_id == source_id)
        .map(|m| m.message_id.clone())
        .unwrap();
    assert_ne!(dead_id, source_id, "settle parks a new message");

    for id in [&dead_id, &source_id] {
        let outcome = dlq::show(
            b.queue.as_ref(),
            b.audit.as_ref(),
            orders(),
            id,
            DEFAULT_LIMIT,
        )
        .await
        .unwrap();
        let ShowOutcome::Found(shown) = outcome else {
            panic!("{id} not found: {outcome:?}");
        };
        assert_eq!(shown.message.body, ORDER_CREATED);
        assert_eq!(shown.audit.len(), 1, "{:#?}", shown.audit);
        assert_eq!(shown.audit[0].entity, format!("message#{source_id}"));
        assert_eq!(shown.audit[0].outcome, "dead-lettered");
        assert_eq!(
            shown.audit[0].reason.as_deref(),
            Some("shippingAddress.city is missing")
        );
        let text = dlq::show_lines(&shown, DEFAULT_LIMIT);
        assert!(
            text.contains("jane@example.com"),
            "the body in full: {text}"
        );
        assert!(
            text.contains(&format!("ctpvx-source-message-id = {source_id}")),
            "{text}"
        );
        assert!(
            text.contains("dead-lettered  shippingAddress.city is missing"),
            "{text}"
        );
        let json = dlq::show_json(&shown);
        assert_eq!(json["body"], ORDER_CREATED);
        assert_eq!(json["audit"][0]["outcome"], "dead-lettered");
    }

    let missing = dlq::show(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        "no-such-message",
        DEFAULT_LIMIT,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            missing,
            ShowOutcome::NotFound {
                looked_at: 2,
                limit_reached: false,
                ..
            }
        ),
        "{missing:?}"
    );
    assert_eq!(b.queue.depth(ORDERS_DLQ).await.unwrap().visible, 2);
}

/// A redrive sends every parked message back without ctpvx's attributes, audits it, and
/// empties the dead-letter queue; a dry run before it moves nothing.
async fn check_redrive_moves_everything_back(b: Backend) {
    let first = park(&b, ORDER_CREATED, "commercetools refused the update").await;
    let second = park(&b, r#"{"kind":"recheck","id":"r-1"}"#, "no such site").await;

    let dry = dlq::redrive(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        &options(&[], true),
    )
    .await
    .unwrap();
    assert!(dry.ok() && dry.dry_run);
    assert_eq!(dry.redriven.len(), 2);
    assert!(dry.redriven.iter().all(|r| r.new_message_id.is_none()));
    assert!(
        dlq::redrive_lines(&dry, DEFAULT_LIMIT).starts_with("would redrive 2 messages"),
        "{}",
        dlq::redrive_lines(&dry, DEFAULT_LIMIT)
    );
    assert_eq!(b.queue.depth(ORDERS_DLQ).await.unwrap().visible, 2);
    assert_eq!(
        b.queue.depth(ORDERS_QUEUE).await.unwrap(),
        QueueDepth::default()
    );

    let report = dlq::redrive(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        &options(&[], false),
    )
    .await
    .unwrap();
    assert!(report.ok(), "{report:#?}");
    assert_eq!((report.redriven.len(), report.left), (2, 0));
    let text = dlq::redrive_lines(&report, DEFAULT_LIMIT);
    assert!(
        text.starts_with("redrove 2 messages from orders-dlq to orders (0 left in orders-dlq)"),
        "{text}"
    );

    assert_eq!(
        b.queue.depth(ORDERS_DLQ).await.unwrap(),
        QueueDepth::default()
    );
    assert!(list(&b).await.messages.is_empty());
    let mut back = receive_all(b.queue.as_ref(), ORDERS_QUEUE).await;
    back.sort_by_key(|m| m.body.len());
    let bodies: Vec<&str> = back.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, [r#"{"kind":"recheck","id":"r-1"}"#, ORDER_CREATED]);
    for m in &back {
        assert!(
            m.attributes.is_empty(),
            "ctpvx-* attributes travelled: {:?}",
            m.attributes
        );
        assert_eq!(m.receive_count, 1, "a fresh message on the source queue");
    }

    for source in [&first, &second] {
        let entries = b
            .audit
            .list(&format!("message#{source}"), 10)
            .await
            .unwrap();
        let outcomes: Vec<&str> = entries.iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(outcomes, ["dead-lettered", "redriven"]);
        let redriven = report
            .redriven
            .iter()
            .find(|r| &r.source_message_id == source)
            .unwrap();
        assert_eq!(
            entries[1].detail["new_message_id"].as_str(),
            redriven.new_message_id.as_deref()
        );
        assert!(
            back.iter()
                .any(|m| Some(m.id.as_str()) == redriven.new_message_id.as_deref())
        );
    }
}

/// `--id` redrives only the named message (by either id) and leaves the others parked; an id
/// that is not parked fails the command (exit 1) without touching anything else.
async fn check_redrive_of_one_id_leaves_the_others(b: Backend) {
    let a = park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"a"}}"#,
        "x",
    )
    .await;
    let target = park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"t"}}"#,
        "y",
    )
    .await;
    let c = park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"c"}}"#,
        "z",
    )
    .await;

    let report = dlq::redrive(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        &options(&[&target], false),
    )
    .await
    .unwrap();
    assert!(report.ok(), "{report:#?}");
    assert_eq!((report.redriven.len(), report.left), (1, 2));
    assert_eq!(report.redriven[0].source_message_id, target);

    let back = receive_one(b.queue.as_ref(), ORDERS_QUEUE).await;
    assert!(back.body.contains(r#""id":"t""#), "{}", back.body);
    let left: Vec<String> = list(&b)
        .await
        .messages
        .iter()
        .map(|m| m.source_message_id.clone())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&a) && left.contains(&c), "{left:?}");

    let missing = dlq::redrive(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        &options(&["no-such-message"], false),
    )
    .await
    .unwrap();
    assert!(!missing.ok());
    assert_eq!(missing.not_found, ["no-such-message"]);
    assert!(missing.redriven.is_empty());
    assert!(
        dlq::redrive_lines(&missing, DEFAULT_LIMIT)
            .contains("not parked in orders-dlq: no-such-message")
    );
    assert_eq!(b.queue.depth(ORDERS_DLQ).await.unwrap().visible, 2);
}

/// A message the redrive policy moved (no flow parked it) says so, keeps its id, and goes back
/// with the attributes it came with.
async fn check_a_message_moved_by_the_redrive_policy_says_so(b: Backend) {
    let attributes = BTreeMap::from([("origin".to_owned(), "subscription".to_owned())]);
    let id = b
        .queue
        .send(ORDERS_QUEUE, r#"{"type":"OrderCreated"}"#, &attributes)
        .await
        .unwrap();
    // Received and never deleted, up to the redrive count; the next receive moves it.
    for _ in 0..ORDERS_MAX_RECEIVE_COUNT {
        let got = b
            .queue
            .receive(ORDERS_QUEUE, 1, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
    }
    assert!(
        b.queue
            .receive(ORDERS_QUEUE, 1, LONG)
            .await
            .unwrap()
            .is_empty()
    );

    let listing = list(&b).await;
    assert_eq!(listing.messages.len(), 1);
    let entry = listing.messages[0].entry(&orders());
    assert_eq!(
        (entry.message_id.as_str(), entry.source_message_id.as_str()),
        (id.as_str(), id.as_str())
    );
    assert_eq!((entry.reason, entry.flow), (None, None));
    assert_eq!(
        entry.why,
        format!(
            "no reason recorded: moved by the redrive policy after {ORDERS_MAX_RECEIVE_COUNT} receives"
        )
    );

    let report = dlq::redrive(
        b.queue.as_ref(),
        b.audit.as_ref(),
        orders(),
        &options(&[&id], false),
    )
    .await
    .unwrap();
    assert!(report.ok(), "{report:#?}");
    let back = receive_one(b.queue.as_ref(), ORDERS_QUEUE).await;
    assert_eq!(back.attributes, attributes);
    let entries = b.audit.list(&format!("message#{id}"), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].flow.as_str(), entries[0].outcome.as_str()),
        ("operator", "redriven")
    );
}

/// A send that fails leaves its message parked (and says which); a delete that fails after the
/// send leaves it in both queues and says what that means; the others go through.
async fn check_a_failed_step_is_reported_and_loses_nothing(b: Backend) {
    park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"ok"}}"#,
        "x",
    )
    .await;
    park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"no-send"}}"#,
        "x",
    )
    .await;
    park(
        &b,
        r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"no-delete"}}"#,
        "x",
    )
    .await;
    let flaky = Flaky {
        inner: b.queue.clone(),
        no_delete: std::sync::Mutex::new(BTreeSet::new()),
    };
    let report = dlq::redrive(&flaky, b.audit.as_ref(), orders(), &options(&[], false))
        .await
        .unwrap();
    assert!(!report.ok());
    let failed: BTreeMap<RedriveStep, &str> = report
        .failed
        .iter()
        .map(|f| (f.step, f.consequence.as_str()))
        .collect();
    assert_eq!(failed.len(), 2, "{report:#?}");
    assert_eq!(
        failed[&RedriveStep::Send],
        "still in orders-dlq; nothing was sent"
    );
    assert!(
        failed[&RedriveStep::Delete]
            .contains("still in orders-dlq: redriving it again delivers it twice"),
        "{}",
        failed[&RedriveStep::Delete]
    );
    assert_eq!((report.redriven.len(), report.left), (2, 2));
    let text = dlq::redrive_lines(&report, DEFAULT_LIMIT);
    assert!(
        text.contains("failed (2):") && text.contains("Send failed"),
        "{text}"
    );

    let mut back: Vec<String> = receive_all(b.queue.as_ref(), ORDERS_QUEUE)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    back.sort();
    assert!(
        back[0].contains(r#""no-delete""#) && back[1].contains(r#""ok""#),
        "{back:?}"
    );
    let parked: Vec<String> = list(&b)
        .await
        .messages
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(parked.len(), 2, "{parked:?}");
    assert!(parked.iter().any(|p| p.contains(r#""no-send""#)));
    assert!(parked.iter().any(|p| p.contains(r#""no-delete""#)));
}

/// A queue that refuses to send a body naming `no-send` and to delete the message whose body
/// names `no-delete` (its receipts are noted as it is received).
struct Flaky {
    inner: Arc<dyn Queue>,
    no_delete: std::sync::Mutex<BTreeSet<String>>,
}

#[async_trait]
impl Queue for Flaky {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        if body.contains("no-send") {
            return Err(StoreError::Backend("injected send failure".into()));
        }
        self.inner
            .send_delayed(queue, body, attributes, delay)
            .await
    }
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let got = self.inner.receive(queue, max, visibility).await?;
        for m in got.iter().filter(|m| m.body.contains("no-delete")) {
            self.no_delete.lock().unwrap().insert(m.receipt.clone());
        }
        Ok(got)
    }
    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        if self.no_delete.lock().unwrap().contains(receipt) {
            return Err(StoreError::Backend("injected delete failure".into()));
        }
        self.inner.delete(queue, receipt).await
    }
    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.inner.release_after(queue, receipt, delay).await
    }
    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        self.inner.depth(queue).await
    }
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

mod embedded {
    use super::Backend;

    /// An in-memory store with every queue declared as `ctpvx serve` declares them.
    pub(crate) async fn backend() -> Backend {
        let store = ctpvx_tests::store();
        Backend {
            queue: store.clone(),
            audit: store,
        }
    }
}

mod aws {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ctpvx_shared::aws::provision::{
        create_audit_table, create_queue_pair, emulator_sdk_config,
    };
    use ctpvx_shared::aws::{DynamoAuditLog, SqsQueue, aws_sdk_dynamodb, aws_sdk_sqs};
    use ctpvx_shared::queues::{ORDERS_DLQ, ORDERS_MAX_RECEIVE_COUNT, ORDERS_QUEUE};

    use super::Backend;

    /// Fresh `orders`/`orders-dlq` queues (with the deployment's redrive count) and a fresh
    /// audit table on moto.
    pub(crate) async fn backend() -> Backend {
        let endpoint = std::env::var("CTPVX_TEST_AWS_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .expect(
                "CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see tests/contract_stores.rs",
            );
        let config = emulator_sdk_config(&endpoint).await;
        let unique = |kind: &str| format!("ctpvx-test-{kind}-{}", uuid::Uuid::new_v4().simple());
        let sqs = aws_sdk_sqs::Client::new(&config);
        let pair = create_queue_pair(
            &sqs,
            &unique("orders"),
            &unique("orders-dlq"),
            ORDERS_MAX_RECEIVE_COUNT,
        )
        .await
        .expect("create queue pair");
        let urls = BTreeMap::from([
            (ORDERS_QUEUE.to_owned(), pair.url),
            (ORDERS_DLQ.to_owned(), pair.dead_letter_url),
        ]);
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let table = unique("audit");
        create_audit_table(&dynamodb, &table)
            .await
            .expect("create audit table");
        Backend {
            queue: Arc::new(SqsQueue::new(sqs, urls)),
            audit: Arc::new(DynamoAuditLog::new(dynamodb, table)),
        }
    }
}

/// Every check against both backends.
macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod embedded_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::embedded::backend().await).await;
                }
            )*
        }
        mod aws_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::aws::backend().await).await;
                }
            )*
        }
    };
}

on_both! {
    check_a_retry_on_its_last_attempt_is_requeued_then_parked,
    check_list_shows_the_reason_and_no_personal_data,
    check_show_prints_the_body_and_the_audit_entry,
    check_redrive_moves_everything_back,
    check_redrive_of_one_id_leaves_the_others,
    check_a_message_moved_by_the_redrive_policy_says_so,
    check_a_failed_step_is_reported_and_loses_nothing,
}

/// A settle that re-queues and parks many records sends them in one call per queue (10 a
/// request on SQS), not a call each: a batch settled a call at a time is as many round trips,
/// and the more calls a settle makes, the likelier one hangs into the function's Timeout (the
/// soak's kills showed it). Every record still gets its copy or its parking, with its reason,
/// and the batch's activity entry counts what became of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settling_many_failed_records_sends_them_in_one_call_per_queue() {
    let b = embedded::backend().await;
    let counting = ctpvx_tests::CountingQueue::new(b.queue.clone());
    let policy = RetryPolicy {
        first_requeue_delay: Duration::from_secs(1),
        ..queues::retry_policy(ORDERS_QUEUE)
    };
    let mut records = Vec::new();
    let mut outcomes = BTreeMap::new();
    for i in 0..25 {
        let id = format!("m-{i}");
        // Even: on its last attempt and still failing (re-queued); odd: poisonous (parked).
        let outcome = if i % 2 == 0 {
            RecordOutcome::Retry("Peoplevox answered 503".into())
        } else {
            RecordOutcome::DeadLetter(format!("record {i} is garbage"))
        };
        outcomes.insert(id.clone(), outcome);
        records.push(InputRecord {
            id,
            body: format!("{{\"n\":{i}}}"),
            receive_count: policy.attempts,
            requeues: 0,
            receipt: None,
        });
    }
    // One done, and one failing before its last attempt (left to come back).
    for (id, outcome, receive_count) in [
        ("m-done", RecordOutcome::Done, 1),
        ("m-later", RecordOutcome::Retry("timeout".into()), 1),
    ] {
        outcomes.insert(id.to_string(), outcome);
        records.push(InputRecord {
            id: id.to_string(),
            body: "{}".into(),
            receive_count,
            requeues: 0,
            receipt: None,
        });
    }
    let failed = settle(
        &counting,
        b.audit.as_ref(),
        FLOW,
        &policy,
        &records,
        &outcomes,
    )
    .await;
    assert_eq!(failed, ["m-later"]);
    let (hour, day, _) = activity::last_hour_and_day(b.audit.as_ref(), FLOW, now_epoch_ms())
        .await
        .unwrap();
    let expected = BatchCounts {
        events: 27,
        retried: 1,
        requeued: 13,
        parked: 12,
    };
    assert_eq!((hour, day), (expected, expected));
    assert_eq!(hour.failed(), 26);
    let calls = counting.total();
    assert_eq!((calls.many, calls.single), (2, 0));
    let parked = receive_all(b.queue.as_ref(), ORDERS_DLQ).await;
    assert_eq!(parked.len(), 12);
    assert!(parked.iter().all(|m| {
        m.attributes
            .get(ctpvx_shared::flows::batch::REASON_ATTRIBUTE)
            .is_some_and(|r| r.ends_with("is garbage"))
    }));
    tokio::time::sleep(policy.requeue_delay(0) + Duration::from_secs(1)).await;
    let copies = receive_all(b.queue.as_ref(), ORDERS_QUEUE).await;
    assert_eq!(copies.len(), 13);
    let audited = b.audit.list("message#m-0", 10).await.unwrap();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].outcome, "requeued");
}
