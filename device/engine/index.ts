// The queue engine: pure decisions and the projection they are folded into.
export * from './types.js';
export { decide, formatNumber, hoursText, issuingRefusal, serviceRefusal, ratingTarget } from './decide.js';
export { deserializeState, emptyState, evolve, replay, serializeState } from './evolve.js';
export * from './views.js';
export { linesOf, waitingTickets } from './lines.js';
export { officeTime } from './clock.js';
export { dossierCodeAccepted, isNationalDossierCode } from './dossier.js';
export { carryoverAfter, NO_CARRYOVER } from './carryover.js';
