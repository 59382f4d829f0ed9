//! Dead letters: per queue, each parked message's reason, ids, receive count, age and its body
//! with personal data masked; redriving selected messages with the CLI's rules
//! (`operator::dlq::redrive`: sent back without ctpvx's notes, audited, deleted only after the
//! send), always after a preview of what the redrive would send and what the flow will do.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ctpvx_shared::flows::order_export::{OrderLink, load_link};
use ctpvx_shared::queues::ORDERS_QUEUE;
use ctpvx_shared::store::now_epoch_ms;

use super::Console;
use super::guard::{Refused, field, fields, form};
use super::page::{Chrome, age, failure, render};
use crate::operator::dlq::{
    self, Parked, QueuePair, RedriveOptions, RedriveReport, masked, pairs, resolve, summarize,
};

/// Messages read per page (the CLI's `--limit`).
const READ_LIMIT: usize = 500;

#[derive(serde::Deserialize)]
pub struct Pick {
    #[serde(default)]
    queue: String,
}

pub struct Message {
    pub message_id: String,
    pub source_message_id: String,
    pub flow: String,
    pub reason: String,
    pub ids: String,
    pub receive_count: u32,
    pub age: String,
    pub body: String,
    pub plan: String,
}

pub struct QueueLink {
    pub source: &'static str,
    pub dlq: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
struct DeadLettersPage {
    chrome: Chrome,
    queues: Vec<QueueLink>,
    pair: Option<QueuePair>,
    messages: Vec<Message>,
    more: bool,
}

#[derive(Template)]
#[template(path = "console/redrive.html")]
struct RedrivePage {
    chrome: Chrome,
    pair: QueuePair,
    /// A preview (the confirm form follows) or a done redrive.
    preview: bool,
    messages: Vec<Message>,
    report: RedriveReport,
}

fn queue_links(current: Option<&QueuePair>) -> Vec<QueueLink> {
    pairs()
        .into_iter()
        .map(|p| QueueLink {
            source: p.source,
            dlq: p.dlq,
            current: current.is_some_and(|c| c.source == p.source),
        })
        .collect()
}

/// `GET /dead-letters?queue=orders`.
pub async fn page(State(console): State<Arc<Console>>, Query(pick): Query<Pick>) -> Response {
    let chrome = Chrome::new(&console, "Dead letters");
    if pick.queue.is_empty() {
        return render(DeadLettersPage {
            chrome,
            queues: queue_links(None),
            pair: None,
            messages: Vec::new(),
            more: false,
        });
    }
    let pair = match resolve(&pick.queue) {
        Ok(pair) => pair,
        Err(e) => return failure(e.to_string()),
    };
    let listing = match dlq::list(console.queue.as_ref(), pair, READ_LIMIT).await {
        Ok(listing) => listing,
        Err(e) => return failure(e.to_string()),
    };
    let messages = describe_all(&console, &pair, &listing.messages).await;
    render(DeadLettersPage {
        chrome,
        queues: queue_links(Some(&pair)),
        pair: Some(pair),
        messages,
        more: listing.limit_reached,
    })
}

/// Store reads in flight at once while describing messages (two per message).
const DESCRIBE_CONCURRENCY: usize = 16;

/// The messages described, in their order, a few at a time: on DynamoDB each costs two reads.
async fn describe_all(console: &Console, pair: &QueuePair, messages: &[Parked]) -> Vec<Message> {
    let mut described = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(DESCRIBE_CONCURRENCY) {
        described.extend(
            futures::future::join_all(chunk.iter().map(|m| describe(console, pair, m))).await,
        );
    }
    described
}

/// A parked message as the pages show it: never its raw body.
async fn describe(console: &Console, pair: &QueuePair, m: &Parked) -> Message {
    let now = now_epoch_ms();
    // When it was parked, from its audit trail (a message moved by the redrive policy has none).
    let parked_at = console
        .stores
        .audit
        .list_recent(&m.audit_entity(), 20)
        .await
        .ok()
        .and_then(|entries| {
            entries
                .iter()
                .rev()
                .find(|e| e.outcome == "dead-lettered")
                .map(|e| e.at_ms)
        });
    Message {
        message_id: m.message_id.clone(),
        source_message_id: m.source_message_id.clone(),
        flow: m.flow.clone().unwrap_or_else(|| "-".into()),
        reason: m.why(pair),
        ids: summarize(&m.body),
        receive_count: m.receive_count,
        age: parked_at.map_or_else(|| "unknown".into(), |t| age(t, now)),
        body: masked(&m.body),
        plan: plan(console, pair, &m.body).await,
    }
}

/// What the flow will do with the message once it is back on its queue, read from the store
/// as the flow's own first step reads it (dry: nothing is written).
async fn plan(console: &Console, pair: &QueuePair, body: &str) -> String {
    let again = "Work already done is not done twice: claims, order links, delivery keys and the stock ledger make a repeated message change nothing.";
    if pair.source != ORDERS_QUEUE {
        return format!(
            "The {} flow takes it as a new delivery and reads what it names again from the source system. {again}",
            pair.source
        );
    }
    let Some(order_id) = order_id(body) else {
        return format!(
            "The export cannot tell which order this names: it will park it again. {again}"
        );
    };
    match load_link(console.stores.state.as_ref(), &order_id).await {
        Ok(Some(OrderLink::Exported { number, site, .. })) => format!(
            "Order {order_id} is already in Peoplevox as {number} at {site}: the export finds its link and sends nothing."
        ),
        Ok(Some(OrderLink::Sending { number, .. })) => format!(
            "An attempt was sending order {order_id} as {number}: the export asks Peoplevox for {number} first and sends it only if Peoplevox does not have it."
        ),
        Ok(Some(OrderLink::Held { reason, .. })) => format!(
            "Order {order_id} is held ({reason}): the export reads it again from commercetools and sends it if the cause is fixed, or holds it again."
        ),
        Ok(None) => format!(
            "Order {order_id} has not reached Peoplevox: the export reads it from commercetools, maps and routes it, and sends it."
        ),
        Err(e) => format!("Order {order_id}'s link could not be read ({e})."),
    }
}

/// The order a message on the orders queue names: a commercetools Message's `resource.id`, an
/// embedded order's `id`, or an `orderId`.
fn order_id(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    [&v["resource"]["id"], &v["order"]["id"], &v["orderId"]]
        .into_iter()
        .find_map(|id| id.as_str().map(str::to_string))
}

/// The queue and ids of an action's form, once its token checks out.
fn chosen(console: &Console, body: &str) -> Result<(QueuePair, Vec<String>), Refused> {
    let f = form(&console.csrf, body)?;
    let pair = resolve(field(&f, "queue").unwrap_or(""))
        .map_err(|e| Refused(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok((
        pair,
        fields(&f, "id").into_iter().map(str::to_string).collect(),
    ))
}

/// `POST /dead-letters/preview` (`queue`, `id`…): what a redrive of those messages would do.
pub async fn preview(State(console): State<Arc<Console>>, body: String) -> Response {
    act(&console, &body, true).await
}

/// `POST /dead-letters/redrive` (`queue`, `id`…): sends them back.
pub async fn redrive(State(console): State<Arc<Console>>, body: String) -> Response {
    act(&console, &body, false).await
}

async fn act(console: &Console, body: &str, dry_run: bool) -> Response {
    let (pair, ids) = match chosen(console, body) {
        Ok(chosen) => chosen,
        Err(refused) => return refused.into_response(),
    };
    let mut chrome = Chrome::new(console, "Dead letters");
    if ids.is_empty() {
        chrome.notice = Some("Select the messages to redrive first.".into());
        return render(DeadLettersPage {
            chrome,
            queues: queue_links(Some(&pair)),
            pair: Some(pair),
            messages: Vec::new(),
            more: false,
        });
    }
    let options = RedriveOptions {
        ids,
        dry_run,
        limit: READ_LIMIT,
    };
    let report = match dlq::redrive(
        console.queue.as_ref(),
        console.stores.audit.as_ref(),
        pair,
        &options,
    )
    .await
    {
        Ok(report) => report,
        Err(e) => return failure(e.to_string()),
    };
    // Described from the messages the redrive read: one read of the queue.
    let messages = describe_all(console, &pair, &report.chosen).await;
    if !dry_run {
        chrome.notice = Some(format!(
            "{} message(s) sent back to {}{}",
            report.redriven.len(),
            pair.source,
            if report.ok() {
                String::new()
            } else {
                format!(
                    "; {} failed, {} not found",
                    report.failed.len(),
                    report.not_found.len()
                )
            }
        ));
    }
    render(RedrivePage {
        chrome,
        pair,
        preview: dry_run,
        messages,
        report,
    })
}
