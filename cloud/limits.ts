// Every limit of the cloud's inputs, in one place: request bodies, public endpoints, logins, report ranges,
// exports. Routes read them from here; cloud/README.md (Limits) and SECURITY.md document them. Values a
// deployment may tune through settings are the defaults, named as such.

// ---- bodies and unauthenticated work ---------------------------------------------------------------

/** An uplink batch's body (up to UPLINK_MAX_BATCH events of at most 8 KiB each). */
export const UPLINK_BODY_MAX_BYTES = 16 * 1024 * 1024;

// ---- logins and rate limits -----------------------------------------------------------------------

// ---- reports and exports --------------------------------------------------------------------------

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
