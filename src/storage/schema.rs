// @generated automatically by Diesel CLI.

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        code_challenge -> Nullable<Text>,
        nonce -> Nullable<Text>,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
        session_id -> Nullable<Text>,
        redirect_uri_given -> Bool,
        sign_in_id -> Text,
        resource -> Nullable<Text>,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        client_type -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        first_party -> Bool,
        created_at -> Timestamp,
        can_introspect -> Bool,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        require_mfa -> Bool,
        id_token_signed_response_alg -> Nullable<Text>,
        require_dpop -> Bool,
    }
}

diesel::table! {
    factors (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        name -> Text,
        secret -> Nullable<Text>,
        credential -> Nullable<Text>,
        last_step -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        credential_id -> Nullable<Text>,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    identities (id) {
        id -> Text,
        user_id -> Text,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    one_time_tokens (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        subject -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
        payload -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        message -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pending_registrations (id) {
        id -> Text,
        email -> Text,
        email_normalized -> Text,
        password_hash -> Text,
        username -> Nullable<Text>,
        full_name -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        anonymous_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        contested -> Bool,
        browser_hash -> Nullable<Text>,
    }
}

diesel::table! {
    dpop_proofs (id) {
        id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    resources (identifier) {
        identifier -> Text,
        name -> Text,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        successor_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        device_id -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        scope -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        logout_notified_at -> Nullable<Timestamp>,
        logout_attempts -> Integer,
        logout_next_at -> Nullable<Timestamp>,
        sign_in_id -> Text,
        dpop_jkt -> Nullable<Text>,
        resource -> Nullable<Text>,
    }
}

diesel::table! {
    sign_ins (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Nullable<Text>,
        auth_time -> Timestamp,
        amr -> Text,
        acr -> Text,
        due -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ceremony -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        pending_email -> Nullable<Text>,
        username -> Nullable<Text>,
        full_name -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        role -> Text,
        is_email_verified -> Bool,
        is_active -> Bool,
        is_anonymous -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        sealed_key -> Binary,
        created_at -> Timestamp,
        activates_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ended_sessions (session_id) {
        session_id -> Text,
        user_id -> Text,
        client_id -> Text,
        ended_at -> Timestamp,
        attempts -> Integer,
        next_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    instance_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        kind -> Text,
        actor -> Text,
        actor_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        outcome -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    known_devices (user_id, device_hash) {
        user_id -> Text,
        device_hash -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
    }
}

diesel::joinable!(authorization_codes -> clients (client_id));
diesel::joinable!(authorization_codes -> users (user_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(ended_sessions -> clients (client_id));
diesel::joinable!(consents -> users (user_id));
diesel::joinable!(factors -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(pending_registrations -> users (anonymous_user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sessions -> sign_ins (sign_in_id));
diesel::joinable!(sign_ins -> users (user_id));
diesel::joinable!(identities -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    authorization_codes,
    identities,
    known_devices,
    clients,
    consents,
    dpop_proofs,
    ended_sessions,
    factors,
    one_time_tokens,
    instance_settings,
    outbox,
    pending_registrations,
    rate_limits,
    recovery_codes,
    resources,
    refresh_tokens,
    revoked_access_tokens,
    sessions,
    sign_ins,
    signing_keys,
    users,
);
