//! Where emails go: an SMTP server (`SMTP_URL`, e.g. `smtp://mail.internal:25`) or, by
//! default, nowhere beyond the `emails` table, which doubles as the dev mailbox.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::OutgoingEmail;

/// lettre's own timeout covers only connecting; this bounds a whole send.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    DevMailbox,
}

/// `smtp://[user:password@]host[:port]`. TLS is left to a local relay (see
/// docs/operations.md): it keeps a TLS stack out of every build.
fn smtp_transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| anyhow::anyhow!("SMTP_URL must start with smtp://"))?
        .trim_end_matches('/');
    let (credentials, host_port) = match rest.rsplit_once('@') {
        Some((creds, hp)) => (Some(creds), hp),
        None => (None, rest),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("SMTP_URL port is invalid"))?,
        ),
        None => (host_port, 25),
    };
    anyhow::ensure!(!host.is_empty(), "SMTP_URL has no host");
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(10)));
    if let Some(creds) = credentials {
        let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
        builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
    }
    Ok(builder.build())
}

impl Mailer {
    pub fn from_config(config: &kernel::Config) -> anyhow::Result<Self> {
        match &config.smtp_url {
            None => Ok(Self::DevMailbox),
            Some(url) => Ok(Self::Smtp {
                transport: smtp_transport(url)?,
                from: config
                    .email_from
                    .parse()
                    .map_err(|e| anyhow::anyhow!("EMAIL_FROM is invalid: {e}"))?,
            }),
        }
    }

    pub fn transport_name(&self) -> &'static str {
        match self {
            Self::Smtp { .. } => "smtp",
            Self::DevMailbox => "dev_mailbox",
        }
    }

    pub async fn send(&self, email: &OutgoingEmail) -> anyhow::Result<()> {
        let Self::Smtp { transport, from } = self else {
            return Ok(());
        };
        let message = Message::builder()
            .from(from.clone())
            .to(email.to.parse()?)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?;
        tokio::time::timeout(SEND_TIMEOUT, transport.send(message))
            .await
            .map_err(|_| anyhow::anyhow!("SMTP send timed out"))??;
        Ok(())
    }
}
