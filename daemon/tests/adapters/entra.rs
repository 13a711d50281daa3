//! The Entra adapter, loaded through the daemon loader, against the Graph simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use idp_sim::graph::{Fault, FaultRule, GraphTenant};
use provisiond::plugins::{AdapterError, DeltaNext, DeltaPage, LoadedAdapter};
use serde_json::json;

use crate::conformance::{Listing, check};
use crate::support::{Simulator, clock, http_client, load};

fn entra() -> LoadedAdapter {
    load("provisiond_adapter_entra").unwrap()
}

fn bad_config() -> serde_json::Value {
    json!({"tenant_id": "not a tenant", "client_id": "x", "app_id": "y"})
}

fn listing(sim: &Simulator, config: &serde_json::Value) -> Listing {
    let listing = check(&entra(), config, &bad_config(), http_client(&clock()));
    assert!(
        sim.state.request_counts().total > 0,
        "the simulator was used"
    );
    listing
}

fn user_ids(listing: &Listing) -> BTreeSet<String> {
    listing
        .users
        .iter()
        .map(|user| user.external_id.clone())
        .collect()
}

fn groups(listing: &Listing) -> BTreeMap<String, (String, BTreeSet<String>)> {
    listing
        .groups
        .iter()
        .map(|g| {
            (
                g.id.clone(),
                (g.display_name.clone(), g.members.iter().cloned().collect()),
            )
        })
        .collect()
}

fn expected_groups(
    tenant: &GraphTenant,
    transitive: bool,
) -> BTreeMap<String, (String, BTreeSet<String>)> {
    tenant
        .assigned_groups(transitive)
        .into_iter()
        .map(|(id, name, members)| (id, (name, members)))
        .collect()
}

#[test]
fn entra_lists_exactly_the_assigned_users_groups_and_memberships() {
    let sim = Simulator::start(GraphTenant::generate(2_500, 12, 4_000, 42));
    let tenant = sim.state.tenant();

    let listing = listing(&sim, &sim.entra_config());

    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(false));
    assert!(
        user_ids(&listing).len() < tenant.users.len(),
        "the tenant has unassigned users"
    );
    assert_eq!(groups(&listing), expected_groups(&tenant, false));

    // Attributes are mapped from the Graph fields.
    let source = tenant
        .users
        .iter()
        .find(|u| u.id == listing.users[0].external_id)
        .unwrap();
    let mapped = &listing.users[0];
    assert_eq!(mapped.user_name, source.user_principal_name);
    assert_eq!(mapped.email, source.mail);
    assert_eq!(mapped.given_name, source.given_name);
    assert_eq!(mapped.family_name, source.surname);
    assert_eq!(mapped.active, source.account_enabled);
    assert!(
        listing.users.iter().any(|user| !user.active),
        "disabled users stay listed"
    );
}

#[test]
fn transitive_groups_include_members_of_nested_groups() {
    let sim = Simulator::start(GraphTenant::generate(300, 5, 400, 3));
    let tenant = sim.state.tenant();
    let mut config = sim.entra_config();
    config["transitive_groups"] = json!(true);

    let listing = listing(&sim, &config);

    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(true));
    assert_eq!(groups(&listing), expected_groups(&tenant, true));
    let (transitive, direct) = (
        tenant.assigned_user_ids(true),
        tenant.assigned_user_ids(false),
    );
    assert!(
        transitive.len() > direct.len(),
        "the nested group adds users"
    );
}

/// Member sub-requests a listing of `tenant` needs: one per assigned group and per further
/// page of 999 members.
fn member_pages(tenant: &GraphTenant) -> u64 {
    tenant
        .assigned_groups(false)
        .iter()
        .map(|(id, _, _)| (tenant.members(id, false).len().max(1) as u64).div_ceil(999))
        .sum()
}

#[test]
fn a_large_tenant_costs_a_few_requests_and_none_per_user() {
    let sim = Simulator::start(GraphTenant::generate(20_000, 40, 30_000, 7));
    let tenant = sim.state.tenant();

    let listing = listing(&sim, &sim.entra_config());
    let counts = sim.state.request_counts();

    assert!(listing.users.len() > 4_000);
    assert_eq!(counts.route("GET /users/{id}"), 0);
    assert_eq!(
        counts.route("GET /users"),
        21,
        "20,000 users in pages of 999"
    );
    assert_eq!(
        counts.route("GET /groups/{id}/members"),
        0,
        "members are read in batches"
    );
    let pages = member_pages(&tenant);
    assert_eq!(counts.batched_route("GET /groups/{id}/members"), pages);
    assert!(
        counts.route("POST /$batch") <= pages.div_ceil(20) + 1,
        "{counts:?}"
    );
    assert!(counts.total < 40, "{counts:?}");
}

#[test]
fn batched_members_follow_next_links_of_groups_spanning_several_pages() {
    // About 1,400 members per group: most assigned groups take two pages.
    let sim = Simulator::start(GraphTenant::generate(6_000, 44, 60_000, 31));
    let tenant = sim.state.tenant();
    let largest = tenant
        .assigned_groups(false)
        .iter()
        .map(|(_, _, members)| members.len())
        .max()
        .unwrap();
    assert!(largest > 999, "a group spans several pages: {largest}");

    let listing = listing(&sim, &sim.entra_config());
    let counts = sim.state.request_counts();

    assert_eq!(groups(&listing), expected_groups(&tenant, false));
    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(false));
    let pages = member_pages(&tenant);
    assert!(pages > 22, "groups need more than one page: {pages}");
    assert_eq!(counts.batched_route("GET /groups/{id}/members"), pages);
    assert_eq!(counts.route("GET /groups/{id}/members"), 0);
    // 22 first pages fill two batches; further pages follow in as few batches as fit.
    assert!(
        counts.route("POST /$batch") <= pages.div_ceil(20) + 3,
        "{counts:?}"
    );
}

#[test]
fn throttled_and_failed_sub_requests_are_retried_alone() {
    let sim = Simulator::start(GraphTenant::generate(3_000, 50, 9_000, 17));
    let tenant = sim.state.tenant();
    let assigned: Vec<String> = tenant
        .assigned_groups(false)
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert!(assigned.len() > 20, "the members take two batches");
    let faults = [
        (
            &assigned[3],
            Fault::TooManyRequests {
                retry_after_secs: Some(7),
            },
            2,
        ),
        (
            &assigned[21],
            Fault::ServiceUnavailable {
                retry_after_secs: None,
            },
            1,
        ),
        (&assigned[9], Fault::InternalServerError, 1),
    ];
    for (group, fault, times) in faults {
        sim.state.push_fault(FaultRule {
            path_contains: Some(format!("/groups/{group}/members")),
            fault,
            times,
        });
    }
    let clock = clock();

    let listing = check(
        &entra(),
        &sim.entra_config(),
        &bad_config(),
        http_client(&clock),
    );
    let counts = sim.state.request_counts();

    assert_eq!(groups(&listing), expected_groups(&tenant, false));
    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(false));
    // Four failed sub-requests are sent again; the others are not repeated.
    assert_eq!(
        counts.batched_route("GET /groups/{id}/members"),
        member_pages(&tenant) + 4
    );
    // Retry-After is honoured through the host's clock, twice; 503 and 500 back off.
    let sleeps = clock.sleeps();
    assert_eq!(
        sleeps
            .iter()
            .filter(|s| **s == Duration::from_secs(7))
            .count(),
        2,
        "{sleeps:?}"
    );
    // Batch 1 holds 20 groups, two fail; batch 2 the other five and those two, of which the
    // throttled one fails again with the fifth group's 503; batch 3 retries those two.
    assert_eq!(
        counts.route("POST /$batch"),
        3,
        "retries go in later batches: {counts:?}"
    );
}

#[test]
fn a_sub_request_failing_for_good_fails_the_listing_with_graph_reason() {
    let sim = Simulator::start(GraphTenant::generate(400, 6, 600, 13));
    let tenant = sim.state.tenant();
    let (group, _, _) = tenant.assigned_groups(false).remove(1);
    sim.state.push_fault(FaultRule {
        path_contains: Some(format!("/groups/{group}/members")),
        fault: Fault::ServiceUnavailable {
            retry_after_secs: Some(1),
        },
        times: 50,
    });
    let clock = clock();
    let http = http_client(&clock);
    let mut session = entra().create(&sim.entra_config(), http).unwrap();

    let error = session.users_page(None).unwrap_err().to_string();

    assert!(error.contains("group members"), "{error}");
    assert!(error.contains("503"), "{error}");
    assert_eq!(
        clock.sleeps().len(),
        5,
        "five waits between six attempts: {:?}",
        clock.sleeps()
    );
}

#[test]
fn throttling_and_unavailable_answers_are_retried_by_the_host() {
    let sim = Simulator::start(GraphTenant::generate(1_500, 6, 2_000, 11));
    let tenant = sim.state.tenant();
    sim.state.push_fault(FaultRule {
        path_contains: Some("/users".into()),
        fault: Fault::TooManyRequests {
            retry_after_secs: Some(7),
        },
        times: 2,
    });
    sim.state.push_fault(FaultRule {
        path_contains: Some("/members".into()),
        fault: Fault::ServiceUnavailable {
            retry_after_secs: None,
        },
        times: 1,
    });
    sim.state.push_fault(FaultRule {
        path_contains: Some("/oauth2/".into()),
        fault: Fault::InternalServerError,
        times: 1,
    });
    let clock = clock();

    let listing = check(
        &entra(),
        &sim.entra_config(),
        &bad_config(),
        http_client(&clock),
    );

    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(false));
    let sleeps = clock.sleeps();
    assert_eq!(
        sleeps
            .iter()
            .filter(|s| **s == Duration::from_secs(7))
            .count(),
        2,
        "{sleeps:?}"
    );
    assert_eq!(
        sleeps.len(),
        4,
        "two Retry-After waits and two backoffs: {sleeps:?}"
    );
}

#[test]
fn an_access_token_expiring_mid_run_is_renewed() {
    let sim = Simulator::start(GraphTenant::generate(2_000, 6, 2_000, 5));
    let tenant = sim.state.tenant();
    sim.state.expire_tokens_after(4);

    let listing = listing(&sim, &sim.entra_config());

    assert_eq!(user_ids(&listing), tenant.assigned_user_ids(false));
    assert_eq!(sim.state.tokens_issued(), 2);
}

#[test]
fn a_token_past_its_lifetime_is_renewed_before_use() {
    let sim = Simulator::start(GraphTenant::generate(50, 3, 60, 9));
    let clock = clock();
    let mut session = entra()
        .create(&sim.entra_config(), http_client(&clock))
        .unwrap();

    session.users_page(None).unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    session.users_page(None).unwrap();

    assert_eq!(sim.state.tokens_issued(), 2);
}

#[test]
fn a_wrong_client_secret_is_unauthorized_and_never_echoed() {
    let sim = Simulator::start(GraphTenant::generate(10, 2, 10, 1));
    let mut config = sim.entra_config();
    config["client_secret"] = json!("wrong-secret-value-123");
    let mut session = entra().create(&config, http_client(&clock())).unwrap();

    let err = session.users_page(None).unwrap_err();

    assert!(
        matches!(err.adapter_error(), Some(AdapterError::Unauthorized { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert!(!err.to_string().contains("wrong-secret-value-123"));
    assert!(!format!("{err:?}").contains("wrong-secret-value-123"));
}

#[test]
fn config_problems_name_their_key_paths() {
    let problems = entra()
        .validate_config(
            &json!({"tenant_id": "t", "client_id": "x", "client_secret": "s",
            "app_id": "11111111-2222-3333-4444-555555555555",
            "extra_user_attributes": ["department", "no spaces"]}),
        )
        .unwrap();

    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["tenant_id", "client_id", "extra_user_attributes[1]"]
    );
}

#[test]
fn extra_user_attributes_are_passed_through() {
    let sim = Simulator::start(GraphTenant::generate(40, 2, 40, 4));
    let mut config = sim.entra_config();
    config["extra_user_attributes"] = json!(["department"]);

    let listing = listing(&sim, &config);

    assert!(
        listing
            .users
            .iter()
            .all(|user| user.extra.contains_key("department"))
    );
}

fn delta_round(
    session: &mut provisiond::plugins::AdapterSession,
    token: Option<String>,
) -> (Vec<DeltaPage>, String) {
    let mut pages = Vec::new();
    let mut cursor = token;
    for _ in 0..1_000 {
        let page = session.delta(cursor.as_deref()).unwrap();
        let next = page.next.clone();
        pages.push(page);
        match next {
            DeltaNext::More { cursor: next } => cursor = Some(next),
            DeltaNext::Complete { delta_token } => return (pages, delta_token),
        }
    }
    panic!("delta round did not complete");
}

#[test]
fn delta_reports_changes_since_the_previous_round() {
    let sim = Simulator::start(GraphTenant::generate(400, 4, 500, 21));
    let tenant = sim.state.tenant();
    let mut session = entra()
        .create(&sim.entra_config(), http_client(&clock()))
        .unwrap();

    let (first, token) = delta_round(&mut session, None);
    let initial: BTreeSet<String> = first
        .iter()
        .flat_map(|p| p.users.iter().map(|u| u.external_id.clone()))
        .collect();
    assert_eq!(initial, tenant.assigned_user_ids(false));

    // Direct assignments are users 0, 5, 10, ...; group 0 is assigned.
    let (renamed, disabled, deleted) = (
        &tenant.users[0].id,
        &tenant.users[5].id,
        &tenant.users[10].id,
    );
    sim.state.rename_user(renamed, "Renamed Person");
    sim.state.set_account_enabled(disabled, false);
    sim.state.delete_user(deleted);
    let group = &tenant.groups[0].id;
    sim.state.add_member(group, &tenant.users[1].id);

    let (second, _) = delta_round(&mut session, Some(token));
    let users: Vec<_> = second.iter().flat_map(|p| p.users.clone()).collect();
    let removed: Vec<_> = second
        .iter()
        .flat_map(|p| p.removed_users.clone())
        .collect();
    let groups: Vec<_> = second.iter().flat_map(|p| p.groups.clone()).collect();

    let by_id = |id: &str| users.iter().find(|u| u.external_id == id).cloned();
    assert_eq!(
        by_id(renamed).unwrap().display_name.as_deref(),
        Some("Renamed Person")
    );
    assert!(!by_id(disabled).unwrap().active);
    assert!(removed.contains(deleted));
    assert_eq!(users.len(), 2, "only changed users: {users:?}");
    let changed = groups.iter().find(|g| &g.id == group).unwrap();
    assert!(changed.members.contains(&tenant.users[1].id));
}

/// A 200 answer that is not a page of objects with ids (a proxy's error page, a truncated
/// reply) fails the listing: read as an empty page, it would end a complete listing without
/// the users it hides, and they would be deactivated.
#[test]
fn a_malformed_page_fails_the_listing_instead_of_reading_as_empty() {
    let tenant = GraphTenant::generate(60, 3, 80, 17);
    let cases = [
        ("appRoleAssignedTo", json!({"@odata.context": "x"})),
        ("/members", json!({"value": "not a list"})),
        ("/users", json!({"value": null})),
        ("/users", json!({"value": [{"displayName": "no id"}]})),
        (
            "appRoleAssignedTo",
            json!({"value": [{"principalType": "User"}]}),
        ),
        ("/members", json!({"value": [7]})),
    ];
    for (path, body) in cases {
        let sim = Simulator::start(tenant.clone());
        sim.state.push_fault(FaultRule {
            path_contains: Some(path.into()),
            fault: Fault::Body(body.clone()),
            times: 1,
        });
        let mut session = entra()
            .create(&sim.entra_config(), http_client(&clock()))
            .unwrap();

        let outcome = session.users_page(None);

        let error = outcome.expect_err(&format!("{path} answering {body}"));
        assert!(
            matches!(error.adapter_error(), Some(AdapterError::Remote { .. })),
            "{path} answering {body}: {error}"
        );
    }
}

/// Graph's `@odata.nextLink` coming back to a page already read would page without end
/// inside the adapter, where the daemon's cursor checks do not see it.
#[test]
fn a_next_link_looping_inside_the_adapter_fails_the_listing() {
    let tenant = GraphTenant::generate(60, 3, 80, 19);
    let (group, _, _) = tenant.assigned_groups(false).remove(0);
    for (path, relative) in [
        (
            "appRoleAssignedTo".to_owned(),
            "/servicePrincipals/sp/appRoleAssignedTo?$skiptoken=again".to_owned(),
        ),
        (
            format!("/groups/{group}/members"),
            format!("/groups/{group}/members?$skiptoken=again"),
        ),
    ] {
        let sim = Simulator::start(tenant.clone());
        let graph = sim.entra_config()["graph_base_url"]
            .as_str()
            .unwrap()
            .to_owned();
        sim.state.push_fault(FaultRule {
            path_contains: Some(path.clone()),
            fault: Fault::Body(json!({
                "value": [],
                "@odata.nextLink": format!("{graph}{relative}"),
            })),
            times: 1_000,
        });
        let mut session = entra()
            .create(&sim.entra_config(), http_client(&clock()))
            .unwrap();

        let error = session.users_page(None).map(|_| ()).unwrap_err();

        assert!(error.to_string().contains("already"), "{path}: {error}");
        assert!(
            sim.state.request_counts().total < 20,
            "{path}: stopped at the repeated link: {:?}",
            sim.state.request_counts()
        );
    }
}
