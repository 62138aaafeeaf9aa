//! Email through SMTP: a faithful stand-in SMTP server on loopback (mail servers are
//! outside our reach), delivery, retries, dead letters and `outbox replay`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::*;

/// Accepts mail like a real server (EHLO, MAIL, RCPT, DATA, QUIT) and keeps each message.
#[derive(Clone, Default)]
struct SmtpSink {
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sink = self.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.localhost ESMTP\r\n").await;
                let mut in_data = false;
                let mut message = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line == "." {
                            in_data = false;
                            sink.messages
                                .lock()
                                .unwrap()
                                .push(std::mem::take(&mut message));
                            b"250 2.0.0 queued\r\n"
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                            continue;
                        }
                    } else {
                        match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                            Some("EHLO" | "HELO") => b"250 sink.localhost\r\n",
                            Some("MAIL" | "RCPT" | "RSET" | "NOOP") => b"250 2.1.0 ok\r\n",
                            Some("DATA") => {
                                in_data = true;
                                b"354 end with .\r\n"
                            }
                            Some("QUIT") => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"502 unknown\r\n",
                        }
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let got = self.messages.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} message(s)");
    }
}

#[tokio::test]
async fn verification_email_goes_out_through_smtp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = SmtpSink::default();
    tokio::spawn(sink.clone().serve(listener));
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.register("smtp@example.com", "Post").await;
    let messages = sink.wait_for(1).await;
    let m = &messages[0];
    assert!(m.contains("To: smtp@example.com"), "{m}");
    assert!(m.contains("Subject: Your Emporium code: "), "{m}");
    assert!(m.contains("multipart/alternative"));
    let logged = app.latest_email("smtp@example.com", "verification").await;
    assert_eq!(logged["kind"], "verification");
}

#[tokio::test]
async fn an_unreachable_mail_server_dead_letters_and_outbox_replay_delivers() {
    // Reserve a port and leave it closed: connections are refused, like a server that is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.register("later@example.com", "Later").await;
    let pool = app.pool("notifications").await;
    let mut dead = 0;
    for _ in 0..200 {
        (dead,) = sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM dead_letters")
            .fetch_one(&pool)
            .await
            .unwrap();
        if dead == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(dead, 1, "the event is dead-lettered after its retries");
    let mailbox: Vec<Value> = app.emails_to("later@example.com").await;
    assert!(mailbox.is_empty(), "nothing recorded as sent");

    let sink = SmtpSink::default();
    tokio::spawn(
        sink.clone()
            .serve(TcpListener::bind(("127.0.0.1", port)).await.unwrap()),
    );
    // What `emporium outbox replay` runs.
    let replayed = emporium::replay_dead_letters(app.config.clone())
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let messages = sink.wait_for(1).await;
    assert!(messages[0].contains("To: later@example.com"));
    let (dead,): (i64,) = sqlx::query_as("SELECT count(*) FROM dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
}

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_email() {
    let app = TestApp::spawn().await;
    app.register("twice@example.com", "Twice").await;
    app.latest_email("twice@example.com", "verification").await;
    let identity = app.pool("identity").await;
    let (id, payload, occurred_at): (uuid::Uuid, Value, time::OffsetDateTime) = sqlx::query_as(
        "SELECT id, payload, occurred_at FROM outbox WHERE event_type = 'identity.user.registered'",
    )
    .fetch_one(&identity)
    .await
    .unwrap();
    let envelope = kernel::events::Envelope {
        id,
        event_type: "identity.user.registered".into(),
        schema_version: 1,
        occurred_at,
        aggregate_id: payload["user_id"].as_str().unwrap().into(),
        trace_context: None,
        payload,
    };
    // A redelivery (the relay crashed before marking the row published, say).
    app.platform.bus.publish(&envelope).await.unwrap();
    app.platform.bus.publish(&envelope).await.unwrap();
    assert_eq!(app.emails_to("twice@example.com").await.len(), 1);
}
