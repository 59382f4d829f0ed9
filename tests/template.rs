//! template.yaml against the code's own names: every queue URL variable a function reads is
//! set from the right queue, and each queue's redrive count is the one the flows park on (a
//! flow parks a record with its reason on the receive the redrive policy would move it).
//! The template's syntax and SAM semantics are checked offline by infra/dev/lint_template.py.

use std::time::Duration;

use ctpvx_shared::config::Config;
use ctpvx_shared::invocation::{SETTLE_RESERVE, WORK_MARGIN};
use ctpvx_shared::lambda_init::QUEUE_URL_VARS;
use ctpvx_shared::queues;

fn template() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    std::fs::read_to_string(path).expect("template.yaml")
}

/// The CloudFormation resource of a logical queue name: `orders` → `OrdersQueue`,
/// `orders-dlq` → `OrdersDeadLetterQueue`.
fn resource(queue: &str) -> String {
    let (base, dlq) = match queue.strip_suffix("-dlq") {
        Some(base) => (base, true),
        None => (queue, false),
    };
    let mut name: String = base[..1].to_uppercase() + &base[1..];
    name.push_str(if dlq { "DeadLetterQueue" } else { "Queue" });
    name
}

/// The text of one resource's block: its header line and every line indented under it.
fn block(template: &str, resource: &str) -> String {
    let header = format!("  {resource}:");
    let mut lines = template.lines().skip_while(|l| *l != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{resource} is not in template.yaml"));
    let body = lines.take_while(|l| l.is_empty() || l.starts_with("    "));
    std::iter::once(first)
        .chain(body)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_queue_url_variable_is_set_from_its_queue() {
    let template = template();
    for (queue, var) in QUEUE_URL_VARS {
        let line = format!("{var}: !Ref {}", resource(queue));
        assert!(template.contains(&line), "template.yaml lacks `{line}`");
    }
}

#[test]
fn redrive_counts_match_the_flows() {
    let template = template();
    for (queue, count) in [
        (queues::ORDERS_QUEUE, queues::ORDERS_MAX_RECEIVE_COUNT),
        (queues::STOCK_QUEUE, queues::STOCK_MAX_RECEIVE_COUNT),
        (queues::SHIPMENTS_QUEUE, queues::SHIPMENTS_MAX_RECEIVE_COUNT),
        (queues::STATUS_QUEUE, queues::STATUS_MAX_RECEIVE_COUNT),
        (queues::RECONCILE_QUEUE, queues::RECONCILE_MAX_RECEIVE_COUNT),
    ] {
        let block = block(&template, &resource(queue));
        assert!(
            block.contains(&format!("maxReceiveCount: {count}")),
            "{queue}: {block}"
        );
    }
}

/// The value of the first `key: <seconds>` line of a block.
fn seconds(block: &str, key: &str) -> Duration {
    let prefix = format!("{key}: ");
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or_else(|| panic!("no {key} in {block}"))
}

/// A configuration with every client setting at its default.
const DEFAULTS: &str = r#"
[commercetools]
auth_url = "https://auth.example"
api_url = "https://api.example"
project_key = "shop"
client_id = "cid"
order_export_channel = "pvx-export"

[peoplevox]
endpoint = "https://wms.peoplevox.net/c1/resources/integrationservicev4.asmx"
client_id = "c1"
username = "integration"
"#;

/// A batch's time is the Timeout of the function that reads its queue, as the local workers
/// use it; that Timeout leaves one full attempt of every request on the function's worst path
/// with the default client settings, after a budget window each, plus the flow's own writes
/// and the settle reserve; and the queue's visibility timeout is at least six times it (AWS's
/// guidance for SQS event sources).
#[test]
fn function_timeouts_fit_their_worst_request_path_and_their_queues() {
    let template = template();
    let config = Config::from_toml(DEFAULTS).unwrap();
    let pvx = Duration::from_millis(config.peoplevox.timeout_ms);
    let ct = Duration::from_millis(config.commercetools.timeout_ms);
    let window = config.peoplevox.budget_window();
    let after = WORK_MARGIN + SETTLE_RESERVE;
    // A Peoplevox read and SaveData; reading the orders and marking them exported.
    let orders = 2 * (window + pvx) + 3 * ct + after;
    // One Peoplevox read; an order or entry read and written.
    let events = window + pvx + 2 * ct + after;
    for (function, queue, path) in [
        ("OrderCreatedFunction", queues::ORDERS_QUEUE, orders),
        ("StockDeltaFunction", queues::STOCK_QUEUE, events),
        ("ShipmentConfirmedFunction", queues::SHIPMENTS_QUEUE, events),
        ("OrderStatusFunction", queues::STATUS_QUEUE, events),
    ] {
        let timeout = seconds(&block(&template, function), "Timeout");
        assert_eq!(timeout, queues::function_timeout(queue), "{function}");
        assert!(timeout >= path, "{function}: {timeout:?} < {path:?}");
        let visibility = seconds(&block(&template, &resource(queue)), "VisibilityTimeout");
        assert!(visibility >= 6 * timeout, "{queue}: {visibility:?}");
    }
    let reconcile = seconds(&block(&template, "NightlyReconcileFunction"), "Timeout");
    assert_eq!(reconcile, queues::function_timeout(queues::RECONCILE_QUEUE));
}

#[test]
fn a_reconcile_message_returns_only_after_its_invocation_is_gone() {
    let template = template();
    let function = block(&template, "NightlyReconcileFunction");
    assert!(function.contains("Timeout: 900"), "{function}");
    let queue = block(&template, "ReconcileQueue");
    let visibility: u64 = queue
        .lines()
        .find_map(|l| l.trim().strip_prefix("VisibilityTimeout: "))
        .and_then(|v| v.parse().ok())
        .expect("VisibilityTimeout");
    // The lease lapses 30 s after the deadline.
    assert!(visibility > 900 + 30, "{visibility}");
}

#[test]
fn the_reconciliation_may_send_to_every_queue_it_requeues_on() {
    let template = template();
    let function = block(&template, "NightlyReconcileFunction");
    let statement: String = function
        .split("- Effect:")
        .find(|s| s.contains("sqs:SendMessage"))
        .expect("a SendMessage statement")
        .to_string();
    for queue in [
        queues::ORDERS_QUEUE,
        queues::SHIPMENTS_QUEUE,
        queues::STATUS_QUEUE,
        queues::RECONCILE_QUEUE,
    ] {
        let arn = format!("!GetAtt {}.Arn", resource(queue));
        assert!(statement.contains(&arn), "{queue}: {statement}");
    }
}

/// A retried record waits its own backoff (`flows::settle` sets it on the message): the
/// function an SQS event feeds from a queue may change message visibility on that queue, and
/// on no other.
#[test]
fn each_queue_fed_function_may_delay_retries_on_its_own_queue_only() {
    let template = template();
    let functions: Vec<String> = template
        .lines()
        .filter_map(|l| l.strip_suffix(':').and_then(|n| n.strip_prefix("  ")))
        .filter(|n| !n.starts_with(' ') && n.ends_with("Function"))
        .map(|n| block(&template, n))
        .collect();
    for (queue, _, _) in queues::QUEUE_PAIRS {
        let arn = format!("!GetAtt {}.Arn", resource(queue));
        let fed: Vec<&String> = functions
            .iter()
            .filter(|f| f.contains(&format!("Queue: {arn}")))
            .collect();
        assert_eq!(fed.len(), 1, "one function reads {queue}");
        let statements: Vec<&str> = fed[0]
            .split("- Effect:")
            .filter(|s| s.contains("sqs:ChangeMessageVisibility"))
            .collect();
        assert_eq!(statements.len(), 1, "{queue}: {}", fed[0]);
        let resources: Vec<&str> = statements[0]
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Resource: "))
            .collect();
        assert_eq!(resources, vec![arn.as_str()], "{queue}");
    }
}

/// Issue 21 item 10: an export batch carries up to 500 orders into one SaveData pair: the
/// orders event source hands over as many as one call takes by default (`BatchSize` above 10
/// needs a batching window: Lambda API reference, `BatchSize`).
#[test]
fn the_orders_event_source_fills_one_save_data_pair() {
    let template = template();
    let function = block(&template, "OrderCreatedFunction");
    let setting = |name: &str| -> u64 {
        function
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {function}"))
    };
    let config =
        ctpvx_shared::config::Config::from_toml(include_str!("../infra/config/ctpvx.example.toml"))
            .expect("example configuration");
    let batch = ctpvx_infra::local::stack::ORDERS_BATCH_SIZE;
    assert_eq!(setting("BatchSize"), batch as u64, "the local stack's");
    assert_eq!(config.orders.max_orders_per_call, batch);
    let window = setting("MaximumBatchingWindowInSeconds");
    assert!((1..=10).contains(&window), "{window}");
}

/// The statements of one function's policy that allow `action` on `table`.
fn grants(template: &str, function: &str, action: &str, table: &str) -> bool {
    block(template, function)
        .split("- Effect: Allow")
        .skip(1)
        .any(|statement| {
            statement.contains(action) && statement.contains(&format!("!GetAtt {table}.Arn"))
        })
}

/// Every store a function's flow reads is one its role may read: in AWS a read the policy
/// does not allow fails with AccessDenied, which no local store shows. The status flow reads
/// the order export's claims (`app::export_claims`): a cancellation waits while an export of
/// its order is in flight (issue 21 item 3); the export writes them.
#[test]
fn each_function_may_use_the_tables_its_flow_uses() {
    let template = template();
    for (function, action, table) in [
        (
            "OrderCreatedFunction",
            "dynamodb:PutItem",
            "IdempotencyTable",
        ),
        (
            "OrderCreatedFunction",
            "dynamodb:GetItem",
            "IdempotencyTable",
        ),
        (
            "OrderStatusFunction",
            "dynamodb:GetItem",
            "IdempotencyTable",
        ),
        ("OrderStatusFunction", "dynamodb:GetItem", "StateTable"),
        ("StockDeltaFunction", "dynamodb:UpdateItem", "StateTable"),
        (
            "ShipmentConfirmedFunction",
            "dynamodb:PutItem",
            "AuditTable",
        ),
    ] {
        assert!(
            grants(&template, function, action, table),
            "{function} may not {action} on {table}"
        );
    }
    // ... and no more than it needs: only the export writes claims.
    for function in [
        "OrderStatusFunction",
        "StockDeltaFunction",
        "ShipmentConfirmedFunction",
    ] {
        assert!(
            !grants(&template, function, "dynamodb:PutItem", "IdempotencyTable"),
            "{function} may write the export's claims"
        );
    }
}
