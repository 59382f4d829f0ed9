//! The apply protocol against a scripted Peoplevox: kept, replaced, removed, dry runs, and
//! what a lost answer or a refusal leaves behind.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::config::SubscriptionRules;
use crate::embedded::EmbeddedStore;
use crate::peoplevox::PvxError;
use crate::subscriptions::callback::CallbackRequest;
use crate::subscriptions::desired::desired_from;
use crate::subscriptions::record::load_all;

const TOKEN: &str = "callback-token-0123456789-abcdefghijklmnop";

/// A Peoplevox that numbers subscriptions and can be told how to answer the next subscribe.
#[derive(Default)]
struct Script {
    next_id: Mutex<i64>,
    held: Mutex<Vec<(i64, String)>>,
    answers: Mutex<VecDeque<PvxError>>,
}

#[async_trait]
impl EventSubscriber for Script {
    async fn subscribe(&self, request: &SubscribeRequest<'_>) -> Result<i64, PvxError> {
        let request: &CallbackRequest = request.callback;
        let failure = self.answers.lock().unwrap().pop_front();
        let lost = match failure {
            Some(e) if e.is_outcome_unknown() => true,
            Some(e) => return Err(e),
            None => false,
        };
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        let id = *next;
        self.held
            .lock()
            .unwrap()
            .push((id, request.url.expose_secret().to_string()));
        if lost {
            return Err(lost_answer());
        }
        Ok(id)
    }

    async fn unsubscribe(&self, id: i64) -> Result<bool, PvxError> {
        let mut held = self.held.lock().unwrap();
        let before = held.len();
        held.retain(|(i, _)| *i != id);
        Ok(held.len() < before)
    }
}

impl Script {
    fn ids(&self) -> Vec<i64> {
        self.held.lock().unwrap().iter().map(|(i, _)| *i).collect()
    }
    fn answer_next(&self, e: PvxError) {
        self.answers.lock().unwrap().push_back(e);
    }
}

fn lost_answer() -> PvxError {
    PvxError::OutcomeUnknown {
        operation: "SubscribeEvent",
        cause: Box::new(PvxError::Timeout { timeout_ms: 10 }),
    }
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_string())
}

fn two_sites(base: &str) -> Vec<DesiredSubscription> {
    let rules = SubscriptionRules {
        shipments: false,
        status: false,
        returns: false,
        ..SubscriptionRules::default()
    };
    desired_from(
        &rules,
        &["A".to_string(), "B".to_string()],
        base,
        &crate::peoplevox::wsdl::ServiceDescription::with_sites_filters(),
    )
}

fn actions(report: &SubscriptionReport) -> Vec<Action> {
    report.lines.iter().map(|l| l.action).collect()
}

const RUN: ApplyOptions = ApplyOptions {
    dry_run: false,
    forget_unknown: false,
};

async fn setup() -> (Script, Arc<EmbeddedStore>) {
    (Script::default(), EmbeddedStore::in_memory().unwrap())
}

#[tokio::test]
async fn create_keep_replace_remove() {
    let (pvx, store) = setup().await;
    let want = two_sites("https://one.example");
    let r = apply(&pvx, store.as_ref(), &want, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Created, Action::Created]);
    assert_eq!((r.subscribe_calls, r.ids()), (2, vec![1, 2]));

    let r = apply(&pvx, store.as_ref(), &want, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Kept, Action::Kept]);
    assert_eq!((r.subscribe_calls, r.unsubscribe_calls), (0, 0));

    let moved = two_sites("https://two.example");
    let r = apply(&pvx, store.as_ref(), &moved, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Replaced, Action::Replaced]);
    assert_eq!(r.lines[0].unsubscribed, [1]);
    assert_eq!(pvx.ids(), [3, 4]);

    // A rotated token is a change too.
    let rotated = SecretString::from(format!("{TOKEN}-2"));
    let r = apply(&pvx, store.as_ref(), &moved, &rotated, RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Replaced, Action::Replaced]);

    let r = apply(&pvx, store.as_ref(), &moved[..1], &rotated, RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Kept, Action::Removed]);
    assert_eq!(pvx.ids(), [5]);

    let r = unsubscribe_all(&pvx, store.as_ref(), RUN).await.unwrap();
    assert_eq!(actions(&r), [Action::Removed]);
    assert!(pvx.ids().is_empty());
    assert!(load_all(store.as_ref()).await.unwrap().is_empty());
}

#[tokio::test]
async fn records_never_hold_the_token() {
    let (pvx, store) = setup().await;
    apply(
        &pvx,
        store.as_ref(),
        &two_sites("https://one.example"),
        &token(),
        RUN,
    )
    .await
    .unwrap();
    for stored in load_all(store.as_ref()).await.unwrap() {
        let json = stored.record.to_json().unwrap();
        assert!(!json.contains(TOKEN), "{json}");
        assert!(
            json.contains("/webhooks/peoplevox/<token>/availability"),
            "{json}"
        );
    }
    // Peoplevox got the real one.
    assert!(pvx.held.lock().unwrap()[0].1.contains(TOKEN));
}

#[tokio::test]
async fn a_dry_run_sends_and_writes_nothing() {
    let (pvx, store) = setup().await;
    let dry = ApplyOptions {
        dry_run: true,
        ..RUN
    };
    let want = two_sites("https://one.example");
    let r = apply(&pvx, store.as_ref(), &want, &token(), dry)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Created, Action::Created]);
    assert!(
        r.lines()[0].starts_with("would create AvailabilityChanges at A: https://one.example/")
    );
    assert!(pvx.ids().is_empty() && load_all(store.as_ref()).await.unwrap().is_empty());
    apply(&pvx, store.as_ref(), &want, &token(), RUN)
        .await
        .unwrap();
    let r = apply(
        &pvx,
        store.as_ref(),
        &two_sites("https://two.example")[..1],
        &token(),
        dry,
    )
    .await
    .unwrap();
    assert_eq!(actions(&r), [Action::Replaced, Action::Removed]);
    let r = unsubscribe_all(&pvx, store.as_ref(), dry).await.unwrap();
    assert_eq!(actions(&r), [Action::Removed, Action::Removed]);
    assert_eq!(pvx.ids(), [1, 2]);
    assert_eq!(load_all(store.as_ref()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_lost_answer_is_unknown_and_never_sent_again_until_forgotten() {
    let (pvx, store) = setup().await;
    let want = two_sites("https://one.example");
    pvx.answer_next(lost_answer());
    let r = apply(&pvx, store.as_ref(), &want, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Unknown, Action::Created]);
    assert!(!r.succeeded());
    assert!(
        r.lines[0]
            .note
            .as_deref()
            .unwrap()
            .contains("--forget-unknown")
    );
    // Peoplevox did subscribe (id 1); ctpvx does not know the id.
    assert_eq!(pvx.ids(), [1, 2]);

    for _ in 0..2 {
        let r = apply(&pvx, store.as_ref(), &want, &token(), RUN)
            .await
            .unwrap();
        assert_eq!(actions(&r), [Action::Unknown, Action::Kept]);
        assert_eq!(r.subscribe_calls, 0);
    }
    // Nor does unsubscribing everything pretend to have removed it.
    let r = unsubscribe_all(
        &pvx,
        store.as_ref(),
        ApplyOptions {
            dry_run: true,
            ..RUN
        },
    )
    .await
    .unwrap();
    assert_eq!(actions(&r), [Action::Unknown, Action::Removed]);

    // The person removed id 1 in Peoplevox and says so.
    pvx.unsubscribe(1).await.unwrap();
    let forget = ApplyOptions {
        forget_unknown: true,
        ..RUN
    };
    let r = apply(&pvx, store.as_ref(), &want, &token(), forget)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Created, Action::Kept]);
    assert!(r.lines[0].note.as_deref().unwrap().contains("forgotten"));
    assert_eq!(pvx.ids(), [2, 3]);
}

#[tokio::test]
async fn a_lost_answer_during_a_replacement_keeps_the_old_id_for_removal() {
    let (pvx, store) = setup().await;
    apply(
        &pvx,
        store.as_ref(),
        &two_sites("https://one.example")[..1],
        &token(),
        RUN,
    )
    .await
    .unwrap();
    pvx.answer_next(lost_answer());
    let moved = two_sites("https://two.example");
    let r = apply(&pvx, store.as_ref(), &moved[..1], &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Unknown]);
    let stored = load_all(store.as_ref()).await.unwrap();
    assert_eq!(
        (stored[0].record.id, stored[0].record.retired.clone()),
        (None, vec![1])
    );
    // Forgetting subscribes anew and removes the old one it still knows.
    pvx.unsubscribe(2).await.unwrap();
    let forget = ApplyOptions {
        forget_unknown: true,
        ..RUN
    };
    let r = apply(&pvx, store.as_ref(), &moved[..1], &token(), forget)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Created]);
    assert_eq!(r.lines[0].unsubscribed, [1]);
    assert_eq!(pvx.ids(), [3]);
}

#[tokio::test]
async fn a_refused_subscribe_restores_the_record() {
    let (pvx, store) = setup().await;
    let want = two_sites("https://one.example");
    apply(&pvx, store.as_ref(), &want[..1], &token(), RUN)
        .await
        .unwrap();
    let before = load_all(store.as_ref()).await.unwrap()[0].record.clone();
    pvx.answer_next(PvxError::Api {
        operation: "SubscribeEvent",
        detail: "Invalid filter".into(),
    });
    pvx.answer_next(PvxError::Connect("refused".into()));
    let moved = two_sites("https://two.example");
    let r = apply(&pvx, store.as_ref(), &moved, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Failed, Action::Failed]);
    assert!(
        r.lines[0]
            .note
            .as_deref()
            .unwrap()
            .contains("Invalid filter")
    );
    let stored = load_all(store.as_ref()).await.unwrap();
    assert_eq!(stored.len(), 1, "the new one's intent is gone");
    assert_eq!(stored[0].record, before, "the old one is as it was");
    // Nothing is unknown: the next run simply tries again.
    let r = apply(&pvx, store.as_ref(), &moved, &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Replaced, Action::Created]);
    assert!(r.succeeded());
}

#[tokio::test]
async fn leftovers_of_an_interrupted_replacement_are_removed_when_kept() {
    let (pvx, store) = setup().await;
    let want = two_sites("https://one.example");
    apply(&pvx, store.as_ref(), &want[..1], &token(), RUN)
        .await
        .unwrap();
    // As if a run had recorded the new id and died before unsubscribing the old one.
    let mut stored = load_all(store.as_ref()).await.unwrap().remove(0);
    pvx.held.lock().unwrap().push((99, "old".into()));
    stored.record.retired = vec![99];
    store
        .put(
            RECORD_PK,
            &stored.name,
            &stored.record.to_json().unwrap(),
            crate::store::Condition::Version(stored.version),
            None,
        )
        .await
        .unwrap();
    let r = apply(&pvx, store.as_ref(), &want[..1], &token(), RUN)
        .await
        .unwrap();
    assert_eq!(actions(&r), [Action::Kept]);
    assert_eq!(r.lines[0].unsubscribed, [99]);
    assert_eq!(pvx.ids(), [1]);
    assert!(
        load_all(store.as_ref()).await.unwrap()[0]
            .record
            .retired
            .is_empty()
    );
}
