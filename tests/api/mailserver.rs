//! Real mail servers for the tests: a Dovecot IMAP server and an aiosmtpd SMTP
//! server, each started on free loopback ports in a folder of its own. aiosmtpd
//! delivers into the customer's Maildir, which Dovecot serves, so a test can
//! read what Sportello sent as the customer would. Installed by tests/services.sh;
//! outside CI, a test skips (saying why) when they are missing.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;

pub const HELPDESK: (&str, &str) = ("helpdesk", "helpdesk-pass");
pub const CUSTOMER: (&str, &str) = ("customer", "customer-pass");

pub struct MailServer {
    pub dir: tempfile::TempDir,
    pub imap_port: u16,
    pub smtp_port: u16,
    dovecot: Child,
    smtp: Option<Child>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

fn available() -> Result<(), String> {
    if Command::new("dovecot").arg("--version").output().is_err() {
        return Err("Dovecot is not installed (run tests/services.sh)".into());
    }
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return Err("aiosmtpd is not installed (run tests/services.sh)".into());
    }
    Ok(())
}

fn maildir(path: &std::path::Path) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(path.join(sub)).unwrap();
        std::fs::set_permissions(path.join(sub), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
}

impl MailServer {
    /// Starts both servers, or `None` (with the reason printed) when they are not installed.
    pub fn start() -> Option<MailServer> {
        if let Err(why) = available() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{why}: CI must run the mail tests");
            }
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(root.join("run")).unwrap();
        for user in [HELPDESK.0, CUSTOMER.0] {
            maildir(&root.join(format!("mail/{user}/Maildir")));
            std::fs::set_permissions(
                root.join(format!("mail/{user}")),
                std::fs::Permissions::from_mode(0o777),
            )
            .unwrap();
        }
        std::fs::set_permissions(root.join("mail"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        std::fs::write(
            root.join("users"),
            format!(
                "{}:{{PLAIN}}{}\n{}:{{PLAIN}}{}\n",
                HELPDESK.0, HELPDESK.1, CUSTOMER.0, CUSTOMER.1
            ),
        )
        .unwrap();
        let imap_port = free_port();
        let r = root.display();
        std::fs::write(
            root.join("dovecot.conf"),
            format!(
                "base_dir = {r}/run\nstate_dir = {r}/run\nlog_path = {r}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\n\
                 ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:~/Maildir\n\
                 mail_uid = mail\nmail_gid = mail\nfirst_valid_uid = 1\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/users\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=mail gid=mail home={r}/mail/%u\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                 service stats {{\n  unix_listener stats-reader {{\n    mode = 0666\n  }}\n  unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let dovecot = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        wait_for(imap_port);
        let mut server = MailServer {
            imap_port,
            smtp_port: free_port(),
            dovecot,
            smtp: None,
            dir,
        };
        server.start_smtp();
        Some(server)
    }

    /// Starts (again) the SMTP server, delivering into the customer's Maildir.
    pub fn start_smtp(&mut self) {
        let target = self.dir.path().join(format!("mail/{}/Maildir", CUSTOMER.0));
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.smtp_port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.smtp = Some(child);
        wait_for(self.smtp_port);
    }

    pub fn stop_smtp(&mut self) {
        if let Some(mut c) = self.smtp.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    async fn session(&self, user: (&str, &str)) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client
            .login(user.0, user.1)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Delivers a message into a user's INBOX (as an MTA would).
    pub async fn deliver(&self, user: (&str, &str), raw: &[u8]) {
        let mut s = self.session(user).await;
        s.append("INBOX", None, None, raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// Every message in a user's INBOX with its flags.
    pub async fn inbox(&self, user: (&str, &str)) -> Vec<(String, Vec<String>)> {
        let mut s = self.session(user).await;
        let selected = s.select("INBOX").await.unwrap();
        let fetches: Vec<_> = if selected.exists == 0 {
            vec![]
        } else {
            s.fetch("1:*", "(FLAGS BODY.PEEK[])")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap()
        };
        let out = fetches
            .iter()
            .map(|f| {
                let flags = f.flags().map(|fl| format!("{fl:?}")).collect();
                (
                    String::from_utf8_lossy(f.body().unwrap_or_default()).into_owned(),
                    flags,
                )
            })
            .collect();
        s.logout().await.unwrap();
        out
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.stop_smtp();
        // SIGTERM lets Dovecot stop its children too.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.dovecot.id().to_string())
            .status();
        let _ = self.dovecot.wait();
    }
}
