import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * In-code migrations, one schema for SQLite and PostgreSQL: only portable types
 * (text, integer, bigint), no auto-increment keys, ISO-8601 text timestamps.
 */
const migrations: Record<string, Migration> = {
  '0001_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('sites')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('control_key_id', 'text', (c) => c.notNull())
        .addColumn('delta_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('tickets')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('ticket_id', 'text', (c) => c.notNull())
        .addColumn('type_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('visit_date', 'text', (c) => c.notNull())
        .addColumn('slot_start', 'text')
        .addColumn('slot_end', 'text')
        .addColumn('persons', 'integer', (c) => c.notNull())
        .addColumn('entries_used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_entries', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('id_hash', 'text')
        .addColumn('updated_seq', 'bigint')
        .addPrimaryKeyConstraint('tickets_pk', ['site', 'ticket_id'])
        .execute();
      await db.schema
        .createTable('entries')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('gate', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ref_seq', 'bigint')
        .addColumn('ticket_id', 'text', (c) => c.notNull())
        .addColumn('type_id', 'text', (c) => c.notNull())
        .addColumn('credential', 'text', (c) => c.notNull())
        .addColumn('persons', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('entries_gate_seq_uq', ['site', 'gate', 'seq'])
        .execute();
      await db.schema.createIndex('entries_ticket_ix').on('entries').columns(['site', 'ticket_id']).execute();
      await db.schema.createIndex('entries_ref_ix').on('entries').columns(['site', 'gate', 'ref_seq']).execute();
      await db.schema
        .createTable('gate_state')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('gate', 'text', (c) => c.notNull())
        .addColumn('high_seq', 'text', (c) => c.notNull().defaultTo('0'))
        .addColumn('epoch', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text')
        .addColumn('last_status', 'text')
        .addColumn('status_at', 'text')
        .addColumn('online', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('gate_state_pk', ['site', 'gate'])
        .execute();
      await db.schema
        .createTable('deltas')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('deltas_pk', ['site', 'seq'])
        .execute();
      await db.schema
        .createTable('conflicts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('ticket_id', 'text', (c) => c.notNull())
        .addColumn('first_gate', 'text')
        .addColumn('first_seq', 'text')
        .addColumn('second_gate', 'text', (c) => c.notNull())
        .addColumn('second_seq', 'text', (c) => c.notNull())
        .addColumn('detected_at', 'text', (c) => c.notNull())
        .addColumn('resolved', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('conflicts_event_uq', ['site', 'ticket_id', 'second_gate', 'second_seq'])
        .execute();
    },
  },
  '0002_entries_ref_partial': {
    // Only not-passed corrections carry ref_seq: indexing the admissions' NULLs cost every
    // ingested admission an index write for nothing.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('entries_ref_ix').execute();
      await db.schema.createIndex('entries_ref_ix').on('entries').columns(['site', 'gate', 'ref_seq']).where(sql.ref('ref_seq'), 'is not', null).execute();
    },
  },
  '0003_park_operations': {
    // Orders, their visitors and tickets, sold counts per day and slot (the oversell guard),
    // idempotency keys, channel pause state and the staff audit log.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('orders')
        .addColumn('order_id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('type_id', 'text', (c) => c.notNull())
        .addColumn('gate_type_id', 'text', (c) => c.notNull())
        .addColumn('visit_date', 'text', (c) => c.notNull())
        .addColumn('slot_id', 'text', (c) => c.notNull())
        .addColumn('persons', 'integer', (c) => c.notNull())
        .addColumn('amount_fen', 'integer', (c) => c.notNull())
        .addColumn('pricing', 'text', (c) => c.notNull())
        .addColumn('contact_phone', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('paid_at', 'text')
        .addColumn('payment_ref', 'text')
        .addColumn('refunded_at', 'text')
        .addColumn('refund_reason', 'text')
        .execute();
      await db.schema.createIndex('orders_site_day_ix').on('orders').columns(['site', 'visit_date']).execute();
      await db.schema
        .createTable('order_visitors')
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('id_masked', 'text', (c) => c.notNull())
        .addColumn('ticket_id', 'text')
        .addPrimaryKeyConstraint('order_visitors_pk', ['order_id', 'idx'])
        .execute();
      await db.schema
        .createTable('inventory')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('visit_date', 'text', (c) => c.notNull())
        .addColumn('slot_id', 'text', (c) => c.notNull())
        .addColumn('sold', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('inventory_pk', ['site', 'visit_date', 'slot_id'])
        .execute();
      await db.schema
        .createTable('idempotency')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_pk', ['site', 'channel', 'key'])
        .execute();
      await db.schema
        .createTable('channel_state')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('paused', 'integer', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('channel_state_pk', ['site', 'channel'])
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('audit_log_site_at_ix').on('audit_log').columns(['site', 'at']).execute();
    },
  },
  '0004_reports': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('reports')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('generated_at', 'text', (c) => c.notNull())
        .addColumn('report', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('reports_pk', ['site', 'date'])
        .execute();
      // Staff alerts as sent (capacity levels, conflicts, channel pauses): the dashboard's history.
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('level', 'text')
        .addColumn('message_zh', 'text', (c) => c.notNull())
        .addColumn('message_en', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_site_at_ix').on('alerts').columns(['site', 'at']).execute();
      // Dashboard and reports read today's admissions by time.
      await db.schema.createIndex('entries_site_at_ix').on('entries').columns(['site', 'at']).execute();
    },
  },
  '0005_trust': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      // The device registry: one token per gate or screen (only its SHA-256), revocable.
      await db.schema
        .createTable('device_credentials')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('token_sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addPrimaryKeyConstraint('device_credentials_pk', ['site', 'kind', 'device'])
        .execute();
      // An admission the cloud does not take on the gate's word (unknown ticket, unverifiable
      // ST2 code, faster than a lane, from the future): kept, flagged, counted nowhere.
      await db.schema.alterTable('entries').addColumn('anomaly', 'text').execute();
      // A status epoch beyond any real gate's life pinned its gate before epochs were bounded: unpin.
      await db.updateTable('gate_state').set({ epoch: 0 }).where('epoch', '>', 2 ** 31 - 1).execute();
    },
  },
  '0006_delta_published': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      // How far each site's deltas have been published, so they leave in seq order whatever
      // instance committed them. Its own table: `sites` is the row every seq allocation locks.
      await db.schema
        .createTable('delta_published')
        .addColumn('site', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute();
      // Existing sites: what is stored is taken as published (the gates resynced meanwhile if not).
      await sql`INSERT INTO delta_published (site, seq) SELECT id, delta_seq FROM sites`.execute(db);
    },
  },
  '0007_shared_alerts': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      // With several instances on one store, a level change or a conflict must be announced
      // and alerted once: the instance that claims it in the store does it.
      await db.schema
        .createTable('capacity_levels')
        .addColumn('site', 'text', (c) => c.primaryKey())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('conflicts').addColumn('alerted_at', 'text').execute();
      // Conflicts from before were alerted (or taken as seen) by the instance that was running.
      await db.updateTable('conflicts').set({ alerted_at: sql`detected_at` }).execute();
    },
  },
  '0008_visitor_id_index': {
    // The real-name rule (tickets per ID number per day) looks an order's visitors up by ID hash.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.createIndex('order_visitors_id_hash_ix').on('order_visitors').column('id_hash').execute();
    },
  },
  '0009_payments': {
    // Orders paid through WeChat Pay / Alipay (modules/payments): the channel's payment mode
    // kept on each order, the provider-mode refund's state, the payment attempts at the
    // providers, the notifications already handled, and the refunds sent.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('orders').addColumn('payment_mode', 'text', (c) => c.notNull().defaultTo('partner')).execute();
      await db.schema.alterTable('orders').addColumn('refund_state', 'text').execute();
      await db.schema.alterTable('orders').addColumn('refund_no', 'text').execute();
      await db.schema.createIndex('orders_mode_status_ix').on('orders').columns(['payment_mode', 'status', 'created_at']).execute();
      await db.schema
        .createTable('payments')
        .addColumn('out_trade_no', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('amount_fen', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('code_url', 'text')
        .addColumn('auth_code_hash', 'text')
        .addColumn('transaction_id', 'text')
        .addColumn('paid_fen', 'integer')
        .addColumn('paid_at', 'text')
        .addColumn('outcome', 'text')
        .addColumn('failure', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payments_order_ix').on('payments').columns(['site', 'order_id']).execute();
      await db.schema.createIndex('payments_state_ix').on('payments').columns(['state', 'outcome']).execute();
      await db.schema
        .createTable('payment_notifications')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('notification_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('payment_notifications_pk', ['provider', 'notification_id'])
        .execute();
      await db.schema
        .createTable('payment_refunds')
        .addColumn('out_refund_no', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('amount_fen', 'integer', (c) => c.notNull())
        .addColumn('total_fen', 'integer', (c) => c.notNull())
        .addColumn('cause', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('refund_id', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('next_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('succeeded_at', 'text')
        .execute();
      await db.schema.createIndex('payment_refunds_order_ix').on('payment_refunds').columns(['site', 'order_id']).execute();
      await db.schema.createIndex('payment_refunds_state_ix').on('payment_refunds').columns(['state', 'next_at']).execute();
    },
  },
  '0010_sms_messages': {
    // Texts to visitors through a real SMS provider (modules/sms): one row per message with
    // its state (queued → sent → delivered | failed; refused and unknown), the provider's
    // message id the delivery receipts name, and the phone only as a keyed hash and masked.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('sms_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_message_id', 'text')
        .addColumn('phone_hash', 'text', (c) => c.notNull())
        .addColumn('phone_masked', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('lang', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('done_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // Per-phone throttling counts a phone's recent texts; staff list a site's newest; receipts find theirs.
      await db.schema.createIndex('sms_messages_phone_ix').on('sms_messages').columns(['phone_hash', 'created_at']).execute();
      await db.schema.createIndex('sms_messages_site_ix').on('sms_messages').columns(['site', 'created_at']).execute();
      await db.schema.createIndex('sms_messages_provider_ix').on('sms_messages').columns(['provider', 'provider_message_id']).execute();
    },
  },
  '0011_payment_reconciliation': {
    // The daily reconciliation of provider payments (modules/payments/reconciliation.ts): one
    // row per site and bill date, the result as JSON, and what was alerted; the bill lines are
    // looked up by our own numbers, hence the index on the payments' paid time.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('payment_reconciliations')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_at', 'text')
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('alert_digest', 'text')
        .addColumn('ran_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('payment_reconciliations_pk', ['site', 'date'])
        .execute();
      await db.schema.createIndex('payments_paid_at_ix').on('payments').columns(['site', 'provider', 'paid_at']).execute();
      await db.schema.createIndex('payment_refunds_trade_ix').on('payment_refunds').column('out_trade_no').execute();
    },
  },
  '0012_booking': {
    // The visitor booking page (modules/booking): SMS login codes (keyed hash only), sessions
    // (token hash, phone encrypted under the token), throttling windows; orders keep the
    // visitor's language, and "my orders" finds a phone's orders of a site newest first.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('booking_codes')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('phone_hash', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('wrong_tries', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('booking_codes_pk', ['site', 'phone_hash'])
        .execute();
      await db.schema
        .createTable('booking_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('phone_hash', 'text', (c) => c.notNull())
        .addColumn('phone_enc', 'text', (c) => c.notNull())
        .addColumn('phone_masked', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('booking_sessions_expiry_ix').on('booking_sessions').column('expires_at').execute();
      await db.schema
        .createTable('booking_throttle')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('last_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('orders').addColumn('lang', 'text').execute();
      await db.schema.createIndex('orders_contact_phone_ix').on('orders').columns(['site', 'contact_phone', 'created_at']).execute();
    },
  },
  '0013_kiosk_offline': {
    // Kiosk records (modules/kiosks): idempotent by (site, kiosk, seq); offline sales counted
    // against the kiosk's daily cap by (site, kiosk, visit_date).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('kiosk_records')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('kiosk', 'text', (c) => c.notNull())
        .addColumn('seq', 'text', (c) => c.notNull())
        .addColumn('sale_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payment', 'text')
        .addColumn('visit_date', 'text')
        .addColumn('persons', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('amount_fen', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('anomaly', 'text')
        .addColumn('order_id', 'text')
        .addPrimaryKeyConstraint('kiosk_records_pk', ['site', 'kiosk', 'seq'])
        .execute();
      await db.schema.createIndex('kiosk_records_day_ix').on('kiosk_records').columns(['site', 'kiosk', 'visit_date']).execute();
    },
  },
  '0014_order_cancel': {
    // A pending order cancelled by its channel (POST …/cancel) is `expired` like an order whose
    // hold ended; cancelled_at says which (null: the hold ended).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('orders').addColumn('cancelled_at', 'text').execute();
    },
  },
  '0015_visitor_data': {
    // Issue #19: coarse visitor attributes derived at sale time (never the ID number or the
    // phone), profiles keyed by the keyed ID hash, visits, tags, POS lines, coupons, combo
    // split ledger and partner redemptions (docs/visitor-data.md).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('order_visitors').addColumn('age_band', 'text').execute();
      await db.schema.alterTable('order_visitors').addColumn('gender', 'text').execute();
      await db.schema.alterTable('order_visitors').addColumn('region', 'text').execute();
      await db.schema.alterTable('orders').addColumn('phone_region', 'text').execute();
      await db.schema.alterTable('orders').addColumn('coupon_code', 'text').execute();
      await db.schema.alterTable('orders').addColumn('discount_fen', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('orders').addColumn('marketing_consent', 'integer').execute();
      await db.schema
        .createTable('visitor_profiles')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('age_band', 'text')
        .addColumn('gender', 'text')
        .addColumn('region', 'text')
        .addColumn('phone_region', 'text')
        .addColumn('first_visit', 'text')
        .addColumn('last_visit', 'text')
        .addColumn('visits', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('orders', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('ticket_fen', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('pos_fen', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('consent_marketing', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('consent_at', 'text')
        .addColumn('consent_source', 'text')
        .addColumn('opted_out_at', 'text')
        .addColumn('member_code', 'text')
        .addColumn('member_since', 'text')
        .addColumn('last_order_id', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('visitor_profiles_pk', ['site', 'id_hash'])
        .execute();
      await db.schema.createIndex('visitor_profiles_member_ix').on('visitor_profiles').columns(['site', 'member_code']).execute();
      await db.schema.createIndex('visitor_profiles_last_ix').on('visitor_profiles').columns(['site', 'last_visit']).execute();
      await db.schema
        .createTable('visitor_visits')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('visit_date', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('type_id', 'text', (c) => c.notNull())
        .addColumn('party_size', 'integer', (c) => c.notNull())
        .addColumn('amount_fen', 'bigint', (c) => c.notNull())
        .addColumn('admitted_at', 'text')
        .addColumn('refunded', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('visitor_visits_pk', ['site', 'order_id', 'id_hash'])
        .execute();
      await db.schema.createIndex('visitor_visits_date_ix').on('visitor_visits').columns(['site', 'visit_date']).execute();
      await db.schema.createIndex('visitor_visits_hash_ix').on('visitor_visits').columns(['site', 'id_hash']).execute();
      await db.schema
        .createTable('visitor_tags')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('visitor_tags_pk', ['site', 'id_hash', 'tag'])
        .execute();
      await db.schema
        .createTable('pos_lines')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('line_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('visit_date', 'text', (c) => c.notNull())
        .addColumn('amount_fen', 'bigint', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('item', 'text')
        .addColumn('id_hash', 'text')
        .addColumn('order_id', 'text')
        .addColumn('link', 'text', (c) => c.notNull())
        .addColumn('coupon_code', 'text')
        .addColumn('discount_fen', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('pos_lines_pk', ['site', 'source', 'line_id'])
        .execute();
      await db.schema.createIndex('pos_lines_date_ix').on('pos_lines').columns(['site', 'visit_date']).execute();
      await db.schema.createIndex('pos_lines_hash_ix').on('pos_lines').columns(['site', 'id_hash']).execute();
      await db.schema
        .createTable('coupons')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('percent_off', 'integer')
        .addColumn('amount_fen', 'bigint')
        .addColumn('item', 'text')
        .addColumn('applies_to', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_to', 'text', (c) => c.notNull())
        .addColumn('channels', 'text')
        .addColumn('stacking', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('held_order', 'text')
        .addColumn('redeemed_at', 'text')
        .addColumn('redeemed_via', 'text')
        .addColumn('redeemed_ref', 'text')
        .addColumn('discount_fen', 'bigint')
        .addPrimaryKeyConstraint('coupons_pk', ['site', 'code'])
        .execute();
      await db.schema.createIndex('coupons_hash_ix').on('coupons').columns(['site', 'id_hash']).execute();
      await db.schema.createIndex('coupons_issued_ix').on('coupons').columns(['site', 'issued_at']).execute();
      await db.schema
        .createTable('coupon_grants')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('coupon_grants_pk', ['site', 'rule_id', 'id_hash', 'period'])
        .execute();
      await db.schema
        .createTable('split_ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('partner', 'text', (c) => c.notNull())
        .addColumn('part', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('units', 'integer', (c) => c.notNull())
        .addColumn('amount_fen', 'bigint', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('split_ledger_partner_ix').on('split_ledger').columns(['site', 'partner', 'date']).execute();
      await db.schema.createIndex('split_ledger_order_ix').on('split_ledger').columns(['site', 'order_id']).execute();
      await db.schema
        .createTable('partner_redemptions')
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('partner', 'text', (c) => c.notNull())
        .addColumn('part', 'text', (c) => c.notNull())
        .addColumn('redeemed_at', 'text', (c) => c.notNull())
        .addColumn('redeemed_by', 'text')
        .addPrimaryKeyConstraint('partner_redemptions_pk', ['site', 'order_id', 'partner', 'part'])
        .execute();
    },
  },
  '0018_marketing_extra': {
    // Issue #19 point 3: a coupon keeps its template's terms (minimum spend, POS categories)
    // as issued, and when its SMS was claimed (sent at most once, docs/visitor-data/coupons.md).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the current schema type
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('coupons').addColumn('template', 'text').execute();
      await db.schema.alterTable('coupons').addColumn('min_spend_fen', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('coupons').addColumn('categories', 'text').execute();
      await db.schema.alterTable('coupons').addColumn('notified_at', 'text').execute();
      await db.schema.createIndex('coupons_state_ix').on('coupons').columns(['site', 'state', 'valid_to']).execute();
    },
  },
};

/** The migrations this cloud-bridge knows, in order. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations).sort();

/** A migration's version: its number (0014_order_cancel → 14). */
export function migrationVersion(name: string): number {
  return Number(/^(\d+)_/.exec(name)?.[1] ?? NaN);
}

/** The schema version this cloud-bridge brings a database to. */
export const CLOUD_SCHEMA_VERSION = migrationVersion(MIGRATION_NAMES.at(-1)!);

class InCodeProvider implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations);
  }
}

/** Bring the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest<T>(db: Kysely<T>, dialect: 'sqlite' | 'postgres'): Promise<string[]> {
  // On PostgreSQL, name the schema: kysely's "does the migration table exist" check matches a
  // table of that name in ANY schema, so a second Stile database on the same server (another
  // park, a test) would make it skip creating its own and then fail to find it.
  const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  const migrator = new Migrator({ db, provider: new InCodeProvider(), ...(schema ? { migrationTableSchema: schema } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // kysely looks for its migration table by listing the tables of every schema on the
    // server (has_schema_privilege, pg_get_serial_sequence per schema): another database
    // dropping its schema during that scan fails it with "schema … does not exist" (3F000)
    // naming the other schema. Nothing of ours was touched: look again.
    if (attempt < 20 && isOtherSchemaGone(error, schema)) {
      await new Promise((r) => setTimeout(r, 10 * attempt)); // a test run or a deprovisioning can drop many in a row
      continue;
    }
    throw error instanceof Error ? error : new Error(String(error));
  }
}

/** A new database at an older release's schema, up to and with migration `name` (upgrade tests). */
export async function migrateUpTo<T>(db: Kysely<T>, dialect: 'sqlite' | 'postgres', name: string): Promise<void> {
  const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  const { error } = await new Migrator({ db, provider: new InCodeProvider(), ...(schema ? { migrationTableSchema: schema } : {}) }).migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

function isOtherSchemaGone(error: unknown, ours: string | undefined): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === '3F000' && typeof e.message === 'string' && (ours === undefined || !e.message.includes(`"${ours}"`));
}
