//! Validates answers against Alertmanager's published OpenAPI (Swagger 2.0)
//! schema, vendored in `tests/fixtures/alertmanager-api/openapi.yaml`: the
//! parts of JSON Schema it uses (`$ref`, `allOf`, `type`, `properties`,
//! `required`, `enum`, `items`, `minItems`, `additionalProperties`, and the
//! `date-time` and `uri` formats).

use saphyr::{LoadableYamlNode, ScalarOwned, YamlOwned};
use serde_json::Value;

const SCHEMA: &str = include_str!("../../fixtures/alertmanager-api/openapi.yaml");

/// The schema as JSON.
pub fn schema() -> Value {
    let docs = YamlOwned::load_from_str(SCHEMA).expect("the vendored schema is YAML");
    to_json(&docs[0])
}

fn to_json(y: &YamlOwned) -> Value {
    match y {
        YamlOwned::Value(ScalarOwned::Null) => Value::Null,
        YamlOwned::Value(ScalarOwned::Boolean(b)) => Value::Bool(*b),
        YamlOwned::Value(ScalarOwned::Integer(i)) => Value::from(*i),
        YamlOwned::Value(ScalarOwned::FloatingPoint(f)) => Value::from(f.into_inner()),
        YamlOwned::Value(ScalarOwned::String(s)) => Value::String(s.clone()),
        YamlOwned::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        YamlOwned::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match k {
                    YamlOwned::Value(ScalarOwned::String(k)) => (k.clone(), to_json(v)),
                    YamlOwned::Value(ScalarOwned::Integer(i)) => (i.to_string(), to_json(v)),
                    other => panic!("unexpected key {other:?}"),
                })
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// Checks `value` against the response schema of `GET path` (`status` 200),
/// or of `method path`; panics naming every violation.
pub fn check(schema: &Value, method: &str, path: &str, value: &Value) {
    let errors = violations(schema, method, path, value);
    assert!(
        errors.is_empty(),
        "{method} {path} does not follow Alertmanager's schema:\n{}\n{value:#}",
        errors.join("\n")
    );
}

/// Every way `value` breaks the response schema of `method path`.
fn violations(schema: &Value, method: &str, path: &str, value: &Value) -> Vec<String> {
    let op = &schema["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "no {method} {path} in the schema");
    let response = &op["responses"]["200"]["schema"];
    assert!(response.is_object(), "no 200 schema for {method} {path}");
    let mut errors = Vec::new();
    validate(schema, response, value, "$", &mut errors);
    errors
}

fn resolve<'s>(root: &'s Value, s: &'s Value) -> &'s Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("unsupported $ref {r}"));
            let definition = &root["definitions"][name];
            // A missing definition would accept anything.
            assert!(definition.is_object(), "no definition {name}");
            resolve(root, definition)
        }
        None => s,
    }
}

fn validate(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(root, s);
    if let Some(all) = s["allOf"].as_array() {
        for part in all {
            validate(root, part, v, at, errors);
        }
    }
    if let Some(want) = s["type"].as_str() {
        let fits = match want {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            other => panic!("unsupported type {other}"),
        };
        if !fits {
            errors.push(format!("{at}: expected {want}, got {v}"));
            return;
        }
    }
    if let Some(options) = s["enum"].as_array()
        && !options.contains(v)
    {
        errors.push(format!("{at}: {v} is not one of {options:?}"));
    }
    let bad_format = match (s["format"].as_str(), v.as_str()) {
        (Some("date-time"), Some(t)) => t.parse::<jiff::Timestamp>().is_err(),
        (Some("uri"), Some(u)) => !u.contains(':'),
        _ => false,
    };
    if bad_format {
        errors.push(format!("{at}: {v} is not a {}", s["format"]));
    }
    if let Some(obj) = v.as_object() {
        for name in s["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                errors.push(format!("{at}: required property {name} is missing"));
            }
        }
        let props = s["properties"].as_object();
        for (k, item) in obj {
            let here = format!("{at}.{k}");
            if let Some(p) = props.and_then(|p| p.get(k)) {
                validate(root, p, item, &here, errors);
            } else if s["additionalProperties"].is_object() {
                validate(root, &s["additionalProperties"], item, &here, errors);
            }
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(min) = s["minItems"].as_u64()
            && (items.len() as u64) < min
        {
            errors.push(format!("{at}: fewer than {min} items"));
        }
        if s["items"].is_object() {
            for (i, item) in items.iter().enumerate() {
                validate(root, &s["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

#[test]
fn the_validator_refuses_what_the_schema_refuses() {
    let schema = schema();
    let good = serde_json::json!([{"name": "ops"}]);
    assert!(violations(&schema, "GET", "/receivers", &good).is_empty());
    let bad = serde_json::json!([{"title": "ops"}]);
    assert_eq!(
        violations(&schema, "GET", "/receivers", &bad),
        ["$[0]: required property name is missing"]
    );
    let silence = |updated: &str, state: &str| {
        serde_json::json!([{
            "id": "1", "status": {"state": state}, "updatedAt": updated,
            "matchers": [{"name": "a", "value": "b", "isRegex": false}],
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T01:00:00Z",
            "createdBy": "x", "comment": "y"
        }])
    };
    assert!(
        violations(
            &schema,
            "GET",
            "/silences",
            &silence("2026-01-01T00:00:00Z", "active")
        )
        .is_empty()
    );
    assert_eq!(
        violations(&schema, "GET", "/silences", &silence("yesterday", "active")),
        ["$[0].updatedAt: \"yesterday\" is not a \"date-time\""]
    );
    let wrong_state = violations(
        &schema,
        "GET",
        "/silences",
        &silence("2026-01-01T00:00:00Z", "over"),
    );
    assert_eq!(wrong_state.len(), 1, "{wrong_state:?}");
    assert!(
        wrong_state[0].starts_with("$[0].status.state: \"over\" is not one of"),
        "{wrong_state:?}"
    );
}
