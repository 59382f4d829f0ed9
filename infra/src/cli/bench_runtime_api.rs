//! The smallest Lambda Runtime API a function's start-up needs: it notes when the function
//! first asks for an invocation (`GET /2018-06-01/runtime/invocation/next`: ready to serve) or
//! reports an init error, and never hands out an invocation (the function is killed then).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use tokio::sync::mpsc;

/// What the function told the API.
#[derive(Debug)]
pub enum ApiEvent {
    /// It asked for its first invocation, at this moment.
    Ready(Instant),
    /// Its init failed, with this body.
    InitError(String),
}

/// A running fake Runtime API on loopback.
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: mpsc::UnboundedReceiver<ApiEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let (tx, events) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(tx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            events,
            task,
        })
    }

    /// The next thing the function told the API, within `limit`.
    pub async fn wait(&mut self, limit: Duration) -> Option<ApiEvent> {
        tokio::time::timeout(limit, self.events.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(tx): State<mpsc::UnboundedSender<ApiEvent>>) -> &'static str {
    let _ = tx.send(ApiEvent::Ready(Instant::now()));
    // No invocation comes: the function waits here until it is killed.
    std::future::pending::<()>().await;
    ""
}

async fn init_error(
    State(tx): State<mpsc::UnboundedSender<ApiEvent>>,
    body: Bytes,
) -> &'static str {
    let _ = tx.send(ApiEvent::InitError(
        String::from_utf8_lossy(&body).into_owned(),
    ));
    "{}"
}
