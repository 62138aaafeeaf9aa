//! The product form: its fields and variant rows, read back into a product request.

use super::*;

/// One row of the variants table as typed.
#[derive(Default, Clone)]
pub struct VariantRow {
    pub sku: String,
    pub options: String,
    pub price: String,
    pub compare_at: String,
    pub weight: String,
    pub barcode: String,
}

/// The product form's fields as typed, so a refused form comes back as it was.
#[derive(Default, Clone)]
pub struct ProductForm {
    pub title: String,
    pub slug: String,
    pub brand: String,
    pub category_id: String,
    pub description: String,
    pub attributes: String,
    pub tags: String,
    pub seo_title: String,
    pub seo_description: String,
    pub currency: String,
    pub variants: Vec<VariantRow>,
}

impl ProductForm {
    pub(super) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let map: HashMap<&str, &str> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let get = |k: &str| map.get(k).copied().unwrap_or_default().to_owned();
        let mut variants = Vec::new();
        for i in 0..contracts::catalog::MAX_VARIANTS {
            let field = |name: &str| map.get(format!("variants[{i}].{name}").as_str()).copied();
            let Some(sku) = field("sku") else { break };
            variants.push(VariantRow {
                sku: sku.to_owned(),
                options: field("options").unwrap_or_default().to_owned(),
                price: field("price_minor").unwrap_or_default().to_owned(),
                compare_at: field("compare_at_minor").unwrap_or_default().to_owned(),
                weight: field("weight_grams").unwrap_or_default().to_owned(),
                barcode: field("barcode").unwrap_or_default().to_owned(),
            });
        }
        Self {
            title: get("title"),
            slug: get("slug"),
            brand: get("brand"),
            category_id: get("category_id"),
            description: get("description"),
            attributes: get("attributes"),
            tags: get("tags"),
            seo_title: get("seo_title"),
            seo_description: get("seo_description"),
            currency: get("currency"),
            variants,
        }
    }

    pub(super) fn from_product(p: &ProductView) -> Self {
        let attributes = p
            .attributes
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}: {}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        Self {
            title: p.title.clone(),
            slug: p.slug.clone(),
            brand: p.brand.clone().unwrap_or_default(),
            category_id: p.category_id.map(|c| c.to_string()).unwrap_or_default(),
            description: p.description.clone(),
            attributes,
            tags: p.tags.join(", "),
            seo_title: p.seo_title.clone().unwrap_or_default(),
            seo_description: p.seo_description.clone().unwrap_or_default(),
            currency: p.price_from.currency.code().to_owned(),
            variants: p
                .variants
                .iter()
                .map(|v| VariantRow {
                    sku: v.sku.clone(),
                    options: options_text(&v.options),
                    price: v.price.decimal(),
                    compare_at: v
                        .compare_at_minor
                        .and_then(|c| Money::price(c, v.price.currency).ok())
                        .map(|m| m.decimal())
                        .unwrap_or_default(),
                    weight: v.weight_grams.map(|w| w.to_string()).unwrap_or_default(),
                    barcode: v.barcode.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Blank rows to fill in, after the ones in use.
    pub(super) fn with_spare_rows(mut self) -> Self {
        self.variants.retain(|v| !v.is_blank());
        for _ in 0..SPARE_VARIANT_ROWS {
            self.variants.push(VariantRow::default());
        }
        self
    }

    /// The API request, or the fields the web layer itself must refuse (prices as
    /// typed, option and attribute syntax) with the API's field names.
    pub(super) fn to_request(
        &self,
        images: Vec<ImageRequest>,
    ) -> Result<ProductRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&self.currency);
        if currency.is_err() {
            errors.push(FieldError::new(
                "currency",
                "invalid_currency",
                "choose a currency",
            ));
        }
        let mut variants = Vec::new();
        for (i, row) in self
            .variants
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_blank())
        {
            let price = |text: &str, field: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
                let c = currency.ok()?;
                match Money::parse_decimal(text, c) {
                    Ok(m) => Some(m.amount_minor),
                    Err(message) => {
                        errors.push(FieldError::new(
                            format!("variants[{i}].{field}"),
                            "invalid_price",
                            message,
                        ));
                        None
                    }
                }
            };
            let price_minor = if row.price.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("variants[{i}].price_minor"),
                    "required",
                    "every variant needs a price",
                ));
                None
            } else {
                price(&row.price, "price_minor", &mut errors)
            };
            let compare_at_minor = if row.compare_at.trim().is_empty() {
                None
            } else {
                price(&row.compare_at, "compare_at_minor", &mut errors)
            };
            let options = match parse_pairs(&row.options, ',', '=') {
                Ok(o) => o,
                Err(message) => {
                    errors.push(FieldError::new(
                        format!("variants[{i}].options"),
                        "invalid",
                        message,
                    ));
                    BTreeMap::new()
                }
            };
            let weight_grams = match row.weight.trim() {
                "" => None,
                w => match w.parse::<i64>() {
                    Ok(g) => Some(g),
                    Err(_) => {
                        errors.push(FieldError::new(
                            format!("variants[{i}].weight_grams"),
                            "invalid",
                            "must be a whole number of grams",
                        ));
                        None
                    }
                },
            };
            let barcode = Some(row.barcode.trim().to_owned()).filter(|b| !b.is_empty());
            variants.push(VariantRequest {
                sku: row.sku.trim().to_owned(),
                options,
                price_minor,
                currency: self.currency.clone(),
                compare_at_minor,
                weight_grams,
                barcode,
            });
        }
        let attributes = match parse_pairs(&self.attributes, '\n', ':') {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (k, typed_value(&v)))
                .collect(),
            Err(message) => {
                errors.push(FieldError::new("attributes", "invalid", message));
                serde_json::Map::new()
            }
        };
        let category_id = if self.category_id.is_empty() {
            None
        } else {
            match self.category_id.parse() {
                Ok(c) => Some(c),
                Err(_) => {
                    errors.push(FieldError::new(
                        "category_id",
                        "invalid",
                        "choose a category",
                    ));
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(ProductRequest {
            slug: self.slug.trim().to_owned(),
            title: self.title.clone(),
            description: self.description.clone(),
            brand: optional(&self.brand),
            category_id,
            attributes,
            tags: self
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            seo_title: optional(&self.seo_title),
            seo_description: optional(&self.seo_description),
            variants,
            images,
        })
    }
}

impl VariantRow {
    pub(super) fn is_blank(&self) -> bool {
        [
            &self.sku,
            &self.options,
            &self.price,
            &self.compare_at,
            &self.weight,
            &self.barcode,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }
}

pub(super) fn options_text(options: &serde_json::Value) -> String {
    options
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `Size=M, Color=Red` (or `color: red` lines): names and values, trimmed.
pub(super) fn parse_pairs(
    text: &str,
    separator: char,
    assign: char,
) -> Result<BTreeMap<String, String>, &'static str> {
    let mut out = BTreeMap::new();
    for part in text
        .split(separator)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part.split_once(assign).ok_or(if assign == '=' {
            "write options as Name=Value, separated by commas"
        } else {
            "write one attribute per line as name: value"
        })?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

/// Attribute values keep their type: numbers and booleans filter as such.
pub(super) fn typed_value(text: &str) -> serde_json::Value {
    match text {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        t => t.parse::<i64>().map_or_else(
            |_| serde_json::Value::String(t.to_owned()),
            serde_json::Value::from,
        ),
    }
}

/// Categories as indented choices for a `<select>`.
pub(super) fn category_choices(
    nodes: &[CategoryNode],
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    for n in nodes {
        out.push((
            n.id.to_string(),
            format!("{}{}", "— ".repeat(depth), n.name),
        ));
        category_choices(&n.children, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ProductForm {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProductForm::from_pairs(&owned)
    }

    #[test]
    fn a_filled_form_becomes_a_product_request() {
        let f = form(&[
            ("title", "Linen Shirt"),
            ("slug", "linen-shirt"),
            ("currency", "EUR"),
            ("attributes", "color: blue\norganic: true\nthreads: 120"),
            ("tags", "summer, linen"),
            ("variants[0].sku", "LS-M"),
            ("variants[0].options", "Size=M, Color=Blue"),
            ("variants[0].price_minor", "29.99"),
            ("variants[0].compare_at_minor", ""),
            ("variants[1].sku", ""),
            ("variants[1].options", ""),
            ("variants[1].price_minor", ""),
            ("variants[1].compare_at_minor", ""),
        ]);
        let req = f.to_request(Vec::new()).unwrap();
        assert_eq!(req.variants.len(), 1, "blank rows are skipped");
        assert_eq!(req.variants[0].price_minor, Some(2999));
        assert_eq!(req.variants[0].options["Color"], "Blue");
        assert_eq!(req.attributes["organic"], serde_json::json!(true));
        assert_eq!(req.attributes["threads"], serde_json::json!(120));
        assert_eq!(req.tags, ["summer", "linen"]);
    }

    #[test]
    fn bad_rows_are_refused_by_field() {
        let f = form(&[
            ("currency", "EUR"),
            ("attributes", "no colon here"),
            ("variants[0].sku", "A"),
            ("variants[0].price_minor", "12.345"),
            ("variants[1].sku", "B"),
            ("variants[1].price_minor", ""),
            ("variants[1].options", "Size"),
        ]);
        let errors = f.to_request(Vec::new()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "variants[0].price_minor",
                "variants[1].price_minor",
                "variants[1].options",
                "attributes"
            ]
        );
    }
}
