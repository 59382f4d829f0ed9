//! `ctpvx dlq list|show|redrive QUEUE`: what is parked in a dead-letter queue and why, and
//! sending it back. The work is in `ctpvx_infra::operator::dlq`; this parses and prints.
//!
//! Exit codes: 0 done (also when nothing is parked); 1 a message not found, a redrive that
//! failed for some message, or a store error; 2 a usage error (an unknown queue among them).

use std::process::ExitCode;

use ctpvx_infra::operator::dlq::{
    self, DEFAULT_LIMIT, QueuePair, RedriveOptions, ShowOutcome, UnknownQueue,
};

use crate::cli::backend::BackendArgs;
use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// One line per parked message: its id, source message id, flow, receive count, the
    /// reason, and the kind and ids of its body (never the body: it may hold personal data).
    /// Messages are read, hidden while listing, and released: only receive counts change.
    List(ListArgs),
    /// One parked message in full (body included), its attributes and the audit entries of
    /// `message#<source id>`. Exit 1 if it is not parked.
    Show(ShowArgs),
    /// Send parked messages (all, or those named by --id) back to the source queue without
    /// the ctpvx-* attributes; each is deleted from the dead-letter queue only after its send
    /// succeeded and is audited as `redriven`. A crash between send and delete leaves it in
    /// both queues, and a later redrive delivers it twice, which every flow tolerates.
    /// Exit 1 if any failed or was not found.
    Redrive(RedriveArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// The source queue (`orders`) or its dead-letter queue (`orders-dlq`).
    queue: String,
    /// One JSON document instead of lines.
    #[arg(long)]
    json: bool,
    /// Messages read at most.
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_parser = parse_limit)]
    limit: usize,
    #[command(flatten)]
    backend: BackendArgs,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The source queue (`orders`) or its dead-letter queue (`orders-dlq`).
    queue: String,
    /// The message's id in the dead-letter queue, or its source message id.
    message_id: String,
    /// One JSON document instead of lines.
    #[arg(long)]
    json: bool,
    /// Messages read at most while looking for it.
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_parser = parse_limit)]
    limit: usize,
    #[command(flatten)]
    backend: BackendArgs,
}

#[derive(Debug, clap::Args)]
struct RedriveArgs {
    /// The source queue (`orders`) or its dead-letter queue (`orders-dlq`).
    queue: String,
    /// Only this message (dead-letter or source message id); repeat for more.
    #[arg(long = "id", value_name = "MESSAGE_ID")]
    ids: Vec<String>,
    /// Read and report what would be sent; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// One JSON document instead of lines.
    #[arg(long)]
    json: bool,
    /// Messages read at most.
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_parser = parse_limit)]
    limit: usize,
    #[command(flatten)]
    backend: BackendArgs,
}

/// 1 to 100 000: a read holds every message until it is done, so it must end.
fn parse_limit(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number from 1 to 100000")),
    }
}

/// Runs the subcommand; see the module documentation for the exit codes.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    match args.what {
        What::List(a) => {
            let Some(pair) = pair(&a.queue) else {
                return Ok(ExitCode::from(2));
            };
            let backend = a.backend.open(false).await?;
            let listing = dlq::list(backend.queue.as_ref(), pair, a.limit).await?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&dlq::list_json(&listing))?
                );
            } else {
                print!("{}", dlq::list_lines(&listing, a.limit));
            }
            Ok(ExitCode::SUCCESS)
        }
        What::Show(a) => {
            let Some(pair) = pair(&a.queue) else {
                return Ok(ExitCode::from(2));
            };
            let backend = a.backend.open(false).await?;
            let outcome = dlq::show(
                backend.queue.as_ref(),
                backend.stores.audit.as_ref(),
                pair,
                &a.message_id,
                a.limit,
            )
            .await?;
            match outcome {
                ShowOutcome::Found(shown) => {
                    if a.json {
                        println!("{}", serde_json::to_string_pretty(&dlq::show_json(&shown))?);
                    } else {
                        print!("{}", dlq::show_lines(&shown, a.limit));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                ShowOutcome::NotFound {
                    looked_at,
                    limit_reached,
                    ..
                } => {
                    let further = if limit_reached {
                        " (stopped at --limit: it may be further back)"
                    } else {
                        ""
                    };
                    eprintln!(
                        "no message {} parked in {} ({looked_at} looked at){further}",
                        dlq::printable(&a.message_id),
                        pair.dlq
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        What::Redrive(a) => {
            let Some(pair) = pair(&a.queue) else {
                return Ok(ExitCode::from(2));
            };
            let backend = a.backend.open(false).await?;
            let options = RedriveOptions {
                ids: a.ids,
                dry_run: a.dry_run,
                limit: a.limit,
            };
            let report = dlq::redrive(
                backend.queue.as_ref(),
                backend.stores.audit.as_ref(),
                pair,
                &options,
            )
            .await?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&dlq::redrive_json(&report))?
                );
            } else {
                print!("{}", dlq::redrive_lines(&report, a.limit));
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// The queue pair, or `None` after saying which names exist (a usage error, exit 2).
fn pair(name: &str) -> Option<QueuePair> {
    dlq::resolve(name)
        .map_err(|e: UnknownQueue| eprintln!("error: {e}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;
    use ctpvx_infra::local::stack::declare_queues;
    use ctpvx_shared::embedded::EmbeddedStore;
    use ctpvx_shared::queues::ORDERS_DLQ;
    use ctpvx_shared::store::Queue;

    use super::*;
    use crate::cli::Cli;

    async fn ctpvx(args: &[&str]) -> ExitCode {
        let cli = Cli::try_parse_from(["ctpvx", "dlq"].iter().chain(args)).unwrap();
        crate::cli::run(cli).await.unwrap()
    }

    /// The exit codes scripts rely on, through the command line as the binary parses it, on a
    /// store file as `ctpvx serve` leaves it.
    #[tokio::test]
    async fn exit_codes() {
        let dir = std::env::temp_dir().join(format!("ctpvx-dlq-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite3");
        let id = {
            let store = EmbeddedStore::open(&path).unwrap();
            declare_queues(&store).unwrap();
            let reason = BTreeMap::from([("ctpvx-reason".to_owned(), "sku unknown".to_owned())]);
            store
                .send(ORDERS_DLQ, r#"{"type":"OrderCreated"}"#, &reason)
                .await
                .unwrap()
        };
        let store = path.to_str().unwrap();

        assert_eq!(
            ctpvx(&["list", "orders", "--store", store]).await,
            ExitCode::SUCCESS
        );
        assert_eq!(
            ctpvx(&["list", "stock-dlq", "--json", "--store", store]).await,
            ExitCode::SUCCESS
        );
        assert_eq!(
            ctpvx(&["list", "order", "--store", store]).await,
            ExitCode::from(2)
        );
        assert_eq!(
            ctpvx(&["show", "orders", &id, "--store", store]).await,
            ExitCode::SUCCESS
        );
        assert_eq!(
            ctpvx(&["show", "orders", "nope", "--store", store]).await,
            ExitCode::from(1)
        );
        assert_eq!(
            ctpvx(&["redrive", "orders", "--id", "nope", "--store", store]).await,
            ExitCode::from(1)
        );
        assert_eq!(
            ctpvx(&["redrive", "orders-dlq", "--dry-run", "--store", store]).await,
            ExitCode::SUCCESS
        );
        assert_eq!(
            ctpvx(&["redrive", "orders", "--store", store]).await,
            ExitCode::SUCCESS
        );
        assert_eq!(
            ctpvx(&["show", "orders", &id, "--store", store]).await,
            ExitCode::from(1)
        );

        // A store that does not exist is an error (exit 1 from main), never created by a read.
        let missing = dir.join("missing.sqlite3");
        let cli = Cli::try_parse_from([
            "ctpvx",
            "dlq",
            "list",
            "orders",
            "--store",
            missing.to_str().unwrap(),
        ])
        .unwrap();
        assert!(crate::cli::run(cli).await.is_err());
        assert!(!missing.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_limit_is_from_1_to_100000() {
        let parse = |limit: &str| {
            Cli::try_parse_from(["ctpvx", "dlq", "list", "orders", "--limit", limit])
                .map(drop)
                .map_err(|e| e.kind())
        };
        assert_eq!(parse("1"), Ok(()));
        assert_eq!(parse("100000"), Ok(()));
        for bad in ["0", "100001", "x"] {
            assert_eq!(parse(bad), Err(clap::error::ErrorKind::ValueValidation));
        }
    }
}
