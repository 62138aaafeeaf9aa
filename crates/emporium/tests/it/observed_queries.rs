//! The PromQL our dashboards and alerts ask, read from `deploy/`, and the metric names
//! each names: what the observability test holds against what the processes export.

use std::path::{Path, PathBuf};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Every query of the Grafana dashboards and the alert rules, with where it is.
pub fn dashboard_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let dir = deploy().join("grafana/dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let source = format!(
                    "{} / {}",
                    file.file_name().unwrap().to_string_lossy(),
                    panel["title"].as_str().unwrap()
                );
                queries.push((source, target["expr"].as_str().unwrap().to_owned()));
            }
        }
    }
    for (alert, expr) in alert_rules() {
        queries.push((format!("alerts.yml / {alert}"), expr));
    }
    queries
}

/// Each alert of `deploy/prometheus/alerts.yml` with its expression (a plain or a
/// block scalar), read line by line: the file keeps to that shape.
pub fn alert_rules() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy().join("prometheus/alerts.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = Vec::new();
    let mut alert = String::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert:") {
            alert = name.trim().to_owned();
        } else if let Some(value) = trimmed.strip_prefix("expr:") {
            let value = value.trim();
            let expr = if value.starts_with('|') || value.starts_with('>') {
                let indent = line.len() - trimmed.len();
                lines[i + 1..]
                    .iter()
                    .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                    .map(|l| l.trim())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                value.to_owned()
            };
            rules.push((alert.clone(), expr));
        }
    }
    rules
}

/// The metric names a PromQL expression selects: what is left once label matchers,
/// ranges, grouping clauses, functions, keywords and numbers are taken out.
pub fn metric_names(expr: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = (0, 0);
    for c in expr.chars() {
        match c {
            '{' => depth.0 += 1,
            '}' => depth.0 -= 1,
            '[' => depth.1 += 1,
            ']' => depth.1 -= 1,
            _ if depth == (0, 0) => plain.push(c),
            _ => {}
        }
    }
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Aggregations may put their grouping before the parenthesis: `sum by (x) (…)`.
    const KEYWORDS: [&str; 17] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    let chars: Vec<char> = plain.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            // A number, exponent included: 14.4, 1e3.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
        {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let mut next = i;
        while next < chars.len() && chars[next] == ' ' {
            next += 1;
        }
        let call = chars.get(next) == Some(&'(');
        if call && GROUPING.contains(&word.as_str()) {
            // Skip the label list.
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            continue;
        }
        if call || KEYWORDS.contains(&word.as_str()) || names.contains(&word) {
            continue;
        }
        names.push(word);
    }
    names
}

#[test]
fn metric_names_are_what_an_expression_selects() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{route=\"/a/{id}\"}[$__rate_interval])))"
        ),
        ["http_request_duration_seconds_bucket"]
    );
    assert_eq!(
        metric_names(
            "max by (service, domain) (db_pool_connections{state=\"in_use\"} / ignoring(state) db_pool_max_connections) > (14.4 * 0.01) and up == 0"
        ),
        ["db_pool_connections", "db_pool_max_connections", "up"]
    );
    assert_eq!(
        metric_names("sum by (cache) (rate(cache_requests_total[5m])) * 60"),
        ["cache_requests_total"]
    );
}

#[test]
fn every_alert_has_a_runbook_section() {
    let runbooks = std::fs::read_to_string(deploy().join("../docs/operations.md")).unwrap();
    let anchors: Vec<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| {
            h.trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let text = std::fs::read_to_string(deploy().join("prometheus/alerts.yml")).unwrap();
    let links: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: docs/operations.md#"))
        .collect();
    assert_eq!(
        links.len(),
        alert_rules().len(),
        "one runbook link per alert"
    );
    for link in links {
        assert!(anchors.iter().any(|a| a == link), "no section #{link}");
    }
    assert!(dashboard_queries().len() > 30);
}
