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
