//! The admin API and `docs/openapi.yaml` agree: every documented operation is served, every
//! served route is documented, and real answers carry the documented required fields.

use std::collections::BTreeSet;

use super::e2e::{ADMIN_TOKEN, client, post_form_from, start_stack};
use super::support::TempDir;

fn spec() -> serde_yaml::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Resolves `{ $ref: "#/components/..." }` one level.
fn resolve<'a>(spec: &'a serde_yaml::Value, value: &'a serde_yaml::Value) -> &'a serde_yaml::Value {
    match value.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) => reference
            .trim_start_matches("#/")
            .split('/')
            .fold(spec, |node, key| &node[key]),
        None => value,
    }
}

fn required(spec: &serde_yaml::Value, schema: &serde_yaml::Value) -> Vec<String> {
    resolve(spec, schema)["required"]
        .as_sequence()
        .map(|r| {
            r.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_documented_operation_is_a_route_and_every_route_is_documented() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            documented.insert((
                method.as_str().unwrap().to_string(),
                path.as_str().unwrap().to_string(),
            ));
        }
    }
    let served: BTreeSet<(String, String)> = provisiond::http::ADMIN_API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_match_the_documented_shapes() {
    let spec = spec();
    let dir = TempDir::new("admin-api");
    let (sim, daemon) = start_stack(&dir, true).await;
    let http = client();
    let page = http
        .get(sim.idp_initiated_url("alice@acme.example"))
        .send()
        .await
        .unwrap();
    post_form_from(&http, &page.text().await.unwrap()).await;
    let base = &daemon.base_url;

    let users: serde_json::Value = http
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = users["users"][0]["id"].as_str().unwrap().to_string();

    // This connection has no adapter: triggering a sync is a documented 400.
    let trigger = http
        .post(format!("{base}/api/v1/connections/acme/sync"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(trigger.status(), 400);
    let documented = &spec["paths"]["/api/v1/connections/{name}/sync"]["post"]["responses"];
    assert!(documented["400"].is_mapping());
    let body: serde_json::Value = trigger.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("no adapter"),
        "{body}"
    );
    let anonymous = http
        .post(format!("{base}/api/v1/connections/acme/sync"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let reads = provisiond::http::ADMIN_API_ROUTES
        .iter()
        .filter(|(method, _)| *method == "get");
    for (method, template) in reads {
        let path = template.replace("{name}", "acme").replace("{id}", &user_id);
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method} {path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let ok = &spec["paths"][*template][*method]["responses"]["200"];
        let schema = &ok["content"]["application/json"]["schema"];
        for field in required(&spec, schema) {
            assert!(
                body.get(&field).is_some(),
                "{path}: {field} missing in {body}"
            );
        }
        // Items of documented arrays carry their required fields too.
        if let Some(properties) = resolve(&spec, schema)["properties"].as_mapping() {
            for (name, property) in properties {
                let Some(items) = property.get("items") else {
                    continue;
                };
                let name = name.as_str().unwrap();
                for item in body[name].as_array().unwrap() {
                    for field in required(&spec, items) {
                        assert!(
                            item.get(&field).is_some(),
                            "{path}: {name}[].{field} missing in {item}"
                        );
                    }
                }
            }
        }

        let anonymous = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path} without a token");
    }
    sim.stop().await;
}
