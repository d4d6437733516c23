//! The one schema both backends share. Kept by hand: `diesel print-schema` would
//! give backend-specific types (SQLite INTEGER ids as i32), and we want i64 everywhere.

diesel::table! {
    queues (id) {
        id -> BigInt,
        name -> Text,
        level -> Text,
        description -> Text,
        email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        calendar_id -> Nullable<BigInt>,
        supervisor_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    agents (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        time_zone -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    queue_members (queue_id, agent_id) {
        queue_id -> BigInt,
        agent_id -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        agent_id -> BigInt,
        token_hash -> Text,
        kind -> Text,
        name -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    topics (id) {
        id -> BigInt,
        name -> Text,
        queue_id -> BigInt,
        info_script -> Text,
        public -> Bool,
        active -> Bool,
        created_at -> Timestamp,
        form -> Nullable<Text>,
        in_statistics -> Bool,
    }
}

diesel::table! {
    subjects (id) {
        id -> BigInt,
        topic_id -> BigInt,
        name -> Text,
        queue_id -> Nullable<BigInt>,
        info_script -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        name -> Text,
        organisation -> Text,
        city -> Text,
        address -> Text,
        contract_number -> Nullable<Text>,
        language -> Text,
        notes -> Text,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        external_key -> Nullable<Text>,
    }
}

diesel::table! {
    contact_attributes (id) {
        id -> BigInt,
        contact_id -> BigInt,
        position -> Integer,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    contact_emails (id) {
        id -> BigInt,
        contact_id -> BigInt,
        email -> Text,
        bounced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contact_phones (id) {
        id -> BigInt,
        contact_id -> BigInt,
        phone -> Text,
    }
}

diesel::table! {
    ticket_counters (year) {
        year -> Integer,
        last_value -> BigInt,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        number -> Text,
        subject -> Text,
        channel -> Text,
        state -> Text,
        priority -> Integer,
        queue_id -> BigInt,
        assignee_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        topic_id -> Nullable<BigInt>,
        subject_id -> Nullable<BigInt>,
        escalated_from_queue_id -> Nullable<BigInt>,
        escalation_reason -> Nullable<Text>,
        resolution -> Nullable<Text>,
        merged_into_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    intake_keys (key) {
        key -> Text,
        ticket_id -> BigInt,
        article_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        public -> Bool,
        author_agent_id -> Nullable<BigInt>,
        author_contact_id -> Nullable<BigInt>,
        body -> Text,
        created_at -> Timestamp,
        html -> Nullable<Text>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        article_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        actor_agent_id -> Nullable<BigInt>,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_links (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        linked_ticket_id -> BigInt,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        entity -> Text,
        entity_id -> BigInt,
        action -> Text,
        actor_agent_id -> Nullable<BigInt>,
        changes -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(queue_members -> queues (queue_id));
diesel::joinable!(queue_members -> agents (agent_id));
diesel::joinable!(api_tokens -> agents (agent_id));
diesel::joinable!(topics -> queues (queue_id));
diesel::joinable!(subjects -> topics (topic_id));
diesel::joinable!(contact_emails -> contacts (contact_id));
diesel::joinable!(contact_phones -> contacts (contact_id));
diesel::joinable!(contact_attributes -> contacts (contact_id));
diesel::joinable!(tickets -> contacts (contact_id));
diesel::joinable!(articles -> tickets (ticket_id));
diesel::joinable!(attachments -> articles (article_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));

diesel::table! {
    mailboxes (id) {
        id -> BigInt,
        name -> Text,
        address -> Text,
        purpose -> Text,
        queue_id -> BigInt,
        imap_host -> Nullable<Text>,
        imap_port -> Nullable<Integer>,
        imap_tls -> Text,
        imap_user -> Nullable<Text>,
        imap_password -> Nullable<Text>,
        folder -> Text,
        processed_action -> Text,
        processed_folder -> Nullable<Text>,
        authorised_senders -> Text,
        uidvalidity -> Nullable<BigInt>,
        last_uid -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
        poll_locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    inbound_messages (id) {
        id -> BigInt,
        mailbox_id -> Nullable<BigInt>,
        dedupe_key -> Text,
        message_id -> Nullable<Text>,
        source -> Text,
        raw -> Binary,
        size -> BigInt,
        sha256 -> Text,
        from_address -> Nullable<Text>,
        subject -> Nullable<Text>,
        status -> Text,
        cause -> Nullable<Text>,
        detail -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
        article_id -> Nullable<BigInt>,
        imap_uid -> Nullable<BigInt>,
        uidvalidity -> Nullable<BigInt>,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_threads (message_id, ticket_id) {
        message_id -> Text,
        ticket_id -> BigInt,
        direction -> Text,
        mailbox_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        article_id -> Nullable<BigInt>,
        kind -> Text,
        mailbox_id -> Nullable<BigInt>,
        from_address -> Text,
        to_address -> Text,
        reply_to -> Nullable<Text>,
        subject -> Text,
        body -> Text,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        refs -> Text,
        auto_submitted -> Bool,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_polls (id) {
        id -> BigInt,
        mailbox_id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        server_count -> Nullable<BigInt>,
        fetched -> BigInt,
        ingested -> BigInt,
        duplicates -> BigInt,
        quarantined -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    delegations (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        queue_id -> BigInt,
        agent_id -> Nullable<BigInt>,
        mailbox_id -> BigInt,
        to_address -> Text,
        task -> Text,
        token -> Text,
        state -> Text,
        due_at -> Timestamp,
        external_ref -> Nullable<Text>,
        created_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    public_access (ticket_id) {
        ticket_id -> BigInt,
        token_hash -> Text,
        rating_token_hash -> Nullable<Text>,
        language -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ratings (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        score -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    callback_requests (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        phone -> Text,
        mode -> Text,
        preferred_at -> Nullable<Timestamp>,
        note -> Text,
        state -> Text,
        created_at -> Timestamp,
        queue_id -> Nullable<BigInt>,
        topic_id -> Nullable<BigInt>,
        source -> Text,
        call_id -> Nullable<BigInt>,
        slot_start -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        sla_start -> Nullable<Timestamp>,
        first_attempt_at -> Nullable<Timestamp>,
        attempts -> Integer,
        offered_to -> Nullable<BigInt>,
        offer_expires_at -> Nullable<Timestamp>,
        agent_id -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    callback_offers (id) {
        id -> BigInt,
        callback_id -> BigInt,
        agent_id -> BigInt,
        round -> Integer,
        offered_at -> Timestamp,
        expires_at -> Timestamp,
        answer -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    callback_attempts (id) {
        id -> BigInt,
        callback_id -> BigInt,
        agent_id -> BigInt,
        outcome -> Text,
        note -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    service_lines (id) {
        id -> BigInt,
        number -> Text,
        service -> Text,
        caller_kind -> Text,
        privacy_notice -> Text,
        queue_id -> BigInt,
        created_at -> Timestamp,
        auto_callback -> Bool,
    }
}

diesel::table! {
    ivr_options (line_id, digit) {
        line_id -> BigInt,
        digit -> Text,
        topic_id -> BigInt,
    }
}

diesel::table! {
    calls (id) {
        id -> BigInt,
        external_id -> Text,
        line_id -> Nullable<BigInt>,
        called -> Text,
        caller -> Text,
        caller_e164 -> Nullable<Text>,
        ivr_choice -> Nullable<Text>,
        topic_id -> Nullable<BigInt>,
        agent_id -> Nullable<BigInt>,
        state -> Text,
        offered_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        ticket_id -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        noted_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    cti_events (event_id) {
        event_id -> Text,
        call_id -> BigInt,
        kind -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    agent_presence (agent_id) {
        agent_id -> BigInt,
        state -> Text,
        since -> Timestamp,
        wrap_up_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ticket_fields (ticket_id, name) {
        ticket_id -> BigInt,
        name -> Text,
        seq -> Integer,
        label -> Text,
        kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    service_points (id) {
        id -> BigInt,
        external_key -> Text,
        name -> Text,
        service -> Text,
        region -> Text,
        province -> Text,
        province_code -> Text,
        city -> Text,
        address -> Text,
        postcode -> Text,
        opening_hours -> Text,
        phone -> Text,
        email -> Text,
        active -> Bool,
        region_key -> Text,
        province_key -> Text,
        city_key -> Text,
        service_key -> Text,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_status (name) {
        name -> Text,
        instance -> Text,
        last_started_at -> Timestamp,
        last_finished_at -> Timestamp,
        last_duration_ms -> BigInt,
        last_outcome -> Text,
        last_detail -> Text,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
        runs -> BigInt,
        failures -> BigInt,
    }
}

diesel::table! {
    sla_policies (id) {
        id -> BigInt,
        name -> Text,
        queue_id -> Nullable<BigInt>,
        priority -> Nullable<Integer>,
        topic_id -> Nullable<BigInt>,
        first_response_minutes -> Nullable<Integer>,
        next_response_minutes -> Nullable<Integer>,
        resolution_minutes -> Nullable<Integer>,
        warning_percent -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sla_clocks (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        policy_id -> BigInt,
        kind -> Text,
        target_minutes -> Integer,
        warning_percent -> Integer,
        state -> Text,
        started_at -> Timestamp,
        due_at -> Nullable<Timestamp>,
        warn_at -> Nullable<Timestamp>,
        stopped_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        calendar_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    sla_clock_events (id) {
        id -> BigInt,
        clock_id -> BigInt,
        kind -> Text,
        reason -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        at -> Timestamp,
    }
}

diesel::table! {
    catalogue_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    catalogue_version,
    calendars,
    escalation_rules,
    escalation_firings,
    job_status,
    queues,
    agents,
    queue_members,
    api_tokens,
    topics,
    subjects,
    contacts,
    contact_emails,
    contact_phones,
    ticket_counters,
    tickets,
    intake_keys,
    articles,
    attachments,
    ticket_events,
    ticket_links,
    audit_log,
    mailboxes,
    inbound_messages,
    mail_threads,
    outbox,
    mail_polls,
    delegations,
    public_access,
    ratings,
    callback_requests,
    callback_offers,
    callback_attempts,
    service_lines,
    ivr_options,
    calls,
    cti_events,
    agent_presence,
    ticket_fields,
    contact_attributes,
    service_points,
    sla_policies,
    sla_clocks,
    sla_clock_events,
);

diesel::table! {
    calendars (id) {
        id -> BigInt,
        name -> Text,
        time_zone -> Text,
        hours -> Text,
        italian_holidays -> Bool,
        holidays -> Text,
        closed_days -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    escalation_rules (id) {
        id -> BigInt,
        queue_id -> BigInt,
        name -> Text,
        on_event -> Text,
        clock_kind -> Nullable<Text>,
        notify_assignee -> Bool,
        notify_supervisor -> Bool,
        raise_priority -> Bool,
        escalate_to_queue_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    escalation_firings (rule_id, clock_id) {
        rule_id -> BigInt,
        clock_id -> BigInt,
        ticket_id -> BigInt,
        fired_at -> Timestamp,
        actions -> Text,
    }
}
