//! The OpenAPI description matches the router: every registered machine route is documented with its
//! method, every documented operation is registered, and what an unauthenticated call gets back is a
//! status the description lists for it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;

const ANY_METHOD: [&str; 6] = ["get", "post", "put", "patch", "delete", "head"];

/// The documented path for a registered one: a catch-all tail (`{tail:.*}`) is documented without it.
fn documented_path(registered: &str) -> &str {
    registered.split_once("{tail").map_or(registered, |(head, _)| head)
}

on_both_backends! {
    async fn openapi_documents_every_registered_route_and_nothing_else(app) {
        let response = reqwest::get(format!("{}/api/openapi.json", app.base)).await.expect("openapi");
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.expect("json");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().expect("paths");

        let mut registered = Vec::new();
        for (method, path) in keyward::api::ROUTES {
            let documented = documented_path(path);
            let item = paths.get(documented).unwrap_or_else(|| panic!("{path} is registered but not documented"));
            let methods: Vec<&str> = if *method == "route" { ANY_METHOD.to_vec() } else { vec![method] };
            for m in methods {
                assert!(item.get(m).is_some(), "{} {path} is registered but not documented", m.to_uppercase());
                registered.push((m.to_owned(), documented.to_owned()));
            }
        }
        for (path, item) in paths {
            for (method, _) in item.as_object().expect("path item") {
                assert!(
                    registered.iter().any(|(m, p)| m == method && p == path),
                    "{} {path} is documented but not registered",
                    method.to_uppercase()
                );
            }
        }

        // Each route answers an anonymous call with a status its description lists.
        let client = reqwest::Client::new();
        for (method, path) in &registered {
            let url = format!("{}{}", app.base, path.replace("{id}", "1").replace("{workspace}", "1"));
            let request = client.request(method.to_uppercase().parse().expect("method"), url);
            let status = request.send().await.expect("call").status();
            let responses = &paths[path.as_str()][method.as_str()]["responses"];
            assert!(
                responses.get(status.as_str()).is_some(),
                "{} {path} answered {status}, which its description does not list",
                method.to_uppercase()
            );
        }
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in ["VerifyRequest", "VerifyResponse", "ErrorBody", "KeyPage", "CreateKey", "AuditPage"] {
            assert!(schemas.contains_key(name), "schema {name}");
        }
        let codes = &schemas["VerifyCode"]["enum"];
        assert_eq!(codes.as_array().map(Vec::len), Some(8), "{codes}");
    }
}
