//! A real `nats-server` (Debian's, with JetStream) on 127.0.0.1 for the
//! fleet tests: started from a config file the test writes, killed with
//! SIGKILL and restarted on the same port and store directory.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the server's config adds beside its listener and JetStream.
#[derive(Clone, Debug, Default)]
pub struct NatsOptions {
    /// `authorization { user, password }`.
    pub user: Option<(String, String)>,
    /// `tls { cert_file, key_file, ca_file, verify }`: the server's
    /// certificate and key, and the CA client certificates must chain to
    /// (clients must then present one).
    pub tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
}

/// A running `nats-server -js`.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    options: NatsOptions,
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl NatsServer {
    /// Starts one with its JetStream store in `dir/jetstream`.
    pub fn start(dir: &Path, options: NatsOptions) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
            options,
        };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:PORT` (`tls://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "tls"
        } else {
            "nats"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its pid (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn config(&self) -> PathBuf {
        let mut text = format!(
            "listen: 127.0.0.1:{}\nserver_name: vigil_test\njetstream {{\n  store_dir: \"{}\"\n}}\n",
            self.port,
            self.dir.join("jetstream").display()
        );
        if let Some((user, password)) = &self.options.user {
            text.push_str(&format!(
                "authorization {{\n  user: \"{user}\"\n  password: \"{password}\"\n}}\n"
            ));
        }
        if let Some((cert, key, ca)) = &self.options.tls {
            text.push_str(&format!(
                "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n",
                cert.display(),
                key.display()
            ));
            if let Some(ca) = ca {
                text.push_str(&format!(
                    "  ca_file: \"{}\"\n  verify: true\n",
                    ca.display()
                ));
            }
            text.push_str("}\n");
        }
        let path = self.dir.join("nats.conf");
        std::fs::write(&path, text).expect("write nats.conf");
        path
    }

    fn launch(&mut self) {
        let config = self.config();
        let mut child = Command::new("nats-server")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server runs (apt-get install nats-server; scripts/test installs it)");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats-server exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "nats-server did not get ready");
        }
        self.child = Some(child);
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
