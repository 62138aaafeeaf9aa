//! Products as CSV, one row per variant: reading a vendor's file into product requests
//! (every bad row reported with its line and reason, never guessed at) and writing a
//! store's products back out in the same shape, so an export can be edited and
//! imported again. Free of I/O.

use std::collections::{BTreeMap, HashMap};

use kernel::http::{FieldError, Problem};
use kernel::money::{Currency, Money};

use contracts::catalog::dto::{ImageRequest, ProductRequest, VariantRequest};
pub use contracts::catalog::import::{COLUMNS, RejectedRow};

const REQUIRED: &[&str] = &["product_slug", "sku", "price", "currency"];
/// Columns holding numbers the platform formats itself. Every other column is text a
/// person typed: written through [`kernel::csv_cell::neutralise`] (a cell a spreadsheet
/// would run as a formula gets a leading `'`) and read through
/// [`kernel::csv_cell::restore`], so an export imports back unchanged.
const NUMERIC: &[&str] = &["price", "compare_at_price", "weight_grams"];
/// Rows one import may hold.
pub const MAX_ROWS: usize = 50_000;

/// A product read from the file, with the line of each of its variants.
#[derive(Debug, Clone)]
pub struct CsvProduct {
    pub request: ProductRequest,
    /// Category by slug or id, resolved against the tree by the importer.
    pub category: Option<String>,
    pub publish: bool,
    pub lines: Vec<u64>,
}

impl CsvProduct {
    /// Turns a refusal of the whole product (field errors as the API names them) into
    /// report rows on the lines they concern.
    pub fn reject(&self, errors: &[FieldError]) -> Vec<RejectedRow> {
        errors
            .iter()
            .map(|e| {
                let (index, field) = variant_field(&e.field);
                let line = index
                    .and_then(|i| self.lines.get(i))
                    .or(self.lines.first())
                    .copied()
                    .unwrap_or(0);
                let sku = index
                    .and_then(|i| self.request.variants.get(i))
                    .map(|v| v.sku.clone())
                    .unwrap_or_default();
                RejectedRow {
                    line,
                    product_slug: self.request.slug.clone(),
                    sku,
                    field: column_of(field).to_owned(),
                    message: e.message.clone(),
                }
            })
            .collect()
    }
}

/// `variants[3].price_minor` → (Some(3), "price_minor").
fn variant_field(field: &str) -> (Option<usize>, &str) {
    field
        .strip_prefix("variants[")
        .and_then(|rest| rest.split_once("]."))
        .and_then(|(i, f)| Some((Some(i.parse().ok()?), f)))
        .unwrap_or((None, field))
}

/// The CSV column of an API field.
fn column_of(field: &str) -> &str {
    match field {
        "slug" => "product_slug",
        "price_minor" => "price",
        "compare_at_minor" => "compare_at_price",
        "category_id" => "category",
        f if f.starts_with("attributes") => "attributes",
        f if f.starts_with("images") => "images",
        f => f,
    }
}

#[derive(Debug)]
pub struct Parsed {
    pub products: Vec<CsvProduct>,
    pub rejected: Vec<RejectedRow>,
    pub rows: usize,
}

fn file_problem(code: &str, message: String) -> Problem {
    Problem::validation(vec![FieldError::new("file", code, message)])
}

/// `a=1;b=2` into pairs; `None` when a part has no `=`.
fn pairs(text: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=')?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Some(out)
}

fn typed(value: &str) -> serde_json::Value {
    match value {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        v => v.parse::<i64>().map_or_else(
            |_| serde_json::Value::String(v.to_owned()),
            serde_json::Value::from,
        ),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split('|')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads a CSV file. The file as a whole is refused (a problem) only when it is not
/// UTF-8, has no usable header or is too long; everything else is judged row by row.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        file_problem(
            "not_utf8",
            format!(
                "is not UTF-8 text (invalid byte at offset {}); save the file as CSV UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file_problem("malformed_csv", format!("has no readable header row: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let column: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !column.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(file_problem(
            "missing_column",
            format!(
                "lacks the column(s) {}; the header must name {}",
                missing.join(", "),
                COLUMNS.join(",")
            ),
        ));
    }
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(file_problem(
            "unknown_column",
            format!(
                "has an unknown column {unknown:?}; known: {}",
                COLUMNS.join(",")
            ),
        ));
    }

    let mut rejected = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut products: HashMap<String, CsvProduct> = HashMap::new();
    let mut rows = 0usize;
    for record in reader.records() {
        rows += 1;
        if rows > MAX_ROWS {
            return Err(file_problem(
                "too_many_rows",
                format!("has more than {MAX_ROWS} rows; split it into several files"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                rejected.push(RejectedRow {
                    line,
                    product_slug: String::new(),
                    sku: String::new(),
                    field: "row".into(),
                    message: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let get = |name: &str| -> &str {
            let cell = column
                .get(name)
                .and_then(|&i| record.get(i))
                .unwrap_or_default();
            if NUMERIC.contains(&name) {
                cell
            } else {
                kernel::csv_cell::restore(cell)
            }
        };
        let slug = get("product_slug").to_owned();
        let sku = get("sku").to_owned();
        let reject = |field: &str, message: String| RejectedRow {
            line,
            product_slug: slug.clone(),
            sku: sku.clone(),
            field: field.to_owned(),
            message,
        };
        if record.len() != headers.len() {
            rejected.push(reject(
                "row",
                format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        if slug.is_empty() {
            rejected.push(reject("product_slug", "is required".into()));
            continue;
        }
        let currency_text = get("currency");
        let currency = match Currency::parse(currency_text) {
            Ok(c) => c,
            Err(m) => {
                rejected.push(reject("currency", m.to_owned()));
                continue;
            }
        };
        let price = match get("price") {
            "" => {
                rejected.push(reject("price", "is required".into()));
                continue;
            }
            p => match Money::parse_decimal(p, currency) {
                Ok(m) => m.amount_minor,
                Err(m) => {
                    rejected.push(reject("price", m.to_owned()));
                    continue;
                }
            },
        };
        let compare_at = match get("compare_at_price") {
            "" => None,
            p => match Money::parse_decimal(p, currency) {
                Ok(m) => Some(m.amount_minor),
                Err(m) => {
                    rejected.push(reject("compare_at_price", m.to_owned()));
                    continue;
                }
            },
        };
        let weight = match get("weight_grams") {
            "" => None,
            w => match w.parse::<i64>() {
                Ok(w) => Some(w),
                Err(_) => {
                    rejected.push(reject("weight_grams", "must be a whole number".into()));
                    continue;
                }
            },
        };
        let Some(options) = pairs(get("options")) else {
            rejected.push(reject(
                "options",
                "write options as Name=Value;Name=Value".into(),
            ));
            continue;
        };
        let variant = VariantRequest {
            sku: sku.clone(),
            options,
            price_minor: Some(price),
            currency: currency.code().to_owned(),
            compare_at_minor: compare_at,
            weight_grams: weight,
            barcode: Some(get("barcode").to_owned()).filter(|b| !b.is_empty()),
        };
        if let Some(product) = products.get_mut(&slug) {
            product.request.variants.push(variant);
            product.lines.push(line);
            continue;
        }
        let Some(attributes) = pairs(get("attributes")) else {
            rejected.push(reject(
                "attributes",
                "write attributes as name=value;name=value".into(),
            ));
            continue;
        };
        let publish = match get("status") {
            "" | "draft" => false,
            "published" => true,
            _ => {
                rejected.push(reject("status", "must be draft or published".into()));
                continue;
            }
        };
        let title = match get("title") {
            "" => slug.replace('-', " "),
            t => t.to_owned(),
        };
        order.push(slug.clone());
        products.insert(
            slug.clone(),
            CsvProduct {
                request: ProductRequest {
                    slug: slug.clone(),
                    title,
                    description: get("description").to_owned(),
                    brand: Some(get("brand").to_owned()).filter(|b| !b.is_empty()),
                    category_id: None,
                    attributes: attributes
                        .into_iter()
                        .map(|(k, v)| (k, typed(&v)))
                        .collect(),
                    tags: list(get("tags")),
                    seo_title: None,
                    seo_description: None,
                    variants: vec![variant],
                    images: list(get("images"))
                        .into_iter()
                        .map(|key| ImageRequest {
                            key,
                            alt: String::new(),
                            variant_sku: None,
                        })
                        .collect(),
                },
                category: Some(get("category").to_owned()).filter(|c| !c.is_empty()),
                publish,
                lines: vec![line],
            },
        );
    }
    // A product some of whose rows were refused is refused whole: importing it without
    // them would silently drop variants.
    let broken: std::collections::HashSet<String> =
        rejected.iter().map(|r| r.product_slug.clone()).collect();
    let mut out = Vec::new();
    for slug in order {
        if let Some(p) = products.remove(&slug) {
            if broken.contains(&slug) {
                rejected.extend(p.lines.iter().zip(&p.request.variants).map(|(line, v)| {
                    RejectedRow {
                        line: *line,
                        product_slug: slug.clone(),
                        sku: v.sku.clone(),
                        field: "row".into(),
                        message: "not imported: another row of this product was refused".into(),
                    }
                }));
            } else {
                out.push(p);
            }
        }
    }
    rejected.sort_by_key(|r| r.line);
    Ok(Parsed {
        products: out,
        rejected,
        rows,
    })
}

mod export;

pub use export::{ExportRow, write};

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "product_slug,title,brand,attributes,tags,status,sku,options,price,currency,compare_at_price\n";

    #[test]
    fn rows_group_into_products_with_their_variants() {
        let csv = format!(
            "{HEADER}tee,Cotton Tee,Acme,color=blue;organic=true,summer|cotton,published,T-S,Size=S,19.99,EUR,24.99\n\
             tee,,,,,,T-M,Size=M,21,EUR,\n\
             cap,Cap,,,,,C-1,,9.5,eur,\n"
        );
        let p = parse(csv.as_bytes()).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.rows, 3);
        let tee = &p.products[0];
        assert_eq!(tee.lines, [2, 3]);
        assert!(tee.publish);
        assert_eq!(tee.request.variants.len(), 2);
        assert_eq!(tee.request.variants[0].price_minor, Some(1999));
        assert_eq!(tee.request.variants[0].compare_at_minor, Some(2499));
        assert_eq!(tee.request.variants[1].price_minor, Some(2100));
        assert_eq!(tee.request.attributes["organic"], serde_json::json!(true));
        assert_eq!(tee.request.tags, ["summer", "cotton"]);
        assert_eq!(p.products[1].request.variants[0].currency, "EUR");
    }

    #[test]
    fn bad_rows_are_reported_and_take_their_product_with_them() {
        let csv = format!(
            "{HEADER}tee,Tee,,,,,T-S,Size=S,-5,EUR,\n\
             tee,,,,,,T-M,Size=M,5,EUR,\n\
             mug,Mug,,,,,M-1,,abc,EUR,\n\
             bag,Bag,,,,,B-1,,5,XXX,\n\
             pen,Pen,,,,,P-1,,5\n\
             ok,Fine,,,,,O-1,,5,EUR,\n"
        );
        let p = parse(csv.as_bytes()).unwrap();
        let report: Vec<(u64, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            report,
            [
                (2, "price"),
                (3, "row"),
                (4, "price"),
                (5, "currency"),
                (6, "row")
            ]
        );
        assert_eq!(p.products.len(), 1);
        assert_eq!(p.products[0].request.slug, "ok");
    }

    #[test]
    fn the_file_itself_must_be_utf8_csv_with_the_required_columns() {
        let latin1 = b"product_slug,sku,price,currency\ncaf\xe9,C,1,EUR\n";
        assert_eq!(parse(latin1).unwrap_err().errors[0].code, "not_utf8");
        assert_eq!(
            parse(b"sku,price\nA,1\n").unwrap_err().errors[0].code,
            "missing_column"
        );
        assert_eq!(
            parse(b"product_slug,sku,price,currency,colour\n")
                .unwrap_err()
                .errors[0]
                .code,
            "unknown_column"
        );
        let bom = "\u{feff}product_slug,sku,price,currency\na,A,1,EUR\n";
        assert_eq!(parse(bom.as_bytes()).unwrap().products.len(), 1);
    }

    #[test]
    fn api_field_errors_land_on_the_right_line_and_column() {
        let csv = format!("{HEADER}tee,Tee,,,,,T-S,Size=S,1,EUR,\ntee,,,,,,T-M,Size=M,2,EUR,\n");
        let p = parse(csv.as_bytes()).unwrap();
        let rows = p.products[0].reject(&[
            FieldError::new("variants[1].sku", "duplicate_sku", "is taken"),
            FieldError::new("slug", "slug_taken", "is taken"),
        ]);
        assert_eq!(
            (rows[0].line, rows[0].field.as_str(), rows[0].sku.as_str()),
            (3, "sku", "T-M")
        );
        assert_eq!((rows[1].line, rows[1].field.as_str()), (2, "product_slug"));
    }

    #[test]
    fn an_export_reads_back_as_the_same_products() {
        let eur = Currency::parse("EUR").unwrap();
        let attributes = serde_json::json!({"color": "blue"});
        let options = serde_json::json!({"Size": "M"});
        let tags = vec!["a".to_owned(), "b".to_owned()];
        let images = vec!["k1".to_owned()];
        let bytes = write(&[ExportRow {
            product_slug: "tee",
            title: "Tee, \"best\"",
            description: "Line one\nline two",
            brand: Some("Acme"),
            category: Some("shirts"),
            attributes: &attributes,
            tags: &tags,
            status: "published",
            sku: "T-M",
            options: &options,
            price: Money::price(1999, eur).unwrap(),
            compare_at_minor: Some(2500),
            weight_grams: Some(200),
            barcode: None,
            images: &images,
        }])
        .unwrap();
        let p = parse(&bytes).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let tee = &p.products[0];
        assert_eq!(tee.request.title, "Tee, \"best\"");
        assert_eq!(tee.request.description, "Line one\nline two");
        assert_eq!(tee.category.as_deref(), Some("shirts"));
        assert_eq!(tee.request.variants[0].price_minor, Some(1999));
        assert_eq!(tee.request.variants[0].compare_at_minor, Some(2500));
        assert_eq!(tee.request.variants[0].weight_grams, Some(200));
        assert_eq!(tee.request.images[0].key, "k1");
        assert!(tee.publish);
    }

    #[test]
    fn formulas_leave_quoted_and_come_back_as_typed() {
        let eur = Currency::parse("EUR").unwrap();
        let attributes = serde_json::json!({"@note": "=1+1"});
        let options = serde_json::json!({"-Size": "M"});
        let tags = vec!["+tag".to_owned()];
        let bytes = write(&[ExportRow {
            product_slug: "tee",
            title: "=cmd|' /C calc'!A0",
            description: "=HYPERLINK(\"http://evil.example\",\"click\")",
            brand: Some("@Acme"),
            category: None,
            attributes: &attributes,
            tags: &tags,
            status: "draft",
            sku: "-T-M",
            options: &options,
            price: Money::price(1999, eur).unwrap(),
            compare_at_minor: None,
            weight_grams: None,
            barcode: Some("'=typed with a quote"),
            images: &[],
        }])
        .unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        for (i, cell) in row.iter().enumerate() {
            assert!(
                !cell.starts_with(kernel::csv_cell::TRIGGERS),
                "{} = {cell:?} would run as a formula",
                COLUMNS[i]
            );
        }
        assert_eq!(&row[1], "'=cmd|' /C calc'!A0");
        assert_eq!(&row[10], "19.99", "numbers are written as they are");
        assert_eq!(&row[14], "''=typed with a quote");

        let p = parse(&bytes).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let tee = &p.products[0].request;
        assert_eq!(tee.title, "=cmd|' /C calc'!A0");
        assert_eq!(
            tee.description,
            "=HYPERLINK(\"http://evil.example\",\"click\")"
        );
        assert_eq!(tee.brand.as_deref(), Some("@Acme"));
        assert_eq!(tee.attributes["@note"], serde_json::json!("=1+1"));
        assert_eq!(tee.tags, ["+tag"]);
        assert_eq!(tee.variants[0].sku, "-T-M");
        assert_eq!(tee.variants[0].options["-Size"], "M");
        assert_eq!(
            tee.variants[0].barcode.as_deref(),
            Some("'=typed with a quote")
        );
    }
}
