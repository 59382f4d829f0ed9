//! A Lambda Runtime API on loopback, to run a function binary as Lambda runs it: it notes when
//! the function first asks for an invocation (`GET /2018-06-01/runtime/invocation/next`: ready
//! to serve) or reports an init error, hands out the invocations it is given, each with its
//! deadline (`Lambda-Runtime-Deadline-Ms`), and takes their answers. Without an invocation to
//! hand out, the function waits until it is killed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc};

/// What the function told the API about its start.
#[derive(Debug)]
pub enum ApiEvent {
    /// It asked for its first invocation, at this moment.
    Ready(Instant),
    /// Its init failed, with this body.
    InitError(String),
}

/// The function's answer to one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The invocation's request id.
    pub request_id: String,
    /// The body it posted.
    pub body: String,
    /// Whether it reported an error (`…/error`) rather than a response.
    pub error: bool,
}

/// An invocation waiting to be handed out.
struct Invocation {
    request_id: String,
    deadline_ms: i64,
    payload: String,
}

#[derive(Clone)]
struct Shared {
    events: mpsc::UnboundedSender<ApiEvent>,
    answers: mpsc::UnboundedSender<Answer>,
    invocations: Arc<Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    asked: Arc<AtomicBool>,
    function_arn: Arc<str>,
}

/// A running fake Runtime API on loopback.
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: mpsc::UnboundedReceiver<ApiEvent>,
    answers: mpsc::UnboundedReceiver<Answer>,
    invocations: mpsc::UnboundedSender<Invocation>,
    next_id: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free port, for a test function.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_for("arn:aws:lambda:eu-west-1:000000000000:function:ctpvx-test").await
    }

    /// Serves on a free port the invocations of the function `function_arn`.
    pub async fn start_for(function_arn: &str) -> std::io::Result<Self> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (answers_tx, answers) = mpsc::unbounded_channel();
        let (invocations, queued) = mpsc::unbounded_channel();
        let shared = Shared {
            events: events_tx,
            answers: answers_tx,
            invocations: Arc::new(Mutex::new(queued)),
            asked: Arc::new(AtomicBool::new(false)),
            function_arn: Arc::from(function_arn),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            events,
            answers,
            invocations,
            next_id: AtomicU64::new(1),
            task,
        })
    }

    /// The next thing the function told the API about its start, within `limit`.
    pub async fn wait(&mut self, limit: Duration) -> Option<ApiEvent> {
        tokio::time::timeout(limit, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// Hands the function an invocation of `payload` (JSON) that Lambda would end at
    /// `deadline_ms` (epoch ms); returns its request id.
    pub fn invoke(&self, payload: &str, deadline_ms: i64) -> String {
        let request_id = format!("req-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let _ = self.invocations.send(Invocation {
            request_id: request_id.clone(),
            deadline_ms,
            payload: payload.to_string(),
        });
        request_id
    }

    /// The function's next answer to an invocation, within `limit`.
    pub async fn answer(&mut self, limit: Duration) -> Option<Answer> {
        tokio::time::timeout(limit, self.answers.recv())
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

async fn next(State(shared): State<Shared>) -> (HeaderMap, String) {
    if !shared.asked.swap(true, Ordering::Relaxed) {
        let _ = shared.events.send(ApiEvent::Ready(Instant::now()));
    }
    let invocation = shared.invocations.lock().await.recv().await;
    let Some(invocation) = invocation else {
        // No invocation will come: the function waits here until it is killed.
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes");
    };
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", invocation.request_id),
        (
            "lambda-runtime-deadline-ms",
            invocation.deadline_ms.to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            shared.function_arn.to_string(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_string(),
        ),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    (headers, invocation.payload)
}

async fn response(
    State(shared): State<Shared>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> &'static str {
    answered(&shared, request_id, body, false)
}

async fn error(
    State(shared): State<Shared>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> &'static str {
    answered(&shared, request_id, body, true)
}

fn answered(shared: &Shared, request_id: String, body: Bytes, error: bool) -> &'static str {
    let _ = shared.answers.send(Answer {
        request_id,
        body: String::from_utf8_lossy(&body).into_owned(),
        error,
    });
    "{}"
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> &'static str {
    let _ = shared.events.send(ApiEvent::InitError(
        String::from_utf8_lossy(&body).into_owned(),
    ));
    "{}"
}
