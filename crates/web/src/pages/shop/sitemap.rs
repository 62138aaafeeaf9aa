//! `robots.txt` and the sitemaps search engines crawl.

use super::*;

pub async fn robots(State(state): State<WebState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /account\nDisallow: /vendor\nDisallow: /admin\nDisallow: /api/\nDisallow: /internal/\nDisallow: /search\nSitemap: {}/sitemap.xml\n",
            state.public_url
        ),
    )
        .into_response()
}

/// Products per sitemap file (the protocol allows 50 000).
const SITEMAP_PAGE: u64 = 40_000;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A sitemap index: the site's pages and categories, then the products in files of
/// 40 000.
pub async fn sitemap_index(State(state): State<WebState>) -> Response {
    let total = match state.catalog.search_documents(None, 1).await {
        Ok(p) => p.total.unwrap_or(0),
        Err(e) => {
            tracing::error!(error = %e, "sitemap: catalog unavailable");
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "try again later",
            )
                .into_response();
        }
    };
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    out.push_str(&format!(
        "<sitemap><loc>{base}/sitemaps/pages.xml</loc></sitemap>\n"
    ));
    for n in 0..total.div_ceil(SITEMAP_PAGE) {
        out.push_str(&format!(
            "<sitemap><loc>{base}/sitemaps/products-{}.xml</loc></sitemap>\n",
            n + 1
        ));
    }
    out.push_str("</sitemapindex>\n");
    xml(out)
}

pub async fn sitemap_pages(State(state): State<WebState>) -> Response {
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    out.push_str(&format!("<url><loc>{base}/</loc></url>\n"));
    let mut names = HashMap::new();
    if let Ok(tree) = state.catalog.categories().await {
        flatten(&tree.items, &mut names);
    }
    let mut slugs: Vec<_> = names.into_values().map(|(_, slug)| slug).collect();
    slugs.sort();
    for slug in slugs {
        out.push_str(&format!(
            "<url><loc>{base}/c/{}</loc></url>\n",
            xml_escape(&slug)
        ));
    }
    if let Ok(results) = state.search.search("per_page=1").await {
        for store in results.facets.stores {
            out.push_str(&format!(
                "<url><loc>{base}/s/{}</loc></url>\n",
                xml_escape(&store.value)
            ));
        }
    }
    out.push_str("</urlset>\n");
    xml(out)
}

pub async fn sitemap_products(State(state): State<WebState>, Path(file): Path<String>) -> Response {
    let Some(n) = file
        .strip_prefix("products-")
        .and_then(|f| f.strip_suffix(".xml"))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n >= 1)
    else {
        return (axum::http::StatusCode::NOT_FOUND, "no such sitemap").into_response();
    };
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    // This file's share of the catalog's export, in id order.
    let mut offset = Some((n - 1) * SITEMAP_PAGE);
    let mut seen = 0u64;
    let mut after = None;
    loop {
        let page = match state.catalog.export_page(after, offset.take(), 1000).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "sitemap: catalog unavailable");
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "try again later",
                )
                    .into_response();
            }
        };
        for d in &page.items {
            if seen < SITEMAP_PAGE {
                let lastmod = d
                    .published_at
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .map(|t| format!("<lastmod>{t}</lastmod>"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<url><loc>{base}/p/{}/{}</loc>{lastmod}</url>\n",
                    xml_escape(&d.store_slug),
                    xml_escape(&d.slug)
                ));
            }
            seen += 1;
        }
        after = page.next_after;
        if after.is_none() || seen >= SITEMAP_PAGE {
            break;
        }
    }
    out.push_str("</urlset>\n");
    xml(out)
}
