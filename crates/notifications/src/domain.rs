//! What each email says. Rendering is pure: the same event always makes the same email.

use askama::Template;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Stable name of the email (`verification`, `password_reset`, …).
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl OutgoingEmail {
    /// The record kept once an email has left through SMTP: who got what kind of email,
    /// but not the codes and links inside it.
    pub fn redacted(&self) -> Self {
        let note = format!("({} email sent by SMTP; content not kept)", self.kind);
        Self {
            kind: self.kind,
            to: self.to.clone(),
            subject: note.clone(),
            text: note.clone(),
            html: note,
        }
    }
}

#[derive(Template)]
#[template(path = "verification.html")]
struct VerificationHtml<'a> {
    subject: &'a str,
    name: &'a str,
    code: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "verification.txt")]
struct VerificationText<'a> {
    name: &'a str,
    code: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetHtml<'a> {
    subject: &'a str,
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "password_reset.txt")]
struct ResetText<'a> {
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "password_changed.html")]
struct ChangedHtml<'a> {
    subject: &'a str,
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "password_changed.txt")]
struct ChangedText<'a> {
    name: &'a str,
    link: &'a str,
}

fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn verification(
    public_url: &str,
    to: &str,
    name: &str,
    code: &str,
) -> askama::Result<OutgoingEmail> {
    let subject = format!("Your Emporium code: {code}");
    let link = format!("{public_url}/verify-email?email={}", query_value(to));
    Ok(OutgoingEmail {
        kind: "verification",
        to: to.to_owned(),
        html: VerificationHtml {
            subject: &subject,
            name,
            code,
            link: &link,
        }
        .render()?,
        text: VerificationText {
            name,
            code,
            link: &link,
        }
        .render()?,
        subject,
    })
}

pub fn password_reset(
    public_url: &str,
    to: &str,
    name: &str,
    token: &str,
) -> askama::Result<OutgoingEmail> {
    let subject = "Reset your Emporium password".to_owned();
    let link = format!("{public_url}/reset-password?token={}", query_value(token));
    Ok(OutgoingEmail {
        kind: "password_reset",
        to: to.to_owned(),
        html: ResetHtml {
            subject: &subject,
            name,
            link: &link,
        }
        .render()?,
        text: ResetText { name, link: &link }.render()?,
        subject,
    })
}

pub fn password_changed(public_url: &str, to: &str, name: &str) -> askama::Result<OutgoingEmail> {
    let subject = "Your Emporium password was changed".to_owned();
    let link = format!("{public_url}/forgot-password");
    Ok(OutgoingEmail {
        kind: "password_changed",
        to: to.to_owned(),
        html: ChangedHtml {
            subject: &subject,
            name,
            link: &link,
        }
        .render()?,
        text: ChangedText { name, link: &link }.render()?,
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_email_carries_code_and_escapes_names() {
        let e = verification("http://shop", "a+b@x.com", "<b>Ann</b>", "012345").unwrap();
        assert_eq!(e.subject, "Your Emporium code: 012345");
        assert!(e.text.contains("012345"));
        assert!(
            e.text
                .contains("http://shop/verify-email?email=a%2Bb%40x.com")
        );
        assert!(e.html.contains("&#60;b&#62;Ann") || e.html.contains("&lt;b&gt;Ann"));
        assert!(!e.html.contains("<b>Ann</b>"));
    }

    #[test]
    fn redacted_records_keep_no_secret() {
        let e = verification("http://shop", "a@x.com", "Ann", "424242")
            .unwrap()
            .redacted();
        assert_eq!(e.kind, "verification");
        assert_eq!(e.to, "a@x.com");
        assert!(!format!("{}{}{}", e.subject, e.text, e.html).contains("424242"));
    }

    #[test]
    fn reset_link_encodes_the_token() {
        let e = password_reset("http://shop", "a@x.com", "Ann", "ab-_c").unwrap();
        assert!(e.text.contains("http://shop/reset-password?token=ab-_c"));
        assert_eq!(e.kind, "password_reset");
    }
}
