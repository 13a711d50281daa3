//! Diesel table definitions, matching `migrations/{sqlite,postgres}`.

diesel::table! {
    users (id) {
        id -> Text,
        connection -> Text,
        external_id -> Nullable<Text>,
        email -> Text,
        email_key -> Text,
        user_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        source -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        scim_resource -> Nullable<Text>,
        scim_deleted_at -> Nullable<Timestamp>,
        scim_external_id -> Nullable<Text>,
        scim_user_name_key -> Nullable<Text>,
        scim_work_email_key -> Nullable<Text>,
    }
}

diesel::table! {
    identities (user_id, issuer, subject) {
        user_id -> Text,
        issuer -> Text,
        subject -> Text,
        connection -> Text,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    saml_answered_requests (id) {
        id -> Text,
        connection -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    saml_replay (connection, assertion_id) {
        connection -> Text,
        assertion_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        connection -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_audit (id) {
        id -> BigInt,
        at -> Timestamp,
        connection -> Text,
        user_id -> Nullable<Text>,
        email -> Nullable<Text>,
        outcome -> Text,
        reason -> Text,
        detail -> Text,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        connection -> Text,
        external_id -> Nullable<Text>,
        display_name -> Text,
        source -> Text,
        version -> BigInt,
        scim_resource -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        scim_external_id -> Nullable<Text>,
        scim_display_name_key -> Nullable<Text>,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Text,
        connection -> Text,
        trigger -> Text,
        mode -> Text,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        counts -> Text,
        message -> Nullable<Text>,
    }
}

diesel::table! {
    sync_state (connection) {
        connection -> Text,
        delta_token -> Nullable<Text>,
        last_full_sync_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scim_tokens (id) {
        id -> Text,
        connection -> Text,
        token_hash -> Text,
        label -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        event_id -> Text,
        kind -> Text,
        connection -> Text,
        subject_id -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    delivery_cursors (name) {
        name -> Text,
        last_event -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(identities -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    identities,
    saml_answered_requests,
    saml_replay,
    sessions,
    login_audit,
    groups,
    group_members,
    sync_runs,
    sync_state,
    scim_tokens,
    events,
    delivery_cursors,
    leases,
);
