//! Writing the product CSV: one row per variant, text cells neutralised.

use kernel::money::Money;

use super::{COLUMNS, NUMERIC};

/// One exported variant row.
pub struct ExportRow<'a> {
    pub product_slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub brand: Option<&'a str>,
    pub category: Option<&'a str>,
    pub attributes: &'a serde_json::Value,
    pub tags: &'a [String],
    pub status: &'a str,
    pub sku: &'a str,
    pub options: &'a serde_json::Value,
    pub price: Money,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<&'a str>,
    pub images: &'a [String],
}

fn joined_pairs(value: &serde_json::Value) -> String {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect::<Vec<_>>()
                .join(";")
        })
        .unwrap_or_default()
}

/// Writes the header and `rows` as CSV, text cells neutralised against spreadsheet
/// formulas.
pub fn write(rows: &[ExportRow<'_>]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for r in rows {
        let compare_at = r
            .compare_at_minor
            .and_then(|c| Money::price(c, r.price.currency).ok())
            .map(|m| m.decimal())
            .unwrap_or_default();
        let cells: [&str; 16] = [
            r.product_slug,
            r.title,
            r.description,
            r.brand.unwrap_or_default(),
            r.category.unwrap_or_default(),
            &joined_pairs(r.attributes),
            &r.tags.join("|"),
            // Anything but published comes back as a draft.
            if r.status == "published" {
                "published"
            } else {
                "draft"
            },
            r.sku,
            &joined_pairs(r.options),
            &r.price.decimal(),
            r.price.currency.code(),
            &compare_at,
            &r.weight_grams.map(|w| w.to_string()).unwrap_or_default(),
            r.barcode.unwrap_or_default(),
            &r.images.join("|"),
        ];
        let cells: Vec<std::borrow::Cow<'_, str>> = COLUMNS
            .iter()
            .zip(cells)
            .map(|(column, cell)| {
                if NUMERIC.contains(column) {
                    cell.into()
                } else {
                    kernel::csv_cell::neutralise(cell)
                }
            })
            .collect();
        w.write_record(cells.iter().map(|c| c.as_bytes()))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
