// Every limit a peer of the box meets, in one place: what a device, a screen or a vendor's hardware may send,
// how much, how often. The box enforces these and refuses clearly when one is crossed; protocol/README.md
// (Limits) and SECURITY.md document them. Values a deployment may tune are defaults, named as such.

// ---- payloads and topics -------------------------------------------------------------------------

/** Payloads larger than this are refused before parsing. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;

// ---- the MQTT broker: packets, sessions, subscriptions, logins ----------------------------------------
// Anchors: Mosquitto's max_packet_size, max_inflight_messages, max_queued_messages and EMQX's flapping
// detection / ban on failed logins. What a device sees when it crosses each is in protocol/README.md (7.3).

/**
 * Largest MQTT packet (fixed header included) before the CONNECT is accepted. A CONNECT carries a client id,
 * a device id, a 32-character secret and a presence Will of a few hundred bytes; anything announcing more is
 * cut off as soon as its header arrives, so an anonymous socket cannot make the box buffer megabytes.
 */
export const MAX_PACKET_BYTES_BEFORE_LOGIN = 2 * 1024;

/**
 * Largest MQTT packet from a logged-in device: an 8 KiB payload, its topic and headers, with room to answer
 * a payload just over MAX_PAYLOAD_BYTES with `payload_too_large` rather than a cut connection.
 */
export const MAX_PACKET_BYTES = 16 * 1024;

/** Longest topic or subscription filter (UTF-8 bytes); the longest topic of the protocol is under 64. */
export const MAX_TOPIC_BYTES = 256;

/** Subscriptions one connection may hold (a display needs 8); more are refused in the SUBACK (0x80). */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 100;

/**
 * QoS 1 messages sent to one connection and not yet acknowledged (PUBACK). A device that stops
 * acknowledging is a slow consumer: past this it is disconnected (Mosquitto's max_inflight_messages plus
 * max_queued_messages, but cut rather than silently dropped).
 */
export const MAX_UNACKED_MESSAGES_PER_CLIENT = 1000;

/**
 * Bytes written to one connection that its peer has not read yet. A device that stops reading its socket
 * would otherwise make the box hold every message for it; past this it is disconnected with a log line.
 */
export const MAX_QUEUED_BYTES_PER_CLIENT = 1024 * 1024;

/**
 * QoS 1 messages the box keeps for one device's persistent sessions (clean-session off) while none of them is
 * connected (Mosquitto's max_queued_messages, which applies to offline clients too). Past it, the device's
 * offline sessions end: their subscriptions are dropped, nothing more is kept, and on its return the device
 * gets CONNACK with sessionPresent false, resubscribes and reads the retained state. A lobby TV away for an
 * hour of a busy day stays under it.
 */
export const MAX_QUEUED_MESSAGES_OFFLINE = 1000;

/** Time from opening a connection to a complete CONNECT; then the socket is closed. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Open MQTT connections (TCP and WebSocket together); an office has up to ~30 peripherals. */
export const MAX_CONNECTIONS = 256;

/** Connections not yet logged in, in all. */
export const MAX_PENDING_LOGINS = 64;

/** Connections not yet logged in from one remote address. */
export const MAX_PENDING_LOGINS_PER_ADDRESS = 8;

/** Failed logins allowed per device id, and per remote address, in LOGIN_FAILURE_WINDOW_MS... */
export const MAX_LOGIN_FAILURES_PER_DEVICE = 10;
export const MAX_LOGIN_FAILURES_PER_ADDRESS = 20;
/** ...after which further logins are refused (CONNACK 5) without checking the secret, until the window passes. */
export const LOGIN_FAILURE_WINDOW_MS = 10 * 60_000;

// ---- the box's HTTP API: guessing limits --------------------------------------------------------------

/** Wrong admin passwords per address in HTTP_GUESS_WINDOW_MS; then 429 with Retry-After. */
export const MAX_ADMIN_LOGIN_FAILURES = 5;
/** Wrong pairing codes or device secrets (HTTP Basic) per address in HTTP_GUESS_WINDOW_MS. */
export const MAX_DEVICE_SECRET_FAILURES = 20;
export const HTTP_GUESS_WINDOW_MS = 10 * 60_000;

// ---- requests and their ids ------------------------------------------------------------------------

/**
 * How long the box keeps the reply of every successful request, keyed by (device id, request id). Within
 * this period a retry gets the first reply (`duplicate: true`) and the same id with another request is
 * refused (`request_id_reused`), across restarts. A week covers a device that was offline over a long
 * weekend and resends its queued requests; about 5,000 requests a day in a busy office keep it under 20 MB.
 */
export const REQUEST_REPLY_RETENTION_MS = 7 * 24 * 3600_000;

// ---- print jobs ------------------------------------------------------------------------------------

/**
 * How long after its ticket was issued a print job is still sent (again) to the kiosk until the printer
 * side acknowledges it: the same window the box's printer driver gives a job it could not print yet. A
 * ticket printed later would mislead the citizen holding the kiosk screen's number (the queue has moved).
 */
export const PRINT_JOB_EXPIRY_MS = 60_000;

/** How often a print job nobody acknowledged is sent again (with the same jobId) until it expires. */
export const PRINT_JOB_RESEND_MS = 5_000;

// ---- zero touch ------------------------------------------------------------------------------------

/**
 * The largest body of a new box's claim form (a claim code and a cloud URL): the page runs before the box has
 * any config or password, so it reads nothing bigger. One claim is handled at a time; the cloud limits
 * enrollments per client (ENROLLS_PER_MINUTE).
 */
export const CLAIM_FORM_MAX_BYTES = 2048;

// ---- over-the-air updates (device/update/) ----------------------------------------------------------

/**
 * The largest release bundle (tarball) a box downloads: a real one is about 62 MB. A target announcing more
 * is refused before any byte is fetched, and a download is cut the moment it passes the size the target
 * states (a cloud or proxy sending more than it promised cannot fill the data disk).
 */
export const UPDATE_BUNDLE_MAX_BYTES = 256 * 1024 * 1024;

/** The largest manifest or signature file a box downloads (a real manifest is about 400 bytes). */
export const UPDATE_MANIFEST_MAX_BYTES = 16 * 1024;

/**
 * How long a new version must keep running, with its event log open, its broker serving and /healthz ok,
 * before the box commits it. Until then the launcher (deploy/lobby-launch.sh) rolls back on a failed start.
 */
export const UPDATE_TRIAL_SECONDS = 120;

/**
 * Extra time a new version gets to start (open its log, replay it) before the launcher stops it as
 * unhealthy: a start slower than UPDATE_TRIAL_SECONDS + this is a failed start.
 */
export const UPDATE_START_GRACE_SECONDS = 180;

/** Starts of a new version in trial before the launcher gives up on it and goes back to the previous one. */
export const UPDATE_TRIAL_MAX_STARTS = 3;

// ---- the UPS (Network UPS Tools, device/power/) ------------------------------------------------------
// The box is a client of the local upsd (port 3493). A server that answers too much, too long or too slowly
// is cut off and asked again at the next poll: the UPS state is then "unknown", the office keeps working.

/** Longest line the box reads from upsd (NUT's own lines are under 512 bytes). */
export const UPS_MAX_LINE_BYTES = 1024;

/** Most lines of one upsd answer (`LIST VAR` of a large UPS has ~100). */
export const UPS_MAX_REPLY_LINES = 500;

/** How long one upsd answer may take, from the request to its last line. */
export const UPS_REPLY_TIMEOUT_MS = 5_000;

// ---- dossier lookups and the dossier-status board (device/dossiers/) ---------------------------------
// A lookup station asks the box; the box asks the cloud (GET /api/v1/box/dossiers/:code) and keeps answers,
// so a short internet outage still answers. The cloud limits the whole box (BOX_LOOKUPS_PER_MINUTE, 300).

/** Longest dossier code a station may send (the cloud's code pattern stops at 64 characters too). */
export const DOSSIER_CODE_MAX_CHARS = 64;

/**
 * Lookups one station may ask per minute (sliding window); past it `lookup_rate_limited` says when to try
 * again. A citizen scans one receipt; a scanner stuck in a loop or a script must not use up the box's share
 * of the cloud's limit for every other station.
 */
export const LOOKUPS_PER_STATION_PER_MINUTE = 20;

/** A cached answer younger than this is answered without asking the cloud again. */
export const LOOKUP_FRESH_MS = 60_000;

/**
 * The oldest cached answer the box still shows while the cloud cannot be reached (with its age); older ones
 * are pruned. A week covers an outage over a long weekend.
 */
export const LOOKUP_CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;

/** Dossiers the box keeps answers for; the least recently fetched go first (about 1 KiB each). */
export const LOOKUP_CACHE_MAX_ENTRIES = 5_000;

/** How long the box waits for the cloud's answer before it answers from its cache (or says it cannot). */
export const LOOKUP_CLOUD_TIMEOUT_MS = 5_000;

/** The largest answer the box reads from the cloud's dossier routes; a larger one is cut off and not used. */
export const DOSSIER_CLOUD_ANSWER_MAX_BYTES = 256 * 1024;

/** How often the box asks the cloud for its office's dossier-status board. */
export const DOSSIER_BOARD_POLL_MS = 60_000;

// ---- SMS when the turn is near (device/sms/, issue 14) ------------------------------------------------
// A citizen may type a phone number on the kiosk for one ticket. The number lives only in the box's memory,
// is sent only to the office's configured SMS gateway, and is forgotten when the ticket ends.

/** A phone number typed on the kiosk: digits (a leading + allowed), E.164's 15 at most, 9 at least. */
export const SMS_PHONE_MIN_DIGITS = 9;
export const SMS_PHONE_MAX_DIGITS = 15;

/** Messages one ticket may cause: one when its turn is near, one when it is called. */
export const SMS_PER_TICKET_MAX = 2;

/** One message's text after its template is filled (a 160-character SMS; Vietnamese without diacritics fits). */
export const SMS_TEXT_MAX_CHARS = 160;

/** Tickets with a number waiting at once (a day's tickets of a large office): beyond, the kiosk is refused. */
export const SMS_WATCHED_TICKETS_MAX = 1_000;

/** One attempt to hand a message to the gateway, connect to last byte of its answer. */
export const SMS_SEND_TIMEOUT_MS = 5_000;

/** Attempts per message (the first and the retries, backing off), then it is dropped and logged (without the number). */
export const SMS_SEND_ATTEMPTS = 3;
