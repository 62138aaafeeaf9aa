//! A person's journey in headless Chromium: register, read the code from the dev
//! mailbox, verify, sign out, sign in, and reset a forgotten password.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::support::*;

struct Browser {
    client: Client,
    _driver: Child,
    _profile: std::path::PathBuf,
}

async fn launch() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver =
        Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (scripts/test installs it)");
    let profile =
        std::env::temp_dir().join(format!("emporium-chrome-{}", uuid::Uuid::now_v7().simple()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--no-first-run", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut last_error = None;
    for _ in 0..100 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                return Browser {
                    client,
                    _driver: driver,
                    _profile: profile,
                };
            }
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a browser session: {last_error:?}");
}

impl Browser {
    async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(self.path().await, path);
    }

    /// Opens the dev mailbox in the browser and returns the newest email's text.
    async fn newest_email(&self, base: &str, to: &str, subject_contains: &str) -> String {
        for _ in 0..100 {
            self.open(&format!("{base}/dev/mailbox?to={to}")).await;
            let emails = self
                .client
                .find_all(Locator::Css("article.email"))
                .await
                .unwrap();
            if let Some(first) = emails.first() {
                let subject = first
                    .find(Locator::Css(".subject"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if subject.contains(subject_contains) {
                    return first
                        .find(Locator::Css(".body"))
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email to {to} about {subject_contains}");
    }
}

#[tokio::test]
async fn a_customer_registers_verifies_signs_in_and_resets_the_password() {
    let app = TestApp::spawn().await;
    let b = launch().await;
    let base = app.base.clone();
    let email = "journey@example.com";

    b.open(&base).await;
    b.click("nav-register").await;
    b.fill("name", "Journey O'Brien").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("register-submit").await;
    b.wait_for_path("/verify-email").await;
    assert!(b.text(".flash").await.contains("We sent a 6-digit code"));

    let body = b.newest_email(&base, email, "Your Emporium code").await;
    let code: String = body
        .split("verification code is: ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    b.open(&format!("{base}/verify-email?email={email}")).await;
    b.fill("code", &code).await;
    b.click("verify-submit").await;
    b.wait_for_path("/account").await;
    assert!(b.text(".flash").await.contains("verified"));
    assert_eq!(b.text("#account-email").await, email);

    b.click("nav-logout").await;
    b.wait_for_path("/").await;
    assert!(b.text(".flash").await.contains("signed out"));

    b.click("nav-login").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.wait_for_path("/account").await;
    b.click("nav-logout").await;
    b.wait_for_path("/").await;

    b.open(&format!("{base}/login")).await;
    b.click("forgot-link").await;
    b.fill("email", email).await;
    b.click("forgot-submit").await;
    b.wait_for_path("/login").await;
    let body = b
        .newest_email(&base, email, "Reset your Emporium password")
        .await;
    let link = body
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/reset-password?token="))
        .unwrap()
        .to_owned();
    b.open(&link).await;
    b.fill("new_password", "a newer passphrase").await;
    b.click("reset-submit").await;
    b.wait_for_path("/login").await;
    assert!(b.text(".flash").await.contains("password is changed"));

    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    assert!(
        b.text(".error").await.contains("wrong"),
        "the old password no longer works"
    );
    b.fill("email", email).await;
    b.fill("password", "a newer passphrase").await;
    b.click("login-submit").await;
    b.wait_for_path("/account").await;

    b.client.clone().close().await.unwrap();
}
