//! What `ctpvx stack` and `ctpvx soak --stack` need before the stack starts: the function
//! binaries (built from this workspace, release or debug, or taken from a directory) and a
//! moto server (given, or started from the workspace's venv).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args as ClapArgs;

use ctpvx_infra::stack::build::build_functions;
use ctpvx_infra::stack::template;

use crate::cli::bench_binaries::workspace;
use crate::cli::bench_moto::Moto;

/// Where the stack's binaries, template and moto come from.
#[derive(Debug, Clone, ClapArgs)]
pub struct StackSetup {
    /// Take the function binaries from this directory instead of building them.
    #[arg(long, value_name = "PATH")]
    pub bin_dir: Option<PathBuf>,
    /// Build the function binaries in debug (faster to build) instead of release.
    #[arg(long)]
    pub debug: bool,
    /// The SAM template whose wiring the stack runs [default: the workspace's template.yaml].
    #[arg(long, value_name = "PATH")]
    pub template: Option<PathBuf>,
    /// The Python with moto, to start infra/dev/moto_server.py when no moto endpoint is given
    /// [default: the workspace's .venv/bin/python].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// One log file per function binary in this directory [default: a new temporary one].
    #[arg(long, value_name = "PATH")]
    pub log_dir: Option<PathBuf>,
}

impl StackSetup {
    /// The template's path.
    pub fn template(&self) -> PathBuf {
        self.template
            .clone()
            .unwrap_or_else(|| workspace().join("template.yaml"))
    }

    /// The log directory.
    pub fn log_dir(&self) -> PathBuf {
        self.log_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("ctpvx-stack-{}", uuid::Uuid::new_v4().simple()))
        })
    }

    /// The directory of the function binaries: built now (every binary the template names)
    /// unless `--bin-dir` names one.
    pub async fn binaries(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.bin_dir {
            return Ok(dir.clone());
        }
        let text = std::fs::read_to_string(self.template())?;
        let parsed = template::parse(&text)?;
        let binaries: Vec<String> = ctpvx_infra::stack::resources::resources(&parsed)?
            .values()
            .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
            .map(str::to_string)
            .collect();
        eprintln!("building {} …", binaries.join(", "));
        let names: Vec<&str> = binaries.iter().map(String::as_str).collect();
        build_functions(&workspace(), &names, !self.debug).await
    }

    /// A moto server: `endpoint` when given (it must be local), else one started now (kept
    /// running while the returned guard lives).
    pub async fn moto(&self, endpoint: Option<&str>) -> anyhow::Result<(String, Option<Moto>)> {
        if let Some(endpoint) = endpoint {
            if !is_local(endpoint) {
                bail!(
                    "{endpoint}: the stack creates throwaway resources, so it runs only against a local emulator (http://127.0.0.1:PORT)"
                );
            }
            return Ok((endpoint.to_string(), None));
        }
        let root = workspace();
        let python = self
            .python
            .clone()
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        let moto = Moto::start_atomic(&python, &root.join(Path::new("infra/dev/moto_server.py")))
            .await
            .map_err(anyhow::Error::msg)?;
        Ok((moto.endpoint.clone(), Some(moto)))
    }
}

/// Whether `endpoint` is on this machine (an emulator, never a real account).
pub fn is_local(endpoint: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn only_loopback_is_local() {
        for local in [
            "http://127.0.0.1:5000",
            "http://localhost:4566",
            "http://[::1]:9",
        ] {
            assert!(is_local(local), "{local}");
        }
        for remote in [
            "http://127.example.com",
            "http://localhost.evil.net",
            "https://dynamodb.eu-west-1.amazonaws.com",
            "not a url",
        ] {
            assert!(!is_local(remote), "{remote}");
        }
    }
}
