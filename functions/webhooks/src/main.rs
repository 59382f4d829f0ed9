//! Lambda `webhooks` (HTTP API): commercetools order messages and Peoplevox callbacks;
//! authenticates, validates and enqueues; answers 202.

use std::sync::Arc;

use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::lambda_init::LambdaEnv;
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::{WebhookRequest, Webhooks};
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[
        ctpvx_shared::lambda_init::ORDERS_QUEUE,
        ctpvx_shared::lambda_init::STOCK_QUEUE,
        ctpvx_shared::lambda_init::SHIPMENTS_QUEUE,
        // Cancellations from commercetools; status and returns callbacks from Peoplevox.
        ctpvx_shared::lambda_init::STATUS_QUEUE,
    ])?;
    let secrets = env.webhook_secrets().await?;
    let queue: Arc<dyn Queue> = env.queue;
    // Built again when a new configuration version is pushed (its body limit, say).
    let hooks = Arc::new(LazyFlow::configured(
        "webhooks",
        env.feed.clone(),
        move |live| {
            let hooks =
                Webhooks::new(queue.clone(), &secrets, &live.config.webhook).with_metric_lines();
            async move { Ok(hooks) }
        },
    ));
    lambda_http::run(service_fn(|request: Request| {
        let hooks = hooks.clone();
        async move {
            match hooks.get().await {
                Ok(hooks) => answer(&hooks, request).await,
                Err(e) => {
                    tracing::error!(error = %e, "webhooks not ready");
                    Ok(Response::builder()
                        .status(503)
                        .header("content-type", "application/json")
                        .body(Body::from(r#"{"error":"not ready; retry later"}"#))?)
                }
            }
        }
    }))
    .await
}

async fn answer(hooks: &Webhooks, request: Request) -> Result<Response<Body>, Error> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let reply = hooks
        .handle(WebhookRequest {
            method: request.method().as_str(),
            path: request.uri().path(),
            query: request.uri().query(),
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: request.body(),
        })
        .await;
    Ok(Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Body::from(reply.body))?)
}
