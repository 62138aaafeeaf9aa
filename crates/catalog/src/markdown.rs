//! Product descriptions: Markdown from vendors, rendered to HTML that is safe to show.
//!
//! Safety comes from what the renderer is allowed to emit, not from cleaning its output:
//! raw HTML in the source is turned into text (so it is escaped), and link and image
//! targets must be http(s), mailto or site-relative. Everything else pulldown-cmark
//! writes itself, escaping text and attributes.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#')
}

pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TABLES);
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: if safe_url(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("#")
            },
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: if safe_url(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("")
            },
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn formats_markdown() {
        assert_eq!(
            render("**Soft** cotton"),
            "<p><strong>Soft</strong> cotton</p>\n"
        );
        assert!(render("- a\n- b").contains("<li>a</li>"));
        assert!(
            render("[care](https://example.com/care)")
                .contains("href=\"https://example.com/care\"")
        );
    }

    #[test]
    fn neutralises_scripts_handlers_and_dangerous_urls() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "hello <a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=//evil.example></iframe>",
        ] {
            let out = render(attack);
            assert!(
                !out.contains("<script")
                    && !out.contains("<img")
                    && !out.contains("<a href=\"javascript"),
                "{out}"
            );
            assert!(!out.contains("<iframe"), "{out}");
        }
        let out =
            render("[x](javascript:alert(1)) ![y](data:text/html;base64,xx) [z](//evil.example)");
        assert!(
            !out.contains("javascript:") && !out.contains("data:") && !out.contains("//evil"),
            "{out}"
        );
        let out = render("[x](\"onmouseover=alert(1))");
        assert!(!out.contains("onmouseover=alert(1)\""), "{out}");
    }
}
