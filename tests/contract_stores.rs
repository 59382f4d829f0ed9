//! The store contract: every adapter of every port behaves the same.
//!
//! Each `check_*` function states one part of the contract over a port trait object; the
//! `contract!` table at the bottom runs every check against the embedded SQLite store and
//! against the AWS adapters on a DynamoDB/SQS endpoint (moto in CI).
//!
//! The AWS half needs `CTPVX_TEST_AWS_ENDPOINT` (e.g. `http://127.0.0.1:5000`, a running
//! `moto_server`); `./infra/dev/test-all.sh` starts moto and sets it. Without it those tests
//! fail rather than pass silently. Every AWS test provisions its own uniquely named tables and
//! queues, so tests run in parallel and never see each other's data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpvx_shared::store::{
    AuditEntry, AuditLog, Condition, IdempotencyRecord, IdempotencyStatus, IdempotencyStore, Item,
    Outgoing, PutInProgress, Queue, QueueDepth, QueueMessage, StateStore, StoreError, now_epoch_ms,
    now_epoch_s,
};

/// The work queue every queue check uses, with its dead-letter queue.
const QUEUE: &str = "work";
/// The dead-letter queue of [`QUEUE`].
const DLQ: &str = "work-dlq";
/// [`QUEUE`]'s redrive policy: the third receive moves a message to [`DLQ`].
const MAX_RECEIVES: u32 = 2;
/// A visibility timeout that outlasts every check.
const LONG: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// State store
// ---------------------------------------------------------------------------------------------

fn item(data: &str, version: u64, expires_at: Option<i64>) -> Item {
    Item {
        data: data.to_owned(),
        version,
        expires_at,
    }
}

fn assert_condition_failed<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{what}: expected ConditionFailed, got {result:?}"
    );
}

/// Versions start at 1 and grow by one; each condition holds or fails as documented.
async fn check_state_versions_and_conditions(s: &dyn StateStore) {
    let (pk, sk) = ("order#1", "link");
    assert_eq!(s.get(pk, sk).await.unwrap(), None);

    assert_eq!(
        s.put(pk, sk, "a", Condition::NotExists, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), Some(item("a", 1, None)));
    assert_condition_failed(
        s.put(pk, sk, "x", Condition::NotExists, None).await,
        "NotExists on live",
    );

    assert_eq!(
        s.put(pk, sk, "b", Condition::Version(1), None)
            .await
            .unwrap(),
        2
    );
    assert_condition_failed(
        s.put(pk, sk, "x", Condition::Version(1), None).await,
        "stale version",
    );
    assert_condition_failed(
        s.put(pk, sk, "x", Condition::Version(3), None).await,
        "future version",
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), Some(item("b", 2, None)));

    let later = now_epoch_s() + 3600;
    assert_eq!(
        s.put(pk, sk, "c", Condition::Always, Some(later))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.get(pk, sk).await.unwrap(),
        Some(item("c", 3, Some(later)))
    );
    // A write without expiry removes the old one: the item is replaced as a whole.
    assert_eq!(
        s.put(pk, sk, "d", Condition::Version(3), None)
            .await
            .unwrap(),
        4
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), Some(item("d", 4, None)));

    s.delete(pk, sk).await.unwrap();
    s.delete(pk, sk).await.unwrap(); // deleting an absent item is fine
    assert_eq!(s.get(pk, sk).await.unwrap(), None);
    assert_condition_failed(
        s.put(pk, sk, "x", Condition::Version(4), None).await,
        "version after delete",
    );
    assert_eq!(
        s.put(pk, sk, "e", Condition::Always, None).await.unwrap(),
        1
    );
}

/// An expired item is absent for reads, queries and every condition; its version restarts.
async fn check_state_expiry(s: &dyn StateStore) {
    let (pk, sk) = ("session", "pvx");
    let past = now_epoch_s() - 10;
    let future = now_epoch_s() + 3600;

    assert_eq!(
        s.put(pk, sk, "old", Condition::Always, Some(past))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), None);
    assert!(s.query(pk, 10).await.unwrap().is_empty());
    assert_condition_failed(
        s.put(pk, sk, "x", Condition::Version(1), None).await,
        "version of expired",
    );

    assert_eq!(
        s.put(pk, sk, "new", Condition::NotExists, Some(future))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.get(pk, sk).await.unwrap(),
        Some(item("new", 1, Some(future)))
    );

    // A live item expiring through a write, then overwritten unconditionally: back to 1.
    assert_eq!(
        s.put(pk, sk, "dying", Condition::Version(1), Some(past))
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), None);
    assert_eq!(
        s.put(pk, sk, "reborn", Condition::Always, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.get(pk, sk).await.unwrap(), Some(item("reborn", 1, None)));
}

/// `get_many` answers every key as `get` does, in the order asked: over more keys than one
/// DynamoDB call takes (100), with absent, expired, rewritten, repeated and foreign keys.
async fn check_state_get_many(s: &dyn StateStore) {
    let future = now_epoch_s() + 3600;
    for i in (0..120).filter(|i| i % 3 != 0) {
        let expires = (i % 2 == 0).then_some(future);
        s.put(
            "many",
            &format!("k{i:03}"),
            &format!("d{i}"),
            Condition::NotExists,
            expires,
        )
        .await
        .unwrap();
    }
    s.put("many", "k001", "d1 again", Condition::Version(1), None)
        .await
        .unwrap();
    s.put(
        "many",
        "gone",
        "old",
        Condition::Always,
        Some(now_epoch_s() - 10),
    )
    .await
    .unwrap();
    let mut keys: Vec<(String, String)> = (0..120)
        .rev()
        .map(|i| ("many".to_owned(), format!("k{i:03}")))
        .collect();
    for (pk, sk) in [("many", "gone"), ("many", "k001"), ("other", "k002")] {
        keys.push((pk.to_owned(), sk.to_owned()));
    }

    let got = s.get_many(&keys).await.unwrap();
    let mut want = Vec::new();
    for (pk, sk) in &keys {
        want.push(s.get(pk, sk).await.unwrap());
    }
    assert_eq!(got, want);
    // What `get` said is what the writes above left: 80 live keys, k001 named twice.
    assert_eq!(got.iter().flatten().count(), 81);
    assert_eq!(got[118], Some(item("d1 again", 2, None)));
    // Asked newest key first: index 119 - i holds k<i>.
    assert_eq!(got[116], None);
    assert_eq!(got[117], Some(item("d2", 1, Some(future))));
    assert_eq!(got[114], Some(item("d5", 1, None)));
    assert_eq!(got[120], None);
    assert!(s.get_many(&[]).await.unwrap().is_empty());
}

/// A query returns the live items of one pk, ordered by sk (byte order), at most `limit`.
async fn check_state_query_order(s: &dyn StateStore) {
    let past = now_epoch_s() - 10;
    for sk in ["b", "a#2", "c", "a", "B"] {
        s.put("ledger", sk, &format!("v-{sk}"), Condition::Always, None)
            .await
            .unwrap();
    }
    s.put("ledger", "aa", "expired", Condition::Always, Some(past))
        .await
        .unwrap();
    s.put("ledger-other", "a", "other pk", Condition::Always, None)
        .await
        .unwrap();

    let all = s.query("ledger", 10).await.unwrap();
    let sks: Vec<&str> = all.iter().map(|(sk, _)| sk.as_str()).collect();
    assert_eq!(sks, ["B", "a", "a#2", "b", "c"]);
    assert_eq!(all[1].1, item("v-a", 1, None));

    let first_two = s.query("ledger", 2).await.unwrap();
    assert_eq!(
        first_two
            .iter()
            .map(|(sk, _)| sk.as_str())
            .collect::<Vec<_>>(),
        ["B", "a"]
    );
    assert!(s.query("ledger", 0).await.unwrap().is_empty());
    assert!(s.query("nobody", 10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Idempotency store
// ---------------------------------------------------------------------------------------------

fn in_progress(
    id: &str,
    expiration: i64,
    in_progress_expiration: Option<i64>,
) -> IdempotencyRecord {
    IdempotencyRecord {
        id: id.to_owned(),
        status: IdempotencyStatus::InProgress,
        expiration,
        in_progress_expiration,
        data: None,
        validation: Some(format!("hash-of-{id}")),
    }
}

fn acquired(previous: Option<IdempotencyRecord>) -> PutInProgress {
    PutInProgress::Acquired { previous }
}

/// Every branch of Powertools' condition `attribute_not_exists(id) OR expiration < now_s OR
/// (status = INPROGRESS AND attribute_exists(in_progress_expiration) AND
/// in_progress_expiration < now_ms)`.
async fn check_idempotency_condition_branches(s: &dyn IdempotencyStore) {
    let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
    let hour_later = now_s + 3600;

    // New key.
    let first = in_progress("new", hour_later, Some(now_ms + 60_000));
    assert_eq!(
        s.put_in_progress(&first, now_s, now_ms).await.unwrap(),
        acquired(None)
    );
    assert_eq!(s.get("new").await.unwrap(), Some(first.clone()));

    // Live INPROGRESS: the holder still has time, nothing is written, the old record comes back.
    let second = in_progress("new", hour_later + 1, Some(now_ms + 90_000));
    assert_eq!(
        s.put_in_progress(&second, now_s, now_ms).await.unwrap(),
        PutInProgress::Exists(first.clone())
    );
    assert_eq!(s.get("new").await.unwrap(), Some(first.clone()));

    // INPROGRESS whose holder ran out of time (in_progress_expiration < now_ms): taken over.
    let later_ms = now_ms + 61_000;
    assert_eq!(
        s.put_in_progress(&second, now_s, later_ms).await.unwrap(),
        acquired(Some(first.clone()))
    );
    assert_eq!(s.get("new").await.unwrap(), Some(second.clone()));

    // INPROGRESS without in_progress_expiration: only `expiration` can free it.
    let no_deadline = in_progress("no-deadline", hour_later, None);
    assert_eq!(
        s.put_in_progress(&no_deadline, now_s, now_ms)
            .await
            .unwrap(),
        acquired(None)
    );
    let retry = in_progress("no-deadline", hour_later, Some(now_ms));
    assert_eq!(
        s.put_in_progress(&retry, now_s, i64::MAX / 2)
            .await
            .unwrap(),
        PutInProgress::Exists(no_deadline.clone())
    );

    // INPROGRESS with a live holder but an expired record (expiration < now_s): taken over.
    let stale = in_progress("stale", now_s + 5, Some(now_ms + 3_600_000));
    assert_eq!(
        s.put_in_progress(&stale, now_s, now_ms).await.unwrap(),
        acquired(None)
    );
    let fresh = in_progress("stale", now_s + 3600, Some(now_ms + 60_000));
    assert_eq!(
        s.put_in_progress(&fresh, now_s + 10, now_ms).await.unwrap(),
        acquired(Some(stale))
    );

    // COMPLETED and live: Exists with the stored result, even past its in_progress_expiration
    // (that clause only frees INPROGRESS records).
    let done = in_progress("done", hour_later, Some(now_ms + 1_000));
    assert_eq!(
        s.put_in_progress(&done, now_s, now_ms).await.unwrap(),
        acquired(None)
    );
    s.save_success("done", r#"{"exported":"SO-1"}"#, hour_later)
        .await
        .unwrap();
    let completed = IdempotencyRecord {
        status: IdempotencyStatus::Completed,
        data: Some(r#"{"exported":"SO-1"}"#.to_owned()),
        ..done.clone()
    };
    let again = in_progress("done", hour_later, Some(now_ms + 60_000));
    assert_eq!(
        s.put_in_progress(&again, now_s, now_ms + 120_000)
            .await
            .unwrap(),
        PutInProgress::Exists(completed.clone())
    );

    // COMPLETED but expired (expiration < now_s): taken over, the old record returned.
    assert_eq!(
        s.put_in_progress(&again, hour_later + 1, now_ms)
            .await
            .unwrap(),
        acquired(Some(completed))
    );
    assert_eq!(s.get("done").await.unwrap(), Some(again));
}

/// `save_success` completes a record (keeping the other attributes); `delete` frees the key.
async fn check_idempotency_save_success_and_delete(s: &dyn IdempotencyStore) {
    let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
    let record = in_progress("order#42", now_s + 3600, Some(now_ms + 60_000));
    assert_eq!(
        s.put_in_progress(&record, now_s, now_ms).await.unwrap(),
        acquired(None)
    );

    s.save_success("order#42", r#"{"ok":true}"#, now_s + 7200)
        .await
        .unwrap();
    let completed = IdempotencyRecord {
        status: IdempotencyStatus::Completed,
        expiration: now_s + 7200,
        data: Some(r#"{"ok":true}"#.to_owned()),
        ..record.clone()
    };
    assert_eq!(s.get("order#42").await.unwrap(), Some(completed.clone()));
    assert_eq!(
        s.put_in_progress(&record, now_s, now_ms).await.unwrap(),
        PutInProgress::Exists(completed)
    );

    s.delete("order#42").await.unwrap();
    s.delete("order#42").await.unwrap(); // deleting an absent record is fine
    assert_eq!(s.get("order#42").await.unwrap(), None);
    assert_eq!(
        s.put_in_progress(&record, now_s, now_ms).await.unwrap(),
        acquired(None)
    );
}

/// Ten workers race for one key: exactly one acquires it, the other nine see its record.
async fn check_idempotency_concurrent_acquire(s: &Arc<dyn IdempotencyStore>) {
    const WORKERS: usize = 10;
    let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
    let start = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (s, start) = (Arc::clone(s), Arc::clone(&start));
        tasks.spawn(async move {
            let mut record = in_progress("contended", now_s + 3600, Some(now_ms + 60_000));
            record.validation = Some(format!("worker-{worker}"));
            start.wait().await;
            (
                record.clone(),
                s.put_in_progress(&record, now_s, now_ms).await.unwrap(),
            )
        });
    }
    let outcomes = tasks.join_all().await;
    let winners: Vec<&IdempotencyRecord> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, PutInProgress::Acquired { previous: None }))
        .map(|(record, _)| record)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one Acquired: {outcomes:#?}");
    for (_, outcome) in &outcomes {
        match outcome {
            PutInProgress::Acquired { previous: None } => {}
            PutInProgress::Exists(holder) => assert_eq!(holder, winners[0], "{outcomes:#?}"),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(s.get("contended").await.unwrap().as_ref(), Some(winners[0]));
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

fn entry(entity: &str, at_ms: i64, outcome: &str) -> AuditEntry {
    AuditEntry {
        entity: entity.to_owned(),
        at_ms,
        flow: "order-export".to_owned(),
        outcome: outcome.to_owned(),
        reason: (outcome != "exported").then(|| format!("because {outcome}")),
        detail: serde_json::json!({ "lines": 2, "site": "MAIN", "tags": ["a", "ü"] }),
    }
}

/// Entries of one entity come back oldest first, whatever the append order; other entities
/// and entries past the default 90-day retention do not show.
async fn check_audit_append_and_list(a: &dyn AuditLog) {
    let t0 = now_epoch_ms();
    let entries = [
        entry("order#1", t0 + 1, "held"),
        entry("order#1", t0 + 2, "exported"),
        entry("order#1", t0 + 3, "duplicate"),
    ];
    for i in [2, 0, 1] {
        a.append(&entries[i]).await.unwrap();
    }
    a.append(&entry("order#2", t0, "exported")).await.unwrap();
    let long_ago = t0 - 91 * 24 * 3600 * 1000;
    a.append(&entry("order#1", long_ago, "expired"))
        .await
        .unwrap();

    assert_eq!(a.list("order#1", 10).await.unwrap(), entries);
    assert_eq!(a.list("order#1", 2).await.unwrap(), entries[..2]);
    assert_eq!(
        a.list("order#2", 10).await.unwrap(),
        [entry("order#2", t0, "exported")]
    );
    assert!(a.list("order#3", 10).await.unwrap().is_empty());
    // The recent end: the newest two, still oldest first.
    assert_eq!(a.list_recent("order#1", 2).await.unwrap(), entries[1..]);
    assert_eq!(a.list_recent("order#1", 10).await.unwrap(), entries);
    assert!(a.list_recent("order#3", 10).await.unwrap().is_empty());
}

/// `append_many` appends every entry (more than one DynamoDB call takes, 25), as `append`
/// would: each entity's entries come back oldest first.
async fn check_audit_append_many(a: &dyn AuditLog) {
    let t0 = now_epoch_ms();
    let mine: Vec<AuditEntry> = (0..30)
        .map(|i| {
            entry(
                "order#7",
                t0 + i,
                if i % 2 == 0 { "exported" } else { "held" },
            )
        })
        .collect();
    let theirs = [
        entry("order#8", t0, "duplicate"),
        entry("order#8", t0 + 1, "held"),
    ];
    // Newest first and interleaved, so that the order read back is the store's doing.
    let mut batch: Vec<AuditEntry> = mine.iter().rev().cloned().collect();
    batch.insert(7, theirs[1].clone());
    batch.insert(20, theirs[0].clone());

    let failed = a.append_many(&batch).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(a.list("order#7", 100).await.unwrap(), mine);
    assert_eq!(a.list("order#8", 100).await.unwrap(), theirs);
    assert!(a.append_many(&[]).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------------

fn no_attributes() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// Receives until `want` messages arrived or `within` passed (SQS may answer with fewer
/// messages than are visible).
async fn receive_until(
    q: &dyn Queue,
    queue: &str,
    want: usize,
    visibility: Duration,
    within: Duration,
) -> Vec<QueueMessage> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        got.extend(
            q.receive(queue, want - got.len(), visibility)
                .await
                .unwrap(),
        );
    }
    got
}

async fn receive_one(q: &dyn Queue, queue: &str, visibility: Duration) -> QueueMessage {
    let mut got = receive_until(q, queue, 1, visibility, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "expected one message on {queue}: {got:#?}");
    got.remove(0)
}

async fn assert_nothing_visible(q: &dyn Queue, queue: &str) {
    let got = q.receive(queue, 10, LONG).await.unwrap();
    assert!(
        got.is_empty(),
        "expected nothing visible on {queue}: {got:#?}"
    );
}

/// Send, receive (hidden while in flight), delete.
async fn check_queue_send_receive_delete(q: &dyn Queue) {
    let id = q
        .send(QUEUE, r#"{"order":"o-1"}"#, &no_attributes())
        .await
        .unwrap();
    let m = receive_one(q, QUEUE, LONG).await;
    assert_eq!(
        (m.id.as_str(), m.body.as_str()),
        (id.as_str(), r#"{"order":"o-1"}"#)
    );
    assert_eq!(m.receive_count, 1);
    assert!(m.attributes.is_empty(), "{:?}", m.attributes);
    assert_nothing_visible(q, QUEUE).await;

    q.delete(QUEUE, &m.receipt).await.unwrap();
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
    assert_nothing_visible(q, QUEUE).await;
}

/// A message not deleted within its visibility timeout comes back, counted, with a new receipt.
async fn check_queue_visibility_timeout(q: &dyn Queue) {
    let id = q.send(QUEUE, "retry me", &no_attributes()).await.unwrap();
    let received_at = Instant::now();
    let first = receive_one(q, QUEUE, Duration::from_secs(2)).await;
    assert_eq!(first.receive_count, 1);
    // SQS long-polls for 1 s here, well inside the 2 s timeout.
    assert_nothing_visible(q, QUEUE).await;

    tokio::time::sleep(Duration::from_millis(2300).saturating_sub(received_at.elapsed())).await;
    let second = receive_one(q, QUEUE, LONG).await;
    assert_eq!(second.id, id);
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt);

    q.delete(QUEUE, &second.receipt).await.unwrap();
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
}

/// A delayed message stays invisible for its delay, then arrives like any other.
async fn check_queue_delayed_send(q: &dyn Queue) {
    let sent_at = Instant::now();
    q.send_delayed(QUEUE, "later", &no_attributes(), Duration::from_secs(2))
        .await
        .unwrap();
    q.send(QUEUE, "now", &no_attributes()).await.unwrap();
    let first = receive_one(q, QUEUE, LONG).await;
    assert_eq!(first.body, "now");
    assert_nothing_visible(q, QUEUE).await;
    let later = receive_until(q, QUEUE, 1, LONG, Duration::from_secs(6)).await;
    assert_eq!(later.len(), 1, "the delayed message never arrived");
    assert_eq!(later[0].body, "later");
    assert!(
        sent_at.elapsed() >= Duration::from_millis(1900),
        "the delayed message arrived after {:?}",
        sent_at.elapsed()
    );
}

/// `send_many` sends more than one SQS batch (10), each message with its own attributes and
/// delay, and answers each one's id in order.
async fn check_queue_send_many(q: &dyn Queue) {
    let attributes: Vec<BTreeMap<String, String>> = (0..12)
        .map(|i| BTreeMap::from([("n".to_owned(), i.to_string())]))
        .collect();
    let bodies: Vec<String> = (0..12).map(|i| format!("many-{i}")).collect();
    let outgoing: Vec<Outgoing<'_>> = bodies
        .iter()
        .zip(&attributes)
        .enumerate()
        .map(|(i, (body, attributes))| Outgoing {
            body,
            attributes,
            delay: if i == 11 {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
        })
        .collect();
    let sent_at = Instant::now();
    let ids: Vec<String> = q
        .send_many(QUEUE, &outgoing)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 12);
    let now = receive_until(q, QUEUE, 11, LONG, Duration::from_secs(5)).await;
    assert_eq!(now.len(), 11, "{now:#?}");
    for m in &now {
        let i = ids.iter().position(|id| *id == m.id).expect("an id sent");
        assert_eq!(m.body, bodies[i]);
        assert_eq!(m.attributes, attributes[i]);
    }
    assert_nothing_visible(q, QUEUE).await;
    let later = receive_until(q, QUEUE, 1, LONG, Duration::from_secs(6)).await;
    assert_eq!(later.len(), 1, "the delayed message never arrived");
    assert_eq!(
        (later[0].id.as_str(), later[0].body.as_str()),
        (ids[11].as_str(), "many-11")
    );
    assert!(sent_at.elapsed() >= Duration::from_millis(1900));
}

/// String attributes arrive exactly as sent.
async fn check_queue_attributes_round_trip(q: &dyn Queue) {
    let attributes = BTreeMap::from([
        ("reason".to_owned(), "sku ABC-1 unknown".to_owned()),
        ("flow".to_owned(), "order-export".to_owned()),
        ("note".to_owned(), "ünïcødé ✓ \"quoted\"".to_owned()),
    ]);
    q.send(QUEUE, "with attributes", &attributes).await.unwrap();
    let m = receive_one(q, QUEUE, LONG).await;
    assert_eq!(m.body, "with attributes");
    assert_eq!(m.attributes, attributes);
}

/// After `MAX_RECEIVES` receives without delete, the next receive moves the message, body and
/// attributes intact, to the dead-letter queue.
async fn check_queue_dead_letter(q: &dyn Queue) {
    let attributes = BTreeMap::from([("kind".to_owned(), "poison".to_owned())]);
    let id = q.send(QUEUE, "poison", &attributes).await.unwrap();
    let one_second = Duration::from_secs(1);
    for count in 1..=MAX_RECEIVES {
        let m = receive_until(q, QUEUE, 1, one_second, Duration::from_secs(4)).await;
        assert_eq!(m.len(), 1, "receive #{count}");
        assert_eq!((m[0].id.as_str(), m[0].receive_count), (id.as_str(), count));
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert_nothing_visible(q, QUEUE).await;

    let dead = receive_one(q, DLQ, LONG).await;
    assert_eq!(dead.id, id, "SQS keeps the message id across the redrive");
    assert_eq!(dead.body, "poison");
    assert_eq!(dead.attributes, attributes);
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
    assert_eq!(
        q.depth(DLQ).await.unwrap(),
        QueueDepth {
            visible: 0,
            in_flight: 1
        }
    );
}

/// A released message is visible again at once (long before its visibility timeout), with its
/// id, body and attributes, and the receive count goes on; other messages in flight stay
/// hidden. A receipt whose message is gone is `NotFound`.
async fn check_queue_release(q: &dyn Queue) {
    let attributes = BTreeMap::from([("ctpvx-reason".to_owned(), "sku unknown".to_owned())]);
    let id = q.send(QUEUE, "parked", &attributes).await.unwrap();
    let other = q.send(QUEUE, "held", &no_attributes()).await.unwrap();
    let held = receive_until(q, QUEUE, 2, LONG, Duration::from_secs(5)).await;
    assert_eq!(held.len(), 2, "{held:#?}");
    let first = held.iter().find(|m| m.id == id).unwrap();
    assert_eq!(first.receive_count, 1);

    let released_at = Instant::now();
    q.release(QUEUE, &first.receipt).await.unwrap();
    let again = receive_one(q, QUEUE, LONG).await;
    assert!(
        released_at.elapsed() < LONG,
        "came back only after its timeout"
    );
    assert_eq!(
        (again.id.as_str(), again.body.as_str(), again.receive_count),
        (id.as_str(), "parked", 2)
    );
    assert_eq!(again.attributes, attributes);
    assert_ne!(again.receipt, first.receipt);
    assert_nothing_visible(q, QUEUE).await; // `other` stays hidden
    assert_eq!(
        q.depth(QUEUE).await.unwrap(),
        QueueDepth {
            visible: 0,
            in_flight: 2
        }
    );

    q.delete(QUEUE, &again.receipt).await.unwrap();
    let gone = q.release(QUEUE, &again.receipt).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    let held_other = held.iter().find(|m| m.id == other).unwrap();
    q.release(QUEUE, &held_other.receipt).await.unwrap();
    assert_eq!(receive_one(q, QUEUE, LONG).await.id, other);
}

/// A message released after a delay stays hidden for that delay (whole seconds), not for the
/// visibility timeout it was received with, then comes back with the receive count going on.
/// A stale receipt is `NotFound` (except on moto, which accepts it).
async fn check_queue_release_after(q: &dyn Queue) {
    let id = q.send(QUEUE, "retry me", &no_attributes()).await.unwrap();
    let first = receive_one(q, QUEUE, LONG).await;
    let released_at = Instant::now();
    q.release_after(QUEUE, &first.receipt, Duration::from_millis(1500))
        .await
        .unwrap();
    assert_nothing_visible(q, QUEUE).await;
    let again = receive_one(q, QUEUE, LONG).await;
    let waited = released_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < LONG / 2,
        "came back after {waited:?}, not after its delay rounded up to 2 s"
    );
    assert_eq!((again.id.as_str(), again.receive_count), (id.as_str(), 2));
    let stale = q
        .release_after(QUEUE, &first.receipt, Duration::from_secs(1))
        .await;
    // moto accepts any receipt the message ever had (see `Queue::release`); SQS and the
    // embedded store refuse it. Either way the holder of the latest receipt keeps it hidden.
    if let Err(e) = stale {
        assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    }
    q.delete(QUEUE, &again.receipt).await.unwrap();
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
}

/// Depth counts visible and in-flight messages; one receive hands out at most 10.
async fn check_queue_depth_and_batch_limit(q: &dyn Queue) {
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
    for i in 0..12 {
        q.send(QUEUE, &format!("m{i}"), &no_attributes())
            .await
            .unwrap();
    }
    assert_eq!(
        q.depth(QUEUE).await.unwrap(),
        QueueDepth {
            visible: 12,
            in_flight: 0
        }
    );

    let batch = q.receive(QUEUE, 50, LONG).await.unwrap();
    assert!((1..=10).contains(&batch.len()), "got {}", batch.len());
    let rest = receive_until(q, QUEUE, 12 - batch.len(), LONG, Duration::from_secs(5)).await;
    assert_eq!(batch.len() + rest.len(), 12);
    assert_eq!(
        q.depth(QUEUE).await.unwrap(),
        QueueDepth {
            visible: 0,
            in_flight: 12
        }
    );

    for m in batch.iter().chain(&rest).take(5) {
        q.delete(QUEUE, &m.receipt).await.unwrap();
    }
    assert_eq!(
        q.depth(QUEUE).await.unwrap(),
        QueueDepth {
            visible: 0,
            in_flight: 7
        }
    );
}

/// 13 messages (more than one SQS batch of 10) sent and received, in flight for [`LONG`].
async fn more_than_a_batch_in_flight(q: &dyn Queue) -> Vec<QueueMessage> {
    for i in 0..13 {
        q.send(QUEUE, &format!("m{i}"), &no_attributes())
            .await
            .unwrap();
    }
    let got = receive_until(q, QUEUE, 13, LONG, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 13);
    got
}

/// `release_many_after` changes each message of more than one SQS batch (10) by its own delay:
/// the ones released at once come back first, the delayed ones only after their delay, a
/// message left out stays in flight, and a receipt that holds no message is refused, by its
/// index and as `NotFound`, while the entries around it change.
async fn check_queue_release_many_after(q: &dyn Queue) {
    const LATER: Duration = Duration::from_secs(3);
    let got = more_than_a_batch_in_flight(q).await;
    let (kept, released) = got.split_last().unwrap();
    let mut releases: Vec<(String, Duration)> = released
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let delay = if i % 2 == 0 { Duration::ZERO } else { LATER };
            (m.receipt.clone(), delay)
        })
        .collect();
    releases.insert(5, ("no-such-receipt".to_owned(), Duration::ZERO));
    let released_at = Instant::now();

    let failed = q.release_many_after(QUEUE, &releases).await;
    assert_eq!(failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [5]);
    assert!(matches!(failed[0].1, StoreError::NotFound(_)), "{failed:?}");

    let ids = |messages: &[QueueMessage], parity: usize| {
        let mut ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
        ids.retain(|id| {
            released
                .iter()
                .position(|m| &m.id == id)
                .is_some_and(|i| i % 2 == parity)
        });
        ids.sort();
        ids
    };
    let at_once = receive_until(q, QUEUE, 6, LONG, Duration::from_secs(2)).await;
    assert!(
        released_at.elapsed() < LATER,
        "too slow to tell the delays apart"
    );
    assert_eq!(at_once.len(), 6, "{at_once:#?}");
    assert_eq!(
        ids(&at_once, 0).len(),
        6,
        "the ones released at once came first"
    );
    assert!(at_once.iter().all(|m| m.receive_count == 2));
    let later = receive_until(q, QUEUE, 6, LONG, LATER * 3).await;
    // Both stores keep times in whole milliseconds (SQS too): a delay counted from a truncated
    // "now" may end up to a millisecond before `released_at + LATER`.
    assert!(
        released_at.elapsed() + Duration::from_millis(2) >= LATER,
        "came back before their delay"
    );
    assert_eq!(ids(&later, 1).len(), 6, "{later:#?}");
    assert_eq!(
        q.depth(QUEUE).await.unwrap(),
        QueueDepth {
            visible: 0,
            in_flight: 13
        }
    );

    let receipts: Vec<String> = at_once
        .iter()
        .chain(&later)
        .map(|m| m.receipt.clone())
        .chain([kept.receipt.clone()])
        .collect();
    assert!(q.delete_many(QUEUE, &receipts).await.is_empty());
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
    assert!(q.release_many_after(QUEUE, &[]).await.is_empty());
}

/// `delete_many` deletes every message of more than one SQS batch (10), in flight or not yet
/// redelivered; afterwards nothing is visible or in flight.
async fn check_queue_delete_many(q: &dyn Queue) {
    let got = more_than_a_batch_in_flight(q).await;
    let receipts: Vec<String> = got.iter().map(|m| m.receipt.clone()).collect();

    let failed = q.delete_many(QUEUE, &receipts).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(q.depth(QUEUE).await.unwrap(), QueueDepth::default());
    assert_nothing_visible(q, QUEUE).await;
    assert!(q.delete_many(QUEUE, &[]).await.is_empty());
}

/// A queue that was never declared or configured is `NotFound`, for every operation.
async fn check_queue_unknown_is_not_found(q: &dyn Queue) {
    let not_found = |r: Result<(), StoreError>, op: &str| {
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{op}: {r:?}");
    };
    not_found(
        q.send("no-such-queue", "b", &no_attributes())
            .await
            .map(drop),
        "send",
    );
    not_found(
        q.receive("no-such-queue", 1, LONG).await.map(drop),
        "receive",
    );
    not_found(q.delete("no-such-queue", "receipt").await, "delete");
    let failed = q
        .delete_many("no-such-queue", &["a".to_owned(), "b".to_owned()])
        .await;
    assert_eq!(failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
    for (_, e) in failed {
        not_found(Err(e), "delete_many");
    }
    not_found(q.release("no-such-queue", "receipt").await, "release");
    let releases = [("a".to_owned(), Duration::ZERO), ("b".to_owned(), LONG)];
    let failed = q.release_many_after("no-such-queue", &releases).await;
    assert_eq!(failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
    for (_, e) in failed {
        not_found(Err(e), "release_many_after");
    }
    not_found(q.depth("no-such-queue").await.map(drop), "depth");
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

/// The embedded store, in memory, with [`QUEUE`] and [`DLQ`] declared.
mod embedded {
    use std::sync::Arc;

    use ctpvx_shared::embedded::{DeadLetter, EmbeddedStore, QueueSpec};
    use ctpvx_shared::store::{AuditLog, IdempotencyStore, Queue, StateStore};

    fn store() -> Arc<EmbeddedStore> {
        let store = EmbeddedStore::in_memory().expect("in-memory store");
        let spec = QueueSpec {
            dead_letter: Some(DeadLetter {
                queue: super::DLQ.to_owned(),
                max_receive_count: super::MAX_RECEIVES,
            }),
        };
        store
            .declare_queue(super::QUEUE, spec)
            .expect("declare queue");
        store
    }

    pub(crate) async fn state() -> Arc<dyn StateStore> {
        store()
    }
    pub(crate) async fn idempotency() -> Arc<dyn IdempotencyStore> {
        store()
    }
    pub(crate) async fn audit() -> Arc<dyn AuditLog> {
        store()
    }
    pub(crate) async fn queue() -> Arc<dyn Queue> {
        store()
    }
}

/// The AWS adapters on the endpoint in `CTPVX_TEST_AWS_ENDPOINT`, each test on fresh resources.
mod aws {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ctpvx_shared::aws::aws_config::SdkConfig;
    use ctpvx_shared::aws::provision::{
        create_audit_table, create_idempotency_table, create_queue_pair, create_state_table,
        emulator_sdk_config,
    };
    use ctpvx_shared::aws::{
        DynamoAuditLog, DynamoIdempotencyStore, DynamoStateStore, SqsQueue, aws_sdk_dynamodb,
        aws_sdk_sqs,
    };
    use ctpvx_shared::store::{AuditLog, IdempotencyStore, Queue, StateStore};

    const HOW_TO_RUN: &str = "CTPVX_TEST_AWS_ENDPOINT is not set, so the AWS adapter contract \
        tests cannot run. Run every test with ./infra/dev/test-all.sh (starts moto and sets it), \
        or start `.venv/bin/moto_server -H 127.0.0.1 -p 5055` yourself and run \
        `CTPVX_TEST_AWS_ENDPOINT=http://127.0.0.1:5055 cargo test -p ctpvx-tests --test contract_stores`.";

    pub(crate) async fn config() -> SdkConfig {
        let endpoint = std::env::var("CTPVX_TEST_AWS_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| panic!("{HOW_TO_RUN}"));
        emulator_sdk_config(&endpoint).await
    }

    /// A resource name no other test uses.
    pub(crate) fn unique(kind: &str) -> String {
        format!("ctpvx-test-{kind}-{}", uuid::Uuid::new_v4().simple())
    }

    async fn dynamodb() -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&config().await)
    }

    pub(crate) async fn state() -> Arc<dyn StateStore> {
        let (client, table) = (dynamodb().await, unique("state"));
        create_state_table(&client, &table)
            .await
            .expect("create state table");
        Arc::new(DynamoStateStore::new(client, table))
    }

    pub(crate) async fn idempotency() -> Arc<dyn IdempotencyStore> {
        let (client, table) = (dynamodb().await, unique("idempotency"));
        create_idempotency_table(&client, &table)
            .await
            .expect("create idempotency table");
        Arc::new(DynamoIdempotencyStore::new(client, table))
    }

    pub(crate) async fn audit() -> Arc<dyn AuditLog> {
        let (client, table) = (dynamodb().await, unique("audit"));
        create_audit_table(&client, &table)
            .await
            .expect("create audit table");
        Arc::new(DynamoAuditLog::new(client, table))
    }

    pub(crate) async fn queue() -> Arc<dyn Queue> {
        let client = aws_sdk_sqs::Client::new(&config().await);
        let pair = create_queue_pair(
            &client,
            &unique("work"),
            &unique("work-dlq"),
            super::MAX_RECEIVES,
        )
        .await
        .expect("create queue pair");
        let urls = BTreeMap::from([
            (super::QUEUE.to_owned(), pair.url),
            (super::DLQ.to_owned(), pair.dead_letter_url),
        ]);
        Arc::new(SqsQueue::new(client, urls))
    }
}

/// Runs every check against both backends. `check => fixture`: the fixture builds the port.
/// Checks listed under `by_ref` take `&dyn Port`; those under `shared` take `&Arc<dyn Port>`
/// because they hand the port to spawned tasks.
macro_rules! contract {
    (
        by_ref: $($check:ident => $fixture:ident),* ;
        shared: $($shared_check:ident => $shared_fixture:ident),* $(;)?
    ) => {
        contract!(@backend embedded_backend, embedded, $($check => $fixture),* ; $($shared_check => $shared_fixture),*);
        contract!(@backend aws_backend, aws, $($check => $fixture),* ; $($shared_check => $shared_fixture),*);
    };
    (@backend $module:ident, $backend:ident, $($check:ident => $fixture:ident),* ; $($shared_check:ident => $shared_fixture:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let port = super::$backend::$fixture().await;
                    super::$check(port.as_ref()).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $shared_check() {
                    let port = super::$backend::$shared_fixture().await;
                    super::$shared_check(&port).await;
                }
            )*
        }
    };
}

contract! {
    by_ref:
    check_state_versions_and_conditions => state,
    check_state_expiry => state,
    check_state_query_order => state,
    check_state_get_many => state,
    check_idempotency_condition_branches => idempotency,
    check_idempotency_save_success_and_delete => idempotency,
    check_audit_append_and_list => audit,
    check_audit_append_many => audit,
    check_queue_send_receive_delete => queue,
    check_queue_visibility_timeout => queue,
    check_queue_attributes_round_trip => queue,
    check_queue_delayed_send => queue,
    check_queue_send_many => queue,
    check_queue_dead_letter => queue,
    check_queue_release => queue,
    check_queue_release_after => queue,
    check_queue_release_many_after => queue,
    check_queue_depth_and_batch_limit => queue,
    check_queue_delete_many => queue,
    check_queue_unknown_is_not_found => queue;
    shared:
    check_idempotency_concurrent_acquire => idempotency;
}

// ---------------------------------------------------------------------------------------------
// Backend-specific
// ---------------------------------------------------------------------------------------------

/// The embedded file store survives a restart: data stays, and a message that was in flight
/// when the process stopped becomes visible again once its visibility timeout has run out.
#[tokio::test]
async fn embedded_file_store_survives_a_restart() {
    use ctpvx_shared::embedded::{EmbeddedStore, QueueSpec};

    let dir = std::env::temp_dir().join(format!("ctpvx-restart-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ctpvx.sqlite3");
    let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
    let record = in_progress("order#9", now_s + 3600, Some(now_ms + 60_000));
    let audit = entry("order#9", now_ms, "exported");

    let (id, first_receipt) = {
        let store = EmbeddedStore::open(&path).unwrap();
        store.declare_queue(QUEUE, QueueSpec::default()).unwrap();
        StateStore::put(
            &*store,
            "order#9",
            "link",
            "SO-9",
            Condition::NotExists,
            None,
        )
        .await
        .unwrap();
        store.put_in_progress(&record, now_s, now_ms).await.unwrap();
        store.append(&audit).await.unwrap();
        let id = store
            .send(QUEUE, "in flight", &no_attributes())
            .await
            .unwrap();
        let m = receive_one(&*store, QUEUE, Duration::from_secs(1)).await;
        (id, m.receipt)
    };
    let stopped = Instant::now();

    let store = EmbeddedStore::open(&path).unwrap();
    store.declare_queue(QUEUE, QueueSpec::default()).unwrap(); // idempotent on restart
    assert_eq!(
        StateStore::get(&*store, "order#9", "link").await.unwrap(),
        Some(item("SO-9", 1, None))
    );
    assert_eq!(
        IdempotencyStore::get(&*store, "order#9").await.unwrap(),
        Some(record)
    );
    assert_eq!(store.list("order#9", 10).await.unwrap(), [audit]);
    if stopped.elapsed() < Duration::from_millis(800) {
        assert_eq!(
            store.depth(QUEUE).await.unwrap(),
            QueueDepth {
                visible: 0,
                in_flight: 1
            }
        );
    }

    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(stopped.elapsed())).await;
    let again = receive_one(&*store, QUEUE, LONG).await;
    assert_eq!((again.id.as_str(), again.receive_count), (id.as_str(), 2));
    assert_ne!(again.receipt, first_receipt);

    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A JSON secret from Secrets Manager arrives as secret strings; a missing one is `NotFound`.
#[tokio::test]
async fn aws_secrets_manager_json_secret_loads() {
    use ctpvx_shared::aws::aws_sdk_secretsmanager;
    use ctpvx_shared::aws::secrets::load_json_secret;
    use secrecy::ExposeSecret;

    let client = aws_sdk_secretsmanager::Client::new(&aws::config().await);
    let name = aws::unique("secret");
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"client_secret":"s3cr3t","port":443}"#)
        .send()
        .await
        .expect("create secret");

    let secret = load_json_secret(&client, &name).await.unwrap();
    assert_eq!(secret.keys().collect::<Vec<_>>(), ["client_secret", "port"]);
    assert_eq!(secret["client_secret"].expose_secret(), "s3cr3t");
    assert_eq!(secret["port"].expose_secret(), "443");

    let missing = load_json_secret(&client, &aws::unique("missing")).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}
