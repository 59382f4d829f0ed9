//! Lambda `webhooks` (HTTP API): commercetools order messages and Peoplevox callbacks;
//! authenticates, validates and enqueues; answers 202.

use std::sync::Arc;

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
    ])?;
    let queue: Arc<dyn Queue> = env.queue;
    let hooks =
        Arc::new(Webhooks::new(queue, &env.secrets, &env.config.webhook).with_metric_lines());
    lambda_http::run(service_fn(|request: Request| {
        let hooks = hooks.clone();
        async move { answer(&hooks, request).await }
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
