//! What each email says. Rendering is pure: the same event always makes the same email.

use askama::Template;
use kernel::http::client::path_segment;

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

pub struct Link {
    label: String,
    url: String,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    paragraphs: &'a [String],
    link: &'a Option<Link>,
}

#[derive(Template)]
#[template(path = "notice.txt")]
struct NoticeText<'a> {
    paragraphs: &'a [String],
    link: &'a Option<Link>,
}

/// A plain notice: a few paragraphs and at most one link.
fn notice(
    kind: &'static str,
    to: &str,
    subject: String,
    paragraphs: &[String],
    link: Option<Link>,
) -> askama::Result<OutgoingEmail> {
    Ok(OutgoingEmail {
        kind,
        to: to.to_owned(),
        html: NoticeHtml {
            subject: &subject,
            paragraphs,
            link: &link,
        }
        .render()?,
        text: NoticeText {
            paragraphs,
            link: &link,
        }
        .render()?,
        subject,
    })
}

pub fn store_approved(
    public_url: &str,
    to: &str,
    store: &str,
    slug: &str,
) -> askama::Result<OutgoingEmail> {
    notice(
        "store_approved",
        to,
        format!("Your store {store} is open"),
        &[
            "Good news: your application was approved.".to_owned(),
            format!(
                "{store} is open on Emporium, and you are its owner. Sign in again to manage it."
            ),
        ],
        Some(Link {
            label: "See your store".into(),
            url: format!("{public_url}/s/{}", path_segment(slug)),
        }),
    )
}

/// A variant fell below its low-stock threshold.
pub fn low_stock(
    public_url: &str,
    to: &str,
    store: &str,
    product: &str,
    available: i64,
    threshold: i32,
) -> askama::Result<OutgoingEmail> {
    notice(
        "stock_low",
        to,
        format!("{store}: stock is running low"),
        &[
            format!(
                "One of {store}'s products has {available} left to sell, below the {threshold} you asked to be warned at."
            ),
            "Restock it before it sells out.".to_owned(),
        ],
        Some(Link {
            label: "See its stock".into(),
            url: format!(
                "{public_url}/vendor/products/{}/stock",
                path_segment(product)
            ),
        }),
    )
}

/// A customer reviewed one of the store's products: the store may answer it.
pub fn new_review(
    public_url: &str,
    to: &str,
    store: &str,
    store_id: &str,
    rating: i32,
    title: &str,
) -> askama::Result<OutgoingEmail> {
    notice(
        "new_review",
        to,
        format!("{store}: a new {rating}-star review"),
        &[
            format!(
                "A customer who received one of {store}'s products rated it {rating} of 5: “{title}”."
            ),
            "You can answer it once, publicly, under the review.".to_owned(),
        ],
        Some(Link {
            label: "Answer it".into(),
            url: format!(
                "{public_url}/vendor/stores/{}/reviews?unanswered=true",
                path_segment(store_id)
            ),
        }),
    )
}

/// A paid order: what the customer bought, and where to follow it.
pub fn order_confirmed(
    public_url: &str,
    to: &str,
    number: &str,
    order_id: &str,
    stores: usize,
) -> askama::Result<OutgoingEmail> {
    let parts = if stores == 1 {
        "It ships from one store.".to_owned()
    } else {
        format!("It ships from {stores} stores, each on its own; you will hear as each part ships.")
    };
    notice(
        "order_confirmed",
        to,
        format!("Your order {number} is confirmed"),
        &[
            format!("Thank you! We have your payment for order {number}."),
            parts,
        ],
        Some(Link {
            label: "See your order".into(),
            url: format!("{public_url}/orders/{}", path_segment(order_id)),
        }),
    )
}

/// A store's new paid sub-order, to the store's support address.
pub fn new_order(
    public_url: &str,
    to: &str,
    store: &str,
    number: &str,
    store_id: &str,
    sub_order_id: &str,
) -> askama::Result<OutgoingEmail> {
    notice(
        "new_order",
        to,
        format!("{store}: new order {number}"),
        &[
            format!("{number} is paid and waits for {store} to accept and ship it."),
            "Accept it when you start on it; mark it shipped with the tracking number.".to_owned(),
        ],
        Some(Link {
            label: "See the order".into(),
            url: format!(
                "{public_url}/vendor/stores/{}/orders/{}",
                path_segment(store_id),
                path_segment(sub_order_id)
            ),
        }),
    )
}

/// A sub-order shipped or was cancelled; other moves send nothing.
pub fn sub_order_changed(
    public_url: &str,
    to: &str,
    number: &str,
    order_id: &str,
    status: &str,
    tracking: Option<&str>,
    reason: Option<&str>,
) -> askama::Result<Option<OutgoingEmail>> {
    let link = Some(Link {
        label: "See your order".into(),
        url: format!("{public_url}/orders/{}", path_segment(order_id)),
    });
    Ok(Some(match status {
        "shipped" => notice(
            "order_shipped",
            to,
            format!("{number} has shipped"),
            &[match tracking {
                Some(t) => format!("{number} is on its way. Tracking number: {t}."),
                None => format!("{number} is on its way."),
            }],
            link,
        )?,
        "cancelled" => notice(
            "order_cancelled",
            to,
            format!("{number} was cancelled"),
            &[
                match reason {
                    Some(r) => format!("{number} was cancelled: {r}."),
                    None => format!("{number} was cancelled."),
                },
                "What you paid for it is refunded to your card.".to_owned(),
            ],
            link,
        )?,
        _ => return Ok(None),
    }))
}

pub fn store_rejected(to: &str, store: &str, reason: &str) -> askama::Result<OutgoingEmail> {
    notice(
        "store_rejected",
        to,
        format!("Your application for {store}"),
        &[
            format!("We are sorry: your application to open {store} was not approved."),
            format!("The reason given: {reason}"),
            "You are welcome to apply again once this is addressed.".to_owned(),
        ],
        None,
    )
}

pub fn staff_invited(
    public_url: &str,
    to: &str,
    store: &str,
    role: &str,
    token: &str,
) -> askama::Result<OutgoingEmail> {
    notice(
        "staff_invited",
        to,
        format!("Join {store} on Emporium"),
        &[
            format!("You are invited to join {store} on Emporium as {role}."),
            "Sign in (or create an account with this email address) and accept within 7 days."
                .to_owned(),
        ],
        Some(Link {
            label: "Accept the invitation".into(),
            url: format!(
                "{public_url}/vendor/invitations/accept?token={}",
                path_segment(token)
            ),
        }),
    )
}

pub fn verification(
    public_url: &str,
    to: &str,
    name: &str,
    code: &str,
) -> askama::Result<OutgoingEmail> {
    let subject = format!("Your Emporium code: {code}");
    let link = format!("{public_url}/verify-email?email={}", path_segment(to));
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
    let link = format!("{public_url}/reset-password?token={}", path_segment(token));
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
    fn notices_escape_store_names_in_html() {
        let e = store_rejected("a@x.com", "<i>Shop</i>", "Blurry logo & no address").unwrap();
        assert!(e.text.contains("<i>Shop</i>"), "plain text is not escaped");
        assert!(!e.html.contains("<i>Shop</i>"));
        assert!(
            e.html.contains("Blurry logo &#38; no address")
                || e.html.contains("Blurry logo &amp; no address")
        );
        let i = staff_invited("http://shop", "b@x.com", "Shop", "staff", "t0k").unwrap();
        assert!(
            i.text
                .contains("http://shop/vendor/invitations/accept?token=t0k")
        );
    }

    #[test]
    fn reset_link_encodes_the_token() {
        let e = password_reset("http://shop", "a@x.com", "Ann", "ab-_c").unwrap();
        assert!(e.text.contains("http://shop/reset-password?token=ab-_c"));
        assert_eq!(e.kind, "password_reset");
    }

    #[test]
    fn a_new_review_goes_to_the_store_with_its_reply_desk() {
        let e = new_review(
            "http://shop",
            "help@s.com",
            "Ink Well",
            "sto_1",
            4,
            "<b>Nice</b>",
        )
        .unwrap();
        assert_eq!(e.subject, "Ink Well: a new 4-star review");
        assert!(
            e.text
                .contains("http://shop/vendor/stores/sto_1/reviews?unanswered=true")
        );
        assert!(
            !e.html.contains("<b>Nice</b>"),
            "the customer's title is escaped"
        );
    }
}
