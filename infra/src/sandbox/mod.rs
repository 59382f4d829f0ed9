//! `ctpvx sim`: both simulators with seeded data, a configuration and an environment file
//! pointing at them, and a control API through which the warehouse acts (pick, despatch,
//! status, stock) and the storefront places orders. Every operator command can be tried by
//! hand against it, without an account anywhere.

mod control;
mod seed;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::sim::peoplevox::Dialect;
use crate::testbed::{STOCK_SITES, Testbed, TestbedOptions};

pub use control::{ActionReply, DespatchRequest, OrderRequest, StatusRequest, StockRequest};

/// Set in the sandbox's environment file: the CLI's commands for a deployment refuse to run
/// where it is, since the shell's configuration and secrets are the sandbox's.
pub const SANDBOX_ENV: &str = "CTPVX_SANDBOX";

/// The two stock sites of the sandbox (the test bed's UK-DC and EU-DC), with the keys of their
/// InventorySupply channels.
pub const SITES: [(&str, &str); 2] = [STOCK_SITES[0], STOCK_SITES[1]];

/// How to seed the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the configuration, environment and store files go.
    pub dir: PathBuf,
    /// Items Peoplevox knows, each stocked at both sites.
    pub items: usize,
    /// Orders placed in commercetools before anything runs (the reconciliation exports them).
    pub orders: usize,
    /// Where `ctpvx serve` will listen (its port goes into the environment file).
    pub serve: SocketAddr,
    /// Where the control API listens.
    pub control: SocketAddr,
    /// Peoplevox's request budget per 15 s window.
    pub budget_requests: u32,
    /// How the simulated Peoplevox tenant answers where the evidence is thin.
    pub dialect: Dialect,
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {
    /// The simulators and their configuration.
    pub bed: Arc<Testbed>,
    /// The control API's base URL.
    pub control_url: String,
    /// The configuration file written.
    pub config_file: PathBuf,
    /// The environment file written.
    pub env_file: PathBuf,
    /// The store file `ctpvx serve` and the operator commands share.
    pub store_file: PathBuf,
    /// The webhook server's base URL (`ctpvx serve --listen`).
    pub serve_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sandbox {
    /// Starts the simulators, seeds them, writes the files and serves the control API.
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Self> {
        let env_file = options.dir.join("ctpvx.env");
        // Gone until this sandbox is ready, so that nobody `source`s an earlier one's ports.
        remove_if_there(&env_file)?;
        let serve_url = format!("http://{}", options.serve);
        let catalog = crate::scenario::catalog(options.items);
        let bed = Testbed::start(TestbedOptions {
            budget_requests: options.budget_requests,
            budget_window: Duration::from_secs(15),
            items: catalog.clone(),
            safety_buffer: seed::SAFETY_BUFFER,
            // A site-bound figure is confirmed by a re-read, as `ctpvx check-config` advises.
            confirm_after_s: 5,
            dialect: options.dialect.clone(),
            sites: SITES.to_vec(),
            public_url: Some(serve_url.clone()),
            // Left to the user's own `ctpvx setup`, the first command of the walk.
            setup_commercetools: false,
        })
        .await?;
        seed::seed(&bed, &catalog, options.orders)?;
        let bed = Arc::new(bed);
        let listener = TcpListener::bind(options.control)
            .await
            .with_context(|| format!("binding the control API to {}", options.control))?;
        let control_url = format!("http://{}", listener.local_addr()?);
        let router = control::router(control::Control::new(
            bed.clone(),
            catalog,
            // Seeded orders are 1..=orders; the storefront's follow.
            options.orders + 1,
            serve_url.clone(),
        ));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the sandbox's control API stopped");
            }
        });
        std::fs::create_dir_all(&options.dir)
            .with_context(|| format!("creating {}", options.dir.display()))?;
        let config_file = options.dir.join("ctpvx.toml");
        let store_file = options.dir.join("store.sqlite3");
        remove_store(&store_file)?;
        std::fs::write(&config_file, &bed.config_text)
            .with_context(|| format!("writing {}", config_file.display()))?;
        let env = env_text(&bed, &config_file, &store_file, options.serve, &control_url)?;
        std::fs::write(&env_file, env)
            .with_context(|| format!("writing {}", env_file.display()))?;
        Ok(Self {
            bed,
            control_url,
            config_file,
            env_file,
            store_file,
            serve_url,
            server,
        })
    }
}

/// The simulators start empty, so a store from an earlier sandbox (its subscriptions, its
/// exported orders) would describe a Peoplevox that no longer exists.
fn remove_store(store: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        remove_if_there(&PathBuf::from(format!("{}{suffix}", store.display())))?;
    }
    Ok(())
}

fn remove_if_there(file: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", file.display())),
    }
}

/// `source`-able shell lines: the secrets both simulators accept, the files, the addresses,
/// and this binary's directory on PATH so that `ctpvx` works as typed.
fn env_text(
    bed: &Testbed,
    config: &Path,
    store: &Path,
    serve: SocketAddr,
    control_url: &str,
) -> anyhow::Result<String> {
    let absolute =
        |p: &Path| -> anyhow::Result<String> { Ok(std::path::absolute(p)?.display().to_string()) };
    let mut vars: Vec<(String, String)> = bed
        .secret_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    vars.push(("CTPVX_CONFIG".into(), absolute(config)?));
    vars.push(("CTPVX_STORE".into(), absolute(store)?));
    vars.push(("CTPVX_LISTEN".into(), serve.to_string()));
    vars.push(("CTPVX_SIM_URL".into(), control_url.to_string()));
    // `--aws` commands and `config push` refuse to run in a shell that has this.
    vars.push((SANDBOX_ENV.into(), "1".into()));
    let mut text = String::from(
        "# Written by `ctpvx sim`: the sandbox's secrets (simulator values, not real ones), files and\n# addresses. Load it into a shell with `source`.\n",
    );
    for (name, value) in vars {
        text.push_str(&format!("export {name}={}\n", shell_quote(&value)));
    }
    if let Some(dir) = std::env::current_exe()?.parent() {
        text.push_str(&format!(
            "export PATH={}:\"$PATH\"\n",
            shell_quote(&dir.display().to_string())
        ));
    }
    Ok(text)
}

/// Single-quoted for POSIX shells.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A free loopback port, for `ctpvx serve` to take later.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(socket.local_addr()?)
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting_survives_a_quote() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("/x y"), "'/x y'");
    }
}
