// Every limit of the cloud's inputs, in one place: request bodies, public endpoints, logins, report ranges,
// exports. Routes read them from here; cloud/README.md (Limits) and SECURITY.md document them. Values a
// deployment may tune through settings are the defaults, named as such.

// ---- bodies and unauthenticated work ---------------------------------------------------------------

/** An uplink batch's body (up to UPLINK_MAX_BATCH events of at most 8 KiB each). */
export const UPLINK_BODY_MAX_BYTES = 16 * 1024 * 1024;

// ---- logins and rate limits -----------------------------------------------------------------------

// ---- reports and exports --------------------------------------------------------------------------

// ---- dossiers, uplink content and audit ---------------------------------------------------------------

// ---- a box reading back its own events (recovery of a lost box log) --------------------------------

/**
 * A page of `GET /api/v1/uplink/events` (a box reading back its own events to recover its log): the most
 * events one answer carries, so one request cannot make the cloud load and serialise a year of a box's
 * events at once (1,000 events are ~300 KB, at most 8 MiB at the 8 KiB event limit). The default page
 * when the box names none.
 */
export const BOX_EVENTS_PAGE_MAX = 1000;
export const BOX_EVENTS_PAGE_DEFAULT = 500;
