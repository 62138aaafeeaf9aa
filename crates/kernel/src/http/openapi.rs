//! The OpenAPI documents as the platform serves them: one document merged from every
//! service's, where a schema name means one type, and every refusal an operation can
//! meet — from the access check, the extractors and the body limit, not only from the
//! handler — is documented as the `application/problem+json` it is.

use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

use super::access::Access;

const PROBLEM_JSON: &str = "application/problem+json";

/// Adds `other` to `doc`, refusing a schema name that two different types claim (one
/// would silently document the other's shape).
pub fn merge_checked(doc: &mut OpenApi, other: OpenApi) -> Result<(), String> {
    let ours = doc.components.as_ref().map(|c| &c.schemas);
    if let (Some(ours), Some(theirs)) = (ours, other.components.as_ref().map(|c| &c.schemas)) {
        for (name, schema) in theirs {
            if let Some(existing) = ours.get(name)
                && serde_json::to_value(existing).ok() != serde_json::to_value(schema).ok()
            {
                return Err(format!(
                    "two different types are both named `{name}` in the API documents; \
                     give one `#[schema(as = …)]`"
                ));
            }
        }
    }
    doc.merge(other);
    Ok(())
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// Completes each operation's responses with the refusals it can meet and gives every
/// error answer its real content type.
pub fn document_refusals(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let names_object = path.contains('{');
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut() {
            let access = Access::from_security(operation.get("security")).ok();
            let has_body = operation.get("requestBody").is_some();
            let has_query = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                    && is_error
                    && let Some(json) = content.remove("application/json")
                {
                    content.insert(PROBLEM_JSON.into(), json);
                }
            }
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| problem(description));
            };
            // Every request passes the check for NUL and other control characters.
            add("400", "`invalid_characters`, or a body that cannot be read");
            match access {
                // Open to anyone, but a token that is sent must be valid: some answers
                // depend on who asks (a store sees its own drafts).
                Some(Access::Anyone) => add(
                    "401",
                    "`invalid_token`, `token_expired` or `token_revoked`: a token was sent and is not valid",
                ),
                None => {}
                Some(Access::Service) => add("404", "Not a service: no such resource"),
                Some(_) => {
                    add(
                        "401",
                        "`unauthenticated`, `invalid_token`, `token_expired` or `token_revoked`",
                    );
                    add("403", "`forbidden`: not yours to do");
                }
            }
            if names_object {
                add("404", "`not_found`");
            }
            if has_body {
                add(
                    "400",
                    "`malformed_json` or `bad_request`: the body cannot be read",
                );
                add("413", "`payload_too_large`");
                add("415", "`unsupported_media_type`");
                add("422", "`validation_failed`, with the offending fields");
            }
            if has_query {
                add("422", "`validation_failed`, with the offending fields");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_documented_as_problems() {
        let mut doc = json!({ "paths": { "/api/v1/x/{id}": { "post": {
            "security": [{ "bearer": [] }],
            "requestBody": {},
            "responses": {
                "200": { "description": "ok", "content": { "application/json": {} } },
                "409": { "description": "conflict", "content": { "application/json": { "schema": {} } } }
            }
        } } } });
        document_refusals(&mut doc);
        let responses = &doc["paths"]["/api/v1/x/{id}"]["post"]["responses"];
        assert!(responses["200"]["content"]["application/json"].is_object());
        assert!(responses["409"]["content"][PROBLEM_JSON].is_object());
        for status in ["400", "401", "403", "404", "413", "415", "422"] {
            assert!(
                responses[status]["content"][PROBLEM_JSON].is_object(),
                "{status}"
            );
        }
    }
}
