//! One portable schema for both backends. Written by hand (not `diesel print-schema`) so that SQLite's
//! `INTEGER PRIMARY KEY` and PostgreSQL's identity columns both read as `BigInt`.

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        name -> Text,
        created_at -> BigInt,
        archived_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        is_super_admin -> Bool,
        disabled_at -> Nullable<BigInt>,
        session_epoch -> BigInt,
        failed_attempts -> BigInt,
        last_failed_at -> Nullable<BigInt>,
        locked_at -> Nullable<BigInt>,
        last_sign_in_at -> Nullable<BigInt>,
        last_sign_in_ip -> Nullable<Text>,
        password_changed_at -> Nullable<BigInt>,
        totp_sealed -> Nullable<Binary>,
        totp_key_version -> Nullable<BigInt>,
        totp_confirmed_at -> Nullable<BigInt>,
        totp_last_step -> Nullable<BigInt>,
        oidc_subject -> Nullable<Text>,
        email_unverified -> Bool,
        created_at -> BigInt,
        email_digest -> Bool,
        digest_sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    memberships (account_id, workspace_id) {
        account_id -> BigInt,
        workspace_id -> BigInt,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> BigInt,
        digest -> Binary,
        account_id -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        ip -> Text,
        user_agent -> Text,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        account_id -> BigInt,
        role -> Text,
        invited_by -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        account_id -> BigInt,
        digest -> Binary,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_links (id) {
        id -> BigInt,
        account_id -> BigInt,
        digest -> Binary,
        created_by -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        purpose -> Text,
    }
}

diesel::table! {
    permissions (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        label -> Text,
        description -> Text,
        risk -> Text,
        writes -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    permission_rules (id) {
        id -> BigInt,
        permission_id -> BigInt,
        method -> Text,
        pattern -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        description -> Text,
        builtin -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    key_type_roles (key_type_id, role_id) {
        key_type_id -> BigInt,
        role_id -> BigInt,
    }
}

diesel::table! {
    role_permissions (role_id, permission_id) {
        role_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::table! {
    account_roles (account_id, role_id) {
        account_id -> BigInt,
        role_id -> BigInt,
    }
}

diesel::table! {
    account_permissions (account_id, permission_id) {
        account_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::table! {
    key_types (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        prefix -> Text,
        id_field_label -> Nullable<Text>,
        editable -> Bool,
        one_per_account -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        key_type_id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        identifier -> Nullable<Text>,
        owner_id -> BigInt,
        act_as_owner -> Bool,
        status -> Text,
        expires_at -> Nullable<BigInt>,
        ip_allow -> Nullable<Text>,
        rate_limit -> Nullable<BigInt>,
        rate_window_secs -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Nullable<BigInt>,
        updated_at -> BigInt,
        search_text -> Text,
    }
}

diesel::table! {
    key_secrets (id) {
        id -> BigInt,
        key_id -> BigInt,
        digest -> Binary,
        sealed -> Binary,
        master_key_version -> BigInt,
        hint -> Text,
        created_at -> BigInt,
        retires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_key_roles (key_id, role_id) {
        key_id -> BigInt,
        role_id -> BigInt,
    }
}

diesel::table! {
    api_key_permissions (key_id, permission_id) {
        key_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::table! {
    key_usage (key_id) {
        key_id -> BigInt,
        last_used_at -> BigInt,
        last_used_ip -> Nullable<Text>,
        last_used_path -> Nullable<Text>,
        use_count -> BigInt,
        samples -> BigInt,
        sample_due -> BigInt,
    }
}

diesel::table! {
    key_usage_daily (key_id, day) {
        key_id -> BigInt,
        day -> BigInt,
        uses -> BigInt,
    }
}

diesel::table! {
    key_recent_uses (id) {
        id -> BigInt,
        key_id -> BigInt,
        used_at -> BigInt,
        ip -> Nullable<Text>,
        path -> Nullable<Text>,
        slot -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        occurred_at -> BigInt,
        actor_account_id -> Nullable<BigInt>,
        actor_key_id -> Nullable<BigInt>,
        actor_label -> Text,
        source_ip -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        target_label -> Nullable<Text>,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        prev_hash -> Nullable<Binary>,
        hash -> Binary,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        account_id -> BigInt,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        created_at -> BigInt,
        read_at -> Nullable<BigInt>,
        digest_pending -> Bool,
    }
}

diesel::table! {
    instance_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    workspace_settings (workspace_id, name) {
        workspace_id -> BigInt,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    shared_secrets (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        sealed -> Binary,
        master_key_version -> BigInt,
        created_at -> BigInt,
        retires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        url -> Text,
        description -> Text,
        enabled -> Bool,
        created_at -> BigInt,
        format -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        notification_id -> Nullable<BigInt>,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    change_epoch (id) {
        id -> BigInt,
        epoch -> BigInt,
    }
}

diesel::table! {
    change_log (epoch) {
        epoch -> BigInt,
        scopes -> Text,
    }
}

diesel::joinable!(memberships -> accounts (account_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(invitations -> workspaces (workspace_id));
diesel::joinable!(invitations -> accounts (account_id));
diesel::joinable!(console_sessions -> accounts (account_id));
diesel::joinable!(api_keys -> key_types (key_type_id));
diesel::joinable!(api_keys -> workspaces (workspace_id));
diesel::joinable!(key_secrets -> api_keys (key_id));
diesel::joinable!(key_usage -> api_keys (key_id));
diesel::joinable!(permission_rules -> permissions (permission_id));
diesel::joinable!(key_type_roles -> key_types (key_type_id));
diesel::joinable!(key_type_roles -> roles (role_id));
diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(role_permissions -> permissions (permission_id));
diesel::joinable!(notifications -> accounts (account_id));
diesel::joinable!(api_key_roles -> roles (role_id));
diesel::joinable!(account_roles -> roles (role_id));
diesel::joinable!(account_permissions -> permissions (permission_id));
diesel::joinable!(api_key_permissions -> permissions (permission_id));
diesel::joinable!(api_key_roles -> api_keys (key_id));
diesel::joinable!(account_roles -> accounts (account_id));
diesel::joinable!(account_permissions -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    workspaces,
    accounts,
    memberships,
    console_sessions,
    invitations,
    recovery_codes,
    password_links,
    permissions,
    permission_rules,
    roles,
    role_permissions,
    key_type_roles,
    account_roles,
    account_permissions,
    key_types,
    api_keys,
    key_secrets,
    api_key_roles,
    api_key_permissions,
    key_usage,
    key_usage_daily,
    key_recent_uses,
    audit_events,
    notifications,
    instance_settings,
    workspace_settings,
    shared_secrets,
    webhooks,
    webhook_deliveries,
);
diesel::joinable!(password_links -> accounts (account_id));

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        account_id -> Nullable<BigInt>,
        recipient -> Text,
        kind -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    email_muted (account_id, kind) {
        account_id -> BigInt,
        kind -> Text,
    }
}
