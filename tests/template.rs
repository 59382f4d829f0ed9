//! template.yaml against the code's own names: every queue URL variable a function reads is
//! set from the right queue, and each queue's redrive count is the one the flows park on (a
//! flow parks a record with its reason on the receive the redrive policy would move it); and,
//! read as CloudFormation reads it, each function's environment, secrets, table rights, log
//! group and concurrency, the tables' protection and the API's access log (issue 23).
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

/// Whether one statement of a function's policies allows `action` on `table` (named by
/// `!GetAtt Table.Arn`), read as CloudFormation reads the template.
fn grants(t: &Value, function: &str, action: &str, table: &str) -> bool {
    policy_grants(&t["Resources"][function])
        .iter()
        .any(|g| g.allows(action) && g.resource_ids().contains(&Some(table)))
}

/// Whether `function` may, as far as the policy can be read, `action` on `table`: a resource
/// not named by `GetAtt` (`*`, a `Sub`-built ARN) counts as possibly the table, so that a
/// refusal is never proved by a grant the reader cannot follow.
fn may_grant(t: &Value, function: &str, action: &str, table: &str) -> bool {
    policy_grants(&t["Resources"][function]).iter().any(|g| {
        g.allows(action)
            && g.resource_ids()
                .iter()
                .any(|id| id.is_none_or(|id| id == table))
    })
}

/// Every store a function's flow reads is one its role may read: in AWS a read the policy
/// does not allow fails with AccessDenied, which no local store shows. The status flow reads
/// the order export's claims (`app::export_claims`): a cancellation waits while an export of
/// its order is in flight (issue 21 item 3); the export writes them.
#[test]
fn each_function_may_use_the_tables_its_flow_uses() {
    let t = cfn();
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
        ("StockDeltaFunction", "dynamodb:PutItem", "StateTable"),
        (
            "ShipmentConfirmedFunction",
            "dynamodb:PutItem",
            "AuditTable",
        ),
    ] {
        assert!(
            grants(&t, function, action, table),
            "{function} may not {action} on {table}"
        );
    }
    // Every flow settles its batches through `flows::settle`, which audits what it hands on
    // with one BatchWriteItem per 25 entries; every flow reads order links, status marks or
    // the stock ledger with BatchGetItem (`StateStore::get_many`); the Peoplevox request
    // budget is queried and its places deleted by every flow that calls Peoplevox.
    for function in [
        "OrderCreatedFunction",
        "StockDeltaFunction",
        "ShipmentConfirmedFunction",
        "OrderStatusFunction",
        "NightlyReconcileFunction",
    ] {
        for (action, table) in [
            ("dynamodb:BatchWriteItem", "AuditTable"),
            ("dynamodb:BatchGetItem", "StateTable"),
            ("dynamodb:Query", "StateTable"),
            ("dynamodb:DeleteItem", "StateTable"),
        ] {
            assert!(
                grants(&t, function, action, table),
                "{function} may not {action} on {table}"
            );
        }
    }
    // ... and no more than it needs: only the export writes claims.
    for function in [
        "OrderStatusFunction",
        "StockDeltaFunction",
        "ShipmentConfirmedFunction",
    ] {
        assert!(
            !may_grant(&t, function, "dynamodb:PutItem", "IdempotencyTable"),
            "{function} may write the export's claims"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The template as CloudFormation reads it (issue 23): environments, IAM, logs, tables, scaling.
// ---------------------------------------------------------------------------------------------

use std::collections::{BTreeMap, BTreeSet};

/// The template read as CloudFormation reads it (as JSON values): short-form tags in their long form (`!Ref X`
/// reads `{"Ref": "X"}`, `!GetAtt X.Arn` reads `{"Fn::GetAtt": ["X", "Arn"]}`), by the parser
/// `ctpvx stack` wires the functions from, so a reference is never mistaken for a literal.
use serde_json::Value;

fn cfn() -> Value {
    ctpvx_infra::stack::template::parse(&template()).expect("template.yaml parses")
}

/// The name an intrinsic `{Ref: X}` refers to.
fn ref_name(value: &Value) -> Option<&str> {
    value["Ref"].as_str()
}

/// The resource an `{Fn::GetAtt: X.Arn}` (or `[X, Arn]`) names.
fn get_att(value: &Value) -> Option<&str> {
    // `[X, Arn]`, or the long form's other spelling, `X.Arn`.
    let att = &value["Fn::GetAtt"];
    att[0]
        .as_str()
        .or_else(|| att.as_str().and_then(|a| a.split('.').next()))
}

/// A scalar or a list, as a list.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The template's resources of `kind` (`AWS::SQS::Queue`, ...), by logical id.
fn resources_of<'a>(t: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn functions(t: &Value) -> BTreeMap<&str, &Value> {
    let functions = resources_of(t, "AWS::Serverless::Function");
    assert!(functions.len() >= 6, "{:?}", functions.keys());
    functions
}

/// The binaries `ctpvx stack`, the soak and the benchmarks build (`stack::FUNCTIONS`) are the
/// ones the template deploys, each a package under `functions/`.
#[test]
fn the_stack_builds_the_binaries_the_template_deploys() {
    let t = cfn();
    let deployed: BTreeSet<&str> = functions(&t)
        .values()
        .map(|f| {
            f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("a function's BuildProperties.Binary")
        })
        .collect();
    let built: BTreeSet<&str> = ctpvx_infra::stack::FUNCTIONS.into_iter().collect();
    assert_eq!(built, deployed);
    for binary in built {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../functions")
            .join(binary)
            .join("Cargo.toml");
        assert!(manifest.exists(), "no package {}", manifest.display());
    }
}

/// A function's environment as Lambda gets it: the Globals' variables, then its own.
fn environment<'a>(t: &'a Value, function: &'a Value) -> BTreeMap<&'a str, &'a Value> {
    let mut env = BTreeMap::new();
    for vars in [
        &t["Globals"]["Function"]["Environment"]["Variables"],
        &function["Properties"]["Environment"]["Variables"],
    ] {
        for (k, v) in vars.as_object().into_iter().flatten() {
            env.insert(k.as_str(), v);
        }
    }
    env
}

/// One statement of a function's inline policies, with the condition it is under (a statement
/// written `!If [Cond, {statement}, !Ref AWS::NoValue]`).
struct Grant<'a> {
    condition: Option<&'a str>,
    statement: &'a Value,
}

impl<'a> Grant<'a> {
    fn actions(&self) -> Vec<&'a str> {
        items(&self.statement["Action"])
            .into_iter()
            .filter_map(Value::as_str)
            .collect()
    }

    /// Whether it allows `action` (`service:Name`), also through a wildcard.
    fn allows(&self, action: &str) -> bool {
        assert!(action.contains(':'), "service:Action");
        self.statement["Effect"].as_str() == Some("Allow")
            && self.actions().iter().any(|a| {
                *a == "*"
                    || a.eq_ignore_ascii_case(action)
                    || a.strip_suffix('*').is_some_and(|prefix| {
                        prefix.contains(':')
                            && action.to_lowercase().starts_with(&prefix.to_lowercase())
                    })
            })
    }

    fn resources(&self) -> Vec<&'a Value> {
        items(&self.statement["Resource"])
    }

    /// The resources it names by `!GetAtt X.Arn` (logical ids); any other form is `None`.
    fn resource_ids(&self) -> Vec<Option<&'a str>> {
        self.resources().into_iter().map(get_att).collect()
    }
}

fn policy_grants<'a>(function: &'a Value) -> Vec<Grant<'a>> {
    let mut out = Vec::new();
    for policy in items(&function["Properties"]["Policies"]) {
        for statement in items(&policy["Statement"]) {
            match &statement["Fn::If"] {
                Value::Array(branches) => {
                    let condition = branches[0].as_str();
                    for branch in &branches[1..] {
                        if branch["Effect"].as_str().is_some() {
                            out.push(Grant {
                                condition,
                                statement: branch,
                            });
                        }
                    }
                }
                _ => out.push(Grant {
                    condition: None,
                    statement,
                }),
            }
        }
    }
    assert!(!out.is_empty(), "a function without a policy");
    out
}

/// The length of a value as Lambda would store it once deployed: literals as written,
/// references as realistic values of what they name.
fn realistic_len(t: &Value, value: &Value) -> usize {
    match value {
        Value::String(s) => return s.len(),
        Value::Number(n) => return n.to_string().len(),
        Value::Bool(b) => return b.to_string().len(),
        _ => {}
    }
    if let Some(name) = ref_name(value) {
        let resource = &t["Resources"][name];
        if let Some(kind) = resource["Type"].as_str() {
            return match kind {
                // https://sqs.eu-west-1.amazonaws.com/123456789012/<stack>-OrdersQueue-<id>
                "AWS::SQS::Queue" => 90,
                "AWS::DynamoDB::Table" => 60,
                // The longest bucket name S3 allows.
                "AWS::S3::Bucket" => 63,
                other => panic!("no realistic value for a reference to a {other} ({name})"),
            };
        }
        let parameter = &t["Parameters"][name];
        return match (name, parameter["Type"].as_str()) {
            // arn:aws:secretsmanager:eu-west-1:123456789012:secret:<name>-AbCdEf
            (n, Some("String")) if n.ends_with("SecretArn") => 100,
            ("ConfigKey", Some("String")) => 64,
            (_, Some("Number")) => 10,
            // Nothing else bounds a parameter but its MaxLength: without one it could fill
            // the whole environment (the configuration TOML once did).
            _ => parameter["MaxLength"]
                .as_i64()
                .map_or(LAMBDA_ENVIRONMENT_LIMIT, |n| n as usize),
        };
    }
    if get_att(value).is_some() {
        return 100;
    }
    panic!("no realistic value for {value:?}: add one here")
}

/// Lambda's limit on a function's environment: all keys and values together.
const LAMBDA_ENVIRONMENT_LIMIT: usize = 4 * 1024;

/// Issue 23: each function's environment, with realistic values for what it references, fits
/// Lambda's 4 KB (the configuration itself is in S3, and each function gets only its queues).
#[test]
fn every_function_environment_fits_lambdas_limit() {
    let t = cfn();
    let sizes: BTreeMap<&str, usize> = functions(&t)
        .into_iter()
        .map(|(name, f)| {
            let size = environment(&t, f)
                .into_iter()
                .map(|(k, v)| k.len() + realistic_len(&t, v))
                .sum();
            (name, size)
        })
        .collect();
    assert!(
        sizes.values().all(|s| *s < LAMBDA_ENVIRONMENT_LIMIT),
        "environment sizes in bytes (limit {LAMBDA_ENVIRONMENT_LIMIT}; a parameter without \
         MaxLength counts as the whole limit): {sizes:?}"
    );
}

const WEBHOOKS: &str = "WebhooksFunction";

/// Issue 23 item 2: the webhooks function, on the internet, cannot read the commercetools
/// client secret or the Peoplevox password; the flows cannot read the webhook tokens. A
/// customer managed key, when given, may be used only through Secrets Manager.
#[test]
fn each_function_may_read_only_its_own_secret() {
    let t = cfn();
    assert!(!t["Conditions"]["HasSecretsKmsKey"].is_null());
    for (name, f) in functions(&t) {
        let (own, own_var, other_var) = if name == WEBHOOKS {
            (
                "WebhookSecretArn",
                "CTPVX_WEBHOOK_SECRET_ARN",
                "CTPVX_API_SECRET_ARN",
            )
        } else {
            (
                "ApiSecretArn",
                "CTPVX_API_SECRET_ARN",
                "CTPVX_WEBHOOK_SECRET_ARN",
            )
        };
        let grants = policy_grants(f);
        let readable: Vec<&Value> = grants
            .iter()
            .filter(|g| g.allows("secretsmanager:GetSecretValue"))
            .flat_map(Grant::resources)
            .collect();
        assert!(!readable.is_empty(), "{name} reads no secret");
        for resource in readable {
            // A wildcard, another parameter or a literal ARN could cover the other secret.
            assert_eq!(
                ref_name(resource),
                Some(own),
                "{name} may read {resource:?}"
            );
        }
        let env = environment(&t, f);
        assert_eq!(
            env.get(own_var).copied().and_then(ref_name),
            Some(own),
            "{name}"
        );
        assert!(!env.contains_key(other_var), "{name} has {other_var}");
        assert!(!env.contains_key("CTPVX_SECRET_ARN"), "{name}");
        // kms:Decrypt only with the key given, only on it, only through Secrets Manager.
        let kms: Vec<&Grant> = grants.iter().filter(|g| g.allows("kms:Decrypt")).collect();
        assert_eq!(kms.len(), 1, "{name}: one kms:Decrypt statement");
        assert_eq!(kms[0].condition, Some("HasSecretsKmsKey"), "{name}");
        assert_eq!(
            kms[0]
                .resources()
                .into_iter()
                .map(ref_name)
                .collect::<Vec<_>>(),
            vec![Some("SecretsKmsKeyArn")],
            "{name}"
        );
        let via = &kms[0].statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"];
        assert!(
            via.as_str()
                .is_some_and(|s| s.starts_with("secretsmanager.")),
            "{name}: {via:?}"
        );
    }
}

/// The audit trail is append-only: no function may update, delete or read back an entry
/// (without a read no function can name an existing entry: its sort key holds a random uuid).
/// The adapter writes with PutItem and BatchWriteItem (`shared/src/aws/audit.rs`); only the
/// operator's `ctpvx audit` queries it.
#[test]
fn no_function_may_change_the_audit_trail() {
    let t = cfn();
    let mut writers = 0;
    for (name, f) in functions(&t) {
        for grant in policy_grants(f) {
            let ids = grant.resource_ids();
            let on_audit = ids.contains(&Some("AuditTable"))
                || grant
                    .resources()
                    .iter()
                    .any(|r| r.as_str().is_some_and(|s| s.contains('*')));
            if !on_audit {
                continue;
            }
            for action in [
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PartiQLUpdate",
                "dynamodb:PartiQLDelete",
                "dynamodb:DeleteTable",
            ] {
                assert!(
                    !grant.allows(action),
                    "{name} may {action} on the audit table"
                );
            }
            writers += usize::from(grant.allows("dynamodb:PutItem"));
        }
    }
    assert_eq!(writers, 5, "the five flows append to the audit trail");
}

/// Issue 23: every function logs to a group of its own kept `LogRetentionDays`, and the
/// function's log group is that one (Lambda would otherwise create `/aws/lambda/<name>`, kept
/// forever).
#[test]
fn every_function_logs_to_a_group_with_retention() {
    let t = cfn();
    assert_eq!(
        t["Parameters"]["LogRetentionDays"]["Default"],
        Value::from(30)
    );
    let groups = resources_of(&t, "AWS::Logs::LogGroup");
    let mut used = BTreeSet::new();
    for (name, f) in functions(&t) {
        let own = &f["Properties"]["LoggingConfig"]["LogGroup"];
        let global = &t["Globals"]["Function"]["LoggingConfig"]["LogGroup"];
        let group = ref_name(own)
            .or(ref_name(global))
            .unwrap_or_else(|| panic!("{name} has no LoggingConfig.LogGroup: {own:?}"));
        let resource = groups
            .get(group)
            .unwrap_or_else(|| panic!("{name}: {group} is not a log group"));
        assert_eq!(
            ref_name(&resource["Properties"]["RetentionInDays"]),
            Some("LogRetentionDays"),
            "{group}"
        );
        assert!(used.insert(group), "{group} is shared");
    }
}

/// Issue 23: the tables hold the order links, claims and audit trail; they survive a stack
/// deletion or replacement, refuse a delete, and keep point-in-time recovery.
#[test]
fn the_tables_are_retained_protected_and_recoverable() {
    let t = cfn();
    for table in ["StateTable", "IdempotencyTable", "AuditTable"] {
        let r = &t["Resources"][table];
        assert_eq!(r["Type"].as_str(), Some("AWS::DynamoDB::Table"), "{table}");
        assert_eq!(r["DeletionPolicy"].as_str(), Some("Retain"), "{table}");
        assert_eq!(r["UpdateReplacePolicy"].as_str(), Some("Retain"), "{table}");
        let p = &r["Properties"];
        assert_eq!(
            p["DeletionProtectionEnabled"].as_bool(),
            Some(true),
            "{table}"
        );
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
            Some(true),
            "{table}"
        );
    }
}

/// Issue 23: a function's reserved concurrency covers what its queues may run at once
/// (Lambda recommends reserved concurrency ≥ an SQS source's MaximumConcurrency, else the
/// poller is throttled), and one more when a schedule also starts it (the held-order sweep,
/// the nightly run), so a busy queue never throttles the schedule.
#[test]
fn reserved_concurrency_covers_every_event_source() {
    let t = cfn();
    let mut checked = 0;
    for (name, f) in functions(&t) {
        let events: Vec<&Value> = f["Properties"]["Events"]
            .as_object()
            .map(|h| h.values().collect())
            .unwrap_or_default();
        let of = |kind: &str| {
            events
                .iter()
                .filter(|e| e["Type"].as_str() == Some(kind))
                .copied()
                .collect::<Vec<_>>()
        };
        let sqs = of("SQS");
        if sqs.is_empty() {
            continue;
        }
        let mut pollers = 0;
        for event in &sqs {
            let max = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
                .as_i64()
                .unwrap_or_else(|| panic!("{name}: an SQS source without MaximumConcurrency"));
            assert!(
                (2..=1000).contains(&max),
                "{name}: MaximumConcurrency {max}"
            );
            pollers += max;
        }
        let schedules = i64::from(!of("Schedule").is_empty() || !of("ScheduleV2").is_empty());
        let reserved = f["Properties"]["ReservedConcurrentExecutions"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} has no ReservedConcurrentExecutions"));
        assert!(
            reserved >= pollers + schedules,
            "{name}: reserved {reserved} < MaximumConcurrency {pollers} + {schedules} for its schedule"
        );
        checked += 1;
    }
    assert_eq!(checked, 5, "the five queue-fed functions");
}

/// The queue resources a function's policy lets it send to or delay messages on.
fn queues_granted<'a>(t: &Value, f: &'a Value) -> BTreeSet<&'a str> {
    let queues = resources_of(t, "AWS::SQS::Queue");
    policy_grants(f)
        .into_iter()
        .filter(|g| g.allows("sqs:SendMessage") || g.allows("sqs:ChangeMessageVisibility"))
        .flat_map(|g| g.resource_ids())
        .map(|id| id.expect("queues are named by !GetAtt Queue.Arn"))
        .filter(|id| queues.contains_key(id))
        .collect()
}

/// Issue 23: a function's environment carries the URLs of exactly the queues its policy lets
/// it send to or delay messages on, each from its own queue.
#[test]
fn each_function_gets_only_the_queue_urls_it_may_use() {
    let t = cfn();
    for (name, f) in functions(&t) {
        let env = environment(&t, f);
        let mut given = BTreeSet::new();
        for (queue, var) in QUEUE_URL_VARS {
            if let Some(value) = env.get(var) {
                let want = resource(queue);
                assert_eq!(ref_name(value), Some(want.as_str()), "{name}: {var}");
                given.insert(want);
            }
        }
        let granted: BTreeSet<String> = queues_granted(&t, f)
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(given, granted, "{name}: queue URLs against its SQS grants");
    }
}

/// Each queue whose URL a function is given is one its `main.rs` requires at init, so a
/// missing variable stops it at start instead of failing its first send.
#[test]
fn every_queue_url_a_function_is_given_is_required_at_init() {
    let t = cfn();
    let names: BTreeMap<&str, &str> = [
        ("ORDERS_QUEUE", queues::ORDERS_QUEUE),
        ("ORDERS_DLQ", queues::ORDERS_DLQ),
        ("STOCK_QUEUE", queues::STOCK_QUEUE),
        ("STOCK_DLQ", queues::STOCK_DLQ),
        ("SHIPMENTS_QUEUE", queues::SHIPMENTS_QUEUE),
        ("SHIPMENTS_DLQ", queues::SHIPMENTS_DLQ),
        ("STATUS_QUEUE", queues::STATUS_QUEUE),
        ("STATUS_DLQ", queues::STATUS_DLQ),
        ("RECONCILE_QUEUE", queues::RECONCILE_QUEUE),
        ("RECONCILE_DLQ", queues::RECONCILE_DLQ),
    ]
    .into();
    for (name, f) in functions(&t) {
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary");
        let path = format!(
            "{}/../functions/{binary}/src/main.rs",
            env!("CARGO_MANIFEST_DIR")
        );
        let main = std::fs::read_to_string(&path).expect("main.rs");
        let mut required = BTreeSet::new();
        for call in main.split("require_queues(").skip(1) {
            let list = &call[..call.find(')').expect("a closed call")];
            for word in list.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if let Some(queue) = names.get(word) {
                    required.insert(*queue);
                }
            }
        }
        let env = environment(&t, f);
        let given: BTreeSet<&str> = QUEUE_URL_VARS
            .iter()
            .filter(|(_, var)| env.contains_key(var))
            .map(|(queue, _)| *queue)
            .collect();
        assert_eq!(
            given, required,
            "{name} ({path}): URLs given against require_queues"
        );
    }
}

/// Issue 23: the API's access log is on, kept `LogRetentionDays`, and carries no path: the
/// Peoplevox callback token is a path segment.
#[test]
fn the_api_access_log_never_carries_the_path() {
    let t = cfn();
    let apis = resources_of(&t, "AWS::Serverless::HttpApi");
    assert!(!apis.is_empty());
    for (name, api) in apis {
        let settings = &api["Properties"]["AccessLogSettings"];
        let group = get_att(&settings["DestinationArn"])
            .unwrap_or_else(|| panic!("{name}: no access log group"));
        let group = &t["Resources"][group];
        assert_eq!(
            group["Type"].as_str(),
            Some("AWS::Logs::LogGroup"),
            "{name}"
        );
        assert_eq!(
            ref_name(&group["Properties"]["RetentionInDays"]),
            Some("LogRetentionDays")
        );
        let format = settings["Format"].as_str().expect("a Format string");
        let _: serde_json::Value = serde_json::from_str(format).expect("a JSON format");
        let variables: BTreeSet<&str> = format
            .match_indices("$context.")
            .map(|(at, _)| {
                let rest = &format[at + 1..];
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        for v in &variables {
            assert!(!v.to_lowercase().contains("path"), "{name} logs ${v}");
        }
        // Only these: any other variable must be checked for the token before it is added.
        let allowed: BTreeSet<&str> = [
            "context.requestId",
            "context.routeKey",
            "context.status",
            "context.responseLatency",
            "context.requestTime",
            "context.httpMethod",
        ]
        .into();
        assert_eq!(variables, allowed, "{name}: {format}");
        assert!(!format.contains("$request."), "{name}: {format}");
    }
}

/// Issue 23 item 1: the configuration is a versioned, private, encrypted S3 object; every
/// function is told where it is and may read that one object, and no function reads it from
/// its environment.
#[test]
fn every_function_reads_its_configuration_from_the_bucket() {
    let t = cfn();
    let bucket = &t["Resources"]["ConfigBucket"];
    assert_eq!(bucket["Type"].as_str(), Some("AWS::S3::Bucket"));
    assert_eq!(bucket["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(bucket["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let p = &bucket["Properties"];
    assert_eq!(
        p["VersioningConfiguration"]["Status"].as_str(),
        Some("Enabled")
    );
    for block in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            p["PublicAccessBlockConfiguration"][block].as_bool(),
            Some(true),
            "{block}"
        );
    }
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            .as_str(),
        Some("AES256")
    );
    assert_eq!(
        p["OwnershipControls"]["Rules"][0]["ObjectOwnership"].as_str(),
        Some("BucketOwnerEnforced")
    );
    assert_eq!(
        t["Parameters"]["ConfigKey"]["Default"].as_str(),
        Some("ctpvx.toml")
    );
    assert_eq!(
        ref_name(&t["Outputs"]["ConfigBucketName"]["Value"]),
        Some("ConfigBucket")
    );
    assert!(t["Parameters"]["CtpvxConfig"].is_null());
    let object = "arn:${AWS::Partition}:s3:::${ConfigBucket}/${ConfigKey}";
    let bucket = "arn:${AWS::Partition}:s3:::${ConfigBucket}";
    for (name, f) in functions(&t) {
        let env = environment(&t, f);
        assert!(!env.contains_key("CTPVX_CONFIG"), "{name}");
        for (var, param) in [
            ("CTPVX_CONFIG_BUCKET", "ConfigBucket"),
            ("CTPVX_CONFIG_KEY", "ConfigKey"),
            ("CTPVX_CONFIG_REFRESH_S", "ConfigRefreshSeconds"),
        ] {
            assert_eq!(
                env.get(var).copied().and_then(ref_name),
                Some(param),
                "{name}"
            );
        }
        let s3: Vec<Grant> = policy_grants(f)
            .into_iter()
            .filter(|g| g.actions().iter().any(|a| a.starts_with("s3:")))
            .collect();
        assert_eq!(
            s3.len(),
            2,
            "{name}: the object's and the bucket's S3 statements"
        );
        let mut seen = Vec::new();
        for grant in &s3 {
            let mut actions = grant.actions();
            actions.sort_unstable();
            let resources: Vec<Option<&str>> = grant
                .resources()
                .into_iter()
                .map(|r| r["Fn::Sub"].as_str())
                .collect();
            seen.push((actions, resources));
        }
        seen.sort();
        assert_eq!(
            seen,
            [
                (
                    vec!["s3:GetObject", "s3:GetObjectVersion"],
                    vec![Some(object)]
                ),
                (
                    vec!["s3:ListBucket", "s3:ListBucketVersions"],
                    vec![Some(bucket)]
                ),
            ],
            "{name}: read the object, list the bucket's versions, nothing else"
        );
    }
}

/// `ctpvx … --aws` reads the names the functions read. The stack's OperatorEnv output carries
/// each of them, from the same resource or parameter the functions' environment takes it from,
/// so that one `export $(…)` readies an operator's shell (the `--aws` error says so).
#[test]
fn the_operator_environment_output_names_what_the_functions_read() {
    let t = cfn();
    let sub = t["Outputs"]["OperatorEnv"]["Value"]["Fn::Sub"]
        .as_str()
        .expect("OperatorEnv is a !Sub string");
    let given: BTreeMap<&str, &str> = sub
        .split_whitespace()
        .map(|pair| pair.split_once('=').expect("NAME=value"))
        .collect();
    let wanted: Vec<&str> = QUEUE_URL_VARS
        .iter()
        .map(|(_, var)| *var)
        .chain([
            "CTPVX_STATE_TABLE",
            "CTPVX_IDEMPOTENCY_TABLE",
            "CTPVX_AUDIT_TABLE",
            "CTPVX_API_SECRET_ARN",
            "CTPVX_WEBHOOK_SECRET_ARN",
            "CTPVX_CONFIG_BUCKET",
            "CTPVX_CONFIG_KEY",
        ])
        .collect();
    assert_eq!(
        given.keys().copied().collect::<Vec<_>>(),
        wanted
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "OperatorEnv's names"
    );
    for var in wanted {
        let sources: BTreeSet<String> = functions(&t)
            .values()
            .filter_map(|f| environment(&t, f).get(var).and_then(|v| ref_name(v)))
            .map(|name| format!("${{{name}}}"))
            .collect();
        assert_eq!(sources.len(), 1, "{var} comes from one place: {sources:?}");
        assert!(
            sources.contains(given[var]),
            "{var}={} but the functions get {sources:?}",
            given[var]
        );
    }
}
