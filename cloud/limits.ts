// Every limit of the cloud's inputs, in one place: request bodies, public endpoints, logins, report ranges,
// exports. Routes read them from here; cloud/README.md (Limits) and SECURITY.md document them. Values a
// deployment may tune through settings are the defaults, named as such.

// ---- bodies and unauthenticated work ---------------------------------------------------------------

/**
 * An uplink batch's body (up to UPLINK_MAX_BATCH events of at most 8 KiB each). Read only after the box's
 * credential has been checked: an unauthenticated request is refused before its body is read.
 */
export const UPLINK_BODY_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Every other JSON body (logins, admin forms, heartbeats, dossiers, enrollment): the largest of them, a
 * heartbeat listing ~30 peripherals or a dossier with its dates, is a few KiB. Fastify answers 413
 * (`fst_err_ctp_body_too_large`) above it, before parsing.
 */
export const JSON_BODY_MAX_BYTES = 256 * 1024;

/** Enrollments per client address per minute: a claim code is 80 random bits, guessing is hopeless anyway. */
export const ENROLLS_PER_MINUTE = 20;

// ---- logins and rate limits -----------------------------------------------------------------------

/**
 * Default admin login attempts per client address per minute (setting `loginsPerMinute`). Counted when the
 * request arrives, before the password hash is computed, so concurrent guesses cannot overrun it; shared
 * by all replicas when the cloud has a Redis (REDIS_URL).
 */
export const LOGINS_PER_MINUTE = 10;

/** Default public lookups (dossier status, ticket page) per client address per minute (setting). */
export const PUBLIC_LOOKUPS_PER_MINUTE = 60;

/**
 * Dossier lookups one box may make a minute for its lookup stations (each station is limited on the box
 * too). A box is one address for a whole lobby, so it gets its own, larger allowance.
 */
export const BOX_LOOKUPS_PER_MINUTE = 300;

/** Dossiers "ready to collect" listed on an office's status board (the count is always whole). */
export const BOARD_READY_MAX = 50;

/**
 * How long a rate-limit counter in Redis may take before the replica counts in its own memory instead (a
 * slow or unreachable Redis must not stall logins and lookups).
 */
export const RATE_LIMIT_REDIS_TIMEOUT_MS = 500;

// ---- database -----------------------------------------------------------------------------------

/** How long a request waits for a PostgreSQL connection before it is answered 503 database_unavailable. */
export const DB_CONNECT_TIMEOUT_MS = 5_000;

/** How long /healthz waits for the database's answer before it reports the database unreachable. */
export const HEALTH_DB_TIMEOUT_MS = 2_000;

// ---- reports and exports --------------------------------------------------------------------------

/**
 * The longest report period, in days (from and to included): a year, leap years too. Longer periods are
 * refused (400 invalid_period) rather than computed: the edge days are read from the day grain, and a
 * period of centuries kept the event loop busy for seconds. Ask for consecutive years one at a time.
 */
export const REPORT_MAX_DAYS = 366;

/** The calendar years a report day may name (a day outside them is refused as invalid_period). */
export const REPORT_FIRST_YEAR = 2000;
export const REPORT_LAST_YEAR = 2099;

/** Rows of one CSV export: a year by clerk in a province of a few hundred offices stays far below it. */
export const CSV_MAX_ROWS = 100_000;

/**
 * Rows of one page of a report breakdown (GET /api/v1/reports/rows, and the offices in GET /api/v1/reports):
 * a province has thousands of counters and clerks, and a page of them is what a screen shows. `limit` above
 * it is refused (400); without one, a page has REPORT_PAGE_DEFAULT_ROWS.
 */
export const REPORT_PAGE_MAX_ROWS = 500;
export const REPORT_PAGE_DEFAULT_ROWS = 50;

/** Rows of one page of the audit log (`?limit=`). */
export const AUDIT_PAGE_MAX_ROWS = 500;

/**
 * Cross-unit dossier links listed in one report (oldest first); a longer list says it was cut. Keeps a
 * report's size bounded when a box links many codes of other units (a typo loop, or a hostile box).
 */
export const REPORT_CROSS_UNIT_LINKS_MAX = 500;

// ---- dossiers, uplink content and audit ---------------------------------------------------------------

/**
 * Refused attempts (401s, HMAC failures, failed enrollments and logins) are audited per source (ip, action and
 * outcome) and minute: the first is written at once, the repeats of that minute become one summary row. At
 * most this many sources per minute and replica get rows of their own; beyond, one row per minute counts the
 * rest. So a flood writes at most 2 × this + 1 rows a minute per replica, whatever its size.
 */
export const AUDIT_REFUSAL_SOURCES_PER_MINUTE = 200;
/** Samples of actors and targets kept in a summary row (what the repeats tried). */
export const AUDIT_REFUSAL_SAMPLES = 5;

// ---- a box reading back its own events (recovery of a lost box log) --------------------------------

/**
 * A page of `GET /api/v1/uplink/events` (a box reading back its own events to recover its log): the most
 * events one answer carries, so one request cannot make the cloud load and serialise a year of a box's
 * events at once (1,000 events are ~300 KB, at most 8 MiB at the 8 KiB event limit). The default page
 * when the box names none.
 */
export const BOX_EVENTS_PAGE_MAX = 1000;
export const BOX_EVENTS_PAGE_DEFAULT = 500;

// ---- the fleet: configuration twin over a long poll ------------------------------------------------

/**
 * The longest a box's long poll (`/api/v1/box/poll`, `/api/v1/box/target`) is held before it is answered 204
 * (a longer `wait` is cut to it): proxies and load balancers commonly cut an idle HTTP request at 60 s.
 */
export const FLEET_LONG_POLL_MAX_SECONDS = 50;

/**
 * Long polls one replica holds at once (each is a socket and a few KiB). Beyond it a box is answered 503 with
 * `Retry-After` and polls again later; a province of 4,000 boxes fits five times over on one replica.
 */
export const FLEET_LONG_POLLS_MAX = 20_000;

/** Twins listed in one answer of `GET /api/v1/fleet/twins` (then `truncated: true`): a province's boxes. */
export const FLEET_TWINS_LIST_MAX = 10_000;

/** Desired versions listed in one answer of a box's history (newest first). */
export const FLEET_HISTORY_MAX = 100;

/**
 * Peripherals an office may have (`POST /api/v1/fleet/offices/<office>/peripherals` past it: 409
 * too_many_peripherals). An office has up to ~30; every one is a line of every desired version of its box.
 */
export const FLEET_PERIPHERALS_PER_OFFICE_MAX = 100;
/** Commands listed in one answer of an office's command list (newest first; `limit` may ask fewer). */
export const FLEET_COMMANDS_LIST_MAX = 500;
// ---- fleet health, incidents and alerts (cloud/health) ------------------------------------------------

/**
 * A box's heartbeat interval as the cloud assumes it (the box config's `cloud.heartbeatSeconds`, default 60 s;
 * setting `fleetHealth.heartbeatIntervalMs`). A box is online while its last heartbeat is younger than
 * BOX_OFFLINE_AFTER_HEARTBEATS × this: one or two lost heartbeats do not make an incident.
 */
export const BOX_HEARTBEAT_INTERVAL_MS = 60_000;
export const BOX_OFFLINE_AFTER_HEARTBEATS = 3;

/** How often each replica sweeps for boxes that stopped sending (idempotent across replicas). */
export const HEALTH_SWEEP_INTERVAL_MS = 15_000;

/** Unacknowledged events on a box above which a backlog incident opens (a few hours of a busy office). */
export const HEALTH_BACKLOG_EVENTS = 10_000;

/** Free disk on a box below which a disk-low incident opens (the box's own alarm default, 512 MB). */
export const HEALTH_DISK_LOW_MB = 512;

/** Rows of one page of incidents or alerts, and the longest "fails most" ranking. */
export const HEALTH_PAGE_MAX_ROWS = 500;
export const HEALTH_RANKING_MAX = 100;

/** Alert rules per unit: each is evaluated on every heartbeat of the unit's subtree. */
export const ALERT_RULES_PER_UNIT_MAX = 50;

/** A webhook URL's length, and how long one delivery attempt may take (connect to last byte of the answer). */
export const WEBHOOK_URL_MAX_CHARS = 2_000;
export const WEBHOOK_TIMEOUT_MS = 5_000;

/**
 * Attempts of one webhook delivery (the first and the retries), with exponential backoff from
 * WEBHOOK_RETRY_DELAY_MS (doubled each time, ~1 h in all); then the delivery is marked failed.
 */
export const WEBHOOK_MAX_ATTEMPTS = 10;
export const WEBHOOK_RETRY_DELAY_MS = 5_000;

/** A webhook body: the alert's detail is cut to keep it under this. */
export const WEBHOOK_BODY_MAX_BYTES = 16 * 1024;

// ---- releases and rollouts (cloud/releases) ----------------------------------------------------------

/**
 * One platform's bundle (tarball) an admin uploads: today's bundles are ~62 MB; an upload announcing more
 * (Content-Length, or the signed manifest's size) is refused before its body is read, one sending more is cut.
 */
export const RELEASE_BUNDLE_MAX_BYTES = 512 * 1024 * 1024;

/** The signed manifest and its signature, sent as headers of the upload (a manifest is ~300 bytes). */
export const RELEASE_MANIFEST_MAX_BYTES = 4 * 1024;

/** A release's notes (the box shows them; the software target carries them). */
export const RELEASE_NOTES_MAX_CHARS = 4_000;

/** Releases listed in one answer of `GET /api/v1/releases` (newest first). */
export const RELEASES_LIST_MAX = 200;

/** Waves of one rollout, and boxes one rollout may hold (a province's boxes, with room). */
export const ROLLOUT_WAVES_MAX = 10;
export const ROLLOUT_BOXES_MAX = 20_000;

/** Rollouts listed in one answer of `GET /api/v1/rollouts` (newest first). */
export const ROLLOUTS_LIST_MAX = 200;

// ---- the citizen's phone: ticket page, wait page, rating (cloud/citizen, issue 14) ----------------------

/**
 * Live polls of the citizen's pages (`/api/v1/public/tickets/…`, `/api/v1/public/offices/…/wait`) per client
 * address per minute (setting `publicLivePollsPerMinute`). Far above one page's pace (one ask every
 * CITIZEN_POLL_SECONDS): a lobby's guest Wi-Fi puts every waiting phone behind one address.
 */
export const PUBLIC_LIVE_POLLS_PER_MINUTE = 300;

/** How often an open ticket or wait page asks for new figures (setting `citizenPollSeconds`). */
export const CITIZEN_POLL_SECONDS = 10;

/**
 * How long an open page keeps asking (a phone left on a table all day): then it stops and offers a button to
 * ask again. A ticket page also stops once its ticket is over (finished and rated, or no-show).
 */
export const CITIZEN_POLL_MAX_MINUTES = 240;

/** Ratings sent from phones per client address per minute (one visit is rated once anyway). */
export const PHONE_RATINGS_PER_MINUTE = 10;

/**
 * How long after the ticket's last event (its service, usually its finish) it may be rated from the phone
 * (setting `phoneRatingWindowMinutes`): a rating is about a visit just made.
 */
export const PHONE_RATING_WINDOW_MINUTES = 120;
