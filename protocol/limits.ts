// Every limit a peer of the box meets, in one place: what a device, a screen or a vendor's hardware may send,
// how much, how often. The box enforces these and refuses clearly when one is crossed; protocol/README.md
// (Limits) and SECURITY.md document them. Values a deployment may tune are defaults, named as such.

// ---- payloads and topics -------------------------------------------------------------------------

/** Payloads larger than this are refused before parsing. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;

// ---- the MQTT broker: packets, sessions, subscriptions, logins ----------------------------------------

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
