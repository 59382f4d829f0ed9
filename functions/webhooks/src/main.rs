//! Lambda `webhooks` (HTTP API): authenticates, validates and enqueues; answers 202.

use std::sync::Arc;

use ctpvx_shared::lambda_init::{LambdaEnv, ORDERS_QUEUE};
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::Webhooks;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    let queue: Arc<dyn Queue> = env.queue;
    let hooks = Arc::new(Webhooks::new(
        queue,
        ORDERS_QUEUE,
        env.secrets.webhook_token,
        &env.config.webhook,
    ));
    lambda_http::run(service_fn(|request: Request| {
        let hooks = hooks.clone();
        async move { answer(&hooks, request).await }
    }))
    .await
}

async fn answer(hooks: &Webhooks, request: Request) -> Result<Response<Body>, Error> {
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let reply = hooks
        .handle(
            request.method().as_str(),
            request.uri().path(),
            auth,
            request.body(),
        )
        .await;
    Ok(Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Body::from(reply.body))?)
}
