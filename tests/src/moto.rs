//! A real `moto_server` (PyPI `moto`) on a loopback port, one per test, and the scenario builder
//! `tests/aws/scenario.py` that fills it through boto3.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python that has moto: $CLOUD502_PYTHON, the project's `.venv` (made by scripts/setup.sh
/// when the machine's Python lacks moto), else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CLOUD502_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python3");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// A running moto_server; killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Start moto_server on a free port and wait until it answers.
    pub fn start() -> Moto {
        let port = crate::closed_port();
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server with {}: {e}; run `make setup`",
                    python().display()
                )
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start ({status}): run `make setup` to install moto");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Build a scenario (`incident`, `sg-blocked`, `empty`, `many --count N`) and return what
    /// scenario.py printed.
    pub fn scenario(&self, name: &str, extra: &[&str]) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("aws/scenario.py");
        let out = Command::new(python())
            .arg(&script)
            .arg(&self.endpoint)
            .arg(name)
            .args(extra)
            .output()
            .expect("run scenario.py");
        assert!(
            out.status.success(),
            "scenario {name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("scenario.py prints JSON")
    }

    /// The environment of a `cloud502 aws` run against this moto: its dummy credentials, and no
    /// profile or instance metadata to consult.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Moto {
    /// `cloud502 aws --endpoint-url THIS -o json ARGS` with [`Moto::env`].
    pub fn aws(&self, args: &[&str]) -> crate::Run {
        let mut all = vec!["aws", "--endpoint-url", &self.endpoint, "-o", "json"];
        all.extend_from_slice(args);
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::cloud502_env(&all, &env)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
