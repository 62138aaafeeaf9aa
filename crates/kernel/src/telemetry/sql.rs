//! A span per SQL statement, made from the event sqlx logs when a statement finishes
//! (target `sqlx::query`, with its text and duration), so no store function needs
//! instrumenting. Named by operation and table (`SELECT orders`), never by values:
//! statements are parameterized, and only their text is kept.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, Layer};

/// The target sqlx logs finished statements under.
pub const TARGET: &str = "sqlx::query";
/// Most of a statement's text kept on its span.
const MAX_TEXT: usize = 2048;

pub struct SqlSpans {
    tracer: SdkTracer,
}

impl SqlSpans {
    pub fn new(tracer: SdkTracer) -> Self {
        Self { tracer }
    }
}

#[derive(Default)]
struct Statement {
    summary: String,
    text: String,
    elapsed_secs: f64,
    rows: Option<i64>,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.trim().clone_into(&mut self.text),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" || field.name() == "rows_affected" {
            let value = i64::try_from(value).unwrap_or(i64::MAX);
            self.rows = Some(self.rows.unwrap_or(0).max(value));
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for SqlSpans {
    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        // The OpenTelemetry context of the span the statement ran in, activated when
        // that span was entered. Statements outside any request or event handling
        // (relay polls, housekeeping) would each be a trace of their own: skipped.
        let parent = Context::current();
        if !parent.has_active_span() {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let text = if statement.text.is_empty() {
            statement.summary.trim_end_matches(" …").to_owned()
        } else {
            statement.text
        };
        let end = SystemTime::now();
        let start = end
            .checked_sub(Duration::from_secs_f64(statement.elapsed_secs.max(0.0)))
            .unwrap_or(end);
        let mut attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.query.text", truncate(&text, MAX_TEXT).to_owned()),
        ];
        if let Some(rows) = statement.rows {
            attributes.push(KeyValue::new("db.response.returned_rows", rows));
        }
        let mut span = self
            .tracer
            .span_builder(statement_name(&text))
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        span.end_with_timestamp(end);
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `SELECT orders`, `INSERT outbox`, `UPDATE stock_levels`, `COMMIT`: the operation
/// and the first table it names, which is what one statement of ours is known by.
pub fn statement_name(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let Some(first) = words.first() else {
        return "SQL".to_owned();
    };
    let operation = first
        .trim_matches(|c: char| !c.is_ascii_alphabetic())
        .to_ascii_uppercase();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .and_then(|i| words.get(i + 1))
    };
    let table = match operation.as_str() {
        "INSERT" => after("INTO"),
        "UPDATE" => words.get(1),
        "DELETE" | "SELECT" | "WITH" => after("FROM"),
        _ => None,
    };
    let table = table
        .map(|t| {
            t.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty() && t != "only");
    match table {
        Some(table) => format!("{operation} {table}"),
        None => operation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_named_by_operation_and_table() {
        for (sql, name) in [
            (
                "INSERT INTO outbox (id, event_type) VALUES ($1, $2)",
                "INSERT outbox",
            ),
            (
                "SELECT id, status FROM orders.orders o JOIN lines l ON l.order_id = o.id WHERE o.id = $1",
                "SELECT orders.orders",
            ),
            (
                "update stock_levels SET on_hand = $2 WHERE id = $1",
                "UPDATE stock_levels",
            ),
            ("DELETE FROM carts WHERE id = $1", "DELETE carts"),
            (
                "WITH due AS (SELECT id FROM payouts) SELECT * FROM due",
                "WITH payouts",
            ),
            ("SELECT pg_notify($1, current_schema())", "SELECT"),
            ("COMMIT", "COMMIT"),
            ("  BEGIN  ", "BEGIN"),
            ("", "SQL"),
        ] {
            assert_eq!(statement_name(sql), name, "{sql}");
        }
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
