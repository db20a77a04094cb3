// Every limit a peer of the box meets, in one place: what a device, a screen or a vendor's hardware may send,
// how much, how often. The box enforces these and refuses clearly when one is crossed; protocol/README.md
// (Limits) and SECURITY.md document them. Values a deployment may tune are defaults, named as such.

// ---- payloads and topics -------------------------------------------------------------------------

/** Payloads larger than this are refused before parsing. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;

// ---- the MQTT broker: packets, sessions, subscriptions, logins ----------------------------------------

// ---- requests and their ids ------------------------------------------------------------------------
