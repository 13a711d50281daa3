//! Graph JSON batching (`POST /v1.0/$batch`) over a real socket on 127.0.0.1.

use std::sync::Arc;

use idp_sim::graph::{
    Fault, FaultRule, GraphServer, GraphState, GraphTenant, MAX_BATCH_REQUESTS, serve_graph,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Graph {
    state: Arc<GraphState>,
    server: GraphServer,
    token: String,
}

/// A tenant whose first group has more members than one page of `$top=2` holds.
async fn graph() -> Graph {
    let state = Arc::new(GraphState::new(GraphTenant::generate(60, 4, 120, 9)));
    let server = serve_graph(state.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let tenant = state.tenant();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", tenant.client_id.as_str()),
        ("client_secret", tenant.client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        server.login_base_url(),
        tenant.tenant_id
    );
    let answer: Value = reqwest::Client::new()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"].as_str().unwrap().to_owned();
    Graph {
        state,
        server,
        token,
    }
}

impl Graph {
    async fn batch(&self, body: &Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/$batch", self.server.graph_base_url()))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    fn group_ids(&self) -> Vec<String> {
        self.state
            .tenant()
            .groups
            .iter()
            .map(|group| group.id.clone())
            .collect()
    }
}

fn get(id: &str, url: &str) -> Value {
    json!({"id": id, "method": "GET", "url": url})
}

fn answer<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|response| response["id"] == id)
        .unwrap_or_else(|| panic!("no answer for {id}: {body}"))
}

#[tokio::test]
async fn each_sub_request_is_answered_with_its_own_status_and_next_link() {
    let graph = graph().await;
    let groups = graph.group_ids();
    let members = graph.state.tenant().members(&groups[0], false);
    assert!(members.len() > 2, "the group spans several pages");

    let (status, body) = graph
        .batch(&json!({"requests": [
            get("a", &format!("/groups/{}/members?$select=id&$top=2", groups[0])),
            get("b", &format!("groups/{}/members?$select=id", groups[1])),
            get("c", "/groups/00000000-0000-0000-0000-00000000dead/members"),
        ]}))
        .await;

    assert_eq!(status, StatusCode::OK);
    let first = answer(&body, "a");
    assert_eq!(first["status"], 200);
    assert_eq!(first["body"]["value"].as_array().unwrap().len(), 2);
    let next = first["body"]["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&graph.server.graph_base_url()), "{next}");
    assert_eq!(answer(&body, "b")["status"], 200);
    assert_eq!(answer(&body, "c")["status"], 404);

    // The nextLink, made relative to /v1.0, continues the listing inside a batch too.
    let relative = next.strip_prefix(&graph.server.graph_base_url()).unwrap();
    let (_, body) = graph
        .batch(&json!({"requests": [get("1", relative)]}))
        .await;
    let page = &answer(&body, "1")["body"]["value"];
    assert_eq!(page[0]["id"], members[2]);

    let counts = graph.state.request_counts();
    assert_eq!(counts.route("POST /$batch"), 2);
    assert_eq!(counts.batched_route("GET /groups/{id}/members"), 4);
    assert_eq!(counts.route("GET /groups/{id}/members"), 0);
}

#[tokio::test]
async fn faults_hit_sub_requests_one_by_one() {
    let graph = graph().await;
    let groups = graph.group_ids();
    graph.state.push_fault(FaultRule {
        path_contains: Some(format!("/groups/{}/", groups[1])),
        fault: Fault::TooManyRequests {
            retry_after_secs: Some(7),
        },
        times: 1,
    });
    graph.state.push_fault(FaultRule {
        path_contains: Some(format!("/groups/{}/", groups[2])),
        fault: Fault::ServiceUnavailable {
            retry_after_secs: None,
        },
        times: 1,
    });
    let requests: Vec<Value> = groups
        .iter()
        .take(3)
        .enumerate()
        .map(|(index, id)| get(&index.to_string(), &format!("/groups/{id}/members")))
        .collect();

    let (status, body) = graph.batch(&json!({ "requests": requests })).await;

    assert_eq!(status, StatusCode::OK, "the batch itself succeeds");
    assert_eq!(answer(&body, "0")["status"], 200);
    let throttled = answer(&body, "1");
    assert_eq!(throttled["status"], 429);
    assert_eq!(throttled["headers"]["Retry-After"], "7");
    assert_eq!(throttled["body"]["error"]["code"], "SimulatedFault");
    assert_eq!(answer(&body, "2")["status"], 503);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let graph = graph().await;
    let too_many: Vec<Value> = (0..=MAX_BATCH_REQUESTS)
        .map(|index| get(&index.to_string(), "/users"))
        .collect();
    let depends = json!({"requests": [
        get("1", "/users"),
        {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]},
    ]});
    let absolute = json!({"requests": [get("1", "https://graph.microsoft.com/v1.0/users")]});
    let repeated = json!({"requests": [get("1", "/users"), get("1", "/users")]});

    for body in [
        json!({ "requests": too_many }),
        depends,
        absolute,
        repeated,
        json!({"requests": []}),
        json!({"no": "requests"}),
    ] {
        let (status, answer) = graph.batch(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"]["code"], "BadRequest");
    }
    assert!(graph.state.request_counts().batched.is_empty());

    let (status, _) = graph
        .batch(&json!({"requests": (0..MAX_BATCH_REQUESTS)
            .map(|index| get(&index.to_string(), "/users?$top=1"))
            .collect::<Vec<_>>()}))
        .await;
    assert_eq!(status, StatusCode::OK, "exactly the limit is fine");
}

#[tokio::test]
async fn a_batch_without_a_valid_token_is_unauthorized() {
    let mut graph = graph().await;
    graph.token = "simtok.not-issued".into();

    let (status, body) = graph
        .batch(&json!({"requests": [get("1", "/users")]}))
        .await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
}
